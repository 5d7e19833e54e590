"""Step 4: what the model must do — tasks, languages, context length, speed target."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from modelvet.engine.catalog.schema import TASKS
from modelvet.engine.profile import Capability
from modelvet.engine.rank.scores import TASK_BENCHMARKS
from modelvet.gui.widgets import add_row, fill_with_scrolling, heading, hint

_TASK_LABELS = {
    "general": "&General assistant",
    "coding": "&Coding",
    "reasoning": "&Reasoning",
    "math": "&Math",
    "rag": "Documents / RA&G",
    "tool-use": "&Tool use / agents",
    "multilingual": "M&ultilingual",
    "vision": "&Vision (images)",
}
_PRIORITIES = (
    ("balanced", "Balanced: fully on the GPU when it costs little quality"),
    ("quality", "Quality: the least quantisation loss that meets your speed"),
    ("speed", "Speed: more tokens/s for a larger quality cost"),
)
CONTEXT_CHOICES = (2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144)


class CapabilityPage(QWidget):
    title = "Capability"
    edited = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._loading = False
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addWidget(
            heading(
                "Capability",
                "What the model must do. Scores come from sourced benchmarks; where a model has "
                "none for a task you pick, the results say so rather than guess.",
            )
        )
        tasks_box = QGroupBox("Tasks")
        grid = QGridLayout(tasks_box)
        self.tasks: dict[str, QCheckBox] = {}
        for index, task in enumerate(TASKS):
            check = QCheckBox(_TASK_LABELS[task])
            benchmarks = ", ".join(TASK_BENCHMARKS[task])
            check.setToolTip(f"Scored from: {benchmarks}")
            check.setAccessibleDescription(f"Scored from: {benchmarks}")
            check.toggled.connect(self._changed)
            grid.addWidget(check, index // 4, index % 4)
            self.tasks[task] = check
        grid.addWidget(hint("Hover a task to see which benchmarks score it."), 2, 0, 1, 4)
        layout.addWidget(tasks_box)

        box = QGroupBox("Use")
        form = QFormLayout(box)
        self.context = QSpinBox(
            minimum=256,
            maximum=10_000_000,
            singleStep=1024,
            suffix=" tokens",
        )
        self.context.setGroupSeparatorShown(True)
        add_row(
            form,
            "Conte&xt length",
            self.context,
            "The longest prompt plus answer you need. The KV cache grows with it, so it "
            "decides what fits as much as the model's size does.",
        )
        self.context_presets = QComboBox()
        self.context_presets.addItem("Common lengths…", None)
        for value in CONTEXT_CHOICES:
            self.context_presets.addItem(f"{value:,} tokens", value)
        self.context_presets.activated.connect(self._pick_context)
        add_row(
            form,
            "Co&mmon lengths",
            self.context_presets,
            "4K: chat; 32K: long documents and code files; 128K and up: whole repositories.",
        )
        self.speed = QDoubleSpinBox(maximum=10_000, decimals=1, suffix=" tokens/s")
        add_row(
            form,
            "Minimum &speed",
            self.speed,
            "Reading speed is about 5–10 tokens/s; models predicted below your target rank "
            "after those that meet it.",
        )
        self.languages = QLineEdit()
        self.languages.setPlaceholderText("en, fr, de")
        add_row(
            form,
            "&Languages",
            self.languages,
            "ISO 639-1 codes, comma-separated; the smoke test asks one question in each.",
        )
        self.kv_type = QComboBox()
        for kv_type, text in (
            ("f16", "f16 (default, exact)"),
            ("q8_0", "q8_0 (half the memory)"),
            ("q4_0", "q4_0 (a quarter, some quality loss)"),
        ):
            self.kv_type.addItem(text, kv_type)
        add_row(
            form,
            "&KV cache type",
            self.kv_type,
            "llama.cpp can store the attention cache quantised to fit longer contexts.",
        )
        self.priority = QComboBox()
        for priority, text in _PRIORITIES:
            self.priority.addItem(text, priority)
        add_row(
            form,
            "Pr&iority",
            self.priority,
            "How each model's quantisation and placement are chosen: the quality llama.cpp "
            "measured for each quantisation against speed above your minimum.",
        )
        self.priority.currentIndexChanged.connect(self._changed)
        self.runtime = QComboBox()
        for runtime, text in (
            ("llama-server", "llama-server (flash attention, windowed cache, 4 slots)"),
            ("llama-cpp-python", "llama-cpp-python (its defaults: full-size cache, 1 sequence)"),
        ):
            self.runtime.addItem(text, runtime)
        add_row(
            form,
            "&Runtime",
            self.runtime,
            "Whose defaults the memory and speed predictions describe.",
        )
        self.runtime.currentIndexChanged.connect(self._changed)
        self.context.valueChanged.connect(self._changed)
        self.speed.valueChanged.connect(self._changed)
        self.languages.editingFinished.connect(self._changed)
        self.kv_type.currentIndexChanged.connect(self._changed)
        layout.addWidget(box)
        layout.addStretch(1)
        fill_with_scrolling(self, content)

    def _pick_context(self) -> None:
        value = self.context_presets.currentData()
        if value:
            self.context.setValue(value)
        self.context_presets.setCurrentIndex(0)

    def _changed(self) -> None:
        if not self._loading:
            self.edited.emit()

    def load(self, capability: Capability) -> None:
        self._loading = True
        for task, check in self.tasks.items():
            check.setChecked(task in capability.tasks)
        self.context.setValue(capability.context_tokens)
        self.speed.setValue(capability.min_tokens_per_s)
        self.languages.setText(", ".join(capability.languages))
        self.kv_type.setCurrentIndex(max(self.kv_type.findData(capability.kv_cache_type), 0))
        self.priority.setCurrentIndex(max(self.priority.findData(capability.priority), 0))
        self.runtime.setCurrentIndex(max(self.runtime.findData(capability.runtime), 0))
        self._loading = False

    def value(self) -> Capability:
        tasks = [task for task, check in self.tasks.items() if check.isChecked()] or ["general"]
        languages = [
            code.strip().lower() for code in self.languages.text().split(",") if code.strip()
        ]
        return Capability(
            tasks=tasks,
            context_tokens=self.context.value(),  # type: ignore[arg-type]
            min_tokens_per_s=self.speed.value(),
            languages=languages or ["en"],
            kv_cache_type=self.kv_type.currentData(),
            priority=self.priority.currentData(),
            runtime=self.runtime.currentData(),
        )
