"""Profile + catalog + hardware → ranked, explained recommendation, every exclusion with reasons.

Filtering and ranking are polars expressions over the variants frame: fit, policy and capability
become columns; a variant is admissible when no rule column holds a reason; each model keeps its
best admissible variant; models without one are excluded with every reason any variant met.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache

import polars as pl

from modelvet.engine.catalog.frame import variants_frame
from modelvet.engine.catalog.loader import Catalog, bundled_catalog
from modelvet.engine.catalog.terms import terms_frame
from modelvet.engine.fit.memory import RunSettings
from modelvet.engine.fit.pipeline import with_fit
from modelvet.engine.fit.placement import (
    Capacity,
    assumptions,
    headroom,
)
from modelvet.engine.fit.speed import assumptions as speed_assumptions
from modelvet.engine.hardware import HardwareSpec, resolve_hardware
from modelvet.engine.licence_rules import licence_outcomes
from modelvet.engine.obligations import obligations
from modelvet.engine.policy import PolicyInput, policy_columns, unknown_columns
from modelvet.engine.profile import Profile
from modelvet.engine.rank.alternatives import choose
from modelvet.engine.rank.command import run_command
from modelvet.engine.rank.context import context_curves, plan_context
from modelvet.engine.rank.explain import (
    excluded_frame,
    excluded_items,
    exclusions,
    explain,
    recommended_frame,
    with_terms,
)
from modelvet.engine.rank.quality import quality_assumption, quality_columns
from modelvet.engine.rank.result import ContextPoint, Recommendation, RecommendedModel
from modelvet.engine.rank.scores import benchmark_frame, capability, scored_tasks, task_scores
from modelvet.engine.rank.variant import TRADE_OFFS, order_variants
from modelvet.engine.security import resolve_security
from modelvet.engine.vocabulary import bytes_text, format_bytes


@dataclass(frozen=True)
class PreparedCatalog:
    """The catalog's frames, built once per catalog: variants, binding licences, task scores."""

    catalog: Catalog
    variants: pl.DataFrame
    tasks: pl.DataFrame
    terms: pl.DataFrame


@cache
def _prepared_bundled() -> PreparedCatalog:
    return prepare(bundled_catalog())


def prepare(catalog: Catalog) -> PreparedCatalog:
    return PreparedCatalog(
        catalog,
        variants_frame(catalog),
        task_scores(benchmark_frame(catalog)),
        terms_frame(catalog),
    )


def _fit_rule(cap: Capacity, settings: RunSettings) -> pl.Expr:
    ram = format_bytes(cap.ram_bytes)
    offered = (
        f"{format_bytes(cap.all_gpus_bytes)} GPU + {ram} RAM"
        if cap.gpu_count and not cap.unified
        else f"{ram} usable"
    )
    if cap.unified:
        offered = f"{format_bytes(cap.largest_gpu_bytes)} for the GPU, {ram} RAM"
    needs = pl.format(
        "{} {} needs {} at {} tokens (weights {}, KV cache {}, compute {}); {} available",
        pl.col("quant"),
        pl.col("publisher").fill_null("(estimated size)"),
        bytes_text("total_bytes"),
        pl.lit(settings.context_tokens),
        bytes_text("weights_bytes"),
        bytes_text("kv_cache_bytes"),
        bytes_text("compute_bytes"),
        pl.lit(offered),
    )
    return (
        pl.when(pl.col("hosted"))
        .then(None)
        .when(pl.col("format").is_null())
        .then(pl.lit("no downloadable file and no parameter count in the catalog"))
        .when(pl.col("weights_bytes").is_null())
        .then(pl.lit("file size unknown and no parameter count to estimate it"))
        .when(pl.col("kv_cache_bytes").is_null() | pl.col("compute_bytes").is_null())
        .then(
            pl.lit(
                "memory cannot be predicted: the catalog lacks this model's "
                "architecture numbers (layers, KV heads, head size, vocabulary)"
            )
        )
        .when(pl.col("placement").is_null())
        .then(needs)
    )


def _capability_rules(profile: Profile) -> dict[str, pl.Expr]:
    wanted = profile.capability.context_tokens
    rules: dict[str, pl.Expr] = {
        "context": pl.when(pl.col("context_length").is_null())
        .then(pl.lit("maximum context length is not in the catalog"))
        .when(pl.col("context_length") < wanted)
        .then(
            pl.format(
                "supports {} tokens of context; you need {}",
                pl.col("context_length"),
                pl.lit(wanted),
            )
        )
    }
    if "vision" in profile.capability.tasks:
        rules["modality"] = pl.when(~pl.col("modalities").list.contains("image")).then(
            pl.lit("vision task needs image input; this model takes text only")
        )
    return rules


# Variant caveats (rank/explain.py), never exclusions: a figure that is a bound, and why.
MEMORY_GAP = "unknown:memory"
SPEED_GAP = "unknown:speed"


def evaluate(
    prepared: PreparedCatalog, profile: Profile, hardware: HardwareSpec
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(best admissible variant per recommended model, ranked; failures per excluded model).

    A variant is admissible when no rule fails and no fact a rule needs is unknown (unless the
    profile admits unknowns with `unknown_terms = "warn"`), for the variant and for every
    licence that binds its model.
    """
    settings = profile.capability.run_settings()
    cap = Capacity.of(hardware)
    security = resolve_security(profile, prepared.catalog)
    inputs = PolicyInput(profile.organisation, security)
    rules = {
        "fit": _fit_rule(cap, settings),
        **_capability_rules(profile),
        **policy_columns(inputs),
    }
    unknowns = unknown_columns(inputs)
    warn = security.unknown_terms == "warn"
    outcomes = licence_outcomes(prepared.terms, profile.organisation, security)
    blocking = outcomes.filter(
        (pl.col("status") == "fail") | ((pl.col("status") == "unknown") & (not warn))
    )
    frame = (
        with_fit(prepared.variants.lazy(), settings, cap)
        .with_columns(headroom(cap))
        .with_columns(
            [expr.alias(f"fail:{name}") for name, expr in rules.items()]
            + [expr.alias(f"unknown:{name}") for name, expr in unknowns.items()]
            + [pl.col("model_id").is_in(blocking["model_id"].implode()).alias("licence_blocked")]
            # Never blocks: the figure is a lower bound, said as a caveat on the model.
            + [pl.when(pl.col("hosted")).then(None).otherwise("memory_gap").alias(MEMORY_GAP)]
            + [pl.when(pl.col("hosted")).then(None).otherwise("speed_gap").alias(SPEED_GAP)]
        )
        .collect()
    )
    fail_columns = [f"fail:{name}" for name in rules]
    unknown_cols = [f"unknown:{name}" for name in unknowns]
    blocking_columns = fail_columns + ([] if warn else unknown_cols)
    tasks = scored_tasks(profile.capability.tasks, profile.capability.languages)
    scores = capability(prepared.tasks, frame["model_id"], tasks)
    admissible = frame.filter(
        pl.all_horizontal(pl.col(c).is_null() for c in blocking_columns)
        & ~pl.col("licence_blocked")
    ).with_columns(
        run_command(settings, hardware.cpu_cores, "vision" in profile.capability.tasks).alias(
            "run_command"
        )
    )
    ranked = plan_context(_rank(admissible, scores, profile), settings, cap)
    caveats = outcomes.filter(
        (pl.col("status") == "caveat") | ((pl.col("status") == "unknown") & warn)
    )
    recommended = with_terms(
        ranked,
        prepared.terms,
        caveats,
        obligations(prepared.terms, profile.organisation),
        [*(unknown_cols if warn else []), MEMORY_GAP, SPEED_GAP],
    )
    excluded_ids = (
        frame.select("model_id")
        .unique()
        .join(recommended.select("model_id"), on="model_id", how="anti")
    )
    failures = exclusions(frame.join(excluded_ids, on="model_id"), blocking_columns, blocking).join(
        scores.select("model_id", "capability"), on="model_id", how="left"
    )
    return recommended, failures


def _rank(admissible: pl.DataFrame, scores: pl.DataFrame, profile: Profile) -> pl.DataFrame:
    """Each model's variant chosen by the trade-off (rank/variant.py), then models by score."""
    target = profile.capability.min_tokens_per_s
    priority = profile.capability.priority
    rows = (
        admissible.join(scores, on="model_id", how="left")
        .join(quality_columns(admissible["quant"]), on="quant", how="left")
        .with_columns(
            # One score point per percent of perplexity the quantisation adds (llama.cpp's table).
            pl.col("quality_loss_pct").fill_null(0.0).alias("quant_penalty"),
            pl.when(pl.col("hosted"))
            .then(None)
            .otherwise(pl.col("predicted_tokens_per_s") >= target)
            .alias("meets_speed_target"),
        )
    )
    chosen = choose(order_variants(rows, priority, target), priority)
    return (
        chosen.with_columns(
            # Floored at 0: a model with no sourced benchmark has nothing to lose to quantisation.
            (pl.col("capability").fill_null(0.0) - pl.col("quant_penalty"))
            .clip(lower_bound=0.0)
            .round(1)
            .alias("score")
        )
        .sort(["_fast", "score", "name"], descending=[True, True, False])
        .with_row_index("rank", offset=1)
    )


def _header(prepared: PreparedCatalog, profile: Profile, hardware: HardwareSpec) -> dict:
    settings = profile.capability.run_settings()
    return {
        "catalog_version": prepared.catalog.version,
        "profile": profile.model_dump(mode="json", exclude_none=True),
        "hardware": hardware.model_dump(mode="json"),
        "settings": settings.describe(),
        "assumptions": [
            *hardware.filled,
            *assumptions(Capacity.of(hardware)),
            *speed_assumptions(Capacity.of(hardware), settings),
            quality_assumption(),
            TRADE_OFFS[profile.capability.priority].describe(profile.capability.priority),
        ],
    }


def recommend(
    profile: Profile, hardware: HardwareSpec | None = None, prepared: PreparedCatalog | None = None
) -> Recommendation:
    """The recommendation as validated objects (the GUI and the reports use these)."""
    prepared = prepared or _prepared_bundled()
    hardware = hardware or resolve_hardware(profile.hardware, prepared.catalog)
    recommended, failures = evaluate(prepared, profile, hardware)
    return Recommendation(
        **_header(prepared, profile, hardware) | {"hardware": hardware},
        recommended=explain(recommended, profile),
        excluded=excluded_items(failures),
    )


def recommend_json(
    profile: Profile, hardware: HardwareSpec | None = None, prepared: PreparedCatalog | None = None
) -> str:
    """The same recommendation as JSON, written by polars straight from the frames.

    `recommend --json` uses this: at 100,000 variants, turning every row into a Python object
    first would cost seconds. A test holds it equal to `recommend(...).to_json_dict()`.
    """
    prepared = prepared or _prepared_bundled()
    hardware = hardware or resolve_hardware(profile.hardware, prepared.catalog)
    recommended, failures = evaluate(prepared, profile, hardware)
    head = json.dumps(_header(prepared, profile, hardware), ensure_ascii=False)
    rows = recommended_frame(recommended, profile).write_json()
    excluded = excluded_frame(failures).write_json()
    return f'{head[:-1]}, "recommended": {rows}, "excluded": {excluded}}}'


def memory_against_context(
    profile: Profile,
    hardware: HardwareSpec,
    models: list[RecommendedModel],
    prepared: PreparedCatalog | None = None,
) -> dict[str, list[ContextPoint]]:
    """Per model: predicted memory of its chosen variant at context lengths up to its maximum."""
    prepared = prepared or _prepared_bundled()
    picks = pl.DataFrame(
        [
            {
                "model_id": m.model_id,
                "quant": m.quant,
                "publisher": m.publisher,
                "placement": m.placement,
            }
            for m in models
        ],
        schema={
            "model_id": pl.String,
            "quant": pl.String,
            "publisher": pl.String,
            "placement": pl.String,
        },
    )
    rows = prepared.variants.join(
        picks, on=["model_id", "quant", "publisher"], nulls_equal=True
    ).unique(subset=["model_id"], keep="first", maintain_order=True)
    settings = profile.capability.run_settings()
    curves = context_curves(rows, settings, Capacity.of(hardware))
    return {key: [ContextPoint(**point) for point in points] for key, points in curves.items()}
