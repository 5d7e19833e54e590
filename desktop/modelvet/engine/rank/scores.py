"""Capability per task from the catalog's sourced benchmarks, normalised within the catalog.

Which benchmarks feed which task is `TASK_BENCHMARKS`. Scores of different benchmarks are not
comparable (a 40 on HLE beats an 80 on MMLU), so each score becomes its percentile among the
catalog's models that report that benchmark: (rank − ½) ÷ count × 100, so a benchmark only one
model reports places it at 50. A task's score averages its benchmarks' percentiles together
with one pseudo-benchmark at the catalog median, (sum + 50) ÷ (n + 1): a single benchmark moves
a model only halfway from the median, three move it three quarters, so one lucky number does not
outrank a model measured on many.

A model with no benchmark for a requested task takes, for that task, the mean of its own scores
on the tasks it has, weighed half against the catalog median, (own + 50) ÷ 2: a frontier model
without a multilingual figure is not ranked as if it had failed one, nor above models measured
on that task; a model with no benchmark at all counts 0. Either way the gap is named in
`missing_tasks` and in the model's reasons, never filled silently. Each task's figure says how
many benchmarks it rests on. When the user needs languages other than English, the multilingual
benchmarks are scored as a task of their own beside the requested ones (`scored_tasks`).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from modelvet.engine.catalog.loader import Catalog

MEDIAN_PRIOR = 50.0

TASK_BENCHMARKS: dict[str, tuple[str, ...]] = {
    "general": (
        "MMLU",
        "MMLU-Pro",
        "MMLU-Redux",
        "GPQA Diamond",
        "BBH",
        "ARC-C",
        "HellaSwag",
        "IFEval",
        "Arena-Hard",
        "MT-Bench",
    ),
    "coding": (
        "HumanEval",
        "HumanEval+",
        "MBPP",
        "MBPP+",
        "LiveCodeBench",
        "SWE-bench Verified",
        "Aider Polyglot",
        "MultiPL-E",
        "Terminal-Bench",
    ),
    "reasoning": ("GPQA Diamond", "HLE", "BBH", "AIME 2024", "AIME 2025", "ARC-C"),
    "math": ("GSM8K", "MATH", "MATH-500", "AIME 2024", "AIME 2025"),
    "rag": ("RULER", "LongBench v2"),
    "tool-use": ("BFCL", "tau-bench", "tau2-bench", "Terminal-Bench"),
    "multilingual": ("MGSM", "MMMLU", "Global-MMLU", "INCLUDE"),
    "vision": ("MMMU", "MathVista", "ChartQA", "DocVQA", "AI2D"),
}


def scored_tasks(tasks: Sequence[str], languages: Sequence[str]) -> list[str]:
    """The tasks capability is scored on: the requested ones, and `multilingual` too when the
    user needs a language other than English (its benchmarks then weigh in)."""
    scored = list(dict.fromkeys(tasks))
    if any(language.lower() != "en" for language in languages) and "multilingual" not in scored:
        scored.append("multilingual")
    return scored


def benchmark_frame(catalog: Catalog) -> pl.DataFrame:
    """One row per model and benchmark (the best reported setting), with its percentile."""
    rows = [
        {"model_id": m.id, "benchmark": b.name, "score": b.score}
        for m in catalog.models.values()
        for b in m.benchmarks
    ]
    frame = pl.DataFrame(
        rows, schema={"model_id": pl.String, "benchmark": pl.String, "score": pl.Float64}
    )
    frame = frame.group_by("model_id", "benchmark").agg(pl.col("score").max())
    return frame.with_columns(
        (
            (pl.col("score").rank("average").over("benchmark") - 0.5)
            / pl.len().over("benchmark")
            * 100
        ).alias("percentile")
    )


def task_scores(benchmarks: pl.DataFrame) -> pl.DataFrame:
    """model_id, task, task_score (0–100) and the benchmarks behind it."""
    mapping = pl.DataFrame(
        [
            {"task": task, "benchmark": name}
            for task, names in TASK_BENCHMARKS.items()
            for name in names
        ]
    )
    return (
        benchmarks.join(mapping, on="benchmark")
        .group_by("model_id", "task")
        .agg(
            ((pl.col("percentile").sum() + MEDIAN_PRIOR) / (pl.len() + 1)).alias("task_score"),
            pl.col("benchmark").sort().alias("task_benchmarks"),
        )
    )


def capability(task_table: pl.DataFrame, model_ids: pl.Series, tasks: list[str]) -> pl.DataFrame:
    """Per model: capability (mean over the requested tasks; gaps imputed and named)."""
    own_mean = task_table.group_by("model_id").agg(
        ((pl.col("task_score").mean() + MEDIAN_PRIOR) / 2).alias("own_mean")
    )
    wanted = task_table.filter(pl.col("task").is_in(tasks))
    grid = pl.DataFrame({"model_id": model_ids.unique()}).join(
        pl.DataFrame({"task": tasks}), how="cross"
    )
    full = (
        grid.join(wanted, on=["model_id", "task"], how="left")
        .join(own_mean, on="model_id", how="left")
        .with_columns(pl.col("own_mean").fill_null(0.0))
    )
    return full.group_by("model_id").agg(
        (pl.col("task_score").fill_null(pl.col("own_mean")).sum() / len(tasks)).alias("capability"),
        pl.col("task").filter(pl.col("task_score").is_null()).alias("missing_tasks"),
        pl.col("own_mean").first().alias("imputed_score"),
        pl.format(
            "{} {} ({} benchmark{})",
            pl.col("task"),
            pl.col("task_score").round(0).cast(pl.Int64),
            pl.col("task_benchmarks").list.len(),
            pl.when(pl.col("task_benchmarks").list.len() == 1)
            .then(pl.lit(""))
            .otherwise(pl.lit("s")),
        )
        .filter(pl.col("task_score").is_not_null())
        .alias("task_summary"),
        pl.col("task_benchmarks")
        .list.explode(keep_nulls=False, empty_as_null=False)
        .drop_nulls()
        .unique()
        .sort()
        .alias("score_benchmarks"),
    )
