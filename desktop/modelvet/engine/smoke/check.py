"""Before a load: is this the file it claims to be, is its template safe, will it fit?"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from modelvet.engine.catalog.loader import Catalog
from modelvet.engine.catalog.match import CatalogMatch, match_catalog
from modelvet.engine.errors import Cancelled, CheckFailed, ModelVetError
from modelvet.engine.fit.memory import RunSettings
from modelvet.engine.fit.single import predict_one
from modelvet.engine.gguf_file import GgufFacts, read_gguf, sha256_of
from modelvet.engine.hardware import HardwareSpec
from modelvet.engine.smoke.protocol import file_identity
from modelvet.engine.template_screen import TemplateReport, screen_template
from modelvet.engine.vocabulary import GB, format_bytes

SMOKE_DEPTH_TOKENS = 72


@dataclass
class PreLoad:
    facts: GgufFacts
    sha256: str
    match: CatalogMatch
    template: TemplateReport
    predicted: dict[str, Any]
    checks: list[str]
    settings: RunSettings
    hardware: HardwareSpec | None = None
    identity: list[int] | None = None  # protocol.file_identity() of the file as checked


def check_before_load(
    path: Path,
    catalog: Catalog,
    settings: RunSettings,
    hardware: HardwareSpec | Callable[[], HardwareSpec],
    force: bool = False,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> PreLoad:
    """Raises ModelVetError for a bad or mismatched file, CheckFailed for one that won't fit.

    The header is read first, so a bad file is refused before anything slow happens;
    `hardware` may be a function, called (e.g. to detect the machine) only for a sound file.
    `cancelled()` is asked while hashing and before detecting: yes raises Cancelled.
    """
    try:
        identity: list[int] | None = file_identity(str(path))
    except OSError:
        identity = None  # read_gguf says what is wrong with the path
    facts = read_gguf(path)
    settings = settings.on_this_machine()  # the threads the child will be given, stated
    notes = []
    if facts.context_length and settings.context_tokens > facts.context_length:
        notes.append(
            f"context capped at the model's trained {facts.context_length} tokens "
            f"(asked for {settings.context_tokens})"
        )
        settings = replace(settings, context_tokens=facts.context_length)
    digest = sha256_of(facts.path, progress, cancelled)
    if _identity_now(path) != identity:
        raise ModelVetError(
            "the file changed while it was being checked",
            str(path),
            "something is writing to it or replaced it; do not load it",
        )
    match = match_catalog(catalog, facts.path.name, facts.file_size_bytes, digest)
    if match.problems:
        raise ModelVetError(
            "file does not match the catalog: " + "; ".join(match.problems),
            str(path),
            "the file may be corrupted or replaced; do not load it",
        )
    checks = [f"sha256 {digest}", *notes]
    if match.verified:
        checks.append(f"verified: the publisher's sha256 for {match.model_id} ({match.quant})")
    elif match.model_id:
        checks.append(f"catalog: {match.model_id} by {match.matched_by}; no publisher hash")
    else:
        checks.append("not in the catalog: origin and licence cannot be checked")
    template = screen_template(facts.chat_template)
    checks.extend(f"chat template {f.severity}: {f.detail}" for f in template.findings)
    if not template.renderable:
        checks.append("chat template not used: the architecture's built-in chat format stands in")
    if cancelled is not None and cancelled():
        raise Cancelled(f"stopped checking {path}")
    if callable(hardware):
        hardware = hardware()
    # Speed at the smoke run's own depth: its prompt (about 40 tokens) and half its generation.
    depth = min(SMOKE_DEPTH_TOKENS, settings.context_tokens)
    predicted = predict_one(facts.architecture_row(), settings, hardware, depth_tokens=depth)
    available = (hardware.ram_available_gb or hardware.ram_gb) * GB
    needed = predicted["total_bytes"]
    if needed is None or predicted["placement"] is None or needed > available:
        message = (
            f"needs {format_bytes(needed)} at {settings.context_tokens} tokens; "
            f"{format_bytes(available)} of RAM is available"
        )
        if not force:
            raise CheckFailed(f"will not fit: {message}", str(path), "it can be loaded anyway")
        checks.append(f"forced: {message}")
    else:
        checks.append(
            f"fits: {format_bytes(needed)} predicted, {format_bytes(available)} available"
        )
    return PreLoad(
        facts, digest, match, template, predicted, checks, settings, hardware, identity=identity
    )


def _identity_now(path: Path) -> list[int] | None:
    try:
        return file_identity(str(path))
    except OSError:
        return None
