"""Set-based loan-book statistics: the figures of :mod:`ippledge.reporting.stats`, computed in SQL.

:func:`stats.report <ippledge.reporting.stats.report>` loads every loan, its repayments and its
classification history into Python; on a national book (a million loans, ten million repayments) that
takes minutes.  The functions here give exactly the same answers (same keys, string formats, values and
row order) from one aggregate statement, portable between SQLite ≥ 3.35 and PostgreSQL:

    report_sql(period=, group_by=(), bank_ids=None) -> dict        # == stats.report(...)
    ip_book_sql(bank_ids, end, inclusive_only=False) -> {bank_id: (npl_fen, balance_fen)}
    tolerance_all_banks(period_end, segment="all") -> [dict]      # services.tolerance for every bank

The figures (the same definitions as ``stats``)
-----------------------------------------------
* The book at a period end is every loan started on or before the end (of the banks asked for: a loan
  belongs to its booking organisation and to that organisation's head office).
* A loan's principal balance at the end is ``max(amount − Σ repayment principal dated ≤ end, 0)``.
* Its category at the end is the ``after`` of its latest classification change dated ≤ end, latest by
  (``at``, ``id``) as the reference takes it (``ROW_NUMBER()`` over the loan's changes), else normal.
* Amounts lent, loan counts and households (distinct borrowers) run from 1 January of the period's year
  to the end; the first-loan and inclusive small/micro variants count flagged loans; the under-10-million
  share is by count of loans lent.  The previous year's households and amounts lent (for year-on-year
  growth) come from the same pass over the loans.
* Grouping keys: ``bank`` is the head office (the parent of a branch, else the organisation itself),
  ``branch`` the booking organisation, ``region``/``city`` the borrower's region code cut to 2/4 digits,
  ``size`` the borrower's size class; the rest are loan columns.  Groups are the keys present in the
  book at the period end, sorted in Python exactly as the reference sorts them.

The statement
-------------
One ``SELECT … GROUP BY`` over the loans (joined to their bank and, when a borrower dimension is asked
for, their borrower) computes per group the book balance and every lending figure of both years; a
second, small branch (``UNION ALL``) adds the NPL balance from the loans whose latest change before the
end is non-performing (a few per cent of the book, found with ``ROW_NUMBER()``).  Groups are keyed by ids
and short codes; bank names and the ``110000``-style region codes are filled in afterwards.

Each loan's repaid principal is read the way each engine does best: on SQLite a correlated aggregate per
loan that seeks the repayments' ``loan_id`` index (a covering ``(loan_id, date, principal)`` index makes
it an index-only scan); on PostgreSQL a grouped subquery that the planner hash-joins, in parallel (a
few loans — the NPL branch, one bank's book — seek per loan there too).

SQLite runs one statement on one core.  On a file database, outside a transaction, the work is split
into ``workers`` partitions by borrower (so households, counted per partition, still add up; by default
one per CPU, at most :data:`MAX_WORKERS`) that run at once, each on a connection of its own, and are
added up here.  Inside a transaction (tests, atomic requests) other connections would not see the
caller's writes, so there is one partition by default, and partitions asked for run one after the other
on the caller's connection.  (Partitions on connections of their own each read their own snapshot, as
the reference's separate queries do.)
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from django.db import OperationalError, connection, connections

from ippledge.core import money
from ippledge.core.models import Organisation

from . import stats
from .engine import rules

NPL_SQL = "(" + ", ".join(f"'{c}'" for c in sorted(stats.NPL)) + ")"  # constants of ours, not user input
MAX_WORKERS = 4

# Grouping dimensions: the SQL of the raw key and whether it needs the borrower joined.
_DIMENSION_SQL: dict[str, tuple[str, bool]] = {
    "bank": ("COALESCE(b.parent_id, l.bank_id)", False),
    "branch": ("l.bank_id", False),
    "region": ("SUBSTR(COALESCE(w.region_code, ''), 1, 2)", True),
    "city": ("SUBSTR(COALESCE(w.region_code, ''), 1, 4)", True),
    "park": ("l.park_id", False),
    "ip_kind": ("l.ip_kind", False),
    "size": ("COALESCE(w.size_class, '')", True),
    "first_loan": ("l.first_loan", False),
    "inclusive": ("l.inclusive_smb", False),
}
assert set(_DIMENSION_SQL) == set(stats.DIMENSIONS)

# The raw key → the reference's key value (bank and branch get their names later).
_RENDER: dict[str, Callable] = {
    "region": lambda v: v + "0000" if v else "",
    "city": lambda v: v + "00" if v else "",
    "first_loan": bool,
    "inclusive": bool,
}

# Figures of the main branch, in the order the statement returns them.
_MAIN = ("book_loans", "balance", "households", "loan_count", "amount_lent", "first_loan_households",
         "first_loan_amount", "inclusive_households", "inclusive_amount", "under_10m", "prev_households",
         "prev_amount")
# The figures that are sums of fen (the rest are counts, which cannot overflow).
_FEN_SUMS = frozenset({"balance", "amount_lent", "first_loan_amount", "inclusive_amount", "prev_amount",
                       "npl_balance"})
_LOW = 0xFFFFFFFF  # the low 32 bits of a 64-bit integer
_FIGURES = ("households", "loan_count", "amount_lent", "balance", "npl_balance", "first_loan_households",
            "first_loan_amount", "inclusive_households", "inclusive_amount")


def _date(value: dt.date):
    return connection.ops.adapt_datefield_value(value)


def _int(value) -> int:
    return 0 if value is None else int(value)


def _check_dimensions(group_by: tuple[str, ...]) -> None:
    unknown = [d for d in group_by if d not in stats.DIMENSIONS]
    if unknown:
        from ippledge.core.errors import ValidationFailed

        raise ValidationFailed("Unknown grouping.", code="invalid_group_by",
                               fields={"group_by": [", ".join(stats.DIMENSIONS)]})


# ------------------------------------------------------------------------------------------ the SQL


def _sum(expr: str, split: bool) -> str:
    """``SUM(expr)`` of fen, or with ``split`` two sums (of the high and the low 32 bits) that no book can
    overflow: SQLite's SUM of integers fails past 2⁶³ (PostgreSQL's SUM of bigint is numeric)."""
    if not split:
        return f"SUM({expr})"
    return f"SUM(({expr}) >> 32), SUM(({expr}) & {_LOW})"


def _split_balance() -> str:
    """A loan's balance ``max(amount − Σ principal, 0)`` from the repayments' split sums, exact and never
    beyond 64 bits: (high, low) of the repaid total, normalised, compared with the amount's."""
    high = f"(COALESCE(SUM(rp.principal >> 32), 0) + (COALESCE(SUM(rp.principal & {_LOW}), 0) >> 32))"
    low = f"(COALESCE(SUM(rp.principal & {_LOW}), 0) & {_LOW})"
    a_high, a_low = "(l.amount >> 32)", f"(l.amount & {_LOW})"
    return (f"CASE WHEN {high} < {a_high} OR ({high} = {a_high} AND {low} < {a_low})"
            f" THEN ({a_high} - {high}) * {_LOW + 1} + ({a_low} - {low}) ELSE 0 END")


def _balance_sql(vendor: str, *, few: bool = False, split: bool = False) -> tuple[str, str]:
    """(the per-loan balance at ``%(end)s``, the join it needs) for loans aliased ``l``; ``few``: for a
    few loans (the NPL branch), where one index look-up each beats aggregating every repayment."""
    if vendor == "postgresql" and not few:
        return ("CASE WHEN COALESCE(r.paid, 0) < l.amount THEN l.amount - COALESCE(r.paid, 0) ELSE 0 END",
                " LEFT JOIN repaid r ON r.loan_id = l.id")
    balance = _split_balance() if split else (
        "CASE WHEN COALESCE(SUM(rp.principal), 0) < l.amount THEN l.amount - COALESCE(SUM(rp.principal), 0) ELSE 0 END")
    return f'(SELECT {balance} FROM credit_repayment rp WHERE rp.loan_id = l.id AND rp."date" <= %(end)s)', ""


def _ctes(vendor: str, *, few: bool) -> str:
    latest = """latest AS (
    SELECT loan_id, "after" FROM (
        SELECT loan_id, "after", ROW_NUMBER() OVER (PARTITION BY loan_id ORDER BY "at" DESC, id DESC) AS rn
        FROM credit_classificationchange WHERE "date" <= %(end)s
    ) ranked WHERE rn = 1
)"""
    if vendor == "postgresql" and not few:
        return """WITH repaid AS (
    SELECT loan_id, SUM(principal) AS paid FROM credit_repayment WHERE "date" <= %(end)s GROUP BY loan_id
), """ + latest
    return "WITH " + latest


def _where(bank_ids: list[int], partitions: int, inclusive_only: bool) -> tuple[str, dict]:
    sql, params = "l.start_date <= %(end)s", {}
    if bank_ids:
        # The reference's scope: loans booked by one of the banks or by one of their branches.
        names = [f"bank{i}" for i in range(len(bank_ids))]
        marks = ", ".join(f"%({n})s" for n in names)
        sql += f" AND (l.bank_id IN ({marks}) OR b.parent_id IN ({marks}))"
        params.update(zip(names, bank_ids, strict=True))
    if inclusive_only:
        sql += " AND l.inclusive_smb"
    if partitions > 1:
        sql += " AND l.borrower_id %% %(partitions)s = %(partition)s"
    return sql, params


def _statement(vendor: str, dims: list[str], bank_ids: list[int], partitions: int, *, lending: bool,
               inclusive_only: bool = False, split: bool = False) -> tuple[str, dict]:
    """The one statement: per group (raw keys) the main figures, then per group the NPL balance.

    Rows are ``(0, *keys, *_MAIN)`` and ``(1, *keys, npl_balance, …)``; with ``lending=False`` the
    main rows stop at the balance.  With ``split`` every sum of fen is two columns (see :func:`_sum`)."""
    keys = [_DIMENSION_SQL[d][0] for d in dims]
    joins = " JOIN core_organisation b ON b.id = l.bank_id" if bank_ids or "bank" in dims else ""
    if any(_DIMENSION_SQL[d][1] for d in dims):
        joins += " JOIN core_organisation w ON w.id = l.borrower_id"
    # One bank's book (the API's bank scope) is a small part of the national one: seek its loans'
    # repayments rather than aggregate all of them.
    balance, balance_join = _balance_sql(vendor, few=len(bank_ids) == 1, split=split)
    npl_balance, npl_join = _balance_sql(vendor, few=True, split=split)
    where, params = _where(bank_ids, partitions, inclusive_only)
    # SQLite would flatten the per-loan subquery and run the correlated repayment sum after sorting the
    # rows by group, i.e. in random loan order; LIMIT -1 (no limit) keeps it a co-routine in loan order.
    keep = "\n    LIMIT -1" if vendor == "sqlite" else ""
    inner_keys = "".join(f"{expr} AS k{i}, " for i, expr in enumerate(keys))
    outer_keys = "".join(f"k{i}, " for i in range(len(keys)))
    group = f" GROUP BY {', '.join(f'k{i}' for i in range(len(keys)))}" if keys else ""
    if lending:
        lent = "CASE WHEN lent = 1 {cond}THEN {what} END"
        figures = f"""COUNT(*), {_sum("bal", split)},
       COUNT(DISTINCT {lent.format(cond="", what="borrower")}),
       SUM({lent.format(cond="", what="1")}),
       {_sum(lent.format(cond="", what="amount"), split)},
       COUNT(DISTINCT {lent.format(cond="AND first_loan ", what="borrower")}),
       {_sum(lent.format(cond="AND first_loan ", what="amount"), split)},
       COUNT(DISTINCT {lent.format(cond="AND inclusive ", what="borrower")}),
       {_sum(lent.format(cond="AND inclusive ", what="amount"), split)},
       SUM({lent.format(cond=f"AND amount < {stats.TEN_MILLION_FEN} ", what="1")}),
       COUNT(DISTINCT CASE WHEN lent = 2 THEN borrower END),
       {_sum("CASE WHEN lent = 2 THEN amount END", split)}"""
        per_loan = """l.borrower_id AS borrower, l.amount AS amount, l.first_loan AS first_loan,
           l.inclusive_smb AS inclusive,
           CASE WHEN l.start_date >= %(year_start)s THEN 1
                WHEN l.start_date >= %(prev_start)s AND l.start_date <= %(prev_end)s THEN 2 ELSE 0 END AS lent, """
        width = _width(_MAIN, split)
    else:
        figures, per_loan = f"COUNT(*), {_sum('bal', split)}", ""
        width = _width(_MAIN[:2], split)
    padding = ", NULL" * (width - _width(("npl_balance",), split))
    sql = f"""{_ctes(vendor, few=not balance_join)}
SELECT 0, {outer_keys}{figures}
FROM (
    SELECT {inner_keys}{per_loan}{balance} AS bal
    FROM credit_loan l{joins}{balance_join}
    WHERE {where}{keep}
) book{group}
UNION ALL
SELECT 1, {outer_keys}{_sum("bal", split)}{padding}
FROM (
    SELECT {inner_keys}{npl_balance} AS bal
    FROM latest c JOIN credit_loan l ON l.id = c.loan_id{joins}{npl_join}
    WHERE c."after" IN {NPL_SQL} AND {where}{keep}
) npl{group}"""
    return sql, params


def _width(names: tuple[str, ...], split: bool) -> int:
    """How many columns the figures ``names`` take (sums of fen take two when split)."""
    return len(names) + (sum(1 for n in names if n in _FEN_SUMS) if split else 0)


def _values(names: tuple[str, ...], columns: tuple, split: bool) -> dict[str, int]:
    """The figures ``names`` from a row's columns, joining the split sums of fen again (Python ints)."""
    out, i = {}, 0
    for name in names:
        if split and name in _FEN_SUMS:
            out[name] = (_int(columns[i]) << 32) + _int(columns[i + 1])
            i += 2
        else:
            out[name] = _int(columns[i])
            i += 1
    return out


def _workers(requested: int | None) -> tuple[int, bool]:
    """(partitions, whether they run at once on connections of their own).

    Other connections see only committed data, so inside a transaction (or on an in-memory database)
    partitions asked for run one after the other on this connection, and by default there is one."""
    if connection.vendor != "sqlite":
        return 1, False  # PostgreSQL parallelises one statement itself
    alone = not connection.in_atomic_block and not connection.is_in_memory_db()
    if requested is None:
        requested = min(MAX_WORKERS, os.cpu_count() or 1) if alone else 1
    parts = max(1, int(requested))
    return parts, parts > 1 and alone


def _on_own_connection(sql: str, params: dict) -> list[tuple]:
    conn = connections[connection.alias]  # this thread's own connection
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    finally:
        conn.close()


def _run(sql: str, params: dict, partitions: int, parallel: bool) -> list[tuple]:
    """The statement's rows over all partitions (concatenated; the caller adds them up)."""
    runs = [dict(params, partitions=partitions, partition=k) for k in range(partitions)] if partitions > 1 \
        else [params]
    if parallel:
        with ThreadPoolExecutor(max_workers=len(runs), thread_name_prefix="report-sql") as pool:
            return [row for rows in pool.map(lambda p: _on_own_connection(sql, p), runs) for row in rows]
    rows = []
    with connection.cursor() as cursor:
        for p in runs:
            cursor.execute(sql, p)
            rows += cursor.fetchall()
    return rows


def _aggregate(*, dims: list[str], end: dt.date, bank_ids: set[int] | None, lending: bool,
               inclusive_only: bool = False, year_start: dt.date | None = None, previous=None,
               workers: int | None = None) -> tuple[dict[tuple, dict], set[tuple]]:
    """({raw key: figures}, the raw keys of groups with loans in the book)."""
    partitions, parallel = _workers(workers)
    ids = sorted({int(b) for b in bank_ids}) if bank_ids else []
    params = {"end": _date(end)}
    if lending:
        params.update(year_start=_date(year_start), prev_start=_date(previous.year_start),
                      prev_end=_date(previous.end))
    split = False
    while True:
        sql, where_params = _statement(connection.vendor, dims, ids, partitions, lending=lending,
                                       inclusive_only=inclusive_only, split=split)
        try:
            rows = _run(sql, {**params, **where_params}, partitions, parallel)
            break
        except OperationalError as exc:
            # SQLite's SUM of integers fails past 2⁶³ fen; the split sums give the same figures exactly
            # (only a corrupt or tampered book gets here: amounts are bounded on the way in).
            if split or "integer overflow" not in str(exc):
                raise
            split = True
    width = len(dims)
    names = _MAIN if lending else _MAIN[:2]
    out: dict[tuple, dict] = {}
    present: set[tuple] = set()
    for row in rows:
        tag, key, values = row[0], tuple(row[1:1 + width]), row[1 + width:]
        fig = out.setdefault(key, dict.fromkeys((*names, "npl_balance"), 0))
        if tag == 0:
            if not values[0]:
                continue  # no grouping and nothing in (this partition of) the book
            present.add(key)
            for name, value in _values(names, values, split).items():
                fig[name] += value
        else:
            fig["npl_balance"] += _values(("npl_balance",), values, split)["npl_balance"]
    return out, present


def _bank_names(ids: set[int]) -> dict[int, str]:
    return dict(Organisation.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}


# ------------------------------------------------------------------------------------------ the API


def report_sql(*, period: str, group_by: tuple[str, ...] = (), bank_ids: set[int] | None = None,
               workers: int | None = None) -> dict:
    """Exactly :func:`ippledge.reporting.stats.report`, computed set-based (see the module docstring).

    ``workers``: SQLite partitions (default: the CPU count, at most :data:`MAX_WORKERS`); ignored on
    PostgreSQL."""
    p = rules.parse_period(period)
    group_by = tuple(group_by)
    _check_dimensions(group_by)
    dims = list(dict.fromkeys(group_by))  # each dimension selected once
    figures, present = _aggregate(dims=dims, end=p.end, bank_ids=bank_ids, lending=True,
                                  year_start=p.year_start, previous=rules.previous_year(p), workers=workers)
    banks = {raw[i] for raw in present for i, d in enumerate(dims) if d in ("bank", "branch")}
    names = _bank_names(banks)

    def key(raw: tuple) -> tuple:
        by_dim = {}
        for d, value in zip(dims, raw, strict=True):
            by_dim[d] = (value, names[value]) if d in ("bank", "branch") else _RENDER.get(d, lambda v: v)(value)
        return tuple(by_dim[d] for d in group_by)

    groups = {key(raw): figures[raw] for raw in present}
    rows = []
    for k in sorted(groups, key=lambda k: tuple(str(x) for x in k)):
        g = groups[k]
        fig = {name: g[name] for name in _FIGURES}
        lent = g["loan_count"]
        fig["under_10m_share"] = (Decimal(g["under_10m"]) * 100 / lent).quantize(Decimal("0.01")) if lent else None
        row: dict = {}
        for dim, value in zip(group_by, k, strict=True):
            if dim in ("bank", "branch"):
                row[f"{dim}_org_id"], row[dim] = value
            else:
                row[dim] = value
        row.update(stats._render(fig))
        row["npl_ratio"] = rules.percent_str(rules.npl_ratio(fig["npl_balance"], fig["balance"]))
        row["yoy_households"] = rules.percent_str(rules.yoy(Decimal(fig["households"]),
                                                            Decimal(g["prev_households"])))
        row["yoy_amount"] = rules.percent_str(rules.yoy(Decimal(fig["amount_lent"]), Decimal(g["prev_amount"])))
        rows.append(row)
    return {"period": p.label, "period_start": p.start.isoformat(), "period_end": p.end.isoformat(),
            "group_by": list(group_by), "rows": rows}


def ip_book_sql(bank_ids: set[int] | None, end: dt.date, inclusive_only: bool = False, *,
                workers: int | None = None) -> dict[int, tuple[int, int]]:
    """``{bank_id: (npl_fen, balance_fen)}`` at ``end`` for many banks in one statement: for each bank
    exactly :func:`ippledge.reporting.stats.ip_book` (its own loans and its branches').

    ``bank_ids=None`` (or empty) answers for every organisation that booked a loan and every head office
    of one; a bank asked for without loans gets ``(0, 0)``.
    """
    wanted = {int(b) for b in bank_ids} if bank_ids else None
    figures, _present = _aggregate(dims=["branch"], end=end, bank_ids=wanted, lending=False,
                                   inclusive_only=inclusive_only, workers=workers)
    parents = dict(Organisation.objects.filter(pk__in=[raw[0] for raw in figures])
                   .values_list("pk", "parent_id")) if figures else {}
    out: dict[int, tuple[int, int]] = {b: (0, 0) for b in wanted or ()}
    for (booked_by,), fig in figures.items():
        # A loan counts for its booking organisation and for that organisation's head office.
        for owner in {booked_by, parents.get(booked_by)} - {None}:
            if wanted is None or owner in wanted:
                npl, balance = out.get(owner, (0, 0))
                out[owner] = (npl + fig["npl_balance"], balance + fig["balance"])
    return out


def tolerance_all_banks(period_end: dt.date | str, *, segment: str = "all", workers: int | None = None) -> list[dict]:
    """The 3-point NPL tolerance test of every bank that submitted overall figures for ``period_end``
    (its latest submission, as :func:`ippledge.reporting.services.latest_overall` picks it), with the
    IP-pledge book of all of them from one :func:`ip_book_sql` statement.  Each entry is the dict
    :func:`ippledge.reporting.services.tolerance` returns for that bank; banks come in id order.

    ``segment="inclusive"`` tests the inclusive small/micro segment; banks whose latest submission lacks
    inclusive figures are left out (``services.tolerance`` answers them with ``overall_missing``).
    No pull is audited here: the caller, who knows the actor, records it.
    """
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
    names = _bank_names({row[0] for row in overall})
    books = ip_book_sql({row[0] for row in overall}, period_end, inclusive_only=inclusive, workers=workers)
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
