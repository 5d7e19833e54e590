"""One smoke run at a time, for the wizard: the checks before loading (a cancellable job), the
child process, the verdict, the history and calibration, and the last result. The smoke page
only renders what this says and forwards what the user does."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from modelvet.engine.catalog.loader import Catalog
from modelvet.engine.errors import ModelVetError
from modelvet.engine.fit import calibration
from modelvet.engine.fit.memory import RunSettings
from modelvet.engine.hardware import HardwareSpec
from modelvet.engine.machine import detect
from modelvet.engine.profile import Profile
from modelvet.engine.smoke import build_request, check_before_load, history, summarise
from modelvet.engine.smoke.check import PreLoad
from modelvet.engine.smoke.protocol import (
    AnswerEvent,
    ChildEvent,
    ErrorEvent,
    ProbeEvent,
    ResultEvent,
    StageEvent,
    TokenEvent,
)
from modelvet.engine.smoke.result import SmokeResult
from modelvet.engine.smoke.runner import ChildOutcome
from modelvet.gui.errors import error_text
from modelvet.gui.smoke_process import SmokeProcess
from modelvet.gui.workers import Job

BUSY = -1  # progress while the file is checked: under way, no fraction to show
_STAGES = {"baseline": 5, "loading": 10, "measuring": 40, "probe": 60}  # percent at each stage
_PROBES_FROM, _PROBES_SPAN = 60, 38  # the probes fill 60 % to 98 %


class SmokeController(QObject):
    started = Signal()  # a new run: what the last one showed is gone
    statusChanged = Signal(str)  # one line: what is happening now
    progressChanged = Signal(int)  # percent, or BUSY
    checked = Signal(object)  # PreLoad: the checks passed, the model is being loaded
    refused = Signal(str)  # the checks refused the file: why (it was not loaded)
    stoppedBeforeLoad = Signal()  # cancelled during the checks: nothing was loaded
    answerStreamed = Signal(str)  # a piece of the answer to the user's own prompt
    finished = Signal(object)  # SmokeResult, also kept as `result`
    stateChanged = Signal()  # busy() or can_ask() may have changed

    def __init__(self, catalog: Catalog, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.catalog = catalog
        self.profile = Profile()
        self.hardware: HardwareSpec | None = None
        self.job: Job | None = None
        self.process: SmokeProcess | None = None
        self.pre: PreLoad | None = None
        self.result: SmokeResult | None = None  # the last run's, until the next run starts
        self.percent = 0
        self._probes_total = 0
        self._asking = False  # a prompt of the user's is being answered

    # --- what the run uses ------------------------------------------------------------------

    def set_context(self, profile: Profile, hardware: HardwareSpec | None) -> None:
        self.profile = profile
        self.hardware = hardware

    def run_settings(self, context_tokens: int) -> RunSettings:
        return self.profile.capability.run_settings().with_context(context_tokens)

    def machine(self) -> HardwareSpec | Callable[[], HardwareSpec]:
        """The detected machine, else a function that detects it (only once a file is sound)."""
        if self.hardware is not None and self.hardware.origin == "detected":
            return self.hardware
        return lambda: detect(measure_bandwidth=True)

    # --- state --------------------------------------------------------------------------

    def busy(self) -> bool:
        """Checking a file, or running a child that has not given its result yet."""
        checking = self.job is not None and self.job.is_running()
        return checking or (self._child_running() and self.result is None)

    def can_ask(self) -> bool:
        """The run is over, its model still loaded and not answering: the user may try it."""
        return self._child_running() and self.result is not None and not self._asking

    def _child_running(self) -> bool:
        return self.process is not None and self.process.is_running()

    # --- user actions -------------------------------------------------------------------

    def start(self, path: Path, context_tokens: int, force: bool = False) -> None:
        """Check `path` on a worker, then load it in a child; ignored while a run is busy."""
        if self.busy():
            return
        self._close_process()
        self.result = None
        self.pre = None
        self._asking = False
        self.started.emit()
        settings, catalog, machine = self.run_settings(context_tokens), self.catalog, self.machine()

        def verify(report: Callable[[str], None]) -> PreLoad:
            report(f"checking {path.name}: reading the header and hashing the file…")

            def hashed(done: int, total: int) -> None:
                report(f"hashing {path.name}: {100 * done // max(total, 1)} %")

            return check_before_load(
                path,
                catalog,
                settings,
                machine,
                force=force,
                progress=hashed,
                cancelled=job.cancel_requested,
            )

        self.job = job = Job(verify, self)
        job.progressed.connect(self.statusChanged)
        job.finished.connect(self._launch)
        job.failed.connect(self._refused)
        job.cancelled.connect(self._stopped_before_load)
        job.ended.connect(self.stateChanged)  # `busy()` is only false once it has ended
        self._progress(BUSY)
        job.start()
        self.stateChanged.emit()

    def cancel(self) -> None:
        """Stop the checks or the child, whichever runs. "Cancelling…" is said first: the stop
        may end the run at once, and its own "Cancelled" must be the last word."""
        job = self.job if self.job is not None and self.job.is_running() else None
        process = self.process if self._child_running() else None
        if job is None and process is None:
            return
        self.statusChanged.emit("Cancelling…")
        if job is not None:
            job.cancel()
        if process is not None:
            process.cancel()
        self.stateChanged.emit()

    def ask(self, prompt: str) -> None:
        """The user's own prompt, to the model still loaded after the run."""
        if self.can_ask():
            assert self.process is not None
            self._asking = True
            self.process.ask(prompt)
            self.stateChanged.emit()

    def shutdown(self) -> None:
        """Window closing: stop the child, and stop and wait for the checks."""
        if self.process is not None:
            self.process.cancel(wait=True)
        if self.job is not None:
            self.job.cancel()
            self.job.wait(10_000)

    def earlier_runs(self, result: SmokeResult) -> list[dict[str, Any]]:
        """Up to five earlier runs of the same file, newest first (none if unreadable)."""
        try:
            return history.runs(result.sha256, limit=6)[1:]
        except ModelVetError:
            return []

    # --- the run ------------------------------------------------------------------------

    def _progress(self, percent: int) -> None:
        self.percent = percent
        self.progressChanged.emit(percent)

    def _refused(self, error: BaseException) -> None:
        self._progress(0)
        self.refused.emit(error_text(error))
        self.statusChanged.emit("The file was not loaded.")
        self.stateChanged.emit()

    def _stopped_before_load(self) -> None:
        self._progress(0)
        self.stoppedBeforeLoad.emit()
        self.statusChanged.emit("Cancelled.")
        self.stateChanged.emit()

    def _launch(self, pre: PreLoad) -> None:
        if self.job is not None and self.job.cancel_requested():
            return  # a cancel that raced the end of the checks still means: do not load
        self.pre = pre
        capability = self.profile.capability
        request = build_request(pre, list(capability.tasks), list(capability.languages))
        request = request.model_copy(update={"interactive": True})
        self._probes_total = len(request.probes)
        self.checked.emit(pre)
        self._progress(2)
        self.process = SmokeProcess(request, parent=self)
        self.process.said.connect(self._on_event)
        self.process.ended.connect(self._on_ended)
        self.process.start()
        self.stateChanged.emit()

    def _on_event(self, event: ChildEvent) -> None:
        if isinstance(event, StageEvent):
            self.statusChanged.emit(event.detail)
            self._progress(max(self.percent, _STAGES.get(event.stage, 0)))
        elif isinstance(event, ProbeEvent):
            assert self.process is not None
            done = sum(isinstance(e, ProbeEvent) for e in self.process.events)
            self._progress(_PROBES_FROM + _PROBES_SPAN * done // max(self._probes_total, 1))
        elif isinstance(event, ResultEvent):
            assert self.process is not None
            self._finish(self.process.outcome)  # the child stays, loaded, for the user's prompts
        elif isinstance(event, TokenEvent):
            self.answerStreamed.emit(event.text)
            self.statusChanged.emit(
                f"answering: {event.tokens} tokens, {event.tokens_per_s:.1f} tokens/s"
            )
        elif isinstance(event, AnswerEvent):
            self.statusChanged.emit(
                f"answered: {event.tokens} tokens in {event.seconds:.1f} s "
                f"({event.tokens / max(event.seconds, 1e-9):.1f} tokens/s)"
            )
            self._asking = False
            self.stateChanged.emit()
        elif isinstance(event, ErrorEvent):
            if self.result is None:
                self.statusChanged.emit(event.message)
            elif self._asking:  # the child refused the prompt line: it is ready for another
                self._asking = False
                self.statusChanged.emit(event.message)
                self.stateChanged.emit()

    def _on_ended(self, outcome: ChildOutcome) -> None:
        self._finish(outcome)
        if outcome.cancelled:
            self.statusChanged.emit("Cancelled: the model process was stopped.")
        self.stateChanged.emit()

    def _finish(self, outcome: ChildOutcome) -> None:
        if self.result is not None or self.pre is None or self.process is None:
            return
        self.result = result = summarise(self.pre, self.process.events, outcome)
        self.statusChanged.emit(
            "Done. Type your own prompt below to keep trying the model."
            if result.passed
            else result.verdict
        )
        try:
            history.record(result)
        except ModelVetError as error:  # a full disk must not lose the result on screen
            self.statusChanged.emit(f"Not kept in the history: {error.message()}")
        calibration.record_from_smoke(self.pre, result)
        self._progress(100 if result.passed else 0)
        self.finished.emit(result)
        self.stateChanged.emit()

    def _close_process(self) -> None:
        if self.process is not None:
            self.process.close()
            self.process = None
