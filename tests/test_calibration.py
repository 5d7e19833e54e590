"""Calibration on this machine: smoke runs' measured ÷ predicted ratios scale later predictions."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelvet.engine.fit import calibration
from modelvet.engine.fit.placement import Capacity
from modelvet.engine.fit.settings import RunSettings
from modelvet.engine.fit.single import predict_one
from modelvet.engine.fit.speed import assumptions
from modelvet.engine.hardware import HardwareSpec

DENSE_1B = dict(
    layers=16,
    attention_heads=32,
    kv_heads=8,
    head_dim=64,
    hidden_size=2048,
    vocab_size=128256,
    weights_bytes=800_000_000,
    total_params_b=1.2,
)


def machine(origin: str = "detected") -> HardwareSpec:
    return HardwareSpec(
        name="this machine",
        origin=origin,
        cpu_model="Test CPU",
        cpu_cores=8,
        ram_gb=32,
        ram_bandwidth_gbs=50,
        isa_flags=["avx2"],
    )


def test_median_of_recent_runs_and_broken_runs_ignored() -> None:
    hw = machine()
    for ratio in (0.5, 0.7, 0.6, 50.0):
        calibration.record(hw, "cpu", ratio)
    found = calibration.calibration_for(hw, "cpu")
    assert (found.decode, found.runs) == (pytest.approx(0.6), 3)
    assert calibration.calibration_for(hw, "cuda").runs == 0  # per backend


def test_predictions_on_this_machine_use_it_and_say_so() -> None:
    hw = machine()
    settings = RunSettings.preset("llama-cpp-python", 4096)
    before = predict_one(DENSE_1B, settings, hw)["predicted_tokens_per_s"]
    for _ in range(3):
        calibration.record(hw, "cpu", 0.8)
    after = predict_one(DENSE_1B, settings, hw)
    assert after["predicted_tokens_per_s"] == pytest.approx(before * 0.8)
    assert after["uncalibrated_tokens_per_s"] == pytest.approx(before)
    notes = assumptions(Capacity.of(hw), settings)
    assert any("calibrated on this machine from 3 run(s)" in note for note in notes)
    # a preset (hardware not yet bought) is never calibrated by this machine's runs
    preset = predict_one(DENSE_1B, settings, machine("preset:x"))["predicted_tokens_per_s"]
    assert preset == pytest.approx(before)


@pytest.mark.llama
def test_a_smoke_run_calibrates_this_machine(smol_gguf: Path) -> None:
    from modelvet.engine.catalog import load_catalog
    from modelvet.engine.machine import detect
    from modelvet.engine.smoke import run_smoke

    hw = detect(measure_bandwidth=True)
    settings = RunSettings.preset("llama-cpp-python", 1024)
    result = run_smoke(smol_gguf, load_catalog(), settings, hw, ["general"], ["en"])
    assert result.passed, result.verdict
    found = calibration.calibration_for(hw, Capacity.of(hw).backend)
    assert found.runs == 1 and found.decode > 0
