"""Finds shipped assets (report templates, fonts) in the wheel, else in the source tree."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from modelvet.engine.errors import ModelVetError


def resources_dir() -> Path:
    """The wheel's `modelvet/_resources` when installed, else the source tree's `resources/`."""
    package_dir = Path(str(files("modelvet")))
    bundled = package_dir / "_resources"
    if bundled.is_dir():
        return bundled
    return package_dir.parents[1] / "resources"


def resource_path(*parts: str) -> Path:
    """The path of one shipped asset; a missing asset is an installation error naming it."""
    path = resources_dir().joinpath(*parts)
    if not path.exists():
        raise ModelVetError(
            "a bundled resource is missing",
            str(path),
            "the installation is incomplete; reinstall ModelVet",
        )
    return path
