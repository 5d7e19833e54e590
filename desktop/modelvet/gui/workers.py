"""Short in-process jobs on a worker thread, with progress, result and error relayed by signals.

An error is relayed as the exception itself (with its traceback), for `gui/errors.py` to show.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal

from modelvet.engine.errors import Cancelled


class _WorkerThread(QThread):
    """A thread whose `run` is the given function (QThread's own would run an event loop)."""

    def __init__(self, body: Callable[[], None]) -> None:
        super().__init__()
        self._body = body

    def run(self) -> None:
        self._body()


class Job(QObject):
    """Runs `work(report)` on its own QThread; `report(text)` relays progress to the GUI."""

    # Every job not yet finished: holds a reference, so a job its owner dropped is not
    # collected while its thread still runs.
    running: set[Job] = set()

    progressed = Signal(str)
    finished = Signal(object)
    failed = Signal(object)  # the exception, with its traceback
    cancelled = Signal()  # the work stopped at a cancel request: nothing after it ran
    ended = Signal()  # the thread is gone (after finished/failed/cancelled): not running now

    def __init__(
        self, work: Callable[[Callable[[str], None]], Any], parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self._work = work
        self._cancel = threading.Event()
        self._thread = _WorkerThread(self._run)

    def start(self) -> None:
        Job.running.add(self)
        self._thread.finished.connect(lambda: Job.running.discard(self))
        self._thread.finished.connect(self.ended)
        self._thread.start()

    def cancel(self) -> None:
        """Ask the work to stop; work that polls `cancel_requested` raises Cancelled."""
        self._cancel.set()

    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def _run(self) -> None:
        try:
            result = self._work(self.progressed.emit)
            if self._cancel.is_set():
                raise Cancelled("cancelled")
        except Cancelled:
            self.cancelled.emit()
        except Exception as error:  # a job must never take the window down
            self.failed.emit(error)
        else:
            self.finished.emit(result)

    def is_running(self) -> bool:
        return self._thread.isRunning()

    def wait(self, milliseconds: int = 5000) -> bool:
        return self._thread.wait(milliseconds)
