"""Memory a model needs in llama.cpp at a context length: weights, KV cache, compute buffers.

Written as polars expressions over the variants frame, so one formula serves the whole
catalog, a synthetic catalog of 100,000 variants, and a single GGUF file (a one-row frame).
The formulas follow how llama.cpp allocates (llama-kv-cache.cpp, llama-context.cpp):

- KV cache: per layer and cached token, K and V rows of kv_heads × head_dim elements, with
  sliding and full-attention layers each their own geometry; a windowed sliding-window cache
  holds window × slots + n_ubatch cells (a full-size one the whole context); layers sharing an
  earlier layer's cache hold none; recurrent layers keep a fixed f32 state per slot; multi-head
  latent attention (DeepSeek, Kimi) caches one latent row of kv_lora_rank + qk_rope_head_dim
  elements and no V (https://github.com/ggml-org/llama.cpp/pull/19067). Cells are padded to 256.
- Compute buffer: the peak of the graph for one micro-batch (n_ubatch tokens), see
  `compute_buffer_bytes`.
"""

from __future__ import annotations

import polars as pl

from modelvet.engine.fit.quants import KV_BYTES_PER_ELEMENT
from modelvet.engine.fit.settings import CELL_PADDING, RunSettings

__all__ = ["RunSettings", "kv_cache_bytes", "compute_buffer_bytes", "memory_columns"]

F32_BYTES = 4
# Hidden-state activations live beside the peak tensor: the layer input and its norm at the
# logits; inside attention, besides Q and its output, the residual, its norm and K/V input.
ACTIVATIONS_AT_LOGITS = 2
ACTIVATIONS_AT_ATTENTION = 3
# Beside routed experts' activations: the layer input, the residual and the norm output.
ACTIVATIONS_AT_EXPERTS = 3


def padded_cells(context_tokens: pl.Expr) -> pl.Expr:
    """KV cells llama.cpp allocates for a context: rounded up to its 256-cell padding."""
    return ((context_tokens + CELL_PADDING - 1) // CELL_PADDING) * CELL_PADDING


def _cells(settings: RunSettings, cells: pl.Expr | None) -> pl.Expr:
    """The context's cells: the settings' own, or a column (one row per context length)."""
    return pl.lit(settings.kv_cells) if cells is None else cells


def _swa_cells(settings: RunSettings, cells: pl.Expr | None = None) -> pl.Expr:
    """Cells of a sliding layer's cache: the whole context, or the window(s) + one micro-batch."""
    if settings.swa_full:
        return _cells(settings, cells)
    window_cells = pl.col("sliding_window") * settings.window_sequences + settings.ubatch
    return padded_cells(pl.min_horizontal(window_cells, _cells(settings, cells)))


def _layer_counts() -> tuple[pl.Expr, pl.Expr]:
    """(sliding, full) layers that own a KV cache, as llama.cpp builds them."""
    sliding = pl.coalesce(
        pl.col("llama_cpp_sliding_window_layers"), pl.col("sliding_window_layers"), pl.lit(0)
    )
    others = pl.col("kv_shared_layers").fill_null(0) + pl.col("recurrent_layers").fill_null(0)
    full = pl.coalesce(pl.col("full_attention_layers"), pl.col("layers") - sliding - others)
    return sliding, full


def recurrent_state_bytes(settings: RunSettings) -> pl.Expr:
    """Per-sequence state of recurrent layers, f32, one copy per slot; null if only its size
    is unknown."""
    layers = pl.col("recurrent_layers").fill_null(0)
    state = layers * pl.col("recurrent_state_elements") * F32_BYTES * settings.parallel_slots
    return pl.when(layers == 0).then(0).otherwise(state)


def _k_widths() -> tuple[pl.Expr, pl.Expr]:
    """K (and V) elements per cached token of one sliding and one full-attention layer."""
    sliding = pl.col("kv_heads") * pl.col("head_dim")
    full = pl.coalesce(pl.col("full_attention_kv_heads"), pl.col("kv_heads")) * pl.coalesce(
        pl.col("full_attention_head_dim"), pl.col("head_dim")
    )
    return sliding, full


def kv_cache_bytes(settings: RunSettings, cells: pl.Expr | None = None) -> pl.Expr:
    """KV cache (and recurrent state) bytes; null where the architecture numbers are unknown.

    `cells` replaces the settings' context with a column of padded cells, so one pass gives
    memory at many context lengths (rank/context.py).

    Sliding and full-attention layers each have their own KV heads and head size (Gemma 4's
    global layers differ); layers that reuse an earlier layer's cache add nothing. Without
    flash attention V is stored transposed and every layer's V row is padded to the widest
    (llama-kv-cache.cpp, TAG_V_CACHE_VARIABLE).
    """
    sliding, full = _layer_counts()
    is_mla = pl.col("kv_lora_rank").is_not_null()
    mla_row = pl.col("kv_lora_rank") + pl.col("qk_rope_head_dim").fill_null(0)
    swa_k, full_k = _k_widths()
    if settings.flash_attention:
        swa_v, full_v = swa_k, full_k
    else:
        widest = pl.max_horizontal(
            pl.when(sliding > 0).then(swa_k).otherwise(0), pl.when(full > 0).then(full_k)
        )
        swa_v = full_v = widest
    swa_cells = pl.when(sliding > 0).then(_swa_cells(settings, cells)).otherwise(0)
    all_cells = _cells(settings, cells)
    elements = (
        pl.when((full + sliding) == 0)
        .then(0)
        .when(is_mla)
        .then(mla_row * (full + sliding) * all_cells)
        .otherwise((full_k + full_v) * full * all_cells + (swa_k + swa_v) * sliding * swa_cells)
    )
    bytes_per_element = KV_BYTES_PER_ELEMENT[settings.kv_cache_type]
    attention = (elements * bytes_per_element).round(0).cast(pl.Int64)
    return attention + recurrent_state_bytes(settings)


def compute_buffer_bytes(settings: RunSettings, cells: pl.Expr | None = None) -> pl.Expr:
    """The compute buffer llama.cpp reserves for the worst-case micro-batch.

    The peak is either the logits (vocab × n_ubatch f32) or a layer's work beside the
    attention masks, which live through every layer: one per cache (full, and sliding where
    the model has sliding layers), f16 with flash attention and f32 without. Inside a layer,
    whichever is widest of:
    - attention (only where some layer attends): without flash attention a full layer's
      scores (heads × cells × n_ubatch f32); Q and the attention output at the widest head
      size plus a few hidden-sized activations;
    - a dense feed-forward: gate, up and their product where the intermediate size is known;
    - routed experts (src/llama-graph.cpp, build_moe_ffn): `mul_mat_id` gives gate and up
      per selected expert, [expert_ffn, experts_used, n_ubatch], and the SwiGLU product is a
      third such tensor; beside them the layer input, the residual and the norm output, and the
      attention output's block, which the allocator cannot reuse for the wider expert tensors;
    - a recurrent layer (src/models/mamba-base.cpp, build_mamba2_layer): its input projection
      (z, x, B, C, dt) stays alive through the scan for z's gate, beside the convolution's
      concatenated input and its output, each about as wide: three projection widths plus
      the layer input and the residual.
    """
    ub = settings.ubatch
    hidden = pl.col("hidden_size")
    logits_peak = (pl.col("vocab_size") + ACTIVATIONS_AT_LOGITS * hidden) * ub * F32_BYTES
    sliding, full = _layer_counts()
    mask_bytes = 2 if settings.flash_attention else F32_BYTES
    all_cells = _cells(settings, cells)
    swa_mask = pl.when(sliding > 0).then(_swa_cells(settings, cells)).otherwise(0)
    full_mask = pl.when(full > 0).then(all_cells).otherwise(0)
    masks = (swa_mask + full_mask) * ub * mask_bytes
    head_dim = pl.max_horizontal(pl.col("head_dim"), pl.col("full_attention_head_dim"))
    q_width = pl.coalesce(pl.col("attention_heads") * head_dim, hidden)
    activations = (2 * q_width + ACTIVATIONS_AT_ATTENTION * hidden) * ub * F32_BYTES
    if not settings.flash_attention:
        activations = activations + pl.col("attention_heads") * all_cells * ub * F32_BYTES
    attends = ((full + sliding) > 0).fill_null(True)
    attention = pl.when(attends).then(activations)
    ffn = (3 * pl.col("intermediate_size") + 2 * hidden) * ub * F32_BYTES
    # Where the catalog does not state the experts' width, the active parameters bound it: the
    # routed experts' gate, up and down matrices (3 × hidden × width each) are part of them.
    per_layer = pl.col("active_params_b") * 1e9 / (3 * hidden * pl.col("layers"))
    routed = pl.coalesce(
        pl.col("experts_active") * pl.col("expert_intermediate_size"),
        pl.when(pl.col("experts_total").fill_null(1) > 1).then(per_layer.floor()),
    )
    experts = (3 * routed + ACTIVATIONS_AT_EXPERTS * hidden + q_width) * ub * F32_BYTES
    projection = pl.col("recurrent_projection_width")
    recurrent = pl.when(pl.col("recurrent_layers").fill_null(0) > 0).then(
        (3 * projection + 2 * hidden) * ub * F32_BYTES
    )
    layer_peak = masks + pl.max_horizontal(attention, ffn, experts, recurrent)
    return pl.max_horizontal(logits_peak, layer_peak).cast(pl.Int64)


def output_buffer_bytes(settings: RunSettings) -> pl.Expr:
    """Logits of each slot's last token, f32, kept on the host."""
    return (pl.col("vocab_size") * F32_BYTES * settings.parallel_slots).cast(pl.Int64)


def memory_columns(settings: RunSettings, cells: pl.Expr | None = None) -> list[pl.Expr]:
    """Adds kv_cache_bytes, compute_bytes and overhead_bytes (`cells`: see kv_cache_bytes)."""
    return [
        kv_cache_bytes(settings, cells).alias("kv_cache_bytes"),
        compute_buffer_bytes(settings, cells).alias("compute_bytes"),
        output_buffer_bytes(settings).fill_null(0).alias("overhead_bytes"),
    ]


def memory_gap() -> pl.Expr:
    """What the memory figure leaves out for want of a catalog fact, or null when nothing.

    The formulas above skip a term whose inputs are unknown (a logits peak without the
    vocabulary size, a hybrid's recurrent state without its size), so such a total is a lower
    bound; this says so, for the caveat every such prediction carries."""
    sliding, _ = _layer_counts()
    attention = pl.col("full_attention_layers") + sliding + pl.col("kv_shared_layers").fill_null(0)
    hybrid = attention < pl.col("layers")
    state_unknown = (
        pl.col("recurrent_layers").is_null() | pl.col("recurrent_state_elements").is_null()
    )
    compute_unknown = pl.col("hidden_size").is_null() | pl.col("vocab_size").is_null()
    experts_unknown = (
        (pl.col("experts_total").fill_null(1) > 1)
        & pl.col("expert_intermediate_size").is_null()
        & pl.col("active_params_b").is_null()
    )
    parts = [
        pl.when(compute_unknown).then(
            pl.lit("the compute buffer's logits and activations (hidden or vocabulary size)")
        ),
        pl.when(experts_unknown).then(
            pl.lit("the routed experts' activations (their width and the active parameters)")
        ),
        pl.when(hybrid.fill_null(False) & state_unknown).then(
            pl.lit("the recurrent layers' state (its size)")
        ),
    ]
    missing = pl.concat_str(parts, separator=" and ", ignore_nulls=True)
    return (
        pl.when(missing.str.len_chars() > 0)
        .then(
            pl.lit("predicted memory is a lower bound: it leaves out ")
            + missing
            + pl.lit(", which the catalog does not state")
        )
        .otherwise(None)
    )


def total_bytes() -> pl.Expr:
    return (
        pl.col("weights_bytes")
        + pl.col("kv_cache_bytes")
        + pl.col("compute_bytes")
        + pl.col("overhead_bytes")
    ).alias("total_bytes")
