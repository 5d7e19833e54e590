"""The fit formulas for one model file: a one-row frame through the same expressions."""

from __future__ import annotations

from typing import Any

import polars as pl

from modelvet.engine.catalog.schema import ARCHITECTURE_FIELDS
from modelvet.engine.fit.memory import RunSettings, memory_columns, total_bytes
from modelvet.engine.fit.placement import (
    Capacity,
    experts_on_cpu,
    gpu_share,
    placement,
)
from modelvet.engine.fit.speed import speed_columns
from modelvet.engine.hardware import HardwareSpec

# The architecture numbers fit reads (the schema's, without their source) and the weights.
ARCHITECTURE_COLUMNS = (*ARCHITECTURE_FIELDS, "weights_bytes")


def predict_one(
    row: dict[str, Any],
    settings: RunSettings,
    hardware: HardwareSpec | None = None,
    depth_tokens: int | None = None,
) -> dict[str, Any]:
    """Memory columns, and with hardware also placement and speed, for one variant."""
    row = {name: None for name in ARCHITECTURE_COLUMNS} | row
    params = {
        "active_params_b": row.pop("active_params_b", None),
        "total_params_b": row.pop("total_params_b", None),
    }
    frame = pl.DataFrame([row], schema_overrides={k: pl.Int64 for k in row}).with_columns(
        pl.lit(value, dtype=pl.Float64).alias(name) for name, value in params.items()
    )
    frame = frame.with_columns(memory_columns(settings)).with_columns(total_bytes())
    if hardware is not None:
        cap = Capacity.of(hardware)
        frame = (
            frame.with_columns(placement(cap).alias("placement"))
            .with_columns(experts_on_cpu(cap).alias("experts_on_cpu"))
            .with_columns(gpu_share(cap).alias("gpu_share"))
            .with_columns(speed_columns(cap, settings, depth_tokens))
        )
    return frame.row(0, named=True)
