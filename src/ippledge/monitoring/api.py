"""Alerts API (mounted at /api/v1/alerts): the bank's alert list, acknowledge, resolve.

Scope is ``services.visible_alerts``: a bank's staff read their bank's alerts, regulators all, others
none (an empty list, not an error).  An alert outside the caller's scope answers 404 ``alert_not_found``,
so its existence is not revealed.  Bodies are typed loosely and parsed by the service after the
permission check (a stranger's malformed body answers 403/404, not 422).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from pydantic import WithJsonSchema

from ippledge.core.errors import ValidationFailed

from . import services
from .models import AlertKind, AlertStatus, Severity

router = Router(tags=["monitoring"])

Text = Annotated[Any, WithJsonSchema({"type": "string"})]
MAX_PAGE = 200
MAX_OFFSET = 1_000_000


class RightRef(Schema):
    kind: str
    number: str


class AlertOut(Schema):
    id: int
    kind: str = Field(description="annuity_due, annuity_grace, right_terminated, … (see the alert kinds)")
    severity: str = Field(description="info | warning | critical")
    status: str = Field(description="open | acknowledged | resolved")
    registration_no: str = Field(description="the pledge registration, empty when the alert is the loan's only")
    right: RightRef | None
    loan_no: str
    owner_org_id: int = Field(description="the bank that owns the alert")
    due_date: dt.date
    required_action: str = Field(description="what to do, in the request's language")
    detail: dict
    created_at: dt.datetime


class AlertPage(Schema):
    results: list[AlertOut]
    count: int = Field(description="alerts matching the filters (all pages)")


class ResolveIn(Schema):
    resolution: Annotated[Any, WithJsonSchema({"type": "string", "enum": [str(r) for r in services.USER_RESOLUTIONS]})]
    note: Text = ""


def _choice(value: str | None, choices, field: str) -> str | None:
    if value in (None, ""):
        return None
    if value not in choices:
        message = _("Choose one of: %s") % ", ".join(choices)
        raise ValidationFailed(message, fields={field: [message]})
    return value


@router.get("", response=AlertPage, summary="Alerts on the pledges and loans you may see")
def list_alerts(request, status: str | None = None, kind: str | None = None, severity: str | None = None,
                loan_no: str | None = None, registration_no: str | None = None, limit: int = 50, offset: int = 0):
    qs = services.visible_alerts(request.auth)
    filters = {"status": _choice(status, AlertStatus.values, "status"), "kind": _choice(kind, AlertKind.values, "kind"),
               "severity": _choice(severity, Severity.values, "severity")}
    qs = qs.filter(**{k: v for k, v in filters.items() if v is not None})
    if loan_no:
        qs = qs.filter(loan__loan_no=loan_no[:40])
    if registration_no:
        qs = qs.filter(pledge__registration_no=registration_no[:40])
    limit = max(1, min(limit, MAX_PAGE))
    offset = max(0, min(offset, MAX_OFFSET))
    page = qs.select_related("pledge", "right", "loan").order_by("due_date", "id")[offset:offset + limit]
    return {"results": [services.payload(a) for a in page], "count": qs.count()}


@router.post("/{alert_id}/acknowledge", response=AlertOut, summary="Take an alert on")
def acknowledge(request, alert_id: int):
    return services.payload(services.acknowledge(actor=request.auth, alert_id=alert_id))


@router.post("/{alert_id}/resolve", response=AlertOut,
             summary="Resolve an alert: remedied, accepted_risk, loan_action or false_positive")
def resolve(request, alert_id: int, payload: ResolveIn):
    return services.payload(services.resolve(actor=request.auth, alert_id=alert_id, resolution=payload.resolution,
                                             note=payload.note))
