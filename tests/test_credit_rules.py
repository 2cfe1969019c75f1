"""Credit rules: enterprise size (2011 SME notice), pricing and all-in cost, product matching.

Pure tests (no database): run with
``python -m pytest tests/test_credit_rules.py -q -p no:django --noconftest``.
"""

from __future__ import annotations

import random
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ippledge.core.errors import ValidationFailed
from ippledge.credit.engine.matching import (
    WEIGHTS,
    eligibility,
    rank_needs,
    rank_products,
    region_covers,
    score,
    score_parts,
)
from ippledge.credit.engine.pricing import all_in_cost, rate_for
from ippledge.credit.engine.size import explain_size, industries, industry_for, load_table, size_class

FAST = settings(max_examples=60, deadline=None)


# --------------------------------------------------------------------------- enterprise size

def test_table_covers_every_industry_of_the_notice():
    assert industries() == (
        "agriculture", "industry", "construction", "wholesale", "retail", "transport", "warehousing",
        "postal", "accommodation", "catering", "information_transmission", "software_it",
        "real_estate_development", "property_management", "leasing_business_services", "other")
    table = load_table()
    assert table["industry"].thresholds["medium"] == {"staff": D(300), "revenue": D(20_000_000)}
    assert table["software_it"].thresholds["small"] == {"staff": D(10), "revenue": D(500_000)}
    assert table["agriculture"].indicators == ("revenue",)
    assert table["construction"].indicators == ("revenue", "assets")
    assert table["leasing_business_services"].indicators == ("staff", "assets")
    assert table["other"].indicators == ("staff",)


@pytest.mark.parametrize(("staff", "revenue", "expected"), [
    (300, "20000000", "medium"),        # both medium bounds reached, inclusive
    (299, "20000000", "small"),         # one staff short of medium
    (300, "19999999.99", "small"),      # revenue just below the medium bound
    (20, "3000000", "small"),
    (19, "3000000", "micro"),           # 以下或: one indicator short is enough
    (20, "2999999", "micro"),
    (1000, "400000000", "large"),       # both ceilings reached
    (999, "400000000", "medium"),       # below one ceiling: still an SME
    (5000, "10000000", "small"),        # many staff but little revenue
])
def test_industry_boundaries(staff, revenue, expected):
    assert size_class("industry", staff, D(revenue)) == expected


@pytest.mark.parametrize(("staff", "revenue", "expected"), [
    (100, "10000000", "medium"),
    (99, "10000000", "small"),
    (100, "9999999", "small"),
    (10, "500000", "small"),
    (9, "500000", "micro"),
    (10, "499999", "micro"),
    (300, "100000000", "large"),
    (300, "99999999", "medium"),
])
def test_software_boundaries(staff, revenue, expected):
    assert size_class("software_it", staff, revenue) == expected


def test_other_industries():
    # Agriculture: revenue only; staff may be missing.
    assert size_class("agriculture", None, "5000000") == "medium"
    assert size_class("agriculture", None, "499999") == "micro"
    assert size_class("agriculture", None, "200000000") == "large"
    # Construction: revenue and assets.
    assert size_class("construction", None, "60000000", "50000000") == "medium"
    assert size_class("construction", None, "60000000", "49999999") == "small"
    assert size_class("construction", None, "800000000", "800000000") == "large"
    # Wholesale: 5 staff and 10 million is small.
    assert size_class("wholesale", 5, "10000000") == "small"
    assert size_class("wholesale", 4, "10000000") == "micro"
    # Leasing and business services: staff and assets, revenue unused.
    assert size_class("leasing_business_services", 100, None, "80000000") == "medium"
    assert size_class("leasing_business_services", 100, None, "79999999") == "small"
    # Other: staff only.
    assert size_class("other", 100, None) == "medium"
    assert size_class("other", 9, None) == "micro"
    assert size_class("other", 300, None) == "large"
    # Property management: small needs 100 staff.
    assert size_class("property_management", 99, "5000000") == "micro"


def test_size_rejects_missing_or_bad_inputs():
    with pytest.raises(ValidationFailed) as error:
        size_class("construction", None, "60000000")
    assert error.value.code == "invalid_input" and "assets" in error.value.fields
    with pytest.raises(ValidationFailed):
        size_class("industry", 10.0, "1")
    with pytest.raises(ValidationFailed):
        size_class("industry", 10, 1.5)
    with pytest.raises(ValidationFailed):
        size_class("mining", 10, "1")


def test_explain_size_lists_checks():
    result = explain_size("industry", 300, "19999999")
    assert result["size_class"] == "small"
    assert ("medium", "revenue", D("19999999"), D(20_000_000), False) in result["checks"]


def test_industry_for_sections():
    assert industry_for("A") == "agriculture"
    assert [industry_for(s) for s in "BCD"] == ["industry"] * 3
    assert industry_for("e") == "construction"
    assert industry_for("L") == "leasing_business_services"
    assert industry_for("J") == "other" and industry_for("M") == "other"
    assert industry_for("F", "wholesale") == "wholesale"
    assert industry_for("F", "5211") == "retail"
    assert industry_for("F", "F51") == "wholesale"
    assert industry_for("G", "54") == "transport"
    assert industry_for("G", "59") == "warehousing"
    assert industry_for("G", "60") == "postal"
    assert industry_for("G", "53") == "other"        # railway: excluded from transport by the notice
    assert industry_for("H", "62") == "catering"
    assert industry_for("I", "64") == "information_transmission"
    assert industry_for("I", "6510") == "software_it"
    assert industry_for("K", "701") == "real_estate_development"
    assert industry_for("K", "7020") == "property_management"
    assert industry_for("K", "703") == "other"
    for section, subsector in (("F", None), ("K", "70"), ("F", "65"), ("I", "retail"), ("Z", None)):
        with pytest.raises(ValidationFailed):
            industry_for(section, subsector)


# --------------------------------------------------------------------------- pricing

GRADES = {"A": 80, "B": 150, "C": -20}


def test_rate_is_lpr_plus_spread():
    assert rate_for(lpr=D("3.45"), spread_bp_by_grade=GRADES, grade="A", floor=None, cap=None) == D("0.0425")
    assert rate_for(lpr=D("3.45"), spread_bp_by_grade=GRADES, grade="C", floor=None, cap=None) == D("0.0325")


def test_rate_floor_and_cap():
    assert rate_for(lpr=D("3.45"), spread_bp_by_grade=GRADES, grade="C", floor=D("0.035"), cap=None) == D("0.035")
    assert rate_for(lpr=D("3.45"), spread_bp_by_grade=GRADES, grade="B", floor=None, cap=D("0.045")) == D("0.045")
    assert rate_for(lpr=D("3.45"), spread_bp_by_grade=GRADES, grade="A", floor=D("0.03"), cap=D("0.05")) \
        == D("0.0425")
    with pytest.raises(ValidationFailed):
        rate_for(lpr=D("3.45"), spread_bp_by_grade=GRADES, grade="A", floor=D("0.05"), cap=D("0.03"))
    with pytest.raises(ValidationFailed):
        rate_for(lpr=D("3.45"), spread_bp_by_grade=GRADES, grade="Z", floor=None, cap=None)
    with pytest.raises(ValidationFailed):
        rate_for(lpr=3.45, spread_bp_by_grade=GRADES, grade="A", floor=None, cap=None)


def test_all_in_cost_hand_computed():
    result = all_in_cost(
        principal=D(1_000_000), annual_rate=D("0.0425"), days=365, guarantee_fee_rate=D("0.01"),
        subsidies=[{"name": "half of interest", "kind": "share_of_interest", "value": D("0.5"),
                    "cap": D(20000)}])
    # 1,000,000 × 0.0425 × 365 / 360 = 43,090.2777… → 43,090.28
    assert result["interest"] == D("43090.28")
    assert result["guarantee_fee"] == D("10000.00")          # 1% a year, 365/365
    assert result["subsidies"][0]["computed"] == D("21545.14")
    assert result["subsidies"][0]["amount"] == D("20000.00")
    assert result["subsidies"][0]["limited_by"] == "cap"
    assert result["subsidy_total"] == D("20000.00")
    assert result["net_cost"] == D("33090.28")
    # 33,090.28 / 1,000,000 × 360 / 365 = 0.0326369…
    assert result["effective_annual_rate"] == D("0.032637")
    assert ("Net cost", "综合融资成本", D("33090.28")) in result["trace"]


def test_all_in_cost_subsidy_kinds_and_limits():
    result = all_in_cost(
        principal=D(1_000_000), annual_rate=D("0.0425"), days=360, insurance_premium_rate=D("0.02"),
        valuation_fee=D(5000), fee_day_count="ACT/360",
        subsidies=[
            {"name": "20% of LPR", "kind": "rate", "value": D("0.0069")},
            {"name": "fixed", "kind": "amount", "value": D(40000)},
            {"name": "ZGC", "kind": "share_of_interest", "value": D("0.4"), "max_annual_rate": D("0.04")},
        ])
    assert result["interest"] == D("42500.00")
    assert result["insurance_premium"] == D("20000.00")
    items = result["subsidies"]
    assert items[0]["amount"] == D("6900.00") and items[0]["limited_by"] is None
    assert items[1]["amount"] == D("35600.00") and items[1]["limited_by"] == "interest"
    assert items[2]["amount"] == D("0.00") and items[2]["limited_by"] == "condition"
    assert result["subsidy_total"] == result["interest"]
    assert result["net_cost"] == D("25000.00")
    assert result["effective_annual_rate"] == D("0.025000")


def test_all_in_cost_rejects_bad_inputs():
    with pytest.raises(ValidationFailed):
        all_in_cost(principal=D(100), annual_rate=D("0.04"), days=0)
    with pytest.raises(ValidationFailed):
        all_in_cost(principal=D(100), annual_rate=D("4.25"), days=30)
    with pytest.raises(ValidationFailed):
        all_in_cost(principal=D(100), annual_rate=D("0.04"), days=30, subsidies=[{"kind": "gift", "value": 1}])


@FAST
@given(st.decimals(min_value=0, max_value=10, places=2), st.decimals(min_value=0, max_value=10, places=2),
       st.integers(min_value=-300, max_value=500),
       st.one_of(st.none(), st.decimals(min_value=0, max_value="0.1", places=4)))
def test_higher_lpr_never_lowers_the_rate(lpr_a, lpr_b, spread, floor):
    low, high = sorted((lpr_a, lpr_b))
    if floor is None and low / 100 + D(spread) / 10000 < 0:
        return
    grades = {"X": spread}
    assert rate_for(lpr=high, spread_bp_by_grade=grades, grade="X", floor=floor, cap=None) >= \
        rate_for(lpr=low, spread_bp_by_grade=grades, grade="X", floor=floor, cap=None)


subsidy = st.fixed_dictionaries(
    {"name": st.just("s"),
     "kind": st.sampled_from(["rate", "share_of_interest", "amount"]),
     "value": st.decimals(min_value=0, max_value="0.99", places=4)},
    optional={"cap": st.decimals(min_value=0, max_value=100000, places=2)})


@FAST
@given(st.decimals(min_value="0.01", max_value=10_000_000, places=2),
       st.decimals(min_value=0, max_value="0.2", places=4), st.integers(min_value=1, max_value=1100),
       st.lists(subsidy, max_size=4), st.sampled_from(["ACT/360", "ACT/365"]))
def test_net_cost_never_negative(principal, rate, days, subsidies, day_count):
    for item in subsidies:
        if item["kind"] == "amount":
            item["value"] = item["value"] * 100000
    result = all_in_cost(principal=principal, annual_rate=rate, days=days, day_count=day_count,
                         subsidies=subsidies)
    assert result["subsidy_total"] <= result["interest"]
    assert result["net_cost"] >= 0
    assert result["effective_annual_rate"] >= 0


# --------------------------------------------------------------------------- matching

def need(**values) -> dict:
    base = {"id": "N1", "amount": D(1_000_000), "term_months": 12, "purpose": "working capital",
            "rights": [{"kind": "invention", "number": "ZL1", "market_value": D(5_000_000), "in_force": True}],
            "innovation_grade": "T3", "region": "330106", "park_id": None, "first_loan": False,
            "size_class": "small"}
    base.update(values)
    return base


def product(**values) -> dict:
    base = {"id": "P1", "bank": "Bank", "eligible_kinds": ["invention", "utility_model", "trademark", "bundle"],
            "min_amount": D(100_000), "max_amount": D(10_000_000), "min_term_months": 6, "max_term_months": 36,
            "ltv_caps": {"invention": D("0.25"), "utility_model": D("0.15"), "trademark": D("0.5"),
                         "bundle": D("0.3")},
            "regions": [], "park_ids": [], "first_loan_friendly": False, "inclusive_smb": False,
            "min_innovation_grade": None}
    base.update(values)
    return base


def codes(reasons, ok=None) -> set[str]:
    return {code for code, passed, _ in reasons if ok is None or passed == ok}


def test_eligible_need():
    ok, reasons = eligibility(need(), product())
    assert ok
    assert {"kinds_eligible", "amount_in_range", "term_in_range", "region_any", "park_any",
            "innovation_grade_any", "collateral_sufficient"} <= codes(reasons)
    assert all(isinstance(detail, str) and detail for _, _, detail in reasons)


def test_kind_mismatch():
    ok, reasons = eligibility(need(), product(eligible_kinds=["trademark"]))
    assert not ok and codes(reasons, ok=False) == {"kind_not_eligible"}
    assert eligibility(need(), product(eligible_kinds=["patent"], ltv_caps={"patent": D("0.3")}))[0]


def test_amount_and_term_out_of_range():
    ok, reasons = eligibility(need(amount=D(50_000)), product())
    assert not ok and codes(reasons, ok=False) == {"amount_below_minimum"}
    ok, reasons = eligibility(need(amount=D(20_000_000)), product())
    assert "amount_above_maximum" in codes(reasons, ok=False)
    ok, reasons = eligibility(need(term_months=48), product())
    assert codes(reasons, ok=False) == {"term_above_maximum"}
    assert eligibility(need(amount=D(10_000_000), rights=[
        {"kind": "invention", "number": "ZL1", "market_value": D(40_000_000), "in_force": True}]), product())[0]


def test_collateral_insufficient_gives_supportable_amount():
    ok, reasons = eligibility(need(amount=D(2_000_000)), product())
    assert not ok and codes(reasons, ok=False) == {"collateral_insufficient"}
    (row,) = rank_products(need(amount=D(2_000_000)), [product()])
    assert row["supportable_amount"] == D("1250000.00")          # 5,000,000 × 25%
    assert "1250000" in next(d for c, _, d in reasons if c == "collateral_insufficient")


def test_rights_not_in_force_and_unvalued_count_zero():
    rights = [{"kind": "invention", "number": "ZL1", "market_value": D(5_000_000), "in_force": False},
              {"kind": "invention", "number": "ZL2", "market_value": None, "in_force": True}]
    ok, reasons = eligibility(need(rights=rights), product())
    assert not ok
    assert {"rights_not_in_force", "market_value_missing", "collateral_insufficient"} <= codes(reasons)
    ok, reasons = eligibility(need(rights=rights[:1]), product())
    assert "no_rights_in_force" in codes(reasons, ok=False)


def test_bundle_requires_bundle_eligibility():
    rights = [{"kind": "invention", "number": "ZL1", "market_value": D(2_000_000), "in_force": True},
              {"kind": "trademark", "number": "TM1", "market_value": D(2_000_000), "in_force": True}]
    ok, reasons = eligibility(need(rights=rights), product(eligible_kinds=["invention", "trademark"]))
    assert not ok and codes(reasons, ok=False) == {"bundle_not_eligible"}
    # With bundles: min(0.3 × 4,000,000, 0.25 × 2,000,000 + 0.5 × 2,000,000) = 1,200,000.
    ok, reasons = eligibility(need(rights=rights), product())
    assert ok
    (row,) = rank_products(need(rights=rights, amount=D(1_300_000)), [product()])
    assert not row["eligible"] and row["supportable_amount"] == D("1200000.00")
    # Only the bundle cap defined: it alone applies.
    (row,) = rank_products(need(rights=rights), [product(ltv_caps={"bundle": D("0.2")})])
    assert row["supportable_amount"] == D("800000.00")


def test_region_park_and_grade():
    assert region_covers("330000", "330106") and region_covers("330100", "330106")
    assert not region_covers("330200", "330106") and not region_covers("320000", "330106")
    ok, reasons = eligibility(need(), product(regions=["320000"]))
    assert codes(reasons, ok=False) == {"region_not_covered"}
    assert eligibility(need(), product(regions=["330000"]))[0]
    ok, reasons = eligibility(need(park_id="HZ-1"), product(park_ids=["NJ-1"]))
    assert codes(reasons, ok=False) == {"park_not_covered"}
    ok, reasons = eligibility(need(innovation_grade="T6"), product(min_innovation_grade="T5"))
    assert codes(reasons, ok=False) == {"innovation_grade_below_floor"}
    ok, reasons = eligibility(need(innovation_grade=None), product(min_innovation_grade="T5"))
    assert codes(reasons, ok=False) == {"innovation_grade_missing"}
    assert eligibility(need(innovation_grade="T5"), product(min_innovation_grade="T5"))[0]


def test_score_components():
    assert sum(WEIGHTS.values()) == 100
    # Cover 1,250,000 for 1,000,000: headroom 0.25 → 10 points; T3 → 0.8 × 25 = 20.
    parts = score_parts(need(), product())
    assert parts["collateral_headroom"] == D("10.00") and parts["innovation_grade"] == D("20.00")
    assert score(need(), product()) == D("30.00")
    full = need(first_loan=True, park_id="HZ-1", innovation_grade="T1",
                rights=[{"kind": "invention", "number": "ZL1", "market_value": D(8_000_000), "in_force": True}])
    best = product(first_loan_friendly=True, inclusive_smb=True, park_ids=["HZ-1"])
    assert score(full, best) == D("100.00")
    assert score(need(size_class="medium"), product(inclusive_smb=True)) == score(need(), product())


def test_ranking_order_and_determinism():
    products = [
        product(id="general"),
        product(id="park", park_ids=["HZ-1"]),
        product(id="first", first_loan_friendly=True),
        product(id="too-small", max_amount=D(500_000)),
        product(id="rich", ltv_caps={"invention": D("0.4")}),
        product(id="twin", first_loan_friendly=True),
    ]
    the_need = need(first_loan=True, park_id="HZ-1")
    ranked = rank_products(the_need, products)
    assert [row["product_id"] for row in ranked] == ["rich", "park", "first", "twin", "general", "too-small"]
    assert [row["eligible"] for row in ranked] == [True] * 5 + [False]
    assert ranked[-1]["supportable_amount"] == D("500000.00")
    shuffled = products[:]
    random.Random(7).shuffle(shuffled)
    assert rank_products(the_need, shuffled) == ranked


def test_rank_needs():
    needs = [need(id="b", innovation_grade="T5"), need(id="a", innovation_grade="T2"),
             need(id="c", amount=D(9_000_000)), need(id="d", innovation_grade="T5")]
    ranked = rank_needs(product(), needs)
    assert [row["need_id"] for row in ranked] == ["a", "b", "d", "c"]
    assert not ranked[-1]["eligible"] and ranked[-1]["supportable_amount"] == D("1250000.00")
    assert rank_needs(product(), list(reversed(needs))) == ranked


def test_matching_rejects_bad_input():
    with pytest.raises(ValidationFailed):
        eligibility(need(amount=1000000.0), product())
    with pytest.raises(ValidationFailed):
        eligibility(need(innovation_grade="T11"), product())
    with pytest.raises(ValidationFailed):
        eligibility(need(), product(ltv_caps={"invention": D(25)}))
