"""This machine, detected: CPU and its instruction sets, RAM and its measured bandwidth, NVIDIA
GPUs through NVML, AMD GPUs through sysfs, Apple unified memory, free disk. Never raises: what
cannot be read becomes a warning on the spec."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from pathlib import Path

import psutil

from modelvet.engine.hardware import DEFAULT_UNIFIED_GPU_FRACTION, Gpu, HardwareSpec
from modelvet.engine.vocabulary import GB

_ISA = (
    "avx",
    "avx2",
    "avx512f",
    "avx512_bf16",
    "avx512_vnni",
    "f16c",
    "fma",
    "amx_tile",
    "neon",
    "asimd",
    "sve",
    "i8mm",
)


def _cpu_facts() -> tuple[str | None, list[str]]:
    model, flags = platform.processor() or None, set()
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return model, []
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "model name" and not model:
            model = value.strip()
        elif key in ("flags", "Features"):
            flags.update(value.split())
    if "asimd" in flags:
        flags.add("neon")
    return model, sorted(flags.intersection(_ISA))


def _nvidia_gpus(warnings: list[str]) -> list[Gpu]:
    try:
        import pynvml  # nvidia-ml-py
    except ImportError:
        warnings.append("nvidia-ml-py not installed: NVIDIA GPUs not probed")
        return []
    try:
        pynvml.nvmlInit()
    except Exception as error:  # NVML raises its own exception types; no driver is normal
        warnings.append(f"no NVIDIA driver (NVML: {error})")
        return []
    gpus = []
    try:
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            name = pynvml.nvmlDeviceGetName(handle)
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            gpus.append(
                Gpu(
                    name=name if isinstance(name, str) else name.decode(),
                    memory_gb=memory.total / GB,
                    vendor="nvidia",
                )
            )
    finally:
        pynvml.nvmlShutdown()
    return gpus


def _amd_gpus() -> list[Gpu]:
    gpus = []
    for card in sorted(Path("/sys/class/drm").glob("card[0-9]*/device")):
        vram = card / "mem_info_vram_total"
        vendor = card / "vendor"
        try:
            if vendor.read_text().strip() != "0x1002" or not vram.exists():
                continue
            name_file = card / "product_name"
            name = name_file.read_text().strip() if name_file.exists() else "AMD GPU"
            gpus.append(Gpu(name=name, memory_gb=int(vram.read_text()) / GB, vendor="amd"))
        except (OSError, ValueError):
            continue
    return gpus


def _apple_memory(warnings: list[str]) -> tuple[list[Gpu], float | None]:
    """On Apple Silicon the GPU shares RAM up to Metal's working-set limit."""
    if platform.system() != "Darwin" or platform.machine() != "arm64":
        return [], None
    try:
        total = int(
            subprocess.run(
                ["sysctl", "-n", "hw.memsize"],
                capture_output=True,
                text=True,
                timeout=5,
                check=True,
            ).stdout
        )
        wired = subprocess.run(
            ["sysctl", "-n", "iogpu.wired_limit_mb"], capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError, ValueError) as error:
        warnings.append(f"could not read Apple memory facts: {error}")
        return [], None
    limit_bytes = int(wired) * 1024 * 1024 if wired.isdigit() and int(wired) > 0 else None
    # Without an explicit wired limit, the measured default share stands in for the Metal limit.
    fraction = limit_bytes / total if limit_bytes else DEFAULT_UNIFIED_GPU_FRACTION
    gpu = Gpu(name="Apple GPU (unified memory)", memory_gb=total * fraction / GB, vendor="apple")
    return [gpu], fraction


def measure_ram_bandwidth_gbs(size_bytes: int = 256 * 1024 * 1024, repeats: int = 3) -> float:
    """Copy a buffer larger than any cache; read + write bytes over the best time, in GB/s.

    One thread's copy: llama.cpp's decode on the CPU reads with several threads, so this is
    a floor, stated as such wherever it is used.
    """
    import time

    import numpy as np

    source = np.ones(size_bytes // 8, dtype=np.float64)
    target = np.empty_like(source)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        np.copyto(target, source)
        best = min(best, time.perf_counter() - start)
    return 2 * size_bytes / best / GB


def detect(models_dir: Path | None = None, measure_bandwidth: bool = True) -> HardwareSpec:
    """Probe this machine. Never raises: what cannot be read becomes a warning."""
    warnings: list[str] = []
    bandwidth = None
    if measure_bandwidth:
        try:
            bandwidth = round(measure_ram_bandwidth_gbs(), 1)
            warnings.append(
                f"RAM bandwidth {bandwidth} GB/s measured by a one-thread copy "
                "(a floor: several threads read faster)"
            )
        except (MemoryError, ImportError) as error:
            warnings.append(f"RAM bandwidth not measured: {error}")
    else:
        warnings.append("RAM bandwidth not measured: no speed is predicted for the CPU")
    cpu_model, flags = _cpu_facts()
    memory = psutil.virtual_memory()
    apple_gpus, fraction = _apple_memory(warnings)
    gpus = apple_gpus or (_nvidia_gpus(warnings) + _amd_gpus())
    disk_path = models_dir or Path.home()
    try:
        disk_free_gb = shutil.disk_usage(disk_path).free / GB
    except OSError:
        disk_free_gb = None
        warnings.append(f"could not read free disk space at {disk_path}")
    return HardwareSpec(
        name=f"This machine ({platform.node() or 'local'})",
        origin="detected",
        cpu_model=cpu_model,
        cpu_cores=os.cpu_count(),
        isa_flags=flags,
        ram_gb=memory.total / GB,
        ram_available_gb=memory.available / GB,
        ram_bandwidth_gbs=bandwidth,
        unified_memory=bool(apple_gpus),
        gpu_memory_fraction=fraction,
        gpus=gpus,
        disk_free_gb=disk_free_gb,
        warnings=warnings,
    )
