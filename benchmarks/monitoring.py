"""Monitoring benchmark (not a test): prints JSON.

Builds a register of M rights with K live pledges (the registry benchmark's bulk builder), writes a
JSON Lines legal-status feed of N events for random rights (numbers in the feeds' forms: docdb
without check character, ZL… with it), then measures, each beside a raw-SQL baseline in the same run:

(a) the import (``monitoring.feeds.importer.import_feed``: every row cleaned and validated by the
    register's rules, pledged rights through ``record_event`` with guards, alerts and notices) against
    a baseline that reads the same file and does the same matching in raw SQL — numbers to ids in
    one query per chunk, sequence numbers and duplicates from the existing rows, one executemany
    insert — into a scratch copy of the events table with the same indexes;
(b) the end-of-day monitoring pass (the registered ``monitoring.*`` end-of-day jobs) against a
    baseline that reads every live pledged right with its events in one raw query and computes the
    annuity due date in Python.

    python benchmarks/monitoring.py [--small] [--events 1000000] [--rights 1000000] [--pledges 200000]
                                    [--database-url postgres://...]

``--small`` scales the defaults down 20× (50,000 events, 50,000 rights, 10,000 pledges).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cleanup, prepare  # noqa: E402

# (share, official code, type, extra fields): legal-status rows as a daily CN feed mixes them.
MIX = ((30, "PB01", "", {}), (10, "RINS", "", {}), (30, "", "annuity_paid", {"paid_through": "2099-02-28"}),
       (15, "PP01", "", {}), (15, "EE01", "", {}))
CHUNK = 5000


def write_feed(path: Path, n_events: int, n_rights: int) -> None:
    from registry import patent

    rng = random.Random(12)
    weighted = [m for m in MIX for _ in range(m[0])]
    start = dt.date(2018, 1, 1)
    with path.open("w", encoding="utf-8") as fh:
        for k in range(n_events):
            _share, code, etype, extra = rng.choice(weighted)
            number = patent(rng.randrange(n_rights))
            written = f"CN{number[:12]}" if k % 2 else f"ZL{number}"
            row = {"kind": "invention", "number": written, "date": (start + dt.timedelta(rng.randrange(2500))).isoformat(),
                   **({"official_code": code} if code else {"type": etype}), **extra}
            fh.write(json.dumps(row) + "\n")


def import_run(path: Path) -> dict:
    from ippledge.core.actors import SystemActor
    from ippledge.monitoring.feeds.importer import import_feed

    started = time.perf_counter()
    summary = import_feed(actor=SystemActor("bench"), source=str(path), fmt="jsonl")
    elapsed = time.perf_counter() - started
    return {"seconds": round(elapsed, 2), "events_per_s": round(summary["rows"] / elapsed, 1),
            "rows": summary["rows"], "imported": summary["imported"], "unchanged": summary["unchanged"],
            "rejected": summary["rejected_total"], "rejected_codes": _codes(summary["rejected"]),
            "unmatched_rows": summary["unmatched_rows"], "imported_by_type": summary["imported_by_type"]}


def _codes(rejected: list[dict]) -> dict:
    out: dict[str, int] = {}
    for r in rejected:
        out[r["code"]] = out.get(r["code"], 0) + 1
    return out


def _number(raw: str) -> str:
    """The same folding as the feed's (docdb/ZL forms to the register's), without the library."""
    text = raw.upper().removeprefix("ZL").removeprefix("CN")
    if "." in text:
        return text
    weights = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
    check = sum(int(d) * w for d, w in zip(text, weights, strict=False)) % 11
    return f"{text}.{'X' if check == 10 else check}"


def baseline_import(path: Path) -> dict:
    """Read, match numbers to ids per chunk, sequence and de-duplicate, insert: raw SQL, no rules."""
    from django.db import connection, transaction

    with connection.cursor() as c:
        c.execute("DROP TABLE IF EXISTS bench_events")
        c.execute("CREATE TABLE bench_events AS SELECT * FROM rights_legalevent WHERE 1 = 0")
        # The same indexes as the events table, so both inserts maintain the same constraints.
        c.execute("CREATE INDEX bench_events_right ON bench_events (right_id)")
        c.execute("CREATE INDEX bench_events_user ON bench_events (recorded_by_id)")
        c.execute("CREATE UNIQUE INDEX bench_events_seq ON bench_events (right_id, seq)")
        c.execute("CREATE UNIQUE INDEX bench_events_official ON bench_events (right_id, official_code, date) "
                  "WHERE official_code <> ''")
    started = time.perf_counter()
    rows_total = inserted = 0
    now = dt.datetime.now(dt.UTC).isoformat()
    with path.open(encoding="utf-8") as fh:
        while True:
            lines = [fh.readline() for _ in range(CHUNK)]
            rows = [json.loads(line) for line in lines if line.strip()]
            if not rows:
                break
            rows_total += len(rows)
            with transaction.atomic(), connection.cursor() as c:
                numbers = {_number(r["number"]) for r in rows}
                marks = ", ".join(["%s"] * len(numbers))
                c.execute(f"SELECT number, id FROM rights_right WHERE kind = 'invention' AND number IN ({marks})",
                          list(numbers))
                ids = dict(c.fetchall())
                id_marks = ", ".join(["%s"] * len(ids)) or "NULL"
                c.execute(f"SELECT right_id, seq, type, official_code, date FROM bench_events "
                          f"WHERE right_id IN ({id_marks})", list(ids.values()))
                seqs: dict[int, int] = {}
                seen = set()
                for right_id, seq, etype, code, day in c.fetchall():
                    seqs[right_id] = max(seqs.get(right_id, 0), seq)
                    seen.add((right_id, code or etype, str(day)))
                batch = []
                for r in rows:
                    right_id = ids.get(_number(r["number"]))
                    key = (right_id, r.get("official_code") or r.get("type"), r["date"])
                    if right_id is None or key in seen:
                        continue
                    seen.add(key)
                    seqs[right_id] = seqs.get(right_id, 0) + 1
                    payload = json.dumps({"paid_through": r["paid_through"]} if "paid_through" in r else {})
                    batch.append((right_id, seqs[right_id], r.get("type") or "coded", r["date"],
                                  r.get("official_code", ""), payload, "", now))
                c.executemany("INSERT INTO bench_events (right_id, seq, type, date, official_code, payload, note, "
                              "recorded_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", batch)
                inserted += len(batch)
    elapsed = time.perf_counter() - started
    with connection.cursor() as c:
        c.execute("DROP TABLE bench_events")
    return {"seconds": round(elapsed, 2), "events_per_s": round(rows_total / elapsed, 1), "inserted": inserted}


def eod_run(day: dt.date) -> dict:
    from django.db import transaction

    from ippledge.core import eod

    jobs = [j for j in eod.jobs() if j.name.startswith("monitoring.")]
    out = {}
    started = time.perf_counter()
    for job in jobs:
        t0 = time.perf_counter()
        with transaction.atomic():
            detail = job.func(day)
        out[job.name] = {"seconds": round(time.perf_counter() - t0, 2), "detail": detail}
    return {"seconds": round(time.perf_counter() - started, 2), "jobs": out}


def baseline_eod(day: dt.date) -> dict:
    """Every live pledged right with its events, one query; the next annuity due date in Python."""
    from django.db import connection

    started = time.perf_counter()
    due_soon = 0
    with connection.cursor() as c:
        c.execute("SELECT r.id, r.annuity_paid_through, e.type, e.payload FROM registry_pledgeright pr "
                  "JOIN registry_pledge p ON p.id = pr.pledge_id AND p.status = 'registered' "
                  "JOIN rights_right r ON r.id = pr.right_id "
                  "LEFT JOIN rights_legalevent e ON e.right_id = r.id "
                  "WHERE pr.live ORDER BY r.id")
        current, paid = None, None
        for right_id, paid_through, etype, payload in c.fetchall():
            if right_id != current:
                if current is not None and paid is not None and (paid - day).days <= 60:
                    due_soon += 1
                current = right_id
                paid = paid_through if isinstance(paid_through, dt.date) else \
                    dt.date.fromisoformat(str(paid_through)) if paid_through else None
            if etype == "annuity_paid" and payload:
                value = (json.loads(payload) if isinstance(payload, str) else payload).get("paid_through")
                if value:
                    paid = max(paid or dt.date.min, dt.date.fromisoformat(value))
    return {"seconds": round(time.perf_counter() - started, 2), "due_within_60_days": due_soon}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", action="store_true", help="defaults scaled down 20x")
    parser.add_argument("--events", type=int)
    parser.add_argument("--rights", type=int)
    parser.add_argument("--pledges", type=int)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    scale = 20 if args.small else 1
    n_events = args.events or 1_000_000 // scale
    n_rights = args.rights or 1_000_000 // scale
    n_pledges = args.pledges if args.pledges is not None else 200_000 // scale
    info = prepare(args.database_url)
    result = {"benchmark": "monitoring", "engine": info["engine"], "python": sys.version.split()[0],
              "cpus": os.cpu_count(), "events": n_events, "rights": n_rights, "pledges": n_pledges}
    try:
        from registry import build

        from ippledge.core import business_date

        result["build"] = build(n_rights, n_pledges)
        feed = Path(tempfile.mkdtemp(prefix="ippledge-feed-")) / "events.jsonl"
        write_feed(feed, n_events, n_rights)
        result["feed_mb"] = round(feed.stat().st_size / 1e6, 1)
        result["import_baseline"] = baseline_import(feed)
        result["import"] = import_run(feed)
        result["import_ratio"] = round(result["import_baseline"]["events_per_s"] / result["import"]["events_per_s"], 2)
        again = import_run(feed)
        result["reimport"] = {k: again[k] for k in ("seconds", "events_per_s", "imported", "unchanged")}
        day = business_date.today()
        result["eod_baseline"] = baseline_eod(day)
        result["eod"] = eod_run(day)
        result["eod_ratio"] = round(result["eod"]["seconds"] / max(result["eod_baseline"]["seconds"], 0.001), 2)
    finally:
        cleanup(info)
    print(json.dumps(result, ensure_ascii=False, indent=2, default=str))


if __name__ == "__main__":
    main()
