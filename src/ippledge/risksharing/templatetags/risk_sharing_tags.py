"""The loan's and the credit case's risk-sharing panel: ``{% load risk_sharing_tags %}{% loan_risk_sharing loan_no %}``
renders ``risksharing/_loan_panel.html`` — the scheme the loan is enrolled in, its claim, and for the lending
bank's staff the way to the loan's risk-sharing page (enrol, claim, write off).  Credit sits below risk sharing
and imports nothing of it: its templates load this library by name, as they load monitoring's."""

from __future__ import annotations

from django import template

from ippledge.core.errors import DomainError

register = template.Library()


def panel(user, loan_no: str) -> dict | None:
    """What the panel shows to ``user``, or ``None`` for whoever reads neither the loan nor its enrolment."""
    from ippledge.credit import services as credit

    from ..models import Claim, Enrolment

    if user is None or not getattr(user, "is_authenticated", False) or not loan_no:
        return None
    enrolment = Enrolment.objects.restrict(user, "view").filter(loan__loan_no=loan_no) \
        .select_related("scheme", "loan").first()
    lender = False
    try:
        loan = credit.get_loan(actor=user, loan_no=loan_no)
        credit.require_bank_staff(user, loan.bank)
        lender = True
    except DomainError:
        if enrolment is None:
            return None
    claim = Claim.objects.filter(loan__loan_no=loan_no).first() if enrolment is not None else None
    return {"loan_no": loan_no, "enrolment": enrolment, "claim": claim,
            "lender": lender}


@register.inclusion_tag("risksharing/_loan_panel.html", takes_context=True)
def loan_risk_sharing(context, loan_no: str) -> dict:
    request = context.get("request")
    return {"p": panel(getattr(request, "user", None), loan_no)}
