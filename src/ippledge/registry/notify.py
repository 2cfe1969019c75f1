"""Notifications to pledgees: an in-app list per organisation and signed webhooks.

Webhooks are attempted right after the transaction commits and retried by end of day; the body is
signed with HMAC-SHA256 of the webhook's secret in the ``X-Ippledge-Signature`` header.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import urllib.request

from django.db import transaction
from django.utils import timezone

from ippledge.core.models import Organisation

from .models import Notification, Webhook, WebhookDelivery

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8


def notify(*, org: Organisation, kind: str, message: str, data: dict) -> Notification:
    note = Notification.objects.create(org=org, kind=kind, message=message[:300], data=data)
    deliveries = [WebhookDelivery.objects.create(webhook=h, notification=note)
                  for h in Webhook.objects.filter(org=org, active=True)]
    if deliveries:
        ids = [d.pk for d in deliveries]
        transaction.on_commit(lambda: threading.Thread(target=deliver, args=(ids,), daemon=True).start())
    return note


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def deliver(delivery_ids: list[int] | None = None, timeout: float = 5.0) -> int:
    """Post pending deliveries; returns how many succeeded."""
    qs = WebhookDelivery.objects.filter(delivered_at__isnull=True, attempts__lt=MAX_ATTEMPTS,
                                        webhook__active=True).select_related("webhook", "notification")
    if delivery_ids is not None:
        qs = qs.filter(pk__in=delivery_ids)
    ok = 0
    for d in qs:
        note = d.notification
        body = json.dumps({"id": note.pk, "kind": note.kind, "message": note.message, "data": note.data,
                           "created_at": note.created_at.isoformat()}, ensure_ascii=False).encode()
        request = urllib.request.Request(d.webhook.url, data=body, method="POST", headers={
            "Content-Type": "application/json", "X-Ippledge-Signature": signature(d.webhook.secret, body)})
        status = ""
        try:
            with urllib.request.urlopen(request, timeout=timeout) as resp:
                status = str(resp.status)
                delivered = 200 <= resp.status < 300
        except Exception as exc:  # network errors are expected; retried later
            status, delivered = type(exc).__name__, False
        WebhookDelivery.objects.filter(pk=d.pk).update(
            attempts=d.attempts + 1, last_status=status[:100], delivered_at=timezone.now() if delivered else None)
        ok += delivered
    return ok
