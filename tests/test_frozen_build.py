"""The frozen build: packaging/build.sh on a clean checkout gives a program that runs without
Python — the command line, every wizard step offscreen, both child processes (template sandbox,
smoke child) and the real smoke test of SmolLM2."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import modelvet
from tests.helpers import REPO

PROFILE = "examples/us-defense-24gb.toml"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform != "linux", reason="the frozen build is tested on Linux"),
]


def clean_checkout(target: Path) -> Path:
    """The files git would commit (tracked or new, not ignored), as they are in the work tree:
    no .venv, caches, build output or stray files can leak into the build."""
    listed = (
        subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():  # a tracked file deleted in the work tree is not part of it
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


@pytest.fixture(scope="module")
def frozen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """packaging/build.sh run on a clean checkout; the path of the frozen program. The 450 MB
    folder is removed afterwards (pytest keeps the last three runs' temporary folders)."""
    checkout = clean_checkout(tmp_path_factory.mktemp("checkout"))
    dist = tmp_path_factory.mktemp("dist")
    work = tmp_path_factory.mktemp("pyinstaller-work")
    # The build sees only the checkout's code: the spec's pathex, no PYTHONPATH to the work tree.
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    environment |= {"PYTHON": sys.executable, "MODELVET_BUILD_DIR": str(work)}
    done = subprocess.run(
        ["bash", str(checkout / "packaging" / "build.sh"), str(dist)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    program = dist / "modelvet" / "modelvet"
    assert program.is_file() and os.access(program, os.X_OK), program
    yield program
    for folder in (checkout, dist, work):
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def no_python(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A clean environment: an empty PATH (no Python to fall back on), no PYTHONPATH or
    VIRTUAL_ENV, a home and data folder of its own, offscreen Qt."""
    home = tmp_path_factory.mktemp("frozen-home")
    empty_bin = tmp_path_factory.mktemp("empty-bin")
    environment = {
        "PATH": str(empty_bin),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "MODELVET_HOME": str(home / "modelvet"),
        "QT_QPA_PLATFORM": "offscreen",
    }
    assert shutil.which("python3", path=environment["PATH"]) is None
    assert shutil.which("python", path=environment["PATH"]) is None
    return environment


def run_frozen(
    program: Path,
    environment: dict[str, str],
    *arguments: str,
    stdin: str | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(program), *arguments],
        env=environment,
        cwd=REPO,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_the_folder_carries_llama_cpp_the_catalog_and_the_fonts(frozen: Path) -> None:
    bundled = frozen.parent / "_internal"
    assert list((bundled / "llama_cpp" / "lib").glob("libllama.so*"))
    assert (bundled / "modelvet" / "_catalog" / "policies.toml").is_file()
    assert (bundled / "modelvet" / "_resources" / "fonts" / "DejaVuSans.ttf").is_file()
    assert not list(bundled.rglob("pytest")), "test tools were bundled"


def test_version(frozen: Path, no_python: dict[str, str]) -> None:
    done = run_frozen(frozen, no_python, "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"modelvet {modelvet.__version__}"


def test_catalog_validate(frozen: Path, no_python: dict[str, str]) -> None:
    done = run_frozen(frozen, no_python, "catalog", "validate")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 problem(s)" in done.stdout


def test_gui_snapshot_renders_every_step(
    frozen: Path, no_python: dict[str, str], tmp_path: Path
) -> None:
    from PySide6.QtGui import QImage

    done = run_frozen(frozen, no_python, "gui", "--profile", PROFILE, "--snapshot", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    pictures = sorted(tmp_path.glob("*.png"))
    steps = {picture.name[:2] for picture in pictures}
    assert steps >= {"01", "02", "03", "04", "05", "06", "07"}, pictures
    for picture in pictures:
        image = QImage(str(picture))
        assert image.width() >= 800 and image.height() >= 600, picture
        # Rendered text and widgets: hundreds of colours (anti-aliasing); a blank page has one.
        colours = {
            image.pixel(x, y)
            for x in range(0, image.width(), 5)
            for y in range(0, image.height(), 5)
        }
        assert len(colours) > 100, f"{picture.name}: {len(colours)} colours, looks blank"


def test_report_pdf_uses_the_bundled_fonts(
    frozen: Path, no_python: dict[str, str], tmp_path: Path
) -> None:
    record = tmp_path / "record.pdf"
    done = run_frozen(
        frozen, no_python, "report", "--profile", PROFILE, "--format", "pdf", "-o", str(record)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert record.read_bytes().startswith(b"%PDF") and b"DejaVu" in record.read_bytes()


def test_the_frozen_smoke_child_speaks_the_protocol(
    frozen: Path, no_python: dict[str, str]
) -> None:
    """`modelvet --smoke-child` is how the frozen program starts its child (no `python -m`)."""
    done = run_frozen(
        frozen,
        no_python,
        "--smoke-child",
        stdin='{"model_path": 42, "colour": "red"}\n',
        timeout=60,
    )
    assert done.returncode == 2
    event = json.loads(done.stdout.strip().splitlines()[-1])
    assert event["event"] == "error" and "bad request" in event["message"]


def test_inspect_renders_the_chat_template_in_the_frozen_sandbox(
    frozen: Path, no_python: dict[str, str], smol_gguf: Path
) -> None:
    """The template sandbox child is `modelvet --template-sandbox` in a frozen build."""
    done = run_frozen(frozen, no_python, "inspect", str(smol_gguf), "--json", timeout=120)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert report["chat_template"]["present"] and report["chat_template"]["valid_jinja"]
    assert report["chat_template"]["findings"] == []  # rendered in the sandbox, nothing flagged
    assert report["catalog_match"] is not None


def test_smoke_test_of_smollm2(frozen: Path, no_python: dict[str, str], smol_gguf: Path) -> None:
    done = run_frozen(
        frozen, no_python, "smoke", str(smol_gguf), "--context", "2048", "--json", timeout=600
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["passed"] is True and result["error"] is None, result["verdict"]
    assert result["catalog_model_id"] == "smollm2-135m-instruct"
    assert result["measured"]["generated_tokens"] > 0
    assert result["measured"]["buffers_mib"]["model"] > 0  # llama.cpp itself loaded the weights
