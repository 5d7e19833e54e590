"""The speed model's shape: per-token overhead, depth, layer splits, compute, ranges."""

from __future__ import annotations

import pytest

from modelvet.engine.fit.settings import RunSettings
from modelvet.engine.fit.single import predict_one
from modelvet.engine.hardware import Gpu, HardwareSpec

SMALL = dict(  # a SmolLM2-135M-sized model
    layers=30,
    attention_heads=9,
    kv_heads=3,
    head_dim=64,
    hidden_size=576,
    vocab_size=49152,
    weights_bytes=96_000_000,
    total_params_b=0.135,
)
DENSE_8B = dict(
    layers=32,
    attention_heads=32,
    kv_heads=8,
    head_dim=128,
    hidden_size=4096,
    vocab_size=128256,
    weights_bytes=4_920_000_000,
    total_params_b=8.0,
)


def gpus(*bandwidths: float, memory_gb: float = 24, vendor: str = "nvidia") -> HardwareSpec:
    return HardwareSpec(
        name="t",
        origin="profile",
        ram_gb=128,
        ram_bandwidth_gbs=80,
        gpus=[
            Gpu(name=f"RTX {i}", memory_gb=memory_gb, bandwidth_gbs=b, vendor=vendor)
            for i, b in enumerate(bandwidths)
        ],
    )


def test_a_tiny_model_on_a_big_gpu_is_held_back_by_per_token_overhead() -> None:
    out = predict_one(SMALL, RunSettings(4096), gpus(3350, memory_gb=80))
    assert out["bandwidth_bound_tokens_per_s"] > 10_000
    assert out["predicted_tokens_per_s"] < 1_000


def test_decode_slows_as_the_cache_fills() -> None:
    hardware, settings = gpus(1008), RunSettings(32768)
    speeds = [
        predict_one(DENSE_8B, settings, hardware, depth_tokens=d)["predicted_tokens_per_s"]
        for d in (0, 8192, 32768)
    ]
    assert speeds[0] > speeds[1] > speeds[2]


def test_layers_split_over_cards_run_one_after_another() -> None:
    """Two cards holding half the layers each: the slower card's half takes longer, the times
    add, so the pair is slower than the fast card alone and faster than the slow one."""
    settings = RunSettings(4096)
    fast = predict_one(DENSE_8B, settings, gpus(1000))["predicted_tokens_per_s"]
    slow = predict_one(DENSE_8B, settings, gpus(500))["predicted_tokens_per_s"]
    both = predict_one(DENSE_8B, settings, gpus(1000, 500))["predicted_tokens_per_s"]
    assert slow < both < fast
    pair = predict_one(DENSE_8B, settings, gpus(1000, 500), depth_tokens=0)
    harmonic = pair["bandwidth_bound_tokens_per_s"]
    weights = DENSE_8B["weights_bytes"]
    assert harmonic == pytest.approx(1 / (weights / 2 / 1000e9 + weights / 2 / 500e9), rel=0.05)


def test_every_prediction_carries_a_range_and_its_bound() -> None:
    out = predict_one(DENSE_8B, RunSettings(8192), gpus(1008))
    assert out["predicted_tokens_per_s_low"] < out["predicted_tokens_per_s"]
    assert out["predicted_tokens_per_s"] < out["predicted_tokens_per_s_high"]
    assert out["speed_bound"] == "memory bandwidth"


def test_cpu_decode_with_one_thread_is_bounded_by_arithmetic() -> None:
    cpu = HardwareSpec(
        name="cpu",
        origin="profile",
        ram_gb=64,
        ram_bandwidth_gbs=80,
        cpu_cores=16,
        isa_flags=["avx2"],
    )
    one = RunSettings.preset("llama-cpp-python", 4096, threads=1, gpu_layers=0)
    many = RunSettings.preset("llama-cpp-python", 4096, threads=16, gpu_layers=0)
    slow = predict_one(DENSE_8B, one, cpu)["predicted_tokens_per_s"]
    fast = predict_one(DENSE_8B, many, cpu)["predicted_tokens_per_s"]
    assert slow < fast / 2


def test_cpu_threads_pay_for_waiting_on_each_other() -> None:
    """A tiny model on two threads is not twice as fast as on one: the threads wait for each
    other after every layer's work (SmolLM2 on this project's machine: 74 vs 114–130 tokens/s),
    and one thread waits for nobody."""
    from modelvet.engine.fit.speed import BACKENDS, CPU_THREAD_SYNC_PER_LAYER_S

    cpu = HardwareSpec(name="cpu", origin="profile", ram_gb=16, ram_bandwidth_gbs=80, cpu_cores=2)
    speeds = {}
    for threads in (1, 2):
        settings = RunSettings.preset("llama-cpp-python", 4096, threads=threads, gpu_layers=0)
        speeds[threads] = predict_one(SMALL, settings, cpu)["predicted_tokens_per_s"]
    layers = SMALL["layers"]
    backend = BACKENDS["cpu"]
    single_wait = backend.overhead_s + layers * backend.overhead_per_layer_s
    # Without arithmetic limits (no ISA flags): bandwidth time alike, only the waiting differs.
    assert 1 / speeds[2] - 1 / speeds[1] == pytest.approx(layers * CPU_THREAD_SYNC_PER_LAYER_S)
    assert 1 / speeds[1] > single_wait


def test_a_moe_file_reads_only_its_routed_experts() -> None:
    from types import SimpleNamespace

    from modelvet.engine.gguf_file import _active_parameters

    tensors = [
        SimpleNamespace(name="token_embd.weight", n_elements=1_000),
        SimpleNamespace(name="blk.0.attn_q.weight", n_elements=1_000),
        SimpleNamespace(name="blk.0.ffn_up_exps.weight", n_elements=128_000),
    ]
    # 8 of 128 experts: 2,000 dense + 8/128 of the experts' 128,000
    assert _active_parameters(tensors, 128, 8) == 2_000 + 8_000
    assert _active_parameters(tensors, None, None) is None


@pytest.mark.parametrize("profile_name", ["us-defense-24gb.toml", "eu-company-mac-cloud.toml"])
def test_every_recommended_prediction_carries_its_range(profile_name: str) -> None:
    """Each local recommendation's decode prediction comes with the range around it, in the
    JSON and in the record's words; a hosted model has neither."""
    from modelvet.engine.catalog import bundled_catalog
    from modelvet.engine.profile import load_profile
    from modelvet.engine.rank.recommend import recommend
    from modelvet.engine.report import render
    from tests.helpers import REPO

    result = recommend(load_profile(REPO / "examples" / profile_name))
    local = [m for m in result.recommended if m.predicted_tokens_per_s is not None]
    assert local
    for item in local:
        assert item.predicted_tokens_per_s_range is not None
        low, high = item.predicted_tokens_per_s_range
        assert low < item.predicted_tokens_per_s < high
    for item in result.recommended:
        if item.placement == "hosted":
            assert item.predicted_tokens_per_s_range is None
    top = local[0].predicted_tokens_per_s_range
    assert top is not None
    record = render(result, "md", catalog=bundled_catalog()).decode()
    assert f"likely {top[0]:.0f}–{top[1]:.0f}" in record
