"""Licence rules over every licence that binds a model, judged against the organisation.

Each rule looks at one clause of each binding licence (own or inherited, see `catalog.terms`)
and yields an outcome: `fail` (the clause excludes this organisation), `unknown` (the catalog
does not know the clause, so compliance is not established) or `caveat` (admitted, with
something the approver must know, such as reliance on a government carve-out). Every outcome
names the licence, the model in the chain it comes through, and the URL of the clause.

The organisation's duties under each admitted licence (`obligations`) come from the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from modelvet.engine.profile import Organisation
from modelvet.engine.security import ResolvedSecurity

# fmt: off
EU_MEMBERS = frozenset({
    "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
    "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
})
# fmt: on

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

OUTCOME_SCHEMA = {
    "model_id": pl.String,
    "rule": pl.String,
    "status": pl.String,
    "detail": pl.String,
    "licence": pl.String,
    "clause_url": pl.String,
}
OBLIGATION_SCHEMA = {
    "model_id": pl.String,
    "licence": pl.String,
    "licence_name": pl.String,
    "inherited": pl.Boolean,
    "duty": pl.String,
    "clause_url": pl.String,
}


@dataclass(frozen=True)
class Outcome:
    """Rows of the terms frame where `when` holds get `status` and `detail` for `rule`."""

    rule: str
    status: str
    when: pl.Expr
    detail: pl.Expr
    clause: str


def _licence() -> pl.Expr:
    """The licence's name and, for an inherited one, the chain it comes through."""
    return pl.format("{}{}", pl.col("license_name"), pl.col("via"))


def _not_established(what: str) -> pl.Expr:
    """The clause's URL travels beside the detail (`clause_url`), so the reader can check it."""
    return pl.format("{}: " + what + " is not established in the catalog", _licence())


def _binding() -> pl.Expr:
    return pl.col("reach") == "all"


def _money(value: float) -> str:
    return f"US${value:,.0f}"


def _commercial(security: ResolvedSecurity) -> list[Outcome]:
    if not security.require_commercial_use:
        return []
    return [
        Outcome(
            "commercial-use",
            "fail",
            pl.col("commercial_use") == "no",
            pl.format("{} does not permit commercial use", _licence()),
            "commercial_use",
        ),
        Outcome(
            "commercial-use",
            "unknown",
            pl.col("commercial_use").is_null(),
            _not_established("whether it permits commercial use"),
            "commercial_use",
        ),
    ]


def _user_figure(org: Organisation) -> tuple[pl.Expr, pl.Expr]:
    """(figure, words) for each row: the user count its licence's test names."""
    deployment = org.expected_monthly_users
    if org.monthly_active_users is not None:
        organisation = org.monthly_active_users
        org_words = f"you state {organisation:,} monthly active users across your organisation"
    else:
        organisation = deployment
        org_words = (
            f"your profile gives no monthly_active_users, so this deployment's {deployment:,} "
            "expected users stand in (the organisation has at least those)"
        )
    per_product = pl.col("user_cap_basis") == "product"
    figure = pl.when(per_product).then(pl.lit(deployment)).otherwise(pl.lit(organisation))
    words = (
        pl.when(per_product)
        .then(pl.lit(f"this deployment expects {deployment:,} monthly users"))
        .otherwise(pl.lit(org_words))
    )
    return figure, words


_CAP_BASIS = {
    "organisation-at-release": "counted across the licensee and its affiliates on the "
    "version's release date",
    "licensee-at-release": "counted for the licensee alone on the version's release date",
    "product": "counted for the product or service",
}


def _user_cap(org: Organisation) -> list[Outcome]:
    figure, words = _user_figure(org)
    test = pl.coalesce(
        pl.format("“{}”", pl.col("user_cap_test")),
        pl.col("user_cap_basis").replace_strict(_CAP_BASIS, default="its test"),
    )
    released = pl.when(pl.col("user_cap_basis").str.ends_with("at-release")).then(
        pl.format(" (release date {})", pl.col("carrier_release_date").cast(pl.String))
    )
    return [
        Outcome(
            "user-cap",
            "fail",
            _binding() & (pl.col("user_cap") < figure),
            pl.format(
                "{} grants nothing above {} monthly active users: {}{}; {}",
                _licence(),
                pl.col("user_cap_text"),
                test,
                released.fill_null(""),
                words,
            ),
            "monthly_user_cap",
        ),
        Outcome(
            "user-cap",
            "unknown",
            _binding() & ~pl.col("user_cap_known"),
            _not_established("whether it caps monthly active users"),
            "monthly_user_cap",
        ),
    ]


def _revenue_cap(org: Organisation) -> list[Outcome]:
    revenue = org.monthly_revenue_usd
    capped = _binding() & pl.col("revenue_cap").is_not_null()
    test = pl.coalesce(pl.format("“{}”", pl.col("revenue_cap_test")), pl.lit("its test"))
    ceiling = pl.format(
        "{} grants nothing above US${} global consolidated monthly revenue: {}",
        _licence(),
        pl.col("revenue_cap_text"),
        test,
    )
    outcomes = [
        Outcome(
            "revenue-cap",
            "unknown",
            _binding() & ~pl.col("revenue_cap_known"),
            _not_established("whether it sets a revenue ceiling"),
            "revenue_cap_usd",
        )
    ]
    if revenue is None:
        outcomes.append(
            Outcome(
                "revenue-cap",
                "unknown",
                capped,
                pl.format("{}; your profile does not state monthly_revenue_usd", ceiling),
                "revenue_cap_usd",
            )
        )
    else:
        outcomes.append(
            Outcome(
                "revenue-cap",
                "fail",
                capped & (pl.col("revenue_cap") < revenue),
                pl.format("{}; you state {}", ceiling, pl.lit(_money(revenue))),
                "revenue_cap_usd",
            )
        )
    return outcomes


def carveout_reaches(org: Organisation) -> pl.Expr:
    """The licence's government carve-out (data in licenses.toml) covers this organisation."""
    return pl.col("carveout_countries").list.contains(org.country) & pl.col(
        "carveout_sectors"
    ).list.contains(org.sector)


def _field_of_use(org: Organisation, security: ResolvedSecurity) -> list[Outcome]:
    words = SECTOR_BANS.get(org.sector, ())
    if not security.forbid_field_of_use_restrictions or not words:
        return []
    pattern = "(?i)" + "|".join(w.replace(" ", r"\s") for w in words)
    relevant = pl.col("field_of_use_bans").list.eval(
        pl.element().filter(pl.element().str.contains(pattern))
    )
    banned = _binding() & (relevant.list.len() > 0)
    reached = carveout_reaches(org)
    kind = pl.when(pl.col("carveout_amends")).then(pl.lit("an amendment of the licence"))
    return [
        Outcome(
            "field-of-use",
            "fail",
            banned & ~reached,
            pl.format(
                "{} bans use for {}, which your sector ({}) needs{}",
                _licence(),
                relevant.list.join(", "),
                pl.lit(org.sector),
                pl.when(pl.col("carveout_statement").is_not_null())
                .then(pl.lit("; its government carve-out does not reach your country and sector"))
                .otherwise(pl.lit("")),
            ),
            "field_of_use_bans",
        ),
        Outcome(
            "field-of-use",
            "caveat",
            banned & reached,
            pl.format(
                "{} bans use for {}; you rely on a government carve-out for {} in {}: {} ({}; {})",
                _licence(),
                relevant.list.join(", "),
                pl.col("carveout_sectors").list.join("/"),
                pl.col("carveout_countries").list.join(", "),
                pl.col("carveout_statement"),
                pl.col("carveout_date").cast(pl.String).fill_null("undated"),
                kind.otherwise(pl.lit("a statement, not an amendment of the licence")),
            ),
            "government_carveout",
        ),
        Outcome(
            "field-of-use",
            "unknown",
            _binding() & pl.col("field_of_use_bans").is_null(),
            _not_established(f"what use it bans (a ban on {org.sector} work cannot be ruled out)"),
            "field_of_use_bans",
        ),
    ]


def _places(codes: list[str]) -> list[str]:
    codes = list(dict.fromkeys(codes))
    return codes + (["EU"] if any(c in EU_MEMBERS for c in codes) else [])


def _region(org: Organisation) -> list[Outcome]:
    domicile = _places([org.country])
    use = _places([org.country, *org.user_countries])
    by_domicile = pl.col("excluded_regions_scope") == "licensee"
    places = (
        pl.when(by_domicile)
        .then(pl.lit(domicile, dtype=pl.List(pl.String)))
        .otherwise(pl.lit(use, dtype=pl.List(pl.String)))
    )
    hit = pl.col("excluded_regions").list.set_intersection(places)
    multimodal = pl.col("modalities").list.eval(pl.element() != "text").list.any()
    applies = ~pl.col("excluded_regions_multimodal_only") | multimodal
    scope = pl.when(pl.col("excluded_regions_multimodal_only")).then(
        pl.lit(" for its multimodal models")
    )
    users = ", ".join(org.user_countries) or "not stated"
    where = (
        pl.when(by_domicile)
        .then(pl.lit(f"to organisations domiciled in {org.country}"))
        .otherwise(
            pl.lit(
                f"where the model or its outputs are used (your organisation: {org.country}; "
                f"your users: {users})"
            )
        )
    )
    return [
        Outcome(
            "licence-region",
            "fail",
            _binding() & (hit.list.len() > 0) & applies,
            pl.format(
                "{} grants no rights{} {} (excluded: {})",
                _licence(),
                scope.otherwise(pl.lit("")),
                where,
                hit.list.join(", "),
            ),
            "excluded_regions",
        ),
        Outcome(
            "licence-region",
            "unknown",
            _binding() & pl.col("excluded_regions").is_null(),
            _not_established("where it grants no rights"),
            "excluded_regions",
        ),
    ]


def _osi(security: ResolvedSecurity) -> list[Outcome]:
    if not security.require_osi_license:
        return []
    return [
        Outcome(
            "osi-licence",
            "fail",
            _binding() & ~pl.col("osi_approved"),
            pl.format("{} is not an OSI-approved licence", _licence()),
            "osi_approved",
        ),
        Outcome(
            "osi-licence",
            "unknown",
            _binding() & pl.col("osi_approved").is_null(),
            _not_established("whether it is OSI-approved"),
            "osi_approved",
        ),
    ]


def _clause_url(clause: str) -> pl.Expr:
    if clause == "government_carveout":
        return pl.coalesce(pl.col("carveout_url"), pl.col("license_url"))
    return pl.col(f"url:{clause}")


def licence_outcomes(
    terms: pl.DataFrame, org: Organisation, security: ResolvedSecurity
) -> pl.DataFrame:
    """model_id, rule, status, detail, licence, clause_url: every non-passing outcome."""
    outcomes = [
        *_commercial(security),
        *_user_cap(org),
        *_revenue_cap(org),
        *_field_of_use(org, security),
        *_region(org),
        *_osi(security),
    ]
    frames = [
        terms.lazy()
        .filter(o.when.fill_null(False))
        .select(
            "model_id",
            pl.lit(o.rule).alias("rule"),
            pl.lit(o.status).alias("status"),
            o.detail.alias("detail"),
            pl.col("license_id").alias("licence"),
            _clause_url(o.clause).alias("clause_url"),
            pl.col("order"),
        )
        for o in outcomes
    ]
    if not frames:
        return pl.DataFrame(schema=OUTCOME_SCHEMA)
    return (
        pl.concat(frames)
        .sort("model_id", "order", maintain_order=True)
        .drop("order")
        .collect()
        .cast(OUTCOME_SCHEMA)  # type: ignore[arg-type]
    )
