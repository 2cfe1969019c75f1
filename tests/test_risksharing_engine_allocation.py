"""Allocation of a principal loss under a risk-sharing scheme: the oracles of issue 13 / lending-rules §5
exactly, and properties (the shares add up to the loss, none negative, no party above its cap)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ippledge.core.errors import ValidationFailed
from ippledge.risksharing.engine.allocation import (
    Party,
    SchemeRules,
    allocate,
    cap_share,
    limit_to_balance,
    true_up,
    validate,
)

QINGDAO = SchemeRules(parties=(Party("insurer", "insurer", D("0.60")), Party("bank", "bank", D("0.20")),
                               Party("guarantor", "guarantor", D("0.20"))))
GUANGZHOU_2023 = SchemeRules(parties=(Party("fund", "fund", D("0.50")),), eligible_base_cap=D(10_000_000),
                             ip_portion_required=True)
GUANGZHOU_2023_IP_ONLY = SchemeRules(parties=(Party("fund", "fund", D("0.50")),), eligible_base_cap=D(10_000_000))


def test_qingdao_60_20_20():
    a = allocate(QINGDAO, loan_amount=D(5_000_000), principal_loss=D(1_000_000))
    assert a.eligible == D(1_000_000)
    assert a.shares == {"insurer": D(600_000), "guarantor": D(200_000), "bank": D(200_000)}


def test_qingdao_with_the_bank_as_remainder_only():
    rules = SchemeRules(parties=(Party("insurer", "insurer", D("0.6")), Party("guarantor", "guarantor", D("0.2"))))
    assert allocate(rules, loan_amount=D(5_000_000), principal_loss=D(1_000_000)).shares == {
        "insurer": D(600_000), "guarantor": D(200_000), "bank": D(200_000)}


def test_guangzhou_2023_loan_under_the_base_cap():
    a = allocate(GUANGZHOU_2023_IP_ONLY, loan_amount=D(8_000_000), principal_loss=D(2_000_000))
    assert a.shares == {"fund": D(1_000_000), "bank": D(1_000_000)}
    # the same loan pledged on IP alone, all of it IP-secured
    a = allocate(GUANGZHOU_2023, loan_amount=D(8_000_000), principal_loss=D(2_000_000),
                 ip_secured_amount=D(8_000_000))
    assert a.shares == {"fund": D(1_000_000), "bank": D(1_000_000)}


def test_guangzhou_2023_only_the_part_up_to_ten_million_counts():
    a = allocate(GUANGZHOU_2023_IP_ONLY, loan_amount=D(15_000_000), principal_loss=D(6_000_000))
    assert a.eligible == D(4_000_000)
    assert a.shares == {"fund": D(2_000_000), "bank": D(4_000_000)}


def test_guangzhou_2023_combined_collateral_counts_the_ip_secured_amount():
    a = allocate(GUANGZHOU_2023, loan_amount=D(6_000_000), principal_loss=D(3_000_000),
                 ip_secured_amount=D(4_000_000))
    assert a.eligible == D(2_000_000)
    assert a.shares == {"fund": D(1_000_000), "bank": D(2_000_000)}


def test_guangzhou_2023_ip_portion_not_stated_pays_nothing():
    a = allocate(GUANGZHOU_2023, loan_amount=D(6_000_000), principal_loss=D(3_000_000))
    assert a.eligible == 0
    assert a.shares == {"fund": D(0), "bank": D(3_000_000)}


def test_per_loan_cap():
    rules = SchemeRules(parties=(Party("fund", "fund", D("0.40"), per_loan_cap=D(300_000)),
                                 Party("insurer", "insurer", D("0.30"))))
    a = allocate(rules, loan_amount=D(2_000_000), principal_loss=D(1_000_000))
    assert a.shares == {"fund": D(300_000), "insurer": D(300_000), "bank": D(400_000)}


def test_limit_to_balance_haikou():
    assert limit_to_balance(D(540_000), D(200_000)) == D(200_000)
    assert limit_to_balance(D(540_000), None) == D(540_000)
    assert limit_to_balance(D(540_000), D(0)) == 0


def test_cap_share_takes_every_given_limit_and_never_goes_negative():
    assert cap_share(D(500), None, D(300), D(400)) == D(300)
    assert cap_share(D(500)) == D(500)
    assert cap_share(D(500), D(-10)) == 0


def test_true_up_advance_then_recovery():
    back = true_up({"fund": D(500_000)}, outstanding_at_claim=D(1_000_000), recovered=D(400_000))
    assert back == {"fund": D(200_000)}
    # final: the fund carries 300,000 = 50% of the 600,000 final loss
    assert D(500_000) - back["fund"] == D("0.5") * (D(1_000_000) - D(400_000))


def test_true_up_several_payers_and_a_recovery_above_the_principal():
    back = true_up({"fund": D(500_000), "insurer": D(300_000)}, outstanding_at_claim=D(1_000_000),
                   recovered=D(2_000_000))
    assert back == {"fund": D(500_000), "insurer": D(300_000)}


def test_true_up_refuses_impossible_inputs():
    with pytest.raises(ValidationFailed):
        true_up({"fund": D(2)}, outstanding_at_claim=D(1), recovered=D(0))
    with pytest.raises(ValidationFailed):
        true_up({"fund": D(1)}, outstanding_at_claim=D(0), recovered=D(0))


@pytest.mark.parametrize("rules, code", [
    (SchemeRules(parties=(Party("fund", "fund", D("0.6")), Party("insurer", "insurer", D("0.5")))),
     "ratio_sum_above_one"),
    (SchemeRules(parties=(Party("fund", "fund", D("0.2")), Party("fund", "insurer", D("0.2")))),
     "duplicate_party_name"),
    (SchemeRules(parties=(Party("fund", "fund", D("-0.1")),)), "negative_ratio"),
    (SchemeRules(parties=(Party("bank", "fund", D("0.1")),)), "reserved_party_name"),
    (SchemeRules(parties=(Party("x", "state", D("0.1")),)), "unknown_party_kind"),
    (SchemeRules(parties=(Party("fund", "fund", D("0.1"), per_loan_cap=D(-1)),)), "negative_per_loan_cap"),
    (SchemeRules(parties=(Party("bank", "bank", D("0.1"), per_loan_cap=D(1)),)), "bank_party_cap"),
    (SchemeRules(parties=()), "no_parties"),
    (SchemeRules(parties=(Party("fund", "fund", D("0.1")),), eligible_base_cap=D(-1)), "negative_eligible_base_cap"),
])
def test_validate_codes(rules, code):
    assert code in validate(rules)


def test_real_schemes_validate():
    assert validate(QINGDAO) == []
    assert validate(GUANGZHOU_2023) == []


def test_impossible_loans_are_refused():
    with pytest.raises(ValidationFailed):
        allocate(QINGDAO, loan_amount=D(0), principal_loss=D(0))
    with pytest.raises(ValidationFailed):
        allocate(QINGDAO, loan_amount=D(10), principal_loss=D(11))


fen = st.integers(min_value=0, max_value=10**11).map(lambda f: D(f) / 100)
ratio = st.integers(min_value=0, max_value=10_000).map(lambda bp: D(bp) / 10_000)
party_kind = st.sampled_from(["fund", "insurer", "guarantor", "appraiser", "bank"])


@st.composite
def schemes(draw):
    n = draw(st.integers(min_value=1, max_value=5))
    ratios = [draw(ratio) for _ in range(n)]
    total = sum(ratios, D(0))
    if total > 1:
        ratios = [(r / total).quantize(D("0.0001"), rounding="ROUND_DOWN") for r in ratios]
    parties = []
    for i, r in enumerate(ratios):
        kind = draw(party_kind)
        cap = None if kind == "bank" else draw(st.none() | fen)
        parties.append(Party(f"p{i}", kind, r, cap))
    return SchemeRules(parties=tuple(parties), eligible_base_cap=draw(st.none() | fen),
                       ip_portion_required=draw(st.booleans()))


@st.composite
def loans(draw):
    loan = draw(fen.filter(lambda v: v > 0))
    loss = draw(st.integers(min_value=0, max_value=int(loan * 100))) / D(100)
    ip = draw(st.none() | st.integers(min_value=0, max_value=int(loan * 100)).map(lambda f: D(f) / 100))
    return loan, loss, ip


@settings(max_examples=300, deadline=None)
@given(schemes(), loans())
def test_shares_add_up_to_the_loss_and_respect_every_cap(rules, loan):
    loan_amount, loss, ip = loan
    assert validate(rules) == []
    a = allocate(rules, loan_amount=loan_amount, principal_loss=loss, ip_secured_amount=ip)
    assert sum(a.shares.values(), D(0)) == loss
    assert 0 <= a.eligible <= loss
    assert all(v >= 0 and v == v.quantize(D("0.01")) for v in a.shares.values())
    assert sum(v for k, v in a.shares.items() if k != "bank") <= a.eligible
    for p in rules.parties:
        if p.kind == "bank":
            assert p.name not in a.shares or p.name == "bank"
            continue
        if p.per_loan_cap is not None:
            assert a.shares[p.name] <= p.per_loan_cap
        assert a.shares[p.name] <= (p.ratio * a.eligible).quantize(D("0.01"), rounding="ROUND_HALF_UP")


@settings(max_examples=200, deadline=None)
@given(st.lists(fen, min_size=1, max_size=4), fen, fen)
def test_true_up_never_returns_more_than_paid_or_recovered(paid_list, extra, recovered):
    outstanding = sum(paid_list, D(0)) + extra
    if outstanding <= 0:
        return
    paid = {f"p{i}": v for i, v in enumerate(paid_list)}
    back = true_up(paid, outstanding_at_claim=outstanding, recovered=recovered)
    assert all(0 <= back[k] <= paid[k] for k in paid)
    assert sum(back.values(), D(0)) <= min(recovered, outstanding)
