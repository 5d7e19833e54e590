"""Calibration on this machine: measured ÷ predicted speed from its smoke runs, per backend.

Each smoke test adds its ratios (decode, and prompt processing where it was predicted) for
the machine and backend it ran on; later predictions for the same machine multiply by the
median of the recent ratios and say so ("calibrated on this machine from N runs"). Kept in
the user's data folder as JSON with a schema version, written atomically.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelvet.engine.errors import ModelVetError
from modelvet.engine.hardware import HardwareSpec
from modelvet.engine.storage import atomic_write_text, data_dir

SCHEMA_VERSION = 1
RECENT_RUNS = 10  # the newest runs count; older ones describe an older llama.cpp or setup
RATIO_LIMITS = (0.1, 10.0)  # a ratio outside this is a broken run, not a calibration


@dataclass(frozen=True)
class Calibration:
    decode: float = 1.0
    prefill: float = 1.0
    runs: int = 0

    def note(self) -> str | None:
        if not self.runs:
            return None
        return (
            f"calibrated on this machine from {self.runs} run(s): decode ×{self.decode:.2f}, "
            f"prompt processing ×{self.prefill:.2f} (measured ÷ predicted in its smoke tests)"
        )


def store_path() -> Path:
    return data_dir() / "calibration.json"


def machine_key(hardware: HardwareSpec, backend: str) -> str:
    """The same CPU, GPUs and memory on the same backend: one calibration."""
    parts = [hardware.cpu_model or "", f"{round(hardware.ram_gb)}GB", backend]
    parts += sorted(f"{g.name}:{round(g.memory_gb)}" for g in hardware.gpus)
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def _load(path: Path) -> dict[str, Any]:
    """The stored document; an unreadable, damaged or other-version file reads as empty."""
    fresh: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "machines": {}}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return fresh
    if (
        not isinstance(document, dict)
        or document.get("schema_version") != SCHEMA_VERSION
        or not isinstance(document.get("machines"), dict)
    ):
        return fresh
    return document


def _written_by_a_newer_modelvet(path: Path) -> bool:
    try:
        version = json.loads(path.read_text(encoding="utf-8")).get("schema_version")
    except (OSError, ValueError, AttributeError):
        return False
    return isinstance(version, int) and version > SCHEMA_VERSION


def _usable(ratio: Any) -> bool:
    return isinstance(ratio, int | float) and RATIO_LIMITS[0] <= ratio <= RATIO_LIMITS[1]


def record(
    hardware: HardwareSpec,
    backend: str,
    decode_ratio: float | None,
    prefill_ratio: float | None = None,
    path: Path | None = None,
) -> None:
    """Add one smoke run's measured ÷ predicted ratios for this machine and backend."""
    if not _usable(decode_ratio):
        return
    path = path or store_path()
    if _written_by_a_newer_modelvet(path):
        return  # its runs are kept as they are; this version cannot add to them
    document = _load(path)
    runs = document["machines"].setdefault(machine_key(hardware, backend), [])
    if not isinstance(runs, list):
        runs = []
    runs.append(
        {"decode": decode_ratio, "prefill": prefill_ratio if _usable(prefill_ratio) else None}
    )
    document["machines"][machine_key(hardware, backend)] = runs[-RECENT_RUNS:]
    # A calibration is a refinement: a full disk or a read-only folder must not cost the
    # smoke result that produced it.
    with contextlib.suppress(ModelVetError):
        atomic_write_text(path, json.dumps(document, indent=1))


def calibration_for(hardware: HardwareSpec, backend: str, path: Path | None = None) -> Calibration:
    """The median recent ratios for this machine, or none (factor 1) without smoke runs."""
    runs = _load(path or store_path())["machines"].get(machine_key(hardware, backend), [])
    runs = [r for r in runs if isinstance(r, dict)] if isinstance(runs, list) else []
    decode = [r["decode"] for r in runs if _usable(r.get("decode"))]
    if not decode:
        return Calibration()
    prefill = [r["prefill"] for r in runs if _usable(r.get("prefill"))]
    return Calibration(
        decode=statistics.median(decode),
        prefill=statistics.median(prefill) if prefill else 1.0,
        runs=len(decode),
    )


def record_from_smoke(pre: Any, result: Any) -> None:
    """After a passed smoke test: its measured ÷ uncalibrated-predicted speeds, for this machine."""
    hardware = getattr(pre, "hardware", None)
    if hardware is None or not result.passed or hardware.origin != "detected":
        return
    from modelvet.engine.fit.placement import Capacity

    measured = result.measured
    decode, prefill = (
        pre.predicted.get("uncalibrated_tokens_per_s"),
        pre.predicted.get("uncalibrated_prefill_tokens_per_s"),
    )
    record(
        hardware,
        Capacity.of(hardware).backend,
        measured.generation_tokens_per_s / decode
        if decode and measured.generation_tokens_per_s
        else None,
        measured.prompt_tokens_per_s / prefill
        if prefill and measured.prompt_tokens_per_s
        else None,
    )
