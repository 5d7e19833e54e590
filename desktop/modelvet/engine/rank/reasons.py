"""Why each recommended model is there, in words, built for every row at once as polars text.

One list of sentences per row: capability (and any imputed gap), the file and its quantisation,
where it fits, the speed against the target, the origin chain, the licence and any caveat.
"""

from __future__ import annotations

import polars as pl

from modelvet.engine.catalog.frame import describe_links
from modelvet.engine.profile import Profile
from modelvet.engine.rank.scores import scored_tasks
from modelvet.engine.vocabulary import bytes_text, phrases


def _text(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.String)


def _whole(expr: pl.Expr) -> pl.Expr:
    return _text(expr.round(0).cast(pl.Int64))


def origin_text() -> pl.Expr:
    """The origin chain in words ('CN|developer X|' → 'developer X (CN)')."""
    return describe_links(pl.col("origin_links")).list.join("; ")


def _capability(tasks: list[str]) -> list[pl.Expr]:
    has_scores = pl.col("task_summary").list.len() > 0
    measured = pl.when(has_scores).then(
        pl.format(
            "capability {}/100 for {} ({}) from {}, each as a percentile within the catalog, "
            "weighed against the catalog median when a task has few",
            _whole(pl.col("capability")),
            pl.lit(", ".join(tasks)),
            pl.col("task_summary").list.join("; "),
            pl.col("score_benchmarks").list.join(", "),
        )
    )
    missing = pl.col("missing_tasks").list.join(", ")
    gap = (
        pl.when(pl.col("missing_tasks").list.len() == 0)
        .then(None)
        .when(has_scores | (pl.col("imputed_score") > 0))
        .then(
            pl.format(
                "no sourced benchmark for {}: scored {}, the mean of its other task scores "
                "weighed half against the catalog median (imputed)",
                missing,
                _whole(pl.col("imputed_score")),
            )
        )
        .otherwise(pl.format("no sourced benchmark for {}: counted as 0", missing))
    )
    return [measured, gap]


def _file() -> pl.Expr:
    cost = pl.format("quantisation costs {} points", _text(pl.col("quant_penalty").round(1)))
    certificates = pl.col("certifications").list.join(", ")
    official = pl.when(pl.col("official")).then(pl.lit(" (the developer's own file)"))
    return (
        pl.when(pl.col("hosted"))
        .then(
            pl.format(
                "hosted by {} ({}): {}",
                pl.col("publisher"),
                pl.col("publisher_country").fill_null("?"),
                pl.when(certificates == "")
                .then(pl.lit("no certifications listed"))
                .otherwise(certificates),
            )
        )
        .when(pl.col("publisher").is_null())
        .then(
            pl.format(
                "{}: no file in the catalog, size estimated from the parameter count ({}); {}",
                pl.col("quant"),
                bytes_text("weights_bytes"),
                cost,
            )
        )
        .otherwise(
            pl.format(
                "{} from {}{}, {} size {}; {}",
                pl.col("quant"),
                pl.col("publisher"),
                official.otherwise(pl.lit("")),
                pl.col("size_status").fill_null("unknown"),
                bytes_text("size_bytes"),
                cost,
            )
        )
    )


def _placement(context: int) -> pl.Expr:
    share = (
        pl.when(pl.col("experts_on_cpu"))
        .then(
            pl.lit(
                ", the routed experts in RAM and everything else on the GPU (llama.cpp --cpu-moe)"
            )
        )
        .when(pl.col("placement") == "gpu+cpu")
        .then(pl.format(", {}% of weights and cache on the GPU", _whole(pl.col("gpu_share") * 100)))
        .otherwise(pl.lit(""))
    )
    return pl.when(~pl.col("hosted")).then(
        pl.format(
            "fits {}{}: {} at {} tokens (weights {}, KV cache {}, compute {}), {}% headroom",
            pl.col("placement").replace_strict(phrases(), default="somewhere"),
            share,
            bytes_text("total_bytes"),
            pl.lit(context),
            bytes_text("weights_bytes"),
            bytes_text("kv_cache_bytes"),
            bytes_text("compute_bytes"),
            _whole(pl.col("memory_headroom") * 100),
        )
    )


def _speed(target: float) -> pl.Expr:
    verdict = (
        pl.when(pl.col("meets_speed_target")).then(pl.lit("meets")).otherwise(pl.lit("is below"))
    )
    return (
        pl.when(pl.col("hosted"))
        .then(None)
        .when(pl.col("predicted_tokens_per_s").is_null())
        .then(pl.lit("speed not predicted: the memory bandwidth of this hardware is unknown"))
        .otherwise(
            pl.format(
                "predicted {} tokens/s (memory-bandwidth bound {}); {} your {} tokens/s",
                _text(pl.col("predicted_tokens_per_s").round(1)),
                _text(pl.col("bandwidth_bound_tokens_per_s").round(1)),
                verdict,
                pl.lit(f"{target:g}"),
            )
        )
    )


def _context(context: int) -> pl.Expr:
    """The longest context that keeps this placement, beside the requested one."""
    most = pl.col("max_context_tokens")
    return pl.when(most.struct.field("f16").is_not_null()).then(
        pl.format(
            "context: you asked for {} tokens; up to {} fit in this placement with an f16 KV "
            "cache, {} with q8_0",
            pl.lit(context),
            _text(most.struct.field("f16")),
            _text(most.struct.field("q8_0")).fill_null("?"),
        )
    )


def _projector(images: bool) -> pl.Expr:
    """For a vision task: the projector file image input also loads, or that it is unknown."""
    if not images:
        return pl.lit(None, dtype=pl.String)
    takes_images = pl.col("modalities").list.contains("image") & ~pl.col("hosted")
    return (
        pl.when(takes_images & pl.col("projector_file").is_not_null())
        .then(
            pl.format(
                "image input: the projector {} ({}) loads beside the weights (--mmproj); "
                "it is not in the memory figure above",
                pl.col("projector_file"),
                bytes_text("projector_bytes"),
            )
        )
        .when(takes_images)
        .then(
            pl.lit(
                "image input also needs the publisher's projector (mmproj) file; the catalog "
                "does not name it or its size, so neither the memory nor the command includes it"
            )
        )
    )


def _origin() -> list[pl.Expr]:
    inherited = pl.col("licenses").list.slice(1)
    return [
        pl.format("origin: {}", origin_text()),
        pl.format("licence: {}", pl.col("license_name")),
        pl.when(inherited.list.len() > 0).then(
            pl.format("also bound by the licence of its base model: {}", inherited.list.join(", "))
        ),
    ]


def _caveats() -> pl.Expr:
    """One sentence per caveat: carve-outs relied on, unknown terms admitted by choice."""
    caveat = pl.element().struct
    return pl.col("caveats").list.eval(
        pl.when(caveat.field("status") == "unknown")
        .then(pl.format("caveat (not established): {}", caveat.field("detail")))
        .otherwise(pl.format("caveat: {}", caveat.field("detail")))
    )


def reasons(profile: Profile) -> pl.Expr:
    """list[str] per row, nulls (reasons that do not apply) dropped."""
    capability = profile.capability
    tasks = scored_tasks(capability.tasks, capability.languages)
    parts = [
        *_capability(tasks),
        _file(),
        _placement(capability.context_tokens),
        pl.col("variant_choice"),
        _speed(capability.min_tokens_per_s),
        _context(capability.context_tokens),
        _projector("vision" in capability.tasks),
        *_origin(),
    ]
    return pl.concat_list([part.cast(pl.String) for part in parts] + [_caveats()]).list.drop_nulls()
