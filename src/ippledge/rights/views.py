"""Register pages: browse and search, detail with the event timeline, forms for registrars."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from ippledge.core import business_date, identifiers, vocabulary
from ippledge.core import permissions as perm
from ippledge.core.audit import current_channel
from ippledge.core.errors import DomainError, NotFound
from ippledge.core.listing import Column, Listing

from . import privacy, rules, services
from .forms import EventForm, RightForm, add_domain_error
from .labels import EVENT_LABELS, OUTCOME_LABELS
from .models import Right, RightKind

# What the pledge registry knows of a right, shown on its page without the register importing the registry
# (apps depend downward only): the registry appends a reader of the right's live pledges, each
# ``{"registration_no", "pledgees": [names], "effective_date"}`` (registry/hooks.py).
live_pledge_readers: list[Callable[[Right], list[dict]]] = []


# The same for a list of rights at once, ``{right id: [pledge, …]}`` (the list page's rows).
live_pledge_list_readers: list[Callable[[list[Right]], dict[int, list[dict]]]] = []


def live_pledges(right: Right) -> list[dict]:
    return [pledge for read in live_pledge_readers for pledge in read(right)]


def live_pledges_many(rights: list[Right]) -> dict[int, list[dict]]:
    out: dict[int, list[dict]] = {r.pk: [] for r in rights}
    for read in live_pledge_list_readers:
        for pk, found in read(rights).items():
            out[pk] += found
    return out


def _can_write(user, kind: str | None = None) -> bool:
    """Whether to offer the register's forms: to whom ``services`` lets write this kind (any kind when
    ``kind`` is None)."""
    if not user.is_authenticated:
        return False
    return any(perm.office_keeps(user, {k}) for k in ([kind] if kind else RightKind.values))


def _number(right: Right) -> str:
    return identifiers.format_patent_number(right.number) if right.kind in rules.PATENT_KINDS else right.number


def _state(right: Right, today: dt.date):
    return rules.derive(services.facts_of(right), [services._event(e) for e in right.events.all()], today)


def right_list(request):
    # A search box is free text: drop what no name or number contains (PostgreSQL refuses NUL).
    q = "".join(c for c in request.GET.get("q", "") if c.isprintable()).strip()[:200]
    kind = request.GET.get("kind") or None
    if kind not in RightKind.values:
        kind = None
    if q:
        rights = services.search(q=q, kind=kind, limit=500)
    else:
        rights = Right.objects.prefetch_related("holders", "events")
        rights = rights.filter(kind=kind) if kind else rights
    today = business_date.today()
    states: dict[int, object] = {}
    pledged: dict[int, list[dict]] = {}

    def state(right):
        if right.pk not in states:
            states[right.pk] = _state(right, today)
        return states[right.pk]

    def pledges(right) -> list[dict]:
        if right.pk not in pledged:
            pledged[right.pk] = live_pledges(right)
        return pledged[right.pk]

    def pledge_link(right) -> str | None:
        found = pledges(right)
        return reverse("registry:public_record", args=[found[0]["registration_no"]]) if found else None

    listing = Listing(request, rights, name="rights", columns=[
        Column("number", _("Number"), value=_number, sort="number",
               link=lambda r: reverse("rights:detail", args=[r.kind, r.number])),
        Column("kind", _("Kind"), kind="label:rights.Right.kind", sort="kind"),
        Column("title", _("Title"), value=lambda r: r.display_title, sort="title"),
        Column("holders", _("Holders"), value=lambda r: "、".join(h.name for h in r.holders.all())),
        Column("term_end", _("Term end"), kind="date", value=lambda r: state(r).term_end),
        Column("legal_state", _("Legal state"), kind="label:legal_state", value=lambda r: state(r).legal_state),
        Column("flags", _("Flags"), value=lambda r: "、".join(vocabulary.label("right_flag", f)
                                                           for f in state(r).flags)),
        Column("pledges", _("Live pledges"), value=lambda r: "、".join(p["registration_no"] for p in pledges(r)),
               link=pledge_link),
    ])
    if (response := listing.export_response()) is not None:
        return response
    # The page's rows' live pledges in one read rather than one per row.
    pledged.update(live_pledges_many(list(listing.page.object_list)))
    return render(request, "rights/list.html", {"listing": listing, "q": q, "kind": kind, "kinds": RightKind.choices,
                                                "can_write": _can_write(request.user)})


def right_detail(request, kind: str, number: str):
    try:
        right = services.find_right(kind, number)
    except NotFound:
        return render(request, "errors/404.html", {"message": _("No such right in the register.")}, status=404)
    as_of = business_date.today()
    if request.GET.get("as_of"):
        try:
            as_of = dt.date.fromisoformat(request.GET["as_of"])
        except ValueError:
            pass
    form = EventForm(auto_id="ev-%s")
    if request.method == "POST":
        if not _can_write(request.user, right.kind):
            return render(request, "errors/403.html", status=403)
        current_channel.set("web")
        form = EventForm(request.POST, auto_id="ev-%s")
        if form.is_valid():
            try:
                services.record_event(actor=request.user, right=right, data=form.service_data())
            except DomainError as exc:
                add_domain_error(form, exc, {})
            else:
                return redirect(reverse("rights:detail", args=[right.kind, right.number]))
    state = services.state_of(right, as_of)
    owners = [services.owner_dict(o) for o in state.owners]
    if not privacy.sees_personal_data(request.user, right):
        owners = [privacy.mask_person(o) for o in owners]
    return render(request, "rights/detail.html", {
        "right": right, "state": state, "as_of": as_of, "owners": owners,
        "events": [(e, EVENT_LABELS.get(e.type, e.type), OUTCOME_LABELS.get((e.payload or {}).get("outcome"), ""))
                   for e in sorted(right.events.all(), key=lambda e: (e.date, e.seq), reverse=True)],
        "number": identifiers.format_patent_number(right.number) if right.kind in rules.PATENT_KINDS else right.number,
        "can_write": _can_write(request.user, right.kind),
        "live_pledges": live_pledges(right), "form": form}, status=400 if form.errors else 200)


@login_required
def right_new(request):
    if not _can_write(request.user):
        return render(request, "errors/403.html", status=403)
    form = RightForm()
    if request.method == "POST":
        current_channel.set("web")
        form = RightForm(request.POST)
        if form.is_valid():
            try:
                right = services.create_right(actor=request.user, data=form.service_data())
            except DomainError as exc:
                add_domain_error(form, exc, RightForm.SERVICE_FIELDS)
            else:
                return redirect(reverse("rights:detail", args=[right.kind, right.number]))
    return render(request, "rights/new.html", {"form": form}, status=400 if form.errors else 200)
