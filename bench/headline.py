"""Headline figures a benchmark hands to `bench/run` for the one table (a JSON list of rows)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--headline", type=Path, help="also write the headline figures here (for bench/run)"
    )


def write(path: Path | None, rows: list[tuple[str, str, str]]) -> None:
    """rows: (what is measured, the figure, the target it is held against)."""
    if path is not None:
        figures = [{"measure": m, "figure": f, "target": t} for m, f, t in rows]
        path.write_text(json.dumps(figures, ensure_ascii=False), encoding="utf-8")
