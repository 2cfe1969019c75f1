"""Rate limiting: a fixed one-minute window per client address, counted in the shared cache.

The cache is shared by every process and worker (Django's database cache by default, Redis with
``IPPLEDGE_CACHE_URL``), so ``--workers 8`` does not mean eight times the limit.  The client address
is the socket's peer, or — only when that peer is one of ``IPPLEDGE_TRUSTED_PROXIES`` — the right-most
address in X-Forwarded-For that is not a trusted proxy (what the outermost trusted proxy saw; entries
further left are whatever the client chose to send).  ``IPPLEDGE_PUBLIC_RATE_LIMIT`` is requests per
minute per address; 0 turns the limit off (benchmarks, internal mirrors).
"""

from __future__ import annotations

import ipaddress
import time
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from .errors import Throttled

WINDOW_SECONDS = 60
_clock = time.time  # the window's clock (tests hold it still)


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple:
    return tuple(ipaddress.ip_network(p, strict=False) for p in proxies)


def _ip(value: str):
    try:
        return ipaddress.ip_address(value.strip().strip("[]"))
    except ValueError:
        return None


def is_trusted_proxy(address: str) -> bool:
    proxies = tuple(settings.TRUSTED_PROXIES)
    if not proxies:
        return False
    ip = _ip(address)
    return ip is not None and any(ip in net for net in _networks(proxies))


def forwarded_client(forwarded_for: str, peer: str) -> str:
    """The client behind trusted proxies: walk X-Forwarded-For from the right past trusted hops."""
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    client = peer
    for hop in reversed(hops):
        if _ip(hop) is None:
            break  # garbage can only come from the client side: keep the last address we trust
        client = hop.strip("[]")
        if not is_trusted_proxy(hop):
            break
    return client


def client_address(request) -> str:
    # ClientAddressMiddleware has already replaced REMOTE_ADDR by the client behind trusted proxies.
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def hit(bucket: str, request, *, limit: int | None = None) -> None:
    """Count one request of ``bucket`` from this client; raise ``Throttled`` past the limit."""
    limit = settings.PUBLIC_RATE_LIMIT if limit is None else limit
    if not limit:
        return
    now = _clock()
    window = int(now // WINDOW_SECONDS)
    key = f"rl:{bucket}:{client_address(request)}:{window}"
    if cache.add(key, 1, timeout=WINDOW_SECONDS + 10):
        count = 1
    else:
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=WINDOW_SECONDS + 10)
            count = 1
    if count > limit:
        retry_after = int((window + 1) * WINDOW_SECONDS - now) + 1
        raise Throttled(_("Too many requests. Please wait a minute."), code="rate_limited",
                        retry_after=retry_after)


def check(bucket: str, request) -> None:
    """A finer limit for one kind of request on top of the middleware's per-route limit."""
    hit(bucket, request)
