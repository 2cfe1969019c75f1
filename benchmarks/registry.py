"""Registry benchmark (not a test): prints JSON.

Builds a register of N rights and M registered pledges through the bulk path, then measures
(a) filings per second through the service with full examination, journal and audit;
(b) public search latency by right number and by party name through the HTTP API on the production
    server, and sustained searches per second — each beside two baselines measured in the same run:
    the raw SQL query for the same answer, and a framework-free WSGI endpoint running that SQL.

    python benchmarks/registry.py [--rights 1000000] [--pledges 200000] [--database-url postgres://...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import random
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import cleanup, free_port, percentiles, prepare, python, start_process, stop_process  # noqa: E402

WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
UW = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def patent(i: int) -> str:
    body = f"{2010 + i % 14}1{i % 10_000_000:07d}"
    check = sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11
    return f"{body}.{'X' if check == 10 else check}"


def uscc(i: int) -> str:
    body = f"91440300{i:09d}"
    total = sum(CHARSET.index(c) * w for c, w in zip(body, UW, strict=True))
    return body + CHARSET[(31 - total % 31) % 31]


def build(n_rights: int, n_pledges: int, batch: int = 20_000) -> dict:
    from django.db import connection, transaction
    from django.utils import timezone

    from ippledge.core.identifiers import normalise_name
    from ippledge.core.models import Organisation
    from ippledge.registry.models import Pledge, PledgeEvent, PledgeParty, PledgeRight, PledgeVersion
    from ippledge.rights.models import Right, RightHolder

    started = time.perf_counter()
    bank = Organisation.objects.create(name="基准银行", name_normalised=normalise_name("基准银行"), kind="bank",
                                       uscc=uscc(999_999_999))
    owners = 50_000
    with transaction.atomic():
        for start in range(0, n_rights, batch):
            rights = []
            for i in range(start, min(start + batch, n_rights)):
                o = i % owners
                rights.append(Right(kind="invention", number=patent(i), title=f"一种基准装置{i}",
                                    owners=[{"name": f"基准科技{o}有限公司", "id_type": "uscc", "id_number": uscc(o),
                                             "country": "CN", "domicile_in_china": True, "address": "深圳"}],
                                    filing_date=dt.date(2015, 3, 1), grant_date=dt.date(2017, 5, 1),
                                    annuity_paid_through=dt.date(2099, 2, 28)))
            Right.objects.bulk_create(rights, batch_size=2000)
            created = Right.objects.filter(number__in=[r.number for r in rights]).values_list("pk", "owners")
            RightHolder.objects.bulk_create([
                RightHolder(right_id=pk, name=own[0]["name"], name_normalised=normalise_name(own[0]["name"]),
                            id_type="uscc", id_number=own[0]["id_number"]) for pk, own in created], batch_size=2000)
    rights_s = time.perf_counter() - started
    ids = list(Right.objects.order_by("pk").values_list("pk", flat=True)[:n_pledges])
    now = timezone.now()
    with transaction.atomic():
        for start in range(0, len(ids), batch):
            chunk = ids[start:start + batch]
            pledges = [Pledge(registration_no=f"Y2025{1}{start + k:07d}", regime="patent", registered_at=now,
                              effective_date=dt.date(2025, 1, 1), secured_amount=100_000_000)  # fen
                       for k, _ in enumerate(chunk)]
            Pledge.objects.bulk_create(pledges, batch_size=2000)
            by_no = dict(Pledge.objects.filter(registration_no__in=[p.registration_no for p in pledges])
                         .values_list("registration_no", "pk"))
            pr, parties, versions, events = [], [], [], []
            for k, right_id in enumerate(chunk):
                pid = by_no[f"Y20251{start + k:07d}"]
                o = right_id % owners
                pr.append(PledgeRight(pledge_id=pid, right_id=right_id, live=True, exclusive=True))
                name = f"基准科技{o}有限公司"
                parties += [PledgeParty(pledge_id=pid, role="pledgor", name=name, name_normalised=normalise_name(name),
                                        id_type="uscc", id_number=uscc(o)),
                            PledgeParty(pledge_id=pid, role="pledgee", name="基准银行", name_normalised="基准银行",
                                        id_type="uscc", id_number=bank.uscc, org_id=bank.pk)]
                versions.append(PledgeVersion(pledge_id=pid, version=1, at=now, data={}, reason="import"))
                events.append(PledgeEvent(pledge_id=pid, type="registered", at=now, date=dt.date(2025, 1, 1)))
            PledgeRight.objects.bulk_create(pr, batch_size=2000)
            PledgeParty.objects.bulk_create(parties, batch_size=2000)
            PledgeVersion.objects.bulk_create(versions, batch_size=2000)
            PledgeEvent.objects.bulk_create(events, batch_size=2000)
    if connection.vendor == "postgresql":
        with connection.cursor() as c:
            c.execute("ANALYZE")
    else:
        with connection.cursor() as c:
            c.execute("ANALYZE")
    return {"rights": n_rights, "pledges": len(ids), "build_rights_s": round(rights_s, 1),
            "build_total_s": round(time.perf_counter() - started, 1), "owners": owners}


def filings(n: int, first_free: int) -> dict:
    from ippledge.core import services as core
    from ippledge.core.actors import SYSTEM
    from ippledge.core.models import Organisation
    from ippledge.registry import services

    bank = Organisation.objects.get(name="基准银行")
    # The registrar entering paper applications: the pledgors have no users on the platform, so a bank
    # officer's filing would wait for their confirmation and never reach examination and registration.
    office = Organisation.objects.filter(kind="ip_office").first() or core.create_organisation(
        actor=SYSTEM, name="基准知识产权局", kind="ip_office")
    officer = core.create_user(actor=SYSTEM, username=f"bench-{time.time_ns()}", password="Bench-pass-2026!",
                               org_id=office.pk, roles=["registrar"])
    bodies = []
    for k in range(n):
        i = first_free + k
        o = i % 50_000
        bodies.append({"pledgors": [{"name": f"基准科技{o}有限公司", "id_type": "uscc", "id_number": uscc(o),
                                     "address": "深圳", "country": "CN"}],
                       "pledgees": [{"name": "基准银行", "id_type": "uscc", "id_number": bank.uscc, "address": "北京"}],
                       "rights": [{"kind": "invention", "number": patent(i)}],
                       "secured_debt": {"type": "贷款", "amount": "1000000", "currency": "CNY"},
                       "debt_due_date": "2027-01-01", "guarantee_scope": "主债权", "contract_no": f"B{i}",
                       "confirmations": {"pledgor": True, "pledgee": True}})
    started = time.perf_counter()
    outcomes = {}
    for body in bodies:
        app = services.file_application(actor=officer, data=body)
        outcomes[app.status] = outcomes.get(app.status, 0) + 1
    elapsed = time.perf_counter() - started
    return {"filings": n, "seconds": round(elapsed, 3), "filings_per_s": round(n / elapsed, 1), "outcomes": outcomes}


def raw_sql_latency(url: str, rights: list[str], parties: list[str]) -> dict:
    sys.path.insert(0, str(Path(__file__).parent))
    from minimal_wsgi import Store

    store = Store(url)
    out = {}
    for label, key, values in (("by_right", "right", rights), ("by_party", "party", parties)):
        samples = []
        for v in values:
            t = time.perf_counter()
            store.search(**{key: v})
            samples.append(time.perf_counter() - t)
        out[label] = percentiles(samples)
    return out


def http_latency(port: int, path_for, values: list[str]) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    samples, found = [], 0
    for v in values:
        t = time.perf_counter()
        conn.request("GET", path_for(v))
        resp = conn.getresponse()
        body = resp.read()
        samples.append(time.perf_counter() - t)
        assert resp.status == 200, body[:300]
        found += len(json.loads(body)["results"])
    conn.close()
    return {**percentiles(samples), "results": found}


def sustained(port: int, path_for, values: list[str], seconds: float, clients: int) -> dict:
    count = [0] * clients
    stop = time.perf_counter() + seconds

    def worker(k):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        i = k
        while time.perf_counter() < stop:
            conn.request("GET", path_for(values[i % len(values)]))
            resp = conn.getresponse()
            resp.read()
            count[k] += resp.status == 200
            i += clients
        conn.close()

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    return {"requests": sum(count), "seconds": round(elapsed, 2), "per_s": round(sum(count) / elapsed, 1),
            "clients": clients}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rights", type=int, default=1_000_000)
    parser.add_argument("--pledges", type=int, default=200_000)
    parser.add_argument("--filings", type=int, default=300)
    parser.add_argument("--searches", type=int, default=1000)
    parser.add_argument("--sustain-seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2, help="server processes, for our API and the baseline")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    info = prepare(args.database_url)
    result = {"benchmark": "registry", "engine": info["engine"], "python": sys.version.split()[0],
              "workers": args.workers, "clients": args.clients, "cpus": os.cpu_count()}
    try:
        result["build"] = build(args.rights, args.pledges)
        result["filing"] = filings(args.filings, first_free=args.pledges)
        rng = random.Random(7)
        rights = [patent(rng.randrange(args.pledges)) for _ in range(args.searches)]
        from ippledge.core.identifiers import normalise_name

        parties = [normalise_name(f"基准科技{rng.randrange(50_000)}有限公司") for _ in range(args.searches)]
        raw_rights = [r.replace(".", "") for r in rights]  # another normal form for the API
        from django.db import connections

        connections.close_all()
        api_port, min_port = free_port(), free_port()
        api = start_process([python(), "-m", "ippledge.cli", "serve", "--port", str(api_port), "--threads", "8",
                             "--workers", str(args.workers)], api_port)
        minimal = start_process([python(), str(Path(__file__).parent / "minimal_wsgi.py"), info["url"],
                                 str(min_port), str(args.workers)], min_port)
        try:
            api_right = lambda v: f"/api/v1/public/pledges?right={v}"  # noqa: E731
            api_party = lambda v: f"/api/v1/public/pledges?party={v}"  # noqa: E731
            min_right = lambda v: f"/search?right={v}"  # noqa: E731
            min_party = lambda v: f"/search?party={v}"  # noqa: E731
            from urllib.parse import quote

            enc = [quote(p) for p in parties]
            http_latency(api_port, api_right, raw_rights[:50])  # warm up
            http_latency(min_port, min_right, rights[:50])
            result["search"] = {
                "raw_sql": raw_sql_latency(info["url"], rights, parties),
                "api": {"by_right": http_latency(api_port, api_right, raw_rights),
                        "by_party": http_latency(api_port, api_party, enc)},
                "minimal_wsgi": {"by_right": http_latency(min_port, min_right, rights),
                                 "by_party": http_latency(min_port, min_party, enc)},
                "sustained": {"api": sustained(api_port, api_right, raw_rights, args.sustain_seconds, args.clients),
                              "minimal_wsgi": sustained(min_port, min_right, rights, args.sustain_seconds,
                                                        args.clients)},
            }
            s = result["search"]
            result["ratios"] = {
                "api_over_minimal_p50_by_right": round(s["api"]["by_right"]["p50_ms"] /
                                                       s["minimal_wsgi"]["by_right"]["p50_ms"], 2),
                "api_over_minimal_p50_by_party": round(s["api"]["by_party"]["p50_ms"] /
                                                       s["minimal_wsgi"]["by_party"]["p50_ms"], 2),
                "minimal_over_api_throughput": round(s["sustained"]["minimal_wsgi"]["per_s"] /
                                                     s["sustained"]["api"]["per_s"], 2),
            }
            result["targets"] = {"filings_per_s>=300": result["filing"]["filings_per_s"] >= 300,
                                 "api_p99_by_right<=10ms": s["api"]["by_right"]["p99_ms"] <= 10,
                                 "api_p99_by_party<=10ms": s["api"]["by_party"]["p99_ms"] <= 10,
                                 "api/minimal<=3": max(result["ratios"]["api_over_minimal_p50_by_right"],
                                                       result["ratios"]["api_over_minimal_p50_by_party"]) <= 3,
                                 "sustained>=500/s": s["sustained"]["api"]["per_s"] >= 500}
        finally:
            stop_process(api)
            stop_process(minimal)
    finally:
        cleanup(info)
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
