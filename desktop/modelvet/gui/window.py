"""The wizard window: steps on the left, the current step, Back/Next, and the File menu."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Protocol, cast

from PySide6.QtCore import QByteArray, Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QListWidget,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from modelvet.engine.catalog.loader import Catalog
from modelvet.engine.errors import ModelVetError
from modelvet.engine.hardware import HardwareSpec
from modelvet.engine.plan import Plan
from modelvet.engine.profile import Profile, Security, load_profile, save_profile
from modelvet.engine.trial.result import TrialResult
from modelvet.gui.controller import ProfileController
from modelvet.gui.errors import error_text, show_error
from modelvet.gui.pages.capability import CapabilityPage
from modelvet.gui.pages.export import ExportPage
from modelvet.gui.pages.hardware import HardwarePage
from modelvet.gui.pages.results import ResultsPage
from modelvet.gui.pages.security import SecurityPage
from modelvet.gui.pages.smoke import SmokePage
from modelvet.gui.pages.welcome import WelcomePage
from modelvet.gui.state import load_state, profiles_dir, save_state
from modelvet.gui.workers import Job

MIN_WIDTH, MIN_HEIGHT = 1024, 700
NO_RECOMMENDATION = ModelVetError("no recommendation yet", hint="set the hardware first")


class Step(Protocol):
    """A wizard page: a widget with a title for the step list."""

    title: str


def step_title(page: QWidget) -> str:
    return cast(Step, page).title


class MainWindow(QMainWindow):
    def __init__(self, catalog: Catalog, detect_hardware: bool = True) -> None:
        super().__init__()
        self.setWindowTitle("ModelVet")
        self.setMinimumSize(MIN_WIDTH, MIN_HEIGHT)
        self.state = load_state()
        self.catalog = catalog
        self.profile_path: Path | None = None
        self.controller = ProfileController(catalog, self)
        self.detect_job: Job | None = None
        self.export_job: Job | None = None
        self.plan_job: Job | None = None
        self.last_plan: Plan | None = None
        self.last_trial: TrialResult | None = None  # marks change in place; the export has them

        self.welcome = WelcomePage(catalog, self.state.recent_profiles)
        self.security = SecurityPage(catalog)
        self.hardware = HardwarePage(catalog)
        self.capability = CapabilityPage()
        self.results = ResultsPage(catalog)
        self.smoke = SmokePage(catalog, self.state.model_folders)
        self.export = ExportPage()
        self.pages = [
            self.welcome,
            self.security,
            self.hardware,
            self.capability,
            self.results,
            self.smoke,
            self.export,
        ]
        self._build()
        self._connect()
        self._menus()
        if self.state.geometry_hex:
            self.restoreGeometry(QByteArray.fromHex(self.state.geometry_hex.encode()))
        else:
            self.resize(1280, 820)
        self.controller.set_profile(Profile())
        if detect_hardware:
            # After the first paint: the window appears at once, the probe follows.
            QTimer.singleShot(300, self.detect)

    # --- layout --------------------------------------------------------------------------

    def _build(self) -> None:
        self.steps = QListWidget()
        self.steps.setObjectName("steps")
        self.steps.setAccessibleName("Steps")
        self.steps.setFixedWidth(230)
        self.steps.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.steps.setWordWrap(True)
        for number, page in enumerate(self.pages, start=1):
            self.steps.addItem(f"{number}. {step_title(page)}")
        self.stack = QStackedWidget()
        for page in self.pages:
            self.stack.addWidget(page)
        self.back = QPushButton("&Back")
        self.back.setAccessibleName("Previous step")
        self.next = QPushButton("&Next")
        self.next.setAccessibleName("Next step")
        self.next.setDefault(True)
        bar = QHBoxLayout()
        bar.addStretch(1)
        bar.addWidget(self.back)
        bar.addWidget(self.next)
        right = QVBoxLayout()
        right.addWidget(self.stack, 1)
        right.addLayout(bar)
        body = QHBoxLayout()
        body.addWidget(self.steps)
        body.addLayout(right, 1)
        central = QWidget()
        central.setLayout(body)
        self.setCentralWidget(central)
        self.setTabOrder(self.steps, self.stack)

    def _connect(self) -> None:
        self.steps.currentRowChanged.connect(self._show_step)
        self.back.clicked.connect(lambda: self.go_to(self.stack.currentIndex() - 1))
        self.next.clicked.connect(lambda: self.go_to(self.stack.currentIndex() + 1))
        self.welcome.startFresh.connect(self.start_fresh)
        self.welcome.startFromPreset.connect(self.start_from_preset)
        self.welcome.openRequested.connect(self.open_profile)
        self.security.edited.connect(
            lambda: self.controller.update(
                organisation=self.security.organisation(), security=self.security.security()
            )
        )
        self.hardware.edited.connect(lambda: self.controller.update(hardware=self.hardware.value()))
        self.hardware.detectRequested.connect(self.detect)
        self.hardware.planRequested.connect(self.plan_hardware)
        self.capability.edited.connect(
            lambda: self.controller.update(capability=self.capability.value())
        )
        self.controller.profileChanged.connect(self._profile_changed)
        self.controller.hardwareChanged.connect(
            lambda spec: self.smoke.set_context(self.controller.profile, spec)
        )
        self.controller.recommendationChanged.connect(self.results.show_result)
        # A plan describes the profile it was made for: an edit makes it stale.
        self.controller.recommendationChanged.connect(self._forget_plan)
        self.results.context_source = self.controller.memory_against_context
        self.results.variantChosen.connect(self.controller.choose_variant)
        self.controller.errorRaised.connect(self._show_in_status_bar)
        self.smoke.foldersChanged.connect(self._remember_folders)
        self.smoke.finishedTrial.connect(lambda result: setattr(self, "last_trial", result))
        self.export.exportRequested.connect(self.export_record)
        self.export.manifestRequested.connect(self.write_manifest)
        self.export.verifyRequested.connect(self.verify_transfer)
        self.export.saveProfileRequested.connect(self.save_profile_as)

    def _menus(self) -> None:
        menu = self.menuBar().addMenu("&File")
        for text, shortcut, handler in (
            ("&New profile", QKeySequence.StandardKey.New, self.start_fresh),
            ("&Open profile…", QKeySequence.StandardKey.Open, lambda: self.open_profile("")),
            ("&Save profile", QKeySequence.StandardKey.Save, self.save_profile),
            ("Save profile &as…", QKeySequence.StandardKey.SaveAs, self.save_profile_as),
            ("&Quit", QKeySequence.StandardKey.Quit, self.close),
        ):
            action = QAction(text, self)
            action.setShortcut(shortcut)
            action.triggered.connect(handler)
            menu.addAction(action)
        help_menu = self.menuBar().addMenu("&Help")
        about = QAction("&About ModelVet", self)
        about.triggered.connect(
            lambda: QMessageBox.about(
                self,
                "About ModelVet",
                f"ModelVet — catalog {self.catalog.version}, {len(self.catalog.models)} models. "
                "Runs offline; nothing leaves this machine.",
            )
        )
        help_menu.addAction(about)

    # --- steps ---------------------------------------------------------------------------

    def go_to(self, step: int | QWidget) -> None:
        """Show a step: a page, or its index (clamped to the first and last)."""
        index = self.pages.index(step) if isinstance(step, QWidget) else step
        self.steps.setCurrentRow(max(0, min(index, len(self.pages) - 1)))

    def _show_step(self, index: int) -> None:
        if index < 0:
            return
        self.stack.setCurrentIndex(index)
        self.back.setEnabled(index > 0)
        self.next.setEnabled(index < len(self.pages) - 1)
        if self.pages[index] is self.results:
            self.controller.flush()
        self.state.last_step = index

    # --- profile -------------------------------------------------------------------------

    def _profile_changed(self, profile: Profile) -> None:
        for page in (self.security, self.hardware, self.capability):
            if page.isVisible() and page is self.stack.currentWidget():
                continue  # the page being edited already shows this value
            if page is self.security:
                self.security.load(profile)
            elif page is self.hardware:
                self.hardware.load(profile.hardware, self.controller.detected)
            else:
                self.capability.load(profile.capability)
        name = self.profile_path.name if self.profile_path else "unsaved profile"
        self.setWindowTitle(f"ModelVet — {name}")

    def load_everywhere(self, profile: Profile) -> None:
        self.controller.set_profile(profile)
        self.security.load(profile)
        self.hardware.load(profile.hardware, self.controller.detected)
        self.capability.load(profile.capability)

    def start_fresh(self) -> None:
        self.profile_path = None
        self.load_everywhere(Profile())
        self.go_to(self.security)

    def start_from_preset(self, policy_id: str) -> None:
        self.profile_path = None
        self.load_everywhere(Profile(security=Security(policy=policy_id)))
        self.go_to(self.security)

    def open_profile(self, path: str) -> None:
        if not path:
            path, _ = QFileDialog.getOpenFileName(
                self, "Open profile", str(profiles_dir()), "Profiles (*.toml)"
            )
            if not path:
                return
        try:
            profile = load_profile(path)
        except ModelVetError as error:
            show_error(self, error, "Cannot open profile")
            return
        self.profile_path = Path(path)
        self.load_everywhere(profile)
        self._remember(path)
        self.go_to(self.results)

    def _remember(self, path: str) -> None:
        self.state.remember(path)
        self.welcome.show_recent(self.state.recent_profiles)

    def save_profile(self) -> None:
        if self.profile_path is None:
            self.save_profile_as()
            return
        try:
            save_profile(self.controller.profile, self.profile_path)
        except ModelVetError as error:
            show_error(self, error, "Cannot save profile")
            return
        self._remember(str(self.profile_path))
        self.statusBar().showMessage(f"Saved {self.profile_path}", 5000)

    def save_profile_as(self) -> None:
        start = self.profile_path or profiles_dir() / "profile.toml"
        path, _ = QFileDialog.getSaveFileName(self, "Save profile", str(start), "Profiles (*.toml)")
        if path:
            self.profile_path = Path(path)
            self.save_profile()

    # --- long work -----------------------------------------------------------------------

    def detect(self) -> None:
        from modelvet.engine.machine import detect

        if self.detect_job is not None and self.detect_job.is_running():
            return
        self.hardware.show_detected(None, running=True)
        self.detect_job = Job(lambda report: detect(measure_bandwidth=True), self)
        self.detect_job.finished.connect(self.apply_detected)
        self.detect_job.failed.connect(self._show_in_status_bar)
        self.detect_job.start()

    def _show_in_status_bar(self, error: BaseException) -> None:
        """Errors of background work the user did not ask for just now: no dialog in the way."""
        self.statusBar().showMessage(error_text(error), 8000)

    def apply_detected(self, spec: HardwareSpec) -> None:
        """This machine, as detected: shown on the Hardware step and used when no hardware is
        given."""
        self.hardware.show_detected(spec)
        self.controller.set_detected(spec)
        if self.controller.profile.hardware is None:
            self.hardware.load(None, self.controller.detected)

    def _remember_folders(self, folders: list[str]) -> None:
        self.state.model_folders = list(folders)

    def export_record(self, fmt: str, path: str) -> None:
        from modelvet.engine.report import write_report

        self.controller.flush()
        recommendation = self.controller.recommendation
        if recommendation is None:
            self.export.show_failure(NO_RECOMMENDATION)
            return
        catalog, plan, trial = self.catalog, self.last_plan, self.last_trial
        smoke = self.smoke.controller.result  # the last smoke run's, if any
        self._run_export_job(
            lambda report: write_report(
                recommendation,
                fmt,
                Path(path),
                catalog=catalog,
                smoke=smoke,
                plan=plan,
                trial=trial,
            ),
            lambda _: self.export.show_done(path),
            f"Writing {path}…",
        )

    def plan_hardware(self) -> None:
        """Every preset against the profile's rules, on a worker; the matrix in a dialog."""
        from modelvet.engine.plan import plan, preset_machines
        from modelvet.engine.rank.recommend import prepare

        self.controller.flush()
        profile, catalog = self.controller.profile, self.catalog
        self.hardware.plan_button.setEnabled(False)
        self.plan_job = Job(
            lambda report: plan(profile, preset_machines(catalog), prepare(catalog)), self
        )
        self.plan_job.finished.connect(self._show_plan)
        self.plan_job.failed.connect(self._plan_failed)
        self.plan_job.start()

    def _show_plan(self, result: Plan) -> None:
        from modelvet.gui.plan_dialog import PlanDialog

        self.hardware.plan_button.setEnabled(True)
        self.last_plan = result
        self.plan_dialog = PlanDialog(result, self)
        self.plan_dialog.show()

    def _forget_plan(self) -> None:
        self.last_plan = None

    def _plan_failed(self, error: BaseException) -> None:
        self.hardware.plan_button.setEnabled(True)
        show_error(self, error, "Cannot plan hardware")

    def write_manifest(self, path: str) -> None:
        from modelvet.engine.storage import atomic_write_text
        from modelvet.engine.transfer import build_manifest, manifest_json

        self.controller.flush()
        recommendation, catalog = self.controller.recommendation, self.catalog
        if recommendation is None:
            self.export.show_failure(NO_RECOMMENDATION)
            return

        def work(report: object) -> str:
            manifest = build_manifest(recommendation, catalog)
            atomic_write_text(Path(path), manifest_json(manifest))
            return f"{len(manifest.files)} file(s) to fetch"

        self._run_export_job(work, lambda summary: self.export.show_done(f"{path} ({summary})"))

    def verify_transfer(self, folder: str, manifest_path: str) -> None:
        from modelvet.engine.transfer import load_manifest, verify_folder

        self._run_export_job(
            lambda report: verify_folder(folder, load_manifest(manifest_path)),
            self.export.show_verification,
        )

    def _run_export_job(self, work, done, doing: str = "Working…") -> None:  # type: ignore[no-untyped-def]
        self.export.status.setText(doing)
        self.export_job = Job(work, self)
        self.export_job.finished.connect(done)
        self.export_job.failed.connect(self.export.show_failure)
        self.export_job.start()

    # --- closing -------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:
        self.smoke.shutdown()
        for job in (self.detect_job, self.export_job, self.plan_job):
            if job is not None:
                job.wait(10_000)
        self.state.geometry_hex = bytes(self.saveGeometry().toHex().data()).decode()
        with contextlib.suppress(ModelVetError):  # lost geometry is not worth a dialog on quit
            save_state(self.state)
        super().closeEvent(event)

    def keyPressEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        """Escape cancels a running smoke test; Enter, where no control takes it, goes on."""
        if event.key() == Qt.Key.Key_Escape and self.smoke.busy():
            self.smoke.cancel()
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.next.isEnabled():
            self.go_to(self.stack.currentIndex() + 1)
            return
        super().keyPressEvent(event)
