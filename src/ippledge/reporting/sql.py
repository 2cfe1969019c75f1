"""Set-based loan-book statistics: the figures of :mod:`ippledge.reporting.stats`, computed in SQL.

:func:`stats.report <ippledge.reporting.stats.report>` loads every loan, its repayments and its
classification history into Python; on a national book (a million loans, ten million repayments) that
takes minutes.  The functions here give exactly the same answers (same keys, string formats, values and
row order) from a few aggregate statements, portable between SQLite ≥ 3.35 and PostgreSQL:

    report_sql(period=, group_by=(), bank_ids=None) -> dict        # == stats.report(...)
    ip_book_sql(bank_ids, end, inclusive_only=False) -> {bank_id: (npl_fen, balance_fen)}
    tolerance_all_banks(period_end, segment="all") -> [dict]      # services.tolerance for every bank

How the figures are computed (the same definitions as ``stats``)
----------------------------------------------------------------
* The book at a period end is every loan started on or before the end (of the banks asked for: a loan
  belongs to its booking organisation and to that organisation's head office).
* A loan's principal balance at the end is ``max(amount − Σ repayment principal dated ≤ end, 0)``: one
  grouped subquery over the repayments.
* Its category at the end is the ``after`` of its latest classification change dated ≤ end, latest by
  (``at``, ``id``) as the reference takes it (``ROW_NUMBER()`` over the loan's changes), else normal.
* Amounts lent, loan counts and households (distinct borrowers) run from 1 January of the period's year
  to the end; the first-loan and inclusive small/micro variants restrict those to flagged loans; the
  under-10-million share is by count of loans lent.
* The previous-year statement only needs households and amounts lent (for year-on-year growth), so it
  reads the loans alone, without repayments or classifications.
* Grouping keys: ``bank`` is the head office (the parent of a branch, else the organisation itself),
  ``branch`` the booking organisation, ``region``/``city`` the borrower's region code cut to 2/4 digits,
  ``size`` the borrower's size class; the rest are loan columns.  Groups are the keys present in the
  book at the period end and are sorted, in Python, exactly as the reference sorts them.

The statements return one row per group (a few hundred at most), so the Python left is rendering.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection

from ippledge.core.models import Organisation

from . import stats
from .engine import rules

NPL_SQL = "(" + ", ".join(f"'{c}'" for c in sorted(stats.NPL)) + ")"  # constants of ours, not user input

# Each grouping dimension: the SQL expressions it selects (key value, and display name for banks).
_REGION = "COALESCE(w.region_code, '')"
_DIMENSION_SQL: dict[str, tuple[str, ...]] = {
    "bank": ("COALESCE(b.parent_id, b.id)", "COALESCE(h.name, b.name)"),
    "branch": ("l.bank_id", "b.name"),
    "region": (f"CASE WHEN {_REGION} = '' THEN '' ELSE SUBSTR({_REGION}, 1, 2) || '0000' END",),
    "city": (f"CASE WHEN {_REGION} = '' THEN '' ELSE SUBSTR({_REGION}, 1, 4) || '00' END",),
    "park": ("l.park_id",),
    "ip_kind": ("l.ip_kind",),
    "size": ("COALESCE(w.size_class, '')",),
    "first_loan": ("l.first_loan",),
    "inclusive": ("l.inclusive_smb",),
}
assert set(_DIMENSION_SQL) == set(stats.DIMENSIONS)
_NEEDS_BORROWER = {"region", "city", "size"}
_NEEDS_HEAD = {"bank"}

_FIGURES = ("households", "loan_count", "amount_lent", "balance", "npl_balance", "first_loan_households",
            "first_loan_amount", "inclusive_households", "inclusive_amount", "under_10m")


# Each loan's principal repaid and its latest category as at an end date (parameters: end, end).
_AS_AT = """repaid AS (
    SELECT loan_id, SUM(principal) AS paid FROM credit_repayment WHERE "date" <= %s GROUP BY loan_id
), category AS (
    SELECT loan_id, "after" FROM (
        SELECT loan_id, "after", ROW_NUMBER() OVER (PARTITION BY loan_id ORDER BY "at" DESC, id DESC) AS rn
        FROM credit_classificationchange WHERE "date" <= %s
    ) ranked WHERE rn = 1
)"""


def _date(value: dt.date):
    return connection.ops.adapt_datefield_value(value)


def _check_dimensions(group_by: tuple[str, ...]) -> None:
    unknown = [d for d in group_by if d not in stats.DIMENSIONS]
    if unknown:
        from ippledge.core.errors import ValidationFailed

        raise ValidationFailed("Unknown grouping.", code="invalid_group_by",
                               fields={"group_by": [", ".join(stats.DIMENSIONS)]})


def _bank_filter(bank_ids: set[int] | None) -> tuple[str, list]:
    """The reference's scope: loans booked by one of ``bank_ids`` or by one of their branches."""
    if not bank_ids:
        return "", []
    ids = sorted(int(x) for x in bank_ids)
    marks = ", ".join(["%s"] * len(ids))
    return f" AND (l.bank_id IN ({marks}) OR b.parent_id IN ({marks}))", ids + ids


def _joins(dims: list[str]) -> str:
    sql = " JOIN core_organisation b ON b.id = l.bank_id"
    if _NEEDS_HEAD & set(dims):
        sql += " LEFT JOIN core_organisation h ON h.id = b.parent_id"
    if _NEEDS_BORROWER & set(dims):
        sql += " JOIN core_organisation w ON w.id = l.borrower_id"
    return sql


def _key_columns(dims: list[str]) -> list[str]:
    return [expr for d in dims for expr in _DIMENSION_SQL[d]]


def _current_sql(dims: list[str], scope_sql: str) -> str:
    keys = _key_columns(dims)
    inner_keys = "".join(f"{expr} AS k{i}, " for i, expr in enumerate(keys))
    outer_keys = "".join(f"k{i}, " for i in range(len(keys)))
    group = f" GROUP BY {', '.join(f'k{i}' for i in range(len(keys)))}" if keys else ""
    return f"""
WITH {_AS_AT}, book AS (
    SELECT {inner_keys}l.borrower_id AS borrower, l.amount AS amount,
           CASE WHEN l.start_date >= %s THEN 1 ELSE 0 END AS lent,
           CASE WHEN l.first_loan THEN 1 ELSE 0 END AS first_loan,
           CASE WHEN l.inclusive_smb THEN 1 ELSE 0 END AS inclusive,
           CASE WHEN l.amount - COALESCE(r.paid, 0) > 0 THEN l.amount - COALESCE(r.paid, 0) ELSE 0 END AS bal,
           CASE WHEN c."after" IN {NPL_SQL} THEN 1 ELSE 0 END AS npl
    FROM credit_loan l{_joins(dims)}
    LEFT JOIN repaid r ON r.loan_id = l.id
    LEFT JOIN category c ON c.loan_id = l.id
    WHERE l.start_date <= %s{scope_sql}
)
SELECT {outer_keys}COUNT(*),
       COUNT(DISTINCT CASE WHEN lent = 1 THEN borrower END),
       SUM(lent),
       SUM(lent * amount),
       SUM(bal),
       SUM(npl * bal),
       COUNT(DISTINCT CASE WHEN lent = 1 AND first_loan = 1 THEN borrower END),
       SUM(lent * first_loan * amount),
       COUNT(DISTINCT CASE WHEN lent = 1 AND inclusive = 1 THEN borrower END),
       SUM(lent * inclusive * amount),
       SUM(CASE WHEN lent = 1 AND amount < {stats.TEN_MILLION_FEN} THEN 1 ELSE 0 END)
FROM book{group}"""


def _previous_sql(dims: list[str], scope_sql: str) -> str:
    keys = _key_columns(dims)
    select_keys = "".join(f"{expr}, " for expr in keys)
    group = f" GROUP BY {', '.join(keys)}" if keys else ""
    return f"""
SELECT {select_keys}COUNT(DISTINCT l.borrower_id), SUM(l.amount)
FROM credit_loan l{_joins(dims)}
WHERE l.start_date >= %s AND l.start_date <= %s{scope_sql}{group}"""


def _key(dims: list[str], group_by: tuple[str, ...], values: tuple) -> tuple:
    """The reference's group key: (id, name) for bank and branch, Python bools for the flags."""
    by_dim, i = {}, 0
    for d in dims:
        if d in ("bank", "branch"):
            by_dim[d] = (values[i], values[i + 1])
            i += 2
        elif d in ("first_loan", "inclusive"):
            by_dim[d] = bool(values[i])
            i += 1
        else:
            by_dim[d] = values[i]
            i += 1
    return tuple(by_dim[d] for d in group_by)


def _int(value) -> int:
    return 0 if value is None else int(value)


def report_sql(*, period: str, group_by: tuple[str, ...] = (), bank_ids: set[int] | None = None) -> dict:
    """Exactly :func:`ippledge.reporting.stats.report`, computed set-based (see the module docstring)."""
    p = rules.parse_period(period)
    group_by = tuple(group_by)
    _check_dimensions(group_by)
    previous = rules.previous_year(p)
    dims = list(dict.fromkeys(group_by))  # each dimension selected once
    width = len(_key_columns(dims))
    scope_sql, scope_params = _bank_filter(bank_ids)

    figures: dict[tuple, dict] = {}
    with connection.cursor() as cursor:
        cursor.execute(_current_sql(dims, scope_sql),
                       [_date(p.end), _date(p.end), _date(p.year_start), _date(p.end), *scope_params])
        for row in cursor.fetchall():
            keys, counts = row[:width], row[width:]
            if not counts[0]:  # no grouping and an empty book: the aggregate's lone row
                continue
            figures[_key(dims, group_by, keys)] = dict(zip(_FIGURES, (_int(v) for v in counts[1:]), strict=True))
        cursor.execute(_previous_sql(dims, scope_sql),
                       [_date(previous.year_start), _date(previous.end), *scope_params])
        before = {_key(dims, group_by, row[:width]): (_int(row[width]), _int(row[width + 1]))
                  for row in cursor.fetchall()}

    rows = []
    for key in sorted(figures, key=lambda k: tuple(str(x) for x in k)):
        fig = figures[key]
        under, lent = fig.pop("under_10m"), fig["loan_count"]
        fig["under_10m_share"] = (Decimal(under) * 100 / lent).quantize(Decimal("0.01")) if lent else None
        old_households, old_amount = before.get(key, (0, 0))
        row: dict = {}
        for dim, value in zip(group_by, key, strict=True):
            if dim in ("bank", "branch"):
                row[f"{dim}_org_id"], row[dim] = value
            else:
                row[dim] = value
        row.update(stats._render(fig))
        row["npl_ratio"] = rules.percent_str(rules.npl_ratio(fig["npl_balance"], fig["balance"]))
        row["yoy_households"] = rules.percent_str(rules.yoy(Decimal(fig["households"]), Decimal(old_households)))
        row["yoy_amount"] = rules.percent_str(rules.yoy(Decimal(fig["amount_lent"]), Decimal(old_amount)))
        rows.append(row)
    return {"period": p.label, "period_start": p.start.isoformat(), "period_end": p.end.isoformat(),
            "group_by": list(group_by), "rows": rows}


def ip_book_sql(bank_ids: set[int] | None, end: dt.date, inclusive_only: bool = False) -> dict[int, tuple[int, int]]:
    """``{bank_id: (npl_fen, balance_fen)}`` at ``end`` for many banks in one statement: for each bank
    exactly :func:`ippledge.reporting.stats.ip_book` (its own loans and its branches').

    ``bank_ids=None`` (or empty) answers for every organisation that booked a loan and every head office
    of one; a bank asked for without loans gets ``(0, 0)``.
    """
    bank_ids = {int(b) for b in bank_ids} if bank_ids else None
    scope_sql, scope_params = _bank_filter(bank_ids)
    inclusive_sql = " AND l.inclusive_smb" if inclusive_only else ""
    sql = f"""
WITH {_AS_AT}, book AS (
    SELECT l.bank_id AS bank_id,
           CASE WHEN l.amount - COALESCE(r.paid, 0) > 0 THEN l.amount - COALESCE(r.paid, 0) ELSE 0 END AS bal,
           CASE WHEN c."after" IN {NPL_SQL} THEN 1 ELSE 0 END AS npl
    FROM credit_loan l
    JOIN core_organisation b ON b.id = l.bank_id
    LEFT JOIN repaid r ON r.loan_id = l.id
    LEFT JOIN category c ON c.loan_id = l.id
    WHERE l.start_date <= %s{inclusive_sql}{scope_sql}
)
SELECT book.bank_id, o.parent_id, SUM(npl * bal), SUM(bal)
FROM book JOIN core_organisation o ON o.id = book.bank_id
GROUP BY book.bank_id, o.parent_id"""
    out: dict[int, tuple[int, int]] = {int(b): (0, 0) for b in bank_ids or ()}
    with connection.cursor() as cursor:
        cursor.execute(sql, [_date(end), _date(end), _date(end), *scope_params])
        for bank_id, parent_id, npl, balance in cursor.fetchall():
            # A loan counts for its booking organisation and for that organisation's head office.
            for owner in {bank_id, parent_id} - {None}:
                if bank_ids is None or owner in bank_ids:
                    old_npl, old_balance = out.get(owner, (0, 0))
                    out[owner] = (old_npl + _int(npl), old_balance + _int(balance))
    return out


def tolerance_all_banks(period_end: dt.date | str, *, segment: str = "all") -> list[dict]:
    """The 3-point NPL tolerance test of every bank that submitted overall figures for ``period_end``
    (its latest submission, as :func:`ippledge.reporting.services.latest_overall` picks it), with the
    IP-pledge book of all of them from one :func:`ip_book_sql` statement.  Each entry is the dict
    :func:`ippledge.reporting.services.tolerance` returns for that bank; banks come in id order.

    ``segment="inclusive"`` tests the inclusive small/micro segment; banks whose latest submission lacks
    inclusive figures are left out (``services.tolerance`` answers them with ``overall_missing``).
    No pull is audited here: the caller, who knows the actor, records it.
    """
    from ippledge.core import money

    if isinstance(period_end, str):
        period_end = dt.date.fromisoformat(period_end)
    inclusive = segment == "inclusive"
    with connection.cursor() as cursor:
        cursor.execute("""
SELECT bank_id, total_loan_balance, npl_balance, inclusive_loan_balance, inclusive_npl_balance FROM (
    SELECT bank_id, total_loan_balance, npl_balance, inclusive_loan_balance, inclusive_npl_balance,
           ROW_NUMBER() OVER (PARTITION BY bank_id ORDER BY submitted_at DESC, id DESC) AS rn
    FROM reporting_bankoverall WHERE period_end = %s
) latest WHERE rn = 1 ORDER BY bank_id""", [_date(period_end)])
        overall = cursor.fetchall()
    if inclusive:
        overall = [row for row in overall if row[3] is not None]
    if not overall:
        return []
    names = dict(Organisation.objects.filter(pk__in=[row[0] for row in overall]).values_list("pk", "name"))
    books = ip_book_sql({row[0] for row in overall}, period_end, inclusive_only=inclusive)
    out = []
    for bank_id, total, npl, inc_total, inc_npl in overall:
        o_npl, o_total = ((inc_npl or 0), inc_total) if inclusive else (npl, total)
        ip_npl, ip_balance = books[bank_id]
        result = rules.tolerance(ip_npl, ip_balance, o_npl, o_total)
        out.append({"bank_org_id": bank_id, "bank": names[bank_id], "period_end": period_end.isoformat(),
                    "segment": segment,
                    **{k: (str(v) if not isinstance(v, bool | type(None)) else v) for k, v in result.items()},
                    "ip_npl_balance": str(money.from_fen(ip_npl)), "ip_loan_balance": str(money.from_fen(ip_balance)),
                    "overall_npl_balance": str(money.from_fen(o_npl)),
                    "overall_loan_balance": str(money.from_fen(o_total))})
    return out
