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
from typing import Any

from modelvet.engine.catalog.loader import Catalog
from modelvet.engine.errors import CheckFailed
from modelvet.engine.fit.settings import RunSettings
from modelvet.engine.hardware import HardwareSpec
from modelvet.engine.smoke import build_request, how_it_ended
from modelvet.engine.smoke.check import PreLoad, check_before_load
from modelvet.engine.smoke.protocol import TrialPrompt
from modelvet.engine.smoke.result import measured_from
from modelvet.engine.smoke.runner import SmokeSession
from modelvet.engine.trial.checks import judge
from modelvet.engine.trial.fit import fill_spec, fit_proof
from modelvet.engine.trial.result import ModelTrial, PromptOutcome, TrialResult, rate, totals
from modelvet.engine.trial.sets import TrialSet

Events = Callable[[dict[str, Any]], None]


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
        self.on_event = on_event or (lambda event: None)
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
            self.on_event(
                {
                    "event": "model",
                    "index": index,
                    "file": str(candidate.path),
                    "kv_cache_type": candidate.settings.kv_cache_type,
                    "of": len(self.candidates),
                }
            )
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

        def relay(event: dict[str, Any]) -> None:
            self.on_event({**event, "model_index": index})

        with self._lock:
            if self.cancelled:
                return _not_run(candidate, "cancelled before loading", pre)
            self._session = session = SmokeSession(request, relay, timeout_s=self.timeout_s)
        events = session.run()
        with self._lock:
            self._session = None
        return self._summarise(pre, events, session, candidate.settings.context_tokens)

    def _summarise(
        self,
        pre: PreLoad,
        events: list[dict[str, Any]],
        session: SmokeSession,
        requested_context_tokens: int,
    ) -> ModelTrial:
        items = {item.id: item for item in self.trial_set.prompts}
        prompts = [
            _outcome(items[e["id"]], e)
            for e in events
            if e["event"] == "trial" and e.get("id") in items
        ]
        measured = measured_from(events)
        completed = any(e["event"] == "result" for e in events)
        errors = [e["message"] for e in events if e["event"] == "error"]
        error = errors[0] if errors else None
        if session.cancelled:
            error = "cancelled: the model process was stopped"
        elif session.timed_out:
            error = "timed out: the model process was stopped"
        elif not completed and error is None:
            error = how_it_ended(session.exit_code, events, session.stderr_tail)
        peak = (
            measured.peak_rss_bytes - measured.baseline_rss_bytes
            if measured.peak_rss_bytes and measured.baseline_rss_bytes is not None
            else None
        )
        fill_event = next((e for e in events if e["event"] == "fill"), None)
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
            completed=completed and not (session.cancelled or session.timed_out),
            error=error,
        )


def _outcome(item: Any, event: dict[str, Any]) -> PromptOutcome:
    passed, why = judge(item.check, event["answer"])
    return PromptOutcome(
        id=item.id,
        prompt=item.prompt,
        check=item.check.type,
        answer=event["answer"],
        passed=passed,
        why=why,
        prompt_tokens=event["prompt_tokens"],
        prompt_tokens_per_s=rate(event["prompt_tokens"], event["prompt_seconds"]),
        decode_tokens=event["decode_tokens"],
        decode_tokens_per_s=rate(event["decode_tokens"], event["decode_seconds"]),
        time_to_first_token_s=event["time_to_first_token_s"],
        seconds=event["seconds"],
    )


def judged_event(trial_set: TrialSet, event: dict[str, Any]) -> PromptOutcome | None:
    """A child's `trial` event as a judged outcome (for views that fill as answers arrive)."""
    item = next((p for p in trial_set.prompts if p.id == event.get("id")), None)
    return _outcome(item, event) if item is not None and event["event"] == "trial" else None


def _not_run(candidate: Candidate, reason: str, pre: PreLoad | None = None) -> ModelTrial:
    from modelvet.engine.smoke.result import Measured

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
