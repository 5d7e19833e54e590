"""Chat templates: rendered only in Jinja's immutable sandbox in a throwaway child; a template
that goes beyond formatting a chat is flagged with what it does, and the smoke test uses the
architecture's built-in format instead of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from modelvet.engine import template_screen
from modelvet.engine.catalog import load_catalog
from modelvet.engine.fit.memory import RunSettings
from modelvet.engine.gguf_file import read_gguf
from modelvet.engine.hardware import HardwareSpec
from modelvet.engine.smoke import build_request, check_before_load, summarise
from modelvet.engine.smoke.protocol import AnswerEvent, LoadedEvent, builtin_chat_format
from modelvet.engine.smoke.runner import SmokeSession
from modelvet.engine.template_sandbox import render_in_sandbox
from modelvet.engine.template_screen import screen_template

MACHINE = HardwareSpec(name="test box", origin="profile", ram_gb=64, ram_available_gb=64)
ESCAPE = "{{ ''.__class__.__mro__[1].__subclasses__() }}"

HOSTILE = [
    # (what it does, template, words of the finding that only the sandbox render produces)
    ("python internals", ESCAPE, "sandbox refused when rendered"),
    (
        "jinja globals",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
        "sandbox refused when rendered",
    ),
    ("huge range", "{% for i in range(10**9) %}x{% endfor %}", "unbounded range when rendered"),
    (
        "import",
        "{% import 'evil.j2' as evil %}{{ evil.x }}",
        "imports another template when rendered",
    ),
    (
        "endless loop",
        "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
        "does not finish rendering",
    ),
    ("recursion", "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "recurses without end"),
    ("memory", "{{ 'x' * 10**9 }}", "needs more than 512 MB"),
]


@pytest.mark.parametrize(
    ("what", "template", "rendered_words"), HOSTILE, ids=[case[0] for case in HOSTILE]
)
def test_a_template_beyond_a_chat_template_is_flagged(
    what: str, template: str, rendered_words: str
) -> None:
    report = screen_template(template)
    assert report.dangerous and not report.renderable
    assert any(rendered_words in f.detail for f in report.findings), report.findings


def test_a_real_chat_template_renders_cleanly(smol_gguf: Path) -> None:
    template = read_gguf(smol_gguf).chat_template
    assert template
    rendered = render_in_sandbox(template)
    assert rendered["outcome"] == "ok" and rendered["chars"] > 50
    report = screen_template(template)
    assert report.renderable and not [f for f in report.findings if f.severity == "danger"]


def test_a_template_that_is_not_jinja_is_not_rendered() -> None:
    report = screen_template("{% for %}")
    assert not report.valid_jinja and not report.renderable and not report.dangerous


def test_an_old_jinja_is_never_trusted_with_a_template(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(template_screen, "jinja_version", lambda: (3, 1, 4))
    monkeypatch.setattr(template_screen, "jinja_is_safe", lambda: False)
    report = screen_template("{{ messages[0]['content'] }}")
    assert not report.renderable
    assert any("Jinja2 3.1.4 has known sandbox escapes" in f.detail for f in report.findings)


@pytest.mark.parametrize(
    ("architecture", "tokens", "expected"),
    [
        ("llama", {"<|im_start|>"}, "chatml"),
        ("llama", {"<|start_header_id|>"}, "llama-3"),
        ("gemma3", set(), "gemma"),
        ("qwen3", set(), "chatml"),
        ("llama", set(), "llama-2"),
    ],
)
def test_the_built_in_format_follows_the_vocabulary_then_the_architecture(
    architecture: str, tokens: set[str], expected: str
) -> None:
    assert builtin_chat_format(architecture, tokens.__contains__) == expected


@pytest.fixture
def hostile_template_model(smol_gguf: Path, tmp_path: Path) -> Path:
    """SmolLM2 with its chat template overwritten, in place, by a sandbox escape."""
    template = read_gguf(smol_gguf).chat_template
    assert template
    original = template.encode()
    hostile = ESCAPE.encode().ljust(len(original))
    copy = tmp_path / "smollm2-hostile-template.gguf"
    shutil.copyfile(smol_gguf, copy)
    with copy.open("r+b") as handle:
        head = handle.read(16 * 2**20)
        where = head.index(original)
        handle.seek(where)
        handle.write(hostile)
    return copy


@pytest.mark.llama
def test_the_smoke_test_falls_back_to_the_built_in_format(hostile_template_model: Path) -> None:
    pre = check_before_load(hostile_template_model, load_catalog(), RunSettings(1024), MACHINE)
    assert not pre.template.renderable
    assert "chat template not used: the architecture's built-in chat format stands in" in (
        pre.checks
    )
    request = build_request(pre, ["general"], ["en"], prompt="Name a colour.")
    session = SmokeSession(request, lambda e: None, timeout_s=120)
    events = session.run()
    result = summarise(pre, events, session.outcome)
    loaded = next(e for e in events if isinstance(e, LoadedEvent))
    assert loaded.chat_format == "chatml"  # SmolLM2's vocabulary has <|im_start|>
    assert result.passed, result.verdict
    assert next(e for e in events if isinstance(e, AnswerEvent)).text.strip()
