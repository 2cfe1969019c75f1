"""Rate limiting for public endpoints: a fixed one-minute window per client address.

Counts live in Django's cache (per process with the default local-memory cache; point CACHES at
Redis to share them across processes).  ``IPPLEDGE_PUBLIC_RATE_LIMIT`` is requests per minute per
address; 0 turns the limit off (benchmarks, internal mirrors).
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from .errors import Throttled


def client_address(request) -> str:
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def check(bucket: str, request) -> None:
    limit = settings.PUBLIC_RATE_LIMIT
    if not limit:
        return
    window = int(time.time() // 60)
    key = f"rl:{bucket}:{client_address(request)}:{window}"
    if cache.add(key, 1, timeout=70):
        return
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=70)
        return
    if count > limit:
        raise Throttled(_("Too many requests. Please wait a minute."), code="rate_limited")
