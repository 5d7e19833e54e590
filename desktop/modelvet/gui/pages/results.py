"""Step 5: the ranked models, why each is there, every excluded one with its rules, a chart."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from PySide6.QtCore import QSortFilterProxyModel, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from modelvet.engine.catalog.loader import Catalog
from modelvet.engine.rank.result import Recommendation, RecommendedModel, RuleFailure
from modelvet.engine.report import wording
from modelvet.engine.report.provenance import model_sources, recorded_model
from modelvet.engine.report.record import SourceRef
from modelvet.engine.vocabulary import format_bytes, placement_label
from modelvet.gui.chart import CapabilityMemoryChart
from modelvet.gui.context_chart import MemoryContextChart
from modelvet.gui.models import SORT_ROLE, ExcludedTableModel, ResultsTableModel
from modelvet.gui.variants import (
    VARIANT_SCHEME,
    alternatives_text,
    context_text,
    loss_text,
    variant_html,
    with_alternative,
)


def _table(model: QSortFilterProxyModel, name: str) -> QTableView:
    view = QTableView()
    view.setModel(model)
    view.setAccessibleName(name)
    view.setSortingEnabled(True)
    view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    view.setAlternatingRowColors(True)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setStretchLastSection(True)
    view.setWordWrap(False)
    return view


def _proxy(source: ResultsTableModel | ExcludedTableModel) -> QSortFilterProxyModel:
    proxy = QSortFilterProxyModel()
    proxy.setSourceModel(source)
    proxy.setSortRole(SORT_ROLE)
    proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    proxy.setFilterKeyColumn(-1)
    return proxy


class ResultsPage(QWidget):
    title = "Results"
    variantChosen = Signal(object)  # RecommendedModel: the model with the variant the user chose

    def __init__(self, catalog: Catalog, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.catalog = catalog
        self.result: Recommendation | None = None
        layout = QVBoxLayout(self)
        self.summary = QLabel("Set your constraints to see results.")
        self.summary.setObjectName("pageTitle")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.setting = QLabel("")
        self.setting.setWordWrap(True)
        layout.addWidget(self.setting)
        self.assumptions = QLabel("")
        self.assumptions.setObjectName("hint")
        self.assumptions.setWordWrap(True)
        layout.addWidget(self.assumptions)

        bar = QHBoxLayout()
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter by name, developer, country, licence…")
        self.filter.setAccessibleName("Filter results")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._filter)
        caption = QLabel("&Filter:")
        caption.setBuddy(self.filter)
        bar.addWidget(caption)
        bar.addWidget(self.filter, 1)
        self.compare_button = QPushButton("Co&mpare selected")
        self.compare_button.setAccessibleName("Compare two or three selected models side by side")
        self.compare_button.setEnabled(False)
        self.compare_button.clicked.connect(self.compare)
        bar.addWidget(self.compare_button)
        layout.addLayout(bar)

        self.results_model = ResultsTableModel()
        self.excluded_model = ExcludedTableModel()
        self.results_proxy = _proxy(self.results_model)
        self.excluded_proxy = _proxy(self.excluded_model)
        self.results_view = _table(self.results_proxy, "Recommended models")
        self.results_view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.results_view.selectionModel().selectionChanged.connect(self._on_select)
        self.excluded_view = _table(self.excluded_proxy, "Excluded models")
        self.excluded_view.selectionModel().selectionChanged.connect(self._on_select_excluded)
        self.chart = CapabilityMemoryChart()

        self.tabs = QTabWidget()
        self.tabs.addTab(self.results_view, "&Recommended")
        self.tabs.addTab(self.excluded_view, "E&xcluded")
        self.tabs.addTab(self.chart, "C&hart")
        self.context_chart = MemoryContextChart()
        self.tabs.addTab(self.context_chart, "Memory vs c&ontext")
        # Set by the window: selected models → their memory at each context length.
        self.context_source: Callable[[list[RecommendedModel]], dict[str, list]] | None = None
        self.current: RecommendedModel | None = None
        self.tabs.currentChanged.connect(self._on_tab)
        self.detail = QTextBrowser()
        self.detail.setOpenLinks(False)
        self.detail.anchorClicked.connect(self._on_link)
        self.detail.setAccessibleName("Details and sources of the selected model")
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.tabs)
        split.addWidget(self._detail_with_copy())
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([640, 400])
        layout.addWidget(split, 1)

    # --- updates -------------------------------------------------------------------------

    def show_result(self, result: Recommendation) -> None:
        self.result = result
        selected = self.selected_ids()
        self.results_model.set_recommendation(result)
        self.excluded_model.set_recommendation(result)
        self.chart.set_recommendation(result)
        for view in (self.results_view, self.excluded_view):
            view.resizeColumnsToContents()
            for column in range(view.model().columnCount()):
                view.setColumnWidth(column, min(view.columnWidth(column), 220))
        self.results_view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.summary.setText(
            f"{len(result.recommended)} recommended, {len(result.excluded)} excluded"
        )
        self.setting.setText(f"<b>{escape(result.hardware.name)}</b> · {escape(result.settings)}")
        self.assumptions.setText("Assumptions: " + "; ".join(result.assumptions) + ".")
        self._reselect(selected)

    def _reselect(self, ids: list[str]) -> None:
        selection = self.results_view.selectionModel()
        for row in range(self.results_proxy.rowCount()):
            source = self.results_proxy.mapToSource(self.results_proxy.index(row, 0))
            if self.results_model.items[source.row()].model_id in ids:
                selection.select(
                    self.results_proxy.index(row, 0),
                    selection.SelectionFlag.Select | selection.SelectionFlag.Rows,
                )
        if not ids and self.results_proxy.rowCount():
            self.results_view.selectRow(0)
        elif not self.results_proxy.rowCount():
            self.detail.setHtml(
                "<p>No model meets all your constraints. The <b>Excluded</b> "
                "tab lists every model with the rules that excluded it.</p>"
            )

    def _on_tab(self, index: int) -> None:
        """The detail pane follows the tab: an excluded model's rules, or the chosen model."""
        if self.tabs.widget(index) is self.excluded_view:
            if not self.excluded_view.selectionModel().hasSelection():
                self.excluded_view.selectRow(0)
            self._on_select_excluded()
        else:
            self._on_select()

    def _filter(self, text: str) -> None:
        self.results_proxy.setFilterFixedString(text)
        self.excluded_proxy.setFilterFixedString(text)

    def selected(self) -> list[RecommendedModel]:
        rows = sorted({i.row() for i in self.results_view.selectionModel().selectedRows()})
        return [
            self.results_model.items[
                self.results_proxy.mapToSource(self.results_proxy.index(r, 0)).row()
            ]
            for r in rows
        ]

    def select_top(self, count: int) -> None:
        """Select the first `count` rows as shown (the memory-vs-context chart compares them)."""
        selection = self.results_view.selectionModel()
        selection.clearSelection()
        for row in range(min(count, self.results_proxy.rowCount())):
            selection.select(
                self.results_proxy.index(row, 0),
                selection.SelectionFlag.Select | selection.SelectionFlag.Rows,
            )

    def selected_ids(self) -> list[str]:
        return [item.model_id for item in self.selected()]

    def _on_select(self) -> None:
        chosen = self.selected()
        self.compare_button.setEnabled(2 <= len(chosen) <= 3)
        if chosen:
            self._show_model(chosen[0])
        self._update_context_chart(chosen)

    def _show_model(self, item: RecommendedModel) -> None:
        self.current = item
        self.detail.setHtml(self._detail_html(item))
        self.copy_button.setEnabled(bool(item.run_command))

    def _detail_with_copy(self) -> QWidget:
        self.copy_button = QPushButton("Cop&y run command")
        self.copy_button.setAccessibleName("Copy the llama-server command line of this variant")
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(self.copy_command)
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.detail, 1)
        column.addWidget(self.copy_button)
        return box

    def copy_command(self) -> None:
        if self.current is not None and self.current.run_command:
            QGuiApplication.clipboard().setText(self.current.run_command)

    def _on_link(self, url: QUrl) -> None:
        """'variant:N' uses alternative N of the model shown; other links open outside."""
        if url.scheme() == VARIANT_SCHEME and self.current is not None:
            index = int(url.path())
            if 0 <= index < len(self.current.alternatives):
                chosen = with_alternative(self.current, index)
                self._show_model(chosen)
                self.variantChosen.emit(chosen)  # the record and the run command follow it
        elif url.scheme() in ("http", "https"):
            QDesktopServices.openUrl(url)

    def _requested_context(self) -> int:
        if self.result is None:
            return 0
        return int(self.result.profile.get("capability", {}).get("context_tokens", 0))

    def _update_context_chart(self, chosen: list[RecommendedModel]) -> None:
        local = [m for m in chosen if m.placement != "hosted"][:5]
        curves = self.context_source(local) if self.context_source and local else {}
        self.context_chart.set_curves(
            [(m.name, curves.get(m.model_id, [])) for m in local],
            self.result.hardware if self.result else None,
            self._requested_context(),
        )

    def _on_select_excluded(self) -> None:
        rows = self.excluded_view.selectionModel().selectedRows()
        if not rows:
            return
        item = self.excluded_model.items[self.excluded_proxy.mapToSource(rows[0]).row()]
        reasons = "".join(_reason_html(r) for r in item.reasons)
        self.detail.setHtml(
            f"<h3>{escape(item.name)} — excluded</h3>"
            f"<p>{escape(item.developer)} ({item.developer_country}), licence "
            f"{escape(item.license)}</p><ul>{reasons}</ul>" + self._sources_html(item.model_id)
        )

    def _sources_html(self, model_id: str) -> str:
        """An excluded model's sources: the catalog's, as the record lists a recommended one's."""
        model = self.catalog.models.get(model_id)
        if model is None:
            return ""
        return _source_list(model_sources(self.catalog, model))

    def _target_speed(self) -> float:
        if self.result is None:
            return 0
        return float(self.result.profile.get("capability", {}).get("min_tokens_per_s", 0))

    def _detail_html(self, item: RecommendedModel) -> str:
        """The facts in the decision record's words, the variant, why, terms and sources."""
        entry = recorded_model(self.catalog, item)
        rows = "".join(
            f"<tr><td><b>{escape(label)}</b></td><td>{escape(value)}</td></tr>"
            for label, value in wording.facts_table(entry, self._target_speed())
        )
        reasons = "".join(f"<li>{escape(r)}</li>" for r in wording.reasons(entry))
        return (
            f"<h3>{escape(item.name)}</h3><table cellspacing='4'>{rows}</table>"
            f"{variant_html(item, self._requested_context())}<h4>Why</h4><ul>{reasons}</ul>"
            + _terms_html(item)
            + _source_list(entry.sources)
        )

    def compare(self) -> None:
        chosen = self.selected()[:3]
        if len(chosen) < 2:
            return
        CompareDialog(chosen, self).exec()


def _link(url: str | None) -> str:
    return f' (<a href="{escape(url)}">clause</a>)' if url else ""


def _reason_html(reason: RuleFailure) -> str:
    """A failed rule in bold; a fact the catalog lacks marked as not established, in italics."""
    if reason.status == "unknown":
        return (
            f"<li><i><b>{escape(reason.rule)}: not established</b> — {escape(reason.detail)}"
            f"</i>{_link(reason.clause_url)}</li>"
        )
    return (
        f"<li><b>{escape(reason.rule)}</b>: {escape(reason.detail)}{_link(reason.clause_url)}</li>"
    )


def _terms_html(item: RecommendedModel) -> str:
    """The licences that bind the model, the duties they bring, and the caveats."""
    inherited = item.licenses[1:]
    bound = escape(item.license_name) + (
        f"; inherited through its base model: {escape(', '.join(inherited))}" if inherited else ""
    )
    duties = "".join(
        f"<li>{escape(d.licence_name)}: {escape(d.duty)}{_link(d.clause_url)}</li>"
        for d in item.obligations
    )
    caveats = "".join(
        _reason_html(c)
        if c.status == "unknown"
        else f"<li>{escape(c.detail)}{_link(c.clause_url)}</li>"
        for c in item.caveats
    )
    html = f"<h4>Licences that bind it</h4><p>{bound}</p>"
    html += f"<h4>What you take on</h4><ul>{duties or '<li>no duty recorded</li>'}</ul>"
    if caveats:
        html += f"<h4>Caveats</h4><ul>{caveats}</ul>"
    return html


def _source_list(sources: list[SourceRef]) -> str:
    items = "".join(
        f'<li><a href="{escape(s.url)}">{escape(", ".join(s.facts))}</a></li>' for s in sources
    )
    return f"<h4>Sources</h4><ul>{items}</ul>"


class CompareDialog(QDialog):
    """Two or three recommended models side by side."""

    ROWS = (
        ("Developer", lambda m: f"{m.developer} ({m.developer_country})"),
        ("Licence", lambda m: m.license_name),
        ("Parameters", wording.params),
        ("Context", lambda m: "–" if m.context_length is None else f"{m.context_length:,}"),
        ("Quantisation", lambda m: m.quant or "hosted"),
        ("Placement", lambda m: placement_label(m.placement, m.gpu_share)),
        ("Memory", lambda m: format_bytes(m.predicted_memory_bytes)),
        (
            "Tokens/s",
            lambda m: (
                "–" if m.predicted_tokens_per_s is None else f"{m.predicted_tokens_per_s:.1f}"
            ),
        ),
        ("Score", lambda m: f"{m.score:.1f}"),
        ("Perplexity loss", lambda m: loss_text(m.quality_loss_pct)),
        ("Largest context", context_text),
        ("Alternatives", alternatives_text),
        ("Task scores", lambda m: ", ".join(m.task_scores) or "–"),
        ("Missing data", lambda m: ", ".join(m.missing_tasks) or "none"),
    )

    def __init__(self, models: list[RecommendedModel], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Compare models")
        self.resize(820, 460)
        layout = QVBoxLayout(self)
        table = QTableWidget(len(self.ROWS), len(models))
        table.setAccessibleName("Comparison")
        table.setHorizontalHeaderLabels([m.name for m in models])
        table.setVerticalHeaderLabels([label for label, _ in self.ROWS])
        for column, model in enumerate(models):
            for row, (_label, value) in enumerate(self.ROWS):
                table.setItem(row, column, QTableWidgetItem(value(model)))
        table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        layout.addWidget(table)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.table = table
