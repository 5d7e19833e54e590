"""Writes GGUF files byte by byte, sound or hostile, and remembers every structural boundary.

The `gguf` package can only write sound files; a hostile corpus needs wrong counts, wrong
types and lies about lengths, so this writer takes raw values and never checks them.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

U8, I8, U16, I16, U32, I32, F32, BOOL, STRING, ARRAY, U64, I64, F64 = range(13)
_FORMATS = {
    U8: "B",
    I8: "b",
    U16: "H",
    I16: "h",
    U32: "I",
    I32: "i",
    F32: "f",
    BOOL: "?",
    U64: "Q",
    I64: "q",
    F64: "d",
}
F32_TYPE, Q4_0_TYPE = 0, 2


def string(text: str | bytes, length: int | None = None) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return struct.pack("<Q", len(raw) if length is None else length) + raw


def scalar(value_type: int, value: object) -> bytes:
    return struct.pack("<" + _FORMATS[value_type], value)


def array(item_type: int, items: list, count: int | None = None) -> bytes:
    head = struct.pack("<IQ", item_type, len(items) if count is None else count)
    if item_type == STRING:
        return head + b"".join(string(item) for item in items)
    return head + b"".join(scalar(item_type, item) for item in items)


@dataclass
class Tensor:
    name: str
    dims: list[int]
    type_id: int = F32_TYPE
    offset: int | None = None  # None: placed after the previous tensor, aligned
    data: bytes | None = None  # None: zeros of the right size for an F32 tensor


@dataclass
class Craft:
    """A GGUF file as parts; `build()` gives its bytes and the offset of every boundary."""

    magic: bytes = b"GGUF"
    version: int = 3
    kvs: list[tuple[bytes, int, bytes]] = field(default_factory=list)  # key, type, payload
    tensors: list[Tensor] = field(default_factory=list)
    n_kv: int | None = None
    n_tensors: int | None = None
    alignment: int = 32

    def kv(self, key: str | bytes, value_type: int, payload: bytes) -> Craft:
        self.kvs.append((string(key), value_type, payload))
        return self

    def build(self) -> tuple[bytes, list[int]]:
        out = bytearray()
        marks: list[int] = []

        def put(chunk: bytes) -> None:
            out.extend(chunk)
            marks.append(len(out))

        put(self.magic)
        put(struct.pack("<I", self.version))
        put(struct.pack("<Q", len(self.tensors) if self.n_tensors is None else self.n_tensors))
        put(struct.pack("<Q", len(self.kvs) if self.n_kv is None else self.n_kv))
        for key, value_type, payload in self.kvs:
            put(key)
            put(struct.pack("<I", value_type))
            put(payload)
        offset = 0
        blobs: list[tuple[int, bytes]] = []
        for tensor in self.tensors:
            data = tensor.data if tensor.data is not None else bytes(4 * _product(tensor.dims))
            where = offset if tensor.offset is None else tensor.offset
            put(string(tensor.name))
            put(struct.pack("<I", len(tensor.dims)))
            put(b"".join(struct.pack("<Q", d) for d in tensor.dims))
            put(struct.pack("<I", tensor.type_id))
            put(struct.pack("<Q", where))
            blobs.append((where, data))
            offset = _align(where + len(data), self.alignment) % 2**64
        data_start = _align(len(out), self.alignment)
        out.extend(bytes(data_start - len(out)))
        for where, data in blobs:
            if not data:  # a tensor whose header lies: nothing to write
                continue
            end = data_start + where + len(data)
            if len(out) < end:
                out.extend(bytes(end - len(out)))
            out[data_start + where : end] = data
            marks.append(end)
        return bytes(out), sorted(set(marks))


def _product(dims: list[int]) -> int:
    total = 1
    for d in dims:
        total *= d
    return total


def _align(n: int, alignment: int) -> int:
    return -(-n // alignment) * alignment


def sound_model() -> Craft:
    """A small llama-shaped GGUF that ModelVet reads without complaint."""
    craft = Craft()
    craft.kv("general.architecture", STRING, string("llama"))
    craft.kv("general.name", STRING, string("crafted"))
    craft.kv("general.file_type", U32, scalar(U32, 0))
    craft.kv("llama.block_count", U32, scalar(U32, 2))
    craft.kv("llama.context_length", U32, scalar(U32, 256))
    craft.kv("llama.embedding_length", U32, scalar(U32, 64))
    craft.kv("llama.attention.head_count", U32, scalar(U32, 4))
    craft.kv("llama.attention.head_count_kv", ARRAY, array(U32, [2, 2]))
    craft.kv("tokenizer.ggml.tokens", ARRAY, array(STRING, [f"t{i}" for i in range(300)]))
    craft.kv("tokenizer.ggml.scores", ARRAY, array(F32, [0.0] * 300))
    craft.kv("tokenizer.chat_template", STRING, string("{{ messages[0]['content'] }}"))
    craft.tensors = [
        Tensor("token_embd.weight", [64, 300]),
        Tensor("blk.0.attn_q.weight", [64, 64]),
        Tensor("output_norm.weight", [64]),
    ]
    return craft
