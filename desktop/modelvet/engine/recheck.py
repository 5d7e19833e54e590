"""Keeping a decision current: re-evaluate a recorded decision against today's catalog.

The record (`report --format json`) carries the profile and hardware it was made for. Recheck
runs the same profile on the same hardware against the catalog and policy presets of today and
lists what changed for each recorded model, and why. A model the record recommended that is no
longer admitted makes the decision invalid. Models admitted now that the record did not
recommend are listed as new, never approved by a recheck.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from modelvet.engine.catalog.loader import Catalog
from modelvet.engine.errors import ModelVetError
from modelvet.engine.profile import parse_profile
from modelvet.engine.rank.recommend import PreparedCatalog, prepare, recommend
from modelvet.engine.rank.result import RecommendedModel
from modelvet.engine.report.provenance import named_in_rules
from modelvet.engine.report.record import RECORD_SCHEMA_VERSION, DecisionRecord
from modelvet.engine.storage import read_json

ChangeKind = Literal[
    "no longer admitted",
    "removed from the catalog",
    "file changed",
    "hash changed",
    "licence changed",
    "obligation changed",
    "newly named in a government rule",
    "new, not in the record",
]


class Change(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_id: str
    name: str
    kind: ChangeKind
    detail: str


class RecheckResult(BaseModel):
    model_config = ConfigDict(extra="forbid")

    record_catalog_version: str
    catalog_version: str
    still_valid: bool
    checked_models: int
    changes: list[Change]


def load_record(path: str | Path) -> DecisionRecord:
    """A JSON decision record; an older schema or another file gets a clear error."""
    path = Path(path)
    document = read_json(path, "a decision record")
    version = document.get("schema_version") if isinstance(document, dict) else None
    if version != RECORD_SCHEMA_VERSION:
        raise ModelVetError(
            f"decision record schema {version!r}; this ModelVet reads schema "
            f"{RECORD_SCHEMA_VERSION}",
            str(path),
            "export the record again as JSON with this version",
        )
    try:
        return DecisionRecord.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ModelVetError(f"not a decision record: {where}: {first['msg']}", str(path)) from error


def _pairs(item: RecommendedModel) -> set[tuple[str, str]]:
    return {(o.licence_name, o.duty) for o in item.obligations}


def _compare(old: RecommendedModel, new: RecommendedModel) -> list[Change]:
    changes: list[Change] = []

    def add(kind: ChangeKind, detail: str) -> None:
        changes.append(Change(model_id=old.model_id, name=old.name, kind=kind, detail=detail))

    if (old.quant, old.publisher, old.files) != (new.quant, new.publisher, new.files):
        add(
            "file changed",
            f"the chosen file was {old.quant} from {old.publisher} ({', '.join(old.files)}); "
            f"now {new.quant} from {new.publisher} ({', '.join(new.files)})",
        )
    elif old.sha256 != new.sha256:
        add(
            "hash changed",
            f"the publisher's sha256 for {', '.join(old.files)} was {old.sha256 or 'not stated'}; "
            f"the catalog now states {new.sha256 or 'none'}: verify the file again",
        )
    if old.licenses != new.licenses or old.license_name != new.license_name:
        add(
            "licence changed",
            f"bound by {', '.join(old.licenses)} in the record; now {', '.join(new.licenses)}"
            f" ({new.license_name})",
        )
    gone, added = _pairs(old) - _pairs(new), _pairs(new) - _pairs(old)
    for licence, duty in sorted(added):
        add("obligation changed", f"new duty under {licence}: {duty}")
    for licence, duty in sorted(gone):
        add("obligation changed", f"duty no longer recorded under {licence}: {duty}")
    return changes


def recheck(record: DecisionRecord, prepared: PreparedCatalog) -> RecheckResult:
    """What changed since the record, judged with the record's profile and hardware."""
    catalog = prepared.catalog
    profile = parse_profile(record.profile, "record.profile")
    today = recommend(profile, hardware=record.hardware_spec, prepared=prepared)
    admitted = {item.model_id: item for item in today.recommended}
    excluded = {item.model_id: item for item in today.excluded}
    changes: list[Change] = []
    for entry in record.recommended:
        old = entry.recommended
        if old.model_id not in catalog.models:
            changes.append(
                Change(
                    model_id=old.model_id,
                    name=old.name,
                    kind="removed from the catalog",
                    detail="the catalog no longer lists this model, so nothing vouches for it",
                )
            )
            continue
        if old.model_id not in admitted:
            reasons = "; ".join(
                f"{r.rule}{' (not established)' if r.status == 'unknown' else ''}: {r.detail}"
                for r in excluded[old.model_id].reasons
            )
            changes.append(
                Change(
                    model_id=old.model_id,
                    name=old.name,
                    kind="no longer admitted",
                    detail=reasons,
                )
            )
            continue
        changes += _compare(old, admitted[old.model_id])
        for rule in set(named_in_rules(catalog, catalog.models[old.model_id])) - set(
            entry.named_in_rules
        ):
            changes.append(
                Change(
                    model_id=old.model_id,
                    name=old.name,
                    kind="newly named in a government rule",
                    detail=rule,
                )
            )
    recorded = {e.recommended.model_id for e in record.recommended}
    for model_id, item in admitted.items():
        if model_id not in recorded:
            changes.append(
                Change(
                    model_id=model_id,
                    name=item.name,
                    kind="new, not in the record",
                    detail="admitted under today's catalog; not approved until a new decision "
                    "records it",
                )
            )
    invalid = {"no longer admitted", "removed from the catalog"}
    return RecheckResult(
        record_catalog_version=record.catalog_version,
        catalog_version=catalog.version,
        still_valid=not any(c.kind in invalid for c in changes),
        checked_models=len(record.recommended),
        changes=changes,
    )


def recheck_file(path: str | Path, catalog: Catalog) -> RecheckResult:
    return recheck(load_record(path), prepare(catalog))
