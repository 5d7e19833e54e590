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
    expert_intermediate_size: int | None = None
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
    # Every fact the report shares with the file's facts, by name; the rest is computed here.
    computed = {
        "path": str(facts.path),
        "gguf_version": facts.version,
        "sha256": digest,
        "settings": settings.describe(),
        "runtime": settings.as_dict(),
        "memory": predict_memory(facts, settings),
        "chat_template": screen_template(facts.chat_template),
        "catalog_match": match_catalog(catalog, facts.path.name, facts.file_size_bytes, digest),
    }
    read = {
        name: getattr(facts, name)
        for name in InspectReport.model_fields
        if name not in computed and hasattr(facts, name)
    }
    return InspectReport(**read, **computed)
