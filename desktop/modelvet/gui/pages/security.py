"""Step 2: the organisation and its security rules; produces `Organisation` and `Security`."""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from modelvet.engine.catalog.loader import Catalog
from modelvet.engine.catalog.schema import (
    OPENNESS_LADDER,
    SECTORS,
    SECURITY_RULES,
    SecurityRules,
)
from modelvet.engine.profile import Organisation, Profile, Security
from modelvet.engine.security import overrides_against, resolve_security
from modelvet.gui.widgets import COUNTRIES, CountryList, add_row, fill_with_scrolling, heading, hint

COVERED_NATIONS = ["CN", "IR", "KP", "RU"]  # FY2026 NDAA §1532
_BOOLEAN_RULES = {
    "require_commercial_use": (
        "Require &commercial use",
        "Exclude licences that forbid commercial use (research-only, "
        "non-commercial, non-production).",
    ),
    "forbid_field_of_use_restrictions": (
        "Forbid &field-of-use bans that hit your sector",
        "Exclude licences whose acceptable-use terms ban uses your sector needs, e.g. military "
        "use for defense; a documented government carve-out is honoured and shown.",
    ),
    "require_osi_license": (
        "Require an &OSI-approved licence",
        "Only licences the Open Source Initiative approves (Apache-2.0, MIT…).",
    ),
    "require_published_hashes": (
        "Require publisher &hashes",
        "Only files whose sha256 the publisher states, so the copy you carry in can be verified.",
    ),
}


class SecurityPage(QWidget):
    title = "Organisation & security"
    edited = Signal()

    def __init__(self, catalog: Catalog, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.catalog = catalog
        self._loading = False
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addWidget(
            heading(
                "Organisation & security",
                "Who you are decides which licences grant you rights; your rules decide which "
                "origins and terms you accept. Every excluded model says which rule excluded it.",
            )
        )
        layout.addWidget(self._organisation_box())
        layout.addWidget(self._policy_box())
        layout.addWidget(self._origin_box())
        layout.addWidget(self._licence_box())
        layout.addStretch(1)
        fill_with_scrolling(self, content)

    # --- building ------------------------------------------------------------------------

    def _organisation_box(self) -> QGroupBox:
        box = QGroupBox("Organisation")
        form = QFormLayout(box)
        self.country = QComboBox()
        for code, name in sorted(COUNTRIES.items(), key=lambda kv: kv[1]):
            self.country.addItem(f"{name} ({code})", code)
        add_row(
            form,
            "&Country",
            self.country,
            "Where the organisation is domiciled: some licences grant nothing in some "
            "regions (e.g. EU-domiciled companies for Llama's multimodal models).",
        )
        self.sector = QComboBox()
        for sector in SECTORS:
            self.sector.addItem(sector.capitalize(), sector)
        add_row(
            form,
            "&Sector",
            self.sector,
            "Field-of-use bans are judged against it (a military-use ban matters to defense).",
        )
        self.users = QSpinBox(maximum=2_000_000_000, singleStep=100)
        self.users.setGroupSeparatorShown(True)
        add_row(
            form,
            "Expected monthly &users",
            self.users,
            "Licences with user caps (Llama: 700 million) are judged against this number.",
        )
        self.active_users = _optional_number("not stated", 10_000_000_000, 1000)
        add_row(
            form,
            "&Monthly active users (organisation)",
            self.active_users,
            "Today, across all products of your organisation and its affiliates: Llama's "
            "700-million test counts these on the model's release date. Not stated: the "
            "deployment's users stand in.",
        )
        self.revenue = _optional_number("not stated", 1e13, 1_000_000)
        self.revenue.setPrefix("US$ ")
        add_row(
            form,
            "Monthly re&venue",
            self.revenue,
            "Global consolidated monthly revenue: Devstral 2's licence grants nothing above "
            "US$20 million; Kimi's display duty starts there. Not stated: such terms stay "
            "unknown.",
        )
        self.user_countries = CountryList("Users' countries")
        add_row(
            form,
            "Users' countr&ies",
            self.user_countries,
            "Where your users and the model's outputs are: territory clauses (Tencent "
            "Hunyuan's excludes the EU, UK and South Korea) are judged here too.",
        )
        for widget in (self.country, self.sector):
            widget.currentIndexChanged.connect(self._changed)
        for number in (self.users, self.active_users, self.revenue):
            number.valueChanged.connect(self._changed)
        self.user_countries.changed.connect(self._changed)
        return box

    def _policy_box(self) -> QGroupBox:
        box = QGroupBox("Policy")
        form = QFormLayout(box)
        self.policy = QComboBox()
        self.policy.addItem("None — set the rules below", None)
        for policy in self.catalog.policies.values():
            self.policy.addItem(policy.name, policy.id)
        self.policy_basis = add_row(
            form, "&Policy preset", self.policy, "A named set of rules with its legal basis."
        )
        self.policy.currentIndexChanged.connect(self._on_policy)
        self.deployment = QComboBox()
        for value, text in (
            ("air-gapped", "Air-gapped: no network at all"),
            ("on-prem", "On premises: local network only"),
            ("cloud-ok", "Cloud APIs allowed"),
        ):
            self.deployment.addItem(text, value)
        add_row(
            form,
            "&Deployment",
            self.deployment,
            "Hosted-only models (Claude, GPT, Gemini) are admitted only when cloud use is allowed.",
        )
        self.deployment.currentIndexChanged.connect(self._changed)
        return box

    def _origin_box(self) -> QGroupBox:
        box = QGroupBox("Origin")
        layout = QVBoxLayout(box)
        layout.addWidget(
            hint(
                "Origin follows the whole chain: the developer and its parent company, the base "
                "model of a fine-tune or distill, and the publisher of the file."
            )
        )
        form = QFormLayout()
        self.blocked = CountryList("Blocked origins")
        self.blocked.changed.connect(self._changed)
        blocked_column = QWidget()
        column = QVBoxLayout(blocked_column)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.blocked)
        quick = QHBoxLayout()
        covered = QPushButton("Block NDAA §1532 covered &nations")
        covered.setAccessibleName(
            "Block the FY2026 NDAA covered nations: China, Iran, North Korea, Russia"
        )
        covered.clicked.connect(lambda: self._block(COVERED_NATIONS))
        clear = QPushButton("Clea&r")
        clear.setAccessibleName("Clear blocked origins")
        clear.clicked.connect(lambda: self._block([]))
        quick.addWidget(covered)
        quick.addWidget(clear)
        quick.addStretch(1)
        column.addLayout(quick)
        add_row(
            form,
            "&Blocked origins",
            blocked_column,
            "A model is excluded if anyone in its chain is domiciled here. "
            '<a href="https://www.crowell.com/en/insights/client-alerts/the-fy-2026-national-defense-authorization-act">'
            "FY2026 NDAA §1532</a> covers China, Iran, North Korea and Russia.",
        )
        self.allowed = CountryList("Allowed origins")
        self.allowed.changed.connect(self._changed)
        add_row(
            form,
            "&Allowed origins",
            self.allowed,
            "When any are ticked, only these origins are admitted.",
        )
        layout.addLayout(form)
        return box

    def _licence_box(self) -> QGroupBox:
        box = QGroupBox("Licence and openness")
        form = QFormLayout(box)
        self.checks: dict[str, QCheckBox] = {}
        for name, (label, explanation) in _BOOLEAN_RULES.items():
            check = QCheckBox(label.replace("&", ""))
            check.toggled.connect(self._changed)
            add_row(form, label, check, explanation)
            self.checks[name] = check
        self.openness = QComboBox()
        self.openness.addItem("No requirement", None)
        for level in OPENNESS_LADDER:
            self.openness.addItem(level.replace("-", " ").capitalize(), level)
        add_row(
            form,
            "Minimum &openness",
            self.openness,
            'The <a href="https://isitopen.ai/">Model Openness Framework</a> ladder: open '
            "weights, open model (report, cards, evaluations), open tooling (training and "
            "evaluation code), open science (training data too).",
        )
        self.openness.currentIndexChanged.connect(self._changed)
        self.unknown_terms = QComboBox()
        self.unknown_terms.addItem("Exclude the model (not established)", "exclude")
        self.unknown_terms.addItem("Admit it with a visible caveat", "warn")
        add_row(
            form,
            "Unknown licence &terms",
            self.unknown_terms,
            "When the catalog does not know a clause a rule needs (a licence whose use terms "
            "were never read, a file without a published hash), compliance is not established.",
        )
        self.unknown_terms.currentIndexChanged.connect(self._changed)
        return box

    # --- values --------------------------------------------------------------------------

    def _block(self, codes: list[str]) -> None:
        self.blocked.set_codes(codes)
        self._changed()

    def _on_policy(self) -> None:
        if self._loading:
            return
        policy = self.catalog.policies.get(self.policy.currentData() or "")
        self._show_basis(policy.id if policy else None)
        # Choosing a preset takes its rules whole; later edits override them one by one.
        profile = Profile(
            security=Security(policy=policy.id if policy else None),
            organisation=self.organisation(),
        )
        self._fill_rules(profile)
        self.edited.emit()

    def _show_basis(self, policy_id: str | None) -> None:
        policy = self.catalog.policies.get(policy_id or "")
        if policy is None:
            self.policy_basis.setText("A named set of rules with its legal basis.")
            return
        links = " · ".join(
            f'<a href="{url}">source {i + 1}</a>' for i, url in enumerate(policy.basis_urls)
        )
        rules = resolve_security(Profile(security=Security(policy=policy.id)), self.catalog)
        basis = [
            f"{name.replace('_', ' ')}: {rules.basis_of(name)}"
            for name in SECURITY_RULES
            if rules.basis_of(name)
        ]
        listed = "".join(f"<br>• {escape(line)}" for line in basis)
        self.policy_basis.setText(f"{escape(policy.basis)} {links}{listed}")

    def _changed(self) -> None:
        if not self._loading:
            self.edited.emit()

    def load(self, profile: Profile) -> None:
        self._loading = True
        org = profile.organisation
        self.country.setCurrentIndex(max(self.country.findData(org.country), 0))
        if self.country.findData(org.country) < 0:
            self.country.addItem(org.country, org.country)
            self.country.setCurrentIndex(self.country.count() - 1)
        self.sector.setCurrentIndex(max(self.sector.findData(org.sector), 0))
        self.users.setValue(org.expected_monthly_users)
        _set_optional(self.active_users, org.monthly_active_users)
        _set_optional(self.revenue, org.monthly_revenue_usd)
        self.user_countries.set_codes(org.user_countries)
        self.policy.setCurrentIndex(max(self.policy.findData(profile.security.policy), 0))
        self._show_basis(profile.security.policy)
        self._fill_rules(profile)
        self._loading = False

    def _fill_rules(self, profile: Profile) -> None:
        was_loading, self._loading = self._loading, True
        rules = resolve_security(profile, self.catalog)
        self.deployment.setCurrentIndex(max(self.deployment.findData(rules.deployment), 0))
        self.blocked.set_codes(rules.blocked_origins)
        self.allowed.set_codes(rules.allowed_origins)
        for name, check in self.checks.items():
            check.setChecked(bool(getattr(rules, name)))
        self.openness.setCurrentIndex(max(self.openness.findData(rules.min_openness), 0))
        self.unknown_terms.setCurrentIndex(max(self.unknown_terms.findData(rules.unknown_terms), 0))
        self._loading = was_loading

    def organisation(self) -> Organisation:
        return Organisation(
            country=self.country.currentData(),
            sector=self.sector.currentData(),
            expected_monthly_users=self.users.value(),
            monthly_active_users=_optional(self.active_users),
            monthly_revenue_usd=_optional(self.revenue),
            user_countries=self.user_countries.codes(),
        )

    def security(self) -> Security:
        """The rules as shown; values equal to the preset's are left to the preset."""
        shown = SecurityRules(
            deployment=self.deployment.currentData(),
            blocked_origins=self.blocked.codes(),
            allowed_origins=self.allowed.codes(),
            min_openness=self.openness.currentData(),
            unknown_terms=self.unknown_terms.currentData(),
            **{name: check.isChecked() for name, check in self.checks.items()},
        )
        return overrides_against(shown, self.catalog.policies.get(self.policy.currentData() or ""))


def _optional_number(unset: str, maximum: float, step: float) -> QDoubleSpinBox:
    """A whole-number box whose lowest value means 'not stated' (None in the profile)."""
    box = QDoubleSpinBox(decimals=0, minimum=-1, maximum=maximum, singleStep=step)
    box.setGroupSeparatorShown(True)
    box.setSpecialValueText(unset)
    box.setValue(-1)
    return box


def _optional(box: QDoubleSpinBox) -> int | None:
    return None if box.value() < 0 else int(box.value())


def _set_optional(box: QDoubleSpinBox, value: float | None) -> None:
    box.setValue(-1 if value is None else value)
