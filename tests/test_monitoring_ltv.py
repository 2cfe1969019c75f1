"""Loan-to-value after disbursement and the revaluation schedule (issue 12, point 4): the oracle of
lending-rules §6 (appraised 5,000,000 at a 40% pledge rate → maximum loan 2,000,000; revalued to
3,000,000 → 1,200,000; outstanding 1,800,000 → shortfall 600,000), recomputed on every repayment,
revaluation and end of day, ``ltv_shortfall`` raised and cleared, ``valuation_expiring`` /
``valuation_expired`` from the product's validity."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import override_settings

from ippledge.core.calendar import add_months
from ippledge.credit.engine import collateral
from ippledge.credit.models import Loan
from ippledge.monitoring import loan_rules, ltv
from ippledge.monitoring.models import Alert
from ippledge.valuation.models import AppraisalAgency

from .test_credit_collateral import PATENT, _case, _product, _to_approval, code
from .test_credit_workflow import world  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


# --- the pure rule: the oracle ------------------------------------------------------------------------------

def _external(value: str) -> dict:
    """A valuation record's result for an appraised value without a range (the recorder's defaults)."""
    v = Decimal(value)
    return {"lender": {"kind": "invention", "market_value": v, "range": {"p10": v, "p90": v}, "horizon_value": v,
                       "forced_sale_discount": Decimal("0.40"), "disposal_costs": Decimal("0")}}


def test_the_oracle_of_lending_rules_6():
    caps = {"invention": "0.40"}
    assert collateral.max_loan(_external("5000000"), caps)["max_loan"] == Decimal("2000000.00")
    assert collateral.max_loan(_external("3000000"), caps)["max_loan"] == Decimal("1200000.00")
    p = loan_rules.ltv_position(outstanding=180_000_000, market_value=300_000_000, max_loan=120_000_000)
    assert p.breached and p.shortfall == 60_000_000  # 600,000 yuan in fen
    assert p.ltv == Decimal("0.600000") and p.pledge_rate == Decimal("0.400000")
    assert not loan_rules.ltv_position(outstanding=120_000_000, market_value=300_000_000,
                                       max_loan=120_000_000).breached


def test_the_revaluation_schedule():
    day = dt.date(2026, 1, 15)
    assert loan_rules.revaluation_due(valuation_date=day, valid_until=add_months(day, 12), validity_months=6) == \
        dt.date(2026, 7, 15)
    assert loan_rules.revaluation_due(valuation_date=day, valid_until=add_months(day, 12), validity_months=None) == \
        dt.date(2027, 1, 15)
    due = dt.date(2026, 7, 15)
    assert loan_rules.valuation_condition(due, dt.date(2026, 6, 14), 30) is None
    assert loan_rules.valuation_condition(due, dt.date(2026, 6, 15), 30) == "valuation_expiring"
    assert loan_rules.valuation_condition(due, due, 30) == "valuation_expiring"
    assert loan_rules.valuation_condition(due, dt.date(2026, 7, 16), 30) == "valuation_expired"


# --- the loan: approved on 5,000,000, repaid, revalued ----------------------------------------------------

@pytest.fixture
def oracle_loan(world, django_capture_on_commit_callbacks):  # noqa: F811
    """A 2,000,000 loan approved at the maximum an appraised 5,000,000 supports under a 40% cap."""
    w = world
    agency = AppraisalAgency.objects.create(name="示范资产评估有限公司", licence_no="11020001", qualification="资产评估",
                                            admitted_on=dt.date(2020, 1, 1))
    r = w["officer"].post("/valuations", {"rights": [PATENT], "basis": "external", "market_value": "5000000",
                                          "agency_id": agency.pk, "report_no": "评报字[2026]001号",
                                          "appraisers": ["张评估"]})
    assert r.status_code == 201, r.data
    product = _product(w, ltv_caps={"invention": "0.4"}, valuation_validity_months=6)
    no = _case(w, product, amount="2000000", valuation_no=r.data["valuation_no"])
    _to_approval(w, no)
    approved = w["approver"].post(f"/credit-cases/{no}/approval", {"decision": "approve"})
    assert approved.status_code == 200, approved.data  # at the maximum: no override needed
    w["ent"].post(f"/credit-cases/{no}/contract-signature")
    with django_capture_on_commit_callbacks(execute=True):
        loan_no = w["officer"].post(f"/credit-cases/{no}/disbursement", {}).data["loan_no"]
    return {**w, "loan_no": loan_no, "valuation_no": r.data["valuation_no"], "case_no": no,
            "revalue": {"basis": "external", "agency_id": agency.pk, "report_no": "评报字[2026]002号",
                        "appraisers": ["张评估"]}}


def _revalue(w, value="3000000"):
    """The agency's new report on the same right (the API's revaluation body cannot name a new external
    report yet, so the service is called as the API would)."""
    from ippledge.valuation import services as valuation

    return valuation.revalue(actor=w["officer"].user, valuation_no=w["valuation_no"],
                             data={"market_value": value, **w["revalue"]})


def _alerts(kind, **filters):
    return list(Alert.objects.filter(kind=kind, **filters).order_by("pk"))


def _repay(w, principal, capture):
    loan = w["officer"].get(f"/loans/{w['loan_no']}").data
    with capture(execute=True):
        r = w["officer"].post(f"/loans/{w['loan_no']}/prepayment", {"date": loan["start_date"],
                                                                    "principal": principal})
    assert r.status_code == 200, r.data
    return r.data


def test_a_revaluation_below_the_outstanding_raises_the_shortfall_and_a_repayment_clears_it(
        oracle_loan, django_capture_on_commit_callbacks):
    w, capture = oracle_loan, django_capture_on_commit_callbacks
    loan = Loan.objects.get(loan_no=w["loan_no"])
    assert ltv.position_of(loan.pk)["max_loan"] == 200_000_000 and not _alerts("ltv_shortfall")
    assert _repay(w, "200000", capture)["balance"] == "1800000.00"
    assert not _alerts("ltv_shortfall")  # 1,800,000 against a maximum of 2,000,000
    with capture(execute=True):
        new = _revalue(w)
    [alert] = _alerts("ltv_shortfall")
    assert alert.status == "open" and alert.loan_id == loan.pk and alert.owner_org_id == w["bank"].pk
    assert alert.severity == "critical" and alert.pledge is not None
    assert alert.detail["shortfall"] == "600000.00" and alert.detail["max_loan"] == "1200000.00"
    assert alert.detail["outstanding"] == "1800000.00" and alert.detail["valuation_no"] == new.valuation_no
    # The API carries it with the shortfall in words.
    listed = w["officer"].get(f"/alerts?kind=ltv_shortfall&loan_no={w['loan_no']}")
    if listed.status_code == 200:
        assert "600,000.00" in listed.data["results"][0]["required_action"]
    # The end of day finds the same condition: no second alert.
    ltv.end_of_day(ltv.business_date.today())
    assert len(_alerts("ltv_shortfall")) == 1
    # A partial repayment that leaves it short updates the shortfall on the same alert …
    _repay(w, "100000", capture)
    [alert] = _alerts("ltv_shortfall")
    assert alert.status == "open" and alert.detail["shortfall"] == "500000.00"
    # … and one that brings it under the maximum clears it.
    _repay(w, "500000", capture)
    [alert] = _alerts("ltv_shortfall")
    assert alert.status == "resolved" and alert.resolution == "cleared"


def test_the_end_of_day_alone_finds_the_shortfall(oracle_loan, django_capture_on_commit_callbacks):
    w = oracle_loan
    _repay(w, "200000", django_capture_on_commit_callbacks)
    # Revalued without the listeners running (as if a worker were down): the end of day catches it.
    _revalue(w)
    assert not _alerts("ltv_shortfall")
    out = ltv.end_of_day(ltv.business_date.today())
    assert out["shortfalls"] == 1 and out["raised"] >= 1
    assert _alerts("ltv_shortfall")[0].detail["shortfall"] == "600000.00"
    again = ltv.end_of_day(ltv.business_date.today())
    assert again["raised"] == 0 and len(_alerts("ltv_shortfall")) == 1


def test_the_product_validity_schedules_the_revaluation(oracle_loan):
    w = oracle_loan
    today = ltv.business_date.today()
    due = add_months(today, 6)  # the product's 6 months, before the valuation's own 12
    ltv.end_of_day(due - dt.timedelta(days=31))
    assert not _alerts("valuation_expiring")
    ltv.end_of_day(due - dt.timedelta(days=30))  # the default lead: 30 days
    [expiring] = _alerts("valuation_expiring")
    assert expiring.detail["due_date"] == due.isoformat() and expiring.due_date <= due
    ltv.end_of_day(due + dt.timedelta(days=1))
    [expired] = _alerts("valuation_expired")
    assert expired.status == "open" and expired.detail["valuation_no"] == w["valuation_no"]
    assert Alert.objects.get(pk=expiring.pk).status == "resolved"


@override_settings(MONITORING_VALUATION_LEAD_DAYS=5)
def test_the_lead_is_a_setting(oracle_loan):
    due = add_months(ltv.business_date.today(), 6)
    ltv.end_of_day(due - dt.timedelta(days=6))
    assert not _alerts("valuation_expiring")
    ltv.end_of_day(due - dt.timedelta(days=5))
    assert len(_alerts("valuation_expiring")) == 1


def test_at_approval_the_oracle_binds_one_fen_above_the_maximum(world):  # noqa: F811
    """Point 4's first half (built by issue 10): the approval is refused above the maximum loan the
    pledged right's valuation supports under the product's cap, unless overridden with a reason."""
    w = world
    agency = AppraisalAgency.objects.create(name="示范资产评估有限公司", licence_no="11020002", qualification="资产评估",
                                            admitted_on=dt.date(2020, 1, 1))
    r = w["officer"].post("/valuations", {"rights": [PATENT], "basis": "external", "market_value": "5000000",
                                          "agency_id": agency.pk, "report_no": "评报字[2026]003号",
                                          "appraisers": ["张评估"]})
    no = _case(w, _product(w, ltv_caps={"invention": "0.4"}), amount="2000000.01",
               valuation_no=r.data["valuation_no"])
    _to_approval(w, no)
    refused = w["approver"].post(f"/credit-cases/{no}/approval", {"decision": "approve"})
    assert refused.status_code == 422 and code(refused) == "ltv_exceeded"
    assert w["officer"].get(f"/credit-cases/{no}").data["max_loan"] == "2000000.00"


def test_the_set_based_pass_costs_the_same_queries_for_five_loans_or_fifty(oracle_loan):
    """The end of day gathers a chunk's facts in a fixed number of queries (the book may hold a million
    loans; only an alert that changes costs a write), and it agrees with the single-loan path loan for loan."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from ippledge.credit.models import LoanCollateral

    base = Loan.objects.get(loan_no=oracle_loan["loan_no"])
    link = base.collateral.get()
    fields = {f.attname: getattr(base, f.attname) for f in Loan._meta.concrete_fields
              if f.attname not in ("id", "loan_no", "created_at")}
    clones = Loan.objects.bulk_create([Loan(**fields, loan_no=f"LNT{i:08d}") for i in range(50)])
    LoanCollateral.objects.bulk_create([
        LoanCollateral(loan=c, registration_no=link.registration_no, regime=link.regime, right_kind=link.right_kind,
                       right_number=link.right_number, allocated_value=link.allocated_value) for c in clones])
    ids = [c.pk for c in clones]
    today = ltv.business_date.today()
    ltv._assess(ids, today, 30)  # the first pass raises what the clones need: one write per new alert
    counts = []
    for chunk in (ids[:5], ids):
        with CaptureQueriesContext(connection) as queries:
            ltv._assess(chunk, today, 30)
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 8, (counts, [q["sql"][:150] for q in queries.captured_queries[:14]])
    # Revalued below the outstanding: every clone is short, by the same rule as the single-loan path.
    _revalue(oracle_loan)
    ltv.end_of_day(today)
    short = set(Alert.objects.filter(kind="ltv_shortfall", status="open").values_list("loan_id", flat=True))
    assert short == {pk for pk in [base.pk, *ids] if ltv.position_of(pk)["shortfall"] > 0} and len(short) == 51
