"""Issue 9, registry points: a register that proves itself, end of day bounded, personal data masked,
webhooks kept off internal addresses, certificates out of the pledge journal, odd as_of never a 500."""

from __future__ import annotations

import contextlib
import io
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client

from ippledge.core import services
from ippledge.core.actors import SYSTEM
from ippledge.core.errors import ValidationFailed
from ippledge.registry import documents, notify, search
from ippledge.registry.models import (
    Checkpoint,
    JournalEntry,
    Notification,
    SearchCertificate,
    Webhook,
    WebhookDelivery,
)
from ippledge.rights import services as rights_services

from .conftest import PASSWORD
from .registry_fixtures import PLEDGEE, application, make_patent, parties_on_platform

pytestmark = pytest.mark.django_db


@pytest.fixture
def filer(api_as, make_org, make_user):
    """The bank's client; the pledgor (also on the platform) confirms each application at once."""
    return parties_on_platform(api_as, make_org, make_user)[0]


@pytest.fixture
def verifier(api_as):
    """Verifying the whole register is for registrars, regulators and the operator."""
    return api_as("registrar", "ip_office", username="verifier")[0]


@contextlib.contextmanager
def journal_unprotected():
    """Drop the append-only triggers for a tampering test (what an attacker with SQL access would do)."""
    from importlib import import_module

    migration = import_module("ippledge.registry.migrations.0002_journal_protection")

    class Editor:  # the migration's functions need only these two (a schema editor cannot open in a test)
        def __init__(self, cursor):
            self.connection, self.execute = connection, cursor.execute

    with connection.cursor() as cursor:
        migration.backwards(None, Editor(cursor))
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            migration.forwards(None, Editor(cursor))


# -- point 13: journal rows are append-only in the database ---------------------------------------

def test_journal_and_checkpoint_rows_refuse_update_and_delete(filer):
    _registered(filer)
    entry = JournalEntry.objects.order_by("seq").first()
    for statement in ("UPDATE registry_journalentry SET ref = 'forged' WHERE id = %s",
                      "DELETE FROM registry_journalentry WHERE id = %s"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [entry.pk])
    assert JournalEntry.objects.get(pk=entry.pk).ref == entry.ref


def test_flush_still_empties_the_journal():
    from ippledge.registry import journal

    with transaction.atomic():
        journal.append(kind="test", ref="R1", payload={})
    assert JournalEntry.objects.exists()
    call_command("flush", interactive=False, verbosity=0)
    assert not JournalEntry.objects.exists() and not Checkpoint.objects.exists()


# -- point 13: verify rebuilds every public record from the journal --------------------------------

def _registered(bank) -> str:
    make_patent()
    r = bank.post("/pledge-applications", application())
    assert r.data["status"] == "registered", r.data
    return r.data["registration_no"]


def _verify_fails_naming(reg: str, field: str) -> None:
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("registry_verify", stdout=out)
    text = out.getvalue()
    assert reg in text and field in text, text


def test_verify_catches_a_status_edited_in_the_table(verifier, filer, anon):
    reg = _registered(filer)
    call_command("registry_verify", stdout=io.StringIO())
    with connection.cursor() as cursor:
        cursor.execute("UPDATE registry_pledge SET status = 'cancelled' WHERE registration_no = %s", [reg])
    _verify_fails_naming(reg, "status")
    report = verifier.get("/registry/journal/verify").data
    assert report["ok"] is False
    assert {(d["registration_no"], d["field"]) for d in report["record_differences"]} == {(reg, "status")}
    # Public reads serve what the journal says, not the edited row.
    found = anon.get(f"/public/pledges?registration_no={reg}").data["results"]
    assert [r["status"] for r in found] == ["registered"]
    assert anon.get(f"/public/pledges/{reg}").data["status"] == "registered"


def test_verify_catches_a_pledgee_renamed_in_the_index(filer, anon):
    reg = _registered(filer)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE registry_pledgeparty SET name = '冒名银行' WHERE role = 'pledgee'")
    _verify_fails_naming(reg, "pledgees")
    served = anon.get(f"/public/pledges?registration_no={reg}").data["results"][0]
    assert served["pledgees"][0]["name"] == PLEDGEE["name"]
    assert "id_seal" not in served["pledgees"][0]


def test_verify_catches_deleted_history_and_a_dropped_record(filer):
    reg = _registered(filer)
    assert filer.post(f"/pledges/{reg}/cancellation", {"reason": "repaid"}).status_code == 200
    call_command("registry_verify", stdout=io.StringIO())
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM registry_pledgeevent WHERE type = 'cancelled'")
    _verify_fails_naming(reg, "history")


def test_legitimate_changes_keep_verify_green(verifier, filer):
    reg = _registered(filer)
    changed = filer.post(f"/pledges/{reg}/changes", {"secured_debt": {"type": "流动资金贷款", "amount": "4000000.00"}})
    assert changed.status_code == 200, changed.data
    assert filer.post(f"/pledges/{reg}/cancellation", {"reason": "repaid"}).status_code == 200
    report = verifier.get("/registry/journal/verify").data
    assert report["ok"] is True, report
    assert report["record_differences"] == [] and report["records_checked"] == 1


# -- point 20: certificates stay out of the pledge journal, sealed on their own ---------------------

def test_certificates_do_not_grow_the_journal_and_are_sealed(verifier, filer, anon):
    reg = _registered(filer)
    before = JournalEntry.objects.count()
    r = anon.post("/public/search-certificates", {"registration_no": reg})
    assert r.status_code == 201, r.data
    assert JournalEntry.objects.count() == before
    no, code = r.data["certificate_no"], r.data["verification_code"]
    assert anon.get(f"/public/search-certificates/{no}?code={code}").status_code == 200
    SearchCertificate.objects.filter(certificate_no=no).update(results=[])
    altered = anon.get(f"/public/search-certificates/{no}?code={code}")
    assert altered.status_code == 409 and altered.data["error"]["code"] == "certificate_altered"
    report = verifier.get("/registry/journal/verify").data
    assert report["ok"] is False and report["altered_certificates"] == [no]


# -- point 10: odd as_of and query text on public routes are 4xx, never 500 -------------------------

ODD_AS_OF = ["0001-01-01", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "1984-12-31",
             "2999-01-01", "x" * 500]


@pytest.mark.parametrize("as_of", ODD_AS_OF)
def test_odd_as_of_is_a_field_error_everywhere(anon, as_of):
    from urllib.parse import quote

    r = anon.get(f"/public/pledges?right=2014103620773&as_of={quote(as_of)}")
    assert r.status_code == 422 and "as_of" in r.data["error"]["fields"], r.data
    page = Client().get("/registry/", {"right": "2014103620773", "as_of": as_of})
    assert page.status_code == 400 and 'role="alert"' in page.content.decode()
    cert = anon.post("/public/search-certificates", {"right": "2014103620773", "as_of": as_of})
    assert cert.status_code == 422, cert.data
    page = Client().post("/registry/certificates/new/", {"right": "2014103620773", "as_of": as_of})
    assert page.status_code == 400


def test_as_of_within_bounds_still_works(anon):
    for as_of in ("1985-04-01", "2020-01-01T00:00:00+14:00", "2020-01-01T00:00:00-12:00"):
        r = anon.client.get("/api/v1/public/pledges", {"right": "2014103620773", "as_of": as_of})
        assert r.status_code == 200, (as_of, r.content)


@pytest.mark.parametrize("field", ["right", "party", "party_id", "registration_no"])
def test_control_characters_and_long_text_in_queries_are_422(anon, field):
    for value in ("a\x00b", "9" * 5000):
        r = anon.client.get("/api/v1/public/pledges", {field: value})
        assert r.status_code == 422, (field, r.content)
    assert anon.client.get("/api/v1/public/search-certificates/CX\x00", {"code": "\x00"}).status_code in (404, 422)


# -- point 17: personal data masked ----------------------------------------------------------------

PERSON = {"name": "张三", "id_type": "resident_id", "id_number": "11010519491231002X", "address": "北京市东城区某街1号",
          "country": "CN", "domicile_in_china": True}


def test_certificate_never_shows_the_full_resident_id_searched(anon):
    r = anon.post("/public/search-certificates", {"party_id": PERSON["id_number"]})
    assert r.status_code == 201, r.data
    assert r.data["criteria"]["party_id"] == "110105********002X"
    no, code = r.data["certificate_no"], r.data["verification_code"]
    body = anon.client.get(f"/api/v1/public/search-certificates/{no}?code={code}").content.decode()
    assert PERSON["id_number"] not in body
    page = Client().get("/registry/certificates/verify/", {"no": no, "code": code}).content.decode()
    assert PERSON["id_number"] not in page and "110105********002X" in page
    assert PERSON["id_number"].encode() not in documents.certificate_pdf(SearchCertificate.objects.get())


def test_certificates_issued_before_masking_are_masked_on_display(anon):
    r = anon.post("/public/search-certificates", {"party_id": PERSON["id_number"]})
    cert = SearchCertificate.objects.get()
    cert.criteria = {**cert.criteria, "party_id": PERSON["id_number"]}  # an old row held the full number
    assert PERSON["id_number"] not in str(search.certificate_body(cert))
    assert r.status_code == 201


def test_search_page_does_not_echo_the_resident_id_but_can_still_certify():
    client = Client()
    page = client.post("/registry/", {"party_id": PERSON["id_number"]})
    html = page.content.decode()
    assert page.status_code == 200 and PERSON["id_number"] not in html and "110105********002X" in html
    token = re.search(r'name="party_id_token" value="([^"]+)"', html).group(1)
    issued = client.post("/registry/certificates/new/", {"party_id": "", "party_id_token": token})
    assert issued.status_code == 302
    assert SearchCertificate.objects.get().criteria["party_id"] == "110105********002X"
    forged = client.post("/registry/certificates/new/", {"party_id": "", "party_id_token": token[:-4] + "AAAA"})
    assert forged.status_code == 400 and "search_expired" in forged.content.decode()


def _person_right():
    return make_patent(owners=[PERSON])


def test_rights_api_masks_natural_persons_except_for_the_office_and_holders(api_as, make_org, make_user):
    _person_right()
    path = "/ip-rights/invention/201410362077.3"
    for role, kind in (("insurer_user", None), ("bank_officer", "bank"), ("registrar", "copyright_office")):
        client, _ = api_as(role, kind, username=f"{role}-viewer")
        body = client.get(path)
        assert body.status_code == 200, body.data
        text = json.dumps(body.data, ensure_ascii=False)
        assert PERSON["id_number"] not in text and PERSON["address"] not in text, role
        assert body.data["owners"][0]["id_number"] == "110105********002X"
    office, _ = api_as("registrar", "ip_office", username="office-registrar")
    assert office.get(path).data["owners"][0]["id_number"] == PERSON["id_number"]
    assert office.get(path).data["current_owners"][0]["address"] == PERSON["address"]


def test_rights_api_masks_owner_ids_in_event_payloads(api_as):
    right = _person_right()
    rights_services.record_event(actor=SYSTEM, right=right, data={
        "type": "transferred", "date": "2020-01-05",
        "new_owners": [{**PERSON, "id_number": "110101199003071233", "name": "李四"}]})
    client, _ = api_as("insurer_user", username="insurer-events")
    text = json.dumps(client.get("/ip-rights/invention/201410362077.3").data, ensure_ascii=False)
    assert "110101199003071233" not in text and PERSON["id_number"] not in text


def test_rights_page_masks_for_logged_in_strangers(make_user):
    _person_right()
    make_user("insurer_user", username="insurer-page")
    client = Client()
    client.login(username="insurer-page", password=PASSWORD)
    html = client.get("/rights/invention/201410362077.3/").content.decode()
    assert PERSON["id_number"] not in html and "110105********002X" in html


# -- point 18: webhooks never reach internal addresses ---------------------------------------------

@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/hook", "http://localhost/hook", "http://10.0.0.5/x", "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/", "http://[::1]/hook", "http://[::ffff:127.0.0.1]/hook",
    "http://100.100.100.200/", "http://224.0.0.1/", "http://0.0.0.0/", "https://[fd00:ec2::254]/",
    "http://2130706433/", "ftp://example.com/", "http://user:pw@example.com/"])
def test_webhook_to_internal_address_is_refused(url):
    with pytest.raises(ValidationFailed) as exc:
        notify.check_webhook_url(url)
    assert exc.value.code == "webhook_url_forbidden"


def test_webhook_registration_refuses_internal_addresses(filer):
    r = filer.post("/webhooks", {"url": "http://127.0.0.1:9/hook"})
    assert r.status_code == 422 and r.data["error"]["code"] == "webhook_url_forbidden", r.data


def test_delivery_rechecks_and_never_follows_redirects(monkeypatch):
    """A hook registered while allowed is not called once the address is no longer allowed, and a
    receiver's redirect to an internal address is an undelivered answer, not a second request."""
    hits = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(307 if self.path == "/hook" else 204)
            self.send_header("Location", f"http://127.0.0.1:{self.server.server_port}/internal")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        org = services.create_organisation(actor=SYSTEM, name="银行", kind="bank")
        monkeypatch.setenv("IPPLEDGE_WEBHOOK_ALLOW_HOSTS", "127.0.0.1")
        hook = Webhook.objects.create(org=org, url=f"http://127.0.0.1:{server.server_port}/hook", secret="s")
        note = Notification.objects.create(org=org, kind="k", message="m", data={})
        delivery = WebhookDelivery.objects.create(webhook=hook, notification=note)
        assert notify.deliver() == 0
        assert hits == ["/hook"]
        delivery.refresh_from_db()
        assert delivery.last_status == "307"
        monkeypatch.setenv("IPPLEDGE_WEBHOOK_ALLOW_HOSTS", "")
        assert notify.deliver() == 0 and hits == ["/hook"]
        delivery.refresh_from_db()
        assert delivery.last_status == "forbidden_destination"
    finally:
        server.shutdown()
        server.server_close()


def test_allow_list_admits_an_operator_network(monkeypatch):
    monkeypatch.setenv("IPPLEDGE_WEBHOOK_ALLOW_HOSTS", "10.0.0.0/8, hooks.internal")
    notify.check_webhook_url("http://10.1.2.3/hook")
    with pytest.raises(ValidationFailed):
        notify.check_webhook_url("http://192.168.0.1/hook")


# -- point 13 (end of day) and point 14: the nightly proof; days close in order --------------------

def _today():
    from ippledge.core import business_date

    return business_date.today()


def test_nightly_end_of_day_alerts_when_a_record_disagrees_with_its_journal(filer, make_org):
    from ippledge.core import eod

    reg = _registered(filer)
    operator = make_org("platform_operator", name="平台运营方")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE registry_pledge SET secured_amount = 1 WHERE registration_no = %s", [reg])
    runs = {r.job: r for r in eod.run(business_date=_today())}
    assert runs["registry.verify_register"].status == "failed"
    assert reg in runs["registry.verify_register"].detail["error"]
    assert runs["registry.sign_checkpoint"].status == "failed" and not Checkpoint.objects.exists()
    alert = Notification.objects.get(org=operator, kind="registry.integrity_failure")
    assert alert.data["records"] == [reg]


def test_end_of_day_for_a_past_day_is_refused_in_production(api_as):
    import datetime as dt

    from ippledge.core import eod
    from ippledge.core.errors import Conflict

    today = _today()
    for day in (dt.date(1970, 1, 1), today - dt.timedelta(days=1)):
        with pytest.raises(Conflict) as exc:
            eod.run(business_date=day)
        assert exc.value.code == "eod_date_closed"
    eod.run(business_date=today)
    assert Checkpoint.objects.get().date == today
    with pytest.raises(Conflict) as exc:
        eod.run(business_date=today - dt.timedelta(days=3))
    assert exc.value.code == "eod_date_closed"
    with pytest.raises(Conflict) as exc:
        eod.run(business_date=today, rerun=True)
    assert exc.value.code == "eod_rerun_simulation_only"
    admin, _ = api_as("admin")
    r = admin.post("/admin/eod", {"date": "1970-01-01"})
    assert r.status_code == 409 and r.data["error"]["code"] == "eod_date_closed"
    r = admin.post("/admin/eod", {"date": today.isoformat(), "rerun": True})
    assert r.status_code == 409 and r.data["error"]["code"] == "eod_rerun_simulation_only"
    with pytest.raises(CommandError, match="eod_date_closed"):
        call_command("eod", "--date", "1970-01-01", stdout=io.StringIO())


def test_days_close_in_order_and_missed_days_are_caught_up(monkeypatch):
    import datetime as dt

    from ippledge.core import business_date, eod
    from ippledge.core.errors import Conflict
    from ippledge.core.models import EodRun

    today = _today()
    monkeypatch.setattr(business_date, "today", lambda: today - dt.timedelta(days=3))
    monkeypatch.setattr(business_date, "real_today", lambda: today - dt.timedelta(days=3))
    eod.run(business_date=today - dt.timedelta(days=3))
    monkeypatch.setattr(business_date, "today", lambda: today)
    monkeypatch.setattr(business_date, "real_today", lambda: today)
    with pytest.raises(Conflict) as exc:
        eod.run(business_date=today)
    assert exc.value.code == "eod_out_of_order"
    eod.run_pending()
    days = sorted(set(EodRun.objects.values_list("business_date", flat=True)))
    assert days == [today - dt.timedelta(days=n) for n in (3, 2, 1, 0)]
    # Checkpoints are signed only for the day they close: none for the days caught up late.
    assert sorted(Checkpoint.objects.values_list("date", flat=True)) == [today - dt.timedelta(days=3), today]


def test_simulation_reruns_a_day_explicitly(settings, api_as):
    import datetime as dt

    from ippledge.core import eod
    from ippledge.core.errors import ValidationFailed as Invalid
    from ippledge.core.models import EodRun

    settings.ALLOW_BUSINESS_DATE = True
    admin, _ = api_as("admin")
    admin.put("/admin/business-date", {"date": "2026-03-01"})
    calls = []
    eod.eod_job("test.count")(lambda day: calls.append(day) or {"n": len(calls)})
    try:
        eod.run(business_date=dt.date(2026, 3, 1))
        eod.run(business_date=dt.date(2026, 2, 1))  # back in time: a day not yet run
        eod.run(business_date=dt.date(2026, 3, 1))  # already run: nothing again
        assert calls == [dt.date(2026, 3, 1), dt.date(2026, 2, 1)]
        r = admin.post("/admin/eod", {"date": "2026-03-01", "rerun": True})
        assert r.status_code == 200, r.data
        assert calls[-1] == dt.date(2026, 3, 1) and len(calls) == 3
        assert EodRun.objects.get(business_date="2026-03-01", job="test.count").attempts == 2
        call_command("eod", "--date", "2026-03-01", "--rerun", stdout=io.StringIO())
        assert len(calls) == 4
        with pytest.raises(Invalid):
            eod.run(business_date=dt.date(1970, 1, 1), rerun=True)
    finally:
        eod._JOBS.pop("test.count")
    # Simulated days are never signed: a checkpoint states the real end of a real day.
    assert not Checkpoint.objects.exists()


def test_odd_path_and_query_input_on_public_registry_routes_is_never_a_500(api_as):
    client = Client()
    for path in ("/api/v1/public/pledges/Y2026%00", "/api/v1/public/pledges/" + "Y" * 3000,
                 "/api/v1/public/search-certificates/CX%00?code=%00", "/api/v1/public/search-certificates/CX%00.pdf",
                 "/api/v1/public/registry/checkpoints?limit=99999999999999999999999",
                 "/api/v1/public/registry/checkpoints?limit=-5", "/api/v1/public/pledges?right=%00&close=maybe",
                 "/api/v1/public/pledges?party=%E2%80%AE%00", "/registry/pledges/Y%00/", "/registry/pledges/Y%00/notice.pdf",
                 "/registry/certificates/CX%00.pdf?code=%00", "/registry/certificates/verify/?no=%00&code=%00",
                 "/registry/?right=%00", "/registry/?as_of=0001-01-01T00:00:00%2B14:00&right=1",
                 "/api/v1/public/ip-rights/invention/%00", "/api/v1/public/ip-rights/%00/1",
                 "/rights/invention/%00/", "/rights/?q=%00", "/rights/?q=" + "x" * 3000,
                 "/rights/invention/201410362077.3/?as_of=0001-01-01"):
        r = client.get(path)
        assert r.status_code < 500, (path, r.status_code)
    officer, _ = api_as("bank_officer", "bank", username="rights-searcher")
    for q in ("%00", "x" * 3000):
        r = officer.get(f"/ip-rights?q={q}")
        assert r.status_code == 422, r.data


def test_tampering_with_the_journal_itself_is_found_once_the_triggers_are_dropped(filer):
    _registered(filer)
    with journal_unprotected():
        JournalEntry.objects.filter(seq=2).update(ref="forged")
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("registry_verify", stdout=out)
    assert "first bad entry: 2" in out.getvalue()
