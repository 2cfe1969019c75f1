"""Closed forms for the one-factor Gaussian copula and the Basel IRB corporate formula (lending-rules §6).

One-factor model: loan i's asset value A_i = √ρ·Z + √(1−ρ)·ε_i (Z, ε_i independent standard normal),
default when A_i < Φ⁻¹(PD).  Given the factor Z = z each loan defaults independently with the
conditional PD  p(z) = Φ((Φ⁻¹(PD) − √ρ·z)/√(1−ρ)).

* finite pool of N identical loans: P(k defaults) = ∫ C(N,k)·p(z)^k·(1−p(z))^(N−k)·φ(z) dz;
* large pool (Vasicek): the loss fraction x has P(X ≤ x) = Φ((√(1−ρ)·Φ⁻¹(x) − Φ⁻¹(PD))/√ρ) and the
  q-quantile x_q = Φ((Φ⁻¹(PD) + √ρ·Φ⁻¹(q))/√(1−ρ));
* Basel IRB corporate: R = 0.12·w + 0.24·(1−w), w = (1 − e^{−50·PD})/(1 − e^{−50}), less the SME
  adjustment 0.04·(1 − (S−5)/45) for annual sales S between €5m and €50m (S below 5 counts as 5);
  b = (0.11852 − 0.05478·ln PD)²;  K = [LGD·N((G(PD) + √R·G(0.999))/√(1−R)) − PD·LGD]·(1 + (M−2.5)·b)/(1 − 1.5·b);
  RW = 12.5·K.

Floats (NumPy/SciPy): these are model numbers, not money.  Pure module (no Django).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate, special, stats

# Basel III (CRE32.4) floors corporate PD at 0.05%; pass pd_floor=0 for the bare formula.
BASEL_PD_FLOOR = 0.0005


def _check(pd, rho) -> None:
    if not 0 < pd < 1:
        raise ValueError("PD must lie strictly between 0 and 1")
    if not 0 <= rho < 1:
        raise ValueError("the correlation must lie in [0, 1)")


def conditional_pd(pd, rho, z):
    """p(z): the default probability given the systematic factor z (arrays broadcast)."""
    pd, rho, z = np.asarray(pd, float), np.asarray(rho, float), np.asarray(z, float)
    return special.ndtr((special.ndtri(pd) - np.sqrt(rho) * z) / np.sqrt(1.0 - rho))


def finite_pool_probability(k: int, n: int, pd: float, rho: float) -> float:
    """P(exactly k of n identical loans default) in the one-factor model."""
    _check(pd, rho)
    if not 0 <= k <= n:
        return 0.0
    if rho == 0:
        return float(stats.binom.pmf(k, n, pd))

    def integrand(z: float) -> float:
        p = float(conditional_pd(pd, rho, z))
        return float(stats.binom.pmf(k, n, p)) * math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)

    value, _ = integrate.quad(integrand, -12.0, 12.0, limit=400, epsabs=1e-13, epsrel=1e-11)
    return value


def finite_pool_distribution(n: int, pd: float, rho: float) -> np.ndarray:
    """P(k defaults) for k = 0..n (sums to 1)."""
    return np.array([finite_pool_probability(k, n, pd, rho) for k in range(n + 1)])


def large_pool_cdf(x, pd: float, rho: float):
    """P(loss fraction ≤ x) for an infinitely granular pool (Vasicek)."""
    _check(pd, rho)
    x = np.asarray(x, float)
    if rho == 0:
        return np.where(x >= pd, 1.0, 0.0)
    with np.errstate(divide="ignore"):
        return special.ndtr((np.sqrt(1 - rho) * special.ndtri(x) - special.ndtri(pd)) / np.sqrt(rho))


def large_pool_quantile(q, pd: float, rho: float):
    """The q-quantile of the loss fraction of an infinitely granular pool (e.g. q = 0.999)."""
    _check(pd, rho)
    return special.ndtr((special.ndtri(pd) + np.sqrt(rho) * special.ndtri(np.asarray(q, float)))
                        / np.sqrt(1 - rho))


def basel_corporate_correlation(pd, sales_eur_m=None, *, pd_floor: float = BASEL_PD_FLOOR):
    """Basel IRB asset correlation for corporate exposures, with the SME firm-size adjustment when
    annual sales (€ million) are given and below 50."""
    pd = np.maximum(np.asarray(pd, float), pd_floor)
    w = -np.expm1(-50.0 * pd) / -math.expm1(-50.0)
    r = 0.12 * w + 0.24 * (1.0 - w)
    if sales_eur_m is not None:
        s = np.clip(np.asarray(sales_eur_m, float), 5.0, 50.0)
        r = r - 0.04 * (1.0 - (s - 5.0) / 45.0)
    return r


def basel_capital_requirement(pd, lgd, maturity=2.5, *, sales_eur_m=None, correlation=None,
                              pd_floor: float = BASEL_PD_FLOOR):
    """K, the IRB capital requirement per unit of EAD (unexpected loss at 99.9%, maturity-adjusted)."""
    pd = np.maximum(np.asarray(pd, float), pd_floor)
    lgd, m = np.asarray(lgd, float), np.asarray(maturity, float)
    r = basel_corporate_correlation(pd, sales_eur_m, pd_floor=pd_floor) if correlation is None \
        else np.asarray(correlation, float)
    b = (0.11852 - 0.05478 * np.log(pd)) ** 2
    tail = special.ndtr((special.ndtri(pd) + np.sqrt(r) * special.ndtri(0.999)) / np.sqrt(1.0 - r))
    return (lgd * tail - pd * lgd) * (1.0 + (m - 2.5) * b) / (1.0 - 1.5 * b)


def basel_risk_weight(pd, lgd, maturity=2.5, **kwargs):
    """RW = 12.5·K (0.923168 = 92.3168% at PD 1%, LGD 45%, M 2.5)."""
    return 12.5 * basel_capital_requirement(pd, lgd, maturity, **kwargs)
