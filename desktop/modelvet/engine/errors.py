"""The errors the engine raises on purpose: what went wrong, where, a hint, and an exit code.

One hierarchy, so every surface shows them the same way: the CLI prints `message()` and exits
with `exit_code`; the wizard shows the title, the place and the hint (`gui/errors.py`). Messages
name files, records and fields, never command-line flags: the CLI adds its own hint where a
flag matters.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping
from typing import TypeVar

T = TypeVar("T")

SHOWN_WHEN_FEW = 8  # a table this small is listed whole when the key matches none of it


class ModelVetError(Exception):
    """Bad input (a file, a profile, a setting): nothing was done. Exit code 2."""

    exit_code = 2

    def __init__(self, title: str, where: str = "", hint: str = "") -> None:
        self.title = title
        self.where = where
        self.hint = hint
        super().__init__(title)

    def message(self) -> str:
        text = f"{self.where}: {self.title}" if self.where else self.title
        return f"{text} ({self.hint})" if self.hint else text

    def __str__(self) -> str:  # follows a `where` or `hint` added on the way up
        return self.message()


class CheckFailed(ModelVetError):
    """A check ran and its result is negative, e.g. a file predicted not to fit. Exit code 1."""

    exit_code = 1


class Cancelled(ModelVetError):
    """The user stopped the work; nothing that was to follow it has happened. Exit code 130,
    as for Ctrl-C."""

    exit_code = 130


def nearest_hint(key: str, known: Collection[str]) -> str:
    """'did you mean …?' for the closest known id; a short table whole; else how many."""
    nearest = difflib.get_close_matches(key, list(known), n=1)
    if nearest:
        return f"did you mean {nearest[0]!r}?"
    if len(known) <= SHOWN_WHEN_FEW:
        return f"known: {', '.join(sorted(known)) or 'none'}"
    return f"none of the {len(known)} known ones is close"


def require(table: Mapping[str, T], key: str, what: str, where: str) -> T:
    """table[key], or a ModelVetError naming the unknown key and the nearest known one."""
    if key in table:
        return table[key]
    raise ModelVetError(f"unknown {what} {key!r}", where, nearest_hint(key, table))
