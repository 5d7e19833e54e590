"""Words for the numbers: why each recommended model is there, and why each excluded one is not."""

from __future__ import annotations

import polars as pl
from pydantic import TypeAdapter

from modelvet.engine.profile import Profile
from modelvet.engine.rank.reasons import reasons
from modelvet.engine.rank.result import ExcludedModel, MemoryBreakdown, RecommendedModel

# For these rules one reason per model is enough: the smallest variant's.
_ONE_PER_MODEL = ("fit",)


def exclusions(frame: pl.DataFrame, fail_columns: list[str]) -> pl.DataFrame:
    """model_id, name, … and the parallel lists `rules` and `details` of every distinct failure."""
    ident = ["model_id", "name", "developer", "developer_country", "license_id"]
    long = (
        frame.sort("total_bytes", nulls_last=True)
        .select(ident + fail_columns)
        .unpivot(index=ident, on=fail_columns, variable_name="rule", value_name="detail")
        .drop_nulls("detail")
        .with_columns(pl.col("rule").str.strip_prefix("fail:"))
        .unique(subset=["model_id", "rule", "detail"], maintain_order=True)
        .with_columns(pl.int_range(pl.len()).over("model_id", "rule").alias("_nth"))
        .filter(~pl.col("rule").is_in(_ONE_PER_MODEL) | (pl.col("_nth") == 0))
    )
    smallest = frame.group_by("model_id").agg(pl.col("total_bytes").min().alias("smallest_bytes"))
    return (
        long.group_by(ident, maintain_order=True)
        .agg(pl.struct("rule", "detail").alias("reasons"))
        .join(smallest, on="model_id", how="left")
        .sort("name")
    )


def describe_link(link: str) -> str:
    """'CN|developer X| via base model Y (distill)' → 'developer X (CN) via base model Y …'."""
    country, who, via = link.split("|")
    return f"{who} ({country}){via}"


# Output field ← frame column, where the names differ.
_RENAMED = {
    "origin": "origin_links",
    "license": "license_id",
    "file_size_bytes": "size_bytes",
    "predicted_memory_bytes": "total_bytes",
    "task_scores": "task_summary",
}
_MEMORY = list(MemoryBreakdown.model_fields)
_RECOMMENDED = TypeAdapter(list[RecommendedModel])
_EXCLUDED = TypeAdapter(list[ExcludedModel])


def recommended_frame(ranked: pl.DataFrame, profile: Profile) -> pl.DataFrame:
    """The ranked rows in the shape of RecommendedModel (its field names, order and nesting)."""
    columns = [
        pl.col(_RENAMED.get(name, name)).alias(name)
        for name in RecommendedModel.model_fields
        if name not in ("memory", "reasons")
    ]
    rows = ranked.select(
        *columns,
        pl.struct(_MEMORY).alias("memory"),
        reasons(profile).alias("reasons"),
    ).with_columns(
        pl.col("capability").fill_null(0.0),
        *(pl.col(c).fill_null([]) for c in ("task_scores", "missing_tasks", "score_benchmarks")),
    )
    return rows


def explain(ranked: pl.DataFrame, profile: Profile) -> list[RecommendedModel]:
    """One RecommendedModel per ranked row, with its reasons; built and validated in bulk."""
    return _RECOMMENDED.validate_python(recommended_frame(ranked, profile).to_dicts())


def excluded_frame(failures: pl.DataFrame) -> pl.DataFrame:
    """The excluded models in the shape of ExcludedModel."""
    return failures.select(
        "model_id",
        "name",
        "developer",
        "developer_country",
        pl.col("license_id").alias("license"),
        "reasons",
        pl.col("smallest_bytes").alias("smallest_memory_bytes"),
        "capability",
    )


def excluded_items(failures: pl.DataFrame) -> list[ExcludedModel]:
    return _EXCLUDED.validate_python(excluded_frame(failures).to_dicts())
