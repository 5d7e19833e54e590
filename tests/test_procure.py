"""Procurement: manifest → verify across the air gap, the allowlist, and rechecking a record.

A copy of the test catalog gains two small models whose files the tests really write (one
single file, one split in two parts) with their real sizes and sha256, so every mismatch is a
real file on disk.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from modelvet.engine.catalog import load_catalog
from modelvet.engine.profile import parse_profile
from modelvet.engine.rank.recommend import prepare, recommend
from modelvet.engine.recheck import load_record, recheck
from modelvet.engine.report import render
from modelvet.engine.transfer import build_manifest, verify_folder
from tests.helpers import FIXTURES, run_modelvet

SINGLE = b"GGUF" + bytes(range(256)) * 40
PARTS = (b"GGUF" + b"\x01" * 5000, b"\x02" * 3000)
PROFILE = {
    "name": "procurement test",
    "organisation": {"country": "US", "sector": "commercial", "expected_monthly_users": 10},
    "security": {"policy": "open"},
    "hardware": {"preset": "gpu24"},
    "capability": {"tasks": ["general"], "context_tokens": 8192},
}

_MODELS = """
[[models]]
id = "tiny-1b"
name = "Tiny 1B"
developer = "usdev"
license = "open"
repo = "usdev/tiny-1b"
modalities = ["text"]
total_params_b = 1.0
context_length = 32768
sources = {{ card = "https://example.org/tiny" }}
architecture = {{ layers = 16, attention_heads = 16, kv_heads = 4, head_dim = 64, \
hidden_size = 1024, vocab_size = 32000, source = "https://example.org/tiny/config.json" }}

[[models.artifacts]]
format = "gguf"
quant = "Q8_0"
publisher = "US Dev Inc."
publisher_country = "US"
official = true
repo = "usdev/tiny-1b-gguf"
revision = "0123456789abcdef0123456789abcdef01234567"
files = ["tiny-1b-Q8_0.gguf"]
size_bytes = {single_size}
size_status = "exact"
sha256 = "{single_sha}"
source = "https://example.org/tiny-gguf"

[[models]]
id = "split-2b"
name = "Split 2B"
developer = "usdev"
license = "open"
repo = "usdev/split-2b"
modalities = ["text"]
total_params_b = 2.0
context_length = 32768
sources = {{ card = "https://example.org/split" }}
architecture = {{ layers = 16, attention_heads = 16, kv_heads = 4, head_dim = 64, \
hidden_size = 1024, vocab_size = 32000, source = "https://example.org/split/config.json" }}

[[models.artifacts]]
format = "gguf"
quant = "Q4_K_M"
publisher = "US Dev Inc."
publisher_country = "US"
official = true
repo = "usdev/split-2b-gguf"
files = ["split-2b-Q4_K_M-00001-of-00002.gguf", "split-2b-Q4_K_M-00002-of-00002.gguf"]
size_bytes = {split_size}
size_status = "exact"
source = "https://example.org/split-gguf"
"""


def _catalog_copy(root: Path) -> Path:
    folder = root / "catalog"
    shutil.copytree(FIXTURES / "catalog", folder)
    text = _MODELS.format(
        single_size=len(SINGLE),
        single_sha=hashlib.sha256(SINGLE).hexdigest(),
        split_size=sum(len(p) for p in PARTS),
    )
    with (folder / "models" / "test.toml").open("a", encoding="utf-8") as handle:
        handle.write(text)
    return folder


def _carry(folder: Path) -> Path:
    """The files as they arrive on the air-gapped machine."""
    folder.mkdir()
    (folder / "tiny-1b-Q8_0.gguf").write_bytes(SINGLE)
    sub = folder / "split"
    sub.mkdir()
    (sub / "split-2b-Q4_K_M-00001-of-00002.gguf").write_bytes(PARTS[0])
    (sub / "split-2b-Q4_K_M-00002-of-00002.gguf").write_bytes(PARTS[1])
    return folder


@pytest.fixture
def world(tmp_path: Path):
    catalog_dir = _catalog_copy(tmp_path)
    catalog = load_catalog(catalog_dir)
    assert not catalog.problems, catalog.problems
    result = recommend(parse_profile(PROFILE), prepared=prepare(catalog))
    manifest = build_manifest(result, catalog, ["tiny-1b", "split-2b"])
    return tmp_path, catalog_dir, catalog, result, manifest


def test_manifest_lists_every_file_of_the_chosen_variants(world) -> None:
    _, _, _, _, manifest = world
    names = [f.file_name for f in manifest.files]
    assert names == [
        "tiny-1b-Q8_0.gguf",
        "split-2b-Q4_K_M-00001-of-00002.gguf",
        "split-2b-Q4_K_M-00002-of-00002.gguf",
    ]
    single = manifest.files[0]
    assert single.sha256 == hashlib.sha256(SINGLE).hexdigest()
    assert single.size_bytes == len(SINGLE) and single.revision
    assert single.download_url.endswith(f"/resolve/{single.revision}/tiny-1b-Q8_0.gguf")
    assert {f.parts for f in manifest.files[1:]} == {2}


def test_verify_passes_the_files_as_carried(world) -> None:
    root, _, _, _, manifest = world
    result = verify_folder(_carry(root / "arrived"), manifest)
    assert result.ok, result.files
    assert [c.status for c in result.files] == ["ok", "ok", "ok"]


@pytest.mark.parametrize(
    ("damage", "status", "name"),
    [
        (lambda d: (d / "tiny-1b-Q8_0.gguf").unlink(), "missing", "tiny-1b-Q8_0.gguf"),
        (
            lambda d: (d / "tiny-1b-Q8_0.gguf").write_bytes(SINGLE + b"x"),
            "wrong size",
            "tiny-1b-Q8_0.gguf",
        ),
        (
            lambda d: (d / "tiny-1b-Q8_0.gguf").write_bytes(SINGLE[:-1] + b"\x00"),
            "wrong hash",
            "tiny-1b-Q8_0.gguf",
        ),
        (lambda d: (d / "extra.gguf").write_bytes(b"GGUF"), "unexpected", "extra.gguf"),
        (
            lambda d: (d / "split" / "split-2b-Q4_K_M-00002-of-00002.gguf").write_bytes(b"\x02"),
            "wrong size",
            "split-2b-Q4_K_M-00001-of-00002.gguf + split-2b-Q4_K_M-00002-of-00002.gguf",
        ),
        (
            lambda d: (d / "split" / "split-2b-Q4_K_M-00002-of-00002.gguf").unlink(),
            "missing",
            "split-2b-Q4_K_M-00002-of-00002.gguf",
        ),
    ],
)
def test_verify_names_each_kind_of_mismatch(world, damage, status, name) -> None:
    root, _, _, _, manifest = world
    folder = _carry(root / "arrived")
    damage(folder)
    result = verify_folder(folder, manifest)
    assert not result.ok
    bad = [(c.status, c.file_name) for c in result.files if c.status != "ok"]
    assert bad == [(status, name)]


def _cli(args: list[str], catalog_dir: Path) -> subprocess.CompletedProcess[str]:
    return run_modelvet(*args, env={"MODELVET_CATALOG": str(catalog_dir)}, timeout=120)


def test_manifest_and_verify_from_the_command_line(world) -> None:
    root, catalog_dir, _, _, _ = world
    profile = root / "p.toml"
    profile.write_text(
        'name = "cli"\n[security]\npolicy = "open"\n[hardware]\npreset = "gpu24"\n',
        encoding="utf-8",
    )
    manifest = root / "m.json"
    made = _cli(
        ["manifest", "--profile", str(profile), "--models", "tiny-1b", "-o", str(manifest)],
        catalog_dir,
    )
    assert made.returncode == 0, made.stderr
    assert json.loads(manifest.read_text())["files"][0]["file_name"] == "tiny-1b-Q8_0.gguf"
    folder = _carry(root / "arrived")
    (folder / "split").joinpath("split-2b-Q4_K_M-00001-of-00002.gguf").unlink()
    ok = _cli(["verify", str(folder), "--manifest", str(manifest), "--json"], catalog_dir)
    assert ok.returncode == 1  # the split part left over is not in this manifest
    statuses = {c["file_name"]: c["status"] for c in json.loads(ok.stdout)["files"]}
    assert statuses["tiny-1b-Q8_0.gguf"] == "ok"
    assert statuses["split/split-2b-Q4_K_M-00002-of-00002.gguf"] == "unexpected"
    shutil.rmtree(folder / "split")
    assert _cli(["verify", str(folder), "--manifest", str(manifest)], catalog_dir).returncode == 0
    unknown = _cli(
        ["manifest", "--profile", str(profile), "--models", "nope", "-o", str(manifest)],
        catalog_dir,
    )
    assert unknown.returncode == 2 and "nope" in unknown.stderr
    assert "Traceback" not in unknown.stderr


def test_allowlist_lists_exactly_the_approved_variants(world) -> None:
    _, _, catalog, result, _ = world
    listed = json.loads(render(result, "allowlist", catalog=catalog))
    assert listed["policy"].startswith("fail-closed")
    approved = {a["model_id"]: a for a in listed["approved"]}
    assert set(approved) == {m.model_id for m in result.recommended}
    assert approved["tiny-1b"]["sha256"] == hashlib.sha256(SINGLE).hexdigest()
    assert approved["tiny-1b"]["files"] == ["tiny-1b-Q8_0.gguf"]


_READ_TERMS = 'monthly_user_cap = "none"\nrevenue_cap_usd = "none"\nexcluded_regions = []\n'


def _record(world, tmp: Path) -> Path:
    _, _, catalog, result, _ = world
    path = tmp / "record.json"
    path.write_bytes(render(result, "json", catalog=catalog))
    return path


def _edit(catalog_dir: Path, name: str, old: str, new: str) -> None:
    path = catalog_dir / name
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_recheck_of_an_unchanged_catalog_changes_nothing(world) -> None:
    root, catalog_dir, _, _, _ = world
    result = recheck(load_record(_record(world, root)), prepare(load_catalog(catalog_dir)))
    assert result.still_valid and result.changes == []


def test_recheck_reports_each_change_with_its_reason(world) -> None:
    root, catalog_dir, _, _, _ = world
    record = load_record(_record(world, root))
    sha = hashlib.sha256(SINGLE).hexdigest()
    # The hash is re-published, a model leaves the catalog, a licence changes.
    _edit(catalog_dir, "models/test.toml", sha, "9" * 64)
    _edit(catalog_dir, "models/test.toml", 'id = "display-7b"', 'id = "display-7b-v2"')
    _edit(
        catalog_dir,
        "models/test.toml",
        'license = "open"          #',
        'license = "noncommercial" #',
    )
    # ... and a new model arrives.
    _edit(catalog_dir, "models/test.toml", 'id = "unread-7b"', 'id = "unread-7b"')
    unread = 'url = "https://example.org/unread"\n'
    _edit(catalog_dir, "licenses.toml", unread, unread + _READ_TERMS)
    catalog = load_catalog(catalog_dir)
    assert not catalog.problems, catalog.problems
    result = recheck(record, prepare(catalog))
    kinds = {(c.model_id, c.kind) for c in result.changes}
    assert ("tiny-1b", "hash changed") in kinds
    assert ("display-7b", "removed from the catalog") in kinds
    assert ("community-ft-8b", "licence changed") in kinds
    assert ("display-7b-v2", "new, not in the record") in kinds
    assert ("unread-7b", "new, not in the record") in kinds
    assert not result.still_valid
    licence = next(c for c in result.changes if c.kind == "licence changed")
    assert "noncommercial" in licence.detail


def test_recheck_fails_when_a_recorded_model_is_no_longer_admitted(world) -> None:
    root, catalog_dir, _, _, _ = world
    record_path = _record(world, root)
    _edit(catalog_dir, "licenses.toml", "monthly_user_cap = 1000\n", "monthly_user_cap = 5\n")
    result = run_modelvet(
        "recheck",
        str(record_path),
        "--json",
        env={"MODELVET_CATALOG": str(catalog_dir)},
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    changes = json.loads(result.stdout)["changes"]
    gone = [c for c in changes if c["kind"] == "no longer admitted"]
    assert gone and all("user-cap" in c["detail"] for c in gone)
    assert {c["model_id"] for c in gone} == {"community-70b", "community-ft-8b"}


def test_a_record_of_another_schema_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text('{"schema_version": 1, "title": "old"}', encoding="utf-8")
    result = run_modelvet("recheck", str(path), timeout=120)
    assert result.returncode == 2 and "schema 1" in result.stderr
    assert "Traceback" not in result.stderr
