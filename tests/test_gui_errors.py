"""One way to show errors in the wizard: title, where and hint; unexpected ones logged."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox, QWidget

from modelvet.gui.errors import UNEXPECTED_TITLE, log, log_to_file, show_error
from modelvet.gui.workers import Job

pytestmark = pytest.mark.qt_log_ignore("does not support propagateSizeHints")  # offscreen dialogs


def _box(parent: QWidget, qtbot) -> QMessageBox:
    qtbot.waitUntil(lambda: bool(parent.findChildren(QMessageBox)), timeout=10_000)
    (box,) = parent.findChildren(QMessageBox)
    return box


@pytest.fixture
def log_file(tmp_path: Path):
    path = log_to_file(tmp_path)
    yield path
    _forget_log_files()


def _forget_log_files() -> None:
    for handler in [h for h in log.handlers if isinstance(h, logging.FileHandler)]:
        log.removeHandler(handler)
        handler.close()


def test_the_wizard_keeps_its_log_in_the_data_folder() -> None:
    from modelvet.engine.storage import data_dir
    from modelvet.gui.app import _keep_a_log

    _keep_a_log()
    try:
        files = [h.baseFilename for h in log.handlers if isinstance(h, logging.FileHandler)]
        assert files == [str(data_dir() / "modelvet.log")]
    finally:
        _forget_log_files()


def _broken_work(report: object) -> None:
    {}["missing"]  # noqa: B018  (a bug, not bad input)


def test_an_unexpected_error_in_a_job_is_logged_with_its_traceback_and_shown(
    qtbot, caplog: pytest.LogCaptureFixture, log_file: Path
) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    job = Job(_broken_work, parent)
    job.failed.connect(lambda error: show_error(parent, error, "Doing a thing"))
    with qtbot.waitSignal(job.failed, timeout=10_000) as relayed, caplog.at_level(logging.ERROR):
        job.start()
    box = _box(parent, qtbot)
    assert isinstance(relayed.args[0], KeyError)  # the exception itself, not a string
    assert box.windowTitle() == "Doing a thing"
    assert box.text().startswith(f"{UNEXPECTED_TITLE}: KeyError")
    assert str(log_file) in box.informativeText()
    logged = log_file.read_text()
    assert "Traceback" in logged and "_broken_work" in logged and "KeyError" in logged
    assert caplog.records and caplog.records[0].exc_info is not None
    qtbot.waitUntil(lambda: not job.is_running())


def test_a_profile_from_a_newer_version_shows_title_where_and_hint(
    window, qtbot, tmp_path: Path
) -> None:
    newer = tmp_path / "newer.toml"
    newer.write_text("schema_version = 2\n[capability]\ncontext_tokens = 4096\n")
    before = window.controller.profile
    window.open_profile(str(newer))
    box = _box(window, qtbot)
    assert box.windowTitle() == "Cannot open profile"
    assert box.text() == f"{newer}:\nprofile schema 2; this ModelVet reads schema 1"
    assert box.informativeText().startswith("a newer ModelVet wrote it")
    assert window.controller.profile == before and window.isVisible()


def test_an_invalid_profile_names_the_field_and_the_file(window, qtbot, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[capability]\ncontext_tokens = 'lots'\n")
    before = window.controller.profile
    window.open_profile(str(bad))
    box = _box(window, qtbot)
    assert str(bad) in box.text() and "capability.context_tokens" in box.text()
    assert window.controller.profile == before and window.isVisible()


def test_an_export_that_cannot_be_written_says_why_and_what_to_do(
    window, qtbot, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    target = blocker / "record.md"
    window.export_record("md", str(target))
    with qtbot.waitSignal(window.export_job.ended, timeout=30_000):
        pass
    box = _box(window.export, qtbot)
    assert box.text() == f"{blocker}:\nthe folder to write the report in does not exist"
    assert box.informativeText() == "choose a folder that exists"
    assert window.export.status.text() == (
        f"✗ {blocker}: the folder to write the report in does not exist "
        "(choose a folder that exists)"
    )
    assert not target.exists()


def test_a_profile_naming_an_unknown_preset_says_so_in_the_status_bar(
    window, qtbot, tmp_path: Path
) -> None:
    profile = tmp_path / "site.toml"
    profile.write_text("[hardware]\npreset = 'rtx-4090-workstaton'\n")
    window.open_profile(str(profile))
    window.controller.flush()
    message = window.statusBar().currentMessage()
    assert message.startswith("hardware.preset: unknown hardware preset 'rtx-4090-workstaton'")
    assert message.endswith("(did you mean 'rtx-4090-workstation'?)")
