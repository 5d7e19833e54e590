"""Turns the child's events into a SmokeResult: measured beside predicted, probes, verdict."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from modelvet.engine.smoke.protocol import (
    BuffersEvent,
    ChildEvent,
    LoadedEvent,
    ProbeEvent,
    ProbeResult,
    ResultEvent,
    StageEvent,
    TimedAnswer,
    TimingEvent,
)

MIB = 2**20


class Comparison(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quantity: str
    unit: str
    predicted: float | None
    measured: float | None

    @property
    def ratio(self) -> float | None:
        if self.predicted and self.measured:
            return self.measured / self.predicted
        return None


class Measured(BaseModel):
    model_config = ConfigDict(extra="forbid")

    load_seconds: float | None = None
    prompt_tokens: int | None = None
    prompt_tokens_per_s: float | None = None
    generated_tokens: int | None = None
    generation_tokens_per_s: float | None = None
    time_to_first_token_s: float | None = None
    peak_rss_bytes: int | None = None
    baseline_rss_bytes: int | None = None
    loaded_rss_bytes: int | None = None
    buffers_mib: dict[str, float] = {}


class SmokeResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    file: str
    sha256: str | None
    catalog_model_id: str | None
    settings: str
    checks: list[str]
    measured: Measured
    comparisons: list[Comparison]
    bandwidth_bound_tokens_per_s: float | None
    probes: list[ProbeResult]
    probes_passed: int
    passed: bool
    verdict: str
    cancelled: bool = False
    timed_out: bool = False
    error: str | None = None

    def to_json_dict(self) -> dict[str, Any]:
        data = self.model_dump(mode="json")
        for item, comparison in zip(data["comparisons"], self.comparisons, strict=True):
            item["ratio"] = comparison.ratio
        return data


def measured_from(events: Sequence[ChildEvent]) -> Measured:
    measured = Measured()
    for event in events:
        if isinstance(event, StageEvent) and event.baseline_rss_bytes is not None:
            measured.baseline_rss_bytes = event.baseline_rss_bytes
        elif isinstance(event, BuffersEvent):
            measured.buffers_mib = event.mib
        elif isinstance(event, LoadedEvent):
            measured.load_seconds = event.seconds
            measured.loaded_rss_bytes = event.peak_rss_bytes
        elif isinstance(event, TimingEvent):
            measured.prompt_tokens = event.prompt_tokens
            measured.prompt_tokens_per_s = event.prompt_tokens / max(event.prompt_seconds, 1e-9)
            measured.generated_tokens = event.generated_tokens
            if event.generated_tokens:
                measured.generation_tokens_per_s = event.generated_tokens / max(
                    event.generation_seconds, 1e-9
                )
            measured.time_to_first_token_s = event.time_to_first_token_s
        if isinstance(event, (LoadedEvent, TimingEvent, ResultEvent, TimedAnswer)):
            measured.peak_rss_bytes = max(measured.peak_rss_bytes or 0, event.peak_rss_bytes)
    return measured


def comparisons(predicted: dict[str, Any], measured: Measured) -> list[Comparison]:
    """Predicted against measured: llama.cpp's buffers, total memory, generation speed."""
    buffers = measured.buffers_mib
    pairs = [
        ("weights", "weights_bytes", "model"),
        ("KV cache", "kv_cache_bytes", "kv"),
        ("compute buffer", "compute_bytes", "compute"),
    ]
    rows = [
        Comparison(
            quantity=name,
            unit="MiB",
            predicted=(predicted.get(key) or 0) / MIB if predicted.get(key) else None,
            measured=buffers.get(kind),
        )
        for name, key, kind in pairs
    ]
    reported = sum(buffers.get(k, 0.0) for k in ("model", "kv", "compute", "output"))
    rows.append(
        Comparison(
            quantity="total of llama.cpp's buffers",
            unit="MiB",
            predicted=predicted["total_bytes"] / MIB if predicted.get("total_bytes") else None,
            measured=reported or None,
        )
    )
    model_rss = None
    if measured.loaded_rss_bytes and measured.baseline_rss_bytes is not None:
        model_rss = (measured.loaded_rss_bytes - measured.baseline_rss_bytes) / MIB
    rows.append(
        Comparison(
            quantity="total: memory the load added to the process",
            unit="MiB",
            predicted=predicted["total_bytes"] / MIB if predicted.get("total_bytes") else None,
            measured=model_rss,
        )
    )
    rows.append(
        Comparison(
            quantity="generation speed",
            unit="tokens/s",
            predicted=predicted.get("predicted_tokens_per_s"),
            measured=measured.generation_tokens_per_s,
        )
    )
    return rows


def probe_results(events: Sequence[ChildEvent]) -> list[ProbeResult]:
    return [
        ProbeResult(**event.model_dump(exclude={"event"}))
        for event in events
        if isinstance(event, ProbeEvent)
    ]
