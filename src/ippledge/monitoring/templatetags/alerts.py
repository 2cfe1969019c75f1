"""Open alerts where a bank works: its desk's counts, and the open alerts of one loan or one pledge.

``{% load alerts %}{% alert_counts as counts %}`` → ``{"open", "overdue"}`` of the user's visible alerts;
``{% open_alerts loan_no=l.loan_no as rows %}`` / ``{% open_alerts registration_no=… as rows %}`` → the
live alerts the user may see (none for anyone without a monitor), for ``monitoring/_open_alerts.html``.
"""

from __future__ import annotations

from django import template

from ippledge.core import business_date

register = template.Library()
SHOWN = 20


def _visible(context):
    from ippledge.monitoring import services
    from ippledge.monitoring.models import LIVE_STATUSES
    from ippledge.monitoring.monitor import scope_for

    request = context.get("request")
    user = getattr(request, "user", None)
    if scope_for(user) is None:
        return None
    return services.visible_alerts(user).filter(status__in=LIVE_STATUSES)


@register.simple_tag(takes_context=True)
def alert_counts(context) -> dict | None:
    alerts = _visible(context)
    if alerts is None:
        return None
    return {"open": alerts.count(), "overdue": alerts.filter(due_date__lt=business_date.today()).count()}


@register.simple_tag(takes_context=True)
def open_alerts(context, loan_no: str = "", registration_no: str = "") -> list[dict] | None:
    from ippledge.monitoring import services

    alerts = _visible(context)
    if alerts is None or not (loan_no or registration_no):
        return None
    alerts = alerts.filter(loan__loan_no=loan_no) if loan_no else alerts.filter(pledge__registration_no=registration_no)
    today = business_date.today()
    return [{"alert": a, "action": services.required_action(a), "overdue": a.due_date < today}
            for a in alerts.select_related("right").order_by("due_date", "pk")[:SHOWN]]
