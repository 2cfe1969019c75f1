"""The deterministic valuation engine: hand-computed cases, factor-table facts, error codes, properties.

Pure tests (no database): run with
``python -m pytest tests/test_valuation_engine.py -q -p no:django --noconftest``.
"""

from __future__ import annotations

import sys
from decimal import ROUND_HALF_UP
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ippledge.core.errors import ValidationFailed
from ippledge.valuation.engine import MODEL_VERSION
from ippledge.valuation.engine.compute import METHODS, compute
from ippledge.valuation.engine.discount import build_up, wacc
from ippledge.valuation.engine.factors import pa, pf
from ippledge.valuation.engine.income import profit_to_sales_split, split_from_score
from ippledge.valuation.engine.market_cost import replacement_cost_build_up
from ippledge.valuation.engine.options import crr_params
from ippledge.valuation.engine.trace import Trace

FAST = settings(max_examples=40, deadline=None)


def _error(method, inputs, options=None) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as info:
        compute(method, inputs, options)
    return info.value


# ---------------------------------------------------------------------------------------------
# Factors


def test_factor_table_facts():
    # (P/A, 10%, 5) = (1 − 1.1^−5)/0.1 = 3.790787 → 3.7908; Σ rounded (P/F, 10%, t), t = 1..5 =
    # 0.9091 + 0.8264 + 0.7513 + 0.6830 + 0.6209 = 3.7907.
    assert pa("0.1", 5, "table4") == D("3.7908")
    assert sum(pf("0.1", t, "table4") for t in range(1, 6)) == D("3.7907")
    # (P/F, 10%, 2) = 1/1.21 = 0.826446 → 0.8264.
    assert pf("0.1", 2, "table4") == D("0.8264")
    assert abs(pf("0.1", 2) - D(1) / D("1.21")) < D("1e-20")
    assert pa("0", 4) == 4
    # round_rate: 0.1049 → 0.10 before use.
    assert pf("0.1049", 2, "table4", round_rate=2) == D("0.8264")


def test_level_stream_in_table4_uses_the_annuity_factor():
    # 1,000,000 × (P/A, 10%, 5) = 1,000,000 × 3.7908 = 3,790,800.00 (not 3,790,700 from Σ P/F);
    # exact: 1,000,000 × 3.79078676… = 3,790,786.77.
    table = compute("income", {"income": ["1000000"] * 5, "discount_rate": "0.1"}, {"factor_mode": "table4"})
    assert table["value"] == D("3790800.00")
    assert table["factor_basis"] == "annuity"
    exact = compute("income", {"income": ["1000000"] * 5, "discount_rate": "0.1"})
    assert exact["value"] == D("3790786.77")
    assert exact["factor_basis"] == "single_payment"


def test_uneven_stream_in_table4_uses_single_payment_factors():
    # 500,000 × 0.9091 + 1,000,000 × 0.8264 = 454,550 + 826,400 = 1,280,950.00;
    # exact: 454,545.4545… + 826,446.2810… = 1,280,991.74.
    inputs = {"income": ["500000", "1000000"], "discount_rate": "0.1"}
    table = compute("income", inputs, {"factor_mode": "table4"})
    assert table["value"] == D("1280950.00")
    assert [c["factor"] for c in table["cash_flows"]] == [D("0.9091"), D("0.8264")]
    assert compute("income", inputs)["value"] == D("1280991.74")


def test_published_report_example_to_the_yuan():
    # A report-style case: sales forecast for 6 years, legal term 6, economic life 5 → n = 5.
    # Sales split β = α × margin = 25% × 9% = 2.25%; tax 0 (pre-tax basis as in the report);
    # r by build-up = 2.5% + 3% + 2.5% + 2% + 2% = 12%.
    # Cash flows 2.25% × (2000, 2400, 2800, 3000, 3000) 万 = 450,000; 540,000; 630,000; 675,000; 675,000.
    # Table (P/F, 12%, t): 0.8929, 0.7972, 0.7118, 0.6355, 0.5674.
    # PV = 401,805 + 430,488 + 448,434 + 428,962.5 + 382,995 = 2,092,684.50 → 209.27 万元 in the report.
    trace = Trace()
    beta = profit_to_sales_split("0.25", "0.09", trace)
    r = build_up("0.025", "0.03", "0.025", "0.02", "0.02", trace)
    assert (beta, r) == (D("0.022500"), D("0.120000"))
    inputs = {"income": ["20000000", "24000000", "28000000", "30000000", "30000000", "30000000"],
              "split_rate": str(beta), "discount_rate": str(r), "economic_life": "5", "remaining_legal_years": "6"}
    result = compute("income", inputs, {"factor_mode": "table4", "round_rate": 4})
    assert result["value"] == D("2092684.50")
    assert result["value"].quantize(D("1"), rounding=ROUND_HALF_UP) == D("2092685")
    assert (result["period_years"], result["period_bound"]) == (5, "economic_life")
    assert [c["present_value"] for c in result["cash_flows"]] == [
        D("401805.00"), D("430488.00"), D("448434.00"), D("428962.50"), D("382995.00")]
    # The exact factors give 2,092,679.79: the table reproduces the report, exact does not.
    assert compute("income", inputs)["value"] == D("2092679.79")


# ---------------------------------------------------------------------------------------------
# Income approach


def test_income_split_hand_computed():
    # K(1−T) = 0.25 × 0.75 = 0.1875 → R = 18,750; 22,500; 28,125.
    # PV = 18,750/1.1 + 22,500/1.21 + 28,125/1.331 = 17,045.4545 + 18,595.0413 + 21,130.7288 = 56,771.2246.
    result = compute("income", {"income": ["100000", "120000", "150000"], "split_rate": "0.25",
                                "tax_rate": "0.25", "discount_rate": "0.1"})
    assert result["value"] == D("56771.22")
    assert result["currency"] == "CNY"
    assert [c["cash_flow"] for c in result["cash_flows"]] == [D("18750.00"), D("22500.00"), D("28125.00")]
    assert result["period_years"] == 3 and result["split_rate"] == D("0.250000")
    assert result["discount_rate"] == D("0.100000")
    assert result["method"] == "income" and result["model_version"] == MODEL_VERSION
    keys = [s["key"] for s in result["trace"]]
    assert "input.income" in keys and "income.pv.year1" in keys and "income.value" in keys
    assert all(s["en"] and s["zh"] for s in result["trace"])


def test_income_period_is_the_shortest_bound():
    base = {"income": ["100"] * 8, "discount_rate": "0"}
    # r = 0: V = 100 × n.
    assert compute("income", {**base, "economic_life": "6", "remaining_legal_years": "4"})["value"] == D("400.00")
    result = compute("income", {**base, "economic_life": "3", "remaining_legal_years": "4"})
    assert (result["value"], result["period_bound"]) == (D("300.00"), "economic_life")
    result = compute("income", {**base, "remaining_legal_years": "5.7"})  # floored to 5 whole years
    assert (result["period_years"], result["period_bound"]) == (5, "remaining_legal_years")
    result = compute("income", {**base, "economic_life": "20"})
    assert (result["period_years"], result["period_bound"]) == (8, "income_stream")
    result = compute("income", {**base, "remaining_legal_years": "0"})
    assert result["value"] == D("0.00") and result["cash_flows"] == []


def test_round_rate_rounds_intermediate_rates():
    # r = 0.1049 → 0.10 and K = 0.3333 → 0.33: V = 0.33 × 1000/1.1 = 300.00.
    result = compute("income", {"income": ["1000"], "split_rate": "0.3333", "discount_rate": "0.1049"},
                     {"round_rate": 2})
    assert result["value"] == D("300.00")
    assert result["discount_rate"] == D("0.100000")


def test_split_conversions():
    # β = α × margin = 0.25 × 0.12 = 0.03.
    assert profit_to_sales_split("0.25", "0.12", Trace()) == D("0.030000")
    # K = m + (n − m)·s = 0.25 + 0.08 × 0.5 = 0.29.
    assert split_from_score("0.25", "0.33", "0.5", Trace()) == D("0.290000")
    assert split_from_score("0.01", "0.03", "1", Trace()) == D("0.030000")
    with pytest.raises(ValidationFailed):
        split_from_score("0.25", "0.33", "1.5", Trace())


def test_equivalent_investment_split():
    # C_ip = 1,000,000 × 1.1 = 1,100,000; × 1.5 = 1,650,000; C_b(1+L_b) = 4,000,000 × 1.125 = 4,500,000;
    # α = 1,650,000 / 6,150,000 = 0.26829268… → 0.268293.
    result = compute("equivalent_investment_split", {
        "ip_cost": "1000000", "ip_cost_profit_rate": "0.5", "other_cost": "4000000",
        "other_cost_profit_rate": "0.125", "ip_price_index_change": "0.1"})
    assert result["split_rate"] == D("0.268293")
    assert (result["ip_investment"], result["other_investment"]) == (D("1650000.00"), D("4500000.00"))


def test_incremental_income():
    # R₁ = [(105−100)·1000 + (60−58)·1000]·0.75 = 5,250; R₂ = [5·1200 + 2·1200]·0.75 = 6,300.
    # V = 5,250/1.1 + 6,300/1.21 = 4,772.7273 + 5,206.6116 = 9,979.3389.
    result = compute("incremental_income", {
        "price_before": "100", "price_after": "105", "unit_cost_before": "60", "unit_cost_after": "58",
        "quantity": ["1000", "1200"], "tax_rate": "0.25", "discount_rate": "0.1"})
    assert result["value"] == D("9979.34")
    assert [c["cash_flow"] for c in result["cash_flows"]] == [D("5250.00"), D("6300.00")]


def test_excess_return():
    # Normal return 5,000,000 × 0.1 = 500,000; R = (1,000,000 − 500,000)·0.75 = 375,000; (600,000)·0.75 = 450,000.
    # V = 375,000/1.12 + 450,000/1.2544 = 334,821.4286 + 358,737.2449 = 693,558.6735.
    result = compute("excess_return", {"total_income": ["1000000", "1100000"], "total_assets": "5000000",
                                       "industry_return_rate": "0.1", "tax_rate": "0.25", "discount_rate": "0.12"})
    assert result["value"] == D("693558.67")


def test_relief_from_royalty():
    # R = S × 0.05 × 0.75 = 37,500; 75,000; 75,000.
    # V = 37,500/1.1 + 75,000/1.21 + 75,000/1.331 = 34,090.9091 + 61,983.4711 + 56,348.6101 = 152,422.9903.
    result = compute("relief_from_royalty", {"sales": ["1000000", "2000000", "2000000"], "royalty_rate": "0.05",
                                             "tax_rate": "0.25", "discount_rate": "0.1"})
    assert result["value"] == D("152422.99")


def test_mpeem_per_asset_and_per_year_charges():
    # R₁ = 1,000,000·0.75 − (100,000 + 50,000) = 600,000; R₂ = 900,000 − 180,000 = 720,000.
    # V = 600,000/1.1 + 720,000/1.21 = 545,454.5455 + 595,041.3223 = 1,140,495.8678.
    base = {"ebit": ["1000000", "1200000"], "tax_rate": "0.25", "discount_rate": "0.1"}
    per_asset = compute("mpeem", {**base, "contributory_charges": [["100000", "120000"], ["50000", "60000"]]})
    per_year = compute("mpeem", {**base, "contributory_charges": ["150000", "180000"]})
    assert per_asset["value"] == per_year["value"] == D("1140495.87")
    assert _error("mpeem", {**base, "contributory_charges": ["1"]}).fields.keys() == {"contributory_charges"}


# ---------------------------------------------------------------------------------------------
# Discount rate


def test_discount_build_up_and_wacc():
    # 0.025 + 0.03 + 0.025 + 0.02 + 0.02 = 0.12.
    result = compute("discount_build_up", {"risk_free": "0.025", "technology": "0.03", "market": "0.025",
                                           "funding": "0.02", "management": "0.02"})
    assert result["discount_rate"] == D("0.120000")
    assert result["components"]["technology"] == D("0.030000")
    error = _error("discount_build_up", {"risk_free": "0.025", "technology": "0.06", "market": "0",
                                         "funding": "0", "management": "0"})
    assert error.code == "invalid_input" and "technology" in error.fields
    # WACC = 0.6 × 0.12 + 0.4 × 0.05 × 0.75 = 0.072 + 0.015 = 0.087.
    assert wacc("600", "400", "0.12", "0.05", "0.25", Trace()) == D("0.087000")


# ---------------------------------------------------------------------------------------------
# Market and cost approaches


def test_market_with_three_comparables():
    # 1,000,000 × 1.1 × 0.9 = 990,000; 1,200,000 × 1.0 × 0.95 = 1,140,000; 800,000 × 1.2 × 1.05 = 1,008,000.
    # V = 3,138,000 / 3 = 1,046,000.
    result = compute("market", {"comparables": [
        {"price": "1000000", "factors": ["1.1", "0.9"]},
        {"price": "1200000", "factors": ["1.0", "0.95"]},
        {"price": "800000", "factors": ["1.2", "1.05"]}]})
    assert result["value"] == D("1046000.00")
    assert result["warnings"] == [] and result["form"] == "adjustment"
    assert [c["adjusted_value"] for c in result["comparables"]] == [D("990000.00"), D("1140000.00"),
                                                                    D("1008000.00")]


def test_market_quality_ratio_warns_under_three_comparables():
    # 1,000,000 × 90/80 = 1,125,000; 1,500,000 × 90/100 = 1,350,000; V = 2,475,000/2 = 1,237,500.
    result = compute("market", {"quality": "90", "comparables": [{"value": "1000000", "quality": "80"},
                                                                 {"value": "1500000", "quality": "100"}]})
    assert result["value"] == D("1237500.00")
    assert result["warnings"] == ["few_comparables"]
    assert any(s["key"] == "market.warning.few_comparables" for s in result["trace"])
    assert _error("market", {"comparables": []}).code == "invalid_input"


def test_cost_with_newness_rate():
    # 成新率 = 7/(3+7) = 0.7; V = 1,000,000 × 0.7 × 0.9 × 0.95 = 598,500; depreciation 1 − 0.5985 = 0.4015.
    result = compute("cost", {"replacement_cost": "1000000", "used_years": "3", "remaining_years": "7",
                              "functional_obsolescence_rate": "0.1", "economic_obsolescence_rate": "0.05"})
    assert result["value"] == D("598500.00")
    assert (result["newness_rate"], result["depreciation_rate"]) == (D("0.700000"), D("0.401500"))


def test_replacement_cost_build_up():
    # R&D = 300,000 + 150,000 + 50,000 = 500,000; profit 10% = 50,000;
    # taxes = (500,000 + 20,000 + 50,000) × 6% = 34,200; RC = 604,200.
    built = replacement_cost_build_up("300000", "150000", "50000", "20000", "0.1", "0.06", Trace())
    assert built["replacement_cost"] == D("604200.00")
    result = compute("cost", {"labour": "300000", "expenses": "150000", "overhead": "50000",
                              "opportunity_cost": "20000", "profit_rate": "0.1", "tax_rate": "0.06",
                              "used_years": "2", "remaining_years": "8"})
    # 604,200 × 0.8 = 483,360.
    assert result["value"] == D("483360.00")


# ---------------------------------------------------------------------------------------------
# Real options (information only)

BS = {"S": "100", "K": "100", "r": "0.05", "sigma": "0.2", "T": "1"}


def test_black_scholes_call_put_and_parity():
    # d1 = (0 + (0.05 + 0.02)·1)/0.2 = 0.35, d2 = 0.15; N(0.35) = 0.636831, N(0.15) = 0.559618.
    # C = 100 × 0.636831 − 100·e^−0.05 × 0.559618 = 63.6831 − 53.2325 = 10.4506.
    # P = 100·e^−0.05 × 0.440382 − 100 × 0.363169 = 41.8905 − 36.3169 = 5.5735.
    call = compute("black_scholes", BS)
    put = compute("black_scholes", {**BS, "option": "put"})
    assert (call["price"], put["price"]) == (D("10.45"), D("5.57"))
    assert (call["d1"], call["d2"]) == (D("0.350000"), D("0.150000"))
    assert call["information_only"] is True
    assert any(s["key"] == "options.information_only" for s in call["trace"])
    # Parity with leakage: C − P = S·e^−qT − K·e^−rT.
    inputs = {"S": "130", "K": "110", "r": "0.04", "sigma": "0.35", "T": "2.5", "q": "0.1"}
    c = compute("black_scholes", inputs)["price"]
    p = compute("black_scholes", {**inputs, "option": "put"})["price"]
    forward = D(130) * (D("-0.25")).exp() - D(110) * (D("-0.1")).exp()
    assert abs((c - p) - forward) <= D("0.02")


def test_binomial_hand_computed():
    # One step: p = (e^0.05 − 0.8)/0.4 = 0.628178; C = e^−0.05 × p × 20 = 0.951229 × 12.563555 = 11.9508.
    tree = {"S": "100", "K": "100", "u": "1.2", "d": "0.8", "r": "0.05", "dt": "1", "steps": "1"}
    result = compute("binomial", tree)
    assert result["price"] == D("11.95") and result["p"] == D("0.628178")
    # Two-step put: leaves 144 → 0, 96 → 4, 64 → 36.
    # European: V_u = e^−0.05 × 0.371822 × 4 = 1.414755; V_d = e^−0.05 × (0.628178·4 + 0.371822·36) = 15.122937;
    # V₀ = e^−0.05 × (0.628178·1.414755 + 0.371822·15.122937) = 6.194.
    # American: V_d = max(15.122937, 100 − 80) = 20; V₀ = e^−0.05 × (0.888717 + 7.436443) = 7.919.
    put = {**tree, "steps": "2", "option": "put"}
    assert compute("binomial", put)["price"] == D("6.19")
    assert compute("binomial", {**put, "style": "american"})["price"] == D("7.92")


def test_crr_params():
    # u = e^(0.2 × √0.25) = e^0.1 = 1.105171, d = 1/u = 0.904837.
    u, d = crr_params("0.2", "0.25", Trace())
    assert (round(u, 6), round(d, 6)) == (D("1.105171"), D("0.904837"))


def test_binomial_converges_to_black_scholes():
    for option in ("call", "put"):
        bs = compute("black_scholes", {**BS, "option": option})["price"]
        tree = compute("binomial", {**BS, "steps": "500", "option": option})["price"]
        assert abs(tree - bs) / bs < D("0.005")


def test_american_put_at_least_european():
    inputs = {"S": "90", "K": "100", "r": "0.08", "sigma": "0.3", "T": "1", "steps": "200", "option": "put"}
    european = compute("binomial", inputs)["price"]
    american = compute("binomial", {**inputs, "style": "american"})["price"]
    assert american >= european
    assert american > european  # deep in the money with r = 8%: early exercise is worth something


def test_binomial_rejects_arbitrage_tree():
    error = _error("binomial", {"S": "100", "K": "100", "u": "1.02", "d": "0.9", "r": "0.1", "dt": "1",
                                "steps": "3"})
    assert error.code == "invalid_input" and "u" in error.fields


# ---------------------------------------------------------------------------------------------
# compute(): methods, options and error codes


def test_methods_listed():
    assert set(METHODS) >= {"income", "incremental_income", "excess_return", "relief_from_royalty",
                            "equivalent_investment_split", "mpeem", "cost", "market", "black_scholes",
                            "binomial", "monte_carlo_income", "discount_build_up"}


def test_error_codes():
    assert _error("guesswork", {}).code == "unknown_method"
    error = _error("income", {"income": ["100"]})
    assert error.code == "invalid_input" and set(error.fields) == {"discount_rate"}
    assert _error("income", {"income": [], "discount_rate": "0.1"}).fields.keys() == {"income"}
    assert _error("income", {"income": [100.5], "discount_rate": "0.1"}).fields.keys() == {"income"}
    assert _error("income", {"income": ["100"], "discount_rate": "12"}).fields.keys() == {"discount_rate"}
    assert _error("income", {"income": ["100"], "discount_rate": "0.1", "tax_rate": "1"}).code == "invalid_input"
    error = _error("income", {"income": ["100"], "discount_rate": "0.1"}, {"factor_mode": "table5"})
    assert error.code == "invalid_input" and "factor_mode" in error.fields
    for bad in (9, -1, True, "x", 1.5):
        error = _error("income", {"income": ["100"], "discount_rate": "0.1"}, {"round_rate": bad})
        assert error.code == "invalid_input" and "round_rate" in error.fields
    assert _error("income", ["100"]).code == "invalid_input"


def test_monte_carlo_unavailable_without_simulation(monkeypatch):
    monkeypatch.setitem(sys.modules, "ippledge.valuation.engine.simulation", None)
    assert _error("monte_carlo_income", {}).code == "method_unavailable"


# ---------------------------------------------------------------------------------------------
# Properties

amounts = st.integers(min_value=1_000, max_value=10_000_000).map(str)
rates = st.integers(min_value=1, max_value=300).map(lambda bp: str(D(bp) / 1000))  # 0.1% … 30%


@FAST
@given(st.lists(amounts, min_size=1, max_size=10), rates, rates)
def test_higher_discount_rate_lowers_value(incomes, r1, r2):
    low, high = sorted((D(r1), D(r2)))
    v_low = compute("income", {"income": incomes, "discount_rate": str(low)})["value"]
    v_high = compute("income", {"income": incomes, "discount_rate": str(high)})["value"]
    assert v_high <= v_low
    if high > low:
        assert v_high < v_low


@FAST
@given(st.lists(amounts, min_size=1, max_size=10), amounts, rates)
def test_longer_income_stream_raises_value(incomes, extra, r):
    shorter = compute("income", {"income": incomes, "discount_rate": r})["value"]
    longer = compute("income", {"income": incomes + [extra], "discount_rate": r})["value"]
    assert longer > shorter


@FAST
@given(st.lists(amounts, min_size=1, max_size=8), st.integers(min_value=1, max_value=5000), st.integers(2, 9), rates)
def test_value_scales_linearly_with_split(incomes, split_bp, k, r):
    split = D(split_bp) / 10000
    if split * k > 1:
        split = split / k
    one = compute("income", {"income": incomes, "split_rate": str(split), "discount_rate": r})["value"]
    many = compute("income", {"income": incomes, "split_rate": str(split * k), "discount_rate": r})["value"]
    assert abs(many - one * k) <= D("0.005") * (k + 1)


@FAST
@given(st.lists(amounts, min_size=1, max_size=5), st.integers(min_value=10, max_value=24), st.booleans())
def test_table4_close_to_exact(incomes, half_percent, level):
    # Printed-table rates (5%, 5.5%, …, 12%) over ≤ 5 years: every factor ≥ 1/1.12⁵ ≈ 0.567, so 4-decimal
    # rounding moves each factor by ≤ 0.00005/0.567 < 0.009%.
    r = str(D(half_percent) / 200)
    if level:
        incomes = [incomes[0]] * len(incomes)
    exact = compute("income", {"income": incomes, "discount_rate": r})["value"]
    table = compute("income", {"income": incomes, "discount_rate": r}, {"factor_mode": "table4"})["value"]
    assert abs(table - exact) <= exact * D("0.0001")
