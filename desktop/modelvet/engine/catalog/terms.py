"""The licences that bind each model: its own, and those it inherits through its base models.

A fine-tune, distill or merge is bound by its own licence and by every ancestor licence whose
terms reach derivatives (`derivative_terms = "all"`); where an ancestor licence passes on only
its notice duties (`"notice"`, Apache-2.0, MIT) those duties still bind. Where the catalog does
not know how far a licence reaches derivatives, it is treated as binding them, and said so.

The result is a polars frame with one row per (model, binding licence), every clause a column,
so the licence rules downstream are column expressions over the whole set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

from modelvet.engine.catalog.loader import Catalog
from modelvet.engine.catalog.schema import LICENSE_CLAUSES, NONE, License, Model


@dataclass(frozen=True)
class Binding:
    """One licence that binds a model, and the link of the chain it comes through."""

    licence: License
    carrier: Model  # the model whose own licence this is (the model itself, or an ancestor)
    lineage_path: str  # "" for the model's own licence, else "fine-tune of X, distill of Y"
    reach: str  # "all" or "notice": how much of it binds the model


def ancestors(model: Model, catalog: Catalog) -> list[tuple[Model, str]]:
    """Each base model in turn, nearest first, with the path of lineage that leads to it."""
    chain: list[tuple[Model, str]] = []
    seen = {model.id}
    current, path = model, ""
    while current.base_model and current.base_model in catalog.models:
        base = catalog.models[current.base_model]
        if base.id in seen:
            break
        step = f"{current.lineage} of {base.name}"
        path = f"{path}, {step}" if path else step
        chain.append((base, path))
        seen.add(base.id)
        current = base
    return chain


def bindings(model: Model, catalog: Catalog) -> list[Binding]:
    """The model's own licence first, then each distinct inherited licence, nearest first."""
    found = [Binding(catalog.licenses[model.license], model, "", "all")]
    for base, path in ancestors(model, catalog):
        licence = catalog.licenses[base.license]
        if any(b.licence.id == licence.id for b in found):
            continue
        reach = licence.derivative_terms
        if reach == "none":
            continue
        found.append(Binding(licence, base, path, "notice" if reach == "notice" else "all"))
    return found


def _threshold(value: int | str | None) -> tuple[int | None, bool]:
    """(cap, known): 'none' is a known absence; None is unknown."""
    if value is None:
        return None, False
    if value == NONE:
        return None, True
    return int(value), True


def _via(model: Model, binding: Binding) -> str:
    """' (inherited: X is a fine-tune of Y, whose licence this is)' for an inherited licence."""
    if binding.carrier.id == model.id:
        return ""
    steps = binding.lineage_path.replace(", ", ", a ")
    unknown = (
        "; whether its terms reach derivatives is not established, so they are applied"
        if binding.licence.derivative_terms is None
        else ""
    )
    return f" (inherited: {model.name} is a {steps}, whose licence this is{unknown})"


def _row(model: Model, binding: Binding) -> dict[str, Any]:
    lic, carrier = binding.licence, binding.carrier
    user_cap, user_cap_known = _threshold(lic.monthly_user_cap)
    revenue_cap, revenue_cap_known = _threshold(lic.revenue_cap_usd)
    carveout = lic.government_carveout
    trigger = lic.display_trigger
    inherited = carrier.id != model.id
    return {
        "model_id": model.id,
        "license_id": lic.id,
        "license_name": lic.name,
        "license_url": lic.url,
        "inherited": inherited,
        "reach": binding.reach,
        "via": _via(model, binding),
        "carrier_release_date": carrier.release_date,
        "modalities": list(model.modalities),
        "osi_approved": lic.osi_approved,
        "commercial_use": lic.commercial_use,
        "user_cap": user_cap,
        "user_cap_known": user_cap_known,
        "user_cap_text": f"{user_cap:,}" if user_cap is not None else None,
        "user_cap_basis": lic.monthly_user_cap_basis,
        "user_cap_test": lic.monthly_user_cap_test,
        "revenue_cap": revenue_cap,
        "revenue_cap_known": revenue_cap_known,
        "revenue_cap_text": f"{revenue_cap:,}" if revenue_cap is not None else None,
        "revenue_cap_test": lic.revenue_cap_test,
        "attribution_required": lic.attribution_required,
        "display_requirement": lic.display_requirement,
        "display_trigger_users": trigger.monthly_active_users if trigger else None,
        "display_trigger_monthly_revenue": trigger.monthly_revenue_usd if trigger else None,
        "display_trigger_annual_revenue": trigger.annual_revenue_usd if trigger else None,
        "derivative_naming": lic.derivative_naming,
        "use_policy_pass_on": lic.use_policy_pass_on,
        "field_of_use_bans": lic.field_of_use_bans,
        "carveout_statement": carveout.statement if carveout else None,
        "carveout_countries": carveout.countries if carveout else [],
        "carveout_sectors": list(carveout.sectors) if carveout else [],
        "carveout_date": carveout.date if carveout else None,
        "carveout_amends": carveout.amends_licence if carveout else None,
        "carveout_url": carveout.source if carveout else None,
        "excluded_regions": lic.excluded_regions,
        "excluded_regions_multimodal_only": lic.excluded_regions_multimodal_only,
        "excluded_regions_scope": lic.excluded_regions_scope,
        "remote_restriction": lic.remote_restriction,
        "aup_unilaterally_updatable": lic.aup_unilaterally_updatable,
        "outputs_are_derivatives": lic.outputs_are_derivatives,
        **{f"url:{clause}": lic.clause_url(clause) for clause in LICENSE_CLAUSES},
    }


_SCHEMA: dict[str, Any] = {
    "osi_approved": pl.Boolean,
    "commercial_use": pl.String,
    "user_cap": pl.Int64,
    "user_cap_basis": pl.String,
    "user_cap_text": pl.String,
    "revenue_cap_text": pl.String,
    "user_cap_test": pl.String,
    "revenue_cap": pl.Int64,
    "revenue_cap_test": pl.String,
    "attribution_required": pl.Boolean,
    "display_requirement": pl.String,
    "display_trigger_users": pl.Int64,
    "display_trigger_monthly_revenue": pl.Int64,
    "display_trigger_annual_revenue": pl.Int64,
    "derivative_naming": pl.String,
    "use_policy_pass_on": pl.Boolean,
    "field_of_use_bans": pl.List(pl.String),
    "carveout_statement": pl.String,
    "carveout_countries": pl.List(pl.String),
    "carveout_sectors": pl.List(pl.String),
    "carveout_date": pl.Date,
    "carveout_amends": pl.Boolean,
    "carveout_url": pl.String,
    "excluded_regions": pl.List(pl.String),
    "excluded_regions_scope": pl.String,
    "remote_restriction": pl.Boolean,
    "aup_unilaterally_updatable": pl.Boolean,
    "outputs_are_derivatives": pl.Boolean,
    "carrier_release_date": pl.Date,
}


def terms_frame(catalog: Catalog) -> pl.DataFrame:
    """One row per (model, binding licence), the model's own licence first (`order` 0)."""
    records = [
        {**_row(model, binding), "order": order}
        for model in catalog.models.values()
        for order, binding in enumerate(bindings(model, catalog))
    ]
    return pl.from_dicts(records, schema_overrides=_SCHEMA, infer_schema_length=None)
