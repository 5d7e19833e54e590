"""Security and licence rules: each is a column expression yielding a reason to exclude, or null.

A rule's detail is written for a procurement officer: it names the fact, whose fact it is, and
the profile setting it fails. Origin follows the whole chain built by `catalog.frame`
(developer, parent, base model of a fine-tune or distill, and the file's publisher).
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from modelvet.engine.catalog.schema import OPENNESS_LADDER
from modelvet.engine.profile import Organisation
from modelvet.engine.security import ResolvedSecurity

EU_MEMBERS = frozenset(
    {
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
    }
)

# Which field-of-use bans matter to which sector (matched as words in the licence's ban list).
SECTOR_BANS: dict[str, tuple[str, ...]] = {
    "defense": (
        "military",
        "warfare",
        "weapon",
        "nuclear",
        "espionage",
        "itar",
        "munition",
        "critical-infrastructure",
        "critical infrastructure",
        "surveillance",
    ),
    "government": (
        "military",
        "warfare",
        "espionage",
        "surveillance",
        "law enforcement",
        "law-enforcement",
        "critical-infrastructure",
        "critical infrastructure",
        "government",
    ),
    "healthcare": ("medical", "health", "clinical", "diagnos"),
    "finance": ("financial", "credit", "automated decision", "automated-decision"),
    "education": ("education", "children", "minors"),
    "research": (),
    "commercial": (),
}
CARVEOUT_SECTORS = ("defense", "government")


def carveout_applies(org: Organisation) -> bool:
    """Government carve-outs recorded in the catalog (Meta's) cover US government and defense."""
    return org.sector in CARVEOUT_SECTORS and org.country == "US"


@dataclass(frozen=True)
class PolicyInput:
    organisation: Organisation
    security: ResolvedSecurity


def _origin_rule(countries: list[str], blocked: bool) -> pl.Expr:
    """Links of the origin chain whose country is (blocked) or is not (allowed) in `countries`."""
    links = pl.concat_list(
        pl.col("origin_links"),
        pl.when(pl.col("publisher_country").is_not_null() & pl.col("publisher").is_not_null())
        .then(
            pl.concat_list(
                pl.format("{}|file publisher {}|", pl.col("publisher_country"), pl.col("publisher"))
            )
        )
        .otherwise(pl.lit([], dtype=pl.List(pl.String))),
    )
    in_list = pl.element().str.slice(0, 2).is_in(countries)
    hit = links.list.eval(pl.element().filter(in_list if blocked else ~in_list))
    parts = pl.element().str.split("|")
    described = hit.list.eval(
        pl.format("{} ({}){}", parts.list.get(1), parts.list.get(0), parts.list.get(2))
    )
    verb = "is in your blocked origins" if blocked else "is outside your allowed origins"
    return pl.when(hit.list.len() > 0).then(pl.format("{} " + verb, described.list.join("; ")))


def _deployment_rule(security: ResolvedSecurity) -> pl.Expr:
    if security.deployment == "cloud-ok":
        return pl.lit(None, dtype=pl.String)
    return pl.when(pl.col("hosted")).then(
        pl.format(
            "hosted-only: {} offers no weights to run locally; your deployment is {}",
            pl.col("publisher"),
            pl.lit(security.deployment),
        )
    )


def _commercial_rule(security: ResolvedSecurity) -> pl.Expr:
    if not security.require_commercial_use:
        return pl.lit(None, dtype=pl.String)
    return (
        pl.when(pl.col("commercial_use") == "no")
        .then(pl.format("{} does not permit commercial use", pl.col("license_name")))
        .when(pl.col("commercial_use").is_null())
        .then(
            pl.format(
                "{}: commercial use is not established in the catalog", pl.col("license_name")
            )
        )
    )


def _user_cap_rule(org: Organisation) -> pl.Expr:
    return pl.when(pl.col("monthly_user_cap") < org.expected_monthly_users).then(
        pl.format(
            "{} needs a separate licence above {} monthly users; you expect {}",
            pl.col("license_name"),
            pl.col("monthly_user_cap"),
            pl.lit(org.expected_monthly_users),
        )
    )


def _field_of_use_rule(org: Organisation, security: ResolvedSecurity) -> pl.Expr:
    words = SECTOR_BANS.get(org.sector, ())
    if not security.forbid_field_of_use_restrictions or not words:
        return pl.lit(None, dtype=pl.String)
    pattern = "(?i)" + "|".join(w.replace(" ", r"\s") for w in words)
    relevant = pl.col("field_of_use_bans").list.eval(
        pl.element().filter(pl.element().str.contains(pattern))
    )
    failing = relevant.list.len() > 0
    if carveout_applies(org):
        failing = failing & pl.col("government_carveout").is_null()
    return pl.when(failing).then(
        pl.format(
            "{} bans use for {}, which your sector ({}) needs",
            pl.col("license_name"),
            relevant.list.join(", "),
            pl.lit(org.sector),
        )
    )


def _region_rule(org: Organisation) -> pl.Expr:
    regions = [org.country] + (["EU"] if org.country in EU_MEMBERS else [])
    hit = pl.col("excluded_regions").list.eval(pl.element().filter(pl.element().is_in(regions)))
    multimodal = pl.col("modalities").list.eval(pl.element() != "text").list.any()
    applies = ~pl.col("excluded_regions_multimodal_only") | multimodal
    scope = (
        pl.when(pl.col("excluded_regions_multimodal_only"))
        .then(pl.lit(" for its multimodal models"))
        .otherwise(pl.lit(""))
    )
    return pl.when((hit.list.len() > 0) & applies).then(
        pl.format(
            "{} grants no rights{} to organisations in {} (excluded: {})",
            pl.col("license_name"),
            scope,
            pl.lit(org.country),
            hit.list.join(", "),
        )
    )


def _osi_rule(security: ResolvedSecurity) -> pl.Expr:
    if not security.require_osi_license:
        return pl.lit(None, dtype=pl.String)
    return pl.when(~pl.col("osi_approved").fill_null(False)).then(
        pl.format("{} is not an OSI-approved licence", pl.col("license_name"))
    )


def _openness_rule(security: ResolvedSecurity) -> pl.Expr:
    if security.min_openness is None:
        return pl.lit(None, dtype=pl.String)
    needed = OPENNESS_LADDER.index(security.min_openness)
    return (
        pl.when(pl.col("hosted"))
        .then(pl.lit("hosted-only: no weights are released"))
        .when(pl.col("openness_rank") < needed)
        .then(
            pl.format(
                "openness is {} on the Model Openness Framework ladder; you require {}",
                pl.col("openness_level").fill_null("unknown"),
                pl.lit(security.min_openness),
            )
        )
    )


def _hash_rule(security: ResolvedSecurity) -> pl.Expr:
    if not security.require_published_hashes:
        return pl.lit(None, dtype=pl.String)
    return pl.when(pl.col("sha256").is_null() & ~pl.col("hosted")).then(
        pl.format(
            "{} {}: the publisher states no sha256 for the file",
            pl.col("quant").fill_null("file"),
            pl.col("publisher").fill_null("(no file listed)"),
        )
    )


def policy_columns(inputs: PolicyInput) -> dict[str, pl.Expr]:
    """Rule name → expression giving the failure detail (null when the rule passes)."""
    security, org = inputs.security, inputs.organisation
    rules: dict[str, pl.Expr] = {"deployment": _deployment_rule(security)}
    if security.blocked_origins:
        rules["origin"] = _origin_rule(security.blocked_origins, blocked=True)
    if security.allowed_origins:
        rules["allowed-origin"] = _origin_rule(security.allowed_origins, blocked=False)
    rules.update(
        {
            "commercial-use": _commercial_rule(security),
            "user-cap": _user_cap_rule(org),
            "field-of-use": _field_of_use_rule(org, security),
            "licence-region": _region_rule(org),
            "osi-licence": _osi_rule(security),
            "openness": _openness_rule(security),
            "published-hash": _hash_rule(security),
        }
    )
    return rules
