"""A trial's result: per prompt and per model, with totals and the proof of fit (`--json`)."""

from __future__ import annotations

import statistics
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from modelvet.engine.smoke.result import Measured


class _Value(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PromptOutcome(_Value):
    id: str
    prompt: str
    check: str  # the check's type: contains, regex, json, python, language, none
    answer: str
    passed: bool | None  # None: no automatic check, a human judges
    why: str
    prompt_tokens: int
    prompt_tokens_per_s: float | None
    decode_tokens: int
    decode_tokens_per_s: float | None
    time_to_first_token_s: float
    seconds: float
    human_mark: Literal["good", "bad"] | None = None


class FitProof(_Value):
    """Did the model load and answer with its context filled, and at what memory and speed."""

    requested_context_tokens: int
    context_tokens: int  # as loaded: the request, capped at the model's trained context
    filled_tokens: int | None
    loaded: bool
    answered: bool
    fits: bool
    predicted_total_bytes: int | None
    measured_peak_bytes: int | None  # what the load and the filled context added to the process
    memory_ratio: float | None  # measured_peak_bytes ÷ predicted_total_bytes
    measured_buffers_bytes: int | None  # llama.cpp's own buffers: weights, KV, compute, output
    predicted_kv_cache_bytes: int | None
    measured_kv_cache_bytes: int | None  # llama.cpp's KV buffer
    prompt_tokens_per_s: float | None
    decode_tokens_per_s_at_depth: float | None
    predicted_decode_tokens_per_s_at_depth: float | None
    time_to_first_token_s: float | None
    needle_found: bool | None
    needle_answer: str
    verdict: str


class Totals(_Value):
    checked: int  # prompts with an automatic check
    passed: int
    pass_rate: float | None
    median_prompt_tokens_per_s: float | None
    median_decode_tokens_per_s: float | None
    median_time_to_first_token_s: float | None
    peak_memory_bytes: int | None


class ModelTrial(_Value):
    """One candidate: a file at one configuration (KV-cache type, context)."""

    file: str
    sha256: str | None
    catalog_model_id: str | None
    kv_cache_type: str
    settings: str
    checks: list[str]
    measured: Measured
    prompts: list[PromptOutcome]
    totals: Totals
    fit: FitProof | None
    completed: bool
    error: str | None

    @property
    def label(self) -> str:
        return f"{self.file.rsplit('/', 1)[-1]} ({self.kv_cache_type} KV)"


class TrialResult(_Value):
    schema_version: Literal[1] = 1
    set_name: str
    set_source: str
    started_at: str
    models: list[ModelTrial]
    cancelled: bool = False
    history_id: int | None = None

    @property
    def passed(self) -> bool:
        """Every candidate ran to the end, and every proof of fit asked for held."""
        return not self.cancelled and all(
            m.completed and (m.fit is None or m.fit.fits) for m in self.models
        )

    def to_json_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def totals(prompts: list[PromptOutcome], peak_memory_bytes: int | None) -> Totals:
    checked = [p for p in prompts if p.passed is not None]
    passed = sum(1 for p in checked if p.passed)
    return Totals(
        checked=len(checked),
        passed=passed,
        pass_rate=passed / len(checked) if checked else None,
        median_prompt_tokens_per_s=_median([p.prompt_tokens_per_s for p in prompts]),
        median_decode_tokens_per_s=_median([p.decode_tokens_per_s for p in prompts]),
        median_time_to_first_token_s=_median([p.time_to_first_token_s for p in prompts]),
        peak_memory_bytes=peak_memory_bytes,
    )


def rate(tokens: int, seconds: float) -> float | None:
    return tokens / seconds if tokens and seconds > 0 else None
