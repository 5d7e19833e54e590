"""Renders the DecisionRecord as a printable PDF (fpdf2): the document an approver signs."""

from __future__ import annotations

from modelvet.engine.report import wording
from modelvet.engine.report.pdf_layout import MUTED, SMALL_PT, RecordPdf
from modelvet.engine.report.record import (
    DecisionRecord,
    PlanSummary,
    RecordedModel,
    SmokeSection,
    TrialSection,
)
from modelvet.engine.vocabulary import format_bytes


def _front(pdf: RecordPdf, record: DecisionRecord) -> None:
    pdf.heading(record.title, level=0)
    date = f" ({record.catalog_date.isoformat()})" if record.catalog_date else ""
    pdf.paragraph(
        f"Generated {record.generated_at_text} by ModelVet {record.modelvet_version} "
        f"from catalog {record.catalog_version}{date}.",
        color=MUTED,
    )
    org, req = record.organisation, record.requirements
    top = record.recommended[0].recommended if record.recommended else None
    decision = (
        f"{len(record.recommended)} model(s) recommended, {len(record.excluded)} "
        "excluded. "
        + (
            f"Top-ranked: {top.name} ({top.quant or 'hosted'}, "
            f"{wording.placement(record.recommended[0])})."
            if top
            else "No model meets every rule."
        )
    )
    pdf.heading("1. Summary")
    pdf.grid(
        None,
        [
            ("Organisation", wording.organisation(org)),
            (
                "Needs",
                f"{', '.join(req.tasks)}; {req.context_tokens:,} tokens of context; at least "
                f"{req.min_tokens_per_s:g} tokens/s; languages {', '.join(req.languages)}",
            ),
            ("Hardware", f"{record.hardware.name} ({record.hardware.source})"),
            ("Decision", decision),
        ],
        widths=(32, 148),
        size=8.5,
        bold_first_column=True,
    )


def _security(pdf: RecordPdf, record: DecisionRecord) -> None:
    pdf.heading("2. Security rules")
    pdf.grid(
        ("Rule", "Value", "Set by"),
        [(r.label, r.value, wording.set_by(r)) for r in record.security],
        widths=(70, 40, 70),
    )
    if record.policy:
        pdf.paragraph(
            f"Basis of policy preset {record.policy.name} ({record.policy.id}): "
            f"{record.policy.basis}",
            size=8.5,
        )
        pdf.bullets(record.policy.basis_urls, size=SMALL_PT, links=record.policy.basis_urls)
    else:
        pdf.paragraph("No policy preset: every rule comes from the profile or the default.")


def _hardware(pdf: RecordPdf, record: DecisionRecord) -> None:
    pdf.heading("3. Hardware and prediction settings")
    pdf.paragraph(f"{record.hardware.name} — {record.hardware.source}", bold=True, size=9)
    pdf.bullets(record.hardware.details, size=8.5)
    pdf.paragraph(f"Prediction settings: {record.settings}.", size=8.5)
    pdf.label("Assumptions:", size=8.5)
    pdf.bullets(record.assumptions, size=8.5)
    if record.hardware.sources:
        pdf.label("Hardware sources:", size=SMALL_PT, color=MUTED)
        pdf.bullets(record.hardware.sources, size=SMALL_PT, links=record.hardware.sources)


def _overview(pdf: RecordPdf, record: DecisionRecord) -> None:
    pdf.heading("4. Recommended models, ranked")
    if not record.recommended:
        pdf.paragraph("No model meets every rule; see the exclusions below.")
        return
    rows = [
        (
            str(e.recommended.rank),
            e.recommended.name,
            wording.developer(e),
            e.recommended.license_name,
            e.recommended.quant or "—",
            wording.placement(e),
            format_bytes(e.recommended.predicted_memory_bytes),
            wording.number(e.recommended.predicted_tokens_per_s, 0),
            f"{e.recommended.score:.1f}",
        )
        for e in record.recommended
    ]
    pdf.grid(
        ("#", "Model", "Developer", "Licence", "Quant", "Placement", "Memory", "tok/s", "Score"),
        rows,
        widths=(7, 38, 25, 29, 15, 20, 15, 14, 11),
        size=7.5,
    )


def _model(pdf: RecordPdf, entry: RecordedModel, target: float) -> None:
    item = entry.recommended
    facts = wording.facts_table(entry, target)
    links = {(n, 1): value for n, (label, value) in enumerate(facts) if label == "Licence text"}
    widths = (34, 146)
    table_mm = min(pdf.grid_height(facts, widths), 200)  # a taller table may split
    pdf.heading(f"{item.rank}. {item.name}", level=2, keep_mm=table_mm + 12)
    pdf.grid(None, facts, widths=widths, bold_first_column=True, links=links)
    pdf.label("Why it is recommended:", size=8.5)
    pdf.bullets(wording.reasons(entry), size=8.5)
    if item.run_command:
        pdf.label("Variant:", size=8.5)
        pdf.bullets(wording.variant(entry), size=8.5)
        pdf.label("Run it with:", size=8.5)
        pdf.paragraph(item.run_command, size=8.5)
        pdf.label("Other admissible variants:", size=8.5)
        pdf.bullets(wording.alternatives(entry) or ["none"], size=8.5)
    pdf.paragraph(f"Licences that bind it: {wording.licences(entry)}", size=8.5)
    duties = wording.obligations(entry)
    pdf.label("What you take on (obligations):", size=8.5)
    pdf.bullets([f"{text} ({url})" for text, url in duties] or ["none recorded"], size=8.5)
    if item.caveats:
        pdf.label("Caveats:", size=8.5)
        pdf.bullets([text for text, _ in wording.caveats(entry)], size=8.5)
    pdf.label("Sources:", size=SMALL_PT, color=MUTED)
    pdf.bullets(
        [f"{', '.join(s.facts)}: {s.url}" for s in entry.sources],
        size=SMALL_PT,
        color=MUTED,
        links=[s.url for s in entry.sources],
    )


def _excluded(pdf: RecordPdf, record: DecisionRecord) -> None:
    pdf.add_page()
    pdf.heading("5. Excluded models")
    pdf.paragraph(
        f"{len(record.excluded)} model(s), each with every rule that excluded it, the "
        "setting behind the rule and who set it.",
        size=8.5,
    )
    rows: list[tuple[str, str, str, str]] = []
    spans: dict[int, int] = {}
    for item in record.excluded:
        spans[len(rows)] = len(item.failures)
        who = f"{item.name}\n{item.developer} ({item.developer_country})"
        rows += [
            (
                who,
                wording.rule_name(f),
                f.detail + (f" ({f.clause_url})" if f.clause_url else ""),
                f"{f.setting}\nset by {f.source}",
            )
            for f in item.failures
        ]
    pdf.grid(
        ("Model", "Rule", "Why excluded", "Setting · set by"),
        rows,
        widths=(38, 23, 75, 44),
        size=7.2,
        bold_first_column=True,
        spans=spans,
    )


def _smoke(pdf: RecordPdf, smoke: SmokeSection) -> None:
    pdf.heading("6. Smoke test on this workstation")
    verdict = "PASSED" if smoke.passed else "FAILED"
    pdf.paragraph(f"{verdict}: {smoke.verdict}", bold=True, size=9)
    pdf.paragraph(
        f"File {smoke.file} (sha256 {smoke.sha256 or 'not computed'}); {smoke.settings}.", size=8.5
    )
    pdf.grid(
        ("Quantity", "Predicted", "Measured", "Measured ÷ predicted"),
        [
            (
                f"{c.quantity} ({c.unit})",
                wording.number(c.predicted),
                wording.number(c.measured),
                wording.ratio(c.ratio),
            )
            for c in smoke.comparisons
        ],
        widths=(80, 33, 33, 34),
    )
    pdf.paragraph(f"Probes: {smoke.probes_passed} of {len(smoke.probes)} passed.", size=8.5)
    if smoke.probes:
        pdf.grid(
            ("Probe", "Task", "Result", "Why"),
            [(p.id, p.task, "pass" if p.passed else "FAIL", p.why) for p in smoke.probes],
            widths=(36, 24, 14, 106),
        )
    if smoke.checks:
        pdf.bullets(smoke.checks, size=8.5)


def _trial(pdf: RecordPdf, trial: TrialSection) -> None:
    pdf.heading("Trial on the organisation's own prompts")
    pdf.paragraph(f"Set {trial.set_name} ({trial.set_source}), run {trial.started_at}.", size=8.5)
    pdf.grid(
        ("Candidate", "Checks passed", "Median speeds", "Peak memory", "Proof of fit"),
        [
            (
                f"[{n}] {c.label}",
                f"{c.passed}; marks: {c.human_marks}",
                c.speeds,
                c.peak_memory,
                c.fit or c.error or "not asked",
            )
            for n, c in enumerate(trial.candidates, 1)
        ],
        widths=(36, 26, 44, 18, 56),
        size=7.2,
    )
    width = 180 / len(trial.header)
    pdf.grid(
        tuple(trial.header),
        [tuple(row) for row in trial.verdicts],
        widths=tuple(width for _ in trial.header),
        size=7.2,
    )


def _plan(pdf: RecordPdf, plan: PlanSummary) -> None:
    pdf.heading("Hardware plan")
    pdf.paragraph(
        f"Each admissible model on {plan.machines} machine(s): on how many it meets "
        "the targets, the smallest that does, and the cheapest with a sourced list "
        "price.",
        size=8.5,
    )
    pdf.grid(
        ("Model", "Meets targets on", "Smallest", "Cheapest listed"),
        [(m.name, str(m.runs_on), m.smallest or "none", m.cheapest or "—") for m in plan.models],
        widths=(50, 22, 54, 54),
        size=7.5,
    )


def _sign_off(pdf: RecordPdf, record: DecisionRecord) -> None:
    if pdf.will_page_break(70):
        pdf.add_page()
    pdf.heading("Sign-off")
    pdf.paragraph(
        "By signing, the approver accepts the recommendation above under the stated "
        "rules, hardware and assumptions.",
        size=8.5,
    )
    pdf.grid(
        ("", "Name", "Signature", "Date"),
        [(label, "\n\n\n", "", "") for label in record.sign_off],
        widths=(30, 55, 60, 35),
        size=9,
        bold_first_column=True,
    )


def render_pdf(record: DecisionRecord) -> bytes:
    pdf = RecordPdf(
        record.title,
        f"catalog {record.catalog_version}",
        f"ModelVet {record.modelvet_version} · {record.generated_at_text}",
    )
    pdf.add_page()
    _front(pdf, record)
    _security(pdf, record)
    _hardware(pdf, record)
    _overview(pdf, record)
    for entry in record.recommended:
        _model(pdf, entry, record.requirements.min_tokens_per_s)
    _excluded(pdf, record)
    if record.smoke:
        _smoke(pdf, record.smoke)
    if record.trial:
        _trial(pdf, record.trial)
    if record.plan:
        _plan(pdf, record.plan)
    _sign_off(pdf, record)
    return bytes(pdf.output())
