"""The command line: the same engine as the wizard, headless, with --json output."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from modelvet import __version__, cli_procure, cli_trial
from modelvet.engine.errors import Cancelled, CheckFailed, ModelVetError

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, CheckFailed.exit_code, ModelVetError.exit_code


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is a one-line message and exit code 2 (it already is)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, f"modelvet: {message}\n")


def _print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def _cmd_catalog_validate(args: argparse.Namespace) -> int:
    from modelvet.engine.catalog import load_catalog
    from modelvet.engine.catalog.gaps import catalog_gaps
    from modelvet.engine.catalog.listing import summary

    catalog = load_catalog()
    for problem in catalog.problems:
        print(problem, file=sys.stderr)
    facts = summary(catalog)
    gaps = catalog_gaps(catalog)
    if args.json:
        _print_json({**facts, "problems": [str(p) for p in catalog.problems], "gaps": gaps})
    else:
        print(
            f"catalog {facts['catalog_version']} ({facts['catalog_date']}): "
            f"{facts['models']} models, {facts['developers']} developers, "
            f"{len(facts['countries'])} countries, {facts['licenses']} licences, "
            f"{facts['artifacts']} artifacts, {facts['hardware_presets']} hardware presets, "
            f"{facts['policy_presets']} policy presets"
        )
        for fact, share in facts["coverage"].items():
            print(f"  {fact:<18} {share:6.1%}")
        for model_id, missing in gaps.items():
            print(f"  gap: {model_id} lacks {'; '.join(missing)}")
        print(f"{len(catalog.problems)} problem(s), {len(gaps)} model(s) with gaps")
    return EXIT_BAD_INPUT if catalog.problems else EXIT_OK


def _cmd_catalog_import(args: argparse.Namespace) -> int:
    from modelvet.engine.catalog.updates import import_catalog

    try:
        entry = import_catalog(Path(args.file), unverified=args.unverified)
    except ModelVetError as error:
        if error.title.startswith("refused"):  # the signature check, which a flag overrides here
            error.hint = "--unverified imports it anyway and records that you did"
        raise
    how = f"signed by trusted key {entry['key_id']}" if entry["verified"] else "UNVERIFIED"
    print(
        f"imported catalog {entry['catalog_version']} ({how}); "
        "`modelvet catalog rollback` restores the one before",
        file=sys.stderr,
    )
    return EXIT_OK


def _cmd_catalog_rollback(args: argparse.Namespace) -> int:
    from modelvet.engine.catalog.updates import rollback

    entry = rollback()
    print(f"active catalog: {entry['catalog_version']} ({entry['active']})", file=sys.stderr)
    return EXIT_OK


def _cmd_catalog_sign(args: argparse.Namespace) -> int:
    from modelvet.engine.catalog.integrity import generate_key
    from modelvet.engine.catalog.updates import sign_catalog

    key = Path(args.key)
    if args.generate_key:
        if key.exists():
            raise ModelVetError("already exists; not overwriting a private key", str(key))
        print(
            f"new key; add this line to the installations' trusted keys:\n{generate_key(key)}",
            file=sys.stderr,
        )
    signature = sign_catalog(Path(args.folder), key, Path(args.output))
    print(f"wrote {args.output} and {args.output}.sig (key {signature['key_id']})", file=sys.stderr)
    return EXIT_OK


def _cmd_catalog_list(args: argparse.Namespace) -> int:
    from modelvet.engine.catalog import bundled_catalog
    from modelvet.engine.catalog.listing import list_models

    rows = list_models(
        bundled_catalog(),
        developer=args.developer,
        country=args.country,
        license=args.license,
        min_params_b=args.min_params,
        max_params_b=args.max_params,
    )
    if args.json:
        _print_json(rows)
        return EXIT_OK
    for row in rows:
        params = f"{row['total_params_b']:g}B" if row["total_params_b"] else "?"
        print(
            f"{row['model_id']:<34} {row['developer'][:26]:<26} {row['developer_country']}  "
            f"{row['license']:<22} {params:>7}"
        )
    print(f"{len(rows)} model(s)")
    return EXIT_OK


def _cmd_recommend(args: argparse.Namespace) -> int:
    from modelvet.engine.profile import load_profile
    from modelvet.engine.rank.recommend import recommend, recommend_json

    profile = load_profile(args.profile)
    if args.json:
        sys.stdout.write(recommend_json(profile) + "\n")
        return EXIT_OK
    result = recommend(profile)
    from modelvet.textout import print_recommendation

    print_recommendation(result)
    return EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    from modelvet.engine.catalog import bundled_catalog
    from modelvet.engine.profile import load_profile
    from modelvet.engine.rank.recommend import recommend
    from modelvet.engine.report import load_smoke, load_trial, write_report

    smoke = load_smoke(args.smoke) if args.smoke else None
    trial = load_trial(args.trial) if args.trial else None
    profile = load_profile(args.profile)
    result = recommend(profile)
    hardware_plan = None
    if args.plan:
        from modelvet.engine.plan import plan, preset_machines
        from modelvet.engine.rank.recommend import prepare

        catalog = bundled_catalog()
        hardware_plan = plan(profile, preset_machines(catalog), prepare(catalog))
    path = write_report(
        result,
        args.format,
        args.output,
        catalog=bundled_catalog(),
        smoke=smoke,
        plan=hardware_plan,
        trial=trial,
    )
    print(f"wrote {path}", file=sys.stderr)
    return EXIT_OK


def _cmd_inspect(args: argparse.Namespace) -> int:
    from modelvet.engine.catalog import bundled_catalog
    from modelvet.engine.inspect import inspect_file

    settings = _run_settings(args)
    report = inspect_file(args.file, bundled_catalog(), settings, with_hash=not args.no_hash)
    if args.json:
        _print_json(report.model_dump(mode="json"))
    else:
        from modelvet.textout import print_inspect

        print_inspect(report)
    return EXIT_FAILED if report.catalog_match.problems else EXIT_OK


def _cmd_estimate(args: argparse.Namespace) -> int:
    from modelvet.engine.fit.estimate import estimate
    from modelvet.engine.profile import load_profile

    profile = load_profile(args.profile)
    overrides = {"flash_attention": args.flash_attention, "swa_full": args.swa_full}
    capability = profile.capability.model_copy(
        update={"runtime": args.runtime or profile.capability.runtime}
    )
    profile = profile.model_copy(update={"capability": capability})
    result = estimate(profile, args.model, args.quant, args.depth, overrides=overrides)
    if args.json:
        _print_json(result.model_dump(mode="json"))
    else:
        from modelvet.textout import print_estimate

        print_estimate(result)
    return EXIT_OK


def _cmd_hardware(args: argparse.Namespace) -> int:
    from modelvet.engine.machine import detect

    spec = detect(measure_bandwidth=not args.no_measure)
    if args.json:
        _print_json(spec.model_dump(mode="json"))
        return EXIT_OK
    from modelvet.textout import print_hardware

    print_hardware(spec)
    return EXIT_OK


def _cmd_smoke(args: argparse.Namespace) -> int:
    from pathlib import Path

    from modelvet.engine.catalog import bundled_catalog
    from modelvet.engine.machine import detect
    from modelvet.engine.smoke import history, run_smoke
    from modelvet.engine.smoke.protocol import ChildEvent, StageEvent, TokenEvent

    settings = _run_settings(args)

    def show(event: ChildEvent) -> None:
        if args.json:
            return
        if isinstance(event, StageEvent):
            print(f"… {event.detail}", file=sys.stderr)
        elif isinstance(event, TokenEvent):
            print(event.text, end="", flush=True)

    try:
        result = run_smoke(
            Path(args.file),
            bundled_catalog(),
            settings,
            lambda: detect(measure_bandwidth=True),  # only once the file's header is sound
            tasks=args.task or ["general"],
            languages=args.language or ["en"],
            prompt=args.prompt,
            force=args.force,
            on_event=show,
            timeout_s=args.timeout,
        )
    except CheckFailed as failure:  # predicted not to fit: here the way round it is a flag
        failure.hint = "use --force to try anyway"
        raise
    try:
        history.record(result)
    except ModelVetError as error:  # the run's result is still worth printing
        print(f"modelvet: warning: not kept in the history: {error.message()}", file=sys.stderr)
    if args.json:
        _print_json(result.to_json_dict())
    else:
        from modelvet.textout import print_smoke

        print_smoke(result)
    return EXIT_OK if result.passed else EXIT_FAILED


def _cmd_history(args: argparse.Namespace) -> int:
    from modelvet.engine.smoke import history

    sha256 = None
    if args.file:
        from pathlib import Path

        from modelvet.engine.gguf_file import sha256_of

        path = Path(args.file)
        if not path.is_file():
            raise ModelVetError("file not found", str(path))
        sha256 = sha256_of(path)
    rows = history.runs(sha256, limit=args.limit)
    if args.json:
        _print_json(rows)
        return EXIT_OK
    for row in rows:
        speed = row["generation_tokens_per_s"]
        print(
            f"{row['started_at']}  {'passed' if row['passed'] else 'FAILED':<7} "
            f"{(speed or 0):7.1f} tok/s  {row['file']}  [{row['settings']}]"
        )
    print(f"{len(rows)} run(s)")
    return EXIT_OK


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value}")
    return value


def _add_run_flags(parser: argparse.ArgumentParser, with_context: bool = True) -> None:
    """The runtime preset and the llama.cpp settings a prediction (and a smoke run) uses."""
    from modelvet.engine.fit.settings import KV_CACHE_TYPES, RUNTIMES

    if with_context:
        parser.add_argument("--context", type=_positive_int, default=4096, help="context tokens")
        parser.add_argument("--kv-cache-type", choices=KV_CACHE_TYPES, default="f16")
    parser.add_argument(
        "--runtime", choices=RUNTIMES, help="whose defaults to predict (default: llama-server)"
    )
    parser.add_argument(
        "--flash-attention",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="flash attention on or off (default: the runtime's)",
    )
    parser.add_argument(
        "--swa-full",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="a full-size or a windowed sliding-window KV cache (default: the runtime's)",
    )


def _run_settings(args: argparse.Namespace) -> Any:
    from modelvet.engine.fit.settings import RunSettings

    return RunSettings.preset(
        args.runtime or "llama-server",
        args.context,
        args.kv_cache_type,
        flash_attention=args.flash_attention,
        swa_full=args.swa_full,
    )


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {value}")
    return value


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="modelvet", description=__doc__)
    parser.add_argument("--version", action="version", version=f"modelvet {__version__}")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)

    catalog = commands.add_parser("catalog", help="the bundled model catalog")
    catalog_commands = catalog.add_subparsers(
        dest="catalog_command", parser_class=_Parser, required=True
    )
    validate = catalog_commands.add_parser("validate", help="check every catalog file")
    validate.add_argument("--json", action="store_true")
    validate.set_defaults(handler=_cmd_catalog_validate)
    listing = catalog_commands.add_parser("list", help="list the catalog's models")
    listing.add_argument("--json", action="store_true")
    listing.add_argument("--developer", help="developer name or id contains this")
    listing.add_argument("--country", help="developer's country (ISO 3166 alpha-2)")
    listing.add_argument("--license", help="licence id contains this")
    listing.add_argument("--min-params", type=float, help="at least this many billion params")
    listing.add_argument("--max-params", type=float, help="at most this many billion params")
    listing.set_defaults(handler=_cmd_catalog_list)
    imp = catalog_commands.add_parser("import", help="activate an updated, signed catalog")
    imp.add_argument("file", help="the catalog archive; its signature is FILE.sig")
    imp.add_argument(
        "--unverified",
        action="store_true",
        help="import even without a valid signature from a trusted key (recorded)",
    )
    imp.set_defaults(handler=_cmd_catalog_import)
    back = catalog_commands.add_parser("rollback", help="go back to the catalog before")
    back.set_defaults(handler=_cmd_catalog_rollback)
    sign = catalog_commands.add_parser("sign", help="(publisher) bundle and sign a catalog")
    sign.add_argument("folder", help="the catalog folder")
    sign.add_argument("-o", "--output", required=True, help="the archive to write (.tar.gz)")
    sign.add_argument("--key", required=True, help="Ed25519 private key (PEM)")
    sign.add_argument("--generate-key", action="store_true", help="create the key first")
    sign.set_defaults(handler=_cmd_catalog_sign)

    rec = commands.add_parser("recommend", help="ranked, explained models for a profile")
    rec.add_argument("--profile", required=True, help="profile TOML file")
    rec.add_argument("--json", action="store_true")
    rec.set_defaults(handler=_cmd_recommend)

    rep = commands.add_parser("report", help="the decision record, or a CycloneDX ML-BOM")
    rep.add_argument("--profile", required=True, help="profile TOML file")
    rep.add_argument(
        "--format", required=True, choices=["html", "pdf", "md", "json", "cyclonedx", "allowlist"]
    )
    rep.add_argument("-o", "--output", required=True, help="file to write (atomically)")
    rep.add_argument("--smoke", help="attach a result of `modelvet smoke --json` (a JSON file)")
    rep.add_argument(
        "--plan", action="store_true", help="include the hardware plan over every preset"
    )
    rep.add_argument("--trial", help="attach a result of `modelvet trial --json` (a JSON file)")
    rep.set_defaults(handler=_cmd_report)

    ins = commands.add_parser("inspect", help="read a GGUF file without loading it")
    ins.add_argument("file")
    _add_run_flags(ins)
    ins.add_argument("--no-hash", action="store_true", help="skip the sha256 (large files)")
    ins.add_argument("--json", action="store_true")
    ins.set_defaults(handler=_cmd_inspect)

    smoke = commands.add_parser("smoke", help="load and run a GGUF locally, measure and probe it")
    smoke.add_argument("file")
    _add_run_flags(smoke)
    smoke.add_argument("--prompt", help="your own prompt: print the model's answer as it streams")
    smoke.add_argument("--task", action="append", help="tasks to probe (repeatable)")
    smoke.add_argument("--language", action="append", help="languages to probe, e.g. fr")
    smoke.add_argument("--force", action="store_true", help="load even if it will not fit")
    smoke.add_argument("--timeout", type=float, default=600.0, help="seconds before giving up")
    smoke.add_argument("--json", action="store_true")
    smoke.set_defaults(handler=_cmd_smoke)

    est = commands.add_parser(
        "estimate", help="one model on the profile's hardware and runtime, whatever the policy"
    )
    est.add_argument("--profile", required=True, help="profile TOML file")
    est.add_argument("--model", required=True, help="catalog model id")
    est.add_argument("--quant", help="quantisation, e.g. Q4_K_M (default: best that fits)")
    est.add_argument(
        "--depth",
        type=_non_negative_int,
        help="tokens already in the cache (llama-bench -d); default half the context",
    )
    _add_run_flags(est, with_context=False)
    est.add_argument("--json", action="store_true")
    est.set_defaults(handler=_cmd_estimate)

    hist = commands.add_parser("history", help="earlier smoke-test runs, newest first")
    hist.add_argument("--file", help="only the runs of this GGUF file (matched by sha256)")
    hist.add_argument("--limit", type=_positive_int, default=50)
    hist.add_argument("--json", action="store_true")
    hist.set_defaults(handler=_cmd_history)

    hw = commands.add_parser("hardware", help="what this machine has")
    hw.add_argument("--json", action="store_true")
    hw.add_argument("--no-measure", action="store_true", help="skip the RAM bandwidth test")
    hw.set_defaults(handler=_cmd_hardware)

    cli_procure.add_commands(commands)
    cli_trial.add_command(commands, _add_run_flags, _run_settings)

    gui = commands.add_parser("gui", help="open the wizard")
    gui.add_argument("--profile", help="a profile TOML file to open")
    gui.add_argument("--snapshot", help="render every step to PNG files in this folder and exit")
    gui.add_argument(
        "--with-smoke",
        action="store_true",
        help="with --snapshot: run the demo smoke test before its snapshot",
    )
    gui.set_defaults(handler=_cmd_gui)
    return parser


def _cmd_gui(args: argparse.Namespace) -> int:
    from modelvet.gui.app import run

    return run(
        profile_path=getattr(args, "profile", None),
        snapshot_dir=getattr(args, "snapshot", None),
        with_smoke=getattr(args, "with_smoke", False),
    )


def _warn_about_the_catalog() -> None:
    from modelvet.engine.catalog.updates import start_up_warnings

    for warning in start_up_warnings():
        print(f"modelvet: warning: {warning}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = getattr(args, "handler", _cmd_gui)
    try:
        if handler is not _cmd_gui:  # the wizard says it in its status bar
            _warn_about_the_catalog()
        return handler(args)
    except ModelVetError as error:  # the one place an error becomes an exit code
        profile = getattr(args, "profile", None)
        if profile and error.where.startswith(("security.", "hardware.", "organisation.")):
            error.where = f"{profile}: {error.where}"  # a preset the profile names: say which file
        print(f"modelvet: {error.message()}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        return Cancelled.exit_code  # Ctrl-C: 130, as the shell reports it
    except BrokenPipeError:  # `modelvet recommend | head`: the reader left, nothing is wrong
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
