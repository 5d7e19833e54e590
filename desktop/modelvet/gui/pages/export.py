"""Step 7: export the decision record and allowlist; the air-gap manifest; save the profile."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from modelvet.engine.transfer import Verification
from modelvet.gui.errors import error_text, show_error
from modelvet.gui.widgets import heading, hint

FORMATS = (
    ("pdf", "&PDF — the decision record to hand to an approver", "PDF (*.pdf)"),
    ("html", "&HTML — the same record for a browser or an intranet page", "HTML (*.html)"),
    ("md", "&Markdown — for a wiki or a ticket", "Markdown (*.md)"),
    ("json", "&JSON — the record as data", "JSON (*.json)"),
    (
        "cyclonedx",
        "&CycloneDX ML-BOM — the recommended models for your SBOM tooling",
        "CycloneDX JSON (*.cdx.json)",
    ),
    (
        "allowlist",
        "&Allowlist — the approved files and hashes, fail-closed, for other tools",
        "Allowlist JSON (*.allowlist.json)",
    ),
)


class ExportPage(QWidget):
    title = "Export"
    exportRequested = Signal(str, str)  # format, path
    saveProfileRequested = Signal()
    manifestRequested = Signal(str)  # path
    verifyRequested = Signal(str, str)  # folder, manifest path

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.addWidget(
            heading(
                "Export the decision record",
                "The record states your organisation and rules (with their legal basis), the "
                "hardware and assumptions, every recommended model with its reasons and sources, "
                "every excluded model with the rules that excluded it, the smoke-test results if "
                "you ran one, and a sign-off block.",
            )
        )
        box = QGroupBox("Format")
        column = QVBoxLayout(box)
        self.choice = QButtonGroup(self)
        self.buttons: dict[str, QRadioButton] = {}
        for key, label, _ in FORMATS:
            button = QRadioButton(label)
            button.setAccessibleName(label.replace("&", ""))
            self.choice.addButton(button)
            column.addWidget(button)
            self.buttons[key] = button
        self.buttons["pdf"].setChecked(True)
        layout.addWidget(box)
        row = QHBoxLayout()
        export = QPushButton("&Export…")
        export.setAccessibleName("Export the decision record")
        export.clicked.connect(self._ask_path)
        save = QPushButton("&Save profile…")
        save.setAccessibleName("Save the profile")
        save.clicked.connect(self.saveProfileRequested)
        row.addWidget(export)
        row.addWidget(save)
        row.addStretch(1)
        layout.addLayout(row)
        layout.addWidget(self._transfer_box())
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Export status")
        layout.addWidget(self.status)
        layout.addWidget(
            hint(
                "Files are written whole or not at all: a failed export never "
                "leaves a half-written record."
            )
        )
        layout.addStretch(1)

    def _transfer_box(self) -> QGroupBox:
        box = QGroupBox("Carry the files across the air gap")
        column = QVBoxLayout(box)
        column.addWidget(
            hint(
                "On a connected machine, fetch the files the manifest lists (repository, "
                "revision, size, the publisher's sha256). After carrying them in, verify the "
                "folder: each file is reported ok, missing, wrong size, wrong hash or unexpected."
            )
        )
        row = QHBoxLayout()
        manifest = QPushButton("Write transfer &manifest…")
        manifest.setAccessibleName("Write the transfer manifest of the recommended models")
        manifest.clicked.connect(self._ask_manifest)
        verify = QPushButton("&Verify carried files…")
        verify.setAccessibleName("Verify a folder of carried files against a manifest")
        verify.clicked.connect(self._ask_verify)
        row.addWidget(manifest)
        row.addWidget(verify)
        row.addStretch(1)
        column.addLayout(row)
        return box

    def _ask_manifest(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Write transfer manifest",
            str(Path.home() / "modelvet-manifest.json"),
            "Manifest JSON (*.json)",
        )
        if path:
            self.manifestRequested.emit(path)

    def _ask_verify(self) -> None:
        manifest, _ = QFileDialog.getOpenFileName(
            self, "The transfer manifest", str(Path.home()), "Manifest JSON (*.json)"
        )
        if not manifest:
            return
        folder = QFileDialog.getExistingDirectory(self, "The folder the files were carried into")
        if folder:
            self.verifyRequested.emit(folder, manifest)

    def show_verification(self, result: Verification) -> None:
        lines = [f"{c.status}: {c.file_name} — {c.detail}" for c in result.files]
        verdict = "✓ Every file verified" if result.ok else "✗ Not every file is right"
        self.status.setText(verdict + "\n" + "\n".join(lines))

    def fmt(self) -> str:
        return next(key for key, button in self.buttons.items() if button.isChecked())

    def _ask_path(self) -> None:
        key = self.fmt()
        pattern = next(p for k, _, p in FORMATS if k == key)
        suffix = {"cyclonedx": ".cdx.json", "allowlist": ".allowlist.json"}.get(key, f".{key}")
        path, _ = QFileDialog.getSaveFileName(
            self, "Export decision record", str(Path.home() / f"modelvet-decision{suffix}"), pattern
        )
        if path:
            self.exportRequested.emit(key, path)

    def show_done(self, path: str) -> None:
        self.status.setText(f"✓ Written: {path}")

    def show_failure(self, error: BaseException) -> None:
        """Said on the status line, and in a dialog: the user asked for this file just now."""
        self.status.setText(f"✗ {error_text(error)}")
        show_error(self, error, "Export")
