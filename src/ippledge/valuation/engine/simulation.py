"""Monte Carlo of the income approach (收益法蒙特卡洛), valuation-methods.md §1 and §3.

Model, per simulated path (all draws independent unless stated):

* year-1 revenue R₁: lognormal with arithmetic mean ``m`` and log-sd ``s``
  (R₁ = m·exp(s·z − s²/2), so E[R₁] = m and s = 0 gives exactly m), triangular (low, mode, high)
  or fixed;
* growth g: one annual growth rate per path, fixed or normal(mean, sd), floored at −99%;
  R_t = R₁·(1+g)^(t−1).  (``simulate_income`` also offers independent yearly growth shocks,
  ``{"per_year": True}``; the closed-form book valuation does not);
* split / royalty rate K: triangular over its band (low, mode, high) or fixed;
* economic life: a discrete distribution {years: probability} or fixed, truncated by the remaining
  legal term ``max_years`` and by the projection ``years`` (n = min(life, legal term, years), 孰短原则);
  a trademark term given with ``renewal_expected`` true is renewed and does not truncate (term.py);
* discount rate r: uniform(low, high) or fixed;
* legal failure: each year, with probability p, the right is invalidated or lapses and cash flows
  stop from that year on.  The number of whole years survived is geometric,
  a = ⌊ln U / ln(1−p)⌋, P(a ≥ k) = (1−p)^k.

Value per path  V = Σ_{t=1..m} K·R_t·(1−T)/(1+r)^t  with m = min(n, a)  (end-of-year discounting).
Value at the horizon H (PV at H of the cash flows after H): V_H = Σ_{t=H+1..m} K·R_t·(1−T)/(1+r)^(t−H),
which is 0 for a path whose right failed by H (then m ≤ a < H).

Random numbers: every path consumes six uniforms, in this order: (0, 1) a Box–Muller pair giving the
revenue shock z_R and the growth shock z_g, (2) split, (3) economic life, (4) discount rate,
(5) legal failure.  A triangular revenue uses Φ(z_R), so a Gaussian copula on z_R (bundle.py)
correlates every revenue distribution.  ``simulate_income`` draws them with ``rng.random((6, paths))``
from ``numpy.random.default_rng(seed)``; ``value_book`` gives patent i the stream
``numpy.random.default_rng([seed, stream_id_i])``, so a patent's result does not depend on the book
it sits in or on the chunking.  With the GPU backends the uniforms come from a counter-based hash
(murmur3 fmix32 of seed, stream id, draw and path), equally reproducible per patent.

Per path the geometric sum has a closed form: with q = (1+g)/(1+r), L = ln q,
Σ_{t=1..m} R₁(1+g)^(t−1)/(1+r)^t = R₁/(1+r)·expm1(m·L)/expm1(L)  (= R₁/(1+r)·m when L = 0),
which is what ``value_book`` evaluates; ``simulate_income`` keeps the explicit (paths, years) grid
that a reader can check, and both agree to rounding.
"""

from __future__ import annotations

import math
import os
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np

from ippledge.core.errors import N_
from ippledge.core.exact import invalid as _invalid

from . import MODEL_VERSION, term
from .trace import Trace, dec, fen

N_DRAWS = 6
QUANTILES = (0.05, 0.10, 0.50, 0.90)
TWO_PI = 2.0 * math.pi
GROWTH_FLOOR = -0.99

MAX_PATHS = 200_000
MAX_YEARS = 100
MAX_CELLS = 5_000_000  # paths × years held by the explicit grid of one simulation
MAX_AMOUNT = Decimal("1e15")
INPUT_KEYS = ("revenue", "growth", "years", "split", "life", "max_years", "renewal_expected", "rate", "hazard",
              "tax_rate", "horizon", "paths", "seed")

# --------------------------------------------------------------------------------------------
# Specs (floats) and their parsing from API inputs (decimal strings)
# --------------------------------------------------------------------------------------------




def _as_int(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or isinstance(value, float):
        raise _invalid(name, N_("Give a whole number."))
    try:
        parsed = int(str(value).strip())
    except (TypeError, ValueError):
        raise _invalid(name, N_("Give a whole number.")) from None
    if not low <= parsed <= high:
        raise _invalid(name, N_("The number is out of range."))
    return parsed


def _as_dec(value: Any, name: str, low: Decimal | None = None, high: Decimal | None = None,
            *, open_high: bool = False, open_low: bool = False) -> Decimal:
    parsed = dec(value, name)
    if low is not None and (parsed < low or (open_low and parsed == low)):
        raise _invalid(name, N_("The number is out of range."))
    if high is not None and (parsed > high or (open_high and parsed == high)):
        raise _invalid(name, N_("The number is out of range."))
    return parsed


def _need_dict_keys(value: dict, name: str, keys: tuple[str, ...]) -> None:
    missing = [k for k in keys if k not in value]
    if missing:
        raise _invalid(name, N_("A required value is missing."))


def _parse_revenue(value: Any) -> tuple[dict, Any]:
    name = "revenue"
    if isinstance(value, dict):
        dist = str(value.get("dist", "lognormal")).lower()
        if dist == "lognormal":
            _need_dict_keys(value, name, ("mean", "sigma"))
            mean = _as_dec(value["mean"], f"{name}.mean", Decimal(0), MAX_AMOUNT)
            sigma = _as_dec(value["sigma"], f"{name}.sigma", Decimal(0), Decimal(3))
            return {"dist": "lognormal", "mean": float(mean), "sigma": float(sigma)}, \
                {"dist": "lognormal", "mean": mean, "sigma": sigma}
        if dist == "triangular":
            _need_dict_keys(value, name, ("low", "mode", "high"))
            low = _as_dec(value["low"], f"{name}.low", Decimal(0), MAX_AMOUNT)
            mode = _as_dec(value["mode"], f"{name}.mode", low, MAX_AMOUNT)
            high = _as_dec(value["high"], f"{name}.high", mode, MAX_AMOUNT)
            return {"dist": "triangular", "low": float(low), "mode": float(mode), "high": float(high)}, \
                {"dist": "triangular", "low": low, "mode": mode, "high": high}
        if dist == "fixed":
            _need_dict_keys(value, name, ("value",))
            fixed = _as_dec(value["value"], f"{name}.value", Decimal(0), MAX_AMOUNT)
            return {"dist": "fixed", "value": float(fixed)}, fixed
        raise _invalid(f"{name}.dist", N_("Unknown distribution."))
    fixed = _as_dec(value, name, Decimal(0), MAX_AMOUNT)
    return {"dist": "fixed", "value": float(fixed)}, fixed


def _parse_growth(value: Any) -> tuple[Any, Any]:
    name = "growth"
    if isinstance(value, dict):
        _need_dict_keys(value, name, ("mean",))
        mean = _as_dec(value["mean"], f"{name}.mean", Decimal("-0.99"), Decimal(10))
        sd = _as_dec(value.get("sd", "0"), f"{name}.sd", Decimal(0), Decimal(5))
        per_year = value.get("per_year", False)
        if not isinstance(per_year, bool):
            raise _invalid(f"{name}.per_year", N_("Give true or false."))
        spec = {"mean": float(mean), "sd": float(sd), "per_year": per_year}
        return spec, {"mean": mean, "sd": sd, "per_year": per_year}
    fixed = _as_dec(value, name, Decimal("-0.99"), Decimal(10))
    return float(fixed), fixed


def _parse_split(value: Any) -> tuple[Any, Any]:
    name = "split"
    if isinstance(value, dict):
        _need_dict_keys(value, name, ("low", "mode", "high"))
        low = _as_dec(value["low"], f"{name}.low", Decimal(0), Decimal(1))
        mode = _as_dec(value["mode"], f"{name}.mode", low, Decimal(1))
        high = _as_dec(value["high"], f"{name}.high", mode, Decimal(1))
        return {"low": float(low), "mode": float(mode), "high": float(high)}, \
            {"low": low, "mode": mode, "high": high}
    fixed = _as_dec(value, name, Decimal(0), Decimal(1))
    return float(fixed), fixed


def _parse_life(value: Any) -> tuple[Any, Any]:
    name = "life"
    if isinstance(value, dict):
        if not value or len(value) > 50:
            raise _invalid(name, N_("Give between 1 and 50 possible lives."))
        probs: dict[int, Decimal] = {}
        for key, prob in value.items():
            years = _as_int(key, name, 1, MAX_YEARS)
            probs[years] = probs.get(years, Decimal(0)) + _as_dec(prob, f"{name}.{key}", Decimal(0), Decimal(1))
        total = sum(probs.values())
        if abs(total - 1) > Decimal("0.000001"):
            raise _invalid(name, N_("The probabilities must add up to 1."))
        ordered = dict(sorted(probs.items()))
        return {k: float(v / total) for k, v in ordered.items()}, {str(k): v for k, v in ordered.items()}
    fixed = _as_int(value, name, 1, MAX_YEARS)
    return fixed, fixed


def _parse_rate(value: Any) -> tuple[Any, Any]:
    name = "rate"
    if isinstance(value, dict):
        _need_dict_keys(value, name, ("low", "high"))
        low = _as_dec(value["low"], f"{name}.low", Decimal(0), Decimal(1))
        high = _as_dec(value["high"], f"{name}.high", low, Decimal(1))
        return {"low": float(low), "high": float(high)}, {"low": low, "high": high}
    fixed = _as_dec(value, name, Decimal(0), Decimal(1))
    return float(fixed), fixed


def parse_income_inputs(inputs: dict, options: dict | None = None) -> tuple[dict, dict]:
    """Validate API inputs (decimal strings / small dicts) into a float spec and the exact Decimals.

    Returns ``(spec, shown)``: ``spec`` is what ``simulate_income``/``Book.from_specs`` (and the tests'
    naive loop, ``tests/simulation_oracle.py``) take; ``shown`` keeps the inputs as given, for the trace.
    Raises ``ValidationFailed`` (code ``invalid_input``) naming the field.
    """
    if not isinstance(inputs, dict):
        raise _invalid("inputs", N_("Give the inputs as an object."))
    merged = {**inputs, **{k: v for k, v in (options or {}).items() if k in INPUT_KEYS}}
    for key in ("revenue", "split", "rate", "years"):
        if key not in merged:
            raise _invalid(key, N_("This value is required."))
    spec: dict[str, Any] = {}
    shown: dict[str, Any] = {}
    spec["years"] = shown["years"] = _as_int(merged["years"], "years", 1, MAX_YEARS)
    max_years = merged.get("max_years")
    shown["max_years"] = spec["years"] if max_years is None else _as_int(max_years, "max_years", 0, 10_000)
    # A renewable trademark term expected to be renewed does not cap the income period (term.py).
    shown[term.INPUT] = term.read(merged.get(term.INPUT))
    spec["max_years"] = spec["years"] if shown[term.INPUT] else shown["max_years"]
    spec["revenue"], shown["revenue"] = _parse_revenue(merged["revenue"])
    spec["growth"], shown["growth"] = _parse_growth(merged.get("growth", "0"))
    spec["split"], shown["split"] = _parse_split(merged["split"])
    spec["life"], shown["life"] = _parse_life(merged.get("life", spec["years"]))
    spec["rate"], shown["rate"] = _parse_rate(merged["rate"])
    hazard = _as_dec(merged.get("hazard", "0"), "hazard", Decimal(0), Decimal(1), open_high=True)
    spec["hazard"], shown["hazard"] = float(hazard), hazard
    tax = _as_dec(merged.get("tax_rate", "0"), "tax_rate", Decimal(0), Decimal(1), open_high=True)
    spec["tax"], shown["tax_rate"] = float(tax), tax
    spec["horizon"] = shown["horizon"] = _as_int(merged.get("horizon", 1), "horizon", 0, spec["years"])
    spec["paths"] = shown["paths"] = _as_int(merged.get("paths", 10_000), "paths", 1, MAX_PATHS)
    if spec["paths"] * spec["years"] > MAX_CELLS:
        raise _invalid("paths", N_("Too many paths for this many years."))
    seed = merged.get("seed")
    spec["seed"] = shown["seed"] = (secrets.randbelow(2**63) if seed is None
                                    else _as_int(seed, "seed", 0, 2**63 - 1))
    return spec, shown


# --------------------------------------------------------------------------------------------
# Parameter rows: every spec reduced to the numbers the vectorised kernel needs
# --------------------------------------------------------------------------------------------


def _spec_row(spec: dict) -> dict:
    """One right's float spec as kernel parameters (scalars; life as value/cdf lists)."""
    rev = spec["revenue"]
    if not isinstance(rev, dict):
        rev = {"dist": "fixed", "value": float(rev)}
    row: dict[str, Any] = {}
    if rev["dist"] == "triangular":
        row.update(rev_tri=True, rev_a=rev["low"], rev_b=rev["mode"], rev_c=rev["high"])
    elif rev["dist"] == "lognormal":
        row.update(rev_tri=False, rev_a=rev["mean"], rev_b=rev["sigma"], rev_c=0.0)
    else:
        row.update(rev_tri=False, rev_a=rev["value"], rev_b=0.0, rev_c=0.0)
    growth = spec.get("growth", 0.0)
    if isinstance(growth, dict):
        row.update(g_mean=growth["mean"], g_sd=growth.get("sd", 0.0))
    else:
        row.update(g_mean=float(growth), g_sd=0.0)
    split = spec["split"]
    if isinstance(split, dict):
        row.update(s_low=split["low"], s_mode=split["mode"], s_high=split["high"])
    else:
        row.update(s_low=float(split), s_mode=float(split), s_high=float(split))
    rate = spec["rate"]
    if isinstance(rate, dict):
        row.update(r_low=rate["low"], r_high=rate["high"])
    else:
        row.update(r_low=float(rate), r_high=float(rate))
    years = int(spec["years"])
    max_years = spec.get("max_years")
    row["nmax"] = min(years, years if max_years is None else int(max_years))
    life = spec.get("life", years)
    if isinstance(life, dict):
        values = sorted(int(k) for k in life)
        probs = [float(life[k]) if k in life else float(life[str(k)]) for k in values]
        total = sum(probs)
        cdf = list(np.cumsum(probs) / total)
        row.update(life_values=values, life_cdf=cdf)
    else:
        row.update(life_values=[int(life)], life_cdf=[1.0])
    row["hazard"] = float(spec.get("hazard", 0.0))
    row["tax"] = float(spec.get("tax", 0.0))
    return row


@dataclass
class Book:
    """A book of N rights as parameter arrays (one entry per right), the input of ``value_book``.

    revenue: ``rev_tri`` False → lognormal with mean ``rev_a`` and log-sd ``rev_b`` (fixed: sd 0);
    True → triangular (``rev_a`` low, ``rev_b`` mode, ``rev_c`` high).  Growth normal(g_mean, g_sd);
    split triangular (s_low, s_mode, s_high); rate uniform(r_low, r_high); life: padded (N, K)
    ``life_values`` (ascending) with cumulative probabilities ``life_cdf`` (padding: cdf 2, i.e.
    never chosen); ``nmax`` = min(years, remaining legal term); ``hazard``; ``tax``; ``stream_id``
    names each right's random stream (default 0..N−1).
    """

    rev_tri: np.ndarray
    rev_a: np.ndarray
    rev_b: np.ndarray
    rev_c: np.ndarray
    g_mean: np.ndarray
    g_sd: np.ndarray
    s_low: np.ndarray
    s_mode: np.ndarray
    s_high: np.ndarray
    r_low: np.ndarray
    r_high: np.ndarray
    life_values: np.ndarray
    life_cdf: np.ndarray
    nmax: np.ndarray
    hazard: np.ndarray
    tax: np.ndarray
    stream_id: np.ndarray = field(default=None)  # type: ignore[assignment]

    def __post_init__(self):
        n = len(self.rev_a)
        if self.stream_id is None:
            self.stream_id = np.arange(n, dtype=np.uint64)
        for name in self.__dataclass_fields__:
            if len(getattr(self, name)) != n:
                raise ValueError(f"book field {name} has the wrong length")
        self.life_values = np.atleast_2d(self.life_values)
        self.life_cdf = np.atleast_2d(self.life_cdf)

    def __len__(self) -> int:
        return len(self.rev_a)

    @classmethod
    def from_specs(cls, specs: list[dict], stream_ids=None) -> Book:
        rows = [_spec_row(s) for s in specs]
        k = max(len(r["life_values"]) for r in rows)
        life_values = np.zeros((len(rows), k))
        life_cdf = np.full((len(rows), k), 2.0)
        for i, r in enumerate(rows):
            kk = len(r["life_values"])
            life_values[i, :kk] = r["life_values"]
            life_values[i, kk:] = r["life_values"][-1]
            life_cdf[i, :kk] = r["life_cdf"]
        col = lambda name, dtype=float: np.array([r[name] for r in rows], dtype=dtype)  # noqa: E731
        return cls(rev_tri=col("rev_tri", bool), rev_a=col("rev_a"), rev_b=col("rev_b"), rev_c=col("rev_c"),
                   g_mean=col("g_mean"), g_sd=col("g_sd"), s_low=col("s_low"), s_mode=col("s_mode"),
                   s_high=col("s_high"), r_low=col("r_low"), r_high=col("r_high"), life_values=life_values,
                   life_cdf=life_cdf, nmax=col("nmax"), hazard=col("hazard"), tax=col("tax"),
                   stream_id=None if stream_ids is None else np.asarray(stream_ids, dtype=np.uint64))

    def spec(self, i: int) -> dict:
        """Right i back as a float spec (what ``simulate_income`` and the tests' naive loop take)."""
        if self.rev_tri[i]:
            revenue = {"dist": "triangular", "low": float(self.rev_a[i]), "mode": float(self.rev_b[i]),
                       "high": float(self.rev_c[i])}
        else:
            revenue = {"dist": "lognormal", "mean": float(self.rev_a[i]), "sigma": float(self.rev_b[i])}
        life = {}
        previous = 0.0
        for v, c in zip(self.life_values[i], self.life_cdf[i], strict=True):
            if c > 1.5:
                break
            life[int(v)] = life.get(int(v), 0.0) + float(c) - previous
            previous = float(c)
        nmax = int(self.nmax[i])
        return {"revenue": revenue, "growth": {"mean": float(self.g_mean[i]), "sd": float(self.g_sd[i])},
                "split": {"low": float(self.s_low[i]), "mode": float(self.s_mode[i]),
                          "high": float(self.s_high[i])},
                "rate": {"low": float(self.r_low[i]), "high": float(self.r_high[i])}, "life": life,
                "years": nmax, "max_years": nmax, "hazard": float(self.hazard[i]), "tax": float(self.tax[i])}

    def params(self, lo: int, hi: int, xp=np, dtype=np.float32) -> dict:
        """Kernel parameters of rights lo..hi−1 as (C, 1) columns of ``dtype`` (host work, cheap)."""
        sl = slice(lo, hi)
        col = lambda a: xp.asarray(np.asarray(a, dtype=dtype)[:, None])  # noqa: E731
        return _derived_params(col, self.rev_tri[sl], self.rev_a[sl], self.rev_b[sl], self.rev_c[sl],
                               self.g_mean[sl], self.g_sd[sl], self.s_low[sl], self.s_mode[sl],
                               self.s_high[sl], self.r_low[sl], self.r_high[sl], self.life_values[sl],
                               self.life_cdf[sl], self.nmax[sl], self.hazard[sl], self.tax[sl], xp, dtype)


def _derived_params(col, rev_tri, rev_a, rev_b, rev_c, g_mean, g_sd, s_low, s_mode, s_high, r_low,
                    r_high, life_values, life_cdf, nmax, hazard, tax, xp, dtype) -> dict:
    rev_tri = np.asarray(rev_tri, dtype=bool)
    rev_a, rev_b, rev_c = (np.asarray(a, dtype=np.float64) for a in (rev_a, rev_b, rev_c))
    s_low, s_mode, s_high = (np.asarray(a, dtype=np.float64) for a in (s_low, s_mode, s_high))
    hazard = np.asarray(hazard, dtype=np.float64)
    life_values = np.atleast_2d(np.asarray(life_values, dtype=np.float64))
    life_cdf = np.atleast_2d(np.asarray(life_cdf, dtype=np.float64))
    ident = lambda a: a  # noqa: E731
    p: dict[str, Any] = {"any_tri": bool(rev_tri.any()), "all_tri": bool(rev_tri.all())}
    # lognormal as m·exp(s·z − s²/2): exactly m when s = 0
    p["ln_mean"] = col(np.where(rev_tri, 0.0, rev_a))
    p["ln_sigma"] = col(np.where(rev_tri, 0.0, rev_b))
    p["ln_shift"] = col(np.where(rev_tri, 0.0, -0.5 * rev_b * rev_b))
    if p["any_tri"]:
        width = rev_c - rev_a
        p["tri_mask"] = col(rev_tri)
        p["tri_a"], p["tri_c"] = col(rev_a), col(rev_c)
        p["tri_f"] = col(np.where(width > 0, (rev_b - rev_a) / np.where(width > 0, width, 1.0), 0.5))
        p["tri_kl"], p["tri_kr"] = col(width * (rev_b - rev_a)), col(width * (rev_c - rev_b))
    p["g_mean"], p["g_sd"] = col(ident(g_mean)), col(ident(g_sd))
    width = s_high - s_low
    p["s_a"], p["s_c"] = col(s_low), col(s_high)
    p["s_f"] = col(np.where(width > 0, (s_mode - s_low) / np.where(width > 0, width, 1.0), 0.5))
    p["s_kl"], p["s_kr"] = col(width * (s_mode - s_low)), col(width * (s_high - s_mode))
    p["r_low"] = col(ident(r_low))
    p["r_width"] = col(np.asarray(r_high, dtype=np.float64) - np.asarray(r_low, dtype=np.float64))
    nmax = np.asarray(nmax, dtype=np.float64)
    p["nmax"] = col(nmax)
    capped = np.minimum(life_values, nmax[:, None])
    p["life0"] = col(capped[:, 0])
    steps = []
    for j in range(1, capped.shape[1]):
        delta = capped[:, j] - capped[:, j - 1]
        cdf = life_cdf[:, j - 1]
        if np.any((delta != 0) & (cdf <= 1.0)):
            steps.append((col(cdf), col(delta)))
    p["life_steps"] = steps
    with np.errstate(divide="ignore"):
        p["inv_log_survive"] = col(1.0 / np.log1p(-hazard))  # −inf when p = 0: never fails
    p["after_tax"] = col(1.0 - np.asarray(tax, dtype=np.float64))
    return p


def _row_params(spec: dict, xp=np, dtype=np.float64) -> dict:
    row = _spec_row(spec)
    col = lambda a: xp.asarray(np.asarray(a, dtype=dtype).reshape(-1, 1)[0])  # noqa: E731  (shape (1,))
    return _derived_params(col, [row["rev_tri"]], [row["rev_a"]], [row["rev_b"]], [row["rev_c"]],
                           [row["g_mean"]], [row["g_sd"]], [row["s_low"]], [row["s_mode"]], [row["s_high"]],
                           [row["r_low"]], [row["r_high"]], [row["life_values"]], [row["life_cdf"]],
                           [row["nmax"]], [row["hazard"]], [row["tax"]], xp, dtype)


# --------------------------------------------------------------------------------------------
# The vectorised kernel (written against an array module: numpy, cupy or jax.numpy)
# --------------------------------------------------------------------------------------------


def _triangular(xp, u, a, c, f, kl, kr):
    left = u < f
    s = xp.sqrt(xp.where(left, u * kl, (1.0 - u) * kr))
    return xp.where(left, a + s, c - s)


def _draw(xp, U, p, ndtr, z_revenue=None) -> dict:
    """Turn the six uniforms of each path into the path's drawn parameters."""
    rad = xp.sqrt(-2.0 * xp.log1p(-U[0]))
    angle = TWO_PI * U[1]
    z_rev = rad * xp.cos(angle) if z_revenue is None else z_revenue
    z_g = rad * xp.sin(angle)
    revenue = None
    if not p["all_tri"]:
        revenue = p["ln_mean"] * xp.exp(p["ln_sigma"] * z_rev + p["ln_shift"])
    if p["any_tri"]:
        tri = _triangular(xp, ndtr(z_rev), p["tri_a"], p["tri_c"], p["tri_f"], p["tri_kl"], p["tri_kr"])
        revenue = tri if revenue is None else xp.where(p["tri_mask"] > 0, tri, revenue)
    growth = xp.maximum(p["g_mean"] + p["g_sd"] * z_g, GROWTH_FLOOR)
    split = _triangular(xp, U[2], p["s_a"], p["s_c"], p["s_f"], p["s_kl"], p["s_kr"])
    life = p["life0"]
    for cdf, delta in p["life_steps"]:
        life = life + xp.where(U[3] >= cdf, delta, 0.0)
    rate = p["r_low"] + p["r_width"] * U[4]
    survived = xp.floor(xp.log(U[5]) * p["inv_log_survive"])  # whole years before failure (may be inf)
    return {"revenue": revenue, "growth": growth, "split": split, "life": life, "rate": rate,
            "survived": survived}


def _closed_form(xp, d: dict, p: dict, horizon: int):
    """Value and horizon value per path from drawn parameters (geometric sums in closed form)."""
    m = xp.minimum(d["life"], d["survived"])
    lg = xp.log1p(d["growth"])
    lr = xp.log1p(d["rate"])
    ell = lg - lr
    flat = ell == 0
    den = xp.where(flat, 1.0, xp.expm1(ell))
    base = d["split"] * d["revenue"] * p["after_tax"] * xp.exp(-lr)
    value = base * xp.where(flat, m, xp.expm1(m * ell) / den)
    k = xp.maximum(m - horizon, 0.0)
    grown = xp.exp(horizon * lg) if horizon else 1.0
    hvalue = base * grown * xp.where(flat, k, xp.expm1(k * ell) / den)
    return value, hvalue, d["survived"] >= horizon


def _scipy_ndtr(x, out=None):
    from scipy.special import ndtr

    return ndtr(x, out=out)


# --------------------------------------------------------------------------------------------
# One right: the explicit (paths, years) simulation
# --------------------------------------------------------------------------------------------


def simulate_income(*, paths: int, seed: int | None, years: int, revenue, growth, split, life, rate, hazard,
                    tax: float = 0.0, rng=None, max_years: int | None = None, horizon: int = 1,
                    z_revenue=None) -> dict:
    """Simulate one right's income stream on ``paths`` paths (float64, vectorised over paths).

    Parameter forms (floats): revenue ``x`` | {"dist": "lognormal", "mean", "sigma"} |
    {"dist": "triangular", "low", "mode", "high"} | {"dist": "fixed", "value"}; growth ``g`` |
    {"mean", "sd", "per_year"?}; split ``k`` | {"low", "mode", "high"}; life ``n`` | {years: prob};
    rate ``r`` | {"low", "high"}; hazard p per year; tax T.  ``max_years`` is the remaining legal
    term; ``rng`` (a numpy Generator) overrides ``seed``; ``z_revenue`` (paths,) replaces the
    revenue shock (the bundle's Gaussian copula).

    Returns numpy arrays: per path (paths,) ``revenue`` (year 1), ``growth`` (the mean with yearly
    shocks), ``split``, ``life``
    (after truncation), ``rate``, ``failure_year`` (first year without cash flow because of legal
    failure; inf if none), ``value``, ``horizon_value``, ``alive_at_horizon``; per path and year
    (paths, years) ``revenues``, ``cash_flows`` (after tax, zero once failed or beyond life),
    ``discount_factors`` and ``alive``.
    """
    if rng is None:
        rng = np.random.default_rng(seed)
    spec = {"revenue": revenue, "growth": growth, "split": split, "life": life, "rate": rate,
            "hazard": hazard, "tax": tax, "years": years, "max_years": max_years}
    p = _row_params(spec)
    U = rng.random((N_DRAWS, paths))
    per_year = isinstance(growth, dict) and growth.get("per_year") and growth.get("sd", 0.0) > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        d = _draw(np, U, p, _scipy_ndtr, z_revenue=z_revenue)
    t = np.arange(1, years + 1, dtype=np.float64)
    if per_year:
        shocks = rng.standard_normal((paths, years - 1)) if years > 1 else np.zeros((paths, 0))
        g_years = np.maximum(growth["mean"] + growth["sd"] * shocks, GROWTH_FLOOR)
        factors = np.concatenate([np.ones((paths, 1)), np.cumprod(1.0 + g_years, axis=1)], axis=1)
        d["growth"] = np.full(paths, float(growth["mean"]))
    else:
        factors = (1.0 + d["growth"])[:, None] ** (t - 1.0)
    revenues = d["revenue"][:, None] * factors
    m = np.minimum(d["life"], d["survived"])
    alive = t[None, :] <= m[:, None]
    cash_flows = np.where(alive, d["split"][:, None] * revenues * (1.0 - tax), 0.0)
    discount = (1.0 + d["rate"])[:, None] ** -t
    value = (cash_flows * discount).sum(axis=1)
    if horizon:
        after = t > horizon
        hvalue = (np.where(after[None, :], cash_flows, 0.0) * discount).sum(axis=1) * \
            (1.0 + d["rate"]) ** horizon
    else:
        hvalue = value.copy()
    return {"revenue": d["revenue"], "growth": d["growth"], "split": d["split"],
            "life": np.broadcast_to(d["life"], (paths,)).copy(), "rate": d["rate"],
            "failure_year": np.broadcast_to(d["survived"] + 1.0, (paths,)).copy(), "value": value,
            "horizon_value": hvalue, "alive_at_horizon": d["survived"] >= horizon, "revenues": revenues,
            "cash_flows": cash_flows, "discount_factors": discount, "alive": alive}


def quantiles_sorted(xs, qs=QUANTILES, xp=np):
    """Linear-interpolation quantiles (numpy's default) of rows already sorted along the last axis."""
    n = xs.shape[-1]
    out = []
    for q in qs:
        pos = q * (n - 1)
        lo = int(math.floor(pos))
        hi = min(lo + 1, n - 1)
        frac = pos - lo
        out.append(xs[..., lo] + (xs[..., hi] - xs[..., lo]) * frac)
    return out


def path_statistics(value: np.ndarray, hvalue: np.ndarray, alive_h: np.ndarray) -> dict:
    """Summary of one right's simulated paths as floats."""
    v = np.sort(value)
    h = np.sort(hvalue)
    p5, p10, p50, p90 = quantiles_sorted(v)
    h10, h50 = quantiles_sorted(h, (0.10, 0.50))
    return {"mean": float(v.mean()), "std": float(v.std()), "p5": float(p5), "p10": float(p10),
            "p50": float(p50), "p90": float(p90), "horizon_mean": float(h.mean()), "horizon_p10": float(h10),
            "horizon_p50": float(h50), "survival": float(np.mean(alive_h))}


# --------------------------------------------------------------------------------------------
# The API entry point
# --------------------------------------------------------------------------------------------


def _shown(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _shown(v) for k, v in value.items()}
    return value


def monte_carlo_income(inputs: dict, options: dict | None, trace: Trace) -> dict:
    """Monte Carlo of the income approach for one right (§3): distribution of the value and at H.

    ``inputs``: revenue, growth, years, split, life, max_years, rate, hazard, tax_rate, horizon,
    paths, seed (see the module docstring); ``options`` may override any of these keys (others,
    such as ``factor_mode``, do not apply to a simulation and are ignored).
    Returns Decimal fen amounts: ``mean``, ``p5``, ``p10``, ``p50``, ``p90``, ``std``,
    ``horizon`` {``years``, ``p10``, ``p50``, ``mean``, ``survival`` (share of paths whose right
    is still in force at H, 6 dp)}, plus ``paths``, ``seed``, ``currency`` and ``model_version``.
    """
    spec, shown = parse_income_inputs(inputs, options)
    labels = {
        "revenue": ("Year-1 revenue (distribution)", "首年收入（分布）"),
        "growth": ("Annual growth rate", "年增长率"),
        "years": ("Projection years", "预测年数"),
        "max_years": ("Remaining legal term (years)", "剩余法定保护期（年）"),
        "renewal_expected": ("Renewal of the legal term expected", "预计续展法定保护期"),
        "split": ("Split / royalty rate", "分成率 / 许可费率"),
        "life": ("Economic life (years: probability)", "经济寿命（年：概率）"),
        "rate": ("Discount rate", "折现率"),
        "hazard": ("Annual legal-failure probability", "年度法律失效概率"),
        "tax_rate": ("Income tax rate", "所得税税率"),
        "horizon": ("Loan horizon H (years)", "贷款期限 H（年）"),
        "paths": ("Simulated paths", "模拟路径数"),
        "seed": ("Random seed", "随机种子"),
    }
    for key, (en, zh) in labels.items():
        trace.input(key, en, zh, _shown(shown[key]))
    if shown[term.INPUT]:
        trace.step("mc.max_years.renewed", "Current legal term, renewable and expected to be renewed: it does not "
                   "cap the income period", "当前保护期可续展且预计续展：不限制收益期", shown["max_years"])
    trace.step("mc.model", "Income approach per path", "每条路径的收益法",
               "V = Σ_{t=1..m} K·R_t·(1−T)/(1+r)^t",
               formula="R_t = R₁·(1+g)^(t−1); m = min(life, legal term, years, years before legal failure)")
    trace.step("mc.draws",
               "Random draws per path: R₁ lognormal or triangular, g normal, K triangular, life discrete, "
               "r uniform, years before legal failure geometric(p)",
               "每条路径的随机抽样：R₁ 对数正态或三角分布，g 正态分布，K 三角分布，经济寿命离散分布，"
               "r 均匀分布，法律失效前年数几何分布(p)",
               "6 uniforms per path / 每条路径 6 个均匀随机数", formula="numpy.random.default_rng(seed)")
    sim = simulate_income(paths=spec["paths"], seed=spec["seed"], years=spec["years"],
                          revenue=spec["revenue"], growth=spec["growth"], split=spec["split"],
                          life=spec["life"], rate=spec["rate"], hazard=spec["hazard"], tax=spec["tax"],
                          max_years=spec["max_years"], horizon=spec["horizon"])
    stats = path_statistics(sim["value"], sim["horizon_value"], sim["alive_at_horizon"])
    trace.step("mc.income_period", "Mean income period before legal failure (years)",
               "法律失效前的平均收益期（年）",
               Decimal(str(round(float(np.minimum(sim["life"], sim["failure_year"] - 1).mean()), 4))),
               formula="min(life, legal term, years, failure year − 1)")
    out = {k: fen(stats[k]) for k in ("mean", "p5", "p10", "p50", "p90", "std")}
    for key, (en, zh) in {"mean": ("Mean value", "价值均值"), "p5": ("P5 value", "P5 价值"),
                          "p10": ("P10 value", "P10 价值"), "p50": ("P50 (median) value", "P50（中位数）价值"),
                          "p90": ("P90 value", "P90 价值"), "std": ("Standard deviation", "标准差")}.items():
        trace.step(f"mc.{key}", en, zh, out[key])
    survival = Decimal(str(stats["survival"])).quantize(Decimal("0.000001"))
    horizon = {"years": spec["horizon"], "p10": fen(stats["horizon_p10"]), "p50": fen(stats["horizon_p50"]),
               "mean": fen(stats["horizon_mean"]), "survival": survival}
    trace.step("mc.horizon", f"Value at the horizon H = {spec['horizon']} (P10, P50, mean)",
               f"期限 H = {spec['horizon']} 时的价值（P10、P50、均值）",
               [horizon["p10"], horizon["p50"], horizon["mean"]],
               formula="V_H = Σ_{t>H} K·R_t·(1−T)/(1+r)^(t−H), 0 if failed by H")
    trace.step("mc.survival", "Share of paths still in force at H", "期限 H 时仍有效的路径比例", survival)
    return {**out, "horizon": horizon, "paths": spec["paths"], "seed": spec["seed"], "currency": "CNY",
            "model_version": MODEL_VERSION}


# --------------------------------------------------------------------------------------------
# A book of many rights, vectorised in chunks (numpy threads, or cupy / jax)
# --------------------------------------------------------------------------------------------

DEFAULT_CHUNK_PATHS = 80_000
GPU_CHUNK_PATHS = 16 * 1024 * 1024
BOOK_STATS = ("mean", "std", "p5", "p10", "p50", "p90", "horizon_mean", "horizon_p10", "horizon_p50",
              "survival")


def available_backends() -> dict:
    """Which array backends value_book can use here: {"numpy": True, "cupy": bool, "jax": bool, ...}."""
    out: dict[str, Any] = {"numpy": True, "cupy": False, "jax": False, "jax_device": None}
    try:
        import cupy

        out["cupy"] = cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:  # noqa: BLE001 — any import or driver failure means "not available"
        pass
    try:
        import jax

        out["jax"] = True
        out["jax_device"] = jax.devices()[0].platform
    except Exception:  # noqa: BLE001
        pass
    return out


def _fmix32(xp, h):
    h = h ^ (h >> 16)
    h = h * xp.uint32(0x85EBCA6B)
    h = h ^ (h >> 13)
    h = h * xp.uint32(0xC2B2AE35)
    return h ^ (h >> 16)


def hash_uniforms(xp, seed: int, stream_ids, paths: int, dtype=np.float32):
    """Counter-based uniforms in [0, 1) of shape (6, C, paths): fmix32(path ⊕ fmix32(seed, stream, draw)).

    Identical on numpy, cupy and jax; the GPU backends use it so a right's draws depend only on
    (seed, stream id).  24-bit resolution.
    """
    ids = xp.asarray(np.asarray(stream_ids, dtype=np.uint64).astype(np.uint32))[None, :, None]
    draw = xp.arange(N_DRAWS, dtype=xp.uint32)[:, None, None]
    path = xp.arange(paths, dtype=xp.uint32)[None, None, :]
    key = _fmix32(xp, _fmix32(xp, ids * xp.uint32(0x9E3779B9) + draw + xp.uint32((seed >> 32) & 0xFFFFFFFF))
                  ^ xp.uint32(seed & 0xFFFFFFFF))
    bits = _fmix32(xp, (path * xp.uint32(0x27D4EB2F)) ^ key)
    return (bits >> 8).astype(dtype) * dtype(1.0 / 16777216.0)


def _select_inplace(x, kths: list[int], lo: int, hi: int) -> None:
    """Partition rows of x[..., lo:hi] in place so that every index in ``kths`` holds its sorted value."""
    if not kths:
        return
    m = len(kths) // 2
    mid = kths[m]
    x[..., lo:hi].partition(mid - lo, axis=-1)
    _select_inplace(x, kths[:m], lo, mid)
    _select_inplace(x, kths[m + 1:], mid + 1, hi)


def quantiles_inplace(x: np.ndarray, qs) -> list:
    """The same linear-interpolation quantiles as ``quantiles_sorted`` along the last axis, by nested
    in-place partitions (cheaper than a full sort; ``x`` is reordered)."""
    n = x.shape[-1]
    kths = sorted({int(math.floor(q * (n - 1))) for q in qs})
    _select_inplace(x, kths, 0, n)
    out = []
    for q in qs:
        pos = q * (n - 1)
        k = int(math.floor(pos))
        frac = pos - k
        below = x[..., k]
        if frac == 0 or k + 1 >= n:
            out.append(below.copy())
            continue
        later = [j for j in kths if j > k]
        stop = later[0] + 1 if later else n
        above = x[..., k + 1:stop].min(axis=-1)  # the next order statistic
        out.append(below + (above - below) * frac)
    return out


class _Workspace:
    """Scratch arrays of one worker thread, reused from chunk to chunk (no page faults, cache-warm)."""

    def __init__(self, rows: int, paths: int, dtype):
        self.U = np.empty((rows, N_DRAWS, paths), dtype=dtype)
        self.f = [np.empty((rows, paths), dtype=dtype) for _ in range(8)]
        self.mask = np.empty((rows, paths), dtype=bool)
        self.mask2 = np.empty((rows, paths), dtype=bool)


def _triangular_inplace(u, a, c, f, kl, kr, out, tmp, step):
    """Inverse triangular CDF of u into ``out`` without masked ufuncs (slow in numpy):
    x = F₂ + 1[u<f]·(F₁ − F₂), F₁ = a + √(u·kl), F₂ = c − √((1−u)·kr).  ``tmp``, ``step`` are scratch."""
    np.less(u, f, out=step)                    # 1.0 on the left branch
    np.multiply(u, kl, out=tmp)
    np.sqrt(tmp, out=tmp)
    tmp += a                                   # F₁
    np.subtract(1.0, u, out=out)
    out *= kr
    np.sqrt(out, out=out)
    np.subtract(c, out, out=out)               # F₂
    tmp -= out
    tmp *= step
    out += tmp
    return out


_ERFC = (0.17087277, -0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418,
         0.37409196, 1.00002368, -1.26551223)


def _ndtr_inplace(z, out, tmp, step):
    """Φ(z) into ``out`` by the Chebyshev erfc approximation (Numerical Recipes ``erfcc``, relative
    error < 1.2e-7: float32 accuracy) — scipy's ndtr costs several times more in the book kernel."""
    np.abs(z, out=tmp)
    tmp *= 1.0 / math.sqrt(2.0)                # x = |z|/√2
    np.multiply(tmp, 0.5, out=out)
    out += 1.0
    np.divide(1.0, out, out=out)               # t = 1/(1 + x/2)
    np.multiply(tmp, tmp, out=tmp)
    np.negative(tmp, out=tmp)                  # −x²
    np.multiply(out, _ERFC[0], out=step)
    for c in _ERFC[1:]:
        step += c
        if c is not _ERFC[-1]:
            step *= out
    tmp += step
    np.exp(tmp, out=tmp)
    tmp *= out
    tmp *= 0.5                                 # h = erfc(x)/2 = Φ(−|z|)
    np.greater(z, 0.0, out=step)               # z > 0: Φ(z) = 1 − h
    np.multiply(tmp, -2.0, out=out)
    out += 1.0
    out *= step
    out += tmp
    return out


def _kernel_inplace(U, p: dict, horizon: int, ws: _Workspace, rows: int) -> dict:
    """The book kernel for numpy: the arithmetic of ``_draw`` + ``_closed_form`` with preallocated
    buffers (same formulas, same order of draws; tests check it against ``simulate_income``)."""
    u0, u1, u2, u3, u4, u5 = (U[:, k, :] for k in range(N_DRAWS))
    b0, b1, b2, b3, b4, b5, b6, b7 = (b[:rows] for b in ws.f)
    mask, mask2 = ws.mask[:rows], ws.mask2[:rows]
    # Box–Muller pair: z_R, z_g
    np.negative(u0, out=b0)
    np.log1p(b0, out=b0)
    b0 *= -2.0
    np.sqrt(b0, out=b0)
    np.multiply(u1, TWO_PI, out=b1)
    np.sin(b1, out=b2)
    b2 *= b0                                   # z_g
    np.cos(b1, out=b1)
    b1 *= b0                                   # z_R
    if p["all_tri"]:                           # revenue R₁ → b1
        _ndtr_inplace(b1, b0, b3, b5)
        _triangular_inplace(b0, p["tri_a"], p["tri_c"], p["tri_f"], p["tri_kl"], p["tri_kr"], b1, b3, b5)
    elif p["any_tri"]:
        tri = _triangular(np, _scipy_ndtr(b1), p["tri_a"], p["tri_c"], p["tri_f"], p["tri_kl"], p["tri_kr"])
        b1 *= p["ln_sigma"]
        b1 += p["ln_shift"]
        np.exp(b1, out=b1)
        b1 *= p["ln_mean"]
        np.copyto(b1, tri, where=np.broadcast_to(p["tri_mask"] > 0, b1.shape))
    else:
        b1 *= p["ln_sigma"]
        b1 += p["ln_shift"]
        np.exp(b1, out=b1)
        b1 *= p["ln_mean"]
    b2 *= p["g_sd"]                            # growth g → b2
    b2 += p["g_mean"]
    np.maximum(b2, GROWTH_FLOOR, out=b2)
    _triangular_inplace(u2, p["s_a"], p["s_c"], p["s_f"], p["s_kl"], p["s_kr"], b4, b3, b5)  # split → b4
    b1 *= b4                                   # K·R₁·(1−T) → b1
    b1 *= p["after_tax"]
    np.copyto(b5, p["life0"])                  # life → b5
    for cdf, delta in p["life_steps"]:
        np.greater_equal(u3, cdf, out=b3)
        b3 *= delta
        b5 += b3
    np.multiply(u4, p["r_width"], out=b6)      # rate → b6
    b6 += p["r_low"]
    np.log(u5, out=b7)                         # whole years survived → b7
    b7 *= p["inv_log_survive"]
    np.floor(b7, out=b7)
    np.greater_equal(b7, horizon, out=mask2)
    survival = np.count_nonzero(mask2, axis=-1) / U.shape[-1]
    np.minimum(b5, b7, out=b5)                 # m → b5
    np.log1p(b2, out=b2)                       # ln(1+g) → b2
    np.log1p(b6, out=b6)                       # ln(1+r) → b6
    np.negative(b6, out=b3)
    np.exp(b3, out=b3)
    b1 *= b3                                   # base = K·R₁·(1−T)/(1+r)
    np.subtract(b2, b6, out=b6)                # L = ln q → b6
    np.equal(b6, 0.0, out=mask)
    flat = bool(mask.any())
    np.expm1(b6, out=b3)                       # expm1(L) → b3
    if flat:
        np.copyto(b3, 1.0, where=mask)
    np.multiply(b5, b6, out=b4)
    np.expm1(b4, out=b4)
    np.divide(b4, b3, out=b4)
    if flat:
        np.copyto(b4, b5, where=mask)
    b4 *= b1                                   # value → b4
    b5 -= horizon                              # k = max(m − H, 0)
    np.maximum(b5, 0.0, out=b5)
    np.multiply(b5, b6, out=b7)
    np.expm1(b7, out=b7)
    np.divide(b7, b3, out=b7)
    if flat:
        np.copyto(b7, b5, where=mask)
    if horizon:
        b2 *= horizon
        np.exp(b2, out=b2)
        b1 *= b2
    b7 *= b1                                   # horizon value → b7
    return {"value": b4, "hvalue": b7, "survival": survival, "scratch": b0}


def _row_mean_std(x, scratch):
    mean = x.mean(axis=-1)
    np.subtract(x, mean[:, None], out=scratch)
    np.multiply(scratch, scratch, out=scratch)
    var = scratch.mean(axis=-1)
    return mean.astype(np.float64), np.sqrt(var.astype(np.float64))


def _stats_inplace(res: dict) -> dict:
    value, hvalue, scratch = res["value"], res["hvalue"], res["scratch"]
    stats = {"survival": res["survival"]}
    stats["mean"], stats["std"] = _row_mean_std(value, scratch)
    stats["horizon_mean"] = hvalue.mean(axis=-1).astype(np.float64)
    stats["p5"], stats["p10"], stats["p50"], stats["p90"] = quantiles_inplace(value, QUANTILES)
    stats["horizon_p10"], stats["horizon_p50"] = quantiles_inplace(hvalue, (0.10, 0.50))
    return stats


def _chunk_numpy(book: Book, params: dict, lo: int, hi: int, paths: int, seed: int, horizon: int,
                 rng_kind: str, ws: _Workspace):
    rows = hi - lo
    tri = book.rev_tri[lo:hi]
    p = {k: (v[lo:hi] if hasattr(v, "shape") else v) for k, v in params.items() if k != "life_steps"}
    p["any_tri"], p["all_tri"] = bool(tri.any()), bool(tri.all())
    p["life_steps"] = [(c[lo:hi], d[lo:hi]) for c, d in params["life_steps"]]
    U = ws.U[:rows]
    if rng_kind == "hash":
        U[...] = hash_uniforms(np, seed, book.stream_id[lo:hi], paths, U.dtype.type).transpose(1, 0, 2)
    else:
        for i in range(rows):
            np.random.default_rng([seed, int(book.stream_id[lo + i])]).random(out=U[i], dtype=U.dtype.type)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return _stats_inplace(_kernel_inplace(U, p, horizon, ws, rows))


def _jax_chunk_fn(p: dict, horizon: int):
    """A jitted jax kernel for one static structure (revenue kinds present, number of life steps)."""
    key = (p["any_tri"], p["all_tri"], len(p["life_steps"]), horizon)
    cache = _jax_chunk_fn.__dict__.setdefault("cache", {})
    if key not in cache:
        import jax
        import jax.numpy as jnp
        from jax.scipy.special import ndtr

        static = {"any_tri": p["any_tri"], "all_tri": p["all_tri"]}

        def kernel(U, dyn, steps):
            full = {**dyn, **static, "life_steps": list(steps)}
            d = _draw(jnp, U, full, ndtr)
            value, hvalue, alive_h = _closed_form(jnp, d, full, horizon)
            v = jnp.sort(value, axis=-1)
            h = jnp.sort(hvalue, axis=-1)
            p5, p10, p50, p90 = quantiles_sorted(v, xp=jnp)
            h10, h50 = quantiles_sorted(h, (0.10, 0.50), xp=jnp)
            return {"mean": v.mean(axis=-1), "std": v.std(axis=-1), "p5": p5, "p10": p10, "p50": p50,
                    "p90": p90, "horizon_mean": h.mean(axis=-1), "horizon_p10": h10, "horizon_p50": h50,
                    "survival": alive_h.astype(jnp.float32).mean(axis=-1)}

        cache[key] = jax.jit(kernel)
    return cache[key]


def value_book(book: Book, *, paths: int, seed: int, horizon: int = 1, dtype=np.float32,
               backend: str = "numpy", chunk_patents: int | None = None, workers: int | None = None,
               rng: str = "numpy") -> dict:
    """Value every right of ``book`` on ``paths`` paths each; returns per-right statistics.

    numpy backend: chunks of ``chunk_patents`` rights (default: about ``DEFAULT_CHUNK_PATHS`` paths
    per chunk, cache-sized), run on ``workers`` threads (default: CPU count; numpy releases the
    GIL).  Each worker reuses one workspace of chunk × paths × (14 × itemsize + 2) bytes (float32,
    10,000 paths, 8 rights: 4.6 MB), so memory stays bounded whatever the size of the book.  Right i draws from
    ``default_rng([seed, stream_id_i])`` (``rng="hash"``: the counter-based hash instead).
    ``backend="cupy" | "jax"`` runs the same kernel on that array library (hash uniforms, float32);
    raises ``ValueError`` if it is not available.

    Returns {stat: float64 array (N,)} for stat in ``BOOK_STATS`` plus ``paths``, ``seed``,
    ``dtype``, ``backend``.
    """
    if backend not in ("numpy", "cupy", "jax"):
        raise ValueError(f"unknown backend {backend!r}")
    if rng not in ("numpy", "hash"):
        raise ValueError(f"unknown rng {rng!r}")
    n = len(book)
    dtype = np.dtype(dtype).type
    out: dict[str, Any] = {k: np.empty(n, dtype=np.float64) for k in BOOK_STATS}
    if n == 0:
        pass
    elif backend == "numpy":
        if chunk_patents is None:
            chunk_patents = max(1, DEFAULT_CHUNK_PATHS // max(1, paths))
        workers = workers or os.cpu_count() or 1
        # Group lognormal and triangular revenues so that a chunk computes one kind only (a right's
        # draws depend on its stream id, not on its place in the book).
        order = np.argsort(book.rev_tri, kind="stable")
        grouped = _take(book, order)
        params = grouped.params(0, n, np, dtype)
        split_at = int(np.count_nonzero(~grouped.rev_tri))
        bounds = [(lo, min(end, lo + chunk_patents)) for start, end in ((0, split_at), (split_at, n))
                  for lo in range(start, end, chunk_patents)]

        local = threading.local()

        def run(bound):
            lo, hi = bound
            if not hasattr(local, "ws"):
                local.ws = _Workspace(chunk_patents, paths, dtype)
            stats = _chunk_numpy(grouped, params, lo, hi, paths, seed, horizon, rng, local.ws)
            for k in BOOK_STATS:
                out[k][order[lo:hi]] = stats[k]

        if workers == 1 or len(bounds) == 1:
            for b in bounds:
                run(b)
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for _ in pool.map(run, bounds):
                    pass
    else:
        if not available_backends()[backend]:
            raise ValueError(f"backend {backend!r} is not available")
        dtype = np.float32
        if chunk_patents is None:
            chunk_patents = max(1, GPU_CHUNK_PATHS // max(1, paths))
        chunk_patents = min(chunk_patents, n)
        if backend == "cupy":
            import cupy as xp
            from cupyx.scipy.special import ndtr as gpu_ndtr
        else:
            import jax.numpy as xp
        for lo in range(0, n, chunk_patents):
            hi = min(n, lo + chunk_patents)
            # pad the last chunk to a constant shape (one compilation with jax)
            idx = np.minimum(np.arange(lo, lo + chunk_patents), n - 1)
            sub = _take(book, idx)
            p = sub.params(0, chunk_patents, xp, dtype)
            U = hash_uniforms(xp, seed, sub.stream_id, paths, dtype)
            if backend == "jax":
                dyn = {k: v for k, v in p.items() if k not in ("any_tri", "all_tri", "life_steps")}
                stats = _jax_chunk_fn(p, horizon)(U, dyn, tuple(p["life_steps"]))
            else:
                d = _draw(xp, U, p, gpu_ndtr)
                value, hvalue, alive_h = _closed_form(xp, d, p, horizon)
                v = xp.sort(value, axis=-1)
                h = xp.sort(hvalue, axis=-1)
                p5, p10, p50, p90 = quantiles_sorted(v, xp=xp)
                h10, h50 = quantiles_sorted(h, (0.10, 0.50), xp=xp)
                stats = {"mean": v.mean(axis=-1, dtype=xp.float64), "std": v.std(axis=-1, dtype=xp.float64),
                         "p5": p5, "p10": p10, "p50": p50, "p90": p90,
                         "horizon_mean": h.mean(axis=-1, dtype=xp.float64), "horizon_p10": h10,
                         "horizon_p50": h50, "survival": alive_h.mean(axis=-1, dtype=xp.float64)}
            for k in BOOK_STATS:
                arr = stats[k]
                host = arr.get() if hasattr(arr, "get") else np.asarray(arr)
                out[k][lo:hi] = host[: hi - lo]
    out.update(paths=paths, seed=seed, dtype=np.dtype(dtype).name, backend=backend)
    return out


def _take(book: Book, idx: np.ndarray) -> Book:
    return Book(**{name: getattr(book, name)[idx] for name in book.__dataclass_fields__})
