"""The fit, in order: memory, placement, experts offloaded, GPU share, speed.

One sequence of column stages, so `recommend`, `estimate` and a single GGUF file (`inspect`,
the smoke test's prediction) read memory, placement and speed from the same formulas. Each
stage reads the columns the one before it added.
"""

from __future__ import annotations

from typing import TypeVar

import polars as pl

from modelvet.engine.fit.memory import memory_columns, memory_gap, total_bytes
from modelvet.engine.fit.placement import Capacity, experts_on_cpu, gpu_share, placement
from modelvet.engine.fit.settings import RunSettings
from modelvet.engine.fit.speed import speed_columns, speed_gap

Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)


def with_fit(
    frame: Frame, settings: RunSettings, cap: Capacity | None, depth_tokens: int | None = None
) -> Frame:
    """Adds memory (and `memory_gap`); with a capacity also placement, `experts_on_cpu`,
    `gpu_share` and the speed columns (and `speed_gap`). A `hosted` column, where present,
    places those rows "hosted"."""
    frame = frame.with_columns(*memory_columns(settings), memory_gap().alias("memory_gap"))
    frame = frame.with_columns(total_bytes())
    if cap is None:
        return frame
    placed = placement(cap)
    if "hosted" in frame.collect_schema().names():
        placed = pl.when(pl.col("hosted")).then(pl.lit("hosted")).otherwise(placed)
    return (
        frame.with_columns(placed.alias("placement"))
        .with_columns(experts_on_cpu(cap).alias("experts_on_cpu"))
        .with_columns(gpu_share(cap).alias("gpu_share"))
        .with_columns(*speed_columns(cap, settings, depth_tokens), speed_gap().alias("speed_gap"))
    )
