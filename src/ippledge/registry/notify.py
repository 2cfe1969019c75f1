"""Notifications to pledgees: an in-app list per organisation and signed webhooks.

Webhooks are attempted right after the transaction commits and retried by end of day; the body is
signed with HMAC-SHA256 of the webhook's secret in the ``X-Ippledge-Signature`` header.

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
import threading
import urllib.parse

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ippledge.core.errors import ValidationFailed
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
            attempts=d.attempts + 1, last_status=status[:100], delivered_at=timezone.now() if delivered else None)
        ok += delivered
    return ok
