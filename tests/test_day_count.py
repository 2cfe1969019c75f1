"""Issue 10 point 4: interest by actual days is ACT/360 (principal × rate × days / 360); amortising
schedules use the monthly rate i = annual / 12 and are labelled so (lending-rules.md §4)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from ippledge.core import services as core
from ippledge.core.actors import SYSTEM
from ippledge.credit import quote
from ippledge.credit.engine import pricing, schedule
from ippledge.credit.models import CreditCase, Product

from .conftest import PASSWORD, uscc

JAN = dt.date(2026, 1, 1)
FEB = dt.date(2026, 2, 1)
P = Decimal("3000000.00")
RATE = Decimal("0.038")


def test_bullet_interest_for_january_counts_31_actual_days():
    [row] = schedule.build_schedule(principal=P, annual_rate=RATE, start_date=JAN, maturity_date=FEB, kind="bullet")
    assert row.interest == Decimal("9816.67")  # 3,000,000 × 3.8% × 31 / 360, not ÷ 12 = 9,500.00
    assert schedule.convention("bullet") == "ACT/360"
    [row] = schedule.build_schedule(principal=P, annual_rate=RATE, start_date=JAN, maturity_date=FEB, kind="bullet",
                                    day_count="ACT/365")
    assert row.interest == Decimal("9682.19")
    assert schedule.convention("bullet", "ACT/365") == "ACT/365"


def test_interest_only_periods_accrue_by_actual_days():
    rows = schedule.build_schedule(principal=P, annual_rate=RATE, start_date=JAN, maturity_date=dt.date(2026, 3, 1),
                                   kind="interest_only")
    assert [r.interest for r in rows] == [Decimal("9816.67"), Decimal("8866.67")]  # 31 and 28 days
    assert schedule.convention("interest_only") == "ACT/360"


@pytest.mark.parametrize("kind", ["equal_instalments", "equal_principal"])
def test_amortising_schedules_use_the_monthly_rate_and_say_so(kind):
    rows = schedule.build_schedule(principal=P, annual_rate=RATE, start_date=JAN, maturity_date=dt.date(2027, 1, 1),
                                   kind=kind)
    assert rows[0].interest == Decimal("9500.00")  # outstanding × 3.8% / 12, whatever January's length
    assert schedule.convention(kind) == schedule.convention(kind, "ACT/365") == "monthly_rate"


def test_the_cost_engine_counts_actual_days_between_the_dates():
    cost = pricing.all_in_cost(principal=P, annual_rate=RATE, start_date=JAN, maturity_date=FEB)
    assert cost["days"] == 31 and cost["interest"] == Decimal("9816.67")
    with pytest.raises(Exception) as caught:
        pricing.all_in_cost(principal=P, annual_rate=RATE, days=30, start_date=JAN, maturity_date=FEB)
    assert caught.value.code == "invalid_input"


@pytest.fixture
def case(db):
    bank = core.create_organisation(actor=SYSTEM, name="测试银行", kind="bank", uscc=uscc("91110000100000001"))
    ent = core.create_organisation(actor=SYSTEM, name="测试企业", kind="enterprise", uscc=uscc("91110000100000002"))
    officer = core.create_user(actor=SYSTEM, username="officer", password=PASSWORD, org_id=bank.pk,
                               roles=["bank_officer"])
    # LPR 1y in force on 2026-01-01 is 3.00% (the 2025-12-22 fixing); grade B = +80 bp → 3.80%.
    product = Product.objects.create(bank=bank, name="快贷", min_amount=0, max_amount=10**12, spreads_bp={"B": 80})
    return CreditCase.objects.create(case_no="CC1", bank=bank, enterprise=ent, product=product, amount=300_000_000,
                                     term_months=1, stage="approval", stage_entered_at=timezone.now(),
                                     prepared_by=officer)


def test_the_approval_quote_counts_the_actual_days_to_maturity(case):
    priced = quote.price(case, JAN)
    assert priced["rate"] == "0.038000" and priced["convention"] == "ACT/360"
    assert priced["all_in"]["days"] == 31 and priced["all_in"]["maturity_date"] == "2026-02-01"
    assert priced["all_in"]["interest"] == "9816.67"
    feb = quote.price(case, FEB)
    assert feb["all_in"]["days"] == 28 and feb["all_in"]["interest"] == "8866.67"


@pytest.mark.parametrize("kind", ["equal_instalments", "equal_principal"])
def test_an_amortising_period_is_never_several_months_at_one_monthly_rate(kind):
    # 12 months in 3 instalments would charge the last 10 months one month's interest (outstanding × i).
    with pytest.raises(Exception) as caught:
        schedule.build_schedule(principal=P, annual_rate=RATE, start_date=JAN, maturity_date=dt.date(2027, 1, 1),
                                kind=kind, instalments=3)
    assert caught.value.code == "invalid_input" and "instalments" in caught.value.fields
    rows = schedule.build_schedule(principal=P, annual_rate=RATE, start_date=JAN, maturity_date=dt.date(2027, 1, 1),
                                   kind=kind, instalments=12)
    assert len(rows) == 12 and all(r.due_date == schedule.add_months(JAN, k + 1) for k, r in enumerate(rows))
