"""Integrity under concurrency and crashes, against a real server process and a real database.

- Many clients racing to pledge the same patent: exactly one registration, every other refused
  ``already_pledged`` (the partial unique index decides, whatever the timing).
- A server killed during a burst of filings loses no registration it acknowledged with a 201.
"""

from __future__ import annotations

import http.client
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from .live_server import LiveServer
from .registry_fixtures import PLEDGEE, PLEDGOR, application, patent_number

PASSWORD = "Live-pass-2026!"


@pytest.fixture
def server(tmp_path):
    live = LiveServer(tmp_path)
    try:
        live.migrate()
        live.cli("createadmin", "--username", "root", "--password", PASSWORD)
        live.start()
        yield live
    finally:
        live.close()


def _setup(live: LiveServer, patents: int, filer: str = "reg") -> str:
    """Users and patents; returns the token of the filer: the registrar entering paper applications
    (examined at once) or the bank officer (whose filings wait for the off-platform pledgor)."""
    admin = live.token("root", PASSWORD)
    office = live.request("POST", "/orgs", {"name": "知识产权局", "kind": "ip_office"}, admin)[1]
    bank = live.request("POST", "/orgs", {"name": PLEDGEE["name"], "kind": "bank", "uscc": PLEDGEE["id_number"]},
                        admin)[1]
    for name, org, role in (("reg", office, "registrar"), ("officer", bank, "bank_officer")):
        status, body = live.request("POST", "/users", {"username": name, "password": PASSWORD, "org_id": org["id"],
                                                       "roles": [role]}, admin)
        assert status == 201, body
    registrar = live.token("reg", PASSWORD)
    for i in range(patents):
        number = patent_number(f"2019100{i:05d}")
        status, body = live.request("POST", "/ip-rights", {
            "kind": "invention", "number": number, "title": f"专利{i}", "owners": [PLEDGOR],
            "filing_date": "2019-03-01", "grant_date": "2021-01-05", "annuity_paid_through": "2099-01-01"}, registrar)
        assert status == 201, body
    return live.token(filer, PASSWORD)


def test_racing_pledges_on_one_patent_register_exactly_once(server):
    officer = _setup(server, 1)
    body = application(rights=[{"kind": "invention", "number": patent_number("201910000000")}])
    barrier = threading.Barrier(12)

    def file(i):
        barrier.wait()
        return server.request("POST", "/pledge-applications", {**body, "contract_no": f"RACE-{i}"}, officer)

    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(file, range(12)))
    assert all(status == 201 for status, _ in results), results
    statuses = sorted(r["status"] for _, r in results)
    assert statuses.count("registered") == 1, statuses
    assert statuses.count("refused") == 11
    for _, r in results:
        if r["status"] == "refused":
            assert [x["code"] for x in r["reasons"]] == ["already_pledged"]
    ok = server.request("GET", "/registry/journal/verify", token=officer)[1]
    assert ok["ok"] is True


def test_no_acknowledged_registration_is_lost_when_the_server_dies(server):
    officer = _setup(server, 40)
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def file(i):
        if stop.is_set():
            return
        body = application(rights=[{"kind": "invention", "number": patent_number(f"2019100{i:05d}")}],
                           contract_no=f"BURST-{i}")
        try:
            status, r = server.request("POST", "/pledge-applications", body, officer, timeout=10)
        except (OSError, http.client.HTTPException):
            # A reply cut by the kill (connection reset, IncompleteRead) was never acknowledged.
            return
        if status == 201 and r["status"] == "registered":
            with lock:
                acknowledged.append(r["registration_no"])

    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(file, i) for i in range(40)]
        deadline = time.time() + 30
        while len(acknowledged) < 10 and time.time() < deadline:
            time.sleep(0.01)
        server.kill()
        stop.set()
        for f in futures:
            f.result()
    assert len(acknowledged) >= 10
    server.start()
    officer = server.token("reg", PASSWORD)
    for reg in acknowledged:
        status, record = server.request("GET", f"/pledges/{reg}", token=officer)
        assert status == 200 and record["status"] == "registered", reg
    assert server.request("GET", "/registry/journal/verify", token=officer)[1]["ok"] is True


def test_concurrent_retries_with_one_idempotency_key_all_get_the_same_201(server):
    officer = _setup(server, 1, filer="officer")
    body = application(rights=[{"kind": "invention", "number": patent_number("201910000000")}])
    barrier = threading.Barrier(20)

    def retry(_):
        barrier.wait()
        return server.request("POST", "/pledge-applications", body, officer, headers={"Idempotency-Key": "once-only"})

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(retry, range(20)))
    assert [status for status, _ in results] == [201] * 20, results
    assert len({r["application_no"] for _, r in results}) == 1
