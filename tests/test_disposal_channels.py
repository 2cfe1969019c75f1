"""Every disposal channel (issue 14 point 2), the waterfall examples through a settlement, rank among several
pledges, the risk-sharing true-up on a settlement, and bad input."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from ippledge.core import business_date
from ippledge.core import services as core
from ippledge.core.actors import SYSTEM
from ippledge.credit.models import Loan
from ippledge.disposal import services as disposal
from ippledge.disposal.models import DisposalCase
from ippledge.disposal.services_settlement import rank_proceeds

from .conftest import PASSWORD, Api
from .test_disposal_api import World, code

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(db):
    world = World()
    world.loss()
    return world


def _at(minutes):
    return (timezone.now() + dt.timedelta(minutes=minutes)).isoformat()


def _later(monkeypatch, hours):
    moment = timezone.now() + dt.timedelta(hours=hours)
    monkeypatch.setattr(disposal, "now", lambda: moment)


def _day():
    return business_date.today().isoformat()


def test_an_unsold_auction_round_is_followed_by_one_at_the_discount_then_won(w, monkeypatch):
    no = w.open("auction").data["disposal_no"]
    body = {"reserve": "1000000", "increment": "10000", "deposit": "0", "opens_at": _at(-1), "closes_at": _at(60)}
    assert w.officer.post(f"/disposals/{no}/rounds", body).status_code == 201
    assert code(w.officer.post(f"/disposals/{no}/rounds", body)) == "round_not_allowed"  # one open round
    _later(monkeypatch, 2)
    closed = w.officer.post(f"/disposals/{no}/close")
    assert closed.data["outcome"] == "unsold"
    second = closed.data["case"]["rounds"][1]
    assert second["reserve"] == "800000.00" and not second["closed"]
    assert w.buyer.post(f"/disposals/{no}/bids", {"amount": "850000"}).status_code == 201
    _later(monkeypatch, 4)
    assert w.officer.post(f"/disposals/{no}/close").data["outcome"] == "sold"
    wrong = w.officer.post(f"/disposals/{no}/settlement", {"proceeds": "900000", "date": _day()})
    assert code(wrong) == "proceeds_mismatch"
    assert w.officer.post(f"/disposals/{no}/settlement", {"proceeds": "850000", "date": _day()}).status_code == 201


def test_a_tender_keeps_bids_sealed_until_close_and_takes_one_per_bidder(w, monkeypatch):
    other = core.create_organisation(actor=SYSTEM, name="第二投标人", kind="enterprise")
    user = core.create_user(actor=SYSTEM, username="dp-bidder2", password=PASSWORD, org_id=other.pk,
                            roles=["enterprise_user"])
    second = Api(core.issue_token(user=user))
    no = w.open("tender").data["disposal_no"]
    w.officer.post(f"/disposals/{no}/rounds", {"reserve": "900000", "opens_at": _at(-1), "closes_at": _at(60)})
    assert w.buyer.post(f"/disposals/{no}/bids", {"amount": "950000"}).status_code == 201
    assert code(w.buyer.post(f"/disposals/{no}/bids", {"amount": "990000"})) == "bid_already_sealed"
    assert second.post(f"/disposals/{no}/bids", {"amount": "920000"}).status_code == 201  # no increment: sealed
    assert "bids" not in w.officer.get(f"/disposals/{no}").data["rounds"][0]
    _later(monkeypatch, 2)
    closed = w.officer.post(f"/disposals/{no}/close").data
    assert closed["outcome"] == "sold" and closed["case"]["agreed_buyer_org_id"] == w.buyer_org.pk
    assert len(closed["case"]["rounds"][0]["bids"]) == 2


def test_a_negotiated_sale_settles_directly_with_the_surplus_to_the_pledgor(w):
    no = w.open("negotiated_sale").data["disposal_no"]
    # The issue's example: principal 1,200,000, interest 30,000, costs 50,000, proceeds 1,400,000.
    DisposalCase.objects.filter(disposal_no=no).update(claim_interest=3_000_000)
    assert code(w.officer.post(f"/disposals/{no}/agreement", {"value": "1400000", "agreement_ref": "转让协议",
                                                               "buyer_org_id": w.ent_org.pk})) == "bidder_excluded"
    r = w.officer.post(f"/disposals/{no}/agreement", {"value": "1400000", "agreement_ref": "转让协议",
                                                       "buyer_org_id": w.buyer_org.pk})
    assert r.status_code == 200 and r.data["status"] == "agreed"
    s = w.officer.post(f"/disposals/{no}/settlement", {"proceeds": "1400000", "costs": "50000", "date": _day()})
    assert s.status_code == 201, s.data
    assert s.data["applied"] == {"costs": "50000.00", "interest": "30000.00", "principal": "1200000.00"}
    assert s.data["surplus"] == "120000.00" and s.data["shortfall"] == "0.00"
    assert Loan.objects.get(loan_no=w.loan_no).repayments.get().interest == 3_000_000


def test_licensing_income_is_applied_as_recoveries(w):
    r = w.open("licensing", operator_org_id=w.buyer_org.pk)
    assert r.status_code == 201 and r.data["status"] == "operating", r.data
    no = r.data["disposal_no"]
    assert code(w.officer.post(f"/disposals/{no}/settlement", {"proceeds": "1", "date": _day()})) == "wrong_channel"
    income = w.buyer.post(f"/disposals/{no}/licence-income", {"amount": "100000", "date": _day()})
    assert income.status_code == 201, income.data
    assert income.data["applied"]["principal"] == "100000.00"
    assert w.officer.get(f"/disposals/{no}").data["recovered"]["principal"] == "100000.00"


def test_bad_input_is_refused(w):
    no = w.open("auction").data["disposal_no"]
    assert code(w.open("auction")) == "right_in_disposal"
    huge = w.officer.post(f"/disposals/{no}/rounds", {"reserve": "1" + "0" * 15, "opens_at": _at(-1),
                                                       "closes_at": _at(60)})
    assert huge.status_code == 422
    backwards = w.officer.post(f"/disposals/{no}/rounds", {"reserve": "1", "opens_at": _at(60), "closes_at": _at(1)})
    assert backwards.status_code == 422
    assert code(w.officer.post(f"/disposals/{no}/settlement", {"proceeds": "1", "date": _day()})) == \
        "not_ready_to_settle"
    assert w.buyer.get(f"/disposals/{no}").status_code == 404  # not yet listed: buyers see listings only
    assert w.buyer.post("/disposals", {"loan_no": w.loan_no, "channel": "auction"}).status_code == 403


def test_rank_pays_senior_pledges_first_and_juniors_nothing():
    rows, left = rank_proceeds(1_000_000, [("A", 300_000, False), ("OWN", 0, True), ("C", 500_000, False)])
    assert left == 700_000
    assert [(r["registration_no"], r["position"], r["paid"]) for r in rows] == [
        ("A", "senior", 300_000), ("OWN", "enforcing", None), ("C", "junior", 0)]
    rows, left = rank_proceeds(200_000, [("A", 300_000, False), ("OWN", 0, True)])
    assert left == 0 and rows[0]["paid"] == 200_000
    assert Decimal(left) == 0
