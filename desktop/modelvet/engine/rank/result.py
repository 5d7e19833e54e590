"""The recommendation as a value: what `recommend --json`, the GUI and the reports all show."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from modelvet.engine.hardware import HardwareSpec


class _Value(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RuleFailure(_Value):
    """Why a model is excluded (or, as a caveat, what an approver must know about it)."""

    rule: str
    detail: str
    status: Literal["fail", "unknown", "caveat"] = "fail"
    licence: str | None = None  # the licence id, for licence rules
    clause_url: str | None = None


class Obligation(_Value):
    """A duty the organisation takes on under one licence that binds the model."""

    licence: str
    licence_name: str
    inherited: bool
    duty: str
    clause_url: str


class MemoryBreakdown(_Value):
    weights_bytes: int | None
    kv_cache_bytes: int | None
    compute_bytes: int | None
    overhead_bytes: int | None
    total_bytes: int | None


class Alternative(_Value):
    """Another admissible variant of a recommended model, and why the chosen one beat it."""

    quant: str | None
    publisher: str | None
    file_size_bytes: int | None
    sha256: str | None
    placement: str
    predicted_memory_bytes: int | None
    predicted_tokens_per_s: float | None
    meets_speed_target: bool | None
    quality_loss_pct: float | None
    run_command: str | None
    trade: str


class MaxContext(_Value):
    """The longest context (tokens) that keeps the variant in its placement, per KV cache type."""

    f16: int | None
    q8_0: int | None


class ContextPoint(_Value):
    """Predicted memory at one context length, with an f16 and with a q8_0 KV cache."""

    context_tokens: int
    f16_bytes: int | None
    q8_0_bytes: int | None


class RecommendedModel(_Value):
    rank: int
    model_id: str
    name: str
    developer: str
    developer_country: str
    origin: list[str]
    license: str
    license_name: str
    license_url: str
    licenses: list[str]
    obligations: list[Obligation]
    caveats: list[RuleFailure]
    total_params_b: float | None
    active_params_b: float | None
    context_length: int | None
    modalities: list[str]
    format: str | None
    quant: str | None
    publisher: str | None
    publisher_country: str | None
    file_size_bytes: int | None
    size_status: str | None
    sha256: str | None
    repo: str | None
    files: list[str]
    placement: str
    gpu_share: float | None
    predicted_memory_bytes: int | None
    memory: MemoryBreakdown
    memory_headroom: float | None
    predicted_tokens_per_s: float | None
    bandwidth_bound_tokens_per_s: float | None
    predicted_prefill_tokens_per_s: float | None
    meets_speed_target: bool | None
    score: float
    capability: float
    quant_penalty: float
    # Defaults only so that decision records written before these fields still load.
    quality_loss_pct: float | None = None
    quality_basis: str | None = None
    # [low, high]: where published measurements fall around the decode prediction
    predicted_tokens_per_s_range: list[float] | None = None
    variant_choice: str | None = None
    alternatives: list[Alternative] = []
    max_context_tokens: MaxContext | None = None
    run_command: str | None = None
    projector_file: str | None = None
    projector_bytes: int | None = None
    task_scores: list[str]
    missing_tasks: list[str]
    score_benchmarks: list[str]
    certifications: list[str]
    reasons: list[str]


class ExcludedModel(_Value):
    model_id: str
    name: str
    developer: str
    developer_country: str
    license: str
    reasons: list[RuleFailure]
    smallest_memory_bytes: int | None = None
    capability: float | None = None


class Recommendation(_Value):
    catalog_version: str
    profile: dict[str, Any]
    hardware: HardwareSpec
    settings: str
    assumptions: list[str]
    recommended: list[RecommendedModel]
    excluded: list[ExcludedModel]

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
