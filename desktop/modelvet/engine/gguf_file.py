"""Reads a GGUF file's header and tensor table (never its weights) with llama.cpp's `gguf` package.

The header is checked before the reader sees it — magic, version, counts, and that every
tensor lies inside the file — so a truncated or hostile file is a clear error, not a crash
(the GGUF loader CVEs in shared/research/policy-facts.md §8 start from exactly these fields).
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelvet.engine.catalog.schema import ARCHITECTURE_FIELDS
from modelvet.engine.errors import ModelVetError

GGUF_MAGIC = b"GGUF"
MAX_TENSORS = 1_000_000
MAX_METADATA_KEYS = 100_000
# llama.cpp's own sliding-window layouts for architectures whose GGUF does not list them
# (src/llama-model.cpp, `set_swa_pattern(n)`: every n-th layer attends to the whole context).
SWA_EVERY_NTH_FULL = {"gemma2": 2, "gemma3": 6, "cohere2": 4, "gpt-oss": 2, "llama4": 4}


@dataclass
class GgufFacts:
    path: Path
    file_size_bytes: int
    version: int
    architecture: str
    name: str | None
    file_type: str | None
    tensor_types: dict[str, int]
    parameter_count: int
    weights_bytes: int
    context_length: int | None
    layers: int | None
    attention_heads: int | None
    kv_heads: int | None
    head_dim: int | None
    hidden_size: int | None
    vocab_size: int | None
    sliding_window: int | None = None
    sliding_window_layers: int | None = None
    full_attention_layers: int | None = None
    kv_lora_rank: int | None = None
    qk_rope_head_dim: int | None = None
    experts_total: int | None = None
    experts_active: int | None = None
    chat_template: str | None = None
    license: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def quant(self) -> str | None:
        """The dominant quantised tensor type, e.g. Q4_K from a Q4_K_M file."""
        if self.file_type:
            return self.file_type.removeprefix("MOSTLY_").removeprefix("ALL_")
        return None

    def architecture_row(self) -> dict[str, Any]:
        """The columns `fit.memory` needs, for a one-row frame."""
        row = {name: getattr(self, name, None) for name in ARCHITECTURE_FIELDS}
        return row | {"weights_bytes": self.weights_bytes}


def _check_header(path: Path) -> tuple[int, int]:
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            header = handle.read(24)
    except FileNotFoundError as error:
        raise ModelVetError("file not found", str(path)) from error
    except IsADirectoryError as error:
        raise ModelVetError("is a folder, not a GGUF file", str(path)) from error
    except OSError as error:
        raise ModelVetError(f"cannot read: {error.strerror}", str(path)) from error
    if len(header) < 24 or header[:4] != GGUF_MAGIC:
        raise ModelVetError("not a GGUF file (no GGUF magic at the start)", str(path))
    version, n_tensors, n_kv = struct.unpack("<IQQ", header[4:24])
    if version not in (2, 3):
        raise ModelVetError(f"unsupported GGUF version {version}", str(path))
    if n_tensors > MAX_TENSORS or n_kv > MAX_METADATA_KEYS:
        raise ModelVetError(
            f"implausible header ({n_tensors} tensors, {n_kv} metadata keys): "
            "damaged or hostile file",
            str(path),
        )
    return version, size


def _scalar(reader: Any, key: str) -> Any:
    field_ = reader.fields.get(key)
    if field_ is None:
        return None
    value = field_.contents()
    return value


def _layer_counts(reader: Any, arch: str, layers: int | None) -> dict[str, int | None]:
    """KV heads (max over layers), and which layers keep a full-context KV cache."""
    kv = _scalar(reader, f"{arch}.attention.head_count_kv")
    result: dict[str, int | None] = {
        "kv_heads": None,
        "full_attention_layers": None,
        "sliding_window_layers": None,
    }
    if isinstance(kv, list):
        result["kv_heads"] = max(kv) if kv else None
        result["full_attention_layers"] = sum(1 for heads in kv if heads)
    else:
        result["kv_heads"] = kv
    interval = _scalar(reader, f"{arch}.full_attention_interval")
    if interval and layers:
        result["full_attention_layers"] = layers // int(interval)
    window = _scalar(reader, f"{arch}.attention.sliding_window")
    pattern = _scalar(reader, f"{arch}.attention.sliding_window_pattern")
    if window and layers:
        if isinstance(pattern, list):
            result["sliding_window_layers"] = sum(1 for is_swa in pattern if is_swa)
        elif arch in SWA_EVERY_NTH_FULL:
            result["sliding_window_layers"] = layers - layers // SWA_EVERY_NTH_FULL[arch]
    return result


_SPLIT_NAME = re.compile(r"^(?P<stem>.+)-(?P<no>\d{5})-of-(?P<count>\d{5})\.gguf$")


def _open(path: Path) -> tuple[Any, int, int]:
    """(reader, version, size) of one GGUF file whose every tensor lies inside it."""
    import gguf  # imported here: numpy and the reader are only needed when a file is read

    version, size = _check_header(path)
    try:
        reader = gguf.GGUFReader(path, "r")
    except Exception as error:  # the reader raises ValueError, IndexError, struct.error, …
        raise ModelVetError(
            f"damaged GGUF file: {type(error).__name__}: {error}", str(path)
        ) from error
    for tensor in reader.tensors:
        end = int(tensor.data_offset) + int(tensor.n_bytes)
        if end > size:
            raise ModelVetError(
                f"truncated: tensor {tensor.name} ends at byte {end}, the file has {size}",
                str(path),
            )
    return reader, version, size


def _other_parts(path: Path, reader: Any) -> list[Path]:
    """The rest of a split model (name-00001-of-00003.gguf …), which llama.cpp loads together."""
    count = _scalar(reader, "split.count")
    if not count or int(count) < 2:
        return []
    match = _SPLIT_NAME.match(path.name)
    if match is None or int(match["count"]) != int(count):
        raise ModelVetError(
            f"part of a {count}-file split model, but its name does not say which part", str(path)
        )
    parts = [
        path.with_name(f"{match['stem']}-{n:05d}-of-{int(count):05d}.gguf")
        for n in range(1, int(count) + 1)
    ]
    missing = [p.name for p in parts if not p.is_file()]
    if missing:
        raise ModelVetError(f"split model is missing {', '.join(missing)}", str(path))
    return [p for p in parts if p != path]


def read_gguf(path: str | Path) -> GgufFacts:
    """Metadata and tensor table (of every part of a split model). Raises ModelVetError for
    anything that is not a sound GGUF."""
    import gguf

    path = Path(path)
    reader, version, size = _open(path)
    tensors = list(reader.tensors)
    for part in _other_parts(path, reader):
        part_reader, _, part_size = _open(part)
        tensors.extend(part_reader.tensors)
        size += part_size
    arch = _scalar(reader, "general.architecture") or "unknown"
    layers = _scalar(reader, f"{arch}.block_count")
    heads = _scalar(reader, f"{arch}.attention.head_count")
    heads = max(heads) if isinstance(heads, list) else heads
    hidden = _scalar(reader, f"{arch}.embedding_length")
    key_length = _scalar(reader, f"{arch}.attention.key_length")
    tokens = reader.fields.get("tokenizer.ggml.tokens")
    file_type = _scalar(reader, "general.file_type")
    counts = _layer_counts(reader, arch, layers)
    kv_lora = _scalar(reader, f"{arch}.attention.kv_lora_rank")
    return GgufFacts(
        path=path,
        file_size_bytes=size,
        version=version,
        architecture=arch,
        name=_scalar(reader, "general.name"),
        file_type=gguf.LlamaFileType(file_type).name if file_type is not None else None,
        tensor_types=dict(Counter(t.tensor_type.name for t in tensors)),
        parameter_count=sum(int(t.n_elements) for t in tensors),
        weights_bytes=sum(int(t.n_bytes) for t in tensors),
        context_length=_scalar(reader, f"{arch}.context_length"),
        layers=layers,
        attention_heads=heads,
        hidden_size=hidden,
        head_dim=key_length or (hidden // heads if hidden and heads else None),
        vocab_size=len(tokens.data)
        if tokens is not None
        else _scalar(reader, f"{arch}.vocab_size"),
        sliding_window=_scalar(reader, f"{arch}.attention.sliding_window"),
        kv_lora_rank=kv_lora,
        qk_rope_head_dim=_scalar(reader, f"{arch}.rope.dimension_count") if kv_lora else None,
        experts_total=_scalar(reader, f"{arch}.expert_count"),
        experts_active=_scalar(reader, f"{arch}.expert_used_count"),
        chat_template=_scalar(reader, "tokenizer.chat_template"),
        license=_scalar(reader, "general.license"),
        metadata={
            k: _scalar(reader, k)
            for k in reader.fields
            if k.startswith("general.") and k != "general.languages"
        },
        **counts,
    )


def sha256_of(path: Path, progress: Callable[[int, int], None] | None = None) -> str:
    """Streamed sha256; `progress(done, total)` is called every 64 MiB."""
    digest = hashlib.sha256()
    total = path.stat().st_size
    done = 0
    with path.open("rb") as handle:
        while chunk := handle.read(8 * 1024 * 1024):
            digest.update(chunk)
            done += len(chunk)
            if progress and done % (64 * 1024 * 1024) < len(chunk):
                progress(done, total)
    return digest.hexdigest()
