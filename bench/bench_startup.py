"""Benchmark: cold start of the GUI to the first interactive page.

Prints figures, asserts nothing. Target (DESIGN.md "Performance"): under 1.5 s on a 2-core
machine. Each run is a fresh process:

    QT_QPA_PLATFORM=offscreen MODELVET_EXIT_WHEN_READY=1 <python> -m modelvet

With MODELVET_EXIT_WHEN_READY=1 the GUI prints `ready <seconds>` once the first page is shown
and the event loop is idle (seconds since its own early timestamp), then exits 0. This script
times each whole process from spawn to exit, timestamps the `ready` line as it arrives on the
pipe (a clock independent of the process), and parses the in-process figure. All runs share
one temporary MODELVET_HOME; the first run (empty home, first launch) is shown but not in the
medians. "Cold" means a new process; the OS page cache is warm after the first run.

    .venv/bin/python bench/bench_startup.py [--runs 7] [--module modelvet] [--importtime]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import headline

READY = re.compile(r"^ready\s+(?P<seconds>\d+(?:\.\d+)?)\s*$", re.MULTILINE)
TARGET_S = 1.5


@dataclass(frozen=True)
class Start:
    """One start, in seconds from spawn: to the `ready` line on the pipe, to the exit."""

    wall_s: float
    ready_seen_s: float
    ready_reported_s: float  # the process's own figure


class NotReady(Exception):
    """The process exited, failed or timed out without printing `ready <seconds>`."""


def environment(home: Path) -> dict[str, str]:
    return {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "MODELVET_EXIT_WHEN_READY": "1",
        "MODELVET_HOME": str(home),
    }


def one_start(command: list[str], env: dict[str, str], timeout_s: float) -> Start:
    """Spawn, timestamp the `ready` line as it arrives on the pipe, wait for the exit."""
    with tempfile.TemporaryFile(mode="w+") as errors:
        start = time.perf_counter()
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=errors, text=True
        )
        assert process.stdout is not None
        timer = threading.Timer(timeout_s, process.kill)
        timer.start()
        seen_s, reported_s, lines = None, None, []
        try:
            for line in process.stdout:
                lines.append(line)
                match = READY.match(line)
                if match and seen_s is None:
                    seen_s, reported_s = time.perf_counter() - start, float(match["seconds"])
            code = process.wait()
            wall_s = time.perf_counter() - start
        finally:
            timer.cancel()
        errors.seek(0)
        stderr = errors.read()
    if seen_s is None or reported_s is None or code != 0:
        why = (
            "killed after {timeout_s:g} s: does the GUI honour MODELVET_EXIT_WHEN_READY=1?"
            if code == -9
            else f"exit code {code}"
        )
        raise NotReady(
            f"{why}; `ready <seconds>` line {'seen' if seen_s else 'missing'}\n"
            f"stdout: {''.join(lines)[-1000:]}\nstderr: {stderr[-2000:]}"
        )
    return Start(wall_s, seen_s, reported_s)


def import_profile(
    command: list[str], env: dict[str, str], timeout_s: float, top: int = 15
) -> list[tuple[int, str]]:
    """The slowest imports (cumulative microseconds) of one start, from `python -X importtime`."""
    done = subprocess.run(
        [command[0], "-X", "importtime", *command[1:]],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    rows = []
    for line in done.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            rows.append((int(parts[1]), parts[2].rstrip()))
    return sorted(rows, reverse=True)[:top]


def idle_memory_mib(command: list[str], env: dict[str, str], timeout_s: float) -> float:
    """RSS of the app, first page shown, after it has sat idle for a moment."""
    import psutil

    idle = {**env, "MODELVET_IDLE_SECONDS": "4"}
    with subprocess.Popen(command, env=idle, stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None
        deadline = time.monotonic() + timeout_s
        for line in process.stdout:
            if READY.match(line) or time.monotonic() > deadline:
                break
        time.sleep(2.0)
        rss = psutil.Process(process.pid).memory_info().rss
        process.stdout.read()
        process.wait(timeout=timeout_s)
    return rss / 2**20


def describe(start: Start) -> str:
    return (
        f"ready line after {start.ready_seen_s:.3f} s (process says "
        f"{start.ready_reported_s:.3f} s), exit after {start.wall_s:.3f} s"
    )


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed starts after the first")
    parser.add_argument("--python", default=sys.executable, help="interpreter to start")
    parser.add_argument("--module", default="modelvet", help="module run with -m")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per start")
    parser.add_argument(
        "--importtime", action="store_true", help="also list the slowest imports of one start"
    )
    headline.add_option(parser)
    args = parser.parse_args()
    command = [args.python, "-m", args.module]
    print(f"command: QT_QPA_PLATFORM=offscreen MODELVET_EXIT_WHEN_READY=1 {' '.join(command)}")

    with tempfile.TemporaryDirectory(prefix="modelvet-bench-home-") as home:
        env = environment(Path(home))
        try:
            first = one_start(command, env, args.timeout)
            print(f"  first launch (empty MODELVET_HOME, not in the medians): {describe(first)}")
            starts = []
            for run in range(1, args.runs + 1):
                starts.append(one_start(command, env, args.timeout))
                print(f"  run {run}: {describe(starts[-1])}")
        except NotReady as error:
            print(f"GUI start failed: {error}", file=sys.stderr)
            return 1
        slowest = import_profile(command, env, args.timeout) if args.importtime else []
        idle_mib = idle_memory_mib(command, env, args.timeout)

    print(
        f"\n### GUI cold start to the first interactive page, {args.runs} runs "
        f"(target < {TARGET_S} s)\n"
    )
    figures = [
        ("spawn to `ready` line (seen by this script)", [s.ready_seen_s for s in starts]),
        ("`ready` figure reported by the process", [s.ready_reported_s for s in starts]),
        ("whole process, spawn to exit", [s.wall_s for s in starts]),
        ("exit after `ready`", [s.wall_s - s.ready_seen_s for s in starts]),
    ]
    print(
        table(
            ["figure", "median s", "min s", "max s"],
            [
                [
                    label,
                    f"{statistics.median(values):.3f}",
                    f"{min(values):.3f}",
                    f"{max(values):.3f}",
                ]
                for label, values in figures
            ]
            + [
                [
                    "first launch (empty MODELVET_HOME): spawn to `ready` line",
                    f"{first.ready_seen_s:.3f}",
                    "",
                    "",
                ]
            ],
        )
    )
    print(f"\nidle memory of the running app (RSS, 2 s after the first page): {idle_mib:.0f} MiB")
    ready = statistics.median(s.ready_seen_s for s in starts)
    headline.write(
        args.headline,
        [
            (
                "GUI cold start to the first interactive step",
                f"{ready:.2f} s median",
                "under 1.5 s",
            ),
            ("idle memory of the running app (RSS)", f"{idle_mib:.0f} MiB", "—"),
        ],
    )
    if slowest:
        print("\n### slowest imports of one start (cumulative, `python -X importtime`)\n")
        print(table(["module", "ms"], [[name.strip(), f"{us / 1000:.0f}"] for us, name in slowest]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
