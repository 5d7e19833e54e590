"""Context planning: memory against context length, and the longest context that still fits.

For each chosen variant, memory is predicted with the fit formulas, once per KV type, at context
lengths 1K, 4K, …, 16M tokens (up to the longest context among the variants, and no further
than some variant still fits) and where a sliding window stops growing. The largest context that
fits keeps the variant in its placement (a model fully on the GPU stays fully on the GPU).
Between two grid lengths memory grows along a straight or convex stretch (the bends where a
window fills are grid lengths), so the chord never understates it and the figure errs low. It is
rounded down to llama.cpp's 256-cell padding and capped at the model's own context length.
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from modelvet.engine.fit.memory import CELL_PADDING, RunSettings, memory_columns
from modelvet.engine.fit.placement import Capacity

KV_TYPES = ("f16", "q8_0")
# Every fourth power of two: each grid length costs one pass of the fit formulas per KV type.
GRID = tuple(4**k for k in range(5, 13))


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
    """Bytes needed at these settings, counting one compute buffer per GPU in a layer split.

    Each KV type takes its own pass: not every cached byte shrinks with the KV type (a hybrid
    model's recurrent state stays f32), so one type's figure cannot be rescaled from another's.
    """
    parts = {e.meta.output_name(): e for e in memory_columns(settings)}
    total = pl.col("weights_bytes") + pl.sum_horizontal(parts.values())
    extra = parts["compute_bytes"] * max(cap.gpu_count - 1, 0)
    need = pl.when(pl.col("placement") == "multi-gpu").then(total + extra).otherwise(total)
    return need.alias(_name(settings.kv_cache_type, settings.context_tokens))


def _name(kv: str, context: int) -> str:
    return f"_need_{kv}_{context}"


def _grid(longest: int, kinks: tuple[int, ...] = ()) -> tuple[int, ...]:
    """The grid lengths needed to reach `longest` tokens, and the kinks below it."""
    reach = [c for c in GRID if c < longest]
    grid = (*reach, GRID[len(reach)]) if len(reach) < len(GRID) else GRID
    return tuple(sorted({*grid, *(k for k in kinks if k < grid[-1])}))


def _kinks(frame: pl.DataFrame, settings: RunSettings) -> tuple[int, ...]:
    """Contexts where a windowed sliding-window cache stops growing (window × sequences +
    micro-batch, padded). Memory bends down there: a chord across such a bend would understate
    it, so each becomes a grid length and every chord spans a straight or convex stretch."""
    if settings.swa_full or "sliding_window" not in frame.columns:
        return ()
    windows = frame.get_column("sliding_window").drop_nulls().unique().to_list()
    cells = (w * settings.window_sequences + settings.ubatch for w in windows)
    return tuple(-(-c // CELL_PADDING) * CELL_PADDING for c in cells)


def _max_context(kv: str, grid: tuple[int, ...]) -> pl.Expr:
    """The interpolated largest context whose need stays within the room."""
    best: pl.Expr = pl.lit(None, dtype=pl.Float64)
    for low, high in zip(grid, grid[1:], strict=False):
        need_low, need_high = pl.col(_name(kv, low)), pl.col(_name(kv, high))
        step = (pl.col("_room") - need_low) / (need_high - need_low) * (high - low)
        reached = pl.when(need_high <= pl.col("_room")).then(float(high)).otherwise(low + step)
        best = pl.when(need_low <= pl.col("_room")).then(reached).otherwise(best)
    limited = pl.min_horizontal(best, pl.col("context_length").cast(pl.Float64))
    padded = (limited // CELL_PADDING) * CELL_PADDING
    return pl.when(limited >= pl.col("context_length")).then(limited).otherwise(padded)


def _plan(frame: pl.DataFrame, grid: tuple[int, ...]) -> pl.DataFrame:
    """model_id → context_plan: the grid lengths up to the model's context, memory at each."""
    local = ~pl.col("hosted") & pl.col("placement").is_not_null()
    parts = [
        frame.filter(local & (pl.col("context_length").fill_null(0) >= c)).select(
            "model_id",
            pl.struct(
                pl.lit(c).alias("context_tokens"),
                *(pl.col(_name(kv, c)).cast(pl.Int64).alias(f"{kv}_bytes") for kv in KV_TYPES),
            ).alias("context_plan"),
        )
        for c in grid
    ]
    return pl.concat(parts).group_by("model_id", maintain_order=True).agg("context_plan")


def _with_needs(
    frame: pl.DataFrame, settings: RunSettings, cap: Capacity, grid: tuple[int, ...]
) -> pl.DataFrame:
    needs = [
        _need(replace(settings, context_tokens=c, kv_cache_type=kv), cap)
        for kv in KV_TYPES
        for c in grid
    ]
    return frame.with_columns(*needs, _room(cap).alias("_room"))


def _needs_until_full(
    frame: pl.DataFrame, settings: RunSettings, cap: Capacity, grid: tuple[int, ...]
) -> pl.DataFrame:
    """Need at each grid length, the longer lengths only while some variant still fits.

    Each length costs a pass of the fit formulas per KV type, so the passes stop once no variant
    fits (or the models' own context lengths are passed); the lengths left out never fit.
    """
    out = frame.with_columns(_room(cap).alias("_room"))
    for index, context in enumerate(grid):
        out = out.with_columns(
            _need(replace(settings, context_tokens=context, kv_cache_type=kv), cap)
            for kv in KV_TYPES
        )
        fits = pl.any_horizontal(pl.col(_name(kv, context)) <= pl.col("_room") for kv in KV_TYPES)
        if not out.select((fits & (pl.col("context_length") > context)).any()).item():
            return out.with_columns(
                pl.lit(float("inf")).alias(_name(kv, c))
                for kv in KV_TYPES
                for c in grid[index + 1 :]
            )
    return out


def _longest(frame: pl.DataFrame) -> int:
    return int(frame.get_column("context_length").max() or 0)  # type: ignore[arg-type]


def _crossed_kinks(
    needs: pl.DataFrame, settings: RunSettings, grid: tuple[int, ...]
) -> tuple[int, ...]:
    """The window-fill points that lie inside a chord some model's limit is read from.

    A bend matters only to the models with that window, and only where their memory crosses
    the room between the two grid lengths around it; elsewhere the chord is not used."""
    if settings.swa_full or "sliding_window" not in needs.columns:
        return ()
    crossed = []
    for window in needs.get_column("sliding_window").drop_nulls().unique().to_list():
        (kink,) = _kinks(pl.DataFrame({"sliding_window": [window]}), settings)
        if kink <= grid[0] or kink >= grid[-1] or kink in grid:
            continue
        low = max(c for c in grid if c < kink)
        high = min(c for c in grid if c > kink)
        crossing = pl.any_horizontal(
            (pl.col(_name(kv, low)) <= pl.col("_room"))
            & (pl.col(_name(kv, high)) > pl.col("_room"))
            for kv in KV_TYPES
        )
        if needs.filter((pl.col("sliding_window") == window) & crossing).height:
            crossed.append(kink)
    return tuple(sorted(set(crossed)))


def plan_context(chosen: pl.DataFrame, settings: RunSettings, cap: Capacity) -> pl.DataFrame:
    """Adds `max_context_tokens` {f16, q8_0}: the longest context that keeps each placement.

    The grid lengths first; then, where a model's limit falls in a chord across the point its
    sliding-window cache stops growing, that point too (a chord across the bend would
    understate memory)."""
    base = _grid(_longest(chosen))
    needs = _needs_until_full(chosen, settings, cap, base)
    kinks = _crossed_kinks(needs, settings, base)
    if kinks:
        needs = needs.with_columns(
            _need(replace(settings, context_tokens=k, kv_cache_type=kv), cap)
            for k in kinks
            for kv in KV_TYPES
        )
    grid = tuple(sorted({*base, *kinks}))
    local = ~pl.col("hosted") & pl.col("placement").is_not_null()
    maxima = pl.struct(
        *(pl.when(local).then(_max_context(kv, grid)).cast(pl.Int64).alias(kv) for kv in KV_TYPES)
    )
    return chosen.with_columns(needs.select(maxima.alias("max_context_tokens")))


# The chart draws a few models: every power of two, from 1K tokens.
CURVE_GRID = tuple(2**k for k in range(10, 25))


def context_curves(
    rows: pl.DataFrame, settings: RunSettings, cap: Capacity
) -> dict[str, list[dict[str, int]]]:
    """model_id → [{context_tokens, f16_bytes, q8_0_bytes}], for variants with a placement."""
    longest = max(_longest(rows), CURVE_GRID[0])
    kinks = (k for k in _kinks(rows, settings) if k <= longest)
    reach = sorted({*(c for c in CURVE_GRID if c <= longest), *kinks})
    frame = _with_needs(rows, settings, cap, tuple(reach))
    plans = _plan(frame, tuple(reach))
    return {row["model_id"]: row["context_plan"] for row in plans.iter_rows(named=True)}
