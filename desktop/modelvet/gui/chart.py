"""Capability against memory: recommended in colour, excluded in grey, hardware as lines."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from modelvet.engine.fit.placement import Capacity
from modelvet.engine.rank.result import Recommendation
from modelvet.engine.vocabulary import GB

MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 56, 24, 28, 44


def begin_plot(widget: QWidget) -> tuple[QPainter, QRectF, QColor]:
    """A painter on the widget's base colour, the plot area inside the margins, the text colour."""
    painter = QPainter(widget)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    palette = widget.palette()
    painter.fillRect(widget.rect(), palette.color(QPalette.ColorRole.Base))
    plot = QRectF(
        MARGIN_LEFT,
        MARGIN_TOP,
        widget.width() - MARGIN_LEFT - MARGIN_RIGHT,
        widget.height() - MARGIN_TOP - MARGIN_BOTTOM,
    )
    return painter, plot, palette.color(QPalette.ColorRole.Text)


class CapabilityMemoryChart(QWidget):
    """A log-scale memory axis (1–1000 GB) so a 1 GB model and a 400 GB one both show."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Chart of capability score against predicted memory")
        self.setMinimumSize(420, 260)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.points: list[tuple[float, float, str, bool]] = []
        self.limits: list[tuple[float, str]] = []

    def set_recommendation(self, result: Recommendation | None) -> None:
        self.points = []
        self.limits = []
        if result is not None:
            for item in result.recommended:
                if item.predicted_memory_bytes:
                    self.points.append(
                        (item.predicted_memory_bytes / GB, item.score, item.name, True)
                    )
            for excluded in result.excluded:
                if excluded.smallest_memory_bytes:
                    self.points.append(
                        (
                            excluded.smallest_memory_bytes / GB,
                            excluded.capability or 0.0,
                            excluded.name,
                            False,
                        )
                    )
            cap = Capacity.of(result.hardware)
            if cap.gpu_count and cap.unified:
                self.limits.append((cap.largest_gpu_bytes / GB, "GPU share"))
                self.limits.append((cap.ram_bytes / GB, "RAM"))
            elif cap.gpu_count:
                self.limits.append((cap.all_gpus_bytes / GB, "GPU"))
                self.limits.append(((cap.all_gpus_bytes + cap.ram_bytes) / GB, "GPU + RAM"))
            else:
                self.limits.append((cap.ram_bytes / GB, "RAM"))
        self.update()

    def _x(self, memory_gb: float, plot: QRectF) -> float:
        low, high = math.log10(0.5), math.log10(2000)
        share = (math.log10(max(memory_gb, 0.5)) - low) / (high - low)
        return plot.left() + min(max(share, 0.0), 1.0) * plot.width()

    def _y(self, score: float, plot: QRectF) -> float:
        return plot.bottom() - min(max(score, 0.0), 100.0) / 100 * plot.height()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter, plot, text = begin_plot(self)
        self._axes(painter, plot, text)
        for row, (memory_gb, label) in enumerate(self.limits):
            x = self._x(memory_gb, plot)
            painter.setPen(QPen(QColor("#c0392b"), 1.5, Qt.PenStyle.DashLine))
            painter.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()))
            painter.drawText(
                QPointF(x + 4, plot.top() + 14 + 14 * row), f"{label} {memory_gb:.0f} GB"
            )
        grey = QColor(text)
        grey.setAlpha(70)
        accent = self.palette().color(QPalette.ColorRole.Highlight)
        for memory_gb, score, _name, chosen in sorted(self.points, key=lambda p: p[3]):
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(accent if chosen else grey)
            radius = 5 if chosen else 3.5
            painter.drawEllipse(
                QPointF(self._x(memory_gb, plot), self._y(score, plot)), radius, radius
            )
        painter.setPen(text)
        self._labels(painter, plot)
        painter.end()

    def _labels(self, painter: QPainter, plot: QRectF) -> None:
        """Name the five best recommended models, moving a label down until it overlaps none."""
        metrics = painter.fontMetrics()
        placed: list[QRectF] = []
        top = sorted((p for p in self.points if p[3]), key=lambda p: -p[1])[:5]
        for memory_gb, score, name, _ in top:
            box = QRectF(metrics.boundingRect(name))
            box.moveTopLeft(QPointF(self._x(memory_gb, plot) + 7, self._y(score, plot) - 16))
            if box.right() > plot.right():
                box.moveRight(self._x(memory_gb, plot) - 7)
            while any(box.intersects(other) for other in placed):
                box.translate(0, box.height())
            placed.append(box)
            painter.drawText(box, Qt.AlignmentFlag.AlignLeft, name)

    def _axes(self, painter: QPainter, plot: QRectF, text: QColor) -> None:
        painter.setPen(QPen(text, 1))
        painter.drawRect(plot)
        small = QFont(self.font())
        small.setPointSizeF(max(self.font().pointSizeF() * 0.85, 6.0))
        painter.setFont(small)
        for gb in (1, 10, 100, 1000):
            x = self._x(gb, plot)
            painter.drawLine(QPointF(x, plot.bottom()), QPointF(x, plot.bottom() + 4))
            painter.drawText(QPointF(x - 12, plot.bottom() + 16), f"{gb} GB")
        for score in (0, 25, 50, 75, 100):
            y = self._y(score, plot)
            painter.drawLine(QPointF(plot.left() - 4, y), QPointF(plot.left(), y))
            painter.drawText(QPointF(plot.left() - 30, y + 4), str(score))
        painter.drawText(
            QPointF(plot.center().x() - 120, self.height() - 8),
            "predicted memory at your context (log scale)",
        )
        painter.save()
        painter.translate(14, plot.center().y() + 40)
        painter.rotate(-90)
        painter.drawText(QPointF(0, 0), "score")
        painter.restore()
        painter.setFont(self.font())
