"""Holds the profile being edited and the recommendation for it; pages edit, views observe."""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, Signal

from modelvet.engine.catalog.loader import Catalog
from modelvet.engine.errors import ModelVetError
from modelvet.engine.hardware import HardwareSpec, from_request, with_known_bandwidth
from modelvet.engine.profile import Profile
from modelvet.engine.rank.recommend import (
    PreparedCatalog,
    memory_against_context,
    prepare,
    recommend,
)
from modelvet.engine.rank.result import ContextPoint, Recommendation, RecommendedModel
from modelvet.gui.variants import with_alternative

RECOMPUTE_DELAY_MS = 120  # coalesce bursts of edits (typing a number) into one run


class ProfileController(QObject):
    """The one place that calls the engine. Emits the new result after every change."""

    profileChanged = Signal(object)  # Profile
    hardwareChanged = Signal(object)  # HardwareSpec
    recommendationChanged = Signal(object)  # Recommendation
    errorRaised = Signal(object)  # the ModelVetError, for gui/errors.py to word

    def __init__(self, catalog: Catalog, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.catalog = catalog
        self._prepared: PreparedCatalog | None = None
        self.profile = Profile()
        self.detected: HardwareSpec | None = None
        self.recommendation: Recommendation | None = None  # with the user's variant choices
        self._computed: Recommendation | None = None  # as the engine gave it
        # model id → (quant, publisher) of the variant the user chose over the recommended one
        self.chosen_variants: dict[str, tuple[str | None, str | None]] = {}
        self._timer = QTimer(self, singleShot=True, interval=RECOMPUTE_DELAY_MS)
        self._timer.timeout.connect(self.recompute)

    @property
    def prepared(self) -> PreparedCatalog:
        if self._prepared is None:
            self._prepared = prepare(self.catalog)
        return self._prepared

    def set_profile(self, profile: Profile) -> None:
        self.profile = profile
        self.profileChanged.emit(profile)
        hardware = self.hardware()
        if hardware is not None:  # signals never carry None (PySide refcount hazard)
            self.hardwareChanged.emit(hardware)
        self._timer.start()

    def update(self, **parts: object) -> None:
        """Replace parts of the profile (organisation=…, security=…, hardware=…, capability=…)."""
        self.set_profile(self.profile.model_copy(update=parts))

    def set_detected(self, spec: HardwareSpec) -> None:
        self.detected = with_known_bandwidth(spec, self.catalog)
        if self.profile.hardware is None:  # what it computes with: bandwidths filled in
            self.hardwareChanged.emit(self.detected)
            self._timer.start()

    def hardware(self) -> HardwareSpec | None:
        if self.profile.hardware is None:
            return self.detected
        try:
            return from_request(self.profile.hardware, self.catalog)
        except ModelVetError as error:
            self.errorRaised.emit(error)
            return None

    def recompute(self) -> None:
        hardware = self.hardware()
        if hardware is None:
            return
        try:
            fresh = recommend(self.profile, hardware=hardware, prepared=self.prepared)
        except ModelVetError as error:
            self.errorRaised.emit(error)
            return
        self._computed = fresh
        self.recommendation = self._with_choices(fresh)
        self.recommendationChanged.emit(self.recommendation)

    def choose_variant(self, chosen: RecommendedModel) -> None:
        """The user's choice of variant for one model: kept across recomputations while that
        variant is still among the model's alternatives, and carried into the exported record."""
        self.chosen_variants[chosen.model_id] = (chosen.quant, chosen.publisher)
        if self._computed is not None:  # choices apply to the engine's own result, afresh
            self.recommendation = self._with_choices(self._computed)
            self.recommendationChanged.emit(self.recommendation)

    def _with_choices(self, recommendation: Recommendation) -> Recommendation:
        items = []
        for item in recommendation.recommended:
            wanted = self.chosen_variants.get(item.model_id)
            index = next(
                (
                    i
                    for i, a in enumerate(item.alternatives)
                    if wanted is not None and (a.quant, a.publisher) == wanted
                ),
                None,
            )
            items.append(item if index is None else with_alternative(item, index))
        return recommendation.model_copy(update={"recommended": items})

    def memory_against_context(
        self, models: list[RecommendedModel]
    ) -> dict[str, list[ContextPoint]]:
        """Memory of each model's variant against context, on the hardware of the last result."""
        if self.recommendation is None:
            return {}
        hardware = self.recommendation.hardware
        return memory_against_context(self.profile, hardware, models, self.prepared)

    def flush(self) -> None:
        """Run a pending recomputation now (snapshots and tests)."""
        if self._timer.isActive():
            self._timer.stop()
            self.recompute()
