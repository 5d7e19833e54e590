"""Drives the smoke-test child with QProcess: JSON lines in, typed events out, cancel, timeout.

The GUI's twin of `runner.SmokeSession`: the same child command, the same stop (SIGTERM, then
SIGKILL after CANCEL_GRACE_S), the same stderr tail, and the same `ChildOutcome` at the end.
"""

from __future__ import annotations

import codecs
import os

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from modelvet.engine.smoke import runner
from modelvet.engine.smoke.protocol import (
    PARENT_PID_VARIABLE,
    ChildEvent,
    ErrorEvent,
    PromptLine,
    ResultEvent,
    SmokeRequest,
    Unreadable,
    decode,
)
from modelvet.engine.smoke.runner import CANCEL_GRACE_S, ChildOutcome, keep_tail, unreadable_output

CANCEL_DEADLINE_MS = 2000  # after SIGKILL: how long to wait for the process to be gone


class SmokeProcess(QObject):
    """One child process; `events` keeps everything it said, in order."""

    said = Signal(object)  # one ChildEvent (not `event`: QObject.event is a virtual)
    ended = Signal(object)  # the ChildOutcome, once the process is gone (or never started)

    def __init__(
        self, request: SmokeRequest, timeout_s: float = 600.0, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.request = request
        self.events: list[ChildEvent] = []
        self._cancelled = False
        self._timed_out = False
        self._exit_code: int | None = None  # negative: killed by that signal, as in subprocess
        self._stdout = b""  # a line not yet complete
        self._tail = ""
        self._stderr_text = codecs.getincrementaldecoder("utf-8")("replace")
        self.process = QProcess(self)
        environment = QProcessEnvironment.systemEnvironment()
        environment.insert("PYTHONUNBUFFERED", "1")
        environment.insert(PARENT_PID_VARIABLE, str(os.getpid()))
        self.process.setProcessEnvironment(environment)
        self.process.started.connect(self._on_started)
        self.process.readyReadStandardOutput.connect(self._on_stdout)
        self.process.readyReadStandardError.connect(self._on_stderr)
        self.process.finished.connect(self._on_finished)
        self.process.errorOccurred.connect(self._on_error)
        self._timeout = QTimer(self, singleShot=True, interval=int(timeout_s * 1000))
        self._timeout.timeout.connect(self._on_timeout)
        self._kill_timer = QTimer(self, singleShot=True, interval=int(CANCEL_GRACE_S * 1000))
        self._kill_timer.timeout.connect(self._kill)

    @property
    def outcome(self) -> ChildOutcome:
        return ChildOutcome(self._cancelled, self._timed_out, self._exit_code, self._tail)

    def start(self) -> None:
        program, *arguments = runner.child_command()  # looked up now: tests stand in for it
        self.process.start(program, arguments)
        self._timeout.start()

    def ask(self, prompt: str, max_tokens: int = 256) -> None:
        """Send a further prompt to an interactive child that has finished its run."""
        line = PromptLine(prompt=prompt, max_tokens=max_tokens).model_dump_json() + "\n"
        self.process.write(line.encode())

    def is_running(self) -> bool:
        return self.process.state() != QProcess.ProcessState.NotRunning

    def cancel(self, wait: bool = False) -> None:
        """SIGTERM now, SIGKILL once the grace is over; `ended` follows when it is gone.
        `wait`: block until then (the window is closing: no event loop will run the timer)."""
        self._cancelled = True
        if wait:
            self._stop_and_wait()
        else:
            self._stop()

    def close(self) -> None:
        """End an interactive child politely (closing stdin ends its prompt loop); waits."""
        if self.is_running():
            self.process.closeWriteChannel()
            if not self.process.waitForFinished(CANCEL_DEADLINE_MS):
                self._stop_and_wait()

    def _stop_and_wait(self) -> None:
        if self.is_running():
            self.process.terminate()
            if not self.process.waitForFinished(int(CANCEL_GRACE_S * 1000)):
                self._kill()
                self.process.waitForFinished(CANCEL_DEADLINE_MS)

    def _stop(self) -> None:
        """As the CLI's driver does: SIGTERM, then SIGKILL once the grace is over (a hung
        llama.cpp must not keep the user waiting)."""
        if self.is_running() and not self._kill_timer.isActive():
            self.process.terminate()
            self._kill_timer.start()

    def _kill(self) -> None:
        if self.is_running():
            self.process.kill()

    def _on_started(self) -> None:
        self.process.write((self.request.model_dump_json() + "\n").encode())
        if not self.request.interactive:
            self.process.closeWriteChannel()

    def _on_timeout(self) -> None:
        if self.request.interactive and any(isinstance(e, ResultEvent) for e in self.events):
            return  # an interactive child waits for prompts by design
        self._timed_out = True
        self._stop()

    def _on_stdout(self) -> None:
        self._stdout += bytes(self.process.readAllStandardOutput().data())
        *lines, self._stdout = self._stdout.split(b"\n")
        for raw in lines:
            self._take(raw.decode("utf-8", "replace"))

    def _take(self, line: str) -> None:
        if not line.strip():
            return
        event = decode(line)
        if isinstance(event, Unreadable):
            self._tail = keep_tail(self._tail, unreadable_output(event))
            return
        self.events.append(event)
        self.said.emit(event)

    def _on_stderr(self) -> None:
        text = self._stderr_text.decode(bytes(self.process.readAllStandardError().data()))
        self._tail = keep_tail(self._tail, text)

    def _on_finished(self, code: int, status: QProcess.ExitStatus) -> None:
        crashed = status == QProcess.ExitStatus.CrashExit
        self._exit_code = -code if crashed and code > 0 else code
        self._timeout.stop()
        self._kill_timer.stop()
        self._on_stdout()
        self._take(self._stdout.decode("utf-8", "replace"))  # a last line without its newline
        self._stdout = b""
        self._on_stderr()
        self.ended.emit(self.outcome)

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:  # no `finished` will follow
            self._timeout.stop()
            failure = ErrorEvent(
                stage="start",
                message=f"could not start the model process: {self.process.errorString()}",
            )
            self.events.append(failure)
            self.said.emit(failure)
            self.ended.emit(self.outcome)
