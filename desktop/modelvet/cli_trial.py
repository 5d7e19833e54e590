"""`modelvet trial`: a trial set through each model file, side by side, with proof of fit."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelvet.engine.smoke.protocol import ChildEvent
    from modelvet.engine.trial.run import ModelStarted

from modelvet.engine.errors import CheckFailed, ModelVetError
from modelvet.engine.fit.settings import KV_CACHE_TYPES

EXIT_OK, EXIT_FAILED = 0, CheckFailed.exit_code


def add_command(
    commands: Any,
    add_run_flags: Callable[..., None],
    run_settings: Callable[[argparse.Namespace], Any],
) -> None:
    """Registers `trial`; the run settings come the same way as the smoke command's."""
    trial = commands.add_parser(
        "trial", help="run a trial set through each model file, side by side"
    )
    trial.add_argument("--set", required=True, help="a bundled set's name, or a .toml/.jsonl file")
    trial.add_argument(
        "--model",
        action="append",
        required=True,
        metavar="FILE.gguf",
        help="a model file (repeatable; one model is loaded at a time)",
    )
    add_run_flags(trial)
    trial.add_argument(
        "--also-kv-cache-type",
        action="append",
        default=[],
        choices=KV_CACHE_TYPES,
        help="run each file again at this KV-cache type too (repeatable)",
    )
    trial.add_argument(
        "--fill",
        action="store_true",
        help="proof of fit: fill the context to --context and ask about a needle",
    )
    trial.add_argument("--force", action="store_true", help="load even if it will not fit")
    trial.add_argument("--timeout", type=float, default=900.0, help="seconds per model")
    trial.add_argument("--json", action="store_true")
    trial.set_defaults(handler=lambda args: _cmd_trial(args, run_settings))


def _candidates(args: argparse.Namespace, run_settings: Callable[..., Any]) -> list[Any]:
    from modelvet.engine.trial.run import Candidate

    kv_types = dict.fromkeys([args.kv_cache_type, *args.also_kv_cache_type])
    return [
        Candidate(
            Path(model), run_settings(argparse.Namespace(**{**vars(args), "kv_cache_type": kv}))
        )
        for model in args.model
        for kv in kv_types
    ]


def _progress(index: int, event: ModelStarted | ChildEvent) -> None:
    """A trial's progress on stderr, candidate by candidate."""
    from modelvet.engine.smoke.protocol import ErrorEvent, StageEvent, TrialEvent
    from modelvet.engine.trial.run import ModelStarted

    if isinstance(event, ModelStarted):
        print(
            f"model {index + 1} of {event.of}: {event.file} ({event.kv_cache_type} KV)",
            file=sys.stderr,
        )
    elif isinstance(event, StageEvent):
        print(f"… {event.detail}", file=sys.stderr)
    elif isinstance(event, TrialEvent):
        print(f"  answered {event.id}: {event.decode_tokens} tokens", file=sys.stderr)
    elif isinstance(event, ErrorEvent):
        print(f"  error: {event.message}", file=sys.stderr)


def _cmd_trial(args: argparse.Namespace, run_settings: Callable[..., Any]) -> int:
    from modelvet.engine.catalog import bundled_catalog
    from modelvet.engine.machine import detect
    from modelvet.engine.trial import store
    from modelvet.engine.trial.run import TrialRun
    from modelvet.engine.trial.sets import load_set

    trial_set = load_set(args.set)
    run = TrialRun(
        trial_set,
        _candidates(args, run_settings),
        bundled_catalog(),
        lambda: detect(measure_bandwidth=True),
        fill=args.fill,
        force=args.force,
        on_event=_progress,
        timeout_s=args.timeout,
    )
    try:
        result = run.run()
    except KeyboardInterrupt:
        run.cancel()
        raise
    try:
        result = result.model_copy(update={"history_id": store.record_trial(result)})
    except ModelVetError as error:
        print(f"modelvet: warning: not kept in the history: {error.message()}", file=sys.stderr)
    if args.json:
        json.dump(result.to_json_dict(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print_trial(result)
    return EXIT_OK if result.passed else EXIT_FAILED


def _number(value: float | None, fmt: str = "{:.1f}") -> str:
    return "–" if value is None else fmt.format(value)


def print_trial(result: Any) -> None:
    """Per prompt, one column per model; then the totals and any proof of fit."""
    models = result.models
    print(f"Trial set: {result.set_name} ({result.set_source})")
    for n, model in enumerate(models, 1):
        print(f"  [{n}] {model.label}: {model.settings}")
    ids = list(dict.fromkeys(p.id for m in models for p in m.prompts))
    for prompt_id in ids:
        print(f"\n{prompt_id}")
        for n, model in enumerate(models, 1):
            outcome = next((p for p in model.prompts if p.id == prompt_id), None)
            if outcome is None:
                print(f"  [{n}] not answered")
                continue
            verdict = {True: "pass", False: "FAIL", None: "human"}[outcome.passed]
            answer = " ".join(outcome.answer.split())[:70]
            print(
                f"  [{n}] {verdict:<5} {_number(outcome.prompt_tokens_per_s):>7} pp t/s "
                f"{_number(outcome.decode_tokens_per_s):>6} tg t/s "
                f"ttft {_number(outcome.time_to_first_token_s, '{:.2f}')} s  {answer}"
            )
            print(f"        {outcome.why}")
    print("\nTotals")
    for n, model in enumerate(models, 1):
        t = model.totals
        peak = _number(t.peak_memory_bytes / 2**20 if t.peak_memory_bytes else None, "{:,.0f}")
        rate = f"{t.passed}/{t.checked}" + (
            f" ({t.pass_rate:.0%})" if t.pass_rate is not None else ""
        )
        print(
            f"  [{n}] passed {rate}, median {_number(t.median_prompt_tokens_per_s)} pp t/s, "
            f"{_number(t.median_decode_tokens_per_s)} tg t/s, peak {peak} MiB"
            + (f"; {model.error}" if model.error else "")
        )
        if model.fit is not None:
            print(
                f"      fill: {model.fit.verdict}; decode at depth "
                f"{_number(model.fit.decode_tokens_per_s_at_depth)} t/s (predicted "
                f"{_number(model.fit.predicted_decode_tokens_per_s_at_depth)})"
            )
    if result.cancelled:
        print("Cancelled.")
