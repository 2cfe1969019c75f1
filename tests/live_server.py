"""A real ``ippledge serve`` process on its own database, for tests that need parallel HTTP clients
or must kill the server.  On PostgreSQL (IPPLEDGE_DATABASE_URL set) a fresh database is created and
dropped; otherwise a SQLite file in a temporary directory."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

# One migrated schema per test session, copied into each server's database: migrating a fresh one costs
# ~25 s a server, most of the live tests' set-up.  Key: the SQLite marker or the PostgreSQL base URL.
_TEMPLATES: dict[str, str] = {}


def _migrate(url: str, data_dir: str) -> None:
    subprocess.run([sys.executable, "-m", "ippledge.cli", "migrate"], capture_output=True, text=True, timeout=300,
                   check=True, env={**os.environ, "IPPLEDGE_DATA_DIR": data_dir, "IPPLEDGE_DATABASE_URL": url})


def _pg_admin(admin_url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(admin_url.replace("postgres://", "postgresql://"), autocommit=True) as conn:
        conn.execute(sql)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.pg_admin_url = None
        url = os.environ.get("IPPLEDGE_DATABASE_URL", "")
        if url.startswith("postgres"):
            self.db_name = f"ippledge_live_{uuid.uuid4().hex[:10]}"
            base, _, _name = url.rpartition("/")
            self.pg_admin_url = f"{base}/postgres"
            self._pg(f'CREATE DATABASE "{self.db_name}"')
            self.database_url = f"{base}/{self.db_name}"
        else:
            self.database_url = f"sqlite:///{tmp / 'live.sqlite3'}"
        self.env = {**os.environ, "IPPLEDGE_DATA_DIR": str(tmp), "IPPLEDGE_DATABASE_URL": self.database_url,
                    "IPPLEDGE_PUBLIC_RATE_LIMIT": "0", "IPPLEDGE_LOGIN_THROTTLE_MAX_FAILURES": "1000"}

    def _pg(self, sql: str) -> None:
        _pg_admin(self.pg_admin_url, sql)

    def migrate(self) -> None:
        """The current schema, as ``ippledge migrate`` leaves it, copied from the session's template.
        (A test of what migrate itself does runs ``cli("migrate")`` instead.)"""
        if self.pg_admin_url:
            template = _TEMPLATES.get(self.pg_admin_url)
            if template is None:
                template = f"ippledge_livetpl_{uuid.uuid4().hex[:10]}"
                self._pg(f'CREATE DATABASE "{template}"')
                atexit.register(_pg_admin, self.pg_admin_url, f'DROP DATABASE IF EXISTS "{template}" WITH (FORCE)')
                _migrate(f"{self.pg_admin_url.rpartition('/')[0]}/{template}", tempfile.mkdtemp(prefix="ippledge-tpl-"))
                _TEMPLATES[self.pg_admin_url] = template
            self._pg(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            self._pg(f'CREATE DATABASE "{self.db_name}" TEMPLATE "{template}"')
            return
        template = _TEMPLATES.get("sqlite")
        if template is None:
            folder = tempfile.mkdtemp(prefix="ippledge-tpl-")
            template = os.path.join(folder, "template.sqlite3")
            _migrate(f"sqlite:///{template}", folder)
            atexit.register(shutil.rmtree, folder, True)
            _TEMPLATES["sqlite"] = template
        target = Path(self.database_url.removeprefix("sqlite:///"))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, target)

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "ippledge.cli", *args], env=self.env, capture_output=True,
                              text=True, timeout=300, check=True)

    def start(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "ippledge.cli", "serve", "--port", str(self.port),
                                      "--threads", "16"], env=self.env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"{self.base}/healthz", timeout=1).read()
                return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def close(self) -> None:
        self.stop()
        if self.pg_admin_url:
            self._pg(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')

    def request(self, method: str, path: str, body=None, token: str | None = None, timeout: float = 30,
                headers: dict | None = None):
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json", **(headers or {})}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(f"{self.base}/api/v1{path}", data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def token(self, username: str, password: str) -> str:
        status, body = self.request("POST", "/auth/token", {"username": username, "password": password})
        assert status == 200, body
        return body["access_token"]
