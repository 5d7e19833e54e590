"""What the window remembers between runs: recent profiles, geometry, last step, model folders."""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from modelvet.engine.storage import atomic_write_text, data_dir

MAX_RECENT = 8


class WindowState(BaseModel):
    model_config = ConfigDict(extra="ignore")  # an older or newer file still opens

    schema_version: int = 1
    recent_profiles: list[str] = []
    geometry_hex: str | None = None
    last_step: int = 0
    model_folders: list[str] = []

    def remember(self, path: str) -> None:
        path = str(Path(path).resolve())
        self.recent_profiles = [path] + [p for p in self.recent_profiles if p != path]
        del self.recent_profiles[MAX_RECENT:]


def state_path() -> Path:
    return data_dir() / "window-state.json"


def load_state() -> WindowState:
    try:
        return WindowState.model_validate_json(state_path().read_text(encoding="utf-8"))
    except (OSError, ValidationError, ValueError):
        return WindowState()


def save_state(state: WindowState) -> None:
    atomic_write_text(state_path(), json.dumps(state.model_dump(), indent=2))


def profiles_dir() -> Path:
    folder = data_dir() / "profiles"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
