"""Offline, proven: the commands run in a network namespace with no way out, with a socket
guard in every Python process they start (the smoke-test child included) that logs any
attempt; and no module of the app imports an HTTP client."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import EXAMPLE, REPO

GUARD = Path(__file__).parent / "offline"
APP = REPO / "desktop" / "modelvet"
HTTP_CLIENTS = {
    "aiohttp",
    "ftplib",
    "grpc",
    "http",
    "httpx",
    "huggingface_hub",
    "poplib",
    "requests",
    "smtplib",
    "socket",
    "ssl",
    "telnetlib",
    "urllib3",
    "websocket",
    "websockets",
    "xmlrpc",
}


def _namespace_prefix() -> list[str]:
    """`unshare -rn`: a private network namespace whose only interface (lo) is down."""
    if shutil.which("unshare") is None:
        return []
    probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True)
    return ["unshare", "-rn"] if probe.returncode == 0 else []


@pytest.fixture
def offline(tmp_path: Path) -> tuple[list[str], dict[str, str], Path]:
    log = tmp_path / "network.log"
    log.touch()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(GUARD), os.environ.get("PYTHONPATH")])),
        "MODELVET_OFFLINE_LOG": str(log),
    }
    return _namespace_prefix(), env, log


def run_offline(
    offline: tuple[list[str], dict[str, str], Path], *args: str
) -> subprocess.CompletedProcess[str]:
    prefix, env, _ = offline
    return subprocess.run(
        [*prefix, sys.executable, *args], capture_output=True, text=True, env=env, timeout=600
    )


def test_the_guard_refuses_and_records_a_connection(offline) -> None:
    """The control: a process that does try to connect is stopped, and the log says so."""
    done = run_offline(
        offline, "-c", "import socket; socket.create_connection(('192.0.2.1', 80), timeout=2)"
    )
    assert done.returncode != 0
    assert "blocked create_connection ('192.0.2.1', 80)" in offline[2].read_text()


@pytest.mark.llama
def test_every_command_works_offline(offline, smol_gguf: Path, tmp_path: Path) -> None:
    commands = {
        "recommend": ["recommend", "--profile", str(EXAMPLE), "--json"],
        "inspect": ["inspect", str(smol_gguf), "--json"],
        "smoke": ["smoke", str(smol_gguf), "--context", "1024", "--prompt", "Say hello."],
        "estimate": ["estimate", "--profile", str(EXAMPLE), "--model", "smollm2-135m-instruct"],
        "report": [
            "report",
            "--profile",
            str(EXAMPLE),
            "--format",
            "html",
            "-o",
            str(tmp_path / "record.html"),
        ],
    }
    missing = []
    for name, args in commands.items():
        done = run_offline(offline, "-m", "modelvet", *args)
        if name == "estimate" and "invalid choice: 'estimate'" in done.stderr:
            missing.append(name)  # the command lands with issue 9; nothing to prove yet
            continue
        assert done.returncode == 0, (name, done.stderr)
    log = offline[2].read_text().splitlines()
    assert [line for line in log if " blocked " in line] == []
    guarded = [line for line in log if " guarded " in line]
    assert len(guarded) >= len(commands) - len(missing) + 1  # one per command, plus the child
    assert any("modelvet.engine.smoke.child" in line for line in guarded)
    assert (tmp_path / "record.html").stat().st_size > 0


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
    return names


def test_no_module_of_the_app_imports_a_network_client() -> None:
    modules = sorted(APP.rglob("*.py"))
    assert len(modules) > 40
    offenders = {
        str(path.relative_to(APP)): sorted(
            name
            for name in _imports(path)
            if name.split(".")[0] in HTTP_CLIENTS or name.startswith("urllib.request")
        )
        for path in modules
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_the_import_check_sees_an_http_client(tmp_path: Path) -> None:
    """The control for the check above: it does notice each way of importing a client."""
    sample = tmp_path / "sample.py"
    sample.write_text("import json\nfrom urllib.request import urlopen\nimport httpx as h\n")
    assert {"urllib.request", "httpx"} <= _imports(sample)
