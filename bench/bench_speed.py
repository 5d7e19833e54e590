"""Benchmark: predicted decode and prefill speed against published llama-bench measurements.

Reads bench/data/llama_bench_published.toml (each row sourced, with its llama.cpp build), runs
every row through the engine's own speed model on that hardware, model file size and depth,
and prints the accuracy table. Targets (DESIGN.md "Performance"): decode within ±25 % for at
least 85 % of rows, median error at most 12 %. Asserts nothing.

    .venv/bin/python bench/bench_speed.py [--rows] [--data FILE]
"""

from __future__ import annotations

import argparse
import statistics
import tomllib
from pathlib import Path
from typing import Any

import headline
from modelvet.engine.catalog.frame import variants_frame
from modelvet.engine.catalog.loader import bundled_catalog
from modelvet.engine.catalog.schema import ARCHITECTURE_FIELDS
from modelvet.engine.fit.settings import RunSettings
from modelvet.engine.fit.single import predict_one
from modelvet.engine.hardware import Gpu, HardwareSpec

DATA = Path(__file__).parent / "data" / "llama_bench_published.toml"
GIB = 2**30
VENDORS = {"cuda": "nvidia", "metal": "apple", "vulkan": "amd"}


def hardware_spec(entry: dict[str, Any]) -> HardwareSpec:
    gpu = Gpu(
        name=entry["name"],
        memory_gb=entry["memory_gb"],
        bandwidth_gbs=entry["bandwidth_gbs"],
        fp16_tflops=entry.get("fp16_tflops"),
        vendor=VENDORS.get(entry["backend"]),
    )
    count = entry.get("gpu_count", 1)  # memory, bandwidth and FLOPS are per card
    return HardwareSpec(
        name=entry["name"],
        origin="bench",
        ram_gb=entry["memory_gb"] * count,
        ram_bandwidth_gbs=entry["bandwidth_gbs"],
        unified_memory=entry.get("unified_memory", False),
        gpu_memory_fraction=0.9 if entry.get("unified_memory") else None,
        gpus=[gpu] * count,
    )


def architectures(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Catalog architecture numbers per model id, plus the data file's own models."""
    frame = variants_frame(bundled_catalog())
    columns = [*ARCHITECTURE_FIELDS, "total_params_b", "active_params_b"]
    known: dict[str, dict[str, Any]] = {}
    for row in frame.select("model_id", *columns).unique("model_id").iter_rows(named=True):
        known[row.pop("model_id")] = row
    for model_id, entry in data.get("models", {}).items():
        known[model_id] = {k: entry.get(k) for k in columns}
    return known


def predict(row: dict[str, Any], arch: dict[str, Any], hardware: HardwareSpec) -> float | None:
    """The engine's prediction for one published row (decode or prefill tokens/s)."""
    model = dict(arch)
    active_share = (model["active_params_b"] or 0) / (model["total_params_b"] or 1) or 1.0
    model["total_params_b"] = row["params_b"]
    model["active_params_b"] = row["params_b"] * min(active_share, 1.0)
    model["weights_bytes"] = int(row["size_gib"] * GIB)
    context = row["depth"] + row["tokens"]
    batch = min(2048, row["tokens"]) if row["test"] == "pp" else 2048  # llama-bench: -ub ≤ -p
    settings = RunSettings(context, n_ubatch=batch, n_batch=batch, parallel_slots=1)
    out = predict_one(model, settings, hardware, depth_tokens=row["depth"])
    if row["test"] == "tg":
        return out["predicted_tokens_per_s"]
    return out["predicted_prefill_tokens_per_s"]


def summary(errors: list[float]) -> str:
    if not errors:
        return "no rows"
    within = sum(abs(e) <= 0.25 for e in errors) / len(errors)
    median = statistics.median(abs(e) for e in errors)
    worst = max(errors, key=abs)
    return (
        f"{len(errors):3d} rows  within ±25 %: {within:6.1%}  median |error|: {median:6.1%}  "
        f"worst: {worst:+.0%}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--rows", action="store_true", help="print every row")
    headline.add_option(parser)
    args = parser.parse_args()
    data = tomllib.loads(args.data.read_text(encoding="utf-8"))
    arch = architectures(data)
    machines = {key: hardware_spec(entry) for key, entry in data["hardware"].items()}
    errors: dict[tuple[str, str], list[float]] = {}
    held_out: dict[str, list[float]] = {}  # rows no constant was fitted to
    for row in data["rows"]:
        predicted = predict(row, arch[row["model"]], machines[row["hardware"]])
        if predicted is None:
            continue
        error = predicted / row["tokens_per_s"] - 1
        errors.setdefault((row["test"], row["hardware"]), []).append(error)
        if row.get("held_out"):
            held_out.setdefault(row["test"], []).append(error)
        if args.rows:
            print(
                f"{row['hardware']:<13} {row['model']:<30} {row['test']}{row['tokens']:<5} "
                f"d{row['depth']:<6} measured {row['tokens_per_s']:8.1f}  "
                f"predicted {predicted:8.1f}  {error:+6.0%}"
            )
    figures = []
    for test, label in (("tg", "decode"), ("pp", "prefill")):
        every = [e for (t, _), group in errors.items() if t == test for e in group]
        figures.append(
            (
                f"{label} speed vs published llama-bench rows",
                " ".join(summary(every).split("worst")[0].split()).replace(
                    "median |error|", "median error"
                ),
                "±25 % for ≥ 85 % of rows, median ≤ 12 %" if test == "tg" else "—",
            )
        )
        if held_out.get(test):
            figures.append(
                (
                    f"{label} speed, held-out rows only (no constant fitted to them)",
                    " ".join(summary(held_out[test]).split("worst")[0].split()).replace(
                        "median |error|", "median error"
                    ),
                    "—",
                )
            )
    headline.write(args.headline, figures)
    for test, label in (("tg", "decode"), ("pp", "prefill")):
        print(f"\n{label} (predicted ÷ measured − 1)")
        rows = [e for (t, _), group in errors.items() if t == test for e in group]
        for (t, machine), group in sorted(errors.items()):
            if t == test:
                print(f"  {machine:<14} {summary(group)}")
        print(f"  {'all':<14} {summary(rows)}")
        print(f"  {'held out':<14} {summary(held_out.get(test, []))}")
        if len(rows) >= 10:
            ratios = sorted(1 / (1 + e) for e in rows)
            deciles = statistics.quantiles(ratios, n=10)
            print(
                f"  measured ÷ predicted: 10th percentile {deciles[0]:.2f}, "
                f"90th {deciles[-1]:.2f} (the range each prediction states)"
            )


if __name__ == "__main__":
    main()
