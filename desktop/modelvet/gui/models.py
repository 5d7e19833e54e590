"""Qt table models over the engine's Recommendation: recommended and excluded models."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont

from modelvet.engine.rank.result import ExcludedModel, Recommendation, RecommendedModel
from modelvet.engine.vocabulary import format_bytes, placement_label, preferences

Index = QModelIndex | QPersistentModelIndex
SORT_ROLE = Qt.ItemDataRole.UserRole + 1


class _ItemsTableModel(QAbstractTableModel):
    """A table whose rows are a list of the engine's result items, one column per COLUMNS."""

    COLUMNS: tuple[str, ...] = ()

    def __init__(self) -> None:
        super().__init__()
        self.items: list[Any] = []

    def rows_of(self, result: Recommendation) -> list[Any]:
        raise NotImplementedError

    def set_recommendation(self, result: Recommendation | None) -> None:
        self.beginResetModel()
        self.items = self.rows_of(result) if result else []
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.items)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return len(self.COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None


class ResultsTableModel(_ItemsTableModel):
    """One row per recommended model, in the engine's rank order."""

    COLUMNS = (
        "#",
        "Model",
        "Developer",
        "Country",
        "Licence",
        "Quant",
        "Placement",
        "Memory",
        "Tokens/s",
        "Score",
    )

    def rows_of(self, result: Recommendation) -> list[Any]:
        return list(result.recommended)

    def _cells(self, item: RecommendedModel) -> tuple[tuple[str, Any], ...]:
        speed = item.predicted_tokens_per_s
        return (
            (str(item.rank), item.rank),
            (item.name, item.name.lower()),
            (item.developer, item.developer.lower()),
            (item.developer_country, item.developer_country),
            (
                item.license_name + (" · caveat" if item.caveats else ""),
                item.license_name.lower(),
            ),
            (item.quant or "hosted", item.quant or ""),
            (
                placement_label(item.placement, item.gpu_share),
                preferences().get(item.placement, 9),
            ),
            (format_bytes(item.predicted_memory_bytes), item.predicted_memory_bytes or 0),
            (
                "–"
                if speed is None
                else f"{speed:.0f}" + ("" if item.meets_speed_target is not False else " (slow)"),
                speed or 0.0,
            ),
            (f"{item.score:.1f}", item.score),
        )

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        item = self.items[index.row()]
        text, key = self._cells(item)[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return text
        if role == SORT_ROLE:
            return key
        if role == Qt.ItemDataRole.ToolTipRole:
            return "\n".join(item.reasons)
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in (0, 7, 8, 9):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class ExcludedTableModel(_ItemsTableModel):
    """One row per excluded model: who made it, and every rule that excluded it."""

    COLUMNS = ("Model", "Verdict", "Rules", "Why", "Developer", "Country", "Licence")

    def rows_of(self, result: Recommendation) -> list[Any]:
        return list(result.excluded)

    @staticmethod
    def verdict(item: ExcludedModel) -> str:
        """'fails a rule' when any rule fails; 'not established' when only facts are missing."""
        if any(r.status == "fail" for r in item.reasons):
            return "fails a rule"
        return "not established"

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        item = self.items[index.row()]
        rules = ", ".join(
            dict.fromkeys(
                r.rule + (" (unknown)" if r.status == "unknown" else "") for r in item.reasons
            )
        )
        cells = (
            item.name,
            self.verdict(item),
            rules,
            " · ".join(r.detail for r in item.reasons),
            item.developer,
            item.developer_country,
            item.license,
        )
        if role in (Qt.ItemDataRole.DisplayRole, SORT_ROLE):
            return cells[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return "\n".join(
                f"{r.rule}{' (not established)' if r.status == 'unknown' else ''}: {r.detail}"
                for r in item.reasons
            )
        if role == Qt.ItemDataRole.FontRole and cells[1] == "not established":
            font = QFont()
            font.setItalic(True)
            return font
        return None
