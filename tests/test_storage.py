"""Nothing lost: a writer killed mid-write (a real child, SIGKILL) leaves the previous file
whole; a full disk or a read-only folder (real ones, mounted in a private namespace) gives a
one-line error and leaves the previous file as it was."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import EXAMPLE

PAYLOAD_BYTES = 16 * 2**20
PREVIOUS = b"the previous, complete file\n"

_WRITER = """
import sys
from pathlib import Path
from modelvet.engine.storage import atomic_write_bytes
target, kind = Path(sys.argv[1]), sys.argv[2]
size = int(sys.argv[3])
payloads = [b"A" * size, b"B" * size]
n = 0
while True:
    print("writing", flush=True)
    payload = payloads[n % 2]
    if kind == "atomic":
        atomic_write_bytes(target, payload)
    else:  # the control: how a plain write behaves under the same kill
        target.write_bytes(payload)
    n += 1
"""


def kill_mid_write(target: Path, kind: str, seed: int) -> bytes:
    """Start a writer looping over two payloads, SIGKILL it at a random moment, return the file."""
    target.write_bytes(PREVIOUS)
    writer = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(target), kind, str(PAYLOAD_BYTES)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout is not None
    rng = random.Random(seed)
    for _ in range(rng.randint(1, 3)):
        writer.stdout.readline()
    time.sleep(rng.uniform(0, 0.03))
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    writer.stdout.close()
    return target.read_bytes()


def is_whole(content: bytes) -> bool:
    return content in (PREVIOUS, b"A" * PAYLOAD_BYTES, b"B" * PAYLOAD_BYTES)


def test_a_killed_atomic_writer_never_leaves_a_torn_file(tmp_path: Path) -> None:
    target = tmp_path / "record.pdf"
    for seed in range(8):
        content = kill_mid_write(target, "atomic", seed)
        assert is_whole(content), f"torn file after kill {seed}: {len(content)} bytes"


def test_the_kill_harness_catches_a_plain_writer(tmp_path: Path) -> None:
    """The control that shows the test above can fail: plain writes are caught torn."""
    target = tmp_path / "record.pdf"
    torn = [seed for seed in range(8) if not is_whole(kill_mid_write(target, "plain", seed))]
    assert torn


# --- A real full disk and a real read-only folder ------------------------------------------

_IN_NAMESPACE = r"""
import json, os, subprocess, sys
folder, mode, home = sys.argv[1], sys.argv[2], sys.argv[3]
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", folder], check=True)
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", home], check=True)
record = os.path.join(folder, "record.html")
with open(record, "w") as handle:
    handle.write("the signed record")
os.makedirs(os.path.join(home, "data"))
if mode == "full":
    for target in (folder, home):
        with open(os.path.join(target, "filler"), "wb", buffering=0) as handle:
            try:
                while True:
                    handle.write(b"\0" * 512)
            except OSError:
                pass
else:
    for target in (folder, home):
        subprocess.run(["mount", "-o", "remount,ro", target], check=True)
env = dict(os.environ, MODELVET_HOME=os.path.join(home, "data"))
out = {}
for name, args in {
    "report": ["report", "--profile", sys.argv[4], "--format", "html", "-o", record],
    "history": ["history"],
}.items():
    done = subprocess.run([sys.executable, "-m", "modelvet", *args], capture_output=True,
                          text=True, env=env, timeout=120)
    out[name] = {"code": done.returncode, "stderr": done.stderr}
out["record"] = open(record).read()
out["listing"] = sorted(n for n in os.listdir(folder) if n != "filler")
print(json.dumps(out))
"""


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare (util-linux)")
@pytest.mark.parametrize(
    ("mode", "reason"), [("full", "No space left on device"), ("read-only", "Read-only")]
)
def test_full_disk_and_read_only_folder_are_one_line_errors(
    tmp_path: Path, mode: str, reason: str
) -> None:
    folder, home = tmp_path / "reports", tmp_path / "home"
    folder.mkdir()
    home.mkdir()
    done = subprocess.run(
        [
            "unshare",
            "-rm",
            sys.executable,
            "-c",
            _IN_NAMESPACE,
            str(folder),
            mode,
            str(home),
            str(EXAMPLE),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ},
    )
    if done.returncode != 0 and "Operation not permitted" in done.stderr:
        pytest.skip(f"cannot mount in a user namespace here: {done.stderr.strip()}")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    report = out["report"]
    assert report["code"] == 2 and "Traceback" not in report["stderr"], report
    assert report["stderr"].count("\n") == 1 and reason in report["stderr"], report
    assert str(folder / "record.html") in report["stderr"]
    assert out["record"] == "the signed record" and out["listing"] == ["record.html"]
    history = out["history"]
    assert history["code"] == 2 and "Traceback" not in history["stderr"], history
    assert history["stderr"].count("\n") == 1, history


def test_a_killed_writers_temporary_file_is_cleared_once_stale(tmp_path: Path) -> None:
    from modelvet.engine.storage import STALE_TEMPORARY_S, atomic_write_bytes

    target = tmp_path / "record.pdf"
    stale = tmp_path / ".record.pdf.abc123.tmp"  # as a SIGKILLed writer leaves it
    fresh = tmp_path / ".record.pdf.def456.tmp"  # perhaps another writer, right now
    for leftover in (stale, fresh):
        leftover.write_bytes(b"half a report")
    old = time.time() - STALE_TEMPORARY_S - 60
    os.utime(stale, (old, old))
    atomic_write_bytes(target, b"the whole report")
    assert sorted(p.name for p in tmp_path.iterdir()) == [fresh.name, "record.pdf"]


# --- the calibration store -----------------------------------------------------------------


def _a_machine():  # type: ignore[no-untyped-def]
    from modelvet.engine.hardware import HardwareSpec

    return HardwareSpec(name="box", origin="detected", cpu_model="CPU", ram_gb=32)


def test_calibration_written_by_a_newer_modelvet_is_left_alone(tmp_path: Path) -> None:
    from modelvet.engine.fit import calibration

    store = tmp_path / "calibration.json"
    newer = json.dumps({"schema_version": calibration.SCHEMA_VERSION + 1, "machines": {"x": 1}})
    store.write_text(newer)
    calibration.record(_a_machine(), "cpu", 0.8, path=store)
    assert store.read_text() == newer


@pytest.mark.parametrize(
    "content",
    [
        "[1, 2]",
        '{"schema_version": 1, "machines": []}',
        '{"schema_version": 1, "machines": {"k": 3}}',
        "{trunc",
    ],
)
def test_a_damaged_calibration_reads_as_none_and_is_replaced(tmp_path: Path, content: str) -> None:
    from modelvet.engine.fit import calibration

    store = tmp_path / "calibration.json"
    store.write_text(content)
    assert calibration.calibration_for(_a_machine(), "cpu", path=store).runs == 0
    calibration.record(_a_machine(), "cpu", 0.8, path=store)
    assert calibration.calibration_for(_a_machine(), "cpu", path=store).decode == 0.8


def test_a_calibration_that_cannot_be_written_costs_nothing_else(tmp_path: Path) -> None:
    from modelvet.engine.fit import calibration

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    calibration.record(_a_machine(), "cpu", 0.8, path=blocker / "calibration.json")
    assert blocker.read_text() == "a file where the folder should be"
