"""Serving the platform: migration check and the production WSGI server.

waitress (pure Python, threaded) serves the app and its static files.  With ``--workers N`` (POSIX)
the parent binds the socket once and forks N waitress processes that accept on it, so requests use
every core instead of one interpreter's; children die with the parent.
"""

from __future__ import annotations

import os
import signal
import socket
import sys

from django.db import connection, connections
from django.db.migrations.executor import MigrationExecutor


def unapplied_migrations() -> list[str]:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{m.app_label}.{m.name}" for m, _backwards in plan]


def _waitress(*, threads: int, **where) -> None:
    from django.conf import settings
    from waitress import serve as waitress_serve

    from ippledge.core import limits
    from ippledge.wsgi import application

    # Without trusted proxies waitress drops X-Forwarded-* itself; with them, ClientAddressMiddleware
    # decides per request (right-most untrusted address), so waitress must pass the headers on.
    # Bodies far past the platform's limit are cut off by waitress before they are buffered; those
    # within reach get the JSON 413 from RequestBodyMiddleware.
    waitress_serve(application, threads=threads, ident="ippledge",
                   clear_untrusted_proxy_headers=not settings.TRUSTED_PROXIES,
                   max_request_body_size=limits.limit("MAX_BODY_BYTES") * 8,
                   channel_timeout=60, backlog=1024, **where)


def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def serve(*, host: str, port: int, threads: int = 8, workers: int = 1) -> None:
    if workers <= 1 or not hasattr(os, "fork"):
        _waitress(threads=threads, host=host, port=port)
        return
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    connections.close_all()  # never share a database connection across a fork
    children: set[int] = set()

    def spawn() -> None:
        pid = os.fork()
        if pid == 0:
            _die_with_parent()
            signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
            _waitress(threads=threads, sockets=[sock])
            os._exit(0)
        children.add(pid)

    def stop(*_):
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for _ in range(workers):
        spawn()
    while True:  # replace a worker that died, keep serving
        pid, _status = os.wait()
        children.discard(pid)
        spawn()
