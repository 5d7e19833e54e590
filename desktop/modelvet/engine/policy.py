"""Security rules on each variant: each a column expression yielding a reason, or null.

A rule's detail is written for a procurement officer: it names the fact, whose fact it is, and
the profile setting it fails. Origin follows the whole chain built by `catalog.frame`
(developer, parent, base model of a fine-tune or distill, and the file's publisher).
Two kinds of column: `fail` (the fact excludes the variant) and `unknown` (the catalog lacks
the fact the rule needs; `[security] unknown_terms` decides). Licence clauses are judged over
every binding licence in `licence_rules`.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from modelvet.engine.catalog.frame import describe_links, link_country
from modelvet.engine.catalog.schema import OPENNESS_LADDER
from modelvet.engine.profile import Organisation
from modelvet.engine.security import ResolvedSecurity


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
    in_list = link_country(pl.element()).is_in(countries)
    hit = links.list.eval(pl.element().filter(in_list if blocked else ~in_list))
    described = describe_links(hit).list.join("; ")
    verb = "is in your blocked origins" if blocked else "is outside your allowed origins"
    return pl.when(hit.list.len() > 0).then(pl.format("{} " + verb, described))


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


def _openness_rule(security: ResolvedSecurity) -> pl.Expr:
    if security.min_openness is None:
        return pl.lit(None, dtype=pl.String)
    needed = OPENNESS_LADDER.index(security.min_openness)
    return (
        pl.when(pl.col("hosted"))
        .then(pl.lit("hosted-only: no weights are released"))
        .when(pl.col("openness_level").is_not_null() & (pl.col("openness_rank") < needed))
        .then(
            pl.format(
                "openness is {} on the Model Openness Framework ladder; you require {}",
                pl.col("openness_level"),
                pl.lit(security.min_openness),
            )
        )
    )


def _openness_unknown(security: ResolvedSecurity) -> pl.Expr:
    if security.min_openness is None:
        return pl.lit(None, dtype=pl.String)
    return pl.when(~pl.col("hosted") & pl.col("openness_level").is_null()).then(
        pl.lit(
            "openness is unknown: the catalog does not record which Model Openness Framework "
            f"components are released; you require {security.min_openness}"
        )
    )


def _hash_unknown(security: ResolvedSecurity) -> pl.Expr:
    """No publisher sha256 in the catalog: whether the publisher states one is not established."""
    if not security.require_published_hashes:
        return pl.lit(None, dtype=pl.String)
    return pl.when(pl.col("sha256").is_null() & ~pl.col("hosted")).then(
        pl.format(
            "{} {}: the catalog has no sha256 stated by the publisher for the file, so it "
            "cannot be verified on arrival",
            pl.col("quant").fill_null("file"),
            pl.col("publisher").fill_null("(no file listed)"),
        )
    )


def _publisher_origin_unknown(security: ResolvedSecurity) -> pl.Expr:
    if not (security.blocked_origins or security.allowed_origins):
        return pl.lit(None, dtype=pl.String)
    return pl.when(pl.col("publisher").is_not_null() & pl.col("publisher_country").is_null()).then(
        pl.format(
            "the country of the file's publisher {} is not in the catalog", pl.col("publisher")
        )
    )


def policy_columns(inputs: PolicyInput) -> dict[str, pl.Expr]:
    """Rule name → expression giving the failure detail (null when the rule passes)."""
    security = inputs.security
    rules: dict[str, pl.Expr] = {"deployment": _deployment_rule(security)}
    if security.blocked_origins:
        rules["origin"] = _origin_rule(security.blocked_origins, blocked=True)
    if security.allowed_origins:
        rules["allowed-origin"] = _origin_rule(security.allowed_origins, blocked=False)
    rules["openness"] = _openness_rule(security)
    return rules


def unknown_columns(inputs: PolicyInput) -> dict[str, pl.Expr]:
    """Rule name → expression naming the fact the catalog lacks (null when it is known)."""
    security = inputs.security
    return {
        "origin": _publisher_origin_unknown(security),
        "openness": _openness_unknown(security),
        "published-hash": _hash_unknown(security),
    }
