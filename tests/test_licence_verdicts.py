"""Licence verdicts for organisation × model pairs, each row naming the clause that decides it.

On the test catalog: terms inherited through a base model, unknown clauses under both
`unknown_terms` settings, revenue ceilings, user caps counted as each licence counts them,
carve-out reach, territory; and duties. Then properties over the bundled catalog.
"""

from __future__ import annotations

from typing import Any

import pytest

from modelvet.engine.profile import parse_profile
from modelvet.engine.rank.recommend import PreparedCatalog, recommend
from modelvet.engine.rank.result import Recommendation, RuleFailure

US_SMALL = {"country": "US", "sector": "commercial", "expected_monthly_users": 10}
OPEN = {"policy": "open"}
DEFENSE = {"policy": "open", "forbid_field_of_use_restrictions": True}
LICENCE_RULES = {"commercial-use", "user-cap", "revenue-cap", "field-of-use", "licence-region"}


def run(
    prepared: PreparedCatalog,
    organisation: dict[str, Any],
    security: dict[str, Any] | None = None,
) -> Recommendation:
    profile = parse_profile(
        {
            "organisation": organisation,
            "security": security or OPEN,
            "hardware": {"preset": "gpu24"},
            "capability": {"tasks": ["general"], "context_tokens": 8192},
        }
    )
    return recommend(profile, prepared=prepared)


def verdict(result: Recommendation, model_id: str) -> tuple[str, list[RuleFailure]]:
    """('admitted', caveats) or ('excluded', reasons)."""
    for item in result.recommended:
        if item.model_id == model_id:
            return "admitted", item.caveats
    for excluded in result.excluded:
        if excluded.model_id == model_id:
            return "excluded", excluded.reasons
    raise AssertionError(f"{model_id} is in neither list")


def org(**changes: Any) -> dict[str, Any]:
    return {**US_SMALL, **changes}


# (organisation, security, model, expected verdict, deciding rule, status, licence, words)
# fmt: off
ROWS = [
    # Terms follow lineage: a permissively licensed fine-tune of a Community model carries the
    # Community user cap, counted across the organisation on the release date.
    (org(monthly_active_users=900_000_000), OPEN, "community-ft-8b", "excluded",
     "user-cap", "fail", "community", "Community FT 8B is a fine-tune of Community 70B"),
    (org(monthly_active_users=900_000_000), OPEN, "dense-8b", "admitted", None, None, None, ""),
    # Without monthly_active_users, the deployment's users stand in, and the reason says so.
    (org(expected_monthly_users=5000), OPEN, "community-ft-8b", "excluded",
     "user-cap", "fail", "community", "expected users stand in"),
    (org(expected_monthly_users=5000, monthly_active_users=900), OPEN, "community-ft-8b",
     "admitted", None, None, None, ""),
    # A per-product cap counts this deployment's users, not the whole organisation's.
    (org(monthly_active_users=900_000_000, expected_monthly_users=50_000_000), OPEN,
     "product-7b", "admitted", None, None, None, ""),
    (org(monthly_active_users=1000, expected_monthly_users=200_000_000), OPEN,
     "product-7b", "excluded", "user-cap", "fail", "per-product", "your product or service"),
    # Field-of-use bans pass to derivatives too.
    (org(country="FR", sector="defense"), DEFENSE, "community-ft-8b", "excluded",
     "field-of-use", "fail", "community", "bans use for military"),
    # Unknown terms are not "none": excluded by default, admitted with a caveat under "warn".
    (org(sector="defense"), DEFENSE, "unread-7b", "excluded",
     "field-of-use", "unknown", "unread", "what use it bans"),
    (org(sector="defense"), {**DEFENSE, "unknown_terms": "warn"}, "unread-7b", "admitted",
     "field-of-use", "unknown", "unread", "what use it bans"),
    (org(), OPEN, "unread-7b", "excluded", "user-cap", "unknown", "unread",
     "whether it caps monthly active users"),
    (org(), {**OPEN, "unknown_terms": "warn"}, "unread-7b", "admitted",
     "licence-region", "unknown", "unread", "where it grants no rights"),
    # Revenue ceilings: above excluded, below admitted, unstated not established.
    (org(monthly_revenue_usd=50_000_000), OPEN, "revenue-24b", "excluded",
     "revenue-cap", "fail", "revenue-capped", "you state US$50,000,000"),
    (org(monthly_revenue_usd=5_000_000), OPEN, "revenue-24b", "admitted", None, None, None, ""),
    (org(), OPEN, "revenue-24b", "excluded", "revenue-cap", "unknown", "revenue-capped",
     "does not state monthly_revenue_usd"),
    (org(), {**OPEN, "unknown_terms": "warn"}, "revenue-24b", "admitted",
     "revenue-cap", "unknown", "revenue-capped", "does not state monthly_revenue_usd"),
    # Carve-outs reach the countries and sectors their record names, with a caveat.
    (org(sector="defense"), DEFENSE, "swa-27b", "admitted",
     "field-of-use", "caveat", "carveout", "a statement, not an amendment"),
    (org(country="GB", sector="defense"), DEFENSE, "swa-27b", "admitted",
     "field-of-use", "caveat", "carveout", "carve-out for government/defense"),
    (org(country="GB", sector="government"), DEFENSE, "swa-27b", "admitted",
     "field-of-use", "caveat", "carveout", "bans use for military"),
    (org(country="FR", sector="defense"), DEFENSE, "swa-27b", "excluded",
     "field-of-use", "fail", "carveout", "does not reach your country and sector"),
    # Territory judged where the model is used: the organisation and its users' countries.
    (org(user_countries=["DE"]), OPEN, "territory-7b", "excluded",
     "licence-region", "fail", "territory", "excluded: EU"),
    (org(user_countries=["US", "CA"]), OPEN, "territory-7b", "admitted", None, None, None, ""),
    (org(country="GB"), OPEN, "territory-7b", "excluded",
     "licence-region", "fail", "territory", "excluded: GB"),
    # ... while a clause that binds the licensee's domicile ignores where the users are.
    (org(user_countries=["DE"]), OPEN, "mm-vision-11b", "admitted", None, None, None, ""),
    (org(country="DE"), OPEN, "mm-vision-11b", "excluded",
     "licence-region", "fail", "multimodal-eu", "domiciled in DE"),
    # A cap counted on the licensee at the release date names that date.
    (org(monthly_active_users=150_000_000), OPEN, "territory-7b", "excluded",
     "user-cap", "fail", "territory", "release date 2025-06-27"),
]
# fmt: on


@pytest.mark.parametrize(
    ("organisation", "security", "model_id", "expected", "rule", "status", "licence", "words"),
    ROWS,
)
def test_verdict_names_the_deciding_clause(
    prepared_test_catalog, organisation, security, model_id, expected, rule, status, licence, words
) -> None:
    outcome, reasons = verdict(run(prepared_test_catalog, organisation, security), model_id)
    assert outcome == expected, reasons
    if rule is None:
        assert not [r for r in reasons if r.status != "caveat"], reasons
        return
    deciding = [r for r in reasons if r.rule == rule and r.status == status]
    assert deciding, reasons
    reason = deciding[0]
    assert reason.licence == licence
    assert words in reason.detail, reason.detail
    assert reason.clause_url and reason.clause_url.startswith("https://")


def test_inherited_licences_are_listed_own_first(prepared_test_catalog) -> None:
    result = run(prepared_test_catalog, org())
    items = {m.model_id: m for m in result.recommended}
    assert items["community-ft-8b"].licenses == ["open", "community"]
    assert items["dense-8b"].licenses == ["open"]
    # A base under the same licence adds nothing twice.
    assert items["distill-8b"].licenses == ["open"]
    assert any("also bound by" in r and "community" in r for r in items["community-ft-8b"].reasons)


def test_an_ancestor_licence_of_unknown_reach_is_applied_and_said_so(prepared_test_catalog) -> None:
    outcome, reasons = verdict(run(prepared_test_catalog, org()), "unread-ft-3b")
    assert outcome == "excluded"
    inherited = [r for r in reasons if r.licence == "unread"]
    assert inherited and all(r.status == "unknown" for r in inherited)
    assert "whether its terms reach derivatives is not established" in inherited[0].detail
    assert "Unread FT 3B is a merge of Unread 7B" in inherited[0].detail


def test_clause_url_is_the_clause_source_where_the_catalog_names_one(
    prepared_test_catalog,
) -> None:
    result = run(prepared_test_catalog, org(country="FR", sector="defense"), DEFENSE)
    _, reasons = verdict(result, "community-ft-8b")
    ban = next(r for r in reasons if r.rule == "field-of-use")
    assert ban.clause_url == "https://example.org/community/aup"


def duties(result: Recommendation, model_id: str) -> list[str]:
    item = next(m for m in result.recommended if m.model_id == model_id)
    return [o.duty for o in item.obligations]


def test_inherited_duties_name_their_licence(prepared_test_catalog) -> None:
    item = next(
        m for m in run(prepared_test_catalog, org()).recommended if m.model_id == "community-ft-8b"
    )
    by_licence = {(o.licence, o.duty.split(" ")[0]) for o in item.obligations}
    assert ("community", "Display") in by_licence
    assert ("open", "keep") in by_licence
    naming = [o for o in item.obligations if "start their name" in o.duty]
    assert naming and naming[0].inherited and naming[0].licence == "community"


@pytest.mark.parametrize(
    ("organisation", "applies", "note"),
    [
        (org(monthly_active_users=200_000_000, monthly_revenue_usd=1), True, "reaches"),
        (org(monthly_active_users=10, monthly_revenue_usd=30_000_000), True, "reaches"),
        (org(monthly_active_users=10, monthly_revenue_usd=1_000_000), False, ""),
        (org(monthly_active_users=10), True, "applies if your revenue"),
    ],
)
def test_display_duty_follows_its_size_trigger(
    prepared_test_catalog, organisation, applies, note
) -> None:
    display = [
        d for d in duties(run(prepared_test_catalog, organisation), "display-7b") if "Trigger" in d
    ]
    assert bool(display) is applies
    if applies:
        assert note in display[0]


PROFILES = [
    (org(), OPEN),
    (org(sector="defense"), {"policy": "strict"}),
    (org(country="DE", sector="government", monthly_active_users=10**9), DEFENSE),
    (org(monthly_revenue_usd=10**9, user_countries=["KR"]), {**OPEN, "unknown_terms": "warn"}),
]


@pytest.mark.parametrize(("organisation", "security"), PROFILES)
def test_every_licence_reason_and_duty_names_its_licence_and_clause(
    prepared_test_catalog, organisation, security
) -> None:
    result = run(prepared_test_catalog, organisation, security)
    licences = prepared_test_catalog.catalog.licenses
    reasons = [r for e in result.excluded for r in e.reasons]
    reasons += [c for m in result.recommended for c in m.caveats if c.licence]
    licence_reasons = [r for r in reasons if r.rule in LICENCE_RULES]
    assert licence_reasons
    for reason in licence_reasons:
        assert reason.licence in licences, reason
        assert licences[reason.licence].name in reason.detail
        assert reason.clause_url and reason.clause_url.startswith("https://")
    for item in result.recommended:
        for duty in item.obligations:
            assert duty.licence in licences and duty.clause_url.startswith("https://")
            assert licences[duty.licence].name in duty.licence_name


# --- the bundled catalog: the verdicts the issue names, derived from its own records --------


@pytest.fixture(scope="module")
def bundled_prepared() -> PreparedCatalog:
    from modelvet.engine.catalog import bundled_catalog
    from modelvet.engine.rank.recommend import prepare

    return prepare(bundled_catalog())


def bundled_run(prepared: PreparedCatalog, organisation: dict, security: dict) -> Recommendation:
    profile = parse_profile(
        {
            "organisation": organisation,
            "security": security,
            "hardware": {"preset": "h200-8x"},  # big enough that fit decides nothing
            "capability": {"tasks": ["general"], "context_tokens": 4096, "min_tokens_per_s": 0},
        }
    )
    return recommend(profile, prepared=prepared)


def test_a_900_million_user_app_gets_no_model_bound_by_llama_terms(bundled_prepared) -> None:
    result = bundled_run(
        bundled_prepared,
        {"country": "US", "sector": "commercial", "monthly_active_users": 900_000_000},
        {"deployment": "on-prem", "unknown_terms": "warn"},
    )
    llama_bound = [
        m.model_id for m in result.recommended if any(lic.startswith("llama") for lic in m.licenses)
    ]
    assert llama_bound == []
    excluded = {e.model_id: e for e in result.excluded}
    # Derivatives under another licence of their own are caught through their base model.
    catalog = bundled_prepared.catalog
    derived = [
        m.id
        for m in catalog.models.values()
        if not m.license.startswith("llama")
        and m.base_model
        and catalog.models[m.base_model].license.startswith("llama")
    ]
    assert derived
    for model_id in derived:
        cap = [r for r in excluded[model_id].reasons if r.rule == "user-cap"]
        assert cap and cap[0].licence.startswith("llama") and "inherited" in cap[0].detail


def test_a_company_above_a_revenue_ceiling_gets_no_model_of_that_licence(
    bundled_prepared,
) -> None:
    catalog = bundled_prepared.catalog
    ceilings = {
        lic.id: lic.revenue_cap_usd
        for lic in catalog.licenses.values()
        if isinstance(lic.revenue_cap_usd, int)
    }
    assert ceilings
    revenue = max(ceilings.values()) * 2
    result = bundled_run(
        bundled_prepared,
        {"country": "US", "sector": "commercial", "monthly_revenue_usd": revenue},
        {"deployment": "on-prem", "unknown_terms": "warn"},
    )
    offered = [m.model_id for m in result.recommended if set(m.licenses) & set(ceilings)]
    assert offered == []


@pytest.mark.parametrize("unknown_terms", ["exclude", "warn"])
def test_forbidding_field_of_use_bans_excludes_unread_use_terms_unless_warned(
    bundled_prepared, unknown_terms
) -> None:
    result = bundled_run(
        bundled_prepared,
        {"country": "FR", "sector": "defense"},
        {
            "deployment": "on-prem",
            "forbid_field_of_use_restrictions": True,
            "unknown_terms": unknown_terms,
        },
    )
    unread = {
        i for i, lic in bundled_prepared.catalog.licenses.items() if lic.field_of_use_bans is None
    }
    assert unread
    offered = [m for m in result.recommended if set(m.licenses) & unread]
    if unknown_terms == "exclude":
        assert offered == []
    else:
        assert offered
        for item in offered:
            assert any(c.rule == "field-of-use" and c.status == "unknown" for c in item.caveats)


def test_a_uk_defence_ministry_is_treated_as_the_carveout_record_says(bundled_prepared) -> None:
    catalog = bundled_prepared.catalog
    reaching = {
        i
        for i, lic in catalog.licenses.items()
        if lic.government_carveout
        and "GB" in lic.government_carveout.countries
        and "defense" in lic.government_carveout.sectors
    }
    assert reaching
    security = {
        "deployment": "on-prem",
        "forbid_field_of_use_restrictions": True,
        "unknown_terms": "warn",
    }
    uk = bundled_run(bundled_prepared, {"country": "GB", "sector": "defense"}, security)
    fr = bundled_run(bundled_prepared, {"country": "FR", "sector": "defense"}, security)
    uk_ids = {m.model_id for m in uk.recommended if set(m.licenses) & reaching}
    fr_ids = {m.model_id for m in fr.recommended if set(m.licenses) & reaching}
    assert uk_ids and not fr_ids
    for item in uk.recommended:
        if item.model_id in uk_ids:
            caveat = [c for c in item.caveats if c.rule == "field-of-use" and c.status == "caveat"]
            assert caveat and "not an amendment" in caveat[0].detail
