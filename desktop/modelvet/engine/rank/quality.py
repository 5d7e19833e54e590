"""Quality a quantisation gives up, from llama.cpp's published perplexity and KL-divergence table.

The table is `resources/data/quant_quality.toml` (its header names the page and the model it was
measured on). The loss ModelVet ranks by is the perplexity increase over FP16 in percent. A type
the table lacks borrows the figure of the measured type with the most bits per weight at or below
its own, and the variant says so; formats a model is released in (BF16, F16, MXFP4) lose nothing.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache

import polars as pl

from modelvet.engine.fit.quants import BITS_PER_WEIGHT, NATIVE_PRECISION, UNKNOWN_QUANT_BITS
from modelvet.engine.resources import resource_path


@dataclass(frozen=True)
class QualityTable:
    source: str
    measured_on: str
    loss_pct: dict[str, float]  # quant → perplexity increase over FP16, percent
    kld: dict[str, float]


@cache
def quality_table() -> QualityTable:
    document = tomllib.loads(resource_path("data", "quant_quality.toml").read_text("utf-8"))
    loss = {
        row["quant"]: 100.0 * row["delta_ppl"] / (row["ppl"] - row["delta_ppl"])
        for row in document["types"]
    }
    kld = {row["quant"]: row["kld"] for row in document["types"]}
    return QualityTable(document["source"], document["measured_on"], loss, kld)


def _stand_in(quant: str, table: QualityTable) -> str:
    """The measured type that stands in for an unmeasured one: most bits at or below its own."""
    bits = BITS_PER_WEIGHT.get(quant, UNKNOWN_QUANT_BITS)
    below = [q for q in table.loss_pct if BITS_PER_WEIGHT.get(q, 99.0) <= bits]
    if not below:
        return max(table.loss_pct, key=lambda q: table.loss_pct[q])
    return max(below, key=lambda q: BITS_PER_WEIGHT[q])


def quality_assumption() -> str:
    """The one sentence that names the table every measured loss comes from."""
    table = quality_table()
    return (
        f"quantisation quality = perplexity increase over FP16, llama.cpp's table for "
        f"{table.measured_on.split(',')[0]} ({table.source})"
    )


def quality_basis(quant: str | None) -> tuple[float | None, str | None]:
    """(perplexity increase in percent, what the figure rests on when it is not the table)."""
    table = quality_table()
    if quant is None:
        return None, "hosted: no local quantisation"
    if quant in NATIVE_PRECISION:
        return 0.0, f"{quant} is the precision the model is released in"
    if quant in table.loss_pct:
        return table.loss_pct[quant], None  # the table itself: named once, in the assumptions
    stand_in = _stand_in(quant, table)
    return table.loss_pct[stand_in], (
        f"{quant} not in llama.cpp's table; taken as {stand_in}, the nearest measured type "
        "with no more bits per weight"
    )


def quality_columns(quants: pl.Series) -> pl.DataFrame:
    """quant → quality_loss_pct and quality_basis, for the distinct quantisations given."""
    distinct = quants.drop_nulls().unique().to_list()
    rows = [(q, *quality_basis(q)) for q in distinct]
    return pl.DataFrame(
        rows,
        schema={"quant": pl.String, "quality_loss_pct": pl.Float64, "quality_basis": pl.String},
        orient="row",
    )
