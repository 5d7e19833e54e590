"""What several test files share that is not a fixture: paths, the CLI in a subprocess, children."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
EXAMPLE = REPO / "examples" / "us-defense-24gb.toml"


def run_modelvet(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300, input: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m modelvet ARGS` in a child, with this environment plus `env` laid over it."""
    return subprocess.run(
        [sys.executable, "-m", "modelvet", *args],
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def child_processes() -> list[int]:
    """PIDs of this test process's living children (zombies excluded)."""
    import psutil

    return [
        c.pid
        for c in psutil.Process(os.getpid()).children(recursive=True)
        if c.status() != psutil.STATUS_ZOMBIE
    ]
