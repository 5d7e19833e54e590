"""Procurement commands: hardware plans, the air-gap manifest and its check, rechecking records."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from modelvet.engine.errors import CheckFailed, ModelVetError, nearest_hint
from modelvet.engine.vocabulary import placement_label

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, CheckFailed.exit_code, ModelVetError.exit_code


def _print_json(value: Any) -> None:
    json.dump(value, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")


def _cmd_manifest(args: argparse.Namespace) -> int:
    from pathlib import Path

    from modelvet.engine.catalog import bundled_catalog
    from modelvet.engine.profile import load_profile
    from modelvet.engine.rank.recommend import recommend
    from modelvet.engine.storage import atomic_write_text
    from modelvet.engine.transfer import build_manifest, manifest_json

    result = recommend(load_profile(args.profile))
    manifest = build_manifest(result, bundled_catalog(), args.models)
    atomic_write_text(Path(args.output), manifest_json(manifest))
    print(
        f"wrote {args.output}: {len(manifest.files)} file(s) for "
        f"{len({f.model_id for f in manifest.files})} model(s)"
        + (
            f"; no file in the catalog (hosted, or size estimated) for "
            f"{', '.join(manifest.not_listed)}"
            if manifest.not_listed
            else ""
        ),
        file=sys.stderr,
    )
    return EXIT_OK


def _cmd_verify(args: argparse.Namespace) -> int:
    from modelvet.engine.transfer import load_manifest, verify_folder

    result = verify_folder(args.folder, load_manifest(args.manifest))
    if args.json:
        _print_json(result.model_dump(mode="json"))
    else:
        for check in result.files:
            print(f"{check.status:<11} {check.file_name}: {check.detail}")
        bad = sum(c.status != "ok" for c in result.files)
        print("all files verified" if result.ok else f"{bad} file(s) not ok")
    return EXIT_OK if result.ok else EXIT_FAILED


def _cmd_recheck(args: argparse.Namespace) -> int:
    from modelvet.engine.catalog import bundled_catalog
    from modelvet.engine.recheck import recheck_file

    result = recheck_file(args.record, bundled_catalog())
    if args.json:
        _print_json(result.model_dump(mode="json"))
    else:
        print(
            f"record made with catalog {result.record_catalog_version}; rechecked against "
            f"{result.catalog_version}: {result.checked_models} recorded model(s)"
        )
        for change in result.changes:
            print(f"  {change.kind}: {change.name} — {change.detail}")
        if not result.changes:
            print("  nothing changed")
        print(
            "the decision still holds"
            if result.still_valid
            else "the decision no longer holds: a recorded model is not admitted today"
        )
    return EXIT_OK if result.still_valid else EXIT_FAILED


def _cmd_plan(args: argparse.Namespace) -> int:
    from pathlib import Path

    from modelvet.engine.catalog import bundled_catalog
    from modelvet.engine.plan import inventory_machines, plan, preset_machines
    from modelvet.engine.profile import load_profile
    from modelvet.engine.rank.recommend import prepare

    catalog = bundled_catalog()
    presets = [h for h in args.hardware or [] if h in catalog.hardware]
    paths = [Path(h) for h in args.hardware or [] if h not in catalog.hardware]
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise ModelVetError(
            f"neither a hardware preset nor a file: {', '.join(missing)}",
            "--hardware",
            nearest_hint(missing[0], catalog.hardware),
        )
    machines = preset_machines(catalog, presets) if presets or not paths else []
    inventory, problems = inventory_machines(paths, catalog)
    for problem in problems:
        print(f"modelvet: {problem}", file=sys.stderr)
    result = plan(
        load_profile(args.profile), machines + inventory, prepare(catalog), args.models, problems
    )
    if args.json:
        _print_json(result.model_dump(mode="json"))
    else:
        _print_plan(result)
    return EXIT_BAD_INPUT if problems else EXIT_OK


def _print_plan(result: Any) -> None:
    from modelvet.engine.report.assemble import price_text

    names = {m.key: m.name for m in result.machines}
    machines = {m.key: m for m in result.machines}
    print(f"{len(result.machines)} machine(s) × {len(result.models)} admissible model(s)")
    for model in result.models:
        cheapest = (
            f"; cheapest listed: {price_text(machines[model.cheapest])}" if model.cheapest else ""
        )
        smallest = names[model.smallest] if model.smallest else "none meets the targets"
        print(
            f"\n{model.name}: meets the targets on {model.runs_on}; smallest: {smallest}{cheapest}"
        )
        for cell in result.cells:
            if cell.model_id != model.model_id:
                continue
            if cell.fits:
                speed = (
                    f"{cell.predicted_tokens_per_s:.0f} tok/s"
                    if cell.predicted_tokens_per_s
                    else "speed unknown"
                )
                mark = "✓" if cell.meets_targets else "~"
                placed = placement_label(cell.placement)
                print(f"  {mark} {names[cell.machine]}: {cell.quant}, {placed}, {speed}")
            else:
                print(f"  ✗ {names[cell.machine]}: does not fit")
    if result.excluded_by_policy:
        print(
            f"\nExcluded by the profile's rules on every machine: "
            f"{len(result.excluded_by_policy)} model(s) (see `modelvet recommend`)"
        )


def add_commands(commands: Any) -> None:
    pla = commands.add_parser(
        "plan", help="which hardware runs which admissible models (presets or a fleet)"
    )
    pla.add_argument("--profile", required=True, help="profile TOML file")
    pla.add_argument(
        "--hardware",
        nargs="+",
        metavar="PRESET|FILE|DIR",
        help="hardware presets, `modelvet hardware --json` files or folders of them "
        "(default: every preset)",
    )
    pla.add_argument("--models", nargs="+", metavar="ID", help="only these models")
    pla.add_argument("--json", action="store_true")
    pla.set_defaults(handler=_cmd_plan)

    man = commands.add_parser(
        "manifest", help="the files to fetch for the recommended models (air-gap transfer)"
    )
    man.add_argument("--profile", required=True, help="profile TOML file")
    man.add_argument("--models", nargs="+", metavar="ID", help="only these recommended models")
    man.add_argument("-o", "--output", required=True, help="manifest JSON to write")
    man.set_defaults(handler=_cmd_manifest)

    ver = commands.add_parser("verify", help="check transferred files against a manifest")
    ver.add_argument("folder", help="the folder the files were carried into")
    ver.add_argument("--manifest", required=True, help="a manifest from `modelvet manifest`")
    ver.add_argument("--json", action="store_true")
    ver.set_defaults(handler=_cmd_verify)

    rec = commands.add_parser(
        "recheck", help="re-evaluate a JSON decision record against today's catalog"
    )
    rec.add_argument("record", help="a record from `modelvet report --format json`")
    rec.add_argument("--json", action="store_true")
    rec.set_defaults(handler=_cmd_recheck)
