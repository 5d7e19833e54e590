"""How the wizard shows an error: its title, where and hint, in a dialog or on one status line.

An engine error (`ModelVetError`) is bad input or a failed check: it is shown as the engine
worded it. Anything else is a bug: it is shown under a generic title, and logged with its
traceback (to the log file `app.py` sets up in the data folder).
"""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from modelvet.engine.errors import ModelVetError

log = logging.getLogger("modelvet")

LOG_FILE = "modelvet.log"
UNEXPECTED_TITLE = "Something went wrong inside ModelVet"


def log_to_file(folder: Path) -> Path:
    """Keep unexpected errors, with their tracebacks, in the data folder (at most about 2 MB)."""
    path = folder / LOG_FILE
    handler = RotatingFileHandler(path, maxBytes=1_000_000, backupCount=1, delay=True)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    return path


def _log_file() -> str | None:
    files = [h.baseFilename for h in log.handlers if isinstance(h, logging.FileHandler)]
    return files[0] if files else None


def describe(error: BaseException) -> ModelVetError:
    """The engine's own words for its errors; a logged generic account of anything else."""
    if isinstance(error, ModelVetError):
        return error
    log.error("unexpected error", exc_info=(type(error), error, error.__traceback__))
    path = _log_file()
    hint = f"the details are in the log file {path}" if path else "the details were logged"
    return ModelVetError(f"{UNEXPECTED_TITLE}: {type(error).__name__}: {error}", hint=hint)


def error_text(error: BaseException) -> str:
    """The error on one line, 'where: title (hint)', for a status line where a dialog would be
    in the way."""
    return describe(error).message()


def show_error(parent: QWidget | None, error: BaseException, doing: str = "") -> QMessageBox:
    """A warning box: the title (and where) as its text, the hint as its informative text.
    Window-modal and non-blocking, so it can come from a worker's signal at any time."""
    shown = describe(error)
    box = QMessageBox(
        QMessageBox.Icon.Warning,
        doing or "ModelVet",
        f"{shown.where}:\n{shown.title}" if shown.where else shown.title,
        QMessageBox.StandardButton.Ok,
        parent,
    )
    box.setInformativeText(shown.hint)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setAccessibleName(f"Error: {shown.title}")
    box.open()
    return box
