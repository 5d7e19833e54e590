"""The decision record as a value: everything a report shows, in the order an approver reads it."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from modelvet.engine.hardware import HardwareSpec
from modelvet.engine.rank.result import RecommendedModel
from modelvet.engine.report.trial_section import TrialSection


class _Value(BaseModel):
    model_config = ConfigDict(extra="forbid")


class OrganisationFacts(_Value):
    country: str
    sector: str
    expected_monthly_users: int
    monthly_active_users: int | None = None
    monthly_revenue_usd: float | None = None
    user_countries: list[str] = []


class SecurityRule(_Value):
    """One effective security rule, its value in words, and who set it."""

    setting: str
    label: str
    value: str
    source: str
    basis: str | None = None  # for a preset's setting: the law that requires it, or a choice


class PolicyBasis(_Value):
    id: str
    name: str
    basis: str
    basis_urls: list[str]
    required_by: dict[str, str] = {}  # setting → the provision that requires it


class HardwareFacts(_Value):
    name: str
    source: str
    details: list[str]
    sources: list[str]


class Requirements(_Value):
    tasks: list[str]
    context_tokens: int
    min_tokens_per_s: float
    languages: list[str]
    kv_cache_type: str
    priority: str = "balanced"  # how each model's variant was chosen (rank/variant.py)


class SourceRef(_Value):
    """One URL and the facts the catalog takes from it."""

    facts: list[str]
    url: str


class Ancestor(_Value):
    """A model this one derives from (base model of a fine-tune, distill or merge)."""

    model_id: str
    name: str
    developer: str
    developer_country: str
    lineage: str | None
    repo: str | None
    card_url: str


class RecordedModel(_Value):
    """A recommended model with the provenance the catalog holds for its facts."""

    recommended: RecommendedModel
    origin_chain: list[str]
    ancestors: list[Ancestor]
    license_spdx: str | None
    official_file: bool | None
    file_repo: str | None
    revision: str | None
    file_source: str | None
    architecture: str | None
    architecture_family: str | None
    sources: list[SourceRef]
    named_in_rules: list[str] = []  # government rules naming the developer or its ancestors


class RecordedFailure(_Value):
    """One rule that excluded a model, the setting behind the rule, and who set it."""

    rule: str
    detail: str
    setting: str
    source: str
    status: str = "fail"  # fail | unknown (the catalog lacks the fact the rule needs)
    licence: str | None = None
    clause_url: str | None = None


class RecordedExclusion(_Value):
    model_id: str
    name: str
    developer: str
    developer_country: str
    license: str
    failures: list[RecordedFailure]


class SmokeRow(_Value):
    quantity: str
    unit: str
    predicted: float | None
    measured: float | None
    ratio: float | None


class SmokeProbe(_Value):
    id: str
    task: str
    passed: bool
    why: str


class SmokeSection(_Value):
    file: str
    sha256: str | None
    catalog_model_id: str | None
    settings: str
    passed: bool
    verdict: str
    checks: list[str]
    comparisons: list[SmokeRow]
    probes: list[SmokeProbe]
    probes_passed: int


class PlannedModel(_Value):
    name: str
    runs_on: int
    smallest: str | None
    cheapest: str | None


class PlanSummary(_Value):
    """The hardware plan, per model: on how many machines it meets the targets, which first."""

    machines: int
    models: list[PlannedModel]


RECORD_SCHEMA_VERSION = 2


class DecisionRecord(_Value):
    """What `modelvet report` writes, in every format (`--format json`: this, as JSON).

    Schema 2 adds the profile and hardware it was made for (so `modelvet recheck` can
    re-evaluate it), licences, obligations and caveats per model, and rule statuses.
    """

    schema_version: Literal[2] = 2
    profile: dict[str, Any]
    hardware_spec: HardwareSpec
    title: str
    profile_name: str | None
    generated_at: dt.datetime
    modelvet_version: str
    catalog_version: str
    catalog_date: dt.date | None
    organisation: OrganisationFacts
    security: list[SecurityRule]
    policy: PolicyBasis | None
    hardware: HardwareFacts
    requirements: Requirements
    settings: str
    assumptions: list[str]
    recommended: list[RecordedModel]
    excluded: list[RecordedExclusion]
    smoke: SmokeSection | None
    plan: PlanSummary | None = None
    trial: TrialSection | None = None
    sign_off: list[str] = ["Prepared by", "Approved by"]

    @property
    def generated_at_text(self) -> str:
        return self.generated_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
