"""Benchmark: engine time of `recommend`, bundled catalog and a synthetic 100,000-variant one.

Prints figures, asserts nothing. Targets (DESIGN.md "Performance"): well under 100 ms over
the bundled catalog; under 1 s over 100,000 variants. Hardware comes from catalog presets and is
resolved before timing, so no detection (RAM bandwidth measurement) is inside the figures.

    .venv/bin/python bench/bench_recommend.py [--runs 30] [--big-runs 5] [--variants 100000]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import polars as pl

import headline
from modelvet.engine.catalog.loader import bundled_catalog
from modelvet.engine.hardware import HardwareSpec, resolve_hardware
from modelvet.engine.profile import (
    Capability,
    HardwareRequest,
    Profile,
    Security,
    load_profile,
)
from modelvet.engine.rank.explain import excluded_items, explain
from modelvet.engine.rank.recommend import (
    PreparedCatalog,
    evaluate,
    prepare,
    recommend,
    recommend_json,
)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE_PROFILE = ROOT / "examples" / "us-defense-24gb.toml"
# Rows are perturbed by these factors in turn so replicated variants differ in size and params.
SIZE_FACTORS = (0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 0.9, 1.1, 0.6)


def profiles() -> dict[str, Profile]:
    return {
        "us-defense-24gb (example)": load_profile(EXAMPLE_PROFILE),
        "no restrictions, CPU only": Profile(
            name="no restrictions, CPU only",
            security=Security(policy="no-restrictions"),
            hardware=HardwareRequest(preset="cpu-workstation-64gb"),
            capability=Capability(tasks=["general"], context_tokens=8192),
        ),
        "4x RTX 3090, coding+reasoning": Profile(
            name="multi-GPU",
            security=Security(policy="no-restrictions", deployment="on-prem"),
            hardware=HardwareRequest(preset="rtx-3090-4x"),
            capability=Capability(tasks=["coding", "reasoning"], context_tokens=32768),
        ),
    }


def timed(action: Callable[[], Any], runs: int, warmup: int = 2) -> tuple[list[float], Any]:
    """Seconds of each of `runs` calls after `warmup` untimed ones, and the last result."""
    result = None
    for _ in range(warmup):
        result = action()
    seconds = []
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        result = action()
        seconds.append(time.perf_counter() - start)
    return seconds, result


def p90(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=10, method="inclusive")[-1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def synthetic(prepared: PreparedCatalog, variant_count: int) -> PreparedCatalog:
    """The bundled variants replicated under new model ids (`<id>~<k>`), sizes perturbed."""
    base = prepared.variants
    copies = -(-variant_count // base.height)
    replica = pl.DataFrame({"_copy": range(copies)}, schema={"_copy": pl.Int64})
    factors = pl.Series(SIZE_FACTORS)
    factor = pl.lit(factors).get(pl.col("_copy") % len(SIZE_FACTORS))
    new_id = pl.format("{}~{}", pl.col("model_id"), pl.col("_copy"))
    variants = (
        base.join(replica, how="cross")
        .head(variant_count)
        .with_columns(
            new_id.alias("model_id"),
            pl.format("{} #{}", pl.col("name"), pl.col("_copy")).alias("name"),
            (pl.col("size_bytes") * factor).cast(pl.Int64),
            (pl.col("weights_bytes") * factor).cast(pl.Int64),
            pl.col("total_params_b") * factor,
            pl.col("active_params_b") * factor,
            (pl.col("layers") * factor).round().cast(pl.Int64),
        )
        .drop("_copy")
    )
    used = variants.select(
        pl.col("model_id").str.split("~").list.first().alias("_base"), pl.col("model_id")
    ).unique()
    tasks = (
        prepared.tasks.join(used, left_on="model_id", right_on="_base")
        .drop("model_id")
        .rename({"model_id_right": "model_id"})
        .select(prepared.tasks.columns)
    )
    # Each copy is bound by its original's licences (terms are per model id).
    terms = (
        prepared.terms.join(used, left_on="model_id", right_on="_base")
        .drop("model_id")
        .rename({"model_id_right": "model_id"})
        .select(prepared.terms.columns)
    )
    return PreparedCatalog(prepared.catalog, variants, tasks, terms)


def bench_bundled(
    prepared: PreparedCatalog, cases: dict[str, tuple[Profile, HardwareSpec]], runs: int
) -> list[list[str]]:
    rows = []
    for label, (profile, hardware) in cases.items():
        eval_s, (recommended, failures) = timed(
            partial(evaluate, prepared, profile, hardware), runs
        )
        full_s, _ = timed(partial(recommend, profile, hardware=hardware, prepared=prepared), runs)
        print(
            f"  {label}: {recommended.height} recommended, {failures.height} excluded; "
            f"evaluate median {ms(statistics.median(eval_s))} ms p90 {ms(p90(eval_s))} ms; "
            f"recommend median {ms(statistics.median(full_s))} ms p90 {ms(p90(full_s))} ms"
        )
        rows.append(
            [
                label,
                f"{prepared.variants.height}",
                f"{recommended.height}/{failures.height}",
                ms(statistics.median(eval_s)),
                ms(p90(eval_s)),
                ms(statistics.median(full_s)),
                ms(p90(full_s)),
            ]
        )
    return rows


def bench_big(
    big: PreparedCatalog, cases: dict[str, tuple[Profile, HardwareSpec]], runs: int
) -> list[list[str]]:
    rows = []
    for label, (profile, hardware) in cases.items():
        eval_s, (recommended, failures) = timed(
            partial(evaluate, big, profile, hardware), runs, warmup=1
        )
        explain_s, _ = timed(partial(explain, recommended, profile), runs, warmup=0)
        excluded_s, _ = timed(partial(excluded_items, failures), runs, warmup=0)
        full_s, _ = timed(
            partial(recommend, profile, hardware=hardware, prepared=big), runs, warmup=0
        )
        json_s, _ = timed(
            partial(recommend_json, profile, hardware=hardware, prepared=big), runs, warmup=0
        )
        med = {
            name: statistics.median(values)
            for name, values in (
                ("evaluate", eval_s),
                ("explain", explain_s),
                ("excluded", excluded_s),
                ("full", full_s),
                ("json", json_s),
            )
        }
        print(
            f"  {label}: {recommended.height} recommended, {failures.height} excluded; "
            + ", ".join(f"{name} median {ms(value)} ms" for name, value in med.items())
        )
        rows.append(
            [
                label,
                f"{big.variants.height}",
                f"{recommended.height}/{failures.height}",
                ms(med["evaluate"]),
                ms(p90(eval_s)),
                ms(med["explain"]),
                ms(med["excluded"]),
                ms(med["full"]),
                ms(p90(full_s)),
                ms(med["json"]),
                ms(p90(json_s)),
            ]
        )
    return rows


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="timed runs per bundled case")
    parser.add_argument("--big-runs", type=int, default=5, help="timed runs per 100k case")
    parser.add_argument("--variants", type=int, default=100_000)
    headline.add_option(parser)
    args = parser.parse_args()

    start = time.perf_counter()
    catalog = bundled_catalog()
    loaded = time.perf_counter()
    prepared = prepare(catalog)
    prepare_s = time.perf_counter() - loaded
    print(
        f"catalog load {ms(loaded - start)} ms; catalog preparation, once per process: "
        f"{ms(prepare_s)} ms ({prepared.variants.height} variants of {len(catalog.models)} "
        f"models)"
    )
    cases = {
        label: (profile, resolve_hardware(profile.hardware, catalog))
        for label, profile in profiles().items()
    }

    print(f"\nbundled catalog, {args.runs} timed runs per case")
    small_rows = bench_bundled(prepared, cases, args.runs)

    start = time.perf_counter()
    big = synthetic(prepared, args.variants)
    print(
        f"\nsynthetic catalog: {big.variants.height} variants of "
        f"{big.variants['model_id'].n_unique()} models, {big.tasks.height} task rows "
        f"(built in {ms(time.perf_counter() - start)} ms, not part of any figure); "
        f"{args.big_runs} timed runs per case"
    )
    big_rows = bench_big(big, cases, args.big_runs)

    headline.write(
        args.headline,
        [
            (
                f"`recommend`, bundled catalog ({prepared.variants.height} variants), engine time",
                " / ".join(f"{row[5]} ms" for row in small_rows) + " (median per profile)",
                "well under 100 ms",
            ),
            (
                f"`recommend --json`, synthetic catalog of {big.variants.height:,} variants",
                " / ".join(f"{row[9]} ms" for row in big_rows) + " (median per profile)",
                "under 1 s",
            ),
        ],
    )
    print(
        f"\n### recommend, bundled catalog (ms; catalog preparation {ms(prepare_s)} ms once "
        "per process, not included)\n"
    )
    print(
        table(
            [
                "profile",
                "variants",
                "recommended/excluded",
                "evaluate median",
                "evaluate p90",
                "recommend median",
                "recommend p90",
            ],
            small_rows,
        )
    )
    print(
        f"\n### recommend, synthetic catalog of {big.variants.height:,} variants (ms; "
        "explain = RecommendedModel objects, excluded = ExcludedModel objects)\n"
    )
    print(
        table(
            [
                "profile",
                "variants",
                "recommended/excluded",
                "evaluate median",
                "evaluate p90",
                "explain median",
                "excluded median",
                "recommend median",
                "recommend p90",
                "recommend --json median",
                "recommend --json p90",
            ],
            big_rows,
        )
    )


if __name__ == "__main__":
    main()
