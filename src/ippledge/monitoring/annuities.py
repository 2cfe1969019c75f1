"""Annuity amounts of patents and the maintenance-fee relief granted on them (notice item 十六).

Monitoring sits below the disposal app, which decides fee relief for rights a bank obtained by enforcing
its pledge; it never imports it.  The app that decides relief registers a reader here instead (the
disposal app does in its ``AppConfig.ready``):

    relief_readers.append(reader)   # reader(right_ids: list[int]) -> {right_id: Decimal share off (0.5 = half)}

Every annuity amount monitoring shows — the alerts' detail and required action, ``annuity_positions`` —
goes through :func:`ippledge.monitoring.rules.annuity_amount` with the share these readers give, so a
right with granted relief shows the reduced amount on the same due date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from decimal import Decimal

from ippledge.core import business_date
from ippledge.rights import services as rights_services
from ippledge.rights.models import Right

from . import rules

relief_readers: list[Callable[[list[int]], dict[int, Decimal]]] = []


def reductions(right_ids: Iterable[int]) -> dict[int, Decimal]:
    """{right id: the granted relief's share off its annual fees} for the rights that have one."""
    ids = sorted(set(right_ids))
    found: dict[int, Decimal] = {}
    if not ids:
        return found
    for reader in relief_readers:
        for right_id, share in reader(ids).items():
            if share is not None:
                found[right_id] = max(found.get(right_id, Decimal(0)), share)
    return found


def annuity_position(right: Right, on: dt.date | None = None) -> rules.AnnuityAmount | None:
    """The right's next unpaid annuity (year, official fee, relief, amount to pay) on ``on``, or None when
    no annuity is due (not a patent, not granted, nothing known of payments, or the term is over)."""
    on = on or business_date.today()
    state = rights_services.state_of(right, on)
    if state.legal_state in rules.ENDED_STATES:
        return None
    return rules.annuity_amount(right.kind, right.filing_date, state.annuity_due_date,
                                reductions([right.pk]).get(right.pk))


def annuity_due_date(right: Right, on: dt.date | None = None) -> dt.date | None:
    state = rights_services.state_of(right, on or business_date.today())
    return state.annuity_due_date
