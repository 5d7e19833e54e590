"""Starts the wizard: the Qt application, its look, and the offscreen snapshot mode."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:  # Qt is imported late: start-up time is measured (bench/bench_startup.py)
    from PySide6.QtWidgets import QApplication

    from modelvet.gui.window import MainWindow


def _style(app: QApplication) -> str:
    """Colours derived from the palette, so light and dark system themes both read well."""
    from PySide6.QtGui import QPalette

    palette = app.palette()
    text = palette.color(QPalette.ColorRole.WindowText)
    window = palette.color(QPalette.ColorRole.Window)
    mix = [
        int(text.red() * 0.6 + window.red() * 0.4),
        int(text.green() * 0.6 + window.green() * 0.4),
        int(text.blue() * 0.6 + window.blue() * 0.4),
    ]
    hint = "#{:02x}{:02x}{:02x}".format(*mix)
    return f"""
        QLabel#pageTitle {{ font-size: 15pt; font-weight: 600; }}
        QLabel#hint {{ color: {hint}; }}
        QLabel#verdict {{ font-size: 12pt; font-weight: 600; }}
        QListWidget#steps {{ font-size: 11pt; padding: 6px; }}
        QListWidget#steps::item {{ padding: 6px 4px; }}
        QGroupBox {{ font-weight: 600; }}
        QGroupBox QLabel, QGroupBox QCheckBox, QGroupBox QRadioButton {{ font-weight: normal; }}
    """


def _set_icon(app: QApplication) -> None:
    from PySide6.QtGui import QIcon

    from modelvet.engine.errors import ModelVetError
    from modelvet.engine.resources import resource_path

    with contextlib.suppress(ModelVetError):  # an incomplete install still runs, iconless
        icon = QIcon(str(resource_path("icons", "modelvet.svg")))
        app.setWindowIcon(icon)


def _keep_a_log() -> None:
    """Unexpected errors go, with their tracebacks, to a log file in the data folder."""
    from modelvet.engine.errors import ModelVetError
    from modelvet.engine.storage import data_dir
    from modelvet.gui.errors import log_to_file

    with contextlib.suppress(ModelVetError, OSError):  # no data folder: the log is all we lose
        log_to_file(data_dir())


def create_app() -> QApplication:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    if QApplication.instance() is None:
        QApplication.setHighDpiScaleFactorRoundingPolicy(
            Qt.HighDpiScaleFactorRoundingPolicy.PassThrough
        )
    app = cast("QApplication", QApplication.instance() or QApplication(sys.argv[:1]))
    app.setApplicationName("ModelVet")
    app.setOrganizationName("ModelVet")
    app.setStyle("Fusion")
    _set_icon(app)
    app.setStyleSheet(_style(app))
    # Light or dark follows the system; derived colours follow when it changes.
    app.styleHints().colorSchemeChanged.connect(lambda _: app.setStyleSheet(_style(app)))
    return app


def build_window(profile_path: str | None, detect_hardware: bool = True) -> MainWindow:
    from modelvet.engine.catalog import bundled_catalog
    from modelvet.engine.profile import load_profile
    from modelvet.gui.window import MainWindow

    catalog = bundled_catalog()
    profile = load_profile(profile_path) if profile_path else None
    window = MainWindow(
        catalog, detect_hardware=detect_hardware and (profile is None or profile.hardware is None)
    )
    if profile_path is not None and profile is not None:
        window.profile_path = Path(profile_path)
        window.load_everywhere(profile)
    from modelvet.engine.catalog.updates import start_up_warnings

    warnings = start_up_warnings()
    if warnings:  # an altered or unverified catalog is said at once, and stays said
        from PySide6.QtWidgets import QLabel

        label = QLabel("⚠ " + "; ".join(warnings))
        label.setObjectName("catalogWarning")
        label.setWordWrap(True)
        label.setAccessibleName("Catalog warning")
        window.statusBar().addPermanentWidget(label, 1)
    return window


def run(
    profile_path: str | None = None, snapshot_dir: str | None = None, with_smoke: bool = False
) -> int:
    app = create_app()
    _keep_a_log()
    if snapshot_dir:
        from modelvet.gui.snapshot import snapshot

        return snapshot(app, profile_path, Path(snapshot_dir), with_smoke=with_smoke)
    window = build_window(profile_path)
    window.show()
    if profile_path:
        window.go_to(window.results)
    else:
        window.go_to(window.state.last_step)
    if os.environ.get("MODELVET_EXIT_WHEN_READY"):  # bench/bench_startup.py
        from modelvet.gui.startup_probe import exit_when_ready

        exit_when_ready(app, window)
    return int(app.exec())
