"""Work lists for pages: filters, sorting, pagination with counts, and CSV/Excel export of what is shown.

A view describes its list once and renders ``{% include "core/_listing.html" %}``::

    listing = Listing(request, Loan.objects.restrict(user, "view"), name="loans",
        columns=[
            Column("loan_no", _("Loan"), link=lambda loan: reverse("credit:loan", args=[loan.loan_no])),
            Column("borrower", _("Borrower"), "borrower.name", sort="borrower__name"),
            Column("balance", _("Balance (yuan)"), kind="fen", sort="balance"),
            Column("classification", _("Classification"), kind="label:credit.Loan.classification"),
        ],
        filters=[Filter("q", _("Search"), ("loan_no", "borrower__name"), kind="search"),
                 Filter("classification", _("Classification"), "classification",
                        vocabulary="credit.Loan.classification")],
        default_sort="-loan_no")
    if (response := listing.export_response()) is not None:
        return response
    return render(request, "credit/loans.html", {"listing": listing})

The rows may be a QuerySet (filtered, sorted and counted in the database) or a list of objects or dicts
(what a service returned; filtered and sorted in Python).  Cells are formatted by column ``kind``:

``text`` · ``number`` · ``fen`` (integer fen → ``1,234.57`` yuan) · ``fen_wan`` (→ 万元) · ``money`` (yuan
Decimal/str) · ``money_wan`` · ``date`` · ``moment`` (Beijing time with its label) · ``region`` (GB/T 2260
name) · ``label:<vocabulary>`` (see :mod:`ippledge.core.vocabulary`) · ``bool`` (是/否).

The export (``?export=csv`` or ``?export=xlsx`` on the same URL) writes the filtered, sorted rows — all of
them, up to ``IPPLEDGE_LIMIT_EXPORT_ROWS`` — with the same headers and labels; amounts as numbers (yuan or
万元, the unit in the header), so a spreadsheet can add them up.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpResponse
from django.utils.translation import gettext as _

from . import business_date, vocabulary
from . import money as _money
from .limits import limit
from .regions import region_name

PER_PAGE_CHOICES = (25, 50, 100)
EXPORT_FORMATS = ("csv", "xlsx")
# Query parameters the listing itself reads; everything else is kept as it is in its links.
_OWN = ("sort", "page", "per_page", "export")


@dataclass(frozen=True)
class Column:
    key: str
    title: Any
    value: str | Callable[[Any], Any] | None = None  # attribute path ("borrower.name") or function; default key
    kind: str = "text"
    sort: str | None = None  # ORM order field (QuerySet) — or any truthy value to sort lists by the cell value
    link: Callable[[Any], str | None] | None = None
    export: bool = True

    def raw(self, row) -> Any:
        if callable(self.value):
            return self.value(row)
        return _dig(row, self.value or self.key)


@dataclass(frozen=True)
class Filter:
    key: str
    title: Any
    lookup: str | Sequence[str]
    kind: str = "choice"  # choice · search · date_from · date_to
    vocabulary: str | None = None  # choices from a vocabulary …
    choices: Sequence[tuple[Any, Any]] | None = None  # … or given


@dataclass
class Cell:
    text: str
    link: str | None = None
    kind: str = "text"


@dataclass
class Header:
    title: Any
    url: str | None
    direction: str | None  # "asc", "desc" or None
    kind: str


@dataclass
class Listing:
    request: Any
    rows: Any
    columns: Sequence[Column]
    filters: Sequence[Filter] = ()
    name: str = "list"
    default_sort: str | None = None
    per_page: int = 25
    _filtered: Any = field(init=False, default=None)

    def __post_init__(self):
        query = self.request.GET
        self.values = {f.key: query.get(f.key, "").strip()[: limit("MAX_SHORT_TEXT")] for f in self.filters}
        sortable = {c.key: c for c in self.columns if c.sort}
        wanted = query.get("sort") or self.default_sort or ""
        key = wanted.lstrip("-")
        self.sort = wanted if key in sortable else (self.default_sort or "")
        try:
            per_page = int(query.get("per_page", self.per_page))
        except ValueError:
            per_page = self.per_page
        self.per_page = per_page if per_page in PER_PAGE_CHOICES or per_page == self.per_page else self.per_page
        self._filtered = self._sorted(self._filter(self.rows), sortable)
        self.paginator = Paginator(self._filtered, self.per_page, allow_empty_first_page=True)
        self.page = self.paginator.get_page(query.get("page"))
        self.total = self.paginator.count

    # --- reading -----------------------------------------------------------------------------------
    def _filter(self, rows):
        for f in self.filters:
            value = self.values.get(f.key)
            if not value:
                continue
            lookups = [f.lookup] if isinstance(f.lookup, str) else list(f.lookup)
            if f.kind in ("date_from", "date_to"):
                try:
                    value = dt.date.fromisoformat(value)
                except ValueError:
                    self.values[f.key] = ""
                    continue
            if f.kind == "choice" and value not in {str(code) for code, _label in self.options(f)}:
                self.values[f.key] = ""  # a value the list does not offer filters nothing
                continue
            if isinstance(rows, QuerySet):
                rows = rows.filter(_q(f, lookups, value))
            else:
                rows = [r for r in rows if _matches(f, lookups, value, r)]
        return rows

    def _sorted(self, rows, sortable: dict[str, Column]):
        if not self.sort:
            return rows if not isinstance(rows, QuerySet) or rows.ordered else rows.order_by("-pk")
        descending = self.sort.startswith("-")
        column = sortable.get(self.sort.lstrip("-"))
        if column is None:
            return rows
        if isinstance(rows, QuerySet):
            order = column.sort if isinstance(column.sort, str) else column.key
            return rows.order_by(("-" if descending else "") + order, "-pk" if descending else "pk")
        return sorted(rows, key=lambda r: _sort_key(column.raw(r)), reverse=descending)

    def options(self, f: Filter) -> list[tuple[str, str]]:
        if f.choices is not None:
            return [(str(code), str(text)) for code, text in f.choices]
        if f.vocabulary:
            return [(code, str(text)) for code, text in vocabulary.labels(f.vocabulary).items()]
        return []

    # --- what the template shows ---------------------------------------------------------------------
    def cells(self, row) -> list[Cell]:
        return [Cell(shown(c.kind, c.raw(row)), c.link(row) if c.link else None, c.kind) for c in self.columns]

    @property
    def page_rows(self) -> list[list[Cell]]:
        return [self.cells(row) for row in self.page.object_list]

    @property
    def headers(self) -> list[Header]:
        out = []
        current = self.sort.lstrip("-") if self.sort else ""
        for c in self.columns:
            if not c.sort:
                out.append(Header(c.title, None, None, c.kind))
                continue
            direction = None
            if c.key == current:
                direction = "desc" if self.sort.startswith("-") else "asc"
            target = f"-{c.key}" if direction == "asc" else c.key
            out.append(Header(c.title, self.url(sort=target, page=None), direction, c.kind))
        return out

    @property
    def filter_fields(self) -> list[dict]:
        return [{"key": f.key, "title": f.title, "kind": f.kind, "value": self.values.get(f.key, ""),
                 "options": self.options(f)} for f in self.filters]

    @property
    def hidden_params(self) -> list[tuple[str, str]]:
        """Parameters the filter form must carry (the sort, and the page's own query)."""
        own = {f.key for f in self.filters} | {"page", "export"}
        return [(k, v) for k, values in self.request.GET.lists() if k not in own for v in values]

    @property
    def first_shown(self) -> int:
        return self.page.start_index() if self.total else 0

    @property
    def last_shown(self) -> int:
        return self.page.end_index() if self.total else 0

    def url(self, **changes) -> str:
        params = [(k, v) for k, values in self.request.GET.lists() if k not in changes and k != "export"
                  for v in values]
        params += [(k, str(v)) for k, v in changes.items() if v not in (None, "")]
        return self.request.path + ("?" + urlencode(params) if params else "")

    @property
    def previous_url(self) -> str | None:
        return self.url(page=self.page.previous_page_number()) if self.page.has_previous() else None

    @property
    def next_url(self) -> str | None:
        return self.url(page=self.page.next_page_number()) if self.page.has_next() else None

    @property
    def export_urls(self) -> list[tuple[str, str]]:
        return [("CSV", self.url(export="csv", page=None)), ("Excel", self.url(export="xlsx", page=None))]

    @property
    def filtered(self) -> bool:
        return any(self.values.values())

    # --- export --------------------------------------------------------------------------------------
    def export_response(self) -> HttpResponse | None:
        """The export of the filtered, sorted rows when the request asks for one, else ``None``."""
        fmt = self.request.GET.get("export")
        if fmt not in EXPORT_FORMATS:
            return None
        columns = [c for c in self.columns if c.export]
        rows = self._filtered[: limit("EXPORT_ROWS")]
        headers = [str(c.title) for c in columns]
        data = [[exported(c.kind, c.raw(row)) for c in columns] for row in rows]
        stamp = business_date.today().strftime("%Y%m%d")
        if fmt == "csv":
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            writer.writerow(headers)
            writer.writerows([[_csv_text(v) for v in line] for line in data])
            response = HttpResponse("\ufeff" + buffer.getvalue(), content_type="text/csv; charset=utf-8")
        else:
            response = HttpResponse(_workbook(self.name, headers, [c.kind for c in columns], data),
                                    content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        response["Content-Disposition"] = f'attachment; filename="{self.name}-{stamp}.{fmt}"'
        return response


# --- cells ---------------------------------------------------------------------------------------------
def _dig(row, path: str):
    value = row
    for part in path.split("."):
        if value is None:
            return None
        value = value.get(part) if isinstance(value, dict) else getattr(value, part, None)
        if callable(value) and not isinstance(value, type):
            value = value()
    return value


def _yuan(kind: str, value) -> Decimal:
    if kind.startswith("fen"):
        return Decimal(int(value)) / 100
    return value if isinstance(value, Decimal) else _money.to_decimal(str(value))


def shown(kind: str, value) -> str:
    """A cell as a person reads it in the page language."""
    if value is None or value == "":
        return "—" if kind in ("fen", "fen_wan", "money", "money_wan", "number") else ""
    if kind == "fen":
        return _money.format_yuan(int(value))
    if kind == "fen_wan":
        return _money.format_wan(int(value))
    if kind in ("money", "money_wan"):
        fen = _money.fen(_yuan(kind, value))
        return _money.format_wan(fen) if kind == "money_wan" else _money.format_yuan(fen)
    if kind == "number":
        return f"{value:,}" if isinstance(value, int) else str(value)
    if kind == "date":
        return value.isoformat() if isinstance(value, dt.date) else str(value)
    if kind == "moment":
        from .templatetags.ippledge import moment

        return moment(value)
    if kind == "region":
        return region_name(str(value))
    if kind == "bool":
        return _("Yes") if value else _("No")
    if kind.startswith("label:"):
        return vocabulary.label(kind.split(":", 1)[1], value)
    return str(value)


def exported(kind: str, value):
    """A cell for a spreadsheet: amounts as numbers in the header's unit, everything else as shown."""
    if value is None or value == "":
        return None
    if kind in ("fen", "money"):
        return _yuan(kind, value).quantize(Decimal("0.01"))
    if kind in ("fen_wan", "money_wan"):
        return _yuan(kind.replace("_wan", ""), value) / 10000
    if kind == "number":
        return value
    return shown(kind, value)


def _csv_text(value) -> str:
    if value is None:
        return ""
    text = str(value)
    # A text cell a spreadsheet would run as a formula is written as text.
    return "'" + text if not isinstance(value, int | Decimal) and text[:1] in ("=", "+", "-", "@") else text


def _workbook(name: str, headers: list[str], kinds: list[str], data: list[list]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = name[:31]
    sheet.append(headers)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "A2"
    for line in data:
        sheet.append(line)
    for index, kind in enumerate(kinds, start=1):
        letter = sheet.cell(row=1, column=index).column_letter
        width = max([len(str(headers[index - 1])) * 2] + [len(str(r[index - 1] or "")) for r in data[:200]])
        sheet.column_dimensions[letter].width = min(60, max(10, width + 2))
        if kind in ("fen", "money", "fen_wan", "money_wan"):
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = "#,##0.00" if kind in ("fen", "money") else "#,##0.0000"
        elif kind != "number":  # text that looks like a formula stays text
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


# --- filtering -----------------------------------------------------------------------------------------
def _q(f: Filter, lookups: list[str], value) -> Q:
    if f.kind == "search":
        q = Q()
        for lookup in lookups:
            q |= Q(**{f"{lookup}__icontains": value})
        return q
    suffix = {"date_from": "__gte", "date_to": "__lte"}.get(f.kind, "")
    q = Q()
    for lookup in lookups:
        q |= Q(**{f"{lookup}{suffix}": value})
    return q


def _matches(f: Filter, lookups: list[str], value, row) -> bool:
    for lookup in lookups:
        cell = _dig(row, lookup.replace("__", "."))
        if f.kind == "search" and value.casefold() in str(cell or "").casefold():
            return True
        if f.kind == "choice" and str(cell) == value:
            return True
        if f.kind in ("date_from", "date_to") and cell is not None:
            day = cell.date() if isinstance(cell, dt.datetime) else cell
            if isinstance(day, str):
                day = dt.date.fromisoformat(day[:10])
            if (day >= value) if f.kind == "date_from" else (day <= value):
                return True
    return False


def _sort_key(value):
    # None last; numbers before text; text by itself.
    if value is None:
        return (2, "")
    if isinstance(value, int | float | Decimal):
        return (0, value)
    if isinstance(value, dt.datetime | dt.date):
        return (0, value.isoformat())
    return (1, str(value))
