"""ModelVet's own bounded GGUF header reader: metadata and tensor table, every number checked.

Everything ModelVet is handed goes through this reader before llama.cpp sees it. Each count,
length and offset is checked against the bytes left in the file and against sane limits before
anything is allocated or walked, so a hostile header (the GGUF loader CVEs in
shared/research/policy-facts.md §8 start from exactly these fields) is a one-line refusal, and
reading any header is bounded work: at most MAX_STRING_ITEMS string lengths are walked, every
other array is skipped by arithmetic. The `gguf` package walks a bogus array of arrays element
by element, which is why it is used only to write test files.
"""

from __future__ import annotations

import stat
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from modelvet.engine.errors import ModelVetError
from modelvet.engine.gguf_types import TENSOR_TYPES

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
MAX_TENSORS = 65_536  # the largest real models have a few thousand
MAX_METADATA_KEYS = 10_000  # real files have fewer than 100
MAX_KEY_BYTES = 1024
MAX_NAME_BYTES = 256  # ggml itself refuses tensor names of 64 bytes or more
MAX_STRING_BYTES = 16 * 2**20  # a whole tokenizer.json may be embedded as one string
MAX_ARRAY_ITEMS = 2**22
MAX_STRING_ITEMS = 2**21  # string lengths walked, over all arrays (vocab + merges ≈ 600k)
MAX_HEADER_BYTES = 256 * 2**20
MAX_DIMS = 4  # GGML_MAX_DIMS
MAX_ELEMENTS = 2**62  # ggml counts elements in int64
MAX_ALIGNMENT = 2**20
# Short arrays keep their values (per-layer settings, tags), within a budget per file.
KEPT_ITEMS, MAX_KEPT_ITEMS = 4096, 2**20
KEPT_STRINGS, MAX_KEPT_STRINGS = 64, 16_384
_READ_CHUNK = 4 * 2**20

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
ARRAY = 9
STRING = 8
# GGUF value type -> struct format of one item (strings and arrays are handled apart)
SCALARS = {
    0: "B",
    1: "b",
    2: "H",
    3: "h",
    4: "I",
    5: "i",
    6: "f",
    7: "?",
    10: "Q",
    11: "q",
    12: "d",
}


@dataclass(frozen=True)
class GgufArray:
    """A metadata array: its item type and length; `values` only for short arrays."""

    item_type: int
    count: int
    values: list[Any] | None


@dataclass(frozen=True)
class TensorInfo:
    name: str
    dims: tuple[int, ...]
    type_name: str
    n_elements: int
    n_bytes: int
    offset: int  # from the start of the data section


@dataclass
class GgufHeader:
    path: Path
    file_size_bytes: int
    version: int
    metadata: dict[str, Any] = field(default_factory=dict)
    tensors: list[TensorInfo] = field(default_factory=list)
    data_start: int = 0


class HeaderError(ModelVetError):
    """A GGUF header that is damaged, truncated or hostile."""


class _Cursor:
    """Reads forward through the file, loading only as far as the header goes."""

    def __init__(self, handle: BinaryIO, size: int, path: Path) -> None:
        self.handle = handle
        self.size = size
        self.path = path
        self.buf = bytearray()
        self.pos = 0
        self.strings_walked = 0
        self.items_kept = 0
        self.strings_kept = 0

    def fail(self, reason: str) -> HeaderError:
        return HeaderError(reason, str(self.path))

    def need(self, end: int, what: str) -> None:
        """Make bytes up to `end` available, or say the file stops before `what` does."""
        if end > self.size:
            raise self.fail(f"truncated: {what} needs bytes up to {end}, the file has {self.size}")
        if end > MAX_HEADER_BYTES:
            raise self.fail(f"header larger than {MAX_HEADER_BYTES} bytes at {what}")
        if end > len(self.buf):
            want = min(max(end, len(self.buf) + _READ_CHUNK), self.size, MAX_HEADER_BYTES)
            self.handle.seek(len(self.buf))
            self.buf += self.handle.read(want - len(self.buf))
            if len(self.buf) < end:
                raise self.fail(f"truncated while reading {what} (the file shrank)")

    def u32(self, what: str) -> int:
        self.need(self.pos + 4, what)
        (value,) = _U32.unpack_from(self.buf, self.pos)
        self.pos += 4
        return int(value)

    def u64(self, what: str) -> int:
        self.need(self.pos + 8, what)
        (value,) = _U64.unpack_from(self.buf, self.pos)
        self.pos += 8
        return int(value)

    def string(self, what: str, limit: int = MAX_STRING_BYTES) -> str:
        length = self.u64(f"the length of {what}")
        if length > limit:
            raise self.fail(f"{what} is {length} bytes long (the limit is {limit})")
        self.need(self.pos + length, what)
        text = bytes(self.buf[self.pos : self.pos + length]).decode("utf-8", "replace")
        self.pos += length
        return text

    def scalar(self, value_type: int, what: str) -> Any:
        fmt = SCALARS[value_type]
        width = struct.calcsize(fmt)
        self.need(self.pos + width, what)
        (value,) = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += width
        return value

    def array(self, what: str) -> GgufArray:
        item_type = self.u32(f"the item type of {what}")
        count = self.u64(f"the length of {what}")
        if item_type == ARRAY:
            raise self.fail(f"{what} is an array of arrays (nested arrays are not allowed)")
        if item_type != STRING and item_type not in SCALARS:
            raise self.fail(f"{what} has items of unknown type {item_type}")
        if count > MAX_ARRAY_ITEMS:
            raise self.fail(f"{what} claims {count} items (the limit is {MAX_ARRAY_ITEMS})")
        width = 8 if item_type == STRING else struct.calcsize(SCALARS[item_type])
        if count * width > self.size - self.pos:
            raise self.fail(
                f"truncated: {what} claims {count} items, more than the "
                f"{self.size - self.pos} bytes left in the file"
            )
        if item_type == STRING:
            return self._strings(count, what)
        self.need(self.pos + count * width, what)
        values = None
        if count <= KEPT_ITEMS and self.items_kept + count <= MAX_KEPT_ITEMS:
            self.items_kept += count
            values = list(struct.unpack_from(f"<{count}{SCALARS[item_type]}", self.buf, self.pos))
        self.pos += count * width
        return GgufArray(item_type, count, values)

    def _strings(self, count: int, what: str) -> GgufArray:
        if count <= KEPT_STRINGS and self.strings_kept + count <= MAX_KEPT_STRINGS:
            self.strings_kept += count
            values = [self.string(f"item {i} of {what}") for i in range(count)]
            return GgufArray(STRING, count, values)
        self.strings_walked += count
        if self.strings_walked > MAX_STRING_ITEMS:
            raise self.fail(f"more than {MAX_STRING_ITEMS} strings in arrays, at {what}")
        # The hot loop of large vocabularies: skip each string by its length, checked.
        buf, pos, size, unpack = self.buf, self.pos, self.size, _U64.unpack_from
        for _ in range(count):
            if pos + 8 > len(buf):
                self.need(pos + 8, f"a string length in {what}")
                buf = self.buf
            (length,) = unpack(buf, pos)
            pos += 8 + length
            if pos > size:
                raise self.fail(f"truncated: a string in {what} runs past the end of the file")
        self.pos = pos
        return GgufArray(STRING, count, None)

    def value(self, value_type: int, what: str) -> Any:
        if value_type == STRING:
            return self.string(what)
        if value_type == ARRAY:
            return self.array(what)
        if value_type in SCALARS:
            return self.scalar(value_type, what)
        raise self.fail(f"{what} has unknown value type {value_type}")


def _preamble(cursor: _Cursor) -> tuple[int, int, int]:
    if cursor.size < 4:
        raise cursor.fail("not a GGUF file (shorter than the 4-byte GGUF magic)")
    cursor.need(4, "the magic")
    if bytes(cursor.buf[:4]) != GGUF_MAGIC:
        raise cursor.fail("not a GGUF file (no GGUF magic at the start)")
    cursor.pos = 4
    version = cursor.u32("the version")
    if version not in SUPPORTED_VERSIONS:
        raise cursor.fail(f"unsupported GGUF version {version} (ModelVet reads 2 and 3)")
    n_tensors = cursor.u64("the tensor count")
    n_kv = cursor.u64("the metadata key count")
    left = cursor.size - cursor.pos
    # A key takes at least 13 bytes (length, one byte, type, one byte of value), a tensor 32.
    if n_kv > MAX_METADATA_KEYS or n_kv * 13 > left:
        raise cursor.fail(f"implausible header: {n_kv} metadata keys in the {left} bytes left")
    if n_tensors > MAX_TENSORS or n_tensors * 32 > left:
        raise cursor.fail(f"implausible header: {n_tensors} tensors in the {left} bytes left")
    return version, n_tensors, n_kv


def _metadata(cursor: _Cursor, n_kv: int) -> dict[str, Any]:
    metadata: dict[str, Any] = {}
    for index in range(n_kv):
        key = cursor.string(f"metadata key {index}", MAX_KEY_BYTES)
        if key in metadata:
            raise cursor.fail(f"metadata key {key!r} appears twice")
        value_type = cursor.u32(f"the type of metadata key {key!r}")
        metadata[key] = cursor.value(value_type, f"metadata key {key!r}")
    return metadata


def _alignment(cursor: _Cursor, metadata: dict[str, Any]) -> int:
    alignment = metadata.get("general.alignment", 32)
    if (
        not isinstance(alignment, int)
        or isinstance(alignment, bool)
        or not 0 < alignment <= MAX_ALIGNMENT
        or alignment & (alignment - 1)
    ):
        raise cursor.fail(
            f"general.alignment {alignment!r} is not a power of two up to {MAX_ALIGNMENT}"
        )
    return alignment


_TENSOR_TAILS = {n: struct.Struct(f"<{n}QIQ") for n in range(1, MAX_DIMS + 1)}


def _tensor(cursor: _Cursor, index: int, alignment: int) -> TensorInfo:
    name = cursor.string(f"the name of tensor {index}", MAX_NAME_BYTES)
    n_dims = cursor.u32(f"the dimension count of tensor {name!r}")
    if not 1 <= n_dims <= MAX_DIMS:
        raise cursor.fail(f"tensor {name!r} has {n_dims} dimensions (1 to {MAX_DIMS} allowed)")
    tail = _TENSOR_TAILS[n_dims]  # dimensions, type and offset, read in one go
    cursor.need(cursor.pos + tail.size, f"the shape, type and offset of tensor {name!r}")
    *dims, type_id, offset = tail.unpack_from(cursor.buf, cursor.pos)
    cursor.pos += tail.size
    n_elements = 1
    for size in dims:
        n_elements *= size
        if n_elements > MAX_ELEMENTS:
            raise cursor.fail(f"tensor {name!r} has shape {dims}: the element count overflows")
    if type_id not in TENSOR_TYPES:
        raise cursor.fail(f"tensor {name!r} has unknown tensor type {type_id}")
    type_name, block, block_bytes = TENSOR_TYPES[type_id]
    if dims[0] % block:
        raise cursor.fail(
            f"tensor {name!r}: first dimension {dims[0]} is not a multiple of {block}"
        )
    if offset % alignment:
        raise cursor.fail(f"tensor {name!r}: data offset {offset} is not aligned to {alignment}")
    n_bytes = n_elements // block * block_bytes
    return TensorInfo(name, tuple(dims), type_name, n_elements, n_bytes, offset)


def _check_layout(cursor: _Cursor, tensors: list[TensorInfo], data_start: int) -> None:
    """Every tensor's bytes lie inside the file, and no two tensors share bytes."""
    room = cursor.size - data_start
    if room < 0 and tensors:
        raise cursor.fail(f"truncated: the tensor data would start at byte {data_start}")
    end_of_previous, previous = 0, ""
    for tensor in sorted(tensors, key=lambda t: t.offset):
        end = tensor.offset + tensor.n_bytes
        if end > room:
            raise cursor.fail(
                f"truncated: tensor {tensor.name!r} ends at byte {data_start + end}, "
                f"the file has {cursor.size}"
            )
        if tensor.offset < end_of_previous:
            raise cursor.fail(f"tensors {previous!r} and {tensor.name!r} overlap")
        end_of_previous, previous = end, tensor.name


def _regular_file_size(path: Path) -> int:
    """The size of a regular file; a pipe or a device (which could block or never end) is
    refused before it is opened."""
    status = path.stat()
    if stat.S_ISDIR(status.st_mode):
        raise ModelVetError("is a folder, not a GGUF file", str(path))
    if not stat.S_ISREG(status.st_mode):
        raise ModelVetError("not a regular file (a pipe or a device?)", str(path))
    return status.st_size


def read_header(path: str | Path) -> GgufHeader:
    """The metadata and tensor table of one GGUF file; HeaderError for anything unsound."""
    path = Path(path)
    try:
        size = _regular_file_size(path)
        with path.open("rb") as handle:
            return _read(_Cursor(handle, size, path))
    except FileNotFoundError as error:
        raise ModelVetError("file not found", str(path)) from error
    except IsADirectoryError as error:
        raise ModelVetError("is a folder, not a GGUF file", str(path)) from error
    except OSError as error:
        raise ModelVetError(f"cannot read: {error.strerror or error}", str(path)) from error


def check_preamble(path: str | Path) -> str | None:
    """The first 24 bytes only (magic, version, counts): None if plausible, else why not.
    Cheap enough to run over every file in a folder of models."""
    path = Path(path)
    try:
        size = _regular_file_size(path)
        with path.open("rb") as handle:
            _preamble(_Cursor(handle, size, path))
    except ModelVetError as error:
        return error.title
    except OSError as error:
        return f"cannot read: {error.strerror or error}"
    return None


def _read(cursor: _Cursor) -> GgufHeader:
    version, n_tensors, n_kv = _preamble(cursor)
    metadata = _metadata(cursor, n_kv)
    alignment = _alignment(cursor, metadata)
    tensors: list[TensorInfo] = []
    names: set[str] = set()
    for index in range(n_tensors):
        tensor = _tensor(cursor, index, alignment)
        if tensor.name in names:
            raise cursor.fail(f"tensor {tensor.name!r} appears twice")
        names.add(tensor.name)
        tensors.append(tensor)
    data_start = -(-cursor.pos // alignment) * alignment
    _check_layout(cursor, tensors, data_start)
    return GgufHeader(cursor.path, cursor.size, version, metadata, tensors, data_start)
