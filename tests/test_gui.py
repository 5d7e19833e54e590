"""The wizard, offscreen, with pytest-qt: steps, results, edits, profiles, smoke, snapshots."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import psutil
import pytest
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QHeaderView,
    QLineEdit,
    QPlainTextEdit,
    QScrollArea,
)

from modelvet.engine.catalog import bundled_catalog
from modelvet.engine.profile import load_profile
from modelvet.engine.smoke import runner
from modelvet.engine.smoke.protocol import LoadedEvent
from modelvet.gui.window import MIN_HEIGHT, MIN_WIDTH, MainWindow
from tests.helpers import EXAMPLE, child_processes, run_modelvet


def test_walk_every_step_with_the_keyboard(window, qtbot) -> None:
    titles = []
    window.go_to(0)
    for _ in window.pages:
        titles.append(window.stack.currentWidget().title)
        qtbot.keyClick(window.next, Qt.Key.Key_Space)
    assert titles == [
        "Welcome",
        "Organisation & security",
        "Hardware",
        "Capability",
        "Results",
        "Smoke test",
        "Export",
    ]
    assert not window.next.isEnabled()
    qtbot.keyClick(window.back, Qt.Key.Key_Space)
    assert window.stack.currentWidget() is window.smoke


def test_results_and_exclusions_appear_for_a_profile(window) -> None:
    window.go_to(4)
    results = window.results
    assert results.results_model.rowCount() > 0
    assert results.excluded_model.rowCount() > 0
    names = {m.model_id for m in results.results_model.items}
    assert not names & {"qwen3-8b", "deepseek-r1"}
    excluded = {m.model_id: m for m in results.excluded_model.items}
    assert any(r.rule == "origin" for r in excluded["qwen3-8b"].reasons)
    html = results.detail.toHtml()
    assert "Why" in html and "Sources" in html


def test_a_constraint_change_updates_results_at_once(window, qtbot) -> None:
    window.go_to(1)
    before = {m.model_id for m in window.results.results_model.items}
    with qtbot.waitSignal(window.controller.recommendationChanged, timeout=5000):
        window.security._block([])
    after = {m.model_id for m in window.results.results_model.items}
    assert "qwen3-8b" in after - before
    assert window.controller.profile.security.blocked_origins == []


def test_hardware_edit_changes_fit(window, qtbot) -> None:
    window.go_to(2)
    page = window.hardware
    with qtbot.waitSignal(window.controller.recommendationChanged, timeout=5000):
        page.use_preset.setChecked(True)
        page.preset.setCurrentIndex(page.preset.findData("cpu-laptop-16gb"))
    placements = {m.placement for m in window.results.results_model.items}
    assert placements == {"cpu"}  # something is recommended, and all of it on the CPU


def test_save_and_open_round_trip(window, tmp_path: Path) -> None:
    path = tmp_path / "saved.toml"
    window.profile_path = path
    window.save_profile()
    assert load_profile(path) == window.controller.profile
    other = MainWindow(bundled_catalog(), detect_hardware=False)
    other.open_profile(str(path))
    assert other.controller.profile == window.controller.profile
    assert str(path.resolve()) in other.state.recent_profiles
    other.close()


def _part_of_a_qt_control(widget, page) -> bool:
    """Spin-box editors, header views, combo pop-ups: Qt names these through their owner."""
    parent = widget.parent()
    while parent is not None and parent is not page:
        if isinstance(parent, QAbstractSpinBox | QAbstractItemView | QComboBox | QLineEdit):
            return True
        parent = parent.parent()
    return isinstance(widget, QHeaderView)


def test_every_control_has_an_accessible_name(window) -> None:
    unnamed = []
    for page in window.pages:
        for kind in (
            QAbstractButton,
            QComboBox,
            QAbstractSpinBox,
            QLineEdit,
            QPlainTextEdit,
            QAbstractItemView,
        ):
            for widget in page.findChildren(kind):
                if _part_of_a_qt_control(widget, page):
                    continue
                text = widget.text() if isinstance(widget, QAbstractButton) else ""
                if not (widget.accessibleName() or text.replace("&", "")):
                    unnamed.append(f"{page.title}: {type(widget).__name__}")
    assert unnamed == [], unnamed


def test_every_page_fits_at_1024_by_700(window, qtbot) -> None:
    """At the smallest window no page is squeezed below its minimum size (the window's own
    minimum would let it clip) and no scrolling page has to scroll sideways."""
    window.resize(MIN_WIDTH, MIN_HEIGHT)
    qtbot.waitUntil(lambda: window.size() == QSize(MIN_WIDTH, MIN_HEIGHT), timeout=2000)
    crowded = []
    for index, page in enumerate(window.pages):
        window.go_to(index)
        qtbot.waitUntil(lambda page=page: page.isVisible(), timeout=2000)
        QApplication.processEvents()  # the page's layout is set at its real size
        needed, has = page.minimumSizeHint(), page.size()
        if needed.width() > has.width() or needed.height() > has.height():
            crowded.append(f"{page.title}: needs {needed.toTuple()}, has {has.toTuple()}")
        for area in page.findChildren(QScrollArea):
            if area.horizontalScrollBar().maximum() > 0:
                wider = area.horizontalScrollBar().maximum()
                crowded.append(f"{page.title}: scrolls sideways by {wider} px")
    assert crowded == [], crowded


@pytest.mark.llama
def test_smoke_demo_runs_and_cancel_stops_the_child(window, qtbot) -> None:
    window.go_to(5)
    page, run = window.smoke, window.smoke.controller
    assert page.demo_button.isVisible()
    page.run_demo()
    qtbot.waitUntil(lambda: run.result is not None, timeout=120_000)
    assert run.result.passed and page.table.rowCount() >= 5
    assert "Probes" in page.report.toPlainText()
    # Try it yourself: the same child answers a typed prompt.
    page.prompt.setPlainText("Name a colour.")
    page.send_prompt()
    qtbot.waitUntil(lambda: page.answer.toPlainText().strip() != "", timeout=60_000)
    # A second run, cancelled while the model is loaded and generating.
    page.start(run.pre.facts.path)
    qtbot.waitUntil(
        lambda: (
            run.process is not None and any(isinstance(e, LoadedEvent) for e in run.process.events)
        ),
        timeout=60_000,
    )
    page.cancel()
    qtbot.waitUntil(lambda: run.result is not None, timeout=5000)
    assert run.result.cancelled and run.result.verdict == "cancelled"
    qtbot.waitUntil(lambda: child_processes() == [], timeout=5000)


def test_snapshot_writes_one_png_per_step(tmp_path: Path) -> None:
    done = run_modelvet(
        "gui",
        "--profile",
        str(EXAMPLE),
        "--snapshot",
        str(tmp_path),
        env={"QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr
    pngs = sorted(p.name for p in tmp_path.glob("*.png"))
    for step in (
        "01-welcome",
        "02-organisation-security",
        "03-hardware",
        "04-capability",
        "05-results",
        "06-smoke-test",
        "07-export",
    ):
        assert f"{step}.png" in pngs
    assert all((tmp_path / p).stat().st_size > 10_000 for p in pngs)


@pytest.mark.qt_log_ignore("does not support propagateSizeHints")  # the failure's dialog
def test_export_writes_the_record_without_blocking(
    window, qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The record is written on a worker thread, never on the GUI thread."""
    import threading

    import modelvet.engine.report as report

    writers: list[threading.Thread] = []
    real = report.write_report

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        writers.append(threading.current_thread())
        return real(*args, **kwargs)

    monkeypatch.setattr(report, "write_report", spy)
    path = tmp_path / "decision.md"
    window.go_to(6)
    window.export_record("md", str(path))
    qtbot.waitUntil(lambda: "Written" in window.export.status.text(), timeout=30_000)
    assert writers and writers[0] is not threading.main_thread()
    assert "qwen3-8b" in path.read_text().lower()  # excluded models are in the record too
    window.export_record("pdf", str(tmp_path / "missing-folder" / "decision.pdf"))
    qtbot.waitUntil(lambda: "✗" in window.export.status.text(), timeout=30_000)
    assert not (tmp_path / "missing-folder").exists()


def test_enter_moves_on(window, qtbot) -> None:
    window.go_to(3)
    window.steps.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_Return)
    assert window.stack.currentWidget() is window.results


HANGING_CHILD = [sys.executable, "-c", "import time; time.sleep(600)"]


def _hanging_child_runs() -> bool:
    """The model process has started (not a child of hardware detection)."""
    for pid in child_processes():
        with contextlib.suppress(psutil.Error):  # a detection helper may end meanwhile
            if HANGING_CHILD[-1] in psutil.Process(pid).cmdline():
                return True
    return False


@pytest.mark.parametrize(
    ("stage", "verdict"),
    [("hashing", "Cancelled before loading"), ("running", "cancelled")],
)
def test_escape_cancels_a_running_smoke_test(
    window, qtbot, request, monkeypatch: pytest.MonkeyPatch, stage: str, verdict: str
) -> None:
    """Escape, pressed wherever the focus is, stops the smoke test: while the file is hashed
    (a sparse 16 GiB file) or while its model process runs (a child that never answers)."""
    monkeypatch.setattr(runner, "child_command", lambda: HANGING_CHILD)
    window.go_to(window.pages.index(window.smoke))
    page = window.smoke
    if stage == "hashing":
        page.start(request.getfixturevalue("big_gguf"))
        qtbot.waitUntil(lambda: page.status.text().startswith("hashing"), timeout=60_000)
    else:
        page.start(request.getfixturevalue("smol_gguf"))
        qtbot.waitUntil(lambda: _hanging_child_runs(), timeout=60_000)
    assert page.busy()
    page.files.setFocus()
    qtbot.keyClick(page.files, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not page.busy(), timeout=5000)
    assert verdict in page.verdict.text()
    assert page.status.text().startswith("Cancelled"), page.status.text()
    assert child_processes() == [] and window.isVisible()


def test_saved_profiles_appear_in_the_recent_list(window, tmp_path: Path) -> None:
    window.profile_path = tmp_path / "mine.toml"
    window.save_profile()
    names = [window.welcome.recent.item(i).text() for i in range(window.welcome.recent.count())]
    assert "mine.toml" in names and window.welcome.recent.isEnabled()


def test_organisation_figures_reach_the_licence_rules(window, qtbot) -> None:
    """Revenue typed on the Organisation step excludes models whose licence grants nothing
    above it, and the profile carries the figures the licence tests use."""
    window.go_to(1)
    page = window.security
    with qtbot.waitSignal(window.controller.recommendationChanged, timeout=5000):
        page.revenue.setValue(50_000_000)
        page.active_users.setValue(900_000_000)
        page.user_countries.set_codes(["DE"])
        page.user_countries.changed.emit()
    org = window.controller.profile.organisation
    assert (org.monthly_revenue_usd, org.monthly_active_users) == (50_000_000, 900_000_000)
    assert org.user_countries == ["DE"]
    excluded = {m.model_id: m for m in window.results.excluded_model.items}
    assert any(r.rule == "revenue-cap" for r in excluded["devstral-2-123b-instruct-2512"].reasons)
    with qtbot.waitSignal(window.controller.recommendationChanged, timeout=5000):
        page.revenue.setValue(-1)  # "not stated"
    assert window.controller.profile.organisation.monthly_revenue_usd is None


def test_unknown_terms_are_shown_apart_from_failures(window, qtbot) -> None:
    window.go_to(4)
    model = window.results.excluded_model
    verdicts = {model.verdict(item) for item in model.items}
    assert verdicts == {"fails a rule", "not established"}
    unknown_row = next(
        row for row, item in enumerate(model.items) if model.verdict(item) == "not established"
    )
    assert "(unknown)" in model.data(model.index(unknown_row, 2))
    assert model.data(model.index(unknown_row, 0), Qt.ItemDataRole.FontRole).italic()
    # Choosing "admit with a caveat" brings such models back, marked in the detail pane.
    admitted_before = {m.model_id for m in window.results.results_model.items}
    window.go_to(1)
    with qtbot.waitSignal(window.controller.recommendationChanged, timeout=5000):
        window.security.unknown_terms.setCurrentIndex(
            window.security.unknown_terms.findData("warn")
        )
    assert window.controller.profile.security.unknown_terms == "warn"
    items = window.results.results_model.items
    caveated = [m for m in items if m.model_id not in admitted_before]
    assert caveated and all(any(c.status == "unknown" for c in m.caveats) for m in caveated)
    window.go_to(4)
    results = window.results
    source = results.results_model.index(items.index(caveated[0]), 0)
    results.results_view.selectRow(results.results_proxy.mapFromSource(source).row())
    html = results.detail.toHtml()
    assert "not established" in html and "What you take on" in html


@pytest.mark.qt_log_ignore("does not support propagateSizeHints")  # offscreen, a new dialog
def test_plan_hardware_shows_presets_against_the_rules(window, qtbot) -> None:
    window.go_to(2)
    qtbot.mouseClick(window.hardware.plan_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.last_plan is not None, timeout=30_000)
    plan = window.last_plan
    table = window.plan_dialog.table
    assert table.rowCount() == len(plan.models) > 0
    assert table.columnCount() == 3 + len(window.catalog.hardware)
    # The profile blocks PRC origins: no Qwen model is planned for.
    assert not [m for m in plan.models if m.model_id.startswith("qwen")]
    texts = {
        table.item(r, 3 + c).text()
        for r in range(table.rowCount())
        for c in range(len(plan.machines))
    }
    assert "does not fit" in texts and any("tok/s" in t for t in texts)
    window.plan_dialog.close()


def test_manifest_and_verify_from_the_export_step(window, qtbot, tmp_path: Path) -> None:
    manifest = tmp_path / "m.json"
    window.go_to(6)
    window.write_manifest(str(manifest))
    qtbot.waitUntil(lambda: "Written" in window.export.status.text(), timeout=15_000)
    assert manifest.is_file()
    empty = tmp_path / "carried"
    empty.mkdir()
    window.verify_transfer(str(empty), str(manifest))
    qtbot.waitUntil(lambda: "Not every file" in window.export.status.text(), timeout=15_000)
    assert "missing" in window.export.status.text()


def test_detected_hardware_is_shown_as_computed_with(qtbot) -> None:
    """A detected card's bandwidth, taken from a preset card of its name, reaches the views
    (the smoke page predicts with it) and not only the recommendation."""
    from modelvet.engine.hardware import Gpu, HardwareSpec
    from modelvet.gui.controller import ProfileController

    controller = ProfileController(bundled_catalog())
    card = Gpu(name="NVIDIA GeForce RTX 4090", memory_gb=24)
    detected = HardwareSpec(name="this machine", origin="detected", ram_gb=64, gpus=[card])
    with qtbot.waitSignal(controller.hardwareChanged, timeout=1000) as shown:
        controller.set_detected(detected)
    assert shown.args[0].gpus[0].bandwidth_gbs == 1008
    assert controller.hardware() == shown.args[0]
    controller.flush()
    assert controller.recommendation is not None
    assert controller.recommendation.hardware.gpus[0].bandwidth_gbs == 1008


def _md_text(cell: str) -> str:
    """A Markdown table cell back to its text (the report's `md` escapes, undone)."""
    for safe, raw in (("\\|", "|"), ("\\[", "["), ("\\]", "]"), ("\\`", "`"), ("&lt;", "<")):
        cell = cell.replace(safe, raw)
    return cell.replace("&gt;", ">").replace("&amp;", "&").replace("\\\\", "\\")


def test_the_detail_pane_words_the_facts_as_the_record_does(window) -> None:
    from modelvet.engine.report import render

    window.go_to(window.pages.index(window.results))
    results = window.results
    results.select_top(1)
    (item,) = results.selected()
    pane = " ".join(results.detail.toPlainText().split())
    record = render(window.controller.recommendation, "md", catalog=window.catalog).decode()
    facts = record.split(f"### {item.rank}. {item.name}\n", 1)[1].lstrip().split("\n\n")[0]
    rows = [line.strip("| ").split(" | ") for line in facts.splitlines()[2:]]
    assert len(rows) >= 10 and {"Predicted memory", "Parameters", "File"} <= {r[0] for r in rows}
    missing = [
        (label, _md_text(value))
        for label, value in rows
        if not value.startswith("<http") and f"{label} {_md_text(value)}" not in pane
    ]
    assert missing == [], missing
