"""Split GGUF models (name-00001-of-00002.gguf …) are read as one model, from real files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from modelvet.engine.errors import ModelVetError
from modelvet.engine.gguf_file import read_gguf


def _write_part(path: Path, number: int, count: int, tensors: dict[str, np.ndarray]) -> None:
    import gguf

    writer = gguf.GGUFWriter(path, "llama")
    writer.add_uint16("split.no", number)
    writer.add_uint16("split.count", count)
    writer.add_int32("split.tensors.count", 4)
    if number == 0:
        writer.add_block_count(2)
        writer.add_embedding_length(64)
        writer.add_head_count(4)
        writer.add_head_count_kv(2)
        writer.add_context_length(2048)
    for name, values in tensors.items():
        writer.add_tensor(name, values)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


@pytest.fixture
def split_model(tmp_path: Path) -> Path:
    weights = {f"blk.{i}.w": np.ones((64, 64), dtype=np.float32) for i in range(4)}
    names = list(weights)
    for number, chunk in enumerate((names[:2], names[2:])):
        _write_part(
            tmp_path / f"tiny-{number + 1:05d}-of-00002.gguf",
            number,
            2,
            {name: weights[name] for name in chunk},
        )
    return tmp_path / "tiny-00001-of-00002.gguf"


def test_all_parts_are_counted(split_model: Path) -> None:
    facts = read_gguf(split_model)
    assert facts.parameter_count == 4 * 64 * 64
    assert facts.weights_bytes == 4 * 64 * 64 * 4
    second = split_model.with_name("tiny-00002-of-00002.gguf")
    assert facts.file_size_bytes == split_model.stat().st_size + second.stat().st_size
    assert (facts.layers, facts.kv_heads) == (2, 2)


def test_a_missing_part_is_a_clear_error(split_model: Path) -> None:
    split_model.with_name("tiny-00002-of-00002.gguf").unlink()
    with pytest.raises(ModelVetError, match="missing tiny-00002-of-00002.gguf"):
        read_gguf(split_model)
