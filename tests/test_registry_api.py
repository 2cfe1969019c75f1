"""Pledge registry API: filing and instant examination, life cycle, public search, certificates, journal."""

from __future__ import annotations

import pytest

from ippledge.registry.models import JournalEntry, Pledge, PledgeApplication

from .registry_fixtures import PLEDGOR, application, make_patent, parties_on_platform

pytestmark = pytest.mark.django_db


@pytest.fixture
def bank(api_as, make_org, make_user):
    return parties_on_platform(api_as, make_org, make_user)[0]


def test_file_and_register_instantly(bank, anon):
    make_patent()
    r = bank.post("/pledge-applications", application())
    assert r.status_code == 201, r.data
    assert r.data["status"] == "registered"
    assert r.data["registration_no"].startswith("Y")
    assert r.data["reasons"] == []
    reg = r.data["registration_no"]
    found = anon.get("/public/pledges?right=2014103620773")
    assert found.status_code == 200
    assert [x["registration_no"] for x in found.data["results"]] == [reg]
    assert found.data["results"][0]["pledgors"][0]["name"] == PLEDGOR["name"]
    pledge = bank.get(f"/pledges/{reg}")
    assert pledge.status_code == 200 and pledge.data["status"] == "registered"
    assert pledge.data["priority_at"] == found.data["results"][0]["registered_at"]


def test_second_pledge_on_patent_refused(bank):
    make_patent()
    assert bank.post("/pledge-applications", application()).data["status"] == "registered"
    r = bank.post("/pledge-applications", application(contract_no="ZY-2026-002"))
    assert r.status_code == 201
    assert r.data["status"] == "refused"
    assert [x["code"] for x in r.data["reasons"]] == ["already_pledged"]
    assert r.data["reasons"][0]["right"] == "invention:201410362077.3"


def test_malformed_body_is_422_and_stores_nothing(bank):
    make_patent()
    bad = application(pledgors=[dict(PLEDGOR, id_number="914403001922038217")])
    r = bank.post("/pledge-applications", bad)
    assert r.status_code == 422 and r.data["error"]["code"] == "invalid_uscc"
    assert "pledgors[0].id_number" in r.data["error"]["fields"]
    r = bank.post("/pledge-applications", application(debt_due_date="2027-02-30"))
    assert r.status_code == 422 and "debt_due_date" in r.data["error"]["fields"]
    r = bank.post("/pledge-applications", application(rights=[{"kind": "invention", "number": "ZL202011472880.4"}]))
    assert r.status_code == 422 and r.data["error"]["code"] == "unknown_right"
    body = application()
    del body["contract_no"]
    assert bank.post("/pledge-applications", body).status_code == 422
    assert PledgeApplication.objects.count() == 0


def test_idempotency_key(bank):
    make_patent()
    first = bank.post("/pledge-applications", application(), headers={"Idempotency-Key": "abc-1"})
    again = bank.post("/pledge-applications", application(), headers={"Idempotency-Key": "abc-1"})
    assert first.data["application_no"] == again.data["application_no"]
    assert PledgeApplication.objects.count() == 1
    other = bank.post("/pledge-applications", application(contract_no="X"), headers={"Idempotency-Key": "abc-1"})
    assert other.status_code == 409 and other.data["error"]["code"] == "idempotency_key_reused"


def test_journal_verifies_and_detects_tampering(bank, api_as):
    from .test_security_registry import journal_unprotected

    make_patent()
    bank.post("/pledge-applications", application())
    assert bank.get("/registry/journal/verify").status_code == 403  # a full scan is not for every user
    registrar, _ = api_as("registrar", "ip_office")
    ok = registrar.get("/registry/journal/verify").data
    assert ok["ok"] is True and ok["entries"] >= 3 and ok["first_bad_seq"] is None
    entry = JournalEntry.objects.get(seq=2)
    with journal_unprotected():
        JournalEntry.objects.filter(pk=entry.pk).update(payload={**entry.payload, "outcome": "refused"})
    bad = registrar.get("/registry/journal/verify").data
    assert bad["ok"] is False and bad["first_bad_seq"] == 2


def test_cancellation_frees_the_patent(bank):
    make_patent()
    reg = bank.post("/pledge-applications", application()).data["registration_no"]
    r = bank.post(f"/pledges/{reg}/cancellation", {"reason": "repaid"})
    assert r.status_code == 200 and r.data["status"] == "cancelled"
    assert bank.post("/pledge-applications", application(contract_no="N2")).data["status"] == "registered"
    assert Pledge.objects.count() == 2


def test_certificate_issue_and_verify(anon, bank):
    make_patent()
    bank.post("/pledge-applications", application())
    r = anon.post("/public/search-certificates", {"right": "ZL201410362077.3"})
    assert r.status_code == 201, r.data
    no, code = r.data["certificate_no"], r.data["verification_code"]
    got = anon.get(f"/public/search-certificates/{no}?code={code}")
    assert got.status_code == 200 and got.data == r.data
    assert anon.get(f"/public/search-certificates/{no}?code=WRONG").status_code == 404
    pdf = anon.client.get(f"/api/v1/public/search-certificates/{no}.pdf?code={code}")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_invalid_party_id_in_search_is_422(anon):
    r = anon.get("/public/pledges?party_id=914403001922038217")
    assert r.status_code == 422 and r.data["error"]["code"] == "invalid_uscc"
    r = anon.get("/public/pledges?party_id=110105194912310021")
    assert r.status_code == 422 and r.data["error"]["code"] == "invalid_resident_id"


def test_cli_registry_verify(bank):
    import io

    from django.core.management import CommandError, call_command

    from ippledge.core import eod
    from ippledge.core.business_date import today

    make_patent()
    bank.post("/pledge-applications", application())
    eod.run(business_date=today())
    out = io.StringIO()
    call_command("registry_verify", stdout=out)
    assert out.getvalue().strip().endswith("OK")
    from .test_security_registry import journal_unprotected

    entry = JournalEntry.objects.get(seq=1)
    with journal_unprotected():
        JournalEntry.objects.filter(pk=entry.pk).update(ref="forged")
    with pytest.raises(CommandError):
        call_command("registry_verify", "--json", stdout=io.StringIO())
