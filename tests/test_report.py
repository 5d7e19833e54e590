"""The decision record: every format on disk, complete, escaped, atomic; the `report` command."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from modelvet.engine.catalog import Catalog
from modelvet.engine.errors import ModelVetError
from modelvet.engine.profile import parse_profile
from modelvet.engine.rank.recommend import PreparedCatalog, recommend
from modelvet.engine.rank.result import Recommendation, RuleFailure
from modelvet.engine.report import FORMATS, DecisionRecord, load_smoke, render, write_report
from modelvet.engine.report.markdown import md
from modelvet.engine.smoke.result import Comparison, Measured, ProbeResult, SmokeResult
from tests.helpers import EXAMPLE, run_modelvet

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _recommend(
    prepared: PreparedCatalog, security: dict[str, Any], name: str = "Test buyer"
) -> Recommendation:
    profile = parse_profile(
        {
            "name": name,
            "organisation": {
                "country": "US",
                "sector": "commercial",
                "expected_monthly_users": 100,
            },
            "security": security,
            "hardware": {"preset": "gpu24"},
            "capability": {"tasks": ["general"], "context_tokens": 8192},
        }
    )
    return recommend(profile, prepared=prepared)


@pytest.fixture(scope="module")
def strict(prepared_test_catalog: PreparedCatalog) -> Recommendation:
    """The strict preset with one rule overridden by the profile: excludes for several reasons."""
    result = _recommend(
        prepared_test_catalog, {"policy": "strict", "require_published_hashes": False}
    )
    assert len(result.recommended) >= 2 and len(result.excluded) >= 3
    return result


@pytest.fixture(scope="module")
def permissive(prepared_test_catalog: PreparedCatalog) -> Recommendation:
    """Everything allowed: a hosted model, a distill with a base model, files with hashes."""
    return _recommend(prepared_test_catalog, {"policy": "open"})


def _text(recommendation: Recommendation, fmt: str, catalog: Catalog, **kw: Any) -> str:
    return render(recommendation, fmt, catalog=catalog, **kw).decode("utf-8")


# --- every format, on disk ------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_each_format_is_written_to_the_given_path(
    fmt: str, strict: Recommendation, test_catalog: Catalog, tmp_path: Path
) -> None:
    target = tmp_path / f"record.{fmt}"
    assert write_report(strict, fmt, target, catalog=test_catalog) == target
    payload = target.read_bytes()
    assert len(payload) > 500
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name], "temporary file left"
    if fmt == "pdf":
        assert payload.startswith(b"%PDF-")
    elif fmt in ("json", "cyclonedx"):
        json.loads(payload)


def test_an_existing_report_is_replaced_whole(
    strict: Recommendation, test_catalog: Catalog, tmp_path: Path
) -> None:
    target = tmp_path / "record.md"
    target.write_text("old record")
    write_report(strict, "md", target, catalog=test_catalog)
    assert target.read_text().startswith("# Model decision record: Test buyer")


# --- completeness ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["md", "html"])
def test_every_model_reason_and_rule_source_is_in_the_record(
    fmt: str, strict: Recommendation, test_catalog: Catalog
) -> None:
    text = _text(strict, fmt, catalog=test_catalog)
    shown = (lambda text: str(escape(text))) if fmt == "html" else md
    for item in strict.recommended:
        assert shown(item.name) in text
        for reason in item.reasons:
            assert shown(reason) in text, reason
    for excluded in strict.excluded:
        assert shown(excluded.name) in text
        for failure in excluded.reasons:
            assert shown(failure.detail) in text, failure
    # who set each rule: the preset, the profile's override, ModelVet's default
    assert "policy preset strict" in text
    assert re.search(r"Publisher must state the file(&#39;|')s sha256 \| no \| profile", text) or (
        fmt == "html" and "<td>no</td><td>profile</td>" in text
    )
    assert "default" in text
    assert "Test preset." in text  # the preset's basis
    assert "Prepared by" in text and "Approved by" in text


def test_exclusions_name_the_setting_and_who_set_it(
    strict: Recommendation, test_catalog: Catalog
) -> None:
    record = DecisionRecord.model_validate_json(render(strict, "json", catalog=test_catalog))
    failures = {(e.model_id, f.rule): f for e in record.excluded for f in e.failures}
    origin = failures[("moe-235b", "origin")]
    assert origin.setting == "blocked_origins = CN" and origin.source == "policy preset strict"
    assert failures[("moe-235b", "fit")].source == "profile"
    assert failures[("hosted-frontier", "deployment")].setting == "deployment = air-gapped"
    assert [
        (r.setting, r.source) for r in record.security if r.setting == "require_published_hashes"
    ] == [("require_published_hashes", "profile")]
    assert {e.model_id for e in record.excluded} == {e.model_id for e in strict.excluded}


def test_recommended_models_carry_their_sources(
    permissive: Recommendation, test_catalog: Catalog
) -> None:
    record = DecisionRecord.model_validate_json(render(permissive, "json", catalog=test_catalog))
    by_id = {m.recommended.model_id: m for m in record.recommended}
    dense = by_id["dense-8b"]
    urls = {s.url: s.facts for s in dense.sources}
    assert "model card" in urls["https://example.org/dense-8b"]
    assert "https://example.org/dense-8b/config.json" in urls
    assert "https://example.org/dense-8b-gguf" in urls  # the file's size and hash
    assert "https://example.org/open" in urls  # the licence text
    assert [a.model_id for a in by_id["distill-8b"].ancestors] == ["moe-235b"]
    assert record.catalog_version == "test-1" and record.generated_at.tzinfo is not None


# --- escaping ---------------------------------------------------------------------------


def _hostile(recommendation: Recommendation) -> Recommendation:
    first = recommendation.recommended[0].model_copy(update={"name": HOSTILE})
    excluded = recommendation.excluded[0].model_copy(
        update={"reasons": [RuleFailure(rule="origin", detail=f"bad | {HOSTILE}")]}
    )
    return recommendation.model_copy(
        update={
            "recommended": [first, *recommendation.recommended[1:]],
            "excluded": [excluded, *recommendation.excluded[1:]],
            "profile": {**recommendation.profile, "name": HOSTILE},
        }
    )


def test_html_escapes_hostile_text(strict: Recommendation, test_catalog: Catalog) -> None:
    text = _text(_hostile(strict), "html", catalog=test_catalog)
    assert "<script" not in text and "<img" not in text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in text
    assert text.count("<table") == text.count("</table>")


def test_markdown_neutralises_hostile_text(strict: Recommendation, test_catalog: Catalog) -> None:
    text = _text(_hostile(strict), "md", catalog=test_catalog)
    assert "<script" not in text and "<img" not in text
    assert "bad \\| &lt;script&gt;" in text  # a pipe cannot split the table row


# --- PDF --------------------------------------------------------------------------------


def _pdf_text(path: Path) -> str:
    """The PDF's text; never a silent pass: CI fails without pdftotext, elsewhere it skips."""
    if shutil.which("pdftotext") is None:
        if os.environ.get("CI"):
            pytest.fail("pdftotext (poppler-utils) is missing; `make test` installs it as root")
        pytest.skip("pdftotext (poppler-utils) is not installed")
    done = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    )
    return done.stdout


def test_pdf_names_the_recommended_models(
    strict: Recommendation, test_catalog: Catalog, tmp_path: Path
) -> None:
    unicode_name = "Zürich Łódź model ≥ 5 × faster"
    first = strict.recommended[0].model_copy(update={"name": unicode_name})
    target = write_report(
        strict.model_copy(update={"recommended": [first, *strict.recommended[1:]]}),
        "pdf",
        tmp_path / "record.pdf",
        catalog=test_catalog,
    )
    payload = target.read_bytes()
    assert payload.startswith(b"%PDF-") and payload.rstrip().endswith(b"%%EOF")
    pages = len(re.findall(rb"/Type /Page\b", payload))
    assert pages >= 2
    text = _pdf_text(target)
    flat = " ".join(text.split())
    assert unicode_name in flat
    for item in strict.recommended[1:]:
        assert item.name in flat
    for item in strict.excluded:
        assert item.name in flat
    assert f"Page 1 of {pages}" in flat and "catalog test-1" in flat
    assert "Prepared by" in flat and "Approved by" in flat


# --- CycloneDX --------------------------------------------------------------------------


def test_cyclonedx_has_one_component_per_recommended_model(
    permissive: Recommendation, test_catalog: Catalog
) -> None:
    bom = json.loads(render(permissive, "cyclonedx", catalog=test_catalog))
    assert (bom["bomFormat"], bom["specVersion"], bom["version"]) == ("CycloneDX", "1.6", 1)
    assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", bom["serialNumber"])
    assert bom["metadata"]["tools"]["components"][0]["name"] == "ModelVet"
    components = bom["components"]
    assert [c["name"] for c in components] == [m.name for m in permissive.recommended]
    assert all(c["type"] == "machine-learning-model" for c in components)
    assert len({c["bom-ref"] for c in components}) == len(components)
    by_name = {c["name"]: c for c in components}
    dense = by_name["Dense 8B"]
    chosen = next(m for m in permissive.recommended if m.model_id == "dense-8b")
    assert dense["version"] == chosen.quant
    assert dense["hashes"] == [{"alg": "SHA-256", "content": chosen.sha256}]
    assert dense["licenses"] == [
        {
            "license": {
                "name": "Open Licence",
                "url": "https://example.org/open",
                "acknowledgement": "declared",
            }
        }
    ]
    assert dense["purl"] == "pkg:huggingface/usdev/dense-8b-gguf"
    assert dense["modelCard"]["considerations"]["performanceTradeoffs"] == chosen.reasons
    assert dense["modelCard"]["modelParameters"]["architectureFamily"] == "transformer"
    assert "hashes" not in by_name["SWA 27B"]  # the publisher states none
    ancestors = by_name["Distill 8B"]["pedigree"]["ancestors"]
    assert [a["name"] for a in ancestors] == ["MoE 235B-A22B"]
    assert ancestors[0]["purl"] == "pkg:huggingface/cndev/moe-235b"


def test_cyclonedx_uses_spdx_ids_where_the_licence_has_one(
    permissive: Recommendation, test_catalog: Catalog
) -> None:
    licence = test_catalog.licenses["open"].model_copy(update={"spdx": "Apache-2.0"})
    catalog = Catalog(
        root=test_catalog.root,
        meta=test_catalog.meta,
        developers=test_catalog.developers,
        licenses={**test_catalog.licenses, "open": licence},
        models=test_catalog.models,
        families=test_catalog.families,
        hardware=test_catalog.hardware,
        policies=test_catalog.policies,
    )
    bom = json.loads(render(permissive, "cyclonedx", catalog=catalog))
    dense = next(c for c in bom["components"] if c["name"] == "Dense 8B")
    assert dense["licenses"][0]["license"]["id"] == "Apache-2.0"


# --- smoke-test attachment --------------------------------------------------------------


def _smoke() -> SmokeResult:
    return SmokeResult(
        file="/models/dense-8b-Q8_0.gguf",
        sha256="2" * 64,
        catalog_model_id="dense-8b",
        settings="context 4096 tokens, KV cache f16",
        checks=["sha256 matches the catalog"],
        measured=Measured(generation_tokens_per_s=61.0),
        comparisons=[
            Comparison(quantity="generation speed", unit="tokens/s", predicted=70.0, measured=61.0)
        ],
        bandwidth_bound_tokens_per_s=94.0,
        probes=[
            ProbeResult(
                id="arith-1",
                task="math",
                prompt="2+2?",
                answer="4",
                passed=True,
                why="expected 4",
                tokens=2,
                seconds=0.1,
            )
        ],
        probes_passed=1,
        passed=True,
        verdict="runs as predicted",
    )


@pytest.mark.parametrize("fmt", ["md", "html", "pdf"])
def test_smoke_results_are_attached(
    fmt: str, strict: Recommendation, test_catalog: Catalog, tmp_path: Path
) -> None:
    smoke_file = tmp_path / "smoke.json"
    smoke_file.write_text(json.dumps(_smoke().to_json_dict()))
    target = write_report(
        strict, fmt, tmp_path / f"record.{fmt}", catalog=test_catalog, smoke=load_smoke(smoke_file)
    )
    text = target.read_text() if fmt != "pdf" else _pdf_text(target)
    flat = " ".join(text.split())
    assert "Smoke test on this workstation" in flat
    assert "generation speed (tokens/s)" in flat and "0.87×" in flat
    assert "arith-1" in flat and "runs as predicted" in flat


def test_a_bad_smoke_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "smoke.json"
    bad.write_text('{"file": 3}')
    with pytest.raises(ModelVetError, match="not a smoke-test result"):
        load_smoke(bad)


# --- failures leave nothing behind ------------------------------------------------------


def test_unknown_format_is_refused_before_writing(
    strict: Recommendation, test_catalog: Catalog, tmp_path: Path
) -> None:
    with pytest.raises(ModelVetError, match="unknown report format 'docx'"):
        write_report(strict, "docx", tmp_path / "record.docx", catalog=test_catalog)
    assert list(tmp_path.iterdir()) == []


def test_missing_folder_is_an_error_and_creates_nothing(
    strict: Recommendation, test_catalog: Catalog, tmp_path: Path
) -> None:
    target = tmp_path / "no-such-folder" / "record.html"
    with pytest.raises(ModelVetError, match="does not exist"):
        write_report(strict, "html", target, catalog=test_catalog)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can write into a read-only folder"
)
def test_unwritable_folder_is_an_error_and_leaves_nothing(
    strict: Recommendation, test_catalog: Catalog, tmp_path: Path
) -> None:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(ModelVetError, match="cannot write"):
            write_report(strict, "pdf", folder / "record.pdf", catalog=test_catalog)
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o700)


def test_a_failed_rename_keeps_the_old_report(
    strict: Recommendation, test_catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk at the last step (simulated): the old file stays, no temporary file stays."""
    target = tmp_path / "record.md"
    target.write_text("the signed record")

    def full_disk(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(ModelVetError, match="No space left"):
        write_report(strict, "md", target, catalog=test_catalog)
    assert target.read_text() == "the signed record"
    assert [p.name for p in tmp_path.iterdir()] == ["record.md"]


# --- the command ------------------------------------------------------------------------


def test_cli_writes_the_example_record_and_bom(tmp_path: Path) -> None:
    pdf = tmp_path / "record.pdf"
    done = run_modelvet("report", "--profile", str(EXAMPLE), "--format", "pdf", "-o", str(pdf))
    assert done.returncode == 0, done.stderr
    assert pdf.read_bytes().startswith(b"%PDF-")
    bom_file = tmp_path / "bom.json"
    done = run_modelvet(
        "report", "--profile", str(EXAMPLE), "--format", "cyclonedx", "-o", str(bom_file)
    )
    assert done.returncode == 0, done.stderr
    bom = json.loads(bom_file.read_text())
    names = [c["name"] for c in bom["components"]]
    assert names and "Qwen3-8B" not in names  # PRC-developed, blocked by the preset
    flat = " ".join(_pdf_text(pdf).split())
    assert all(name in flat for name in names)
    assert "policy preset us-dod-contractor" in flat
    assert "Qwen3-8B" in flat  # listed among the exclusions, with its reason


@pytest.mark.parametrize(
    "case",
    ["bad-profile", "unknown-format", "parent-is-a-file", "missing-folder", "output-is-a-folder"],
)
def test_cli_bad_input_is_exit_2_with_one_line(case: str, tmp_path: Path) -> None:
    profile, fmt, output = str(EXAMPLE), "html", tmp_path / "record.html"
    if case == "bad-profile":
        broken = tmp_path / "broken.toml"
        broken.write_text("[organisation\ncountry = 'US'\n")
        profile = str(broken)
    elif case == "unknown-format":
        fmt = "docx"
    elif case == "parent-is-a-file":
        (tmp_path / "file.txt").write_text("x")
        output = tmp_path / "file.txt" / "record.html"
    elif case == "missing-folder":
        output = tmp_path / "nowhere" / "record.html"
    else:
        output = tmp_path
    before = sorted(p.name for p in tmp_path.rglob("*"))
    done = run_modelvet("report", "--profile", profile, "--format", fmt, "-o", str(output))
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("modelvet: "), done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written


def test_the_record_can_carry_the_hardware_plan(tmp_path: Path) -> None:
    """`report --plan`: every preset against the profile, per model the smallest and cheapest."""
    out = tmp_path / "record.md"
    done = run_modelvet(
        "report", "--profile", str(EXAMPLE), "--format", "md", "--plan", "-o", str(out)
    )
    assert done.returncode == 0, done.stderr
    text = out.read_text(encoding="utf-8")
    section = text[text.index("## Hardware plan") : text.index("## Sign-off")]
    assert "Meets the targets on" in section
    assert "US$" in section  # at least one model's cheapest machine has a sourced list price
