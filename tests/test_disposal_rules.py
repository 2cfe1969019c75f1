"""The disposal app's pure rules: the Civil Code 561 waterfall, auction bids and rounds, set-off floors."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ippledge.disposal import rules

YUAN = 100  # fen


def test_waterfall_shortfall_example_of_issue_14():
    claim = rules.Claim(principal=1_200_000 * YUAN, interest=30_000 * YUAN, costs=50_000 * YUAN)
    w = rules.apply_proceeds(1_000_000 * YUAN, claim)
    assert w.applied == {"costs": 50_000 * YUAN, "interest": 30_000 * YUAN, "principal": 920_000 * YUAN}
    assert (w.surplus, w.shortfall) == (0, 280_000 * YUAN)


def test_waterfall_surplus_goes_back_to_the_pledgor():
    claim = rules.Claim(principal=1_200_000 * YUAN, interest=30_000 * YUAN, costs=50_000 * YUAN)
    w = rules.apply_proceeds(1_400_000 * YUAN, claim)
    assert w.applied == {"costs": 50_000 * YUAN, "interest": 30_000 * YUAN, "principal": 1_200_000 * YUAN}
    assert (w.surplus, w.shortfall) == (120_000 * YUAN, 0)


def test_a_contract_may_agree_another_order():
    claim = rules.Claim(principal=100, interest=50, costs=50)
    w = rules.apply_proceeds(120, claim, order=("principal", "interest", "costs"))
    assert w.applied == {"costs": 0, "interest": 20, "principal": 100}
    with pytest.raises(ValueError):
        rules.apply_proceeds(120, claim, order=("principal", "principal", "costs"))


@given(st.integers(0, 10**12), st.integers(0, 10**11), st.integers(0, 10**10), st.integers(0, 10**10))
def test_waterfall_parts_always_add_up(proceeds, principal, interest, costs):
    w = rules.apply_proceeds(proceeds, rules.Claim(principal=principal, interest=interest, costs=costs))
    assert sum(w.applied.values()) + w.surplus == proceeds
    assert sum(w.applied.values()) + w.shortfall == principal + interest + costs
    assert min(w.surplus, w.shortfall) == 0


OPEN = dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC)
ROUND = rules.Round(number=1, reserve=1_000_000, increment=10_000, deposit=50_000,
                    opens_at=OPEN, closes_at=OPEN + dt.timedelta(days=1))


@pytest.mark.parametrize(("amount", "at", "highest", "deposit", "code"), [
    (1_000_000, OPEN - dt.timedelta(seconds=1), None, True, "auction_not_open"),
    (1_000_000, OPEN + dt.timedelta(days=1), None, True, "auction_closed"),
    (999_999, OPEN, None, True, "bid_below_reserve"),
    (1_005_000, OPEN, 1_000_000, True, "bid_below_increment"),
    (1_000_000, OPEN, None, False, "deposit_required"),
])
def test_bids_the_rules_refuse(amount, at, highest, deposit, code):
    with pytest.raises(rules.BidRefused) as refused:
        rules.check_bid(ROUND, amount=amount, at=at, highest=highest, deposit_paid=deposit)
    assert refused.value.code == code


def test_highest_bid_at_or_above_reserve_wins_earliest_of_equals():
    t = OPEN + dt.timedelta(hours=1)
    bids = [(1_000_000, t, "a"), (1_200_000, t + dt.timedelta(minutes=2), "b"),
            (1_200_000, t + dt.timedelta(minutes=1), "c"), (2_000_000, ROUND.closes_at, "late")]
    assert rules.winner(bids, ROUND) == (1_200_000, "c")
    assert rules.winner([(900_000, t, "a")], ROUND) is None
    rules.check_bid(ROUND, amount=1_010_000, at=t, highest=1_000_000, deposit_paid=True)


def test_unsold_round_comes_back_at_a_discount():
    assert rules.next_reserve(1_000_000, Decimal("0.20")) == 800_000
    assert rules.next_reserve(999_999, Decimal("0.15")) == 849_999
    with pytest.raises(ValueError):
        rules.next_reserve(1_000_000, Decimal("1"))


def test_setoff_floor_and_holding_deadline():
    assert rules.setoff_floor(1_000_001, Decimal("0.7")) == 700_001
    assert rules.setoff_floor(1_000_000, Decimal("0.7")) == 700_000
    assert rules.holding_deadline(dt.date(2026, 3, 1), 2) == dt.date(2028, 3, 1)
    assert rules.holding_deadline(dt.date(2024, 2, 29), 2) == dt.date(2026, 2, 28)
