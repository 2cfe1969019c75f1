"""Collateral disposal through the API (issue 14): the done-when story (a loss loan to an auction on an IP
exchange, a buyer wins, the waterfall into the loan, the right's new owner, the pledge cancelled with
reason enforced), an agreed set-off with fee relief decided, the waterfall example, and bad input."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from ippledge.core import services as core
from ippledge.core.actors import SYSTEM
from ippledge.credit import services as credit
from ippledge.credit.models import Loan
from ippledge.disposal import services as disposal
from ippledge.registry.models import Pledge
from ippledge.rights.services import find_right

from .conftest import PASSWORD, Api, uscc
from .registry_fixtures import (
    BANK_USCC,
    PLEDGEE,
    PLEDGOR,
    PLEDGOR_USCC,
    ConfirmingFiler,
    application,
    make_patent,
)

pytestmark = pytest.mark.django_db
PATENT = "ZL201410362077.3"
BUYER_USCC = uscc("91440300MA5DQRP01")


class World:
    def __init__(self, schedule="bullet"):
        self.bank_org = core.create_organisation(actor=SYSTEM, name=PLEDGEE["name"], kind="bank", uscc=BANK_USCC)
        self.bank_b_org = core.create_organisation(actor=SYSTEM, name="乙银行", kind="bank")
        self.ent_org = core.create_organisation(actor=SYSTEM, name=PLEDGOR["name"], kind="enterprise", uscc=PLEDGOR_USCC)
        self.buyer_org = core.create_organisation(actor=SYSTEM, name="买受科技", kind="enterprise", uscc=BUYER_USCC)
        self.exchange_org = core.create_organisation(actor=SYSTEM, name="知识产权交易所", kind="ip_exchange")
        self.office_org = core.create_organisation(actor=SYSTEM, name="知识产权局", kind="ip_office")
        self.c = {}
        for name, org, role in (("officer", self.bank_org, "bank_officer"), ("officer_b", self.bank_b_org, "bank_officer"),
                                ("ent", self.ent_org, "enterprise_user"), ("buyer", self.buyer_org, "enterprise_user"),
                                ("exchange", self.exchange_org, "exchange_user"), ("registrar", self.office_org, "registrar")):
            user = core.create_user(actor=SYSTEM, username=f"dp-{name}", password=PASSWORD, org_id=org.pk, roles=[role])
            self.c[name] = Api(core.issue_token(user=user))
        make_patent(PATENT)
        pledge = ConfirmingFiler(self.c["officer"], self.c["ent"], "pledgor").post("/pledge-applications",
                                                                                    application())
        assert pledge.status_code == 201, pledge.data
        self.registration = pledge.data["registration_no"]
        loan = credit.book_loan(actor=SYSTEM, data={
            "borrower_uscc": PLEDGOR_USCC, "bank_org_id": self.bank_org.pk, "amount": "1200000", "annual_rate": "0.0345",
            "start_date": "2026-01-05", "maturity_date": "2027-01-05", "schedule": schedule, "ip_kind": "patent",
            "pledge_registration_no": self.registration})
        self.loan_no = loan.loan_no

    def __getattr__(self, name):
        try:
            return self.__dict__["c"][name]
        except KeyError:
            raise AttributeError(name) from None

    def loss(self):
        credit.classify_manually(actor=SYSTEM, loan_no=self.loan_no, category="loss", reason="test")

    def open(self, channel="auction", **body):
        return self.officer.post("/disposals", {"loan_no": self.loan_no, "channel": channel,
                                                "rights": [{"kind": "invention", "number": PATENT}],
                                                "appraisal": {"agency_id": self.agency().pk, "value": "1500000",
                                                              "report_no": "评报字2026-01"}, **body})

    def agency(self):
        from ippledge.valuation.models import AppraisalAgency

        return AppraisalAgency.objects.get_or_create(licence_no="A-1", defaults={
            "name": "评估所", "qualification": "资产评估", "admitted_on": dt.date(2025, 1, 1)})[0]


@pytest.fixture
def w(db):
    return World()


def code(r):
    return r.data["error"]["code"]


def _at(minutes):
    return (timezone.now() + dt.timedelta(minutes=minutes)).isoformat()


def test_a_loss_loan_goes_to_auction_on_an_exchange_and_the_buyer_takes_the_right(w, monkeypatch):
    assert code(w.open("exchange_listing", exchange_org_id=w.exchange_org.pk)) == "loan_performing"
    w.loss()
    assert w.officer_b.post("/disposals", {"loan_no": w.loan_no, "channel": "auction",
                                           "rights": [{"kind": "invention", "number": PATENT}]}).status_code == 404
    r = w.open("exchange_listing", exchange_org_id=w.exchange_org.pk)
    assert r.status_code == 201, r.data
    no = r.data["disposal_no"]
    assert r.data["status"] == "open" and r.data["claim"]["principal"] == "1200000.00"
    assert {n["role"] for n in r.data["notices"]} == {"pledgor"}
    # The bank does not run an exchange's rounds; the exchange's users do.
    round_body = {"reserve": "1000000", "increment": "10000", "deposit": "50000", "opens_at": _at(-1),
                  "closes_at": _at(60)}
    assert w.officer.post(f"/disposals/{no}/rounds", round_body).status_code == 403
    assert w.exchange.post(f"/disposals/{no}/rounds", round_body).status_code == 201
    listed = Api().get("/disposals/listings").data["listings"]
    assert [x["disposal_no"] for x in listed] == [no] and PLEDGOR["name"] not in str(listed)
    assert w.exchange.get(f"/disposals/{no}").status_code == 200
    assert w.officer_b.get(f"/disposals/{no}").status_code == 404
    assert code(w.buyer.post(f"/disposals/{no}/bids", {"amount": "1100000"})) == "deposit_required"
    assert w.exchange.post(f"/disposals/{no}/deposits", {"bidder_org_id": w.buyer_org.pk,
                                                         "amount": "50000"}).status_code == 201
    assert w.buyer.post(f"/disposals/{no}/interests", {"note": "有意"}).status_code == 201
    assert code(w.buyer.post(f"/disposals/{no}/bids", {"amount": "900000"})) == "bid_below_reserve"
    assert w.buyer.post(f"/disposals/{no}/bids", {"amount": "1000000"}).status_code == 201
    assert code(w.buyer.post(f"/disposals/{no}/bids", {"amount": "1005000"})) == "bid_below_increment"
    assert code(w.exchange.post(f"/disposals/{no}/close")) == "round_still_open"
    later = timezone.now() + dt.timedelta(hours=2)
    monkeypatch.setattr(disposal, "now", lambda: later)
    assert code(w.buyer.post(f"/disposals/{no}/bids", {"amount": "1200000"})) == "auction_closed"
    closed = w.exchange.post(f"/disposals/{no}/close")
    assert closed.status_code == 200 and closed.data["outcome"] == "sold", closed.data
    from ippledge.core import business_date

    day = business_date.today().isoformat()
    s = w.officer.post(f"/disposals/{no}/settlement", {"proceeds": "1000000", "costs": "50000", "date": day,
                                                       "buyer": {"org_id": w.buyer_org.pk}})
    assert s.status_code == 201, s.data
    interest = s.data["applied"]["interest"]
    assert s.data["applied"]["costs"] == "50000.00"
    from decimal import Decimal

    assert Decimal(s.data["applied"]["principal"]) == Decimal("950000") - Decimal(interest)
    assert s.data["surplus"] == "0.00"
    again = w.officer.post(f"/disposals/{no}/settlement", {"proceeds": "1000000", "date": day})
    assert again.status_code == 409 and code(again) == "already_settled"
    loan = Loan.objects.get(loan_no=w.loan_no)
    # The recovery is the loan's, applied as split: the balance drops by exactly the principal applied.
    assert loan.repayments.get().principal == int(Decimal(s.data["applied"]["principal"]) * 100)
    assert loan.balance == 120_000_000 - int(Decimal(s.data["applied"]["principal"]) * 100)
    pledge = Pledge.objects.get(registration_no=w.registration)
    assert pledge.status == "cancelled" and pledge.history.last().data["reason"] == "enforced"
    right = find_right("invention", PATENT)
    assert list(right.holders.values_list("id_number", flat=True)) == [BUYER_USCC]
    public = Api().get(f"/public/ip-rights/invention/{PATENT}")
    assert public.status_code == 200 and "买受科技" in str(public.data)


def test_an_agreed_setoff_above_the_floor_then_fee_relief_decided(w):
    w.loss()
    no = w.open("agreed_setoff").data["disposal_no"]
    low = w.officer.post(f"/disposals/{no}/agreement", {"value": "1000000", "agreement_ref": "折价协议1"})
    assert code(low) == "below_setoff_floor"  # 70% of 1,500,000 is 1,050,000
    assert w.officer.post(f"/disposals/{no}/agreement", {"value": "1400000", "agreement_ref": "折价协议1"}).status_code == 200
    from ippledge.core import business_date

    day = business_date.today().isoformat()
    assert code(w.officer.post(f"/disposals/{no}/settlement", {"proceeds": "1400000", "date": day})) == \
        "not_ready_to_settle"
    assert w.ent.post(f"/disposals/{no}/agreement/confirm").status_code == 200
    s = w.officer.post(f"/disposals/{no}/settlement", {"proceeds": "1400000", "costs": "50000", "date": day})
    assert s.status_code == 201, s.data
    right = find_right("invention", PATENT)
    assert list(right.holders.values_list("id_number", flat=True)) == [BANK_USCC]
    r = w.officer.post("/fee-relief", {"right": {"kind": "invention", "number": PATENT}, "note": "以物抵债"})
    assert r.status_code == 201, r.data
    assert w.officer.post("/fee-relief", {"right": {"kind": "invention", "number": PATENT}}).status_code == 409
    rid = r.data["id"]
    assert w.registrar.get("/fee-relief").data["applications"][0]["id"] == rid
    assert w.officer.post(f"/fee-relief/{rid}/decision", {"approve": True, "reduction_percent": "50"}).status_code == 403
    d = w.registrar.post(f"/fee-relief/{rid}/decision", {"approve": True, "reduction_percent": "50"})
    assert d.status_code == 200 and d.data["status"] == "approved"
    from decimal import Decimal

    from ippledge.disposal.services_relief import fee_reduction, holding_period_alerts

    assert fee_reduction(right) == Decimal("0.5")
    assert holding_period_alerts(business_date.today() + dt.timedelta(days=700))["raised"] == 1
