"""Writes a CycloneDX 1.6 ML-BOM (JSON) of the recommended models, by hand, from the record."""

from __future__ import annotations

import re
import uuid
from typing import Any

from modelvet.engine.report.record import Ancestor, DecisionRecord, RecordedModel

_HF_REPO = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")
_SPDX_ID = re.compile(r"^[A-Za-z0-9.+-]+$")


def purl(repo: str | None, revision: str | None = None) -> str | None:
    """pkg:huggingface/<owner>/<name>[@<commit>]; only a full commit pins a version."""
    if not repo or not _HF_REPO.match(repo):
        return None
    owner, name = repo.split("/")
    version = f"@{revision}" if revision and _COMMIT.match(revision) else ""
    return f"pkg:huggingface/{owner}/{name}{version}"


def _license(entry: RecordedModel) -> dict[str, Any]:
    item = entry.recommended
    spdx = entry.license_spdx
    if spdx and not spdx.startswith("LicenseRef-") and _SPDX_ID.match(spdx):
        licence: dict[str, Any] = {"id": spdx}
    else:
        licence = {"name": item.license_name}
    licence["url"] = item.license_url
    licence["acknowledgement"] = "declared"
    return {"license": licence}


def _references(entry: RecordedModel) -> list[dict[str, str]]:
    item = entry.recommended
    refs: list[dict[str, str]] = []
    if entry.file_repo and _HF_REPO.match(entry.file_repo):
        refs.append({"type": "distribution", "url": f"https://huggingface.co/{entry.file_repo}"})
    if item.repo and _HF_REPO.match(item.repo):
        refs.append(
            {
                "type": "vcs",
                "url": f"https://huggingface.co/{item.repo}",
                "comment": "the developer's own repository",
            }
        )
    refs.append({"type": "license", "url": item.license_url})
    for source in entry.sources:
        kind = "model-card" if "model card" in source.facts else "evidence"
        refs.append(
            {"type": kind, "url": source.url, "comment": "source for: " + ", ".join(source.facts)}
        )
    return refs


def _ancestor(base: Ancestor) -> dict[str, Any]:
    component: dict[str, Any] = {
        "type": "machine-learning-model",
        "name": base.name,
        "supplier": {"name": base.developer},
        "description": f"{base.lineage or 'derived'} base model",
    }
    if ref := purl(base.repo):
        component["purl"] = ref
    component["externalReferences"] = [{"type": "model-card", "url": base.card_url}]
    component["properties"] = [
        {"name": "modelvet:developer-country", "value": base.developer_country}
    ]
    return component


def _model_card(entry: RecordedModel, record: DecisionRecord) -> dict[str, Any]:
    item = entry.recommended
    parameters: dict[str, Any] = {
        "task": "text-generation",
        "inputs": [{"format": m} for m in item.modalities],
        "outputs": [{"format": "text"}],
    }
    if entry.architecture_family:
        parameters["architectureFamily"] = entry.architecture_family
    architecture = "; ".join(
        part
        for part in (entry.architecture, f"quantisation {item.quant}" if item.quant else None)
        if part
    )
    if architecture:
        parameters["modelArchitecture"] = architecture
    req, org = record.requirements, record.organisation
    use = (
        f"{', '.join(req.tasks)} with {req.context_tokens} tokens of context for a "
        f"{org.sector} organisation in {org.country}, on {record.hardware.name}"
    )
    return {
        "modelParameters": parameters,
        "considerations": {"useCases": [use], "performanceTradeoffs": item.reasons},
    }


def _properties(entry: RecordedModel) -> list[dict[str, str]]:
    item = entry.recommended
    values = {
        "modelvet:rank": item.rank,
        "modelvet:score": item.score,
        "modelvet:developer": item.developer,
        "modelvet:developer-country": item.developer_country,
        "modelvet:origin-chain": "; ".join(entry.origin_chain),
        "modelvet:license-id": item.license,
        "modelvet:file-format": item.format,
        "modelvet:quantisation": item.quant,
        "modelvet:publisher-country": item.publisher_country,
        "modelvet:files": ", ".join(item.files) or None,
        "modelvet:file-size-bytes": item.file_size_bytes,
        "modelvet:file-size-status": item.size_status,
        "modelvet:placement": item.placement,
        "modelvet:predicted-memory-bytes": item.predicted_memory_bytes,
        "modelvet:predicted-tokens-per-s": (
            round(item.predicted_tokens_per_s, 1) if item.predicted_tokens_per_s else None
        ),
    }
    return [{"name": k, "value": str(v)} for k, v in values.items() if v not in (None, "")]


def component(entry: RecordedModel, record: DecisionRecord) -> dict[str, Any]:
    item = entry.recommended
    repo = entry.file_repo or item.repo
    repo_owner = repo.split("/")[0] if repo and "/" in repo else None
    result: dict[str, Any] = {
        "type": "machine-learning-model",
        "bom-ref": f"model:{item.model_id}:{item.quant or 'hosted'}",
        "supplier": {"name": item.publisher or item.developer},
        "manufacturer": {"name": item.developer},
        "group": repo_owner,
        "name": item.name,
        "version": item.quant,
        "description": f"ModelVet rank {item.rank}: {item.name} by {item.developer}",
        "licenses": [_license(entry)],
        "purl": purl(entry.file_repo, entry.revision) if entry.file_repo else purl(item.repo),
        "hashes": [{"alg": "SHA-256", "content": item.sha256}] if item.sha256 else None,
        "externalReferences": _references(entry),
        "pedigree": {"ancestors": [_ancestor(a) for a in entry.ancestors]}
        if entry.ancestors
        else None,
        "modelCard": _model_card(entry, record),
        "properties": _properties(entry),
    }
    return {k: v for k, v in result.items() if v is not None}


def render_cyclonedx(record: DecisionRecord) -> dict[str, Any]:
    """The BOM as a JSON-ready dict: one machine-learning-model component per recommendation."""
    properties = [
        {"name": "modelvet:catalog-version", "value": record.catalog_version},
        {"name": "modelvet:excluded-models", "value": str(len(record.excluded))},
    ]
    if record.policy:
        properties.append({"name": "modelvet:policy", "value": record.policy.id})
    if record.profile_name:
        properties.append({"name": "modelvet:profile", "value": record.profile_name})
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": f"urn:uuid:{uuid.uuid4()}",
        "version": 1,
        "metadata": {
            "timestamp": record.generated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "tools": {
                "components": [
                    {"type": "application", "name": "ModelVet", "version": record.modelvet_version}
                ]
            },
            "properties": properties,
        },
        "components": [component(entry, record) for entry in record.recommended],
    }
