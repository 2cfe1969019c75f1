"""Notifications to pledgees: an in-app list per organisation and signed webhooks.

Each webhook delivery is a background task (``deliver_webhook`` on the Tasks API, run by
``ippledge worker``) queued when the notifying transaction commits.  A failed attempt queues the next
one after a growing delay (a minute, five, half an hour, two hours, then six-hourly) up to
``MAX_ATTEMPTS``; the last failure stays on the delivery and in the task log.  The end-of-day job
re-queues any undelivered delivery that no queued task will retry (a backend that cannot defer, a
lost queue).  The body is signed with HMAC-SHA256 of the webhook's secret in the
``X-Ippledge-Signature`` header.

A webhook URL is a stranger's request to make the server call out, so it may reach only public
addresses: private, loopback, link-local (cloud metadata at 169.254.169.254), shared, multicast,
reserved and unspecified addresses are refused, after DNS resolution, when the webhook is registered
and again at every delivery.  Delivery connects to the very address it checked (no second lookup a
rebinding DNS server could answer differently) and never follows a redirect.  Operators may allow
named hosts or networks with ``IPPLEDGE_WEBHOOK_ALLOW_HOSTS`` (comma-separated host names, addresses
or CIDR networks; a Django setting ``WEBHOOK_ALLOW_HOSTS`` takes precedence).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import os
import socket
import ssl
import urllib.parse

from django.conf import settings
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import TaskResultStatus, task

from ippledge.core import jobs
from ippledge.core.errors import ValidationFailed
from ippledge.core.models import Organisation

from .models import Notification, Webhook, WebhookDelivery

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8


def notify(*, org: Organisation, kind: str, message: str, data: dict) -> Notification:
    note = Notification.objects.create(org=org, kind=kind, message=message[:300], data=data)
    for hook in Webhook.objects.filter(org=org, active=True):
        delivery = WebhookDelivery.objects.create(webhook=hook, notification=note)
        jobs.enqueue_on_commit(deliver_webhook, delivery_id=delivery.pk)
    return note


def notify_many(notes: list[tuple[int, str, str, dict]]) -> None:
    """``notify`` for many notices at once, (org id, kind, message, data) each: one insert for the
    organisations without webhooks; those with one get each notice through ``notify`` (signed, queued)."""
    if not notes:
        return
    hooked = set(Webhook.objects.filter(org_id__in={n[0] for n in notes}, active=True).values_list("org_id", flat=True))
    Notification.objects.bulk_create([Notification(org_id=org_id, kind=kind, message=message[:300], data=data)
                                      for org_id, kind, message, data in notes if org_id not in hooked],
                                     batch_size=500)
    orgs = {o.pk: o for o in Organisation.objects.filter(pk__in=hooked)} if hooked else {}
    for org_id, kind, message, data in notes:
        if org_id in hooked:
            notify(org=orgs[org_id], kind=kind, message=message, data=data)


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class ForbiddenDestination(Exception):
    """The webhook URL leads to an address the server must not call."""


def _allow_list() -> list[str]:
    raw = getattr(settings, "WEBHOOK_ALLOW_HOSTS", None)
    if raw is None:
        raw = os.environ.get("IPPLEDGE_WEBHOOK_ALLOW_HOSTS", "")
    entries = raw.split(",") if isinstance(raw, str) else list(raw)
    return [e.strip().lower() for e in entries if e and e.strip()]


def _allowed_by_operator(host: str, address: ipaddress.IPv4Address | ipaddress.IPv6Address, allowed: list[str]) -> bool:
    for entry in allowed:
        if entry == host:
            return True
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def _public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    return address.is_global and not (address.is_multicast or address.is_reserved or address.is_link_local
                                      or address.is_loopback or address.is_private or address.is_unspecified)


def _target(url: str) -> tuple[urllib.parse.SplitResult, str, int]:
    """Parse and check a webhook URL: (parts, checked IP address, port).  Raises ForbiddenDestination."""
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise ForbiddenDestination(f"not a URL: {exc}") from None
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host or parts.username or parts.password:
        raise ForbiddenDestination("only http(s) URLs without credentials")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise ForbiddenDestination(f"cannot resolve {host}: {exc}") from None
    allowed = _allow_list()
    addresses = [ipaddress.ip_address(info[4][0].split("%")[0]) for info in infos]
    if not addresses:
        raise ForbiddenDestination(f"{host} has no address")
    for address in addresses:
        # Every address the name resolves to must be acceptable: the connection could use any of them.
        if not _public(address) and not _allowed_by_operator(host, address, allowed):
            raise ForbiddenDestination(f"{host} resolves to a non-public address ({address})")
    return parts, str(addresses[0]), port


def check_webhook_url(url: str) -> None:
    """422 ``webhook_url_forbidden`` unless the URL leads to a public address (or an allowed one)."""
    try:
        _target(url)
    except ForbiddenDestination as exc:
        log.info("webhook URL refused: %s", exc)
        raise ValidationFailed(_("Webhooks may only call public internet addresses."), code="webhook_url_forbidden",
                               fields={"url": [_("This address is not reachable from the platform.")]}) from None


class _PinnedHTTPS(http.client.HTTPSConnection):
    """HTTPS to an already-checked address, with the certificate checked for the URL's host name."""

    def __init__(self, host: str, address: str, port: int, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self):
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, address: str, port: int, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self):
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


def post(url: str, body: bytes, headers: dict, *, timeout: float) -> int:
    """POST to a checked address; a redirect is an answer like any other (3xx: not delivered)."""
    parts, address, port = _target(url)
    connection_class = _PinnedHTTPS if parts.scheme == "https" else _PinnedHTTP
    conn = connection_class(parts.hostname, address, port, timeout)
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request("POST", path, body=body, headers={**headers, "Content-Length": str(len(body))})
        return conn.getresponse().status
    finally:
        conn.close()


def _pending():
    return WebhookDelivery.objects.filter(delivered_at__isnull=True, attempts__lt=MAX_ATTEMPTS,
                                          webhook__active=True).select_related("webhook", "notification")


def _attempt(d: WebhookDelivery, *, timeout: float) -> tuple[bool, str] | None:
    """One signed POST of a delivery: (delivered, status), or None when another worker took this attempt.

    The attempt is counted before the call, by a conditional update, so two workers (or a task and
    the end-of-day sweep) never post the same attempt twice."""
    if not WebhookDelivery.objects.filter(pk=d.pk, attempts=d.attempts, delivered_at__isnull=True).update(
            attempts=F("attempts") + 1):
        return None
    d.attempts += 1
    note = d.notification
    body = json.dumps({"id": note.pk, "kind": note.kind, "message": note.message, "data": note.data,
                       "created_at": note.created_at.isoformat()}, ensure_ascii=False).encode()
    headers = {"Content-Type": "application/json", "X-Ippledge-Signature": signature(d.webhook.secret, body)}
    try:
        code = post(d.webhook.url, body, headers, timeout=timeout)
        status, delivered = str(code), 200 <= code < 300
    except ForbiddenDestination as exc:
        log.warning("webhook %s not called: %s", d.webhook.pk, exc)
        status, delivered = "forbidden_destination", False
    except Exception as exc:  # network errors are expected; retried later
        status, delivered = type(exc).__name__, False
    WebhookDelivery.objects.filter(pk=d.pk).update(
        last_status=status[:100], delivered_at=timezone.now() if delivered else None)
    return delivered, status


def deliver(delivery_ids: list[int] | None = None, timeout: float = 5.0) -> int:
    """Post pending deliveries here and now (one attempt each); returns how many succeeded."""
    qs = _pending()
    if delivery_ids is not None:
        qs = qs.filter(pk__in=delivery_ids)
    return sum(bool(outcome and outcome[0]) for outcome in (_attempt(d, timeout=timeout) for d in qs))


class WebhookNotDelivered(jobs.AttemptFailed):
    """The receiver did not take the delivery; another attempt follows (queued, or by end of day).
    The message is ``<answer> · <attempt>/<of>``: the receiver's HTTP status or the network error."""


class WebhookGivenUp(WebhookNotDelivered):
    """The last attempt failed too: the delivery stays undelivered (its last answer is kept)."""


def _answer(status: str) -> str:
    return f"HTTP {status}" if status.isdigit() else status


@task()
def deliver_webhook(*, delivery_id: int, attempt: int = 1) -> dict:
    """Background task: one attempt of one delivery; a failure queues the next attempt with back-off.

    ``attempt`` numbers the attempts of this delivery (for the task log); the delivery row's own
    counter is the authority, so a re-queued delivery continues its count."""
    d = _pending().filter(pk=delivery_id).first()
    if d is None:
        return {"delivery_id": delivery_id, "delivered": False, "skipped": "not_pending"}
    outcome = _attempt(d, timeout=5.0)
    if outcome is None:
        return {"delivery_id": delivery_id, "delivered": False, "skipped": "attempt_in_progress"}
    delivered, status = outcome
    if delivered:
        return {"delivery_id": delivery_id, "delivered": True, "status": status, "attempts": d.attempts}
    summary = f"{_answer(status)} · {d.attempts}/{MAX_ATTEMPTS}"
    # When the next attempt runs is the next row's "not before" in the task log.
    if jobs.retry_later(deliver_webhook, attempt=d.attempts, max_attempts=MAX_ATTEMPTS, delivery_id=delivery_id):
        raise WebhookNotDelivered(summary)
    if d.attempts >= MAX_ATTEMPTS:
        log.warning("webhook %s: delivery %s given up after %s attempts (last answer %s)",
                    d.webhook.pk, delivery_id, d.attempts, status)
        raise WebhookGivenUp(summary)
    raise WebhookNotDelivered(summary)  # a backend that cannot defer: the end-of-day job re-queues it


def _queued_delivery_ids() -> set[int]:
    """Deliveries a queued or running task will still attempt (database backend only)."""
    from django_tasks_db.backend import DatabaseBackend
    from django_tasks_db.models import DBTaskResult

    if not isinstance(deliver_webhook.get_backend(), DatabaseBackend):
        return set()
    live = DBTaskResult.objects.filter(task_path=deliver_webhook.module_path,
                                       status__in=[TaskResultStatus.READY, TaskResultStatus.RUNNING])
    return {row["kwargs"].get("delivery_id") for row in live.values_list("args_kwargs", flat=True)}


def requeue_stranded() -> int:
    """Queue a delivery task for every pending delivery no task will retry; returns how many."""
    queued = _queued_delivery_ids()
    stranded = [(pk, n) for pk, n in _pending().values_list("pk", "attempts") if pk not in queued]
    for pk, attempts in stranded:
        jobs.enqueue_on_commit(deliver_webhook, delivery_id=pk, attempt=attempts + 1)
    return len(stranded)
