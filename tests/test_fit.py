"""Memory, placement and speed predictions, table-driven over architectures and hardware."""

from __future__ import annotations

import pytest

from modelvet.engine.fit.memory import RunSettings
from modelvet.engine.fit.single import predict_one
from modelvet.engine.hardware import Gpu, HardwareSpec
from modelvet.engine.vocabulary import GB

MIB = 2**20
DENSE_8B = dict(
    layers=32,
    attention_heads=32,
    kv_heads=8,
    head_dim=128,
    hidden_size=4096,
    vocab_size=128256,
    weights_bytes=4_920_000_000,
)
# Gemma-3-27B-like: 62 layers, 52 of them with a 1024-token window.
SWA_27B = dict(
    layers=62,
    attention_heads=32,
    kv_heads=16,
    head_dim=128,
    hidden_size=5376,
    vocab_size=262208,
    sliding_window=1024,
    sliding_window_layers=52,
    weights_bytes=16_500_000_000,
)
# DeepSeek-V3-like multi-head latent attention: one 512 + 64 latent row per layer and token.
MLA = dict(
    layers=61,
    attention_heads=128,
    hidden_size=7168,
    vocab_size=129280,
    kv_lora_rank=512,
    qk_rope_head_dim=64,
    weights_bytes=400_000_000_000,
)
# A hybrid with 4 of 40 layers keeping a KV cache (Granite-4.0-H-like).
HYBRID = dict(
    layers=40,
    attention_heads=32,
    kv_heads=8,
    head_dim=128,
    hidden_size=4096,
    vocab_size=100352,
    full_attention_layers=4,
    weights_bytes=19_000_000_000,
)


# Gemma-4-31B-like: 50 sliding layers of 16 × 256, 10 global layers of 4 KV heads × 512.
GEMMA4_31B = dict(
    layers=60,
    attention_heads=32,
    kv_heads=16,
    head_dim=256,
    full_attention_kv_heads=4,
    full_attention_head_dim=512,
    hidden_size=5376,
    vocab_size=262144,
    sliding_window=1024,
    sliding_window_layers=50,
    weights_bytes=18_000_000_000,
)
# Gemma-4-E2B-like: 35 layers, 20 reuse an earlier cache; 12 sliding + 3 global own one.
GEMMA4_E2B = dict(
    layers=35,
    attention_heads=8,
    kv_heads=1,
    head_dim=256,
    full_attention_head_dim=512,
    hidden_size=1536,
    vocab_size=262144,
    sliding_window=512,
    sliding_window_layers=12,
    kv_shared_layers=20,
    weights_bytes=3_000_000_000,
)
# Ministral-8B-2410: the config's 27 sliding layers are full-size in llama.cpp.
MINISTRAL = dict(
    layers=36,
    attention_heads=32,
    kv_heads=8,
    head_dim=128,
    hidden_size=4096,
    vocab_size=131072,
    sliding_window=32768,
    sliding_window_layers=27,
    llama_cpp_sliding_window_layers=0,
    weights_bytes=4_900_000_000,
)
# Granite-4.0-H-like with its Mamba-2 state: 36 recurrent layers of (4 − 1) × (8192 + 2 × 128)
# conv + 128 × 8192 SSM elements, f32, one state per slot.
HYBRID_STATE = dict(HYBRID, recurrent_layers=36, recurrent_state_elements=3 * 8448 + 128 * 8192)
SERVER = RunSettings.preset("llama-server", 32768)  # windowed cache, 4 unified slots


@pytest.mark.parametrize(
    ("arch", "settings", "expected_kv_bytes"),
    [
        (DENSE_8B, RunSettings(8192), 2 * 32 * 8 * 128 * 8192 * 2),
        (DENSE_8B, RunSettings(1000), 2 * 32 * 8 * 128 * 1024 * 2),  # cells padded to 256
        # windowed: window × 4 slots + micro-batch; llama-cpp-python: full-size
        (SWA_27B, SERVER, 2 * 16 * 128 * 2 * (10 * 32768 + 52 * 4608)),
        (SWA_27B, RunSettings(32768, parallel_slots=1), 8192 * (10 * 32768 + 52 * 1536)),
        (SWA_27B, RunSettings.preset("llama-cpp-python", 32768), 2 * 16 * 128 * 2 * 62 * 32768),
        (SWA_27B, RunSettings(512), 2 * 16 * 128 * 2 * (10 * 512 + 52 * 512)),  # capped at context
        (MLA, RunSettings(32768), (512 + 64) * 61 * 32768 * 2),  # no V rows
        (HYBRID, RunSettings(131072), 2 * 8 * 128 * 4 * 131072 * 2),
        (
            HYBRID_STATE,
            RunSettings(131072),
            2 * 8 * 128 * 4 * 131072 * 2 + 36 * (3 * 8448 + 128 * 8192) * 4 * 4,
        ),
        (GEMMA4_31B, SERVER, 2 * 2 * (50 * 16 * 256 * 4608 + 10 * 4 * 512 * 32768)),
        # without flash attention V rows are padded to the widest layer's (16 × 256 = 4096)
        (
            GEMMA4_31B,
            RunSettings(32768, flash_attention=False, swa_full=True),
            2 * (50 * (4096 + 4096) + 10 * (2048 + 4096)) * 32768,
        ),
        (
            GEMMA4_E2B,
            RunSettings.preset("llama-server", 131072),
            2 * 2 * (12 * 256 * 2560 + 3 * 512 * 131072),
        ),
        (MINISTRAL, RunSettings(131072), 2 * 36 * 8 * 128 * 131072 * 2),
    ],
)
def test_kv_cache_bytes(arch: dict, settings: RunSettings, expected_kv_bytes: int) -> None:
    assert predict_one(arch, settings)["kv_cache_bytes"] == expected_kv_bytes


def test_quantised_kv_cache_is_smaller_by_its_block_size() -> None:
    f16 = predict_one(DENSE_8B, RunSettings(8192))["kv_cache_bytes"]
    q8 = predict_one(DENSE_8B, RunSettings(8192, "q8_0"))["kv_cache_bytes"]
    q4 = predict_one(DENSE_8B, RunSettings(8192, "q4_0"))["kv_cache_bytes"]
    assert q8 == pytest.approx(f16 * 34 / 64, rel=1e-6)
    assert q4 == pytest.approx(f16 * 18 / 64, rel=1e-6)


def test_compute_buffer_grows_with_context_without_flash_attention() -> None:
    small = predict_one(DENSE_8B, RunSettings(4096, flash_attention=False))["compute_bytes"]
    large = predict_one(DENSE_8B, RunSettings(65536, flash_attention=False))["compute_bytes"]
    flash = predict_one(DENSE_8B, RunSettings(65536, flash_attention=True))["compute_bytes"]
    assert large > 4 * small
    assert flash < large / 10


def test_unknown_architecture_gives_no_prediction() -> None:
    row = dict(DENSE_8B, kv_heads=None)
    assert predict_one(row, RunSettings(8192))["kv_cache_bytes"] is None


def _hw(gpus: list[float], ram_gb: float = 64, unified: bool = False) -> HardwareSpec:
    return HardwareSpec(
        name="test",
        origin="profile",
        ram_gb=ram_gb,
        ram_bandwidth_gbs=80,
        unified_memory=unified,
        gpu_memory_fraction=0.75 if unified else None,
        gpus=[Gpu(name=f"g{i}", memory_gb=m, bandwidth_gbs=1000) for i, m in enumerate(gpus)],
    )


@pytest.mark.parametrize(
    ("weights_gb", "hardware", "placement"),
    [
        (5, _hw([24]), "gpu"),
        (30, _hw([24, 24]), "multi-gpu"),
        (30, _hw([24]), "gpu+cpu"),
        (30, _hw([]), "cpu"),
        (200, _hw([24]), None),
        (40, _hw([], ram_gb=64, unified=True), "gpu"),
        (52, _hw([], ram_gb=64, unified=True), "cpu"),  # over the GPU's 48 GB share
        (58, _hw([], ram_gb=64, unified=True), None),  # and over 90 % of RAM
    ],
)
def test_placement(weights_gb: float, hardware: HardwareSpec, placement: str | None) -> None:
    row = dict(DENSE_8B, weights_bytes=int(weights_gb * GB))
    assert predict_one(row, RunSettings(4096), hardware)["placement"] == placement


def test_speed_is_bounded_by_bandwidth_and_cpu_offload_is_slower() -> None:
    on_gpu = predict_one(DENSE_8B, RunSettings(4096), _hw([24]))
    split = predict_one(dict(DENSE_8B, weights_bytes=30 * GB), RunSettings(4096), _hw([24]))
    assert on_gpu["predicted_tokens_per_s"] < on_gpu["bandwidth_bound_tokens_per_s"]
    bytes_per_token = DENSE_8B["weights_bytes"] + on_gpu["kv_cache_bytes"] * 0.5
    assert on_gpu["bandwidth_bound_tokens_per_s"] == pytest.approx(1000 * GB / bytes_per_token)
    assert split["predicted_tokens_per_s"] < on_gpu["predicted_tokens_per_s"] / 5


def test_no_bandwidth_means_no_speed() -> None:
    hardware = HardwareSpec(name="t", origin="profile", ram_gb=64)
    assert predict_one(DENSE_8B, RunSettings(4096), hardware)["predicted_tokens_per_s"] is None


# Qwen3-30B-A3B-like: 128 experts, 8 routed, 30.5 B total, 3.3 B active.
MOE_30B = dict(
    layers=48,
    attention_heads=32,
    kv_heads=4,
    head_dim=128,
    hidden_size=2048,
    vocab_size=151936,
    experts_total=128,
    experts_active=8,
    weights_bytes=18_600_000_000,
)


def test_moe_keeps_experts_in_ram_when_that_reads_less_from_ram() -> None:
    counts = {"total_params_b": 30.5, "active_params_b": 3.3}
    settings = RunSettings(8192)
    small_gpu = predict_one(MOE_30B | counts, settings, _hw([6]))
    uncounted = predict_one(MOE_30B, settings, _hw([6]))
    assert small_gpu["placement"] == "gpu+cpu" and small_gpu["experts_on_cpu"]
    # Without parameter counts the split cannot be derived: whole layers are split.
    assert not uncounted["experts_on_cpu"]
    assert small_gpu["predicted_tokens_per_s"] > uncounted["predicted_tokens_per_s"]
    # With most layers on a larger GPU, splitting whole layers reads less from RAM: kept.
    large_gpu = predict_one(MOE_30B | counts, settings, _hw([16]))
    assert large_gpu["placement"] == "gpu+cpu" and not large_gpu["experts_on_cpu"]


GPU_TABLE = """
schema_version = 1

[[gpus]]
id = "rtx-3060-12gb"
name = "GeForce RTX 3060"
vendor = "nvidia"
memory_gb = 12
bandwidth_gbs = 360
fp16_tflops = 51.2
sources = ["https://example.org/3060-12"]

[[gpus]]
id = "rtx-3060-8gb"
name = "GeForce RTX 3060"
vendor = "nvidia"
memory_gb = 8
bandwidth_gbs = 240
sources = ["https://example.org/3060-8"]
"""


@pytest.fixture(scope="module")
def catalog_with_gpu_table(tmp_path_factory: pytest.TempPathFactory):
    """The bundled catalog plus a two-card GPU table: one name, two memory sizes."""
    import shutil

    from modelvet.engine.catalog import load_catalog
    from modelvet.engine.catalog.loader import default_catalog_dir

    root = tmp_path_factory.mktemp("catalog") / "catalog"
    shutil.copytree(default_catalog_dir(), root)
    (root / "gpus.toml").write_text(GPU_TABLE)
    catalog = load_catalog(root)
    assert not catalog.problems, catalog.problems
    return catalog


@pytest.mark.parametrize(
    ("detected", "memory_gb", "bandwidth", "tflops", "where"),
    [
        ("NVIDIA GeForce RTX 4090", 23.99, 1008, 165.2, "preset"),
        ("NVIDIA GeForce RTX 4060 Ti", 16.0, 288, None, "preset"),  # not the RTX 4060's 272
        ("NVIDIA GeForce RTX 3060", 12.0, 360, 51.2, "GPU table"),
        ("NVIDIA GeForce RTX 3060 8GB", 8.0, 240, None, "GPU table"),  # the other size
        ("NVIDIA GeForce RTX 3060", 6.0, None, None, None),  # no card of that size
        ("Some Unknown Accelerator", 24.0, None, None, None),
    ],
)
def test_a_gpu_known_by_name_gets_its_numbers(
    catalog_with_gpu_table, detected, memory_gb, bandwidth, tflops, where
):
    from modelvet.engine.hardware import with_known_bandwidth

    spec = HardwareSpec(
        name="t", origin="detected", ram_gb=64, gpus=[Gpu(name=detected, memory_gb=memory_gb)]
    )
    filled = with_known_bandwidth(spec, catalog_with_gpu_table)
    gpu = filled.gpus[0]
    assert (gpu.bandwidth_gbs, gpu.fp16_tflops) == (bandwidth, tflops)
    notes = filled.filled
    assert bool(notes) == (where is not None)
    assert all(where in note for note in notes)


def test_a_gpu_typed_into_a_profile_gets_its_numbers_and_a_speed(catalog_with_gpu_table):
    """Hand-entered hardware (name and memory only) is predicted like a preset; a number the
    user gave is kept."""
    from modelvet.engine.hardware import from_request
    from modelvet.engine.profile import HardwareRequest

    typed = HardwareRequest(
        ram_gb=32,
        gpus=[
            {"name": "RTX 3060", "memory_gb": 12},
            {"name": "RTX 3060", "memory_gb": 12, "bandwidth_gbs": 300},
        ],
    )
    spec = from_request(typed, catalog_with_gpu_table)
    assert [g.bandwidth_gbs for g in spec.gpus] == [360, 300]
    assert [g.fp16_tflops for g in spec.gpus] == [51.2, 51.2]
    model = DENSE_8B | {"total_params_b": 8.0, "active_params_b": 8.0}
    row = predict_one(model, RunSettings(context_tokens=4096), spec)
    assert row["predicted_tokens_per_s"] and row["predicted_prefill_tokens_per_s"]
    from modelvet.engine.profile import Profile
    from modelvet.engine.rank.recommend import prepare, recommend

    result = recommend(Profile(hardware=typed), spec, prepare(catalog_with_gpu_table))
    assert any("taken from the GPU table" in line for line in result.assumptions)


def test_every_bundled_gpu_card_is_found_by_each_of_its_names() -> None:
    """Each card in catalog/gpus.toml, by its name and by each driver alias, at its memory
    size, resolves to its own numbers: no two cards are confused."""
    from modelvet.engine.catalog import bundled_catalog
    from modelvet.engine.hardware import with_known_bandwidth

    catalog = bundled_catalog()
    assert len(catalog.gpus) >= 40
    for card in catalog.gpus.values():
        for name in (card.name, *card.aliases):
            gpu = Gpu(name=f"NVIDIA {name}", memory_gb=card.memory_gb)
            spec = HardwareSpec(name="t", origin="detected", ram_gb=64, gpus=[gpu])
            found = with_known_bandwidth(spec, catalog).gpus[0]
            assert found.bandwidth_gbs == card.bandwidth_gbs, (card.id, name)
