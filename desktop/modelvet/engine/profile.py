"""The user's constraints (organisation, security, hardware, capability) and their TOML file."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal, cast

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from modelvet.engine.catalog.schema import (
    Country,
    GpuSpec,
    Sector,
    SecurityRules,
    Task,
)
from modelvet.engine.errors import ModelVetError
from modelvet.engine.fit.settings import KvCacheType, RunSettings, Runtime
from modelvet.engine.storage import atomic_write_text

PROFILE_SCHEMA_VERSION = 1
Priority = Literal["balanced", "quality", "speed"]


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Organisation(_Part):
    country: Country = Field("US", description="Where the organisation is domiciled")
    sector: Sector = "commercial"
    expected_monthly_users: int = Field(
        100, ge=0, description="Users of this deployment (per-product caps, e.g. Qwen's)"
    )
    monthly_active_users: int | None = Field(
        None,
        ge=0,
        description="Today, across all products of the organisation and its affiliates "
        "(Llama's test); unset: the deployment's expected users stand in",
    )
    monthly_revenue_usd: float | None = Field(
        None, ge=0, description="Global consolidated monthly revenue (revenue ceilings, duties)"
    )
    user_countries: list[Country] = Field(
        default_factory=list, description="Where users and outputs are (territory clauses)"
    )


class Security(SecurityRules, _Part):
    """Each rule left empty takes the named policy's value, then the permissive default."""

    policy: str | None = None


class HardwareRequest(_Part):
    """A preset, explicit numbers, or both (numbers override the preset's)."""

    preset: str | None = None
    ram_gb: float | None = Field(None, gt=0)
    ram_bandwidth_gbs: float | None = Field(None, gt=0)
    cpu_cores: int | None = Field(None, ge=1)
    unified_memory: bool | None = None
    gpus: list[GpuSpec] | None = None


class Capability(_Part):
    tasks: list[Task] = Field(default_factory=lambda: cast(list[Task], ["general"]), min_length=1)
    context_tokens: int = Field(8192, ge=256, le=10_000_000)
    min_tokens_per_s: float = Field(10, ge=0)
    languages: list[str] = Field(default_factory=lambda: ["en"])
    kv_cache_type: KvCacheType = "f16"
    priority: Priority = "balanced"  # how each model's variant is chosen (rank/variant.py)
    runtime: Runtime = "llama-server"  # whose defaults the predictions describe

    def run_settings(self, **overrides: Any) -> RunSettings:
        """The runtime preset at this context and KV cache type, with any flags on top."""
        return RunSettings.preset(
            self.runtime, self.context_tokens, self.kv_cache_type, **overrides
        )


class Profile(_Part):
    schema_version: Literal[1] = 1  # PROFILE_SCHEMA_VERSION, checked first by parse_profile
    name: str | None = None
    organisation: Organisation = Field(default_factory=lambda: Organisation())
    security: Security = Field(default_factory=lambda: Security())
    hardware: HardwareRequest | None = None
    capability: Capability = Field(default_factory=lambda: Capability())


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    extra = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
    value = first.get("input")
    shown = f" {value!r}" if isinstance(value, str | int | float) else ""
    message = first["msg"].removeprefix("Value error, ")
    if value is not None and repr(value) in message:
        shown = ""
    return f"{where}:{shown} {message}{extra}"


def parse_profile(document: dict, where: str = "profile") -> Profile:
    version = document.get("schema_version", PROFILE_SCHEMA_VERSION)
    if version != PROFILE_SCHEMA_VERSION:
        raise ModelVetError(
            f"profile schema {version!r}; this ModelVet reads schema {PROFILE_SCHEMA_VERSION}",
            where,
            "a newer ModelVet wrote it: open it there, or save it again from this version",
        )
    try:
        return Profile.model_validate(document)
    except ValidationError as error:
        raise ModelVetError(_describe(error), where) from error


def load_profile(path: str | Path) -> Profile:
    """Read a profile TOML; a missing or malformed file raises ModelVetError naming it."""
    path = Path(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ModelVetError("profile file not found", str(path)) from error
    except IsADirectoryError as error:
        raise ModelVetError("is a folder, not a profile file", str(path)) from error
    except UnicodeDecodeError as error:
        raise ModelVetError("not a text file", str(path)) from error
    except tomllib.TOMLDecodeError as error:
        raise ModelVetError(f"not valid TOML: {error}", str(path)) from error
    return parse_profile(document, str(path))


def profile_to_toml(profile: Profile) -> str:
    document = profile.model_dump(mode="json", exclude_none=True)
    security = document.get("security", {})
    if "policy" in security:  # the preset first, then the rules that override it
        document["security"] = {"policy": security.pop("policy"), **security}
    return tomli_w.dumps(document)


def save_profile(profile: Profile, path: str | Path) -> None:
    """Write atomically: a crash or a full disk never leaves a half-written profile."""
    atomic_write_text(Path(path), profile_to_toml(profile))
