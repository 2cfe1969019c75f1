"""Baseline for the registry benchmark: a framework-free WSGI app that answers the public search by
right number or party name with raw SQL and the same JSON shape, served by the same waitress server.

Run: python benchmarks/minimal_wsgi.py DATABASE_URL PORT
"""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
from urllib.parse import parse_qs

PLEDGES_BY_RIGHT = """
SELECT p.id FROM registry_pledge p JOIN registry_pledgeright pr ON pr.pledge_id = p.id
JOIN rights_right r ON r.id = pr.right_id WHERE r.kind = {p} AND r.number = {p} ORDER BY p.registered_at, p.id"""
PLEDGES_BY_PARTY = """
SELECT DISTINCT p.id, p.registered_at FROM registry_pledge p JOIN registry_pledgeparty pp ON pp.pledge_id = p.id
WHERE pp.name_normalised = {p} AND pp.id_type NOT IN ('resident_id', 'passport', 'other')
ORDER BY p.registered_at, p.id"""
DETAIL = """SELECT registration_no, status, registered_at, secured_amount, currency FROM registry_pledge WHERE id = {p}"""
RIGHTS = """SELECT r.kind, r.number, r.title FROM registry_pledgeright pr JOIN rights_right r ON r.id = pr.right_id
WHERE pr.pledge_id = {p}"""
PARTIES = """SELECT role, name, id_type, id_number FROM registry_pledgeparty WHERE pledge_id = {p}"""
HISTORY = """SELECT type, at, date FROM registry_pledgeevent WHERE pledge_id = {p} ORDER BY at, id"""


class Store:
    def __init__(self, url: str):
        self.url = url
        self.local = threading.local()
        self.p = "%s" if url.startswith("postgres") else "?"

    def conn(self):
        c = getattr(self.local, "c", None)
        if c is None:
            if self.url.startswith("postgres"):
                import psycopg

                c = psycopg.connect(self.url.replace("postgres://", "postgresql://"), autocommit=True)
            else:
                c = sqlite3.connect(self.url.removeprefix("sqlite:///"), check_same_thread=False)
            self.local.c = c
        return c

    def rows(self, sql: str, args: tuple):
        cur = self.conn().cursor()
        cur.execute(sql.format(p=self.p), args)
        return cur.fetchall()

    def search(self, *, right: str = "", party: str = "") -> list[dict]:
        if right:
            ids = [r[0] for r in self.rows(PLEDGES_BY_RIGHT, ("invention", right))]
        else:
            ids = [r[0] for r in self.rows(PLEDGES_BY_PARTY, (party,))]
        out = []
        for pid in ids:
            reg, status, at, amount, currency = self.rows(DETAIL, (pid,))[0]
            parties = self.rows(PARTIES, (pid,))
            out.append({"registration_no": reg, "status": status, "registered_at": str(at),
                        "rights": [{"kind": k, "number": n, "title": t} for k, n, t in self.rows(RIGHTS, (pid,))],
                        "pledgors": [{"name": n, "id_type": t, "id_number": i} for r, n, t, i in parties
                                     if r == "pledgor"],
                        "pledgees": [{"name": n, "id_type": t, "id_number": i} for r, n, t, i in parties
                                     if r == "pledgee"],
                        "secured_amount": f"{amount // 100}.{amount % 100:02d}", "currency": currency,  # fen stored
                        "history": [{"type": t, "at": str(a), "date": str(d)} for t, a, d in
                                    self.rows(HISTORY, (pid,))]})
        return out


def make_app(store: Store):
    def app(environ, start_response):
        if environ["PATH_INFO"] == "/healthz":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [b'{"ok": true}']
        q = parse_qs(environ.get("QUERY_STRING", ""))
        body = json.dumps({"results": store.search(right=q.get("right", [""])[0], party=q.get("party", [""])[0]),
                           "as_of": None}, ensure_ascii=False).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]
    return app


def main() -> None:
    """Same server set-up as ``ippledge serve``: waitress, 8 threads, optionally prefork workers."""
    import os
    import socket

    from waitress import serve

    url, port, workers = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 1
    if workers <= 1:
        serve(make_app(Store(url)), host="127.0.0.1", port=port, threads=8, ident="minimal")
        return
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(1024)
    for _ in range(workers):
        if os.fork() == 0:
            serve(make_app(Store(url)), sockets=[sock], threads=8, ident="minimal")
            os._exit(0)
    os.wait()


if __name__ == "__main__":
    main()
