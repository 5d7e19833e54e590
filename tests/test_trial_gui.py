"""The trial dialog from the smoke step, offscreen, on the real SmolLM2: the table fills, a
human's marks are kept in the history and reach the exported record; Cancel stops in time."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtWidgets import QComboBox

from modelvet.engine.trial import store
from tests.helpers import child_processes

pytestmark = [
    pytest.mark.llama,
    pytest.mark.qt_log_ignore("does not support propagateSizeHints"),  # offscreen, a new dialog
]

SMALL_SET = """
name = "Small"
[[prompts]]
id = "capital"
prompt = "What is the capital of France? Answer with one word."
max_tokens = 8
check = { type = "contains", text = "Paris" }

[[prompts]]
id = "hello"
prompt = "Say hello."
max_tokens = 8
"""


def _dialog(window, qtbot, smol_gguf: Path, tmp_path: Path):
    window.go_to(window.pages.index(window.smoke))
    window.smoke.context.setValue(512)
    window.smoke.files.clear()  # no selection: the dialog takes the demo model
    dialog = window.smoke.open_trial()
    qtbot.addWidget(dialog)
    assert dialog.model == smol_gguf
    path = tmp_path / "small.toml"
    path.write_text(SMALL_SET)
    dialog.sets.insertItem(0, "small", str(path))
    dialog.sets.setCurrentIndex(0)
    return dialog


def test_trial_dialog_fills_the_table_and_keeps_marks(
    window, qtbot, smol_gguf: Path, tmp_path: Path
) -> None:
    dialog = _dialog(window, qtbot, smol_gguf, tmp_path)
    dialog.second_kv.setCurrentText("q8_0")
    rows_seen: list[int] = []
    dialog.progress.valueChanged.connect(lambda _: rows_seen.append(dialog.table.rowCount()))
    dialog.run_button.click()
    qtbot.waitUntil(lambda: dialog.trial_result is not None, timeout=600_000)
    assert rows_seen and rows_seen[0] < 4  # rows arrived while the trial ran
    assert dialog.table.rowCount() == 4  # 2 prompts × (f16, q8_0)
    assert {dialog.table.item(r, 1).text() for r in range(4)} == {"[1] f16 KV", "[2] q8_0 KV"}
    assert dialog.table.item(0, 2).text().startswith("✓ contains")
    mark = dialog.table.cellWidget(dialog._rows[(1, "hello")], 7)
    assert isinstance(mark, QComboBox)
    mark.setCurrentText("bad")
    kept = store.load_trial(dialog.trial_result.history_id)
    assert kept.models[1].prompts[1].human_mark == "bad"
    assert (
        window.last_trial is dialog.trial_result
        and dialog.trial_result.models[1].prompts[1].human_mark
    )
    dialog.resize(1100, 520)
    assert dialog.grab().save(str(tmp_path / "trial-dialog.png"))
    out = tmp_path / "record.md"
    window.export_record("md", str(out))
    qtbot.waitUntil(lambda: out.exists(), timeout=30_000)
    assert "| hello | human | human, marked bad |" in out.read_text()


def test_cancel_stops_the_trial_within_two_seconds(
    window, qtbot, smol_gguf: Path, tmp_path: Path
) -> None:
    dialog = _dialog(window, qtbot, smol_gguf, tmp_path)
    dialog.run_button.click()
    qtbot.waitUntil(lambda: dialog.table.rowCount() >= 1, timeout=300_000)
    pressed = time.monotonic()
    dialog.cancel_button.click()
    qtbot.waitUntil(lambda: dialog.trial_result is not None, timeout=2000)
    assert time.monotonic() - pressed < 2.0
    assert dialog.trial_result.cancelled and "Cancelled" in dialog.status.text()
    assert dialog.run_button.isEnabled()
    qtbot.waitUntil(lambda: child_processes() == [], timeout=2000)
