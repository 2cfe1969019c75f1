"""Issue 10 point 10 (classification): the five-category rule lives once, in the vectorised engine.

The engine over arrays (one row being one loan) agrees with the scalar reference implementation kept
in ``tests/classification_oracle.py`` on random books; the end of day and the manual-upgrade check both
call it, so a manual upgrade the end of day would undo at once is refused."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ippledge.credit.engine import classification as engine
from ippledge.credit.engine.classification import CATEGORIES, LoanFacts

from . import classification_oracle as oracle

ON = dt.date(2025, 6, 1)
SRC = Path(__file__).resolve().parents[1] / "src" / "ippledge"

share = st.integers(0, 10**6).map(lambda ppm: Decimal(ppm) / 10**6)
boundary_share = st.sampled_from([Decimal("0.1"), Decimal("0.2"), Decimal("0.200001"), Decimal("0.5"),
                                  Decimal("0.499999"), Decimal("0.9"), Decimal("0.899999"), Decimal(0), Decimal(1)])
day = st.dates(dt.date(2023, 1, 1), dt.date(2025, 12, 31))
boundary_day = st.sampled_from([dt.date(2024, 6, 1), dt.date(2024, 6, 2), dt.date(2024, 5, 31), dt.date(2024, 2, 29)])


@st.composite
def loan_facts(draw, loan_no: str) -> LoanFacts:
    restructured = draw(st.booleans())
    return LoanFacts(
        loan_no=loan_no, debtor_id=draw(st.sampled_from(["D1", "D2", "D3"])),
        # Round balances too, so that a debtor's NPL share falls on and around the 10% contagion boundary.
        balance=Decimal(draw(st.integers(0, 10**8) | st.sampled_from([0, 100, 900, 1000, 9000, 9001]))) / 100,
        dpd=draw(st.sampled_from([0, 1, 7, 8, 90, 91, 270, 271, 360, 361]) | st.integers(0, 500)),
        operational_delay=draw(st.booleans()), funds_diverted=draw(st.booleans()),
        repaid_by_new_borrowing=draw(st.booleans()), qualifying_renewal=draw(st.booleans()),
        debtor_npl_elsewhere=draw(st.booleans()), credit_impaired=draw(st.booleans()),
        external_downgrade_severe=draw(st.booleans()),
        debtor_cross_bank_overdue90_share=draw(share | boundary_share), evades_debt=draw(st.booleans()),
        expected_loss=draw(st.none() | share | boundary_share), bankruptcy_liquidation=draw(st.booleans()),
        retail=draw(st.booleans()), restructured_on=draw(day) if restructured else None,
        restructured_again=draw(st.booleans()), observation_periods_paid=draw(st.integers(0, 4)),
        observation_started=draw(st.none() | day | boundary_day) if restructured else None,
        previous=draw(st.sampled_from(CATEGORIES)), arrears_cleared=draw(st.booleans()),
        periods_paid_since_cure=draw(st.integers(0, 4)), months_since_cure=draw(st.integers(0, 12)),
        able_to_pay=draw(st.booleans()), has_impaired_asset_at_bank=draw(st.booleans()),
        manual_floor=draw(st.none() | st.sampled_from(CATEGORIES)))


@st.composite
def books(draw) -> list[LoanFacts]:
    return [draw(loan_facts(f"L{k}")) for k in range(draw(st.integers(1, 8)))]


def _same(got: engine.Decision, want: engine.Decision) -> None:
    assert (got.category, got.floor_reasons, got.upgrade_blocked_reason, got.upgrade_unmet) == \
        (want.category, want.floor_reasons, want.upgrade_blocked_reason, want.upgrade_unmet)


@settings(max_examples=400, deadline=None)
@given(loans=books())
def test_the_engine_agrees_with_the_scalar_oracle_on_random_books(loans):
    got, want = engine.classify_book(loans, ON), oracle.classify_book(loans, ON)
    assert got.keys() == want.keys()
    for loan_no in want:
        _same(got[loan_no], want[loan_no])


@settings(max_examples=300, deadline=None)
@given(facts=loan_facts("L1"))
def test_one_row_is_the_single_loan_case(facts):
    _same(engine.classify_loan(facts, ON), oracle.classify_loan(facts, ON))


def _loan(loan_no: str, **values) -> LoanFacts:
    return LoanFacts(loan_no=loan_no, debtor_id=values.pop("debtor_id", "D1"),
                     balance=values.pop("balance", Decimal(100)), **values)


CURED = {"previous": "substandard", "arrears_cleared": True, "able_to_pay": True}
EDGES = {
    # A loan that already has the debtor_npl_elsewhere reason is not given it again by the debtor rule.
    "elsewhere_once": [_loan("A", dpd=100, balance=Decimal(10)), _loan("B", debtor_npl_elsewhere=True,
                                                                    balance=Decimal(90))],
    "contagion_at_10pct": [_loan("A", dpd=100, balance=Decimal(10)), _loan("B", balance=Decimal(90))],
    "contagion_above": [_loan("A", dpd=100, balance=Decimal("10.01")), _loan("B", balance=Decimal("89.99"))],
    "retail_debtor": [_loan("A", dpd=100, retail=True), _loan("B", retail=True)],
    "mixed_debtor": [_loan("A", dpd=100, retail=True), _loan("B")],
    "cure_5_months": [_loan("A", periods_paid_since_cure=2, months_since_cure=5, **CURED)],
    "cure_6_months": [_loan("A", periods_paid_since_cure=2, months_since_cure=6, **CURED)],
    "cure_1_period": [_loan("A", periods_paid_since_cure=1, months_since_cure=12, **CURED)],
    "observation_anniversary": [_loan("A", restructured_on=dt.date(2024, 1, 1), observation_started=dt.date(2024, 6, 1),
                                      observation_periods_paid=2)],
    "observation_day_short": [_loan("A", restructured_on=dt.date(2024, 1, 1), observation_started=dt.date(2024, 6, 2),
                                    observation_periods_paid=2)],
    "leap_day_start": [_loan("A", restructured_on=dt.date(2024, 1, 1), observation_started=dt.date(2024, 2, 29),
                             observation_periods_paid=2)],
    "operational_7": [_loan("A", dpd=7, operational_delay=True)],
    "operational_8": [_loan("A", dpd=8, operational_delay=True)],
    "zero_balance_debtor": [_loan("A", dpd=100, balance=Decimal(0)), _loan("B", balance=Decimal(0))],
}


@pytest.mark.parametrize("name", sorted(EDGES))
def test_the_engine_agrees_with_the_oracle_on_the_boundaries(name):
    got, want = engine.classify_book(EDGES[name], ON), oracle.classify_book(EDGES[name], ON)
    for loan_no in want:
        _same(got[loan_no], want[loan_no])


def test_rows_are_independent_of_their_order_and_batching():
    loans = [LoanFacts(loan_no=f"L{k}", debtor_id=f"D{k % 3}", balance=Decimal(100 + k), dpd=(k * 37) % 400,
                       previous=CATEGORIES[k % 5]) for k in range(30)]
    whole = engine.classify(engine.facts_of(loans), ON)
    flipped = engine.classify(engine.facts_of(loans[::-1]), ON)
    assert (whole.category == flipped.category[::-1]).all()
    assert [whole.reasons(i) for i in range(30)] == [flipped.reasons(29 - i) for i in range(30)]


def test_facts_arrays_are_checked():
    with pytest.raises(engine.ValidationFailed) as caught:
        engine.Facts.of(debtor=np.zeros(2, dtype=np.int64), balance=np.array([1, -1]))
    assert "balance" in caught.value.fields
    with pytest.raises(engine.ValidationFailed) as caught:
        engine.Facts.of(debtor=np.zeros(1, dtype=np.int64), balance=np.array([1]), previous=np.array([5]))
    assert "previous" in caught.value.fields
    with pytest.raises(engine.ValidationFailed) as caught:
        engine.Facts.of(debtor=np.zeros(1, dtype=np.int64), balance=np.array([1]), dpd=np.array([1.5]))
    assert "dpd" in caught.value.fields
    with pytest.raises(engine.ValidationFailed) as caught:
        LoanFacts(loan_no="L", debtor_id="D", balance=Decimal(1), expected_loss=Decimal("0.1234567"))
    assert "expected_loss" in caught.value.fields


def test_the_rule_has_one_home_in_the_product_code():
    """No module of the product but the engine states a classification threshold or reason code."""
    pattern = re.compile(r"dpd_over_|[\"']contagion[\"']|OPERATIONAL_DELAY_MAX_DAYS|UPGRADE_MIN_|OBSERVATION_MIN_|"
                         r"def (floor_reasons|upgrade_unmet|in_observation)\b")
    # A labels.py names the reason codes for pages (the vocabulary); it states no rule.
    homes = sorted(str(p.relative_to(SRC)) for p in SRC.rglob("*.py")
                   if "locale" not in p.parts and p.name != "labels.py"
                   and pattern.search(p.read_text(encoding="utf-8")))
    assert homes == ["credit/engine/classification.py"]


# --------------------------------------------------------------------------- one rule for every path (database)

@pytest.fixture
def bank_book(db):
    from django.test import override_settings

    from ippledge.core import services as core
    from ippledge.core.actors import SYSTEM

    from .conftest import PASSWORD, uscc

    bank = core.create_organisation(actor=SYSTEM, name="一处规则银行", kind="bank")
    officer, reviewer = (core.create_user(actor=SYSTEM, username=f"home-{role}", password=PASSWORD, org_id=bank.pk,
                                          roles=[role]) for role in ("bank_officer", "bank_reviewer"))
    operator = core.create_organisation(actor=SYSTEM, name="一处规则平台", kind="platform_operator")
    admin = core.create_user(actor=SYSTEM, username="home-admin", password=PASSWORD, org_id=operator.pk,
                             roles=["admin"])
    borrower = uscc("91440300000009999")
    core.create_organisation(actor=SYSTEM, name="一处规则企业", kind="enterprise", uscc=borrower)
    with override_settings(ALLOW_BUSINESS_DATE=True):
        core.set_business_date(actor=admin, date=ON)
        yield {"bank": bank, "officer": officer, "reviewer": reviewer, "borrower": borrower}


def _book(w, *, amount, start, maturity):
    from ippledge.credit import services

    return services.book_loan(actor=w["officer"], data={
        "bank_org_id": w["bank"].pk, "borrower_uscc": w["borrower"], "amount": amount, "annual_rate": "0.04",
        "start_date": start, "maturity_date": maturity, "schedule": "bullet", "ip_kind": "patent"})


def test_a_manual_upgrade_the_end_of_day_would_undo_is_refused(bank_book):
    """The manual-upgrade check judges the loan with the same rule and facts as the end of day, the debtor
    rules included: an upgrade the debtor rule forbids is refused instead of being undone that night."""
    from ippledge.core.errors import Conflict
    from ippledge.credit import services
    from ippledge.credit.models import Loan

    w = bank_book
    overdue = _book(w, amount="100000.00", start=ON - dt.timedelta(days=300), maturity=ON - dt.timedelta(days=100))
    current = _book(w, amount="1000000.00", start=ON - dt.timedelta(days=10), maturity=ON + dt.timedelta(days=300))
    services.classify_book(ON)
    assert Loan.objects.get(pk=overdue.pk).classification == "substandard"  # DPD 100
    # The debtor has an NPL here (1/11 of its balance, not over 10%): its other loan is special mention.
    assert Loan.objects.get(pk=current.pk).classification == "special_mention"
    with pytest.raises(Conflict) as caught:
        services.classify_manually(actor=w["reviewer"], loan_no=current.loan_no, category="normal", reason="按期付息")
    assert caught.value.code == "upgrade_not_allowed"
    services.classify_book(ON)
    assert Loan.objects.get(pk=current.pk).classification == "special_mention"
    # Down is always allowed, and the end of day keeps the reviewer's floor.
    services.classify_manually(actor=w["reviewer"], loan_no=current.loan_no, category="doubtful", reason="经营恶化")
    services.classify_book(ON)
    assert Loan.objects.get(pk=current.pk).classification == "doubtful"
