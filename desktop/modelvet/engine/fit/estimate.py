"""`modelvet estimate`: one variant on the profile's hardware and runtime, whatever the policy says.

The same frame `recommend` ranks, narrowed to one model and quantisation, with the decode speed
predicted at a chosen depth (tokens already in the cache, llama-bench's `-d`), and the policy's
verdict reported beside it rather than used as a filter.
"""

from __future__ import annotations

import difflib
from dataclasses import replace
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict

from modelvet.engine.errors import ModelVetError
from modelvet.engine.fit.pipeline import with_fit
from modelvet.engine.fit.placement import Capacity
from modelvet.engine.fit.placement import assumptions as placement_assumptions
from modelvet.engine.fit.quants import BITS_PER_WEIGHT, UNKNOWN_QUANT_BITS, normalise_quant
from modelvet.engine.fit.settings import RunSettings
from modelvet.engine.fit.speed import assumptions as speed_assumptions
from modelvet.engine.fit.speed import default_depth
from modelvet.engine.hardware import HardwareSpec
from modelvet.engine.profile import Profile
from modelvet.engine.rank.result import MemoryBreakdown, RuleFailure
from modelvet.engine.vocabulary import preferences


class PolicyVerdict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    admitted: bool
    reasons: list[RuleFailure]


class Estimate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_id: str
    name: str
    quant: str | None
    file_size_bytes: int | None
    size_status: str | None
    hardware: str
    placement: str | None
    gpu_share: float | None
    memory: MemoryBreakdown
    depth_tokens: int
    predicted_tokens_per_s: float | None
    predicted_tokens_per_s_range: list[float] | None
    speed_bound: str | None
    predicted_prefill_tokens_per_s: float | None
    bandwidth_bound_tokens_per_s: float | None
    runtime: dict[str, Any]
    assumptions: list[str]
    policy: PolicyVerdict


def _pick(rows: pl.DataFrame, model_id: str, quant: str | None) -> dict[str, Any]:
    """The asked quantisation, or the most precise one of the best placement."""
    if quant is not None:
        wanted = normalise_quant(quant)
        chosen = rows.filter(pl.col("quant") == wanted)
        if chosen.is_empty():
            known = ", ".join(sorted({q for q in rows["quant"] if q})) or "none"
            raise ModelVetError(
                f"{model_id} has no {quant} variant", "quantisation", f"the catalog lists: {known}"
            )
        rows = chosen
    bits = pl.col("quant").replace_strict(
        BITS_PER_WEIGHT, default=UNKNOWN_QUANT_BITS, return_dtype=pl.Float64
    )
    # Whole on the GPU(s) first, then split with the CPU, then the CPU alone, then not at all.
    placed = pl.col("placement").replace_strict(preferences(), default=9, return_dtype=pl.Int8)
    ordered = rows.with_columns(placed.alias("_placed"), bits.alias("_bits")).sort(
        ["_placed", "_bits", "total_bytes"], descending=[False, True, False], nulls_last=True
    )
    return ordered.row(0, named=True)


def _unknown_model(model_id: str, known: list[str]) -> ModelVetError:
    close = difflib.get_close_matches(model_id, known, n=5, cutoff=0.4)
    hint = f"did you mean: {', '.join(close)}?" if close else "no catalog id is close to it"
    return ModelVetError(
        f"no model {model_id!r} in the catalog ({len(known)} models)", "model", hint
    )


def estimate(
    profile: Profile,
    model_id: str,
    quant: str | None = None,
    depth_tokens: int | None = None,
    hardware: HardwareSpec | None = None,
    prepared: Any = None,
    overrides: dict[str, Any] | None = None,
) -> Estimate:
    from modelvet.engine.hardware import resolve_hardware
    from modelvet.engine.rank.recommend import _prepared_bundled

    prepared = prepared or _prepared_bundled()
    if model_id not in prepared.catalog.models:
        raise _unknown_model(model_id, sorted(prepared.catalog.models))
    hardware = hardware or resolve_hardware(profile.hardware, prepared.catalog)
    settings = profile.capability.run_settings(**(overrides or {}))
    settings = replace(settings, threads=settings.threads_on(hardware.cpu_cores))
    depth = default_depth(settings) if depth_tokens is None else depth_tokens
    narrowed = replace(prepared, variants=prepared.variants.filter(pl.col("model_id") == model_id))
    row = _pick(_fitted(narrowed.variants, settings, hardware, depth), model_id, quant)
    speed = row["predicted_tokens_per_s"]
    low, high = row["predicted_tokens_per_s_low"], row["predicted_tokens_per_s_high"]
    cap = Capacity.of(hardware)
    return Estimate(
        model_id=model_id,
        name=row["name"],
        quant=row["quant"],
        file_size_bytes=row["size_bytes"] or row["weights_bytes"],
        size_status=row["size_status"],
        hardware=hardware.name,
        placement=row["placement"],
        gpu_share=row["gpu_share"],
        memory=MemoryBreakdown(**{k: row[k] for k in MemoryBreakdown.model_fields}),
        depth_tokens=depth,
        predicted_tokens_per_s=speed,
        predicted_tokens_per_s_range=[low, high] if speed is not None else None,
        speed_bound=row["speed_bound"] if speed is not None else None,
        predicted_prefill_tokens_per_s=row["predicted_prefill_tokens_per_s"],
        bandwidth_bound_tokens_per_s=row["bandwidth_bound_tokens_per_s"],
        runtime=settings.as_dict() | {"description": settings.describe()},
        assumptions=[
            *([row["memory_gap"]] if row["memory_gap"] else []),
            *([row["speed_gap"]] if row["speed_gap"] else []),
            *hardware.filled,
            *placement_assumptions(cap),
            *speed_assumptions(cap, settings, depth),
        ],
        policy=_verdict(narrowed, profile, hardware),
    )


def _fitted(
    variants: pl.DataFrame, settings: RunSettings, hardware: HardwareSpec, depth: int
) -> pl.DataFrame:
    """Memory, placement and speed columns for these variants (recommend's formulas)."""
    return with_fit(variants, settings, Capacity.of(hardware), depth)


def _verdict(narrowed: Any, profile: Profile, hardware: HardwareSpec) -> PolicyVerdict:
    """What `recommend` decides for this model under the profile, fit aside (shown apart)."""
    from modelvet.engine.rank.recommend import evaluate

    recommended, failures = evaluate(narrowed, profile, hardware)
    if not recommended.is_empty():
        return PolicyVerdict(admitted=True, reasons=[])
    reasons = [
        RuleFailure(**reason)
        for row in failures.iter_rows(named=True)
        for reason in row["reasons"]
        if reason["rule"] != "fit"
    ]
    return PolicyVerdict(admitted=not reasons, reasons=reasons)
