"""Planning hardware: presets to buy and a fleet's inventory files, against the profile's rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelvet.engine import plan as plan_module
from modelvet.engine.hardware import HardwareSpec
from modelvet.engine.plan import inventory_machines, plan, preset_machines
from modelvet.engine.profile import parse_profile
from tests.helpers import FIXTURES, run_modelvet

PROFILE = {
    "organisation": {"country": "US", "sector": "commercial", "expected_monthly_users": 10},
    "security": {"policy": "open", "require_commercial_use": True},
    "capability": {"tasks": ["general"], "context_tokens": 8192, "min_tokens_per_s": 5},
}


def test_plan_over_presets_follows_the_rules_and_the_hardware(prepared_test_catalog) -> None:
    catalog = prepared_test_catalog.catalog
    result = plan(parse_profile(PROFILE), preset_machines(catalog), prepared_test_catalog)
    # The security rules hold on every machine: a research-only licence never appears.
    assert "research-3b" in result.excluded_by_policy
    assert all(c.model_id != "research-3b" for c in result.cells)
    memory = {m.key: m.memory_gb for m in result.machines}
    assert memory["mac64"] == 64 and memory["gpu24"] == 24 + 64  # a unified pool counts once
    cells = {(c.machine, c.model_id): c for c in result.cells}
    # A 70B model does not fit 16 GB of RAM but runs on two 24 GB GPUs.
    assert not cells[("cpu16", "community-70b")].fits
    assert cells[("gpu24x2", "community-70b")].fits
    for model in result.models:
        good = [c for c in result.cells if c.model_id == model.model_id and c.meets_targets]
        assert model.runs_on == len(good)
        if model.smallest:
            sizes = {m.key: m.memory_gb for m in result.machines}
            assert sizes[model.smallest] == min(sizes[c.machine] for c in good)
        priced = [c.machine for c in good if c.machine in ("gpu24x2", "mac64")]
        if priced:
            prices = {"gpu24x2": 3200, "mac64": 2999}
            assert model.cheapest_price_usd == min(prices[m] for m in priced)
        else:
            assert model.cheapest is None


def _inventory(folder: Path) -> list[Path]:
    folder.mkdir()
    machine = HardwareSpec(
        name="ws-01",
        origin="detected",
        ram_gb=64,
        ram_bandwidth_gbs=80,
        cpu_cores=16,
        gpus=[{"name": "GPU 24", "memory_gb": 24, "bandwidth_gbs": 1000}],
    )
    small = HardwareSpec(name="laptop-7", origin="detected", ram_gb=16, ram_bandwidth_gbs=60)
    files = []
    for n, spec in enumerate([machine, machine.model_copy(update={"name": "ws-02"}), small]):
        path = folder / f"host{n}.json"
        path.write_text(spec.model_dump_json(), encoding="utf-8")
        files.append(path)
    broken = '{"name": "ws-03", "origin": "detected", "ram_gb": "lots"}'
    (folder / "broken.json").write_text(broken, encoding="utf-8")
    return files


def test_a_fleet_is_evaluated_once_per_configuration(
    prepared_test_catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = prepared_test_catalog.catalog
    _inventory(tmp_path / "fleet")
    machines, problems = inventory_machines([tmp_path / "fleet"], catalog)
    assert [m.name for m, _ in machines] == ["ws-01", "ws-02", "laptop-7"]
    assert len(problems) == 1 and "broken.json" in problems[0] and "ram_gb" in problems[0]
    calls = []
    real = plan_module.recommend
    monkeypatch.setattr(plan_module, "recommend", lambda *a, **k: calls.append(1) or real(*a, **k))
    result = plan(parse_profile(PROFILE), machines, prepared_test_catalog, problems=problems)
    assert len(calls) == 2  # ws-01 and ws-02 are the same machine
    by_machine = {}
    for cell in result.cells:
        by_machine.setdefault(Path(cell.machine).name, {})[cell.model_id] = cell.fits
    assert by_machine["host0.json"] == by_machine["host1.json"]
    assert by_machine["host0.json"]["dense-8b"] and not by_machine["host2.json"]["community-70b"]


def test_plan_command_names_a_bad_inventory_file_and_evaluates_the_rest(tmp_path: Path) -> None:
    files = _inventory(tmp_path / "fleet")
    profile = tmp_path / "p.toml"
    profile.write_text('[security]\npolicy = "open"\n', encoding="utf-8")
    done = run_modelvet(
        "plan",
        "--profile",
        str(profile),
        "--hardware",
        str(tmp_path / "fleet"),
        "gpu24",
        "--json",
        env={"MODELVET_CATALOG": str(FIXTURES / "catalog")},
        timeout=120,
    )
    assert done.returncode == 2
    assert "broken.json" in done.stderr and "Traceback" not in done.stderr
    result = json.loads(done.stdout)
    keys = {m["key"] for m in result["machines"]}
    assert keys == {str(f) for f in files} | {"gpu24"}
    assert any(c["fits"] for c in result["cells"])


def test_plan_refuses_an_unknown_hardware_name(tmp_path: Path) -> None:
    profile = tmp_path / "p.toml"
    profile.write_text('[security]\npolicy = "open"\n', encoding="utf-8")
    done = run_modelvet(
        "plan",
        "--profile",
        str(profile),
        "--hardware",
        "no-such-box",
        env={"MODELVET_CATALOG": str(FIXTURES / "catalog")},
        timeout=120,
    )
    assert done.returncode == 2 and "no-such-box" in done.stderr and "gpu24" in done.stderr
