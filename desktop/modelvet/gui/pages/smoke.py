"""Step 6: verify a model file, load it in a child process, measure it, probe it, try it."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from modelvet.engine.catalog.loader import Catalog
from modelvet.engine.hardware import HardwareSpec
from modelvet.engine.profile import Profile
from modelvet.engine.smoke.check import PreLoad
from modelvet.engine.smoke.discover import FoundModel, demo_model, discover
from modelvet.engine.smoke.result import SmokeResult
from modelvet.engine.vocabulary import format_bytes
from modelvet.gui.smoke_controller import BUSY, SmokeController
from modelvet.gui.widgets import buddy_label, heading, hint


class SmokePage(QWidget):
    """Renders its `controller` (which runs the smoke test and keeps the last result) and
    forwards what the user does to it."""

    title = "Smoke test"
    finishedTrial = Signal(object)  # TrialResult, from the trial dialog
    foldersChanged = Signal(list)

    def __init__(self, catalog: Catalog, folders: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.catalog = catalog
        self.folders = list(folders)
        self.controller = SmokeController(catalog, self)
        layout = QVBoxLayout(self)
        layout.addWidget(
            heading(
                "Smoke test",
                "Load a model on this machine, offline, in a separate process: its size and sha256 "
                "are checked against the catalog first, then ModelVet measures load time, speed "
                "and memory against its prediction and asks a few questions you can read.",
            )
        )
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self._files_box())
        split.addWidget(self._results_box())
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        layout.addWidget(split, 1)
        self._searched = False  # model folders are walked when the step is first shown
        self._connect()

    def _connect(self) -> None:
        run = self.controller
        run.started.connect(self._clear)
        run.statusChanged.connect(self.status.setText)
        run.progressChanged.connect(self._show_progress)
        run.refused.connect(self._show_refused)
        run.stoppedBeforeLoad.connect(self._show_stopped_before_load)
        run.checked.connect(self._show_checks)
        run.answerStreamed.connect(self._show_piece)
        run.finished.connect(self.show_result)
        run.stateChanged.connect(self._sync_buttons)

    def showEvent(self, event: QShowEvent) -> None:
        if not self._searched:
            self._searched = True
            self.refresh_files()
        super().showEvent(event)

    # --- building ------------------------------------------------------------------------

    def _files_box(self) -> QGroupBox:
        box = QGroupBox("Model file")
        layout = QVBoxLayout(box)
        self.demo_button = QPushButton("Run the &demo: SmolLM2-135M (no download)")
        self.demo_button.setAccessibleName("Run the smoke test on the bundled SmolLM2 demo model")
        self.demo_button.clicked.connect(self.run_demo)
        self.demo_button.setVisible(demo_model() is not None)
        layout.addWidget(self.demo_button)
        self.files = QListWidget()
        self.files.setAccessibleName("Model files found on this machine")
        self.files.itemSelectionChanged.connect(self._sync_buttons)
        layout.addWidget(QLabel("Files found (LM Studio, Hugging Face cache, your folders):"))
        layout.addWidget(self.files, 1)
        buttons = QHBoxLayout()
        choose = QPushButton("C&hoose file…")
        choose.clicked.connect(self.choose_file)
        add = QPushButton("Add &folder…")
        add.clicked.connect(self.add_folder)
        buttons.addWidget(choose)
        buttons.addWidget(add)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        form = QFormLayout()
        self.context = QSpinBox(
            minimum=256,
            maximum=1_048_576,
            singleStep=1024,
            suffix=" tokens",
            value=4096,
        )
        self.context.setGroupSeparatorShown(True)
        self.context.setAccessibleName("Context length for the smoke test")
        form.addRow(buddy_label("Conte&xt:", self.context), self.context)
        self.force = QCheckBox("Load even if it is predicted not to fit")
        self.force.setAccessibleName("Load even if predicted not to fit")
        form.addRow("", self.force)
        layout.addLayout(form)
        run_row = QHBoxLayout()
        self.run_button = QPushButton("&Run smoke test")
        self.run_button.setAccessibleName("Run the smoke test on the selected file")
        self.run_button.clicked.connect(self.run_selected)
        self.cancel_button = QPushButton("&Cancel")
        self.cancel_button.setAccessibleName("Cancel the running smoke test")
        self.cancel_button.clicked.connect(self.cancel)
        run_row.addWidget(self.run_button)
        run_row.addWidget(self.cancel_button)
        self.trial_button = QPushButton("&Trial on your prompts…")
        self.trial_button.setAccessibleName("Run a trial set on the selected file or the demo")
        self.trial_button.clicked.connect(self.open_trial)
        run_row.addWidget(self.trial_button)
        layout.addLayout(run_row)
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Smoke test progress")
        self.progress.setRange(0, 100)
        self.progress.setValue(0)
        layout.addWidget(self.progress)
        self.status = QLabel("Choose a file or run the demo.")
        self.status.setWordWrap(True)
        self.status.setAccessibleName("Smoke test status")
        layout.addWidget(self.status)
        return box

    def _results_box(self) -> QGroupBox:
        box = QGroupBox("Results")
        layout = QVBoxLayout(box)
        self.verdict = QLabel("")
        self.verdict.setObjectName("verdict")
        self.verdict.setWordWrap(True)
        layout.addWidget(self.verdict)
        self.table = QTableWidget(0, 4)
        self.table.setAccessibleName("Predicted against measured")
        self.table.setHorizontalHeaderLabels(["Quantity", "Predicted", "Measured", "Ratio"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setMinimumHeight(200)
        layout.addWidget(self.table, 3)
        self.report = QTextBrowser()
        self.report.setAccessibleName("Checks and probe answers")
        layout.addWidget(self.report, 3)
        prompt_row = QHBoxLayout()
        self.prompt = QPlainTextEdit()
        self.prompt.setPlaceholderText("Try it yourself: type a prompt or paste a document…")
        self.prompt.setAccessibleName("Your own prompt")
        self.prompt.setMaximumHeight(70)
        self.send = QPushButton("&Send")
        self.send.setAccessibleName("Send your prompt to the loaded model")
        self.send.clicked.connect(self.send_prompt)
        prompt_row.addWidget(self.prompt, 1)
        prompt_row.addWidget(self.send)
        layout.addLayout(prompt_row)
        self.answer = QTextBrowser()
        self.answer.setAccessibleName("The model's answer")
        self.answer.setMaximumHeight(120)
        layout.addWidget(self.answer)
        layout.addWidget(hint("Answers stream as the model writes them, with live tokens/s."))
        return box

    # --- files ---------------------------------------------------------------------------

    def refresh_files(self) -> None:
        self.files.clear()
        for found in discover(self.catalog, [Path(f) for f in self.folders]):
            self._add_file(found)
        self._sync_buttons()

    def _add_file(self, found: FoundModel) -> None:
        label = f"{found.path.name} — {format_bytes(found.size_bytes)}"
        label += f" — {found.model_id}" if found.model_id else " — not in the catalog"
        if found.problem:
            label += f" — ✗ {found.problem}"
        item = QListWidgetItem(label)
        item.setToolTip(f"{found.path}\nfound in: {found.where}")
        item.setData(Qt.ItemDataRole.UserRole, str(found.path))
        self.files.addItem(item)

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Choose a GGUF model file",
            str(Path.home()),
            "GGUF models (*.gguf);;All files (*)",
        )
        if path:
            self.start(Path(path))

    def add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a folder with model files")
        if folder and folder not in self.folders:
            self.folders.append(folder)
            self.foldersChanged.emit(self.folders)
            self.refresh_files()

    def _sync_buttons(self) -> None:
        busy = self.busy()
        self.run_button.setEnabled(not busy and bool(self.files.selectedItems()))
        self.demo_button.setEnabled(not busy)
        self.cancel_button.setEnabled(busy)
        self.send.setEnabled(self.controller.can_ask())

    def busy(self) -> bool:
        return self.controller.busy()

    # --- running: the controller runs, this page shows -------------------------------------

    def set_context(self, profile: Profile, hardware: HardwareSpec | None) -> None:
        self.controller.set_context(profile, hardware)
        self.context.setValue(min(profile.capability.context_tokens, 32768))

    def run_demo(self) -> None:
        path = demo_model()
        if path is not None:
            self.start(path)

    def run_selected(self) -> None:
        items = self.files.selectedItems()
        if items:
            self.start(Path(items[0].data(Qt.ItemDataRole.UserRole)))

    def start(self, path: Path) -> None:
        self.controller.start(path, self.context.value(), self.force.isChecked())

    def cancel(self) -> None:
        self.controller.cancel()

    def shutdown(self) -> None:
        """Window closing: stop the child and wait for the verification thread."""
        self.controller.shutdown()

    def _clear(self) -> None:
        self.table.setRowCount(0)
        self.report.clear()
        self.answer.clear()
        self.verdict.setText("")

    def _show_progress(self, percent: int) -> None:
        if percent == BUSY:
            self.progress.setRange(0, 0)
        else:
            self.progress.setRange(0, 100)
            self.progress.setValue(percent)

    def _show_refused(self, message: str) -> None:
        self.verdict.setText(f"✗ Not loaded: {escape(message)}")

    def _show_stopped_before_load(self) -> None:
        self.verdict.setText("Cancelled before loading: the model was not loaded.")

    def _show_checks(self, pre: PreLoad) -> None:
        self.report.setHtml("".join(f"<div>✓ {escape(c)}</div>" for c in pre.checks))

    def _show_piece(self, text: str) -> None:
        self.answer.moveCursor(self.answer.textCursor().MoveOperation.End)
        self.answer.insertPlainText(text)

    def show_result(self, result: SmokeResult) -> None:
        mark = "✓" if result.passed else "✗"
        self.verdict.setText(f"{mark} {escape(result.verdict)}")
        self.table.setRowCount(0)
        for row in result.comparisons:
            index = self.table.rowCount()
            self.table.insertRow(index)
            cells = (
                f"{row.quantity} ({row.unit})",
                "–" if row.predicted is None else f"{row.predicted:,.2f}",
                "–" if row.measured is None else f"{row.measured:,.2f}",
                "–" if row.ratio is None else f"{row.ratio:.2f}×",
            )
            for column, text in enumerate(cells):
                self.table.setItem(index, column, QTableWidgetItem(text))
        bound = result.bandwidth_bound_tokens_per_s
        parts = [f"<div>✓ {escape(c)}</div>" for c in result.checks]
        if bound:
            parts.append(
                f"<p>Memory-bandwidth bound (the physical limit): {bound:.1f} tokens/s</p>"
            )
        parts.append(f"<h4>Probes: {result.probes_passed} of {len(result.probes)} passed</h4>")
        for probe in result.probes:
            mark = "✓" if probe.passed else "✗"
            parts.append(
                f"<p><b>{mark} {escape(probe.id)}</b> — {escape(probe.why)}<br>"
                f"<i>{escape(probe.prompt[:160])}</i><br>{escape(probe.answer[:400])}</p>"
            )
        earlier = self.controller.earlier_runs(result)
        if earlier:
            rows = "".join(
                f"<li>{r['started_at']}: {'passed' if r['passed'] else 'failed'}, "
                f"{(r['generation_tokens_per_s'] or 0):.1f} tokens/s, {r['settings']}"
                "</li>"
                for r in earlier
            )
            parts.append(f"<h4>Earlier runs of this file</h4><ul>{rows}</ul>")
        self.report.setHtml("".join(parts))

    def open_trial(self) -> Any:
        """The trial dialog on the selected file (else the demo), at the profile's settings."""
        from modelvet.gui.trial_dialog import TrialDialog

        items = self.files.selectedItems()
        path = Path(items[0].data(Qt.ItemDataRole.UserRole)) if items else demo_model()
        if path is None:
            self.status.setText("Choose a file first: the demo model is not installed.")
            return None
        settings = self.controller.run_settings(self.context.value())
        dialog = TrialDialog(self.catalog, path, settings, self.controller.machine(), self)
        dialog.finishedTrial.connect(self.finishedTrial.emit)
        dialog.show()
        return dialog

    def send_prompt(self) -> None:
        text = self.prompt.toPlainText().strip()
        if not text or not self.controller.can_ask():
            return
        self.answer.clear()
        self.controller.ask(text)
