"""The approval quote of a credit case: the rate from the LPR in force and the borrower's all-in cost.

Interest is quoted by actual days under the ACT/360 basis, from the pricing date (the loan's start)
to the maturity the contract will carry (``term_months`` later, month-end clamped): January is 31
days, not 30.  A quote priced while a later LPR fixing is missing carries ``lpr_warning``
(:func:`ippledge.credit.lpr.staleness`), shown to the officer on the case page and in the API.
"""

from __future__ import annotations

import datetime as dt

from ippledge.core import money
from ippledge.core.calendar import add_months
from ippledge.valuation.engine.trace import render

from . import lpr
from .engine import pricing
from .models import CreditCase, SubsidyScheme

DAY_COUNT = "ACT/360"


def price(case: CreditCase, on: dt.date) -> dict:
    """The quote of ``case`` priced on ``on`` (JSON-ready: decimals and dates as strings)."""
    fixing = lpr.rate_in_force(on, case.product.lpr_tenor)
    rate = pricing.rate_for(lpr=fixing.rate, spread_bp_by_grade=case.product.spreads_bp, grade=case.risk_grade,
                            floor=case.product.rate_floor, cap=case.product.rate_cap)
    subsidies = [{"name": s.name, "kind": s.kind, "value": s.value, "cap": money.from_fen(s.cap) if s.cap else None}
                 for s in SubsidyScheme.objects.filter(active=True, region_code__in=["", case.enterprise.region_code])]
    maturity = add_months(on, case.term_months)
    cost = pricing.all_in_cost(principal=money.from_fen(case.amount), annual_rate=rate, day_count=DAY_COUNT,
                               start_date=on, maturity_date=maturity,
                               guarantee_fee_rate=case.product.guarantee_fee_rate,
                               insurance_premium_rate=case.product.insurance_premium_rate, subsidies=subsidies)
    cost["start_date"], cost["maturity_date"] = on.isoformat(), maturity.isoformat()
    quote = {"lpr": fixing.rate, "lpr_fixing_date": fixing.fixing_date.isoformat(), "tenor": fixing.tenor,
             "spread_bp": case.product.spreads_bp.get(case.risk_grade), "rate": rate,
             "convention": DAY_COUNT, "all_in": cost}
    warning = lpr.staleness(on, fixing)
    if warning is not None:
        quote["lpr_warning"] = warning
    return render(quote)
