"""The wizard's variant choice: priority on the capability step, alternatives, command, context."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QGuiApplication


def _with_alternatives(window):
    results = window.results
    for row in range(results.results_proxy.rowCount()):
        results.results_view.selectRow(row)
        current = results.current
        if current is not None and current.alternatives and current.run_command:
            return current
    pytest.fail("no recommended model with alternatives")


def test_priority_choice_changes_the_chosen_variant(window, qtbot) -> None:
    page = window.capability
    quant = {}
    for priority in ("quality", "speed"):
        page.priority.setCurrentIndex(page.priority.findData(priority))
        window.controller.flush()
        assert window.controller.profile.capability.priority == priority
        quant[priority] = {
            m.model_id: m.quant for m in window.controller.recommendation.recommended
        }
    assert quant["quality"] != quant["speed"]


def test_detail_pane_shows_trade_alternatives_context_and_command(window) -> None:
    item = _with_alternatives(window)
    html = window.results.detail.toHtml()
    assert "Alternatives" in html and "Use this variant" in html
    assert "Largest context that fits" in html and "llama-server -m " in html
    assert item.variant_choice and item.variant_choice.split(",")[0] in html


def test_choosing_an_alternative_and_copying_its_command(window, qtbot) -> None:
    item = _with_alternatives(window)
    alternative = item.alternatives[0]
    window.results._on_link(QUrl("variant:0"))
    now = window.results.current
    assert (now.quant, now.placement) == (alternative.quant, alternative.placement)
    assert now.run_command == alternative.run_command
    assert (item.quant, item.placement) in [(a.quant, a.placement) for a in now.alternatives]
    window.results.copy_button.click()
    assert QGuiApplication.clipboard().text() == alternative.run_command


def test_context_chart_draws_the_selected_models(window) -> None:
    results = window.results
    results.results_view.selectRow(0)
    results.results_view.selectionModel().select(
        results.results_proxy.index(1, 0),
        results.results_view.selectionModel().SelectionFlag.Select
        | results.results_view.selectionModel().SelectionFlag.Rows,
    )
    chart = results.context_chart
    assert len(chart.curves) == 2
    assert all(len(points) >= 5 for _, points in chart.curves)
    assert chart.requested == 32768


def test_a_chosen_variant_is_the_one_recorded_and_it_outlives_a_recomputation(
    window, qtbot, tmp_path
) -> None:
    """Choosing an alternative changes the recommendation itself: the table, the exported
    record and the manifest name the chosen file, and an unrelated edit keeps the choice."""
    item = _with_alternatives(window)
    alternative = item.alternatives[0]
    window.results._on_link(QUrl("variant:0"))
    chosen = {m.model_id: m for m in window.controller.recommendation.recommended}[item.model_id]
    assert (chosen.quant, chosen.publisher) == (alternative.quant, alternative.publisher)
    assert chosen.variant_choice.startswith("your choice")
    window.capability.speed.setValue(window.capability.speed.value() + 1)  # any other edit
    window.controller.flush()
    kept = {m.model_id: m for m in window.controller.recommendation.recommended}[item.model_id]
    assert (kept.quant, kept.publisher) == (alternative.quant, alternative.publisher)
    path = tmp_path / "record.md"
    window.export_record("md", str(path))
    qtbot.waitUntil(path.exists, timeout=30_000)
    text = path.read_text()
    assert "your choice" in text and alternative.quant in text
