"""Screens a GGUF's embedded Jinja chat template for code-execution and hidden-prompt patterns.

Templates run when a chat is formatted. llama-cpp-python before 0.2.72 rendered them without a
sandbox (CVE-2024-34359), and sandbox escapes in Jinja2 itself were fixed up to 3.1.6
(CVE-2025-27516); a sandboxed template can still smuggle instructions into every prompt.
The screen is static first; then the template is rendered once in Jinja's immutable sandbox
in a throwaway child (`template_sandbox`), and what it tries there is flagged too.
"""

from __future__ import annotations

import hashlib
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict

from modelvet.engine.template_sandbox import (
    MAX_OUTPUT_CHARS,
    jinja_is_safe,
    jinja_version,
    render_in_sandbox,
)

Severity = Literal["danger", "warning", "info"]

# (pattern, severity, what it means). Patterns are matched inside {{ }} / {% %} blocks.
_CODE_PATTERNS: tuple[tuple[str, Severity, str], ...] = (
    (r"__\w+__", "danger", "reaches Python internals (dunder attribute), the usual sandbox escape"),
    (r"\|\s*attr\s*\(", "danger", "uses the attr filter, used in CVE-2025-27516 escapes"),
    (
        r"\b(os|subprocess|sys|builtins|importlib|shutil|socket)\s*\.",
        "danger",
        "reaches a Python module that runs code or touches files",
    ),
    (
        r"\b(eval|exec|popen|__import__|compile|open)\s*\(",
        "danger",
        "calls a Python function that runs code or opens files",
    ),
    (
        r"\b(cycler|joiner|lipsum|namespace)\s*\.",
        "danger",
        "reaches into a Jinja global object, a known path to Python internals",
    ),
    (
        r"\b(mro|globals|subclasses|func_globals|f_globals)\b",
        "danger",
        "walks Python's object model",
    ),
    (r"\bconfig\b|\brequest\b|\bself\b", "warning", "refers to objects no chat template needs"),
    (
        r"\{%-?\s*(import|from|include|extends)\b",
        "danger",
        "imports another template (a chat template stands alone)",
    ),
    (
        r"\brange\s*\(\s*[^)]*(\d{5,}|\*\*|\w+\s*\*)",
        "danger",
        "loops over an unbounded range (a chat template loops over the messages)",
    ),
    (r"\bformat\s*\(", "warning", "calls str.format, used in sandbox escapes"),
)
_TEXT_PATTERNS: tuple[tuple[str, Severity, str], ...] = (
    (r"https?://", "warning", "contains a URL in text it adds to prompts"),
    (
        r"(?i)ignore (all|any|previous|prior) (instructions|rules)",
        "danger",
        "adds text that tells the model to ignore instructions",
    ),
    (
        r"(?i)do not (tell|reveal|mention)",
        "warning",
        "adds text asking the model to hide something",
    ),
)
_BLOCK = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
MAX_TEMPLATE_CHARS = 64 * 1024


class TemplateFinding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    severity: Severity
    detail: str
    excerpt: str


class TemplateReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    present: bool
    sha256: str | None
    length_chars: int
    findings: list[TemplateFinding]
    valid_jinja: bool = True

    @property
    def dangerous(self) -> bool:
        return any(f.severity == "danger" for f in self.findings)

    @property
    def renderable(self) -> bool:
        """False: the smoke test must not render it, the built-in format stands in."""
        return self.valid_jinja and not self.dangerous


def _scan(text: str, patterns: tuple[tuple[str, Severity, str], ...]) -> list[TemplateFinding]:
    findings = []
    for pattern, severity, meaning in patterns:
        match = re.search(pattern, text)
        if match:
            start = max(match.start() - 30, 0)
            findings.append(
                TemplateFinding(
                    severity=severity,
                    detail=meaning,
                    excerpt=text[start : match.end() + 30].strip(),
                )
            )
    return findings


_NOT_JINJA = "is not valid Jinja"
_SANDBOX_FINDINGS: dict[str, tuple[Severity, str]] = {
    "refused": ("danger", "tried something the sandbox refused when rendered: {detail}"),
    "range": ("danger", "loops over an unbounded range when rendered: {detail}"),
    "import": ("danger", "imports another template when rendered: {detail}"),
    "timeout": ("danger", "does not finish rendering a short chat: {detail}"),
    "memory": ("danger", "needs more than 512 MB to render a short chat: {detail}"),
    "recursion": ("danger", "recurses without end when rendered: {detail}"),
    "syntax": ("warning", _NOT_JINJA + ": {detail}"),
    "error": ("info", "stops with its own error on the sample chat: {detail}"),
}


def _sandbox_findings(template: str) -> list[TemplateFinding]:
    if not jinja_is_safe():
        version = ".".join(map(str, jinja_version()))
        detail = (
            f"not rendered: Jinja2 {version} has known sandbox escapes "
            "(CVE-2024-56326, CVE-2025-27516); 3.1.6 or later is needed"
        )
        return [TemplateFinding(severity="danger", detail=detail, excerpt="")]
    rendered = render_in_sandbox(template)
    outcome = rendered.get("outcome", "error")
    if outcome == "ok":
        chars = int(rendered.get("chars", 0))
        if chars > MAX_OUTPUT_CHARS:
            detail = f"renders {chars} characters for a four-message chat"
            return [TemplateFinding(severity="warning", detail=detail, excerpt="")]
        return []
    severity, wording = _SANDBOX_FINDINGS.get(outcome, _SANDBOX_FINDINGS["error"])
    detail = wording.format(detail=rendered.get("detail", ""))
    return [TemplateFinding(severity=severity, detail=detail, excerpt="")]


def screen_template(template: str | None, render: bool = True) -> TemplateReport:
    """Static findings, then (with `render`) what the template does in the sandbox."""
    if not template:
        return TemplateReport(
            present=False,
            sha256=None,
            length_chars=0,
            findings=[
                TemplateFinding(
                    severity="info",
                    detail="no chat template embedded: the runtime falls back to a generic format",
                    excerpt="",
                )
            ],
        )
    code = " ".join(_BLOCK.findall(template))
    text = _BLOCK.sub(" ", template)
    findings = _scan(code, _CODE_PATTERNS) + _scan(text, _TEXT_PATTERNS)
    if render:
        findings += _sandbox_findings(template)
    if len(template) > MAX_TEMPLATE_CHARS:
        findings.append(
            TemplateFinding(
                severity="warning",
                excerpt="",
                detail=f"unusually long ({len(template)} characters)",
            )
        )
    return TemplateReport(
        present=True,
        sha256=hashlib.sha256(template.encode()).hexdigest(),
        length_chars=len(template),
        findings=findings,
        valid_jinja=not any(f.detail.startswith(_NOT_JINJA) for f in findings),
    )
