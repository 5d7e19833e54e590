"""A profile stores only what differs from its preset: the engine decides, no widget needed."""

from __future__ import annotations

import pytest

from modelvet.engine.catalog import bundled_catalog
from modelvet.engine.catalog.schema import GpuSpec, SecurityRules
from modelvet.engine.hardware import from_request, overrides_against, preset_numbers, shown_numbers
from modelvet.engine.profile import HardwareRequest, Profile, Security
from modelvet.engine.security import overrides_against as security_overrides
from modelvet.engine.security import resolve_security

CATALOG = bundled_catalog()
# The same rules on screen: air-gapped, four origins blocked, commercial use required.
SHOWN = SecurityRules(
    deployment="air-gapped",
    blocked_origins=["CN", "RU", "IR", "KP"],
    allowed_origins=[],
    require_commercial_use=True,
    forbid_field_of_use_restrictions=False,
    require_osi_license=False,
    min_openness=None,
    require_published_hashes=False,
    unknown_terms="exclude",
)


@pytest.mark.parametrize(
    ("policy", "stored"),
    [
        # The preset sets all three the same, but two more that the screen has turned off.
        (
            "us-dod-contractor",
            {"forbid_field_of_use_restrictions": False, "require_published_hashes": False},
        ),
        # Only the deployment differs from this preset; the rest it leaves to the defaults.
        (
            "eu-public-sector",
            {
                "deployment": "air-gapped",
                "blocked_origins": ["CN", "RU", "IR", "KP"],
                "require_commercial_use": True,
            },
        ),
        # No preset: whatever is not the permissive default.
        (
            None,
            {
                "deployment": "air-gapped",
                "blocked_origins": ["CN", "RU", "IR", "KP"],
                "require_commercial_use": True,
            },
        ),
    ],
)
def test_security_stores_only_what_differs_from_the_preset(
    policy: str | None, stored: dict[str, object]
) -> None:
    preset = CATALOG.policies[policy] if policy else None
    security = security_overrides(SHOWN, preset)
    assert security.policy == policy
    assert security.model_dump(exclude_none=True, exclude={"policy"}) == stored
    # and the stored table resolves to exactly the rules shown
    rules = resolve_security(Profile(security=security), CATALOG)
    assert {name: getattr(rules, name) for name in stored} == stored


def test_security_equal_to_its_preset_stores_nothing_but_the_preset() -> None:
    preset = CATALOG.policies["us-dod-contractor"]
    shown = resolve_security(Profile(security=Security(policy=preset.id)), CATALOG)
    same = SecurityRules(**shown.model_dump(include=set(SecurityRules.model_fields)))
    assert security_overrides(same, preset) == Security(policy="us-dod-contractor")


def test_an_unset_rule_inherits_the_preset() -> None:
    """None on screen ("no requirement") cannot be stored below a preset: the preset stands."""
    preset = CATALOG.policies["open-source-only"]
    security = security_overrides(SecurityRules(min_openness=None), preset)
    assert security == Security(policy="open-source-only")


PRESET = CATALOG.hardware["rtx-3090-desktop"]


def test_hardware_equal_to_its_preset_stores_nothing_but_the_preset() -> None:
    assert overrides_against(preset_numbers(PRESET), PRESET) == HardwareRequest(preset=PRESET.id)


def test_hardware_stores_the_numbers_that_differ() -> None:
    numbers = preset_numbers(PRESET).model_copy(
        update={"ram_gb": 128.0, "gpus": [GpuSpec(name="RTX 3090", memory_gb=24)] * 2}
    )
    request = overrides_against(numbers, PRESET)
    assert request.model_dump(exclude_none=True) == {
        "preset": PRESET.id,
        "ram_gb": 128.0,
        "gpus": [{"name": "RTX 3090", "memory_gb": 24.0}] * 2,
    }
    # Against another preset the same numbers differ in other places.
    other = CATALOG.hardware["rtx-4060-desktop"]
    against_other = overrides_against(numbers, other)
    assert against_other.ram_gb == 128.0 and against_other.cpu_cores is None
    assert against_other.gpus == numbers.gpus
    # What the page shows again for a stored request is what was shown.
    assert shown_numbers(request, PRESET) == numbers.model_copy(update={"preset": PRESET.id})
    assert from_request(request, CATALOG).ram_gb == 128.0


def test_an_unknown_hardware_number_leaves_the_preset_value() -> None:
    numbers = preset_numbers(PRESET).model_copy(update={"ram_bandwidth_gbs": None})
    request = overrides_against(numbers, PRESET)
    assert request == HardwareRequest(preset=PRESET.id)
    assert from_request(request, CATALOG).ram_bandwidth_gbs == PRESET.ram_bandwidth_gbs


def test_hardware_without_a_preset_stores_every_number() -> None:
    numbers = HardwareRequest(ram_gb=32, cpu_cores=8, unified_memory=False, gpus=[])
    assert overrides_against(numbers, None) == numbers
