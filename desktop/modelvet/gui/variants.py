"""The detail pane's variant section: what the choice traded, its alternatives, and its command."""

from __future__ import annotations

from html import escape

from modelvet.engine.fit.speed import RANGE_HIGH, RANGE_LOW
from modelvet.engine.rank.result import Alternative, MemoryBreakdown, RecommendedModel
from modelvet.engine.vocabulary import format_bytes, placement_phrase

VARIANT_SCHEME = "variant"  # links "variant:N" choose alternative N


def _speed(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


def loss_text(value: float | None) -> str:
    return "–" if value is None else f"+{value:.2f} %"


def context_text(item: RecommendedModel) -> str:
    most = item.max_context_tokens
    if most is None or most.f16 is None:
        return "not predicted"
    q8 = f"{most.q8_0:,}" if most.q8_0 is not None else "?"
    return f"{most.f16:,} tokens with an f16 KV cache, {q8} with q8_0"


def alternatives_text(item: RecommendedModel) -> str:
    return (
        ", ".join(f"{a.quant} {placement_phrase(a.placement)}" for a in item.alternatives) or "none"
    )


def variant_html(item: RecommendedModel, requested: int) -> str:
    """The chosen variant, its largest context, the command line and the alternatives."""
    if item.placement == "hosted":
        return ""
    command = (
        f"<p style='font-family: monospace'>{escape(item.run_command)}</p>"
        if item.run_command
        else "<p>no command</p>"
    )
    rows = "".join(
        f"<li><b>{escape(a.quant or '?')} {escape(placement_phrase(a.placement))}</b>: "
        f"{_speed(a.predicted_tokens_per_s)} tokens/s, {format_bytes(a.predicted_memory_bytes)}, "
        f"perplexity {loss_text(a.quality_loss_pct)}, from {escape(a.publisher or '?')} — "
        f"{escape(a.trade)}. <a href='{VARIANT_SCHEME}:{index}'>Use this variant</a></li>"
        for index, a in enumerate(item.alternatives)
    )
    alternatives = f"<ul>{rows}</ul>" if rows else "<p>No other admissible variant.</p>"
    return (
        f"<h4>Variant</h4><p>{escape(item.variant_choice or '')}</p>"
        f"<p><b>Largest context that fits</b>: {escape(context_text(item))}; you asked for "
        f"{requested:,} (the model supports {item.context_length or 0:,}).</p>"
        f"<p><b>Run it with</b> llama-server:</p>{command}"
        f"<h4>Alternatives</h4>{alternatives}"
    )


def with_alternative(item: RecommendedModel, index: int) -> RecommendedModel:
    """The same model with alternative `index` in use; the variant it replaces becomes one."""
    chosen = item.alternatives[index]
    previous = Alternative(
        quant=item.quant,
        publisher=item.publisher,
        file_size_bytes=item.file_size_bytes,
        sha256=item.sha256,
        placement=item.placement,
        predicted_memory_bytes=item.predicted_memory_bytes,
        predicted_tokens_per_s=item.predicted_tokens_per_s,
        meets_speed_target=item.meets_speed_target,
        quality_loss_pct=item.quality_loss_pct,
        run_command=item.run_command,
        trade="the recommended variant",
    )
    others = [a for i, a in enumerate(item.alternatives) if i != index]
    return item.model_copy(
        update={
            "quant": chosen.quant,
            "publisher": chosen.publisher,
            "file_size_bytes": chosen.file_size_bytes,
            "sha256": chosen.sha256,
            "placement": chosen.placement,
            "predicted_memory_bytes": chosen.predicted_memory_bytes,
            "predicted_tokens_per_s": chosen.predicted_tokens_per_s,
            "predicted_tokens_per_s_range": (
                None
                if chosen.predicted_tokens_per_s is None
                else [chosen.predicted_tokens_per_s * f for f in (RANGE_LOW, RANGE_HIGH)]
            ),
            "meets_speed_target": chosen.meets_speed_target,
            "quality_loss_pct": chosen.quality_loss_pct,
            "run_command": chosen.run_command,
            "variant_choice": f"your choice: {chosen.quant} {placement_phrase(chosen.placement)}, "
            f"instead of the recommended {item.quant} {placement_phrase(item.placement)} "
            f"({chosen.trade})",
            "alternatives": [previous, *others],
            # Only the total is known for an alternative; its context limit is not planned.
            "memory": MemoryBreakdown(
                weights_bytes=None,
                kv_cache_bytes=None,
                compute_bytes=None,
                overhead_bytes=None,
                total_bytes=chosen.predicted_memory_bytes,
            ),
            "max_context_tokens": None,
            "files": [],
            "gpu_share": None,
        }
    )
