"""The llama-server command line that realises a variant's predicted placement and settings.

`-ngl` follows the placement: every layer on the GPU(s) (999 is llama.cpp's "all"), none on the
CPU, and for a layer split the whole layers that fit in the GPU share fit predicted; an MoE model
split the `--cpu-moe` way keeps every layer's routed experts in RAM (`--n-cpu-moe <layers>`).
Context, slots, batches, KV cache type, flash attention, the sliding-window cache and threads are
those of the prediction.
"""

from __future__ import annotations

import polars as pl

from modelvet.engine.fit.memory import RunSettings

ALL_LAYERS = 999


def _model_file() -> pl.Expr:
    """The first file of the variant (the first part of a split GGUF), or a named placeholder."""
    placeholder = pl.format(
        "{}-{}.gguf", pl.col("repo").str.split("/").list.last().fill_null("model"), pl.col("quant")
    )
    return pl.coalesce(pl.col("files").list.first(), placeholder)


def _gpu_layers() -> pl.Expr:
    layers = pl.col("layers")
    split = (pl.col("gpu_share") * layers).floor().cast(pl.Int64)
    return (
        pl.when(pl.col("placement").is_in(["gpu", "multi-gpu"]) | pl.col("experts_on_cpu"))
        .then(pl.lit(ALL_LAYERS, dtype=pl.Int64))
        .when(pl.col("placement") == "gpu+cpu")
        .then(split)
        .otherwise(pl.lit(0, dtype=pl.Int64))
    )


def run_command(settings: RunSettings, cpu_cores: int | None, images: bool = False) -> pl.Expr:
    """One command line per local variant; null for hosted models.

    With `images` (a vision task), a variant whose projector file the catalog names loads it.
    """
    kv = settings.kv_cache_type
    threads = settings.threads_on(cpu_cores)
    # Every setting the prediction assumed is spelled out, so the command realises it even when
    # the prediction describes another runtime's defaults (llama-cpp-python: one slot, no flash
    # attention, a full-size sliding-window cache, batch 512).
    fixed = (
        f" -c {settings.context_tokens} -np {settings.parallel_slots}"
        + (" --kv-unified" if settings.kv_unified and settings.parallel_slots > 1 else "")
        + f" -b {settings.batch} -ub {settings.ubatch}"
        f" -fa {'on' if settings.flash_attention else 'off'}"
        f" --cache-type-k {kv} --cache-type-v {kv}"
        + (" --swa-full" if settings.swa_full else "")
        + (f" -t {threads}" if threads else "")
    )
    experts = pl.when(pl.col("experts_on_cpu").fill_null(False)).then(
        pl.format(" --n-cpu-moe {}", pl.col("layers"))
    )
    projector = pl.format(" --mmproj {}", pl.col("projector_file")) if images else pl.lit(None)
    line = pl.concat_str(
        pl.lit("llama-server -m "),
        _model_file(),
        projector.fill_null(""),
        pl.format(" -ngl {}", _gpu_layers()),
        experts.otherwise(pl.lit("")),
        pl.lit(fixed),
    )
    return pl.when(pl.col("hosted") | pl.col("placement").is_null()).then(None).otherwise(line)
