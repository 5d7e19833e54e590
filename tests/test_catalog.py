"""The catalog schema rejects bad entries clearly; the bundled catalog is complete and sourced."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from modelvet.engine.catalog import load_catalog
from modelvet.engine.catalog.frame import variants_frame
from modelvet.engine.catalog.gaps import catalog_gaps
from modelvet.engine.catalog.listing import list_models, summary
from modelvet.engine.fit.memory import memory_columns, total_bytes
from modelvet.engine.fit.quants import BITS_PER_WEIGHT, normalise_quant
from modelvet.engine.fit.settings import RunSettings
from tests.helpers import FIXTURES, run_modelvet

GOOD_MODEL = FIXTURES / "catalog" / "models" / "test.toml"


def _catalog_with(tmp_path: Path, extra_model_toml: str) -> Path:
    root = tmp_path / "catalog"
    shutil.copytree(FIXTURES / "catalog", root)
    (root / "models" / "broken.toml").write_text(
        'schema_version = 1\nfamily = "Broken"\n\n' + extra_model_toml
    )
    return root


MODEL_HEAD = """[[models]]
id = "broken-1b"
name = "Broken 1B"
developer = "usdev"
license = "open"
repo = "usdev/broken"
modalities = ["text"]
"""


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        (
            MODEL_HEAD + 'sources = { card = "https://example.org/x" }\ncolour = "red"\n',
            "models[broken-1b].colour",
            "Extra inputs are not permitted",
        ),
        (MODEL_HEAD, "models[broken-1b].sources", "Field required"),
        (
            MODEL_HEAD + 'sources = { card = "not a url" }\n',
            "models[broken-1b].sources.card",
            "not an http(s) URL",
        ),
        (
            MODEL_HEAD + 'sources = { card = "https://example.org/x" }\ntotal_params_b = -3\n',
            "models[broken-1b].total_params_b",
            "greater than 0",
        ),
        (
            MODEL_HEAD + 'sources = { card = "https://example.org/x" }\n'
            "architecture = { layers = 32 }\n",
            "models[broken-1b].architecture.source",
            "Field required",
        ),
        (
            MODEL_HEAD + 'sources = { card = "https://example.org/x" }\n'
            'benchmarks = [{ name = "MMLU Pro", score = 50, source = "https://example.org/b" }]\n',
            "models[broken-1b].benchmarks[0].name",
            "unknown benchmark 'MMLU Pro'",
        ),
        (
            MODEL_HEAD.replace('developer = "usdev"', 'developer = "nobody"')
            + 'sources = { card = "https://example.org/x" }\n',
            "models[broken-1b].developer",
            "unknown developer 'nobody'",
        ),
        (
            MODEL_HEAD + 'sources = { card = "https://example.org/x" }\nbase_model = "dense-8b"\n',
            "models[broken-1b]",
            "base_model needs lineage",
        ),
    ],
)
def test_bad_entry_is_rejected_with_file_field_reason(
    tmp_path: Path, body: str, field: str, reason: str
) -> None:
    catalog = load_catalog(_catalog_with(tmp_path, body))
    messages = [str(p) for p in catalog.problems]
    assert any(
        m.startswith(f"catalog/models/broken.toml: {field}") and reason in m for m in messages
    ), messages
    assert "broken-1b" not in catalog.models
    assert "dense-8b" in catalog.models, "one bad entry must not hide the rest of the catalog"


def test_malformed_toml_names_the_file(tmp_path: Path) -> None:
    catalog = load_catalog(_catalog_with(tmp_path, "[[models]\nid = "))
    assert any(
        str(p).startswith("catalog/models/broken.toml: not valid TOML") for p in catalog.problems
    )


def test_validate_command_exits_2_and_prints_each_problem(tmp_path: Path) -> None:
    root = _catalog_with(tmp_path, MODEL_HEAD + 'sources = { card = "ftp://x" }\n')
    done = run_modelvet("catalog", "validate", env={"MODELVET_CATALOG": str(root)})
    assert done.returncode == 2
    assert "catalog/models/broken.toml: models[broken-1b].sources.card: " in done.stderr
    assert "Traceback" not in done.stderr


# --- the bundled catalog ----------------------------------------------------------------


@pytest.fixture(scope="module")
def bundled():
    return load_catalog()


def test_bundled_catalog_validates(bundled) -> None:
    assert [str(p) for p in bundled.problems] == []


def test_bundled_catalog_breadth(bundled) -> None:
    facts = summary(bundled)
    assert facts["models"] >= 60
    assert facts["developers"] >= 15
    assert len(facts["countries"]) >= 7


@pytest.mark.parametrize(
    "needle",
    [
        "qwen3.5-35b",
        "qwen3.5-122b",
        "qwen3-coder",
        "deepseek-r1",
        "deepseek-r1-distill-llama-70b",
        "deepseek-v3",
        "glm-4",
        "minimax-m",
        "kimi-k2",
        "mistral-large-3",
        "mistral-small-3",
        "devstral",
        "ministral",
        "gemma-2",
        "gemma-3",
        "llama-3.1",
        "llama-3.2",
        "llama-3.3",
        "llama-4",
        "gpt-oss-20b",
        "gpt-oss-120b",
        "phi-3.5",
        "phi-4",
        "granite",
        "olmo",
        "nemotron",
        "command-r",
        "command-a",
        "exaone",
        "falcon",
        "smollm",
        "claude",
        "gpt-5",
        "gemini",
    ],
)
def test_models_users_ask_about_are_present(bundled, needle: str) -> None:
    assert any(needle in model_id for model_id in bundled.models), needle


def test_no_placeholder_sources_in_bundled_catalog(bundled) -> None:
    root = bundled.root
    for path in root.rglob("*.toml"):
        assert "example.org" not in path.read_text(), path


def test_distill_lineage_reaches_llama(bundled) -> None:
    model = bundled.models["deepseek-r1-distill-llama-70b"]
    assert model.base_model == "llama-3.3-70b-instruct"
    assert model.lineage == "distill"


def test_open_weight_models_have_memory_facts_or_say_why(bundled) -> None:
    """Every downloadable model gets a KV cache and total from the fit, or `catalog validate`
    names it with the fact it lacks."""
    settings = RunSettings(8192)
    variants = (
        variants_frame(bundled)
        .filter(pl.col("format") == "gguf")
        .with_columns(memory_columns(settings))
        .with_columns(total_bytes())
    )
    gaps = catalog_gaps(bundled)
    no_kv = set(variants.filter(pl.col("kv_cache_bytes").is_null())["model_id"])
    no_total = set(variants.filter(pl.col("total_bytes").is_null())["model_id"])
    predicted = set(variants["model_id"]) - no_total
    assert len(predicted) >= 100  # the fit places most of the catalog: the check says something
    unexplained = {m for m in no_total if m not in gaps}
    assert unexplained == set(), unexplained
    kv_unexplained = {
        m for m in no_kv if not any("KV" in gap or "architecture" in gap for gap in gaps[m])
    }
    assert kv_unexplained == set(), kv_unexplained


def test_stated_file_sizes_agree_with_the_parameter_count(bundled) -> None:
    """A GGUF's stated size is its parameters at the quantisation's bits per weight, give or take
    embeddings and mixed tensors: a size copied from another quantisation, a dropped digit or a
    whole repository's total does not pass."""
    checked, wrong = 0, []
    for model in bundled.models.values():
        for artifact in model.artifacts:
            quant = normalise_quant(artifact.quant)
            if artifact.format != "gguf" or not artifact.size_bytes or not model.total_params_b:
                continue
            if quant not in BITS_PER_WEIGHT:
                continue
            expected = model.total_params_b * 1e9 * BITS_PER_WEIGHT[quant] / 8
            checked += 1
            if not 0.8 <= artifact.size_bytes / expected <= 1.4:
                wrong.append(f"{model.id} {artifact.quant}: {artifact.size_bytes / expected:.2f}×")
    assert checked >= 100 and wrong == [], wrong
    quants = {
        normalise_quant(a.quant)
        for m in bundled.models.values()
        for a in m.artifacts
        if a.size_bytes
    }
    assert {"Q4_K_M", "Q8_0"} <= quants


def test_list_filters(bundled) -> None:
    rows = list_models(bundled, country="CN")
    assert rows and all(r["developer_country"] == "CN" for r in rows)
    small = list_models(bundled, max_params_b=2)
    assert small and all(r["total_params_b"] <= 2 for r in small)
    assert {
        "model_id",
        "name",
        "developer",
        "developer_country",
        "license",
        "repo",
        "total_params_b",
        "active_params_b",
        "context_length",
        "layers",
        "kv_heads",
        "head_dim",
        "modalities",
        "sources",
    } <= set(rows[0])


def test_catalog_list_json_command() -> None:
    import json

    done = run_modelvet("catalog", "list", "--json")
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert len(rows) >= 60
    hosted = [r for r in rows if r["hosted_only"]]
    assert hosted and all(r["repo"] is None for r in hosted)
    assert all(r["sources"] for r in rows)
