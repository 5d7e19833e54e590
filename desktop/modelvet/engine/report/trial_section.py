"""The trial in the decision record: each candidate's totals and proof of fit, every verdict."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from modelvet.engine.errors import ModelVetError
from modelvet.engine.storage import read_json
from modelvet.engine.trial.result import ModelTrial, PromptOutcome, TrialResult

MIB = 2**20


class TrialCandidate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str
    sha256: str | None
    settings: str
    passed: str  # "2 of 3 (67 %)"
    speeds: str  # median prompt and decode tokens/s, time to first token
    peak_memory: str
    human_marks: str
    fit: str | None
    error: str | None


class TrialSection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    set_name: str
    set_source: str
    started_at: str
    candidates: list[TrialCandidate]
    header: list[str]  # "Prompt", then one column per candidate
    verdicts: list[list[str]]  # per prompt: its id, then each candidate's verdict


def _figure(value: float | None, unit: str, fmt: str = "{:.1f}") -> str:
    return "not measured" if value is None else f"{fmt.format(value)} {unit}"


def _candidate(model: ModelTrial) -> TrialCandidate:
    t = model.totals
    passed = f"{t.passed} of {t.checked}" + (
        f" ({t.pass_rate:.0%})" if t.pass_rate is not None else ""
    )
    marks = [p.human_mark for p in model.prompts if p.human_mark]
    return TrialCandidate(
        label=model.label,
        sha256=model.sha256,
        settings=model.settings,
        passed=passed,
        speeds=f"prompt {_figure(t.median_prompt_tokens_per_s, 'tokens/s')}, decode "
        f"{_figure(t.median_decode_tokens_per_s, 'tokens/s')}, first token after "
        f"{_figure(t.median_time_to_first_token_s, 's', '{:.2f}')}",
        peak_memory=_peak_memory(model),
        human_marks=f"{marks.count('good')} good, {marks.count('bad')} bad" if marks else "none",
        fit=model.fit.verdict if model.fit else None,
        error=model.error,
    )


def _peak_memory(model: ModelTrial) -> str:
    """The process's peak growth, and llama.cpp's own buffers (the like-for-like figure: the
    process also holds llama-cpp-python's arrays, which llama-server has not)."""
    peak = model.totals.peak_memory_bytes
    text = _figure(peak / MIB if peak else None, "MiB", "{:,.0f}")
    buffers = sum(
        model.measured.buffers_mib.get(k, 0.0) for k in ("model", "kv", "compute", "output")
    )
    return f"{text} (llama.cpp's buffers {buffers:,.0f} MiB)" if buffers else text


def _verdict(outcome: PromptOutcome | None) -> str:
    if outcome is None:
        return "not answered"
    text = {True: "pass", False: "FAIL", None: "human"}[outcome.passed]
    return f"{text}, marked {outcome.human_mark}" if outcome.human_mark else text


def trial_section(result: TrialResult) -> TrialSection:
    ids = list(dict.fromkeys(p.id for m in result.models for p in m.prompts))
    by_model = [{p.id: p for p in m.prompts} for m in result.models]
    return TrialSection(
        set_name=result.set_name,
        set_source=result.set_source,
        started_at=result.started_at,
        candidates=[_candidate(m) for m in result.models],
        header=["Prompt", *(f"[{n}]" for n in range(1, len(result.models) + 1))],
        verdicts=[[i, *(_verdict(answers.get(i)) for answers in by_model)] for i in ids],
    )


def load_trial(path: str | Path) -> TrialResult:
    """Read the output of `modelvet trial --json` to attach it to a report."""
    path = Path(path)
    data = read_json(path, "a trial result")
    try:
        return TrialResult.model_validate(data)
    except ValidationError as error:
        raise ModelVetError("not a trial result saved as JSON", str(path)) from error
