"""Trials on the real SmolLM2 GGUF with llama.cpp in real child processes: side by side at two
KV-cache types, the context filled to prove the fit, Cancel in the middle."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from modelvet.engine.fit.settings import RunSettings
from modelvet.engine.machine import detect
from modelvet.engine.smoke.protocol import StageEvent, TrialEvent
from modelvet.engine.trial import store
from modelvet.engine.trial.run import Candidate, TrialRun
from modelvet.engine.trial.sets import load_set
from tests.helpers import child_processes, run_modelvet

pytestmark = pytest.mark.llama

EVERY_CHECK = """
name = "Every check"
[[prompts]]
id = "capital"
prompt = "What is the capital of France? Answer with one word."
max_tokens = 12
check = { type = "contains", text = "Paris" }

[[prompts]]
id = "must-fail"
prompt = "What is the capital of France? Answer with one word."
max_tokens = 12
check = { type = "regex", pattern = "zebra-unicorn-[0-9]{6}" }

[[prompts]]
id = "json"
prompt = 'Reply with only a JSON object with the keys "name" and "age" for Alice, 30.'
max_tokens = 32
check = { type = "json", schema = { type = "object" } }

[[prompts]]
id = "code"
prompt = "Write a Python function add(a, b) that returns a + b. Reply with the code only."
max_tokens = 40
check = { type = "python", function = "add" }

[[prompts]]
id = "english"
prompt = "Explain in one sentence why the sky is blue."
max_tokens = 32
check = { type = "language", language = "en" }

[[prompts]]
id = "human"
prompt = "Say hello."
max_tokens = 8
"""


def test_two_kv_cache_types_side_by_side_with_every_check(smol_gguf: Path, tmp_path: Path) -> None:
    trial_set = tmp_path / "every.toml"
    trial_set.write_text(EVERY_CHECK)
    done = run_modelvet(
        "trial",
        "--set",
        str(trial_set),
        "--model",
        str(smol_gguf),
        "--kv-cache-type",
        "f16",
        "--also-kv-cache-type",
        "q8_0",
        "--context",
        "512",
        "--json",
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    assert "model 2 of 2" in done.stderr and "answered capital" in done.stderr  # progress
    result = json.loads(done.stdout)
    assert [m["kv_cache_type"] for m in result["models"]] == ["f16", "q8_0"]
    for model in result["models"]:
        assert model["completed"] and model["error"] is None
        assert "KV cache " + model["kv_cache_type"] in model["settings"]
        verdicts = {p["id"]: p["passed"] for p in model["prompts"]}
        assert list(verdicts) == ["capital", "must-fail", "json", "code", "english", "human"]
        assert verdicts["capital"] is True and verdicts["must-fail"] is False
        assert verdicts["human"] is None
        assert all(isinstance(verdicts[k], bool) for k in ("json", "code", "english"))
        for prompt in model["prompts"]:
            assert prompt["prompt_tokens"] > 10 and prompt["decode_tokens"] >= 1
            assert prompt["prompt_tokens_per_s"] > 0 and prompt["time_to_first_token_s"] > 0
        totals = model["totals"]
        assert totals["checked"] == 5 and 1 <= totals["passed"] <= 4
        assert totals["median_decode_tokens_per_s"] > 0 and totals["peak_memory_bytes"] > 0
    # llama.cpp allocated the q8_0 cache at about half the f16 one
    kv = [m["measured"]["buffers_mib"]["kv"] for m in result["models"]]
    assert 0.4 < kv[1] / kv[0] < 0.65
    kept = store.load_trial(result["history_id"])
    assert [m.kv_cache_type for m in kept.models] == ["f16", "q8_0"]


def test_fill_proves_the_fit_at_the_context_with_memory_speed_and_needle(
    smol_gguf: Path,
) -> None:
    settings = RunSettings.preset("llama-server", 1024, "f16")
    events: list[object] = []
    run = TrialRun(
        load_set("summarisation").model_copy(update={"prompts": []}),
        [Candidate(smol_gguf, settings)],
        _catalog(),
        detect(),
        fill=True,
        on_event=lambda index, event: events.append(event),
    )
    result = run.run()
    fit = result.models[0].fit
    assert fit is not None and fit.fits, fit
    assert fit.context_tokens == 1024 and 1024 - 160 <= fit.filled_tokens <= 1024
    assert fit.loaded and fit.answered and fit.needle_found is not None
    assert fit.predicted_total_bytes and fit.measured_peak_bytes and fit.memory_ratio
    assert fit.measured_kv_cache_bytes == fit.predicted_kv_cache_bytes  # llama.cpp's buffer
    assert fit.decode_tokens_per_s_at_depth and fit.predicted_decode_tokens_per_s_at_depth
    assert fit.verdict.startswith("fits: loaded and answered with")
    assert any(isinstance(e, StageEvent) and e.stage == "fill" for e in events)


def test_cancel_in_the_middle_stops_within_two_seconds(smol_gguf: Path) -> None:
    settings = RunSettings.preset("llama-server", 512, "f16")
    started = threading.Event()
    run = TrialRun(
        load_set("general"),
        [Candidate(smol_gguf, settings)] * 2,
        _catalog(),
        detect(),
        on_event=lambda index, event: isinstance(event, TrialEvent) and started.set(),
    )
    results: list[Any] = []
    worker = threading.Thread(target=lambda: results.append(run.run()))
    worker.start()
    assert started.wait(300)
    pressed = time.monotonic()
    run.cancel()
    worker.join(10)
    assert not worker.is_alive() and time.monotonic() - pressed < 2.0
    result = results[0]
    assert result.cancelled and not result.passed
    assert len(result.models) == 1  # the second model never loaded
    assert result.models[0].error.startswith("cancelled")
    assert 1 <= len(result.models[0].prompts) < len(load_set("general").prompts)
    assert child_processes() == []


def _catalog() -> Any:
    from modelvet.engine.catalog import bundled_catalog

    return bundled_catalog()
