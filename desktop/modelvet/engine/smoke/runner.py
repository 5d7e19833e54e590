"""Parent side of the smoke test: checks before loading, the child process, the result value.

The GUI drives the same child through QProcess; this module's `SmokeSession` is the headless
driver for the CLI and tests: it starts the child in its own process group, reads its JSON
lines, and can cancel (kill the group) or time out. The parent never imports llama_cpp.
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
from typing import IO, Any

from modelvet.engine.smoke.protocol import PARENT_PID_VARIABLE, SmokeRequest, decode

CANCEL_GRACE_S = 1.0
POLL_S = 0.1


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
        on_event: Callable[[dict[str, Any]], None],
        timeout_s: float = 600.0,
    ) -> None:
        self.request = request
        self.on_event = on_event
        self.timeout_s = timeout_s
        self.events: list[dict[str, Any]] = []
        self.stderr_tail = ""
        self.cancelled = False
        self.timed_out = False
        self.exit_code: int | None = None
        self._process: subprocess.Popen[str] | None = None

    def run(self) -> list[dict[str, Any]]:
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
        stderr_lines: list[str] = []
        stderr, stdout = self._process.stderr, self._process.stdout
        drain = threading.Thread(target=lambda: stderr_lines.extend(stderr), daemon=True)
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
                event = decode(line)
                if event is not None:
                    self.events.append(event)
                    self.on_event(event)
        except BaseException:  # Ctrl-C, or a failing on_event: the child must not outlive us
            self.cancelled = True
            self._kill()
            raise
        finally:
            watchdog.cancel()
            self.exit_code = self._process.wait()
            drain.join(timeout=2)
            pump.join(timeout=2)
            self.stderr_tail = "".join(stderr_lines[-20:])
            for pipe in (stdout, stderr):  # the child is gone: its pipes are ours to close
                pipe.close()
        return self.events

    def _on_timeout(self) -> None:
        self.timed_out = True
        self._kill()

    def cancel(self) -> None:
        self.cancelled = True
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
