"""Facts the fit needs that a catalog model lacks: named by `catalog validate`, never silent."""

from __future__ import annotations

from modelvet.engine.catalog.frame import implied_params_b
from modelvet.engine.catalog.loader import Catalog
from modelvet.engine.catalog.schema import Architecture, Model
from modelvet.engine.fit.quants import BITS_PER_WEIGHT, normalise_quant


def _kv_gap(arch: Architecture | None) -> str | None:
    if arch is None or arch.layers is None:
        return "architecture numbers (layers, KV heads, head size)"
    if arch.kv_lora_rank is None and (arch.kv_heads is None or arch.head_dim is None):
        return "KV heads and head size"
    return None


def _state_gap(arch: Architecture | None) -> str | None:
    """A hybrid whose non-attention layers keep a recurrent state of unstated size."""
    if arch is None or arch.layers is None or arch.full_attention_layers is None:
        return None
    others = (arch.sliding_window_layers or 0) + (arch.kv_shared_layers or 0)
    hybrid = arch.full_attention_layers + others < arch.layers
    if hybrid and (arch.recurrent_layers is None or arch.recurrent_state_elements is None):
        return "recurrent state (recurrent_layers, recurrent_state_elements)"
    return None


def _experts_gap(model: Model) -> str | None:
    """A mixture of experts that states neither its active parameters nor its experts' width."""
    arch = model.architecture
    if arch is None or (arch.experts_total or 1) <= 1 or model.active_params_b is not None:
        return None
    if arch.expert_intermediate_size is not None:
        return "active_params_b (speed)"
    return "active_params_b or expert_intermediate_size (routed experts: compute buffer, speed)"


def _compute_gap(arch: Architecture | None) -> str | None:
    if arch is None:
        return None
    missing = [name for name in ("hidden_size", "vocab_size") if getattr(arch, name) is None]
    return f"{' and '.join(missing)} (compute buffer)" if missing else None


def _size_gap(model: Model) -> str | None:
    ggufs = [a for a in model.artifacts if a.format == "gguf"]
    params = implied_params_b(model)
    if not ggufs:
        return None if params is not None else "a GGUF file or a parameter count"
    unsized = [
        a.quant
        for a in ggufs
        if a.size_bytes is None
        and (params is None or normalise_quant(a.quant) not in BITS_PER_WEIGHT)
    ]
    return f"file size of {', '.join(unsized)} (and no parameter count)" if unsized else None


def model_gaps(model: Model) -> list[str]:
    """What the fit needs and this model's entry does not say (hosted-only models need none)."""
    if model.hosted is not None and not model.artifacts:
        return []
    arch = model.architecture
    gaps = [
        "context_length" if model.context_length is None else None,
        _kv_gap(arch),
        _compute_gap(arch),
        _experts_gap(model),
        _state_gap(arch),
        _size_gap(model),
    ]
    return [gap for gap in gaps if gap]


def catalog_gaps(catalog: Catalog) -> dict[str, list[str]]:
    """model id → missing facts, for every model with any."""
    found = {model.id: model_gaps(model) for model in catalog.models.values()}
    return {model_id: gaps for model_id, gaps in found.items() if gaps}
