"""Monte Carlo income approach, lender values and bundles (pure: no Django, no database).

    .venv/bin/python -m pytest tests/test_valuation_simulation.py -q -p no:django --noconftest
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ippledge.core.errors import ValidationFailed
from ippledge.valuation.engine.bundle import correlation_matrix, value_bundle
from ippledge.valuation.engine.lender import (
    DEFAULT_LTV_CAPS,
    horizon_quantile_value,
    lender_values,
)
from ippledge.valuation.engine.simulation import (
    BOOK_STATS,
    Book,
    hash_uniforms,
    monte_carlo_income,
    path_statistics,
    quantiles_inplace,
    quantiles_sorted,
    simulate_income,
    value_book,
)
from ippledge.valuation.engine.trace import Trace

from . import simulation_oracle as oracle

FEN = Decimal("0.01")

BASE = {"revenue": {"dist": "lognormal", "mean": "1000000", "sigma": "0.3"}, "growth": "0.05", "years": 10,
        "split": {"low": "0.2", "mode": "0.25", "high": "0.3"}, "life": {"5": "0.2", "8": "0.5", "10": "0.3"},
        "max_years": 12, "rate": {"low": "0.10", "high": "0.14"}, "hazard": "0.03", "tax_rate": "0.25",
        "horizon": 1, "paths": 4000, "seed": 42}

FIXED = {"revenue": "1000000", "growth": "0.05", "years": 10, "split": "0.25", "life": 8, "max_years": 12,
         "rate": "0.12", "hazard": "0", "tax_rate": "0.25", "horizon": 2, "paths": 500, "seed": 7}

SPEC = {"revenue": {"dist": "lognormal", "mean": 1e6, "sigma": 0.3}, "growth": {"mean": 0.05, "sd": 0.03},
        "split": {"low": 0.2, "mode": 0.25, "high": 0.33}, "life": {5: 0.2, 8: 0.5, 10: 0.3},
        "rate": {"low": 0.10, "high": 0.14}, "hazard": 0.03, "tax": 0.25, "years": 10, "max_years": 12}


def mc(**overrides) -> dict:
    return monte_carlo_income({**BASE, **overrides}, None, Trace())


def hand_value(revenue, growth, split, rate, tax, years, start=0, times=1) -> Decimal:
    """times × Σ_{t=start+1..years} K·R₁(1+g)^(t−1)(1−T)/(1+r)^(t−start), in Decimal."""
    with localcontext() as ctx:
        ctx.prec = 40
        r, g = Decimal(rate), Decimal(growth)
        total = sum(Decimal(split) * Decimal(revenue) * (1 + g) ** (t - 1) * (1 - Decimal(tax))
                    / (1 + r) ** (t - start) for t in range(start + 1, years + 1))
    return (total * times).quantize(FEN, rounding=ROUND_HALF_UP)


# ---------------------------------------------------------------- single right


def test_same_seed_same_result_and_other_seed_differs():
    a, b, c = mc(), mc(), mc(seed=43)
    assert a == b
    assert a["p50"] != c["p50"]
    assert a["seed"] == 42 and a["paths"] == 4000 and a["currency"] == "CNY"
    assert all(isinstance(a[k], Decimal) and a[k] == a[k].quantize(FEN) for k in ("mean", "p5", "p90", "std"))


def test_zero_volatility_reproduces_the_deterministic_value_to_the_fen():
    trace = Trace()
    out = monte_carlo_income(FIXED, None, trace)
    expected = hand_value(1_000_000, "0.05", "0.25", "0.12", "0.25", 8)
    assert out["mean"] == out["p5"] == out["p10"] == out["p50"] == out["p90"] == expected
    assert out["std"] == Decimal("0.00")
    # value at H = 2: the cash flows of years 3..8 discounted to year 2
    assert out["horizon"]["p10"] == out["horizon"]["p50"] == hand_value(1_000_000, "0.05", "0.25", "0.12",
                                                                           "0.25", 8, start=2)
    assert out["horizon"]["survival"] == Decimal("1.000000")
    keys = [s["key"] for s in trace.as_list()]
    assert "input.revenue" in keys and "mc.p50" in keys and "mc.horizon" in keys
    assert "首年收入" in trace.text("zh") and "Year-1 revenue" in trace.text("en")


def test_income_period_is_the_shorter_of_life_and_legal_term():
    out = monte_carlo_income({**FIXED, "life": 15, "max_years": 6, "years": 20}, None, Trace())
    assert out["p50"] == hand_value(1_000_000, "0.05", "0.25", "0.12", "0.25", 6)


def test_every_path_equals_the_deterministic_value_in_the_grid():
    sim = simulate_income(paths=50, seed=1, years=10, revenue=1e6, growth=0.05, split=0.25, life=8, rate=0.12,
                          hazard=0.0, tax=0.25, max_years=12)
    expected = float(hand_value(1_000_000, "0.05", "0.25", "0.12", "0.25", 8))
    assert np.allclose(sim["value"], expected, rtol=0, atol=0.005)
    assert sim["cash_flows"].shape == (50, 10) and not sim["alive"][:, 8:].any()


def test_hazard_lowers_the_mean():
    assert mc(hazard="0.10")["mean"] < mc(hazard="0")["mean"]
    assert mc(hazard="0.10")["horizon"]["survival"] < Decimal("0.95")


def test_quantiles_are_ordered():
    out = mc()
    assert out["p5"] <= out["p10"] <= out["p50"] <= out["p90"]
    assert out["horizon"]["p10"] <= out["horizon"]["p50"]


def test_higher_discount_rate_lowers_the_median_and_longer_life_raises_it():
    assert mc(rate={"low": "0.16", "high": "0.20"})["p50"] < mc()["p50"]
    assert mc(life={"8": "0.5", "10": "0.5"})["p50"] > mc()["p50"]


def test_triangular_revenue_and_yearly_growth_shocks_run():
    out = mc(revenue={"dist": "triangular", "low": "600000", "mode": "1000000", "high": "1600000"},
             growth={"mean": "0.05", "sd": "0.05", "per_year": True})
    assert out["p5"] < out["p50"] < out["p90"]


@pytest.mark.parametrize("overrides, field", [
    ({"split": "1.5"}, "split"),
    ({"hazard": 0.03}, "hazard"),
    ({"life": {"5": "0.5", "8": "0.4"}}, "life"),
    ({"rate": {"low": "0.2", "high": "0.1"}}, "rate.high"),
    ({"years": "ten"}, "years"),
    ({"revenue": {"dist": "pareto"}}, "revenue.dist"),
    ({"paths": 0}, "paths"),
])
def test_bad_inputs_are_refused_with_the_field(overrides, field):
    with pytest.raises(ValidationFailed) as err:
        mc(**overrides)
    assert err.value.code == "invalid_input" and field in err.value.fields


# ---------------------------------------------------------------- book, naive loop, backends


def test_value_book_matches_the_explicit_simulation_for_the_same_stream():
    book = Book.from_specs([SPEC, {**SPEC, "hazard": 0.0, "revenue": 5e5}], stream_ids=[11, 12])
    res = value_book(book, paths=3000, seed=5, horizon=2, dtype=np.float64, workers=1)
    for i, spec in enumerate([SPEC, {**SPEC, "hazard": 0.0, "revenue": 5e5}]):
        sim = simulate_income(paths=3000, seed=None, rng=np.random.default_rng([5, 11 + i]), horizon=2, **spec)
        expected = path_statistics(sim["value"], sim["horizon_value"], sim["alive_at_horizon"])
        for key in BOOK_STATS:
            assert res[key][i] == pytest.approx(expected[key], rel=1e-9, abs=1e-6), key


def test_value_book_triangular_revenue_close_to_the_explicit_simulation():
    spec = {**SPEC, "revenue": {"dist": "triangular", "low": 6e5, "mode": 1e6, "high": 1.6e6}}
    res = value_book(Book.from_specs([spec]), paths=2000, seed=3, dtype=np.float64, workers=1)
    sim = simulate_income(paths=2000, seed=None, rng=np.random.default_rng([3, 0]), **spec)
    assert res["mean"][0] == pytest.approx(sim["value"].mean(), rel=1e-6)


def test_value_book_smoke_reproducible_per_patent_whatever_the_chunking():
    specs = [SPEC, {**SPEC, "revenue": {"dist": "triangular", "low": 1e5, "mode": 2e5, "high": 4e5}},
             {**SPEC, "hazard": 0.0, "life": 6}, {**SPEC, "split": 0.1, "rate": 0.11}]
    book = Book.from_specs(specs)
    a = value_book(book, paths=1000, seed=9, chunk_patents=1, workers=2)
    b = value_book(book, paths=1000, seed=9, chunk_patents=3, workers=1)
    alone = value_book(Book.from_specs(specs[2:3], stream_ids=[2]), paths=1000, seed=9)
    for key in BOOK_STATS:
        assert np.array_equal(a[key], b[key]), key
        assert a[key][2] == alone[key][0]
        assert np.all(np.isfinite(a[key]))
    assert np.all(a["p5"] <= a["p10"]) and np.all(a["p10"] <= a["p50"]) and np.all(a["p50"] <= a["p90"])
    assert a["dtype"] == "float32" and a["backend"] == "numpy"
    hashed = value_book(book, paths=1000, seed=9, rng="hash")
    assert np.allclose(hashed["mean"], a["mean"], rtol=0.1)


def test_the_naive_oracle_agrees_within_monte_carlo_error():
    book = Book.from_specs([SPEC])
    vec = value_book(book, paths=20_000, seed=1)
    naive = oracle.value_one_naive(SPEC, paths=4000, seed=2)
    se = vec["std"][0] / np.sqrt(4000)
    assert abs(naive["mean"] - vec["mean"][0]) < 4 * se
    assert naive["p50"] == pytest.approx(vec["p50"][0], rel=0.05)
    assert naive["survival"] == pytest.approx(vec["survival"][0], abs=0.02)


def test_the_naive_twin_lives_in_the_tests_not_beside_the_engine():
    """The book Monte Carlo has one home in the product (``value_book``); its pure-Python twin is the
    tests' oracle and the benchmark's baseline (issue 10.10)."""
    src = Path(__file__).resolve().parents[1] / "src" / "ippledge" / "valuation"
    twins = sorted(str(p.relative_to(src)) for p in src.rglob("*.py")
                   if re.search(r"def value_one_naive|def _py_|random\.Random\(", p.read_text(encoding="utf-8")))
    assert twins == []


def test_quantile_helpers_agree_with_numpy():
    x = np.random.default_rng(0).lognormal(size=(3, 1001)).astype(np.float32)
    expected = np.quantile(x, [0.05, 0.1, 0.5, 0.9], axis=-1)
    assert np.allclose(quantiles_sorted(np.sort(x, axis=-1)), expected)
    assert np.allclose(quantiles_inplace(x.copy(), (0.05, 0.1, 0.5, 0.9)), expected)


def test_hash_uniforms_are_uniform_and_keyed():
    u = hash_uniforms(np, 1, np.array([0, 1]), 50_000)
    assert u.shape == (6, 2, 50_000) and 0 <= u.min() and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.005 and not np.array_equal(u[0, 0], u[0, 1])


def test_jax_backend_matches_the_hash_numpy_path():
    pytest.importorskip("jax")
    book = Book.from_specs([SPEC, {**SPEC, "revenue": {"dist": "triangular", "low": 6e5, "mode": 1e6,
                                                          "high": 1.6e6}}])
    a = value_book(book, paths=2000, seed=4, rng="hash")
    b = value_book(book, paths=2000, seed=4, backend="jax")
    assert np.allclose(a["p50"], b["p50"], rtol=1e-5)


def test_unavailable_backend_is_refused():
    with pytest.raises(ValueError):
        value_book(Book.from_specs([SPEC]), paths=10, seed=1, backend="cupy-nonexistent")


# ---------------------------------------------------------------- lender values


def test_lender_values_by_hand():
    trace = Trace()
    out = lender_values(market_value=Decimal("1000000"), p10=Decimal("600000"), p90=Decimal("1400000"),
                        horizon_quantile_value=Decimal("600000"), kind="invention", trace=trace)
    assert out["liquidation_value"] == Decimal("360000.00")
    assert out["ltv_limit"] == Decimal("250000.00")
    assert out["max_loan"] == Decimal("250000.00") and out["binding"] == "ltv_cap"
    assert out["pledge_rate"] == Decimal("0.250000")
    assert out["range"] == {"p10": Decimal("600000.00"), "p90": Decimal("1400000.00")}
    assert "最高贷款额" in trace.text("zh")


def test_lender_values_liquidation_and_product_cap_bind():
    common = {"market_value": "1000000", "p10": "300000", "p90": "1400000", "kind": "trademark"}
    low = lender_values(**common, horizon_quantile_value="300000", disposal_costs="20000", trace=Trace())
    assert low["liquidation_value"] == Decimal("160000.00") and low["binding"] == "liquidation_value"
    assert low["pledge_rate"] == Decimal("0.160000")
    capped = lender_values(**common, horizon_quantile_value="900000", product_cap="100000", trace=Trace())
    assert capped["max_loan"] == Decimal("100000.00") and capped["binding"] == "product_cap"
    floored = lender_values(**common, horizon_quantile_value="1000", disposal_costs="5000", trace=Trace())
    assert floored["liquidation_value"] == Decimal("0.00") and floored["max_loan"] == Decimal("0.00")
    custom = lender_values(**common, horizon_quantile_value="900000", ltv_caps={"trademark": "0.1"}, trace=Trace())
    assert custom["max_loan"] == Decimal("100000.00")
    assert DEFAULT_LTV_CAPS["invention"] == Decimal("0.25") and DEFAULT_LTV_CAPS["bundle"] == Decimal("0.35")
    with pytest.raises(ValidationFailed) as err:
        lender_values(**common, horizon_quantile_value="1", forced_sale_discount="1.2", trace=Trace())
    assert err.value.code == "invalid_input" and "forced_sale_discount" in err.value.fields


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.floats(min_value=0, max_value=1e8, allow_nan=False), min_size=5, max_size=200),
       q1=st.floats(min_value=0, max_value=1), q2=st.floats(min_value=0, max_value=1),
       discount=st.decimals(min_value=0, max_value=1, places=3))
def test_pledge_value_is_monotone_in_the_quantile(values, q1, q2, discount):
    lo, hi = sorted((q1, q2))
    mv = Decimal("50000000")

    def loan(q):
        vh = horizon_quantile_value(values, Decimal(repr(q)))
        return lender_values(market_value=mv, p10=mv, p90=mv, horizon_quantile_value=vh, kind="trademark",
                             forced_sale_discount=discount, trace=Trace())

    a, b = loan(lo), loan(hi)
    assert a["liquidation_value"] <= b["liquidation_value"] and a["max_loan"] <= b["max_loan"]


@settings(max_examples=60, deadline=None)
@given(vh=st.decimals(min_value=0, max_value=10**9, places=2),
       d1=st.decimals(min_value=0, max_value=1, places=4), d2=st.decimals(min_value=0, max_value=1, places=4),
       costs=st.decimals(min_value=0, max_value=10**6, places=2))
def test_pledge_value_decreases_with_the_forced_sale_discount(vh, d1, d2, costs):
    lo, hi = sorted((d1, d2))

    def loan(d):
        return lender_values(market_value=Decimal("1000000000"), p10=vh, p90=Decimal("1000000000"),
                             horizon_quantile_value=vh, kind="invention", forced_sale_discount=d,
                             disposal_costs=costs, trace=Trace())

    a, b = loan(lo), loan(hi)
    assert a["liquidation_value"] >= b["liquidation_value"] and a["max_loan"] >= b["max_loan"]
    assert b["liquidation_value"] >= 0


# ---------------------------------------------------------------- bundles

RIGHT = {"revenue": "1000000", "growth": "0.03", "years": 8, "split": "0.1", "rate": "0.12", "hazard": "0",
         "tax_rate": "0.25"}


def test_bundle_equal_rights_have_hhi_one_over_n():
    rights = [{"kind": "invention", "number": f"ZL{i}", "product_line": "A", **RIGHT} for i in range(4)]
    out = value_bundle(rights, paths=200, seed=1, trace=Trace())
    assert out["hhi"] == Decimal("0.250000") and out["concentration_flag"] is False
    assert sum(r["allocated_value"] for r in out["rights"]) == out["bundle"]["p50"]
    assert out["bundle"]["p50"] == hand_value(1_000_000, "0.03", "0.1", "0.12", "0.25", 8, times=4)


def test_bundle_flags_a_dominant_right_and_the_limit_is_the_minimum():
    rights = [{"kind": "invention", "number": "ZL1", "product_line": "A", **RIGHT, "revenue": "9000000"},
              {"kind": "utility_model", "number": "ZL2", "product_line": "A", **RIGHT},
              {"kind": "trademark", "number": "TM3", "product_line": "B", **RIGHT, "hazard": "0.05"}]
    trace = Trace()
    out = value_bundle(rights, paths=2000, seed=3, product_cap="10000000", trace=trace)
    assert out["concentration_flag"] is True and "concentration" in out["flags"]
    assert out["max_weight"] > Decimal("0.5")
    lim = out["limit"]
    components = [lim["sum_ltv"], lim["bundle_ltv"], lim["liquidation_value"], lim["product_cap"]]
    assert all(lim["max_loan"] <= c for c in components) and lim["max_loan"] in components
    assert lim["sum_ltv"] == sum(r["ltv_value"] for r in out["rights"])
    assert "组合贷款额度上限" in trace.text("zh")


def test_correlated_bundle_is_wider_than_independent():
    rights = [{"kind": "invention", "number": f"ZL{i}", "product_line": "A" if i < 3 else "B", **RIGHT,
               "revenue": {"dist": "lognormal", "mean": "1000000", "sigma": "0.4"}} for i in range(5)]
    corr = value_bundle(rights, paths=4000, seed=8, trace=Trace())
    indep = value_bundle(rights, paths=4000, seed=8, correlation_within=0, correlation_across=0, trace=Trace())
    spread = lambda r: r["bundle"]["p90"] - r["bundle"]["p10"]  # noqa: E731
    assert spread(corr) > spread(indep)
    assert float(corr["bundle"]["mean"]) == pytest.approx(float(indep["bundle"]["mean"]), rel=0.03)


def test_bundle_joint_line_is_counted_once_and_allocated_by_contribution():
    line = {"A": {**RIGHT, "split": "0.2"}}
    rights = [{"kind": "invention", "number": "ZL1", "product_line": "A", "contribution": "3"},
              {"kind": "invention", "number": "ZL2", "product_line": "A", "contribution": "1"}]
    out = value_bundle(rights, paths=100, seed=2, product_lines=line, trace=Trace())
    assert out["bundle"]["p50"] == hand_value(1_000_000, "0.03", "0.2", "0.12", "0.25", 8)
    assert [r["weight"] for r in out["rights"]] == [Decimal("0.750000"), Decimal("0.250000")]
    assert "joint_split" in out["flags"]


def test_correlation_matrix_is_repaired_when_not_positive_definite():
    corr, adjusted = correlation_matrix(["A", "A", "B"], within=-0.9, across=0.9)
    assert adjusted and np.all(np.linalg.eigvalsh(corr) > 0) and np.allclose(np.diag(corr), 1)
    assert correlation_matrix(["A", "A", "B"], within=0.8, across=0.3)[1] is False


def test_bundle_refuses_an_unknown_kind():
    with pytest.raises(ValidationFailed) as err:
        value_bundle([{"kind": "recipe", "number": "X", **RIGHT}], paths=10, seed=1, trace=Trace())
    assert err.value.code == "invalid_input" and "rights[0].kind" in err.value.fields
