"""Whole-platform load test (not a test): prints JSON.

Builds a fresh database, loads the demo region (``ippledge.demo``) and scales its register to
``--rights`` invention patents through the bulk path (as ``registry.py`` does), starts the production
server (``ippledge serve --workers 2 --threads 8``) and the minimal WSGI baseline
(``minimal_wsgi.py``, same waitress server, same workers), then drives a weighted mix with Locust run
as a library (local runner, no web UI), closed loop (no think time), one step per ``--users`` value:

    public search            70  (50 by right number, 20 by party name; anonymous)
    search certificate        5  (POST, anonymous; a sealed certificate row and a number each)
    pledge filing            10  (a bank officer's token files a new pledge over an unpledged right of a
                                  platform enterprise, 201 awaiting the pledgor; the enterprise's own token
                                  confirms, which examines and registers it — both requests are timed)
    credit-case read         10  (the bank officer's token: 7 one case, 3 the workbench list)
    regulator dashboard       5  (the statistics dashboard page with a regulator's session, or its API)

Every non-2xx answer is an error, and so is a filing that does not end registered.  Then, at the
highest passing step's user count, the search-only part of the mix against the minimal endpoint and
against the API, for the like-for-like ratio.

    python benchmarks/load.py [--rights 100000] [--seconds 60] [--users 2,4,8,16]
                              [--dashboard page api] [--database-url postgres://...]

Needs the ``bench`` extra (``pip install -e '.[bench]'``: Locust).  Locust runs in a child process of
this script (it monkey-patches the standard library with gevent, which the Django set-up here should
not see) on the same machine as the servers, so its CPU time is reported too.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
UW = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
SERIAL_BASE = 8_000_000  # bench patent serials, far above the demo region's
P99_TARGET_MS = 100


def patent(i: int) -> str:
    body = f"{2010 + i % 14}1{SERIAL_BASE + i % 1_000_000:07d}"
    check = sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11
    return f"{body}.{'X' if check == 10 else check}"


def uscc(i: int) -> str:
    body = f"91440300{700_000_000 + i:09d}"
    total = sum(CHARSET.index(c) * w for c, w in zip(body, UW, strict=True))
    return body + CHARSET[(31 - total % 31) % 31]


def owner_name(o: int) -> str:
    return f"负载科技{o}有限公司"


# --------------------------------------------------------------------------------------------
# Build (parent process, Django)
# --------------------------------------------------------------------------------------------

def load_demo_region(seed: int) -> dict:
    from ippledge.core import business_date
    from ippledge.demo.generator import load_demo

    started = time.perf_counter()
    summary = load_demo(seed=seed, today=business_date.today())
    return {"seed": seed, "demo_rights": summary.rights, "demo_pledges": summary.pledges,
            "seconds": round(time.perf_counter() - started, 1)}


def scale(n_total: int, n_pledges: int, n_pool: int, owners: int, bank, enterprises: list,
          batch: int = 20_000) -> dict:
    """Add invention patents up to ``n_total`` rights: the first ``n_pledges`` registered (bulk, historic)
    to off-platform owners, then unpledged ones, the last ``n_pool`` owned by platform enterprises with
    users (the filings' rights)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from ippledge.core.identifiers import normalise_name
    from ippledge.registry.models import Pledge, PledgeEvent, PledgeParty, PledgeRight, PledgeVersion
    from ippledge.rights.models import Right, RightHolder

    started = time.perf_counter()
    n_bench = n_total - Right.objects.count()
    if n_bench < n_pledges + n_pool:
        raise SystemExit(f"--rights {n_total} leaves {n_bench} bench rights, fewer than pledges + filing pool")
    taken = set(Right.objects.filter(kind="invention").values_list("number", flat=True))
    if any(patent(i) in taken for i in range(n_bench)):
        raise SystemExit("bench patent numbers collide with the demo region's; change SERIAL_BASE")
    pool_start = n_bench - n_pool

    def owner_of(i: int) -> dict:
        if i >= pool_start:
            org = enterprises[i % len(enterprises)]
            return {"name": org.name, "id_type": "uscc", "id_number": org.uscc}
        return {"name": owner_name(i % owners), "id_type": "uscc", "id_number": uscc(i % owners)}

    with transaction.atomic():
        for start in range(0, n_bench, batch):
            rights = []
            for i in range(start, min(start + batch, n_bench)):
                rights.append(Right(kind="invention", number=patent(i), title=f"一种负载测试装置{i}",
                                    owners=[{**owner_of(i), "country": "CN", "domicile_in_china": True,
                                             "address": "广东省深圳市"}],
                                    filing_date=dt_date(2015, 3, 1), grant_date=dt_date(2017, 5, 1),
                                    annuity_paid_through=dt_date(2099, 2, 28)))
            Right.objects.bulk_create(rights, batch_size=2000)
            created = Right.objects.filter(number__in=[r.number for r in rights]).values_list("pk", "owners")
            RightHolder.objects.bulk_create([
                RightHolder(right_id=pk, name=own[0]["name"], name_normalised=normalise_name(own[0]["name"]),
                            id_type="uscc", id_number=own[0]["id_number"]) for pk, own in created], batch_size=2000)
    rights_s = time.perf_counter() - started
    ids = dict(Right.objects.filter(number__in=[patent(i) for i in range(n_pledges)]).values_list("number", "pk"))
    now = timezone.now()
    with transaction.atomic():
        for start in range(0, n_pledges, batch):
            chunk = range(start, min(start + batch, n_pledges))
            pledges = [Pledge(registration_no=f"Y20259{i:07d}", regime="patent", registered_at=now,
                              effective_date=dt_date(2025, 1, 1), secured_amount=100_000_000)  # fen
                       for i in chunk]
            Pledge.objects.bulk_create(pledges, batch_size=2000)
            by_no = dict(Pledge.objects.filter(registration_no__in=[p.registration_no for p in pledges])
                         .values_list("registration_no", "pk"))
            pr, parties, versions, events = [], [], [], []
            for i in chunk:
                pid = by_no[f"Y20259{i:07d}"]
                own = owner_of(i)
                pr.append(PledgeRight(pledge_id=pid, right_id=ids[patent(i)], live=True, exclusive=True))
                parties += [PledgeParty(pledge_id=pid, role="pledgor", name=own["name"],
                                        name_normalised=normalise_name(own["name"]), id_type="uscc",
                                        id_number=own["id_number"]),
                            PledgeParty(pledge_id=pid, role="pledgee", name=bank.name,
                                        name_normalised=normalise_name(bank.name), id_type="uscc",
                                        id_number=bank.uscc, org_id=bank.pk)]
                versions.append(PledgeVersion(pledge_id=pid, version=1, at=now, data={}, reason="import"))
                events.append(PledgeEvent(pledge_id=pid, type="registered", at=now, date=dt_date(2025, 1, 1)))
            PledgeRight.objects.bulk_create(pr, batch_size=2000)
            PledgeParty.objects.bulk_create(parties, batch_size=2000)
            PledgeVersion.objects.bulk_create(versions, batch_size=2000)
            PledgeEvent.objects.bulk_create(events, batch_size=2000)
    with connection.cursor() as c:
        c.execute("ANALYZE")
    return {"rights": Right.objects.count(), "bench_rights": n_bench, "bulk_pledges": n_pledges,
            "filing_pool": n_pool, "pool_start": pool_start, "off_platform_owners": owners,
            "build_rights_s": round(rights_s, 1), "build_total_s": round(time.perf_counter() - started, 1)}


def dt_date(y: int, m: int, d: int):
    import datetime as dt

    return dt.date(y, m, d)


def make_plan(args, built: dict, api_url: str, minimal_url: str) -> dict:
    """Everything the Locust child needs: credentials, look-up values, the filing template."""
    from django.test import Client

    from ippledge.core import business_date
    from ippledge.core import services as core
    from ippledge.core.identifiers import normalise_name
    from ippledge.core.models import User
    from ippledge.credit.workflow_models import CreditCase

    officer = User.objects.select_related("organisation").get(username="bank_officer")
    regulator = User.objects.get(username="regulator")
    bank = officer.organisation
    rng = random.Random(7)
    today = business_date.today()
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(regulator)
    pledged = [patent(rng.randrange(built["bulk_pledges"])) for _ in range(4000)]
    unpledged = [patent(rng.randrange(built["bulk_pledges"], built["pool_start"])) for _ in range(500)]
    return {
        "api": api_url, "minimal": minimal_url,
        "officer_token": core.issue_token(user=officer, name="load-test"),
        "regulator_token": core.issue_token(user=regulator, name="load-test"),
        "regulator_cookie": client.cookies["sessionid"].value,
        "enterprise_tokens": [core.issue_token(user=u, name="load-test") for u in enterprise_users()],
        "search_rights": pledged + unpledged,  # about one in nine finds nothing
        "search_parties": [normalise_name(owner_name(rng.randrange(built["off_platform_owners"])))
                           for _ in range(4000)],
        "certificate_rights": pledged[:1000],
        "case_nos": list(CreditCase.objects.filter(bank=bank).values_list("case_no", flat=True)),
        "period": f"{today.year}Q{(today.month - 1) // 3 + 1}",
        "due_date": today.replace(year=today.year + 1).isoformat(),
        "bank": {"name": bank.name, "id_type": "uscc", "id_number": bank.uscc, "address": "广东省深圳市",
                 "country": "CN"},
        "pool_start": built["pool_start"], "pool_end": built["bench_rights"],
    }


def enterprise_users() -> list:
    """One active enterprise user per demo enterprise that has users, in a stable order."""
    from ippledge.core.models import User
    from ippledge.core.roles import Role

    seen, out = set(), []
    for u in (User.objects.filter(is_active=True, roles__role=Role.ENTERPRISE_USER.value)
              .select_related("organisation").order_by("organisation_id", "pk")):
        if u.organisation_id not in seen and u.organisation.uscc:
            seen.add(u.organisation_id)
            out.append(u)
    return out


# --------------------------------------------------------------------------------------------
# Load (child process, Locust)
# --------------------------------------------------------------------------------------------

def filing_body(plan: dict, i: int, enterprise: dict) -> dict:
    return {"pledgors": [{**enterprise, "address": "广东省深圳市", "country": "CN"}],
            "pledgees": [plan["bank"]],
            "rights": [{"kind": "invention", "number": patent(i)}],
            "secured_debt": {"type": "贷款", "amount": "1000000", "currency": "CNY"},
            "debt_due_date": plan["due_date"], "guarantee_scope": "主债权及利息", "contract_no": f"LOAD-{i}",
            "confirmations": {"pledgee": True}}


def run_step(plan: dict, *, target: str, mix: str, dashboard: str, users: int, seconds: float,
             warmup: float, filing_start: int) -> dict:
    """One closed-loop step in this (child) process; returns per-operation statistics."""
    import gevent
    from locust import FastHttpUser, constant, task
    from locust.env import Environment

    rng = random.Random(users * 1000 + filing_start)
    officer = {"Authorization": f"Bearer {plan['officer_token']}"}
    regulator = {"Authorization": f"Bearer {plan['regulator_token']}"}
    tokens = plan["enterprise_tokens"]
    enterprises = plan["enterprises"]
    state = {"next": filing_start, "outcomes": {}}
    base = "/search" if target == "minimal" else "/api/v1/public/pledges"

    class Searches(FastHttpUser):
        abstract = True
        wait_time = constant(0)
        host = plan[target]

        @task(50)
        def search_right(self):
            self.client.get(f"{base}?right={rng.choice(plan['search_rights'])}", name="search_by_right")

        @task(20)
        def search_party(self):
            from urllib.parse import quote

            self.client.get(f"{base}?party={quote(rng.choice(plan['search_parties']))}", name="search_by_party")

    class Platform(Searches):
        abstract = True

        @task(5)
        def certificate(self):
            with self.client.post("/api/v1/public/search-certificates", name="certificate_issue",
                                  json={"right": rng.choice(plan["certificate_rights"])},
                                  catch_response=True) as r:
                r.success() if r.status_code == 201 else r.failure(f"{r.status_code}: {r.text[:200]}")

        @task(10)
        def filing(self):
            i = state["next"]
            if i >= plan["pool_end"]:
                raise RuntimeError("filing pool exhausted: raise --filing-pool")
            state["next"] += 1
            k = i % len(tokens)  # the right's owner, as scale() assigned it
            with self.client.post("/api/v1/pledge-applications", name="filing", headers=officer,
                                  json=filing_body(plan, i, enterprises[k]), catch_response=True) as r:
                if r.status_code != 201:
                    r.failure(f"{r.status_code}: {r.text[:300]}")
                    return
                body = r.json()
                r.success()
            if body["status"] != "awaiting_confirmation":
                state["outcomes"][body["status"]] = state["outcomes"].get(body["status"], 0) + 1
                return
            with self.client.post(f"/api/v1/pledge-applications/{body['application_no']}/confirmation",
                                  name="filing_confirmation", json={"side": "pledgor"},
                                  headers={"Authorization": f"Bearer {tokens[k]}"}, catch_response=True) as r:
                status = r.json().get("status", "?") if r.status_code == 200 else f"http_{r.status_code}"
                state["outcomes"][status] = state["outcomes"].get(status, 0) + 1
                if status == "registered":
                    r.success()
                else:
                    r.failure(f"{r.status_code} {status}: {r.text[:300]}")

        @task(7)
        def case_read(self):
            self.client.get(f"/api/v1/credit-cases/{rng.choice(plan['case_nos'])}", name="credit_case_read",
                            headers=officer)

        @task(3)
        def case_list(self):
            self.client.get("/api/v1/credit-cases", name="credit_case_list", headers=officer)

        @task(5)
        def dashboard_load(self):
            if dashboard == "page":
                self.client.get(f"/reports/?period={plan['period']}", name="dashboard_page",
                                headers={"Cookie": f"sessionid={plan['regulator_cookie']}"})
            else:
                self.client.get(f"/api/v1/reports/ip-pledge-loans?period={plan['period']}", name="dashboard_api",
                                headers=regulator)

    user_class = type("LoadUser", (Platform if mix == "full" else Searches,), {"abstract": False})
    env = Environment(user_classes=[user_class])
    runner = env.create_local_runner()
    runner.start(users, spawn_rate=users)
    gevent.sleep(warmup)
    env.stats.reset_all()
    state["outcomes"] = {}
    started_at, cpu1 = time.monotonic(), time.process_time()
    gevent.sleep(seconds)
    elapsed, cpu = time.monotonic() - started_at, time.process_time() - cpu1
    stats = env.stats
    ops = {}
    for (name, _method), e in sorted(stats.entries.items()):
        ops[name] = {"count": e.num_requests, "rps": round(e.num_requests / elapsed, 1),
                     "p50_ms": e.get_response_time_percentile(0.5), "p99_ms": e.get_response_time_percentile(0.99),
                     "max_ms": round(e.max_response_time or 0), "errors": e.num_failures}
    total = stats.total
    errors = [{"op": e.name, "error": str(e.error)[:300], "n": e.occurrences} for e in stats.errors.values()]
    runner.quit()
    return {"target": target, "mix": mix, "dashboard": dashboard if mix == "full" else None, "users": users,
            "seconds": round(elapsed, 1), "requests": total.num_requests,
            "rps": round(total.num_requests / elapsed, 1), "errors": total.num_failures,
            "p50_ms": total.get_response_time_percentile(0.5), "p99_ms": total.get_response_time_percentile(0.99),
            "ops": ops, "filing_outcomes": state["outcomes"], "filings_used": state["next"] - filing_start,
            "client_cpu_share": round(cpu / elapsed, 2), "error_samples": errors[:5]}


def child(args) -> None:
    import locust  # noqa: F401  (monkey-patches first, before anything else opens a socket)

    plan = json.loads(Path(args.plan).read_text())
    result = run_step(plan, target=args.target, mix=args.mix, dashboard=args.dashboard_mode, users=args.step_users,
                      seconds=args.seconds, warmup=args.warmup, filing_start=args.filing_start)
    print(json.dumps(result, ensure_ascii=False))


def step(plan_path: Path, *, target: str, mix: str, dashboard: str, users: int, seconds: float, warmup: float,
         filing_start: int) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", "--plan", str(plan_path), "--target", target,
           "--mix", mix, "--dashboard-mode", dashboard, "--step-users", str(users), "--seconds", str(seconds),
           "--warmup", str(warmup), "--filing-start", str(filing_start)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + warmup + 120)
    if done.returncode != 0:
        raise RuntimeError(f"load step failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def passes(result: dict) -> bool:
    return result["errors"] == 0 and all(op["p99_ms"] <= P99_TARGET_MS for op in result["ops"].values())


# --------------------------------------------------------------------------------------------
# Orchestration
# --------------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rights", type=int, default=100_000, help="rights in the register, demo included")
    parser.add_argument("--pledges", type=int, default=20_000, help="registered pledges added in bulk")
    parser.add_argument("--filing-pool", type=int, default=20_000, help="unpledged rights kept for the filings")
    parser.add_argument("--seconds", type=float, default=60, help="measured seconds per step")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of load before each measurement")
    parser.add_argument("--users", default="2,4,8,16", help="concurrent closed-loop users, one step each")
    parser.add_argument("--dashboard", nargs="+", choices=["page", "api"], default=["page"],
                        help="the regulator dashboard as its page (session) or its API (token); both: two series")
    parser.add_argument("--workers", type=int, default=2, help="server processes, for the API and the baseline")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--database-url", default=None)
    # internal: one Locust step in a child process
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--plan", help=argparse.SUPPRESS)
    parser.add_argument("--target", default="api", help=argparse.SUPPRESS)
    parser.add_argument("--mix", default="full", help=argparse.SUPPRESS)
    parser.add_argument("--dashboard-mode", default="page", help=argparse.SUPPRESS)
    parser.add_argument("--step-users", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--filing-start", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    sys.path.insert(0, str(HERE))
    from _common import cleanup, free_port, prepare, python, start_process, stop_process

    users = [int(u) for u in args.users.split(",") if u.strip()]
    info = prepare(args.database_url)
    result = {"benchmark": "load", "engine": info["engine"], "python": sys.version.split()[0],
              "cpus": os.cpu_count(), "workers": args.workers, "threads": 8, "seconds": args.seconds,
              "load_before": os.getloadavg()[0]}
    api = minimal = None
    try:
        from ippledge.core.models import User

        result["demo"] = load_demo_region(args.seed)
        bank = User.objects.select_related("organisation").get(username="bank_officer").organisation
        ents = [u.organisation for u in enterprise_users()]
        result["build"] = scale(args.rights, args.pledges, args.filing_pool, 10_000, bank, ents)
        api_port, min_port = free_port(), free_port()
        plan = make_plan(args, result["build"], f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{min_port}")
        plan["enterprises"] = [{"name": o.name, "id_type": "uscc", "id_number": o.uscc} for o in ents]
        plan_path = Path(info["data_dir"]) / "load-plan.json"
        plan_path.write_text(json.dumps(plan, ensure_ascii=False))
        from django.db import connections

        connections.close_all()
        api = start_process([python(), "-m", "ippledge.cli", "serve", "--port", str(api_port), "--threads", "8",
                             "--workers", str(args.workers)], api_port)
        minimal = start_process([python(), str(HERE / "minimal_wsgi.py"), info["url"], str(min_port),
                                 str(args.workers)], min_port)
        next_filing = plan["pool_start"]
        # A short smoke step: every operation answers as it should before anything is measured.
        smoke = step(plan_path, target="api", mix="full", dashboard=args.dashboard[0], users=2, seconds=3, warmup=1,
                     filing_start=next_filing)
        next_filing += smoke["filings_used"] + 50
        if smoke["errors"]:
            result["smoke"] = smoke
            raise SystemExit(json.dumps(result, ensure_ascii=False, indent=2))
        result["steps"] = []
        for mode in args.dashboard:
            for n in users:
                r = step(plan_path, target="api", mix="full", dashboard=mode, users=n, seconds=args.seconds,
                         warmup=args.warmup, filing_start=next_filing)
                next_filing += r["filings_used"] + 50  # filings cut off mid-flight may have taken a number
                r["meets_p99_100ms_no_errors"] = passes(r)
                r["over_target"] = sorted(k for k, op in r["ops"].items() if op["p99_ms"] > P99_TARGET_MS)
                result["steps"].append(r)
                print(f"# {mode} users={n}: {r['rps']} req/s, p99 {r['p99_ms']} ms, errors {r['errors']}, "
                      f"pass={r['meets_p99_100ms_no_errors']} over={r['over_target']}", file=sys.stderr, flush=True)
        passing = [r for r in result["steps"] if r["meets_p99_100ms_no_errors"]]
        best = max(passing, key=lambda r: r["rps"]) if passing else None
        at = best["users"] if best else users[0]
        result["best"] = ({"users": best["users"], "dashboard": best["dashboard"], "rps": best["rps"]}
                          if best else None)
        base = {"mix": "search", "dashboard": "-", "users": at, "seconds": args.seconds, "warmup": args.warmup,
                "filing_start": 0}
        result["baseline"] = {"minimal_search": step(plan_path, target="minimal", **base),
                              "api_search": step(plan_path, target="api", **base)}
        b = result["baseline"]
        result["ratios"] = {
            "minimal_over_api_search_rps": round(b["minimal_search"]["rps"] / b["api_search"]["rps"], 2),
            "minimal_search_over_api_mix_rps": round(
                b["minimal_search"]["rps"] / (best or result["steps"][0])["rps"], 2),
        }
        result["verdict"] = (f"met: {best['rps']} req/s with {best['users']} users, every p99 <= 100 ms, 0 errors"
                             if best else "missed: no step kept every operation's p99 <= 100 ms with 0 errors")
    finally:
        for proc in (api, minimal):
            if proc is not None:
                stop_process(proc)
        cleanup(info)
    result["load_after"] = os.getloadavg()[0]
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
