"""How the registry reacts to legal events on rights (registered with the rights register).

Live-pledge lock: a transfer, licence, open-licence declaration or abandonment of a pledged right
is refused with 409 ``pledged_right_locked`` unless the pledgee's consent is given (Civil Code 444,
实施细则 Art. 86).  Risk events on a pledged right notify the pledgees.  The right's page lists its live
pledges through a reader registered here.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from ippledge.core import vocabulary
from ippledge.core.errors import Conflict
from ippledge.rights import services as rights_services
from ippledge.rights import views as rights_views

from . import notify
from .services import live_pledges

LOCKED_EVENTS = {"transferred", "licensed", "abandoned", "open_licence_declared"}
RISK_EVENTS = {"terminated_unpaid_annuity", "invalidation_requested", "invalidation_decided", "preserved",
               "litigation_filed", "seized", "suspended", "ownership_dispute_filed", "expired", "revoked",
               "cancelled", "abandoned", "transferred"}


def guard_pledged_right(*, right, event, pledgee_consent: bool, actor) -> None:
    if event.type in LOCKED_EVENTS and not pledgee_consent and live_pledges(right).exists():
        numbers = ", ".join(live_pledges(right).values_list("registration_no", flat=True))
        raise Conflict(_("This right is pledged (%s): the pledgee's consent is required.") % numbers,
                       code="pledged_right_locked")


def notify_pledgees(*, right, event, actor) -> None:
    if event.type not in RISK_EVENTS:
        return
    for pledge in live_pledges(right).prefetch_related("parties__org"):
        for party in pledge.parties.all():
            if party.role == "pledgee" and party.org is not None:
                notify.notify(org=party.org, kind="pledged_right_event",
                              message=_("%(event)s recorded on pledged right %(right)s (pledge %(pledge)s).") % {
                                  "event": vocabulary.label("legal_event", event.type), "right": right.number,
                                  "pledge": pledge.registration_no},
                              data={"registration_no": pledge.registration_no, "right": {"kind": right.kind,
                                    "number": right.number}, "event": event.type,
                                    "date": event.date.isoformat(), "seq": event.seq})


def _live_pledges_of(right_ids) -> dict[int, list]:
    """{right id: [its live pledges, as ``live_pledges`` orders them]} in one query (parties prefetched)."""
    from .models import Pledge, PledgeStatus

    out: dict[int, list] = {}
    ids = list(right_ids)
    if not ids:
        return out
    pledges = Pledge.objects.filter(pledge_rights__right_id__in=ids, pledge_rights__live=True,
                                    status=PledgeStatus.REGISTERED).distinct().prefetch_related("parties__org")
    by_pk = {}
    for pledge in pledges:
        by_pk[pledge.pk] = pledge
    from .models import PledgeRight

    for right_id, pledge_id in PledgeRight.objects.filter(right_id__in=ids, live=True, pledge_id__in=list(by_pk)) \
            .values_list("right_id", "pledge_id").distinct():
        out.setdefault(right_id, []).append(by_pk[pledge_id])
    order = {pk: n for n, pk in enumerate(by_pk)}  # the query's order: registered_at, id
    for found in out.values():
        found.sort(key=lambda p: order[p.pk])
    return out


def guard_pledged_rights(*, items, actor) -> dict:
    """Batch form of :func:`guard_pledged_right`: {index: the same Conflict} for the refused events."""
    locked = [i for i, (_right, event, consent) in enumerate(items) if event.type in LOCKED_EVENTS and not consent]
    if not locked:
        return {}
    pledges = _live_pledges_of({items[i][0].pk for i in locked})
    out = {}
    for i in locked:
        found = pledges.get(items[i][0].pk)
        if found:
            numbers = ", ".join(p.registration_no for p in found)
            out[i] = Conflict(_("This right is pledged (%s): the pledgee's consent is required.") % numbers,
                              code="pledged_right_locked")
    return out


def notify_pledgees_many(*, items, actor) -> None:
    """Batch form of :func:`notify_pledgees`: the same notices (and webhook deliveries)."""
    risky = [(right, event) for right, event in items if event.type in RISK_EVENTS]
    if not risky:
        return
    pledges = _live_pledges_of({right.pk for right, _e in risky})
    notices = []
    for right, event in risky:
        for pledge in pledges.get(right.pk, ()):
            for party in pledge.parties.all():
                if party.role == "pledgee" and party.org is not None:
                    notices.append((party.org, _("%(event)s recorded on pledged right %(right)s (pledge %(pledge)s).") % {
                        "event": vocabulary.label("legal_event", event.type), "right": right.number,
                        "pledge": pledge.registration_no},
                        {"registration_no": pledge.registration_no, "right": {"kind": right.kind, "number": right.number},
                         "event": event.type, "date": event.date.isoformat(), "seq": event.seq}))
    notify.notify_many([(org.pk, "pledged_right_event", message, data) for org, message, data in notices])


def live_pledges_shown(right) -> list[dict]:
    """The right's live pledges as its page shows them (public register data: number, pledgees, date)."""
    return [{"registration_no": p.registration_no, "effective_date": p.effective_date,
             "pledgees": [party.name for party in p.parties.all() if party.role == "pledgee"]}
            for p in live_pledges(right).prefetch_related("parties")]


def live_pledges_shown_many(rights) -> dict[int, list[dict]]:
    """:func:`live_pledges_shown` for many rights at once (a list page's rows: two queries in all)."""
    from .models import PledgeRight, PledgeStatus

    out: dict[int, list[dict]] = {r.pk: [] for r in rights}
    links = PledgeRight.objects.filter(right_id__in=list(out), live=True, pledge__status=PledgeStatus.REGISTERED) \
        .select_related("pledge").prefetch_related("pledge__parties") \
        .order_by("right_id", "pledge__registered_at", "pledge_id", "id")
    seen: set[tuple[int, int]] = set()
    for link in links:
        if (link.right_id, link.pledge_id) in seen:
            continue
        seen.add((link.right_id, link.pledge_id))
        p = link.pledge
        out[link.right_id].append({"registration_no": p.registration_no, "effective_date": p.effective_date,
                                   "pledgees": [party.name for party in p.parties.all() if party.role == "pledgee"]})
    return out


if guard_pledged_right not in rights_services.event_guards:
    rights_services.event_guards.append(guard_pledged_right)
if notify_pledgees not in rights_services.event_listeners:
    rights_services.event_listeners.append(notify_pledgees)
if live_pledges_shown not in rights_views.live_pledge_readers:
    rights_views.live_pledge_readers.append(live_pledges_shown)
if live_pledges_shown_many not in rights_views.live_pledge_list_readers:
    rights_views.live_pledge_list_readers.append(live_pledges_shown_many)
rights_services.batch_forms[guard_pledged_right] = guard_pledged_rights
rights_services.batch_forms[notify_pledgees] = notify_pledgees_many
