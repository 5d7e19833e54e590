"""How fast a placed variant generates (decode) and reads a prompt (prefill) in llama.cpp.

Decode, per token: a fixed overhead of the backend (kernel launches and synchronisation,
per token and per layer), plus the time to read the bytes the token needs — the active
weights (an MoE reads only its routed experts; from RAM when they are offloaded) and the KV
cache filled so far, which grows with the depth — from each device at its bandwidth, or the
time to do its arithmetic where compute is the slower. Layers split over several GPUs run
one card after another, so their times add. Prefill is compute: two FLOPs per active
parameter and token plus attention over the tokens already cached, at a share of the
GPU's FP16 throughput, and the weights are read once per micro-batch.

The constants are fitted against published llama-bench measurements (bench/data/
llama_bench_published.toml, printed by bench/bench_speed.py); each prediction carries the
range those measurements leave around it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from modelvet.engine.fit.quants import KV_BYTES_PER_ELEMENT
from modelvet.engine.fit.settings import RunSettings

if TYPE_CHECKING:
    from modelvet.engine.fit.placement import Capacity


@dataclass(frozen=True)
class Backend:
    """Fitted per backend: bandwidth reached, and overhead per token and per layer."""

    key: str
    name: str
    bandwidth_efficiency: float  # share of the stated bandwidth a token's reads reach
    overhead_s: float
    overhead_per_layer_s: float
    compute_efficiency: float
    mla_decode_efficiency: float  # share of FP16 FLOPS latent attention reaches when decoding
    attention_efficiency: float  # share of FP16 FLOPS prompt attention over a deep cache reaches
    # The same on a unified-memory machine (LPDDR shared with the CPU reaches less of its peak
    # than a discrete card's GDDR or HBM); None: as discrete.
    unified_bandwidth_efficiency: float | None = None
    # Share of the stated FP16 throughput prompt processing reaches on a unified-memory machine
    # (a power-limited integrated GPU); None: as discrete.
    unified_compute_efficiency: float | None = None

    def efficiency(self, unified: bool) -> float:
        if unified and self.unified_bandwidth_efficiency is not None:
            return self.unified_bandwidth_efficiency
        return self.bandwidth_efficiency

    def compute(self, unified: bool) -> float:
        if unified and self.unified_compute_efficiency is not None:
            return self.unified_compute_efficiency
        return self.compute_efficiency


# Fitted by bench/bench_speed.py (see its table in the README); CPU from this project's own
# smoke runs until published CPU rows are collected.
BACKENDS = {
    # Discrete NVIDIA cards reach their whole FP16 (FP32-accumulate) figure in prompt processing:
    # llama.cpp multiplies quantised weights on the int8 tensor cores (the #15013 scoreboard).
    "cuda": Backend("cuda", "CUDA", 0.92, 0.0005, 0.000030, 1.0, 0.056, 0.65, 0.83, 0.65),
    "metal": Backend("metal", "Metal", 0.85, 0.0020, 0.000080, 0.80, 0.06, 0.80),
    "vulkan": Backend("vulkan", "Vulkan/ROCm", 0.80, 0.0020, 0.000080, 0.30, 0.05, 0.08),
    "cpu": Backend("cpu", "CPU", 0.75, 0.0002, 0.000010, 0.5, 0.05, 0.5),
}
# Several CPU threads wait for each other after every graph operation: per layer and token,
# from this project's smoke runs of SmolLM2 at one and two threads (74 and 114–130 tokens/s).
CPU_THREAD_SYNC_PER_LAYER_S = 0.000040
MOE_ROUTING_OVERHEAD_PER_LAYER_S = {"cuda": 0.000030, "metal": 0.000080, "vulkan": 0.000060}
# The spread of measured ÷ predicted decode speed over the published table (10th and 90th
# percentiles 0.87 and 1.18, in-sample), widened for hardware outside the table.
RANGE_LOW, RANGE_HIGH = 0.80, 1.20
PREFILL_MICRO_BATCH = 512


def backend_for(gpu_vendor: str | None, gpu_names: list[str], unified: bool) -> str:
    """llama.cpp's backend for this hardware: CUDA, Metal, Vulkan/ROCm, or the CPU."""
    text = " ".join([gpu_vendor or "", *gpu_names]).lower()
    if not gpu_names:
        return "cpu"
    if "apple" in text or (unified and any(n.startswith("M") for n in gpu_names)):
        return "metal"
    if any(word in text for word in ("nvidia", "rtx", "geforce", "gb10", "quadro", "tesla")):
        return "cuda"
    if any(k in text for k in ("h100", "h200", "a100", "l40", "b200", "a6000", "l4")):
        return "cuda"
    return "vulkan"


def _cache_layers() -> tuple[pl.Expr, pl.Expr]:
    """(sliding, full) attention layers with a cache of their own."""
    sliding = pl.coalesce(
        pl.col("llama_cpp_sliding_window_layers"), pl.col("sliding_window_layers"), pl.lit(0)
    )
    others = pl.col("kv_shared_layers").fill_null(0) + pl.col("recurrent_layers").fill_null(0)
    full = pl.coalesce(pl.col("full_attention_layers"), pl.col("layers") - sliding - others)
    return sliding, full


# Quantised dot products one CPU thread sustains in llama.cpp's decode, by widest vector unit.
# Fitted on this project's smoke runs (AMD EPYC, AVX-512: 22 GFLOP/s per thread on SmolLM2);
# narrower units scale by vector width. Per-machine calibration replaces it after a smoke test.
CPU_THREAD_FLOPS = {"avx512f": 22e9, "avx2": 12e9, "neon": 10e9}


def cpu_thread_flops(isa_flags: list[str]) -> float | None:
    for flag, flops in CPU_THREAD_FLOPS.items():
        if flag in isa_flags:
            return flops
    return None


def kv_read_bytes(depth_tokens: int, kv_cache_type: str = "f16") -> pl.Expr:
    """Bytes of KV cache (and recurrent state) one decoded token reads with `depth` cached."""
    sliding, full = _cache_layers()
    swa_width = 2 * pl.col("kv_heads") * pl.col("head_dim")
    full_width = (
        2
        * pl.coalesce(pl.col("full_attention_kv_heads"), pl.col("kv_heads"))
        * pl.coalesce(pl.col("full_attention_head_dim"), pl.col("head_dim"))
    )
    window = pl.min_horizontal(pl.col("sliding_window").fill_null(depth_tokens), depth_tokens)
    mla = (pl.col("kv_lora_rank") + pl.col("qk_rope_head_dim").fill_null(0)) * (full + sliding)
    elements = (
        pl.when(pl.col("kv_lora_rank").is_not_null())
        .then(mla * depth_tokens)
        .otherwise(full_width * full * depth_tokens + swa_width * sliding * window)
    )
    state = pl.col("recurrent_layers").fill_null(0) * pl.col("recurrent_state_elements")
    state = state.fill_null(0)
    return (elements * KV_BYTES_PER_ELEMENT[kv_cache_type] + state * 4).fill_null(0)


def active_share() -> pl.Expr:
    """The share of the weights one token reads; where a mixture of experts does not state its
    active parameters, all of them (so the speed is a lower bound, and `speed_gap` says so)."""
    return (pl.col("active_params_b") / pl.col("total_params_b")).fill_null(1.0).clip(0.0, 1.0)


def speed_gap() -> pl.Expr:
    """What the decode prediction assumes for want of a catalog fact, or null."""
    moe_unknown = (pl.col("experts_total").fill_null(1) > 1) & pl.col("active_params_b").is_null()
    return pl.when(moe_unknown).then(
        pl.lit(
            "predicted speed is a lower bound: the catalog does not state how many parameters "
            "a token uses, so every expert's weights are counted as read"
        )
    )


def attention_flops(depth_tokens: float) -> pl.Expr:
    """FLOPs of attention for one token over `depth` cached ones: QKᵀ and the weighted V, per
    attending layer. Multi-head latent attention scores every head against the whole latent
    row (kv_lora_rank + rope) and weights the latent V (kv_lora_rank)."""
    head_dim = pl.max_horizontal(pl.col("head_dim"), pl.col("full_attention_head_dim"))
    gqa = pl.col("attention_heads") * 2 * head_dim
    mla = pl.col("attention_heads") * (
        2 * pl.col("kv_lora_rank") + pl.col("qk_rope_head_dim").fill_null(0)
    )
    width = pl.coalesce(mla, gqa, 2 * pl.col("hidden_size"))
    sliding, full = _cache_layers()
    window = pl.min_horizontal(pl.col("sliding_window").fill_null(depth_tokens), depth_tokens)
    attended = (
        full * depth_tokens
        + sliding * window
        + pl.col("kv_shared_layers").fill_null(0) * (depth_tokens)
    )
    return (2.0 * width * attended).fill_null(0.0)


def flops_per_token() -> pl.Expr:
    params = pl.coalesce(pl.col("active_params_b"), pl.col("total_params_b"))
    return 2e9 * params


def default_depth(settings: RunSettings) -> int:
    """Tokens already cached when predicting decode: half the context, unless asked."""
    return settings.context_tokens // 2


def _device_reads(depth_tokens: int, kv_cache_type: str) -> tuple[pl.Expr, pl.Expr]:
    """Bytes one token reads from GPU memory and from RAM, by placement."""
    from modelvet.engine.fit.placement import dense_weight_share

    weights = pl.col("weights_bytes").cast(pl.Float64)
    kv = kv_read_bytes(depth_tokens, kv_cache_type)
    read = weights * active_share() + kv
    share = pl.col("gpu_share")
    dense = weights * dense_weight_share()
    routed = pl.col("experts_active") / pl.col("experts_total")
    moe_cpu = pl.col("experts_on_cpu").fill_null(False)
    gpu = pl.when(moe_cpu).then(dense + kv).otherwise(read * share)
    cpu = pl.when(moe_cpu).then((weights - dense) * routed).otherwise(read * (1 - share))
    return gpu, cpu


def _overhead(backend: Backend, on_cpu: pl.Expr, threads: int | None) -> pl.Expr:
    cpu = BACKENDS["cpu"]
    moe = (pl.col("experts_total").fill_null(1) > 1).cast(pl.Float64)
    layers = pl.col("layers").fill_null(32).cast(pl.Float64)
    routing = MOE_ROUTING_OVERHEAD_PER_LAYER_S.get(backend.key, 0.0)
    gpu_side = backend.overhead_s + layers * (backend.overhead_per_layer_s + moe * routing)
    sync = CPU_THREAD_SYNC_PER_LAYER_S if threads and threads > 1 else 0.0
    cpu_side = cpu.overhead_s + layers * (cpu.overhead_per_layer_s + sync)
    return pl.when(on_cpu).then(cpu_side).otherwise(gpu_side)


def speed_columns(
    cap: Capacity, settings: RunSettings, depth_tokens: int | None = None
) -> list[pl.Expr]:
    """Decode tokens/s with its range and bound, the bandwidth bound, and prefill tokens/s."""
    depth = default_depth(settings) if depth_tokens is None else depth_tokens
    backend = BACKENDS[cap.backend]
    cpu = BACKENDS["cpu"]
    null = pl.lit(None, dtype=pl.Float64)
    gpu_read, cpu_read = _device_reads(depth, settings.kv_cache_type)
    share = pl.col("gpu_share")
    on_cpu = share == 0.0
    if cap.gpu_bandwidth:
        gpu_time = gpu_read / (cap.gpu_bandwidth * backend.efficiency(cap.unified))
        gpu_bound = gpu_read / cap.gpu_bandwidth
    else:
        gpu_time = gpu_bound = pl.when(share > 0).then(null).otherwise(0.0)
    if cap.ram_bandwidth:
        cpu_time = cpu_read / (cap.ram_bandwidth * cpu.bandwidth_efficiency)
        cpu_bound = cpu_read / cap.ram_bandwidth
    else:
        cpu_time = cpu_bound = pl.when(share < 1).then(null).otherwise(0.0)
    threads = settings.threads_on(cap.cpu_cores)
    if cap.cpu_flops_per_thread and threads:
        # With few threads a CPU runs out of arithmetic before it runs out of bandwidth.
        cpu_work = (flops_per_token() + attention_flops(depth)) * (1 - share)
        cpu_time = pl.max_horizontal(cpu_time, cpu_work / (threads * cap.cpu_flops_per_thread))
    compute_time = latent_time = pl.lit(0.0)
    if cap.gpu_flops:
        compute_time = flops_per_token() * share / (cap.gpu_flops * backend.compute(cap.unified))
        # Latent attention (MLA) multiplies every head against the whole latent cache: at depth
        # its arithmetic, not the (small) cache read, is what a decoded token waits for.
        latent = attention_flops(depth) * share / (cap.gpu_flops * backend.mla_decode_efficiency)
        latent_time = pl.when(pl.col("kv_lora_rank").is_not_null()).then(latent).otherwise(0.0)
    # Without a FLOPS figure nothing is compute-bound (a literal: polars' eager engine will not
    # broadcast a comparison of a scalar with a column whose every row is the same).
    compute_bound = (compute_time + latent_time) > gpu_time if cap.gpu_flops else pl.lit(False)
    seconds = (
        _overhead(backend, on_cpu, threads)
        + pl.max_horizontal(gpu_time, compute_time)
        + latent_time
        + cpu_time
    )
    uncalibrated = 1.0 / seconds
    predicted = uncalibrated * cap.calibration.decode
    prefill = _prefill(cap, backend, settings, depth)
    return [
        uncalibrated.alias("uncalibrated_tokens_per_s"),
        prefill.alias("uncalibrated_prefill_tokens_per_s"),
        predicted.alias("predicted_tokens_per_s"),
        (predicted * RANGE_LOW).alias("predicted_tokens_per_s_low"),
        (predicted * RANGE_HIGH).alias("predicted_tokens_per_s_high"),
        pl.when(compute_bound.fill_null(False))
        .then(pl.lit("compute"))
        .otherwise(pl.lit("memory bandwidth"))
        .alias("speed_bound"),
        (1.0 / (gpu_bound + cpu_bound)).alias("bandwidth_bound_tokens_per_s"),
        (prefill * cap.calibration.prefill).alias("predicted_prefill_tokens_per_s"),
    ]


def _prefill(cap: Capacity, backend: Backend, settings: RunSettings, depth: int) -> pl.Expr:
    """Prompt tokens/s for one micro-batch at `depth`: its FLOPs, and the weights read once."""
    if not (cap.gpu_flops and cap.gpu_bandwidth):
        return pl.lit(None, dtype=pl.Float64)
    batch = settings.ubatch
    compute = flops_per_token() / (cap.gpu_flops * backend.compute(cap.unified)) + attention_flops(
        depth + batch / 2
    ) / (cap.gpu_flops * backend.attention_efficiency)
    reach = cap.gpu_bandwidth * backend.efficiency(cap.unified)
    weights = pl.col("weights_bytes") / reach / batch
    per_token = compute + weights
    return pl.when(pl.col("gpu_share") == 1.0).then(1.0 / per_token).otherwise(None)


def assumptions(cap: Capacity, settings: RunSettings, depth_tokens: int | None = None) -> list[str]:
    depth = default_depth(settings) if depth_tokens is None else depth_tokens
    backend = BACKENDS[cap.backend]
    return [
        f"decode with {depth} tokens already cached: active weights and that KV cache read "
        f"once per token at {backend.efficiency(cap.unified):.0%} of {backend.name} bandwidth"
        f"{' (unified memory)' if cap.unified and backend.key != 'cpu' else ''}, plus "
        f"{backend.overhead_s * 1e3:.1f} ms + {backend.overhead_per_layer_s * 1e6:.0f} µs per "
        "layer of per-token overhead (fitted to published llama-bench measurements)"
        + (
            f", and {CPU_THREAD_SYNC_PER_LAYER_S * 1e6:.0f} µs per layer while "
            f"{settings.threads_on(cap.cpu_cores)} CPU threads wait for each other"
            if backend.key == "cpu" and (settings.threads_on(cap.cpu_cores) or 0) > 1
            else ""
        ),
        f"range {RANGE_LOW:.0%}–{RANGE_HIGH:.0%} of the prediction: where published llama-bench "
        "measurements fall around it (bench/bench_speed.py)",
        *([note] if (note := cap.calibration.note()) else []),
    ]
