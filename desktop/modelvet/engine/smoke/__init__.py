"""Smoke test: verify a model file, load it in a child process, measure it, probe it."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from modelvet.engine.catalog.loader import Catalog
from modelvet.engine.fit import calibration
from modelvet.engine.fit.memory import RunSettings
from modelvet.engine.hardware import HardwareSpec
from modelvet.engine.smoke.check import PreLoad, check_before_load
from modelvet.engine.smoke.probes import battery
from modelvet.engine.smoke.protocol import BUILTIN_CHAT_FORMAT, SmokeRequest, settings_fields
from modelvet.engine.smoke.result import (
    SmokeResult,
    comparisons,
    measured_from,
    probe_results,
)
from modelvet.engine.smoke.runner import SmokeSession

__all__ = ["SmokeResult", "build_request", "check_before_load", "run_smoke", "summarise"]


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


def how_it_ended(exit_code: int | None, events: list[dict[str, Any]], stderr_tail: str) -> str:
    """Why a child that gave no result stopped: the signal that killed it, and when."""
    stages = [e.get("stage") for e in events if e["event"] == "stage"]
    when = f" while {stages[-1]}" if stages else " before it said anything"
    last = (stderr_tail.strip().splitlines()[-1:] or ["no output"])[0][:200]
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


def _template_note(pre: PreLoad, events: list[dict[str, Any]]) -> str | None:
    """Which built-in chat format stood in for a file that embeds no template."""
    if pre.facts.chat_template:
        return None
    used = next((e.get("chat_format") for e in events if e["event"] == "loaded"), None)
    return (
        f"no chat template in the file: the built-in '{used or 'chatml'}' chat format for "
        f"{pre.facts.architecture} stood in"
    )


def settings_mismatch(settings: RunSettings, events: list[dict[str, Any]]) -> list[str]:
    """Where llama.cpp says it ran other settings than the prediction describes."""
    applied: dict[str, str] = next(
        (e.get("applied", {}) for e in events if e["event"] == "buffers"), {}
    )
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


def summarise(
    pre: PreLoad,
    events: list[dict[str, Any]],
    cancelled: bool = False,
    timed_out: bool = False,
    stderr_tail: str = "",
    exit_code: int | None = None,
) -> SmokeResult:
    """The verdict on one run; `exit_code` is the child's (negative: killed by that signal)."""
    settings = pre.settings
    measured = measured_from(events)
    probes = probe_results(events)
    errors = [e["message"] for e in events if e["event"] == "error"]
    finished = any(e["event"] == "result" for e in events)
    error = errors[0] if errors else None
    if not finished and not (cancelled or timed_out) and error is None:
        error = how_it_ended(exit_code, events, stderr_tail)
    answered = any(e["event"] == "answer" for e in events)
    generated = (measured.generated_tokens or 0) > 0 or answered
    passed = finished and generated and error is None and not (cancelled or timed_out)
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
    on_event: Callable[[dict[str, Any]], None] | None = None,
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
    result = summarise(
        pre, events, session.cancelled, session.timed_out, session.stderr_tail, session.exit_code
    )
    calibration.record_from_smoke(pre, result)
    return result
