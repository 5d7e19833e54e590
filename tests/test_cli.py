"""The command-line contract of DESIGN.md: JSON shapes, exit codes, one-line errors."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import EXAMPLE, run_modelvet


def test_recommend_json_contract() -> None:
    done = run_modelvet("recommend", "--profile", str(EXAMPLE), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert {"catalog_version", "profile", "hardware", "recommended", "excluded"} <= set(result)
    assert result["recommended"], "a 24 GB GPU must fit some allowed model"
    for item in result["recommended"]:
        assert {
            "model_id",
            "name",
            "developer",
            "developer_country",
            "license",
            "total_params_b",
            "modalities",
            "quant",
            "file_size_bytes",
            "placement",
            "predicted_memory_bytes",
            "predicted_tokens_per_s",
            "score",
            "reasons",
        } <= set(item)
        assert item["placement"] in ("gpu", "multi-gpu", "gpu+cpu", "cpu", "hosted")
        assert item["developer_country"] not in ("CN", "RU", "IR", "KP")
    for item in result["excluded"]:
        assert item["reasons"] and all({"rule", "detail"} <= set(r) for r in item["reasons"])
    listed = [m["model_id"] for m in result["recommended"] + result["excluded"]]
    catalog = json.loads(run_modelvet("catalog", "list", "--json").stdout)
    assert sorted(listed) == sorted(row["model_id"] for row in catalog)


def test_defense_profile_blocks_prc_models_and_their_distills() -> None:
    result = json.loads(run_modelvet("recommend", "--profile", str(EXAMPLE), "--json").stdout)
    excluded = {m["model_id"]: m for m in result["excluded"]}
    for model_id in ("deepseek-r1", "qwen3-8b", "deepseek-r1-distill-llama-70b"):
        rules = {r["rule"] for r in excluded[model_id]["reasons"]}
        assert "origin" in rules, (model_id, excluded[model_id]["reasons"])
    distill = next(
        r["detail"]
        for r in excluded["deepseek-r1-distill-llama-70b"]["reasons"]
        if r["rule"] == "origin"
    )
    assert "DeepSeek" in distill
    assert any(m["rule"] == "deployment" for m in excluded["claude-haiku-4-5"]["reasons"])


def test_recommend_text_output_is_readable() -> None:
    done = run_modelvet("recommend", "--profile", str(EXAMPLE))
    assert done.returncode == 0
    assert "Recommended" in done.stdout and "Excluded" in done.stdout
    # A ranked model line, a reason under it, and an exclusion with its rule.
    assert re.search(r"^\s+1\. .+ — .+ score \d", done.stdout, re.M), done.stdout[:500]
    assert re.search(r"^\s+· licence: ", done.stdout, re.M)
    assert re.search(r"^\s+✗ origin: .*blocked origins", done.stdout, re.M)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "profile file not found"),
        ("[organisation\ncountry = ", "not valid TOML"),
        (
            "[organisation]\ncountry = 'USA'\n",
            "organisation.country: not an ISO 3166 alpha-2 code (two capital letters): 'USA'",
        ),
        ("[capability]\ntasks = ['poetry']\n", "capability.tasks.0: 'poetry' Input should be"),
        ("[security]\npolicy = 'nope'\n", "unknown policy preset 'nope'"),
        ("[hardware]\npreset = 'cray-1'\n", "unknown hardware preset 'cray-1'"),
        ("[organisation]\ncolour = 'red'\n", "organisation.colour"),
    ],
)
def test_bad_profile_is_one_line_exit_2(tmp_path: Path, content: str | None, expected: str) -> None:
    path = tmp_path / "profile.toml"
    if content is not None:
        path.write_text(content)
    done = run_modelvet("recommend", "--profile", str(path))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert expected in done.stderr
    assert str(path) in done.stderr  # every message names the profile file


def test_hardware_json() -> None:
    done = run_modelvet("hardware", "--json", "--no-measure")
    assert done.returncode == 0
    spec = json.loads(done.stdout)
    assert spec["ram_gb"] > 0 and spec["cpu_cores"] >= 1
    assert isinstance(spec["gpus"], list) and isinstance(spec["warnings"], list)


def test_unknown_command_is_exit_2() -> None:
    done = run_modelvet("frobnicate")
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_smoke_child_entry_point_answers_in_json_lines() -> None:
    """`modelvet --smoke-child` (how a frozen build starts its child) speaks the protocol."""
    done = run_modelvet("--smoke-child", input='{"model_path": 42, "colour": "red"}\n', timeout=60)
    assert done.returncode == 2
    event = json.loads(done.stdout.strip().splitlines()[-1])
    assert event["event"] == "error" and "bad request" in event["message"]


def test_a_reader_that_leaves_early_is_not_an_error() -> None:
    """`modelvet recommend | head -1`: no traceback when the pipe closes."""
    done = subprocess.run(
        f"{sys.executable} -m modelvet recommend --profile {EXAMPLE} | head -1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.startswith("Catalog ")
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


def test_flag_choices_are_the_engines_own_lists() -> None:
    """The CLI offers exactly the report formats, KV cache types and runtimes the engine has."""
    from modelvet.cli import _build_parser as build_parser
    from modelvet.engine.fit.settings import KV_CACHE_TYPES, RUNTIMES
    from modelvet.engine.report import FORMATS

    def choices(command: str, flag: str) -> tuple[str, ...]:
        sub = next(
            a
            for a in build_parser()._subparsers._group_actions  # type: ignore[union-attr]
        ).choices[command]
        action = next(a for a in sub._actions if flag in a.option_strings)
        return tuple(action.choices)

    assert choices("report", "--format") == FORMATS
    assert choices("smoke", "--kv-cache-type") == KV_CACHE_TYPES
    assert choices("estimate", "--runtime") == RUNTIMES
