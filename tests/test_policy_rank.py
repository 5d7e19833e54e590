"""Policy rules, presets, lineage, and the ranked, explained result — on the test catalog."""

from __future__ import annotations

from typing import Any

import pytest

from modelvet.engine.errors import ModelVetError
from modelvet.engine.profile import parse_profile
from modelvet.engine.rank.recommend import PreparedCatalog, recommend
from modelvet.engine.rank.result import Recommendation

OPEN = {"policy": "open"}


def run(
    prepared: PreparedCatalog,
    security: dict[str, Any] | None = None,
    organisation: dict[str, Any] | None = None,
    hardware: str = "gpu24",
    capability: dict[str, Any] | None = None,
) -> Recommendation:
    profile = parse_profile(
        {
            "organisation": organisation
            or {"country": "US", "sector": "commercial", "expected_monthly_users": 100},
            "security": security or OPEN,
            "hardware": {"preset": hardware},
            "capability": capability or {"tasks": ["general"], "context_tokens": 8192},
        }
    )
    return recommend(profile, prepared=prepared)


def failures(result: Recommendation, model_id: str) -> dict[str, str]:
    for item in result.excluded:
        if item.model_id == model_id:
            return {r.rule: r.detail for r in item.reasons}
    return {}


def test_every_model_appears_exactly_once(prepared_test_catalog) -> None:
    result = run(prepared_test_catalog, {"policy": "strict"})
    ids = [m.model_id for m in result.recommended] + [m.model_id for m in result.excluded]
    assert sorted(ids) == sorted(prepared_test_catalog.catalog.models)


@pytest.mark.parametrize(
    ("security", "organisation", "model_id", "rule", "words"),
    [
        ({"blocked_origins": ["CN"]}, None, "moe-235b", "origin", "developer CN Dev Ltd. (CN)"),
        # Lineage: a US-made distill of a blocked model is blocked, and the reason says why.
        ({"blocked_origins": ["CN"]}, None, "distill-8b", "origin", "via base model MoE 235B-A22B"),
        # The parent company counts: FR developer, US parent.
        ({"allowed_origins": ["FR"]}, None, "community-70b", "allowed-origin", "US Parent Corp."),
        ({"deployment": "air-gapped"}, None, "hosted-frontier", "deployment", "air-gapped"),
        (
            {"require_commercial_use": True},
            None,
            "research-3b",
            "commercial-use",
            "Research Licence",
        ),
        (
            {},
            {"country": "US", "sector": "commercial", "expected_monthly_users": 5000},
            "community-70b",
            "user-cap",
            "above 1,000 monthly active users",
        ),
        (
            {"forbid_field_of_use_restrictions": True},
            {"country": "US", "sector": "defense", "expected_monthly_users": 1},
            "community-70b",
            "field-of-use",
            "military",
        ),
        (
            {},
            {"country": "DE", "sector": "commercial", "expected_monthly_users": 1},
            "community-70b",
            "licence-region",
            "excluded: EU",
        ),
        ({"require_osi_license": True}, None, "swa-27b", "osi-licence", "not an OSI-approved"),
        ({"min_openness": "open-model"}, None, "swa-27b", "openness", "unknown"),
        (
            {"require_published_hashes": True},
            None,
            "swa-27b",
            "published-hash",
            "no sha256 stated by the publisher",
        ),
    ],
)
def test_each_rule_excludes_with_a_readable_reason(
    prepared_test_catalog, security, organisation, model_id, rule, words
) -> None:
    result = run(prepared_test_catalog, {"policy": "open", **security}, organisation)
    reasons = failures(result, model_id)
    assert rule in reasons, (model_id, reasons)
    assert words in reasons[rule]


@pytest.mark.parametrize(
    ("organisation", "admitted"),
    [
        ({"country": "US", "sector": "defense", "expected_monthly_users": 1}, True),
        ({"country": "FR", "sector": "defense", "expected_monthly_users": 1}, False),
    ],
)
def test_government_carveout_applies_only_where_it_reaches(
    prepared_test_catalog, organisation, admitted
) -> None:
    result = run(
        prepared_test_catalog,
        {"policy": "open", "forbid_field_of_use_restrictions": True},
        organisation,
    )
    recommended = {m.model_id: m for m in result.recommended}
    assert ("swa-27b" in recommended) is admitted
    if admitted:
        assert any(r.startswith("caveat:") for r in recommended["swa-27b"].reasons)


def test_region_exclusion_limited_to_multimodal_models(prepared_test_catalog) -> None:
    result = run(
        prepared_test_catalog,
        OPEN,
        {"country": "FR", "sector": "commercial", "expected_monthly_users": 1},
    )
    assert "for its multimodal models" in failures(result, "mm-vision-11b")["licence-region"]
    assert "mm-text-3b" in {m.model_id for m in result.recommended}


def test_same_models_pass_when_the_rule_is_off(prepared_test_catalog) -> None:
    result = run(
        prepared_test_catalog,
        OPEN,
        {"country": "US", "sector": "commercial", "expected_monthly_users": 10},
    )
    assert {"dense-8b", "distill-8b", "hosted-frontier", "research-3b"} <= {
        m.model_id for m in result.recommended
    }


def test_strict_preset_applies_all_its_rules(prepared_test_catalog) -> None:
    result = run(
        prepared_test_catalog,
        {"policy": "strict"},
        {"country": "US", "sector": "defense", "expected_monthly_users": 5000},
    )
    assert [m.model_id for m in result.recommended] == ["dense-8b"]
    assert "deployment" in failures(result, "hosted-frontier")
    assert "origin" in failures(result, "research-3b")


def test_profile_overrides_preset(prepared_test_catalog) -> None:
    result = run(
        prepared_test_catalog,
        {
            "policy": "strict",
            "blocked_origins": [],
            "require_published_hashes": False,
            "forbid_field_of_use_restrictions": False,
        },
    )
    assert "distill-8b" in {m.model_id for m in result.recommended}


def test_unknown_preset_is_a_clear_error(prepared_test_catalog) -> None:
    with pytest.raises(ModelVetError, match="unknown policy preset 'nope'"):
        run(prepared_test_catalog, {"policy": "nope"})


def test_fit_exclusion_states_the_numbers(prepared_test_catalog) -> None:
    result = run(prepared_test_catalog, OPEN, hardware="cpu16")
    detail = failures(result, "moe-235b")["fit"]
    assert "needs" in detail and "GB" in detail and "8192 tokens" in detail


def test_context_longer_than_the_model_supports(prepared_test_catalog) -> None:
    result = run(
        prepared_test_catalog, OPEN, capability={"tasks": ["general"], "context_tokens": 65536}
    )
    assert "supports 32768 tokens" in failures(result, "distill-8b")["context"]


def test_vision_task_needs_image_input(prepared_test_catalog) -> None:
    result = run(
        prepared_test_catalog, OPEN, capability={"tasks": ["vision"], "context_tokens": 4096}
    )
    assert "modality" in failures(result, "dense-8b")
    assert "swa-27b" in {m.model_id for m in result.recommended}


def test_ranking_prefers_capability_and_explains(prepared_test_catalog) -> None:
    result = run(
        prepared_test_catalog,
        {"policy": "open", "deployment": "air-gapped"},
        capability={"tasks": ["general"], "context_tokens": 8192},
    )
    order = [m.model_id for m in result.recommended]
    # swa-27b reports the higher MMLU-Pro of the two that fit on the GPU.
    assert order.index("swa-27b") < order.index("dense-8b")
    for item in result.recommended:
        assert item.reasons
        assert any(r.startswith("origin:") for r in item.reasons)
        assert item.placement in ("gpu", "multi-gpu", "gpu+cpu", "cpu")
        assert item.predicted_memory_bytes and item.predicted_memory_bytes > 0


def test_missing_benchmarks_are_named_not_hidden(prepared_test_catalog) -> None:
    result = run(
        prepared_test_catalog,
        OPEN,
        capability={"tasks": ["coding", "tool-use"], "context_tokens": 4096},
    )
    dense = next(m for m in result.recommended if m.model_id == "dense-8b")
    assert dense.missing_tasks == ["tool-use"]
    assert any("no sourced benchmark for tool-use" in r and "(imputed)" in r for r in dense.reasons)
    # Imputed from its own other tasks (general and coding here): between them, not 0.
    assert dense.capability > 0
    distill = next(m for m in result.recommended if m.model_id == "distill-8b")
    assert distill.capability == 0 and distill.score == 0  # no benchmark at all


def test_best_quantisation_that_fits_is_chosen(prepared_test_catalog) -> None:
    roomy = run(prepared_test_catalog, OPEN)
    tight = run(
        prepared_test_catalog,
        OPEN,
        hardware="cpu16",
        capability={"tasks": ["general"], "context_tokens": 65536},
    )
    assert next(m for m in roomy.recommended if m.model_id == "dense-8b").quant == "Q8_0"
    assert next(m for m in tight.recommended if m.model_id == "dense-8b").quant == "Q4_K_M"


def test_slow_models_rank_after_fast_ones(prepared_test_catalog) -> None:
    result = run(
        prepared_test_catalog,
        OPEN,
        hardware="cpu16",
        capability={"tasks": ["general"], "context_tokens": 4096, "min_tokens_per_s": 12},
    )
    flags = [m.meets_speed_target for m in result.recommended if m.meets_speed_target is not None]
    assert True in flags and False in flags, flags  # both kinds present, or the test says nothing
    assert flags == sorted(flags, reverse=True)


@pytest.mark.parametrize("profile_file", ["us-defense-24gb.toml", "eu-company-mac-cloud.toml"])
def test_json_from_frames_equals_json_from_objects(profile_file: str) -> None:
    """`recommend --json` is written by polars; it must say exactly what the objects say."""
    import json

    from modelvet.engine.profile import load_profile
    from modelvet.engine.rank.recommend import recommend_json
    from tests.helpers import REPO

    profile = load_profile(REPO / "examples" / profile_file)
    from_objects = recommend(profile).to_json_dict()
    from_frames = json.loads(recommend_json(profile))
    assert from_frames == from_objects


def test_other_languages_weigh_the_multilingual_benchmarks(prepared_test_catalog) -> None:
    """A French-speaking user's capability includes the multilingual task, named in the
    reasons; an English-only user's does not. Each task figure says how many benchmarks."""
    english = run(prepared_test_catalog, OPEN, capability={"tasks": ["general"]})
    french = run(
        prepared_test_catalog, OPEN, capability={"tasks": ["general"], "languages": ["fr"]}
    )
    dense_en = next(m for m in english.recommended if m.model_id == "dense-8b")
    dense_fr = next(m for m in french.recommended if m.model_id == "dense-8b")
    assert "multilingual" not in " ".join(dense_en.reasons)
    assert "multilingual" in dense_fr.missing_tasks  # no multilingual benchmark: named, imputed
    assert any("for general, multilingual" in r for r in dense_fr.reasons)
    assert all(t.endswith(("benchmark)", "benchmarks)")) for t in dense_en.task_scores)
    swa = next(m for m in french.recommended if m.model_id == "swa-27b")
    assert any(t.startswith("multilingual ") and "(1 benchmark)" in t for t in swa.task_scores)
    assert "MGSM" in swa.score_benchmarks


@pytest.mark.parametrize("profile_file", ["us-defense-24gb.toml", "eu-company-mac-cloud.toml"])
def test_recommendations_come_in_rank_order(profile_file: str) -> None:
    """Every step after ranking (context planning, terms, caveats) keeps the ranked order, on
    the bundled catalog's many models: the list reads 1, 2, 3 … and fast models come first."""
    from modelvet.engine.profile import load_profile
    from modelvet.engine.rank.recommend import recommend
    from tests.helpers import REPO

    result = recommend(load_profile(REPO / "examples" / profile_file))
    ranks = [item.rank for item in result.recommended]
    assert len(ranks) > 20 and ranks == list(range(1, len(ranks) + 1))
    fast = [item.meets_speed_target is not False for item in result.recommended]
    assert fast == sorted(fast, reverse=True)
