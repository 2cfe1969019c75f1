"""Rights-register API: recording rights and events, lookup by any normal form, derived state."""

from __future__ import annotations

import pytest

from ippledge.core.models import AuditEntry
from ippledge.rights.models import LegalEvent, Right

from .conftest import uscc

pytestmark = pytest.mark.django_db

OWNER = {"name": "深圳示范科技有限公司", "id_type": "uscc", "id_number": "914403001922038216",
         "country": "CN", "domicile_in_china": True, "address": "深圳市南山区"}


def invention(**over):
    body = {"kind": "invention", "number": "ZL201410362077.3", "title": "一种数据传输方法",
            "owners": [OWNER], "filing_date": "2014-07-28", "grant_date": "2017-03-01",
            "annuity_paid_through": "2027-07-27", "ipc": ["H04L"], "claims_count": 10}
    body.update(over)
    return body


@pytest.fixture
def registrar(api_as):
    client, _ = api_as("registrar", "ip_office")
    return client


def test_record_invention_and_read_back_in_any_form(registrar):
    r = registrar.post("/ip-rights", invention())
    assert r.status_code == 201, r.data
    assert r.data["number"] == "201410362077.3"
    assert r.data["term_end"] == "2034-07-27"
    for form in ("ZL201410362077.3", "201410362077.3", "2014103620773", "zl 2014 1036 2077.3"):
        got = registrar.get(f"/ip-rights/invention/{form}")
        assert got.status_code == 200, form
        assert got.data["number"] == "201410362077.3"
    assert AuditEntry.objects.filter(action="right.create").count() == 1


def test_state_is_derived_at_the_asked_date(registrar):
    registrar.post("/ip-rights", invention(annuity_paid_through="2025-07-27"))
    before = registrar.get("/ip-rights/invention/201410362077.3?as_of=2025-07-01").data
    assert before["legal_state"] == "in_force"
    grace = registrar.get("/ip-rights/invention/201410362077.3?as_of=2025-10-01").data
    assert grace["legal_state"] == "annuity_grace"
    lapsed = registrar.get("/ip-rights/invention/201410362077.3?as_of=2026-03-01").data
    assert lapsed["legal_state"] == "terminated"


def test_utility_model_term_from_the_rules(registrar):
    body = invention(kind="utility_model", number="ZL99113861.9", filing_date="1999-09-06",
                     grant_date="2000-05-01", annuity_paid_through=None)
    # The old-format number's type digit is 1 (invention); declaring it a utility model is refused.
    r = registrar.post("/ip-rights", body)
    assert r.status_code == 422 and r.data["error"]["code"] == "patent_kind_mismatch"
    body["kind"] = "invention"
    r = registrar.post("/ip-rights", body)
    assert r.status_code == 201
    assert r.data["term_end"] == "2019-09-05"
    assert r.data["legal_state"] == "expired"


def test_bad_input_is_422_with_fields_and_nothing_written(registrar):
    r = registrar.post("/ip-rights", invention(number="ZL201410362077.4"))
    assert r.status_code == 422
    assert r.data["error"]["code"] == "invalid_patent_number"
    assert "number" in r.data["error"]["fields"]
    bad_owner = dict(OWNER, id_number="914403001922038217")
    r = registrar.post("/ip-rights", invention(owners=[bad_owner]))
    assert r.status_code == 422 and r.data["error"]["code"] == "invalid_uscc"
    assert "owners[0].id_number" in r.data["error"]["fields"]
    r = registrar.post("/ip-rights", invention(filing_date="2014-13-45"))
    assert r.status_code == 422 and r.data["error"]["code"] == "validation_error"
    assert "filing_date" in r.data["error"]["fields"]
    r = registrar.post("/ip-rights", invention(owners=[]))
    assert r.status_code == 422
    assert Right.objects.count() == 0


def test_duplicate_right_is_409(registrar):
    assert registrar.post("/ip-rights", invention()).status_code == 201
    r = registrar.post("/ip-rights", invention(number="2014103620773"))
    assert r.status_code == 409 and r.data["error"]["code"] == "duplicate_right"


def test_events_change_state_and_flags(registrar):
    registrar.post("/ip-rights", invention())
    path = "/ip-rights/invention/201410362077.3/events"
    r = registrar.post(path, {"type": "invalidation_requested", "date": "2026-01-10"})
    assert r.status_code == 201 and r.data["seq"] == 1
    right = registrar.get("/ip-rights/invention/201410362077.3?as_of=2026-02-01").data
    assert "invalidation_pending" in right["flags"]
    r = registrar.post(path, {"type": "invalidation_decided", "date": "2026-06-01", "outcome": "invalid"})
    assert r.status_code == 201
    right = registrar.get("/ip-rights/invention/201410362077.3?as_of=2026-06-02").data
    assert right["legal_state"] == "invalidated"
    assert [e["type"] for e in right["events"]] == ["invalidation_requested", "invalidation_decided"]


def test_event_by_official_code_alone(registrar):
    registrar.post("/ip-rights", invention())
    r = registrar.post("/ip-rights/invention/201410362077.3/events", {"official_code": "CF01", "date": "2026-02-01"})
    assert r.status_code == 201, r.data
    assert r.data["type"] == "terminated_unpaid_annuity"
    r = registrar.post("/ip-rights/invention/201410362077.3/events", {"official_code": "PE01", "date": "2026-02-01"})
    assert r.status_code == 422 and "official_code" in r.data["error"]["fields"]


def test_invalid_events_are_refused(registrar):
    registrar.post("/ip-rights", invention())
    path = "/ip-rights/invention/201410362077.3/events"
    r = registrar.post(path, {"type": "suspension_lifted", "date": "2026-01-10"})
    assert r.status_code == 422 and r.data["error"]["code"] == "invalid_event"
    r = registrar.post(path, {"type": "renewed", "date": "2026-01-10", "renewed_to": "2040-01-01"})
    assert r.status_code == 422
    r = registrar.post(path, {"type": "transferred", "date": "2026-01-10"})
    assert r.status_code == 422
    assert LegalEvent.objects.count() == 0


def test_transfer_changes_current_owners(registrar):
    registrar.post("/ip-rights", invention())
    buyer = {"name": "广州受让科技有限公司", "id_type": "uscc", "id_number": uscc("91440101MA5CXXXX0"),
             "country": "CN"}
    r = registrar.post("/ip-rights/invention/201410362077.3/events",
                       {"type": "transferred", "date": "2026-03-01", "new_owners": [buyer]})
    assert r.status_code == 201, r.data
    after = registrar.get("/ip-rights/invention/201410362077.3?as_of=2026-03-02").data
    assert [o["name"] for o in after["current_owners"]] == ["广州受让科技有限公司"]
    before = registrar.get("/ip-rights/invention/201410362077.3?as_of=2026-02-01").data
    assert [o["name"] for o in before["current_owners"]] == ["深圳示范科技有限公司"]


def test_trademark_term_and_renewal(registrar):
    body = {"kind": "trademark", "number": "第12345678号", "mark_text": "示范", "owners": [OWNER],
            "filing_date": "2014-01-02", "registration_date": "2015-03-10", "nice_class": 9,
            "similar_groups": ["0901", "0907"]}
    r = registrar.post("/ip-rights", body)
    assert r.status_code == 201, r.data
    assert r.data["number"] == "12345678" and r.data["term_end"] == "2025-03-09"
    r = registrar.post("/ip-rights/trademark/12345678/events",
                       {"type": "renewed", "date": "2025-01-05", "renewed_to": "2035-03-09"})
    assert r.status_code == 201, r.data
    assert registrar.get("/ip-rights/trademark/第12345678号").data["term_end"] == "2035-03-09"


def test_copyright_office_registrar_cannot_record_patents(api_as):
    cr, _ = api_as("registrar", "copyright_office")
    r = cr.post("/ip-rights", invention())
    assert r.status_code == 403
    work = {"kind": "software", "number": "2020sr0109251", "title": "示范管理系统V1.0", "owners": [OWNER],
            "completion_date": "2019-06-01", "first_publication_date": "2019-08-01", "author_kind": "legal_person"}
    r = cr.post("/ip-rights", work)
    assert r.status_code == 201, r.data
    assert r.data["number"] == "2020SR0109251" and r.data["term_end"] == "2069-12-31"


def test_bank_user_reads_but_cannot_write(api_as, registrar):
    registrar.post("/ip-rights", invention())
    bank, _ = api_as("bank_officer", "bank")
    assert bank.get("/ip-rights/invention/201410362077.3").status_code == 200
    assert bank.post("/ip-rights", invention(number="ZL202011472880.4")).status_code == 403
    r = bank.post("/ip-rights/invention/201410362077.3/events", {"type": "licensed", "date": "2026-01-01"})
    assert r.status_code == 403


def test_search_by_number_title_and_holder(registrar):
    registrar.post("/ip-rights", invention())
    for q in ("2014103620773", "数据传输", "深圳示范科技", "914403001922038216"):
        r = registrar.get(f"/ip-rights?q={q}")
        assert [x["number"] for x in r.data] == ["201410362077.3"], q


def test_public_view_masks_individual_ids(registrar, anon):
    person = {"name": "张三", "id_type": "resident_id", "id_number": "11010519491231002X", "country": "CN"}
    registrar.post("/ip-rights", invention(owners=[person]))
    assert anon.get("/ip-rights/invention/201410362077.3").status_code == 401
    r = anon.get("/public/ip-rights/invention/201410362077.3")
    assert r.status_code == 200
    assert r.data["current_owners"][0]["id_number"] == "110105********002X"
    assert r.data["owners"][0]["id_number"] == "110105********002X"


def test_unknown_right_is_404(registrar):
    r = registrar.get("/ip-rights/invention/ZL202011472880.4")
    assert r.status_code == 404 and r.data["error"]["code"] == "right_not_found"
