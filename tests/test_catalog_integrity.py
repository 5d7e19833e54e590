"""Catalog integrity: the bundled manifest, a tampered file named at start-up, and catalog
updates that are imported only when signed by a trusted key (or --unverified, recorded),
kept, and rolled back."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest

from modelvet.engine.catalog.integrity import check_manifest, start_up_warnings
from modelvet.engine.catalog.loader import bundled_catalog_dir
from modelvet.engine.catalog.updates import history
from tests.helpers import run_modelvet

BUNDLED_VERSION_LINE = 'catalog_version = "'


def active_version() -> str:
    done = run_modelvet("catalog", "validate", "--json")
    assert done.returncode == 0, done.stderr
    return str(json.loads(done.stdout)["catalog_version"])


def test_the_bundled_manifest_is_current() -> None:
    integrity = check_manifest(bundled_catalog_dir())
    assert integrity.intact, (
        f"catalog files differ from catalog/MANIFEST.sha256: {integrity}; after changing the "
        "catalog run `make catalog-manifest`"
    )


def test_a_tampered_catalog_file_is_named_at_start_up(tmp_path: Path) -> None:
    copy = tmp_path / "catalog"
    shutil.copytree(bundled_catalog_dir(), copy)
    clean = run_modelvet("catalog", "list", env={"MODELVET_CATALOG": str(copy)})
    assert clean.returncode == 0 and "warning" not in clean.stderr
    with (copy / "models" / "qwen.toml").open("a") as handle:
        handle.write("# a quiet edit\n")
    done = run_modelvet("catalog", "list", env={"MODELVET_CATALOG": str(copy)})
    assert done.returncode == 0
    assert "modelvet: warning: running an altered catalog: models/qwen.toml changed" in done.stderr


def test_a_bundled_catalog_without_its_manifest_is_altered(tmp_path: Path) -> None:
    copy = tmp_path / "catalog"
    shutil.copytree(bundled_catalog_dir(), copy)
    (copy / "MANIFEST.sha256").unlink()
    assert start_up_warnings(copy, must_have_manifest=True) == [
        f"running an altered catalog: {copy / 'MANIFEST.sha256'} is missing"
    ]


# --- signed updates ------------------------------------------------------------------------


@pytest.fixture
def publisher(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """A publisher key this installation trusts, and an updated catalog folder."""
    key = tmp_path / "publisher.pem"
    update = tmp_path / "update"
    shutil.copytree(bundled_catalog_dir(), update)
    meta = update / "catalog.toml"
    text = meta.read_text()
    start = text.index(BUNDLED_VERSION_LINE) + len(BUNDLED_VERSION_LINE)
    meta.write_text(text[:start] + "2099.1.0" + text[text.index('"', start) :])
    done = run_modelvet(
        "catalog",
        "sign",
        str(update),
        "-o",
        str(tmp_path / "update.tar.gz"),
        "--key",
        str(key),
        "--generate-key",
    )
    assert done.returncode == 0, done.stderr
    public_line = next(line for line in done.stderr.splitlines() if line.startswith("ed25519 "))
    trusted = tmp_path / "trusted-keys.txt"
    trusted.write_text(public_line + "\n")
    monkeypatch.setenv("MODELVET_TRUSTED_KEYS", str(trusted))
    return {"key": key, "folder": update, "archive": tmp_path / "update.tar.gz", "trusted": trusted}


def test_a_signed_update_is_imported_and_rolled_back(publisher: dict[str, Path]) -> None:
    bundled = active_version()
    done = run_modelvet("catalog", "import", str(publisher["archive"]))
    assert done.returncode == 0, done.stderr
    assert "signed by trusted key" in done.stderr
    assert active_version() == "2099.1.0"
    assert "warning" not in run_modelvet("catalog", "list").stderr
    assert run_modelvet("catalog", "rollback").returncode == 0
    assert active_version() == bundled
    assert run_modelvet("catalog", "rollback").returncode == 0  # and forward again
    assert active_version() == "2099.1.0"
    assert [(e["action"], e.get("verified")) for e in history()] == [
        ("import", True),
        ("rollback", None),
        ("rollback", None),
    ]


def _refused(archive: Path) -> str:
    before = active_version()
    done = run_modelvet("catalog", "import", str(archive))
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.count("\n") == 1 and str(archive) in done.stderr
    assert active_version() == before and history() == []
    return done.stderr


def test_an_unsigned_update_is_refused(publisher: dict[str, Path]) -> None:
    Path(f"{publisher['archive']}.sig").unlink()
    assert "no signature" in _refused(publisher["archive"])


def test_a_changed_archive_fails_its_signature(publisher: dict[str, Path]) -> None:
    archive = publisher["archive"]
    payload = bytearray(archive.read_bytes())
    payload[len(payload) // 2] ^= 0xFF
    archive.write_bytes(bytes(payload))
    assert "does not match the file" in _refused(archive)


def test_a_key_the_installation_does_not_trust_is_refused(
    publisher: dict[str, Path], tmp_path: Path
) -> None:
    publisher["trusted"].write_text("# nobody\n")
    assert "does not trust" in _refused(publisher["archive"])


def test_unverified_import_is_allowed_when_asked_and_recorded(publisher: dict[str, Path]) -> None:
    Path(f"{publisher['archive']}.sig").unlink()
    done = run_modelvet("catalog", "import", str(publisher["archive"]), "--unverified")
    assert done.returncode == 0, done.stderr
    assert "UNVERIFIED" in done.stderr
    assert active_version() == "2099.1.0"
    (entry,) = history()
    assert entry["verified"] is False and "no signature" in entry["why_unverified"]
    later = run_modelvet("catalog", "list")
    assert "warning: running a catalog imported without a verified signature" in later.stderr


def _signed_archive(members: dict[str, bytes], publisher: dict[str, Path], name: str) -> Path:
    from modelvet.engine.catalog.integrity import sign

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for member, data in members.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    path = publisher["archive"].with_name(name)
    path.write_bytes(buffer.getvalue())
    signature = sign(buffer.getvalue(), publisher["key"].read_bytes())
    Path(f"{path}.sig").write_text(json.dumps(signature))
    return path


def test_a_signed_archive_without_a_manifest_is_refused(publisher: dict[str, Path]) -> None:
    archive = _signed_archive({"catalog.toml": b"schema_version = 1\n"}, publisher, "bare.tar.gz")
    assert "carries no MANIFEST.sha256" in _refused(archive)


def test_a_signed_archive_that_escapes_its_folder_is_refused(
    publisher: dict[str, Path], tmp_path: Path
) -> None:
    archive = _signed_archive({"../../escaped.toml": b"x = 1\n"}, publisher, "evil.tar.gz")
    assert "which no catalog has" in _refused(archive)
    assert not list(tmp_path.rglob("escaped.toml"))


def test_a_signed_catalog_with_problems_is_refused(publisher: dict[str, Path]) -> None:
    folder = publisher["folder"]
    members = {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in folder.rglob("*")
        if p.is_file() and p.name != "MANIFEST.sha256"
    }
    members["models/broken.toml"] = b"schema_version = 1\n[[models]]\nid = 3\n"
    members["MANIFEST.sha256"] = "".join(
        f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(members.items())
    ).encode()
    archive = _signed_archive(members, publisher, "broken.tar.gz")
    assert "problem(s), first: models/broken.toml: family: Field required" in _refused(archive)


def test_the_wizard_says_it_runs_an_altered_catalog(
    qtbot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelvet.gui.app import build_window, create_app

    copy = tmp_path / "catalog"
    shutil.copytree(bundled_catalog_dir(), copy)
    (copy / "licenses.toml").write_text((copy / "licenses.toml").read_text() + "\n")
    monkeypatch.setenv("MODELVET_CATALOG", str(copy))
    create_app()
    window = build_window(None, detect_hardware=False)
    qtbot.addWidget(window)
    from PySide6.QtWidgets import QLabel

    label = window.findChild(QLabel, "catalogWarning")  # type: ignore[attr-defined]
    assert label is not None
    assert "running an altered catalog: licenses.toml changed" in label.text()
    window.smoke.shutdown()  # type: ignore[attr-defined]


def test_a_tampered_imported_catalog_is_named_at_start_up(publisher: dict[str, Path]) -> None:
    assert run_modelvet("catalog", "import", str(publisher["archive"])).returncode == 0
    from modelvet.engine.catalog.loader import imported_catalog_dir

    imported = imported_catalog_dir()
    assert imported is not None
    with (imported / "policies.toml").open("a") as handle:
        handle.write("# loosened\n")
    done = run_modelvet("catalog", "list")
    assert "running an altered catalog: policies.toml changed" in done.stderr
