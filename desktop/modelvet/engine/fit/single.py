"""The fit formulas for one model file: a one-row frame through the same expressions."""

from __future__ import annotations

from typing import Any

import polars as pl

from modelvet.engine.catalog.schema import ARCHITECTURE_FIELDS
from modelvet.engine.fit.pipeline import with_fit
from modelvet.engine.fit.placement import Capacity
from modelvet.engine.fit.settings import RunSettings
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
    cap = Capacity.of(hardware) if hardware is not None else None
    return with_fit(frame, settings, cap, depth_tokens).row(0, named=True)
