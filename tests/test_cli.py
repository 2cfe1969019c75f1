"""The ``ippledge`` command line: migrate, createadmin, import rights, eod, serve."""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from django.core.management import call_command

from ippledge.core.models import User
from ippledge.rights.models import LegalEvent, Right

OWNER = {"name": "深圳示范科技有限公司", "id_type": "uscc", "id_number": "914403001922038216"}


def run_cli(tmp_path: Path, *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "IPPLEDGE_DATA_DIR": str(tmp_path),
           "IPPLEDGE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}
    return subprocess.run([sys.executable, "-m", "ippledge.cli", *args], env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_serve_refuses_unmigrated_database(tmp_path):
    r = run_cli(tmp_path, "serve", "--port", "0")
    assert r.returncode != 0
    assert "not migrated" in r.stderr and "ippledge migrate" in r.stderr


def test_migrate_createadmin_idempotent_and_serve(tmp_path):
    assert run_cli(tmp_path, "migrate").returncode == 0
    first = run_cli(tmp_path, "createadmin", "--username", "root", "--password", "Root-pass-2026")
    assert first.returncode == 0 and "Created" in first.stdout
    again = run_cli(tmp_path, "createadmin", "--username", "root", "--password", "Root-pass-2027")
    assert again.returncode == 0 and "Updated" in again.stdout
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "IPPLEDGE_DATA_DIR": str(tmp_path),
           "IPPLEDGE_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}
    server = subprocess.Popen([sys.executable, "-m", "ippledge.cli", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
                    assert json.load(resp)["ok"] is True
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.3)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/ippledge/app.css", timeout=5) as resp:
            assert resp.status == 200 and b"--blue" in resp.read()
        body = json.dumps({"username": "root", "password": "Root-pass-2027"}).encode()
        req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/auth/token", data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=5) as resp:
            assert json.load(resp)["token_type"] == "bearer"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.django_db
def test_createadmin_in_process_is_idempotent():
    call_command("createadmin", username="ops", password="Ops-pass-2026", stdout=io.StringIO())
    call_command("createadmin", username="ops", password="Ops-pass-2027", stdout=io.StringIO())
    user = User.objects.get(username="ops")
    assert user.check_password("Ops-pass-2027") and user.has_role("admin")
    assert User.objects.filter(username="ops").count() == 1


@pytest.mark.django_db
def test_import_jsonl_keeps_good_rows_and_reports_bad_ones(tmp_path):
    rows = [
        {"kind": "invention", "number": "ZL201410362077.3", "title": "好行", "owners": [OWNER],
         "filing_date": "2014-07-28", "grant_date": "2016-01-01",
         "events": [{"type": "invalidation_requested", "date": "2020-01-01"}]},
        {"kind": "invention", "number": "ZL201410362077.4", "owners": [OWNER], "filing_date": "2014-07-28"},
        # A bad event rejects its whole row: the right is not left behind without it.
        {"kind": "invention", "number": "ZL202011472880.4", "owners": [OWNER], "filing_date": "2020-12-15",
         "events": [{"type": "suspension_lifted", "date": "2021-01-01"}]},
        {"kind": "trademark", "number": "第12345678号", "owners": [OWNER], "registration_date": "2015-03-10"},
    ]
    path = tmp_path / "rights.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\nnot json\n", encoding="utf-8")
    out = io.StringIO()
    call_command("import_rights", str(path), stdout=out)
    text = out.getvalue()
    assert "2 imported" in text and "3 rejected" in text
    assert "invalid_patent_number" in text and "invalid_event" in text and "unreadable_row" in text
    assert sorted(Right.objects.values_list("number", flat=True)) == ["12345678", "201410362077.3"]
    assert LegalEvent.objects.count() == 1


@pytest.mark.django_db
def test_import_csv_with_co_owners(tmp_path):
    path = tmp_path / "rights.csv"
    path.write_text(
        "kind,number,title,filing_date,grant_date,ipc,owner_name,owner_id_type,owner_id_number\n"
        "utility_model,202020123456.X,一种装置,2020-03-01,2020-10-01,G06F|H04L,甲公司|乙公司,uscc|uscc,"
        "914403001922038216|91110108MA01XXXX0\n", encoding="utf-8")
    out = io.StringIO()
    call_command("import_rights", str(path), stdout=out)
    text = out.getvalue()
    # the second co-owner's USCC is malformed → the row is rejected whole with the field named
    assert "0 imported" in text and "owners[1].id_number" in text
    assert Right.objects.count() == 0


def test_cli_maps_two_word_commands(monkeypatch):
    seen = []
    monkeypatch.setattr("django.core.management.execute_from_command_line", lambda argv: seen.append(argv))
    from ippledge import cli

    cli.main(["import", "rights", "x.csv"])
    cli.main(["eod", "--date", "2026-01-01"])
    assert seen == [["ippledge", "import_rights", "x.csv"], ["ippledge", "eod", "--date", "2026-01-01"]]
