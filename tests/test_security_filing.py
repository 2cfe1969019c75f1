"""Only the parties write a party's record (issue 9, points 1, 6, 11): who may file and confirm a pledge
application, registrars acting for their own office, and what an application may carry."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings

from ippledge.core import eod
from ippledge.registry.models import ApplicationConfirmation, PledgeApplication

from .conftest import uscc
from .registry_fixtures import BANK_USCC, PLEDGEE, PLEDGOR, application, make_patent, parties_on_platform

pytestmark = pytest.mark.django_db

RIVAL = {"name": "竞争对手科技有限公司", "id_type": "uscc", "id_number": uscc("91440300MA5DRQAL1"),
         "address": "深圳市福田区", "country": "CN"}
OTHER_BANK = {"name": "另一家商业银行", "id_type": "uscc", "id_number": uscc("91310000MA1FPX3K2"),
              "address": "上海市浦东新区", "country": "CN"}


@pytest.fixture
def parties(api_as, make_org, make_user):
    return parties_on_platform(api_as, make_org, make_user)


def test_a_bank_cannot_file_another_companys_patent_to_another_bank(parties, api_as, make_org):
    make_patent()
    stranger_org = make_org("bank", name="第三家银行", uscc=uscc("91440000MA4UHY7K3"))
    stranger, _ = api_as("bank_officer", org=stranger_org, username="stranger-officer")
    r = stranger.post("/pledge-applications", application(pledgees=[OTHER_BANK]))
    assert r.status_code == 403 and r.data["error"]["code"] == "filer_not_party"
    assert not PledgeApplication.objects.exists()


def test_a_rival_naming_itself_pledgee_cannot_lock_the_owners_patent(parties, api_as, make_org):
    make_patent()
    _, _, owner = parties
    rival_org = make_org("enterprise", name=RIVAL["name"], uscc=RIVAL["id_number"])
    rival, _ = api_as("enterprise_user", org=rival_org, username="rival")
    r = rival.post("/pledge-applications", application(pledgees=[RIVAL],
                                                       confirmations={"pledgor": True, "pledgee": True}))
    assert r.status_code == 201
    # The body spoke for the pledgor too; only the rival's own side counts, so nothing is registered.
    assert r.data["status"] == "awaiting_confirmation" and r.data["registration_no"] is None
    assert r.data["awaiting_confirmation"]["pledgor"]["orgs"] == [PLEDGOR["name"]]
    # The owner can still license its patent (no pledge lock) and is asked to confirm.
    licence = owner.get("/notifications").data
    assert [n["kind"] for n in licence] == ["pledge.confirmation_requested"]
    assert rival.post(f"/pledge-applications/{r.data['application_no']}/confirmation",
                      {"side": "pledgor"}).data["error"]["code"] == "confirmer_not_party"


def test_each_party_confirms_through_its_own_users_then_examined_at_once(parties):
    make_patent()
    _, bank, enterprise = parties
    r = bank.post("/pledge-applications", application())
    assert r.status_code == 201 and r.data["status"] == "awaiting_confirmation"
    no = r.data["application_no"]
    assert r.data["awaiting_confirmation"] == {"pledgor": {"orgs": [PLEDGOR["name"]], "paper": False},
                                               "pledgee": {"orgs": [], "paper": False}}
    # The bank cannot confirm for the pledgor.
    denied = bank.post(f"/pledge-applications/{no}/confirmation", {"side": "pledgor"})
    assert denied.status_code == 403 and denied.data["error"]["code"] == "confirmer_not_party"
    done = enterprise.post(f"/pledge-applications/{no}/confirmation", {"side": "pledgor"})
    assert done.status_code == 200 and done.data["status"] == "registered", done.data
    again = enterprise.post(f"/pledge-applications/{no}/confirmation", {"side": "pledgor"})
    assert again.status_code == 409 and again.data["error"]["code"] == "not_awaiting_confirmation"
    vias = sorted(ApplicationConfirmation.objects.values_list("side", "via"))
    assert vias == [("pledgee", "filer"), ("pledgor", "party")]


def test_a_party_off_the_platform_is_confirmed_by_a_registrar_from_the_signed_contract(parties, api_as):
    make_patent(number="ZL201410362077.3", owners=[RIVAL])
    _, bank, _ = parties
    r = bank.post("/pledge-applications", application(pledgors=[RIVAL]))
    no = r.data["application_no"]
    assert r.data["awaiting_confirmation"]["pledgor"] == {"orgs": [], "paper": True}
    registrar, _ = api_as("registrar", "ip_office")
    assert no in [a["application_no"] for a in registrar.get("/registry/queue").data]
    missing = registrar.post(f"/pledge-applications/{no}/confirmation", {"side": "pledgor"})
    assert missing.status_code == 422 and missing.data["error"]["code"] == "signed_contract_required"
    # The bank's side is on the platform: a registrar cannot confirm it for the bank.
    own = registrar.post(f"/pledge-applications/{no}/confirmation", {"side": "pledgee", "signed_contract_ref": "x"})
    assert own.status_code == 409 and own.data["error"]["code"] == "party_confirms_itself"
    ok = registrar.post(f"/pledge-applications/{no}/confirmation",
                        {"side": "pledgor", "signed_contract_ref": "质押合同 ZY-2026-001 扫描件"})
    assert ok.data["status"] == "registered", ok.data


@override_settings(ALLOW_BUSINESS_DATE=True, REGISTRY_CORRECTION_DAYS=10)
def test_an_unconfirmed_application_is_abandoned_after_the_deadline(parties, api_as):
    admin, _ = api_as("admin")
    admin.put("/admin/business-date", {"date": "2026-03-01"})
    make_patent()
    _, bank, _ = parties
    r = bank.post("/pledge-applications", application())
    assert r.data["correction_deadline"] == "2026-03-11"
    admin.put("/admin/business-date", {"date": "2026-03-12"})
    eod.run(business_date=dt.date(2026, 3, 12))
    assert bank.get(f"/pledge-applications/{r.data['application_no']}").data["status"] == "abandoned"


def test_a_registrar_acts_for_its_own_office_only(parties, api_as, make_org):
    make_patent()
    copyright_registrar, _ = api_as("registrar", "copyright_office", username="copyright-registrar")
    paper = copyright_registrar.post("/pledge-applications", application())
    assert paper.status_code == 403 and paper.data["error"]["code"] == "not_your_office"
    no = parties[1].post("/pledge-applications", application()).data["application_no"]
    maker, _ = api_as("registrar", "ip_office", username="maker")
    proposal = maker.post("/registry/proposals", {"application_no": no, "action": "refuse", "reason": "合同无效",
                                                  "code": "contract_unlawful"})
    assert proposal.status_code == 201, proposal.data
    checked = copyright_registrar.post(f"/registry/proposals/{proposal.data['id']}/decision", {"accept": True})
    assert checked.status_code == 403 and checked.data["error"]["code"] == "not_your_office"
    assert no not in [a["application_no"] for a in copyright_registrar.get("/registry/queue").data]


@pytest.mark.parametrize(("over", "field"), [
    ({"debt_due_date": "1900-01-01"}, "debt_due_date"),
    ({"secured_debt": {"type": "贷款", "amount": "1000.001"}}, "secured_debt.amount"),
    ({"secured_debt": {"type": "贷款", "amount": "١٠٠٠"}}, "secured_debt.amount"),
    ({"secured_debt": {"type": "贷款", "amount": "1e30"}}, "secured_debt.amount"),
    ({"secured_debt": {"type": "贷款", "amount": "900000000000000000"}}, "secured_debt.amount"),
    ({"secured_debt": {"type": "贷款", "amount": "100", "currency": "€€€"}}, "secured_debt.currency"),
    ({"contract_no": "Z" * 100_000}, "contract_no"),
    ({"pledgors": [PLEDGOR] * 10_000}, "pledgors"),
    ({"pledgees": [{**PLEDGEE, "name": "银" * 5000}]}, "pledgees[0].name"),
])
def test_what_the_business_does_not_allow_is_refused_with_a_field_error(parties, over, field):
    make_patent()
    r = parties[1].post("/pledge-applications", application(**over))
    assert r.status_code == 422, r.data
    assert field in r.data["error"]["fields"], r.data
    assert not PledgeApplication.objects.exists()


def test_a_retry_with_the_same_idempotency_key_returns_the_same_application(parties):
    make_patent()
    bank = parties[1]
    first = bank.post("/pledge-applications", application(), headers={"Idempotency-Key": "k-1"})
    second = bank.post("/pledge-applications", application(), headers={"Idempotency-Key": "k-1"})
    assert first.status_code == second.status_code == 201
    assert first.data["application_no"] == second.data["application_no"]
    assert PledgeApplication.objects.count() == 1
    assert BANK_USCC  # the bank files as the pledgee it is


@override_settings(REGISTRY_CORRECTION_DAYS=12)
def test_the_correction_period_is_the_operators_setting(parties):
    make_patent()
    r = parties[0].post("/pledge-applications", application(pledgees=[{**PLEDGEE, "domicile_in_china": False}]))
    assert r.data["status"] == "correction_required"
    assert r.data["correction_deadline"] == (dt.date.fromisoformat(r.data["filing_date"]) + dt.timedelta(days=12)
                                             ).isoformat()


@override_settings(PUBLIC_RATE_LIMIT=1)
def test_a_throttled_search_page_is_a_429_with_retry_after(client):
    from django.core.cache import cache

    cache.clear()
    codes = [client.get("/registry/?right=2014103620773") for _ in range(3)]
    throttled = [r for r in codes if r.status_code == 429]
    assert throttled and all(r.has_header("Retry-After") for r in throttled)


def test_the_language_switch_never_echoes_a_searched_id_number(client):
    page = client.get("/registry/?party_id=11010519491231002X&right=2014103620773").content.decode()
    assert "11010519491231002X" not in page


@pytest.mark.parametrize("path", ["/api/v1/loans/a%00b", "/api/v1/credit-cases/a%00b", "/credit/cases/a%00b/",
                                  "/api/v1/pledges/Y%00"])
def test_a_nul_in_a_path_is_not_found_on_every_database(parties, path):
    r = parties[1].client.get(path, headers={"Authorization": f"Bearer {parties[1].token}"})
    assert r.status_code == 404


def test_a_proposal_naming_an_application_with_a_nul_is_not_found(api_as):
    registrar, _ = api_as("registrar", "ip_office")
    r = registrar.post("/registry/proposals", {"application_no": "ZY2026\u00000000001", "action": "clear",
                                               "reason": "x"})
    assert r.status_code == 404 and r.data["error"]["code"] == "application_not_found"


def test_control_characters_in_an_application_are_a_field_error(parties):
    make_patent()
    r = parties[1].post("/pledge-applications", application(contract_no="ZY\u0000-1",
                                                            pledgees=[{**PLEDGEE, "address": "北京\u0007"}]))
    assert r.status_code == 422 and r.data["error"]["code"] == "invalid_text"
    assert {"contract_no", "pledgees[0].address"} <= set(r.data["error"]["fields"])
