"""The operator's disposal settings: a Django setting of the same name wins, else ``IPPLEDGE_<name>``
(README's settings table)."""

from __future__ import annotations

import os
from decimal import Decimal

from django.conf import settings

from ippledge.core import exact
from ippledge.core.errors import DomainError


def _raw(name: str) -> str:
    value = getattr(settings, name, None)
    return str(value) if value is not None else os.environ.get(f"IPPLEDGE_{name}", "")


def _share(name: str, default: str, *, one_allowed: bool) -> Decimal:
    """A share in [0, 1] (or [0, 1) unless ``one_allowed``); a value out of range or unreadable: the default."""
    bounds = {} if one_allowed else {"below": 1}
    try:
        return exact.fraction(_raw(name) or default, name, **bounds)
    except DomainError:
        return exact.fraction(default, name)


def _int(name: str, default: int) -> int:
    try:
        return max(0, exact.whole(_raw(name) or default, name))
    except DomainError:
        return default


def setoff_floor_share() -> Decimal:
    """IPPLEDGE_DISPOSAL_SETOFF_FLOOR: the lowest share of the appraisal an agreed set-off may take (0.70:
    below 70% a price is 'obviously unreasonable' in judicial practice)."""
    return _share("DISPOSAL_SETOFF_FLOOR", "0.70", one_allowed=True)


def round_discount() -> Decimal:
    """IPPLEDGE_DISPOSAL_ROUND_DISCOUNT: the next auction round's reserve after an unsold one (0.20 off)."""
    return _share("DISPOSAL_ROUND_DISCOUNT", "0.20", one_allowed=False)


def holding_years() -> int:
    """IPPLEDGE_DISPOSAL_HOLDING_YEARS: how long a bank may hold IP it acquired by enforcement (2)."""
    return _int("DISPOSAL_HOLDING_YEARS", 2) or 2


def holding_alert_days() -> int:
    """IPPLEDGE_DISPOSAL_HOLDING_ALERT_DAYS: days before the holding deadline the alert is raised (90)."""
    return _int("DISPOSAL_HOLDING_ALERT_DAYS", 90)
