"""`modelvet inspect`: what a GGUF file is, whether the catalog knows it, and what it will need."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from modelvet.engine.catalog.loader import Catalog
from modelvet.engine.catalog.match import CatalogMatch, match_catalog
from modelvet.engine.fit.memory import RunSettings
from modelvet.engine.fit.single import predict_one
from modelvet.engine.gguf_file import GgufFacts, read_gguf, sha256_of
from modelvet.engine.rank.result import MemoryBreakdown
from modelvet.engine.template_screen import TemplateReport, screen_template


class InspectReport(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str
    file_size_bytes: int
    sha256: str | None
    gguf_version: int
    architecture: str
    name: str | None
    file_type: str | None
    tensor_types: dict[str, int]
    parameter_count: int
    context_length: int | None
    layers: int | None
    attention_heads: int | None
    kv_heads: int | None
    head_dim: int | None
    hidden_size: int | None
    vocab_size: int | None
    sliding_window: int | None
    sliding_window_layers: int | None
    full_attention_layers: int | None
    full_attention_kv_heads: int | None = None
    full_attention_head_dim: int | None = None
    kv_shared_layers: int | None = None
    recurrent_layers: int | None = None
    recurrent_state_elements: int | None = None
    experts_total: int | None
    experts_active: int | None
    license: str | None
    settings: str
    runtime: dict[str, Any] = {}
    memory: MemoryBreakdown
    chat_template: TemplateReport
    catalog_match: CatalogMatch


def predict_memory(facts: GgufFacts, settings: RunSettings) -> MemoryBreakdown:
    """The fit formulas applied to the file's own metadata and tensor table."""
    out = predict_one(facts.architecture_row(), settings)
    return MemoryBreakdown(**{k: out[k] for k in MemoryBreakdown.model_fields})


def inspect_file(
    path: str | Path,
    catalog: Catalog,
    settings: RunSettings,
    with_hash: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> InspectReport:
    facts = read_gguf(path)
    digest = sha256_of(facts.path, progress) if with_hash else None
    return InspectReport(
        path=str(facts.path),
        file_size_bytes=facts.file_size_bytes,
        sha256=digest,
        gguf_version=facts.version,
        architecture=facts.architecture,
        name=facts.name,
        file_type=facts.file_type,
        tensor_types=facts.tensor_types,
        parameter_count=facts.parameter_count,
        context_length=facts.context_length,
        layers=facts.layers,
        attention_heads=facts.attention_heads,
        kv_heads=facts.kv_heads,
        head_dim=facts.head_dim,
        hidden_size=facts.hidden_size,
        vocab_size=facts.vocab_size,
        sliding_window=facts.sliding_window,
        sliding_window_layers=facts.sliding_window_layers,
        full_attention_layers=facts.full_attention_layers,
        full_attention_kv_heads=facts.full_attention_kv_heads,
        full_attention_head_dim=facts.full_attention_head_dim,
        kv_shared_layers=facts.kv_shared_layers,
        recurrent_layers=facts.recurrent_layers,
        recurrent_state_elements=facts.recurrent_state_elements,
        experts_total=facts.experts_total,
        experts_active=facts.experts_active,
        license=facts.license,
        settings=settings.describe(),
        runtime=settings.as_dict(),
        memory=predict_memory(facts, settings),
        chat_template=screen_template(facts.chat_template),
        catalog_match=match_catalog(catalog, facts.path.name, facts.file_size_bytes, digest),
    )
