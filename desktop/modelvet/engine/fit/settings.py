"""The llama.cpp settings a prediction describes, and the two runtimes' defaults as presets.

llama-server and llama-cpp-python load the same file differently, and memory follows:
- llama-server (common/common.h, tools/server/server.cpp): `--flash-attn auto` (on wherever the
  backend runs it), a windowed sliding-window cache (`swa_full = false`), n_batch 2048,
  n_ubatch 512, and `--parallel` auto = 4 slots sharing one unified cache, so a windowed cache
  holds window × 4 + n_ubatch cells.
- llama-cpp-python (llama_cpp/llama.py, `Llama.__init__`): flash attention off, `swa_full`
  left at the library's default (true: a full-size cache on sliding layers), n_batch and
  n_ubatch 512, one sequence, n_threads = CPU count ÷ 2, no GPU layers.

The smoke test hands the child exactly these values, so prediction and measurement describe
one configuration.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal, get_args

Runtime = Literal["llama-server", "llama-cpp-python"]
RUNTIMES: tuple[Runtime, ...] = get_args(Runtime)
KvCacheType = Literal["f16", "q8_0", "q4_0"]
KV_CACHE_TYPES: tuple[KvCacheType, ...] = get_args(KvCacheType)
CELL_PADDING = 256  # llama.cpp pads the context (and every KV cache) to 256 cells
ALL_LAYERS = -1


def _physical_cores() -> int:
    """llama-server's default thread count: the physical cores (common_cpu_get_num_math)."""
    import psutil

    return psutil.cpu_count(logical=False) or os.cpu_count() or 1


@dataclass(frozen=True)
class RunSettings:
    """Context, KV cache type, flash attention, sliding-window cache, batches, slots, threads,
    offload. Defaults are llama-server's; `RunSettings.preset` gives either runtime's."""

    context_tokens: int
    kv_cache_type: str = "f16"
    n_ubatch: int = 512
    flash_attention: bool = True
    swa_full: bool = False
    n_batch: int = 2048
    parallel_slots: int = 4
    kv_unified: bool = True
    threads: int | None = None  # None: the runtime's own choice
    gpu_layers: int = ALL_LAYERS  # layers offloaded to the GPU; -1 all, 0 none
    runtime: str = "llama-server"

    @classmethod
    def preset(
        cls, runtime: str, context_tokens: int, kv_cache_type: str = "f16", **overrides: Any
    ) -> RunSettings:
        """The runtime's defaults, with flags the user set (None means 'not set') on top."""
        if runtime not in RUNTIMES:
            raise ValueError(f"unknown runtime {runtime!r}; one of {', '.join(RUNTIMES)}")
        base = cls(context_tokens, kv_cache_type, runtime=runtime)
        if runtime == "llama-cpp-python":
            base = replace(
                base,
                flash_attention=False,
                swa_full=True,
                n_batch=512,
                parallel_slots=1,
                kv_unified=False,
                gpu_layers=0,
            )
        return replace(base, **{k: v for k, v in overrides.items() if v is not None})

    def threads_on(self, cpu_cores: int | None) -> int | None:
        """Threads the runtime uses on a machine with this many cores, unless set: llama-server
        one per core, llama-cpp-python half the CPU count."""
        if self.threads or not cpu_cores:
            return self.threads
        return cpu_cores if self.runtime == "llama-server" else max(cpu_cores // 2, 1)

    def on_this_machine(self) -> RunSettings:
        """The thread count the runtime picks here, made explicit (what the smoke child gets)."""
        if self.threads:
            return self
        here = _physical_cores() if self.runtime == "llama-server" else (os.cpu_count() or 2) // 2
        return replace(self, threads=max(here, 1))

    @property
    def batch(self) -> int:
        """Logical batch as llama.cpp clamps it: never above the context."""
        return min(self.n_batch, self.context_tokens)

    @property
    def ubatch(self) -> int:
        return min(self.n_ubatch, self.batch)

    @property
    def kv_cells(self) -> int:
        return -(-self.context_tokens // CELL_PADDING) * CELL_PADDING

    @property
    def window_sequences(self) -> int:
        """Sequences a windowed cache holds a window for: all slots when they share one cache."""
        return self.parallel_slots if self.kv_unified else 1

    def with_context(self, context_tokens: int) -> RunSettings:
        return replace(self, context_tokens=context_tokens)

    def describe(self) -> str:
        attention = "flash attention" if self.flash_attention else "no flash attention"
        swa = "full-size" if self.swa_full else "windowed"
        offload = {ALL_LAYERS: "all layers offloaded to a GPU if present", 0: "no GPU layers"}.get(
            self.gpu_layers, f"{self.gpu_layers} GPU layers"
        )
        threads = f"{self.threads} threads" if self.threads else "default threads"
        return (
            f"{self.runtime}: context {self.context_tokens} tokens, KV cache "
            f"{self.kv_cache_type}, {attention}, {swa} sliding-window cache, batch "
            f"{self.batch}/{self.ubatch}, {self.parallel_slots} slot(s)"
            f"{' sharing one cache' if self.kv_unified and self.parallel_slots > 1 else ''}, "
            f"{threads}, {offload}"
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"n_batch": self.batch, "n_ubatch": self.ubatch}
