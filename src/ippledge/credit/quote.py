"""The approval quote of a credit case: the rate from the LPR in force and the borrower's all-in cost.

Interest is quoted by actual days under the ACT/360 basis, from the pricing date (the loan's start)
to the maturity the contract will carry (``term_months`` later, month-end clamped): January is 31
days, not 30.  A quote priced while a later LPR fixing is missing carries ``lpr_warning``
(:func:`ippledge.credit.lpr.staleness`), shown to the officer on the case page and in the API.

The insurance premium is the product's nominal rate until the loan has a guarantee policy in force: then
it is the policy's premium over the term, less the premium subsidy its scheme grants
(:mod:`ippledge.credit.costs`: the policy is read through a registered premium source, so credit does
not import risk sharing).  :func:`loan_cost` is the all-in cost of a loan as lent.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from ippledge.core import money
from ippledge.core.calendar import add_months
from ippledge.valuation.engine.trace import render

from . import costs, lpr
from .engine import pricing
from .models import CreditCase, Loan, SubsidyScheme

DAY_COUNT = "ACT/360"
RATE_PLACES = Decimal("0.000001")


def _subsidies(region_code: str) -> list[dict]:
    return [{"name": s.name, "kind": s.kind, "value": s.value, "cap": money.from_fen(s.cap) if s.cap else None}
            for s in SubsidyScheme.objects.filter(active=True, region_code__in=["", region_code])]


def with_policy(cost: dict, terms: costs.PremiumTerms | None) -> dict:
    """The engine's cost with the premium of a real policy instead of the nominal rate's (unchanged
    without one): the premium over the term, the scheme's premium subsidy, and the totals again."""
    if terms is None:
        cost["insurance_source"] = "product"
        return cost
    premium, subsidy = money.quantize(terms.premium), money.quantize(terms.subsidy)
    gross = cost["gross_cost"] - cost["insurance_premium"] + premium
    net = gross - cost["subsidy_total"] - subsidy
    basis = Decimal(360 if str(cost["day_count"]).endswith("360") else 365)
    effective = (net / cost["principal"] * basis / cost["days"]).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)
    cost.update({"insurance_source": "policy", "insurance_policy": terms.reference,
                 "insurance_premium_rate": terms.annual_rate, "insurance_premium": premium,
                 "insurance_premium_subsidy": subsidy, "gross_cost": gross, "net_cost": net,
                 "effective_annual_rate": effective})
    trace = [row for row in cost.get("trace", []) if row[0] not in ("Net cost", "Effective annual cost rate")]
    trace = [(en, zh, premium) if en == "Insurance premium" else (en, zh, v) for en, zh, v in trace]
    trace += [("Insurance premium subsidy", "保费补贴", subsidy), ("Net cost", "综合融资成本", net),
              ("Effective annual cost rate", "综合年化成本率", effective)]
    cost["trace"] = trace
    return cost


def price(case: CreditCase, on: dt.date) -> dict:
    """The quote of ``case`` priced on ``on`` (JSON-ready: decimals and dates as strings)."""
    fixing = lpr.rate_in_force(on, case.product.lpr_tenor)
    rate = pricing.rate_for(lpr=fixing.rate, spread_bp_by_grade=case.product.spreads_bp, grade=case.risk_grade,
                            floor=case.product.rate_floor, cap=case.product.rate_cap)
    maturity = add_months(on, case.term_months)
    cost = pricing.all_in_cost(principal=money.from_fen(case.amount), annual_rate=rate, day_count=DAY_COUNT,
                               start_date=on, maturity_date=maturity,
                               guarantee_fee_rate=case.product.guarantee_fee_rate,
                               insurance_premium_rate=case.product.insurance_premium_rate,
                               subsidies=_subsidies(case.enterprise.region_code))
    loan = case.loan if case.loan_id else None
    cost = with_policy(cost, costs.premium_terms(loan, on))
    cost["start_date"], cost["maturity_date"] = on.isoformat(), maturity.isoformat()
    quote = {"lpr": fixing.rate, "lpr_fixing_date": fixing.fixing_date.isoformat(), "tenor": fixing.tenor,
             "spread_bp": case.product.spreads_bp.get(case.risk_grade), "rate": rate,
             "convention": DAY_COUNT, "all_in": cost}
    warning = lpr.staleness(on, fixing)
    if warning is not None:
        quote["lpr_warning"] = warning
    return render(quote)


def loan_cost(loan: Loan, on: dt.date) -> dict:
    """The all-in cost of ``loan`` as lent (its amount, rate, dates and day count): the guarantee fee and
    nominal premium of its case's product, its guarantee policy's premium and subsidy where it has one in
    force on ``on``, the interest subsidies of the borrower's region (JSON-ready)."""
    case = CreditCase.objects.filter(loan=loan).select_related("product").first()
    product = case.product if case is not None else None
    day_count = loan.day_count if loan.day_count in ("ACT/360", "ACT/365") else DAY_COUNT
    cost = pricing.all_in_cost(principal=money.from_fen(loan.amount), annual_rate=loan.annual_rate,
                               day_count=day_count, start_date=loan.start_date, maturity_date=loan.maturity_date,
                               guarantee_fee_rate=product.guarantee_fee_rate if product else 0,
                               insurance_premium_rate=product.insurance_premium_rate if product else 0,
                               subsidies=_subsidies(loan.borrower.region_code))
    cost = with_policy(cost, costs.premium_terms(loan, on))
    cost["start_date"], cost["maturity_date"] = loan.start_date.isoformat(), loan.maturity_date.isoformat()
    return render(cost)
