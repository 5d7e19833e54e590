"""The trial dialog: a set through the chosen model (and at a second KV-cache type), the table
filling as answers arrive, Cancel, and a human's good / bad mark on every answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from html import escape
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from modelvet.engine.catalog.loader import Catalog
from modelvet.engine.errors import ModelVetError
from modelvet.engine.fit.settings import RunSettings
from modelvet.engine.hardware import HardwareSpec
from modelvet.engine.smoke.protocol import ChildEvent, StageEvent, TimedAnswer, TrialEvent
from modelvet.engine.trial import store
from modelvet.engine.trial.result import PromptOutcome, TrialResult
from modelvet.engine.trial.run import Candidate, ModelStarted, TrialRun, judged_event
from modelvet.engine.trial.sets import TrialSet, bundled_sets, load_set
from modelvet.gui.errors import error_text
from modelvet.gui.widgets import buddy_label
from modelvet.gui.workers import Job

COLUMNS = (
    "Prompt",
    "Model",
    "Check",
    "Answer",
    "Prompt t/s",
    "Decode t/s",
    "First token s",
    "Your mark",
)
MARKS = ("–", "good", "bad")
CHOOSE = "Choose a file…"


class _Relay(QObject):
    """Carries the child's events from the worker thread to the dialog's thread."""

    said = Signal(int, object)  # candidate index, event (not `event`: QObject.event is virtual)


class TrialDialog(QDialog):
    finishedTrial = Signal(object)  # TrialResult

    def __init__(
        self,
        catalog: Catalog,
        model: Path,
        settings: RunSettings,
        hardware: HardwareSpec | Callable[[], HardwareSpec],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Trial: {model.name}")
        self.catalog, self.model, self.settings, self.hardware = catalog, model, settings, hardware
        self.trial_set: TrialSet | None = None
        self.run: TrialRun | None = None
        self.job: Job | None = None
        self.trial_result: TrialResult | None = None
        self._rows: dict[tuple[int, str], int] = {}
        self._steps = 1
        self._relay = _Relay(self)
        self._relay.said.connect(self._on_event)
        layout = QVBoxLayout(self)
        layout.addLayout(self._form())
        layout.addLayout(self._buttons())
        self.progress = QProgressBar(minimum=0, maximum=100)
        self.progress.setAccessibleName("Trial progress")
        layout.addWidget(self.progress)
        self.status = QLabel("Pick a set and run it.")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.table = self._table()
        layout.addWidget(self.table, 1)
        self.totals = QLabel("")
        self.totals.setWordWrap(True)
        self.totals.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.totals)
        self.resize(1100, 640)
        self._sync()

    def _form(self) -> QFormLayout:
        form = QFormLayout()
        self.sets = QComboBox()
        self.sets.setAccessibleName("Trial set")
        for name, path in bundled_sets().items():
            self.sets.addItem(f"{name} — {load_set(path).name}", str(path))
        self.sets.addItem(CHOOSE, None)
        self.sets.activated.connect(self._maybe_choose)
        form.addRow(buddy_label("&Set:", self.sets), self.sets)
        form.addRow("Model:", QLabel(f"{self.model}  ({self.settings.kv_cache_type} KV cache)"))
        self.second_kv = QComboBox()
        self.second_kv.addItems(
            ["no", *(k for k in ("f16", "q8_0", "q4_0") if k != self.settings.kv_cache_type)]
        )
        self.second_kv.setAccessibleName("Also run at this KV-cache type")
        form.addRow(buddy_label("Also at &KV cache:", self.second_kv), self.second_kv)
        self.context = QSpinBox(
            minimum=256,
            maximum=1_048_576,
            singleStep=1024,
            value=self.settings.context_tokens,
            suffix=" tokens",
        )
        self.context.setAccessibleName("Context length")
        form.addRow(buddy_label("Conte&xt:", self.context), self.context)
        self.fill = QCheckBox("Prove the fit: fill the context and ask about a fact placed early")
        form.addRow("", self.fill)
        return form

    def _buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.run_button = QPushButton("&Run trial")
        self.run_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("&Cancel")
        self.cancel_button.clicked.connect(self.cancel)
        row.addWidget(self.run_button)
        row.addWidget(self.cancel_button)
        row.addStretch(1)
        return row

    def _table(self) -> QTableWidget:
        table = QTableWidget(0, len(COLUMNS))
        table.setAccessibleName("Answers per prompt and model")
        table.setHorizontalHeaderLabels(COLUMNS)
        table.verticalHeader().setVisible(False)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.setWordWrap(True)
        header = table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        return table

    def _maybe_choose(self, index: int) -> None:
        if self.sets.itemText(index) != CHOOSE:
            return
        path, _ = QFileDialog.getOpenFileName(
            self, "Choose a trial set", str(Path.home()), "Trial sets (*.toml *.jsonl)"
        )
        if path:
            self.sets.insertItem(index, Path(path).name, path)
            self.sets.setCurrentIndex(index)

    # --- running -----------------------------------------------------------------------

    def busy(self) -> bool:
        return self.job is not None and self.job.is_running()

    def _sync(self) -> None:
        self.run_button.setEnabled(not self.busy())
        self.cancel_button.setEnabled(self.busy())

    def candidates(self) -> list[Candidate]:
        settings = self.settings.with_context(self.context.value())
        kv_types = [settings.kv_cache_type]
        if self.second_kv.currentText() != "no":
            kv_types.append(self.second_kv.currentText())
        return [Candidate(self.model, replace(settings, kv_cache_type=kv)) for kv in kv_types]

    def start(self) -> None:
        source = self.sets.currentData()
        if self.busy() or not source:
            return
        try:
            self.trial_set = load_set(source)
        except ModelVetError as error:
            self.status.setText(f"✗ {error.message()}")
            return
        self.table.setRowCount(0)
        self._rows.clear()
        self.totals.setText("")
        self.trial_result = None
        candidates = self.candidates()
        self._steps = len(candidates) * (len(self.trial_set.prompts) + self.fill.isChecked())
        self.run = run = TrialRun(
            self.trial_set,
            candidates,
            self.catalog,
            self.hardware,
            fill=self.fill.isChecked(),
            on_event=self._relay.said.emit,
        )
        self.job = Job(lambda report: run.run(), self)
        self.job.finished.connect(self._finished)
        self.job.failed.connect(self._failed)
        self.progress.setValue(0)
        self.status.setText("Checking the file and starting the model…")
        self.job.start()
        self._sync()

    def cancel(self) -> None:
        if self.run is not None:
            self.run.cancel()
        self.status.setText("Cancelling…")

    def _on_event(self, model_index: int, event: ModelStarted | ChildEvent) -> None:
        if isinstance(event, ModelStarted):
            self.status.setText(
                f"Model {model_index + 1} of {event.of}: "
                f"{Path(event.file).name} ({event.kv_cache_type} KV)"
            )
        elif isinstance(event, StageEvent):
            self.status.setText(event.detail)
        elif isinstance(event, TrialEvent) and self.trial_set is not None:
            outcome = judged_event(self.trial_set, event)
            if outcome is not None:
                self._put_row(model_index, outcome)
        if isinstance(event, TimedAnswer):  # a trial answer, or the answer at a filled context
            self.progress.setValue(min(99, 100 * self._done() // max(self._steps, 1)))

    def _done(self) -> int:
        return self.table.rowCount()

    def _put_row(self, model_index: int, outcome: PromptOutcome) -> None:
        kv = self.candidates()[model_index].settings.kv_cache_type
        key = (model_index, outcome.id)
        row = self._rows.setdefault(key, self.table.rowCount())
        if row == self.table.rowCount():
            self.table.insertRow(row)
        mark = {True: "✓ ", False: "✗ ", None: "? "}[outcome.passed]
        answer = " ".join(outcome.answer.split())
        cells = (
            outcome.id,
            f"[{model_index + 1}] {kv} KV",
            f"{mark}{outcome.check}",
            answer,
            _number(outcome.prompt_tokens_per_s),
            _number(outcome.decode_tokens_per_s),
            f"{outcome.time_to_first_token_s:.2f}",
        )
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setToolTip(f"{outcome.why}\n\n{outcome.answer}" if column in (2, 3) else text)
            self.table.setItem(row, column, item)

    def _finished(self, result: TrialResult) -> None:
        try:
            result = result.model_copy(update={"history_id": store.record_trial(result)})
        except ModelVetError as error:
            self.status.setText(f"Not kept in the history: {error.message()}")
        self.trial_result = result
        for index, model in enumerate(result.models):
            for outcome in model.prompts:
                self._put_row(index, outcome)
                self._add_mark(index, outcome)
        self.progress.setValue(100 if result.passed else 0)
        if not self.status.text().startswith("Not kept"):
            self.status.setText(
                "Cancelled: the model process was stopped."
                if result.cancelled
                else "Done. Mark each answer good or bad: the marks are kept."
            )
        self.totals.setText(_totals_html(result))
        self.finishedTrial.emit(result)
        self._sync()

    def _failed(self, error: BaseException) -> None:
        self.status.setText(f"✗ {error_text(error)}")
        self.progress.setValue(0)
        self._sync()

    def _add_mark(self, model_index: int, outcome: PromptOutcome) -> None:
        choice = QComboBox()
        choice.addItems(MARKS)
        choice.setAccessibleName(f"Your mark for {outcome.id}, model {model_index + 1}")
        choice.setCurrentText(outcome.human_mark or "–")
        choice.currentTextChanged.connect(lambda text: self.set_mark(model_index, outcome.id, text))
        self.table.setCellWidget(self._rows[(model_index, outcome.id)], 7, choice)

    def set_mark(self, model_index: int, prompt_id: str, text: str) -> None:
        """Keep a human's mark in the history and in the result the record will carry."""
        if self.trial_result is None:
            return
        mark = text if text in ("good", "bad") else None
        for outcome in self.trial_result.models[model_index].prompts:
            if outcome.id == prompt_id:
                outcome.human_mark = mark  # type: ignore[assignment]
        if self.trial_result.history_id is not None:
            try:
                store.set_mark(self.trial_result.history_id, model_index, prompt_id, mark)  # type: ignore[arg-type]
            except ModelVetError as error:
                self.status.setText(f"Mark not kept: {error.message()}")

    def closeEvent(self, event: QCloseEvent) -> None:
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        if self.run is not None:
            self.run.cancel()
        if self.job is not None:
            self.job.wait(10_000)


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


def _totals_html(result: TrialResult) -> str:
    lines = []
    for n, model in enumerate(result.models, 1):
        t = model.totals
        rate = f"{t.passed}/{t.checked}" + (
            f" ({t.pass_rate:.0%})" if t.pass_rate is not None else ""
        )
        peak = f"{t.peak_memory_bytes / 2**20:,.0f} MiB" if t.peak_memory_bytes else "–"
        line = (
            f"[{n}] {escape(model.label)}: checks passed {rate}, median decode "
            f"{_number(t.median_decode_tokens_per_s)} tokens/s, peak memory {peak}"
        )
        if model.fit is not None:
            line += f"<br>&nbsp;&nbsp;{escape(model.fit.verdict)}"
        if model.error:
            line += f"<br>&nbsp;&nbsp;{escape(model.error)}"
        lines.append(line)
    return "<br>".join(lines)
