"""TEMPORARY stand-in for monitoring.services while the alerts core is written (deleted when it lands)."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from ippledge.core.errors import NotFound, PermissionDenied

from .models import Alert, AlertStatus


def visible_alerts(actor):
    rows = Alert.objects.select_related("pledge", "right", "loan", "owner_org")
    if actor.is_platform_admin or actor.has_role("regulator_user"):
        return rows
    org = actor.organisation_id
    return rows.filter(Q(owner_org_id=org) | Q(owner_org__parent_id=org)) if org else rows.none()


def required_action(alert) -> str:
    return "—"


def _get(actor, alert_id):
    if actor.has_role("regulator_user"):
        raise PermissionDenied("Read only.")
    alert = visible_alerts(actor).filter(pk=alert_id).first()
    if alert is None:
        raise NotFound("No such alert.")
    return alert


def acknowledge(*, actor, alert_id):
    alert = _get(actor, alert_id)
    alert.status, alert.acknowledged_at, alert.acknowledged_by = AlertStatus.ACKNOWLEDGED, timezone.now(), actor
    alert.save()
    return alert


def resolve(*, actor, alert_id, resolution, note=""):
    alert = _get(actor, alert_id)
    alert.status, alert.resolved_at, alert.resolved_by = AlertStatus.RESOLVED, timezone.now(), actor
    alert.resolution, alert.note = resolution, note
    alert.save()
    return alert
