"""Step 3: the machine — detected, a preset for hardware not yet bought, or described by hand."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from modelvet.engine.catalog.loader import Catalog
from modelvet.engine.catalog.schema import GpuSpec
from modelvet.engine.hardware import HardwareSpec, overrides_against, shown_numbers
from modelvet.engine.profile import HardwareRequest
from modelvet.gui.widgets import add_row, fill_with_scrolling, heading, hint

PRESET_NAME_CHARS = 30  # the preset box's width in characters; longer names are elided

_CATEGORIES = {
    "consumer-gpu": "Consumer GPU",
    "workstation": "Workstation",
    "datacenter": "Datacenter",
    "apple": "Apple Silicon",
    "unified": "Unified memory",
    "cpu": "CPU only",
}


def describe(spec: HardwareSpec | None, running: bool = False) -> str:
    if spec is None:
        return (
            "Detecting this machine: CPU, memory, GPUs and a short memory-bandwidth test…"
            if running
            else "Not detected yet: choose “Detect again”."
        )
    gpus = ", ".join(f"{g.name} ({g.memory_gb:.0f} GB)" for g in spec.gpus) or "no GPU found"
    bandwidth = f", {spec.ram_bandwidth_gbs:g} GB/s" if spec.ram_bandwidth_gbs else ""
    cpu = f"{spec.cpu_model or 'CPU'}, {spec.cpu_cores or '?'} cores"
    notes = "".join(f"<br><i>{w}</i>" for w in [*spec.filled, *spec.warnings])
    return f"<b>{spec.name}</b><br>{cpu}; {spec.ram_gb:.1f} GB RAM{bandwidth}; {gpus}{notes}"


class HardwarePage(QWidget):
    title = "Hardware"
    edited = Signal()
    detectRequested = Signal()
    planRequested = Signal()

    def __init__(self, catalog: Catalog, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.catalog = catalog
        self._loading = False
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addWidget(
            heading(
                "Hardware",
                "The model must fit this machine's memory at your context length. Use the detected "
                "machine, a preset for hardware not yet bought, or describe it; every number is "
                "editable.",
            )
        )
        layout.addWidget(self._source_box())
        layout.addWidget(self._numbers_box())
        layout.addStretch(1)
        fill_with_scrolling(self, content)
        self._sync_enabled()

    def _source_box(self) -> QGroupBox:
        box = QGroupBox("Which machine")
        layout = QVBoxLayout(box)
        self.use_detected = QRadioButton("&This machine (detected)")
        self.use_preset = QRadioButton("A &preset")
        self.use_custom = QRadioButton("&Describe it")
        self.choice = QButtonGroup(self)
        for button in (self.use_detected, self.use_preset, self.use_custom):
            self.choice.addButton(button)
            button.toggled.connect(self._on_choice)
        row = QHBoxLayout()
        row.addWidget(self.use_detected)
        self.detect_again = QPushButton("Detect a&gain")
        self.detect_again.setAccessibleName("Detect this machine's hardware again")
        self.detect_again.clicked.connect(self.detectRequested)
        row.addWidget(self.detect_again)
        row.addStretch(1)
        layout.addLayout(row)
        self.detected_text = QLabel(describe(None))
        self.detected_text.setWordWrap(True)
        self.detected_text.setAccessibleName("Detected hardware")
        layout.addWidget(self.detected_text)
        preset_row = QHBoxLayout()
        preset_row.addWidget(self.use_preset)
        self.preset = QComboBox()
        self.preset.setAccessibleName("Hardware preset")
        # Sized to a short name, not the longest, so the row fits a 1024-pixel window.
        self.preset.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.preset.setMinimumContentsLength(PRESET_NAME_CHARS)
        for category, label in _CATEGORIES.items():
            for preset in self.catalog.hardware.values():
                if preset.category == category:
                    self.preset.addItem(f"{label}: {preset.name}", preset.id)
        self.preset.currentIndexChanged.connect(self._on_preset)
        preset_row.addWidget(self.preset, 1)
        self.plan_button = QPushButton("Not bought yet? P&lan hardware…")
        self.plan_button.setAccessibleName(
            "Plan hardware: which presets run which of the models your rules admit"
        )
        self.plan_button.clicked.connect(self.planRequested)
        preset_row.addWidget(self.plan_button)
        layout.addLayout(preset_row)
        self.preset_sources = hint("")
        layout.addWidget(self.preset_sources)
        layout.addWidget(self.use_custom)
        return box

    def _numbers_box(self) -> QGroupBox:
        self.numbers = QGroupBox("Memory and speed")
        form = QFormLayout(self.numbers)
        self.ram = QDoubleSpinBox(maximum=100_000, decimals=1, suffix=" GB")
        add_row(form, "&RAM", self.ram, "System memory; 10 % is left to the operating system.")
        self.bandwidth = QDoubleSpinBox(maximum=100_000, decimals=1, suffix=" GB/s")
        self.bandwidth.setSpecialValueText("unknown")
        add_row(
            form,
            "RAM &bandwidth",
            self.bandwidth,
            "Decides generation speed for layers on the CPU (DDR5-5600 dual channel: 89.6).",
        )
        self.cores = QSpinBox(maximum=1024)
        self.cores.setSpecialValueText("unknown")
        add_row(form, "CPU c&ores", self.cores, "Physical cores available to llama.cpp.")
        self.unified = QCheckBox("Unified memory")
        add_row(
            form,
            "&Unified memory",
            self.unified,
            "Apple Silicon, AMD Strix Halo, DGX Spark: the GPU uses part of the RAM.",
        )
        gpu_column = QWidget()
        column = QVBoxLayout(gpu_column)
        column.setContentsMargins(0, 0, 0, 0)
        self.gpus = QTableWidget(0, 3)
        self.gpus.setAccessibleName("GPUs: name, memory and bandwidth of each card")
        self.gpus.setHorizontalHeaderLabels(["GPU", "Memory (GB)", "Bandwidth (GB/s)"])
        self.gpus.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.gpus.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.gpus.setMaximumHeight(140)
        self.gpus.itemChanged.connect(self._changed)
        column.addWidget(self.gpus)
        buttons = QHBoxLayout()
        add = QPushButton("&Add GPU")
        add.clicked.connect(self._add_gpu)
        remove = QPushButton("Remo&ve GPU")
        remove.clicked.connect(self._remove_gpu)
        buttons.addWidget(add)
        buttons.addWidget(remove)
        buttons.addStretch(1)
        column.addLayout(buttons)
        add_row(form, "GP&Us", gpu_column, "One row per card; several cards split the layers.")
        for spin in (self.ram, self.bandwidth):
            spin.valueChanged.connect(self._changed)
        self.cores.valueChanged.connect(self._changed)
        self.unified.toggled.connect(self._changed)
        return self.numbers

    # --- behaviour -----------------------------------------------------------------------

    def _sync_enabled(self) -> None:
        self.preset.setEnabled(self.use_preset.isChecked())
        self.numbers.setEnabled(not self.use_detected.isChecked())

    def _on_choice(self, checked: bool) -> None:
        if not checked:
            return
        self._sync_enabled()
        if self.use_preset.isChecked():
            self._on_preset()
        elif not self._loading:
            self.edited.emit()

    def _on_preset(self) -> None:
        preset = self.catalog.hardware.get(self.preset.currentData() or "")
        if preset is None:
            return
        links = " · ".join(
            f'<a href="{u}">source {i + 1}</a>' for i, u in enumerate(preset.sources)
        )
        self.preset_sources.setText(links)
        if self._loading:
            return
        self._show_numbers(
            preset.ram_gb,
            preset.ram_bandwidth_gbs,
            preset.cpu_cores,
            preset.unified_memory,
            list(preset.gpus),
        )
        self.edited.emit()

    def _changed(self) -> None:
        if not self._loading:
            self.edited.emit()

    def _add_gpu(self) -> None:
        self._append_gpu(GpuSpec(name="GPU", memory_gb=24, bandwidth_gbs=1000))
        self._changed()

    def _remove_gpu(self) -> None:
        rows = sorted({index.row() for index in self.gpus.selectedIndexes()}, reverse=True)
        for row in rows or [self.gpus.rowCount() - 1]:
            if row >= 0:
                self.gpus.removeRow(row)
        self._changed()

    def _append_gpu(self, gpu: GpuSpec) -> None:
        was, self._loading = self._loading, True
        row = self.gpus.rowCount()
        self.gpus.insertRow(row)
        bandwidth = "" if gpu.bandwidth_gbs is None else f"{gpu.bandwidth_gbs:g}"
        for column, text in enumerate((gpu.name, f"{gpu.memory_gb:g}", bandwidth)):
            self.gpus.setItem(row, column, QTableWidgetItem(text))
        self._loading = was

    def _show_numbers(
        self,
        ram: float,
        bandwidth: float | None,
        cores: int | None,
        unified: bool,
        gpus: list[GpuSpec],
    ) -> None:
        was, self._loading = self._loading, True
        self.ram.setValue(ram)
        self.bandwidth.setValue(bandwidth or 0)
        self.cores.setValue(cores or 0)
        self.unified.setChecked(unified)
        self.gpus.setRowCount(0)
        for gpu in gpus:
            self._append_gpu(gpu)
        self._loading = was

    def show_detected(self, spec: HardwareSpec | None, running: bool = False) -> None:
        self.detected_text.setText(describe(spec, running))
        self.detect_again.setEnabled(not running)

    def load(self, request: HardwareRequest | None, detected: HardwareSpec | None) -> None:
        self._loading = True
        if request is None:
            self.use_detected.setChecked(True)
            if detected:
                self._show_numbers(
                    detected.ram_gb,
                    detected.ram_bandwidth_gbs,
                    detected.cpu_cores,
                    detected.unified_memory,
                    [GpuSpec(**g.model_dump(exclude={"vendor"})) for g in detected.gpus],
                )
        else:
            preset = self.catalog.hardware.get(request.preset or "")
            (self.use_preset if preset else self.use_custom).setChecked(True)
            if preset:
                self.preset.setCurrentIndex(max(self.preset.findData(preset.id), 0))
            numbers = shown_numbers(request, preset)
            self._show_numbers(
                numbers.ram_gb or 16,
                numbers.ram_bandwidth_gbs,
                numbers.cpu_cores,
                bool(numbers.unified_memory),
                numbers.gpus or [],
            )
        self._sync_enabled()
        self._loading = False

    def _table_gpus(self) -> list[GpuSpec]:
        gpus = []
        for row in range(self.gpus.rowCount()):
            items = [self.gpus.item(row, c) for c in range(3)]
            cells = [item.text().strip() if item is not None else "" for item in items]
            try:
                memory = float(cells[1])
                bandwidth = float(cells[2]) if cells[2] else None
            except ValueError:
                continue  # a half-typed number is ignored until it parses
            if memory > 0:
                gpus.append(
                    GpuSpec(
                        name=cells[0] or "GPU",
                        memory_gb=memory,
                        bandwidth_gbs=bandwidth if bandwidth and bandwidth > 0 else None,
                    )
                )
        return gpus

    def value(self) -> HardwareRequest | None:
        if self.use_detected.isChecked():
            return None
        numbers = {
            "ram_gb": self.ram.value() or None,
            "ram_bandwidth_gbs": self.bandwidth.value() or None,
            "cpu_cores": self.cores.value() or None,
            "unified_memory": self.unified.isChecked(),
            "gpus": self._table_gpus(),
        }
        preset = (
            None
            if self.use_custom.isChecked()
            else self.catalog.hardware[self.preset.currentData()]
        )
        return overrides_against(HardwareRequest(**numbers), preset)
