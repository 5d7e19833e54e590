"""The machine a model must fit: detected here, chosen from a preset, or described by hand."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from modelvet.engine.catalog.loader import Catalog
from modelvet.engine.catalog.schema import HardwarePreset
from modelvet.engine.errors import ModelVetError, require
from modelvet.engine.profile import HardwareRequest

# Share of unified memory the GPU may use when nothing says otherwise: the lowest published
# measurement of macOS's Metal working-set limit, 0.74 on 16 and 24 GB Macs (AlexsJones/llmfit#754,
# sgl-project/sglang#29949); 128 GB Macs measure 0.84 (antirez/ds4#893).
DEFAULT_UNIFIED_GPU_FRACTION = 0.74


class Gpu(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    memory_gb: float
    bandwidth_gbs: float | None = None
    fp16_tflops: float | None = None
    vendor: str | None = None


class HardwareSpec(BaseModel):
    """What fit and speed are computed against. Memory in GB (10^9 bytes), as vendors state it."""

    model_config = ConfigDict(extra="forbid")

    name: str
    origin: str = Field(description="'detected', 'preset:<id>' or 'profile'")
    cpu_model: str | None = None
    cpu_cores: int | None = None
    isa_flags: list[str] = []
    ram_gb: float
    ram_available_gb: float | None = None
    ram_bandwidth_gbs: float | None = None
    unified_memory: bool = False
    gpu_memory_fraction: float | None = None
    gpus: list[Gpu] = []
    disk_free_gb: float | None = None
    sources: list[str] = []
    warnings: list[str] = []
    # Numbers the spec did not give, taken from the catalog (a GPU's bandwidth by its name):
    # assumptions every prediction on this hardware rests on.
    filled: list[str] = []


# --- presets and explicit descriptions ---------------------------------------------------


def from_request(request: HardwareRequest, catalog: Catalog) -> HardwareSpec:
    """A preset from catalog/hardware.toml, with any explicit numbers laid over it."""
    base: dict = {"name": "Described in the profile", "origin": "profile", "ram_gb": None}
    if request.preset:
        preset = require(catalog.hardware, request.preset, "hardware preset", "hardware.preset")
        base = {
            "name": preset.name,
            "origin": f"preset:{preset.id}",
            "ram_gb": preset.ram_gb,
            "ram_bandwidth_gbs": preset.ram_bandwidth_gbs,
            "cpu_cores": preset.cpu_cores,
            "unified_memory": preset.unified_memory,
            "gpu_memory_fraction": preset.gpu_memory_fraction,
            "gpus": [Gpu(**g.model_dump()) for g in preset.gpus],
            "sources": preset.sources,
        }
    overrides = request.model_dump(exclude_none=True, exclude={"preset", "gpus"})
    if request.gpus is not None:
        overrides["gpus"] = [Gpu(**g.model_dump()) for g in request.gpus]
    if overrides and request.preset:
        base["name"] = f"{base['name']} (edited)"
    spec = {**base, **overrides}
    if spec.get("ram_gb") is None:
        raise ModelVetError(
            "hardware needs a preset or ram_gb",
            "hardware",
            "omit the [hardware] table to use this machine",
        )
    # GPUs typed in by name take the numbers they lack from the catalog's GPU table.
    return with_known_bandwidth(HardwareSpec(**spec), catalog)


HARDWARE_NUMBERS = ("ram_gb", "ram_bandwidth_gbs", "cpu_cores", "unified_memory", "gpus")


def preset_numbers(preset: HardwarePreset) -> HardwareRequest:
    """A preset's numbers, as a profile's [hardware] table would state them."""
    return HardwareRequest(**{name: getattr(preset, name) for name in HARDWARE_NUMBERS})


def shown_numbers(request: HardwareRequest, preset: HardwarePreset | None) -> HardwareRequest:
    """The numbers a request describes: its preset's, with its own laid over them."""
    base = preset_numbers(preset).model_dump(exclude_none=True) if preset else {}
    own = request.model_dump(exclude_none=True, exclude={"preset"})
    return HardwareRequest(preset=preset.id if preset else None, **{**base, **own})


def overrides_against(numbers: HardwareRequest, preset: HardwarePreset | None) -> HardwareRequest:
    """What a profile stores for the numbers shown: the preset, and only the numbers that
    differ from it (all of them without a preset). An unknown number (None) is not stored: the
    preset's own value stands."""
    if preset is None:
        return numbers.model_copy(update={"preset": None})
    base = preset_numbers(preset)
    changed = {
        name: value
        for name in HARDWARE_NUMBERS
        if (value := getattr(numbers, name)) is not None and value != getattr(base, name)
    }
    return HardwareRequest(preset=preset.id, **changed)


def _gpu_key(name: str) -> str:
    """'NVIDIA GeForce RTX 4060 Ti 16GB' → 'rtx4060ti': vendor words and memory size dropped."""
    words = re.sub(r"\b(nvidia|geforce|amd|intel|\d+\s*gb)\b", " ", name.lower())
    return re.sub(r"[^a-z0-9]", "", words)


@dataclass(frozen=True)
class KnownCard:
    """A GPU whose numbers the catalog states: from its GPU table or a hardware preset."""

    name: str
    memory_gb: float
    bandwidth_gbs: float | None
    fp16_tflops: float | None
    where: str  # "the GPU table" or "the preset 'id'", for the note that says where it came from


def known_cards(catalog: Catalog) -> dict[str, list[KnownCard]]:
    """Name key → the cards of that name (one per memory size), table first, then presets."""
    cards = [
        KnownCard(name, c.memory_gb, c.bandwidth_gbs, c.fp16_tflops, "the GPU table")
        for c in catalog.gpus.values()
        for name in (c.name, *c.aliases)
    ] + [
        KnownCard(g.name, g.memory_gb, g.bandwidth_gbs, g.fp16_tflops, f"the preset '{p.id}'")
        for p in catalog.hardware.values()
        for g in p.gpus
    ]
    known: dict[str, list[KnownCard]] = {}
    for card in cards:
        known.setdefault(_gpu_key(card.name), []).append(card)
    return known


def _match(gpu: Gpu, known: dict[str, list[KnownCard]]) -> KnownCard | None:
    """The card of the same name (vendor words and memory size dropped: an "RTX 4060 Ti" is not
    an "RTX 4060") whose memory is within 10 %, the closest if several."""
    near = [
        card
        for card in known.get(_gpu_key(gpu.name), [])
        if abs(card.memory_gb - gpu.memory_gb) <= 0.1 * card.memory_gb
    ]
    return min(near, key=lambda card: abs(card.memory_gb - gpu.memory_gb), default=None)


def with_known_bandwidth(spec: HardwareSpec, catalog: Catalog) -> HardwareSpec:
    """A GPU given by name and memory (detected, or typed into a profile) takes the bandwidth and
    FP16 throughput it lacks from the catalog's card of that name; each fill is stated in
    `filled`. A GPU no card matches keeps its unknowns."""
    known = known_cards(catalog)
    gpus, notes = [], []
    for gpu in spec.gpus:
        card = _match(gpu, known) if _gpu_key(gpu.name) else None
        filled = {
            field: getattr(card, field)
            for field in ("bandwidth_gbs", "fp16_tflops")
            if card is not None and getattr(gpu, field) is None and getattr(card, field)
        }
        if card is not None and filled:
            gpu = gpu.model_copy(update=filled)
            numbers = ", ".join(
                f"{'bandwidth' if f == 'bandwidth_gbs' else 'FP16'} {v:g} "
                f"{'GB/s' if f == 'bandwidth_gbs' else 'TFLOPS'}"
                for f, v in filled.items()
            )
            notes.append(f"{gpu.name}: {numbers} taken from {card.where} ({card.name})")
        gpus.append(gpu)
    if not notes:
        return spec
    return spec.model_copy(update={"gpus": gpus, "filled": [*spec.filled, *notes]})


def resolve_hardware(request: HardwareRequest | None, catalog: Catalog) -> HardwareSpec:
    """The profile's hardware, or this machine (detected) when the profile gives none."""
    from modelvet.engine.machine import detect

    if request is None:
        return with_known_bandwidth(detect(), catalog)
    return from_request(request, catalog)
