"""Numbers and codes in the words every report format uses (one place, so the formats agree)."""

from __future__ import annotations

from modelvet.engine.rank.result import RecommendedModel
from modelvet.engine.report.record import (
    OrganisationFacts,
    RecordedFailure,
    RecordedModel,
    SecurityRule,
)
from modelvet.engine.vocabulary import format_bytes, placement_label


def number(value: float | None, digits: int = 1) -> str:
    return "unknown" if value is None else f"{value:,.{digits}f}"


def speed(value: float | None) -> str:
    return "not predicted" if value is None else f"{value:.0f} tokens/s"


def ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def placement(entry: RecordedModel) -> str:
    return placement_label(entry.recommended.placement, entry.recommended.gpu_share)


def developer(entry: RecordedModel) -> str:
    item = entry.recommended
    return f"{item.developer} ({item.developer_country})"


def params(item: RecommendedModel) -> str:
    if item.total_params_b is None:
        return "unknown"
    if item.active_params_b and item.active_params_b != item.total_params_b:
        return f"{item.total_params_b:g} B total, {item.active_params_b:g} B active"
    return f"{item.total_params_b:g} B"


def file_line(entry: RecordedModel) -> str:
    """'Q4_K_M GGUF from IBM (US), the developer's own file' or why there is no file."""
    item = entry.recommended
    if item.placement == "hosted":
        return f"hosted by {item.publisher or 'the developer'}: no file"
    kind = f"{item.quant or '?'} {(item.format or '').upper()}".strip()
    if not item.publisher:
        return (
            f"{kind}: no published file in the catalog; quantise the developer's "
            f"weights yourself (size estimated from the parameter count)"
        )
    country = f" ({item.publisher_country})" if item.publisher_country else ""
    own = ", the developer's own file" if entry.official_file else ", a third-party file"
    return f"{kind} from {item.publisher}{country}{own}"


def file_size(entry: RecordedModel) -> str:
    item = entry.recommended
    status = f" ({item.size_status})" if item.size_status else ""
    return f"{format_bytes(item.file_size_bytes or item.memory.weights_bytes)}{status}"


def memory_line(entry: RecordedModel) -> str:
    item = entry.recommended
    mem = item.memory
    headroom = f", {item.memory_headroom:.0%} headroom" if item.memory_headroom is not None else ""
    return (
        f"{format_bytes(item.predicted_memory_bytes)} (weights {format_bytes(mem.weights_bytes)}, "
        f"KV cache {format_bytes(mem.kv_cache_bytes)}, compute {format_bytes(mem.compute_bytes)})"
        f"{headroom}"
    )


def speed_line(entry: RecordedModel, target: float) -> str:
    item = entry.recommended
    if item.predicted_tokens_per_s is None:
        return "not predicted"
    verdict = "meets" if item.meets_speed_target else "below"
    span = item.predicted_tokens_per_s_range
    likely = f", likely {span[0]:.0f}–{span[1]:.0f}" if span else ""
    return (
        f"{speed(item.predicted_tokens_per_s)}{likely} ({verdict} the {target:g} tokens/s target)"
    )


def lineage(entry: RecordedModel) -> str:
    return (
        "; ".join(
            f"{a.lineage or 'derived'} of {a.name} by {a.developer} ({a.developer_country})"
            for a in entry.ancestors
        )
        or "none (base model)"
    )


def score_line(entry: RecordedModel) -> str:
    item = entry.recommended
    return (
        f"{item.score:.1f} (capability {item.capability:.0f} minus quantisation "
        f"{item.quant_penalty:.1f})"
    )


def facts_table(entry: RecordedModel, target: float) -> list[tuple[str, str]]:
    """The label/value rows shown for each recommended model, in every format."""
    item = entry.recommended
    rows = [
        ("Developer", developer(entry)),
        ("Origin chain", "; ".join(entry.origin_chain)),
        ("Derived from", lineage(entry)),
        (
            "Licence",
            item.license_name
            + (
                f" (SPDX {entry.license_spdx})"
                if entry.license_spdx and not entry.license_spdx.startswith("LicenseRef-")
                else ""
            ),
        ),
        ("Licence text", item.license_url),
        ("Parameters", params(item)),
        ("Architecture", entry.architecture or "not in the catalog"),
        ("Context length", f"{item.context_length:,} tokens" if item.context_length else "unknown"),
        ("File", file_line(entry)),
    ]
    if item.placement == "hosted":
        return rows + [
            ("Placement", placement(entry)),
            ("Certifications", ", ".join(item.certifications) or "none listed"),
            ("Score", score_line(entry)),
        ]
    if item.repo:
        rows.append(("Developer's repository", item.repo))
    if entry.file_repo:
        rows.append(
            (
                "File repository",
                entry.file_repo + (f" @ {entry.revision}" if entry.revision else ""),
            )
        )
    if item.files:
        rows.append(("File names", ", ".join(item.files)))
    rows += [
        ("File size", file_size(entry)),
        ("SHA-256", item.sha256 or "not stated by the publisher"),
        ("Placement", placement(entry)),
        ("Predicted memory", memory_line(entry)),
        ("Predicted speed", speed_line(entry, target)),
        ("Score", score_line(entry)),
    ]
    return rows


def organisation(org: OrganisationFacts) -> str:
    """The organisation as the licence tests see it."""
    parts = [
        f"country {org.country}, sector {org.sector}",
        f"{org.expected_monthly_users:,} expected monthly users of this deployment",
    ]
    parts.append(
        f"{org.monthly_active_users:,} monthly active users across the organisation"
        if org.monthly_active_users is not None
        else "organisation-wide monthly active users not stated"
    )
    parts.append(
        f"US${org.monthly_revenue_usd:,.0f} monthly revenue"
        if org.monthly_revenue_usd is not None
        else "monthly revenue not stated"
    )
    if org.user_countries:
        parts.append(f"users in {', '.join(org.user_countries)}")
    return "; ".join(parts)


def set_by(rule: SecurityRule) -> str:
    """Who set a security rule and, for a preset's setting, on what basis."""
    return f"{rule.source} ({rule.basis})" if rule.basis else rule.source


def rule_name(failure: RecordedFailure) -> str:
    return f"{failure.rule} (not established)" if failure.status == "unknown" else failure.rule


def obligations(entry: RecordedModel) -> list[tuple[str, str]]:
    """(sentence, clause URL) for each duty the organisation takes on with the model."""
    return [
        (f"{duty.licence_name}: {duty.duty}", duty.clause_url)
        for duty in entry.recommended.obligations
    ]


def caveats(entry: RecordedModel) -> list[tuple[str, str | None]]:
    """(sentence, clause URL) for each caveat: carve-outs relied on, unknown terms admitted."""
    return [
        (("Not established: " if c.status == "unknown" else "") + c.detail, c.clause_url)
        for c in entry.recommended.caveats
    ]


def licences(entry: RecordedModel) -> str:
    item = entry.recommended
    inherited = item.licenses[1:]
    return item.license_name + (
        f"; inherited through its base model: {', '.join(inherited)}" if inherited else ""
    )


def reasons(entry: RecordedModel) -> list[str]:
    """Why it is recommended; caveats are listed apart, each with its clause."""
    return [r for r in entry.recommended.reasons if not r.startswith("caveat")]


def variant(entry: RecordedModel) -> list[str]:
    """What the chosen variant traded and the longest context it keeps its placement at."""
    item = entry.recommended
    if item.placement == "hosted":
        return []
    lines = [item.variant_choice] if item.variant_choice else []
    most = item.max_context_tokens
    if most is not None and most.f16 is not None:
        q8 = f"{most.q8_0:,}" if most.q8_0 is not None else "unknown"
        lines.append(
            f"largest context that fits this placement: {most.f16:,} tokens with an f16 KV "
            f"cache, {q8} with q8_0"
        )
    return lines


def alternatives(entry: RecordedModel) -> list[str]:
    """Each other admissible variant: placement, speed, memory, quality cost, why not chosen."""
    return [
        f"{a.quant or '?'} from {a.publisher or '?'}, {placement_label(a.placement)}:"
        f" {speed(a.predicted_tokens_per_s)}, {format_bytes(a.predicted_memory_bytes)}, perplexity "
        + ("unknown" if a.quality_loss_pct is None else f"+{a.quality_loss_pct:.2f} %")
        + f" — {a.trade}"
        for a in entry.recommended.alternatives
    ]
