"""Shared helpers for benchmarks: a fresh database, Django set-up, timing, a server process."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path


def prepare(database_url: str | None) -> dict:
    """Point settings at a fresh database (SQLite file or a new PostgreSQL database) and migrate it."""
    data_dir = Path(tempfile.mkdtemp(prefix="ippledge-bench-"))
    info = {"data_dir": str(data_dir)}
    if database_url and database_url.startswith("postgres"):
        import psycopg

        base = database_url.rsplit("/", 1)[0]
        name = f"ippledge_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(f"{base}/postgres".replace("postgres://", "postgresql://"), autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        url = f"{base}/{name}"
        info.update(engine="postgresql", drop=(base, name))
    else:
        url = f"sqlite:///{data_dir / 'bench.sqlite3'}"
        info.update(engine="sqlite", path=str(data_dir / "bench.sqlite3"))
    info["url"] = url
    os.environ.update(IPPLEDGE_DATA_DIR=str(data_dir), IPPLEDGE_DATABASE_URL=url, IPPLEDGE_PUBLIC_RATE_LIMIT="0",
                      DJANGO_SETTINGS_MODULE="ippledge.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return info


def cleanup(info: dict) -> None:
    if "drop" in info:
        import psycopg
        from django.db import connections

        connections.close_all()
        base, name = info["drop"]
        with psycopg.connect(f"{base}/postgres".replace("postgres://", "postgresql://"), autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def percentiles(samples_s: list[float]) -> dict:
    ordered = sorted(samples_s)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return {"n": len(ordered), "p50_ms": round(pick(0.5), 3), "p99_ms": round(pick(0.99), 3),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 3)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_process(args: list[str], port: int, env: dict | None = None) -> subprocess.Popen:
    proc = subprocess.Popen(args, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1).read()
            return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{args} did not start")


def python() -> str:
    return sys.executable


def stop_process(proc: subprocess.Popen) -> None:
    """Stop a server and any workers it forked (they share its process group)."""
    import signal

    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
