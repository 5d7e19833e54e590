"""Words for the numbers: why each recommended model is there, and why each excluded one is not."""

from __future__ import annotations

from typing import Any

import polars as pl

from modelvet.engine.hardware import GB
from modelvet.engine.profile import Profile
from modelvet.engine.rank.result import MemoryBreakdown, RecommendedModel

# Frame columns the reasons read besides the output fields (selected before rows are built).
_USED = (
    "origin_links",
    "license_id",
    "size_bytes",
    "weights_bytes",
    "total_bytes",
    "kv_cache_bytes",
    "compute_bytes",
    "hosted",
    "official",
    "experts_on_cpu",
    "government_carveout",
    "field_of_use_bans",
    "task_summary",
    "imputed_score",
)
# For these rules one reason per model is enough: the smallest variant's.
_ONE_PER_MODEL = ("fit",)
_PLACES = {
    "gpu": "fits on one GPU",
    "multi-gpu": "fits across the GPUs (layers split between cards)",
    "gpu+cpu": "fits with part of the layers on the CPU",
    "cpu": "runs on the CPU from RAM",
}


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
        .agg(pl.col("rule").alias("rules"), pl.col("detail").alias("details"))
        .join(smallest, on="model_id", how="left")
        .sort("name")
    )


def _gb(value: int | None) -> str:
    return "?" if value is None else f"{value / GB:.1f} GB"


def _capability_reason(row: dict[str, Any], tasks: list[str]) -> list[str]:
    reasons = []
    if row["task_summary"]:
        reasons.append(
            f"capability {row['capability']:.0f}/100 for {', '.join(tasks)} "
            f"({'; '.join(row['task_summary'])}) from {', '.join(row['score_benchmarks'])}, "
            f"each as a percentile within the catalog, weighed against the catalog median "
            f"when a task has few"
        )
    if row["missing_tasks"]:
        missing = ", ".join(row["missing_tasks"])
        if row["task_summary"] or row["imputed_score"]:
            reasons.append(
                f"no sourced benchmark for {missing}: scored {row['imputed_score']:.0f}, the "
                "mean of its other task scores (imputed)"
            )
        else:
            reasons.append(f"no sourced benchmark for {missing}: counted as 0")
    return reasons


def _variant_reason(row: dict[str, Any], context: int) -> list[str]:
    if row["hosted"]:
        certs = ", ".join(row["certifications"]) or "no certifications listed"
        return [f"hosted by {row['publisher']} ({row['publisher_country']}): {certs}"]
    cost = f"quantisation costs {row['quant_penalty']:.1f} points"
    if row["publisher"] is None:
        reasons = [
            f"{row['quant']}: no file in the catalog, size estimated from the parameter "
            f"count ({_gb(row['weights_bytes'])}); {cost}"
        ]
    else:
        official = " (the developer's own file)" if row["official"] else ""
        size = f"{row['size_status'] or 'unknown'} size {_gb(row['size_bytes'])}"
        reasons = [f"{row['quant']} from {row['publisher']}{official}, {size}; {cost}"]
    place = _PLACES[row["placement"]]
    share = ""
    if row["experts_on_cpu"]:
        share = ", the routed experts in RAM and everything else on the GPU (llama.cpp --cpu-moe)"
    elif row["placement"] == "gpu+cpu":
        share = f", {row['gpu_share']:.0%} of weights and cache on the GPU"
    reasons.append(
        f"{place}{share}: {_gb(row['total_bytes'])} at {context} tokens (weights "
        f"{_gb(row['weights_bytes'])}, KV cache {_gb(row['kv_cache_bytes'])}, compute "
        f"{_gb(row['compute_bytes'])}), {row['memory_headroom']:.0%} headroom"
    )
    return reasons


def _speed_reason(row: dict[str, Any], target: float) -> list[str]:
    if row["hosted"]:
        return []
    if row["predicted_tokens_per_s"] is None:
        return ["speed not predicted: the memory bandwidth of this hardware is unknown"]
    verdict = "meets" if row["meets_speed_target"] else "is below"
    return [
        f"predicted {row['predicted_tokens_per_s']:.1f} tokens/s (memory-bandwidth bound "
        f"{row['bandwidth_bound_tokens_per_s']:.1f}); {verdict} your {target:g} tokens/s"
    ]


def describe_link(link: str) -> str:
    """'CN|developer X| via base model Y (distill)' → 'developer X (CN) via base model Y …'."""
    country, who, via = link.split("|")
    return f"{who} ({country}){via}"


def origin_text() -> pl.Expr:
    """The origin chain in words, for every row at once ('CN|developer X|' → 'developer X (CN)')."""
    parts = pl.element().str.split("|")
    described = pl.format("{} ({}){}", parts.list.get(1), parts.list.get(0), parts.list.get(2))
    return pl.col("origin_links").list.eval(described).list.join("; ")


def _origin_reason(row: dict[str, Any], profile: Profile) -> list[str]:
    reasons = [f"origin: {row['origin_text']}", f"licence: {row['license_name']}"]
    org = profile.organisation
    if (
        row["government_carveout"]
        and org.sector in ("defense", "government")
        and row["field_of_use_bans"]
    ):
        reasons.append(
            f"caveat: the licence bans {', '.join(row['field_of_use_bans'])}; "
            f"admitted on the government carve-out: {row['government_carveout']}"
        )
    return reasons


def explain(ranked: pl.DataFrame, profile: Profile) -> list[RecommendedModel]:
    """One RecommendedModel per ranked row. Built without re-validation: every value comes from
    the engine's own typed frame, and validating 50,000 rows again would cost seconds."""
    tasks: list[str] = list(dict.fromkeys(profile.capability.tasks))
    context, target = profile.capability.context_tokens, profile.capability.min_tokens_per_s
    items = []
    needed = [*RecommendedModel.model_fields, *MemoryBreakdown.model_fields, *_USED]
    present = [c for c in dict.fromkeys(needed) if c in ranked.columns]
    rows = ranked.with_columns(origin_text().alias("origin_text")).select(*present, "origin_text")
    for row in rows.iter_rows(named=True):
        reasons = (
            _capability_reason(row, tasks)
            + _variant_reason(row, context)
            + _speed_reason(row, target)
            + _origin_reason(row, profile)
        )
        memory = MemoryBreakdown.model_construct(
            **{k: row[k] for k in MemoryBreakdown.model_fields}
        )
        items.append(
            RecommendedModel.model_construct(
                rank=row["rank"],
                model_id=row["model_id"],
                name=row["name"],
                developer=row["developer"],
                developer_country=row["developer_country"],
                origin=row["origin_links"],
                license=row["license_id"],
                license_name=row["license_name"],
                license_url=row["license_url"],
                total_params_b=row["total_params_b"],
                active_params_b=row["active_params_b"],
                context_length=row["context_length"],
                modalities=row["modalities"],
                format=row["format"],
                quant=row["quant"],
                publisher=row["publisher"],
                publisher_country=row["publisher_country"],
                file_size_bytes=row["size_bytes"],
                size_status=row["size_status"],
                sha256=row["sha256"],
                repo=row["repo"],
                files=row["files"],
                placement=row["placement"],
                gpu_share=row["gpu_share"],
                predicted_memory_bytes=row["total_bytes"],
                memory=memory,
                memory_headroom=row["memory_headroom"],
                predicted_tokens_per_s=row["predicted_tokens_per_s"],
                bandwidth_bound_tokens_per_s=row["bandwidth_bound_tokens_per_s"],
                predicted_prefill_tokens_per_s=row["predicted_prefill_tokens_per_s"],
                meets_speed_target=row["meets_speed_target"],
                score=row["score"],
                capability=row["capability"] or 0.0,
                quant_penalty=row["quant_penalty"],
                task_scores=row["task_summary"] or [],
                missing_tasks=row["missing_tasks"] or [],
                score_benchmarks=row["score_benchmarks"] or [],
                certifications=row["certifications"],
                reasons=reasons,
            )
        )
    return items
