"""The PDF page: A4, the bundled DejaVu font, running header and footer, headings, tables, lists."""

from __future__ import annotations

from collections.abc import Sequence

from fpdf import FPDF, FontFace
from fpdf.enums import MethodReturnValue, TableCellFillMode, VAlign, WrapMode, XPos, YPos

from modelvet.engine.errors import ModelVetError
from modelvet.engine.resources import resource_path

INK, MUTED, RULE, BAND, LINK = (
    (29, 35, 48),
    (91, 100, 114),
    (190, 196, 205),
    (236, 239, 243),
    (26, 79, 156),
)
BODY_PT, TABLE_PT, SMALL_PT = 9.5, 8, 7.5
_PAD_Y, _PAD_X = 1.1, 1.4
# Core PDF fonts only cover Latin-1; used only when the bundled TTF is missing.
_LATIN1 = str.maketrans(
    {
        "—": "-",
        "–": "-",
        "→": "->",
        "×": "x",
        "÷": "/",
        "≥": ">=",
        "≤": "<=",
        "·": "-",
        "…": "...",
        "‘": "'",
        "’": "'",
        "“": '"',
        "”": '"',
        "✗": "x",
        "•": "-",
    }
)


class RecordPdf(FPDF):
    """A4 portrait; every page names the record and the catalog it was decided on."""

    def __init__(self, title: str, catalog_line: str, footer_line: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.record_title, self.catalog_line, self.footer_line = title, catalog_line, footer_line
        self.set_margins(16, 18, 16)
        self.set_auto_page_break(auto=True, margin=16)
        self.family = self._load_fonts()
        self.set_title(title)
        self.set_creator("ModelVet")
        self.alias_nb_pages()

    def _load_fonts(self) -> str:
        try:
            self.add_font("DejaVu", "", resource_path("fonts", "DejaVuSans.ttf"))
            self.add_font("DejaVu", "B", resource_path("fonts", "DejaVuSans-Bold.ttf"))
        except ModelVetError:
            return "helvetica"
        return "DejaVu"

    def text_of(self, value: object) -> str:
        text = str(value)
        if self.family == "DejaVu":
            return text
        return text.translate(_LATIN1).encode("latin-1", "replace").decode("latin-1")

    def font(self, size: float, bold: bool = False, color: tuple[int, int, int] = INK) -> None:
        self.set_font(self.family, "B" if bold else "", size)
        self.set_text_color(*color)

    def header(self) -> None:
        self.font(7.5, color=MUTED)
        self.set_y(8)
        half = self.epw / 2
        self.cell(half + 30, 4, self.text_of(self.record_title), new_x=XPos.RIGHT)
        self.cell(
            half - 30,
            4,
            self.text_of(self.catalog_line),
            align="R",
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        self.set_draw_color(*RULE)
        self.line(self.l_margin, 12.5, self.w - self.r_margin, 12.5)
        self.set_y(self.t_margin)

    def footer(self) -> None:
        self.set_y(-11)
        self.font(7.5, color=MUTED)
        self.cell(self.epw / 2, 4, self.text_of(self.footer_line))
        self.cell(self.epw / 2, 4, f"Page {self.page_no()} of {{nb}}", align="R")

    # --- blocks -----------------------------------------------------------------------

    def heading(self, text: str, level: int = 1, keep_mm: float = 26) -> None:
        """A section title, moved to the next page unless `keep_mm` of what follows fits."""
        size, space = {0: (17, 0), 1: (13, 5), 2: (10.5, 3.5)}[level]
        if self.will_page_break(space + keep_mm):
            self.add_page()
        else:
            self.ln(space)
        self.font(size, bold=True)
        self.multi_cell(
            0, size * 0.5, self.text_of(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        if level == 1:
            self.set_draw_color(*INK)
            self.set_line_width(0.4)
            self.line(self.l_margin, self.get_y() + 0.8, self.w - self.r_margin, self.get_y() + 0.8)
            self.set_line_width(0.2)
            self.ln(2.5)
        else:
            self.ln(1)

    def _line_count(self, width: float, size: float, text: str) -> int:
        lines = self.multi_cell(
            width, size * 0.48, self.text_of(text), dry_run=True, output=MethodReturnValue.LINES
        )
        return len(lines) if isinstance(lines, list) else 1

    def grid_height(
        self, rows: Sequence[Sequence[str]], widths: Sequence[float], size: float = TABLE_PT
    ) -> float:
        """About how tall `grid` will draw these rows (to keep a short table on one page)."""
        self.font(size)
        scale = self.epw / sum(widths)
        total = 0.0
        for values in rows:
            lines = [
                self._line_count(w * scale - 2 * _PAD_X, size, text)
                for w, text in zip(widths, values, strict=False)
            ]
            total += max(lines, default=0) * size * 0.48 + 2 * _PAD_Y
        return total

    def label(self, text: str, size: float = BODY_PT, color: tuple[int, int, int] = INK) -> None:
        """A bold line introducing a list: never left alone at the bottom of a page."""
        if self.will_page_break(size * 1.4):
            self.add_page()
        self.paragraph(text, size=size, color=color, bold=True)

    def paragraph(
        self,
        text: str,
        size: float = BODY_PT,
        color: tuple[int, int, int] = INK,
        bold: bool = False,
    ) -> None:
        self.font(size, bold=bold, color=color)
        self.multi_cell(
            0, size * 0.5, self.text_of(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )
        self.ln(1.2)

    def bullets(
        self,
        items: Sequence[str],
        size: float = BODY_PT,
        color: tuple[int, int, int] = INK,
        links: Sequence[str | None] = (),
    ) -> None:
        self.font(size, color=color)
        for n, item in enumerate(items):
            link = links[n] if n < len(links) else None
            self.set_x(self.l_margin + 1.5)
            self.cell(3.5, size * 0.5, "•" if self.family == "DejaVu" else "-")
            if link:
                self.set_text_color(*LINK)
            self.multi_cell(
                0,
                size * 0.5,
                self.text_of(item),
                align="L",
                link=link or "",
                new_x=XPos.LMARGIN,
                new_y=YPos.NEXT,
                wrapmode=WrapMode.CHAR if link else WrapMode.WORD,
            )
            self.set_text_color(*color)
            self.ln(0.6)
        self.ln(1.2)

    def grid(
        self,
        headings: Sequence[str] | None,
        rows: Sequence[Sequence[str]],
        widths: Sequence[float],
        size: float = TABLE_PT,
        bold_first_column: bool = False,
        links: dict[tuple[int, int], str] | None = None,
        spans: dict[int, int] | None = None,
    ) -> None:
        """A bordered table with wrapped cells; headings repeat after a page break.

        `spans` maps a row index to the number of rows its first cell spans.
        """
        self.font(size)
        self.set_draw_color(*RULE)
        links = links or {}
        spans = spans or {}
        with self.table(
            col_widths=tuple(widths),
            width=self.epw,
            text_align="LEFT",
            v_align=VAlign.T,
            line_height=size * 0.48,
            padding=(_PAD_Y, _PAD_X),
            first_row_as_headings=bool(headings),
            headings_style=FontFace(emphasis="BOLD", fill_color=BAND),
            repeat_headings=1,
            cell_fill_mode=TableCellFillMode.NONE,
        ) as table:
            if headings:
                heading_row = table.row()
                for text in headings:
                    heading_row.cell(self.text_of(text))
            covered = 0
            for r, values in enumerate(rows):
                row = table.row()
                for c, text in enumerate(values):
                    if c == 0 and covered:
                        continue
                    style = FontFace(emphasis="BOLD") if c == 0 and bold_first_column else None
                    link = links.get((r, c))
                    style = FontFace(color=LINK) if link else style
                    row.cell(
                        self.text_of(text),
                        style=style,
                        link=link,
                        rowspan=spans.get(r, 1) if c == 0 else 1,
                    )
                covered = covered - 1 if covered else spans.get(r, 1) - 1
        self.ln(2.5)
