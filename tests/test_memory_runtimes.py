"""Predicted memory against the buffers llama.cpp reports, under both runtime presets.

Real loads in the smoke child of SmolLM2 and of generated files for a sliding-window
architecture (gemma3), one whose layers differ in KV geometry and share caches (gemma4), a
mixture of experts (qwen3moe), a state-space model (mamba2) and a hybrid of attention and
Mamba-2 layers (granitehybrid).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from modelvet.engine.fit.settings import RUNTIMES, RunSettings
from modelvet.engine.gguf_file import read_gguf
from modelvet.engine.inspect import predict_memory
from modelvet.engine.smoke.protocol import (
    BuffersEvent,
    ErrorEvent,
    LoadedEvent,
    ProbeEvent,
    ResultEvent,
    SmokeRequest,
    TimingEvent,
    settings_fields,
)
from modelvet.engine.smoke.runner import SmokeSession
from tests.helpers import run_modelvet
from tests.tiny_gguf import (
    HybridShape,
    MambaShape,
    MoeShape,
    TinyShape,
    write_gemma3,
    write_gemma4,
    write_granitehybrid,
    write_mamba2,
    write_qwen3moe,
)

pytestmark = pytest.mark.llama
MIB = 2**20
GEMMA4_SHAPE = TinyShape(layers=15, shared_kv_layers=5)


@pytest.fixture(scope="session")
def gemma3_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_gemma3(tmp_path_factory.mktemp("gguf") / "tiny-gemma3.gguf")


@pytest.fixture(scope="session")
def gemma4_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_gemma4(tmp_path_factory.mktemp("gguf") / "tiny-gemma4.gguf", GEMMA4_SHAPE)


def load(path: Path, settings: RunSettings) -> BuffersEvent:
    """Load the file in the smoke child with exactly these settings; its `buffers` event."""
    request = SmokeRequest(model_path=str(path), generate_tokens=0, **settings_fields(settings))
    events = SmokeSession(request, lambda e: None, timeout_s=120).run()
    errors = [e for e in events if isinstance(e, ErrorEvent)]
    assert not errors, errors
    return next(e for e in events if isinstance(e, BuffersEvent))


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("context", [1000, 8192])
@pytest.mark.parametrize("model", ["smol_gguf", "gemma3_gguf", "gemma4_gguf"])
def test_prediction_matches_llama_cpp_buffers(
    model: str, context: int, runtime: str, request: pytest.FixtureRequest
) -> None:
    path = request.getfixturevalue(model)
    settings = RunSettings.preset(runtime, context)
    buffers = load(path, settings)
    measured = buffers.mib
    predicted = predict_memory(read_gguf(path), settings)
    for key, kind, tolerance in (
        ("weights_bytes", "model", 0.05),
        ("kv_cache_bytes", "kv", 0.05),
        ("compute_bytes", "compute", 0.15),
    ):
        ours = getattr(predicted, key) / MIB
        assert ours == pytest.approx(measured[kind], rel=tolerance), (key, ours, measured)
    # The child ran the configuration the prediction describes, as llama.cpp states it.
    applied = buffers.applied
    assert applied["n_seq_max"] == str(settings.parallel_slots)
    assert applied["n_ubatch"] == str(settings.ubatch)
    assert applied["flash_attn"] == ("enabled" if settings.flash_attention else "disabled")


def test_sliding_window_cache_follows_swa_full(gemma3_gguf: Path) -> None:
    """The same runtime, one flag apart: the windowed cache is the smaller, as predicted."""
    facts = read_gguf(gemma3_gguf)
    sizes = {}
    for swa_full in (True, False):
        settings = RunSettings.preset("llama-cpp-python", 8192, swa_full=swa_full)
        measured = load(gemma3_gguf, settings).mib["kv"]
        predicted = predict_memory(facts, settings).kv_cache_bytes / MIB
        assert predicted == pytest.approx(measured, rel=0.05)
        sizes[swa_full] = measured
    assert sizes[False] < sizes[True] / 2


def test_gguf_reader_sees_each_layer_type(gemma4_gguf: Path) -> None:
    facts = read_gguf(gemma4_gguf)
    shape = GEMMA4_SHAPE
    assert (facts.kv_heads, facts.head_dim) == (shape.kv_heads, shape.head_dim)
    assert facts.full_attention_kv_heads == shape.full_kv_heads
    assert facts.full_attention_head_dim == shape.full_head_dim
    assert facts.kv_shared_layers == 5
    # layers 0–9 own a cache: 4 and 9 are global, the other eight slide
    assert (facts.sliding_window_layers, facts.full_attention_layers) == (8, 2)


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_smoke_table_compares_the_configuration_it_ran(gemma3_gguf: Path, runtime: str) -> None:
    """`modelvet smoke --runtime R` predicts and runs R's settings: KV cache ratio 1, and a file
    without a chat template is prompted through llama.cpp's built-in one for its architecture."""
    import json

    done = run_modelvet(
        "smoke", str(gemma3_gguf), "--context", "8192", "--runtime", runtime, "--json"
    )
    assert done.returncode in (0, 1), done.stderr
    result = json.loads(done.stdout)
    assert result["settings"].startswith(f"{runtime}:")
    rows = {row["quantity"]: row for row in result["comparisons"]}
    assert rows["KV cache"]["ratio"] == pytest.approx(1.0, abs=0.05)
    assert rows["compute buffer"]["ratio"] == pytest.approx(1.0, abs=0.15)
    assert any("built-in 'gemma' chat format" in check for check in result["checks"])
    assert not any("the prediction assumes" in check for check in result["checks"])


def test_a_model_that_answers_no_probe_fails(gemma3_gguf: Path) -> None:
    from modelvet.engine.catalog import load_catalog
    from modelvet.engine.machine import detect
    from modelvet.engine.smoke import check_before_load, summarise

    settings = RunSettings.preset("llama-cpp-python", 1024)
    pre = check_before_load(gemma3_gguf, load_catalog(), settings, detect(measure_bandwidth=False))
    probe = {"task": "general", "prompt": "2+2?", "passed": False, "why": "-", "seconds": 0.1}
    events = [
        LoadedEvent(seconds=0.5, n_ctx=1024, n_threads=1, peak_rss_bytes=1, chat_format=None),
        TimingEvent(
            prompt_tokens=9,
            prompt_seconds=0.1,
            generated_tokens=5,
            generation_seconds=0.1,
            time_to_first_token_s=0.1,
            peak_rss_bytes=1,
        ),
        ProbeEvent(**probe, id="arithmetic", answer="", tokens=0),
        ProbeEvent(**probe, id="json", answer="  ", tokens=1),
        ResultEvent(peak_rss_bytes=1),
    ]
    result = summarise(pre, events)
    assert not result.passed
    assert "answered nothing to any of the 2 probes" in result.verdict
    events[2] = ProbeEvent(**probe, id="arithmetic", answer="4", tokens=1)
    assert summarise(pre, events).passed


@pytest.fixture(scope="session")
def mamba2_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_mamba2(tmp_path_factory.mktemp("gguf") / "tiny-mamba2.gguf")


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_recurrent_state_matches_llama_cpp(mamba2_gguf: Path, runtime: str) -> None:
    """A state-space model keeps a fixed f32 state per slot (llama.cpp's RS buffer), not a KV
    cache that grows with the context."""
    facts = read_gguf(mamba2_gguf)
    shape = MambaShape()
    conv = (shape.conv - 1) * (shape.inner + 2 * shape.groups * shape.state)
    assert facts.recurrent_layers == shape.layers
    assert facts.recurrent_state_elements == conv + shape.state * shape.inner
    for context in (1000, 8192):
        settings = RunSettings.preset(runtime, context)
        measured = load(mamba2_gguf, settings).mib
        predicted = predict_memory(facts, settings)
        assert predicted.weights_bytes / MIB == pytest.approx(measured["model"], rel=0.05)
        state = measured.get("rs", 0.0) + measured.get("kv", 0.0)
        assert predicted.kv_cache_bytes / MIB == pytest.approx(state, rel=0.05)


def test_inspect_json_names_the_runtime_and_each_layer_type(gemma4_gguf: Path) -> None:
    import json

    done = run_modelvet(
        "inspect",
        str(gemma4_gguf),
        "--context",
        "8192",
        "--runtime",
        "llama-cpp-python",
        "--swa-full",
        "--json",
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["runtime"]["runtime"] == "llama-cpp-python" and report["runtime"]["swa_full"]
    assert report["settings"].startswith("llama-cpp-python:")
    shape = GEMMA4_SHAPE
    assert (report["full_attention_kv_heads"], report["full_attention_head_dim"]) == (
        shape.full_kv_heads,
        shape.full_head_dim,
    )
    assert report["kv_shared_layers"] == shape.shared_kv_layers


@pytest.fixture(scope="session")
def qwen3moe_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_qwen3moe(tmp_path_factory.mktemp("gguf") / "tiny-qwen3moe.gguf")


@pytest.fixture(scope="session")
def granitehybrid_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_granitehybrid(tmp_path_factory.mktemp("gguf") / "tiny-granitehybrid.gguf")


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("context", [1000, 8192])
@pytest.mark.parametrize("model", ["qwen3moe_gguf", "granitehybrid_gguf", "mamba2_gguf"])
def test_moe_and_recurrent_predictions_match_llama_cpp_buffers(
    model: str, context: int, runtime: str, request: pytest.FixtureRequest
) -> None:
    """Routed experts' activations and recurrent layers' scan set the compute buffer here; a
    recurrent layer's state (llama.cpp's RS buffer) counts with the KV cache."""
    path = request.getfixturevalue(model)
    settings = RunSettings.preset(runtime, context)
    buffers = load(path, settings)
    measured = buffers.mib
    predicted = predict_memory(read_gguf(path), settings)
    state = measured.get("kv", 0.0) + measured.get("rs", 0.0)
    for key, theirs, tolerance in (
        ("weights_bytes", measured["model"], 0.05),
        ("kv_cache_bytes", state, 0.05),
        ("compute_bytes", measured["compute"], 0.15),
    ):
        ours = getattr(predicted, key) / MIB
        assert ours == pytest.approx(theirs, rel=tolerance), (key, ours, measured)
    assert buffers.applied["n_seq_max"] == str(settings.parallel_slots)


def test_gguf_reader_sees_experts_and_hybrid_layers(
    qwen3moe_gguf: Path, granitehybrid_gguf: Path
) -> None:
    moe, shape = read_gguf(qwen3moe_gguf), MoeShape()
    assert (moe.experts_total, moe.experts_active) == (shape.experts, shape.experts_used)
    assert moe.expert_intermediate_size == shape.expert_ffn
    assert moe.intermediate_size == shape.ffn
    assert moe.active_parameter_count is not None
    assert moe.active_parameter_count < moe.parameter_count
    hybrid, layout = read_gguf(granitehybrid_gguf), HybridShape()
    attending = sum(layout.attends(i) for i in range(layout.layers))
    assert hybrid.full_attention_layers == attending == 2
    assert hybrid.recurrent_layers == layout.layers - attending
    conv_dim = layout.inner + 2 * layout.groups * layout.state
    assert hybrid.recurrent_state_elements == (layout.conv - 1) * conv_dim + (
        layout.state * layout.inner
    )
    assert hybrid.recurrent_projection_width == layout.inner + conv_dim + layout.ssm_heads
    assert hybrid.kv_heads == layout.kv_heads


def test_expert_activations_outgrow_a_dense_feed_forward(qwen3moe_gguf: Path) -> None:
    """More routed experts per token, more compute buffer: measured and predicted alike."""
    settings = RunSettings.preset("llama-server", 1000)
    wider = write_qwen3moe(
        qwen3moe_gguf.with_name("tiny-qwen3moe-8used.gguf"), MoeShape(experts_used=8)
    )
    sizes = {}
    for path in (qwen3moe_gguf, wider):
        measured = load(path, settings).mib["compute"]
        predicted = predict_memory(read_gguf(path), settings).compute_bytes / MIB
        assert predicted == pytest.approx(measured, rel=0.15)
        sizes[path] = measured
    assert sizes[wider] > sizes[qwen3moe_gguf] * 1.4
