"""Context planning: memory against context length, and the longest context that still fits.

For each chosen variant, memory is predicted with the fit formulas at context lengths 1K, 2K, …,
16M tokens, with an f16 and a q8_0 KV cache. The largest context that fits keeps the variant in
its placement (a model fully on the GPU stays fully on the GPU): between two lengths on the grid
memory is interpolated along the chord, which never understates it (memory grows convexly with
context), so the figure is the conservative one; it is rounded down to llama.cpp's 256-cell
padding and capped at the model's own context length.
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from modelvet.engine.fit.memory import CELL_PADDING, RunSettings, memory_columns
from modelvet.engine.fit.placement import Capacity

KV_TYPES = ("f16", "q8_0")
GRID = tuple(2**k for k in range(10, 25))


def _room(cap: Capacity) -> pl.Expr:
    """Bytes the variant's placement may use."""
    split_room = cap.all_gpus_bytes + cap.ram_bytes if cap.gpu_count and not cap.unified else 0
    return (
        pl.when(pl.col("placement") == "gpu")
        .then(cap.largest_gpu_bytes)
        .when(pl.col("placement") == "multi-gpu")
        .then(cap.all_gpus_bytes)
        .when(pl.col("placement") == "gpu+cpu")
        .then(split_room)
        .otherwise(cap.ram_bytes)
        .cast(pl.Float64)
    )


def _need(settings: RunSettings, cap: Capacity) -> pl.Expr:
    """Bytes needed at these settings, counting one compute buffer per GPU in a layer split."""
    parts = {e.meta.output_name(): e for e in memory_columns(settings)}
    total = pl.col("weights_bytes") + pl.sum_horizontal(parts.values())
    extra = parts["compute_bytes"] * max(cap.gpu_count - 1, 0)
    return pl.when(pl.col("placement") == "multi-gpu").then(total + extra).otherwise(total)


def _name(kv: str, context: int) -> str:
    return f"_need_{kv}_{context}"


def _max_context(kv: str) -> pl.Expr:
    """The interpolated largest context whose need stays within the room."""
    best: pl.Expr = pl.lit(None, dtype=pl.Float64)
    for low, high in zip(GRID, GRID[1:], strict=False):
        need_low, need_high = pl.col(_name(kv, low)), pl.col(_name(kv, high))
        step = (pl.col("_room") - need_low) / (need_high - need_low) * (high - low)
        reached = pl.when(need_high <= pl.col("_room")).then(float(high)).otherwise(low + step)
        best = pl.when(need_low <= pl.col("_room")).then(reached).otherwise(best)
    limited = pl.min_horizontal(best, pl.col("context_length").cast(pl.Float64))
    padded = (limited // CELL_PADDING) * CELL_PADDING
    return pl.when(limited >= pl.col("context_length")).then(limited).otherwise(padded)


def plan_context(chosen: pl.DataFrame, settings: RunSettings, cap: Capacity) -> pl.DataFrame:
    """Adds `max_context_tokens` {f16, q8_0} and `context_plan` (memory at grid lengths)."""
    needs = [
        _need(replace(settings, context_tokens=c, kv_cache_type=kv), cap).alias(_name(kv, c))
        for kv in KV_TYPES
        for c in GRID
    ]
    local = ~pl.col("hosted") & pl.col("placement").is_not_null()
    points = [
        pl.when(pl.col("context_length").fill_null(0) >= c).then(
            pl.struct(
                pl.lit(c).alias("context_tokens"),
                *(pl.col(_name(kv, c)).cast(pl.Int64).alias(f"{kv}_bytes") for kv in KV_TYPES),
            )
        )
        for c in GRID
    ]
    maxima = pl.struct(
        *(pl.when(local).then(_max_context(kv)).cast(pl.Int64).alias(kv) for kv in KV_TYPES)
    )
    plan = pl.when(local).then(pl.concat_list(points).list.drop_nulls())
    helpers = [_name(kv, c) for kv in KV_TYPES for c in GRID] + ["_room"]
    return (
        chosen.with_columns(*needs, _room(cap).alias("_room"))
        .with_columns(maxima.alias("max_context_tokens"), plan.alias("context_plan"))
        .drop(helpers)
    )
