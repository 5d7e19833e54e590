"""Runs every benchmark and writes one Markdown table with the machine it ran on.

Each benchmark runs in its own process with `--headline FILE` and hands back its headline
figures; this script gathers them into `bench/RESULTS.md` and, with `--readme`, replaces the
table between the markers in README.md. Figures, never asserts: the machines are noisy.

    bench/run [--readme] [--quick]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHES = {
    "bench_recommend.py": ([], ["--runs", "5", "--big-runs", "2"]),
    "bench_startup.py": ([], ["--runs", "3"]),
    "bench_memory.py": ([], ["--contexts", "1024", "8192"]),
    "bench_speed.py": ([], []),
    "bench_smoke.py": ([], ["--pairs", "3", "--tokens", "128"]),
}
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def machine() -> str:
    import psutil

    from modelvet import __version__
    from modelvet.engine.machine import detect

    spec = detect(measure_bandwidth=False)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    gpus = ", ".join(g.name for g in spec.gpus) or "no GPU"
    return (
        f"{spec.cpu_model or platform.processor() or 'CPU'}, {psutil.cpu_count()} logical "
        f"cores, {spec.ram_gb:.0f} GB RAM, {gpus}; {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}; ModelVet {__version__} "
        f"at {commit or 'an uncommitted tree'}; {dt.date.today().isoformat()}"
    )


def run(script: str, extra: list[str], folder: Path) -> list[dict[str, str]]:
    out = folder / f"{script}.json"
    print(f"running {script} …", file=sys.stderr, flush=True)
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / script), *extra, "--headline", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or not out.exists():
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        return [{"measure": script, "figure": f"failed: {tail[0]}", "target": ""}]
    return json.loads(out.read_text(encoding="utf-8"))


def table(rows: list[dict[str, str]], where: str) -> str:
    lines = [f"Measured on {where}.", "", "| measure | figure | target |", "|---|---|---|"]
    lines += [f"| {r['measure']} | {r['figure']} | {r['target']} |" for r in rows]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readme", action="store_true", help="update README.md's table too")
    parser.add_argument("--quick", action="store_true", help="fewer repeats (noisier figures)")
    args = parser.parse_args()
    rows: list[dict[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="modelvet-bench-") as folder:
        for script, (full, quick) in BENCHES.items():
            rows += run(script, quick if args.quick else full, Path(folder))
    text = table(rows, machine())
    (ROOT / "bench" / "RESULTS.md").write_text("# Benchmark results\n\n" + text, encoding="utf-8")
    print(text)
    if args.readme:
        readme = ROOT / "README.md"
        body = readme.read_text(encoding="utf-8")
        if START not in body or END not in body:
            print(f"README.md has no {START} … {END} markers", file=sys.stderr)
            return 1
        head, rest = body.split(START, 1)
        readme.write_text(f"{head}{START}\n{text}{END}{rest.split(END, 1)[1]}", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
