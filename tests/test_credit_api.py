"""Loan book through the API: LPR in force, booking against a registered pledge, schedules, repayments,
and the end-of-day five-category classification by the 2023 rules."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import override_settings

from ippledge.core import eod
from ippledge.credit.models import Loan

from .registry_fixtures import PLEDGEE, PLEDGOR, application, make_patent

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(api_as):
    from ippledge.core import services
    from ippledge.core.actors import SYSTEM

    client, user = api_as("bank_officer", "bank")
    org = user.organisation
    org.uscc = PLEDGEE["id_number"]
    org.save(update_fields=["uscc"])
    client.bank_id = org.pk
    # Loans go to enterprises the platform knows (a loan never creates an organisation).
    services.create_organisation(actor=SYSTEM, name=PLEDGOR["name"], kind="enterprise", uscc=PLEDGOR["id_number"])
    return client


@pytest.fixture
def reviewer(api_as, officer):
    from ippledge.core import services
    from ippledge.core.actors import SYSTEM

    from .conftest import PASSWORD, Api

    user = services.create_user(actor=SYSTEM, username="reviewer", password=PASSWORD, org_id=officer.bank_id,
                                roles=["bank_reviewer"])
    return Api(services.issue_token(user=user))


@pytest.fixture
def admin(api_as):
    client, _ = api_as("admin")
    return client


def loan_body(bank_id, **over):
    body = {"borrower_uscc": PLEDGOR["id_number"], "borrower_name": PLEDGOR["name"], "bank_org_id": bank_id,
            "amount": "1000000.00", "annual_rate": "0.0345", "start_date": "2026-01-05",
            "maturity_date": "2027-01-05", "schedule": "bullet", "ip_kind": "patent"}
    body.update(over)
    return body


def test_lpr_in_force_is_the_latest_fixing_on_or_before(officer):
    r = officer.get("/lpr?date=2019-09-01&tenor=1y")
    assert r.status_code == 200 and r.data == {"rate": "4.2500", "fixing_date": "2019-08-20", "tenor": "1y"}
    assert officer.get("/lpr?date=2019-09-20&tenor=5y").data["fixing_date"] == "2019-09-20"
    assert officer.get("/lpr?date=2019-01-01").status_code == 404


def test_admin_enters_the_next_fixing(admin, officer):
    assert officer.post("/lpr", {"fixing_date": "2026-09-21", "tenor": "1y", "rate": "2.95"}).status_code == 403
    r = admin.post("/lpr", {"fixing_date": "2026-09-21", "tenor": "1y", "rate": "2.95"})
    assert r.status_code == 201
    assert officer.get("/lpr?date=2026-10-01").data["rate"] == "2.9500"


def test_book_bullet_loan_against_a_registered_pledge(officer):
    make_patent()
    reg = officer.post("/pledge-applications", application()).data["registration_no"]
    r = officer.post("/loans", loan_body(officer.bank_id, pledge_registration_no=reg))
    assert r.status_code == 201, r.data
    loan = r.data
    # 1,000,000 × 3.45% × 365 / 360 = 34,979.17
    assert loan["schedule"] == [{"seq": 1, "due_date": "2027-01-05", "principal": "1000000.00",
                                 "interest": "34979.17", "paid": False, "paid_on": None}]
    assert loan["classification"] == "normal" and loan["balance"] == "1000000.00"
    bad = officer.post("/loans", loan_body(officer.bank_id, pledge_registration_no="Y20269999999"))
    assert bad.status_code == 409 and bad.data["error"]["code"] == "pledge_not_registered"


def test_equal_instalments_schedule_sums_to_the_principal(officer):
    r = officer.post("/loans", loan_body(officer.bank_id, amount="1200000", schedule="equal_instalments",
                                         annual_rate="0.042"))
    assert r.status_code == 201, r.data
    rows = r.data["schedule"]
    assert len(rows) == 12
    assert sum(Decimal(x["principal"]) for x in rows) == Decimal("1200000.00")


def test_bad_loan_input(officer):
    r = officer.post("/loans", loan_body(officer.bank_id, borrower_uscc="914403001922038217"))
    assert r.status_code == 422 and r.data["error"]["code"] == "invalid_uscc"
    r = officer.post("/loans", loan_body(officer.bank_id, annual_rate="3.45"))
    assert r.status_code == 422 and "annual_rate" in r.data["error"]["fields"]
    assert Loan.objects.count() == 0


@override_settings(ALLOW_BUSINESS_DATE=True)
def test_missed_payment_moves_the_classification_at_end_of_day(officer, reviewer, admin):
    def day(iso):
        admin.put("/admin/business-date", {"date": iso})
        eod.run(business_date=dt.date.fromisoformat(iso))

    admin.put("/admin/business-date", {"date": "2026-01-05"})
    loan = officer.post("/loans", loan_body(officer.bank_id, schedule="equal_instalments",
                                            maturity_date="2026-07-05")).data
    no, first = loan["loan_no"], loan["schedule"][0]
    day("2026-02-05")
    assert officer.get(f"/loans/{no}").data["dpd"] == 0
    day("2026-02-06")
    got = officer.get(f"/loans/{no}").data
    assert got["dpd"] == 1 and got["classification"] == "special_mention"
    assert got["classification_history"][-1]["reasons"][0][0] == "dpd_over_0"
    day("2026-05-07")  # 91 days past 2026-02-05
    got = officer.get(f"/loans/{no}").data
    assert got["dpd"] == 91 and got["classification"] == "substandard"
    r = officer.post(f"/loans/{no}/repayments", {"date": "2026-05-07", "principal": first["principal"],
                                                 "interest": first["interest"]})
    assert r.status_code == 201
    # An NPL does not climb back by itself: the upgrade conditions are not met yet.
    day("2026-05-08")
    assert officer.get(f"/loans/{no}").data["classification"] == "substandard"
    refused = reviewer.post(f"/loans/{no}/classification", {"category": "normal", "reason": "已还款"})
    assert refused.status_code == 409 and refused.data["error"]["code"] == "upgrade_not_allowed"
    down = reviewer.post(f"/loans/{no}/classification", {"category": "doubtful", "reason": "经营恶化"})
    assert down.status_code == 200 and down.data["classification"] == "doubtful"
    day("2026-05-09")
    assert officer.get(f"/loans/{no}").data["classification"] == "doubtful"


@override_settings(ALLOW_BUSINESS_DATE=True)
def test_extension_is_a_restructuring_under_observation(officer, reviewer, admin):
    admin.put("/admin/business-date", {"date": "2026-01-05"})
    loan = officer.post("/loans", loan_body(officer.bank_id, maturity_date="2026-06-05")).data
    admin.put("/admin/business-date", {"date": "2026-03-01"})
    assert officer.post(f"/loans/{loan['loan_no']}/extension", {"maturity_date": "2026-12-05"}).status_code == 403
    r = reviewer.post(f"/loans/{loan['loan_no']}/extension", {"maturity_date": "2026-12-05", "reason": "资金周转"})
    assert r.status_code == 200, r.data
    assert r.data["maturity_date"] == "2026-12-05" and r.data["extended"] is True
    eod.run(business_date=dt.date(2026, 3, 1))
    got = officer.get(f"/loans/{loan['loan_no']}").data
    assert got["classification"] == "special_mention"
    assert any(code == "restructuring_observation" for code, _cat in got["classification_history"][-1]["reasons"])


def test_other_banks_cannot_see_or_repay(officer, api_as):
    loan = officer.post("/loans", loan_body(officer.bank_id)).data
    other, _ = api_as("bank_officer", "bank", username="other-bank-officer",
                      org=__import__("ippledge.core.services", fromlist=["x"]).create_organisation(
                          actor=__import__("ippledge.core.actors", fromlist=["x"]).SYSTEM, name="他行", kind="bank"))
    assert other.get(f"/loans/{loan['loan_no']}").status_code == 404
