"""Faults in the smoke test, with real files and real child processes: Cancel at every stage,
a child killed by a signal or out of memory, a hung child, a child that says nothing, an app
that dies under its child. Each is reported, and no process is left behind."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from modelvet.engine.catalog import bundled_catalog, load_catalog
from modelvet.engine.errors import Cancelled, ModelVetError
from modelvet.engine.fit.memory import RunSettings
from modelvet.engine.hardware import HardwareSpec
from modelvet.engine.smoke import build_request, check_before_load, history, summarise
from modelvet.engine.smoke import runner as smoke_runner
from modelvet.engine.smoke.check import PreLoad
from modelvet.engine.smoke.protocol import ChildEvent, LoadedEvent, SmokeRequest, StageEvent
from modelvet.engine.smoke.runner import SmokeSession
from tests.helpers import BIG_TENSOR_BYTES, child_processes

CANCEL_LIMIT_S = 2.0  # the promise to the user: Cancel stops a run within 2 seconds
MACHINE = HardwareSpec(name="test box", origin="profile", ram_gb=64, ram_available_gb=64)


def processes_mentioning(text: str) -> list[int]:
    """Any process on the machine whose command line or open files mention `text`."""
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        try:
            if text in " ".join(process.info["cmdline"] or []) or any(
                text in f.path for f in process.open_files()
            ):
                found.append(process.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


# --- Cancel while hashing: the run stops and no model is loaded ----------------------------


def test_cancel_while_hashing_stops_the_check(big_gguf: Path) -> None:
    hashed: list[int] = []
    stop = threading.Event()

    def progress(done: int, total: int) -> None:
        hashed.append(done)
        stop.set()  # the user presses Cancel as soon as hashing is under way

    with pytest.raises(Cancelled):
        check_before_load(
            big_gguf,
            load_catalog(),
            RunSettings(2048),
            MACHINE,
            progress=progress,
            cancelled=stop.is_set,
        )
    assert hashed and max(hashed) < BIG_TENSOR_BYTES
    assert child_processes() == []


def test_gui_cancel_while_hashing_never_loads_the_model(qtbot, big_gguf: Path) -> None:
    from modelvet.gui.pages.smoke import SmokePage

    page = SmokePage(bundled_catalog(), [])
    qtbot.addWidget(page)
    page.set_context(page.controller.profile, MACHINE)
    page.start(big_gguf)
    qtbot.waitUntil(lambda: page.status.text().startswith("hashing"), timeout=60_000)
    page.cancel()  # the user presses Cancel while the file is being hashed
    qtbot.waitUntil(lambda: not page.busy(), timeout=int(CANCEL_LIMIT_S * 1000))
    qtbot.waitUntil(lambda: "not loaded" in page.verdict.text(), timeout=2000)
    qtbot.wait(300)  # anything queued after the cancel gets its chance to (wrongly) launch
    assert page.controller.process is None and page.controller.result is None
    assert "not loaded" in page.verdict.text()
    assert child_processes() == [] and processes_mentioning(big_gguf.name) == []
    assert history.runs() == []
    page.shutdown()


# --- Cancel while loading and while generating, on the real model --------------------------


@pytest.fixture(scope="module")
def smol_pre(smol_gguf: Path) -> PreLoad:
    return check_before_load(smol_gguf, load_catalog(), RunSettings(2048), MACHINE)


def run_until(
    request: SmokeRequest, act: Callable[[SmokeSession], None], when: str, timeout_s: float = 120
) -> tuple[SmokeSession, list[ChildEvent], float]:
    """Run the real child; call `act(session)` once an event of kind/stage `when` arrives.
    Returns the session, its events, and seconds from the act to the child's end."""
    acted = threading.Event()
    acted_at: list[float] = []
    session: SmokeSession

    def on_event(event: ChildEvent) -> None:
        stage = event.stage if isinstance(event, StageEvent) else None
        if when in (event.event, stage) and not acted.is_set():
            acted.set()
            acted_at.append(time.monotonic())
            threading.Thread(target=act, args=(session,)).start()

    session = SmokeSession(request, on_event, timeout_s=timeout_s)
    events = session.run()
    assert acted.is_set(), f"never saw {when!r}: {events}"
    return session, events, time.monotonic() - acted_at[0]


@pytest.mark.llama
@pytest.mark.parametrize("stage", ["loading", "measuring"])
def test_cancel_stops_the_child_within_two_seconds(smol_pre: PreLoad, stage: str) -> None:
    request = build_request(smol_pre, ["general"], ["en"], generate_tokens=100_000)
    session, events, seconds = run_until(request, SmokeSession.cancel, stage)
    assert seconds < CANCEL_LIMIT_S
    result = summarise(smol_pre, events, session.outcome)
    assert result.cancelled and not result.passed and result.verdict == "cancelled"
    assert child_processes() == []


def _interrupt_cli(
    args: list[str], when: str | None, wait_s: float = 0.0
) -> tuple[int, str, float, list[psutil.Process]]:
    """Run `modelvet smoke`, press Ctrl-C (SIGINT) once stderr shows `when` (or after
    `wait_s`). Returns the exit code, stderr, seconds from Ctrl-C to exit, and the processes
    the command had started when Ctrl-C was pressed."""
    cli = subprocess.Popen(
        [sys.executable, "-m", "modelvet", "smoke", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert cli.stderr is not None
    lines: list[str] = []
    if when is None:
        time.sleep(wait_s)
    else:
        for line in cli.stderr:
            lines.append(line)
            if when in line:
                break
    started = psutil.Process(cli.pid).children(recursive=True)
    pressed = time.monotonic()
    cli.send_signal(signal.SIGINT)
    code = cli.wait(timeout=60)
    seconds = time.monotonic() - pressed
    with cli.stderr:
        rest = cli.stderr.read()
    return code, "".join(lines) + rest, seconds, started


def test_ctrl_c_while_hashing_stops_before_any_load(big_gguf: Path) -> None:
    code, stderr, seconds, started = _interrupt_cli([str(big_gguf)], when=None, wait_s=2.0)
    assert code == 130 and seconds < CANCEL_LIMIT_S
    assert started == [], "a process was started while the file was still being hashed"
    assert "loading" not in stderr and "Traceback" not in stderr


@pytest.mark.llama
def test_ctrl_c_while_generating_stops_the_child(smol_gguf: Path) -> None:
    code, stderr, seconds, started = _interrupt_cli(
        [str(smol_gguf), "--context", "1024"], when="generating"
    )
    assert code == 130 and seconds < CANCEL_LIMIT_S, stderr
    assert "Traceback" not in stderr
    assert len(started) == 1 and not started[0].is_running()


# --- Faults: killed, out of memory, hung, silent -------------------------------------------


def _kill_child(session: SmokeSession) -> None:
    assert session._process is not None
    os.kill(session._process.pid, signal.SIGKILL)  # as the kernel's out-of-memory killer does


@pytest.mark.llama
def test_a_child_killed_by_a_signal_is_reported(smol_pre: PreLoad) -> None:
    request = build_request(smol_pre, ["general"], ["en"], generate_tokens=100_000)
    session, events, _ = run_until(request, _kill_child, "measuring")
    result = summarise(smol_pre, events, session.outcome)
    assert not result.passed and not result.cancelled
    assert result.error is not None and "killed by SIGKILL while measuring" in result.error
    assert "run out of memory" in result.error
    assert child_processes() == []


@pytest.mark.llama
def test_a_child_out_of_memory_is_reported(
    smol_pre: PreLoad, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real child on the real model with too little address space for its KV cache."""
    limit = 900 * 2**20
    monkeypatch.setattr(
        smoke_runner,
        "child_command",
        lambda: [
            sys.executable,
            "-c",
            f"import resource, runpy; resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit})); "
            "runpy.run_module('modelvet.engine.smoke.child', run_name='__main__')",
        ],
    )
    request = build_request(smol_pre, ["general"], ["en"]).model_copy(
        update={"context_tokens": 8192}
    )
    session = SmokeSession(request, lambda e: None, timeout_s=120)
    events = session.run()
    result = summarise(smol_pre, events, session.outcome)
    assert not result.passed and result.error
    assert result.verdict.startswith("failed: ")
    assert child_processes() == []


@pytest.mark.llama
def test_a_hung_child_is_stopped_at_the_timeout(smol_pre: PreLoad) -> None:
    """The real child, frozen (SIGSTOP) once loaded: it never answers again."""
    request = build_request(smol_pre, ["general"], ["en"], generate_tokens=100_000)

    def freeze(session: SmokeSession) -> None:
        assert session._process is not None
        os.kill(session._process.pid, signal.SIGSTOP)

    session, events, _ = run_until(request, freeze, "loaded", timeout_s=20)
    result = summarise(smol_pre, events, session.outcome)
    assert session.outcome.timed_out and result.verdict.startswith("timed out")
    assert child_processes() == []


def test_a_child_that_says_nothing_is_reported(
    smol_gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    silent = [sys.executable, "-c", "import sys; sys.stdin.read()"]
    monkeypatch.setattr(smoke_runner, "child_command", lambda: silent)
    pre = check_before_load(smol_gguf, load_catalog(), RunSettings(2048), MACHINE)
    session = SmokeSession(build_request(pre, ["general"], ["en"]), lambda e: None, timeout_s=60)
    events = session.run()
    result = summarise(pre, events, session.outcome)
    assert events == [] and not result.passed
    assert result.error == (
        "the model process ended with exit code 0 before it said anything without a result: "
        "no output"
    )


@pytest.mark.llama
def test_a_model_that_loads_but_generates_nothing_fails(smol_pre: PreLoad) -> None:
    request = build_request(smol_pre, [], [], generate_tokens=0).model_copy(update={"probes": []})
    session = SmokeSession(request, lambda e: None, timeout_s=120)
    result = summarise(smol_pre, session.run(), session.outcome)
    assert not result.passed and result.verdict == "failed: no tokens were generated"


# --- No orphans, even when the app itself dies ---------------------------------------------

_APP = """
import sys
from modelvet.engine.smoke.protocol import SmokeRequest
from modelvet.engine.smoke.runner import SmokeSession
request = SmokeRequest(model_path=sys.argv[1], context_tokens=1024, generate_tokens=100000)
def show(event):
    print(event.event, flush=True)
SmokeSession(request, show, timeout_s=600).run()
"""


@pytest.mark.llama
def test_the_child_dies_with_a_killed_app(smol_gguf: Path) -> None:
    """The app is killed while its child is busy (frozen here, so it cannot notice the closed
    pipe by itself): the child must go too, not stay loaded as an orphan."""
    app = subprocess.Popen(
        [sys.executable, "-c", _APP, str(smol_gguf)], stdout=subprocess.PIPE, text=True
    )
    assert app.stdout is not None
    for line in app.stdout:
        if line.strip() == "loaded":
            break
    (child,) = psutil.Process(app.pid).children()
    try:
        child.send_signal(signal.SIGSTOP)
        app.kill()
        app.wait(timeout=10)
        app.stdout.close()
        gone, alive = psutil.wait_procs([child], timeout=10)
        assert alive == [], "the smoke child outlived the app that started it"
    finally:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()


@pytest.mark.llama
def test_the_wizard_reports_a_killed_child_and_keeps_working(qtbot, smol_gguf: Path) -> None:
    from modelvet.gui.pages.smoke import SmokePage

    page = SmokePage(bundled_catalog(), [])
    qtbot.addWidget(page)
    page.set_context(page.controller.profile, MACHINE)
    page.start(smol_gguf)
    run = page.controller
    qtbot.waitUntil(
        lambda: (
            run.process is not None and any(isinstance(e, LoadedEvent) for e in run.process.events)
        ),
        timeout=120_000,
    )
    assert run.process is not None
    os.kill(run.process.process.processId(), signal.SIGKILL)
    qtbot.waitUntil(lambda: run.result is not None, timeout=10_000)
    assert run.result is not None and not run.result.passed
    assert "killed by SIGKILL" in str(run.result.error), run.result.error
    assert "killed by SIGKILL" in page.verdict.text()
    assert child_processes() == []
    page.start(smol_gguf)  # the page is ready for the next run
    qtbot.waitUntil(lambda: run.result is not None and run.result.passed, timeout=180_000)
    page.shutdown()


# --- The file that is loaded is the file that was checked ----------------------------------


@pytest.fixture
def smol_copy(smol_gguf: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "smol-copy.gguf"
    shutil.copyfile(smol_gguf, copy)
    return copy


def test_a_file_rewritten_while_it_is_hashed_is_refused(smol_copy: Path) -> None:
    def touch(done: int, total: int) -> None:  # someone writes to the file mid-hash
        with smol_copy.open("r+b") as handle:
            handle.seek(total - 1)
            handle.write(b"\0")

    with pytest.raises(ModelVetError, match="changed while it was being checked"):
        check_before_load(smol_copy, load_catalog(), RunSettings(1024), MACHINE, progress=touch)


@pytest.mark.parametrize("how", ["rewritten", "replaced"])
def test_a_file_changed_after_its_checks_is_not_loaded(smol_copy: Path, how: str) -> None:
    pre = check_before_load(smol_copy, load_catalog(), RunSettings(1024), MACHINE)
    if how == "rewritten":
        with smol_copy.open("ab") as handle:
            handle.write(b"\0" * 32)
    else:  # another file renamed over it
        other = smol_copy.with_name("other.gguf")
        shutil.copyfile(smol_copy, other)
        os.replace(other, smol_copy)
    session = SmokeSession(build_request(pre, ["general"], ["en"]), lambda e: None, timeout_s=60)
    events = session.run()
    result = summarise(pre, events, session.outcome)
    assert not result.passed and not any(isinstance(e, LoadedEvent) for e in events)
    assert result.error == ("FileChanged: the file changed after it was checked; it was not loaded")
