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

from modelvet.engine.fit.memory import CELL_PADDING, RunSettings, memory_columns, padded_cells
from modelvet.engine.fit.placement import Capacity

KV_TYPES = ("f16", "q8_0")
# Every fourth power of two from 1K tokens; each model adds its own context length and the
# point where its sliding-window cache stops growing.
GRID = tuple(4**k for k in range(5, 13))
CONTEXT = "_context_tokens"


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


def _need(settings: RunSettings, cap: Capacity, kv: str) -> pl.Expr:
    """Bytes needed at each row's context length (column CONTEXT) with this KV type, counting
    one compute buffer per GPU in a layer split.

    Each KV type takes its own expression: not every cached byte shrinks with the KV type (a
    hybrid model's recurrent state stays f32), so one type's figure cannot be rescaled.
    """
    cells = padded_cells(pl.col(CONTEXT))
    columns = memory_columns(replace(settings, kv_cache_type=kv), cells)
    parts = {e.meta.output_name(): e for e in columns}
    total = pl.col("weights_bytes") + pl.sum_horizontal(parts.values())
    extra = parts["compute_bytes"] * max(cap.gpu_count - 1, 0)
    need = pl.when(pl.col("placement") == "multi-gpu").then(total + extra).otherwise(total)
    return need.cast(pl.Float64).alias(kv)


def _window_fill(settings: RunSettings) -> pl.Expr:
    """Context where a windowed sliding-window cache stops growing (window × sequences +
    micro-batch, padded): memory bends down there, so it is a point of its own and no chord
    spans the bend. Null without a windowed cache."""
    if settings.swa_full:
        return pl.lit(None, dtype=pl.Int64)
    cells = pl.col("sliding_window") * settings.window_sequences + settings.ubatch
    return padded_cells(cells).cast(pl.Int64)


def _points(frame: pl.DataFrame, settings: RunSettings, grid: tuple[int, ...]) -> pl.DataFrame:
    """One row per variant (`_row`) and context length: the grid lengths below the model's own
    context length, that length itself, and its window-fill point below it."""
    limit = pl.col("context_length").cast(pl.Int64)
    points = pl.concat_list(
        pl.lit(list(grid), dtype=pl.List(pl.Int64)), limit, _window_fill(settings)
    )
    return (
        frame.with_columns(points.alias(CONTEXT))
        .explode(CONTEXT)
        .filter(pl.col(CONTEXT).is_not_null() & (pl.col(CONTEXT) <= limit))
        .unique(["_row", CONTEXT])
        .sort("_row", CONTEXT)
    )


def _longest_fitting(kv: str) -> list[pl.Expr]:
    """Per variant: the longest context whose need fits the room, and the next one."""
    fits = pl.col(kv) <= pl.col("_room")
    return [
        pl.col(CONTEXT).filter(fits).max().alias(f"{kv}_low"),
        pl.col(kv).filter(fits).max().alias(f"{kv}_low_need"),
        pl.col(CONTEXT).filter(~fits).min().alias(f"{kv}_high"),
        pl.col(kv).filter(~fits).min().alias(f"{kv}_high_need"),
    ]


def _max_context(kv: str) -> pl.Expr:
    """The largest context within the room, read off the chord between the last point that
    fits and the first that does not (memory is straight or convex between points, so the
    chord errs low), rounded down to the 256-cell padding unless it is the model's own limit."""
    low, high = pl.col(f"{kv}_low"), pl.col(f"{kv}_high")
    low_need, high_need = pl.col(f"{kv}_low_need"), pl.col(f"{kv}_high_need")
    step = (pl.col("_room") - low_need) / (high_need - low_need) * (high - low)
    between = ((low + step) // CELL_PADDING) * CELL_PADDING
    reached = pl.when(high.is_null()).then(low).otherwise(pl.max_horizontal(low, between))
    return reached.cast(pl.Int64).alias(kv)


def _local(frame: pl.DataFrame, needs: list[pl.Expr]) -> pl.DataFrame:
    """The variants with a placement and a context length, only the columns `needs` read
    (a row per context length follows, so every column carried is copied that many times)."""
    local = ~pl.col("hosted") & pl.col("placement").is_not_null()
    read = {name for expr in needs for name in expr.meta.root_names()}
    read |= {"model_id", "context_length", "sliding_window", "placement"}
    columns = [name for name in frame.columns if name in read]
    return (
        frame.with_row_index("_row")
        .filter(local & pl.col("context_length").is_not_null())
        .select("_row", *columns)
    )


def plan_context(chosen: pl.DataFrame, settings: RunSettings, cap: Capacity) -> pl.DataFrame:
    """Adds `max_context_tokens` {f16, q8_0}: the longest context that keeps each placement.

    Memory is predicted, in one pass, at every point of each variant (the grid lengths, its
    own context length, its window-fill point) for both KV types."""
    needs = [_room(cap).alias("_room"), *(_need(settings, cap, kv) for kv in KV_TYPES)]
    # Lazily: the optimiser shares the memory formulas' common parts between the two KV types.
    points = _points(_local(chosen, needs), settings, GRID).lazy().with_columns(needs).collect()
    reach = points.group_by("_row").agg(
        pl.col("_room").first(), *(e for kv in KV_TYPES for e in _longest_fitting(kv))
    )
    maxima = reach.select(
        "_row", pl.struct(*(_max_context(kv) for kv in KV_TYPES)).alias("max_context_tokens")
    )
    # Hosted and unplaced variants keep the struct, with unknown fields.
    none = pl.struct(*(pl.lit(None, dtype=pl.Int64).alias(kv) for kv in KV_TYPES))
    joined = chosen.with_row_index("_row").join(maxima, on="_row", how="left")
    plan = pl.when(pl.col("max_context_tokens").is_null()).then(none)
    return joined.with_columns(
        plan.otherwise("max_context_tokens").alias("max_context_tokens")
    ).drop("_row")


# The chart draws a few models: every power of two, from 1K tokens.
CURVE_GRID = tuple(2**k for k in range(10, 25))


def context_curves(
    rows: pl.DataFrame, settings: RunSettings, cap: Capacity
) -> dict[str, list[dict[str, int]]]:
    """model_id → [{context_tokens, f16_bytes, q8_0_bytes}], for variants with a placement:
    memory at every power of two up to the model's context length, its window-fill point and
    the length itself."""
    needs = [_need(settings, cap, kv) for kv in KV_TYPES]
    points = _points(_local(rows, needs), settings, CURVE_GRID).with_columns(needs)
    plans = points.group_by("_row", maintain_order=True).agg(
        pl.col("model_id").first(),
        pl.struct(
            pl.col(CONTEXT).alias("context_tokens"),
            *(pl.col(kv).cast(pl.Int64).alias(f"{kv}_bytes") for kv in KV_TYPES),
        ).alias("context_plan"),
    )
    return {row["model_id"]: row["context_plan"] for row in plans.iter_rows(named=True)}
