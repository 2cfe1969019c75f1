"""Set-based end of day for the whole loan book: DPD, principal balance and the five-category
classification of every open loan in a few SQL statements per batch plus NumPy, instead of one
schedule-and-repayments load and one ``save()`` per loan.  This module only gathers facts and writes
results: the rule is :func:`ippledge.credit.engine.classification.classify`, evaluated over the arrays.

    classify_book_bulk(on, batch=200_000)  -> {"loans", "changed", "seconds"}   (writes)
    compute_book(on, batch=200_000)        -> BookResult                        (reads only)
    decide_loan(loan, on)                  -> Decision                          (reads only: one loan and
                                                                                 its debtor's other open loans)

How it works
------------
1. Per batch of open loans (stored ``balance > 0``, as the per-loan path selects them, in id ranges of
   ``batch`` loans) one SQL statement — portable between SQLite ≥ 3.35 and PostgreSQL — computes for
   each loan, over its current schedule rows in (due date, seq, id) order, the cumulative amount due
   (principal + interest, a window function) and compares it with the total repaid by ``on``:

   * the earliest unpaid due date is the first row whose cumulative due exceeds the total paid;
   * a row's principal is repaid as far as the total paid reaches beyond the row's interest
     (``clip(paid − cumulative due + principal, 0, principal)``), so the outstanding principal is
     Σ principal − Σ that.

   This is exactly the engine's allocation (:func:`ippledge.credit.engine.schedule.apply_payments`:
   every payment, whatever its split, runs oldest instalment first, interest then principal) read
   "as of" ``on``: only the order of the rows and the total paid by ``on`` matter.  DPD is
   ``on − earliest unpaid due date`` (0 when that date is not past or nothing is unpaid).
2. The few loans that need more than DPD — restructured loans (observation period) and
   non-performing loans at DPD 0 (the upgrade conditions) — get their rows and repayments fetched
   and, vectorised, whether each instalment was paid by its due date (the cumulative amount repaid by
   the due date covers the cumulative amount due), hence the consecutive on-time periods and months
   since the cure, the observation start (first due date after the restructuring) and the observation
   periods paid.  Loan events give the manual floor (the latest ``manual_floor`` event) and
   ``restructured_again``.
3. The facts go to the engine as one row per loan (:class:`~ippledge.credit.engine.classification.Facts`):
   DPD, the stored category, the manual floor, the restructuring facts, arrears cleared and able to
   pay (both: DPD 0), the on-time history, the ``operational_delay`` loans, and the debtor (bank,
   borrower) with the balance for the debtor rules.  :func:`~ippledge.credit.engine.classification.classify`
   decides; nothing here restates a threshold.
4. It writes in batches: ``UPDATE … FROM (VALUES …)`` of dpd, balance and classification for the loans
   where one of them changed, and one ``ClassificationChange`` (bulk_create) per changed category,
   with the same reasons (``[code, category]`` lists) as the per-loan path.  One transaction, like the
   per-loan path (inside the end-of-day runner's own).

Differences from the per-loan reference (``tests/classification_oracle.py``)
---------------------------------------------------------------------------
The scalar per-loan end of day that once lived in ``services`` is kept in the tests as an oracle: it
loads each loan through the ORM and classifies it with the scalar rules.  On ordinary books the
results — DPD, balance, category, the change rows and their reasons — are identical
(``tests/test_credit_bulk.py``).  Where they may differ:

* Payments beyond the whole schedule: the per-loan path refuses to allocate them (``ValidationFailed``,
  the whole end of day fails); here such a loan is simply fully paid (DPD 0, balance 0).  ``repay``
  refuses such payments, so this needs data written around the services.
* Two current rows of a loan with the same due date and the same ``seq`` (possible only across
  schedule versions): the per-loan path takes them in database order, here by row id.  Only how a
  payment splits between the two can differ: the balance, and for a cured NPL which of the two
  counts as paid on time.  DPD cannot differ.
* Data the services never write: a stored classification or a manual floor outside the five
  categories makes the per-loan path fail (``ValidationFailed``); here the first counts as normal and
  the second is ignored.
* ``operational_delay`` (loan ids whose 1–7 days past due are an operational delay): the per-loan path
  has no such stored fact and never applies the exception; with the default (none) both agree.
* Loans whose dpd, balance and category are all unchanged are not written (the per-loan path saves
  every loan); the stored result is the same.

Resources: the per-loan arrays of the whole book stay in memory (the debtor rules need the whole book):
about 0.5 GB at a million loans.  Like the per-loan path it runs in one transaction, which on SQLite
holds the write lock throughout (about 20 s for a million loans on two cores): run it as the
end-of-day job, not beside interactive writes.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction

from .engine import classification as rules
from .models import ClassificationChange, Loan, LoanEvent, Repayment, ScheduleRow

CATEGORIES = rules.CATEGORIES
RANK = rules.RANK
ID_CHUNK = 500  # ids per IN (...) list
WRITE_CHUNK = 8000  # rows per UPDATE … FROM (VALUES …): 32,000 parameters, within SQLite's and PostgreSQL's limits
NAT = np.datetime64("NaT", "D")
NO_FLOOR = rules.NO_FLOOR


@dataclass
class BookResult:
    """Per-loan arrays (aligned, in loan id order) of one pass over the book on ``on``, with the engine's
    decision (``classified``)."""

    on: dt.date
    loan_id: np.ndarray
    bank_id: np.ndarray
    borrower_id: np.ndarray
    stored_dpd: np.ndarray
    stored_balance: np.ndarray
    previous: np.ndarray  # rank of the stored category
    dpd: np.ndarray
    balance: np.ndarray  # outstanding principal, fen
    classified: rules.Classified

    def __len__(self) -> int:
        return len(self.loan_id)

    @property
    def category(self) -> np.ndarray:  # final rank
        return self.classified.category

    @property
    def floor(self) -> np.ndarray:  # the loan's own floor (before the debtor rules)
        return self.classified.floor

    @property
    def blocked(self) -> np.ndarray:  # an upgrade out of NPL refused: stays at previous
        return self.classified.blocked

    @property
    def contagion(self) -> np.ndarray:  # 0 none, 1 debtor_npl_elsewhere, 2 contagion
        return self.classified.contagion

    @property
    def changed(self) -> np.ndarray:
        return self.category != self.previous

    def reasons(self, i: int) -> list[list[str]]:
        """The change reasons of loan at index ``i``: the rules that set a floor, else why it moved."""
        decision = self.classified.decision(i)
        return [list(r) for r in decision.floor_reasons] or [[decision.upgrade_blocked_reason or "upgrade",
                                                             decision.category]]


# --------------------------------------------------------------------------- reading

def _qn(name: str) -> str:
    return connection.ops.quote_name(name)


def _day(value) -> np.datetime64:
    return np.datetime64(value, "D")


def _dates(values) -> np.ndarray:
    return np.array(values, dtype="datetime64[D]")


def _sql_batch(open_only: bool = True) -> str:
    loan, row, rep = (_qn(m._meta.db_table) for m in (Loan, ScheduleRow, Repayment))
    ranks = " ".join(f"WHEN '{c}' THEN {i}" for i, c in enumerate(CATEGORIES))
    return f"""
WITH paid AS (
    SELECT r.loan_id, SUM(r.principal + r.interest) AS paid
    FROM {rep} r
    WHERE r.loan_id > %s AND r.loan_id <= %s AND r.{_qn("date")} <= %s
    GROUP BY r.loan_id
), due AS (
    SELECT s.loan_id, s.due_date, s.principal, COALESCE(p.paid, 0) AS paid,
           SUM(s.principal + s.interest) OVER (PARTITION BY s.loan_id ORDER BY s.due_date, s.seq, s.id
                                               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum
    FROM {row} s LEFT JOIN paid p ON p.loan_id = s.loan_id
    WHERE s.loan_id > %s AND s.loan_id <= %s AND s.{_qn("current")} = %s
), per_loan AS (
    SELECT loan_id,
           MIN(CASE WHEN cum > paid THEN due_date END) AS first_unpaid,
           SUM(CASE WHEN paid >= cum THEN 0 WHEN paid > cum - principal THEN cum - paid
                    ELSE principal END) AS outstanding
    FROM due
    GROUP BY loan_id
)
SELECT l.id, l.bank_id, l.borrower_id, l.dpd, l.balance,
       CASE l.classification {ranks} ELSE 0 END,
       l.restructured_on, pl.first_unpaid, CAST(COALESCE(pl.outstanding, 0) AS BIGINT)
FROM {loan} l LEFT JOIN per_loan pl ON pl.loan_id = l.id
WHERE l.id > %s AND l.id <= %s{" AND l.balance > 0" if open_only else ""}
ORDER BY l.id
"""


def _batches(batch: int) -> Iterable[tuple[int, int]]:
    """(lo, hi] id ranges holding at most ``batch`` open loans each."""
    table = _qn(Loan._meta.db_table)
    lo = -1
    with connection.cursor() as cursor:
        while True:
            cursor.execute(f"SELECT MAX(id), COUNT(*) FROM (SELECT id FROM {table} WHERE id > %s AND balance > 0 "
                           f"ORDER BY id LIMIT %s) t", [lo, batch])
            hi, count = cursor.fetchone()
            if not count:
                return
            yield lo, hi
            lo = hi


def _events(lo: int, hi: int) -> tuple[dict[int, int], set[int]]:
    """({loan id: manual floor rank}, {loan ids restructured again}) from the loans' events in (lo, hi]."""
    floors: dict[int, int | None] = {}
    again: set[int] = set()
    events = (LoanEvent.objects.filter(loan_id__gt=lo, loan_id__lte=hi,
                                       type__in=("manual_floor", "extension", "restructure"))
              .order_by("loan_id", "at", "id").values_list("loan_id", "type", "data"))
    for loan_id, kind, data in events.iterator(chunk_size=10_000):
        data = data if isinstance(data, dict) else {}
        if kind == "manual_floor":
            category = data.get("category")
            floors[loan_id] = RANK.get(category) if category else None
        elif data.get("restructured_again"):
            again.add(loan_id)
    return {k: v for k, v in floors.items() if v is not None}, again


def _grouped_cumsum(values: np.ndarray, starts: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Cumulative sum of ``values`` restarting at each group (rows sorted by group)."""
    total = np.cumsum(values)
    before = np.concatenate(([0], total))[starts]
    return total - before[group]


def _details(ids: np.ndarray, restructured_on: np.ndarray, on: dt.date) -> dict[str, np.ndarray]:
    """On-time history and observation facts of the loans ``ids`` (sorted), vectorised: the streak of
    on-time periods, the months since it began, the observation start and the periods paid since.

    An instalment counts as paid by its due date when the cumulative amount repaid by that date
    covers its cumulative amount due (or it is an instalment of 0) — the engine's ``paid_on ≤ due``.
    """
    n = len(ids)
    on_d = _day(on)
    rows, pays = [], []
    for k in range(0, n, ID_CHUNK):
        chunk = ids[k:k + ID_CHUNK].tolist()
        rows += ScheduleRow.objects.filter(loan_id__in=chunk, current=True).order_by(
            "loan_id", "due_date", "seq", "id").values_list("loan_id", "due_date", "principal", "interest")
        pays += Repayment.objects.filter(loan_id__in=chunk).order_by("loan_id", "date").values_list(
            "loan_id", "date", "principal", "interest")
    r_loan = np.searchsorted(ids, np.array([r[0] for r in rows], dtype=np.int64))
    r_due = _dates([r[1] for r in rows])
    r_amt = np.array([r[2] + r[3] for r in rows], dtype=np.int64)
    p_loan = np.searchsorted(ids, np.array([p[0] for p in pays], dtype=np.int64))
    p_day = _dates([p[1] for p in pays])
    p_amt = np.array([p[2] + p[3] for p in pays], dtype=np.int64)

    r_start = np.searchsorted(r_loan, np.arange(n))
    cum_due = _grouped_cumsum(r_amt, r_start, r_loan)
    # Cumulative repaid per loan by each due date: search the (loan, date) keys of the payments.
    # (loan << 24) + days since 1970 offset by 2**23: sorted like (loan, date) for ±22,000 years.
    p_key = (p_loan.astype(np.int64) << 24) + p_day.astype(np.int64) + (1 << 23)
    r_key = (r_loan.astype(np.int64) << 24) + r_due.astype(np.int64) + (1 << 23)
    p_total = np.concatenate(([0], np.cumsum(p_amt)))
    upto = np.searchsorted(p_key, r_key, side="right")
    first = np.searchsorted(p_key, r_loan.astype(np.int64) << 24, side="left")
    paid_by_due = p_total[upto] - p_total[first]
    on_time = (r_amt == 0) | (paid_by_due >= cum_due)

    # Consecutive on-time periods among the instalments due by ``on`` (newest first).
    is_due = r_due <= on_d
    n_due = np.bincount(r_loan[is_due], minlength=n)
    last_bad = r_start - 1
    bad = np.flatnonzero(is_due & ~on_time)
    np.maximum.at(last_bad, r_loan[bad], bad)
    streak = r_start + n_due - (last_bad + 1)
    cure = np.full(n, NAT)
    has = streak > 0
    cure[has] = r_due[(last_bad + 1)[has]]
    months = np.zeros(n, dtype=np.int64)
    months[has] = (np.datetime64(on, "M") - cure[has].astype("datetime64[M]")).astype(np.int64)
    months = np.maximum(months, 0)

    # Observation: starts at the first due date after the restructuring.
    restr = ~np.isnat(restructured_on)
    after = np.flatnonzero(restr[r_loan] & (r_due > restructured_on[r_loan]))
    obs_start = np.full(n, np.datetime64("9999-12-31", "D"))
    np.minimum.at(obs_start, r_loan[after], r_due[after])
    started = restr & (obs_start != np.datetime64("9999-12-31", "D"))
    obs_start = np.where(started, obs_start, NAT)
    counted = started[r_loan] & (r_due >= obs_start[r_loan]) & is_due & on_time
    obs_paid = np.bincount(r_loan[counted], minlength=n)
    return {"streak": streak, "months": months, "observation_started": obs_start, "observation_paid": obs_paid}


def _read(on: dt.date, ranges: Iterable[tuple[int, int]], open_only: bool = True) -> dict[str, np.ndarray]:
    """The facts of the loans with ids in the (lo, hi] ``ranges`` (only open ones with ``open_only``)."""
    sql = _sql_batch(open_only)
    on_param = connection.ops.adapt_datefield_value(on)
    on_d = _day(on)
    parts: list[dict[str, np.ndarray]] = []
    for lo, hi in ranges:
        with connection.cursor() as cursor:
            cursor.execute(sql, [lo, hi, on_param, lo, hi, True, lo, hi])
            rows = cursor.fetchall()
        if not rows:
            continue
        cols = list(zip(*rows, strict=True))
        part = {name: np.array(cols[k], dtype=np.int64) for k, name in
                enumerate(("loan_id", "bank_id", "borrower_id", "stored_dpd", "stored_balance", "previous"))}
        part["restructured_on"] = _dates(cols[6])
        first_unpaid = _dates(cols[7])
        part["balance"] = np.array(cols[8], dtype=np.int64)
        late = (on_d - first_unpaid).astype(np.int64)
        part["dpd"] = np.where(np.isnat(first_unpaid), 0, np.maximum(late, 0))
        floors, again = _events(lo, hi)
        ids = part["loan_id"]
        part["manual_floor"] = np.full(len(ids), NO_FLOOR, dtype=np.int64)
        if floors:
            keys = np.array(list(floors), dtype=np.int64)
            at = np.searchsorted(ids, keys)
            ok = (at < len(ids)) & (ids[np.minimum(at, len(ids) - 1)] == keys)
            part["manual_floor"][at[ok]] = np.array(list(floors.values()), dtype=np.int64)[ok]
        part["restructured_again"] = np.isin(ids, np.fromiter(again, dtype=np.int64, count=len(again)))
        # Details only where they can matter: restructured loans, and NPLs that might be upgraded.
        need = ~np.isnat(part["restructured_on"]) | ((part["previous"] >= rules.R_SUBSTANDARD) & (part["dpd"] == 0))
        part["streak"] = np.zeros(len(ids), dtype=np.int64)
        part["months"] = np.zeros(len(ids), dtype=np.int64)
        part["observation_started"] = np.full(len(ids), NAT)
        part["observation_paid"] = np.zeros(len(ids), dtype=np.int64)
        if need.any():
            detail = _details(ids[need], part["restructured_on"][need], on)
            for key, value in detail.items():
                part[key][need] = value
        parts.append(part)
    if not parts:
        return {}
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


# --------------------------------------------------------------------------- deciding

def _debtors(bank: np.ndarray, borrower: np.ndarray) -> np.ndarray:
    """One code per debtor (bank, borrower)."""
    if not len(bank):
        return np.zeros(0, dtype=np.int64)
    if max(bank.max(), borrower.max()) < 2**31 and min(bank.min(), borrower.min()) >= 0:
        return (bank << 32) | borrower
    _, debtor = np.unique(np.stack([bank, borrower], axis=1), axis=0, return_inverse=True)
    return debtor.ravel().astype(np.int64)


def _decide(data: dict[str, np.ndarray], on: dt.date, operational_delay: Iterable[int]) -> BookResult:
    dpd = data["dpd"]
    cleared = dpd == 0  # arrears cleared and assessed able to pay: nothing overdue
    facts = rules.Facts.of(
        debtor=_debtors(data["bank_id"], data["borrower_id"]), balance=data["balance"], dpd=dpd,
        previous=data["previous"], manual_floor=data["manual_floor"],
        operational_delay=np.isin(data["loan_id"], np.fromiter(operational_delay, dtype=np.int64)),
        restructured=~np.isnat(data["restructured_on"]), restructured_again=data["restructured_again"],
        observation_started=data["observation_started"], observation_periods_paid=data["observation_paid"],
        arrears_cleared=cleared, able_to_pay=cleared, periods_paid_since_cure=data["streak"],
        months_since_cure=data["months"])
    return BookResult(on=on, loan_id=data["loan_id"], bank_id=data["bank_id"], borrower_id=data["borrower_id"],
                      stored_dpd=data["stored_dpd"], stored_balance=data["stored_balance"],
                      previous=data["previous"], dpd=dpd, balance=data["balance"],
                      classified=rules.classify(facts, on))


def _empty() -> dict[str, np.ndarray]:
    empty = np.zeros(0, dtype=np.int64)
    data = {key: empty for key in ("loan_id", "bank_id", "borrower_id", "stored_dpd", "stored_balance", "previous",
                                   "dpd", "balance", "manual_floor", "streak", "months", "observation_paid")}
    data.update(restructured_again=empty.astype(bool), restructured_on=empty.astype("datetime64[D]"),
                observation_started=empty.astype("datetime64[D]"))
    return data


def compute_book(on: dt.date, *, batch: int = 200_000, operational_delay: Iterable[int] = ()) -> BookResult:
    """DPD, balance and category of every open loan on ``on``; reads only."""
    if not isinstance(on, dt.date) or isinstance(on, dt.datetime):
        raise TypeError("on must be a date")
    if batch < 1:
        raise ValueError("batch must be at least 1")
    return _decide(_read(on, _batches(batch)) or _empty(), on, operational_delay)


def decide_loan(loan: Loan, on: dt.date, *, without_manual_floor: bool = False) -> rules.Decision:
    """What the end of day would decide for ``loan`` on ``on`` (reads only), from the same facts and the
    same rule: the loan and its debtor's other open loans go to the engine together, so the debtor rules
    apply.  ``without_manual_floor``: ask what the rules alone say (a reviewer's floor of this loan ignored)."""
    ids = sorted({loan.pk, *Loan.objects.filter(bank_id=loan.bank_id, borrower_id=loan.borrower_id, balance__gt=0)
                  .values_list("pk", flat=True)})
    data = _read(on, [(pk - 1, pk) for pk in ids], open_only=False)
    i = int(np.searchsorted(data["loan_id"], loan.pk))
    if without_manual_floor:
        data["manual_floor"][i] = NO_FLOOR
    return _decide(data, on, ()).classified.decision(i)


# --------------------------------------------------------------------------- writing

def _write(result: BookResult) -> int:
    table = _qn(Loan._meta.db_table)
    changed = result.changed
    dirty = np.flatnonzero(changed | (result.dpd != result.stored_dpd) | (result.balance != result.stored_balance))
    rows = list(zip(result.loan_id[dirty].tolist(), result.dpd[dirty].tolist(), result.balance[dirty].tolist(),
                    [CATEGORIES[c] for c in result.category[dirty].tolist()], strict=True))
    with connection.cursor() as cursor:
        for k in range(0, len(rows), WRITE_CHUNK):
            chunk = rows[k:k + WRITE_CHUNK]
            values = ", ".join(["(%s, %s, %s, %s)"] * len(chunk))
            # The id range (rows are in id order) lets PostgreSQL scan only that part of the table when it
            # hash-joins the VALUES list instead of looking each id up.
            cursor.execute(f"UPDATE {table} SET dpd = v.column2, balance = v.column3, classification = v.column4 "
                           f"FROM (VALUES {values}) AS v WHERE {table}.id = v.column1 AND {table}.id BETWEEN %s AND %s",
                           [x for row in chunk for x in row] + [chunk[0][0], chunk[-1][0]])
    on = result.on
    ClassificationChange.objects.bulk_create(
        (ClassificationChange(loan_id=int(result.loan_id[i]), date=on, before=CATEGORIES[int(result.previous[i])],
                              after=CATEGORIES[int(result.category[i])], reasons=result.reasons(i))
         for i in np.flatnonzero(changed).tolist()), batch_size=1000)
    return int(changed.sum())


def classify_book_bulk(on: dt.date, *, batch: int = 200_000, operational_delay: Iterable[int] = ()) -> dict:
    """End of day for the whole book on ``on``, set-based; same results as ``services.classify_book``.

    ``batch``: open loans per read (memory and statement size); ``operational_delay``: ids of loans whose
    1–7 days past due the bank has established as an operational delay (kept at normal).
    Returns ``{"loans": open loans classified, "changed": categories changed, "seconds": elapsed}``.
    """
    started = time.perf_counter()
    with transaction.atomic():
        result = compute_book(on, batch=batch, operational_delay=operational_delay)
        changed = _write(result)
    return {"loans": len(result), "changed": changed, "seconds": round(time.perf_counter() - started, 3)}
