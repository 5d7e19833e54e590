"""The hardware plan: admissible models × machines, with the smallest and cheapest per model."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from modelvet.engine.plan import Plan, PlanCell
from modelvet.engine.report.assemble import price_text
from modelvet.engine.vocabulary import placement_label


def cell_text(cell: PlanCell | None) -> str:
    if cell is None:
        return "–"
    if not cell.fits:
        return "does not fit"
    speed = f"{cell.predicted_tokens_per_s:.0f} tok/s" if cell.predicted_tokens_per_s else "?"
    placed = placement_label(cell.placement)
    return f"{cell.quant}, {placed}, {speed}" + ("" if cell.meets_targets else " (slow)")


class PlanDialog(QDialog):
    """One row per admissible model, one column per machine; bold where it meets the targets."""

    def __init__(self, plan: Plan, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Plan hardware")
        self.resize(1000, 560)
        layout = QVBoxLayout(self)
        names = {m.key: m.name for m in plan.machines}
        machines = {m.key: m for m in plan.machines}
        intro = QLabel(
            f"{len(plan.models)} model(s) your rules admit, on {len(plan.machines)} machine(s). "
            "Bold: meets your speed target; a list price is shown where the catalog has a "
            f"sourced one. {len(plan.excluded_by_policy)} model(s) are excluded by your rules "
            "on every machine."
        )
        intro.setWordWrap(True)
        layout.addWidget(intro)
        columns = ["Model", "Smallest that meets the targets", "Cheapest listed"] + [
            m.name for m in plan.machines
        ]
        table = QTableWidget(len(plan.models), len(columns))
        table.setAccessibleName("Hardware plan: models by machines")
        table.setHorizontalHeaderLabels(columns)
        cells = {(c.model_id, c.machine): c for c in plan.cells}
        bold = QFont()
        bold.setBold(True)
        for row, model in enumerate(plan.models):
            cheapest = price_text(machines[model.cheapest]) if model.cheapest else "–"
            values = [model.name, names.get(model.smallest or "", "none"), cheapest]
            for column, text in enumerate(values):
                table.setItem(row, column, QTableWidgetItem(text))
            for offset, machine in enumerate(plan.machines):
                cell = cells.get((model.model_id, machine.key))
                item = QTableWidgetItem(cell_text(cell))
                if cell is not None and cell.meets_targets:
                    item.setFont(bold)
                if cell is not None and cell.why_not:
                    item.setToolTip(cell.why_not)
                table.setItem(row, 3 + offset, item)
        table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        table.resizeColumnsToContents()
        table.horizontalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(table, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.table = table
