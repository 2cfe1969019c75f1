"""Real options: Black–Scholes with leakage and the CRR binomial tree.

INFORMATION ONLY: an option value is never part of the pledge value — a lender cannot monetise the
owner's flexibility in a forced sale.  Every result says so (``information_only``) and so does the
trace.

Logarithms, exponentials and square roots are taken in ``Decimal``; the normal CDF uses
``math.erfc`` and the tree runs in floats; prices come back as ``Decimal`` to the fen.

Pure module: no Django.
"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from ippledge.core.errors import N_, ValidationFailed

from .factors import (
    MSG_RATE,
    ONE,
    ZERO,
    has,
    in_context,
    invalid,
    normalise_options,
    num,
    rate6,
    read_int,
    read_number,
)
from .trace import Trace, fen

OPTION_KINDS = ("call", "put")
STYLES = ("european", "american")
MAX_STEPS = 1000  # an American tree of n steps costs n²/2 nodes: 1000 steps take about a second
MSG_OPTION = N_("Choose call or put.")
MSG_STYLE = N_("Choose european or american.")


def _information_only(trace: Trace) -> None:
    trace.step("options.information_only",
               "Information only: an option value is excluded from the pledge value (a lender cannot "
               "monetise the owner's flexibility in a forced sale)",
               "仅供参考：期权价值不计入质押价值（强制处置时出质人的经营灵活性无法变现）", True)


def _choice(inputs: dict, name: str, allowed: tuple, default: str, message: str, trace: Trace, en: str,
            zh: str) -> str:
    value = inputs.get(name) or default
    if value not in allowed:
        raise invalid(name, message)
    trace.input(name, en, zh, value)
    return value


def norm_cdf(x: Decimal | float) -> Decimal:
    """Standard normal CDF N(x) = ½·erfc(−x/√2)."""
    return Decimal(repr(0.5 * math.erfc(-float(x) / math.sqrt(2.0))))


@in_context
def black_scholes(inputs: dict, options: dict | None, trace: Trace) -> dict:
    """C = S·e^{−qT}·N(d1) − K·e^{−rT}·N(d2); P = K·e^{−rT}·N(−d2) − S·e^{−qT}·N(−d1)."""
    normalise_options(options)
    _information_only(trace)
    s = read_number(inputs, "S", trace, "Value of the underlying S", "标的资产价值 S", kind="positive")
    k = read_number(inputs, "K", trace, "Exercise price K", "执行价格 K", kind="positive")
    r = read_number(inputs, "r", trace, "Risk-free rate r", "无风险利率 r", kind="above_minus_one")
    sigma = read_number(inputs, "sigma", trace, "Volatility σ", "波动率 σ", kind="positive")
    t = read_number(inputs, "T", trace, "Time to expiry T (years)", "期限 T（年）", kind="positive")
    q = read_number(inputs, "q", trace, "Leakage / dividend yield q (≈ 1/remaining life)", "价值漏损率 q（≈1/剩余寿命）",
                    default="0", kind="rate")
    kind = _choice(inputs, "option", OPTION_KINDS, "call", MSG_OPTION, trace, "Option type", "期权类型")
    if r > 1:
        raise invalid("r", MSG_RATE)
    vol = sigma * t.sqrt()
    d1 = ((s / k).ln() + (r - q + sigma * sigma / 2) * t) / vol
    d2 = d1 - vol
    trace.step("bs.d1", "d1", "d1", rate6(d1), "d1 = [ln(S/K) + (r − q + σ²/2)·T] / (σ√T)")
    trace.step("bs.d2", "d2", "d2", rate6(d2), "d2 = d1 − σ√T")
    s_disc = s * (-q * t).exp()
    k_disc = k * (-r * t).exp()
    trace.step("bs.s_leaked", "Underlying net of leakage S·e^{−qT}", "扣除漏损后的标的价值 S·e^{−qT}", fen(s_disc))
    trace.step("bs.k_discounted", "Discounted exercise price K·e^{−rT}", "执行价格现值 K·e^{−rT}", fen(k_disc))
    if kind == "call":
        n1, n2 = norm_cdf(d1), norm_cdf(d2)
        price = s_disc * n1 - k_disc * n2
        formula = "C = S·e^{−qT}·N(d1) − K·e^{−rT}·N(d2)"
    else:
        n1, n2 = norm_cdf(-d1), norm_cdf(-d2)
        price = k_disc * n2 - s_disc * n1
        formula = "P = K·e^{−rT}·N(−d2) − S·e^{−qT}·N(−d1)"
    trace.step("bs.n_d1", "N(d1)" if kind == "call" else "N(−d1)", "N(d1)" if kind == "call" else "N(−d1)", rate6(n1))
    trace.step("bs.n_d2", "N(d2)" if kind == "call" else "N(−d2)", "N(d2)" if kind == "call" else "N(−d2)", rate6(n2))
    price = max(price, ZERO)
    trace.step("bs.price", f"Option value ({kind}, Black–Scholes)", f"期权价值（{'看涨' if kind == 'call' else '看跌'}，"
               f"布莱克-斯科尔斯）", fen(price), formula)
    return {"price": fen(price), "currency": "CNY", "option": kind, "d1": rate6(d1), "d2": rate6(d2),
            "information_only": True}


@in_context
def crr_params(sigma: Any, dt: Any, trace: Trace | None = None) -> tuple[Decimal, Decimal]:
    """Cox–Ross–Rubinstein moves: u = e^{σ√Δt}, d = 1/u (full precision)."""
    trace = trace if trace is not None else Trace()
    sigma, dt = num(sigma, "sigma"), num(dt, "dt")
    if sigma <= 0:
        raise invalid("sigma", N_("Must be greater than zero."))
    if dt <= 0:
        raise invalid("dt", N_("Must be greater than zero."))
    u = (sigma * dt.sqrt()).exp()
    d = ONE / u
    trace.step("crr.u", "Up move u", "上行乘数 u", rate6(u), f"u = e^(σ√Δt) = e^({sigma}×√{dt})")
    trace.step("crr.d", "Down move d", "下行乘数 d", rate6(d), "d = 1/u")
    return u, d


@in_context
def binomial(inputs: dict, options: dict | None, trace: Trace) -> dict:
    """CRR tree, European or American; p = (e^{(r−q)Δt} − d)/(u − d), 0 < p < 1."""
    normalise_options(options)
    _information_only(trace)
    s = read_number(inputs, "S", trace, "Value of the underlying S", "标的资产价值 S", kind="positive")
    k = read_number(inputs, "K", trace, "Exercise price K", "执行价格 K", kind="positive")
    r = read_number(inputs, "r", trace, "Risk-free rate per year r", "年无风险利率 r", kind="above_minus_one")
    q = read_number(inputs, "q", trace, "Leakage / dividend yield q", "价值漏损率 q", default="0", kind="rate")
    if r > 1:
        raise invalid("r", MSG_RATE)
    steps = read_int(inputs, "steps", trace, "Number of steps", "步数", low=1, high=MAX_STEPS)
    if has(inputs, "dt") or not has(inputs, "T"):
        dt = read_number(inputs, "dt", trace, "Step length Δt (years)", "步长 Δt（年）", kind="positive")
    else:
        t = read_number(inputs, "T", trace, "Time to expiry T (years)", "期限 T（年）", kind="positive")
        dt = t / steps
        trace.step("binomial.dt", "Step length Δt", "步长 Δt", rate6(dt), f"Δt = T/steps = {t}/{steps}")
    if has(inputs, "sigma") and not (has(inputs, "u") or has(inputs, "d")):
        sigma = read_number(inputs, "sigma", trace, "Volatility σ", "波动率 σ", kind="positive")
        u, d = crr_params(sigma, dt, trace)
    else:
        u = read_number(inputs, "u", trace, "Up move u", "上行乘数 u", kind="positive")
        d = read_number(inputs, "d", trace, "Down move d", "下行乘数 d", kind="positive")
        if not d < u:
            raise invalid("d", N_("The down move d must be smaller than the up move u."))
    kind = _choice(inputs, "option", OPTION_KINDS, "call", MSG_OPTION, trace, "Option type", "期权类型")
    style = _choice(inputs, "style", STYLES, "european", MSG_STYLE, trace, "Exercise style", "行权方式")
    growth = ((r - q) * dt).exp()
    p = (growth - d) / (u - d)
    trace.step("binomial.p", "Risk-neutral up probability p", "风险中性上行概率 p", rate6(p),
               "p = (e^{(r−q)Δt} − d)/(u − d)")
    if not ZERO < p < ONE:
        message = N_("The tree admits arbitrage: it needs d < e^((r−q)Δt) < u so that 0 < p < 1.")
        raise ValidationFailed(message, code="invalid_input", fields={"u": [message], "d": [message]})
    price = _tree(float(s), float(k), float(u), float(d), float(p), math.exp(-float(r * dt)), steps,
                  kind == "call", style == "american")
    if not math.isfinite(price):
        raise invalid("steps", N_("The tree cannot be computed with these inputs."))
    value = fen(Decimal(repr(price)))
    trace.step("binomial.price", f"Option value ({kind}, {style}, {steps}-step CRR tree)",
               f"期权价值（{'看涨' if kind == 'call' else '看跌'}，{'美式' if style == 'american' else '欧式'}，"
               f"{steps}步二叉树）", value, "backward induction: V = e^{−rΔt}[p·V_u + (1−p)·V_d]"
               + (", max with exercise value" if style == "american" else ""))
    return {"price": value, "currency": "CNY", "option": kind, "style": style, "steps": steps, "u": rate6(u),
            "d": rate6(d), "p": rate6(p), "information_only": True}


def _tree(s: float, k: float, u: float, d: float, p: float, disc: float, steps: int, call: bool,
          american: bool) -> float:
    def payoff(price: float) -> float:
        return max(price - k, 0.0) if call else max(k - price, 0.0)

    values = [payoff(s * u ** j * d ** (steps - j)) for j in range(steps + 1)]
    for i in range(steps - 1, -1, -1):
        values = [disc * (p * values[j + 1] + (1.0 - p) * values[j]) for j in range(i + 1)]
        if american:
            values = [max(v, payoff(s * u ** j * d ** (i - j))) for j, v in enumerate(values)]
    return values[0]
