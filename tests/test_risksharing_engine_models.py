"""Vasicek, Basel IRB and provisioning oracles (lending-rules §6, issue 13 points 5–6)."""

from __future__ import annotations

from decimal import Decimal as D

import numpy as np
import pytest

from ippledge.core.errors import ValidationFailed
from ippledge.risksharing.engine.provisioning import required_provision
from ippledge.risksharing.engine.vasicek import (
    basel_corporate_correlation,
    basel_risk_weight,
    finite_pool_distribution,
    finite_pool_probability,
    large_pool_cdf,
    large_pool_quantile,
)


def test_finite_pool_no_default_probability():
    assert round(finite_pool_probability(0, 10, 0.10, 0.20), 6) == 0.456466
    assert round(finite_pool_probability(0, 10, 0.02, 0.0), 6) == 0.817073


def test_finite_pool_distribution_sums_to_one_and_has_the_pd_as_mean():
    p = finite_pool_distribution(10, 0.10, 0.20)
    assert p.sum() == pytest.approx(1.0, abs=1e-9)
    assert (p * np.arange(11)).sum() == pytest.approx(1.0, abs=1e-7)  # 10 × 10%


def test_large_pool_quantile_and_basel_correlation():
    assert round(float(basel_corporate_correlation(0.02)), 6) == 0.164146
    assert round(float(large_pool_quantile(0.999, 0.02, 0.164146)), 6) == 0.190259
    assert float(large_pool_cdf(large_pool_quantile(0.99, 0.02, 0.164146), 0.02, 0.164146)) == pytest.approx(0.99)


def test_basel_irb_corporate_risk_weight():
    assert round(float(basel_risk_weight(0.01, 0.45, 2.5)) * 100, 4) == 92.3168


def test_basel_sme_adjustment_lowers_the_correlation():
    assert float(basel_corporate_correlation(0.01, sales_eur_m=5)) == pytest.approx(
        float(basel_corporate_correlation(0.01)) - 0.04)
    assert float(basel_corporate_correlation(0.01, sales_eur_m=60)) == pytest.approx(
        float(basel_corporate_correlation(0.01)))


def test_provision_the_higher_requirement_applies():
    low_npl = required_provision(loans=D(100_000_000), npl=D(1_000_000))
    assert (low_npl.by_loans, low_npl.by_npl, low_npl.required) == (D("2500000.00"), D("1500000.00"), D("2500000.00"))
    assert low_npl.binding == "provision_ratio"
    high_npl = required_provision(loans=D(100_000_000), npl=D(3_000_000), held=D(4_000_000))
    assert high_npl.required == D("4500000.00") and high_npl.binding == "coverage_ratio"
    assert high_npl.shortfall == D("500000.00")
    relaxed = required_provision(loans=D(100_000_000), npl=D(3_000_000), provision_ratio=D("0.015"),
                                 coverage_ratio=D("1.20"))
    assert relaxed.required == D("3600000.00")


def test_provision_refuses_impossible_books():
    with pytest.raises(ValidationFailed):
        required_provision(loans=D(1), npl=D(2))
