"""The loan page's collateral and borrower-review section: ``{% load review_tags %}{% loan_reviews l.loan_no %}``
renders ``monitoring/review_section.html`` for whoever may read the loan's reviews (nothing for the
borrower or anyone else)."""

from __future__ import annotations

from django import template

from ippledge.core import business_date
from ippledge.core.errors import DomainError

register = template.Library()


def _percent(value) -> str:
    return f"{value * 100:.2f}%" if value is not None else ""


def section(user, loan, form=None) -> dict:
    """What the section shows: the loan's LTV position, its reviews (newest first) with their computed
    changes, the open classification proposal, and the review form for those who may record one."""
    from ippledge.monitoring import ltv, reviews
    from ippledge.monitoring.review_views import ReviewForm

    rows = list(loan.reviews.select_related("recorded_by").order_by("-seq"))
    may_record = reviews.may_record(user, loan)
    position = ltv.position_of(loan.pk)
    if position is not None:
        position["ltv_percent"] = _percent(position["ltv"])
        position["pledge_rate_percent"] = _percent(position["pledge_rate"])
    return {"loan_no": loan.loan_no, "reviews": rows, "position": position,
            "next_due": reviews.review_waiting(loan, rows[0] if rows else None),
            "proposal": reviews.open_proposal(loan), "may_record": may_record,
            "may_reclassify": reviews.may_reclassify(user, loan),
            "form": (form or ReviewForm()) if may_record else None, "today": business_date.today()}


@register.inclusion_tag("monitoring/review_section.html", takes_context=True)
def loan_reviews(context, loan_no: str) -> dict:
    from ippledge.monitoring import reviews

    request = context.get("request")
    user = getattr(request, "user", None)
    try:
        loan = reviews.readable_loan(actor=user, loan_no=loan_no)
    except DomainError:
        return {"s": None}
    return {"s": section(user, loan), "csrf_token": context.get("csrf_token"), "request": request}
