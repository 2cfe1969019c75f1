"""A settlement's principal flows to the loan's paid risk-sharing claim (issue 13's true-up)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from ippledge.core import business_date
from ippledge.core import services as core
from ippledge.core.actors import SYSTEM
from ippledge.disposal import services as disposal

from .conftest import PASSWORD, Api
from .test_disposal_api import World

pytestmark = pytest.mark.django_db


def test_the_auction_proceeds_true_up_the_paid_claim(db, monkeypatch):
    pytest.importorskip("ippledge.risksharing.services_claims")
    w = World()
    fund = core.create_organisation(actor=SYSTEM, name="风险补偿资金", kind="risk_fund")
    clients = []
    for i in (1, 2):
        user = core.create_user(actor=SYSTEM, username=f"dp-fund{i}", password=PASSWORD, org_id=fund.pk,
                                roles=["fund_manager"])
        clients.append(Api(core.issue_token(user=user)))
    scheme = clients[0].post("/risk-sharing/schemes", {"name": "补偿方案", "region_code": "440300", "parties": [
        {"name": "fund", "kind": "fund", "ratio": "0.5", "organisation_id": fund.pk}]})
    assert scheme.status_code == 201, scheme.data
    sid = scheme.data["id"] if "id" in scheme.data else scheme.data["scheme_id"]
    assert clients[0].post(f"/risk-sharing/schemes/{sid}/funds", {"party": "fund", "amount": "5000000"}).status_code == 201
    enrolled = w.officer.post(f"/loans/{w.loan_no}/risk-sharing", {"scheme_id": sid})
    assert enrolled.status_code in (200, 201), enrolled.data
    w.loss()
    claim = w.officer.post("/risk-sharing/claims", {"loan_no": w.loan_no, "principal_loss": "1200000", "loss_event": {
        "kind": "court_ruling", "date": business_date.today().isoformat(), "reference": "民事判决书"}})
    assert claim.status_code == 201, claim.data
    cid = claim.data.get("id") or claim.data.get("claim_id")
    paid = clients[0].post(f"/risk-sharing/claims/{cid}/payments", {"party": "fund"})
    assert paid.status_code == 201, paid.data
    ok = clients[1].post(f"/risk-sharing/claims/{cid}/payments/{paid.data['payment_id']}/check", {"approve": True})
    assert ok.status_code == 200, ok.data
    no = w.open("auction").data["disposal_no"]
    now = timezone.now()
    w.officer.post(f"/disposals/{no}/rounds", {"reserve": "600000", "opens_at": (now - dt.timedelta(minutes=1)).isoformat(),
                                                "closes_at": (now + dt.timedelta(minutes=30)).isoformat()})
    assert w.buyer.post(f"/disposals/{no}/bids", {"amount": "600000"}).status_code == 201
    later = now + dt.timedelta(hours=1)
    monkeypatch.setattr(disposal, "now", lambda: later)
    assert w.officer.post(f"/disposals/{no}/close").data["outcome"] == "sold"
    s = w.officer.post(f"/disposals/{no}/settlement", {"proceeds": "600000", "date": business_date.today().isoformat()})
    assert s.status_code == 201, s.data
    assert s.data["risk_recovery"] == s.data["applied"]["principal"] == "600000.00"
    after = w.officer.get(f"/risk-sharing/claims/{cid}").data
    assert after["recovered"] == "600000.00" and after["recoveries"][0]["returned"]["fund"] == "300000.00"
