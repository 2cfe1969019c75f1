"""The credit engine: hand-computed schedules, DPD, payment allocation, every classification boundary.

Pure tests (no database): run with
``python -m pytest tests/test_credit_engine.py -q -p no:django --noconftest``.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ippledge.core.errors import ValidationFailed
from ippledge.credit.engine.classification import (
    CATEGORIES,
    DOUBTFUL,
    LOSS,
    NORMAL,
    NPL,
    SPECIAL_MENTION,
    SUBSTANDARD,
    Decision,
    LoanFacts,
    apply_contagion,
    classify_book,
    classify_loan,
    rank,
    worse,
)
from ippledge.credit.engine.schedule import (
    Instalment,
    add_months,
    apply_payments,
    build_schedule,
    days_past_due,
    days_past_due_on,
    earliest_unpaid_due,
    interest_between,
    outstanding_principal,
    whole_months,
)

FAST = settings(max_examples=60, deadline=None)
ON = date(2025, 6, 1)


def loan(**values) -> LoanFacts:
    values.setdefault("loan_no", "L1")
    values.setdefault("debtor_id", "D1")
    values.setdefault("balance", D(100))
    return LoanFacts(**values)


def category(**values) -> str:
    return classify_loan(loan(**values), ON).category


def codes(decision: Decision) -> list[str]:
    return [code for code, _ in decision.floor_reasons]


# =========================================================================== schedules

def test_bullet_act_360_hand_computed():
    # 1,000,000 × 3.45% × 365 / 360 = 34,979.1666… → 34,979.17
    # (34,958.33 would need 364.78 days; it is not the ACT/360 amount for 365 days.)
    [only] = build_schedule(principal=D("1000000"), annual_rate=D("0.0345"), start_date=date(2023, 1, 1),
                            maturity_date=date(2024, 1, 1), kind="bullet")
    assert only == Instalment(1, date(2024, 1, 1), D("1000000.00"), D("34979.17"))


def test_bullet_act_365():
    [only] = build_schedule(principal=D("1000000"), annual_rate=D("0.0345"), start_date=date(2023, 1, 1),
                            maturity_date=date(2024, 1, 1), kind="bullet", day_count="ACT/365")
    assert only.interest == D("34500.00")


def test_interest_between():
    assert interest_between(D("1000000"), D("0.0345"), date(2023, 1, 1), date(2024, 1, 1)) == D("34979.17")
    assert interest_between(D("1000000"), D("0.0365"), date(2023, 1, 1), date(2023, 1, 2),
                            "ACT/365") == D("100.00")
    assert interest_between(D("1000000"), D("0.0345"), date(2023, 1, 1), date(2023, 1, 1)) == D("0.00")


def test_equal_instalments_hand_computed():
    # i = 0.042 / 12 = 0.0035; payment = 1,200,000 × i / (1 − 1.0035^−12) = 102,289.5720 → 102,289.57
    schedule = build_schedule(principal=D("1200000"), annual_rate=D("0.042"), start_date=date(2024, 1, 15),
                              maturity_date=date(2025, 1, 15), kind="equal_instalments")
    assert len(schedule) == 12
    assert [s.due_date for s in schedule][:2] == [date(2024, 2, 15), date(2024, 3, 15)]
    assert schedule[-1].due_date == date(2025, 1, 15)
    assert schedule[0] == Instalment(1, date(2024, 2, 15), D("98089.57"), D("4200.00"))
    # period 2: interest = (1,200,000 − 98,089.57) × 0.0035 = 3,856.686… → 3,856.69
    assert schedule[1].interest == D("3856.69")
    assert all(s.amount == D("102289.57") for s in schedule[:-1])
    # the last period absorbs the rounding: principal = what is left
    assert schedule[-1] == Instalment(12, date(2025, 1, 15), D("101932.83"), D("356.76"))
    assert sum(s.principal for s in schedule) == D("1200000")


def test_equal_instalments_zero_rate_and_explicit_count():
    schedule = build_schedule(principal=D("1000"), annual_rate=D("0"), start_date=date(2024, 1, 1),
                              maturity_date=date(2024, 4, 1), kind="equal_instalments")
    assert [(s.principal, s.interest) for s in schedule] == [
        (D("333.33"), D("0.00")), (D("333.33"), D("0.00")), (D("333.34"), D("0.00"))]
    explicit = build_schedule(principal=D("1000"), annual_rate=D("0"), start_date=date(2024, 1, 1),
                              maturity_date=date(2024, 4, 1), kind="equal_instalments", instalments=3)
    assert explicit == schedule
    # Fewer instalments than months would charge a two-month period one month's rate: refused.
    with pytest.raises(ValidationFailed) as caught:
        build_schedule(principal=D("1000"), annual_rate=D("0"), start_date=date(2024, 1, 1),
                       maturity_date=date(2024, 4, 1), kind="equal_instalments", instalments=2)
    assert "instalments" in caught.value.fields


def test_rounded_up_payment_never_overpays():
    # 0.02 / 4 = 0.005 → 0.01 (half up): the schedule stops at the loan amount, later periods are 0.
    schedule = build_schedule(principal=D("0.02"), annual_rate=D("0"), start_date=date(2024, 1, 1),
                              maturity_date=date(2024, 5, 1), kind="equal_instalments")
    assert [s.principal for s in schedule] == [D("0.01"), D("0.01"), D("0.00"), D("0.00")]


def test_equal_principal_hand_computed():
    # i = 0.5%; P/n = 333,333.33; interest on the outstanding; the last principal takes the rest.
    schedule = build_schedule(principal=D("1000000"), annual_rate=D("0.06"), start_date=date(2024, 3, 10),
                              maturity_date=date(2024, 6, 10), kind="equal_principal")
    assert [(s.due_date, s.principal, s.interest) for s in schedule] == [
        (date(2024, 4, 10), D("333333.33"), D("5000.00")),
        (date(2024, 5, 10), D("333333.33"), D("3333.33")),   # 666,666.67 × 0.005 = 3,333.333…
        (date(2024, 6, 10), D("333333.34"), D("1666.67")),   # 333,333.34 × 0.005 = 1,666.6667
    ]


def test_interest_only_month_end_clamping_leap_year():
    # start 31 Jan 2024: due 29 Feb, 31 Mar, 30 Apr, 31 May, 30 Jun; ACT/360 on 1,200,000 at 4.2%
    # = 140 a day: 29, 31, 30, 31, 30 days.
    schedule = build_schedule(principal=D("1200000"), annual_rate=D("0.042"), start_date=date(2024, 1, 31),
                              maturity_date=date(2024, 6, 30), kind="interest_only")
    assert [(s.due_date, s.principal, s.interest) for s in schedule] == [
        (date(2024, 2, 29), D("0.00"), D("4060.00")),
        (date(2024, 3, 31), D("0.00"), D("4340.00")),
        (date(2024, 4, 30), D("0.00"), D("4200.00")),
        (date(2024, 5, 31), D("0.00"), D("4340.00")),
        (date(2024, 6, 30), D("1200000.00"), D("4200.00")),
    ]


def test_interest_only_stub_at_maturity_and_non_leap_february():
    schedule = build_schedule(principal=D("1200000"), annual_rate=D("0.042"), start_date=date(2023, 1, 31),
                              maturity_date=date(2023, 3, 5), kind="interest_only")
    assert [(s.due_date, s.interest) for s in schedule] == [
        (date(2023, 2, 28), D("3920.00")),  # 28 days
        (date(2023, 3, 5), D("700.00")),    # 5 days
    ]


def test_month_helpers():
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2024, 1, 31), 2) == date(2024, 3, 31)
    assert add_months(date(2023, 11, 30), 3) == date(2024, 2, 29)
    assert whole_months(date(2024, 1, 31), date(2024, 2, 28)) == 0
    assert whole_months(date(2024, 1, 31), date(2024, 2, 29)) == 1
    assert whole_months(date(2024, 1, 15), date(2025, 1, 20)) == 12


@pytest.mark.parametrize("changes, field", [
    ({"principal": D("0")}, "principal"),
    ({"principal": D("-1")}, "principal"),
    ({"principal": D("1.005")}, "principal"),
    ({"principal": 1000.0}, "principal"),
    ({"annual_rate": D("-0.01")}, "annual_rate"),
    ({"annual_rate": 0.04}, "annual_rate"),
    ({"maturity_date": date(2024, 1, 1)}, "maturity_date"),
    ({"maturity_date": date(2023, 12, 31)}, "maturity_date"),
    ({"instalments": 0}, "instalments"),
    ({"instalments": 13}, "instalments"),
    ({"kind": "balloon"}, "kind"),
    ({"day_count": "30/360"}, "day_count"),
])
def test_schedule_validation(changes, field):
    arguments = {"principal": D("1000"), "annual_rate": D("0.04"), "start_date": date(2024, 1, 1),
                 "maturity_date": date(2025, 1, 1), "kind": "equal_instalments", **changes}
    with pytest.raises(ValidationFailed) as caught:
        build_schedule(**arguments)
    assert caught.value.code == "invalid_input"
    assert field in caught.value.fields


# =========================================================================== DPD and payments

def test_days_past_due():
    due = date(2024, 2, 29)
    assert days_past_due([], date(2030, 1, 1)) == 0
    assert days_past_due([due], date(2024, 2, 28)) == 0
    assert days_past_due([due], due) == 0
    assert days_past_due([due], date(2024, 3, 1)) == 1
    assert days_past_due([date(2024, 3, 31), due], date(2024, 4, 1)) == 32


def _interest_only():
    return build_schedule(principal=D("1200000"), annual_rate=D("0.042"), start_date=date(2024, 1, 31),
                          maturity_date=date(2024, 6, 30), kind="interest_only")


def test_payments_dated_later_do_not_count_earlier():
    states = apply_payments(_interest_only(), [(date(2024, 3, 5), D("0"), D("4060.00"))])
    assert states[0].paid_on == date(2024, 3, 5)
    assert days_past_due_on(states, date(2024, 2, 29)) == 0
    assert days_past_due_on(states, date(2024, 3, 1)) == 1
    assert days_past_due_on(states, date(2024, 3, 4)) == 4
    assert earliest_unpaid_due(states, date(2024, 3, 4)) == date(2024, 2, 29)
    assert earliest_unpaid_due(states, date(2024, 3, 5)) == date(2024, 3, 31)
    assert days_past_due_on(states, date(2024, 3, 5)) == 0


def test_partial_payment_keeps_instalment_unpaid():
    states = apply_payments(_interest_only(), [(date(2024, 2, 29), D("0"), D("4059.99"))])
    assert states[0].paid_on is None and states[0].paid_interest == D("4059.99")
    assert days_past_due_on(states, date(2024, 3, 10)) == 10


def test_allocation_oldest_first_interest_then_principal():
    schedule = build_schedule(principal=D("1000000"), annual_rate=D("0.06"), start_date=date(2024, 3, 10),
                              maturity_date=date(2024, 6, 10), kind="equal_principal")
    # instalment 1 = 338,333.33; then 10,000 more: 3,333.33 interest of instalment 2, 6,666.67 principal.
    states = apply_payments(schedule, [(date(2024, 4, 12), D("340000.00"), D("8333.33"))])
    first, second, third = states
    assert (first.paid_principal, first.paid_interest, first.paid_on) == (D("333333.33"), D("5000.00"),
                                                                        date(2024, 4, 12))
    assert (second.paid_principal, second.paid_interest, second.paid_on) == (D("6666.67"), D("3333.33"), None)
    assert (third.paid_principal, third.paid_interest) == (D("0.00"), D("0.00"))
    assert outstanding_principal(states, date(2024, 4, 11)) == D("1000000.00")
    assert outstanding_principal(states, date(2024, 4, 12)) == D("1000000.00") - D("340000.00")
    assert days_past_due_on(states, date(2024, 4, 11)) == 1
    assert days_past_due_on(states, date(2024, 5, 11)) == 1  # instalment 2 is short


def test_payments_taken_in_date_order_and_overpayment_refused():
    schedule = _interest_only()
    states = apply_payments(schedule, [(date(2024, 4, 1), D("0"), D("4340.00")),
                                       (date(2024, 3, 1), D("0"), D("4060.00"))])
    assert [s.paid_on for s in states[:2]] == [date(2024, 3, 1), date(2024, 4, 1)]
    total = sum(s.amount for s in schedule)
    full = apply_payments(schedule, [(date(2024, 6, 30), total, D("0"))])
    assert all(s.paid_on == date(2024, 6, 30) for s in full)
    assert earliest_unpaid_due(full, date(2024, 6, 30)) is None
    assert outstanding_principal(full, date(2024, 6, 30)) == D("0")
    with pytest.raises(ValidationFailed):
        apply_payments(schedule, [(date(2024, 6, 30), total, D("0.01"))])
    with pytest.raises(ValidationFailed):
        apply_payments(schedule, [(date(2024, 6, 30), D("-1"), D("0"))])


# =========================================================================== classification

def test_category_order():
    assert CATEGORIES == (NORMAL, SPECIAL_MENTION, SUBSTANDARD, DOUBTFUL, LOSS)
    assert NPL == {SUBSTANDARD, DOUBTFUL, LOSS}
    assert [rank(c) for c in CATEGORIES] == [0, 1, 2, 3, 4]
    assert worse(SPECIAL_MENTION, DOUBTFUL) == DOUBTFUL == worse(DOUBTFUL, NORMAL)
    with pytest.raises(ValidationFailed):
        rank("bad")


@pytest.mark.parametrize("dpd, delay, expected, code", [
    (0, False, NORMAL, None),
    (1, False, SPECIAL_MENTION, "dpd_over_0"),
    (1, True, NORMAL, "operational_delay_exception"),
    (7, True, NORMAL, "operational_delay_exception"),
    (7, False, SPECIAL_MENTION, "dpd_over_0"),
    (8, True, SPECIAL_MENTION, "dpd_over_0"),
    (90, False, SPECIAL_MENTION, "dpd_over_0"),
    (91, False, SUBSTANDARD, "dpd_over_90"),
    (91, True, SUBSTANDARD, "dpd_over_90"),
    (270, False, SUBSTANDARD, "dpd_over_90"),
    (271, False, DOUBTFUL, "dpd_over_270"),
    (360, False, DOUBTFUL, "dpd_over_270"),
    (361, False, LOSS, "dpd_over_360"),
])
def test_dpd_boundaries(dpd, delay, expected, code):
    decision = classify_loan(loan(dpd=dpd, operational_delay=delay), ON)
    assert decision.category == expected
    assert codes(decision) == ([code] if code else [])


@pytest.mark.parametrize("changes, expected, code", [
    ({"funds_diverted": True}, SPECIAL_MENTION, "funds_diverted"),
    ({"repaid_by_new_borrowing": True}, SPECIAL_MENTION, "repaid_by_new_borrowing"),
    ({"repaid_by_new_borrowing": True, "qualifying_renewal": True}, NORMAL, None),
    ({"debtor_npl_elsewhere": True}, SPECIAL_MENTION, "debtor_npl_elsewhere"),
    ({"debtor_npl_elsewhere": True, "retail": True}, NORMAL, None),
    ({"credit_impaired": True}, SUBSTANDARD, "credit_impaired"),
    ({"external_downgrade_severe": True}, SUBSTANDARD, "external_downgrade"),
    ({"debtor_cross_bank_overdue90_share": D("0.2")}, NORMAL, None),
    ({"debtor_cross_bank_overdue90_share": D("0.2001")}, SUBSTANDARD, "cross_bank_overdue"),
    ({"debtor_cross_bank_overdue90_share": D("0.5"), "retail": True}, NORMAL, None),
    ({"evades_debt": True}, DOUBTFUL, "evades_debt"),
    ({"expected_loss": D("0.5")}, NORMAL, None),
    ({"expected_loss": D("0.4999"), "credit_impaired": True}, SUBSTANDARD, "credit_impaired"),
    ({"expected_loss": D("0.5"), "credit_impaired": True}, DOUBTFUL, "expected_loss_50"),
    ({"expected_loss": D("0.8999"), "credit_impaired": True}, DOUBTFUL, "expected_loss_50"),
    ({"expected_loss": D("0.9")}, LOSS, "expected_loss_90"),
    ({"bankruptcy_liquidation": True}, LOSS, "bankruptcy"),
    ({"manual_floor": DOUBTFUL}, DOUBTFUL, "manual_downgrade"),
    ({"manual_floor": NORMAL, "dpd": 100}, SUBSTANDARD, "manual_downgrade"),
])
def test_qualitative_rules(changes, expected, code):
    decision = classify_loan(loan(**changes), ON)
    assert decision.category == expected
    if code:
        assert code in codes(decision)
    else:
        assert decision.floor_reasons == []


def test_all_reasons_are_listed_and_the_worst_wins():
    decision = classify_loan(loan(dpd=100, funds_diverted=True, evades_debt=True), ON)
    assert decision.category == DOUBTFUL == decision.floor
    assert decision.floor_reasons == [("dpd_over_90", SUBSTANDARD), ("funds_diverted", SPECIAL_MENTION),
                                      ("evades_debt", DOUBTFUL)]


# --------------------------------------------------------------------------- restructuring

RESTRUCTURED = {"restructured_on": date(2024, 1, 10)}


@pytest.mark.parametrize("periods, started, expected", [
    (1, date(2024, 2, 10), SPECIAL_MENTION),     # one period paid
    (2, date(2024, 7, 1), SPECIAL_MENTION),      # two periods, under a year
    (2, date(2024, 6, 2), SPECIAL_MENTION),      # one day short of a year
    (2, date(2024, 6, 1), NORMAL),               # a full year (届满 includes the day)
    (5, date(2024, 2, 10), NORMAL),
    (2, None, SPECIAL_MENTION),                  # first repayment date not reached yet
])
def test_restructuring_observation(periods, started, expected):
    decision = classify_loan(loan(observation_periods_paid=periods, observation_started=started,
                                  **RESTRUCTURED), ON)
    assert decision.category == expected
    assert ("restructuring_observation" in codes(decision)) == (expected == SPECIAL_MENTION)


def test_restructured_again_is_substandard_during_observation():
    decision = classify_loan(loan(restructured_again=True, observation_periods_paid=1,
                                  observation_started=date(2025, 3, 1), **RESTRUCTURED), ON)
    assert decision.category == SUBSTANDARD
    assert ("restructured_again", SUBSTANDARD) in decision.floor_reasons


UPGRADE_OK = {"arrears_cleared": True, "periods_paid_since_cure": 2, "months_since_cure": 6,
              "able_to_pay": True}


def test_npl_not_upgraded_during_observation():
    decision = classify_loan(loan(previous=SUBSTANDARD, observation_periods_paid=1,
                                  observation_started=date(2025, 1, 1), **RESTRUCTURED, **UPGRADE_OK), ON)
    assert decision.category == SUBSTANDARD
    assert decision.upgrade_blocked_reason == "restructuring_observation"


# --------------------------------------------------------------------------- upgrades

@pytest.mark.parametrize("changes, unmet", [
    ({}, None),
    ({"arrears_cleared": False}, "arrears_not_cleared"),
    ({"periods_paid_since_cure": 1}, "insufficient_performance"),   # 6 months but 1 period
    ({"months_since_cure": 5}, "insufficient_performance"),         # 2 periods but 5 months
    ({"able_to_pay": False}, "not_able_to_pay"),
    ({"has_impaired_asset_at_bank": True}, "impaired_asset_at_bank"),
])
def test_npl_upgrade_needs_every_condition(changes, unmet):
    decision = classify_loan(loan(previous=SUBSTANDARD, **{**UPGRADE_OK, **changes}), ON)
    if unmet is None:
        assert decision.category == NORMAL and decision.upgrade_blocked_reason is None
    else:
        assert decision.category == SUBSTANDARD
        assert decision.upgrade_blocked_reason == "upgrade_conditions_not_met"
        assert decision.upgrade_unmet == (unmet,)


def test_upgrade_moves_to_the_floor_not_further():
    decision = classify_loan(loan(previous=DOUBTFUL, funds_diverted=True, **UPGRADE_OK), ON)
    assert decision.category == SPECIAL_MENTION


def test_npl_to_npl_upgrade_also_blocked():
    assert category(previous=DOUBTFUL, dpd=100) == DOUBTFUL


def test_downgrade_is_immediate_and_performing_improves_freely():
    assert category(previous=SUBSTANDARD, dpd=300) == DOUBTFUL
    assert category(previous=SPECIAL_MENTION) == NORMAL
    assert category(previous=NORMAL, dpd=5) == SPECIAL_MENTION


@pytest.mark.parametrize("changes, field", [
    ({"balance": 100.0}, "balance"),
    ({"balance": D("-1")}, "balance"),
    ({"dpd": -1}, "dpd"),
    ({"debtor_cross_bank_overdue90_share": D("1.1")}, "debtor_cross_bank_overdue90_share"),
    ({"expected_loss": D("-0.1")}, "expected_loss"),
    ({"previous": "bad"}, "previous"),
    ({"manual_floor": "worst"}, "manual_floor"),
])
def test_facts_validation(changes, field):
    with pytest.raises(ValidationFailed) as caught:
        loan(**changes)
    assert field in caught.value.fields


# --------------------------------------------------------------------------- contagion and the book

def test_contagion_at_exactly_ten_percent_is_not_triggered():
    decisions = classify_book([loan(loan_no="A", balance=D("100"), dpd=100),
                               loan(loan_no="B", balance=D("900"))], ON)
    assert decisions["A"].category == SUBSTANDARD
    assert decisions["B"].category == SPECIAL_MENTION
    assert decisions["B"].floor_reasons == [("debtor_npl_elsewhere", SPECIAL_MENTION)]


def test_contagion_just_above_ten_percent():
    decisions = classify_book([loan(loan_no="A", balance=D("100"), dpd=100),
                               loan(loan_no="B", balance=D("899.99")),
                               loan(loan_no="C", debtor_id="D2", balance=D("1"))], ON)
    assert decisions["B"].category == SUBSTANDARD
    assert ("contagion", SUBSTANDARD) in decisions["B"].floor_reasons
    assert decisions["A"].floor_reasons == [("dpd_over_90", SUBSTANDARD)]
    assert decisions["C"].category == NORMAL


def test_contagion_skips_retail_debtors_and_keeps_worse_categories():
    decisions = classify_book([loan(loan_no="A", balance=D("500"), dpd=100, retail=True),
                               loan(loan_no="B", balance=D("500"), retail=True)], ON)
    assert decisions["B"].category == NORMAL
    direct = apply_contagion({"A": ("D1", D("50"), Decision(LOSS)), "B": ("D1", D("50"), Decision(DOUBTFUL)),
                              "C": ("D1", D("50"), Decision(NORMAL))}, retail=set())
    assert [direct[k].category for k in "ABC"] == [LOSS, DOUBTFUL, SUBSTANDARD]


def test_book_refuses_duplicate_loan_numbers():
    with pytest.raises(ValidationFailed):
        classify_book([loan(), loan()], ON)


# =========================================================================== properties

upgrade_facts = st.fixed_dictionaries({
    "operational_delay": st.booleans(),
    "funds_diverted": st.booleans(),
    "credit_impaired": st.booleans(),
    "previous": st.sampled_from(CATEGORIES),
    "arrears_cleared": st.booleans(),
    "periods_paid_since_cure": st.integers(0, 4),
    "months_since_cure": st.integers(0, 12),
    "able_to_pay": st.booleans(),
    "manual_floor": st.none() | st.sampled_from(CATEGORIES),
})


@FAST
@given(upgrade_facts, st.integers(0, 500), st.integers(0, 500))
def test_more_dpd_never_improves_the_category(other, a, b):
    low, high = sorted((a, b))
    assert rank(category(dpd=low, **other)) <= rank(category(dpd=high, **other))


@FAST
@given(principal_fen=st.integers(1, 10**11), rate_bp=st.integers(0, 3000),
       start=st.dates(date(2020, 1, 1), date(2030, 12, 31)), months=st.integers(0, 60),
       extra_days=st.integers(0, 40), kind=st.sampled_from(["bullet", "equal_instalments",
                                                             "equal_principal", "interest_only"]),
       day_count=st.sampled_from(["ACT/360", "ACT/365"]))
def test_schedule_properties(principal_fen, rate_bp, start, months, extra_days, kind, day_count):
    maturity = add_months(start, months) + timedelta(days=extra_days or (0 if months else 1))
    principal = D(principal_fen) / 100
    schedule = build_schedule(principal=principal, annual_rate=D(rate_bp) / 10000, start_date=start,
                              maturity_date=maturity, kind=kind, day_count=day_count)
    assert sum(s.principal for s in schedule) == principal
    for s in schedule:
        for amount in (s.principal, s.interest):
            assert amount.as_tuple().exponent == -2 and amount >= 0
    dues = [s.due_date for s in schedule]
    assert dues == sorted(set(dues)) and dues[-1] == maturity and dues[0] > start
    assert [s.seq for s in schedule] == list(range(1, len(schedule) + 1))


@FAST
@given(cuts=st.lists(st.integers(0, 10**7), max_size=6), kind=st.sampled_from(["equal_instalments",
                                                                               "equal_principal"]))
def test_payments_conserve_money(cuts, kind):
    schedule = build_schedule(principal=D("50000"), annual_rate=D("0.05"), start_date=date(2024, 1, 1),
                              maturity_date=date(2024, 7, 1), kind=kind)
    total = sum(s.amount for s in schedule)
    amounts = [min(D(c) / 100, total) for c in cuts]
    paid, payments = D(0), []
    for day, amount in enumerate(amounts, start=1):
        amount = min(amount, total - paid)
        paid += amount
        payments.append((date(2024, 2, day), amount, D("0")))
    states = apply_payments(schedule, payments)
    assert sum(s.paid_principal + s.paid_interest for s in states) == paid
    assert outstanding_principal(states, date(2030, 1, 1)) == D("50000") - sum(s.paid_principal for s in states)
    settled = [s.paid_on is not None for s in states]
    assert settled == sorted(settled, reverse=True)  # paid oldest first
