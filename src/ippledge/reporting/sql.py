"""Set-based loan-book statistics: the facts of :mod:`ippledge.reporting.engine.statistics`, gathered in SQL.

This module only gathers facts; what they mean (the figures, NPL, the lending windows, the keys, the
row order) is the engine's.  A national book (a million loans, ten million repayments) cannot be read
into Python in seconds, so each answer is one statement, portable between SQLite ≥ 3.35 and PostgreSQL:

    report_sql(period=, group_by=(), bank_ids=None) -> dict       # the report: engine.report over group facts
    loans_behind_sql(period=, filters=, bank_ids=None) -> dict    # the loans behind a figure, one row each
    ip_book_sql(bank_ids, end, inclusive_only=False) -> {bank_id: (npl_fen, balance_fen)}
    tolerance_all_banks(period_end, segment="all") -> [dict]      # services.tolerance for every bank

A report and the loans behind it read every loan through the same fragments (the book, a loan's
balance and category at the end, its lending window), so a loan is judged once whichever way it is
read.  The per-loan Python reference kept for comparison is ``tests/reporting_oracle.py``.

The facts (as the engine defines them)
--------------------------------------
* The book at a period end is every loan started on or before the end (of the banks asked for: a loan
  belongs to its booking organisation and to that organisation's head office).
* A loan's principal balance at the end is ``max(amount − Σ repayment principal dated ≤ end, 0)``.
* Its category at the end is the ``after`` of its latest classification change dated ≤ end, latest by
  (``at``, ``id``) (``ROW_NUMBER()`` over the loan's changes); none: the engine's normal.
* Lending windows (``engine.windows``): lent = 1 from 1 January of the period's year to the end, 2 in the
  same window a year earlier; per group the counts, sums and distinct borrowers of ``engine.Facts``.
* Grouping keys are raw ids and short codes (:data:`_DIMENSION_SQL`); the engine shows them, and bank
  names are read afterwards.

The statement
-------------
One ``SELECT … GROUP BY`` over the loans (joined to their bank and, when a borrower dimension is asked
for, their borrower) computes per group the book balance and every lending figure of both years; a
second, small branch (``UNION ALL``) adds the NPL balance from the loans whose latest change before the
end is non-performing (a few per cent of the book, found with ``ROW_NUMBER()``).  Groups are keyed by ids
and short codes; the engine shows them (``110000``-style region codes) with the bank names read afterwards.

Each loan's repaid principal is read the way each engine does best: on SQLite a correlated aggregate per
loan that seeks the repayments' ``loan_id`` index (a covering ``(loan_id, date, principal)`` index makes
it an index-only scan); on PostgreSQL a grouped subquery that the planner hash-joins, in parallel (a
few loans — the NPL branch, one bank's book — seek per loan there too).

SQLite runs one statement on one core.  On a file database, outside a transaction, the work is split
into ``workers`` partitions by borrower (so households, counted per partition, still add up; by default
one per CPU, at most :data:`MAX_WORKERS`) that run at once, each on a connection of its own, and are
added up here.  Inside a transaction (tests, atomic requests) other connections would not see the
caller's writes, so there is one partition by default, and partitions asked for run one after the other
on the caller's connection.  (Partitions on connections of their own each read their own snapshot.)
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.db import OperationalError, connection, connections

from ippledge.core import money
from ippledge.core.models import Organisation

from .engine import rules
from .engine import statistics as engine

NPL_SQL = "(" + ", ".join(f"'{c}'" for c in sorted(engine.NPL)) + ")"  # constants of ours, not user input
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
    # Risk-sharing coverage at the end: the loan's enrolment (one at most) dated on or before it.
    "risk_scheme": ("e.scheme_id", False),
    "risk_covered": ("(e.id IS NOT NULL)", False),
}
assert set(_DIMENSION_SQL) == set(engine.DIMENSIONS)
_ENROLMENT_DIMENSIONS = frozenset({"risk_scheme", "risk_covered"})
_ENROLMENT_JOIN = " LEFT JOIN risksharing_enrolment e ON e.loan_id = l.id AND e.enrolled_on <= %(end)s"

# Facts of the main branch (``engine.Facts`` fields), in the order the statement returns them.
_MAIN = ("book_loans", "balance", "households", "loan_count", "amount_lent", "first_loan_households",
         "first_loan_amount", "inclusive_households", "inclusive_amount", "under_10m", "previous_households",
         "previous_amount")
# The facts that are sums of fen (the rest are counts, which cannot overflow).
_FEN_SUMS = frozenset({"balance", "amount_lent", "first_loan_amount", "inclusive_amount", "previous_amount",
                       "npl_balance"})
_LOW = 0xFFFFFFFF  # the low 32 bits of a 64-bit integer
# A loan's lending window: 1 in the year to date, 2 in the same window a year earlier (the book's loans
# all start on or before the end).
_LENT = ("CASE WHEN l.start_date >= %(year_start)s THEN 1"
         " WHEN l.start_date >= %(prev_start)s AND l.start_date <= %(prev_end)s THEN 2 ELSE 0 END")


def _date(value: dt.date):
    return connection.ops.adapt_datefield_value(value)


def _int(value) -> int:
    return 0 if value is None else int(value)


def _window_params(windows: engine.Windows) -> dict:
    return {"year_start": _date(windows.year_start), "prev_start": _date(windows.previous_start),
            "prev_end": _date(windows.previous_end)}


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
               inclusive_only: bool = False, split: bool = False, snapshot: bool = False) -> tuple[str, dict]:
    """The one statement: per group (raw keys) the main figures, then per group the NPL balance.

    Rows are ``(0, *keys, *_MAIN)`` and ``(1, *keys, npl_balance, …)``; with ``lending=False`` the
    main rows stop at the balance.  With ``split`` every sum of fen is two columns (see :func:`_sum`).
    With ``snapshot`` each loan's balance and category are read from the month-end snapshot
    ``%(snapshot)s`` (``reporting.snapshots``) instead of being recomputed from the history."""
    keys = [_DIMENSION_SQL[d][0] for d in dims]
    joins = " JOIN core_organisation b ON b.id = l.bank_id" if bank_ids or "bank" in dims else ""
    if any(_DIMENSION_SQL[d][1] for d in dims):
        joins += " JOIN core_organisation w ON w.id = l.borrower_id"
    if _ENROLMENT_DIMENSIONS & set(dims):
        joins += _ENROLMENT_JOIN
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
       SUM({lent.format(cond=f"AND amount < {engine.TEN_MILLION_FEN} ", what="1")}),
       COUNT(DISTINCT CASE WHEN lent = 2 THEN borrower END),
       {_sum("CASE WHEN lent = 2 THEN amount END", split)}"""
        per_loan = f"""l.borrower_id AS borrower, l.amount AS amount, l.first_loan AS first_loan,
           l.inclusive_smb AS inclusive, {_LENT} AS lent, """
        width = _width(_MAIN, split)
    else:
        figures, per_loan = f"COUNT(*), {_sum('bal', split)}", ""
        width = _width(_MAIN[:2], split)
    padding = ", NULL" * (width - _width(("npl_balance",), split))
    if snapshot:
        # Every loan of the book has its row (the snapshot is of exactly the book at the end).
        source = f"reporting_loanbalance s JOIN credit_loan l ON l.id = s.loan_id{joins}"
        return f"""SELECT 0, {outer_keys}{figures}
FROM (
    SELECT {inner_keys}{per_loan}s.balance AS bal
    FROM {source}
    WHERE s.snapshot_id = %(snapshot)s AND {where}{keep}
) book{group}
UNION ALL
SELECT 1, {outer_keys}{_sum("bal", split)}{padding}
FROM (
    SELECT {inner_keys}s.balance AS bal
    FROM {source}
    WHERE s.snapshot_id = %(snapshot)s AND s.category IN {NPL_SQL} AND {where}{keep}
) npl{group}""", params
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


def _run_exact(build: Callable[[bool], tuple[str, dict]], partitions: int = 1,
               parallel: bool = False) -> tuple[list[tuple], bool]:
    """(rows, whether the sums were split): the statement ``build(split)`` gives, split on overflow."""
    split = False
    while True:
        sql, params = build(split)
        try:
            return _run(sql, params, partitions, parallel), split
        except OperationalError as exc:
            # SQLite's SUM of integers fails past 2⁶³ fen; the split sums give the same figures exactly
            # (only a corrupt or tampered book gets here: amounts are bounded on the way in).
            if split or "integer overflow" not in str(exc):
                raise
            split = True


def _aggregate(*, dims: list[str], end: dt.date, bank_ids: set[int] | None, lending: bool,
               inclusive_only: bool = False, windows: engine.Windows | None = None,
               workers: int | None = None, source: str = "auto") -> dict[tuple, engine.Facts]:
    """{raw key: the group's facts} (partitions added up); ``source`` as :func:`_snapshot` reads it."""
    partitions, parallel = _workers(workers)
    ids = sorted({int(b) for b in bank_ids}) if bank_ids else []
    params = {"end": _date(end), **(_window_params(windows) if lending else {})}
    snapshot = _snapshot(end, source)
    if snapshot is not None:
        params["snapshot"] = snapshot

    def build(split: bool) -> tuple[str, dict]:
        sql, where_params = _statement(connection.vendor, dims, ids, partitions, lending=lending,
                                       inclusive_only=inclusive_only, split=split, snapshot=snapshot is not None)
        return sql, {**params, **where_params}

    rows, split = _run_exact(build, partitions, parallel)
    width = len(dims)
    names = _MAIN if lending else _MAIN[:2]
    out: dict[tuple, engine.Facts] = {}
    for row in rows:
        tag, key, values = row[0], tuple(row[1:1 + width]), row[1 + width:]
        facts = out.setdefault(key, engine.Facts())
        facts.add(engine.Facts(**_values(names if tag == 0 else ("npl_balance",), values, split)))
    return out


SOURCES = ("auto", "history", "snapshot")


def _snapshot(end: dt.date, source: str) -> int | None:
    """The id of the current month-end snapshot to read for ``end``: with ``"auto"`` (the default) the
    snapshot when there is one, else ``None`` (the history); ``"history"`` never reads one, and
    ``"snapshot"`` insists (``snapshot_missing`` otherwise: benchmarks and tests that compare the two)."""
    if source not in SOURCES:
        raise ValueError(source)
    if source == "history":
        return None
    from . import snapshots

    found = snapshots.current(end)
    if found is None and source == "snapshot":
        from django.utils.translation import gettext as _

        from ippledge.core.errors import Conflict

        raise Conflict(_("There is no current balance snapshot for this month end."), code="snapshot_missing")
    return found


def _bank_names(ids: set[int]) -> dict[int, str]:
    return dict(Organisation.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}


def _scheme_names(ids: set[int]) -> dict[int, str]:
    """Risk-sharing schemes by id (published policy: every reader of the statistics may see their names)."""
    from ippledge.risksharing.models import Scheme

    return dict(Scheme.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}


# ------------------------------------------------------------------------------------------ the API


def report_sql(*, period: str, group_by: tuple[str, ...] = (), bank_ids: set[int] | None = None,
               workers: int | None = None, source: str = "auto") -> dict:
    """The report (:func:`engine.report <ippledge.reporting.engine.statistics.report>`) over the facts of
    each group, gathered in one statement (see the module docstring).

    ``workers``: SQLite partitions (default: the CPU count, at most :data:`MAX_WORKERS`); ignored on
    PostgreSQL.  ``source``: where balances and categories come from (:func:`_snapshot`; by default the
    period end's month-end snapshot when there is one, the same figures read rather than recomputed)."""
    p = rules.parse_period(period)
    group_by = engine.check_dimensions(group_by)
    dims = list(dict.fromkeys(group_by))  # each dimension gathered once
    groups = _aggregate(dims=dims, end=p.end, bank_ids=bank_ids, lending=True, windows=engine.windows(p),
                        workers=workers, source=source)
    banks = {raw[i] for raw, facts in groups.items() if facts.book_loans
             for i, d in enumerate(dims) if d in engine.ORGANISATIONS}
    schemes = {raw[i] for raw, facts in groups.items() if facts.book_loans
               for i, d in enumerate(dims) if d in engine.SCHEMES and raw[i] is not None}
    return engine.report(p, group_by, groups, _bank_names(banks), _scheme_names(schemes))


def loans_behind_sql(*, period: str, filters: dict, bank_ids: set[int] | None = None, limit: int = 1000) -> dict:
    """The loans behind a figure: the book's loans that the figure's keys select (``filters``, as
    :func:`engine.filter_keys <ippledge.reporting.engine.statistics.filter_keys>` reads them), newest
    first, each with its balance, category and lending window at the period end read by the same
    fragments as the report; ``count`` is all of them, ``loans`` the first ``limit``."""
    p = rules.parse_period(period)
    wanted, keys = engine.filter_keys(filters)
    if keys is engine.NO_MATCH:
        return engine.loans_behind(p, wanted, 0, [], {})
    ids = sorted({int(b) for b in bank_ids}) if bank_ids else []
    where, where_params = _where(ids, 1, False)
    params = {"end": _date(p.end), **_window_params(engine.windows(p)), **where_params,
              "limit": max(int(limit), 1)}
    for i, (dim, value) in enumerate(keys.items()):
        where += f" AND {_DIMENSION_SQL[dim][0]} = %(key{i})s"
        params[f"key{i}"] = value
    enrolment = _ENROLMENT_JOIN if _ENROLMENT_DIMENSIONS & set(keys) else ""

    def build(split: bool) -> tuple[str, dict]:
        balance, _join = _balance_sql(connection.vendor, few=True, split=split)
        return f"""{_ctes(connection.vendor, few=True)}
SELECT l.loan_no, {_DIMENSION_SQL["bank"][0]}, l.bank_id, {_DIMENSION_SQL["region"][0]}, l.ip_kind, l.amount,
       l.start_date, {balance}, c."after", {_LENT}, COUNT(*) OVER ()
FROM credit_loan l JOIN core_organisation b ON b.id = l.bank_id JOIN core_organisation w ON w.id = l.borrower_id
LEFT JOIN latest c ON c.loan_id = l.id{enrolment}
WHERE {where}
ORDER BY l.start_date DESC, l.loan_no
LIMIT %(limit)s""", params

    rows, _split = _run_exact(build)
    loans = [engine.Loan(loan_no=no, bank=bank, branch=branch, region=region, ip_kind=kind, amount=int(amount),
                         start=start if isinstance(start, dt.date) else dt.date.fromisoformat(start),
                         balance=int(balance), category=category, lent_in_year=lent == 1)
             for no, bank, branch, region, kind, amount, start, balance, category, lent, _count in rows]
    names = _bank_names({x.bank for x in loans} | {x.branch for x in loans})
    return engine.loans_behind(p, wanted, rows[0][-1] if rows else 0, loans, names)


def ip_book_sql(bank_ids: set[int] | None, end: dt.date, inclusive_only: bool = False, *,
                workers: int | None = None, source: str = "auto") -> dict[int, tuple[int, int]]:
    """``{bank_id: (npl_fen, balance_fen)}`` at ``end`` for many banks in one statement: for each bank
    its IP-pledge book (its own loans and its branches'), the figure the NPL tolerance tests.

    ``bank_ids=None`` (or empty) answers for every organisation that booked a loan and every head office
    of one; a bank asked for without loans gets ``(0, 0)``.  With a month-end snapshot for ``end``
    (``source`` as :func:`_snapshot` reads it) the sums per booking organisation are read from it.
    """
    wanted = {int(b) for b in bank_ids} if bank_ids else None
    snapshot = _snapshot(end, source)
    if snapshot is not None:
        groups = _booked(snapshot, inclusive_only)
    else:
        groups = _aggregate(dims=["branch"], end=end, bank_ids=wanted, lending=False,
                            inclusive_only=inclusive_only, workers=workers, source="history")
    parents = dict(Organisation.objects.filter(pk__in=[raw[0] for raw in groups])
                   .values_list("pk", "parent_id")) if groups else {}
    books: dict[int, engine.Facts] = {b: engine.Facts() for b in wanted or ()}
    for (booked_by,), facts in groups.items():
        # A loan counts for its booking organisation and for that organisation's head office.
        for owner in {booked_by, parents.get(booked_by)} - {None}:
            if wanted is None or owner in wanted:
                books.setdefault(owner, engine.Facts()).add(facts)
    return {owner: (facts.npl_balance, facts.balance) for owner, facts in books.items()}


def _booked(snapshot: int, inclusive_only: bool) -> dict[tuple, engine.Facts]:
    """{(booking organisation,): facts with the book's loans, balance and NPL balance} from a snapshot
    (every organisation's: the caller keeps the banks asked for and their branches)."""
    out: dict[tuple, engine.Facts] = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT booked_by_id, loans, balance, npl_balance FROM reporting_bookbalance"
                       " WHERE snapshot_id = %s" + (" AND inclusive" if inclusive_only else ""), [snapshot])
        for booked_by, loans, balance, npl in cursor.fetchall():
            out.setdefault((booked_by,), engine.Facts()).add(
                engine.Facts(book_loans=int(loans), balance=int(balance), npl_balance=int(npl)))
    return out


def tolerance_all_banks(period_end: dt.date | str, *, segment: str = "all", workers: int | None = None,
                        source: str = "auto") -> list[dict]:
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
    books = ip_book_sql({row[0] for row in overall}, period_end, inclusive_only=inclusive, workers=workers,
                        source=source)
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
