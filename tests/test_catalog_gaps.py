"""No silent gaps: a model the fit cannot place for want of a fact is named, with the fact."""

from __future__ import annotations

import json
from dataclasses import replace

import polars as pl

from modelvet.engine.catalog import bundled_catalog
from modelvet.engine.catalog.frame import variants_frame
from modelvet.engine.catalog.gaps import catalog_gaps, model_gaps
from modelvet.engine.catalog.schema import Model
from modelvet.engine.fit.memory import memory_gap
from modelvet.engine.profile import parse_profile
from modelvet.engine.rank.recommend import recommend
from tests.helpers import run_modelvet

MISSING_FACT = ("cannot be predicted", "not in the catalog", "no parameter count", "file size")


def test_every_exclusion_for_a_missing_fact_is_a_named_gap() -> None:
    profile = parse_profile(
        {
            "security": {"policy": "no-restrictions", "deployment": "on-prem"},
            "hardware": {"preset": "h200-8x"},
            "capability": {"context_tokens": 4096},
        }
    )
    gaps = catalog_gaps(bundled_catalog())
    excluded_for_gaps = {
        item.model_id
        for item in recommend(profile).excluded
        for reason in item.reasons
        if any(words in reason.detail for words in MISSING_FACT)
    }
    assert excluded_for_gaps <= set(gaps), excluded_for_gaps - set(gaps)


def test_a_size_is_estimated_from_a_sibling_file_not_left_unknown() -> None:
    """Gemma 3 states no parameter count, but one file's exact size implies it."""
    catalog = bundled_catalog()
    assert not any("file size" in gap for gap in model_gaps(catalog.models["gemma-3-27b-it"]))


def _model(**fields: object) -> Model:
    base = {
        "id": "m",
        "name": "M",
        "developer": "d",
        "license": "l",
        "modalities": ["text"],
        "repo": "d/m",
        "sources": {"card": "https://example.org"},
    }
    return Model.model_validate(base | fields)


def test_gaps_name_each_missing_fact() -> None:
    arch = {
        "layers": 40,
        "full_attention_layers": 4,
        "kv_heads": 8,
        "head_dim": 128,
        "hidden_size": 4096,
        "vocab_size": 1000,
        "source": "https://example.org",
    }
    hybrid = _model(architecture=arch, total_params_b=8.0, context_length=8192)
    assert model_gaps(hybrid) == ["recurrent state (recurrent_layers, recurrent_state_elements)"]
    bare = _model()
    assert model_gaps(bare) == [
        "context_length",
        "architecture numbers (layers, KV heads, head size)",
        "a GGUF file or a parameter count",
    ]


def test_catalog_validate_prints_the_gaps() -> None:
    done = run_modelvet("catalog", "validate", "--json", timeout=120)
    report = json.loads(done.stdout)
    assert report["gaps"] == catalog_gaps(bundled_catalog())


# A machine every model fits on, admitting unknown terms: each model's caveats can be seen.
EVERYTHING_FITS = {
    "security": {"policy": "no-restrictions", "unknown_terms": "warn"},
    "hardware": {"ram_gb": 4096, "ram_bandwidth_gbs": 400, "cpu_cores": 64},
    "capability": {"context_tokens": 4096, "min_tokens_per_s": 0},
}
MEMORY_GAPS = ("compute buffer", "recurrent state")  # gap wording for a memory term


def test_a_memory_figure_missing_a_term_says_it_is_a_lower_bound() -> None:
    """Unknown is not none: a model whose compute buffer or recurrent state cannot be computed
    is still placed, but every recommendation of it says its memory is a lower bound — the same
    models `catalog validate` names for those facts, no more and no fewer."""
    profile = parse_profile(EVERYTHING_FITS)
    named = {
        model_id
        for model_id, gaps in catalog_gaps(bundled_catalog()).items()
        if any(words in gap for gap in gaps for words in MEMORY_GAPS)
    }
    result = recommend(profile)
    flagged = {
        item.model_id
        for item in result.recommended
        for caveat in item.caveats
        if caveat.rule == "memory" and "lower bound" in caveat.detail
    }
    placed = {item.model_id for item in result.recommended if item.placement != "hosted"}
    assert named <= placed, "a model with a memory gap must still be placed"
    assert flagged == named


def test_the_lower_bound_caveat_names_each_missing_term() -> None:
    """Both kinds on one catalog copy: a hybrid without its state size, a model without its
    vocabulary; a complete model carries no such caveat."""
    catalog = bundled_catalog()
    hybrid = next(
        m
        for m in catalog.models.values()
        if m.id not in catalog_gaps(catalog) and m.architecture and m.architecture.recurrent_layers
    )
    complete = catalog.models["qwen3-8b"]
    assert hybrid.architecture is not None and complete.architecture is not None
    stateless = hybrid.model_copy(
        update={
            "id": "hybrid-without-state",
            "architecture": hybrid.architecture.model_copy(
                update={"recurrent_state_elements": None}
            ),
        }
    )
    vocabless = complete.model_copy(
        update={
            "id": "dense-without-vocabulary",
            "architecture": complete.architecture.model_copy(update={"vocab_size": None}),
        }
    )
    models = {m.id: m for m in (stateless, vocabless, complete)}
    pairs = ((stateless, hybrid), (vocabless, complete), (complete, complete))
    families = {copy.id: catalog.families[source.id] for copy, source in pairs}
    edited = replace(catalog, models=models, families=families)
    frame = variants_frame(edited).filter(~pl.col("hosted"))
    notes = dict(frame.select("model_id", memory_gap().alias("gap")).unique("model_id").rows())
    assert "recurrent layers' state" in notes["hybrid-without-state"]
    assert "compute buffer" in notes["dense-without-vocabulary"]
    assert notes["qwen3-8b"] is None


def test_a_mixture_of_experts_without_its_active_parameters_is_read_whole_and_says_so() -> None:
    """Unknown active parameters are not the total and not zero: the speed is computed as if
    every expert were read (a lower bound), and each such recommendation says so; a dense model
    never carries the caveat (all its parameters are active by definition)."""
    catalog = bundled_catalog()
    unstated = {
        m.id
        for m in catalog.models.values()
        if m.architecture and (m.architecture.experts_total or 1) > 1 and m.active_params_b is None
    }
    assert unstated, "the bundled catalog has such a model; the rule must stay tested"
    profile = parse_profile(EVERYTHING_FITS)
    result = recommend(profile)
    flagged = {
        item.model_id
        for item in result.recommended
        for caveat in item.caveats
        if caveat.rule == "speed" and "lower bound" in caveat.detail
    }
    assert flagged == unstated & {item.model_id for item in result.recommended}
    assert flagged
