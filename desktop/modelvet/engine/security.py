"""Resolves a profile's security table against its named policy preset into concrete rules."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from modelvet.engine.catalog.loader import Catalog
from modelvet.engine.catalog.schema import SECURITY_RULES, Deployment, PolicyPreset, SecurityRules
from modelvet.engine.errors import require
from modelvet.engine.profile import Profile, Security


class ResolvedSecurity(BaseModel):
    """Every rule with a value, and where each value came from (preset, profile or default)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    policy: PolicyPreset | None
    deployment: Deployment = "cloud-ok"
    blocked_origins: list[str] = []
    allowed_origins: list[str] = []
    require_commercial_use: bool = False
    forbid_field_of_use_restrictions: bool = False
    require_osi_license: bool = False
    min_openness: str | None = None  # None: no requirement (hosted models allowed)
    require_published_hashes: bool = False
    unknown_terms: Literal["exclude", "warn"] = "exclude"
    origin_of: dict[str, str] = {}

    def basis_of(self, name: str) -> str | None:
        """For a setting the policy preset set: the provision that requires it, or a choice."""
        preset = self.policy
        if preset is None or self.origin_of.get(name) != f"policy {preset.id}":
            return None
        if name in preset.required_by:
            return f"required by {preset.required_by[name]}"
        return "the organisation's own choice (no law cited requires it)"


def resolve_security(profile: Profile, catalog: Catalog) -> ResolvedSecurity:
    requested = profile.security
    preset = None
    if requested.policy:
        preset = require(catalog.policies, requested.policy, "policy preset", "security.policy")
    return resolve_rules(requested, preset)


def resolve_rules(requested: SecurityRules, preset: PolicyPreset | None) -> ResolvedSecurity:
    """Each rule: the requested value, else the preset's, else the permissive default."""
    values: dict[str, object] = {}
    origin_of: dict[str, str] = {}
    for name in SECURITY_RULES:
        own = getattr(requested, name)
        from_preset = getattr(preset, name) if preset else None
        if own is not None:
            values[name], origin_of[name] = own, "profile"
        elif from_preset is not None:
            values[name], origin_of[name] = from_preset, f"policy {preset.id}"  # type: ignore[union-attr]
        else:
            origin_of[name] = "default"
    return ResolvedSecurity(policy=preset, origin_of=origin_of, **values)  # type: ignore[arg-type]


def overrides_against(shown: SecurityRules, preset: PolicyPreset | None) -> Security:
    """The profile's security table for rules as shown: the preset, and only the rules whose
    value differs from what the preset (or, where it says nothing, the default) gives.

    A rule shown as None is not set; it cannot undo a preset's value (None means "inherit").
    """
    inherited = resolve_rules(SecurityRules(), preset)
    own = {
        name: value
        for name in SECURITY_RULES
        if (value := getattr(shown, name)) is not None and value != getattr(inherited, name)
    }
    return Security(policy=preset.id if preset else None, **own)
