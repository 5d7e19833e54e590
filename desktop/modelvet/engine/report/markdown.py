"""Renders the DecisionRecord as Markdown (plain, readable as text, safe to convert to HTML)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from modelvet.engine.report import wording
from modelvet.engine.report.record import (
    DecisionRecord,
    PlanSummary,
    RecordedModel,
    SmokeSection,
    TrialSection,
)
from modelvet.engine.vocabulary import format_bytes

_SAFE_URL = re.compile(r"^https?://[^\s<>\"'`]+$")


def md(text: object) -> str:
    """One line of text that cannot break a table, open a link or inject HTML."""
    value = " ".join(str(text).split())
    for raw, safe in (
        ("\\", "\\\\"),
        ("&", "&amp;"),
        ("<", "&lt;"),
        (">", "&gt;"),
        ("|", "\\|"),
        ("[", "\\["),
        ("]", "\\]"),
        ("`", "\\`"),
    ):
        value = value.replace(raw, safe)
    return value


def link(url: str) -> str:
    return f"<{url}>" if _SAFE_URL.match(url) else md(url)


def _table(headings: list[str], rows: Iterable[Iterable[str]]) -> list[str]:
    lines = ["| " + " | ".join(headings) + " |", "|" + "---|" * len(headings)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines + [""]


def _summary(record: DecisionRecord) -> list[str]:
    org, req = record.organisation, record.requirements
    top = record.recommended[0].recommended if record.recommended else None
    decision = (
        f"{len(record.recommended)} model(s) recommended, {len(record.excluded)} "
        f"excluded."
        + (
            f" Top-ranked: **{md(top.name)}** ({md(top.quant or 'hosted')})."
            if top
            else " No model meets every rule."
        )
    )
    return [
        "## 1. Summary",
        "",
        f"- **Organisation:** {md(wording.organisation(org))}",
        f"- **Needs:** {md(', '.join(req.tasks))}; {req.context_tokens:,} tokens of context; "
        f"at least {req.min_tokens_per_s:g} tokens/s; languages {md(', '.join(req.languages))}",
        f"- **Hardware:** {md(record.hardware.name)} ({md(record.hardware.source)})",
        f"- **Decision:** {decision}",
        "",
    ]


def _security(record: DecisionRecord) -> list[str]:
    lines = ["## 2. Security rules", ""]
    lines += _table(
        ["Rule", "Value", "Set by"],
        ([md(r.label), md(r.value), md(wording.set_by(r))] for r in record.security),
    )
    if record.policy:
        lines += [
            f"**Policy preset {md(record.policy.name)}** (`{md(record.policy.id)}`): "
            f"{md(record.policy.basis)}",
            "",
        ]
        lines += [f"- {link(url)}" for url in record.policy.basis_urls] + [""]
    else:
        lines += ["No policy preset: every rule comes from the profile or the default.", ""]
    return lines


def _hardware(record: DecisionRecord) -> list[str]:
    lines = [
        "## 3. Hardware and prediction settings",
        "",
        f"**{md(record.hardware.name)}** — {md(record.hardware.source)}",
        "",
    ]
    lines += [f"- {md(d)}" for d in record.hardware.details]
    lines += ["", f"Prediction settings: {md(record.settings)}.", "", "Assumptions:", ""]
    lines += [f"- {md(a)}" for a in record.assumptions]
    if record.hardware.sources:
        lines += ["", "Hardware sources:", ""] + [f"- {link(u)}" for u in record.hardware.sources]
    return lines + [""]


def _model(entry: RecordedModel, target: float) -> list[str]:
    item = entry.recommended
    lines = [f"### {item.rank}. {md(item.name)}", ""]
    rows = (
        [md(label), link(value) if label == "Licence text" else md(value)]
        for label, value in wording.facts_table(entry, target)
    )
    lines += _table(["Fact", "Value"], rows)
    lines += ["Why it is recommended:", ""] + [f"- {md(r)}" for r in wording.reasons(entry)]
    lines += [""]
    if item.run_command:
        lines += ["Variant:", ""] + [f"- {md(t)}" for t in wording.variant(entry)] + [""]
        lines += ["Run it with:", "", "```", item.run_command, "```", ""]
        lines += ["Other admissible variants:", ""]
        lines += [f"- {md(t)}" for t in wording.alternatives(entry)] or ["- none"]
        lines += [""]
    lines += [f"Licences that bind it: {md(wording.licences(entry))}", ""]
    duties = wording.obligations(entry)
    lines += ["What you take on (obligations):", ""]
    lines += [f"- {md(text)} ({link(url)})" for text, url in duties] or ["- none recorded"]
    lines += [""]
    if item.caveats:
        lines += ["Caveats:", ""]
        lines += [
            f"- {md(text)}" + (f" ({link(url)})" if url else "")
            for text, url in wording.caveats(entry)
        ] + [""]
    lines += ["Sources:", ""]
    lines += [f"- {md(', '.join(s.facts))}: {link(s.url)}" for s in entry.sources]
    return lines + [""]


def _recommended(record: DecisionRecord) -> list[str]:
    lines = ["## 4. Recommended models, ranked", ""]
    if not record.recommended:
        return lines + ["No model meets every rule; see the exclusions below.", ""]
    lines += _table(
        ["#", "Model", "Developer", "Licence", "Quant", "Placement", "Memory", "Speed", "Score"],
        (
            [
                str(e.recommended.rank),
                md(e.recommended.name),
                md(wording.developer(e)),
                md(e.recommended.license_name),
                md(e.recommended.quant or "—"),
                md(wording.placement(e)),
                format_bytes(e.recommended.predicted_memory_bytes),
                wording.speed(e.recommended.predicted_tokens_per_s),
                f"{e.recommended.score:.1f}",
            ]
            for e in record.recommended
        ),
    )
    for entry in record.recommended:
        lines += _model(entry, record.requirements.min_tokens_per_s)
    return lines


def _excluded(record: DecisionRecord) -> list[str]:
    lines = [
        "## 5. Excluded models",
        "",
        f"{len(record.excluded)} model(s), each with every rule that excluded it.",
        "",
    ]
    rows = []
    for item in record.excluded:
        who = f"**{md(item.name)}** — {md(item.developer)} ({md(item.developer_country)})"
        for n, failure in enumerate(item.failures):
            clause = f" ({link(failure.clause_url)})" if failure.clause_url else ""
            rows.append(
                [
                    who if n == 0 else "",
                    md(wording.rule_name(failure)),
                    md(failure.detail) + clause,
                    md(failure.setting),
                    md(failure.source),
                ]
            )
    return lines + _table(["Model", "Rule", "Why excluded", "Setting", "Set by"], rows)


def _smoke(smoke: SmokeSection) -> list[str]:
    verdict = "passed" if smoke.passed else "FAILED"
    lines = [
        "## 6. Smoke test on this workstation",
        "",
        f"File `{md(smoke.file)}` (sha256 {md(smoke.sha256 or 'not computed')}), "
        f"{md(smoke.settings)}: **{verdict}**. {md(smoke.verdict)}",
        "",
    ]
    lines += _table(
        ["Quantity", "Predicted", "Measured", "Measured ÷ predicted"],
        (
            [
                md(f"{c.quantity} ({c.unit})"),
                wording.number(c.predicted),
                wording.number(c.measured),
                wording.ratio(c.ratio),
            ]
            for c in smoke.comparisons
        ),
    )
    lines += [f"Probes: {smoke.probes_passed} of {len(smoke.probes)} passed.", ""]
    lines += _table(
        ["Probe", "Task", "Result", "Why"],
        ([md(p.id), md(p.task), "pass" if p.passed else "FAIL", md(p.why)] for p in smoke.probes),
    )
    return lines + [f"- {md(c)}" for c in smoke.checks] + [""]


def _plan(plan: PlanSummary) -> list[str]:
    lines = [
        "## Hardware plan",
        "",
        f"Each admissible model on {plan.machines} machine(s): on how many it meets the "
        "targets, the smallest that does, and the cheapest with a sourced list price.",
        "",
    ]
    return lines + _table(
        ["Model", "Meets the targets on", "Smallest", "Cheapest listed"],
        (
            [md(m.name), str(m.runs_on), md(m.smallest or "none"), md(m.cheapest or "—")]
            for m in plan.models
        ),
    )


def _trial(trial: TrialSection) -> list[str]:
    lines = [
        "## Trial on the organisation's own prompts",
        "",
        f"Set {md(trial.set_name)} (`{md(trial.set_source)}`), run {md(trial.started_at)}. "
        "Each candidate answered every prompt in turn, greedily, on this workstation.",
        "",
    ]
    lines += _table(
        [
            "",
            "Candidate",
            "Checks passed",
            "Median speeds",
            "Peak memory",
            "Human marks",
            "Proof of fit",
        ],
        (
            [
                f"[{n}]",
                md(c.label),
                c.passed,
                md(c.speeds),
                c.peak_memory,
                c.human_marks,
                md(c.fit or c.error or "not asked"),
            ]
            for n, c in enumerate(trial.candidates, 1)
        ),
    )
    return lines + _table(trial.header, ([md(cell) for cell in row] for row in trial.verdicts))


def render_markdown(record: DecisionRecord) -> str:
    lines = [
        f"# {md(record.title)}",
        "",
        f"Generated {record.generated_at_text} by ModelVet {md(record.modelvet_version)} "
        f"from catalog {md(record.catalog_version)}"
        + (f" ({record.catalog_date.isoformat()})" if record.catalog_date else "")
        + ".",
        "",
    ]
    lines += _summary(record) + _security(record) + _hardware(record)
    lines += _recommended(record) + _excluded(record)
    if record.smoke:
        lines += _smoke(record.smoke)
    if record.plan:
        lines += _plan(record.plan)
    if record.trial:
        lines += _trial(record.trial)
    lines += ["## Sign-off", ""]
    blank = "______________________"
    lines += _table(
        ["", "Name", "Signature", "Date"],
        ([f"**{label}**", blank, blank, "__________"] for label in record.sign_off),
    )
    return "\n".join(lines).rstrip() + "\n"
