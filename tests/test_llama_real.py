"""Against the real llama.cpp on the real SmolLM2 GGUF: memory accuracy, inspect, smoke test."""

from __future__ import annotations

import json
import os
import selectors
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from modelvet.engine.catalog import load_catalog
from modelvet.engine.errors import ModelVetError
from modelvet.engine.fit.settings import RunSettings
from modelvet.engine.machine import detect
from modelvet.engine.smoke import build_request, check_before_load, summarise
from modelvet.engine.smoke.protocol import SmokeRequest
from modelvet.engine.smoke.runner import SmokeSession
from tests.helpers import FIXTURES, child_processes, run_modelvet

pytestmark = pytest.mark.llama
MIB = 2**20


def test_inspect_reports_file_facts_and_catalog_match(smol_gguf: Path) -> None:
    done = run_modelvet("inspect", str(smol_gguf), "--context", "2048", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["architecture"] == "llama"
    assert (report["layers"], report["kv_heads"], report["head_dim"]) == (30, 3, 64)
    assert report["catalog_match"]["model_id"] == "smollm2-135m-instruct"
    assert report["catalog_match"]["matched_by"] == "sha256"
    memory = report["memory"]
    assert memory["total_bytes"] == (
        memory["weights_bytes"]
        + memory["kv_cache_bytes"]
        + memory["compute_bytes"]
        + memory["overhead_bytes"]
    )
    assert report["chat_template"]["present"] is True
    assert not [f for f in report["chat_template"]["findings"] if f["severity"] == "danger"]


@pytest.fixture
def truncated_gguf(smol_gguf: Path, tmp_path: Path) -> Path:
    path = tmp_path / "truncated.gguf"
    with smol_gguf.open("rb") as source:
        path.write_bytes(source.read(smol_gguf.stat().st_size // 2))
    return path


@pytest.fixture
def not_gguf(tmp_path: Path) -> Path:
    path = tmp_path / "notes.gguf"
    path.write_text("these are not model weights\n" * 100)
    return path


@pytest.mark.parametrize("command", ["inspect", "smoke"])
@pytest.mark.parametrize("bad", ["truncated_gguf", "not_gguf"])
def test_bad_files_are_exit_2_with_no_traceback(
    command: str, bad: str, request: pytest.FixtureRequest
) -> None:
    path = request.getfixturevalue(bad)
    done = run_modelvet(command, str(path))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert str(path) in done.stderr
    assert ("truncated" in done.stderr) or ("not a GGUF file" in done.stderr)


def test_smoke_json_full_run(smol_gguf: Path) -> None:
    done = run_modelvet("smoke", str(smol_gguf), "--context", "2048", "--language", "fr", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["passed"] is True
    measured = result["measured"]
    assert measured["load_seconds"] > 0
    assert measured["generation_tokens_per_s"] > 0 and measured["prompt_tokens_per_s"] > 0
    assert measured["peak_rss_bytes"] > 90 * MIB
    quantities = {c["quantity"]: c for c in result["comparisons"]}
    assert quantities["KV cache"]["ratio"] == pytest.approx(1.0, abs=0.05)
    assert quantities["generation speed"]["predicted"] > 0
    assert result["bandwidth_bound_tokens_per_s"] > 0
    probe_ids = {p["id"] for p in result["probes"]}
    assert {"arithmetic", "json", "code", "summary", "language-fr"} <= probe_ids
    assert all(p["answer"] for p in result["probes"])
    assert any(p["passed"] for p in result["probes"])
    runs = json.loads(run_modelvet("history", "--file", str(smol_gguf), "--json").stdout)
    assert len(runs) == 1 and runs[0]["passed"] == 1 and runs[0]["sha256"] == result["sha256"]


def test_smoke_prompt_streams_an_answer(smol_gguf: Path) -> None:
    """The answer to --prompt reaches a pipe in pieces while the model writes it, before the
    summary: read as it arrives, as a user's terminal or script would."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # a plain pipe
    command = [sys.executable, "-m", "modelvet", "smoke", str(smol_gguf), "--context", "1024"]
    with subprocess.Popen(
        [*command, "--prompt", "Name three colours."],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    ) as child:
        assert child.stdout is not None
        reads = _reads_until_closed(child.stdout.fileno(), deadline_s=300)
        assert child.wait(timeout=60) == 0
    text = b"".join(reads).decode()
    summary = text.index(f"\n{smol_gguf}\n")  # print_smoke's first line
    assert text[:summary].strip(), "no answer before the summary"
    before_summary = 0
    for chunk in reads:  # the pieces that arrived before any of the summary did
        if str(smol_gguf).encode() in chunk:
            break
        before_summary += 1
    assert before_summary >= 2, f"the answer arrived in {before_summary} read(s): {reads[:3]}"


def _reads_until_closed(fd: int, deadline_s: float) -> list[bytes]:
    """Each os.read of a pipe as it came, until the writer closes it."""
    reads: list[bytes] = []
    deadline = time.monotonic() + deadline_s
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not selector.select(timeout=1):
                continue
            data = os.read(fd, 65536)
            if not data:
                return reads
            reads.append(data)
    raise AssertionError(f"the smoke test did not finish within {deadline_s} s")


def test_cancel_mid_run_kills_the_child(smol_gguf: Path) -> None:
    settings = RunSettings(2048, flash_attention=False)
    pre = check_before_load(smol_gguf, load_catalog(), settings, detect(measure_bandwidth=False))
    request = build_request(pre, ["general"], ["en"], generate_tokens=100_000)
    seen: list[str] = []
    session = SmokeSession(request, lambda e: seen.append(e.event), timeout_s=120)

    def cancel_once_measuring() -> None:
        deadline = time.monotonic() + 60
        while "loaded" not in seen and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
        session.cancel()

    canceller = threading.Thread(target=cancel_once_measuring)
    canceller.start()
    started = time.monotonic()
    events = session.run()
    canceller.join()
    assert time.monotonic() - started < 60
    result = summarise(pre, events, session.outcome)
    assert result.cancelled and not result.passed and result.verdict == "cancelled"
    assert child_processes() == []


def test_hung_child_times_out(smol_gguf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A child that never answers (here: one that only sleeps) is killed at the timeout."""
    from modelvet.engine.smoke import runner

    monkeypatch.setattr(
        runner, "child_command", lambda: [sys.executable, "-c", "import time; time.sleep(600)"]
    )
    session = SmokeSession(SmokeRequest(model_path=str(smol_gguf)), lambda e: None, timeout_s=2)
    started = time.monotonic()
    session.run()
    assert session.outcome.timed_out and time.monotonic() - started < 10
    assert child_processes() == []


def test_hash_mismatch_is_a_loud_failure(smol_gguf: Path, tmp_path: Path) -> None:
    catalog_dir = tmp_path / "catalog"
    shutil.copytree(FIXTURES / "catalog", catalog_dir)
    (catalog_dir / "models" / "smol.toml").write_text(f'''schema_version = 1
family = "Smol"

[[models]]
id = "smol"
name = "Smol"
developer = "usdev"
license = "open"
repo = "usdev/smol"
modalities = ["text"]
sources = {{ card = "https://example.org/smol" }}

[[models.artifacts]]
format = "gguf"
quant = "Q4_1"
publisher = "US Dev Inc."
official = true
repo = "usdev/smol-gguf"
files = ["{smol_gguf.name}"]
sha256 = "{"0" * 64}"
source = "https://example.org/smol-gguf"
''')
    with pytest.raises(ModelVetError, match="sha256 mismatch"):
        check_before_load(
            smol_gguf, load_catalog(catalog_dir), RunSettings(1024), detect(measure_bandwidth=False)
        )
    done = run_modelvet(
        "smoke",
        str(smol_gguf),
        env={"MODELVET_CATALOG": str(catalog_dir), "MODELVET_HOME": str(tmp_path / "home")},
        timeout=120,
    )
    assert done.returncode == 2
    assert "sha256 mismatch" in done.stderr and "do not load it" in done.stderr


def test_a_file_that_cannot_fit_is_refused_unless_forced(smol_gguf: Path) -> None:
    from modelvet.engine.errors import CheckFailed
    from modelvet.engine.hardware import HardwareSpec

    tiny = HardwareSpec(name="tiny", origin="profile", ram_gb=0.1, ram_available_gb=0.1)
    with pytest.raises(CheckFailed, match="will not fit"):
        check_before_load(smol_gguf, load_catalog(), RunSettings(2048), tiny)
    forced = check_before_load(smol_gguf, load_catalog(), RunSettings(2048), tiny, force=True)
    assert any(check.startswith("forced:") for check in forced.checks)
