"""Discount rates: risk build-up and WACC.

The build-up rate is r = r_f + technology + market + funding + management premia, each premium from
0 to 5% (scored tables) and r_f the 10-year government bond yield.  The discount basis must match
the income basis (after-tax income ↔ after-tax rate); both functions give an after-tax rate.

Pure module: no Django.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ippledge.core.errors import N_

from .factors import (
    MSG_RATE,
    MSG_TAX,
    ONE,
    ZERO,
    in_context,
    invalid,
    normalise_options,
    num,
    rate6,
    read_number,
    use_rate,
)
from .trace import Trace

MAX_PREMIUM = Decimal("0.05")
MSG_PREMIUM = N_("Each risk premium must be between 0 and 0.05 (0–5%).")

PREMIA = (
    ("technology", "Technology risk premium", "技术风险报酬率"),
    ("market", "Market risk premium", "市场风险报酬率"),
    ("funding", "Funding risk premium", "资金风险报酬率"),
    ("management", "Management risk premium", "管理风险报酬率"),
)


@in_context
def build_up(risk_free: Any, technology: Any, market: Any, funding: Any, management: Any,
             trace: Trace | None = None, round_rate: int | None = None) -> Decimal:
    """Risk build-up discount rate (风险累加法), returned with 6 decimals."""
    trace = trace if trace is not None else Trace()
    rf = num(risk_free, "risk_free")
    if not ZERO <= rf <= ONE:
        raise invalid("risk_free", MSG_RATE)
    trace.input("risk_free", "Risk-free rate (10-year government bond yield)", "无风险报酬率（10年期国债收益率）", rf)
    values = {"technology": technology, "market": market, "funding": funding, "management": management}
    total = rf
    terms = [str(rf)]
    for name, en, zh in PREMIA:
        premium = num(values[name], name)
        if not ZERO <= premium <= MAX_PREMIUM:
            raise invalid(name, MSG_PREMIUM)
        trace.input(name, en, zh, premium)
        total += premium
        terms.append(str(premium))
    trace.step("discount.build_up", "Discount rate (risk build-up)", "折现率（风险累加法）", rate6(total),
               "r = r_f + r_tech + r_market + r_funding + r_management = " + " + ".join(terms))
    rate = use_rate(total, "discount_rate", {"round_rate": round_rate}, trace, "Discount rate", "折现率")
    return rate6(rate)


@in_context
def wacc(equity_value: Any, debt_value: Any, cost_of_equity: Any, cost_of_debt: Any, tax_rate: Any,
         trace: Trace | None = None, round_rate: int | None = None) -> Decimal:
    """After-tax WACC: r = E/(E+D)·R_e + D/(E+D)·R_d·(1−T), returned with 6 decimals."""
    trace = trace if trace is not None else Trace()
    e, d = num(equity_value, "equity_value"), num(debt_value, "debt_value")
    re_, rd, tax = num(cost_of_equity, "cost_of_equity"), num(cost_of_debt, "cost_of_debt"), num(tax_rate, "tax_rate")
    for name, value in (("equity_value", e), ("debt_value", d)):
        if value < 0:
            raise invalid(name, N_("Must not be negative."))
    if e + d <= 0:
        raise invalid("equity_value", N_("Equity plus debt must be greater than zero."))
    for name, value in (("cost_of_equity", re_), ("cost_of_debt", rd)):
        if not ZERO <= value <= ONE:
            raise invalid(name, MSG_RATE)
    if not ZERO <= tax < ONE:
        raise invalid("tax_rate", MSG_TAX)
    trace.input("equity_value", "Equity value E", "权益价值 E", e)
    trace.input("debt_value", "Debt value D", "债务价值 D", d)
    trace.input("cost_of_equity", "Cost of equity R_e", "权益资本成本 R_e", re_)
    trace.input("cost_of_debt", "Cost of debt R_d", "债务资本成本 R_d", rd)
    trace.input("tax_rate", "Income tax rate", "所得税税率", tax)
    weight_e = e / (e + d)
    trace.step("wacc.equity_weight", "Equity weight E/(E+D)", "权益资本比重 E/(E+D)", rate6(weight_e))
    rate = weight_e * re_ + (ONE - weight_e) * rd * (ONE - tax)
    trace.step("wacc.rate", "Weighted average cost of capital", "加权平均资本成本", rate6(rate),
               "WACC = E/(E+D)·R_e + D/(E+D)·R_d·(1−T)")
    rate = use_rate(rate, "discount_rate", {"round_rate": round_rate}, trace, "Discount rate", "折现率")
    return rate6(rate)


def discount_build_up(inputs: dict, options: dict | None, trace: Trace) -> dict:
    """The ``discount_build_up`` method of ``compute``: inputs by name, result ``{"discount_rate", "components"}``."""
    options = normalise_options(options)
    names = ["risk_free"] + [p[0] for p in PREMIA]
    # read_number only checks presence here; build_up validates ranges and records the inputs.
    values = {n: read_number(inputs, n, trace, n, n, record=False) for n in names}
    rate = build_up(**values, trace=trace, round_rate=options.get("round_rate"))
    return {"discount_rate": rate, "components": {n: rate6(v) for n, v in values.items()}}
