"""`modelvet estimate`: one variant on the profile's hardware and runtime, the policy reported."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from modelvet.engine.fit.estimate import estimate
from modelvet.engine.profile import load_profile
from tests.helpers import EXAMPLE, run_modelvet


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return run_modelvet("estimate", "--profile", str(EXAMPLE), *args, timeout=120)


def test_json_contract_and_a_blocked_model_is_still_estimated() -> None:
    done = run("--model", "qwen3-30b-a3b", "--quant", "Q4_K_M", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["model_id"], result["quant"]) == ("qwen3-30b-a3b", "Q4_K_M")
    memory = result["memory"]
    assert {"weights_bytes", "kv_cache_bytes", "compute_bytes", "total_bytes"} <= set(memory)
    assert result["placement"] in ("gpu", "gpu+cpu")
    low, high = result["predicted_tokens_per_s_range"]
    assert low < result["predicted_tokens_per_s"] < high
    assert result["bandwidth_bound_tokens_per_s"] > result["predicted_tokens_per_s"]
    context = load_profile(EXAMPLE).capability.context_tokens
    assert result["depth_tokens"] == context // 2
    assert result["runtime"]["runtime"] == "llama-server"
    assert result["assumptions"]
    # the profile blocks Chinese-origin models: reported, not filtered
    assert result["policy"]["admitted"] is False
    assert any(r["rule"] == "origin" for r in result["policy"]["reasons"])


def test_decode_slows_as_the_cache_fills() -> None:
    profile = load_profile(EXAMPLE)
    empty = estimate(profile, "gpt-oss-20b", depth_tokens=0)
    deep = estimate(profile, "gpt-oss-20b", depth_tokens=profile.capability.context_tokens)
    assert deep.predicted_tokens_per_s is not None and empty.predicted_tokens_per_s is not None
    assert deep.predicted_tokens_per_s < empty.predicted_tokens_per_s
    assert deep.memory == empty.memory  # depth changes reads, not what is allocated


def test_runtime_flags_change_the_prediction() -> None:
    server = json.loads(run("--model", "gemma-3-27b-it", "--json").stdout)
    python = json.loads(
        run("--model", "gemma-3-27b-it", "--runtime", "llama-cpp-python", "--json").stdout
    )
    no_fa = json.loads(run("--model", "gemma-3-27b-it", "--no-flash-attention", "--json").stdout)
    assert python["runtime"]["swa_full"] is True and server["runtime"]["swa_full"] is False
    assert python["memory"]["kv_cache_bytes"] > server["memory"]["kv_cache_bytes"]
    assert no_fa["runtime"]["flash_attention"] is False
    assert no_fa["memory"]["compute_bytes"] > server["memory"]["compute_bytes"]


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (("--model", "qwen3-30b"), "qwen3-30b-a3b"),
        (("--model", "glm-4.7-flash", "--quant", "Q3_K_S"), "Q4_K_M"),
    ],
)
def test_unknown_model_or_quant_is_exit_2_naming_what_exists(args: tuple, names: str) -> None:
    done = run(*args)
    assert done.returncode == 2
    assert names in done.stderr and "Traceback" not in done.stderr


def test_cpu_only_hardware_from_numbers_estimates_every_variant(tmp_path: Path) -> None:
    """A machine described by its numbers alone (no GPU, no FLOPS figure) and a model with
    several variants: each quantisation is estimated, CPU-placed and memory-bound."""
    profile = tmp_path / "cpu.toml"
    profile.write_text(
        '[security]\npolicy = "no-restrictions"\n'
        "[hardware]\nram_gb = 64\nram_bandwidth_gbs = 80\ncpu_cores = 16\n"
    )
    for quant in ("Q4_K_M", "Q8_0"):
        done = run_modelvet(
            "estimate", "--profile", str(profile), "--model", "qwen3-8b", "--quant", quant, "--json"
        )
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        assert (result["placement"], result["speed_bound"]) == ("cpu", "memory bandwidth")
        assert result["predicted_tokens_per_s"] > 0
