"""The naive book Monte Carlo: one right at a time, a plain Python loop over paths and years.

The reference implementation of the model that ``ippledge.valuation.engine.simulation.value_book``
evaluates vectorised (issue 10.10: a reference kept for comparison lives in tests/, never beside the
product code).  ``tests/test_valuation_simulation.py`` checks that both agree within Monte Carlo
error, and ``benchmarks/valuation.py`` times it as the naive baseline.  Pure Python (no numpy).
"""

from __future__ import annotations

import math
import random

from ippledge.valuation.engine.simulation import GROWTH_FLOOR, TWO_PI, _spec_row


def _py_triangular(u: float, low: float, mode: float, high: float) -> float:
    width = high - low
    if width <= 0:
        return low
    if u < (mode - low) / width:
        return low + math.sqrt(u * width * (mode - low))
    return high - math.sqrt((1.0 - u) * width * (high - mode))


def _py_quantile(ordered: list[float], q: float) -> float:
    pos = q * (len(ordered) - 1)
    lo = int(math.floor(pos))
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def value_one_naive(spec: dict, *, paths: int, seed: int, horizon: int = 1) -> dict:
    """The same model for one right as a plain Python loop over paths and years (the benchmark's baseline).

    ``spec`` is a float spec (as for ``simulate_income``; ``Book.spec(i)`` gives one).  Uses
    ``random.Random(seed)`` and a yearly Bernoulli(p) legal-failure draw, so its numbers agree with
    the vectorised engine within Monte Carlo error, not path by path.  Returns the ``BOOK_STATS`` floats.
    """
    r = random.Random(seed)
    row = _spec_row(spec)
    nmax = row["nmax"]
    lives = row["life_values"]
    cdf = row["life_cdf"]
    after_tax = 1.0 - row["tax"]
    values: list[float] = []
    hvalues: list[float] = []
    alive_count = 0
    for _ in range(paths):
        u0, u1 = r.random(), r.random()
        rad = math.sqrt(-2.0 * math.log(1.0 - u0))
        z_rev, z_g = rad * math.cos(TWO_PI * u1), rad * math.sin(TWO_PI * u1)
        if row["rev_tri"]:
            u = 0.5 * math.erfc(-z_rev / math.sqrt(2.0))
            revenue = _py_triangular(u, row["rev_a"], row["rev_b"], row["rev_c"])
        else:
            sigma = row["rev_b"]
            revenue = row["rev_a"] * math.exp(sigma * z_rev - 0.5 * sigma * sigma)
        growth = max(row["g_mean"] + row["g_sd"] * z_g, GROWTH_FLOOR)
        split = _py_triangular(r.random(), row["s_low"], row["s_mode"], row["s_high"])
        u = r.random()
        life = lives[-1]
        for v, c in zip(lives, cdf, strict=True):
            if u < c:
                life = v
                break
        life = min(life, nmax)
        rate = row["r_low"] + (row["r_high"] - row["r_low"]) * r.random()
        value = 0.0
        hvalue = 0.0
        in_force_at_h = True
        level = revenue
        for t in range(1, max(nmax, horizon) + 1):
            if row["hazard"] > 0 and r.random() < row["hazard"]:
                if t <= horizon:
                    in_force_at_h = False
                break
            if t <= life:
                cash = split * level * after_tax
                value += cash / (1.0 + rate) ** t
                if t > horizon:
                    hvalue += cash / (1.0 + rate) ** (t - horizon)
            level *= 1.0 + growth
        alive_count += in_force_at_h
        values.append(value)
        hvalues.append(hvalue)
    values.sort()
    hvalues.sort()
    mean = math.fsum(values) / paths
    std = math.sqrt(max(0.0, math.fsum((v - mean) ** 2 for v in values) / paths))
    return {"mean": mean, "std": std, "p5": _py_quantile(values, 0.05), "p10": _py_quantile(values, 0.10),
            "p50": _py_quantile(values, 0.50), "p90": _py_quantile(values, 0.90),
            "horizon_mean": math.fsum(hvalues) / paths, "horizon_p10": _py_quantile(hvalues, 0.10),
            "horizon_p50": _py_quantile(hvalues, 0.50), "survival": alive_count / paths}
