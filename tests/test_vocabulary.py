"""One size format and one placement vocabulary: every surface says the same for a model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest
from PySide6.QtCore import Qt

from modelvet.engine.catalog import bundled_catalog
from modelvet.engine.profile import load_profile
from modelvet.engine.rank.recommend import recommend
from modelvet.engine.report import write_report
from modelvet.engine.vocabulary import (
    GB,
    PLACEMENTS,
    bytes_text,
    format_bytes,
    placement_label,
)
from tests.helpers import REPO

EXAMPLE = REPO / "examples" / "us-defense-24gb.toml"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "unknown"),
        (0, "0 MB"),
        (92_100_000, "92 MB"),
        (GB // 10, "0.1 GB"),
        (8_549_000_000, "8.5 GB"),
        (24 * GB, "24.0 GB"),
        (1234 * GB, "1234.0 GB"),
    ],
)
def test_one_size_format_in_python_and_in_polars(value: int | None, text: str) -> None:
    assert format_bytes(value) == text
    frame = pl.DataFrame({"bytes": [value]}, schema={"bytes": pl.Int64})
    assert frame.select(bytes_text("bytes")).item() == text


def test_every_placement_has_a_label_and_a_split_says_its_share() -> None:
    assert set(PLACEMENTS) == {"gpu", "multi-gpu", "gpu+cpu", "cpu", "hosted"}
    assert placement_label("gpu+cpu", 0.6) == "GPU + CPU (60% on GPU)"
    assert placement_label(None) == "does not fit"


def _column(model, name: str, row: int) -> str:
    column = model.COLUMNS.index(name)
    return model.data(model.index(row, column), Qt.ItemDataRole.DisplayRole)


def test_cli_wizard_and_record_show_the_same_placement_and_memory(window, tmp_path: Path) -> None:
    result = recommend(load_profile(EXAMPLE))
    local = [m for m in result.recommended if m.placement != "hosted"]
    assert local, "the example profile must recommend a model that runs locally"
    cli = subprocess.run(
        [sys.executable, "-m", "modelvet", "recommend", "--profile", str(EXAMPLE)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    record = write_report(result, "md", tmp_path / "record.md", catalog=bundled_catalog())
    markdown = record.read_text()
    table = window.results.results_model
    shown = {table.items[row].model_id: row for row in range(table.rowCount())}
    for item in local:
        label = placement_label(item.placement, item.gpu_share)
        size = format_bytes(item.predicted_memory_bytes)
        assert label in {p.label for p in PLACEMENTS.values()} or label.startswith("GPU + CPU (")
        assert f"{item.name} — {item.quant}, {label}, {size}," in cli
        assert f"| {label} | {size} |" in markdown
        row = shown[item.model_id]
        assert (_column(table, "Placement", row), _column(table, "Memory", row)) == (label, size)
