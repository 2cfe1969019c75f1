"""The loan's guarantee insurance panel: ``{% load insurance_tags %}{% loan_insurance loan_no %}`` renders
``risksharing/insurance_loan_panel.html`` — the loan's guarantee policy (pending or in force) with its
status, premium and subsidy, and for the lending bank's staff the loan's all-in cost read with the policy.
Credit sits below risk sharing and imports nothing of it: its loan page loads this library by name."""

from __future__ import annotations

from django import template

from ippledge.core import business_date
from ippledge.core.errors import DomainError

register = template.Library()


def panel(user, loan_no: str) -> dict | None:
    """What the panel shows to ``user``: ``None`` for whoever reads neither the loan nor its policy."""
    from ippledge.credit import quote
    from ippledge.credit import services as credit

    from .. import services_insurance as insurance
    from ..models import InsurancePolicy, PolicyStatus

    if user is None or not getattr(user, "is_authenticated", False) or not loan_no:
        return None
    try:
        loan = credit.get_loan(actor=user, loan_no=loan_no)
    except DomainError:
        return None
    live = InsurancePolicy.objects.filter(loan=loan, status__in=[PolicyStatus.PENDING, PolicyStatus.ACTIVE]) \
        .select_related("insurer").prefetch_related("instalments").first()
    lender = True
    try:
        credit.require_bank_staff(user, loan.bank)
    except DomainError:
        lender = False
    if live is None and not lender:
        return None
    readable = False
    if live is not None:
        try:
            readable = insurance.policies_for(user).filter(pk=live.pk).exists()
        except DomainError:
            readable = False
    cost = None
    if lender:
        try:
            cost = quote.loan_cost(loan, business_date.today())
        except DomainError:
            cost = None
    return {"policy": live, "status": insurance.status_of(live) if live else None,
            "totals": insurance.totals(live) if live else None, "link": readable, "cost": cost,
            "rate": f"{(live.premium_rate * 100).normalize():f} %" if live else None}


@register.inclusion_tag("risksharing/insurance_loan_panel.html", takes_context=True)
def loan_insurance(context, loan_no: str) -> dict:
    request = context.get("request")
    return {"p": panel(getattr(request, "user", None), loan_no)}
