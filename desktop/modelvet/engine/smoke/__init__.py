"""Smoke test: verify a model file, load it in a child process, measure it, probe it."""

from __future__ import annotations

import signal
from collections.abc import Callable, Sequence
from pathlib import Path

from modelvet.engine.catalog.loader import Catalog
from modelvet.engine.fit import calibration
from modelvet.engine.fit.memory import RunSettings
from modelvet.engine.hardware import HardwareSpec
from modelvet.engine.smoke.check import PreLoad, check_before_load
from modelvet.engine.smoke.probes import battery
from modelvet.engine.smoke.protocol import (
    BUILTIN_CHAT_FORMAT,
    AnswerEvent,
    BuffersEvent,
    ChildEvent,
    ErrorEvent,
    LoadedEvent,
    ResultEvent,
    SmokeRequest,
    StageEvent,
    settings_fields,
)
from modelvet.engine.smoke.result import (
    SmokeResult,
    comparisons,
    measured_from,
    probe_results,
)
from modelvet.engine.smoke.runner import ChildOutcome, SmokeSession

__all__ = [
    "ChildOutcome",
    "SmokeResult",
    "build_request",
    "check_before_load",
    "run_smoke",
    "summarise",
]


def build_request(
    pre: PreLoad,
    tasks: list[str],
    languages: list[str],
    prompt: str | None = None,
    generate_tokens: int = 64,
) -> SmokeRequest:
    settings = pre.settings
    return SmokeRequest(
        model_path=str(pre.facts.path),
        **settings_fields(settings),
        generate_tokens=generate_tokens,
        probes=[] if prompt else battery(tasks, languages),
        prompt=prompt,
        interactive=False,
        # A template that screens as dangerous (or is not Jinja) is never rendered: the
        # architecture's built-in chat format stands in for it.
        # No embedded template: the same built-in format, so the child never falls back on
        # llama-cpp-python's own default; the result says which format stood in.
        chat_format=None
        if pre.template.renderable and pre.facts.chat_template
        else BUILTIN_CHAT_FORMAT,
        architecture=pre.facts.architecture,
        file_identity=pre.identity,
    )


def how_it_ended(events: Sequence[ChildEvent], outcome: ChildOutcome) -> str:
    """Why a child that gave no result stopped: the signal that killed it, and when."""
    stages = [e.stage for e in events if isinstance(e, StageEvent)]
    when = f" while {stages[-1]}" if stages else " before it said anything"
    last = (outcome.stderr_tail.strip().splitlines()[-1:] or ["no output"])[0][:200]
    exit_code = outcome.exit_code
    if exit_code is not None and exit_code < 0:
        name = signal_name(-exit_code)
        cause = " (the system may have run out of memory)" if -exit_code == 9 else ""
        return f"the model process was killed by {name}{when}{cause}; last output: {last}"
    code = "" if exit_code is None else f" with exit code {exit_code}"
    return f"the model process ended{code}{when} without a result: {last}"


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _template_note(pre: PreLoad, events: Sequence[ChildEvent]) -> str | None:
    """Which built-in chat format stood in for a file that embeds no template."""
    if pre.facts.chat_template:
        return None
    used = next((e.chat_format for e in events if isinstance(e, LoadedEvent)), None)
    return (
        f"no chat template in the file: the built-in '{used or 'chatml'}' chat format for "
        f"{pre.facts.architecture} stood in"
    )


def settings_mismatch(settings: RunSettings, events: Sequence[ChildEvent]) -> list[str]:
    """Where llama.cpp says it ran other settings than the prediction describes."""
    applied = next((e.applied for e in events if isinstance(e, BuffersEvent)), {})
    expected = {
        "n_seq_max": str(settings.parallel_slots),
        "n_ubatch": str(settings.ubatch),
        "flash_attn": "enabled" if settings.flash_attention else "disabled",
    }
    return [
        f"llama.cpp ran {key} = {applied[key]}, the prediction assumes {value}"
        for key, value in expected.items()
        if key in applied and applied[key] != value
    ]


def first_error(events: Sequence[ChildEvent]) -> str | None:
    return next((e.message for e in events if isinstance(e, ErrorEvent)), None)


def completed(events: Sequence[ChildEvent]) -> bool:
    """The child said its run was complete."""
    return any(isinstance(e, ResultEvent) for e in events)


def summarise(
    pre: PreLoad, events: Sequence[ChildEvent], outcome: ChildOutcome | None = None
) -> SmokeResult:
    """The verdict on one run, from the child's events and how it ended (`outcome`: None
    while the child still runs, as an interactive one does after its result)."""
    outcome = outcome or ChildOutcome()
    cancelled, timed_out = outcome.cancelled, outcome.timed_out
    settings = pre.settings
    measured = measured_from(events)
    probes = probe_results(events)
    finished = completed(events)
    error = first_error(events)
    if not finished and not outcome.stopped and error is None:
        error = how_it_ended(events, outcome)
    answered = any(isinstance(e, AnswerEvent) for e in events)
    generated = (measured.generated_tokens or 0) > 0 or answered
    passed = finished and generated and error is None and not outcome.stopped
    probes_passed = sum(p.passed for p in probes)
    silent = bool(probes) and not any(p.answer.strip() for p in probes)
    if silent and passed:
        passed = False
        error = f"the model answered nothing to any of the {len(probes)} probes"
    if cancelled:
        verdict = "cancelled"
    elif timed_out:
        verdict = "timed out: the model process was stopped"
    elif not passed:
        verdict = f"failed: {error or 'no tokens were generated'}"
    else:
        speed = measured.generation_tokens_per_s
        verdict = (
            f"passed: loaded in {measured.load_seconds:.2f} s"
            + (f", {speed:.1f} tokens/s" if speed else "")
            + (f", {probes_passed}/{len(probes)} probes passed" if probes else "")
        )
    note = _template_note(pre, events)
    mismatch = settings_mismatch(settings, events)  # then the table would compare two setups
    return SmokeResult(
        file=str(pre.facts.path),
        sha256=pre.sha256,
        catalog_model_id=pre.match.model_id,
        settings=settings.describe(),
        checks=[*pre.checks, *([note] if note else []), *mismatch],
        measured=measured,
        comparisons=[] if mismatch else comparisons(pre.predicted, measured),
        bandwidth_bound_tokens_per_s=pre.predicted.get("bandwidth_bound_tokens_per_s"),
        probes=probes,
        probes_passed=probes_passed,
        passed=passed,
        verdict=verdict,
        cancelled=cancelled,
        timed_out=timed_out,
        error=error,
    )


def run_smoke(
    path: Path,
    catalog: Catalog,
    settings: RunSettings,
    hardware: HardwareSpec | Callable[[], HardwareSpec],
    tasks: list[str],
    languages: list[str],
    prompt: str | None = None,
    force: bool = False,
    on_event: Callable[[ChildEvent], None] | None = None,
    timeout_s: float = 600.0,
) -> SmokeResult:
    """The whole smoke test, headless. Bad input raises ModelVetError before any child starts."""
    pre = check_before_load(path, catalog, settings, hardware, force=force)
    session = SmokeSession(
        build_request(pre, tasks, languages, prompt),
        on_event or (lambda event: None),
        timeout_s=timeout_s,
    )
    events = session.run()
    result = summarise(pre, events, session.outcome)
    calibration.record_from_smoke(pre, result)
    return result
