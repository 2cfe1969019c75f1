"""Loan pricing and the borrower's all-in cost (lending-rules.md §4).  Pure module: no Django.

Rates
-----
:func:`rate_for`: loan rate = LPR + spread by risk grade, clamped to the product's floor and cap.
The LPR is given in percent as published (``Decimal("3.45")``), spreads in whole basis points, the
floor, the cap and the result as fractions (``Decimal("0.0425")``), rounded to 6 decimals half up.

All-in cost (:func:`all_in_cost`)
---------------------------------
all-in cost = interest + guarantee fee + insurance premium + valuation fee − subsidies, for one loan
of ``principal`` held for ``days`` days (a bullet loan: the principal is outstanding the whole time).
Give either ``days`` or the ``start_date`` and ``maturity_date``: the days are then the actual days
between them (31 for January), never 30 a month — a quote labelled ACT/360 counts actual days.

* interest = principal × annual rate × days / basis, basis 360 (``ACT/360``, the default) or 365
  (``ACT/365``), as :func:`ippledge.credit.engine.schedule.interest_between`;
* guarantee fee and insurance premium are annual rates on the principal, pro rata over the days on
  ``fee_day_count`` (``ACT/365`` by default, so a one-year loan of 365 days pays exactly the quoted
  rate, as guarantors and insurers quote it; ``ACT/360`` is allowed);
* the valuation fee is a fixed amount;
* subsidies are data, applied in the order given; each is ``{"name", "kind", "value"}`` with an
  optional ``"cap"`` (yuan) and an optional ``"max_annual_rate"`` (the subsidy applies only when the
  loan rate is at most this, as Beijing ZGC's "rate ≤ LPR × 1.4"):

  - ``rate``: principal × value × days / basis (the interest basis), e.g. Fujian 20% × LPR is
    ``value = 0.2 × LPR``;
  - ``share_of_interest``: interest × value (a fraction ≤ 1);
  - ``amount``: the fixed amount ``value``.

  Each is rounded to the fen, then capped by its ``cap``, then by the interest not yet subsidised
  by the subsidies before it, so the subsidy total never exceeds the interest and the net cost is
  never negative.  Each item says what limited it: ``None``, ``"cap"``, ``"interest"`` or
  ``"condition"`` (the rate condition failed; the subsidy is 0).
* effective annual cost rate = net cost / principal × basis / days (the interest basis), 6 decimals.

Every amount is a ``Decimal`` rounded to the fen, half up (:func:`ippledge.core.money.quantize`).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ippledge.core import exact
from ippledge.core.errors import N_
from ippledge.core.money import quantize

from . import schedule
from .schedule import DAY_BASIS

RATE_PLACES = Decimal("0.000001")
HUNDRED = Decimal(100)

BP = Decimal(10000)
ZERO = Decimal("0.00")
SUBSIDY_KINDS: tuple[str, ...] = ("rate", "share_of_interest", "amount")


# The input rules are core.exact's: one definition of what an engine number is.
_invalid = exact.invalid


def _non_negative(value: Any, name: str) -> Decimal:
    return exact.non_negative(value, name)


def _amount(value: Any, name: str) -> Decimal:
    """A non-negative amount in whole fen (a negative one is refused as a value, as every pricing input)."""
    return exact.amount(value, name, range_message=exact.NEGATIVE)


def _fraction(value: Any, name: str) -> Decimal:
    """A rate given as a fraction: 0 ≤ value < 1 (0.0425, not 4.25)."""
    rate = _non_negative(value, name)
    if rate >= 1:
        raise _invalid(name, N_("Give the rate as a fraction (0.0425 for 4.25%)."))
    return rate


def _basis(day_count: str, name: str = "day_count") -> Decimal:
    try:
        return DAY_BASIS[day_count]
    except (KeyError, TypeError):
        raise _invalid(name, N_("The day count must be ACT/360 or ACT/365.")) from None


def _rate(value: Decimal) -> Decimal:
    return value.quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


# --------------------------------------------------------------------------- loan rate

def rate_for(*, lpr: Any, spread_bp_by_grade: dict[str, int], grade: str,
             floor: Any = None, cap: Any = None) -> Decimal:
    """LPR / 100 + spread(grade) / 10000, clamped to [floor, cap], as a fraction with 6 decimals.

    The spread may be negative (a discount); the result, before the floor, must not be.
    """
    lpr = _non_negative(lpr, "lpr")
    if not isinstance(spread_bp_by_grade, dict) or grade not in spread_bp_by_grade:
        raise _invalid("grade", N_("No spread is set for this risk grade."))
    spread = spread_bp_by_grade[grade]
    if isinstance(spread, bool) or not isinstance(spread, int):
        raise _invalid("spread_bp_by_grade", N_("Give spreads as whole basis points."))
    low = _fraction(floor, "floor") if floor is not None else None
    high = _fraction(cap, "cap") if cap is not None else None
    if low is not None and high is not None and low > high:
        raise _invalid("floor", N_("The rate floor must not be above the rate cap."))
    rate = lpr / HUNDRED + Decimal(spread) / BP
    if low is not None:
        rate = max(rate, low)
    if high is not None:
        rate = min(rate, high)
    if rate < 0:
        raise _invalid("spread_bp_by_grade", N_("The loan rate must not be negative."))
    return _rate(rate)


# --------------------------------------------------------------------------- all-in cost

def _subsidy(item: Any, index: int) -> dict:
    name = f"subsidies[{index}]"
    if not isinstance(item, dict):
        raise _invalid(name, N_("A subsidy is a mapping with name, kind and value."))
    if item.get("kind") not in SUBSIDY_KINDS:
        raise _invalid(name, N_("A subsidy's kind must be rate, share_of_interest or amount."))
    kind = item["kind"]
    if kind == "amount":
        value = _amount(item.get("value"), name)
    elif kind == "rate":
        value = _fraction(item.get("value"), name)
    else:
        value = _non_negative(item.get("value"), name)
        if value > 1:
            raise _invalid(name, N_("A share of interest must be between 0 and 1."))
    cap = item.get("cap")
    max_rate = item.get("max_annual_rate")
    return {"name": str(item.get("name") or f"subsidy {index + 1}"), "kind": kind, "value": value,
            "cap": _amount(cap, name) if cap is not None else None,
            "max_annual_rate": _fraction(max_rate, name) if max_rate is not None else None}


def actual_days(start_date: Any, maturity_date: Any) -> int:
    """The actual days from ``start_date`` to ``maturity_date`` (at least 1)."""
    start = schedule._date(start_date, "start_date")
    maturity = schedule._date(maturity_date, "maturity_date")
    if maturity <= start:
        raise _invalid("maturity_date", N_("The maturity date must be after the start date."))
    return (maturity - start).days


def all_in_cost(*, principal: Any, annual_rate: Any, days: int | None = None, day_count: str = "ACT/360",
                guarantee_fee_rate: Any = 0, insurance_premium_rate: Any = 0, valuation_fee: Any = 0,
                subsidies: list[dict] | tuple = (), fee_day_count: str = "ACT/365",
                start_date: Any = None, maturity_date: Any = None) -> dict:
    """The borrower's cost of one loan, itemised (see the module docstring for the conventions).

    Returns ``{"principal", "annual_rate", "days", "day_count", ["start_date", "maturity_date",] "interest", "guarantee_fee",
    "insurance_premium", "valuation_fee", "subsidies", "subsidy_total", "gross_cost", "net_cost",
    "effective_annual_rate", "trace"}``; ``subsidies`` lists ``{"name", "kind", "value", "computed",
    "amount", "limited_by"}`` in input order; ``trace`` lists ``(label_en, label_zh, value)``.
    """
    principal = _amount(principal, "principal")
    if principal <= 0:
        raise _invalid("principal", N_("The principal must be more than zero."))
    rate = _fraction(annual_rate, "annual_rate")
    if start_date is not None or maturity_date is not None:
        counted = actual_days(start_date, maturity_date)
        if days is not None and days != counted:
            raise _invalid("days", N_("The days must be the actual days from the start to the maturity date."))
        days = counted
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise _invalid("days", N_("The number of days must be a whole number of at least 1."))
    basis = _basis(day_count)
    fee_basis = _basis(fee_day_count, "fee_day_count")
    guarantee_rate = _fraction(guarantee_fee_rate, "guarantee_fee_rate")
    premium_rate = _fraction(insurance_premium_rate, "insurance_premium_rate")
    valuation = _amount(valuation_fee, "valuation_fee")
    if subsidies is None:
        subsidies = ()
    if not isinstance(subsidies, list | tuple):
        raise _invalid("subsidies", N_("Give the subsidies as a list."))
    schemes = [_subsidy(item, index) for index, item in enumerate(subsidies)]

    interest = quantize(principal * rate * days / basis)
    guarantee = quantize(principal * guarantee_rate * days / fee_basis)
    premium = quantize(principal * premium_rate * days / fee_basis)

    items = []
    remaining = interest
    for scheme in schemes:
        if scheme["kind"] == "rate":
            computed = quantize(principal * scheme["value"] * days / basis)
        elif scheme["kind"] == "share_of_interest":
            computed = quantize(interest * scheme["value"])
        else:
            computed = scheme["value"]
        amount, limited_by = computed, None
        if scheme["max_annual_rate"] is not None and rate > scheme["max_annual_rate"]:
            amount, limited_by = ZERO, "condition"
        if scheme["cap"] is not None and amount > scheme["cap"]:
            amount, limited_by = scheme["cap"], "cap"
        if amount > remaining:
            amount, limited_by = remaining, "interest"
        remaining -= amount
        items.append({"name": scheme["name"], "kind": scheme["kind"], "value": scheme["value"],
                      "computed": computed, "amount": amount, "limited_by": limited_by})
    subsidy_total = sum((item["amount"] for item in items), ZERO)

    gross = interest + guarantee + premium + valuation
    net = gross - subsidy_total
    effective = _rate(net / principal * basis / days)

    trace: list[tuple[str, str, Any]] = [
        ("Principal", "本金", principal),
        ("Annual interest rate", "年利率", rate),
        ("Days (actual)", "实际天数", days),
        ("Day count", "计息基准", day_count),
        ("Interest", "利息", interest),
        ("Guarantee fee", "担保费", guarantee),
        ("Insurance premium", "保险费", premium),
        ("Valuation fee", "评估费", valuation),
    ]
    trace += [(f"Subsidy: {item['name']}", f"补贴：{item['name']}", item["amount"]) for item in items]
    trace += [
        ("Subsidy total", "补贴合计", subsidy_total),
        ("Net cost", "综合融资成本", net),
        ("Effective annual cost rate", "综合年化成本率", effective),
    ]
    dates = {} if start_date is None else {"start_date": start_date, "maturity_date": maturity_date}
    return {
        "principal": principal, "annual_rate": rate, "days": days, "day_count": day_count, **dates,
        "interest": interest, "guarantee_fee": guarantee, "insurance_premium": premium,
        "valuation_fee": valuation, "subsidies": items, "subsidy_total": subsidy_total,
        "gross_cost": gross, "net_cost": net, "effective_annual_rate": effective, "trace": trace,
    }
