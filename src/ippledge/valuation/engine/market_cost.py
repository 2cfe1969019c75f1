"""Market approach (市场法) and cost approach (成本法).

Pure module: no Django.
"""

from __future__ import annotations

from typing import Any

from ippledge.core.errors import N_

from .factors import (
    CURRENCY,
    MSG_TAX,
    ONE,
    ZERO,
    has,
    in_context,
    invalid,
    normalise_options,
    num,
    rate6,
    read_number,
)
from .trace import Trace, fen

MIN_COMPARABLES = 3
MSG_COMPARABLES = N_("Give a list of comparable transactions, each with a price and its adjustment factors, "
                     "or each with a value and a quality score.")


# ---------------------------------------------------------------------------------------------
# Market approach


@in_context
def market(inputs: dict, options: dict | None, trace: Trace) -> dict:
    """V = (1/n) Σ P_i · Π_k a_ik, or the quality-ratio form V = (1/n) Σ V_i · Q/Q_i."""
    normalise_options(options)
    comparables = inputs.get("comparables") if isinstance(inputs, dict) else None
    if comparables is None:
        raise invalid("comparables")
    if not isinstance(comparables, list | tuple) or not comparables \
            or not all(isinstance(c, dict) for c in comparables):
        raise invalid("comparables", MSG_COMPARABLES)
    if all("price" in c for c in comparables):
        form = "adjustment"
    elif all("value" in c and "quality" in c for c in comparables):
        form = "quality_ratio"
    else:
        raise invalid("comparables", MSG_COMPARABLES)
    n = len(comparables)
    warnings = []
    if n < MIN_COMPARABLES:
        warnings.append("few_comparables")
        trace.step("market.warning.few_comparables",
                   f"Warning: only {n} comparable transaction(s); practice requires at least {MIN_COMPARABLES}",
                   f"提示：可比交易案例仅{n}个，实务要求至少{MIN_COMPARABLES}个", n)
    subject_quality = None
    if form == "quality_ratio":
        subject_quality = read_number(inputs, "quality", trace, "Quality score of the subject Q",
                                      "评估对象质量评分 Q", kind="positive")
    rows = []
    total = ZERO
    for i, comp in enumerate(comparables, start=1):
        if form == "adjustment":
            price = num(comp["price"], "comparables")
            raw_factors = comp.get("factors", [])
            if not isinstance(raw_factors, list | tuple):
                raise invalid("comparables", MSG_COMPARABLES)
            factors = [num(a, "comparables") for a in raw_factors]
            if price < 0 or any(a <= 0 for a in factors):
                raise invalid("comparables", N_("Prices must not be negative and adjustment factors must be positive."))
            product = ONE
            for a in factors:
                product *= a
            adjusted = price * product
            trace.input(f"comparable{i}", f"Comparable {i}: price and adjustment factors",
                        f"可比案例{i}：交易价格及调整系数", {"price": price, "factors": factors})
            trace.step(f"market.comparable{i}", f"Adjusted price of comparable {i}", f"可比案例{i}调整后价格",
                       fen(adjusted), f"P·Πa = {fen(price)} × " + " × ".join(str(a) for a in factors or [ONE]))
            rows.append({"index": i, "price": fen(price), "adjustment": rate6(product), "adjusted_value": fen(adjusted)})
        else:
            value = num(comp["value"], "comparables")
            quality = num(comp["quality"], "comparables")
            if value < 0 or quality <= 0:
                raise invalid("comparables", N_("Values must not be negative and quality scores must be positive."))
            ratio = subject_quality / quality
            adjusted = value * ratio
            trace.input(f"comparable{i}", f"Comparable {i}: value and quality score", f"可比案例{i}：价值及质量评分",
                        {"value": value, "quality": quality})
            trace.step(f"market.comparable{i}", f"Quality-adjusted value of comparable {i}", f"可比案例{i}质量调整后价值",
                       fen(adjusted), f"V_i·Q/Q_i = {fen(value)} × {subject_quality}/{quality}")
            rows.append({"index": i, "value": fen(value), "adjustment": rate6(ratio), "adjusted_value": fen(adjusted)})
        total += adjusted
    result = total / n
    value = fen(result)
    formula = "V = (1/n) Σ P_i·Π_k a_ik" if form == "adjustment" else "V = (1/n) Σ V_i·Q/Q_i"
    trace.step("market.value", "Value (market approach): mean of adjusted comparables", "评估值（市场法）：调整后案例均值",
               value, f"{formula} = {fen(total)} / {n}")
    return {"value": value, "currency": CURRENCY, "form": form, "comparable_count": n, "comparables": rows,
            "warnings": warnings}


# ---------------------------------------------------------------------------------------------
# Cost approach


@in_context
def replacement_cost_build_up(labour: Any, expenses: Any, overhead: Any, opportunity_cost: Any = "0",
                              profit_rate: Any = "0", tax_rate: Any = "0", trace: Trace | None = None) -> dict:
    """Replacement cost = R&D cost + opportunity cost + reasonable profit + taxes.

    R&D cost = labour + expenses + overhead.  The reasonable profit is R&D cost × cost-profit rate:
    the opportunity cost is itself a return on the capital tied up, so no profit is added to it.
    Taxes = (R&D cost + opportunity cost + profit) × tax rate (turnover taxes on the price).
    """
    trace = trace if trace is not None else Trace()
    parts = {}
    for name, raw, en, zh in (("labour", labour, "R&D labour", "研发人工成本"),
                              ("expenses", expenses, "R&D expenses", "研发费用"),
                              ("overhead", overhead, "Overhead", "间接费用"),
                              ("opportunity_cost", opportunity_cost, "Opportunity cost", "机会成本")):
        value = num(raw, name)
        if value < 0:
            raise invalid(name, N_("Must not be negative."))
        trace.input(name, en, zh, value)
        parts[name] = value
    profit_rate, tax_rate = num(profit_rate, "profit_rate"), num(tax_rate, "tax_rate")
    if profit_rate < 0:
        raise invalid("profit_rate", N_("Must not be negative."))
    if not ZERO <= tax_rate < ONE:
        raise invalid("tax_rate", MSG_TAX)
    trace.input("profit_rate", "Cost-profit rate", "成本利润率", profit_rate)
    trace.input("tax_rate", "Tax rate on the price", "相关税费率", tax_rate)
    rd = parts["labour"] + parts["expenses"] + parts["overhead"]
    trace.step("cost.rd_cost", "R&D cost", "研发成本", fen(rd), "labour + expenses + overhead")
    profit = rd * profit_rate
    trace.step("cost.profit", "Reasonable profit", "合理利润", fen(profit), f"{fen(rd)} × {profit_rate}")
    before_tax = rd + parts["opportunity_cost"] + profit
    taxes = before_tax * tax_rate
    trace.step("cost.taxes", "Taxes", "相关税费", fen(taxes), f"({fen(rd)} + {fen(parts['opportunity_cost'])} + "
               f"{fen(profit)}) × {tax_rate}")
    replacement = before_tax + taxes
    trace.step("cost.replacement_cost", "Replacement cost", "重置成本", fen(replacement),
               "R&D cost + opportunity cost + profit + taxes")
    return {"replacement_cost": fen(replacement), "rd_cost": fen(rd), "opportunity_cost": fen(parts["opportunity_cost"]),
            "profit": fen(profit), "taxes": fen(taxes)}


@in_context
def cost(inputs: dict, options: dict | None, trace: Trace) -> dict:
    """V = replacement cost × 成新率 × (1 − functional) × (1 − economic obsolescence).

    Physical depreciation enters through 成新率 = remaining/(used + remaining).  Functional and
    economic obsolescence are applied multiplicatively, each to what is left after the previous one,
    rather than added to the physical depreciation: the product never goes below zero and does not
    count the same loss twice (an asset already 70% worn cannot lose a further full 10% of its new
    value to technical progress).  Total depreciation is reported as 1 − V/RC.
    """
    normalise_options(options)
    if has(inputs, "replacement_cost") or not has(inputs, "labour"):
        replacement = read_number(inputs, "replacement_cost", trace, "Replacement cost", "重置成本",
                                  kind="non_negative")
        built = None
    else:
        names = ("labour", "expenses", "overhead", "opportunity_cost", "profit_rate", "tax_rate")
        defaults = {"opportunity_cost": "0", "profit_rate": "0", "tax_rate": "0"}
        args = {n: read_number(inputs, n, trace, n, n, default=defaults.get(n), record=False) for n in names}
        built = replacement_cost_build_up(**args, trace=trace)
        replacement = built["replacement_cost"]
    used = read_number(inputs, "used_years", trace, "Years used", "已使用年限", kind="non_negative")
    remaining = read_number(inputs, "remaining_years", trace, "Remaining useful years", "尚可使用年限",
                            kind="non_negative")
    if used + remaining <= 0:
        raise invalid("remaining_years", N_("Used plus remaining years must be greater than zero."))
    functional = read_number(inputs, "functional_obsolescence_rate", trace, "Functional obsolescence rate",
                             "功能性贬值率", default="0", kind="rate")
    economic = read_number(inputs, "economic_obsolescence_rate", trace, "Economic obsolescence rate",
                           "经济性贬值率", default="0", kind="rate")
    newness = remaining / (used + remaining)
    trace.step("cost.newness_rate", "Newness rate (成新率)", "成新率", rate6(newness),
               f"remaining/(used + remaining) = {remaining}/({used} + {remaining})")
    value_exact = replacement * newness * (ONE - functional) * (ONE - economic)
    value = fen(value_exact)
    trace.step("cost.value", "Value (cost approach)", "评估值（成本法）", value,
               f"V = RC × 成新率 × (1 − f) × (1 − e) = {fen(replacement)} × {rate6(newness)} × (1 − {functional}) "
               f"× (1 − {economic})")
    depreciation = ONE - value_exact / replacement if replacement > 0 else ZERO
    trace.step("cost.depreciation_rate", "Total depreciation rate", "综合贬值率", rate6(depreciation), "1 − V/RC")
    result = {"value": value, "currency": CURRENCY, "replacement_cost": fen(replacement),
              "newness_rate": rate6(newness), "depreciation_rate": rate6(depreciation)}
    if built is not None:
        result["replacement_cost_build_up"] = built
    return result

