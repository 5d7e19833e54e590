"""Planning hardware: which machines (presets to buy, or a fleet's inventory) run which models.

A matrix of hardware × models admissible under the profile's security and capability rules:
for each cell, whether the model fits, the variant chosen, its placement and predicted speed.
Per model, the smallest machine that meets the capability targets and, where presets carry a
sourced list price, the cheapest. Machines with the same numbers are evaluated once (a fleet of
identical workstations costs one evaluation).
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from modelvet.engine.catalog.loader import Catalog
from modelvet.engine.catalog.schema import HardwarePreset
from modelvet.engine.errors import ModelVetError
from modelvet.engine.hardware import HardwareSpec, from_request, with_known_bandwidth
from modelvet.engine.profile import HardwareRequest, Profile
from modelvet.engine.rank.recommend import PreparedCatalog, recommend
from modelvet.engine.rank.result import Recommendation


class _Value(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PlanMachine(_Value):
    key: str  # the preset id, or the inventory file's path
    name: str
    kind: str  # "preset" | "inventory"
    gpu_memory_gb: float
    ram_gb: float
    memory_gb: float  # what the machine holds in all: GPU + RAM, or the unified pool once
    price_usd: float | None = None
    price_covers: str | None = None
    price_source: str | None = None


class PlanCell(_Value):
    machine: str
    model_id: str
    fits: bool
    meets_targets: bool
    quant: str | None = None
    placement: str | None = None
    predicted_tokens_per_s: float | None = None
    predicted_memory_bytes: int | None = None
    max_context_tokens: dict[str, int | None] | None = None
    why_not: str | None = None


class PlanModel(_Value):
    model_id: str
    name: str
    runs_on: int
    smallest: str | None  # the machine with the least memory that meets the targets
    cheapest: str | None  # among machines with a list price
    cheapest_price_usd: float | None


class Plan(_Value):
    catalog_version: str
    profile: dict
    machines: list[PlanMachine]
    models: list[PlanModel]
    cells: list[PlanCell]
    excluded_by_policy: list[str]
    problems: list[str]


def _memory_gb(spec: HardwareSpec) -> float:
    gpus = sum(g.memory_gb for g in spec.gpus)
    return spec.ram_gb if spec.unified_memory else spec.ram_gb + gpus


def _machine(
    key: str, kind: str, spec: HardwareSpec, preset: HardwarePreset | None = None
) -> PlanMachine:
    return PlanMachine(
        key=key,
        name=spec.name,
        kind=kind,
        gpu_memory_gb=sum(g.memory_gb for g in spec.gpus),
        ram_gb=spec.ram_gb,
        memory_gb=_memory_gb(spec),
        price_usd=preset.price_usd if preset else None,
        price_covers=preset.price_covers if preset else None,
        price_source=preset.price_source if preset else None,
    )


def preset_machines(
    catalog: Catalog, ids: list[str] | None = None
) -> list[tuple[PlanMachine, HardwareSpec]]:
    machines = []
    for preset_id in ids or list(catalog.hardware):
        spec = from_request(HardwareRequest(preset=preset_id), catalog)
        machines.append((_machine(preset_id, "preset", spec, catalog.hardware[preset_id]), spec))
    return machines


def inventory_machines(
    paths: list[Path], catalog: Catalog
) -> tuple[list[tuple[PlanMachine, HardwareSpec]], list[str]]:
    """`modelvet hardware --json` files (or folders of them); a bad file is named, not fatal."""
    files: list[Path] = []
    for path in paths:
        files += sorted(path.glob("*.json")) if path.is_dir() else [path]
    machines, problems = [], []
    for file in files:
        try:
            spec = HardwareSpec.model_validate_json(file.read_bytes())
        except OSError as error:
            problems.append(f"{file}: cannot read: {error.strerror}")
            continue
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "(top level)"
            problems.append(
                f"{file}: not a `modelvet hardware --json` file: {where}: {first['msg']}"
            )
            continue
        spec = with_known_bandwidth(spec, catalog)
        machines.append((_machine(str(file), "inventory", spec), spec))
    return machines, problems


def _fingerprint(spec: HardwareSpec) -> str:
    """The numbers fit and speed depend on (names and warnings do not change a prediction)."""
    return json.dumps(
        spec.model_dump(exclude={"name", "origin", "sources", "warnings", "disk_free_gb"}),
        sort_keys=True,
    )


def _cells(machine: str, result: Recommendation, wanted: set[str] | None) -> list[PlanCell]:
    cells = []
    for item in result.recommended:
        if wanted is not None and item.model_id not in wanted:
            continue
        cells.append(
            PlanCell(
                machine=machine,
                model_id=item.model_id,
                fits=True,
                meets_targets=item.meets_speed_target is not False,
                quant=item.quant,
                placement=item.placement,
                predicted_tokens_per_s=item.predicted_tokens_per_s,
                predicted_memory_bytes=item.predicted_memory_bytes,
                max_context_tokens=(
                    item.max_context_tokens.model_dump() if item.max_context_tokens else None
                ),
            )
        )
    for excluded in result.excluded:
        if wanted is not None and excluded.model_id not in wanted:
            continue
        fit = [r.detail for r in excluded.reasons if r.rule == "fit"]
        other = [r for r in excluded.reasons if r.rule != "fit"]
        if fit and not other:
            cells.append(
                PlanCell(
                    machine=machine,
                    model_id=excluded.model_id,
                    fits=False,
                    meets_targets=False,
                    why_not=fit[0],
                )
            )
    return cells


def _summaries(
    machines: list[PlanMachine], cells: list[PlanCell], names: dict[str, str]
) -> list[PlanModel]:
    by_key = {m.key: m for m in machines}
    summaries = []
    for model_id in sorted({c.model_id for c in cells}, key=lambda m: names[m].lower()):
        good = [by_key[c.machine] for c in cells if c.model_id == model_id and c.meets_targets]
        smallest = min(good, key=lambda m: (m.memory_gb, m.key), default=None)
        priced = [m for m in good if m.price_usd is not None]
        cheapest = min(priced, key=lambda m: (m.price_usd, m.key), default=None)
        summaries.append(
            PlanModel(
                model_id=model_id,
                name=names[model_id],
                runs_on=len(good),
                smallest=smallest.key if smallest else None,
                cheapest=cheapest.key if cheapest else None,
                cheapest_price_usd=cheapest.price_usd if cheapest else None,
            )
        )
    return summaries


def plan(
    profile: Profile,
    machines: list[tuple[PlanMachine, HardwareSpec]],
    prepared: PreparedCatalog,
    model_ids: list[str] | None = None,
    problems: list[str] | None = None,
) -> Plan:
    """The matrix; each distinct machine configuration is evaluated once."""
    unknown = [m for m in model_ids or [] if m not in prepared.catalog.models]
    if unknown:
        raise ModelVetError(f"unknown model id: {', '.join(unknown)}", "models to plan")
    if not machines:
        raise ModelVetError("no hardware to plan for", "machines")
    wanted = set(model_ids) if model_ids else None
    evaluated: dict[str, Recommendation] = {}
    cells: list[PlanCell] = []
    for machine, spec in machines:
        key = _fingerprint(spec)
        if key not in evaluated:
            evaluated[key] = recommend(profile, hardware=spec, prepared=prepared)
        cells += _cells(machine.key, evaluated[key], wanted)
    names = {m.id: m.name for m in prepared.catalog.models.values()}
    in_matrix = {c.model_id for c in cells}
    considered = wanted if wanted is not None else set(prepared.catalog.models)
    return Plan(
        catalog_version=prepared.catalog.version,
        profile=profile.model_dump(mode="json", exclude_none=True),
        machines=[m for m, _ in machines],
        models=_summaries([m for m, _ in machines], cells, names),
        cells=cells,
        excluded_by_policy=sorted(considered - in_matrix),
        problems=problems or [],
    )
