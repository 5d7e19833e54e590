"""The decision record: one DecisionRecord, rendered as HTML, PDF, Markdown, JSON or CycloneDX."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from pydantic import ValidationError

from modelvet.engine.catalog.loader import Catalog
from modelvet.engine.errors import ModelVetError
from modelvet.engine.plan import Plan
from modelvet.engine.rank.result import Recommendation
from modelvet.engine.report.assemble import build_record
from modelvet.engine.report.record import DecisionRecord
from modelvet.engine.report.trial_section import load_trial
from modelvet.engine.smoke.result import SmokeResult
from modelvet.engine.storage import atomic_write_bytes, read_json
from modelvet.engine.trial.result import TrialResult

FORMATS = ("html", "pdf", "md", "json", "cyclonedx", "allowlist")

__all__ = [
    "FORMATS",
    "DecisionRecord",
    "build_record",
    "load_smoke",
    "load_trial",
    "render",
    "write_report",
]


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ModelVetError(
            f"unknown report format {fmt!r}", "report format", f"one of: {', '.join(FORMATS)}"
        )


def render_record(record: DecisionRecord, fmt: str) -> bytes:
    """The record in one format, as the bytes of the file."""
    check_format(fmt)
    if fmt == "md":
        from modelvet.engine.report.markdown import render_markdown

        return render_markdown(record).encode("utf-8")
    if fmt == "html":
        from modelvet.engine.report.html import render_html

        return render_html(record).encode("utf-8")
    if fmt == "pdf":
        from modelvet.engine.report.pdf import render_pdf

        return render_pdf(record)
    if fmt == "json":
        return (record.model_dump_json(indent=2) + "\n").encode("utf-8")
    if fmt == "allowlist":
        from modelvet.engine.report.allowlist import render_allowlist

        listed = render_allowlist(record)
        return (json.dumps(listed, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    from modelvet.engine.report.cyclonedx import render_cyclonedx

    bom = render_cyclonedx(record)
    return (json.dumps(bom, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def render(
    recommendation: Recommendation,
    fmt: str,
    *,
    catalog: Catalog,
    smoke: SmokeResult | None = None,
    now: dt.datetime | None = None,
    plan: Plan | None = None,
    trial: TrialResult | None = None,
) -> bytes:
    check_format(fmt)  # before any work, so a typo fails fast
    return render_record(build_record(recommendation, catalog, smoke, now, plan, trial), fmt)


def write_report(
    recommendation: Recommendation,
    fmt: str,
    path: str | Path,
    *,
    catalog: Catalog,
    smoke: SmokeResult | None = None,
    plan: Plan | None = None,
    trial: TrialResult | None = None,
) -> Path:
    """Render first, then write atomically: a failure never leaves a partial file at `path`."""
    path = Path(path)
    check_format(fmt)
    if not path.parent.is_dir():
        raise ModelVetError(
            "the folder to write the report in does not exist",
            str(path.parent),
            "choose a folder that exists",
        )
    if path.is_dir():
        raise ModelVetError("is a folder; give a file name for the report", str(path))
    atomic_write_bytes(
        path, render(recommendation, fmt, catalog=catalog, smoke=smoke, plan=plan, trial=trial)
    )
    return path


def load_smoke(path: str | Path) -> SmokeResult:
    """Read the output of `modelvet smoke --json` to attach it to a report."""
    path = Path(path)
    data = read_json(path, "a smoke-test result")
    try:
        for row in data.get("comparisons", []) if isinstance(data, dict) else []:
            row.pop("ratio", None)  # computed by to_json_dict, not a field
        return SmokeResult.model_validate(data)
    except (ValidationError, AttributeError) as error:
        raise ModelVetError("not a smoke-test result saved as JSON", str(path)) from error
