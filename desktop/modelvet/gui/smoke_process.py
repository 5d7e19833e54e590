"""Drives the smoke-test child with QProcess: JSON lines in, events out, cancel, timeout."""

from __future__ import annotations

import os
from typing import Any

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from modelvet.engine.smoke.protocol import (
    PARENT_PID_VARIABLE,
    PromptLine,
    SmokeRequest,
    decode,
)
from modelvet.engine.smoke.runner import CANCEL_GRACE_S, child_command

CANCEL_DEADLINE_MS = 2000


class SmokeProcess(QObject):
    """One child process; `events` keeps everything it said, in order."""

    said = Signal(dict)  # one event of the child (not `event`: QObject.event is a virtual)
    ended = Signal(bool, bool, str)  # cancelled, timed_out, stderr tail

    def __init__(
        self, request: SmokeRequest, timeout_s: float = 600.0, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.request = request
        self.events: list[dict[str, Any]] = []
        self.cancelled = False
        self.timed_out = False
        self.exit_code: int | None = None  # negative: killed by that signal, as in subprocess
        self._buffer = b""
        self._stderr = b""
        self.process = QProcess(self)
        environment = QProcessEnvironment.systemEnvironment()
        environment.insert("PYTHONUNBUFFERED", "1")
        environment.insert(PARENT_PID_VARIABLE, str(os.getpid()))
        self.process.setProcessEnvironment(environment)
        self.process.readyReadStandardOutput.connect(self._read)
        self.process.readyReadStandardError.connect(self._read_stderr)
        self.process.finished.connect(self._finished)
        self.process.errorOccurred.connect(self._error)
        self._timeout = QTimer(self, singleShot=True, interval=int(timeout_s * 1000))
        self._timeout.timeout.connect(self._on_timeout)

    def start(self) -> None:
        program, *arguments = child_command()
        self.process.start(program, arguments)
        self.process.write((self.request.model_dump_json() + "\n").encode())
        if not self.request.interactive:
            self.process.closeWriteChannel()
        self._timeout.start()

    def ask(self, prompt: str, max_tokens: int = 256) -> None:
        """Send a further prompt to an interactive child that has finished its run."""
        line = PromptLine(prompt=prompt, max_tokens=max_tokens).model_dump_json() + "\n"
        self.process.write(line.encode())

    def is_running(self) -> bool:
        return self.process.state() != QProcess.ProcessState.NotRunning

    def cancel(self) -> None:
        self.cancelled = True
        self._stop()

    def close(self) -> None:
        """End an interactive child politely: closing stdin ends its prompt loop."""
        if self.is_running():
            self.process.closeWriteChannel()
            if not self.process.waitForFinished(CANCEL_DEADLINE_MS):
                self._stop()

    def _stop(self) -> None:
        """As the CLI's driver does: SIGTERM, then SIGKILL once the grace is over (a hung
        llama.cpp must not keep the user waiting)."""
        if self.is_running():
            self.process.terminate()
            if not self.process.waitForFinished(int(CANCEL_GRACE_S * 1000)):
                self.process.kill()
                self.process.waitForFinished(CANCEL_DEADLINE_MS)

    def _on_timeout(self) -> None:
        if self.request.interactive and any(e["event"] == "result" for e in self.events):
            return  # an interactive child waits for prompts by design
        self.timed_out = True
        self._stop()

    def _read(self) -> None:
        self._buffer += bytes(self.process.readAllStandardOutput().data())
        *lines, self._buffer = self._buffer.split(b"\n")
        for raw in lines:
            event = decode(raw.decode("utf-8", "replace"))
            if event is not None:
                self.events.append(event)
                self.said.emit(event)

    def _read_stderr(self) -> None:
        self._stderr = (self._stderr + bytes(self.process.readAllStandardError().data()))[-8192:]

    def _finished(self, code: int, status: QProcess.ExitStatus) -> None:
        crashed = status == QProcess.ExitStatus.CrashExit
        self.exit_code = -code if crashed and code > 0 else code
        self._timeout.stop()
        self._read()
        tail = self._stderr.decode("utf-8", "replace")
        self.ended.emit(self.cancelled, self.timed_out, tail)

    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            event = {"event": "error", "message": "could not start the model process"}
            self.events.append(event)
            self.said.emit(event)
            self.ended.emit(False, False, "")
