"""Reads the catalog folder into validated records, collecting every problem with its place."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from modelvet.engine.catalog.schema import (
    CatalogMeta,
    Developer,
    DeveloperFile,
    GpuCard,
    GpuFile,
    HardwareFile,
    HardwarePreset,
    License,
    LicenseFile,
    Model,
    ModelFile,
    PolicyFile,
    PolicyPreset,
)
from modelvet.engine.errors import ModelVetError
from modelvet.engine.storage import data_dir

FileT = TypeVar("FileT", bound=BaseModel)


@dataclass(frozen=True)
class Problem:
    """One reason a catalog file (or part of one) was rejected."""

    file: str
    field: str
    reason: str

    def __str__(self) -> str:
        return (
            f"{self.file}: {self.field}: {self.reason}"
            if self.field
            else f"{self.file}: {self.reason}"
        )


@dataclass
class Catalog:
    """Everything under catalog/, validated. Records that failed are left out and listed."""

    root: Path
    meta: CatalogMeta | None
    developers: dict[str, Developer] = field(default_factory=dict)
    licenses: dict[str, License] = field(default_factory=dict)
    models: dict[str, Model] = field(default_factory=dict)
    families: dict[str, str] = field(default_factory=dict)  # model id -> family file name
    hardware: dict[str, HardwarePreset] = field(default_factory=dict)
    gpus: dict[str, GpuCard] = field(default_factory=dict)  # GPU models by id (gpus.toml)
    policies: dict[str, PolicyPreset] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def version(self) -> str:
        return self.meta.catalog_version if self.meta else "unknown"


def default_catalog_dir() -> Path:
    """MODELVET_CATALOG, else an imported catalog (`modelvet catalog import`), else the
    bundled one."""
    override = os.environ.get("MODELVET_CATALOG")
    if override:
        return Path(override)
    return imported_catalog_dir() or bundled_catalog_dir()


def imported_catalog_dir() -> Path | None:
    """The active imported catalog, if there is one (looking creates nothing)."""
    current = data_dir(create=False) / "catalogs" / "current"
    return current if current.is_dir() else None


def bundled_catalog_dir() -> Path:
    """The catalog bundled in the wheel, else the source tree's."""
    package_dir = Path(__file__).resolve().parents[2]
    bundled = package_dir / "_catalog"
    if bundled.is_dir():
        return bundled
    return package_dir.parents[1] / "catalog"


def _field_path(loc: tuple[int | str, ...], document: object) -> str:
    """Turn a pydantic location into `models[qwen3-8b].architecture.layers`."""
    parts: list[str] = []
    node = document
    for step in loc:
        if isinstance(step, int) and isinstance(node, list) and step < len(node):
            node = node[step]
            ident = node.get("id") if isinstance(node, dict) else None
            parts[-1] = f"{parts[-1]}[{ident if ident else step}]" if parts else f"[{step}]"
            continue
        parts.append(str(step))
        node = node.get(step) if isinstance(node, dict) else None
    return ".".join(parts)


def _problems_from(error: ValidationError, name: str, document: object) -> list[Problem]:
    return [
        Problem(
            name, _field_path(tuple(e["loc"]), document), e["msg"].removeprefix("Value error, ")
        )
        for e in error.errors()
    ]


def _read_toml(path: Path, name: str, problems: list[Problem]) -> dict | None:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        problems.append(Problem(name, "", "file is missing"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        problems.append(Problem(name, "", f"not valid TOML: {error}"))
    return None


def _load_file(
    path: Path, root: Path, schema: type[FileT], problems: list[Problem]
) -> FileT | None:
    """Validate a whole file; on failure keep the records that validate on their own."""
    name = (
        path.relative_to(root.parent).as_posix() if path.is_relative_to(root.parent) else str(path)
    )
    document = _read_toml(path, name, problems)
    if document is None:
        return None
    try:
        return schema.model_validate(document)
    except ValidationError as error:
        problems.extend(_problems_from(error, name, document))
    return _salvage(document, schema)


def _salvage(document: dict, schema: type[FileT]) -> FileT | None:
    """Drop the records that fail so one bad entry does not hide the rest of its file."""
    list_fields = [k for k, v in document.items() if isinstance(v, list)]
    if len(list_fields) != 1:
        return None
    key = list_fields[0]
    item_schema = schema.model_fields[key].annotation.__args__[0]  # type: ignore[union-attr]
    good = []
    for item in document[key]:
        try:
            item_schema.model_validate(item)
            good.append(item)
        except ValidationError:
            continue
    if not good:
        return None
    try:
        return schema.model_validate({**document, key: good})
    except ValidationError:
        return None


def load_catalog(root: Path | None = None) -> Catalog:
    """Load and cross-check the catalog. Never raises for content; see `problems`."""
    root = (root or default_catalog_dir()).resolve()
    if not root.is_dir():
        raise ModelVetError("catalog folder not found", str(root), "set MODELVET_CATALOG")
    problems: list[Problem] = []
    meta = _load_file(root / "catalog.toml", root, CatalogMeta, problems)
    catalog = Catalog(root=root, meta=meta, problems=problems)
    if devs := _load_file(root / "developers.toml", root, DeveloperFile, problems):
        catalog.developers = {d.id: d for d in devs.developers}
    if lics := _load_file(root / "licenses.toml", root, LicenseFile, problems):
        catalog.licenses = {lic.id: lic for lic in lics.licenses}
    if hw := _load_file(root / "hardware.toml", root, HardwareFile, problems):
        catalog.hardware = {p.id: p for p in hw.presets}
    # Optional: a catalog without it knows only the cards of its hardware presets.
    if (root / "gpus.toml").exists() and (
        cards := _load_file(root / "gpus.toml", root, GpuFile, problems)
    ):
        catalog.gpus = {card.id: card for card in cards.gpus}
    if pol := _load_file(root / "policies.toml", root, PolicyFile, problems):
        catalog.policies = {p.id: p for p in pol.policies}
    for path in sorted((root / "models").glob("*.toml")):
        family = _load_file(path, root, ModelFile, problems)
        for model in family.models if family else []:
            _add_model(catalog, model, path.name)
    _cross_check(catalog)
    return catalog


def _add_model(catalog: Catalog, model: Model, file_name: str) -> None:
    if model.id in catalog.models:
        catalog.problems.append(
            Problem(
                f"catalog/models/{file_name}",
                f"models[{model.id}].id",
                f"duplicate id, also in {catalog.families[model.id]}",
            )
        )
        return
    catalog.models[model.id] = model
    catalog.families[model.id] = file_name


def _cross_check(catalog: Catalog) -> None:
    """References between files: developers, licences and base models must exist."""
    for model_id, model in list(catalog.models.items()):
        where = f"catalog/models/{catalog.families[model_id]}"
        missing = []
        if model.developer not in catalog.developers:
            missing.append(("developer", f"unknown developer {model.developer!r}"))
        if model.license not in catalog.licenses:
            missing.append(("license", f"unknown licence {model.license!r}"))
        if model.base_model and model.base_model not in catalog.models:
            missing.append(("base_model", f"unknown base model {model.base_model!r}"))
        for fact, reason in missing:
            catalog.problems.append(Problem(where, f"models[{model_id}].{fact}", reason))
        if missing:
            del catalog.models[model_id]


@cache
def bundled_catalog() -> Catalog:
    """The default catalog, loaded once per process."""
    return load_catalog()
