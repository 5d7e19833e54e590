"""Words for the numbers: why each recommended model is there, and why each excluded one is not."""

from __future__ import annotations

import polars as pl
from pydantic import TypeAdapter

from modelvet.engine.catalog.frame import describe_link  # noqa: F401  (the GUI and reports import it from here)
from modelvet.engine.profile import Profile
from modelvet.engine.rank.reasons import reasons
from modelvet.engine.rank.result import ExcludedModel, MemoryBreakdown, RecommendedModel

# For these rules one reason per model is enough: the smallest variant's.
_ONE_PER_MODEL = ("fit",)


_REASON_FIELDS = ["rule", "detail", "status", "licence", "clause_url"]


def exclusions(
    frame: pl.DataFrame, blocking_columns: list[str], licence_rows: pl.DataFrame
) -> pl.DataFrame:
    """model_id, name, … and `reasons`: every distinct failure or unknown of every variant,
    then those of the licences that bind the model (each naming its licence and clause)."""
    ident = ["model_id", "name", "developer", "developer_country", "license_id"]
    variant_rows = (
        frame.sort("total_bytes", nulls_last=True)
        .select(ident + blocking_columns)
        .unpivot(index=ident, on=blocking_columns, variable_name="rule", value_name="detail")
        .drop_nulls("detail")
        .with_columns(
            pl.col("rule").str.extract(r"^(\w+):", 1).alias("status"),
            pl.col("rule").str.replace(r"^\w+:", ""),
            pl.lit(None, dtype=pl.String).alias("licence"),
            pl.lit(None, dtype=pl.String).alias("clause_url"),
        )
        .unique(subset=["model_id", "rule", "detail"], maintain_order=True)
        .with_columns(pl.int_range(pl.len()).over("model_id", "rule").alias("_nth"))
        .filter(~pl.col("rule").is_in(_ONE_PER_MODEL) | (pl.col("_nth") == 0))
        .drop("_nth")
    )
    models = frame.select(ident).unique("model_id", maintain_order=True)
    licence = models.join(licence_rows, on="model_id", how="inner", maintain_order="left")
    long = pl.concat(
        [variant_rows.select(ident + _REASON_FIELDS), licence.select(ident + _REASON_FIELDS)]
    )
    smallest = frame.group_by("model_id").agg(pl.col("total_bytes").min().alias("smallest_bytes"))
    return (
        long.group_by(ident, maintain_order=True)
        .agg(pl.struct(_REASON_FIELDS).alias("reasons"))
        .join(smallest, on="model_id", how="left")
        .sort("name")
    )


_CAVEAT = pl.Struct({name: pl.String for name in _REASON_FIELDS})
_OBLIGATION = pl.Struct(
    {
        "licence": pl.String,
        "licence_name": pl.String,
        "inherited": pl.Boolean,
        "duty": pl.String,
        "clause_url": pl.String,
    }
)


def _variant_caveats(ranked: pl.DataFrame, unknown_columns: list[str]) -> pl.DataFrame:
    """model_id → the chosen variant's unknown facts (admitted under `unknown_terms = "warn"`)
    and the bounds its figures are (memory, speed), as caveats: the non-null cells only."""
    if not unknown_columns:
        return pl.DataFrame(schema={"model_id": pl.String, "_variant_caveats": pl.List(_CAVEAT)})
    long = (
        ranked.select("model_id", *unknown_columns)
        .unpivot(index="model_id", variable_name="column", value_name="detail")
        .drop_nulls("detail")
    )
    return long.group_by("model_id", maintain_order=True).agg(
        pl.struct(
            pl.col("column").str.strip_prefix("unknown:").alias("rule"),
            "detail",
            pl.lit("unknown").alias("status"),
            pl.lit(None, dtype=pl.String).alias("licence"),
            pl.lit(None, dtype=pl.String).alias("clause_url"),
        ).alias("_variant_caveats")
    )


def with_terms(
    ranked: pl.DataFrame,
    terms: pl.DataFrame,
    caveats: pl.DataFrame,
    duties: pl.DataFrame,
    unknown_columns: list[str],
) -> pl.DataFrame:
    """The ranked rows with `licenses` (own first), `obligations` and `caveats` per model."""
    licences = terms.group_by("model_id").agg(
        pl.col("license_id").sort_by("order").alias("licenses")
    )
    by_model = [
        licences,
        caveats.group_by("model_id", maintain_order=True).agg(
            pl.struct(_REASON_FIELDS).alias("_licence_caveats")
        ),
        duties.group_by("model_id", maintain_order=True).agg(
            pl.struct([f.name for f in _OBLIGATION.fields]).alias("obligations")
        ),
    ]
    by_model.append(_variant_caveats(ranked, unknown_columns))
    out = ranked
    for part in by_model:
        out = out.join(part, on="model_id", how="left", maintain_order="left")
    empty_caveats = pl.lit([], dtype=pl.List(_CAVEAT))
    return out.with_columns(
        pl.concat_list(
            pl.col("_licence_caveats").fill_null(empty_caveats),
            pl.col("_variant_caveats").fill_null(empty_caveats),
        ).alias("caveats"),
        pl.col("obligations").fill_null(pl.lit([], dtype=pl.List(_OBLIGATION))),
        pl.col("licenses").fill_null(pl.lit([], dtype=pl.List(pl.String))),
    ).drop("_licence_caveats", "_variant_caveats")


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
        if name not in ("memory", "reasons", "predicted_tokens_per_s_range")
    ]
    span = pl.concat_list("predicted_tokens_per_s_low", "predicted_tokens_per_s_high")
    rows = ranked.select(
        *columns,
        pl.struct(_MEMORY).alias("memory"),
        reasons(profile).alias("reasons"),
        pl.when(pl.col("predicted_tokens_per_s").is_not_null())
        .then(span)
        .alias("predicted_tokens_per_s_range"),
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
