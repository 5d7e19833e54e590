"""The catalog's data model: developers, licences, models, artifacts, hardware and policy presets.

Every value that a decision rests on carries a source URL, either on its own record
(`source`) or through the record's `sources` table. Unknown facts stay `None`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

_URL = re.compile(r"^https?://[^\s/]+\.[^\s]+$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


def _check_url(value: str) -> str:
    if not _URL.match(value):
        raise ValueError(f"not an http(s) URL: {value!r}")
    return value


def _check_country(value: str) -> str:
    if not _COUNTRY.match(value):
        raise ValueError(f"not an ISO 3166 alpha-2 code (two capital letters): {value!r}")
    return value


def _check_sha256(value: str) -> str:
    if not _SHA256.match(value):
        raise ValueError("sha256 must be 64 lowercase hex digits")
    return value


def _check_id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError(f"ids are lowercase letters, digits, '.', '_' and '-': {value!r}")
    return value


Url = Annotated[str, AfterValidator(_check_url)]
Country = Annotated[str, AfterValidator(_check_country)]
Sha256 = Annotated[str, AfterValidator(_check_sha256)]
Ident = Annotated[str, AfterValidator(_check_id)]

Modality = Literal["text", "image", "audio", "video"]
Task = Literal[
    "general", "coding", "reasoning", "math", "rag", "tool-use", "multilingual", "vision"
]
TASKS: tuple[str, ...] = Task.__args__  # type: ignore[attr-defined]
Sector = Literal[
    "commercial", "government", "defense", "healthcare", "finance", "research", "education"
]
SECTORS: tuple[str, ...] = Sector.__args__  # type: ignore[attr-defined]
Openness = Literal["open-weights", "open-model", "open-tooling", "open-science"]
OPENNESS_LADDER: tuple[str, ...] = Openness.__args__  # type: ignore[attr-defined]


class Strict(BaseModel):
    """Base for every catalog record: unknown keys are errors, not silent defaults."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- developers -------------------------------------------------------------------------


class GovernmentRule(Strict):
    rule: str = Field(description="The rule's name, e.g. 'FY2026 NDAA §1532'")
    detail: str = Field(description="What the rule says about this organisation")
    url: Url


class Developer(Strict):
    id: Ident
    name: str
    legal_entity: str | None = None
    country: Country = Field(description="Headquarters, ISO 3166 alpha-2")
    parent: str | None = None
    parent_country: Country | None = None
    named_in_rules: list[GovernmentRule] = []
    sources: list[Url] = Field(min_length=1)


# --- licences ---------------------------------------------------------------------------

LICENSE_CLAUSES = (
    "osi_approved",
    "commercial_use",
    "monthly_user_cap",
    "revenue_cap_usd",
    "attribution_required",
    "display_requirement",
    "display_trigger",
    "derivative_naming",
    "derivative_terms",
    "use_policy_pass_on",
    "field_of_use_bans",
    "government_carveout",
    "excluded_regions",
    "remote_restriction",
    "aup_unilaterally_updatable",
    "outputs_are_derivatives",
    "governing_law",
)

NONE = "none"  # a threshold clause that was read and sets no threshold
Threshold = int | Literal["none"]
DerivativeTerms = Literal["all", "notice", "none"]
UserCapBasis = Literal["organisation-at-release", "licensee-at-release", "product"]


class DisplayTrigger(Strict):
    """Sizes above which a display duty applies (any one is enough); unset: no such trigger."""

    monthly_active_users: int | None = Field(None, ge=1)
    monthly_revenue_usd: int | None = Field(None, ge=1)
    annual_revenue_usd: int | None = Field(None, ge=1)


class GovernmentCarveout(Strict):
    """A statement by the licensor that lets some governments use the model despite its bans."""

    statement: str = Field(description="What the licensor said, in one or two sentences")
    countries: list[Country] = Field(min_length=1, description="Whose organisations it reaches")
    sectors: list[Sector] = Field(min_length=1, description="Which sectors it reaches")
    date: dt.date | None = None
    amends_licence: bool = Field(
        description="false: a public statement, not an amendment of the licence or its policy"
    )
    source: Url


class License(Strict):
    id: Ident
    name: str
    spdx: str | None = Field(None, description="SPDX id, or LicenseRef-… when none exists")
    url: Url = Field(description="The licence text")
    osi_approved: bool | None = None
    commercial_use: Literal["yes", "conditional", "no"] | None = None
    monthly_user_cap: Threshold | None = Field(
        None,
        description="Above this many monthly active users the licence grants nothing; "
        "'none': the text sets no such cap",
    )
    monthly_user_cap_basis: UserCapBasis | None = Field(
        None,
        description="Whose users count: the organisation and affiliates on the release date "
        "(Llama), the licensee alone on the release date (Tencent), or the product (Qwen)",
    )
    monthly_user_cap_test: str | None = Field(None, description="The cap's test, quoted")
    revenue_cap_usd: Threshold | None = Field(
        None,
        description="Above this global consolidated MONTHLY revenue the licence grants nothing; "
        "'none': the text sets no such cap",
    )
    revenue_cap_test: str | None = Field(None, description="The revenue test, quoted")
    attribution_required: bool | None = None
    display_requirement: str | None = Field(None, description="e.g. show 'Built with Llama'")
    display_trigger: DisplayTrigger | None = Field(
        None, description="The display duty applies only above these sizes"
    )
    derivative_naming: str | None = Field(None, description="e.g. names must start 'Llama'")
    derivative_terms: DerivativeTerms | None = Field(
        None,
        description="What reaches a fine-tune, distill or merge: 'all' the terms (use policy, "
        "caps, regions), only the 'notice' duties, or 'none'",
    )
    use_policy_pass_on: bool | None = Field(
        None, description="The use restrictions must be passed on to one's own users/recipients"
    )
    field_of_use_bans: list[str] | None = Field(
        None, description="Banned uses, e.g. 'military'; [] when the text has none"
    )
    government_carveout: GovernmentCarveout | None = None
    excluded_regions: list[str] | None = Field(
        None, description="ISO 3166 codes or 'EU' where the licence grants nothing"
    )
    excluded_regions_multimodal_only: bool = Field(
        False, description="The regional exclusion covers only models that take images etc."
    )
    excluded_regions_scope: Literal["licensee", "use"] | None = Field(
        None,
        description="'licensee': judged by where the organisation is domiciled; 'use': also "
        "where the model or its outputs are used (the users' countries). Unset: both.",
    )
    remote_restriction: bool | None = None
    aup_unilaterally_updatable: bool | None = None
    outputs_are_derivatives: bool | None = None
    governing_law: str | None = None
    clause_sources: dict[str, Url] = Field(
        {}, description="Where a clause comes from another text (an AUP), its URL"
    )

    @model_validator(mode="after")
    def _clause_sources_name_clauses(self) -> License:
        unknown = set(self.clause_sources) - set(LICENSE_CLAUSES)
        if unknown:
            raise ValueError(f"clause_sources names unknown clauses: {sorted(unknown)}")
        if isinstance(self.monthly_user_cap, int) and self.monthly_user_cap_basis is None:
            raise ValueError("monthly_user_cap needs monthly_user_cap_basis (whose users count)")
        return self

    def clause_url(self, clause: str) -> str:
        """Where a clause can be read: its own source, else the licence text."""
        return self.clause_sources.get(clause, self.url)


# --- models -----------------------------------------------------------------------------


class Architecture(Strict):
    """The numbers that decide memory and speed, as in the model's config.json."""

    layers: int | None = Field(None, ge=1)
    attention_heads: int | None = Field(None, ge=1)
    kv_heads: int | None = Field(None, ge=1)
    head_dim: int | None = Field(None, ge=1)
    hidden_size: int | None = Field(None, ge=1)
    vocab_size: int | None = Field(None, ge=1)
    intermediate_size: int | None = Field(None, ge=1, description="Feed-forward width")
    sliding_window: int | None = Field(None, ge=1, description="Window of sliding-window layers")
    sliding_window_layers: int | None = Field(
        None, ge=0, description="How many of `layers` use the sliding window"
    )
    full_attention_layers: int | None = Field(
        None, ge=0, description="Layers with a KV cache over the whole context (hybrids)"
    )
    full_attention_kv_heads: int | None = Field(
        None, ge=1, description="KV heads of full-attention layers, where not `kv_heads` (Gemma 4)"
    )
    full_attention_head_dim: int | None = Field(
        None, ge=1, description="Head size of full-attention layers, where not `head_dim`"
    )
    kv_shared_layers: int | None = Field(
        None,
        ge=0,
        description="Layers that reuse an earlier layer's KV cache (Gemma 4 E-models); "
        "not counted in `sliding_window_layers` or `full_attention_layers`",
    )
    llama_cpp_sliding_window_layers: int | None = Field(
        None,
        ge=0,
        description="Sliding-window layers as llama.cpp builds them, where it differs from the "
        "config (0 for Ministral-8B-2410: llama.cpp keeps a full cache on every layer)",
    )
    recurrent_layers: int | None = Field(
        None, ge=0, description="Recurrent / state-space layers (Mamba, Gated DeltaNet)"
    )
    recurrent_state_elements: int | None = Field(
        None,
        ge=1,
        description="f32 elements of one sequence's state per recurrent layer: the convolution "
        "state plus the SSM (or delta-rule) state, from the config",
    )
    kv_lora_rank: int | None = Field(None, ge=1, description="MLA compressed KV width")
    qk_rope_head_dim: int | None = Field(None, ge=1, description="MLA decoupled RoPE key width")
    experts_total: int | None = Field(None, ge=1)
    experts_active: int | None = Field(None, ge=1)
    expert_intermediate_size: int | None = Field(
        None, ge=1, description="Feed-forward width of one routed expert (moe_intermediate_size)"
    )
    recurrent_projection_width: int | None = Field(
        None,
        ge=1,
        description="Width of a recurrent layer's input projection per token (Mamba-2: "
        "2 × d_inner + 2 × groups × d_state + heads), from the config",
    )
    source: Url


ARCHITECTURE_FIELDS: tuple[str, ...] = tuple(f for f in Architecture.model_fields if f != "source")


class OpennessFacts(Strict):
    """Which Model Openness Framework components are released under an open licence."""

    weights: bool
    weights_license_open: bool | None = None
    technical_report: bool | None = None
    model_card: bool | None = None
    data_card: bool | None = None
    evaluation_results: bool | None = None
    training_code: bool | None = None
    inference_code: bool | None = None
    evaluation_code: bool | None = None
    training_data: bool | None = None
    source: Url


# Benchmark names the catalog accepts; rank/ maps each to the tasks it measures.
BENCHMARK_NAMES: tuple[str, ...] = (
    "MMLU",
    "MMLU-Pro",
    "MMLU-Redux",
    "GPQA Diamond",
    "HLE",
    "BBH",
    "ARC-C",
    "HellaSwag",
    "IFEval",
    "Arena-Hard",
    "MT-Bench",
    "HumanEval",
    "HumanEval+",
    "MBPP",
    "MBPP+",
    "LiveCodeBench",
    "SWE-bench Verified",
    "Aider Polyglot",
    "MultiPL-E",
    "Terminal-Bench",
    "GSM8K",
    "MATH",
    "MATH-500",
    "AIME 2024",
    "AIME 2025",
    "BFCL",
    "tau-bench",
    "tau2-bench",
    "MMMU",
    "MathVista",
    "ChartQA",
    "DocVQA",
    "AI2D",
    "MGSM",
    "MMMLU",
    "Global-MMLU",
    "INCLUDE",
    "RULER",
    "LongBench v2",
)


def _check_benchmark(value: str) -> str:
    if value not in BENCHMARK_NAMES:
        raise ValueError(f"unknown benchmark {value!r}; known: {', '.join(BENCHMARK_NAMES)}")
    return value


class Benchmark(Strict):
    name: Annotated[str, AfterValidator(_check_benchmark)]
    score: float = Field(ge=0, le=100, description="Percent, as published")
    setting: str | None = Field(None, description="e.g. '5-shot', 'thinking', 'pass@1'")
    source: Url


class Artifact(Strict):
    """One downloadable file set: a format and quantisation from one publisher."""

    format: Literal["gguf", "safetensors"]
    quant: str = Field(description="e.g. Q4_K_M, Q8_0, BF16, MXFP4")
    publisher: str = Field(description="Organisation that publishes the file")
    publisher_country: Country | None = None
    official: bool = Field(description="Published by the model's own developer")
    repo: str
    revision: str | None = None
    files: list[str] = Field(min_length=1)
    size_bytes: int | None = Field(None, ge=1)
    size_status: Literal["exact", "published", "estimated"] | None = Field(
        None,
        description="exact: bytes as the host lists them; published: a rounded figure from the "
        "publisher's page (1 GB = 1e9 bytes); estimated: computed, see size_note",
    )
    size_note: str | None = None
    sha256: Sha256 | None = Field(None, description="As the publisher states it (single file)")
    projector_file: str | None = Field(
        None, description="The vision/audio projector (mmproj) file image input also needs"
    )
    projector_bytes: int | None = Field(None, ge=1, description="Its size, as size_status says")
    source: Url

    @model_validator(mode="after")
    def _size_has_status(self) -> Artifact:
        if self.size_bytes is not None and self.size_status is None:
            raise ValueError("size_bytes needs size_status ('exact', 'published' or 'estimated')")
        return self


class HostingOffer(Strict):
    name: str = Field(description="e.g. 'Anthropic API', 'Amazon Bedrock (GovCloud)'")
    provider_country: Country
    regions: list[str] = []
    certifications: list[str] = Field([], description="e.g. 'FedRAMP High', 'IL5'")
    source: Url


class Hosted(Strict):
    provider: str
    provider_country: Country
    offers: list[HostingOffer] = []
    source: Url


MODEL_FACT_SOURCES = (
    "card",
    "params",
    "context_length",
    "release_date",
    "license",
    "base_model",
    "modalities",
)


class Model(Strict):
    id: Ident
    name: str
    developer: Ident
    license: Ident
    repo: str | None = Field(None, description="The developer's own repository id; None if hosted")
    release_date: dt.date | None = None
    modalities: list[Modality] = Field(min_length=1)
    languages: list[str] = []
    total_params_b: float | None = Field(None, gt=0)
    active_params_b: float | None = Field(None, gt=0)
    context_length: int | None = Field(None, ge=1)
    reasoning: bool | None = Field(None, description="Has a thinking / reasoning mode")
    base_model: str | None = Field(None, description="Catalog id of the model this derives from")
    lineage: Literal["fine-tune", "distill", "merge"] | None = None
    architecture: Architecture | None = None
    openness: OpennessFacts | None = None
    benchmarks: list[Benchmark] = []
    artifacts: list[Artifact] = []
    hosted: Hosted | None = None
    sources: dict[str, Url] = Field(
        description="'card' is required; other keys name the fact they source"
    )

    @model_validator(mode="after")
    def _consistent(self) -> Model:
        if "card" not in self.sources:
            raise ValueError("sources needs 'card': the page that states this model's facts")
        unknown = set(self.sources) - set(MODEL_FACT_SOURCES)
        if unknown:
            raise ValueError(f"sources names unknown facts: {sorted(unknown)}")
        if self.hosted is None and not self.repo:
            raise ValueError("a downloadable model needs repo (or a hosted table if API-only)")
        if self.base_model is not None and self.lineage is None:
            raise ValueError("base_model needs lineage ('fine-tune', 'distill' or 'merge')")
        if (
            self.total_params_b is not None
            and self.active_params_b is not None
            and self.active_params_b > self.total_params_b
        ):
            raise ValueError("active_params_b exceeds total_params_b")
        return self


class ModelFile(Strict):
    """One catalog/models/<family>.toml file."""

    schema_version: Literal[1]
    family: str
    models: list[Model] = Field(min_length=1)


class DeveloperFile(Strict):
    schema_version: Literal[1]
    developers: list[Developer] = Field(min_length=1)


class LicenseFile(Strict):
    schema_version: Literal[1]
    licenses: list[License] = Field(min_length=1)


# --- hardware and policy presets --------------------------------------------------------


class GpuSpec(Strict):
    name: str
    memory_gb: float = Field(gt=0)
    bandwidth_gbs: float | None = Field(None, gt=0)
    fp16_tflops: float | None = Field(None, gt=0)


class HardwarePreset(Strict):
    id: Ident
    name: str
    category: Literal["consumer-gpu", "workstation", "datacenter", "apple", "unified", "cpu"]
    ram_gb: float = Field(gt=0)
    ram_bandwidth_gbs: float | None = Field(None, gt=0)
    cpu_cores: int | None = Field(None, ge=1)
    unified_memory: bool = False
    gpu_memory_fraction: float | None = Field(
        None, gt=0, le=1, description="Unified memory the GPU may use (Apple working-set limit)"
    )
    gpus: list[GpuSpec] = []
    price_usd: float | None = Field(None, gt=0, description="List price in US dollars")
    price_covers: Literal["system", "gpus"] | None = Field(
        None, description="'system': the whole machine; 'gpus': only the preset's GPU cards"
    )
    price_source: Url | None = None
    price_date: dt.date | None = Field(None, description="When the price was listed")
    sources: list[Url] = Field(min_length=1)

    @model_validator(mode="after")
    def _price_is_sourced(self) -> HardwarePreset:
        priced = (self.price_usd, self.price_covers, self.price_source, self.price_date)
        if any(v is not None for v in priced) and any(v is None for v in priced):
            raise ValueError("a price needs price_usd, price_covers, price_source and price_date")
        return self


class HardwareFile(Strict):
    schema_version: Literal[1]
    presets: list[HardwarePreset] = Field(min_length=1)


class GpuCard(Strict):
    """A GPU model's published numbers, so a card typed in or detected by name gets them."""

    id: Ident
    name: str = Field(description="As drivers report it, without the vendor word or memory size")
    aliases: list[str] = Field([], description="Other names a driver reports for this card")
    vendor: Literal["nvidia", "amd", "intel"]
    memory_gb: float = Field(gt=0)
    bandwidth_gbs: float = Field(gt=0)
    fp16_tflops: float | None = Field(None, gt=0)
    sources: list[Url] = Field(min_length=1)


class GpuFile(Strict):
    schema_version: Literal[1]
    gpus: list[GpuCard] = Field(min_length=1)


Deployment = Literal["air-gapped", "on-prem", "cloud-ok"]


class SecurityRules(BaseModel):
    """The security rules a policy preset sets and a profile may override; None: not set."""

    deployment: Deployment | None = None
    blocked_origins: list[Country] | None = None
    allowed_origins: list[Country] | None = None
    require_commercial_use: bool | None = None
    forbid_field_of_use_restrictions: bool | None = None
    require_osi_license: bool | None = None
    min_openness: Openness | None = None
    require_published_hashes: bool | None = None
    unknown_terms: Literal["exclude", "warn"] | None = Field(
        None,
        description="A licence clause or fact the catalog does not know, for a rule that is on: "
        "exclude the model (default) or admit it with a visible caveat",
    )


SECURITY_RULES: tuple[str, ...] = tuple(SecurityRules.model_fields)


class PolicyPreset(SecurityRules, Strict):
    id: Ident
    name: str
    basis: str = Field(description="The legal or organisational basis, in one or two sentences")
    basis_urls: list[Url] = []
    required_by: dict[str, str] = Field(
        {},
        description="Setting → the provision of the cited basis that requires it; a setting "
        "not listed is the organisation's own choice",
    )

    @model_validator(mode="after")
    def _required_by_names_settings(self) -> PolicyPreset:
        unset = [name for name in self.required_by if getattr(self, name, None) is None]
        if unset:
            raise ValueError(f"required_by names settings the preset does not set: {unset}")
        return self


class PolicyFile(Strict):
    schema_version: Literal[1]
    policies: list[PolicyPreset] = Field(min_length=1)


class CatalogMeta(Strict):
    schema_version: Literal[1]
    catalog_version: str
    catalog_date: dt.date
