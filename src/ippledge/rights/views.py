"""Register pages: browse and search, detail with the event timeline, forms for registrars."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from ippledge.core import business_date, identifiers
from ippledge.core import permissions as perm
from ippledge.core.audit import current_channel
from ippledge.core.errors import DomainError, NotFound

from . import privacy, rules, services
from .labels import EVENT_LABELS, OUTCOME_LABELS
from .models import Right, RightKind

# What the pledge registry knows of a right, shown on its page without the register importing the registry
# (apps depend downward only): the registry appends a reader of the right's live pledges, each
# ``{"registration_no", "pledgees": [names], "effective_date"}`` (registry/hooks.py).
live_pledge_readers: list[Callable[[Right], list[dict]]] = []


def live_pledges(right: Right) -> list[dict]:
    return [pledge for read in live_pledge_readers for pledge in read(right)]


def _can_write(user, kind: str | None = None) -> bool:
    """Whether to offer the register's forms: to whom ``services`` lets write this kind (any kind when
    ``kind`` is None)."""
    if not user.is_authenticated:
        return False
    return any(perm.office_keeps(user, {k}) for k in ([kind] if kind else RightKind.values))


def right_list(request):
    # A search box is free text: drop what no name or number contains (PostgreSQL refuses NUL).
    q = "".join(c for c in request.GET.get("q", "") if c.isprintable()).strip()[:200]
    kind = request.GET.get("kind") or None
    if kind not in RightKind.values:
        kind = None
    if q:
        rights = services.search(q=q, kind=kind, limit=200)
    else:
        qs = Right.objects.prefetch_related("holders", "events").order_by("-id")
        rights = qs.filter(kind=kind) if kind else qs
    page = Paginator(rights, 25).get_page(request.GET.get("page"))
    today = business_date.today()
    rows = []
    for right in page.object_list:
        right_events = list(right.events.all())
        state = rules.derive(services.facts_of(right), [services._event(e) for e in right_events], today)
        rows.append({"right": right, "state": state, "number": identifiers.format_patent_number(right.number)
                     if right.kind in rules.PATENT_KINDS else right.number})
    return render(request, "rights/list.html", {
        "page": page, "rows": rows, "q": q, "kind": kind, "kinds": RightKind.choices,
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
    error, form = None, {}
    if request.method == "POST":
        if not _can_write(request.user, right.kind):
            return render(request, "errors/403.html", status=403)
        current_channel.set("web")
        form = request.POST.dict()
        data = {k: v for k, v in form.items() if k not in ("csrfmiddlewaretoken",) and v != ""}
        if "new_owner_name" in data:
            data["new_owners"] = [{"name": data.pop("new_owner_name"), "id_type": data.pop("new_owner_id_type", "uscc"),
                                   "id_number": data.pop("new_owner_id_number", "")}]
        try:
            services.record_event(actor=request.user, right=right, data=data)
        except DomainError as exc:
            error = exc
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
        "event_types": [(t, EVENT_LABELS.get(t, t)) for t in sorted(rules.EVENT_TYPES)],
        "live_pledges": live_pledges(right), "error": error, "form": form}, status=400 if error else 200)


@login_required
def right_new(request):
    if not _can_write(request.user):
        return render(request, "errors/403.html", status=403)
    error, form = None, {}
    if request.method == "POST":
        current_channel.set("web")
        form = request.POST.dict()
        data = {k: v for k, v in form.items() if not k.startswith("owner_") and k != "csrfmiddlewaretoken"}
        data["owners"] = [{"name": form.get("owner_name", ""), "id_type": form.get("owner_id_type", "uscc"),
                           "id_number": form.get("owner_id_number", ""), "country": form.get("owner_country") or "CN",
                           "address": form.get("owner_address", "")}]
        try:
            right = services.create_right(actor=request.user, data=data)
        except DomainError as exc:
            error = exc
        else:
            return redirect(reverse("rights:detail", args=[right.kind, right.number]))
    return render(request, "rights/new.html", {"kinds": RightKind.choices, "error": error, "form": form},
                  status=400 if error else 200)
