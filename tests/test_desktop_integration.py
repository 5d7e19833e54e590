"""The Linux desktop files validate, name what exists, and the icon PNGs are the SVG rendered."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import modelvet
from tests.helpers import REPO

APP_ID = "io.github.modelvet.ModelVet"
DESKTOP_FILE = REPO / "resources" / "desktop" / f"{APP_ID}.desktop"
METAINFO = REPO / "resources" / "desktop" / f"{APP_ID}.metainfo.xml"
ICONS = REPO / "resources" / "icons"
ICON_SIZES_PX = (48, 64, 128, 256)


def validator(name: str, package: str) -> str:
    """The validator's path. `make test` installs it with apt-get where it may (root, as on
    CI); CI fails without it, elsewhere the test is skipped saying why."""
    path = shutil.which(name)
    if path is None:
        message = (
            f"{name} is not installed: install the Debian package {package} "
            "(`make test` does so with apt-get when run as root)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def desktop_entry() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(DESKTOP_FILE, encoding="utf-8")
    return parser["Desktop Entry"]


def test_desktop_file_validates_without_a_hint() -> None:
    done = subprocess.run(
        [validator("desktop-file-validate", "desktop-file-utils"), str(DESKTOP_FILE)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0 and not (done.stdout + done.stderr).strip(), done.stdout


def test_metainfo_validates_strictly() -> None:
    done = subprocess.run(
        [
            validator("appstreamcli", "appstream"),
            "validate",
            "--no-net",
            "--strict",
            "--explain",
            str(METAINFO),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_desktop_file_starts_the_installed_program_with_the_shipped_icon() -> None:
    entry = desktop_entry()
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert entry["Exec"].split()[0] in scripts
    assert entry["Icon"] == APP_ID
    for size_px in ICON_SIZES_PX:
        assert (ICONS / "hicolor" / f"{size_px}x{size_px}" / "apps" / f"{APP_ID}.png").is_file()


def test_metainfo_names_the_desktop_file_and_the_docs_screenshots() -> None:
    component = ET.parse(METAINFO).getroot()
    assert component.findtext("id") == APP_ID
    assert component.findtext("launchable") == DESKTOP_FILE.name
    screenshots = component.findall("screenshots/screenshot")
    assert [s.get("type") for s in screenshots].count("default") == 1
    for screenshot in screenshots:
        url = screenshot.findtext("image") or ""
        assert url.startswith("https://") and "/docs/screenshots/" in url, url
        assert (REPO / "docs" / "screenshots" / url.rsplit("/", 1)[-1]).is_file(), url
        assert (screenshot.findtext("caption") or "").strip(), url


def test_newest_release_is_the_package_version() -> None:
    releases = ET.parse(METAINFO).getroot().findall("releases/release")
    assert releases, "no <release> in the metainfo"
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert releases[0].get("version") == modelvet.__version__ == pyproject["project"]["version"]


def test_icon_pngs_are_the_svg_rendered(tmp_path: Path) -> None:
    """The committed PNGs match a fresh render of modelvet.svg (run packaging/render_icons.py
    after changing the SVG). A small tolerance absorbs anti-aliasing across Qt versions."""
    from PySide6.QtGui import QImage

    environment = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    subprocess.run(
        [sys.executable, str(REPO / "packaging" / "render_icons.py"), str(tmp_path)],
        check=True,
        capture_output=True,
        env=environment,
        timeout=120,
    )
    for size_px in ICON_SIZES_PX:
        relative = Path("hicolor") / f"{size_px}x{size_px}" / "apps" / f"{APP_ID}.png"
        committed = QImage(str(ICONS / relative)).convertToFormat(QImage.Format.Format_ARGB32)
        fresh = QImage(str(tmp_path / relative)).convertToFormat(QImage.Format.Format_ARGB32)
        assert committed.size() == fresh.size() and committed.width() == size_px, relative
        assert committed.pixel(0, 0) >> 24 == 0, f"{relative}: corners must be transparent"
        committed_bytes = bytes(committed.constBits())
        fresh_bytes = bytes(fresh.constBits())
        worst = max(abs(a - b) for a, b in zip(committed_bytes, fresh_bytes, strict=True))
        assert worst <= 24, f"{relative} differs from the SVG by {worst}/255: re-render it"
