"""`modelvet gui --profile P --snapshot DIR`: every step rendered to a PNG, offscreen, then exit."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

from PySide6.QtWidgets import QApplication, QWidget

from modelvet.engine.errors import ModelVetError
from modelvet.gui.app import build_window
from modelvet.gui.window import MainWindow, step_title

SMOKE_TIMEOUT_S = 180


def _settle(app: QApplication, seconds: float = 0.05) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()


def _save(widget: QWidget, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    if not widget.grab().save(str(path)):
        raise ModelVetError("could not write the image", str(path))
    return path


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def _wait_for_smoke(app: QApplication, window: MainWindow) -> None:
    smoke = window.smoke
    smoke.run_demo()
    deadline = time.monotonic() + SMOKE_TIMEOUT_S
    while smoke.controller.result is None and time.monotonic() < deadline:
        _settle(app, 0.1)


def snapshot(
    app: QApplication, profile_path: str | None, folder: Path, with_smoke: bool = False
) -> int:
    """Render each step; the results step also as its Excluded and Chart tabs."""
    folder.mkdir(parents=True, exist_ok=True)
    window = build_window(profile_path, detect_hardware=False)
    controller = window.controller
    if controller.profile.hardware is None:
        from modelvet.engine.machine import detect

        window.apply_detected(detect(measure_bandwidth=True))
    width, _, height = os.environ.get("MODELVET_SNAPSHOT_SIZE", "1280x820").partition("x")
    window.resize(int(width), int(height))
    window.show()
    written = []
    for index, page in enumerate(window.pages):
        window.go_to(index)
        controller.flush()
        if page is window.smoke and with_smoke:
            _wait_for_smoke(app, window)
        _settle(app)
        title = step_title(page)
        written.append(_save(window, folder, f"{index + 1:02d}-{_slug(title)}"))
        if page is window.results:
            for tab in range(1, page.tabs.count()):
                if page.tabs.widget(tab) is page.context_chart:
                    page.select_top(3)  # memory against context compares models
                page.tabs.setCurrentIndex(tab)
                _settle(app)
                name = _slug(page.tabs.tabText(tab).replace("&", ""))
                written.append(_save(window, folder, f"{index + 1:02d}-results-{name}"))
            page.tabs.setCurrentIndex(0)
    window.smoke.shutdown()
    window.close()
    for path in written:
        print(path)
    return 0
