"""Income approach (收益法): V = Σ_{t=1..n} K·R_t/(1+r)^t, end-of-year discounting.

Every stream method accepts the optional inputs ``economic_life`` and ``remaining_legal_years``;
the income period is n = min(len(stream), economic life, remaining legal term) (孰短原则).  Fractional
years are floored (a lender counts only whole years of income).  With ``renewal_expected`` true the
remaining legal term is a renewable trademark term that does not bound n (:mod:`.term`).

Pure module: no Django.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ippledge.core.errors import N_

from . import term
from .factors import (
    CURRENCY,
    MSG_RATE,
    ONE,
    ZERO,
    has,
    in_context,
    invalid,
    normalise_options,
    num,
    present_value,
    rate6,
    read_number,
    read_series,
    use_rate,
)
from .trace import Trace, fen

_BOUNDS = {
    "economic_life": ("Economic life (years)", "经济寿命（年）"),
    "remaining_legal_years": ("Remaining legal term (years)", "剩余法定保护期（年）"),
    "income_stream": ("Years of forecast income", "收益预测年数"),
}


def _new_trace(trace: Trace | None) -> Trace:
    return trace if trace is not None else Trace()


def income_period(length: int, inputs: dict, trace: Trace) -> tuple[int, str]:
    """n = min(len(stream), economic_life, remaining_legal_years); records which bound applied.

    A remaining legal term given with ``renewal_expected`` true (a trademark's current term, renewed
    by 10-year renewals) is shown but does not bound n (see :mod:`.term`)."""
    renewed = has(inputs, term.INPUT) and term.read(inputs[term.INPUT])
    if has(inputs, term.INPUT):
        trace.input(term.INPUT, "Renewal of the legal term expected", "预计续展法定保护期", renewed)
    candidates: list[tuple[str, int]] = []
    for name in ("economic_life", "remaining_legal_years"):
        if has(inputs, name):
            en, zh = _BOUNDS[name]
            years = read_number(inputs, name, trace, en, zh, kind="non_negative")
            whole = int(years)  # floor: years ≥ 0
            if whole != years:
                trace.step(f"period.{name}.floor", f"{en}, whole years counted", f"{zh}（取整年）", whole,
                           f"⌊{years}⌋")
            if name == "remaining_legal_years" and renewed:
                trace.step("period.remaining_legal_years.renewed",
                           "Current legal term, renewable and expected to be renewed: it does not bound the "
                           "income period", "当前保护期可续展且预计续展：不限制收益期", whole)
                continue
            candidates.append((name, whole))
    candidates.append(("income_stream", length))
    bound, n = min(candidates, key=lambda c: c[1])  # ties: the first named bound is reported
    formula = "n = min(" + ", ".join(f"{name}={years}" for name, years in candidates) + ")"
    trace.step("period.years", "Income period n (shorter of economic life and legal term)",
               "收益期 n（孰短原则）", n, formula)
    trace.step("period.bound", f"Binding limit: {_BOUNDS[bound][0]}", f"起决定作用的期限：{_BOUNDS[bound][1]}", bound)
    if n < length:
        trace.step("period.truncated", "Forecast years beyond the income period are not counted",
                   "超出收益期的预测收益不予计算", length - n)
    return n, bound


def _discount_rate(inputs: dict, options: dict, trace: Trace) -> Decimal:
    r = read_number(inputs, "discount_rate", trace, "Discount rate", "折现率", kind="rate")
    return use_rate(r, "discount_rate", options, trace, "Discount rate", "折现率")


def _tax(inputs: dict, trace: Trace, default: str | None = None) -> Decimal:
    return read_number(inputs, "tax_rate", trace, "Income tax rate", "所得税税率", kind="tax", default=default)


def _result(prefix: str, flows: list[Decimal], r: Decimal, options: dict, trace: Trace, n: int, bound: str,
            en: str, zh: str, formula: str, **extra: Any) -> dict:
    pv = present_value(flows, r, options["factor_mode"], trace, prefix=f"{prefix}.pv")
    value = fen(pv["value"])
    trace.step(f"{prefix}.value", en, zh, value, formula)
    return {"value": value, "currency": CURRENCY, "cash_flows": pv["cash_flows"], "period_years": n,
            "period_bound": bound, "discount_rate": rate6(r), "factor_mode": options["factor_mode"],
            "factor_basis": pv["factor_basis"], **extra}


# ---------------------------------------------------------------------------------------------
# Split (分成) methods


@in_context
def income(inputs: dict, options: dict | None, trace: Trace) -> dict:
    """Profit or sales split: V = Σ K·I_t·(1−T)/(1+r)^t."""
    options = normalise_options(options)
    base = read_series(inputs, "income", trace, "Income base per year (profit or sales)", "各年收益基数（利润或销售收入）")
    split = read_number(inputs, "split_rate", trace, "Split rate K", "分成率 K", default="1", kind="rate")
    split = use_rate(split, "split_rate", options, trace, "Split rate K", "分成率 K")
    tax = _tax(inputs, trace, default="0")
    r = _discount_rate(inputs, options, trace)
    n, bound = income_period(len(base), inputs, trace)
    flows = []
    for t in range(1, n + 1):
        flow = split * base[t - 1] * (ONE - tax)
        trace.step(f"income.cash_flow{t}", f"Income attributable to the IP, year {t}", f"第{t}年知识产权分成收益",
                   fen(flow), f"K·I{t}·(1−T) = {split} × {fen(base[t - 1])} × (1 − {tax})")
        flows.append(flow)
    return _result("income", flows, r, options, trace, n, bound, "Value (income approach, split)",
                   "评估值（收益法·分成）", "V = Σ K·I_t·(1−T)/(1+r)^t", split_rate=rate6(split))


@in_context
def profit_to_sales_split(alpha: Any, margin: Any, trace: Trace | None = None) -> Decimal:
    """Sales split β = profit split α × sales profit margin."""
    trace = _new_trace(trace)
    alpha, margin = num(alpha, "alpha"), num(margin, "margin")
    if not ZERO <= alpha <= ONE:
        raise invalid("alpha", MSG_RATE)
    if not ZERO <= margin <= ONE:
        raise invalid("margin", MSG_RATE)
    trace.input("alpha", "Profit split rate α", "利润分成率 α", alpha)
    trace.input("margin", "Sales profit margin", "销售利润率", margin)
    beta = rate6(alpha * margin)
    return trace.step("split.sales", "Sales split rate β", "销售收入分成率 β", beta, f"β = α × margin = {alpha} × {margin}")


@in_context
def split_from_score(low: Any, high: Any, score: Any, trace: Trace | None = None) -> Decimal:
    """Split rate from a weighted score (综合评价法): K = m + (n − m)·s, s ∈ [0, 1]."""
    trace = _new_trace(trace)
    low, high, score = num(low, "low"), num(high, "high"), num(score, "score")
    for name, value in (("low", low), ("high", high), ("score", score)):
        if not ZERO <= value <= ONE:
            raise invalid(name, MSG_RATE)
    if low > high:
        raise invalid("high", N_("The upper end of the band must not be below the lower end."))
    trace.input("low", "Lower end of the split band m", "分成率区间下限 m", low)
    trace.input("high", "Upper end of the split band n", "分成率区间上限 n", high)
    trace.input("score", "Weighted score s", "综合评分 s", score)
    split = rate6(low + (high - low) * score)
    return trace.step("split.from_score", "Split rate from the score", "按评分确定的分成率", split,
                      f"K = m + (n − m)·s = {low} + ({high} − {low}) × {score}")


@in_context
def equivalent_investment_split(inputs: dict, options: dict | None, trace: Trace) -> dict:
    """约当投资分成法: α = C_ip(1+L_ip)/[C_ip(1+L_ip) + C_b(1+L_b)], C_ip = cost × (1 + index change)."""
    options = normalise_options(options)
    cost = read_number(inputs, "ip_cost", trace, "IP replacement (or book) cost", "知识产权重置（账面）成本",
                       kind="non_negative")
    l_ip = read_number(inputs, "ip_cost_profit_rate", trace, "IP cost-profit rate L_ip", "知识产权成本利润率 L_ip",
                       kind="non_negative")
    other = read_number(inputs, "other_cost", trace, "Replacement cost of the other assets",
                        "其他资产重置成本", kind="non_negative")
    l_b = read_number(inputs, "other_cost_profit_rate", trace, "Other assets' cost-profit rate L_b",
                      "其他资产成本利润率 L_b", kind="non_negative")
    index = read_number(inputs, "ip_price_index_change", trace, "Price-index change since acquisition",
                        "购置以来物价指数变动率", default="0", kind="above_minus_one")
    c_ip = cost * (ONE + index)
    trace.step("split.ip_cost", "IP cost at current prices C_ip", "按现行价格计的知识产权成本 C_ip", fen(c_ip),
               f"C_ip = {fen(cost)} × (1 + {index})")
    ip_part = c_ip * (ONE + l_ip)
    other_part = other * (ONE + l_b)
    trace.step("split.ip_investment", "IP equivalent investment", "知识产权约当投资量", fen(ip_part),
               f"C_ip·(1+L_ip) = {fen(c_ip)} × (1 + {l_ip})")
    trace.step("split.other_investment", "Other assets' equivalent investment", "其他资产约当投资量",
               fen(other_part), f"C_b·(1+L_b) = {fen(other)} × (1 + {l_b})")
    total = ip_part + other_part
    if total <= 0:
        raise invalid("ip_cost", N_("The total equivalent investment must be greater than zero."))
    alpha = use_rate(ip_part / total, "split_rate", options, trace, "Split rate", "分成率")
    alpha = rate6(alpha)
    trace.step("split.rate", "Profit split rate α (equivalent investment)", "利润分成率 α（约当投资分成法）",
               alpha, "α = C_ip(1+L_ip) / [C_ip(1+L_ip) + C_b(1+L_b)]")
    return {"split_rate": alpha, "ip_investment": fen(ip_part), "other_investment": fen(other_part)}


# ---------------------------------------------------------------------------------------------
# Excess earnings methods


@in_context
def incremental_income(inputs: dict, options: dict | None, trace: Trace) -> dict:
    """Price premium plus cost saving: R_t = [(P₂−P₁)·Q_t + (C₁−C₂)·Q_t]·(1−T)."""
    options = normalise_options(options)
    p1 = read_number(inputs, "price_before", trace, "Unit price without the IP P₁", "使用前单价 P₁", kind="non_negative")
    p2 = read_number(inputs, "price_after", trace, "Unit price with the IP P₂", "使用后单价 P₂", kind="non_negative")
    c1 = read_number(inputs, "unit_cost_before", trace, "Unit cost without the IP C₁", "使用前单位成本 C₁",
                     kind="non_negative")
    c2 = read_number(inputs, "unit_cost_after", trace, "Unit cost with the IP C₂", "使用后单位成本 C₂",
                     kind="non_negative")
    quantity = read_series(inputs, "quantity", trace, "Quantity sold per year Q", "各年销售量 Q", kind="non_negative")
    tax = _tax(inputs, trace)
    r = _discount_rate(inputs, options, trace)
    n, bound = income_period(len(quantity), inputs, trace)
    flows = []
    for t in range(1, n + 1):
        q = quantity[t - 1]
        premium, saving = (p2 - p1) * q, (c1 - c2) * q
        flow = (premium + saving) * (ONE - tax)
        trace.step(f"incremental.cash_flow{t}", f"Incremental income after tax, year {t}", f"第{t}年税后超额收益",
                   fen(flow), f"[(P₂−P₁)·Q + (C₁−C₂)·Q]·(1−T) = [{fen(premium)} + {fen(saving)}] × (1 − {tax})")
        flows.append(flow)
    return _result("incremental", flows, r, options, trace, n, bound, "Value (incremental income)",
                   "评估值（增量收益法）", "V = Σ R_t/(1+r)^t")


@in_context
def excess_return(inputs: dict, options: dict | None, trace: Trace) -> dict:
    """R_t = (total income_t − total assets × industry return rate)·(1−T)."""
    options = normalise_options(options)
    total_income = read_series(inputs, "total_income", trace, "Total income per year", "各年总收益")
    assets = read_number(inputs, "total_assets", trace, "Total assets", "资产总额", kind="non_negative")
    industry = read_number(inputs, "industry_return_rate", trace, "Industry average return rate",
                           "行业平均资产收益率", kind="rate")
    tax = _tax(inputs, trace, default="0")
    r = _discount_rate(inputs, options, trace)
    n, bound = income_period(len(total_income), inputs, trace)
    normal = assets * industry
    trace.step("excess.normal_return", "Normal return on total assets", "资产正常收益", fen(normal),
               f"{fen(assets)} × {industry}")
    flows = []
    for t in range(1, n + 1):
        flow = (total_income[t - 1] - normal) * (ONE - tax)
        trace.step(f"excess.cash_flow{t}", f"Excess return after tax, year {t}", f"第{t}年税后超额收益", fen(flow),
                   f"(E{t} − A·i)·(1−T) = ({fen(total_income[t - 1])} − {fen(normal)}) × (1 − {tax})")
        flows.append(flow)
    return _result("excess", flows, r, options, trace, n, bound, "Value (excess return)", "评估值（超额收益法）",
                   "V = Σ (E_t − A·i)(1−T)/(1+r)^t")


@in_context
def relief_from_royalty(inputs: dict, options: dict | None, trace: Trace) -> dict:
    """许可费节省法: V = Σ S_t·royalty·(1−T)/(1+r)^t."""
    options = normalise_options(options)
    sales = read_series(inputs, "sales", trace, "Sales per year", "各年销售收入")
    royalty = read_number(inputs, "royalty_rate", trace, "Royalty rate", "许可费率", kind="rate")
    royalty = use_rate(royalty, "royalty_rate", options, trace, "Royalty rate", "许可费率")
    tax = _tax(inputs, trace)
    r = _discount_rate(inputs, options, trace)
    n, bound = income_period(len(sales), inputs, trace)
    flows = []
    for t in range(1, n + 1):
        flow = sales[t - 1] * royalty * (ONE - tax)
        trace.step(f"royalty.cash_flow{t}", f"Royalty saved after tax, year {t}", f"第{t}年税后节省许可费", fen(flow),
                   f"S{t}·royalty·(1−T) = {fen(sales[t - 1])} × {royalty} × (1 − {tax})")
        flows.append(flow)
    return _result("royalty", flows, r, options, trace, n, bound, "Value (relief from royalty)",
                   "评估值（许可费节省法）", "V = Σ S_t·royalty·(1−T)/(1+r)^t", royalty_rate=rate6(royalty))


def _charges(inputs: dict, years: int, trace: Trace) -> list[Decimal]:
    """Total contributory asset charges per year from [[per asset per year]] or [per year]."""
    raw = inputs.get("contributory_charges") if isinstance(inputs, dict) else None
    if raw is None:
        raise invalid("contributory_charges")
    message = N_("Give one charge per year of EBIT, or one such list per contributory asset.")
    if not isinstance(raw, list | tuple):
        raise invalid("contributory_charges", message)
    if not raw:
        trace.input("contributory_charges", "Contributory asset charges", "贡献资产回报", [])
        return [ZERO] * years
    if all(isinstance(row, list | tuple) for row in raw):
        rows = [[num(v, "contributory_charges") for v in row] for row in raw]
    elif not any(isinstance(row, list | tuple) for row in raw):
        rows = [[num(v, "contributory_charges") for v in raw]]
    else:
        raise invalid("contributory_charges", message)
    if any(len(row) != years for row in rows):
        raise invalid("contributory_charges", message)
    trace.input("contributory_charges", "Contributory asset charges (per asset, per year)",
                "贡献资产回报（分资产、分年度）", rows)
    return [sum((row[t] for row in rows), ZERO) for t in range(years)]


@in_context
def mpeem(inputs: dict, options: dict | None, trace: Trace) -> dict:
    """多期超额收益法: V = Σ (EBIT_t(1−T) − Σ_k CAC_k,t)/(1+r)^t."""
    options = normalise_options(options)
    ebit = read_series(inputs, "ebit", trace, "EBIT per year", "各年息税前利润")
    tax = _tax(inputs, trace)
    charges = _charges(inputs, len(ebit), trace)
    r = _discount_rate(inputs, options, trace)
    n, bound = income_period(len(ebit), inputs, trace)
    flows = []
    for t in range(1, n + 1):
        after_tax = ebit[t - 1] * (ONE - tax)
        flow = after_tax - charges[t - 1]
        trace.step(f"mpeem.cash_flow{t}", f"Excess earnings, year {t}", f"第{t}年超额收益", fen(flow),
                   f"EBIT·(1−T) − ΣCAC = {fen(ebit[t - 1])} × (1 − {tax}) − {fen(charges[t - 1])}")
        flows.append(flow)
    return _result("mpeem", flows, r, options, trace, n, bound, "Value (multi-period excess earnings)",
                   "评估值（多期超额收益法）", "V = Σ (EBIT_t(1−T) − Σ_k CAC_k,t)/(1+r)^t")
