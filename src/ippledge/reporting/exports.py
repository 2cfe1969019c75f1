"""Report files: Excel workbooks (openpyxl) and Excel-friendly CSV.  No ORM, no translation here:
every label (sheet names, headers, notes) comes from the caller, already in the reader's language.

Columns are ``{"key", "header", "kind"}`` with ``kind`` one of:

* ``"text"``: written as text (never as a formula, even when it starts with ``=``);
* ``"count"``: a whole number;
* ``"wan"``: an amount given in integer fen, shown in 万元 (fen / 1,000,000).  The workbook stores the
  *exact* value (12,345,678,900 fen → 12345.6789) with number format ``#,##0.00`` (shown 12,345.68),
  so sums in Excel agree with totals computed from fen; the CSV writes text rounded half up to 2
  decimals (``12345.68``);
* ``"percent"``: a percentage given as a number or decimal string (``"4.40"`` means 4.40 %), written as
  a number with format ``0.00``; the header gets ``(%)`` unless it already has a ``%``.

``None`` (or a missing key) is an empty cell.  The workbook has a frozen, bold header row, fitted column
widths and a final notes sheet (``说明``) with the title, the data's as-of time and the definitions.
"""

from __future__ import annotations

import csv
import io
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from ippledge.core import exact
from ippledge.core.errors import ValidationFailed
from ippledge.core.money import wan

from .engine.rules import percent_str

KINDS = ("text", "count", "wan", "percent")
WAN_FORMAT = "#,##0.00"
PERCENT_FORMAT = "0.00"
COUNT_FORMAT = "0"
FEN_PER_WAN = Decimal(1_000_000)
NOTES_SHEET = "说明"
MAX_WIDTH = 60
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def header_text(column: dict) -> str:
    header = str(column.get("header") or column["key"])
    if column.get("kind") == "percent" and "%" not in header:
        header += "(%)"
    return header


def _kind(column: dict) -> str:
    kind = column.get("kind", "text")
    if kind not in KINDS:
        raise ValueError(f"unknown column kind {kind!r} for {column.get('key')!r}")
    return kind


def _exact(value: Any) -> Decimal:
    """A cell's number (fen, count or percent) read by core.exact, a float by its shortest form.  Cells come
    from the report's code, not from a person, so one that is not an exact number is a ValueError; a book's
    total may pass 2⁶³ fen, so only the 28-digit bound applies."""
    try:
        return exact.decimal(value, "cell", floats=True, magnitude=None)
    except ValidationFailed:
        raise ValueError(f"a report cell must be an exact number, got {value!r}") from None


def wan_value(fen: Any) -> Decimal:
    """Integer fen → exact 万元 (``Decimal``)."""
    amount = _exact(fen)
    if amount != amount.to_integral_value():
        raise ValueError(f"amounts are given in whole fen, got {fen!r}")
    return amount / FEN_PER_WAN


def _cell_value(kind: str, value: Any) -> Any:
    if value is None or value == "":
        return None
    # Excel keeps IEEE doubles; float() of the exact Decimal is the nearest one (and avoids "1E+1" text).
    if kind == "wan":
        return float(wan_value(value))
    if kind == "percent":
        return float(_exact(value))
    if kind == "count":
        return int(_exact(value))
    return ILLEGAL_CHARACTERS_RE.sub("", str(value))


def _display_width(text: str) -> int:
    # CJK and other wide characters take about two columns.
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def _shown(kind: str, value: Any) -> str:
    if value is None:
        return ""
    if kind == "wan":
        return f"{value:,.2f}"
    if kind == "percent":
        return f"{value:.2f}"
    return str(value)


def _sheet_name(name: str, taken: set[str]) -> str:
    base = _BAD_SHEET_CHARS.sub("_", str(name or "Sheet")).strip("'")[:31] or "Sheet"
    candidate, n = base, 2
    while candidate.lower() in taken:
        suffix = f" ({n})"
        candidate, n = base[:31 - len(suffix)] + suffix, n + 1
    taken.add(candidate.lower())
    return candidate


def _write_table(ws, columns: list[dict], rows: list[dict]) -> None:
    kinds = [_kind(c) for c in columns]
    widths = []
    bold = Font(bold=True)
    for col, column in enumerate(columns, start=1):
        text = header_text(column)
        cell = ws.cell(row=1, column=col, value=text)
        cell.font = bold
        cell.alignment = Alignment(vertical="center")
        widths.append(_display_width(text))
    for r, row in enumerate(rows, start=2):
        for col, (column, kind) in enumerate(zip(columns, kinds, strict=True), start=1):
            value = _cell_value(kind, row.get(column["key"]))
            cell = ws.cell(row=r, column=col, value=value)
            if kind == "text" and value is not None:
                cell.data_type = "s"  # a name such as "=HYPERLINK(...)" stays text
            elif kind == "wan":
                cell.number_format = WAN_FORMAT
            elif kind == "percent":
                cell.number_format = PERCENT_FORMAT
            elif kind == "count":
                cell.number_format = COUNT_FORMAT
            widths[col - 1] = max(widths[col - 1], _display_width(_shown(kind, value)))
    for col, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(col)].width = min(MAX_WIDTH, max(8, width + 2))
    ws.freeze_panes = "A2"
    if rows and columns:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(rows) + 1}"


def _write_notes(ws, *, title: str, notes: list[tuple[str, str]], as_of: str, as_of_label: str) -> None:
    bold = Font(bold=True)
    ws.cell(row=1, column=1, value=ILLEGAL_CHARACTERS_RE.sub("", title)).font = Font(bold=True, size=13)
    ws.cell(row=2, column=1, value=as_of_label).font = bold
    ws.cell(row=2, column=2, value=str(as_of)).data_type = "s"
    width_a = max(_display_width(as_of_label), 8)
    wrap = Alignment(wrap_text=True, vertical="top")
    for r, (term, definition) in enumerate(notes, start=4):
        a = ws.cell(row=r, column=1, value=ILLEGAL_CHARACTERS_RE.sub("", str(term)))
        a.font, a.alignment, a.data_type = bold, wrap, "s"
        b = ws.cell(row=r, column=2, value=ILLEGAL_CHARACTERS_RE.sub("", str(definition)))
        b.alignment, b.data_type = wrap, "s"
        width_a = max(width_a, _display_width(str(term)))
    ws.column_dimensions["A"].width = min(30, width_a + 2)
    ws.column_dimensions["B"].width = 80


def to_xlsx(*, title: str, sheets: list[dict], notes: list[tuple[str, str]], as_of: str,
            as_of_label: str = "数据截至", notes_name: str = NOTES_SHEET) -> bytes:
    """A workbook with one sheet per ``{"name", "columns", "rows"}`` and a final notes sheet.

    Sheet names are made valid for Excel (no ``[]:*?/\\``, at most 31 characters, unique).
    """
    wb = Workbook()
    wb.remove(wb.active)
    wb.properties.title = title
    wb.properties.creator = "ippledge"
    taken: set[str] = {notes_name.lower()}
    for sheet in sheets:
        ws = wb.create_sheet(_sheet_name(sheet.get("name", ""), taken))
        _write_table(ws, list(sheet.get("columns", [])), list(sheet.get("rows", [])))
    notes_ws = wb.create_sheet(notes_name)
    _write_notes(notes_ws, title=title, notes=list(notes), as_of=as_of, as_of_label=as_of_label)
    wb.active = 0
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def _csv_text(kind: str, value: Any) -> str:
    if value is None or value == "":
        return ""
    if kind == "wan":
        amount = _exact(value)
        if amount != amount.to_integral_value():
            raise ValueError(f"amounts are given in whole fen, got {value!r}")
        return str(wan(int(amount)))
    if kind == "percent":
        return percent_str(_exact(value).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)) or ""
    if kind == "count":
        return str(int(_exact(value)))
    text = str(value)
    # Spreadsheet formula injection: a cell starting with = + - @ would be evaluated by Excel.
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(columns: list[dict], rows: list[dict]) -> bytes:
    """UTF-8 with a BOM (so Excel detects the encoding), CRLF rows, a header row, amounts in 万元 as
    text with 2 decimals, percents with 2–4 decimals."""
    kinds = [_kind(c) for c in columns]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([header_text(c) for c in columns])
    for row in rows:
        writer.writerow([_csv_text(kind, row.get(c["key"])) for c, kind in zip(columns, kinds, strict=True)])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")
