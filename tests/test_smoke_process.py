"""The child's protocol and the GUI's QProcess driver, in milliseconds: tiny real Python
children stand in for the llama child (qutebrowser's `py_proc` idea), and every event model
round-trips through its JSON line."""

from __future__ import annotations

import json
import sys
import textwrap
import time

import psutil
import pytest

from modelvet.engine.smoke import how_it_ended, runner
from modelvet.engine.smoke.protocol import (
    EVENT_TYPES,
    AnswerEvent,
    BuffersEvent,
    ChildEvent,
    ErrorEvent,
    FillEvent,
    LoadedEvent,
    ProbeEvent,
    ResultEvent,
    SmokeRequest,
    StageEvent,
    TimingEvent,
    TokenEvent,
    TrialEvent,
    Unreadable,
    decode,
    encode,
)
from modelvet.engine.smoke.runner import (
    CANCEL_GRACE_S,
    STDERR_TAIL_LINES,
    ChildOutcome,
    SmokeSession,
)
from modelvet.gui.smoke_process import SmokeProcess
from tests.helpers import child_processes

REQUEST = SmokeRequest(model_path="/models/tiny.gguf")

# --- the protocol ---------------------------------------------------------------------------

TIMED = {
    "answer": "Paris",
    "prompt_tokens": 12,
    "prompt_seconds": 0.05,
    "decode_tokens": 3,
    "decode_seconds": 0.02,
    "time_to_first_token_s": 0.06,
    "seconds": 0.08,
    "peak_rss_bytes": 300_000_000,
}
EXAMPLES: list[ChildEvent] = [
    StageEvent(stage="baseline", detail="runtime loaded", baseline_rss_bytes=80_000_000),
    StageEvent(stage="loading", detail="loading tiny.gguf"),
    BuffersEvent(mib={"model": 92.1, "kv": 45.0}, applied={"n_ctx": "2048"}),
    LoadedEvent(seconds=0.4, n_ctx=2048, n_threads=2, peak_rss_bytes=1, chat_format=None),
    TimingEvent(
        prompt_tokens=30,
        prompt_seconds=0.1,
        generated_tokens=64,
        generation_seconds=0.5,
        time_to_first_token_s=0.12,
        peak_rss_bytes=2,
    ),
    ProbeEvent(
        id="arithmetic",
        task="general",
        prompt="2+2?",
        answer="4 — «vier»",
        passed=True,
        why="contains 4",
        tokens=3,
        seconds=0.1,
    ),
    TokenEvent(text="Pa", tokens=1, tokens_per_s=20.0),
    AnswerEvent(text="Paris", tokens=2, seconds=0.1),
    ResultEvent(peak_rss_bytes=3),
    ErrorEvent(stage="run", message="RuntimeError: no"),
    ErrorEvent(message="could not start the model process"),
    TrialEvent(id="capital", **TIMED),
    FillEvent(n_ctx=1024, **TIMED),
]

# Lines as the child wrote them before the events were typed (`encode(name, **fields)`):
# the wire format must not change, or a frozen build's child and its parent would disagree.
RECORDED = [
    '{"event": "stage", "stage": "loading", "detail": "loading tiny.gguf"}',
    '{"event": "stage", "stage": "baseline", "detail": "runtime loaded", '
    '"baseline_rss_bytes": 80000000}',
    '{"event": "loaded", "seconds": 0.4, "n_ctx": 2048, "n_threads": 2, '
    '"peak_rss_bytes": 1, "chat_format": "chatml"}',
    '{"event": "error", "stage": "request", "message": "bad request: …"}',
    '{"event": "trial", "id": "capital", "answer": "Paris", "prompt_tokens": 12, '
    '"prompt_seconds": 0.05, "decode_tokens": 3, "decode_seconds": 0.02, '
    '"time_to_first_token_s": 0.06, "seconds": 0.08, "peak_rss_bytes": 300000000}',
    '{"event": "result", "peak_rss_bytes": 3}',
]


def test_every_event_has_an_example() -> None:
    assert {type(event) for event in EXAMPLES} == set(EVENT_TYPES)


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: e.event)
def test_every_event_round_trips_through_its_line(event: ChildEvent) -> None:
    line = encode(event)
    assert "\n" not in line and json.loads(line)["event"] == event.event
    assert decode(line) == event


@pytest.mark.parametrize("line", RECORDED, ids=lambda line: json.loads(line)["event"])
def test_recorded_lines_read_and_write_back_the_same(line: str) -> None:
    event = decode(line)
    assert not isinstance(event, Unreadable) and event.event == json.loads(line)["event"]
    assert json.loads(encode(event)) == json.loads(line)


def test_a_stage_without_a_baseline_writes_no_baseline() -> None:
    assert "baseline_rss_bytes" not in encode(StageEvent(stage="loading", detail="x"))


@pytest.mark.parametrize(
    "line",
    ["llama.cpp says hello", "", "[1, 2]", '"stage"', '{"event": "nonsense", "x": 1}', "{}"],
)
def test_a_line_that_is_no_event_is_unreadable(line: str) -> None:
    assert decode(line) == Unreadable(line=line)


def test_an_event_with_bad_fields_is_a_typed_protocol_error() -> None:
    event = decode('{"event": "loaded", "seconds": "soon"}')
    assert isinstance(event, ErrorEvent) and event.stage == "protocol"
    assert "'loaded'" in event.message and "seconds" in event.message
    assert "n_ctx: Field required" in event.message


# --- the QProcess driver, on tiny real children ---------------------------------------------

PRELUDE = """
import json, signal, sys, time
def say(line):
    sys.stdout.write(line)
    sys.stdout.flush()
request = json.loads(sys.stdin.readline())
"""


@pytest.fixture
def fake_child(monkeypatch: pytest.MonkeyPatch):
    """Makes the child a small Python script (given its body after PRELUDE), for both
    drivers; yields nothing, and checks no child is left at the end."""

    def use(body: str) -> None:
        code = PRELUDE + textwrap.dedent(body)
        monkeypatch.setattr(runner, "child_command", lambda: [sys.executable, "-c", code])

    yield use
    assert child_processes() == []


def run_process(qtbot, timeout_s: float = 30.0, wait_ms: int = 10_000):  # type: ignore[no-untyped-def]
    """Start a SmokeProcess; return it, what it said, and its ChildOutcome once it ended."""
    process = SmokeProcess(REQUEST, timeout_s=timeout_s)
    said: list[ChildEvent] = []
    process.said.connect(said.append)
    with qtbot.waitSignal(process.ended, timeout=wait_ms) as ended:
        process.start()
    return process, said, ended.args[0]


def test_a_line_split_across_two_writes_is_one_event(qtbot, fake_child) -> None:
    fake_child("""
        line = json.dumps({"event": "stage", "stage": "loading", "detail": request["model_path"]})
        say(line[:20])
        time.sleep(0.3)  # the parent reads the first half on its own
        say(line[20:] + "\\n")
        say('{"event": "result", "peak_rss_bytes": 5}')  # the last line lacks its newline
    """)
    process, said, outcome = run_process(qtbot)
    assert said == process.events
    assert said == [
        StageEvent(stage="loading", detail="/models/tiny.gguf"),  # the request reached it
        ResultEvent(peak_rss_bytes=5),
    ]
    assert outcome == ChildOutcome(exit_code=0)


def test_a_garbage_line_is_kept_as_output_and_the_run_goes_on(qtbot, fake_child) -> None:
    fake_child("""
        say("some library printed this\\n\\n")
        say('{"event": "nonsense"}\\n')
        say('{"event": "loaded", "seconds": 1}\\n')
        say('{"event": "result", "peak_rss_bytes": 5}\\n')
    """)
    _, said, outcome = run_process(qtbot)
    assert [type(event) for event in said] == [ErrorEvent, ResultEvent]
    assert isinstance(said[0], ErrorEvent) and said[0].stage == "protocol"
    assert "stdout: some library printed this\n" in outcome.stderr_tail
    assert 'stdout: {"event": "nonsense"}' in outcome.stderr_tail
    assert outcome.exit_code == 0


def test_exit_1_is_reported_with_the_last_output(qtbot, fake_child) -> None:
    fake_child("""
        say('{"event": "stage", "stage": "loading", "detail": "loading"}\\n')
        sys.stderr.write("llama.cpp: failed to load the model\\n")
        sys.exit(1)
    """)
    _, said, outcome = run_process(qtbot)
    assert outcome == ChildOutcome(exit_code=1, stderr_tail="llama.cpp: failed to load the model\n")
    assert how_it_ended(said, outcome) == (
        "the model process ended with exit code 1 while loading without a result: "
        "llama.cpp: failed to load the model"
    )


# A child that never ends and shrugs off SIGTERM (it says so), as a hung llama.cpp may.
STUBBORN = """
    def refuse(number, frame):
        say('{"event": "stage", "stage": "sigterm", "detail": "ignored"}\\n')
    signal.signal(signal.SIGTERM, refuse)
    say('{"event": "stage", "stage": "loading", "detail": "forever"}\\n')
    while True:
        time.sleep(0.05)
"""


def test_a_child_that_never_ends_is_terminated_then_killed_at_the_timeout(
    qtbot, fake_child
) -> None:
    fake_child(STUBBORN)
    started = time.monotonic()
    _, said, outcome = run_process(qtbot, timeout_s=0.5)
    seconds = time.monotonic() - started
    assert outcome.timed_out and not outcome.cancelled
    assert [e.stage for e in said if isinstance(e, StageEvent)] == ["loading", "sigterm"]
    assert outcome.exit_code == -9  # SIGKILL, once the grace was over
    # Qt's coarse timers may fire up to 5 % early
    assert 0.9 * (0.5 + CANCEL_GRACE_S) <= seconds < 0.5 + CANCEL_GRACE_S + 3


def test_cancel_returns_at_once_and_the_child_is_gone_after_the_grace(qtbot, fake_child) -> None:
    fake_child(STUBBORN)
    process = SmokeProcess(REQUEST, timeout_s=60)
    said: list[ChildEvent] = []
    process.said.connect(said.append)
    process.start()
    qtbot.waitUntil(lambda: said != [], timeout=10_000)
    pid = process.process.processId()
    with qtbot.waitSignal(process.ended, timeout=CANCEL_GRACE_S * 1000 + 3000) as ended:
        pressed = time.monotonic()
        process.cancel()
        assert time.monotonic() - pressed < 0.2  # the window stays responsive
    outcome = ended.args[0]
    assert outcome.cancelled and not outcome.timed_out and outcome.exit_code == -9
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_a_child_that_honours_sigterm_ends_without_a_kill(qtbot, fake_child) -> None:
    fake_child("""
        say('{"event": "stage", "stage": "loading", "detail": "forever"}\\n')
        time.sleep(60)
    """)
    process = SmokeProcess(REQUEST, timeout_s=60)
    process.start()
    qtbot.waitUntil(lambda: process.events != [], timeout=10_000)
    with qtbot.waitSignal(process.ended, timeout=int(CANCEL_GRACE_S * 1000)) as ended:
        process.cancel()
    assert ended.args[0].exit_code == -15 and ended.args[0].cancelled


def test_a_child_that_fails_to_start_is_reported(qtbot, monkeypatch) -> None:
    monkeypatch.setattr(runner, "child_command", lambda: ["/nonexistent/modelvet-child"])
    process, said, outcome = run_process(qtbot, wait_ms=5000)
    assert outcome == ChildOutcome()  # never ran: no exit code, no output
    assert len(said) == 1 and isinstance(said[0], ErrorEvent) and said[0].stage == "start"
    assert said[0].message.startswith("could not start the model process")
    assert not process.is_running()


# --- both drivers: one outcome --------------------------------------------------------------


def test_both_drivers_give_the_same_events_and_outcome(qtbot, fake_child) -> None:
    fake_child("""
        for n in range(50):
            sys.stderr.write(f"log line {n}\\n")
        sys.stderr.flush()
        time.sleep(0.3)  # the log is read before what follows on stdout
        say('{"event": "stage", "stage": "loading", "detail": "x"}\\nnoise\\n')
        sys.exit(3)
    """)
    _, said, gui = run_process(qtbot)
    session = SmokeSession(REQUEST, lambda event: None, timeout_s=30)
    headless = session.run()
    assert headless == said == [StageEvent(stage="loading", detail="x")]
    assert gui.exit_code == session.outcome.exit_code == 3
    # the same tail: the last lines of output, stderr and unreadable stdout alike
    expected = "".join(f"log line {n}\n" for n in range(31, 50)) + "stdout: noise\n"
    assert gui.stderr_tail == session.outcome.stderr_tail == expected
    assert len(expected.splitlines()) == STDERR_TAIL_LINES


# --- the wizard's controller, on a fake child: the whole run, then the user's prompt ---------

INTERACTIVE = """
    say('{"event": "stage", "stage": "baseline", "detail": "runtime loaded", '
        '"baseline_rss_bytes": 1000}\\n')
    say('{"event": "buffers", "mib": {"model": 90.0}, "applied": {}}\\n')
    say('{"event": "loaded", "seconds": 0.2, "n_ctx": 1024, "n_threads": 1, '
        '"peak_rss_bytes": 2000, "chat_format": "chatml"}\\n')
    say('{"event": "timing", "prompt_tokens": 9, "prompt_seconds": 0.1, '
        '"generated_tokens": 8, "generation_seconds": 0.1, "time_to_first_token_s": 0.1, '
        '"peak_rss_bytes": 2000}\\n')
    say('{"event": "result", "peak_rss_bytes": 2000}\\n')
    for line in sys.stdin:  # the user's prompts, until stdin closes
        asked = json.loads(line)["prompt"]
        say(json.dumps({"event": "token", "text": asked.upper(), "tokens": 1,
                        "tokens_per_s": 10.0}) + "\\n")
        say('{"event": "answer", "text": "x", "tokens": 1, "seconds": 0.1}\\n')
"""


def test_the_controller_runs_checks_child_verdict_history_and_prompts(
    qtbot, fake_child, smol_gguf
) -> None:
    from modelvet.engine.catalog import load_catalog
    from modelvet.engine.hardware import HardwareSpec
    from modelvet.engine.smoke import history
    from modelvet.gui.pages.smoke import SmokePage

    fake_child(INTERACTIVE)
    page = SmokePage(load_catalog(), [])
    qtbot.addWidget(page)
    run = page.controller
    machine = HardwareSpec(name="test box", origin="profile", ram_gb=64, ram_available_gb=64)
    page.set_context(run.profile, machine)
    with qtbot.waitSignal(run.finished, timeout=30_000) as finished:
        page.start(smol_gguf)
        assert page.busy() and page.cancel_button.isEnabled()
    result = finished.args[0]
    assert run.result is result and result.passed, result.verdict
    assert result.measured.load_seconds == 0.2 and result.measured.generated_tokens == 8
    assert page.verdict.text().startswith("✓ passed: loaded in 0.20 s")
    assert [r["sha256"] for r in history.runs()] == [result.sha256]
    # the child stays, loaded, for the user's own prompt
    qtbot.waitUntil(page.send.isEnabled, timeout=5000)
    assert not page.busy() and not page.cancel_button.isEnabled()
    page.prompt.setPlainText("name a colour")
    page.send_prompt()
    assert not page.send.isEnabled()  # until the answer is in
    qtbot.waitUntil(lambda: page.answer.toPlainText() == "NAME A COLOUR", timeout=5000)
    qtbot.waitUntil(page.send.isEnabled, timeout=5000)
    assert page.status.text().startswith("answered: 1 tokens")
    page.shutdown()
    assert run.process is not None and not run.process.is_running()
    assert run.result is result  # the last result outlives its process


def test_the_exported_record_carries_the_controllers_last_result(
    window, qtbot, fake_child, smol_gguf, tmp_path
) -> None:
    fake_child(INTERACTIVE)
    run = window.smoke.controller
    with qtbot.waitSignal(run.finished, timeout=30_000):
        window.smoke.start(smol_gguf)
    assert run.result is not None and run.result.passed
    out = tmp_path / "record.md"
    window.export_record("md", str(out))
    qtbot.waitUntil(out.exists, timeout=30_000)
    assert f"File `{smol_gguf}`" in out.read_text() and run.result.verdict in out.read_text()
