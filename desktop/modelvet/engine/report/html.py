"""Renders the DecisionRecord as one self-contained HTML page (Jinja2, autoescape on)."""

from __future__ import annotations

import re
from functools import cache

import jinja2

from modelvet.engine.report import wording
from modelvet.engine.report.record import DecisionRecord
from modelvet.engine.resources import resource_path
from modelvet.engine.vocabulary import format_bytes

_SAFE_URL = re.compile(r"^https?://[^\s<>\"'`]+$")


def safe_url(url: str) -> str | None:
    """Only http(s) addresses become links; anything else is shown as text."""
    return url if _SAFE_URL.match(url) else None


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(resource_path("report")),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["wording"] = wording
    env.globals["format_bytes"] = format_bytes
    env.filters["safe_url"] = safe_url
    return env


def render_html(record: DecisionRecord) -> str:
    return _environment().get_template("record.html.j2").render(record=record)
