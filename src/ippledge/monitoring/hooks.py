"""Listeners registered with the rights register: event-driven alerts.

When an event is recorded on a right under a live pledge (by a registrar, the API or an import), each
pledgee bank gets the alert the event calls for (``rules.EVENT_ALERTS``: invalidation, litigation,
preservation or seizure, ownership dispute, licence), linked to its loan where one is secured by the
pledge; a closing event (litigation closed, preservation lifted…) clears the alert it ends; an event
that moves the right's legal state (an annuity paid, a termination, a renewal) re-runs the calendar
watch for that right at once, so ``right_terminated`` is raised, or ``annuity_grace`` cleared, without
waiting for end of day.  A transfer refused because the right is pledged raises
``transfer_attempt_blocked`` after the refusal rolled back, so the alert is kept.
"""

from __future__ import annotations

from ippledge.core import business_date
from ippledge.credit.models import Loan
from ippledge.registry.models import PledgeParty, PledgeStatus
from ippledge.registry.services import live_pledges
from ippledge.rights import services as rights_services

from . import rules, services, watch


def _pledges_and_banks(right):
    """[(pledge, [bank org, …], {bank org id: loan})] for the right's live pledges."""
    pledges = list(live_pledges(right))
    if not pledges:
        return []
    banks: dict[int, list] = {}
    for party in PledgeParty.objects.filter(pledge__in=pledges, role="pledgee", org__isnull=False) \
            .select_related("org"):
        banks.setdefault(party.pledge_id, [])
        if party.org not in banks[party.pledge_id]:
            banks[party.pledge_id].append(party.org)
    loans = watch.loans_by_registration({p.registration_no for p in pledges})
    loan_rows = {row[0] for rows in loans.values() for row in rows}
    loan_objects = Loan.objects.in_bulk(loan_rows) if loan_rows else {}
    out = []
    for pledge in pledges:
        own = {}
        for loan_id, _no, bank_id, _maturity, _officer in loans.get(pledge.registration_no, ()):
            own.setdefault(bank_id, loan_objects.get(loan_id))
        out.append((pledge, banks.get(pledge.pk, []), own))
    return out


def raise_for_event(*, right, event, actor=None) -> None:
    """Listener: the alerts an event recorded on a pledged right raises and clears."""
    kind = rules.EVENT_ALERTS.get(event.type)
    clears = rules.EVENT_CLEARS.get(event.type, ())
    reshapes = event.type in watch.STATE_EVENTS
    if kind is None and not clears and not reshapes:
        return  # most imported events: nothing to look up
    on = business_date.today()
    if kind is not None:
        for pledge, banks, loans in _pledges_and_banks(right):
            condition = rules.event_condition(pledge_id=pledge.pk, right_id=right.pk, event_type=event.type,
                                              event_seq=event.seq, event_date=event.date,
                                              outcome=(event.payload or {}).get("outcome"),
                                              official_code=event.official_code or None)
            for bank in banks:
                services.raise_alert(kind=condition.kind, condition_key=condition.key, owner_org=bank, on=on,
                                     pledge=pledge, right=right, loan=loans.get(bank.pk), event=event,
                                     severity=condition.severity, detail=condition.detail)
    for cleared in clears:
        services.clear_alerts(kind=cleared, on=on, right=right)
    if reshapes:
        watch.watch_rights(on, right_ids=[right.pk])


def raise_for_refusal(*, right, event, error, actor=None) -> None:
    """Refusal listener: a transfer (licence, abandonment…) of a pledged right refused without consent."""
    if getattr(error, "code", "") != "pledged_right_locked":
        return
    on = business_date.today()
    for pledge, banks, loans in _pledges_and_banks(right):
        if pledge.status != PledgeStatus.REGISTERED:
            continue
        condition = rules.blocked_transfer_condition(pledge_id=pledge.pk, right_id=right.pk, event_type=event.type,
                                                     event_date=event.date,
                                                     attempt=f"{event.type}:{event.date.isoformat()}")
        for bank in banks:
            services.raise_alert(kind=condition.kind, condition_key=condition.key, owner_org=bank, on=on,
                                 pledge=pledge, right=right, loan=loans.get(bank.pk), severity=condition.severity,
                                 detail=condition.detail)


if raise_for_event not in rights_services.event_listeners:
    rights_services.event_listeners.append(raise_for_event)
if raise_for_refusal not in rights_services.event_refusal_listeners:
    rights_services.event_refusal_listeners.append(raise_for_refusal)
