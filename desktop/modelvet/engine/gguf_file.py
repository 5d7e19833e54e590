"""What a GGUF file says about its model (never its weights), from the bounded header reader.

`gguf_header` checks every count, length and offset; this module turns the metadata into the
facts the fit formulas and the catalog match need, refusing keys of the wrong type.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelvet.engine.catalog.schema import ARCHITECTURE_FIELDS
from modelvet.engine.errors import Cancelled, ModelVetError
from modelvet.engine.gguf_header import GgufArray, GgufHeader, HeaderError, read_header
from modelvet.engine.gguf_types import FILE_TYPES

MAX_COUNT = 2**32  # any count a header may state (context, vocab, heads …): llama.cpp keeps u32
MAX_LAYERS = 512  # LLAMA_MAX_LAYERS: llama.cpp writes past an array above this
MAX_SPLIT_PARTS = 1000
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
    intermediate_size: int | None = None
    active_parameter_count: int | None = None
    sliding_window: int | None = None
    sliding_window_layers: int | None = None
    full_attention_layers: int | None = None
    full_attention_kv_heads: int | None = None
    full_attention_head_dim: int | None = None
    kv_shared_layers: int | None = None
    recurrent_layers: int | None = None
    recurrent_state_elements: int | None = None
    kv_lora_rank: int | None = None
    qk_rope_head_dim: int | None = None
    experts_total: int | None = None
    experts_active: int | None = None
    expert_intermediate_size: int | None = None
    recurrent_projection_width: int | None = None
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
        active = self.active_parameter_count or self.parameter_count
        return row | {
            "weights_bytes": self.weights_bytes,
            "total_params_b": self.parameter_count / 1e9,
            "active_params_b": active / 1e9,
        }


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _count(header: GgufHeader, key: str, maximum: int = MAX_COUNT) -> int | None:
    """A non-negative whole number from the metadata, or None; wrong types are refused."""
    value = header.metadata.get(key)
    if value is None:
        return None
    if not _whole(value) or not 0 <= value <= maximum:
        raise HeaderError(
            f"metadata key {key!r} should be a whole number from 0 to {maximum}, "
            f"it is {_describe(value)}",
            str(header.path),
        )
    return int(value)


def _counts(header: GgufHeader, key: str) -> int | list[int] | None:
    """A count that may also be given per layer, as an array of counts."""
    value = header.metadata.get(key)
    if isinstance(value, GgufArray):
        items = value.values
        if items is None or not all(_whole(v) and 0 <= v <= MAX_COUNT for v in items):
            raise HeaderError(
                f"metadata key {key!r} should list a whole number per layer, "
                f"it is {_describe(value)}",
                str(header.path),
            )
        return [int(v) for v in items]
    return _count(header, key)


def _text(header: GgufHeader, key: str) -> str | None:
    value = header.metadata.get(key)
    if value is None or isinstance(value, str):
        return value
    raise HeaderError(
        f"metadata key {key!r} should be text, it is {_describe(value)}", str(header.path)
    )


def _describe(value: Any) -> str:
    if isinstance(value, GgufArray):
        return f"an array of {value.count} items"
    if isinstance(value, str):
        return f"the text {value[:40]!r}"
    return repr(value)


def _active_parameters(tensors: list[Any], experts: int | None, routed: int | None) -> int | None:
    """Parameters a token uses: all but the routed experts it does not reach (`*_exps`)."""
    if not experts or not routed or routed >= experts:
        return None
    expert_params = sum(t.n_elements for t in tensors if "_exps" in t.name)
    total = sum(t.n_elements for t in tensors)
    return total - expert_params + expert_params * routed // experts


def _widest(value: int | list[int] | None) -> int | None:
    """A per-layer array's largest entry (0 means the layer has none), or the scalar."""
    if isinstance(value, list):
        return max(value, default=0) or None
    return value


def _swa_pattern(header: GgufHeader, arch: str, layers: int) -> list[bool]:
    """Which layers use the sliding window, as llama.cpp decides it."""
    if not _count(header, f"{arch}.attention.sliding_window"):
        return [False] * layers
    pattern = header.metadata.get(f"{arch}.attention.sliding_window_pattern")
    if isinstance(pattern, GgufArray) and pattern.values is not None:
        flags = [bool(is_swa) for is_swa in pattern.values[:layers]]
        return flags + [False] * (layers - len(flags))
    every = SWA_EVERY_NTH_FULL.get(arch)
    if every is None:
        return [False] * layers
    return [layer % every < every - 1 for layer in range(layers)]


def _recurrent_state_elements(header: GgufHeader, arch: str) -> int | None:
    """Per-layer f32 state of one sequence (llama-hparams.cpp n_embd_r + n_embd_s)."""
    d_conv = _count(header, f"{arch}.ssm.conv_kernel")
    d_inner = _count(header, f"{arch}.ssm.inner_size")
    d_state = _count(header, f"{arch}.ssm.state_size")
    if not (d_inner and d_state):
        return None
    groups = _count(header, f"{arch}.ssm.group_count") or 0
    conv = max((d_conv or 1) - 1, 0) * (d_inner + 2 * groups * d_state)
    return conv + d_state * d_inner


def _recurrent_projection_width(header: GgufHeader, arch: str) -> int | None:
    """Per-token width of a recurrent layer's input projection (z, x, B, C, dt), the tensor
    its compute graph is built around (src/models/mamba-base.cpp, build_mamba2_layer:
    d_in_proj = 2 × d_inner + 2 × groups × d_state + heads)."""
    d_inner = _count(header, f"{arch}.ssm.inner_size")
    d_state = _count(header, f"{arch}.ssm.state_size")
    if not (d_inner and d_state):
        return None
    groups = _count(header, f"{arch}.ssm.group_count") or 0
    heads = _count(header, f"{arch}.ssm.time_step_rank") or 0
    return 2 * d_inner + 2 * groups * d_state + heads


def _attending(header: GgufHeader, arch: str, layers: int, per_layer: list[Any]) -> list[bool]:
    interval = _count(header, f"{arch}.full_attention_interval")
    if interval:  # Qwen3-Next / Qwen3.5: every interval-th layer attends, the rest recur
        return [(layer + 1) % interval == 0 for layer in range(layers)]
    if per_layer[0] is None and _count(header, f"{arch}.ssm.inner_size"):
        return [False] * layers  # a pure state-space model (Mamba): no layer attends
    return [heads is None or bool(heads) for heads in per_layer]


def _layer_geometry(header: GgufHeader, arch: str, layers: int | None) -> dict[str, int | None]:
    """KV geometry per layer type: sliding and full layers with their own KV heads and head
    size, layers reusing another layer's cache, and recurrent layers with their state size."""
    kv = _counts(header, f"{arch}.attention.head_count_kv")
    key_length = _count(header, f"{arch}.attention.key_length")
    key_length_swa = _count(header, f"{arch}.attention.key_length_swa")
    result: dict[str, int | None] = {"kv_heads": kv if not isinstance(kv, list) else None}
    result["head_dim"] = key_length_swa or key_length
    if not layers:
        return result
    per_layer: list[Any] = (kv + [0] * layers)[:layers] if isinstance(kv, list) else [kv] * layers
    shared = min(_count(header, f"{arch}.attention.shared_kv_layers") or 0, layers)
    swa = _swa_pattern(header, arch, layers)
    attends = _attending(header, arch, layers, per_layer)
    own = range(layers - shared)
    sliding = [i for i in own if attends[i] and swa[i]]
    full = [i for i in own if attends[i] and not swa[i]]
    recurrent = sum(1 for a in attends if not a)
    result |= {
        "sliding_window_layers": len(sliding) if any(swa) else None,
        "full_attention_layers": len(full),
        "kv_shared_layers": shared or None,
        "recurrent_layers": recurrent or None,
        "recurrent_state_elements": _recurrent_state_elements(header, arch) if recurrent else None,
        "recurrent_projection_width": (
            _recurrent_projection_width(header, arch) if recurrent else None
        ),
    }
    swa_heads = per_layer[sliding[0]] if sliding else None
    full_heads = per_layer[full[0]] if full else None
    known = [heads for heads in per_layer if heads]
    result["kv_heads"] = swa_heads or full_heads or (max(known) if known else None)
    if full_heads and swa_heads and full_heads != swa_heads:
        result["full_attention_kv_heads"] = full_heads
    if key_length_swa and key_length and key_length != key_length_swa:
        result["full_attention_head_dim"] = key_length
    return result


_SPLIT_NAME = re.compile(r"^(?P<stem>.+)-(?P<no>\d{5})-of-(?P<count>\d{5})\.gguf$")


def _other_parts(header: GgufHeader) -> list[Path]:
    """The rest of a split model (name-00001-of-00003.gguf …), which llama.cpp loads together."""
    path = header.path
    count = _count(header, "split.count", MAX_SPLIT_PARTS)
    if not count or count < 2:
        return []
    match = _SPLIT_NAME.match(path.name)
    if match is None or int(match["count"]) != count:
        raise ModelVetError(
            f"part of a {count}-file split model, but its name does not say which part", str(path)
        )
    parts = [
        path.with_name(f"{match['stem']}-{n:05d}-of-{count:05d}.gguf") for n in range(1, count + 1)
    ]
    missing = [p.name for p in parts if not p.is_file()]
    if missing:
        raise ModelVetError(f"split model is missing {', '.join(missing)}", str(path))
    return [p for p in parts if p != path]


def _general(header: GgufHeader) -> dict[str, Any]:
    """The `general.*` metadata, arrays as their short value lists (long ones as a count)."""
    out: dict[str, Any] = {}
    for key, value in header.metadata.items():
        if not key.startswith("general.") or key == "general.languages":
            continue
        if isinstance(value, GgufArray):
            value = value.values if value.values is not None else f"<{value.count} items>"
        out[key] = value
    return out


def read_gguf(path: str | Path) -> GgufFacts:
    """Metadata and tensor table (of every part of a split model), read by ModelVet's bounded
    header reader. Raises ModelVetError for anything that is not a sound GGUF."""
    header = read_header(path)
    tensors = list(header.tensors)
    size = header.file_size_bytes
    for part in _other_parts(header):
        part_header = read_header(part)
        tensors.extend(part_header.tensors)
        size += part_header.file_size_bytes
    arch = _text(header, "general.architecture") or "unknown"
    layers = _count(header, f"{arch}.block_count", MAX_LAYERS)
    heads_value = _counts(header, f"{arch}.attention.head_count")
    heads = max(heads_value, default=None) if isinstance(heads_value, list) else heads_value
    hidden = _count(header, f"{arch}.embedding_length")
    tokens = header.metadata.get("tokenizer.ggml.tokens")
    file_type = _count(header, "general.file_type")
    kv_lora = _count(header, f"{arch}.attention.kv_lora_rank")
    geometry = _layer_geometry(header, arch, layers)
    experts = _count(header, f"{arch}.expert_count")
    routed = _count(header, f"{arch}.expert_used_count")
    head_dim = geometry.pop("head_dim", None)
    return GgufFacts(
        path=header.path,
        file_size_bytes=size,
        version=header.version,
        architecture=arch,
        name=_text(header, "general.name"),
        file_type=FILE_TYPES.get(file_type) if file_type is not None else None,
        tensor_types=dict(Counter(t.type_name for t in tensors)),
        parameter_count=sum(t.n_elements for t in tensors),
        weights_bytes=sum(t.n_bytes for t in tensors),
        context_length=_count(header, f"{arch}.context_length"),
        layers=layers,
        attention_heads=heads,
        hidden_size=hidden,
        head_dim=head_dim or (hidden // heads if hidden and heads else None),
        vocab_size=tokens.count
        if isinstance(tokens, GgufArray)
        else _count(header, f"{arch}.vocab_size"),
        intermediate_size=_widest(_counts(header, f"{arch}.feed_forward_length")),
        sliding_window=_count(header, f"{arch}.attention.sliding_window"),
        kv_lora_rank=kv_lora,
        qk_rope_head_dim=_count(header, f"{arch}.rope.dimension_count") if kv_lora else None,
        experts_total=experts,
        experts_active=routed,
        expert_intermediate_size=_widest(_counts(header, f"{arch}.expert_feed_forward_length")),
        active_parameter_count=_active_parameters(tensors, experts, routed),
        chat_template=_text(header, "tokenizer.chat_template"),
        license=_text(header, "general.license"),
        metadata=_general(header),
        **geometry,
    )


def sha256_of(
    path: Path,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> str:
    """Streamed sha256; `progress(done, total)` is called every 64 MiB, and `cancelled()` is
    asked before every 8 MiB chunk: when it says yes, Cancelled is raised at once."""
    digest = hashlib.sha256()
    total = path.stat().st_size
    done = 0
    with path.open("rb") as handle:
        while True:
            if cancelled is not None and cancelled():
                raise Cancelled(f"stopped hashing {path} after {done} of {total} bytes")
            chunk = handle.read(8 * 1024 * 1024)
            if not chunk:
                break
            digest.update(chunk)
            done += len(chunk)
            if progress and done % (64 * 1024 * 1024) < len(chunk):
                progress(done, total)
    return digest.hexdigest()
