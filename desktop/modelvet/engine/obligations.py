"""The duties an organisation takes on with a model: from each licence that binds it.

Naming and display duties, notices and attribution, use policies to pass on, and the
licensor's powers over the user (remote restriction, unilateral changes). A display duty that
only applies above a size (Kimi's 100M users or US$20M monthly revenue) is listed when the
organisation's figures reach it, or when they are not stated and might.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from modelvet.engine.licence_rules import OBLIGATION_SCHEMA
from modelvet.engine.profile import Organisation


@dataclass(frozen=True)
class Duty:
    when: pl.Expr
    text: pl.Expr
    clause: str


def _display_applies(org: Organisation) -> tuple[pl.Expr, pl.Expr]:
    """(applies, note): whether the display duty's size trigger is met by this organisation."""
    users = org.monthly_active_users or org.expected_monthly_users
    revenue = org.monthly_revenue_usd
    by_users = pl.col("display_trigger_users").is_not_null() & (
        pl.col("display_trigger_users") < users
    )
    has_revenue_trigger = (
        pl.col("display_trigger_monthly_revenue").is_not_null()
        | pl.col("display_trigger_annual_revenue").is_not_null()
    )
    untriggered = pl.all_horizontal(
        pl.col(c).is_null()
        for c in (
            "display_trigger_users",
            "display_trigger_monthly_revenue",
            "display_trigger_annual_revenue",
        )
    )
    if revenue is None:
        by_revenue = pl.lit(False)
        undetermined = has_revenue_trigger & ~by_users
    else:
        by_revenue = (pl.col("display_trigger_monthly_revenue") < revenue).fill_null(False) | (
            pl.col("display_trigger_annual_revenue") < revenue * 12
        ).fill_null(False)
        undetermined = pl.lit(False)
    note = (
        pl.when(untriggered)
        .then(pl.lit(""))
        .when(by_users.fill_null(False) | by_revenue)
        .then(pl.lit(" (your size reaches its trigger)"))
        .otherwise(
            pl.lit(
                " (applies if your revenue reaches its trigger; your profile does not state "
                "monthly_revenue_usd)"
            )
        )
    )
    applies = untriggered | by_users.fill_null(False) | by_revenue | undetermined
    return applies, note


def _duties(org: Organisation) -> list[Duty]:
    binding = pl.col("reach") == "all"
    display, note = _display_applies(org)
    return [
        Duty(
            pl.col("attribution_required").fill_null(False),
            pl.lit(
                "keep the licence text, copyright notices and any NOTICE file with every copy "
                "you distribute"
            ),
            "attribution_required",
        ),
        Duty(  # a display duty is a notice duty: it reaches derivatives under "notice" too
            pl.col("display_requirement").is_not_null() & display,
            pl.format("{}{}", pl.col("display_requirement"), note),
            "display_requirement",
        ),
        Duty(
            binding & pl.col("derivative_naming").is_not_null(),
            pl.format("if you distribute a model built from it: {}", pl.col("derivative_naming")),
            "derivative_naming",
        ),
        Duty(
            binding & pl.col("use_policy_pass_on").fill_null(False),
            pl.lit(
                "when you distribute it or a model built from it, or offer it as a service, "
                "pass its use restrictions on to recipients as enforceable terms"
            ),
            "use_policy_pass_on",
        ),
        Duty(
            binding & pl.col("remote_restriction").fill_null(False),
            pl.lit("the licensor may restrict your use remotely if it believes you breach it"),
            "remote_restriction",
        ),
        Duty(
            binding & pl.col("aup_unilaterally_updatable").fill_null(False),
            pl.lit(
                "the licensor may change its terms or use policy without your consent: "
                "re-read them before each deployment"
            ),
            "aup_unilaterally_updatable",
        ),
        Duty(
            binding & pl.col("outputs_are_derivatives").fill_null(False),
            pl.lit("a model trained on its outputs is bound by its terms"),
            "outputs_are_derivatives",
        ),
    ]


def obligations(terms: pl.DataFrame, org: Organisation) -> pl.DataFrame:
    """model_id, licence, licence_name, inherited, duty, clause_url for every duty that applies."""
    frames = [
        terms.lazy()
        .filter(duty.when)
        .select(
            "model_id",
            pl.col("license_id").alias("licence"),
            pl.format("{}{}", pl.col("license_name"), pl.col("via")).alias("licence_name"),
            "inherited",
            duty.text.alias("duty"),
            pl.col(f"url:{duty.clause}").alias("clause_url"),
            pl.col("order"),
            pl.lit(rank).alias("_duty"),
        )
        for rank, duty in enumerate(_duties(org))
    ]
    return (
        pl.concat(frames)
        .sort("model_id", "order", "_duty")
        .drop("order", "_duty")
        .collect()
        .cast(OBLIGATION_SCHEMA)  # type: ignore[arg-type]
    )
