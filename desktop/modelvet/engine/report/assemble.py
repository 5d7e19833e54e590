"""Builds the DecisionRecord from a Recommendation, the resolved security rules and the catalog."""

from __future__ import annotations

import datetime as dt

from modelvet import __version__
from modelvet.engine.catalog.loader import Catalog
from modelvet.engine.hardware import HardwareSpec
from modelvet.engine.plan import Plan, PlanMachine
from modelvet.engine.profile import Profile, parse_profile
from modelvet.engine.rank.result import ExcludedModel, Recommendation, RuleFailure
from modelvet.engine.report.provenance import recorded_model
from modelvet.engine.report.record import (
    DecisionRecord,
    HardwareFacts,
    OrganisationFacts,
    PlannedModel,
    PlanSummary,
    PolicyBasis,
    RecordedExclusion,
    RecordedFailure,
    Requirements,
    SecurityRule,
    SmokeProbe,
    SmokeRow,
    SmokeSection,
)
from modelvet.engine.report.trial_section import trial_section
from modelvet.engine.security import ResolvedSecurity, resolve_security
from modelvet.engine.smoke.result import SmokeResult
from modelvet.engine.trial.result import TrialResult

_SECURITY_LABELS = {
    "deployment": "Deployment",
    "blocked_origins": "Blocked origins (developer, parent, base model, file publisher)",
    "allowed_origins": "Allowed origins only",
    "require_commercial_use": "Licence must permit commercial use",
    "forbid_field_of_use_restrictions": "No licence bans on uses our sector needs",
    "require_osi_license": "OSI-approved licence required",
    "min_openness": "Minimum openness (Model Openness Framework)",
    "require_published_hashes": "Publisher must state the file's sha256",
    "unknown_terms": "A licence clause or fact the catalog does not know",
}
# Which security setting each policy rule enforces.
_RULE_SETTING = {
    "deployment": "deployment",
    "origin": "blocked_origins",
    "allowed-origin": "allowed_origins",
    "commercial-use": "require_commercial_use",
    "field-of-use": "forbid_field_of_use_restrictions",
    "osi-licence": "require_osi_license",
    "openness": "min_openness",
    "published-hash": "require_published_hashes",
}


def _words(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "none"
    return "no requirement" if value is None else str(value)


def _source(origin: str) -> str:
    return (
        f"policy preset {origin.removeprefix('policy ')}"
        if origin.startswith("policy ")
        else origin
    )


def security_rules(security: ResolvedSecurity) -> list[SecurityRule]:
    return [
        SecurityRule(
            setting=name,
            label=label,
            value=_words(getattr(security, name)),
            source=_source(security.origin_of.get(name, "default")),
            basis=security.basis_of(name),
        )
        for name, label in _SECURITY_LABELS.items()
    ]


def _hardware_source(spec: HardwareSpec) -> str:
    if spec.origin.startswith("preset:"):
        return f"hardware preset {spec.origin.removeprefix('preset:')}, named in the profile"
    return {"detected": "detected on this machine", "profile": "described in the profile"}.get(
        spec.origin, spec.origin
    )


def _hardware_short(spec: HardwareSpec) -> str:
    if spec.origin.startswith("preset:"):
        return f"preset {spec.origin.removeprefix('preset:')}"
    return {"detected": "detected", "profile": "described in the profile"}.get(
        spec.origin, spec.origin
    )


def hardware_facts(spec: HardwareSpec) -> HardwareFacts:
    details = [
        f"GPU: {g.name}, {g.memory_gb:g} GB"
        + (f", {g.bandwidth_gbs:g} GB/s" if g.bandwidth_gbs else "")
        for g in spec.gpus
    ]
    details.append(
        f"RAM: {spec.ram_gb:g} GB"
        + (
            f", {spec.ram_bandwidth_gbs:g} GB/s"
            if spec.ram_bandwidth_gbs
            else ", bandwidth unknown"
        )
        + (" (unified with the GPU)" if spec.unified_memory else "")
    )
    if spec.cpu_model or spec.cpu_cores:
        details.append(f"CPU: {spec.cpu_model or 'model unknown'}, {spec.cpu_cores or '?'} cores")
    details += [f"note: {w}" for w in spec.warnings]
    return HardwareFacts(
        name=spec.name, source=_hardware_source(spec), details=details, sources=spec.sources
    )


def _failure(
    reason: RuleFailure, profile: Profile, security: ResolvedSecurity, hardware: HardwareSpec
) -> RecordedFailure:
    """Name the setting behind a failed rule and who set it (policy preset, profile, default)."""
    org, cap = profile.organisation, profile.capability
    rule = reason.rule
    facts = {
        "rule": rule,
        "detail": reason.detail,
        "status": reason.status,
        "licence": reason.licence,
        "clause_url": reason.clause_url,
    }
    unknown = f"; unknown_terms = {security.unknown_terms}" if reason.status == "unknown" else ""
    if rule in _RULE_SETTING:
        name = _RULE_SETTING[rule]
        setting = f"{name} = {_words(getattr(security, name))}"
        if rule == "field-of-use":
            setting += f"; sector = {org.sector}"
        source = _source(security.origin_of.get(name, "default"))
        return RecordedFailure(**facts, setting=setting + unknown, source=source)
    users = (
        f"monthly_active_users = {org.monthly_active_users}"
        if org.monthly_active_users is not None
        else "monthly_active_users not stated"
    )
    setting, source = {
        "fit": (
            f"hardware: {_hardware_short(hardware)}; context_tokens = {cap.context_tokens}",
            "profile" if hardware.origin != "detected" else "this machine and the profile",
        ),
        "context": (f"context_tokens = {cap.context_tokens}", "profile"),
        "modality": (f"tasks = {', '.join(cap.tasks)}", "profile"),
        "user-cap": (f"expected_monthly_users = {org.expected_monthly_users}; {users}", "profile"),
        "revenue-cap": (
            "monthly_revenue_usd = "
            + (
                f"{org.monthly_revenue_usd:,.0f}"
                if org.monthly_revenue_usd is not None
                else "not stated"
            ),
            "profile",
        ),
        "licence-region": (
            f"organisation country = {org.country}; user_countries = {_words(org.user_countries)}",
            "profile",
        ),
    }.get(rule, ("", "ModelVet rule"))
    return RecordedFailure(**facts, setting=setting + unknown, source=source)


def _exclusion(
    item: ExcludedModel, profile: Profile, security: ResolvedSecurity, hardware: HardwareSpec
) -> RecordedExclusion:
    return RecordedExclusion(
        model_id=item.model_id,
        name=item.name,
        developer=item.developer,
        developer_country=item.developer_country,
        license=item.license,
        failures=[_failure(r, profile, security, hardware) for r in item.reasons],
    )


def smoke_section(result: SmokeResult) -> SmokeSection:
    return SmokeSection(
        file=result.file,
        sha256=result.sha256,
        catalog_model_id=result.catalog_model_id,
        settings=result.settings,
        passed=result.passed,
        verdict=result.verdict,
        checks=result.checks,
        probes_passed=result.probes_passed,
        comparisons=[
            SmokeRow(
                quantity=c.quantity,
                unit=c.unit,
                predicted=c.predicted,
                measured=c.measured,
                ratio=c.ratio,
            )
            for c in result.comparisons
        ],
        probes=[
            SmokeProbe(id=p.id, task=p.task, passed=p.passed, why=p.why) for p in result.probes
        ],
    )


def plan_summary(plan: Plan) -> PlanSummary:
    machines = {m.key: m for m in plan.machines}
    return PlanSummary(
        machines=len(plan.machines),
        models=[
            PlannedModel(
                name=m.name,
                runs_on=m.runs_on,
                smallest=machines[m.smallest].name if m.smallest else None,
                cheapest=price_text(machines[m.cheapest]) if m.cheapest else None,
            )
            for m in plan.models
        ],
    )


def price_text(machine: PlanMachine) -> str:
    covers = "the whole system" if machine.price_covers == "system" else "GPU cards only"
    return f"{machine.name} (US${machine.price_usd:,.0f} list, {covers})"


def build_record(
    recommendation: Recommendation,
    catalog: Catalog,
    smoke: SmokeResult | None = None,
    now: dt.datetime | None = None,
    plan: Plan | None = None,
    trial: TrialResult | None = None,
) -> DecisionRecord:
    """Everything the approver needs, with the source of every rule and every fact."""
    profile = parse_profile(recommendation.profile, "recommendation.profile")
    security = resolve_security(profile, catalog)
    preset = security.policy
    cap = profile.capability
    return DecisionRecord(
        title=f"Model decision record: {profile.name}" if profile.name else "Model decision record",
        profile_name=profile.name,
        generated_at=(now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC),
        modelvet_version=__version__,
        profile=recommendation.profile,
        hardware_spec=recommendation.hardware,
        catalog_version=recommendation.catalog_version,
        catalog_date=catalog.meta.catalog_date if catalog.meta else None,
        organisation=OrganisationFacts(**profile.organisation.model_dump()),
        security=security_rules(security),
        policy=PolicyBasis(
            id=preset.id,
            name=preset.name,
            basis=preset.basis,
            basis_urls=preset.basis_urls,
            required_by=dict(preset.required_by),
        )
        if preset
        else None,
        hardware=hardware_facts(recommendation.hardware),
        requirements=Requirements(
            tasks=list(cap.tasks),
            context_tokens=cap.context_tokens,
            min_tokens_per_s=cap.min_tokens_per_s,
            languages=cap.languages,
            kv_cache_type=cap.kv_cache_type,
            priority=cap.priority,
        ),
        settings=recommendation.settings,
        assumptions=recommendation.assumptions,
        recommended=[recorded_model(catalog, item) for item in recommendation.recommended],
        excluded=[
            _exclusion(item, profile, security, recommendation.hardware)
            for item in recommendation.excluded
        ],
        smoke=smoke_section(smoke) if smoke else None,
        plan=plan_summary(plan) if plan else None,
        trial=trial_section(trial) if trial else None,
    )
