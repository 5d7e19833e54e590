"""Trials and the marks a human gives their answers, kept in the smoke-test history database."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from modelvet.engine.errors import ModelVetError
from modelvet.engine.smoke.history import connect
from modelvet.engine.trial.result import TrialResult

Mark = Literal["good", "bad"]


def record_trial(result: TrialResult, path: Path | None = None) -> int:
    with connect(path) as connection:
        cursor = connection.execute(
            "INSERT INTO trials (started_at, set_name, models, passed, result_json) "
            "VALUES (?, ?, ?, ?, ?)",
            (
                result.started_at,
                result.set_name,
                len(result.models),
                int(result.passed),
                result.model_dump_json(),
            ),
        )
        return int(cursor.lastrowid or 0)


def set_mark(
    trial_id: int, model_index: int, prompt_id: str, mark: Mark | None, path: Path | None = None
) -> None:
    """A human's verdict on one answer; None takes it back."""
    with connect(path) as connection:
        if mark is None:
            connection.execute(
                "DELETE FROM trial_marks WHERE trial_id = ? AND model_index = ? AND prompt_id = ?",
                (trial_id, model_index, prompt_id),
            )
            return
        connection.execute(
            "INSERT OR REPLACE INTO trial_marks VALUES (?, ?, ?, ?, ?)",
            (
                trial_id,
                model_index,
                prompt_id,
                mark,
                datetime.now(UTC).isoformat(timespec="seconds"),
            ),
        )


def load_trial(trial_id: int, path: Path | None = None) -> TrialResult:
    """A kept trial with its marks applied to the answers."""
    with connect(path) as connection:
        row = connection.execute(
            "SELECT result_json FROM trials WHERE id = ?", (trial_id,)
        ).fetchone()
        if row is None:
            raise ModelVetError(f"no trial {trial_id} in the history", str(path or "history"))
        marks = connection.execute(
            "SELECT model_index, prompt_id, mark FROM trial_marks WHERE trial_id = ?",
            (trial_id,),
        ).fetchall()
    result = TrialResult.model_validate_json(row[0])
    return apply_marks(result.model_copy(update={"history_id": trial_id}), marks)


def apply_marks(result: TrialResult, marks: list[tuple[int, str, str]]) -> TrialResult:
    given = {(index, prompt_id): mark for index, prompt_id, mark in marks}
    for index, model in enumerate(result.models):
        for outcome in model.prompts:
            outcome.human_mark = given.get((index, outcome.id))  # type: ignore[assignment]
    return result


def trials(limit: int = 50, path: Path | None = None) -> list[dict[str, Any]]:
    with connect(path) as connection:
        connection.row_factory = sqlite3.Row
        return [
            dict(row)
            for row in connection.execute(
                "SELECT id, started_at, set_name, models, passed FROM trials "
                "ORDER BY id DESC LIMIT ?",
                (limit,),
            )
        ]
