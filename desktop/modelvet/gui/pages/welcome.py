"""Step 1: start fresh, open a saved profile, or start from a policy preset."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGroupBox,
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from modelvet.engine.catalog.loader import Catalog
from modelvet.gui.widgets import heading, hint


class WelcomePage(QWidget):
    title = "Welcome"
    startFresh = Signal()
    startFromPreset = Signal(str)
    openRequested = Signal(str)  # a path, or "" to ask for one

    def __init__(self, catalog: Catalog, recent: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addWidget(
            heading(
                "Choose a language model you may run — and show why",
                "ModelVet walks through your <b>security</b>, <b>hardware</b> and "
                "<b>capability</b> "
                "constraints, recommends models from a sourced catalog of "
                f"{len(catalog.models)} models, explains every recommendation and every exclusion, "
                "tests the chosen model on this machine offline, and exports a decision record.",
            )
        )

        start = QGroupBox("Start")
        row = QHBoxLayout(start)
        fresh = QPushButton("Start &fresh")
        fresh.setAccessibleName("Start fresh with this machine's hardware")
        fresh.clicked.connect(self.startFresh)
        row.addWidget(fresh)
        open_button = QPushButton("&Open a saved profile…")
        open_button.setAccessibleName("Open a saved profile")
        open_button.clicked.connect(lambda: self.openRequested.emit(""))
        row.addWidget(open_button)
        row.addStretch(1)
        layout.addWidget(start)

        preset_box = QGroupBox("Start from a policy preset")
        preset_layout = QVBoxLayout(preset_box)
        self.preset = QComboBox()
        self.preset.setAccessibleName("Policy preset")
        for policy in catalog.policies.values():
            self.preset.addItem(policy.name, policy.id)
        self.preset_basis = hint("")
        self.preset.currentIndexChanged.connect(self._show_basis)
        use = QPushButton("&Use this preset")
        use.setAccessibleName("Start from the selected policy preset")
        use.clicked.connect(lambda: self.startFromPreset.emit(self.preset.currentData()))
        line = QHBoxLayout()
        line.addWidget(self.preset, 1)
        line.addWidget(use)
        preset_layout.addLayout(line)
        preset_layout.addWidget(self.preset_basis)
        layout.addWidget(preset_box)
        self._catalog = catalog
        self._show_basis()

        recent_box = QGroupBox("Recent profiles")
        recent_layout = QVBoxLayout(recent_box)
        self.recent = QListWidget()
        self.recent.setAccessibleName("Recent profiles")
        self.show_recent(recent)
        self.recent.itemActivated.connect(
            lambda item: self.openRequested.emit(item.data(Qt.ItemDataRole.UserRole))
        )
        recent_layout.addWidget(self.recent)
        layout.addWidget(recent_box, 1)

    def show_recent(self, recent: list[str]) -> None:
        self.recent.clear()
        for path in recent:
            item = QListWidgetItem(Path(path).name)
            item.setToolTip(path)
            item.setData(Qt.ItemDataRole.UserRole, path)
            self.recent.addItem(item)
        if not recent:
            self.recent.addItem("No saved profiles yet")
        self.recent.setEnabled(bool(recent))

    def _show_basis(self) -> None:
        policy = self._catalog.policies.get(self.preset.currentData() or "")
        if policy is None:
            self.preset_basis.setText("")
            return
        links = " · ".join(
            f'<a href="{url}">source {i + 1}</a>' for i, url in enumerate(policy.basis_urls)
        )
        self.preset_basis.setText(f"{policy.basis} {links}")
