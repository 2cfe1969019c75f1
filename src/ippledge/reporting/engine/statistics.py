"""Loan-book statistics at a period end (lending-rules.md §3): every figure, from facts of the book.

Pure module (no Django).  :mod:`ippledge.reporting.sql` gathers the facts set-based (one aggregate
statement for a report, one row per loan for the loans behind a figure) and this module decides what
they mean; nothing else in the product restates a figure.  The per-loan reference implementation that
once sat beside the SQL is kept in ``tests/reporting_oracle.py`` and compared with the product on
generated books.

The facts, as of the period end ``E``
-------------------------------------
* **The book** is every loan started on or before ``E`` (of the banks asked for: a loan belongs to its
  booking organisation and to that organisation's head office).
* A loan's **balance** is its amount less the principal repaid on or before ``E``, never below zero;
  its **category** is the ``after`` of its latest classification change dated on or before ``E``
  (latest by time, then id), else :data:`NORMAL`.
* Its **lending window** (:func:`windows`): lent in the year to date (1 January of the period's year to
  ``E``), lent in the same window a year earlier (for growth), or neither.
* Per group of loans sharing the grouping keys, the sums and counts of :class:`Facts`.  Households are
  distinct borrowers, so parts of the book add up only when no borrower is in two of them.

The rules
---------
* Non-performing means a category in :data:`NPL` (the five-category rule's own set).
* The under-10-million share is the share, by count, of the loans lent in the year to date below
  :data:`TEN_MILLION_FEN`, in percent with 2 decimals (half up).
* NPL ratio and year-on-year growth are :func:`.rules.npl_ratio` and :func:`.rules.yoy`, shown by
  :func:`.rules.percent_str`; amounts are yuan strings with two decimals (core.money).
* Grouping keys (:data:`DIMENSIONS`): ``bank`` is the head office (the parent of a branch, else the
  organisation itself) as ``(id, name)``, ``branch`` the booking organisation, ``region`` / ``city`` the
  borrower's region code cut to 2 / 4 digits and padded to six (``110000`` / ``110100``), ``size`` the
  borrower's size class, ``park``, ``ip_kind``, ``first_loan`` and ``inclusive`` the loan's;
  ``risk_scheme`` the risk-sharing scheme the loan was enrolled in on or before ``E`` as ``(id, name)``
  (``(None, "")`` for a loan in none) and ``risk_covered`` whether it was in one (risk-sharing coverage,
  issue 13.2).  Groups are those with a loan in the book, sorted by the text of their keys.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from ippledge.core.errors import N_, ValidationFailed
from ippledge.core.money import from_fen
from ippledge.credit.engine import classification

from . import rules

NORMAL, NPL = classification.NORMAL, classification.NPL  # the five-category rule's own categories
DIMENSIONS: tuple[str, ...] = ("bank", "branch", "region", "city", "park", "ip_kind", "size", "first_loan",
                               "inclusive", "risk_scheme", "risk_covered")
ORGANISATIONS = frozenset({"bank", "branch"})  # keys shown as (id, name)
SCHEMES = frozenset({"risk_scheme"})  # keys shown as (id, name) of a risk-sharing scheme, (None, "") for none
FLAGS = ("first_loan", "inclusive", "risk_covered")  # keys that are yes or no
TEN_MILLION_FEN = 1_000_000_000
AMOUNTS = frozenset({"amount_lent", "balance", "npl_balance", "first_loan_amount", "inclusive_amount"})
FIGURES: tuple[str, ...] = ("households", "loan_count", "amount_lent", "balance", "npl_balance",
                            "first_loan_households", "first_loan_amount", "inclusive_households", "inclusive_amount")
NO_MATCH = object()  # a drill-down key no loan can have


@dataclass(frozen=True)
class Windows:
    """The lending windows of a period: the year to date and the same window a year earlier."""

    year_start: dt.date
    end: dt.date
    previous_start: dt.date
    previous_end: dt.date


def windows(period: rules.Period | str) -> Windows:
    p = rules.parse_period(period)
    previous = rules.previous_year(p)
    return Windows(year_start=p.year_start, end=p.end, previous_start=previous.year_start,
                   previous_end=previous.end)


def check_dimensions(group_by: Iterable[str]) -> tuple[str, ...]:
    """The grouping as given, every dimension known (``invalid_group_by`` otherwise)."""
    group_by = tuple(group_by)
    if any(d not in DIMENSIONS for d in group_by):
        message = N_("Unknown grouping.")
        raise ValidationFailed(message, code="invalid_group_by", fields={"group_by": [", ".join(DIMENSIONS)]})
    return group_by


# ------------------------------------------------------------------------------------------ keys

_RENDER: dict[str, Callable[[Any], Any]] = {
    "region": lambda raw: raw + "0000" if raw else "",
    "city": lambda raw: raw + "00" if raw else "",
    "first_loan": bool,
    "inclusive": bool,
    "risk_covered": bool,
}


def key(dim: str, raw: Any, names: Mapping[int, str], schemes: Mapping[int, str] | None = None) -> Any:
    """A grouping key as shown, from the raw key the facts carry (an id, a code cut to its digits);
    ``schemes`` names the risk-sharing schemes of the keys."""
    if dim in ORGANISATIONS:
        return raw, names[raw]
    if dim in SCHEMES:
        return (None, "") if raw is None else (raw, (schemes or {}).get(raw, ""))
    return _RENDER.get(dim, lambda v: v)(raw)


def _text(dim: str, raw: Any) -> str:
    """A key as a drill-down link spells it (ids and codes as text, flags as true/false)."""
    if dim in ORGANISATIONS or dim in SCHEMES:
        return "" if raw is None else str(raw)
    shown = _RENDER.get(dim, lambda v: v)(raw)
    if isinstance(shown, bool):
        return str(shown).lower()
    return "" if shown is None else str(shown)


def filter_keys(filters: Mapping[str, Any]) -> tuple[dict[str, str], dict[str, Any] | object]:
    """The keys of a figure to trace: ``(the filters that apply, {dimension: raw key} or NO_MATCH)``.

    Only known dimensions with a value apply; a value is matched as the figure's key is spelt
    (``bank=5``, ``region=110000``, ``first_loan=true`` in any case), so ``region=11`` matches nothing."""
    wanted = {k: v for k, v in filters.items() if k in DIMENSIONS and v not in (None, "")}
    raw: dict[str, Any] = {}
    for dim, value in wanted.items():
        text = str(value).lower() if dim in FLAGS else str(value)
        candidate = _raw_candidate(dim, text)
        if candidate is NO_MATCH or _text(dim, candidate) != text:
            return wanted, NO_MATCH
        raw[dim] = candidate
    return wanted, raw


def _raw_candidate(dim: str, text: str) -> Any:
    if dim in ORGANISATIONS or dim in SCHEMES or dim == "park":
        return int(text) if text.isascii() and text.isdigit() and int(text) < 2**63 else NO_MATCH
    if dim in FLAGS:
        return {"true": True, "false": False}.get(text, NO_MATCH)
    if dim == "region":
        return text[:-4] if text.endswith("0000") else NO_MATCH
    if dim == "city":
        return text[:-2] if text.endswith("00") else NO_MATCH
    return text


# --------------------------------------------------------------------------------------- figures


@dataclass
class Facts:
    """The facts of a group of loans at ``E`` (every count and sum of fen; zero for an empty group)."""

    book_loans: int = 0  # loans in the book (a group is shown when it has one)
    balance: int = 0  # Σ balance
    npl_balance: int = 0  # Σ balance of the loans whose category is non-performing
    households: int = 0  # distinct borrowers lent to in the year to date
    loan_count: int = 0  # loans lent in the year to date
    amount_lent: int = 0  # Σ amount of those
    first_loan_households: int = 0
    first_loan_amount: int = 0
    inclusive_households: int = 0
    inclusive_amount: int = 0
    under_10m: int = 0  # loans lent in the year to date below TEN_MILLION_FEN
    previous_households: int = 0  # the same window a year earlier
    previous_amount: int = 0

    def add(self, other: Facts) -> None:
        """Add another part of the book (no borrower in both parts: households add up)."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


def figures(facts: Facts) -> dict:
    """A group's figures as a report row shows them (amounts in yuan strings, ratios in percent)."""
    out: dict[str, Any] = {name: str(from_fen(getattr(facts, name))) if name in AMOUNTS else getattr(facts, name)
                           for name in FIGURES}
    share = rules.share(facts.under_10m, facts.loan_count, places=2)
    out["under_10m_share"] = None if share is None else str(share)
    out["npl_ratio"] = rules.percent_str(rules.npl_ratio(facts.npl_balance, facts.balance))
    out["yoy_households"] = rules.percent_str(rules.yoy(facts.households, facts.previous_households))
    out["yoy_amount"] = rules.percent_str(rules.yoy(facts.amount_lent, facts.previous_amount))
    return out


def report(period: rules.Period | str, group_by: tuple[str, ...], groups: Mapping[tuple, Facts],
           names: Mapping[int, str], schemes: Mapping[int, str] | None = None) -> dict:
    """The report: one row per group with a loan in the book, in key order.

    ``groups`` is keyed by the raw keys of the distinct dimensions of ``group_by`` in order (a
    dimension asked for twice is gathered once); ``names`` names the organisations of the keys and
    ``schemes`` the risk-sharing schemes (a row by scheme carries ``risk_scheme_id`` and its name)."""
    p = rules.parse_period(period)
    group_by = check_dimensions(group_by)
    dims = list(dict.fromkeys(group_by))
    shown: dict[tuple, Facts] = {}
    for raw, facts in groups.items():
        if not facts.book_loans:
            continue
        by_dim = {d: key(d, value, names, schemes) for d, value in zip(dims, raw, strict=True)}
        shown[tuple(by_dim[d] for d in group_by)] = facts
    rows = []
    for k in sorted(shown, key=lambda k: tuple(str(x) for x in k)):
        row: dict[str, Any] = {}
        for dim, value in zip(group_by, k, strict=True):
            if dim in ORGANISATIONS:
                row[f"{dim}_org_id"], row[dim] = value
            elif dim in SCHEMES:
                row[f"{dim}_id"], row[dim] = value
            else:
                row[dim] = value
        row.update(figures(shown[k]))
        rows.append(row)
    return {"period": p.label, "period_start": p.start.isoformat(), "period_end": p.end.isoformat(),
            "group_by": list(group_by), "rows": rows}


# ------------------------------------------------------------------------------- the loans behind


@dataclass(frozen=True)
class Loan:
    """One loan of the book at ``E``, as the facts give it (the single-loan case of a group)."""

    loan_no: str
    bank: int  # head office (raw key)
    branch: int  # booking organisation
    region: str  # raw key: the borrower's region code cut to 2 digits
    ip_kind: str
    amount: int
    start: dt.date
    balance: int
    category: str | None  # latest change by E; None: never changed
    lent_in_year: bool


def loan_row(loan: Loan, names: Mapping[int, str]) -> dict:
    return {"loan_no": loan.loan_no, "bank": names[loan.bank], "branch": names[loan.branch],
            "ip_kind": loan.ip_kind, "region": key("region", loan.region, names),
            "amount": str(from_fen(loan.amount)), "start_date": loan.start.isoformat(),
            "balance": str(from_fen(loan.balance)), "category": loan.category or NORMAL,
            "lent_in_year": loan.lent_in_year}


def loans_behind(period: rules.Period | str, wanted: dict, count: int, loans: list[Loan],
                 names: Mapping[int, str]) -> dict:
    p = rules.parse_period(period)
    return {"period": p.label, "period_end": p.end.isoformat(), "filters": wanted, "count": count,
            "loans": [loan_row(x, names) for x in loans]}
