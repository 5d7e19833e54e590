"""Catalog updates: sign one (publisher), import one (only signed by a trusted key, unless the
user says --unverified, which is recorded), and roll back to the one before.

Imported catalogs live in the user's data folder: `catalogs/current` is the active one,
`catalogs/previous` the one it replaced (no `current` means the bundled catalog is active).
Every import and rollback is appended to `catalogs/history.jsonl`.
"""

from __future__ import annotations

import io
import json
import posixpath
import shutil
import tarfile
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from modelvet.engine.catalog.integrity import (
    MANIFEST,
    UNVERIFIED_MARK,
    check_manifest,
    sign,
    trusted_keys,
    verify,
    write_manifest,
)
from modelvet.engine.catalog.integrity import start_up_warnings as integrity_warnings
from modelvet.engine.catalog.loader import (
    bundled_catalog_dir,
    default_catalog_dir,
    imported_catalog_dir,
    load_catalog,
)
from modelvet.engine.errors import ModelVetError
from modelvet.engine.storage import atomic_write_bytes, atomic_write_text, data_dir

MAX_BUNDLE_BYTES = 64 * 2**20
MAX_MEMBERS = 2000
MAX_MEMBER_BYTES = 16 * 2**20
ALLOWED_SUFFIXES = (".toml", ".txt", ".sha256", ".md")


def catalogs_dir() -> Path:
    path = data_dir() / "catalogs"
    try:
        path.mkdir(exist_ok=True)
    except OSError as error:
        raise ModelVetError(f"cannot create: {error.strerror}", str(path)) from error
    return path


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _record(entry: dict[str, Any]) -> None:
    log = catalogs_dir() / "history.jsonl"
    with log.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps({"at": _now(), **entry}) + "\n")


def history() -> list[dict[str, Any]]:
    log = catalogs_dir() / "history.jsonl"
    if not log.is_file():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line]


def _refuse_problems(root: Path, where: str) -> str:
    """The catalog's version, or a ModelVetError naming its first problem."""
    catalog = load_catalog(root)
    if catalog.problems:
        first = str(catalog.problems[0]).replace(f"{root.name}/", "", 1)
        raise ModelVetError(
            f"the catalog has {len(catalog.problems)} problem(s), first: {first}", where
        )
    return catalog.version


# --- the publisher -----------------------------------------------------------------------


def _bundle(folder: Path) -> bytes:
    """A reproducible .tar.gz of the folder: sorted, no owners, no times."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", format=tarfile.PAX_FORMAT) as archive:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            if "__pycache__" in path.parts or path.name == UNVERIFIED_MARK:
                continue
            data = path.read_bytes()
            info = tarfile.TarInfo(path.relative_to(folder).as_posix())
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def sign_catalog(folder: Path, private_key: Path, output: Path) -> dict[str, str]:
    """Check the folder, write its manifest, bundle it to `output`, sign to `output`.sig."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ModelVetError("not a catalog folder", str(folder))
    _refuse_problems(folder, str(folder))
    write_manifest(folder)
    payload = _bundle(folder)
    try:
        signature = sign(payload, Path(private_key).read_bytes())
    except (OSError, ValueError, TypeError) as error:
        raise ModelVetError(f"cannot use the private key: {error}", str(private_key)) from error
    atomic_write_bytes(output, payload)
    atomic_write_text(Path(f"{output}.sig"), json.dumps(signature, indent=2) + "\n")
    return signature


# --- the installation --------------------------------------------------------------------


def _member_name(member: tarfile.TarInfo, where: str) -> str:
    name = posixpath.normpath(member.name)
    if (
        not member.isreg()
        or name.startswith(("/", "../"))
        or name in (".", "..")
        or not name.endswith(ALLOWED_SUFFIXES)
        or member.size > MAX_MEMBER_BYTES
    ):
        raise ModelVetError(f"the archive holds {member.name!r}, which no catalog has", where)
    return name


def _extract(payload: bytes, target: Path, where: str) -> None:
    try:
        with tarfile.open(fileobj=io.BytesIO(payload), mode="r:gz") as archive:
            members = archive.getmembers()
            if len(members) > MAX_MEMBERS:
                raise ModelVetError(f"the archive holds {len(members)} files", where)
            for member in members:
                name = _member_name(member, where)
                source = archive.extractfile(member)
                assert source is not None
                path = target / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(source.read(MAX_MEMBER_BYTES))
    except (tarfile.TarError, EOFError, OSError) as error:
        raise ModelVetError(f"not a catalog archive (.tar.gz): {error}", where) from error


def _read_signature(file: Path) -> dict[str, str]:
    path = Path(f"{file}.sig")
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ModelVetError(f"no signature: {path.name} is missing") from error
    except (OSError, ValueError) as error:
        raise ModelVetError(f"unreadable signature {path.name}: {error}") from error
    if not isinstance(value, dict):
        raise ModelVetError(f"unreadable signature {path.name}")
    return value


def import_catalog(file: Path, unverified: bool = False) -> dict[str, Any]:
    """Verify, unpack, validate and activate an updated catalog; the active one is kept."""
    file = Path(file)
    try:
        if file.stat().st_size > MAX_BUNDLE_BYTES:
            raise ModelVetError(f"larger than {MAX_BUNDLE_BYTES} bytes", str(file))
        payload = file.read_bytes()
    except OSError as error:
        raise ModelVetError(f"cannot read: {error.strerror}", str(file)) from error
    key, why = None, ""
    try:
        key = verify(payload, _read_signature(file), trusted_keys(bundled_catalog_dir()))
    except ModelVetError as error:
        why = error.message()
        if not unverified:
            raise ModelVetError(
                f"refused: {why}",
                str(file),
                "only a catalog signed by a trusted key is imported, "
                "unless an unverified import is asked for (and recorded)",
            ) from error
    root = catalogs_dir()
    staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=root))
    try:
        _extract(payload, staging, str(file))
        integrity = check_manifest(staging)
        if key is not None and not integrity.has_manifest:
            raise ModelVetError(f"the signed archive carries no {MANIFEST}", str(file))
        if key is not None and not integrity.intact:
            differ = integrity.changed + integrity.missing + integrity.added
            raise ModelVetError(
                f"the signed archive does not match its own manifest: {', '.join(differ)}",
                str(file),
            )
        version = _refuse_problems(staging, str(file))
        entry = {
            "action": "import",
            "file": str(file.resolve()),
            "catalog_version": version,
            "verified": key is not None,
            "key_id": key,
            "why_unverified": why or None,
        }
        if key is None:
            (staging / UNVERIFIED_MARK).write_text(
                json.dumps({**entry, "imported_at": _now()}), encoding="utf-8"
            )
        _activate(root, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    _record(entry)
    return entry


def _activate(root: Path, staging: Path) -> None:
    current, previous = root / "current", root / "previous"
    retired = root / f".retired-{uuid.uuid4().hex}"
    if previous.exists():
        previous.rename(retired)
    if current.exists():
        current.rename(previous)
    staging.rename(current)
    shutil.rmtree(retired, ignore_errors=True)


def rollback() -> dict[str, Any]:
    """Swap the active catalog with the one before it (the bundled one, if none was kept)."""
    root = catalogs_dir()
    current, previous = root / "current", root / "previous"
    if not current.exists() and not previous.exists():
        raise ModelVetError("nothing to roll back: the bundled catalog is active", str(root))
    swap = root / f".swap-{uuid.uuid4().hex}"
    if current.exists():
        current.rename(swap)
    if previous.exists():
        previous.rename(current)
    if swap.exists():
        swap.rename(previous)
    active = _refuse_problems(current, str(current)) if current.exists() else "bundled"
    entry = {
        "action": "rollback",
        "active": str(current) if current.exists() else "bundled",
        "catalog_version": active,
    }
    _record(entry)
    return entry


def start_up_warnings() -> list[str]:
    """What to tell the user about the catalog this run uses (nothing when all is well): an
    altered bundled or imported catalog, or one imported without a verified signature."""
    root = default_catalog_dir()
    chosen_by_user = root != imported_catalog_dir() and root != bundled_catalog_dir()
    return integrity_warnings(root, must_have_manifest=not chosen_by_user)


__all__ = ["MANIFEST", "history", "import_catalog", "rollback", "sign_catalog", "start_up_warnings"]
