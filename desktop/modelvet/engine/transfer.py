"""Carrying model files across an air gap: the manifest of what to fetch, and its verification.

`build_manifest` lists, for the chosen variant of each recommended local model, every file to
fetch on a connected machine (repository, revision, name, size, the publisher's sha256 where it
states one, the page to fetch it from). `verify_folder` checks a folder after the transfer and
reports each file as ok, missing, wrong size, wrong hash or unexpected. A split GGUF model is
several files; the catalog knows their total size, so the parts are checked together.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from modelvet.engine.catalog.loader import Catalog
from modelvet.engine.errors import ModelVetError
from modelvet.engine.rank.result import Recommendation
from modelvet.engine.report.provenance import chosen_artifact

_CHUNK = 1 << 20
_MODEL_SUFFIXES = (".gguf",)


class _Value(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ManifestFile(_Value):
    """One file to fetch. A split model's parts share `set_size_bytes` (the catalog's total)."""

    model_id: str
    model_name: str
    quant: str | None
    publisher: str
    repo: str
    revision: str | None
    file_name: str
    part: int = Field(ge=1)
    parts: int = Field(ge=1)
    size_bytes: int | None = Field(None, description="This file's size, when it is one file")
    set_size_bytes: int | None = Field(None, description="All parts together")
    sha256: str | None = Field(None, description="As the publisher states it; None: not stated")
    page: str = Field(description="The page the catalog's facts about the file come from")
    download_url: str


class Manifest(_Value):
    schema_version: Literal[1] = 1
    generated_at: dt.datetime
    catalog_version: str
    profile_name: str | None
    files: list[ManifestFile]
    not_listed: list[str] = Field(
        [], description="Recommended models with no file to fetch (hosted, or sizes estimated)"
    )


Status = Literal["ok", "missing", "wrong size", "wrong hash", "unexpected"]


class FileCheck(_Value):
    file_name: str
    model_id: str | None
    status: Status
    detail: str
    sha256: str | None = None


class Verification(_Value):
    folder: str
    ok: bool
    files: list[FileCheck]


def _download_url(repo: str, revision: str | None, name: str) -> str:
    return f"https://huggingface.co/{repo}/resolve/{revision or 'main'}/{name}"


def build_manifest(
    recommendation: Recommendation,
    catalog: Catalog,
    model_ids: list[str] | None = None,
    now: dt.datetime | None = None,
) -> Manifest:
    """Every file of the chosen variants; `model_ids` narrows it (unknown ids are an error)."""
    chosen = {item.model_id: item for item in recommendation.recommended}
    wanted = model_ids or list(chosen)
    unknown = [m for m in wanted if m not in chosen]
    if unknown:
        raise ModelVetError(
            f"not recommended for this profile: {', '.join(unknown)}",
            "models to fetch",
            f"recommended: {', '.join(chosen) or 'none'}",
        )
    files: list[ManifestFile] = []
    not_listed: list[str] = []
    for model_id in wanted:
        item = chosen[model_id]
        model = catalog.models.get(model_id)
        artifact = chosen_artifact(model, item) if model else None
        if artifact is None:
            not_listed.append(model_id)
            continue
        parts = len(artifact.files)
        for n, name in enumerate(artifact.files, start=1):
            files.append(
                ManifestFile(
                    model_id=model_id,
                    model_name=item.name,
                    quant=item.quant,
                    publisher=artifact.publisher,
                    repo=artifact.repo,
                    revision=artifact.revision,
                    file_name=name,
                    part=n,
                    parts=parts,
                    size_bytes=artifact.size_bytes
                    if parts == 1 and artifact.size_status == "exact"
                    else None,
                    set_size_bytes=artifact.size_bytes if artifact.size_status == "exact" else None,
                    sha256=artifact.sha256 if parts == 1 else None,
                    page=artifact.source,
                    download_url=_download_url(artifact.repo, artifact.revision, name),
                )
            )
    profile_name = recommendation.profile.get("name")
    return Manifest(
        generated_at=(now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC),
        catalog_version=recommendation.catalog_version,
        profile_name=profile_name if isinstance(profile_name, str) else None,
        files=files,
        not_listed=not_listed,
    )


def load_manifest(path: str | Path) -> Manifest:
    path = Path(path)
    try:
        return Manifest.model_validate_json(path.read_bytes())
    except FileNotFoundError as error:
        raise ModelVetError("manifest not found", str(path)) from error
    except IsADirectoryError as error:
        raise ModelVetError("is a folder, not a manifest file", str(path)) from error
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ModelVetError(
            f"not a ModelVet manifest: {where}: {first['msg']}", str(path)
        ) from error


def sha256_of(path: Path, cancelled: Callable[[], bool] = lambda: False) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            if cancelled():
                raise ModelVetError("cancelled", str(path))
            digest.update(chunk)
    return digest.hexdigest()


def _find(folder: Path, name: str) -> Path | None:
    """The file at its repository path, or by its base name anywhere under the folder."""
    direct = folder / name
    if direct.is_file():
        return direct
    matches = sorted(p for p in folder.rglob(Path(name).name) if p.is_file())
    return matches[0] if matches else None


def _check_file(entry: ManifestFile, path: Path | None) -> FileCheck:
    if path is None:
        return FileCheck(
            file_name=entry.file_name,
            model_id=entry.model_id,
            status="missing",
            detail=f"not found; fetch it from {entry.download_url}",
        )
    size = path.stat().st_size
    if entry.size_bytes is not None and size != entry.size_bytes:
        return FileCheck(
            file_name=entry.file_name,
            model_id=entry.model_id,
            status="wrong size",
            detail=f"{size:,} bytes; the publisher lists {entry.size_bytes:,}",
        )
    if entry.sha256 is None:
        return FileCheck(
            file_name=entry.file_name,
            model_id=entry.model_id,
            status="ok",
            detail=f"{size:,} bytes; the publisher states no sha256, so content is not verified",
        )
    actual = sha256_of(path)
    if actual != entry.sha256:
        return FileCheck(
            file_name=entry.file_name,
            model_id=entry.model_id,
            status="wrong hash",
            detail=f"sha256 {actual}; the publisher states {entry.sha256}: do not load it",
            sha256=actual,
        )
    return FileCheck(
        file_name=entry.file_name,
        model_id=entry.model_id,
        status="ok",
        detail=f"{size:,} bytes, sha256 matches the publisher's",
        sha256=actual,
    )


def _check_sets(entries: list[ManifestFile], found: dict[str, Path | None]) -> list[FileCheck]:
    """A split model's parts together against the catalog's total size."""
    checks: list[FileCheck] = []
    sets: dict[tuple[str, str], list[ManifestFile]] = {}
    for entry in entries:
        if entry.parts > 1:
            sets.setdefault((entry.model_id, entry.repo), []).append(entry)
    for parts in sets.values():
        total = parts[0].set_size_bytes
        paths = [found[p.file_name] for p in parts]
        if total is None or any(p is None for p in paths):
            continue
        size = sum(p.stat().st_size for p in paths if p is not None)
        if size != total:
            checks.append(
                FileCheck(
                    file_name=" + ".join(p.file_name for p in parts),
                    model_id=parts[0].model_id,
                    status="wrong size",
                    detail=f"the {len(parts)} parts hold {size:,} bytes; the publisher lists "
                    f"{total:,} in all",
                )
            )
    return checks


def verify_folder(folder: str | Path, manifest: Manifest) -> Verification:
    """Each manifest file checked; model files in the folder the manifest does not list."""
    root = Path(folder)
    if not root.is_dir():
        raise ModelVetError("not a folder", str(root))
    found = {entry.file_name: _find(root, entry.file_name) for entry in manifest.files}
    checks = [_check_file(entry, found[entry.file_name]) for entry in manifest.files]
    checks += _check_sets(manifest.files, found)
    listed = {p.resolve() for p in found.values() if p is not None}
    for path in sorted(root.rglob("*")):
        if (
            path.is_file()
            and path.suffix.lower() in _MODEL_SUFFIXES
            and path.resolve() not in listed
        ):
            checks.append(
                FileCheck(
                    file_name=str(path.relative_to(root)),
                    model_id=None,
                    status="unexpected",
                    detail="a model file the manifest does not list: not approved",
                )
            )
    return Verification(folder=str(root), ok=all(c.status == "ok" for c in checks), files=checks)


def manifest_json(manifest: Manifest) -> str:
    return json.dumps(manifest.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"
