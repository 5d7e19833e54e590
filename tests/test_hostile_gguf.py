"""A generated corpus of broken and hostile GGUF files: `inspect` and `smoke` refuse every one
with exit 2 and a one-line message naming the file, never a traceback, never a hang."""

from __future__ import annotations

import contextlib
import os
import signal
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelvet import cli
from modelvet.engine.errors import ModelVetError
from modelvet.engine.gguf_file import read_gguf
from tests.gguf_craft import (
    ARRAY,
    BOOL,
    I32,
    Q4_0_TYPE,
    STRING,
    U8,
    U32,
    U64,
    Craft,
    Tensor,
    array,
    scalar,
    sound_model,
    string,
)
from tests.helpers import run_modelvet

HANG_LIMIT_S = 10  # generous: a sound header is read in milliseconds
BIG = 2**64 - 1


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Fail a call that runs too long (the reader is pure Python, so SIGALRM interrupts it)."""

    def expired(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _with(**changes: object) -> Craft:
    craft = sound_model()
    for name, value in changes.items():
        setattr(craft, name, value)
    return craft


def _kv(key: str, value_type: int, payload: bytes) -> Craft:
    return sound_model().kv(key, value_type, payload)


def _replace_kv(key: str, value_type: int, payload: bytes) -> Craft:
    craft = sound_model()
    craft.kvs = [kv for kv in craft.kvs if kv[0] != string(key)]
    return craft.kv(key, value_type, payload)


def _tensors(*tensors: Tensor) -> Craft:
    return _with(tensors=list(tensors))


def hostile_cases() -> dict[str, bytes]:
    """Every case by name; each is bytes of a whole file."""
    sound, marks = sound_model().build()
    cases: dict[str, bytes] = {"empty": b""}
    for mark in marks[:-1]:
        cases[f"truncated-at-{mark}"] = sound[:mark]
        cases[f"truncated-before-{mark}"] = sound[: mark - 1]
    crafted: dict[str, Craft] = {
        "wrong-magic": _with(magic=b"GGUG"),
        "ggml-magic": _with(magic=b"lmgg"),
        "version-1": _with(version=1),
        "version-4": _with(version=4),
        "version-max": _with(version=2**32 - 1),
        "absurd-key-count": _with(n_kv=BIG),
        "key-count-past-the-end": _with(n_kv=10_000),
        "absurd-tensor-count": _with(n_tensors=BIG),
        "tensor-count-past-the-end": _with(n_tensors=99_999),
        "huge-string-value": _kv("general.description", STRING, string("x", length=2**62)),
        "string-value-past-the-end": _kv("general.description", STRING, string("x", 10**6)),
        "huge-u8-array": _kv("general.tags", ARRAY, array(U8, [1], count=BIG)),
        "u8-array-past-the-end": _kv("general.tags", ARRAY, array(U8, [1], count=10**6)),
        "u8-array-over-the-limit": _kv("general.tags", ARRAY, array(U8, [1], count=10**7)),
        "huge-string-array": _kv("general.tags", ARRAY, array(STRING, ["a"], count=2**40)),
        "nested-array-bogus-count": _kv(
            "general.tags", ARRAY, struct.pack("<IQ", ARRAY, 2**61) + struct.pack("<IQ", U8, 1)
        ),
        "nested-array-small": _kv(
            "general.tags", ARRAY, struct.pack("<IQ", ARRAY, 1) + array(U8, [1, 2])
        ),
        "unknown-value-type": _kv("general.x", 13, b"\0" * 8),
        "unknown-value-type-max": _kv("general.x", 2**32 - 1, b"\0" * 8),
        "unknown-array-item-type": _kv("general.tags", ARRAY, struct.pack("<IQ", 99, 1)),
        "duplicate-key": _kv("general.name", STRING, string("again")),
        "block-count-as-text": _replace_kv("llama.block_count", STRING, string("32")),
        "block-count-absurd": _replace_kv("llama.block_count", U32, scalar(U32, 100_000)),
        "context-negative": _replace_kv("llama.context_length", I32, scalar(I32, -1)),
        "architecture-as-number": _replace_kv("general.architecture", U32, scalar(U32, 7)),
        "head-count-as-bool": _replace_kv("llama.attention.head_count", BOOL, scalar(BOOL, True)),
        "kv-heads-as-strings": _replace_kv(
            "llama.attention.head_count_kv", ARRAY, array(STRING, ["2", "2"])
        ),
        "alignment-not-power-of-two": _kv("general.alignment", U32, scalar(U32, 3)),
        "alignment-zero": _kv("general.alignment", U32, scalar(U32, 0)),
        "alignment-huge": _kv("general.alignment", U64, scalar(U64, 2**40)),
        "tensor-offset-past-the-end": _tensors(Tensor("a", [64], offset=2**40, data=b"")),
        "tensor-offset-unaligned": _tensors(Tensor("a", [64], offset=4)),
        "tensors-overlap": _tensors(Tensor("a", [64], offset=0), Tensor("b", [64], offset=128)),
        "tensor-no-dims": _tensors(Tensor("a", [], data=b"")),
        "tensor-five-dims": _tensors(Tensor("a", [1, 1, 1, 1, 1])),
        "tensor-shape-overflows": _tensors(Tensor("a", [2**32, 2**32, 2**32], data=b"")),
        "tensor-unknown-type": _tensors(Tensor("a", [64], type_id=99)),
        "tensor-removed-type": _tensors(Tensor("a", [64], type_id=4)),
        "tensor-row-not-whole-blocks": _tensors(Tensor("a", [33], type_id=Q4_0_TYPE, data=b"")),
        "tensor-duplicate-name": _tensors(Tensor("a", [64]), Tensor("a", [64])),
        "tensor-huge-name": _tensors(Tensor("x" * 100_000, [64])),
        "split-part-without-its-name": _kv("split.count", U32, scalar(U32, 3)),
    }
    for name, craft in crafted.items():
        cases[name] = craft.build()[0]
    # A key whose length field claims 2^64 - 1 bytes.
    cases["huge-key-length"] = sound[:24] + struct.pack("<Q", BIG) + sound[32:]
    return cases


CASES = hostile_cases()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    for name, payload in CASES.items():
        (folder / f"{name}.gguf").write_bytes(payload)
    return folder


def test_the_sound_model_is_read(tmp_path: Path) -> None:
    """The corpus's starting point is sound, so each refusal below is the damage's doing."""
    path = tmp_path / "sound.gguf"
    path.write_bytes(sound_model().build()[0])
    facts = read_gguf(path)
    assert (facts.architecture, facts.layers, facts.kv_heads, facts.vocab_size) == (
        "llama",
        2,
        2,
        300,
    )
    assert facts.parameter_count == 64 * 300 + 64 * 64 + 64
    assert cli.main(["inspect", str(path), "--json"]) == 0


def test_the_corpus_covers_every_boundary() -> None:
    marks = sound_model().build()[1]
    assert len([n for n in CASES if n.startswith("truncated-at-")]) == len(marks) - 1 > 50


@pytest.mark.parametrize("command", ["inspect", "smoke"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_file_is_refused_in_one_line(
    case: str, command: str, corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = corpus / f"{case}.gguf"
    with time_limit(HANG_LIMIT_S):
        code = cli.main([command, str(path)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith(f"modelvet: {path}: "), err
    assert len(err) < 400, err


@pytest.mark.parametrize("command", ["inspect", "smoke"])
@pytest.mark.parametrize("kind", ["pipe", "device", "folder"])
def test_a_pipe_a_device_or_a_folder_is_refused_without_blocking(
    kind: str, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "model.gguf"
    if kind == "pipe":
        os.mkfifo(path)  # opening it for reading would wait for a writer forever
    elif kind == "folder":
        path.mkdir()
    else:
        path = Path("/dev/zero")  # endless zeros
    with time_limit(HANG_LIMIT_S):
        code = cli.main([command, str(path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and str(path) in err, err


def test_the_nested_array_that_hung_the_gguf_package_is_refused_at_once(corpus: Path) -> None:
    with time_limit(HANG_LIMIT_S), pytest.raises(ModelVetError, match="array of arrays"):
        read_gguf(corpus / "nested-array-bogus-count.gguf")


SUBPROCESS_CASES = [
    "nested-array-bogus-count",
    "huge-string-array",
    "tensor-shape-overflows",
    "truncated-at-24",
    "kv-heads-as-strings",
]


@pytest.mark.parametrize("command", ["inspect", "smoke"])
@pytest.mark.parametrize("case", SUBPROCESS_CASES)
def test_the_real_command_refuses_without_traceback(case: str, command: str, corpus: Path) -> None:
    path = corpus / f"{case}.gguf"
    done = run_modelvet(command, str(path), "--json", timeout=60)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert done.stderr.count("\n") == 1 and str(path) in done.stderr


def test_discovery_marks_files_that_are_not_gguf(corpus: Path, tmp_path: Path) -> None:
    """Finding model files reads only their first 24 bytes, and says which are not GGUF."""
    from modelvet.engine.catalog import load_catalog
    from modelvet.engine.smoke.discover import discover

    folder = tmp_path / "models"
    folder.mkdir()
    (folder / "sound.gguf").write_bytes(sound_model().build()[0])
    for case in ("wrong-magic", "version-4", "absurd-key-count"):
        (folder / f"{case}.gguf").write_bytes(CASES[case])
    found = {f.path.name: f.problem for f in discover(load_catalog(), [folder])}
    assert found["sound.gguf"] is None
    assert found["wrong-magic.gguf"] == "not a GGUF file (no GGUF magic at the start)"
    assert found["version-4.gguf"] == "unsupported GGUF version 4 (ModelVet reads 2 and 3)"
    assert "implausible header" in str(found["absurd-key-count.gguf"])


def test_the_wizard_refuses_a_hostile_file_and_keeps_working(qtbot, corpus: Path) -> None:
    from modelvet.engine.catalog import bundled_catalog
    from modelvet.gui.pages.smoke import SmokePage

    page = SmokePage(bundled_catalog(), [])
    qtbot.addWidget(page)
    for case in ("nested-array-bogus-count", "tensor-shape-overflows", "truncated-at-24"):
        page.start(corpus / f"{case}.gguf")
        qtbot.waitUntil(lambda: page.verdict.text() != "", timeout=HANG_LIMIT_S * 1000)
        assert page.verdict.text().startswith("✗ Not loaded: "), page.verdict.text()
        assert str(corpus / f"{case}.gguf") in page.verdict.text()
        # and the page is idle again, ready for another file
        qtbot.waitUntil(
            lambda: page.demo_button.isEnabled() and not page.cancel_button.isEnabled(),
            timeout=HANG_LIMIT_S * 1000,
        )
        assert page.controller.process is None
    page.shutdown()
