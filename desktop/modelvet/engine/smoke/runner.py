"""Parent side of the smoke test: checks before loading, the child process, the result value.

The GUI drives the same child through QProcess; this module's `SmokeSession` is the headless
driver for the CLI and tests: it starts the child in its own process group, reads its JSON
lines, and can cancel or time out (SIGTERM to the group, SIGKILL after CANCEL_GRACE_S). Both
drivers end with the same `ChildOutcome`. The parent never imports llama_cpp.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO

from modelvet.engine.smoke.protocol import (
    PARENT_PID_VARIABLE,
    ChildEvent,
    SmokeRequest,
    Unreadable,
    decode,
)

CANCEL_GRACE_S = 1.0  # after SIGTERM, the child has this long to go before SIGKILL
POLL_S = 0.1
STDERR_TAIL_LINES = 20  # of the child's own output, kept to say why it ended


@dataclass(frozen=True)
class ChildOutcome:
    """How a child process ended, as both drivers (this one and the GUI's) report it."""

    cancelled: bool = False
    timed_out: bool = False
    exit_code: int | None = None  # negative: killed by that signal; None: not ended (or started)
    stderr_tail: str = ""  # its last lines of output that were not events

    @property
    def stopped(self) -> bool:
        """Stopped by the parent (Cancel or the timeout), rather than ending by itself."""
        return self.cancelled or self.timed_out


def keep_tail(tail: str, more: str) -> str:
    """`tail` and then `more`, cut to the last STDERR_TAIL_LINES lines."""
    return "".join((tail + more).splitlines(keepends=True)[-STDERR_TAIL_LINES:])


def unreadable_output(line: Unreadable) -> str:
    """A stdout line that was no event, as it joins the child's other output."""
    return f"stdout: {line.line.rstrip()}\n"


CHILD_FLAG = "--smoke-child"


def child_command() -> list[str]:
    """How to start the child: `python -m …`, or the frozen app itself with a flag."""
    if getattr(sys, "frozen", False):  # a PyInstaller build has no `python -m`
        return [sys.executable, CHILD_FLAG]
    return [sys.executable, "-m", "modelvet.engine.smoke.child"]


def _pump(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _next_line(lines: queue.Queue[str | None]) -> str | None:
    while True:
        try:
            return lines.get(timeout=POLL_S)
        except queue.Empty:
            continue  # back in Python for a moment: a pending Ctrl-C is raised here


class SmokeSession:
    """One run of the child. `run()` blocks; `cancel()` may be called from another thread."""

    def __init__(
        self,
        request: SmokeRequest,
        on_event: Callable[[ChildEvent], None],
        timeout_s: float = 600.0,
    ) -> None:
        self.request = request
        self.on_event = on_event
        self.timeout_s = timeout_s
        self.events: list[ChildEvent] = []
        self._tail = ""
        self._tail_lock = threading.Lock()  # the stderr thread and this one both add to it
        self._cancelled = False
        self._timed_out = False
        self._exit_code: int | None = None
        self._process: subprocess.Popen[str] | None = None

    @property
    def outcome(self) -> ChildOutcome:
        return ChildOutcome(self._cancelled, self._timed_out, self._exit_code, self._tail)

    def _keep(self, output: str) -> None:
        with self._tail_lock:
            self._tail = keep_tail(self._tail, output)

    def _drain(self, stderr: IO[str]) -> None:
        for line in stderr:
            self._keep(line)

    def run(self) -> list[ChildEvent]:
        """Runs the child to its end; its events, in order (`outcome` says how it ended)."""
        self._process = subprocess.Popen(
            child_command(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1", PARENT_PID_VARIABLE: str(os.getpid())},
        )
        assert self._process.stdin and self._process.stdout and self._process.stderr
        self._process.stdin.write(self.request.model_dump_json() + "\n")
        self._process.stdin.close()
        stderr, stdout = self._process.stderr, self._process.stdout
        drain = threading.Thread(target=self._drain, args=(stderr,), daemon=True)
        drain.start()
        # The child's lines are read on a thread and handed over through a queue that the
        # calling thread polls: a thread blocked in read() may never see a Ctrl-C that the
        # kernel delivered to another thread.
        lines: queue.Queue[str | None] = queue.Queue()
        pump = threading.Thread(target=_pump, args=(stdout, lines), daemon=True)
        pump.start()
        watchdog = threading.Timer(self.timeout_s, self._on_timeout)
        watchdog.start()
        try:
            while (line := _next_line(lines)) is not None:
                if not line.strip():
                    continue
                event = decode(line)
                if isinstance(event, Unreadable):
                    self._keep(unreadable_output(event))
                    continue
                self.events.append(event)
                self.on_event(event)
        except BaseException:  # Ctrl-C, or a failing on_event: the child must not outlive us
            self._cancelled = True
            self._kill()
            raise
        finally:
            watchdog.cancel()
            self._exit_code = self._process.wait()
            drain.join(timeout=2)
            pump.join(timeout=2)
            for pipe in (stdout, stderr):  # the child is gone: its pipes are ours to close
                pipe.close()
        return self.events

    def _on_timeout(self) -> None:
        self._timed_out = True
        self._kill()

    def cancel(self) -> None:
        self._cancelled = True
        self._kill()

    def _kill(self) -> None:
        """SIGTERM the child's process group, then SIGKILL if it is still there."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            deadline = time.monotonic() + CANCEL_GRACE_S
            while process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.02)
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
