"""Memory against context length for the selected models: f16 KV cache solid, q8_0 dashed."""

from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from modelvet.engine.fit.placement import Capacity
from modelvet.engine.hardware import HardwareSpec
from modelvet.engine.rank.result import ContextPoint
from modelvet.engine.vocabulary import GB
from modelvet.gui.chart import begin_plot

COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b")


class MemoryContextChart(QWidget):
    """A log2 context axis (1K tokens up) against memory in GB; capacity as dashed lines."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Chart of predicted memory against context length")
        self.setMinimumSize(420, 260)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.curves: list[tuple[str, list[ContextPoint]]] = []
        self.limits: list[tuple[float, str]] = []
        self.requested = 0

    def set_curves(
        self,
        curves: list[tuple[str, list[ContextPoint]]],
        hardware: HardwareSpec | None,
        requested_tokens: int,
    ) -> None:
        self.curves = [(name, points) for name, points in curves if points][: len(COLOURS)]
        self.requested = requested_tokens
        self.limits = []
        if hardware is not None:
            cap = Capacity.of(hardware)
            if cap.gpu_count:
                self.limits.append((cap.all_gpus_bytes / GB, "GPU"))
            if not cap.unified:
                self.limits.append(((cap.all_gpus_bytes + cap.ram_bytes) / GB, "GPU + RAM"))
        self.update()

    def _ranges(self) -> tuple[float, float, float]:
        contexts = [p.context_tokens for _, pts in self.curves for p in pts] or [1024, 131072]
        memory = [(p.f16_bytes or 0) / GB for _, pts in self.curves for p in pts] or [1.0]
        top = max(max(memory), *(gb for gb, _ in self.limits[:1]), 1.0) * 1.1
        return math.log2(min(contexts)), math.log2(max(max(contexts), 2 * min(contexts))), top

    def _point(self, context: float, memory_gb: float, plot: QRectF) -> QPointF:
        low, high, top = self._ranges()
        x = plot.left() + (math.log2(context) - low) / (high - low) * plot.width()
        y = plot.bottom() - min(memory_gb / top, 1.0) * plot.height()
        return QPointF(x, y)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter, plot, text = begin_plot(self)
        painter.setPen(QPen(text, 1))
        painter.drawRect(plot)
        if not self.curves:
            painter.drawText(plot, Qt.AlignmentFlag.AlignCenter, "Select models to compare")
            painter.end()
            return
        self._axes(painter, plot, text)
        self._limits(painter, plot)
        for index, (name, points) in enumerate(self.curves):
            colour = QColor(COLOURS[index])
            for attribute, style in (
                ("f16_bytes", Qt.PenStyle.SolidLine),
                ("q8_0_bytes", Qt.PenStyle.DashLine),
            ):
                painter.setPen(QPen(colour, 2, style))
                line = [
                    self._point(p.context_tokens, (getattr(p, attribute) or 0) / GB, plot)
                    for p in points
                ]
                for start, end in zip(line, line[1:], strict=False):
                    painter.drawLine(start, end)
            painter.setPen(colour)
            painter.drawText(QPointF(plot.left() + 8, plot.top() + 16 + 15 * index), name)
        painter.setPen(text)
        painter.drawText(
            QPointF(plot.right() - 210, plot.bottom() - 8), "solid: f16 KV cache · dashed: q8_0"
        )
        painter.end()

    def _limits(self, painter: QPainter, plot: QRectF) -> None:
        low, high, _ = self._ranges()
        for memory_gb, label in self.limits:
            y = self._point(2**low, memory_gb, plot).y()
            if y <= plot.top():
                continue
            painter.setPen(QPen(QColor("#c0392b"), 1.5, Qt.PenStyle.DashLine))
            painter.drawLine(QPointF(plot.left(), y), QPointF(plot.right(), y))
            painter.drawText(QPointF(plot.right() - 120, y - 4), f"{label} {memory_gb:.0f} GB")
        if self.requested and 2**low <= self.requested <= 2**high:
            x = self._point(self.requested, 0, plot).x()
            painter.setPen(QPen(QColor("#7f7f7f"), 1, Qt.PenStyle.DotLine))
            painter.drawLine(QPointF(x, plot.top()), QPointF(x, plot.bottom()))

    def _axes(self, painter: QPainter, plot: QRectF, text: QColor) -> None:
        low, high, top = self._ranges()
        painter.setPen(QPen(text, 1))
        for power in range(math.ceil(low), math.floor(high) + 1, 2):
            x = self._point(2**power, 0, plot).x()
            painter.drawLine(QPointF(x, plot.bottom()), QPointF(x, plot.bottom() + 4))
            tokens = 2**power
            label = f"{tokens // 1024}K" if tokens < 1024**2 else f"{tokens // 1024**2}M"
            painter.drawText(QPointF(x - 10, plot.bottom() + 16), label)
        step = max(1, round(top / 5))
        for gb in range(0, int(top) + 1, step):
            y = self._point(2**low, gb, plot).y()
            painter.drawLine(QPointF(plot.left() - 4, y), QPointF(plot.left(), y))
            painter.drawText(QPointF(plot.left() - 40, y + 4), f"{gb} GB")
        painter.drawText(
            QPointF(plot.center().x() - 150, self.height() - 8),
            "context length, tokens (log scale); dotted: your context",
        )
