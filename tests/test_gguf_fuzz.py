"""Property-based fuzzing of the bounded GGUF header reader and what `inspect` builds on it:
any bytes give either a report or a ModelVetError, in bounded time, never another exception."""

from __future__ import annotations

import struct
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from modelvet.engine.catalog import Catalog
from modelvet.engine.errors import ModelVetError
from modelvet.engine.fit.memory import RunSettings
from modelvet.engine.inspect import InspectReport, inspect_file
from tests.gguf_craft import ARRAY, STRING, Craft, Tensor, sound_model, string
from tests.test_hostile_gguf import HANG_LIMIT_S, time_limit

SOUND, MARKS = sound_model().build()
INTERESTING = [
    0,
    1,
    2,
    3,
    4,
    7,
    8,
    9,
    12,
    13,
    31,
    32,
    255,
    512,
    513,
    2**31,
    2**32 - 1,
    2**32,
    2**62,
    2**63,
    2**64 - 1,
]
FUZZ = settings(
    max_examples=250,
    deadline=None,  # no timing asserts: the hang limit below is the only clock
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _outcome(payload: bytes, catalog: Catalog) -> InspectReport | ModelVetError:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzzed.gguf"
        path.write_bytes(payload)
        try:
            with time_limit(HANG_LIMIT_S):
                report = inspect_file(path, catalog, RunSettings(4096), with_hash=False)
            event("read")  # a sound enough header: the report was built from it
            return report
        except ModelVetError as error:
            assert "\n" not in error.message()
            event(f"refused: {error.title.split(':')[0][:30]}")
            return error


edits = st.one_of(
    st.tuples(st.just("byte"), st.integers(0, len(SOUND) - 1), st.integers(0, 255)),
    st.tuples(st.just("word"), st.sampled_from(MARKS[:-1]), st.sampled_from(INTERESTING)),
    st.tuples(st.just("cut"), st.integers(0, len(SOUND)), st.just(0)),
    st.tuples(st.just("insert"), st.integers(0, len(SOUND)), st.integers(0, 255)),
)


def _apply(payload: bytes, edit: tuple[str, int, int]) -> bytes:
    kind, where, value = edit
    if kind == "byte":
        return payload[:where] + bytes([value]) + payload[where + 1 :]
    if kind == "word":  # a length, count, type or offset field set to an extreme
        width = 4 if value < 2**32 and where + 8 > len(payload) else 8
        return payload[:where] + value.to_bytes(width, "little") + payload[where + width :]
    if kind == "cut":
        return payload[:where]
    return payload[:where] + bytes([value]) + payload[where:]


@FUZZ
@given(st.lists(edits, min_size=1, max_size=6))
def test_mutated_files_give_a_report_or_a_clear_error(
    test_catalog: Catalog, mutations: list[tuple[str, int, int]]
) -> None:
    payload = SOUND
    for edit in mutations:
        payload = _apply(payload, edit)
    _outcome(payload, test_catalog)


KEYS = [
    "general.architecture",
    "general.alignment",
    "llama.block_count",
    "llama.context_length",
    "llama.embedding_length",
    "llama.attention.head_count",
    "llama.attention.head_count_kv",
    "llama.attention.key_length",
    "llama.expert_count",
    "llama.attention.sliding_window",
    "llama.full_attention_interval",
    "split.count",
    "tokenizer.ggml.tokens",
    "tokenizer.chat_template",
    "general.file_type",
    "x",
]
WIDTHS = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
values = st.one_of(
    st.tuples(st.sampled_from(sorted(WIDTHS)), st.sampled_from(INTERESTING)).map(
        lambda t: (t[0], (t[1] % 2 ** (8 * WIDTHS[t[0]])).to_bytes(WIDTHS[t[0]], "little"))
    ),
    st.tuples(st.sampled_from(sorted(WIDTHS)), st.binary(min_size=0, max_size=8)),
    st.tuples(st.just(STRING), st.text(max_size=20).map(string)),
    st.tuples(
        st.just(ARRAY),
        st.tuples(st.integers(0, 13), st.sampled_from(INTERESTING), st.binary(max_size=64)).map(
            lambda t: struct.pack("<IQ", t[0], t[1]) + t[2]
        ),
    ),
    st.tuples(st.integers(0, 2**32 - 1), st.binary(max_size=8)),
)
tensors = st.builds(
    Tensor,
    name=st.text(min_size=1, max_size=8),
    dims=st.lists(st.sampled_from([1, 32, 64, 256, 2**31, 2**63]), min_size=0, max_size=5),
    type_id=st.integers(0, 45),
    offset=st.one_of(st.none(), st.sampled_from(INTERESTING)),
    data=st.just(b""),
)


@FUZZ
@given(
    st.lists(st.tuples(st.sampled_from(KEYS), values), max_size=12),
    st.lists(tensors, max_size=4),
    st.sampled_from([2, 3]),
)
def test_generated_headers_give_a_report_or_a_clear_error(
    test_catalog: Catalog,
    kvs: list[tuple[str, tuple[int, bytes]]],
    tensor_list: list[Tensor],
    version: int,
) -> None:
    craft = Craft(version=version, tensors=tensor_list)
    for key, (value_type, payload) in kvs:
        craft.kv(key, value_type, payload)
    _outcome(craft.build()[0], test_catalog)


@FUZZ
@given(st.binary(max_size=2048), st.sampled_from([2, 3]))
def test_random_bytes_after_a_sound_preamble_give_a_report_or_a_clear_error(
    test_catalog: Catalog, tail: bytes, version: int
) -> None:
    _outcome(b"GGUF" + struct.pack("<I", version) + tail, test_catalog)
