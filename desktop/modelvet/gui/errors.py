"""How the wizard shows an error: its title, where and hint, in a dialog or on one status line.

An engine error (`ModelVetError`) is bad input or a failed check: it is shown as the engine
worded it. Anything else is a bug: it is shown under a generic title, and logged with its
traceback (to the log file `app.py` sets up in the data folder).
"""

from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import NamedTuple

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from modelvet.engine.errors import ModelVetError

log = logging.getLogger("modelvet")

LOG_FILE = "modelvet.log"
UNEXPECTED_TITLE = "Something went wrong inside ModelVet"


class Described(NamedTuple):
    title: str
    where: str
    hint: str

    def line(self) -> str:
        """One line for a status bar or label: 'where: title (hint)'."""
        text = f"{self.where}: {self.title}" if self.where else self.title
        return f"{text} ({self.hint})" if self.hint else text


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


def describe(error: BaseException) -> Described:
    """The engine's own words for its errors; a logged generic account of anything else."""
    if isinstance(error, ModelVetError):
        return Described(error.title, error.where, error.hint)
    log.error("unexpected error", exc_info=(type(error), error, error.__traceback__))
    where = _log_file()
    hint = f"the details are in the log file {where}" if where else "the details were logged"
    return Described(f"{UNEXPECTED_TITLE}: {type(error).__name__}: {error}", "", hint)


def error_text(error: BaseException) -> str:
    """The error on one line, for a status line where a dialog would be in the way."""
    return describe(error).line()


def show_error(parent: QWidget | None, error: BaseException, doing: str = "") -> QMessageBox:
    """A warning box: the title (and where) as its text, the hint as its informative text.
    Window-modal and non-blocking, so it can come from a worker's signal at any time."""
    title, where, hint = describe(error)
    box = QMessageBox(
        QMessageBox.Icon.Warning,
        doing or "ModelVet",
        f"{where}:\n{title}" if where else title,
        QMessageBox.StandardButton.Ok,
        parent,
    )
    box.setInformativeText(hint)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    box.setAccessibleName(f"Error: {title}")
    box.open()
    return box
