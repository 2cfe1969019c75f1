"""Credit end-of-day benchmark (not a test): prints JSON.

Builds a loan book of N loans (5 equal-principal instalments each, monthly, quarterly or half-yearly;
most repaid on time, ~3% in arrears with DPD from 1 to beyond 360, some paid late, some restructured,
some cured NPLs) on a fresh database with batched raw inserts (executemany on SQLite, COPY on
PostgreSQL), then times the set-based end of day (``credit.bulk.classify_book_bulk``) over the whole
book — a first run on the build's state and the next day's run — and, in the same run, the naive
per-loan baseline: the scalar reference implementation kept in ``tests/classification_oracle.py``
(load each loan with its schedule, repayments and events through the ORM; ``oracle.loan_facts``;
the scalar ``oracle.classify_loan``) on a random sample of loans, projected to the book.  The sample's
DPD, balance and per-loan category are checked against the set-based pass.

    python benchmarks/credit.py [--loans 1000000] [--sample 2000] [--database-url postgres://...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # the oracle in tests/

import numpy as np  # noqa: E402
from _common import cleanup, prepare  # noqa: E402

ON = dt.date(2026, 6, 30)
INSTALMENTS = 5
CHUNK = 50_000  # loans generated and inserted at a time
BANKS = 20


def _iso(days: np.ndarray) -> list[str]:
    return days.astype("datetime64[D]").astype(str).tolist()


def generate(g: np.random.Generator, first: int, n: int, borrowers: np.ndarray) -> dict:
    """n loans with ids first … first + n − 1: loan rows, schedule rows, repayment rows, events."""
    on = np.datetime64(ON, "D")
    ids = np.arange(first, first + n, dtype=np.int64)
    period = g.choice([1, 3, 6], size=n, p=[0.6, 0.3, 0.1])
    term = period * INSTALMENTS
    amount = g.integers(100_000, 5_000_000, n) * 100  # fen
    rate_bp = g.integers(300, 600, n)  # basis points a year
    overdue = g.random(n) < 0.03
    # Performing loans: anywhere in their life.  Overdue loans: DPD drawn from a spread of ranges.
    life_days = (term * 30.4).astype(np.int64)
    elapsed = (g.random(n) * life_days).astype(np.int64)
    start = on - elapsed
    dpd_band = g.choice(6, size=n, p=[0.4, 0.2, 0.15, 0.1, 0.1, 0.05])
    lo = np.array([1, 31, 91, 181, 271, 361])[dpd_band]
    hi = np.array([30, 90, 180, 270, 360, 600])[dpd_band]
    target_dpd = g.integers(lo, hi + 1)
    first_unpaid = g.integers(0, INSTALMENTS, n)
    due_first = on - target_dpd
    months_back = (first_unpaid + 1) * period
    start_overdue = (due_first.astype("datetime64[M]") - months_back).astype("datetime64[D]") + \
        (due_first - due_first.astype("datetime64[M]").astype("datetime64[D]"))
    start = np.where(overdue, start_overdue, start)
    # Days of month 1..28 only, so instalments fall on the same day every month.
    month = start.astype("datetime64[M]")
    dom = np.minimum((start - month.astype("datetime64[D]")).astype(np.int64), 27)
    start = month.astype("datetime64[D]") + dom
    k = np.arange(1, INSTALMENTS + 1)
    due = (month[:, None] + k[None, :] * period[:, None]).astype("datetime64[D]") + dom[:, None]  # n × 5
    maturity = due[:, -1]

    base = amount // INSTALMENTS
    principal = np.repeat(base[:, None], INSTALMENTS, axis=1)
    principal[:, -1] = amount - base * (INSTALMENTS - 1)
    outstanding_before = amount[:, None] - np.cumsum(principal, axis=1) + principal
    interest = (outstanding_before * rate_bp[:, None] * period[:, None] + 60_000) // 120_000  # rounded

    # Repayments: each instalment due by ON paid in full (on its due date, up to 3 days early, or for 4% of
    # loans up to 20 days late); overdue loans stop at their first unpaid instalment, a third of them
    # after paying that instalment's interest.
    is_due = due <= on
    stop = np.where(overdue, first_unpaid, INSTALMENTS)
    paid = is_due & (k[None, :] - 1 < stop[:, None])
    shift = np.where(g.random(n) < 0.04, g.integers(1, 21, n), -g.integers(0, 4, n))
    pay_day = np.maximum(np.minimum(due + shift[:, None], on), start[:, None] + 1)
    partial = overdue & (g.random(n) < 0.33) & (first_unpaid < INSTALMENTS)
    rows_i, rows_k = np.nonzero(paid)
    pay = {"loan": ids[rows_i], "day": pay_day[rows_i, rows_k], "principal": principal[rows_i, rows_k],
           "interest": interest[rows_i, rows_k]}
    pi = np.flatnonzero(partial & is_due[np.arange(n), np.minimum(first_unpaid, INSTALMENTS - 1)])
    pk = first_unpaid[pi]
    pay = {key: np.concatenate([pay[key], extra]) for key, extra in
           (("loan", ids[pi]), ("day", np.minimum(due[pi, pk] + 5, on)), ("principal", np.zeros(len(pi), np.int64)),
            ("interest", interest[pi, pk]))}
    order = np.lexsort((pay["day"], pay["loan"]))
    pay = {key: value[order] for key, value in pay.items()}

    # Stored summary (what repay() would have left): principal of fully paid instalments deducted.
    balance = amount - (principal * paid).sum(axis=1)
    restructured = ~overdue & (g.random(n) < 0.005) & (elapsed > 40)
    restructured_on = np.where(restructured, start + np.maximum(elapsed // 2, 1), np.datetime64("NaT"))
    cured = ~overdue & ~restructured & (g.random(n) < 0.005)  # NPLs whose arrears were paid
    classification = np.where(cured, "substandard", "normal")

    borrower = borrowers[g.integers(0, len(borrowers), n)]
    # Most borrowers deal with one bank (their house bank); a tenth of loans come from another.
    bank = np.where(g.random(n) < 0.9, borrower % BANKS, g.integers(0, BANKS, n)) + 1
    loans = list(zip(
        ids.tolist(), [f"BL{i:010d}" for i in ids.tolist()], amount.tolist(),
        [f"{r / 10000:.6f}" for r in rate_bp.tolist()], _iso(start), _iso(maturity), balance.tolist(),
        classification.tolist(), [None if np.isnat(d) else str(d) for d in restructured_on],
        bank.tolist(), borrower.tolist(), strict=True))
    flat_i = np.repeat(np.arange(n), INSTALMENTS)
    schedule = list(zip(ids[flat_i].tolist(), np.tile(k, n).tolist(), _iso(due.ravel()), principal.ravel().tolist(),
                        interest.ravel().tolist(), strict=True))
    repayments = list(zip(pay["loan"].tolist(), _iso(pay["day"]), pay["principal"].tolist(),
                          pay["interest"].tolist(), strict=True))
    again = restructured & (g.random(n) < 0.2)
    events = [(int(i), str(d), '{"kind": "terms", "restructured_again": %s}' % ("true" if a else "false"))
              for i, d, a in zip(ids[restructured], restructured_on[restructured], again[restructured],
                                 strict=True)]
    return {"loans": loans, "schedule": schedule, "repayments": repayments, "events": events,
            "overdue": int(overdue.sum())}


LOAN_COLS = ("id", "loan_no", "amount", "annual_rate", "start_date", "maturity_date", "balance", "classification",
             "restructured_on", "bank_id", "borrower_id")
LOAN_CONST = {"currency": "CNY", "schedule_kind": "equal_principal", "day_count": "ACT/360", "ip_kind": "patent",
              "pledge_registration_no": "", "first_loan": False, "inclusive_smb": False, "dpd": 0, "extended": False}
SCHED_COLS = ("loan_id", "seq", "due_date", "principal", "interest")
SCHED_CONST = {"version": 1, "current": True}
REPAY_COLS = ("loan_id", "date", "principal", "interest")
EVENT_COLS = ("loan_id", "date", "data")
EVENT_CONST = {"type": "restructure"}


class Writer:
    """Batched inserts: executemany on SQLite, COPY on PostgreSQL; ``created_at``-like columns set to now."""

    def __init__(self):
        from django.db import connection

        self.connection = connection
        self.now = dt.datetime.now(dt.UTC).isoformat()
        connection.ensure_connection()

    def drop_indexes(self, tables: tuple[str, ...]) -> list[str]:
        """Drop the tables' secondary indexes (not those backing constraints); return their DDL."""
        with self.connection.cursor() as c:
            if self.connection.vendor == "postgresql":
                c.execute("SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename = ANY(%s) AND NOT EXISTS "
                          "(SELECT 1 FROM pg_constraint k WHERE k.conname = i.indexname)", [list(tables)])
            else:
                c.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND "
                          f"tbl_name IN ({', '.join(['%s'] * len(tables))})", list(tables))
            found = c.fetchall()
            for name, _ in found:
                c.execute(f'DROP INDEX "{name}"')
        return [ddl for _, ddl in found]

    def create_indexes(self, ddl: list[str]) -> None:
        with self.connection.cursor() as c:
            for statement in ddl:
                c.execute(statement)

    def insert(self, table: str, cols: tuple[str, ...], const: dict, rows: list[tuple]) -> None:
        const = dict(const)
        cols_all = cols + tuple(const)
        tail = tuple(const.values())
        if self.connection.vendor == "postgresql":
            names = ", ".join(f'"{c}"' for c in cols_all)
            with self.connection.connection.cursor() as cur, cur.copy(f'COPY "{table}" ({names}) FROM STDIN') as cp:
                for row in rows:
                    cp.write_row(row + tail)
        else:
            names = ", ".join(f'"{c}"' for c in cols_all)
            marks = ", ".join(["?"] * len(cols_all))
            raw = self.connection.connection
            raw.executemany(f'INSERT INTO "{table}" ({names}) VALUES ({marks})', (row + tail for row in rows))


def build(n: int, seed: int) -> dict:
    from django.db import connection, transaction

    from ippledge.core.models import Organisation

    started = time.perf_counter()
    g = np.random.default_rng(seed)
    orgs = [Organisation(name=f"基准银行{b}", name_normalised=f"基准银行{b}", kind="bank") for b in range(BANKS)]
    n_borrowers = max(1, int(n * 0.7))  # so that some debtors hold several loans
    w = Writer()
    with transaction.atomic():
        Organisation.objects.bulk_create(orgs)
        assert list(Organisation.objects.order_by("id").values_list("id", flat=True)[:BANKS]) == \
            list(range(1, BANKS + 1)), "fresh database expected"
        now = w.now
        w.insert("core_organisation", ("id", "name", "name_normalised"),
                 {"kind": "enterprise", "region_code": "", "size_class": "small", "industry": "", "is_demo": False,
                  "is_active": True, "created_at": now},
                 [(BANKS + 1 + i, f"基准企业{i}", f"基准企业{i}") for i in range(n_borrowers)])
    borrowers = np.arange(BANKS + 1, BANKS + 1 + n_borrowers, dtype=np.int64)
    indexes = w.drop_indexes(("credit_loan", "credit_schedulerow", "credit_repayment", "credit_loanevent"))
    if connection.vendor == "sqlite":  # loading only: the timed runs use the settings' pragmas
        connection.connection.execute("PRAGMA synchronous=OFF")
        connection.connection.execute("PRAGMA cache_size=-262144")
    counts = {"loans": 0, "schedule_rows": 0, "repayments": 0, "restructured": 0, "overdue_built": 0}
    generate_s = 0.0
    for first in range(1, n + 1, CHUNK):
        t = time.perf_counter()
        part = generate(g, first, min(CHUNK, n + 1 - first), borrowers)
        generate_s += time.perf_counter() - t
        with transaction.atomic():
            w.insert("credit_loan", LOAN_COLS, {**LOAN_CONST, "created_at": now}, part["loans"])
            w.insert("credit_schedulerow", SCHED_COLS, SCHED_CONST, part["schedule"])
            w.insert("credit_repayment", REPAY_COLS, {"recorded_at": now}, part["repayments"])
            w.insert("credit_loanevent", EVENT_COLS, {**EVENT_CONST, "at": now}, part["events"])
        counts["loans"] += len(part["loans"])
        counts["schedule_rows"] += len(part["schedule"])
        counts["repayments"] += len(part["repayments"])
        counts["restructured"] += len(part["events"])
        counts["overdue_built"] += part["overdue"]
    t = time.perf_counter()
    w.create_indexes(indexes)
    if connection.vendor == "sqlite":
        connection.connection.execute("PRAGMA synchronous=NORMAL")
        connection.connection.execute("PRAGMA cache_size=-2000")
    index_s = time.perf_counter() - t
    with connection.cursor() as c:
        if connection.vendor == "postgresql":
            for table in ("core_organisation", "credit_loan"):
                c.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))")
        c.execute("ANALYZE")
    return {**counts, "borrowers": n_borrowers, "banks": BANKS, "generate_s": round(generate_s, 1),
            "index_s": round(index_s, 1),
            "build_s": round(time.perf_counter() - started, 1)}


def naive(ids: list[int], on: dt.date) -> tuple[float, float, dict]:
    """The scalar per-loan reference on ``ids``: (seconds to load, build facts and classify; seconds including
    the per-loan saves it makes, rolled back; {id: (dpd, balance fen, category)})."""
    from django.db import transaction
    from tests import classification_oracle as oracle

    from ippledge.core import money
    from ippledge.credit.models import Loan

    started = time.perf_counter()
    out = {}
    loans = []
    for k in range(0, len(ids), 500):
        loans += Loan.objects.filter(pk__in=ids[k:k + 500]).prefetch_related("schedule", "repayments", "events")
    for loan in loans:
        facts = oracle.loan_facts(loan, on)
        decision = oracle.classify_loan(facts, on)
        out[loan.pk] = (facts.dpd, money.to_fen(facts.balance), decision.category)
    compute_s = time.perf_counter() - started
    started = time.perf_counter()
    with transaction.atomic():
        for loan in loans:
            loan.dpd, loan.balance = out[loan.pk][0], out[loan.pk][1]
            loan.save(update_fields=["dpd", "balance"])
        transaction.set_rollback(True)
    return compute_s, compute_s + time.perf_counter() - started, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loans", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=2000, help="loans run through the naive per-loan path")
    parser.add_argument("--batch", type=int, default=200_000, help="loans per batch of the set-based pass")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    info = prepare(args.database_url)
    result: dict = {"benchmark": "credit.end_of_day", "engine": info["engine"], "python": platform.python_version(),
                    "numpy": np.__version__, "cpus": os.cpu_count(), "on": ON.isoformat(),
                    "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}
    try:
        from django.db import connection

        from ippledge.credit import bulk

        if connection.vendor == "sqlite":
            result["sqlite"] = connection.connection.execute("select sqlite_version()").fetchone()[0]
        else:
            with connection.cursor() as c:
                c.execute("SHOW server_version")
                result["postgresql"] = c.fetchone()[0]
        result["build"] = build(args.loans, args.seed)
        result["build"]["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)

        first = bulk.classify_book_bulk(ON, batch=args.batch)  # the build's stored state → today's
        next_day = ON + dt.timedelta(days=1)
        started = time.perf_counter()
        dry = bulk.compute_book(next_day, batch=args.batch)  # read-only pass, for the comparison below
        compute_s = time.perf_counter() - started
        # The naive per-loan path on a random sample of the open book, the same day, on the same stored
        # state as the read-only pass (its saves are rolled back).
        g = np.random.default_rng(args.seed + 1)
        sample = np.sort(g.choice(dry.loan_id, size=min(args.sample, len(dry)), replace=False)).tolist()
        compute_naive, with_saves, out = naive(sample, next_day)
        pos = np.searchsorted(dry.loan_id, sample)
        own = np.where(dry.blocked, dry.previous, dry.floor)  # per-loan category, before the debtor rules
        agree = sum(out[int(dry.loan_id[i])] == (int(dry.dpd[i]), int(dry.balance[i]), bulk.CATEGORIES[int(own[i])])
                    for i in pos.tolist())

        daily = bulk.classify_book_bulk(next_day, batch=args.batch)
        cats = dict(zip(*np.unique(dry.category, return_counts=True), strict=True))
        result["bulk"] = {
            "first_run": first, "next_day_run": daily, "next_day_compute_only_s": round(compute_s, 3),
            "open_loans": len(dry), "batch": args.batch,
            "categories_next_day": {bulk.CATEGORIES[int(c)]: int(v) for c, v in cats.items()},
            "overdue_loans": int((dry.dpd > 0).sum()), "contagion_hits": int((dry.contagion > 0).sum()),
            "process_peak_rss_mb_at_end": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
        per_loan = compute_naive / len(sample)
        projected = per_loan * len(dry)
        projected_saves = with_saves / len(sample) * len(dry)
        result["naive_per_loan"] = {
            "sample_loans": len(sample), "seconds": round(compute_naive, 3),
            "ms_per_loan": round(per_loan * 1000, 3), "projected_book_s": round(projected, 1),
            "with_per_loan_saves_s": round(with_saves, 3), "projected_book_with_saves_s": round(projected_saves, 1),
            "agrees_with_bulk": f"{agree}/{len(sample)}"}
        result["speedup"] = {
            "vs_next_day_run": round(projected / daily["seconds"], 1),
            "vs_first_run": round(projected / first["seconds"], 1),
            "with_saves_vs_next_day_run": round(projected_saves / daily["seconds"], 1)}
        result["targets"] = {"book_within_60s": max(first["seconds"], daily["seconds"]) <= 60,
                             "speedup_at_least_20x": result["speedup"]["vs_next_day_run"] >= 20,
                             "sample_agrees": agree == len(sample)}
    finally:
        cleanup(info)
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
