"""``POST /api/v1/legal-events/import`` and ``ippledge import events|pledges``: who may import, the task
it queues and its summary, bounded bodies, and pledges registered outside the platform."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

from ippledge.core.actors import SYSTEM
from ippledge.core.audit import current_channel
from ippledge.monitoring.feeds.pledges import import_pledges
from ippledge.registry import journal
from ippledge.registry.models import JournalEntry, Pledge, PledgeRight
from ippledge.rights.models import LegalEvent

from .registry_fixtures import PLEDGEE, PLEDGOR, make_patent

DATA = Path(__file__).parent / "data" / "feeds"
QUEUE = override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}})
LINES = "\n".join(json.dumps(row) for row in (
    {"kind": "invention", "number": "CN201410362077", "official_code": "CF01", "date": "2020-08-01"},
    {"kind": "invention", "number": "201410362077.3", "official_code": "RINS", "date": "2020-09-01"},
    {"kind": "invention", "number": "ZL201510012345.3", "official_code": "CF01", "date": "2020-09-01"},
)) + "\n"


@pytest.fixture(autouse=True)
def _channel():
    token = current_channel.set("")
    yield
    current_channel.reset(token)


def post_lines(api, text: str = LINES, query: str = ""):
    return api.client.post(f"/api/v1/legal-events/import{query}", data=text.encode(), content_type="application/x-ndjson",
                           headers=api._headers({}))


@QUEUE
@pytest.mark.django_db(transaction=True)
def test_registrar_imports_json_lines_as_a_task(api_as):
    make_patent()
    api, _user = api_as("registrar", "ip_office")
    r = post_lines(api)
    assert r.status_code == 202, r.content
    body = r.json()
    assert body["format"] == "jsonl" and body["task_id"] and body["status_url"].endswith(body["task_id"])
    assert not LegalEvent.objects.exists()  # queued, not run in the request
    assert api.get(f"/tasks/{body['task_id']}").data["status"] == "ready"
    call_command("worker", "--batch", verbosity=0)
    task = api.get(f"/tasks/{body['task_id']}")
    assert task.status_code == 200 and task.data["status"].lower() == "successful"
    summary = task.data["result"]
    assert (summary["imported"], summary["unmatched_rows"], summary["unmapped_codes"][0]["code"]) == (2, 1, "RINS")
    assert LegalEvent.objects.count() == 2


def test_multipart_epo_file(db, api_as):
    api, _user = api_as("admin")
    with (DATA / "inpadoc_legal_US10465445_family.xml").open("rb") as fh:
        r = api.client.post("/api/v1/legal-events/import", data={"file": fh}, headers=api._headers({}))
    assert r.status_code == 202 and r.json()["format"] == "epo-xml"
    assert not LegalEvent.objects.exists()  # every row names a US document: nothing to record


def test_who_may_import(db, api_as, anon):
    make_patent()
    assert post_lines(anon).status_code == 401
    bank, _ = api_as("bank_officer")
    r = post_lines(bank)
    assert r.status_code == 403
    copyright_office, _ = api_as("registrar", "copyright_office", username="cpcc-registrar")
    r = post_lines(copyright_office)
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_your_office"
    assert not LegalEvent.objects.exists()


def test_malicious_xml_and_empty_bodies_are_refused(db, api_as):
    api, _ = api_as("registrar", "ip_office")
    bomb = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
            b'<x>&b;</x>')
    r = api.client.post("/api/v1/legal-events/import?format=epo-xml", data=bomb, content_type="application/xml",
                        headers=api._headers({}))
    assert r.status_code == 422 and r.json()["error"]["code"] == "xml_dtd_refused"
    assert post_lines(api, "  \n").status_code == 400
    assert post_lines(api, query="?format=pdf").status_code == 422


def test_cli_import_events_prints_the_summary(db):
    make_patent()
    out = StringIO()
    call_command("import_events", str(DATA / "epo_ops_cn_legal_constructed.xml"), stdout=out)
    text = out.getvalue()
    assert "12 rows" in text and "0 imported" in text and "rights not in the register" in text


# --- pledges registered outside the platform -------------------------------------------------

PLEDGE_ROW = {"official_registration_no": "Y2019980000123", "official_effective_date": "2019-03-01",
              "rights": [{"kind": "invention", "number": "CN201410362077"}], "pledgors": [PLEDGOR],
              "pledgees": [PLEDGEE], "secured_amount": "3,000,000.00", "debt_due_date": "2027-06-30"}


def test_pledges_import_journalled_live_and_idempotent(db, tmp_path):
    make_patent()
    make_patent(number="ZL201410362079.2")
    rows = [PLEDGE_ROW,
            {**PLEDGE_ROW, "official_registration_no": "Y2020980000456"},  # the patent is already pledged
            {**PLEDGE_ROW, "official_registration_no": "Y2020980000789", "rights": [{"kind": "invention",
                                                                                    "number": "ZL201410362079.2"}],
             "secured_amount": ""},  # no amount
            {**PLEDGE_ROW, "official_registration_no": "Y2020980000999", "rights": [{"kind": "invention",
                                                                                    "number": "ZL201510012345.3"}]}]
    feed = tmp_path / "pledges.jsonl"
    feed.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    first = import_pledges(actor=SYSTEM, source=str(feed))
    assert (first["rows"], first["imported"], first["unchanged"]) == (4, 1, 0)
    assert [(r["line"], r["code"]) for r in first["rejected"]] == [
        (2, "right_already_pledged"), (3, "invalid_secured_debt"), (4, "unknown_right")]
    pledge = Pledge.objects.get(official_registration_no="Y2019980000123")
    assert pledge.status == "registered" and pledge.official_effective_date.isoformat() == "2019-03-01"
    assert pledge.secured_amount == 300_000_000  # fen
    assert PledgeRight.objects.get(pledge=pledge).live
    assert JournalEntry.objects.filter(ref=pledge.registration_no, kind="pledge.imported").exists()
    assert journal.verify().ok and journal.report()["record_differences_total"] == 0
    again = import_pledges(actor=SYSTEM, source=str(feed))
    assert (again["imported"], again["unchanged"]) == (0, 1) and Pledge.objects.count() == 1


def test_pledges_csv_with_flat_columns_and_the_office_rule(db, tmp_path, make_user):
    make_patent()
    feed = tmp_path / "pledges.csv"
    feed.write_text(
        "official_registration_no,official_effective_date,rights,pledgor_name,pledgor_id_type,pledgor_id_number,"
        "pledgee_name,pledgee_id_type,pledgee_id_number,secured_amount\n"
        f"Y2019980000123,2019-03-01,invention:ZL201410362077.3,{PLEDGOR['name']},uscc,{PLEDGOR['id_number']},"
        f"{PLEDGEE['name']},uscc,{PLEDGEE['id_number']},5000000\n", encoding="utf-8")
    cpcc = make_user("registrar", "copyright_office")
    refused = import_pledges(actor=cpcc, source=str(feed))
    assert refused["rejected"][0]["code"] == "not_your_office" and not Pledge.objects.exists()
    out = StringIO()
    call_command("import_pledges", str(feed), stdout=out)
    assert "1 imported" in out.getvalue()
    pledge = Pledge.objects.get()
    assert {p.role for p in pledge.parties.all()} == {"pledgor", "pledgee", "debtor"}


def test_a_bank_cannot_import_pledges(db, make_user, tmp_path):
    feed = tmp_path / "p.jsonl"
    feed.write_text(json.dumps(PLEDGE_ROW), encoding="utf-8")
    from ippledge.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        import_pledges(actor=make_user("bank_officer"), source=str(feed))
    assert Client().post("/api/v1/legal-events/import", data=b"{}", content_type="application/x-ndjson").status_code == 401
