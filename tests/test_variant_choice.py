"""How each model's variant is chosen: the stated trade-off, its alternatives, and its properties.

Two kinds of test: small tables of variants whose choice the trade-off decides by hand, and
properties of the whole ranking over the bundled catalog on several hardware profiles.
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl
import pytest

from modelvet.engine.fit.placement import Capacity
from modelvet.engine.fit.quants import BITS_PER_WEIGHT, UNKNOWN_QUANT_BITS
from modelvet.engine.hardware import HardwareSpec
from modelvet.engine.profile import Profile, parse_profile
from modelvet.engine.rank.alternatives import choose
from modelvet.engine.rank.quality import quality_basis, quality_table
from modelvet.engine.rank.recommend import recommend
from modelvet.engine.rank.result import Recommendation, RecommendedModel
from modelvet.engine.rank.variant import TRADE_OFFS, four_bit_loss_pct, order_variants, value

# --- the trade-off on hand-made variants ----------------------------------------------------


def _variants(*rows: tuple[str, str, float]) -> pl.DataFrame:
    """(quant, placement, tokens/s) → a frame of one model's admissible variants."""
    records: list[dict[str, Any]] = []
    for quant, where, speed in rows:
        loss, basis = quality_basis(quant)
        records.append(
            {
                "model_id": "m",
                "quant": quant,
                "placement": where,
                "hosted": False,
                "predicted_tokens_per_s": speed,
                "meets_speed_target": speed >= 10,
                "quality_loss_pct": loss,
                "quality_basis": basis,
                "memory_headroom": 0.3,
                "total_bytes": 1,
                "publisher": "p",
                "size_bytes": 1,
                "files": ["f.gguf"],
                "sha256": None,
                "gpu_share": 1.0,
                "run_command": "llama-server",
            }
        )
    return pl.DataFrame(records)


def _choice(rows: pl.DataFrame, priority: str) -> tuple[str, str]:
    chosen = choose(order_variants(rows, priority, 10.0), priority).row(0, named=True)
    return chosen["quant"], chosen["placement"]


CASES = [
    # The case: Q8_0 split at 40 tokens/s, Q4_K_M fully on the GPU at 118.
    (
        [("Q8_0", "gpu+cpu", 40.0), ("Q4_K_M", "gpu", 118.0)],
        {"quality": "Q8_0", "balanced": "Q4_K_M", "speed": "Q4_K_M"},
    ),
    # Both on the GPU: balanced keeps the quality; only speed pays 2.8 % for 1.7× the speed.
    (
        [("Q8_0", "gpu", 60.0), ("Q4_K_M", "gpu", 100.0)],
        {"quality": "Q8_0", "balanced": "Q8_0", "speed": "Q4_K_M"},
    ),
    # A GPU variant that costs much more quality (Q3_K_M: +10.5 %, below 4-bit) does not beat a
    # split under balanced; under speed it does.
    (
        [("Q4_K_M", "gpu+cpu", 20.0), ("Q3_K_M", "gpu", 60.0)],
        {"quality": "Q4_K_M", "balanced": "Q4_K_M", "speed": "Q3_K_M"},
    ),
    # The floor comes first: Q8_0 below it loses whatever the priority.
    (
        [("Q8_0", "gpu+cpu", 5.0), ("Q4_K_M", "gpu+cpu", 15.0)],
        {"quality": "Q4_K_M", "balanced": "Q4_K_M", "speed": "Q4_K_M"},
    ),
    # A 4-bit GPU variant beats a split under balanced even past the 3 % margin (Q4_0: +7.5 %).
    (
        [("Q8_0", "gpu+cpu", 44.0), ("Q4_0", "gpu", 250.0)],
        {"quality": "Q8_0", "balanced": "Q4_0", "speed": "Q4_0"},
    ),
    # Multi-GPU counts as fully on the GPUs.
    (
        [("Q8_0", "cpu", 12.0), ("Q6_K", "multi-gpu", 50.0)],
        {"quality": "Q6_K", "balanced": "Q6_K", "speed": "Q6_K"},
    ),
]


@pytest.mark.parametrize(("rows", "expected"), CASES)
@pytest.mark.parametrize("priority", ["quality", "balanced", "speed"])
def test_trade_off_chooses_as_stated(rows, expected, priority: str) -> None:
    assert _choice(_variants(*rows), priority)[0] == expected[priority]


def test_reason_says_what_was_traded() -> None:
    rows = _variants(("Q8_0", "gpu+cpu", 40.0), ("Q4_K_M", "gpu", 118.0))
    chosen = choose(order_variants(rows, "balanced", 10.0), "balanced").row(0, named=True)
    assert chosen["variant_choice"].startswith("variant: Q4_K_M fully on the GPU, 118 tokens/s")
    assert (
        "instead of Q8_0 split GPU/CPU at 40 tokens/s: traded 2.77 % perplexity"
        in (chosen["variant_choice"])
    )
    (alternative,) = chosen["alternatives"]
    assert alternative["quant"] == "Q8_0"
    assert "not fully on the GPU" in alternative["trade"]


def test_speed_above_the_floor_has_diminishing_returns() -> None:
    """Each doubling is worth the same: 20 → 40 tokens/s counts as much as 100 → 200."""
    frame = _variants(
        ("Q8_0", "gpu", 20), ("Q8_0", "gpu", 40), ("Q8_0", "gpu", 100), ("Q8_0", "gpu", 200)
    )
    values = frame.select(value(TRADE_OFFS["balanced"], 10.0)).to_series().to_list()
    assert values[1] - values[0] == pytest.approx(values[3] - values[2])
    assert values[1] - values[0] == pytest.approx(TRADE_OFFS["balanced"].speed_pct_per_doubling)


def test_quality_loss_comes_from_llama_cpp_table() -> None:
    table = quality_table()
    assert table.source.startswith("https://github.com/ggml-org/llama.cpp/")
    # Llama-3-8B Q4_K_M: ΔPPL 0.175482 on PPL 6.407115 (the README's row without imatrix).
    assert quality_basis("Q4_K_M")[0] == pytest.approx(100 * 0.175482 / (6.407115 - 0.175482))
    assert quality_basis("BF16")[0] == 0.0
    losses = [quality_basis(q)[0] for q in ("Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q3_K_M", "Q2_K")]
    assert losses == sorted(losses)
    # Not in the table, bits unknown (counted as 4): the measured type with most bits up to 4.
    loss, basis = quality_basis("Q3_K_XL")
    measured = [q for q in table.loss_pct if BITS_PER_WEIGHT.get(q, 99.0) <= UNKNOWN_QUANT_BITS]
    stand_in = max(measured, key=lambda q: BITS_PER_WEIGHT[q])
    assert loss == quality_basis(stand_in)[0] and f"taken as {stand_in}" in basis


# --- properties over the bundled catalog -----------------------------------------------------


def _hardware(gpu_gb: float, ram_gb: float = 64, gpus: int = 1) -> HardwareSpec:
    return HardwareSpec(
        name=f"{gpus}x{gpu_gb} GB GPU, {ram_gb} GB RAM",
        origin="profile",
        ram_gb=ram_gb,
        ram_bandwidth_gbs=80,
        cpu_cores=16,
        gpus=[{"name": "GPU", "memory_gb": gpu_gb, "bandwidth_gbs": 1000}] * gpus,
    )


def _profile(priority: str = "balanced", context: int = 32768, tasks=("coding",)) -> Profile:
    return parse_profile(
        {
            "organisation": {"country": "US", "sector": "commercial"},
            "security": {"policy": "no-restrictions", "deployment": "on-prem"},
            "capability": {
                "tasks": list(tasks),
                "context_tokens": context,
                "min_tokens_per_s": 10,
                "priority": priority,
            },
        }
    )


HARDWARE = {
    "8 GB GPU": _hardware(8, 32),
    "16 GB GPU": _hardware(16, 32),
    "24 GB GPU": _hardware(24),
    "24 GB GPU, 128 GB RAM": _hardware(24, 128),
    "2x24 GB GPU": _hardware(24, 128, gpus=2),
    "48 GB GPU": _hardware(48, 128),
    "CPU only": HardwareSpec(
        name="CPU", origin="profile", ram_gb=64, ram_bandwidth_gbs=80, cpu_cores=16
    ),
}


def _by_id(result: Recommendation) -> dict[str, RecommendedModel]:
    return {m.model_id: m for m in result.recommended if m.placement != "hosted"}


@pytest.fixture(scope="module")
def results() -> dict[tuple[str, str], Recommendation]:
    return {
        (hw, priority): recommend(_profile(priority), HARDWARE[hw])
        for hw in HARDWARE
        for priority in TRADE_OFFS
    }


@pytest.mark.parametrize("hw", list(HARDWARE))
def test_balanced_never_keeps_a_split_a_close_gpu_variant_beats(results, hw: str) -> None:
    margin = TRADE_OFFS["balanced"].gpu_margin_pct
    for model in _by_id(results[hw, "balanced"]).values():
        if model.placement in ("gpu", "multi-gpu") or not model.meets_speed_target:
            continue
        for alternative in model.alternatives:
            assert not (
                alternative.placement in ("gpu", "multi-gpu")
                and alternative.meets_speed_target
                and (alternative.predicted_tokens_per_s or 0) >= (model.predicted_tokens_per_s or 0)
                and (
                    (alternative.quality_loss_pct or 0) - (model.quality_loss_pct or 0) < margin
                    or (alternative.quality_loss_pct or 0) <= four_bit_loss_pct()
                )
            ), (model.model_id, model.quant, alternative.quant)


def test_with_24_gb_the_top_picks_run_on_the_gpu_unless_that_costs_too_much(results) -> None:
    """Split only where every GPU-only variant loses the margin or more (or is too slow)."""
    margin = TRADE_OFFS["balanced"].gpu_margin_pct
    top = list(_by_id(results["24 GB GPU", "balanced"]).values())[:10]
    for model in top:
        assert model.variant_choice and model.variant_choice.startswith("variant: ")
        if model.placement == "gpu":
            continue
        for alternative in (a for a in model.alternatives if a.placement == "gpu"):
            cost = (alternative.quality_loss_pct or 0) - (model.quality_loss_pct or 0)
            below_four_bit = (alternative.quality_loss_pct or 0) > four_bit_loss_pct()
            assert (cost >= margin and below_four_bit) or not alternative.meets_speed_target, (
                model.model_id
            )
    assert sum(m.placement == "gpu" for m in top) >= 5  # the catalog has such models: not vacuous


@pytest.mark.parametrize("hw", list(HARDWARE))
def test_quality_and_speed_priorities_order_as_named(results, hw: str) -> None:
    compared = 0
    quality, balanced, speed = (_by_id(results[hw, p]) for p in ("quality", "balanced", "speed"))
    for model_id in quality.keys() & balanced.keys() & speed.keys():
        q, b, s = quality[model_id], balanced[model_id], speed[model_id]
        losses = [m.quality_loss_pct or 0.0 for m in (q, b, s)]
        speeds = [m.predicted_tokens_per_s or 0.0 for m in (q, b, s)]
        assert losses == sorted(losses), (model_id, [m.quant for m in (q, b, s)])
        assert speeds == sorted(speeds), (model_id, [m.quant for m in (q, b, s)])
        compared += q.quant != s.quant
    if hw != "CPU only":
        assert compared > 0  # some model's choice differs between priorities: not vacuous


@pytest.mark.parametrize(
    ("smaller", "larger"),
    [
        ("8 GB GPU", "16 GB GPU"),
        ("16 GB GPU", "24 GB GPU"),
        ("24 GB GPU", "48 GB GPU"),
        ("24 GB GPU", "2x24 GB GPU"),
        ("24 GB GPU", "24 GB GPU, 128 GB RAM"),
    ],
)
@pytest.mark.parametrize("priority", list(TRADE_OFFS))
def test_more_memory_never_buys_a_slower_variant_of_no_better_quality(
    results, smaller: str, larger: str, priority: str
) -> None:
    """More memory may buy quality at some speed, but never a variant slower *and* no better."""
    before, after = _by_id(results[smaller, priority]), _by_id(results[larger, priority])
    for model_id in before.keys() & after.keys():
        old, new = before[model_id], after[model_id]
        slower = (new.predicted_tokens_per_s or 0) < (old.predicted_tokens_per_s or 0) - 1e-9
        better = (new.quality_loss_pct or 0) < (old.quality_loss_pct or 0)
        assert not slower or better, (model_id, old.quant, old.placement, new.quant, new.placement)


@pytest.mark.parametrize("hw", list(HARDWARE))
def test_every_alternative_is_admissible(results, hw: str) -> None:
    hardware = HARDWARE[hw]
    cap = Capacity.of(hardware)
    room = {
        "gpu": cap.largest_gpu_bytes,
        "multi-gpu": cap.all_gpus_bytes,
        "gpu+cpu": cap.all_gpus_bytes + cap.ram_bytes,
        "cpu": cap.ram_bytes,
    }
    for model in _by_id(results[hw, "balanced"]).values():
        for alternative in model.alternatives:
            assert alternative.predicted_memory_bytes is not None
            assert alternative.predicted_memory_bytes <= room[alternative.placement]
            assert alternative.run_command and alternative.run_command.startswith("llama-server")


def test_alternatives_obey_the_same_policy_rules() -> None:
    """With published hashes required, no alternative lacks one; without, some do."""
    strict = _profile().model_copy(deep=True)
    strict.security.require_published_hashes = True
    loose = recommend(_profile(), HARDWARE["24 GB GPU"])
    hashed = recommend(strict, HARDWARE["24 GB GPU"])
    assert any(a.sha256 is None for m in loose.recommended for a in m.alternatives)
    assert all(a.sha256 for m in hashed.recommended for a in m.alternatives)
    assert all(m.sha256 for m in hashed.recommended if m.placement != "hosted")


# --- context planning and the command line ---------------------------------------------------


def _keeps_placement(model: RecommendedModel, hw: str, context: int, kv: str) -> bool:
    profile = _profile(context=context)
    profile.capability.kv_cache_type = kv  # type: ignore[assignment]
    same = _by_id(recommend(profile, HARDWARE[hw])).get(model.model_id)
    if same is None:
        return False
    variants = [(same.quant, same.placement)] + [(a.quant, a.placement) for a in same.alternatives]
    return (model.quant, model.placement) in variants


@pytest.mark.parametrize("hw", ["16 GB GPU", "24 GB GPU", "48 GB GPU"])
def test_max_context_fits_and_twice_as_much_would_not(hw: str) -> None:
    """The reported maximum keeps the placement; twice as much does not (a factor-2 bound)."""
    result = recommend(_profile(context=8192), HARDWARE[hw])
    checked = 0
    for model in _by_id(result).values():
        most = model.max_context_tokens
        assert most is not None and most.f16 is not None and most.q8_0 is not None
        assert most.f16 <= most.q8_0 <= (model.context_length or math.inf)
        assert most.f16 >= 8192  # the requested context fits, so at least that much
        for kv, tokens in (("f16", most.f16), ("q8_0", most.q8_0)):
            if tokens >= (model.context_length or 0) or (kv == "q8_0" and checked >= 4):
                continue
            assert _keeps_placement(model, hw, tokens, kv), (model.model_id, kv, tokens)
            if checked < 4 and 2 * tokens <= (model.context_length or 0):
                assert not _keeps_placement(model, hw, 2 * tokens, kv), (model.model_id, kv)
            checked += 1
    assert checked  # some model is limited by memory, not only by its own context length


@pytest.mark.parametrize("hw", ["24 GB GPU", "2x24 GB GPU", "CPU only"])
def test_memory_against_context_grows_and_matches_the_prediction(hw: str) -> None:
    from modelvet.engine.rank.recommend import memory_against_context

    profile = _profile()
    result = recommend(profile, HARDWARE[hw])
    models = list(_by_id(result).values())[:4]
    curves = memory_against_context(profile, HARDWARE[hw], models)
    assert set(curves) == {m.model_id for m in models}
    for model in models:
        plan = curves[model.model_id]
        f16 = [p.f16_bytes or 0 for p in plan]
        assert len(plan) >= 5 and f16 == sorted(f16)
        assert all((p.q8_0_bytes or 0) < (p.f16_bytes or 0) for p in plan)
        assert plan[-1].context_tokens <= (model.context_length or 0)
        # The curve at the requested context brackets the recommendation's own prediction.
        at = {p.context_tokens: p.f16_bytes for p in plan}
        if 32768 in at and model.placement != "multi-gpu":
            assert at[32768] == pytest.approx(model.predicted_memory_bytes, rel=0.01)


def test_run_command_realises_the_placement() -> None:
    result = recommend(_profile(), HARDWARE["24 GB GPU"])
    seen = set()
    for model in _by_id(result).values():
        command = model.run_command or ""
        assert command.startswith("llama-server -m ") and " -c 32768 " in command
        assert "--cache-type-k f16 --cache-type-v f16" in command and command.endswith(" -t 16")
        if model.placement == "gpu":
            assert " -ngl 999 " in command and "--n-cpu-moe" not in command
        elif "--n-cpu-moe" in command:
            assert " -ngl 999 " in command  # experts in RAM, everything else on the GPU
        else:
            layers = int(command.split(" -ngl ")[1].split()[0])
            assert 0 < layers < 999
        seen.add(model.placement)
    assert {"gpu", "gpu+cpu"} <= seen
    for model in _by_id(recommend(_profile(), HARDWARE["CPU only"])).values():
        assert " -ngl 0 " in (model.run_command or "")


def test_priority_round_trips_through_the_profile_file(tmp_path) -> None:
    from modelvet.engine.profile import load_profile, save_profile

    save_profile(_profile("speed"), tmp_path / "p.toml")
    assert load_profile(tmp_path / "p.toml").capability.priority == "speed"
    with pytest.raises(Exception, match="priority"):
        parse_profile({"capability": {"priority": "fastest"}})


def test_json_lists_alternatives_context_and_command() -> None:
    import json

    from modelvet.engine.rank.recommend import recommend_json

    item = json.loads(recommend_json(_profile(), HARDWARE["24 GB GPU"]))["recommended"][0]
    assert {"alternatives", "max_context_tokens", "run_command", "variant_choice"} <= item.keys()


def test_vision_commands_load_the_projector_the_catalog_names() -> None:
    result = recommend(_profile(tasks=("vision",)), HARDWARE["24 GB GPU"])
    local = [m for m in _by_id(result).values() if "image" in m.modalities]
    named = [m for m in local if m.projector_file]
    assert named, "the catalog names some projector files: not vacuous"
    for model in local:
        command = model.run_command or ""
        projector = [r for r in model.reasons if "projector" in r]
        assert len(projector) == 1
        if model.projector_file:
            assert f" --mmproj {model.projector_file} " in command
        else:
            assert "--mmproj" not in command and "does not name it" in projector[0]
    text_only = recommend(_profile(tasks=("coding",)), HARDWARE["24 GB GPU"])
    assert not any("--mmproj" in (m.run_command or "") for m in text_only.recommended)


@pytest.mark.parametrize("hw", ["16 GB GPU", "24 GB GPU"])
def test_each_alternative_alone_is_recommended_as_listed(hw: str) -> None:
    """Remove every other variant: the alternative is admitted by the same rules, as listed."""
    from dataclasses import replace as with_fields

    from modelvet.engine.rank.recommend import _prepared_bundled

    prepared = _prepared_bundled()
    profile = _profile()
    checked = 0
    for model in _by_id(recommend(profile, HARDWARE[hw])).values():
        for alternative in model.alternatives[:2]:
            only = prepared.variants.filter(
                (pl.col("model_id") == model.model_id)
                & (pl.col("quant") == alternative.quant)
                & pl.col("publisher").eq_missing(alternative.publisher)
            )
            alone = recommend(profile, HARDWARE[hw], with_fields(prepared, variants=only.head(1)))
            (item,) = alone.recommended
            assert (item.quant, item.placement, item.predicted_memory_bytes) == (
                alternative.quant,
                alternative.placement,
                alternative.predicted_memory_bytes,
            )
            checked += 1
        if checked >= 6:
            break
    assert checked >= 4


def test_without_bandwidth_figures_a_close_gpu_variant_still_beats_a_split() -> None:
    rows = _variants(("Q8_0", "gpu+cpu", 40.0), ("Q4_K_M", "gpu", 118.0)).with_columns(
        pl.lit(None, dtype=pl.Float64).alias("predicted_tokens_per_s"),
        pl.lit(None, dtype=pl.Boolean).alias("meets_speed_target"),
    )
    assert _choice(rows, "balanced") == ("Q4_K_M", "gpu")
    assert _choice(rows, "quality") == ("Q8_0", "gpu+cpu")


def test_run_command_spells_out_the_runtime_the_prediction_describes() -> None:
    """A prediction for llama-cpp-python's defaults still gets a command that realises it."""
    profile = _profile()
    profile.capability.runtime = "llama-cpp-python"  # type: ignore[assignment]
    for model in list(_by_id(recommend(profile, HARDWARE["24 GB GPU"])).values())[:5]:
        command = model.run_command or ""
        assert " -np 1 " in command and " -fa off " in command and "--swa-full" in command
        assert " -b 512 -ub 512 " in command and " -t 8" in command  # half the 16 cores
    for model in list(_by_id(recommend(_profile(), HARDWARE["24 GB GPU"])).values())[:5]:
        command = model.run_command or ""
        assert " -np 4 --kv-unified " in command and " -fa on " in command
        assert "--swa-full" not in command and command.endswith(" -t 16")


def test_reason_says_when_the_better_variant_was_too_slow() -> None:
    rows = _variants(("Q8_0", "gpu", 8.0), ("Q4_K_M", "gpu", 14.0))
    chosen = choose(order_variants(rows, "quality", 10.0), "quality").row(0, named=True)
    assert chosen["quant"] == "Q4_K_M"
    assert chosen["variant_choice"].endswith(
        "instead of Q8_0 fully on the GPU at 8 tokens/s, below your speed floor"
    )
