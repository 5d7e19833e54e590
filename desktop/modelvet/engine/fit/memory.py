"""Memory a model needs in llama.cpp at a context length: weights, KV cache, compute buffers.

Written as polars expressions over the variants frame, so one formula serves the whole
catalog, a synthetic catalog of 100,000 variants, and a single GGUF file (a one-row frame).
The formulas follow how llama.cpp allocates (llama-kv-cache.cpp, llama-context.cpp):

- KV cache: per layer and cached token, K and V rows of kv_heads × head_dim elements; sliding-
  window layers hold only window + n_ubatch cells; multi-head latent attention (DeepSeek, Kimi)
  caches one latent row of kv_lora_rank + qk_rope_head_dim elements and no V
  (https://github.com/ggml-org/llama.cpp/pull/19067). Cells are padded to 256.
- Compute buffer: the peak of the graph for one micro-batch (n_ubatch tokens): either the
  logits (vocab × n_ubatch f32) or, without flash attention, the attention scores
  (heads × cells × n_ubatch f32) and mask, plus a few hidden-state activations.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from modelvet.engine.fit.quants import KV_BYTES_PER_ELEMENT

F32_BYTES = 4
CELL_PADDING = 256
# Hidden-state activations live beside the peak tensor: the layer input and its norm at the
# logits, and Q, K, V, attention output and the residual inside attention.
ACTIVATIONS_AT_LOGITS = 2
ACTIVATIONS_AT_ATTENTION = 5


@dataclass(frozen=True)
class RunSettings:
    """The llama.cpp settings a prediction is made for.

    Flash attention defaults on, as llama.cpp's `--flash-attn auto` turns it on wherever the
    backend supports it; llama-cpp-python leaves it off unless asked, and the smoke test says
    which it used.
    """

    context_tokens: int
    kv_cache_type: str = "f16"
    n_ubatch: int = 512
    flash_attention: bool = True

    @property
    def ubatch(self) -> int:
        return min(self.n_ubatch, self.context_tokens)

    @property
    def kv_cells(self) -> int:
        return -(-self.context_tokens // CELL_PADDING) * CELL_PADDING

    def describe(self) -> str:
        attention = "flash attention" if self.flash_attention else "no flash attention"
        return (
            f"context {self.context_tokens} tokens, KV cache {self.kv_cache_type}, "
            f"micro-batch {self.ubatch}, {attention}"
        )


def _swa_cells(settings: RunSettings) -> pl.Expr:
    window_cells = pl.col("sliding_window") + settings.ubatch
    padded = ((window_cells + CELL_PADDING - 1) // CELL_PADDING) * CELL_PADDING
    return pl.min_horizontal(padded, pl.lit(settings.kv_cells))


def kv_cache_bytes(settings: RunSettings) -> pl.Expr:
    """KV cache bytes; null where the architecture numbers are unknown."""
    swa_layers = pl.col("sliding_window_layers").fill_null(0)
    full_layers = pl.coalesce(pl.col("full_attention_layers"), pl.col("layers") - swa_layers)
    is_mla = pl.col("kv_lora_rank").is_not_null()
    row_elements = (
        pl.when(is_mla)
        .then(pl.col("kv_lora_rank") + pl.col("qk_rope_head_dim").fill_null(0))
        .otherwise(2 * pl.col("kv_heads") * pl.col("head_dim"))
    )
    swa_cells = pl.when(swa_layers > 0).then(_swa_cells(settings)).otherwise(0)
    cells = full_layers * settings.kv_cells + swa_layers * swa_cells
    bytes_per_element = KV_BYTES_PER_ELEMENT[settings.kv_cache_type]
    return (row_elements * cells * bytes_per_element).round(0).cast(pl.Int64)


def compute_buffer_bytes(settings: RunSettings) -> pl.Expr:
    """The compute buffer llama.cpp reserves for the worst-case micro-batch."""
    ub = settings.ubatch
    hidden = pl.col("hidden_size")
    logits_peak = (pl.col("vocab_size") + ACTIVATIONS_AT_LOGITS * hidden) * ub * F32_BYTES
    if settings.flash_attention:
        scores = pl.lit(settings.kv_cells * ub * 2)  # only the f16 mask is materialised
    else:
        scores = (pl.col("attention_heads") + 1) * settings.kv_cells * ub * F32_BYTES
    attention_peak = scores + ACTIVATIONS_AT_ATTENTION * hidden * ub * F32_BYTES
    return pl.max_horizontal(logits_peak, attention_peak).cast(pl.Int64)


def output_buffer_bytes() -> pl.Expr:
    """Logits of one sequence's last token, f32, kept on the host."""
    return (pl.col("vocab_size") * F32_BYTES).cast(pl.Int64)


def memory_columns(settings: RunSettings) -> list[pl.Expr]:
    """Adds kv_cache_bytes, compute_bytes, overhead_bytes and total_bytes (needs weights_bytes)."""
    return [
        kv_cache_bytes(settings).alias("kv_cache_bytes"),
        compute_buffer_bytes(settings).alias("compute_bytes"),
        output_buffer_bytes().fill_null(0).alias("overhead_bytes"),
    ]


def total_bytes() -> pl.Expr:
    return (
        pl.col("weights_bytes")
        + pl.col("kv_cache_bytes")
        + pl.col("compute_bytes")
        + pl.col("overhead_bytes")
    ).alias("total_bytes")
