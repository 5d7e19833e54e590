"""The one error type the engine raises for bad input: what went wrong, where, and a hint."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

T = TypeVar("T")


class ModelVetError(Exception):
    """Bad input (a file, a profile, a flag). The CLI prints `str()` and exits 2."""

    def __init__(self, title: str, where: str = "", hint: str = "") -> None:
        self.title = title
        self.where = where
        self.hint = hint
        super().__init__(self.message())

    def message(self) -> str:
        text = f"{self.where}: {self.title}" if self.where else self.title
        return f"{text} ({self.hint})" if self.hint else text


class CheckFailed(Exception):
    """A check ran and its result is negative (exit code 1), e.g. a failed smoke test."""


class Cancelled(Exception):
    """The user stopped the work; nothing that was to follow it has happened."""


def require(table: Mapping[str, T], key: str, what: str, where: str) -> T:
    """table[key], or a ModelVetError naming the unknown key and listing the known ones."""
    if key in table:
        return table[key]
    known = ", ".join(sorted(table)) or "none"
    raise ModelVetError(f"unknown {what} {key!r}", where, f"known presets: {known}")
