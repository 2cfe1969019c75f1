"""The lender's values (valuation-methods.md §3): market value, range, horizon and liquidation value,
maximum loan and implied pledge rate (质押率).

    market value      = blended point value (default: income P50), given by the caller
    range             = [P10, P90]
    horizon value     V_H,q = q-quantile of the value at the loan horizon H (default q = 10%)
    liquidation value = max(0, V_H,q × (1 − forced-sale discount) − disposal costs)   (default discount 40%)
    maximum loan      = min(LTV cap(kind) × market value, liquidation value, product cap)
    pledge rate       = maximum loan / market value   (6 decimals)

Pure module (Decimal arithmetic; NumPy only in ``horizon_quantile_value``), no Django.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ippledge.core.errors import N_
from ippledge.core.exact import invalid as _invalid

from .trace import Trace, dec, fen

RATE = Decimal("0.000001")

# Default loan-to-value caps by kind of right.  From valuation-methods.md §3: one large bank caps
# invention patents at 25% of the appraised value, utility models at 15% and trademarks at 50%;
# the others are set inside the market practice it cites (patents and copyrights commonly 20–40%,
# trademarks 30–50%): design as a utility model (15%), copyright and software 30%, IC layout 20%,
# geographical indication 30%, a bundle 35%.  Every cap is configurable: pass ``ltv_caps``
# (merged over these defaults) or change the bank's settings.
DEFAULT_LTV_CAPS: dict[str, Decimal] = {
    "invention": Decimal("0.25"),
    "utility_model": Decimal("0.15"),
    "design": Decimal("0.15"),
    "trademark": Decimal("0.50"),
    "copyright": Decimal("0.30"),
    "software": Decimal("0.30"),
    "ic_layout": Decimal("0.20"),
    "geographical_indication": Decimal("0.30"),
    "bundle": Decimal("0.35"),
}

DEFAULT_FORCED_SALE_DISCOUNT = Decimal("0.40")
DEFAULT_HORIZON_QUANTILE = Decimal("0.10")




def _amount(value: Any, name: str) -> Decimal:
    parsed = value if isinstance(value, Decimal) else dec(value, name)
    if not parsed.is_finite() or parsed < 0:
        raise _invalid(name, N_("Give an amount of zero or more."))
    return parsed


def _fraction(value: Any, name: str) -> Decimal:
    parsed = value if isinstance(value, Decimal) else dec(value, name)
    if not parsed.is_finite() or not 0 <= parsed <= 1:
        raise _invalid(name, N_("Give a fraction between 0 and 1."))
    return parsed


def ltv_caps_with(overrides: dict | None) -> dict[str, Decimal]:
    """The default caps with ``overrides`` ({kind: decimal string}) merged over them, validated."""
    caps = dict(DEFAULT_LTV_CAPS)
    if overrides:
        if not isinstance(overrides, dict):
            raise _invalid("ltv_caps", N_("Give the caps as an object of kind: fraction."))
        for kind, cap in overrides.items():
            caps[str(kind)] = _fraction(cap, f"ltv_caps.{kind}")
    return caps


def ltv_cap(kind: str, ltv_caps: dict | None = None) -> Decimal:
    caps = ltv_caps_with(ltv_caps)
    if kind not in caps:
        raise _invalid("kind", N_("No loan-to-value cap is set for this kind of right."))
    return caps[kind]


def horizon_quantile_value(horizon_values, q: Any = DEFAULT_HORIZON_QUANTILE) -> Decimal:
    """V_H,q: the q-quantile (linear interpolation) of simulated values at the horizon, to the fen."""
    import numpy as np

    qq = _fraction(q, "quantile")
    values = np.asarray(horizon_values, dtype=np.float64)
    if values.size == 0:
        raise _invalid("horizon_values", N_("No simulated values."))
    return fen(float(np.quantile(values, float(qq))))


def lender_values(*, market_value, p10, p90, horizon_quantile_value, kind: str, ltv_caps: dict | None = None,
                  forced_sale_discount=DEFAULT_FORCED_SALE_DISCOUNT, disposal_costs=Decimal("0"),
                  product_cap=None, trace: Trace) -> dict:
    """The lender's figures for one right (or a bundle, ``kind="bundle"``).

    Amounts may be Decimal or decimal strings.  Returns Decimal fen amounts: ``market_value``,
    ``range`` {``p10``, ``p90``}, ``horizon_value``, ``liquidation_value``, ``ltv_limit``
    (cap × market value), ``product_cap`` (or None), ``max_loan``; rates ``ltv_cap``,
    ``forced_sale_discount``, ``pledge_rate`` (6 dp); ``disposal_costs``; ``binding`` (which term of
    the minimum sets the loan: ``ltv_cap`` | ``liquidation_value`` | ``product_cap``); ``kind``;
    ``currency``.
    """
    mv = _amount(market_value, "market_value")
    lo = _amount(p10, "p10")
    hi = _amount(p90, "p90")
    if lo > hi:
        raise _invalid("p10", N_("P10 cannot be above P90."))
    vh = _amount(horizon_quantile_value, "horizon_quantile_value")
    discount = _fraction(forced_sale_discount, "forced_sale_discount")
    costs = _amount(disposal_costs, "disposal_costs")
    cap_amount = None if product_cap is None else _amount(product_cap, "product_cap")
    cap = ltv_cap(kind, ltv_caps)

    trace.input("lender.kind", "Kind of right", "权利类型", kind)
    trace.input("lender.market_value", "Market value (point value)", "市场价值（点估计）", fen(mv))
    trace.input("lender.range", "Range [P10, P90]", "价值区间 [P10, P90]", [fen(lo), fen(hi)])
    trace.input("lender.horizon_value", "Value at the loan horizon, V_H,q", "贷款期限时点价值 V_H,q", fen(vh))
    trace.input("lender.forced_sale_discount", "Forced-sale discount", "强制变现折扣", discount)
    trace.input("lender.disposal_costs", "Disposal costs", "处置费用", fen(costs))

    liquidation = max(Decimal(0), vh * (1 - discount) - costs)
    liquidation = trace.step("lender.liquidation_value", "Liquidation value", "清算价值（变现价值）", fen(liquidation),
                             formula="max(0, V_H,q × (1 − discount) − disposal costs)")
    ltv_limit = trace.step("lender.ltv_limit", f"LTV cap {cap} × market value",
                           f"质押率上限 {cap} × 市场价值", fen(cap * mv), formula="LTV cap(kind) × market value")
    terms = [("ltv_cap", ltv_limit), ("liquidation_value", liquidation)]
    if cap_amount is not None:
        terms.append(("product_cap", fen(cap_amount)))
        trace.step("lender.product_cap", "Product cap", "产品额度上限", fen(cap_amount))
    binding, max_loan = min(terms, key=lambda t: t[1])
    trace.step("lender.max_loan", "Maximum loan", "最高贷款额", max_loan,
               formula="min(LTV cap × market value, liquidation value, product cap)")
    trace.step("lender.binding", "Binding limit", "起约束作用的限额", binding)
    pledge_rate = (max_loan / mv).quantize(RATE, rounding=ROUND_HALF_UP) if mv > 0 else Decimal("0.000000")
    trace.step("lender.pledge_rate", "Implied pledge rate", "隐含质押率", pledge_rate,
               formula="maximum loan / market value")
    return {"kind": kind, "market_value": fen(mv), "range": {"p10": fen(lo), "p90": fen(hi)},
            "horizon_value": fen(vh), "forced_sale_discount": discount, "disposal_costs": fen(costs),
            "liquidation_value": liquidation, "ltv_cap": cap, "ltv_limit": ltv_limit,
            "product_cap": None if cap_amount is None else fen(cap_amount), "max_loan": max_loan,
            "binding": binding, "pledge_rate": pledge_rate, "currency": "CNY"}
