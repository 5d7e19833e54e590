"""Small GGUF files with random weights, written with the `gguf` package, for real llama.cpp loads.

Each describes a real architecture's layout (tensor names and metadata keys llama.cpp reads),
scaled down: a sliding-window model (gemma3) and one whose layers differ in KV geometry and
share caches (gemma4). The weights are noise; only their shapes and what llama.cpp allocates
for them matter to the memory tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

VOCAB_WORDS = [f"▁w{i}" for i in range(200)]


@dataclass(frozen=True)
class TinyShape:
    layers: int = 12
    hidden: int = 256
    heads: int = 4
    kv_heads: int = 2
    head_dim: int = 64
    ffn: int = 512
    window: int = 128
    context: int = 32768
    # gemma4 only: the full-attention layers' geometry and the layers that reuse a cache
    full_kv_heads: int = 1
    full_head_dim: int = 256
    shared_kv_layers: int = 0


def _tokenizer(writer: object) -> None:
    import gguf

    assert isinstance(writer, gguf.GGUFWriter)
    tokens = ["<pad>", "<eos>", "<bos>", "<unk>"]
    tokens += [f"<0x{b:02X}>" for b in range(256)] + VOCAB_WORDS
    types = [gguf.TokenType.CONTROL] * 3 + [gguf.TokenType.UNKNOWN]
    types += [gguf.TokenType.BYTE] * 256 + [gguf.TokenType.NORMAL] * len(VOCAB_WORDS)
    writer.add_tokenizer_model("llama")
    writer.add_token_list(tokens)
    writer.add_token_scores([0.0] * 260 + [-float(i) for i in range(len(VOCAB_WORDS))])
    writer.add_token_types(types)
    writer.add_bos_token_id(2)
    writer.add_eos_token_id(1)
    writer.add_unk_token_id(3)
    writer.add_pad_token_id(0)


def vocab_size() -> int:
    return 4 + 256 + len(VOCAB_WORDS)


def _matrix(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    """A weight of llama.cpp shape {cols, rows} (numpy is row-major: rows × cols), f16."""
    return (rng.standard_normal((rows, cols)) * 0.02).astype(np.float16)


def _norm(size: int) -> np.ndarray:
    return np.ones(size, dtype=np.float32)


def _common(path: Path, arch: str, shape: TinyShape) -> Any:
    import gguf

    writer = _opened(path, arch, shape.context, shape.hidden, shape.layers)
    writer.add_feed_forward_length(shape.ffn)
    writer.add_head_count(shape.heads)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_sliding_window(shape.window)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    _tokenizer(writer)
    return writer


def write_gemma3(path: Path, shape: TinyShape = TinyShape(), seed: int = 0) -> Path:
    """Gemma 3 layout: five sliding-window layers to one global, one KV geometry throughout."""

    rng = np.random.default_rng(seed)
    writer = _common(path, "gemma3", shape)
    writer.add_head_count_kv(shape.kv_heads)
    writer.add_key_length(shape.head_dim)
    writer.add_value_length(shape.head_dim)
    writer.add_rope_freq_base(1_000_000.0)
    writer.add_tensor("token_embd.weight", _matrix(rng, vocab_size(), shape.hidden))
    writer.add_tensor("output_norm.weight", _norm(shape.hidden))
    q, kv = shape.heads * shape.head_dim, shape.kv_heads * shape.head_dim
    for i in range(shape.layers):
        blk = f"blk.{i}"
        writer.add_tensor(f"{blk}.attn_norm.weight", _norm(shape.hidden))
        writer.add_tensor(f"{blk}.attn_q.weight", _matrix(rng, q, shape.hidden))
        writer.add_tensor(f"{blk}.attn_k.weight", _matrix(rng, kv, shape.hidden))
        writer.add_tensor(f"{blk}.attn_v.weight", _matrix(rng, kv, shape.hidden))
        writer.add_tensor(f"{blk}.attn_output.weight", _matrix(rng, shape.hidden, q))
        writer.add_tensor(f"{blk}.attn_q_norm.weight", _norm(shape.head_dim))
        writer.add_tensor(f"{blk}.attn_k_norm.weight", _norm(shape.head_dim))
        writer.add_tensor(f"{blk}.post_attention_norm.weight", _norm(shape.hidden))
        _ffn(writer, rng, blk, shape)
    return _finish(writer, path)


def gemma4_is_sliding(shape: TinyShape) -> list[bool]:
    """Four sliding layers, then one global, repeated; the last layer is global."""
    pattern = [(i + 1) % 5 != 0 for i in range(shape.layers)]
    pattern[-1] = False
    return pattern


def write_gemma4(path: Path, shape: TinyShape, seed: int = 0) -> Path:
    """Gemma 4 layout: global layers with other KV heads and head size than the sliding ones,
    and the last `shared_kv_layers` layers reusing earlier layers' caches (no K/V weights)."""

    rng = np.random.default_rng(seed)
    writer = _common(path, "gemma4", shape)
    sliding = gemma4_is_sliding(shape)
    kv_heads = [shape.kv_heads if s else shape.full_kv_heads for s in sliding]
    writer.add_head_count_kv(kv_heads)
    writer.add_key_length(shape.full_head_dim)
    writer.add_value_length(shape.full_head_dim)
    writer.add_uint32("gemma4.attention.key_length_swa", shape.head_dim)
    writer.add_uint32("gemma4.attention.value_length_swa", shape.head_dim)
    writer.add_array("gemma4.attention.sliding_window_pattern", sliding)
    writer.add_uint32("gemma4.attention.shared_kv_layers", shape.shared_kv_layers)
    writer.add_uint32("gemma4.embedding_length_per_layer_input", 0)
    writer.add_rope_freq_base(1_000_000.0)
    writer.add_float32("gemma4.rope.freq_base_swa", 10_000.0)
    writer.add_uint32("gemma4.rope.dimension_count_swa", shape.head_dim)
    writer.add_tensor("token_embd.weight", _matrix(rng, vocab_size(), shape.hidden))
    writer.add_tensor("output_norm.weight", _norm(shape.hidden))
    owns_cache = shape.layers - shape.shared_kv_layers
    rope_written = False
    for i, is_sliding in enumerate(sliding):
        blk = f"blk.{i}"
        head_dim = shape.head_dim if is_sliding else shape.full_head_dim
        q, kv = shape.heads * head_dim, kv_heads[i] * head_dim
        writer.add_tensor(f"{blk}.attn_norm.weight", _norm(shape.hidden))
        writer.add_tensor(f"{blk}.attn_q.weight", _matrix(rng, q, shape.hidden))
        if i < owns_cache:
            writer.add_tensor(f"{blk}.attn_k.weight", _matrix(rng, kv, shape.hidden))
            writer.add_tensor(f"{blk}.attn_v.weight", _matrix(rng, kv, shape.hidden))
            writer.add_tensor(f"{blk}.attn_k_norm.weight", _norm(head_dim))
        writer.add_tensor(f"{blk}.attn_output.weight", _matrix(rng, shape.hidden, q))
        writer.add_tensor(f"{blk}.attn_q_norm.weight", _norm(head_dim))
        writer.add_tensor(f"{blk}.post_attention_norm.weight", _norm(shape.hidden))
        if not is_sliding and not rope_written:
            writer.add_tensor("rope_freqs.weight", np.ones(head_dim // 2, np.float32))
            rope_written = True
        _ffn(writer, rng, blk, shape)
    return _finish(writer, path)


def _ffn(writer: object, rng: np.random.Generator, blk: str, shape: TinyShape) -> None:
    import gguf

    assert isinstance(writer, gguf.GGUFWriter)
    writer.add_tensor(f"{blk}.ffn_norm.weight", _norm(shape.hidden))
    writer.add_tensor(f"{blk}.ffn_gate.weight", _matrix(rng, shape.ffn, shape.hidden))
    writer.add_tensor(f"{blk}.ffn_up.weight", _matrix(rng, shape.ffn, shape.hidden))
    writer.add_tensor(f"{blk}.ffn_down.weight", _matrix(rng, shape.hidden, shape.ffn))
    writer.add_tensor(f"{blk}.post_ffw_norm.weight", _norm(shape.hidden))


def _finish(writer: object, path: Path) -> Path:
    import gguf

    assert isinstance(writer, gguf.GGUFWriter)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


@dataclass(frozen=True)
class Ssm:
    """A Mamba-2 mixer's sizes: d_inner, d_state, groups, heads (time_step_rank), d_conv."""

    inner: int
    state: int
    groups: int
    heads: int
    conv: int

    @property
    def conv_dim(self) -> int:
        return self.inner + 2 * self.groups * self.state


def _ssm_metadata(writer: object, ssm: Ssm) -> None:
    import gguf

    assert isinstance(writer, gguf.GGUFWriter)
    writer.add_ssm_conv_kernel(ssm.conv)
    writer.add_ssm_inner_size(ssm.inner)
    writer.add_ssm_state_size(ssm.state)
    writer.add_ssm_time_step_rank(ssm.heads)
    writer.add_ssm_group_count(ssm.groups)


def _mamba2_layer(
    writer: object, rng: np.random.Generator, blk: str, hidden: int, ssm: Ssm
) -> None:
    """One Mamba-2 mixer's tensors: input projection (z, x, B, C, dt), convolution, scan
    parameters, grouped norm and output projection."""
    import gguf

    assert isinstance(writer, gguf.GGUFWriter)
    in_proj = ssm.inner + ssm.conv_dim + ssm.heads
    writer.add_tensor(f"{blk}.ssm_in.weight", _matrix(rng, in_proj, hidden))
    conv = (rng.standard_normal((ssm.conv_dim, ssm.conv)) * 0.1).astype(np.float32)
    writer.add_tensor(f"{blk}.ssm_conv1d.weight", conv)
    writer.add_tensor(f"{blk}.ssm_conv1d.bias", np.zeros(ssm.conv_dim, np.float32))
    writer.add_tensor(f"{blk}.ssm_dt.bias", np.zeros(ssm.heads, np.float32))
    writer.add_tensor(f"{blk}.ssm_a", -np.ones((ssm.heads, 1), np.float32))
    writer.add_tensor(f"{blk}.ssm_d", np.ones((ssm.heads, 1), np.float32))
    groups_norm = np.ones((ssm.groups, ssm.inner // ssm.groups), np.float32)
    writer.add_tensor(f"{blk}.ssm_norm.weight", groups_norm)
    writer.add_tensor(f"{blk}.ssm_out.weight", _matrix(rng, hidden, ssm.inner))


@dataclass(frozen=True)
class MambaShape:
    layers: int = 8
    hidden: int = 256
    inner: int = 512  # d_inner = heads × head size
    state: int = 64
    groups: int = 2
    heads: int = 8  # time_step_rank
    conv: int = 4
    context: int = 32768

    @property
    def ssm(self) -> Ssm:
        return Ssm(self.inner, self.state, self.groups, self.heads, self.conv)


def write_mamba2(path: Path, shape: MambaShape = MambaShape(), seed: int = 0) -> Path:
    """Mamba-2 layout: every layer recurrent, a fixed convolution and SSM state per sequence."""
    import gguf

    rng = np.random.default_rng(seed)
    writer = _opened(path, "mamba2", shape.context, shape.hidden, shape.layers)
    writer.add_feed_forward_length(0)
    writer.add_head_count(0)
    writer.add_layer_norm_rms_eps(1e-5)
    _ssm_metadata(writer, shape.ssm)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    _tokenizer(writer)
    writer.add_tensor("token_embd.weight", _matrix(rng, vocab_size(), shape.hidden))
    writer.add_tensor("output_norm.weight", _norm(shape.hidden))
    for i in range(shape.layers):
        blk = f"blk.{i}"
        writer.add_tensor(f"{blk}.attn_norm.weight", _norm(shape.hidden))
        _mamba2_layer(writer, rng, blk, shape.hidden, shape.ssm)
    return _finish(writer, path)


@dataclass(frozen=True)
class MoeShape:
    layers: int = 4
    hidden: int = 256
    heads: int = 4
    kv_heads: int = 2
    head_dim: int = 64
    ffn: int = 768  # the dense width the metadata states; no dense layer uses it
    experts: int = 8
    experts_used: int = 4
    expert_ffn: int = 384
    context: int = 32768


def _attention(
    writer: object, rng: np.random.Generator, blk: str, hidden: int, q: int, kv: int
) -> None:
    import gguf

    assert isinstance(writer, gguf.GGUFWriter)
    writer.add_tensor(f"{blk}.attn_q.weight", _matrix(rng, q, hidden))
    writer.add_tensor(f"{blk}.attn_k.weight", _matrix(rng, kv, hidden))
    writer.add_tensor(f"{blk}.attn_v.weight", _matrix(rng, kv, hidden))
    writer.add_tensor(f"{blk}.attn_output.weight", _matrix(rng, hidden, q))


def _experts(rng: np.random.Generator, count: int, rows: int, cols: int) -> np.ndarray:
    """Merged expert weights of llama.cpp shape {cols, rows, count}, f16."""
    return (rng.standard_normal((count, rows, cols)) * 0.02).astype(np.float16)


def _opened(path: Path, arch: str, context: int, hidden: int, layers: int) -> Any:
    """A writer for `arch` with the name, context, width and depth every model states."""
    import gguf

    writer = gguf.GGUFWriter(path, arch)
    writer.add_name(f"tiny-{arch}")
    writer.add_context_length(context)
    writer.add_embedding_length(hidden)
    writer.add_block_count(layers)
    return writer


def write_qwen3moe(path: Path, shape: MoeShape = MoeShape(), seed: int = 0) -> Path:
    """Qwen3-MoE layout: every layer's feed-forward is `experts_used` of `experts` routed
    experts (merged ffn_*_exps tensors and a router, ffn_gate_inp); attention with Q/K norms."""
    import gguf

    rng = np.random.default_rng(seed)
    writer = _opened(path, "qwen3moe", shape.context, shape.hidden, shape.layers)
    writer.add_feed_forward_length(shape.ffn)
    writer.add_head_count(shape.heads)
    writer.add_head_count_kv(shape.kv_heads)
    writer.add_key_length(shape.head_dim)
    writer.add_value_length(shape.head_dim)
    writer.add_rope_freq_base(1_000_000.0)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_expert_count(shape.experts)
    writer.add_expert_used_count(shape.experts_used)
    writer.add_expert_feed_forward_length(shape.expert_ffn)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    _tokenizer(writer)
    writer.add_tensor("token_embd.weight", _matrix(rng, vocab_size(), shape.hidden))
    writer.add_tensor("output_norm.weight", _norm(shape.hidden))
    q, kv = shape.heads * shape.head_dim, shape.kv_heads * shape.head_dim
    for i in range(shape.layers):
        blk = f"blk.{i}"
        writer.add_tensor(f"{blk}.attn_norm.weight", _norm(shape.hidden))
        _attention(writer, rng, blk, shape.hidden, q, kv)
        writer.add_tensor(f"{blk}.attn_q_norm.weight", _norm(shape.head_dim))
        writer.add_tensor(f"{blk}.attn_k_norm.weight", _norm(shape.head_dim))
        writer.add_tensor(f"{blk}.ffn_norm.weight", _norm(shape.hidden))
        router = (rng.standard_normal((shape.experts, shape.hidden)) * 0.02).astype(np.float32)
        writer.add_tensor(f"{blk}.ffn_gate_inp.weight", router)
        n, ff, h = shape.experts, shape.expert_ffn, shape.hidden
        writer.add_tensor(f"{blk}.ffn_gate_exps.weight", _experts(rng, n, ff, h))
        writer.add_tensor(f"{blk}.ffn_up_exps.weight", _experts(rng, n, ff, h))
        writer.add_tensor(f"{blk}.ffn_down_exps.weight", _experts(rng, n, h, ff))
    return _finish(writer, path)


@dataclass(frozen=True)
class HybridShape:
    layers: int = 6
    attention_every: int = 3  # layers 2, 5, …: attention; the others Mamba-2
    hidden: int = 256
    heads: int = 4
    kv_heads: int = 2
    head_dim: int = 64
    ffn: int = 512
    state: int = 64
    groups: int = 1
    ssm_heads: int = 8
    conv: int = 4
    context: int = 32768

    @property
    def inner(self) -> int:
        return 2 * self.hidden  # llama.cpp's granitehybrid takes only an expansion of 2

    @property
    def ssm(self) -> Ssm:
        return Ssm(self.inner, self.state, self.groups, self.ssm_heads, self.conv)

    def attends(self, layer: int) -> bool:
        return (layer + 1) % self.attention_every == 0


def write_granitehybrid(path: Path, shape: HybridShape = HybridShape(), seed: int = 0) -> Path:
    """Granite-4.0-H layout: Mamba-2 layers with an attention layer every few, told apart by
    a per-layer KV head count of 0; every layer has a dense feed-forward."""
    import gguf

    rng = np.random.default_rng(seed)
    writer = _opened(path, "granitehybrid", shape.context, shape.hidden, shape.layers)
    writer.add_feed_forward_length(shape.ffn)
    writer.add_head_count(shape.heads)
    kv_heads = [shape.kv_heads if shape.attends(i) else 0 for i in range(shape.layers)]
    writer.add_head_count_kv(kv_heads)
    writer.add_key_length(shape.head_dim)
    writer.add_value_length(shape.head_dim)
    writer.add_rope_freq_base(10_000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    _ssm_metadata(writer, shape.ssm)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_F16)
    _tokenizer(writer)
    writer.add_tensor("token_embd.weight", _matrix(rng, vocab_size(), shape.hidden))
    writer.add_tensor("output_norm.weight", _norm(shape.hidden))
    q, kv = shape.heads * shape.head_dim, shape.kv_heads * shape.head_dim
    for i in range(shape.layers):
        blk = f"blk.{i}"
        writer.add_tensor(f"{blk}.attn_norm.weight", _norm(shape.hidden))
        if shape.attends(i):
            _attention(writer, rng, blk, shape.hidden, q, kv)
        else:
            _mamba2_layer(writer, rng, blk, shape.hidden, shape.ssm)
        writer.add_tensor(f"{blk}.ffn_norm.weight", _norm(shape.hidden))
        writer.add_tensor(f"{blk}.ffn_gate.weight", _matrix(rng, shape.ffn, shape.hidden))
        writer.add_tensor(f"{blk}.ffn_up.weight", _matrix(rng, shape.ffn, shape.hidden))
        writer.add_tensor(f"{blk}.ffn_down.weight", _matrix(rng, shape.hidden, shape.ffn))
    return _finish(writer, path)
