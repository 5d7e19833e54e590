"""Which of a model's admissible variants to run: the quantisation and placement trade-off.

Every admissible variant of a model is weighed in one unit, percent of perplexity (the quality
loss llama.cpp measured for its quantisation type, see `quality.py`):

1. Variants that meet the speed floor come before those that do not.
2. A variant split between GPU and CPU (or on the CPU) is set aside when a variant of the same
   model runs fully on the GPU, meets the floor, is at least as fast, and costs less than the
   priority's `gpu_margin_pct` more perplexity — or, under balanced and speed, is itself a
   4-bit quantisation or better (its loss at most the worst 4-bit type's in llama.cpp's table):
   a split pays in speed, prompt processing and memory pressure for a quality difference too
   small to matter, and 4-bit is where common practice still trusts a quantisation.
3. Among the rest the highest value wins:
       value = −quality_loss_pct + speed_pct_per_doubling × log2(tokens/s ÷ floor)
               − tight_fit_pct × (share of the last 10 % of memory used)
   Each doubling of speed above the floor is worth the same, so 20 → 40 tokens/s counts as much
   as 100 → 200: diminishing returns in tokens/s.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from modelvet.engine.rank.quality import quality_table

ON_GPU = ("gpu", "multi-gpu")
TIGHT_HEADROOM = 0.10


@dataclass(frozen=True)
class TradeOff:
    """How much perplexity each priority gives for speed and for keeping off the CPU."""

    gpu_margin_pct: float
    speed_pct_per_doubling: float
    tight_fit_pct: float = 0.5
    four_bit_on_gpu: bool = False  # a GPU-only 4-bit (or better) variant beats any split

    def describe(self, priority: str) -> str:
        four_bit = (
            f", or at most {four_bit_loss_pct():.1f} % in all (a 4-bit quantisation or better)"
            if self.four_bit_on_gpu
            else ""
        )
        return (
            f"{priority} priority: GPU-only beats a split costing under "
            f"{self.gpu_margin_pct:g} % more perplexity{four_bit}; each doubling of speed above "
            f"the floor is worth {self.speed_pct_per_doubling:g} %"
        )

    def gpu_loss_ceiling_pct(self) -> float:
        return four_bit_loss_pct() if self.four_bit_on_gpu else float("-inf")


def four_bit_loss_pct() -> float:
    """The worst perplexity loss among the 4-bit types llama.cpp measured (Q4_*, IQ4_*)."""
    table = quality_table().loss_pct
    return max(loss for quant, loss in table.items() if quant.startswith(("Q4_", "IQ4_")))


TRADE_OFFS: dict[str, TradeOff] = {
    "quality": TradeOff(gpu_margin_pct=0.5, speed_pct_per_doubling=0.25),
    "balanced": TradeOff(gpu_margin_pct=3.0, speed_pct_per_doubling=1.0, four_bit_on_gpu=True),
    "speed": TradeOff(gpu_margin_pct=10.0, speed_pct_per_doubling=5.0, four_bit_on_gpu=True),
}


def _speed() -> pl.Expr:
    return pl.col("predicted_tokens_per_s")


def value(trade: TradeOff, floor_tokens_per_s: float) -> pl.Expr:
    """The trade-off value of each variant, in percent of perplexity (higher is better)."""
    reference = max(floor_tokens_per_s, 1.0)
    doublings = (_speed() / reference).log(2).fill_null(0.0)
    tight = ((TIGHT_HEADROOM - pl.col("memory_headroom")) / TIGHT_HEADROOM).clip(0.0, 1.0)
    return (
        -pl.col("quality_loss_pct").fill_null(0.0)
        + trade.speed_pct_per_doubling * doublings
        - trade.tight_fit_pct * tight.fill_null(0.0)
    )


def _set_aside(rows: pl.DataFrame, trade: TradeOff) -> pl.Series:
    """Per row: True for a split that a fully-on-GPU variant of the same model beats (rule 2)."""
    keys = ["model_id", "_variant"]
    splits = rows.filter(~pl.col("_on_gpu") & ~pl.col("hosted")).select(
        *keys, "quality_loss_pct", "predicted_tokens_per_s"
    )
    on_gpu = rows.filter(pl.col("_on_gpu") & pl.col("_fast")).select(
        "model_id",
        pl.col("quality_loss_pct").alias("_gpu_loss"),
        pl.col("predicted_tokens_per_s").alias("_gpu_speed"),
    )
    beaten = (
        splits.join(on_gpu, on="model_id")
        .filter(
            (
                (pl.col("_gpu_loss") - pl.col("quality_loss_pct") < trade.gpu_margin_pct)
                | (pl.col("_gpu_loss") <= trade.gpu_loss_ceiling_pct())
            )
            # Speeds unknown (no bandwidth figure): a GPU-only variant counts as the faster.
            & (
                pl.col("_gpu_speed").fill_null(float("inf"))
                >= pl.col("predicted_tokens_per_s").fill_null(0.0)
            )
        )
        .select(keys)
        .unique()
        .with_columns(pl.lit(True).alias("_set_aside"))
    )
    return (
        rows.select(keys)
        .join(beaten, on=keys, how="left", maintain_order="left")
        .get_column("_set_aside")
        .fill_null(False)
    )


def order_variants(rows: pl.DataFrame, priority: str, floor_tokens_per_s: float) -> pl.DataFrame:
    """The admissible variants, each model's best first, with `_choice` 0, 1, 2… per model.

    Needs quality_loss_pct, predicted_tokens_per_s, memory_headroom, placement, meets_speed_target.
    """
    trade = TRADE_OFFS[priority]
    rows = rows.with_columns(
        pl.int_range(pl.len()).alias("_variant"),
        pl.col("placement").is_in(ON_GPU).alias("_on_gpu"),
        pl.col("meets_speed_target").fill_null(True).alias("_fast"),
        value(trade, floor_tokens_per_s).alias("trade_value"),
    )
    rows = rows.with_columns(_set_aside(rows, trade).alias("set_aside_for_gpu"))
    return (
        rows.sort(
            # quant and publisher last: equal variants come out in the same order every run.
            ["model_id", "_fast", "set_aside_for_gpu", "trade_value", "total_bytes", "quant"]
            + ["publisher"],
            descending=[False, True, False, True, False, False, False],
            nulls_last=True,
            maintain_order=True,
        )
        .with_columns(pl.int_range(pl.len()).over("model_id").alias("_choice"))
        .drop("_variant", "_on_gpu")
    )
