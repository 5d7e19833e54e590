"""Every smoke-test run, kept in SQLite in the user's data folder, to compare with later runs."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from modelvet.engine.smoke.result import SmokeResult
from modelvet.engine.storage import data_dir

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TEXT NOT NULL,
    file TEXT NOT NULL,
    sha256 TEXT,
    settings TEXT NOT NULL,
    passed INTEGER NOT NULL,
    generation_tokens_per_s REAL,
    result_json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_by_hash ON runs (sha256);
"""


def database_path() -> Path:
    return data_dir() / "smoke-history.sqlite3"


def _connect(path: Path | None = None) -> sqlite3.Connection:
    connection = sqlite3.connect(path or database_path())
    connection.executescript(SCHEMA)
    return connection


def record(result: SmokeResult, path: Path | None = None) -> int:
    with _connect(path) as connection:
        cursor = connection.execute(
            "INSERT INTO runs (started_at, file, sha256, settings, passed, "
            "generation_tokens_per_s, result_json) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                datetime.now(UTC).isoformat(timespec="seconds"),
                result.file,
                result.sha256,
                result.settings,
                int(result.passed),
                result.measured.generation_tokens_per_s,
                json.dumps(result.to_json_dict()),
            ),
        )
        return int(cursor.lastrowid or 0)


def runs(
    sha256: str | None = None, path: Path | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Recent runs, newest first; only those of one file when its hash is given."""
    query = (
        "SELECT id, started_at, file, sha256, settings, passed, generation_tokens_per_s FROM runs"
    )
    args: tuple[Any, ...] = ()
    if sha256:
        query += " WHERE sha256 = ?"
        args = (sha256,)
    query += " ORDER BY id DESC LIMIT ?"
    with _connect(path) as connection:
        connection.row_factory = sqlite3.Row
        return [dict(row) for row in connection.execute(query, (*args, limit))]
