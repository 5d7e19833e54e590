"""Small building blocks shared by the pages: explained form rows, country lists, headings."""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QFrame,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

# ISO 3166 alpha-2 codes offered in pickers, with names (the profile accepts any two letters).
COUNTRIES: dict[str, str] = {
    "AE": "United Arab Emirates",
    "AR": "Argentina",
    "AT": "Austria",
    "AU": "Australia",
    "BE": "Belgium",
    "BR": "Brazil",
    "BY": "Belarus",
    "CA": "Canada",
    "CH": "Switzerland",
    "CN": "China (PRC)",
    "CU": "Cuba",
    "CZ": "Czechia",
    "DE": "Germany",
    "DK": "Denmark",
    "EE": "Estonia",
    "ES": "Spain",
    "FI": "Finland",
    "FR": "France",
    "GB": "United Kingdom",
    "GR": "Greece",
    "HK": "Hong Kong",
    "IE": "Ireland",
    "IL": "Israel",
    "IN": "India",
    "IR": "Iran",
    "IT": "Italy",
    "JP": "Japan",
    "KP": "North Korea",
    "KR": "South Korea",
    "LT": "Lithuania",
    "LU": "Luxembourg",
    "LV": "Latvia",
    "MO": "Macau",
    "MX": "Mexico",
    "NL": "Netherlands",
    "NO": "Norway",
    "NZ": "New Zealand",
    "PL": "Poland",
    "PT": "Portugal",
    "RO": "Romania",
    "RU": "Russia",
    "SA": "Saudi Arabia",
    "SE": "Sweden",
    "SG": "Singapore",
    "SY": "Syria",
    "TW": "Taiwan",
    "UA": "Ukraine",
    "US": "United States",
    "VE": "Venezuela",
}


def heading(text: str, detail: str = "") -> QWidget:
    """A page title with a one-paragraph explanation under it."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 8)
    title = QLabel(text)
    title.setObjectName("pageTitle")
    title.setAccessibleName(text)
    layout.addWidget(title)
    if detail:
        layout.addWidget(hint(detail))
    return box


def buddy_label(text: str, field: QWidget) -> QLabel:
    """A caption whose mnemonic focuses `field`."""
    caption = QLabel(text)
    caption.setBuddy(field)
    return caption


def hint(text: str) -> QLabel:
    """Grey explanatory text; may hold links to a rule's legal basis."""
    label = QLabel(text)
    label.setObjectName("hint")
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setOpenExternalLinks(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
    return label


def add_row(form: QFormLayout, label: str, field: QWidget, explanation: str) -> QLabel:
    """A form row whose label carries a mnemonic and whose control explains itself."""
    caption = QLabel(label)
    caption.setBuddy(field)
    plain = label.replace("&", "")
    field.setAccessibleName(plain)
    field.setAccessibleDescription(explanation)
    field.setToolTip(explanation)
    column = QWidget()
    layout = QVBoxLayout(column)
    layout.setContentsMargins(0, 0, 0, 4)
    layout.setSpacing(2)
    layout.addWidget(field)
    text = hint(explanation)
    layout.addWidget(text)
    form.addRow(caption, column)
    return text


def fill_with_scrolling(page: QWidget, content: QWidget) -> None:
    """Pages scroll rather than clip when the window is small or the text is large."""
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(content)
    outer = QVBoxLayout(page)
    outer.setContentsMargins(0, 0, 0, 0)
    outer.addWidget(area)


class CountryList(QListWidget):
    """Checkable list of countries; `codes()` are the checked ones."""

    changed = Signal()

    def __init__(self, accessible_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName(accessible_name)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setMaximumHeight(150)
        self._filling = False
        for code, name in sorted(COUNTRIES.items(), key=lambda kv: kv[1]):
            item = QListWidgetItem(f"{name} ({code})")
            item.setData(Qt.ItemDataRole.UserRole, code)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.addItem(item)
        self.itemChanged.connect(self._on_item_changed)

    def _on_item_changed(self) -> None:
        if not self._filling:
            self.changed.emit()

    def _ensure(self, code: str) -> None:
        if not any(
            self.item(i).data(Qt.ItemDataRole.UserRole) == code for i in range(self.count())
        ):
            item = QListWidgetItem(code)
            item.setData(Qt.ItemDataRole.UserRole, code)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            self.addItem(item)

    def set_codes(self, codes: Iterable[str]) -> None:
        wanted = set(codes)
        self._filling = True
        for code in wanted:
            self._ensure(code)
        for i in range(self.count()):
            item = self.item(i)
            checked = item.data(Qt.ItemDataRole.UserRole) in wanted
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
        self._filling = False

    def codes(self) -> list[str]:
        return sorted(
            self.item(i).data(Qt.ItemDataRole.UserRole)
            for i in range(self.count())
            if self.item(i).checkState() == Qt.CheckState.Checked
        )
