"""What each model's chosen variant traded, and the other admissible variants it was chosen over.

Works on the frame `variant.order_variants` returns (each model's variants best first, `_choice`
0 for the chosen one) and produces, per model, the sentence that says what the choice traded and
the list of alternatives, each with its own speed, memory, quality cost and why it lost.
"""

from __future__ import annotations

import polars as pl

from modelvet.engine.vocabulary import phrases

# Alternative field ← frame column.
ALTERNATIVE_FIELDS = {
    "quant": "quant",
    "publisher": "publisher",
    "file_size_bytes": "size_bytes",
    "sha256": "sha256",
    "placement": "placement",
    "predicted_memory_bytes": "total_bytes",
    "predicted_tokens_per_s": "predicted_tokens_per_s",
    "meets_speed_target": "meets_speed_target",
    "quality_loss_pct": "quality_loss_pct",
    "run_command": "run_command",
    "trade": "trade",
}


def _pct(expr: pl.Expr) -> pl.Expr:
    return expr.round(2).cast(pl.String)


def _speed(expr: pl.Expr) -> pl.Expr:
    return pl.format("{} tokens/s", expr.round(0).cast(pl.Int64).cast(pl.String)).fill_null(
        "speed unknown"
    )


def _variant(prefix: str = "") -> pl.Expr:
    where = pl.col(f"{prefix}placement").replace_strict(phrases(), default="placed")
    return pl.format("{} {}", pl.col(f"{prefix}quant"), where)


def _why_not() -> pl.Expr:
    """Why an alternative lost to the chosen variant (columns `c_*` hold the chosen one)."""
    gained = pl.col("c_quality_loss_pct") - pl.col("quality_loss_pct")
    return (
        pl.when(~pl.col("_fast") & pl.col("c__fast"))
        .then(pl.lit("below your speed floor"))
        .when(pl.col("set_aside_for_gpu") & ~pl.col("c_set_aside_for_gpu"))
        .then(
            pl.format(
                "not fully on the GPU, and {} is, at {} % more perplexity",
                pl.col("c_quant"),
                _pct(pl.col("c_quality_loss_pct") - pl.col("quality_loss_pct")),
            )
        )
        .when(gained > 0)
        .then(
            pl.format(
                "{} % less perplexity, but {} instead of {}: the speed is worth more",
                _pct(gained),
                _speed(pl.col("predicted_tokens_per_s")),
                _speed(pl.col("c_predicted_tokens_per_s")),
            )
        )
        .when(pl.col("predicted_tokens_per_s") > pl.col("c_predicted_tokens_per_s"))
        .then(
            pl.format(
                "{}, but {} % more perplexity: the quality is worth more",
                _speed(pl.col("predicted_tokens_per_s")),
                _pct(-gained),
            )
        )
        .otherwise(pl.lit("neither better quality nor faster"))
    )


def _traded(priority: str) -> pl.Expr:
    """The chosen variant's sentence: against the best-quality and the fastest alternatives."""
    chosen = pl.format(
        "{}, {}, perplexity +{} % over FP16 ({})",
        _variant(),
        _speed(pl.col("predicted_tokens_per_s")),
        _pct(pl.col("quality_loss_pct")),
        pl.col("quality_basis").fill_null("llama.cpp's measurement"),
    )
    cost = pl.col("quality_loss_pct") - pl.col("b_quality_loss_pct")
    gave_up_speed = pl.col("f_predicted_tokens_per_s") > pl.col("predicted_tokens_per_s")
    return (
        pl.when(pl.col("hosted"))
        .then(None)
        .when(pl.col("alternative_count") == 0)
        .then(pl.format("variant: {}; the only admissible variant", chosen))
        .when((cost > 0) & ~pl.col("b__fast") & pl.col("_fast"))
        .then(
            pl.format(
                "variant: {}, instead of {} at {}, below your speed floor",
                chosen,
                _variant("b_"),
                _speed(pl.col("b_predicted_tokens_per_s")),
            )
        )
        .when(cost > 0)
        .then(
            pl.format(
                "variant: {}, instead of {} at {}: traded {} % perplexity for speed ({} priority)",
                chosen,
                _variant("b_"),
                _speed(pl.col("b_predicted_tokens_per_s")),
                _pct(cost),
                pl.lit(priority),
            )
        )
        .when(gave_up_speed)
        .then(
            pl.format(
                "variant: {}, instead of {} at {}: kept {} % less perplexity ({} priority)",
                chosen,
                _variant("f_"),
                _speed(pl.col("f_predicted_tokens_per_s")),
                _pct(pl.col("f_quality_loss_pct") - pl.col("quality_loss_pct")),
                pl.lit(priority),
            )
        )
        .otherwise(pl.format("variant: {}; no alternative is better or faster", chosen))
    )


def _chosen_beside(columns: list[str]) -> pl.Expr:
    """The chosen variant's values on every row of its model, as `c_*` (rows come sorted by
    model, the chosen one first, so a forward fill carries them; a struct keeps null values)."""
    chosen = pl.struct(pl.col(c).alias("c_" + c) for c in columns)
    return pl.when(pl.col("_choice") == 0).then(chosen).forward_fill().alias("_chosen")


def _by(order: str, prefix: str, arg: str) -> list[pl.Expr]:
    """Within a model: the variant with the least loss (`arg_min`) or the most speed."""
    columns = ["quant", "placement", "predicted_tokens_per_s", "quality_loss_pct", "_fast"]
    at = getattr(pl.col(order), arg)()
    return [pl.col(c).get(at).alias(prefix + c) for c in columns]


def choose(ordered: pl.DataFrame, priority: str) -> pl.DataFrame:
    """One row per model (its chosen variant) with `variant_choice` and `alternatives`."""
    chosen_columns = [
        "quant",
        "quality_loss_pct",
        "predicted_tokens_per_s",
        "set_aside_for_gpu",
        "_fast",
    ]
    rows = (
        ordered.with_columns(_chosen_beside(chosen_columns))
        .unnest("_chosen")
        .with_columns(_why_not().alias("trade"))
    )
    alternative = pl.struct(pl.col(col).alias(field) for field, col in ALTERNATIVE_FIELDS.items())
    per_model = rows.group_by("model_id", maintain_order=True).agg(
        alternative.filter(pl.col("_choice") > 0).alias("alternatives"),
        *_by("quality_loss_pct", "b_", "arg_min"),
        *_by("predicted_tokens_per_s", "f_", "arg_max"),
    )
    return (
        ordered.filter(pl.col("_choice") == 0)
        .join(per_model, on="model_id", how="left", maintain_order="left")
        .with_columns(pl.col("alternatives").list.len().alias("alternative_count"))
        .with_columns(_traded(priority).alias("variant_choice"))
    )
