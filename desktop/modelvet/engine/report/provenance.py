"""Where a recommended model's facts come from: its catalog sources, file, lineage, architecture."""

from __future__ import annotations

from modelvet.engine.catalog.frame import describe_link
from modelvet.engine.catalog.loader import Catalog
from modelvet.engine.catalog.schema import Architecture, Artifact, Model
from modelvet.engine.fit.quants import normalise_quant
from modelvet.engine.rank.result import RecommendedModel
from modelvet.engine.report.record import Ancestor, RecordedModel, SourceRef


def chosen_artifact(model: Model, item: RecommendedModel) -> Artifact | None:
    """The catalog file behind the chosen variant; None when the size was estimated."""
    for artifact in model.artifacts:
        if (artifact.format, normalise_quant(artifact.quant), artifact.publisher) == (
            item.format,
            item.quant,
            item.publisher,
        ):
            return artifact
    return None


def ancestors(catalog: Catalog, model: Model) -> list[Ancestor]:
    """The base model, its base model, … (a cycle in the catalog stops the walk)."""
    chain: list[Ancestor] = []
    seen = {model.id}
    current = model
    while current.base_model and current.base_model not in seen:
        base = catalog.models.get(current.base_model)
        if base is None:
            break
        developer = catalog.developers.get(base.developer)
        chain.append(
            Ancestor(
                model_id=base.id,
                name=base.name,
                developer=developer.name if developer else base.developer,
                developer_country=developer.country if developer else "??",
                lineage=current.lineage,
                repo=base.repo,
                card_url=base.sources["card"],
            )
        )
        seen.add(base.id)
        current = base
    return chain


def architecture_text(arch: Architecture | None) -> str | None:
    if arch is None:
        return None
    parts = [
        f"{label} {value}"
        for label, value in (
            ("layers", arch.layers),
            ("attention heads", arch.attention_heads),
            ("KV heads", arch.kv_heads),
            ("head size", arch.head_dim),
            ("hidden size", arch.hidden_size),
            ("vocabulary", arch.vocab_size),
        )
        if value
    ]
    if arch.experts_total:
        parts.append(
            f"mixture of experts, {arch.experts_active or '?'} of {arch.experts_total} active"
        )
    if arch.sliding_window:
        where = (
            f"on {arch.sliding_window_layers} layers"
            if arch.sliding_window_layers
            else "(how many layers use it is not in the catalog)"
        )
        parts.append(f"sliding window {arch.sliding_window} {where}")
    if arch.full_attention_layers is not None:
        parts.append(f"{arch.full_attention_layers} full-attention layers")
    if arch.kv_lora_rank:
        parts.append(f"multi-head latent attention, KV rank {arch.kv_lora_rank}")
    return ", ".join(parts) or None


def architecture_family(arch: Architecture | None) -> str | None:
    """Only what the catalog's numbers show; None when they show nothing."""
    if arch is None or not (arch.attention_heads or arch.kv_heads or arch.kv_lora_rank):
        return None
    if (
        arch.layers
        and arch.full_attention_layers is not None
        and (arch.full_attention_layers < arch.layers)
    ):
        family = "hybrid transformer"
    else:
        family = "transformer"
    return f"mixture-of-experts {family}" if arch.experts_total else family


def _sources(
    catalog: Catalog, model: Model, artifact: Artifact | None, base: list[Ancestor]
) -> list[SourceRef]:
    """Every URL behind the model's facts, each once, with the facts it supports."""
    pairs: list[tuple[str, str]] = [(f"model {fact}", url) for fact, url in model.sources.items()]
    developer = catalog.developers.get(model.developer)
    pairs += [("developer and its country", url) for url in developer.sources] if developer else []
    licence = catalog.licenses.get(model.license)
    if licence:
        pairs.append(("licence text", licence.url))
        pairs += [(f"licence {clause}", url) for clause, url in licence.clause_sources.items()]
    if model.architecture:
        pairs.append(("architecture (memory prediction)", model.architecture.source))
    if model.openness:
        pairs.append(("openness", model.openness.source))
    pairs += [(f"benchmark {b.name}", b.source) for b in model.benchmarks]
    if artifact:
        pairs.append((f"file {artifact.quant} (size, sha256)", artifact.source))
    if model.hosted:
        pairs.append(("hosting", model.hosted.source))
        pairs += [(f"hosting offer {o.name}", o.source) for o in model.hosted.offers]
    pairs += [(f"base model {a.name}", a.card_url) for a in base]
    grouped: dict[str, list[str]] = {}
    for fact, url in pairs:
        facts = grouped.setdefault(url, [])
        if fact not in facts:
            facts.append(fact)
    return [SourceRef(facts=facts, url=url) for url, facts in grouped.items()]


def model_sources(catalog: Catalog, model: Model) -> list[SourceRef]:
    """The URLs behind a model's facts (no file chosen: an excluded model's, say)."""
    return _sources(catalog, model, None, ancestors(catalog, model))


def recorded_model(catalog: Catalog, item: RecommendedModel) -> RecordedModel:
    """The recommendation of one model, joined with what the catalog says about its sources."""
    origin_chain = [describe_link(link) for link in item.origin]
    model = catalog.models.get(item.model_id)
    if model is None:  # the recommendation came from another catalog: keep what it says
        return RecordedModel(
            recommended=item,
            origin_chain=origin_chain,
            ancestors=[],
            license_spdx=None,
            official_file=None,
            file_repo=None,
            revision=None,
            file_source=None,
            architecture=None,
            architecture_family=None,
            sources=[SourceRef(facts=["licence text"], url=item.license_url)],
        )
    artifact = chosen_artifact(model, item)
    base = ancestors(catalog, model)
    licence = catalog.licenses.get(model.license)
    return RecordedModel(
        recommended=item,
        origin_chain=origin_chain,
        ancestors=base,
        license_spdx=licence.spdx if licence else None,
        official_file=artifact.official if artifact else None,
        file_repo=artifact.repo if artifact else None,
        revision=artifact.revision if artifact else None,
        file_source=artifact.source if artifact else None,
        architecture=architecture_text(model.architecture),
        architecture_family=architecture_family(model.architecture),
        sources=_sources(catalog, model, artifact, base),
        named_in_rules=named_in_rules(catalog, model),
    )


def named_in_rules(catalog: Catalog, model: Model) -> list[str]:
    """'Developer: rule' for each government rule naming the developer or a base model's."""
    names: list[str] = []
    for current in [model] + [catalog.models[a.model_id] for a in ancestors(catalog, model)]:
        developer = catalog.developers.get(current.developer)
        for rule in developer.named_in_rules if developer else []:
            text = f"{developer.name}: {rule.rule}"  # type: ignore[union-attr]
            if text not in names:
                names.append(text)
    return names
