"""Where ModelVet keeps user data (MODELVET_HOME or platformdirs) and how it writes files."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import platformdirs

from modelvet.engine.errors import ModelVetError


def data_dir(create: bool = True) -> Path:
    """The user's data folder; MODELVET_HOME moves everything (tests point it at a tmp dir)."""
    override = os.environ.get("MODELVET_HOME")
    path = Path(override) if override else Path(platformdirs.user_data_dir("modelvet", "ModelVet"))
    if not create:
        return path
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ModelVetError(
            f"cannot create the data folder: {error.strerror}", str(path), "set MODELVET_HOME"
        ) from error
    return path


def read_json(path: Path, what: str) -> Any:
    """A JSON file ModelVet wrote earlier (`what`: "a smoke-test result"); a missing or
    unreadable file is a ModelVetError naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ModelVetError(f"{what} not found", str(path)) from error
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelVetError(f"not {what} saved as JSON: {error}", str(path)) from error


def _mode_for(path: Path) -> int:
    """Keep an existing file's permissions; a new file gets the usual umask-based ones."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write to a temporary file beside `path`, flush it to disk, then rename over `path`."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise ModelVetError(
            f"cannot write: {error.strerror}", str(path), "choose a folder you can write to"
        ) from error
    try:
        os.chmod(tmp_name, _mode_for(path))
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except OSError as error:
        Path(tmp_name).unlink(missing_ok=True)
        raise ModelVetError(
            f"cannot write: {error.strerror}", str(path), "the previous file, if any, is unchanged"
        ) from error
    _settle(path)


STALE_TEMPORARY_S = 3600.0


def _settle(path: Path) -> None:
    """After the rename: make it durable (fsync the folder), and remove temporary files that a
    writer killed mid-write left beside `path` (old enough that no writer still owns them)."""
    with contextlib.suppress(OSError):
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    cutoff = time.time() - STALE_TEMPORARY_S
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        with contextlib.suppress(OSError):
            if stale.stat().st_mtime < cutoff:
                stale.unlink()


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))
