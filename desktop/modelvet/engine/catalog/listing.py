"""The catalog as rows for `catalog list`, filters over them, and the coverage summary."""

from __future__ import annotations

from typing import Any

from modelvet.engine.catalog.loader import Catalog
from modelvet.engine.catalog.schema import Model

# The facts whose coverage the summary reports, and how to tell each is known.
COVERAGE_FACTS: dict[str, Any] = {
    "developer_country": lambda m, c: c.developers[m.developer].country is not None,
    "license": lambda m, c: m.license is not None,
    "release_date": lambda m, c: m.release_date is not None,
    "total_params_b": lambda m, c: m.total_params_b is not None,
    "active_params_b": lambda m, c: m.active_params_b is not None,
    "context_length": lambda m, c: m.context_length is not None,
    "architecture": lambda m, c: m.architecture is not None and m.architecture.layers is not None,
    "kv_heads": lambda m, c: m.architecture is not None and m.architecture.kv_heads is not None,
    "openness": lambda m, c: m.openness is not None,
    "benchmarks": lambda m, c: bool(m.benchmarks),
    "gguf_artifacts": lambda m, c: any(a.format == "gguf" for a in m.artifacts),
    "artifact_sha256": lambda m, c: any(a.sha256 for a in m.artifacts),
}


def model_row(model: Model, catalog: Catalog) -> dict[str, Any]:
    """One model as `catalog list --json` prints it (the DESIGN.md contract, extended)."""
    developer = catalog.developers[model.developer]
    license_ = catalog.licenses[model.license]
    arch = model.architecture
    sources = sorted(
        {*model.sources.values(), *(b.source for b in model.benchmarks)}
        | ({arch.source} if arch else set())
        | ({model.openness.source} if model.openness else set())
    )
    return {
        "model_id": model.id,
        "name": model.name,
        "family": catalog.families[model.id].removesuffix(".toml"),
        "developer": developer.name,
        "developer_id": developer.id,
        "developer_country": developer.country,
        "parent_country": developer.parent_country,
        "license": license_.id,
        "license_name": license_.name,
        "repo": model.repo,
        "release_date": model.release_date.isoformat() if model.release_date else None,
        "total_params_b": model.total_params_b,
        "active_params_b": model.active_params_b,
        "context_length": model.context_length,
        "layers": arch.layers if arch else None,
        "kv_heads": arch.kv_heads if arch else None,
        "head_dim": arch.head_dim if arch else None,
        "modalities": list(model.modalities),
        "base_model": model.base_model,
        "hosted_only": model.hosted is not None and not model.artifacts,
        "artifacts": [
            {
                "format": a.format,
                "quant": a.quant,
                "publisher": a.publisher,
                "size_bytes": a.size_bytes,
                "size_status": a.size_status,
                "sha256": a.sha256,
            }
            for a in model.artifacts
        ],
        "sources": sources,
    }


def _matches(row: dict[str, Any], filters: dict[str, Any]) -> bool:
    text_filters = {
        "developer": ("developer", "developer_id"),
        "license": ("license",),
        "country": ("developer_country",),
    }
    for key, columns in text_filters.items():
        wanted = filters.get(key)
        if wanted and not any(wanted.lower() in str(row[c] or "").lower() for c in columns):
            return False
    params = row["total_params_b"]
    if filters.get("min_params_b") is not None and (
        params is None or params < filters["min_params_b"]
    ):
        return False
    return not (
        filters.get("max_params_b") is not None
        and (params is None or params > filters["max_params_b"])
    )


def list_models(catalog: Catalog, **filters: Any) -> list[dict[str, Any]]:
    """Rows for every model that passes the filters, ordered by developer then name."""
    rows = [model_row(m, catalog) for m in catalog.models.values()]
    rows = [r for r in rows if _matches(r, filters)]
    return sorted(rows, key=lambda r: (r["developer"].lower(), r["name"].lower()))


def summary(catalog: Catalog) -> dict[str, Any]:
    """Version, counts and the share of models that have each fact."""
    models = list(catalog.models.values())
    countries = {catalog.developers[m.developer].country for m in models}
    total = len(models) or 1
    return {
        "catalog_version": catalog.version,
        "catalog_date": catalog.meta.catalog_date.isoformat() if catalog.meta else None,
        "models": len(models),
        "developers": len({m.developer for m in models}),
        "countries": sorted(countries),
        "licenses": len(catalog.licenses),
        "artifacts": sum(len(m.artifacts) for m in models),
        "hardware_presets": len(catalog.hardware),
        "policy_presets": len(catalog.policies),
        "coverage": {
            fact: round(sum(1 for m in models if known(m, catalog)) / total, 3)
            for fact, known in COVERAGE_FACTS.items()
        },
    }
