"""Flattens the catalog into a polars frame with one row per variant (model × file × quant).

Everything policy, fit and rank need is a column here, including the origin chain (developer,
parent company, base model's developer and parent, file publisher) as `CC|who` links, so the
rules downstream are column expressions, not loops over rows.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from modelvet.engine.catalog.loader import Catalog
from modelvet.engine.catalog.schema import (
    ARCHITECTURE_FIELDS,
    OPENNESS_LADDER,
    Model,
    OpennessFacts,
)
from modelvet.engine.fit.quants import BITS_PER_WEIGHT, normalise_quant

# Quantisations shown for an open-weight model whose catalog entry lists no GGUF file; their
# sizes are estimates (parameters × bits per weight) and are marked as such.
ESTIMATED_QUANTS = ("Q8_0", "Q4_K_M")
_ARCH = ARCHITECTURE_FIELDS


def openness_level(facts: OpennessFacts | None) -> str | None:
    """The highest rung of the Model Openness Framework ladder whose components are all open."""
    if facts is None or not facts.weights:
        return None
    model_class = [
        facts.weights_license_open,
        facts.technical_report,
        facts.model_card,
        facts.data_card,
        facts.evaluation_results,
    ]
    tooling_class = [facts.training_code, facts.inference_code, facts.evaluation_code]
    level = "open-weights"
    if all(model_class):
        level = "open-model"
        if all(tooling_class):
            level = "open-tooling"
            if facts.training_data:
                level = "open-science"
    return level


def origin_link(country: str, who: str, via: str = "") -> str:
    """One link of an origin chain as the frame and the JSON output carry it: `CC|who|via`."""
    return f"{country}|{who}|{via}"


def describe_link(link: str) -> str:
    """'CN|developer X| via base model Y (distill)' → 'developer X (CN) via base model Y …'."""
    country, who, via = link.split("|")
    return f"{who} ({country}){via}"


def describe_links(links: pl.Expr) -> pl.Expr:
    """`describe_link` over a list column of links."""
    parts = pl.element().str.split("|")
    described = pl.format("{} ({}){}", parts.list.get(1), parts.list.get(0), parts.list.get(2))
    return links.list.eval(described)


def link_country(link: pl.Expr) -> pl.Expr:
    return link.str.split("|").list.get(0)


def origin_links(model: Model, catalog: Catalog, seen: frozenset[str] = frozenset()) -> list[str]:
    """Links for the developer, its parent, and the same for each base model in turn."""
    developer = catalog.developers[model.developer]
    links = [origin_link(developer.country, f"developer {developer.name}")]
    if developer.parent and developer.parent_country:
        parent = f"{developer.name}'s parent {developer.parent}"
        links.append(origin_link(developer.parent_country, parent))
    base = catalog.models.get(model.base_model or "")
    if base is not None and base.id not in seen:
        for link in origin_links(base, catalog, seen | {model.id}):
            country, who, via = link.split("|")
            via = via or f" via base model {base.name} ({model.lineage})"
            links.append(origin_link(country, who, via))
    return links


def _model_columns(model: Model, catalog: Catalog) -> dict[str, Any]:
    developer = catalog.developers[model.developer]
    lic = catalog.licenses[model.license]
    arch = model.architecture.model_dump() if model.architecture else {}
    return {
        "model_id": model.id,
        "name": model.name,
        "family": catalog.families[model.id].removesuffix(".toml"),
        "developer": developer.name,
        "developer_id": developer.id,
        "developer_country": developer.country,
        "parent_country": developer.parent_country,
        "origin_links": origin_links(model, catalog),
        "base_model": model.base_model,
        "repo": model.repo,
        "license_id": lic.id,
        "license_name": lic.name,
        "license_url": lic.url,
        "openness_level": openness_level(model.openness),
        "modalities": list(model.modalities),
        "languages": list(model.languages),
        "context_length": model.context_length,
        "total_params_b": model.total_params_b,
        "active_params_b": _active_params_b(model),
        "release_date": model.release_date,
        **{name: arch.get(name) for name in _ARCH},
    }


def _active_params_b(model: Model) -> float | None:
    """The parameters one token uses: all of them in a dense model; for a mixture of experts
    only what the catalog states (unknown stays unknown, never the total)."""
    if model.active_params_b is not None:
        return model.active_params_b
    experts = model.architecture.experts_total if model.architecture else None
    return model.total_params_b if (experts or 1) <= 1 else None


def implied_params_b(model: Model) -> float | None:
    """Parameters as stated, or as implied by a GGUF file of stated size and known type."""
    if model.total_params_b is not None:
        return model.total_params_b
    for artifact in model.artifacts:
        bits = BITS_PER_WEIGHT.get(normalise_quant(artifact.quant))
        if artifact.format == "gguf" and artifact.size_bytes and bits:
            return artifact.size_bytes * 8 / bits / 1e9
    return None


def _estimated_bytes(params_b: float | None, quant: str) -> int | None:
    """A file size the catalog lacks: parameters × bits per weight (marked estimated)."""
    bits = BITS_PER_WEIGHT.get(quant)
    if params_b is None or bits is None:
        return None
    return int(params_b * 1e9 * bits / 8)


def _estimated_status(params_b: float | None) -> str | None:
    return "estimated" if params_b is not None else None


def _variant_rows(model: Model) -> list[dict[str, Any]]:
    params_b = implied_params_b(model)
    if model.hosted is not None and not model.artifacts:
        offers = model.hosted.offers
        return [
            {
                "format": "hosted",
                "quant": None,
                "publisher": model.hosted.provider,
                "publisher_country": model.hosted.provider_country,
                "official": True,
                "size_bytes": None,
                "size_status": None,
                "sha256": None,
                "projector_file": None,
                "projector_bytes": None,
                "files": [],
                "weights_bytes": None,
                "certifications": sorted({c for o in offers for c in o.certifications}),
            }
        ]
    rows = [
        {
            "format": a.format,
            "quant": normalise_quant(a.quant),
            "publisher": a.publisher,
            "publisher_country": a.publisher_country,
            "official": a.official,
            "size_bytes": a.size_bytes,
            "size_status": a.size_status if a.size_bytes else _estimated_status(params_b),
            "sha256": a.sha256,
            "projector_file": a.projector_file,
            "projector_bytes": a.projector_bytes,
            "files": list(a.files),
            "weights_bytes": a.size_bytes or _estimated_bytes(params_b, normalise_quant(a.quant)),
            "certifications": [],
        }
        for a in model.artifacts
        if a.format == "gguf"
    ]
    if rows or model.total_params_b is None:
        return rows
    return [
        {
            "format": "gguf",
            "quant": quant,
            "publisher": None,
            "publisher_country": None,
            "official": False,
            "size_bytes": None,
            "size_status": "estimated",
            "sha256": None,
            "projector_file": None,
            "projector_bytes": None,
            "files": [],
            "certifications": [],
            "weights_bytes": int(model.total_params_b * 1e9 * BITS_PER_WEIGHT[quant] / 8),
        }
        for quant in ESTIMATED_QUANTS
    ]


_SCHEMA = {
    "release_date": pl.Date,
    "size_bytes": pl.Int64,
    "projector_bytes": pl.Int64,
    "weights_bytes": pl.Int64,
    "total_params_b": pl.Float64,
    "active_params_b": pl.Float64,
    "context_length": pl.Int64,
    "official": pl.Boolean,
    **{name: pl.Int64 for name in _ARCH},
}
_STRINGS = (
    "base_model",
    "repo",
    "parent_country",
    "openness_level",
    "quant",
    "publisher",
    "publisher_country",
    "size_status",
    "sha256",
    "projector_file",
)


def variants_frame(catalog: Catalog) -> pl.DataFrame:
    """One row per variant; models without any variant (no params, no files) get one empty row."""
    records: list[dict[str, Any]] = []
    for model in catalog.models.values():
        base = _model_columns(model, catalog)
        variants = _variant_rows(model) or [{"format": None, "weights_bytes": None}]
        records.extend({**base, **variant} for variant in variants)
    schema = {**_SCHEMA, **{name: pl.String for name in _STRINGS}}
    frame = pl.from_dicts(records, schema_overrides=schema, infer_schema_length=None)
    openness_rank = {level: i for i, level in enumerate(OPENNESS_LADDER)}
    return frame.with_columns(
        pl.col("openness_level")
        .replace_strict(openness_rank, default=-1, return_dtype=pl.Int8)
        .alias("openness_rank"),
        pl.col("format").eq("hosted").fill_null(False).alias("hosted"),
    )
