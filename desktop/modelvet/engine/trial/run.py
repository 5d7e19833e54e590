"""Runs a trial set through each candidate in turn, one model loaded at a time, in the child.

The CLI and the wizard both use `TrialRun`: checks before each load (file, hash, fit), the
smoke child in trial mode, the answers judged as they arrive, `cancel()` from any thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from modelvet.engine.catalog.loader import Catalog
from modelvet.engine.errors import CheckFailed
from modelvet.engine.fit.settings import RunSettings
from modelvet.engine.hardware import HardwareSpec
from modelvet.engine.smoke import build_request, completed, first_error, how_it_ended
from modelvet.engine.smoke.check import PreLoad, check_before_load
from modelvet.engine.smoke.protocol import ChildEvent, FillEvent, TrialEvent, TrialPrompt
from modelvet.engine.smoke.result import Measured, measured_from
from modelvet.engine.smoke.runner import ChildOutcome, SmokeSession
from modelvet.engine.trial.checks import judge
from modelvet.engine.trial.fit import fill_spec, fit_proof
from modelvet.engine.trial.result import ModelTrial, PromptOutcome, TrialResult, rate, totals
from modelvet.engine.trial.sets import TrialItem, TrialSet


@dataclass(frozen=True)
class ModelStarted:
    """The run's own event, before a candidate's child events: the next of `of` candidates."""

    of: int
    file: str
    kv_cache_type: str


# Told (candidate index, event) as the run goes: ModelStarted, then that child's events.
Events = Callable[[int, ModelStarted | ChildEvent], None]


@dataclass(frozen=True)
class Candidate:
    """A file at one configuration; the same file at two KV-cache types is two candidates."""

    path: Path
    settings: RunSettings


class TrialRun:
    def __init__(
        self,
        trial_set: TrialSet,
        candidates: list[Candidate],
        catalog: Catalog,
        hardware: HardwareSpec | Callable[[], HardwareSpec],
        fill: bool = False,
        force: bool = False,
        on_event: Events | None = None,
        timeout_s: float = 900.0,
    ) -> None:
        self.trial_set = trial_set
        self.candidates = candidates
        self.catalog = catalog
        self.hardware = hardware
        self.fill = fill
        self.force = force
        self.on_event = on_event or (lambda index, event: None)
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._session: SmokeSession | None = None
        self.cancelled = False

    def run(self) -> TrialResult:
        """Checks every file first (bad input raises before any model loads), then runs each."""
        started = datetime.now(UTC).isoformat(timespec="seconds")
        checked = [self._check(candidate) for candidate in self.candidates]
        models = []
        for index, (candidate, pre) in enumerate(zip(self.candidates, checked, strict=True)):
            if self.cancelled:
                break
            kv = candidate.settings.kv_cache_type
            self.on_event(index, ModelStarted(len(self.candidates), str(candidate.path), kv))
            models.append(self._run_one(index, candidate, pre))
        return TrialResult(
            set_name=self.trial_set.name,
            set_source=self.trial_set.source,
            started_at=started,
            models=models,
            cancelled=self.cancelled,
        )

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            if self._session is not None:
                self._session.cancel()

    def _check(self, candidate: Candidate) -> PreLoad | str:
        """The checks before loading; a file predicted not to fit is kept, with the reason.
        The machine is detected once, and only when a file's header is sound."""
        try:
            pre = check_before_load(
                candidate.path, self.catalog, candidate.settings, self.hardware, force=self.force
            )
        except CheckFailed as failure:
            return str(failure)
        if pre.hardware is not None:
            self.hardware = pre.hardware
        return pre

    def _run_one(self, index: int, candidate: Candidate, pre: PreLoad | str) -> ModelTrial:
        if isinstance(pre, str):
            return _not_run(candidate, pre)
        request = build_request(pre, [], [], None).model_copy(
            update={
                "probes": [],
                "trial": [
                    TrialPrompt(id=item.id, prompt=item.prompt, max_tokens=item.max_tokens)
                    for item in self.trial_set.prompts
                ],
                "fill": fill_spec(self.trial_set) if self.fill else None,
            }
        )

        def relay(event: ChildEvent) -> None:
            self.on_event(index, event)

        with self._lock:
            if self.cancelled:
                return _not_run(candidate, "cancelled before loading", pre)
            self._session = session = SmokeSession(request, relay, timeout_s=self.timeout_s)
        events = session.run()
        with self._lock:
            self._session = None
        return self._summarise(pre, events, session.outcome, candidate.settings.context_tokens)

    def _summarise(
        self,
        pre: PreLoad,
        events: list[ChildEvent],
        outcome: ChildOutcome,
        requested_context_tokens: int,
    ) -> ModelTrial:
        judged = (judged_event(self.trial_set, e) for e in events if isinstance(e, TrialEvent))
        prompts = [outcome for outcome in judged if outcome is not None]
        measured = measured_from(events)
        finished = completed(events)
        error = first_error(events)
        if outcome.cancelled:
            error = "cancelled: the model process was stopped"
        elif outcome.timed_out:
            error = "timed out: the model process was stopped"
        elif not finished and error is None:
            error = how_it_ended(events, outcome)
        peak = (
            measured.peak_rss_bytes - measured.baseline_rss_bytes
            if measured.peak_rss_bytes and measured.baseline_rss_bytes is not None
            else None
        )
        fill_event = next((e for e in events if isinstance(e, FillEvent)), None)
        return ModelTrial(
            file=str(pre.facts.path),
            sha256=pre.sha256,
            catalog_model_id=pre.match.model_id,
            kv_cache_type=pre.settings.kv_cache_type,
            settings=pre.settings.describe(),
            checks=pre.checks,
            measured=measured,
            prompts=prompts,
            totals=totals(prompts, peak),
            fit=fit_proof(pre, measured, fill_event, error, requested_context_tokens)
            if self.fill
            else None,
            completed=finished and not outcome.stopped,
            error=error,
        )


def _outcome(item: TrialItem, event: TrialEvent) -> PromptOutcome:
    passed, why = judge(item.check, event.answer)
    return PromptOutcome(
        id=item.id,
        prompt=item.prompt,
        check=item.check.type,
        answer=event.answer,
        passed=passed,
        why=why,
        prompt_tokens=event.prompt_tokens,
        prompt_tokens_per_s=rate(event.prompt_tokens, event.prompt_seconds),
        decode_tokens=event.decode_tokens,
        decode_tokens_per_s=rate(event.decode_tokens, event.decode_seconds),
        time_to_first_token_s=event.time_to_first_token_s,
        seconds=event.seconds,
    )


def judged_event(trial_set: TrialSet, event: TrialEvent) -> PromptOutcome | None:
    """A child's trial answer as a judged outcome (for views that fill as answers arrive)."""
    item = next((p for p in trial_set.prompts if p.id == event.id), None)
    return _outcome(item, event) if item is not None else None


def _not_run(candidate: Candidate, reason: str, pre: PreLoad | None = None) -> ModelTrial:
    return ModelTrial(
        file=str(candidate.path),
        sha256=pre.sha256 if pre else None,
        catalog_model_id=pre.match.model_id if pre else None,
        kv_cache_type=candidate.settings.kv_cache_type,
        settings=candidate.settings.describe(),
        checks=pre.checks if pre else [],
        measured=Measured(),
        prompts=[],
        totals=totals([], None),
        fit=None,
        completed=False,
        error=f"not loaded: {reason}",
    )
