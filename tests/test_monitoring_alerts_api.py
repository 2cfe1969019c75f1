"""The alerts API: shapes, filters, paging, scope (404 for another bank's alert), acknowledge, resolve."""

from __future__ import annotations

import datetime as dt

import pytest

from ippledge.monitoring import services

from .monitoring_fixtures import live_pledge
from .registry_fixtures import make_patent, patent_number

ON = dt.date(2026, 12, 3)


@pytest.fixture
def world(api_as, make_org):
    bank_a = make_org("bank", name="甲银行")
    bank_b = make_org("bank", name="乙银行")
    right = make_patent()
    other = make_patent(number=patent_number("201510000001"))
    pledge = live_pledge([right], bank_a)
    pledge_b = live_pledge([other], bank_b)
    a = services.raise_alert(kind="litigation", condition_key="c1", owner_org=bank_a, on=ON, pledge=pledge,
                             right=right, detail={"event": "litigation_filed"})
    a2 = services.raise_alert(kind="annuity_grace", condition_key="c2", owner_org=bank_a, on=ON, pledge=pledge,
                              right=right, detail={"annuity_due_date": "2026-11-01",
                                                   "surcharge_deadline": "2027-05-01"})
    b = services.raise_alert(kind="litigation", condition_key="c1", owner_org=bank_b, on=ON, pledge=pledge_b,
                             right=other)
    clients = {name: api_as(role, org=org, username=name)[0] for name, role, org in (
        ("a", "bank_officer", bank_a), ("a_approver", "bank_approver", bank_a), ("b", "bank_officer", bank_b))}
    clients["regulator"] = api_as("regulator_user")[0]
    clients["enterprise"] = api_as("enterprise_user")[0]
    return {"alert_a": a, "alert_a2": a2, "alert_b": b, "pledge": pledge, "right": right, "bank_a": bank_a, **clients}


def test_the_list_shape(world):
    r = world["a"].get("/alerts")
    assert r.status_code == 200 and r.data["count"] == 2
    item = next(x for x in r.data["results"] if x["id"] == world["alert_a"].pk)
    assert set(item) == {"id", "kind", "severity", "status", "registration_no", "right", "loan_no", "owner_org_id",
                         "due_date", "required_action", "detail", "created_at"}
    assert item["kind"] == "litigation" and item["status"] == "open" and item["severity"] == "warning"
    assert item["registration_no"] == world["pledge"].registration_no
    assert item["right"] == {"kind": "invention", "number": world["right"].number}
    assert item["loan_no"] == "" and item["owner_org_id"] == world["bank_a"].pk
    assert item["due_date"] == world["alert_a"].due_date.isoformat() and item["required_action"]
    assert item["detail"] == {"event": "litigation_filed"}


def test_filters_and_paging(world):
    api = world["a"]
    assert api.get("/alerts?kind=annuity_grace").data["count"] == 1
    assert api.get("/alerts?severity=critical").data["results"][0]["kind"] == "annuity_grace"
    assert api.get(f"/alerts?registration_no={world['pledge'].registration_no}").data["count"] == 2
    assert api.get("/alerts?registration_no=nope").data["count"] == 0
    assert api.get("/alerts?loan_no=L-none").data["count"] == 0
    assert api.get("/alerts?status=resolved").data["count"] == 0
    page = api.get("/alerts?limit=1&offset=1").data
    assert page["count"] == 2 and len(page["results"]) == 1
    assert len(api.get("/alerts?limit=100000").data["results"]) == 2  # bounded, not refused
    r = api.get("/alerts?status=bogus")
    assert r.status_code == 422 and "status" in r.data["error"]["fields"]


def test_scope_per_role(world):
    assert {x["id"] for x in world["b"].get("/alerts").data["results"]} == {world["alert_b"].pk}
    assert world["regulator"].get("/alerts").data["count"] == 3
    assert world["enterprise"].get("/alerts").data == {"results": [], "count": 0}


def test_acknowledge_and_resolve(world):
    pk = world["alert_a"].pk
    r = world["a"].post(f"/alerts/{pk}/acknowledge")
    assert r.status_code == 200 and r.data["status"] == "acknowledged"
    r = world["a_approver"].post(f"/alerts/{pk}/resolve", {"resolution": "accepted_risk", "note": "担保充足"})
    assert r.status_code == 200 and r.data["status"] == "resolved"
    r = world["a"].post(f"/alerts/{pk}/resolve", {"resolution": "remedied"})
    assert r.status_code == 409 and r.data["error"]["code"] == "alert_already_resolved"
    assert world["a"].get("/alerts?status=resolved").data["count"] == 1


def test_another_banks_alert_is_not_found_and_regulators_only_read(world):
    pk = world["alert_a"].pk
    for path, body in ((f"/alerts/{pk}/acknowledge", {}), (f"/alerts/{pk}/resolve", {"resolution": "remedied"})):
        r = world["b"].post(path, body)
        assert r.status_code == 404 and r.data["error"]["code"] == "alert_not_found"
        assert world["regulator"].post(path, body).status_code == 403
        assert world["enterprise"].post(path, body).status_code == 403
    assert world["a"].post("/alerts/999999/acknowledge").status_code == 404


def test_resolution_errors(world):
    pk = world["alert_a"].pk
    r = world["a"].post(f"/alerts/{pk}/resolve", {"resolution": "cleared"})
    assert r.status_code == 422 and "resolution" in r.data["error"]["fields"]
    r = world["a"].post(f"/alerts/{pk}/resolve", {"resolution": "false_positive"})
    assert r.status_code == 422 and r.data["error"]["code"] == "note_required"
    r = world["a"].post(f"/alerts/{pk}/resolve", {"resolution": "remedied", "note": 12})
    assert r.status_code == 422


def test_anonymous_is_refused(anon):
    assert anon.get("/alerts").status_code == 401
