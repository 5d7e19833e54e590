"""Every smoke-test run, kept in SQLite in the user's data folder, to compare with later runs."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from modelvet.engine.errors import ModelVetError
from modelvet.engine.smoke.result import SmokeResult
from modelvet.engine.storage import data_dir

# Migration n takes the database from schema version n to n + 1 (PRAGMA user_version).
# Databases written before versions existed are at 0 and already have the version-1 tables,
# which is why the first migration says IF NOT EXISTS.
MIGRATIONS: tuple[str, ...] = (
    """
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
""",
    # 1 → 2: trials (engine/trial/store.py) and the marks a human gave their answers.
    """
CREATE TABLE trials (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at TEXT NOT NULL,
    set_name TEXT NOT NULL,
    models INTEGER NOT NULL,
    passed INTEGER NOT NULL,
    result_json TEXT NOT NULL
);
CREATE TABLE trial_marks (
    trial_id INTEGER NOT NULL REFERENCES trials (id),
    model_index INTEGER NOT NULL,
    prompt_id TEXT NOT NULL,
    mark TEXT NOT NULL CHECK (mark IN ('good', 'bad')),
    marked_at TEXT NOT NULL,
    PRIMARY KEY (trial_id, model_index, prompt_id)
);
""",
)
SCHEMA_VERSION = len(MIGRATIONS)


def database_path() -> Path:
    return data_dir() / "smoke-history.sqlite3"


@contextmanager
def _connect(path: Path | None = None) -> Iterator[sqlite3.Connection]:
    """A connection at the current schema, committed on success and always closed."""
    path = path or database_path()
    try:
        with closing(sqlite3.connect(path, timeout=10)) as connection:
            _migrate(connection, path)
            with connection:
                yield connection
    except sqlite3.OperationalError as error:  # cannot open, read-only, disk full, locked
        raise ModelVetError(
            f"cannot use the smoke-test history database: {error}",
            str(path),
            "check that its folder has free space and can be written",
        ) from error
    except sqlite3.DatabaseError as error:  # not a database, or a damaged one
        raise ModelVetError(
            f"smoke-test history database is unusable: {error}",
            str(path),
            "move the file away to start a new history",
        ) from error


def _migrate(connection: sqlite3.Connection, path: Path) -> None:
    (version,) = connection.execute("PRAGMA user_version").fetchone()
    if version > SCHEMA_VERSION:
        raise ModelVetError(
            f"smoke-test history database has schema version {version}; this ModelVet "
            f"reads up to {SCHEMA_VERSION}",
            str(path),
            "it was written by a newer ModelVet",
        )
    for number in range(version, SCHEMA_VERSION):
        with connection:  # each step and its version number commit together
            connection.executescript(
                f"BEGIN; {MIGRATIONS[number]}; PRAGMA user_version = {number + 1}; COMMIT;"
            )


connect = _connect  # the other tables' owners (engine/trial/store.py) use the same database


def schema_version(path: Path | None = None) -> int:
    with _connect(path) as connection:
        return int(connection.execute("PRAGMA user_version").fetchone()[0])


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
