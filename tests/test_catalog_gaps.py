"""No silent gaps: a model the fit cannot place for want of a fact is named, with the fact."""

from __future__ import annotations

import json

from modelvet.engine.catalog import bundled_catalog
from modelvet.engine.catalog.gaps import catalog_gaps, model_gaps
from modelvet.engine.catalog.schema import Model
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
