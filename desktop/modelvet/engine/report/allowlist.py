"""The approved-model list: the recommended variants as a small JSON file other tools enforce.

It fails closed: a model, quantisation or file it does not list is not approved. Each entry
names the files and, where the publisher states one, the sha256 that identifies them.
"""

from __future__ import annotations

from typing import Any

from modelvet.engine.report.record import DecisionRecord

ALLOWLIST_SCHEMA_VERSION = 1


def render_allowlist(record: DecisionRecord) -> dict[str, Any]:
    approved = []
    for entry in record.recommended:
        item = entry.recommended
        approved.append(
            {
                "model_id": item.model_id,
                "name": item.name,
                "licenses": item.licenses,
                "format": item.format,
                "quant": item.quant,
                "publisher": item.publisher,
                "repo": entry.file_repo,
                "revision": entry.revision,
                "files": item.files,
                "sha256": item.sha256,
                "hosted": item.placement == "hosted",
            }
        )
    return {
        "schema_version": ALLOWLIST_SCHEMA_VERSION,
        "kind": "modelvet-allowlist",
        "policy": "fail-closed: anything not listed here is not approved",
        "title": record.title,
        "generated_at": record.generated_at.isoformat(),
        "catalog_version": record.catalog_version,
        "modelvet_version": record.modelvet_version,
        "approved": approved,
    }
