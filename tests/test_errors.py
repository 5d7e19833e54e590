"""One error hierarchy: exit codes from the error itself, engine words free of CLI flags."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from modelvet.engine.errors import Cancelled, CheckFailed, ModelVetError, require
from tests.helpers import REPO
from tests.tiny_gguf import TinyShape, write_gemma3

ENGINE = REPO / "desktop" / "modelvet" / "engine"
ERROR_TYPES = {"ModelVetError", "CheckFailed", "Cancelled"}
FLAG = re.compile(r"(^|[\s`(])--[a-z]")


def _modelvet(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelvet", *args], capture_output=True, text=True, timeout=120
    )


def _words(node: ast.AST) -> list[str]:
    """The literal text of a call's arguments, f-string parts included."""
    return [
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]


def test_engine_errors_never_name_a_command_line_flag() -> None:
    found = []
    for path in sorted(ENGINE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            if name in ERROR_TYPES:
                found += [f"{path.name}:{node.lineno}: {w}" for w in _words(node) if FLAG.search(w)]
    assert not found, found


@pytest.mark.parametrize(
    ("error", "code"),
    [(ModelVetError("bad"), 2), (CheckFailed("negative"), 1), (Cancelled("stopped"), 130)],
)
def test_every_error_is_a_modelvet_error_with_its_exit_code(
    error: ModelVetError, code: int
) -> None:
    assert isinstance(error, ModelVetError) and error.exit_code == code


def test_a_hint_added_on_the_way_up_is_in_the_message() -> None:
    error = CheckFailed("will not fit", "model.gguf")
    error.hint = "use --force to try anyway"
    assert str(error) == "model.gguf: will not fit (use --force to try anyway)"


def test_an_unknown_id_suggests_the_nearest_one_not_the_whole_list() -> None:
    table = {f"preset-{n}": n for n in range(30)} | {"rtx-4090-workstation": 1}
    with pytest.raises(ModelVetError) as caught:
        require(table, "rtx-4090-workstaton", "hardware preset", "hardware.preset")
    assert caught.value.hint == "did you mean 'rtx-4090-workstation'?"
    with pytest.raises(ModelVetError) as caught:
        require(table, "zzzzzzzz", "hardware preset", "hardware.preset")
    assert "preset-1" not in caught.value.hint


def test_a_misspelt_preset_in_a_profile_names_the_file_and_the_nearest_preset(
    tmp_path: Path,
) -> None:
    profile = tmp_path / "site.toml"
    profile.write_text("[hardware]\npreset = 'rtx-4090-workstaton'\n")
    done = _modelvet("recommend", "--profile", str(profile))
    assert done.returncode == 2
    assert done.stderr.startswith(f"modelvet: {profile}: hardware.preset: unknown hardware preset")
    assert "did you mean 'rtx-4090-workstation'?" in done.stderr
    assert "rtx-4060-desktop" not in done.stderr  # not the list of every preset


def test_a_misspelt_preset_to_plan_for_suggests_the_nearest() -> None:
    example = REPO / "examples" / "us-defense-24gb.toml"
    done = _modelvet("plan", "--profile", str(example), "--hardware", "rtx-4090-workstaton")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "modelvet: --hardware: neither a hardware preset nor a file: rtx-4090-workstaton "
        "(did you mean 'rtx-4090-workstation'?)"
    )


def test_a_file_that_will_not_fit_exits_1_and_the_cli_names_its_flag(tmp_path: Path) -> None:
    """CheckFailed reaches the CLI's one except clause and exits with its own code; the engine
    says the file can be loaded anyway, the CLI says how (its flag)."""
    model = write_gemma3(tmp_path / "long.gguf", TinyShape(context=2**30))
    done = _modelvet("smoke", str(model), "--context", str(2**30), "--timeout", "30")
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines()[-1].startswith(f"modelvet: {model}: will not fit: needs")
    assert done.stderr.rstrip().endswith("(use --force to try anyway)")


def test_a_file_that_cannot_be_written_says_what_to_do(tmp_path: Path) -> None:
    from modelvet.engine.profile import Profile, save_profile

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    with pytest.raises(ModelVetError) as caught:
        save_profile(Profile(), blocker / "site.toml")
    assert caught.value.title.startswith("cannot write")
    assert caught.value.hint == "choose a folder you can write to"


@pytest.mark.parametrize("error", [Cancelled("stopped hashing"), CheckFailed("did not pass")])
def test_the_cli_exits_with_the_code_the_error_carries(
    error: ModelVetError, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from modelvet import cli

    def stopped(args: object) -> int:
        raise error

    monkeypatch.setattr(cli, "_cmd_hardware", stopped)  # the command is not what is tested
    assert cli.main(["hardware"]) == error.exit_code
    assert capsys.readouterr().err.endswith(f"modelvet: {error.title}\n")


def test_the_engine_says_a_file_can_be_loaded_anyway_without_naming_the_flag(
    tmp_path: Path,
) -> None:
    from modelvet.engine.catalog import load_catalog
    from modelvet.engine.fit.settings import RunSettings
    from modelvet.engine.hardware import HardwareSpec
    from modelvet.engine.smoke.check import check_before_load

    model = write_gemma3(tmp_path / "tiny.gguf")
    small = HardwareSpec(name="small", origin="profile", ram_gb=0.001, ram_available_gb=0.001)
    with pytest.raises(CheckFailed) as caught:
        check_before_load(model, load_catalog(), RunSettings(4096), small)
    assert (caught.value.where, caught.value.hint) == (str(model), "it can be loaded anyway")
    assert "--" not in str(caught.value)
