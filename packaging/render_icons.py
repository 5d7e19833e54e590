"""Renders resources/icons/modelvet.svg to the PNG sizes desktops and installers want.

    python packaging/render_icons.py [OUT_DIR]

Writes OUT_DIR/hicolor/NxN/apps/io.github.modelvet.ModelVet.png (default OUT_DIR:
resources/icons), the freedesktop icon-theme layout, so the tree can be copied as it is into
~/.local/share/icons or /usr/share/icons. The committed PNGs are this script's output; a test
renders them again and compares.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SVG = ROOT / "resources" / "icons" / "modelvet.svg"
ICON_NAME = "io.github.modelvet.ModelVet"
SIZES_PX = (48, 64, 128, 256)


def icon_path(out_dir: Path, size_px: int) -> Path:
    return out_dir / "hicolor" / f"{size_px}x{size_px}" / "apps" / f"{ICON_NAME}.png"


def render(out_dir: Path) -> list[Path]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([])
    renderer = QSvgRenderer(str(SVG))
    if not renderer.isValid():
        raise SystemExit(f"{SVG}: not a valid SVG")
    written = []
    for size_px in SIZES_PX:
        image = QImage(size_px, size_px, QImage.Format.Format_ARGB32)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        path = icon_path(out_dir, size_px)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not image.save(str(path)):
            raise SystemExit(f"{path}: could not write")
        written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "resources" / "icons"
    for written_path in render(target):
        print(written_path)
