"""Where a variant's memory goes on given hardware, and how fast it will generate there.

Decode speed is bounded by memory bandwidth: every generated token reads the active weights
and the KV cache once. The bound is physical; the prediction applies an efficiency that
llama.cpp reaches in practice (stated in `assumptions`). Prompt processing is bounded by
compute and is only predicted where the hardware states its FLOPS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from modelvet.engine.fit.calibration import Calibration, calibration_for
from modelvet.engine.fit.speed import backend_for, cpu_thread_flops
from modelvet.engine.hardware import DEFAULT_UNIFIED_GPU_FRACTION, HardwareSpec
from modelvet.engine.vocabulary import GB, format_bytes

# Assumptions, stated with every prediction (see `assumptions()`):
GPU_RESERVE_BYTES = int(0.5 * GB)  # driver context and library workspaces per GPU
RAM_RESERVE_FRACTION = 0.10  # the operating system and other programs
GPU_BANDWIDTH_EFFICIENCY = 0.75
CPU_BANDWIDTH_EFFICIENCY = 0.60
KV_READ_SHARE = 0.5  # on average the cache is half full over a generation that fills it


@dataclass(frozen=True)
class Capacity:
    """The hardware reduced to the numbers placement needs, in bytes and bytes/s."""

    largest_gpu_bytes: int
    all_gpus_bytes: int
    gpu_count: int
    ram_bytes: int
    unified: bool
    gpu_bandwidth: float | None
    ram_bandwidth: float | None
    gpu_flops: float | None
    backend: str = "cpu"
    cpu_flops_per_thread: float | None = None
    cpu_cores: int | None = None
    calibration: Calibration = Calibration()

    @classmethod
    def of(cls, hw: HardwareSpec) -> Capacity:
        ram = int(hw.ram_gb * GB * (1 - RAM_RESERVE_FRACTION))
        if hw.unified_memory:
            fraction = hw.gpu_memory_fraction or DEFAULT_UNIFIED_GPU_FRACTION
            gpu_bytes = int(hw.ram_gb * GB * fraction)
            bandwidth = (hw.gpus[0].bandwidth_gbs if hw.gpus else None) or hw.ram_bandwidth_gbs
            flops = hw.gpus[0].fp16_tflops if hw.gpus else None
            return cls(
                gpu_bytes,
                gpu_bytes,
                1,
                ram,
                True,
                bandwidth * GB if bandwidth else None,
                bandwidth * GB if bandwidth else None,
                flops * 1e12 if flops else None,
                _backend(hw),
                cpu_thread_flops(hw.isa_flags),
                hw.cpu_cores,
                _calibration(hw),
            )
        usable = [max(int(g.memory_gb * GB) - GPU_RESERVE_BYTES, 0) for g in hw.gpus]
        gpu_flops = [g.fp16_tflops for g in hw.gpus if g.fp16_tflops is not None]
        return cls(
            largest_gpu_bytes=max(usable, default=0),
            all_gpus_bytes=sum(usable),
            gpu_count=len(usable),
            ram_bytes=ram,
            unified=False,
            gpu_bandwidth=_layer_split_bandwidth(hw),
            ram_bandwidth=hw.ram_bandwidth_gbs * GB if hw.ram_bandwidth_gbs else None,
            gpu_flops=min(gpu_flops) * 1e12 if gpu_flops else None,
            backend=_backend(hw),
            cpu_flops_per_thread=cpu_thread_flops(hw.isa_flags),
            cpu_cores=hw.cpu_cores,
            calibration=_calibration(hw),
        )


def _calibration(hw: HardwareSpec) -> Calibration:
    """This machine's smoke-test calibration; presets and hand-entered hardware have none."""
    if hw.origin != "detected":
        return Calibration()
    return calibration_for(hw, _backend(hw))


def _backend(hw: HardwareSpec) -> str:
    vendors = {g.vendor for g in hw.gpus if g.vendor}
    return backend_for(" ".join(sorted(vendors)), [g.name for g in hw.gpus], hw.unified_memory)


def _layer_split_bandwidth(hw: HardwareSpec) -> float | None:
    """Bandwidth of GPUs that hold layers in proportion to their memory and run one after
    another: each card reads its share in turn, so the times add (a harmonic mean)."""
    if not hw.gpus or any(g.bandwidth_gbs is None for g in hw.gpus):
        return None
    total = sum(g.memory_gb for g in hw.gpus)
    seconds_per_byte = sum(g.memory_gb / total / (g.bandwidth_gbs or 1) for g in hw.gpus)
    return GB / seconds_per_byte


def placement(cap: Capacity) -> pl.Expr:
    """'gpu', 'multi-gpu', 'gpu+cpu', 'cpu', or null when the variant does not fit."""
    total = pl.col("total_bytes")
    # Each extra GPU in a layer split holds its own compute buffer.
    multi_total = total + (cap.gpu_count - 1) * pl.col("compute_bytes")
    if cap.unified:
        return (
            pl.when(total <= cap.largest_gpu_bytes)
            .then(pl.lit("gpu"))
            .when(total <= cap.ram_bytes)
            .then(pl.lit("cpu"))
            .otherwise(pl.lit(None, dtype=pl.String))
        )
    expr: Any = pl.when(total <= cap.largest_gpu_bytes).then(pl.lit("gpu"))
    if cap.gpu_count > 1:
        expr = expr.when(multi_total <= cap.all_gpus_bytes).then(pl.lit("multi-gpu"))
    if cap.gpu_count:
        spill_fits = (total <= cap.all_gpus_bytes + cap.ram_bytes) & (
            pl.col("compute_bytes") < cap.all_gpus_bytes
        )
        expr = expr.when(spill_fits).then(pl.lit("gpu+cpu"))
    return (
        expr.when(total <= cap.ram_bytes)
        .then(pl.lit("cpu"))
        .otherwise(pl.lit(None, dtype=pl.String))
    )


def dense_weight_share() -> pl.Expr:
    """Share of an MoE model's weights outside its routed experts (attention, shared parts).

    From the published counts: with E experts of which k are routed per token, total T and
    active A parameters, one expert holds (T − A) ÷ (E − k), so the rest is T − E × that.
    """
    experts, routed = pl.col("experts_total"), pl.col("experts_active")
    total, active = pl.col("total_params_b"), pl.col("active_params_b")
    per_expert = (total - active) / (experts - routed)
    return ((total - experts * per_expert) / total).clip(0.0, 1.0)


def _layer_split_share(cap: Capacity) -> pl.Expr:
    """Share of weights and KV cache that whole layers on the GPU can hold."""
    offloadable = (pl.col("weights_bytes") + pl.col("kv_cache_bytes")).cast(pl.Float64)
    room = (cap.all_gpus_bytes - pl.col("compute_bytes")).cast(pl.Float64)
    return (room / offloadable).clip(0.0, 1.0)


def experts_on_cpu(cap: Capacity) -> pl.Expr:
    """MoE split the llama.cpp way (`--cpu-moe`): experts in RAM, everything else on the GPU.

    Chosen only where it fits and reads faster than splitting whole layers, as a user would.
    """
    dense_bytes = pl.col("weights_bytes") * dense_weight_share()
    on_gpu = dense_bytes + pl.col("kv_cache_bytes") + pl.col("compute_bytes")
    moe = pl.col("experts_total") > pl.col("experts_active")
    possible = (pl.col("placement") == "gpu+cpu") & moe & (on_gpu <= cap.all_gpus_bytes)
    if not (cap.gpu_bandwidth and cap.ram_bandwidth):
        return possible.fill_null(False)
    gpu_speed = cap.gpu_bandwidth * GPU_BANDWIDTH_EFFICIENCY
    cpu_speed = cap.ram_bandwidth * CPU_BANDWIDTH_EFFICIENCY
    read, share = bytes_read_per_token(), _layer_split_share(cap)
    layer_time = read * share / gpu_speed + read * (1 - share) / cpu_speed
    moe_gpu, moe_cpu = _moe_reads()
    moe_time = moe_gpu / gpu_speed + moe_cpu / cpu_speed
    return (possible & (moe_time < layer_time)).fill_null(False)


def gpu_share(cap: Capacity) -> pl.Expr:
    """Share of weights and KV cache held in GPU memory (1 on GPU, 0 on CPU)."""
    offloadable = (pl.col("weights_bytes") + pl.col("kv_cache_bytes")).cast(pl.Float64)
    partial = _layer_split_share(cap)
    moe_split = (
        pl.col("weights_bytes") * dense_weight_share() + pl.col("kv_cache_bytes")
    ) / offloadable
    return (
        pl.when(pl.col("placement").is_in(["gpu", "multi-gpu"]))
        .then(1.0)
        .when(pl.col("experts_on_cpu"))
        .then(moe_split)
        .when(pl.col("placement") == "gpu+cpu")
        .then(partial)
        .otherwise(0.0)
    )


def bytes_read_per_token() -> pl.Expr:
    """Active weights (MoE reads only the routed experts) plus the KV cache read."""
    active_share = (pl.col("active_params_b") / pl.col("total_params_b")).fill_null(1.0)
    return pl.col("weights_bytes") * active_share + pl.col("kv_cache_bytes") * KV_READ_SHARE


def _moe_reads() -> tuple[pl.Expr, pl.Expr]:
    """With experts in RAM: bytes read per token from the GPU and from RAM."""
    dense = pl.col("weights_bytes") * dense_weight_share()
    routed = pl.col("experts_active") / pl.col("experts_total")
    return dense + pl.col("kv_cache_bytes") * KV_READ_SHARE, (
        pl.col("weights_bytes") - dense
    ) * routed


def headroom(cap: Capacity) -> pl.Expr:
    """Share of the memory used by the placement that stays free."""
    capacity = (
        pl.when(pl.col("placement") == "gpu")
        .then(cap.largest_gpu_bytes)
        .when(pl.col("placement") == "multi-gpu")
        .then(cap.all_gpus_bytes)
        .when(pl.col("placement") == "gpu+cpu")
        .then(cap.all_gpus_bytes + cap.ram_bytes)
        .otherwise(cap.ram_bytes)
    ).cast(pl.Float64)
    return ((capacity - pl.col("total_bytes")) / capacity).alias("memory_headroom")


def assumptions(cap: Capacity) -> list[str]:
    notes = [f"{RAM_RESERVE_FRACTION:.0%} of RAM is left to the operating system"]
    if cap.gpu_count and not cap.unified:
        notes.insert(0, f"{format_bytes(GPU_RESERVE_BYTES)} per GPU is kept for the driver")
    if cap.unified:
        notes.insert(0, "unified memory: the GPU may use its working-set share of RAM")
    if not cap.ram_bandwidth:
        notes.append("RAM bandwidth unknown: no speed is predicted for layers on the CPU")
    if not cap.gpu_flops:
        notes.append("no FLOPS figure for this hardware: prompt speed is not predicted")
    return notes
