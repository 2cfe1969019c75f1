"""Official-looking A4 documents in Chinese: fpdf2 with Noto Sans SC (SIL OFL, from the
``pylopdf-fonts-zh-cn`` package, subset into each PDF) and QR codes from segno."""

from __future__ import annotations

import io
from collections.abc import Iterable

import segno
from fpdf import FPDF
from pylopdf_fonts_zh_cn import sans_path

FONT = "NotoSansSC"


class Document(FPDF):
    def __init__(self, *, title: str, subtitle: str = "", issuer: str = "ippledge"):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.doc_title, self.subtitle, self.issuer = title, subtitle, issuer
        self.add_font(FONT, "", str(sans_path()))
        self.set_auto_page_break(auto=True, margin=20)
        self.set_margins(20, 18, 20)
        self.set_title(title)
        self.set_creator("ippledge")
        self.add_page()
        self._heading()

    def _heading(self) -> None:
        self.set_draw_color(31, 78, 140)
        self.set_line_width(0.8)
        self.set_font(FONT, size=10)
        self.set_text_color(91, 103, 118)
        self.cell(0, 6, self.issuer, new_x="LMARGIN", new_y="NEXT", align="C")
        self.set_text_color(29, 39, 51)
        self.set_font(FONT, size=20)
        self.cell(0, 12, self.doc_title, new_x="LMARGIN", new_y="NEXT", align="C")
        if self.subtitle:
            self.set_font(FONT, size=11)
            self.cell(0, 7, self.subtitle, new_x="LMARGIN", new_y="NEXT", align="C")
        y = self.get_y() + 2
        self.line(20, y, 190, y)
        self.ln(6)

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(FONT, size=8)
        self.set_text_color(120, 120, 120)
        self.cell(0, 5, f"{self.doc_title} · {self.page_no()}/{{nb}}", align="C")

    def fields(self, rows: Iterable[tuple[str, str]], label_width: float = 42) -> None:
        self.set_font(FONT, size=10.5)
        for label, value in rows:
            self.set_text_color(91, 103, 118)
            x, y = self.get_x(), self.get_y()
            self.multi_cell(label_width, 6.5, label, new_x="RIGHT", new_y="TOP")
            self.set_text_color(29, 39, 51)
            self.multi_cell(0, 6.5, value or "—", new_x="LMARGIN", new_y="NEXT")
            self.set_xy(x, max(self.get_y(), y + 6.5))

    def section(self, title: str) -> None:
        self.ln(3)
        self.set_font(FONT, size=13)
        self.set_text_color(31, 78, 140)
        self.cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(29, 39, 51)

    def paragraph(self, text: str, size: float = 10.5) -> None:
        self.set_font(FONT, size=size)
        self.multi_cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")

    def grid(self, header: list[str], rows: list[list[str]], widths: list[float]) -> None:
        self.set_font(FONT, size=9)
        self.set_fill_color(240, 243, 247)
        table = _Table(self, header, widths)
        for row in rows:
            table.row(row)

    def qr(self, url: str, size_mm: float = 30, caption: str = "") -> None:
        buf = io.BytesIO()
        segno.make(url, error="m").save(buf, kind="png", scale=6, border=2)
        buf.seek(0)
        x = 190 - size_mm
        y = self.get_y()
        self.image(buf, x=x, y=y, w=size_mm, h=size_mm)
        if caption:
            self.set_xy(x - 10, y + size_mm)
            self.set_font(FONT, size=7.5)
            self.multi_cell(size_mm + 10, 4, caption, align="C", new_x="LMARGIN", new_y="NEXT")

    def render(self) -> bytes:
        self.alias_nb_pages()
        return bytes(self.output())


class _Table:
    """A simple bordered table that wraps text in each cell."""

    def __init__(self, doc: Document, header: list[str], widths: list[float]):
        self.doc, self.widths = doc, widths
        self._row(header, fill=True)

    def row(self, cells: list[str]) -> None:
        self._row(cells, fill=False)

    def _row(self, cells: list[str], fill: bool) -> None:
        doc = self.doc
        lines = [len(doc.multi_cell(w, 5.5, str(c), dry_run=True, output="LINES")) for c, w in
                 zip(cells, self.widths, strict=True)]
        height = 5.5 * max(lines + [1])
        if doc.get_y() + height > doc.h - 20:
            doc.add_page()
        x, y = doc.get_x(), doc.get_y()
        for c, w in zip(cells, self.widths, strict=True):
            doc.rect(x, y, w, height, style="DF" if fill else "D")
            doc.set_xy(x, y)
            doc.multi_cell(w, 5.5, str(c), new_x="RIGHT", new_y="TOP")
            x += w
        doc.set_xy(doc.l_margin, y + height)
