"""Which catalog model and file a GGUF file is: by its sha256, else by file name and size."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from modelvet.engine.catalog.loader import Catalog


class CatalogMatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model_id: str | None
    quant: str | None = None
    publisher: str | None = None
    matched_by: Literal["sha256", "name+size", "name", "none"]
    expected_sha256: str | None = None
    expected_size_bytes: int | None = None
    problems: list[str] = []

    @property
    def verified(self) -> bool:
        return self.matched_by == "sha256" and not self.problems


def match_catalog(catalog: Catalog, file_name: str, size: int, digest: str | None) -> CatalogMatch:
    """The publisher's sha256 identifies a file outright; a file name alone is checked against
    the size and hash the publisher states, and any disagreement is listed in `problems`."""
    by_name: list[tuple[str, Any]] = []
    for model in catalog.models.values():
        for artifact in model.artifacts:
            if digest and artifact.sha256 == digest:
                return CatalogMatch(
                    model_id=model.id,
                    quant=artifact.quant,
                    publisher=artifact.publisher,
                    matched_by="sha256",
                    expected_sha256=artifact.sha256,
                    expected_size_bytes=artifact.size_bytes,
                )
            if file_name in artifact.files:
                by_name.append((model.id, artifact))
    if not by_name:
        return CatalogMatch(model_id=None, matched_by="none")
    model_id, artifact = by_name[0]
    problems = []
    if artifact.sha256 and digest and artifact.sha256 != digest:
        problems.append(
            f"sha256 mismatch: the publisher states {artifact.sha256}, this file is {digest}"
        )
    exact_size = artifact.size_status == "exact" and len(artifact.files) == 1
    if exact_size and artifact.size_bytes != size:
        problems.append(
            f"size mismatch: the publisher lists {artifact.size_bytes} bytes, this file has {size}"
        )
    matched_by: Literal["name+size", "name"] = (
        "name+size" if exact_size and not problems else "name"
    )
    return CatalogMatch(
        model_id=model_id,
        quant=artifact.quant,
        publisher=artifact.publisher,
        matched_by=matched_by,
        expected_sha256=artifact.sha256,
        expected_size_bytes=artifact.size_bytes,
        problems=problems,
    )
