"""What several test files share that is not a fixture: paths, the CLI in a subprocess, children."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
EXAMPLE = REPO / "examples" / "us-defense-24gb.toml"
BIG_TENSOR_BYTES = 16 * 2**30  # the `big_gguf` fixture: sparse, so no disk, yet seconds to hash


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
    """PIDs of this test process's living children (not zombies, nor any that end meanwhile)."""
    import psutil

    living = []
    for child in psutil.Process(os.getpid()).children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            if child.status() != psutil.STATUS_ZOMBIE:
                living.append(child.pid)
    return living
