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

from django.db import IntegrityError, transaction

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


# --- the same, set-based, for a batch of events on distinct rights (a feed import's chunk) ----------------

def _pledges_and_banks_many(rights) -> dict[int, list]:
    """{right id: :func:`_pledges_and_banks` of that right} in a fixed number of queries."""
    from ippledge.registry.hooks import _live_pledges_of

    by_right = _live_pledges_of({r.pk for r in rights})
    pledges = {p.pk: p for found in by_right.values() for p in found}
    if not pledges:
        return {}
    banks: dict[int, list] = {}
    for party in PledgeParty.objects.filter(pledge__in=list(pledges), role="pledgee", org__isnull=False) \
            .select_related("org"):
        banks.setdefault(party.pledge_id, [])
        if party.org not in banks[party.pledge_id]:
            banks[party.pledge_id].append(party.org)
    loans = watch.loans_by_registration({p.registration_no for p in pledges.values()})
    loan_rows = {row[0] for rows in loans.values() for row in rows}
    loan_objects = Loan.objects.select_related("created_by").in_bulk(loan_rows) if loan_rows else {}
    out = {}
    for right_id, found in by_right.items():
        entries = []
        for pledge in found:
            own = {}
            for loan_id, _no, bank_id, _maturity, _officer in loans.get(pledge.registration_no, ()):
                own.setdefault(bank_id, loan_objects.get(loan_id))
            entries.append((pledge, banks.get(pledge.pk, []), own))
        out[right_id] = entries
    return out


def _raise_many(wanted: list[dict], on) -> None:
    """``services.raise_alert`` for each of ``wanted`` (its keyword arguments), with one query for the
    live alerts, one insert and one audit insert: the same alerts, refreshes, audit rows and notices."""
    if not wanted:
        return
    from ippledge.core import audit
    from ippledge.core.actors import SYSTEM

    from .models import LIVE_STATUSES, Alert

    live = {(a.owner_org_id, a.kind, a.condition_key): a for a in Alert.objects.filter(
        right_id__in={w["right"].pk for w in wanted}, kind__in={w["kind"] for w in wanted},
        status__in=LIVE_STATUSES)}
    holidays = services.holidays_from(on)
    stubs, seen = [], set()
    for w in wanted:
        key = (w["owner_org"].pk, w["kind"], w["condition_key"])
        if key in live:
            services._refresh_detail(live[key], dict(w["detail"] or {}), SYSTEM)
            continue
        if key in seen:
            continue
        seen.add(key)
        loan = w.get("loan")
        stubs.append(Alert(kind=w["kind"], severity=w["severity"] or rules.spec(w["kind"]).severity,
                           condition_key=w["condition_key"][:120], owner_org=w["owner_org"], pledge=w["pledge"],
                           right=w["right"], loan=loan, event=w.get("event"),
                           officer=loan.created_by if loan is not None and loan.created_by_id is not None else None,
                           raised_on=on, due_date=services.due_date_for(w["kind"], on, None, holidays),
                           detail=dict(w["detail"] or {})))
    if not stubs:
        return
    try:
        with transaction.atomic():
            raised = Alert.objects.bulk_create(stubs, batch_size=500)
    except IntegrityError:
        raised = [a for a in watch._one_by_one(stubs) if a is not None]
    audit.record_many(actor=SYSTEM, action="alert.raise", entries=[(a, services.snapshot(a)) for a in raised])
    watch._notify_many(raised)


def raise_for_events(*, items, actor=None) -> None:
    """Batch form of :func:`raise_for_event` (items: (right, event) on distinct rights)."""
    on = business_date.today()
    alerting = [(r, e) for r, e in items if rules.EVENT_ALERTS.get(e.type) is not None]
    found = _pledges_and_banks_many([r for r, _e in alerting]) if alerting else {}
    wanted = []
    for right, event in alerting:
        for pledge, banks, loans in found.get(right.pk, ()):
            condition = rules.event_condition(pledge_id=pledge.pk, right_id=right.pk, event_type=event.type,
                                              event_seq=event.seq, event_date=event.date,
                                              outcome=(event.payload or {}).get("outcome"),
                                              official_code=event.official_code or None)
            for bank in banks:
                wanted.append({"kind": condition.kind, "condition_key": condition.key, "owner_org": bank,
                               "pledge": pledge, "right": right, "loan": loans.get(bank.pk), "event": event,
                               "severity": condition.severity, "detail": condition.detail})
    _raise_many(wanted, on)
    clears = {(kind, r.pk) for r, e in items for kind in rules.EVENT_CLEARS.get(e.type, ())}
    if clears:
        from .models import LIVE_STATUSES, Alert

        ids = [pk for pk, kind, right_id in Alert.objects.filter(
            kind__in={k for k, _r in clears}, right_id__in={r for _k, r in clears}, status__in=LIVE_STATUSES)
            .select_for_update().values_list("pk", "kind", "right_id") if (kind, right_id) in clears]
        services.clear_ids(ids, on=on)
    reshaped = [r.pk for r, e in items if e.type in watch.STATE_EVENTS]
    if reshaped:
        watch.watch_rights(on, right_ids=reshaped)


def raise_for_refusals(*, items, actor=None) -> None:
    """Batch form of :func:`raise_for_refusal` (items: (right, event, error))."""
    items = [(r, e) for r, e, error in items if getattr(error, "code", "") == "pledged_right_locked"]
    if not items:
        return
    on = business_date.today()
    found = _pledges_and_banks_many([r for r, _e in items])
    wanted = []
    for right, event in items:
        for pledge, banks, loans in found.get(right.pk, ()):
            if pledge.status != PledgeStatus.REGISTERED:
                continue
            condition = rules.blocked_transfer_condition(pledge_id=pledge.pk, right_id=right.pk,
                                                         event_type=event.type, event_date=event.date,
                                                         attempt=f"{event.type}:{event.date.isoformat()}")
            for bank in banks:
                wanted.append({"kind": condition.kind, "condition_key": condition.key, "owner_org": bank,
                               "pledge": pledge, "right": right, "loan": loans.get(bank.pk),
                               "severity": condition.severity, "detail": condition.detail})
    _raise_many(wanted, on)


rights_services.batch_forms[raise_for_event] = raise_for_events
rights_services.batch_forms[raise_for_refusal] = raise_for_refusals

if raise_for_event not in rights_services.event_listeners:
    rights_services.event_listeners.append(raise_for_event)
if raise_for_refusal not in rights_services.event_refusal_listeners:
    rights_services.event_refusal_listeners.append(raise_for_refusal)
