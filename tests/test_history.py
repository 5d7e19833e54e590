"""The smoke-test history database: a schema version with migrations, connections that are
closed, and a clear error for a damaged or newer database."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modelvet.engine.errors import ModelVetError
from modelvet.engine.smoke import history
from modelvet.engine.smoke.result import Measured, SmokeResult
from tests.helpers import run_modelvet

VERSION_0_SCHEMA = """
CREATE TABLE runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, started_at TEXT NOT NULL, file TEXT NOT NULL,
    sha256 TEXT, settings TEXT NOT NULL, passed INTEGER NOT NULL,
    generation_tokens_per_s REAL, result_json TEXT NOT NULL
);
INSERT INTO runs VALUES (1, '2026-01-01T00:00:00+00:00', 'old.gguf', 'abc', 'ctx 2048', 1, 12.5,
                         '{}');
"""


def a_result(name: str = "model.gguf") -> SmokeResult:
    return SmokeResult(
        file=name,
        sha256="f" * 64,
        catalog_model_id=None,
        settings="context 2048 tokens",
        checks=[],
        measured=Measured(generation_tokens_per_s=20.0),
        comparisons=[],
        bandwidth_bound_tokens_per_s=None,
        probes=[],
        probes_passed=0,
        passed=True,
        verdict="passed",
    )


def test_every_connection_is_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[sqlite3.Connection] = []
    real_connect = sqlite3.connect

    def spy(*args: object, **kwargs: object) -> sqlite3.Connection:
        connection = real_connect(*args, **kwargs)  # type: ignore[arg-type]
        opened.append(connection)  # holding it here keeps garbage collection from closing it
        return connection

    monkeypatch.setattr(sqlite3, "connect", spy)
    history.record(a_result())
    assert [row["file"] for row in history.runs()] == ["model.gguf"]
    assert len(opened) == 2
    for connection in opened:
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            connection.execute("SELECT 1")


def test_a_new_database_carries_the_schema_version() -> None:
    history.record(a_result())
    assert history.schema_version() == history.SCHEMA_VERSION >= 1
    raw = sqlite3.connect(history.database_path())
    try:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == history.SCHEMA_VERSION
    finally:
        raw.close()


def test_a_database_from_before_versions_is_migrated_with_its_runs() -> None:
    raw = sqlite3.connect(history.database_path())
    raw.executescript(VERSION_0_SCHEMA)
    raw.close()
    history.record(a_result("new.gguf"))
    assert [row["file"] for row in history.runs()] == ["new.gguf", "old.gguf"]
    assert history.schema_version() == history.SCHEMA_VERSION


def test_a_newer_database_is_refused_and_left_alone() -> None:
    raw = sqlite3.connect(history.database_path())
    raw.executescript(VERSION_0_SCHEMA + f"PRAGMA user_version = {history.SCHEMA_VERSION + 1};")
    raw.close()
    before = history.database_path().read_bytes()
    with pytest.raises(ModelVetError, match="newer ModelVet"):
        history.record(a_result())
    assert history.database_path().read_bytes() == before


def test_a_damaged_database_is_one_clear_line(tmp_path: Path) -> None:
    history.database_path().write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(ModelVetError, match="history database is unusable") as caught:
        history.runs()
    assert "move the file away" in caught.value.message()
    done = run_modelvet("history", timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1 and str(history.database_path()) in done.stderr


_RECORDER = """
from modelvet.engine.smoke import history
from modelvet.engine.smoke.result import Measured, SmokeResult
result = SmokeResult(file="x" * 1_000_000, sha256=None, catalog_model_id=None, settings="s",
                     checks=[], measured=Measured(), comparisons=[],
                     bandwidth_bound_tokens_per_s=None, probes=[], probes_passed=0,
                     passed=False, verdict="failed")
print("recording", flush=True)
while True:
    history.record(result)
"""


def test_a_recorder_killed_mid_write_loses_no_earlier_run() -> None:
    """SIGKILL a real process while it writes runs: the database stays sound and every run
    recorded before is still there."""
    for n in range(3):
        history.record(a_result(f"earlier-{n}.gguf"))
    recorder = subprocess.Popen(
        [sys.executable, "-c", _RECORDER], stdout=subprocess.PIPE, text=True
    )
    assert recorder.stdout is not None and recorder.stdout.readline() == "recording\n"
    time.sleep(0.5)
    recorder.send_signal(signal.SIGKILL)
    recorder.wait(timeout=30)
    recorder.stdout.close()
    files = [row["file"] for row in history.runs(limit=100_000)]
    assert files[-3:] == ["earlier-2.gguf", "earlier-1.gguf", "earlier-0.gguf"]
    assert len(files) > 3  # the recorder did write before it was killed
    raw = sqlite3.connect(history.database_path())
    try:
        assert raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        raw.close()


@pytest.mark.llama
def test_a_smoke_result_is_printed_even_when_the_history_is_unusable(smol_gguf: Path) -> None:
    history.database_path().write_bytes(b"this is not SQLite" * 100)
    done = run_modelvet(
        "smoke", str(smol_gguf), "--context", "1024", "--prompt", "Say hello.", "--json"
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["passed"] is True
    assert "modelvet: warning: not kept in the history:" in done.stderr
