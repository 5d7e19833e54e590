"""Sizes and placements in words: one format for bytes and one table of placements, so the
CLI, the wizard, the reasons and every report format say the same thing for the same model.

Sizes are in GB of 10^9 bytes, as vendors and the catalog state them (a file under 0.1 GB in
MB); a size nobody knows is "unknown". Each placement code the fit produces has a label (a
table cell, a record line), a phrase (inside a sentence) and a preference when a variant is
picked (whole on the GPU(s) first, then split with the CPU, then the CPU alone).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:  # polars only where text is built for a frame (hardware detection needs none)
    import polars as pl

GB = 10**9
MB = 10**6
UNKNOWN = "unknown"


def format_bytes(value: float | None) -> str:
    """'8.5 GB', '92 MB', or 'unknown'."""
    if value is None:
        return UNKNOWN
    return f"{value / GB:.1f} GB" if value >= GB / 10 else f"{value / MB:.0f} MB"


def bytes_text(column: str | pl.Expr) -> pl.Expr:
    """`format_bytes` as a polars expression, for text built for every row at once."""
    import polars as pl

    value = pl.col(column) if isinstance(column, str) else column
    large = (value / GB).round(1).cast(pl.String) + " GB"
    small = (value / MB).round(0).cast(pl.Int64).cast(pl.String) + " MB"
    return pl.when(value >= GB / 10).then(large).otherwise(small).fill_null(UNKNOWN)


class Placement(NamedTuple):
    label: str  # on its own: a table cell, a line of the record
    phrase: str  # inside a sentence: "Q4_K_M fully on the GPU"
    preference: int  # lower is preferred when one variant of a model is picked


PLACEMENTS = {
    "gpu": Placement("one GPU", "fully on the GPU", 0),
    "multi-gpu": Placement("several GPUs", "fully on the GPUs", 0),
    "hosted": Placement("hosted service", "hosted", 0),
    "gpu+cpu": Placement("GPU + CPU", "split GPU/CPU", 1),
    "cpu": Placement("CPU only", "on the CPU", 2),
}
DOES_NOT_FIT = "does not fit"


def placement_label(code: str | None, gpu_share: float | None = None) -> str:
    """'one GPU'; a split says how much is on the GPU: 'GPU + CPU (60% on GPU)'."""
    if code is None:
        return DOES_NOT_FIT
    label = PLACEMENTS[code].label if code in PLACEMENTS else code
    if code == "gpu+cpu" and gpu_share is not None:
        label += f" ({gpu_share:.0%} on GPU)"
    return label


def placement_phrase(code: str | None) -> str:
    """'fully on the GPU', 'split GPU/CPU', …"""
    if code is None:
        return DOES_NOT_FIT
    return PLACEMENTS[code].phrase if code in PLACEMENTS else code


def phrases() -> dict[str, str]:
    """Code → phrase, for `replace_strict` in polars text."""
    return {code: p.phrase for code, p in PLACEMENTS.items()}


def preferences() -> dict[str, int]:
    return {code: p.preference for code, p in PLACEMENTS.items()}
