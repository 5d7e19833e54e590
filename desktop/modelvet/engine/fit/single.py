"""The fit formulas for one model file: a one-row frame through the same expressions."""

from __future__ import annotations

from typing import Any

import polars as pl

from modelvet.engine.fit.memory import RunSettings, memory_columns, total_bytes
from modelvet.engine.fit.placement import Capacity, gpu_share, placement, speed_columns
from modelvet.engine.hardware import HardwareSpec

ARCHITECTURE_COLUMNS = (
    "layers",
    "attention_heads",
    "kv_heads",
    "head_dim",
    "hidden_size",
    "vocab_size",
    "sliding_window",
    "sliding_window_layers",
    "full_attention_layers",
    "kv_lora_rank",
    "qk_rope_head_dim",
    "weights_bytes",
)


def predict_one(
    row: dict[str, Any], settings: RunSettings, hardware: HardwareSpec | None = None
) -> dict[str, Any]:
    """Memory columns, and with hardware also placement and speed, for one variant."""
    row = {name: None for name in ARCHITECTURE_COLUMNS} | row
    frame = pl.DataFrame([row], schema_overrides={k: pl.Int64 for k in row}).with_columns(
        pl.lit(None, dtype=pl.Float64).alias("active_params_b"),
        pl.lit(None, dtype=pl.Float64).alias("total_params_b"),
    )
    frame = frame.with_columns(memory_columns(settings)).with_columns(total_bytes())
    if hardware is not None:
        cap = Capacity.of(hardware)
        frame = (
            frame.with_columns(placement(cap).alias("placement"))
            .with_columns(gpu_share(cap).alias("gpu_share"))
            .with_columns(speed_columns(cap))
        )
    return frame.row(0, named=True)
