"""Life of applications and registered pledges (registry-rules §3–§5) through the API and EOD."""

from __future__ import annotations

import datetime as dt
from urllib.parse import quote

import pytest
from django.test import override_settings

from ippledge.core import eod
from ippledge.core.actors import SYSTEM
from ippledge.registry.models import Checkpoint, Notification, Pledge
from ippledge.rights import services as rights

from .conftest import uscc
from .registry_fixtures import PLEDGEE, PLEDGOR, application, make_patent, parties_on_platform

pytestmark = pytest.mark.django_db
OTHER = {"name": "广州合作科技有限公司", "id_type": "uscc", "id_number": uscc("91440101MA5CXXXX0"),
         "address": "广州市天河区", "country": "CN"}


@pytest.fixture
def bank(api_as, make_org, make_user):
    return parties_on_platform(api_as, make_org, make_user)[0]


@pytest.fixture
def registrar(api_as):
    client, _ = api_as("registrar", "ip_office")
    return client


def registered(bank, **over):
    r = bank.post("/pledge-applications", application(**over))
    assert r.data["status"] == "registered", r.data
    return r.data["registration_no"]


def test_change_creates_version_and_keeps_priority(bank, registrar):
    make_patent()
    reg = registered(bank)
    before = bank.get(f"/pledges/{reg}").data
    change = {"secured_debt": {"type": "流动资金贷款", "amount": "8000000.00"}, "guarantee_scope": "主债权"}
    # What binds both parties changes only on the paper both signed, through a registrar.
    alone = bank.post(f"/pledges/{reg}/changes", change)
    assert alone.status_code == 403 and alone.data["error"]["code"] == "joint_change_required"
    r = registrar.post(f"/pledges/{reg}/changes", change)
    assert r.status_code == 200, r.data
    assert r.data["secured_amount"] == "8000000.00"
    assert [v["version"] for v in r.data["versions"]] == [1, 2]
    assert r.data["priority_at"] == before["priority_at"]
    assert [h["type"] for h in r.data["history"]] == ["registered", "changed"]
    # The pledgee may give up security on its own: a lower secured amount.
    lower = bank.post(f"/pledges/{reg}/changes", {"secured_debt": {"type": "流动资金贷款", "amount": "6000000.00"}})
    assert lower.status_code == 200 and lower.data["secured_amount"] == "6000000.00"
    # The pledgor cannot touch the pledgee's side, nor cancel the pledgee's security.
    pledgor = bank.counterparty
    assert pledgor.post(f"/pledges/{reg}/changes", {"pledgees": [PLEDGEE]}).data["error"]["code"] == "not_your_side"
    assert pledgor.post(f"/pledges/{reg}/cancellation", {"reason": "repaid"}).data["error"]["code"] == "pledgee_only"


def test_change_cannot_swap_parties_or_add_rights(bank):
    make_patent()
    reg = registered(bank)
    r = bank.counterparty.post(f"/pledges/{reg}/changes", {"pledgors": [OTHER]})
    assert r.status_code == 422
    r = bank.call("post", f"/pledges/{reg}/changes", {"rights": [{"kind": "invention", "number": "x"}]})
    assert r.status_code == 422 or r.data["versions"][-1]["version"] == 1


def test_pledgor_rename_needs_owner_rename_first(bank):
    right = make_patent()
    reg = registered(bank)
    renamed = dict(PLEDGOR, name="深圳示范科技集团有限公司")
    r = bank.counterparty.post(f"/pledges/{reg}/changes", {"pledgors": [renamed]})
    assert r.status_code == 422 and r.data["error"]["code"] == "owner_name_change_not_recorded"
    rights.record_event(actor=SYSTEM, right=right, data={"type": "owner_renamed", "date": "2026-01-02",
                                                         "new_name": renamed["name"]})
    assert bank.counterparty.post(f"/pledges/{reg}/changes", {"pledgors": [renamed]}).status_code == 200


def test_locked_events_need_pledgee_consent(bank, registrar):
    make_patent()
    registered(bank)
    path = "/ip-rights/invention/201410362077.3/events"
    for body in ({"type": "transferred", "date": "2026-01-05", "new_owners": [OTHER]},
                 {"type": "licensed", "date": "2026-01-05"}, {"type": "abandoned", "date": "2026-01-05"},
                 {"type": "open_licence_declared", "date": "2026-01-05"}):
        r = registrar.post(path, body)
        assert r.status_code == 409 and r.data["error"]["code"] == "pledged_right_locked", body
    r = registrar.post(path, {"type": "licensed", "date": "2026-01-05", "pledgee_consent": True})
    assert r.status_code == 201


def test_risk_events_notify_the_pledgee(bank, registrar):
    make_patent()
    registered(bank)
    r = registrar.post("/ip-rights/invention/201410362077.3/events", {"type": "invalidation_requested",
                                                                      "date": "2026-01-05"})
    assert r.status_code == 201
    notes = bank.get("/notifications").data
    # (Both parties were also told of the registration itself: kind pledge.registered.)
    assert [n["data"]["event"] for n in notes if n["kind"] == "pledged_right_event"] == ["invalidation_requested"]
    # One risk notice, to the pledgee only (the pledgor's earlier request to confirm aside).
    assert Notification.objects.filter(kind="pledged_right_event").count() == 1


def test_cancellation_reasons_and_notice(bank):
    make_patent()
    reg = registered(bank)
    assert bank.post(f"/pledges/{reg}/cancellation", {"reason": "bored"}).status_code == 422
    r = bank.post(f"/pledges/{reg}/cancellation", {"reason": "waived"})
    assert r.data["status"] == "cancelled"
    assert bank.post(f"/pledges/{reg}/cancellation", {"reason": "waived"}).data["error"]["code"] == "pledge_not_live"
    pdf = bank.client.get(f"/registry/pledges/{reg}/notice.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")


def test_revocation_needs_two_registrars(bank, registrar, api_as):
    make_patent()
    reg = registered(bank)
    first = registrar.post(f"/pledges/{reg}/revocation", {"reason": "伪造合同"})
    assert first.status_code == 202 and first.data["status"] == "pending_confirmation"
    again = registrar.post(f"/pledges/{reg}/revocation", {"reason": "伪造合同"})
    assert again.status_code == 409 and again.data["error"]["code"] == "checker_must_differ"
    second, _ = api_as("registrar", "ip_office", username="checker")
    done = second.post(f"/pledges/{reg}/revocation", {"reason": "伪造合同"})
    assert done.status_code == 200 and done.data["status"] == "revoked"
    assert bank.post(f"/pledges/{reg}/revocation", {"reason": "x"}).status_code == 403


@override_settings(ALLOW_BUSINESS_DATE=True)
def test_objection_expires_after_30_days_unless_case_notice(bank, api_as):
    admin, _ = api_as("admin")
    admin.put("/admin/business-date", {"date": "2026-03-01"})
    make_patent()
    reg = registered(bank)
    plain = bank.post(f"/pledges/{reg}/objections", {"statement": "金额记载有误"})
    assert plain.status_code == 201 and plain.data["expires_on"] == "2026-03-31"
    court = bank.post(f"/pledges/{reg}/objections", {"statement": "已起诉", "case_notice_ref": "(2026)粤03民初1号"})
    assert court.data["expires_on"] is None
    admin.put("/admin/business-date", {"date": "2026-03-31"})
    eod.run(business_date=dt.date(2026, 3, 31))
    assert len([o for o in bank.get(f"/pledges/{reg}").data["objections"] if not o["removed"]]) == 2
    admin.put("/admin/business-date", {"date": "2026-04-01"})
    eod.run(business_date=dt.date(2026, 4, 1))
    open_ = [o for o in bank.get(f"/pledges/{reg}").data["objections"] if not o["removed"]]
    assert [o["case_notice"] for o in open_] == [True]


@override_settings(ALLOW_BUSINESS_DATE=True)
def test_trademark_pledge_lapses_and_extension_rules(bank, api_as):
    admin, _ = api_as("admin")
    admin.put("/admin/business-date", {"date": "2026-03-01"})
    rights.create_right(actor=SYSTEM, data={"kind": "trademark", "number": "12345678", "mark_text": "示范",
                                            "owners": [PLEDGOR], "registration_date": "2020-05-01",
                                            "nice_class": 9, "similar_groups": ["0901"]})
    tm = [{"kind": "trademark", "number": "第12345678号"}]
    missing = bank.post("/pledge-applications", application(rights=tm))
    assert missing.status_code == 422 and "registration_term_end" in missing.data["error"]["fields"]
    reg = registered(bank, rights=tm, registration_term_end="2026-06-30")
    r = bank.post(f"/pledges/{reg}/extensions", {"registration_term_end": "2027-06-30"})
    assert r.status_code == 422 and r.data["error"]["code"] == "guarantee_letter_required"
    r = bank.post(f"/pledges/{reg}/extensions", {"registration_term_end": "2027-06-30", "guarantee_letter": "GL-1"})
    assert r.status_code == 200 and r.data["registration_term_end"] == "2027-06-30"
    admin.put("/admin/business-date", {"date": "2027-07-01"})
    eod.run(business_date=dt.date(2027, 7, 1))
    assert bank.get(f"/pledges/{reg}").data["status"] == "lapsed"
    late = bank.post(f"/pledges/{reg}/extensions", {"registration_term_end": "2028-06-30", "guarantee_letter": "x"})
    assert late.status_code == 409


def test_second_trademark_pledge_is_allowed(bank):
    rights.create_right(actor=SYSTEM, data={"kind": "trademark", "number": "12345678", "owners": [PLEDGOR],
                                            "registration_date": "2020-05-01"})
    tm = [{"kind": "trademark", "number": "12345678"}]
    registered(bank, rights=tm, registration_term_end="2027-06-30")
    registered(bank, rights=tm, registration_term_end="2027-06-30", contract_no="B")


def test_copyright_pledged_again_ranks_by_registration_time(bank, anon):
    rights.create_right(actor=SYSTEM, data={"kind": "software", "number": "2020SR0109251", "title": "示范系统",
                                            "owners": [PLEDGOR], "completion_date": "2019-01-01",
                                            "first_publication_date": "2019-06-01", "author_kind": "legal_person"})
    sw = [{"kind": "software", "number": "2020sr0109251"}]
    first = registered(bank, rights=sw)
    second = registered(bank, rights=sw, contract_no="SECOND")
    found = anon.get("/public/pledges?right=2020SR0109251").data["results"]
    assert [r["registration_no"] for r in found] == [first, second]


def test_awaiting_declaration_then_continue_or_refuse(bank):
    make_patent(events=[{"type": "invalidation_requested", "date": "2025-01-01"}])
    r = bank.post("/pledge-applications", application())
    assert r.data["status"] == "awaiting_declaration"
    assert [x["code"] for x in r.data["reasons"]] == ["invalidation_pending_declaration_required"]
    no = r.data["application_no"]
    done = bank.post(f"/pledge-applications/{no}/declarations", {"continue": True})
    assert done.data["status"] == "registered"
    assert done.data["notes"][0]["right"] == "invention:201410362077.3"
    again = bank.post(f"/pledge-applications/{no}/declarations", {"continue": True})
    assert again.status_code == 409


def test_declining_the_declaration_refuses(bank):
    make_patent(events=[{"type": "invalidation_requested", "date": "2025-01-01"}])
    no = bank.post("/pledge-applications", application()).data["application_no"]
    r = bank.post(f"/pledge-applications/{no}/declarations", {"continue": False})
    assert r.data["status"] == "refused"


@override_settings(ALLOW_BUSINESS_DATE=True)
def test_correction_then_registration_or_abandonment(bank, api_as):
    admin, _ = api_as("admin")
    admin.put("/admin/business-date", {"date": "2026-03-01"})
    make_patent()
    abroad = [{**PLEDGEE, "domicile_in_china": False}]
    r = bank.post("/pledge-applications", application(pledgees=abroad))
    assert r.data["status"] == "correction_required" and r.data["correction_deadline"] == "2026-03-31", r.data
    no = r.data["application_no"]
    # A material correction by the bank needs the pledgor's confirmation again.
    fixed = bank.api.post(f"/pledge-applications/{no}/corrections", {"agent": {"name": "中国专利代理（香港）有限公司"}})
    assert fixed.data["status"] == "awaiting_confirmation", fixed.data
    assert fixed.data["awaiting_confirmation"]["pledgor"]["orgs"] == [PLEDGOR["name"]]
    done = bank.counterparty.post(f"/pledge-applications/{no}/confirmation", {"side": "pledgor"})
    assert done.data["status"] == "registered", done.data
    make_patent(number="ZL202011472880.4", filing_date="2020-12-15", grant_date="2021-06-01")
    other = bank.post("/pledge-applications", application(
        rights=[{"kind": "invention", "number": "ZL202011472880.4"}], pledgees=abroad))
    admin.put("/admin/business-date", {"date": "2026-03-31"})
    eod.run(business_date=dt.date(2026, 3, 31))
    assert bank.get(f"/pledge-applications/{other.data['application_no']}").data["status"] == "correction_required"
    admin.put("/admin/business-date", {"date": "2026-04-01"})
    eod.run(business_date=dt.date(2026, 4, 1))
    assert bank.get(f"/pledge-applications/{other.data['application_no']}").data["status"] == "abandoned"


def test_withdraw_only_before_decision(bank):
    make_patent()
    open_app = bank.api.post("/pledge-applications", application()).data
    assert open_app["status"] == "awaiting_confirmation"
    assert bank.post(f"/pledge-applications/{open_app['application_no']}/withdraw").data["status"] == "withdrawn"
    make_patent(number="ZL202011472880.4", filing_date="2020-12-15", grant_date="2021-06-01")
    done = bank.post("/pledge-applications", application(rights=[{"kind": "invention", "number": "ZL202011472880.4"}]))
    r = bank.post(f"/pledge-applications/{done.data['application_no']}/withdraw")
    assert r.status_code == 409 and r.data["error"]["code"] == "not_withdrawable"


def test_point_in_time_search(bank, anon):
    make_patent()
    reg = registered(bank)
    pledge = Pledge.objects.get(registration_no=reg)
    before = quote((pledge.registered_at - dt.timedelta(seconds=1)).isoformat())
    assert anon.get(f"/public/pledges?right=2014103620773&as_of={before}").data["results"] == []
    bank.post(f"/pledges/{reg}/cancellation", {"reason": "repaid"})
    at_registration = quote(pledge.registered_at.isoformat())
    r = anon.get(f"/public/pledges?right=2014103620773&as_of={at_registration}").data
    assert [x["status"] for x in r["results"]] == ["registered"]
    assert anon.get("/public/pledges?right=2014103620773").data["results"][0]["status"] == "cancelled"


def test_name_search_exact_close_and_individuals(bank, anon, api_as):
    person = {"name": "张三", "id_type": "resident_id", "id_number": "11010519491231002X", "address": "北京市",
              "country": "CN"}
    make_patent(owners=[person])
    # A natural person off the platform confirms on paper: a registrar checks the signed contract.
    no = bank.post("/pledge-applications", application(pledgors=[person], signed_contract_ref="合同扫描件 SHA-256 1f2e")
                   ).data["application_no"]
    registrar, _ = api_as("registrar", "ip_office")
    assert registrar.post(f"/pledge-applications/{no}/confirmation", {"side": "pledgor"}).data["status"] == "registered"
    exact = anon.get("/public/pledges?party=示范商业银行股份有限公司").data["results"]
    assert len(exact) == 1 and "close_match" not in exact[0]
    assert anon.get("/public/pledges?party=示范商业银行").data["results"] == []
    close = anon.get("/public/pledges?party=示范商业银行&close=true").data["results"]
    assert len(close) == 1 and close[0]["close_match"] is True
    assert anon.get("/public/pledges?party=张三").data["results"] == []
    by_id = anon.get("/public/pledges?party_id=11010519491231002X").data["results"]
    assert by_id[0]["pledgors"][0]["id_number"] == "110105********002X"


def test_checkpoint_signed_and_published(bank, anon):
    from ippledge.registry import signing

    make_patent()
    registered(bank)
    # A checkpoint is signed only for the day it closes: today's business date.
    from ippledge.core import business_date

    eod.run(business_date=business_date.today())
    data = anon.get("/public/registry/checkpoints").data
    cp = data["checkpoints"][0]
    assert cp["seq"] == Checkpoint.objects.get().seq and cp["seq"] >= 3
    message = signing.checkpoint_message(cp["date"], cp["seq"], cp["head"])
    assert signing.verify_signature(data["public_key"], message, cp["signature"])
    assert not signing.verify_signature(data["public_key"], message.replace("|3|", "|4|") + "x", cp["signature"])


def test_registration_time_statistics(bank):
    make_patent()
    registered(bank)
    rows = bank.get("/registry/stats/registration-time").data["rows"]
    assert rows[0]["kind"] == "invention" and rows[0]["applications"] == 1
    assert rows[0]["max_seconds"] < 5


def test_disclosure_only_records_are_labelled(bank, anon):
    rights.create_right(actor=SYSTEM, data={"kind": "ic_layout", "number": "BS.20500123.4", "title": "示范芯片布图",
                                            "owners": [PLEDGOR], "filing_date": "2020-01-01",
                                            "completion_date": "2019-06-01"})
    reg = registered(bank, rights=[{"kind": "ic_layout", "number": "BS.20500123.4"}])
    record = anon.get(f"/public/pledges/{reg}").data
    assert record["disclosure_only"] is True and record["regime"] == "disclosure"
    page = anon.client.get(f"/registry/pledges/{reg}/").content.decode()
    assert "data-testid=\"record\"" in page and "alert" in page


def test_mixed_regimes_are_refused_as_malformed(bank):
    make_patent()
    rights.create_right(actor=SYSTEM, data={"kind": "trademark", "number": "12345678", "owners": [PLEDGOR],
                                            "registration_date": "2020-05-01"})
    r = bank.post("/pledge-applications", application(rights=[{"kind": "invention", "number": "ZL201410362077.3"},
                                                              {"kind": "trademark", "number": "12345678"}]))
    assert r.status_code == 422 and r.data["error"]["code"] == "mixed_regimes"


def test_similar_marks_must_be_pledged_together(bank):
    for number, text in (("12345678", "ZEPHYRQ"), ("12345679", "ZEPHYR"), ("12345680", "KOALAMOTOR")):
        rights.create_right(actor=SYSTEM, data={"kind": "trademark", "number": number, "owners": [PLEDGOR],
                                                "mark_text": text, "registration_date": "2020-05-01",
                                                "nice_class": 9, "similar_groups": ["0901"]})
    one = bank.post("/pledge-applications", application(rights=[{"kind": "trademark", "number": "12345678"}],
                                                        registration_term_end="2027-06-30"))
    assert one.data["status"] == "correction_required"
    assert one.data["reasons"][0]["code"] == "similar_marks_not_included"
    # ZEPHYR is contained in ZEPHYRQ: similar marks on the same goods. KOALAMOTOR shares the goods only.
    assert "12345679" in one.data["reasons"][0]["message"]
    assert "12345680" not in one.data["reasons"][0]["message"]
    both = bank.post("/pledge-applications", application(
        rights=[{"kind": "trademark", "number": "12345678"}, {"kind": "trademark", "number": "12345679"}],
        registration_term_end="2027-06-30", contract_no="BOTH"))
    assert both.data["status"] == "registered"


def test_a_figurative_mark_on_the_same_goods_goes_to_a_registrar_not_a_correction(bank, registrar):
    for number, text in (("22345678", "示范"), ("22345679", "")):
        rights.create_right(actor=SYSTEM, data={"kind": "trademark", "number": number, "owners": [PLEDGOR],
                                                "mark_text": text, "registration_date": "2020-05-01",
                                                "nice_class": 9, "similar_groups": ["0901"]})
    r = bank.post("/pledge-applications", application(rights=[{"kind": "trademark", "number": "22345678"}],
                                                      registration_term_end="2027-06-30"))
    assert r.data["status"] == "registered", r.data
    assert [n["code"] for n in r.data["notes"]] == ["similar_marks_to_judge"]
    assert r.data["application_no"] in [a["application_no"] for a in registrar.get("/registry/queue").data]


def test_co_owned_patent_needs_every_co_owners_consent(bank):
    make_patent(owners=[PLEDGOR, OTHER])
    refused = bank.post("/pledge-applications", application())
    assert refused.data["status"] == "refused"
    assert [r["code"] for r in refused.data["reasons"]] == ["co_owner_consent_missing"]
    consent = [{"right": {"kind": "invention", "number": "2014103620773"}, "owner_id_number": OTHER["id_number"]}]
    assert bank.post("/pledge-applications", application(co_owner_consents=consent,
                                                          contract_no="C2")).data["status"] == "registered"


def test_webhook_receives_signed_notification(bank, registrar, api_as, monkeypatch):
    import hashlib
    import hmac
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from ippledge.registry import notify

    # The receiver runs on this machine: the operator allows loopback for it.
    monkeypatch.setenv("IPPLEDGE_WEBHOOK_ALLOW_HOSTS", "127.0.0.1")
    received = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.headers["X-Ippledge-Signature"], body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.handle_request, daemon=True).start()
    try:
        # Registered before the webhook exists: the registration's own notice (to both parties) is not posted.
        make_patent()
        registered(bank)
        hook = bank.post("/webhooks", {"url": f"http://127.0.0.1:{server.server_port}/hook"})
        assert hook.status_code == 201
        registrar.post("/ip-rights/invention/201410362077.3/events", {"type": "preserved", "date": "2026-01-05"})
        assert notify.deliver() == 1
    finally:
        server.server_close()
    signature, body = received[0]
    expected = "sha256=" + hmac.new(hook.data["secret"].encode(), body, hashlib.sha256).hexdigest()
    assert signature == expected and json.loads(body)["data"]["event"] == "preserved"
