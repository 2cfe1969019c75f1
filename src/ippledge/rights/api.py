"""Rights-register API: record rights and legal events (registrars), look rights up."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.utils.translation import gettext as _
from ninja import Router, Schema

from ippledge.core import business_date, identifiers, limits
from ippledge.core.errors import ValidationFailed

from . import privacy, services
from .models import Right

router = Router(tags=["rights register"])
public_router = Router(tags=["public"])

IdTypeLiteral = Literal["uscc", "resident_id", "passport", "foreign_company", "other"]


class OwnerIn(Schema):
    name: str
    id_type: IdTypeLiteral
    id_number: str
    country: str = "CN"
    domicile_in_china: bool = True
    address: str = ""


class RightIn(Schema):
    kind: Literal["invention", "utility_model", "design", "trademark", "copyright", "software", "ic_layout",
                  "geographical_indication"]
    number: str
    title: str = ""
    mark_text: str = ""
    owners: list[OwnerIn]
    filing_date: dt.date | None = None
    grant_date: dt.date | None = None
    registration_date: dt.date | None = None
    first_publication_date: dt.date | None = None
    completion_date: dt.date | None = None
    author_kind: Literal["natural_person", "legal_person"] | None = None
    author_death_date: dt.date | None = None
    annuity_paid_through: dt.date | None = None
    nice_class: int | None = None
    similar_groups: list[str] = []
    ipc: list[str] = []
    claims_count: int | None = None
    family_size: int | None = None
    citations: int | None = None
    term_adjustment_days: int = 0
    same_day_invention: bool = False


class EventIn(Schema):
    type: str = ""
    date: dt.date
    official_code: str | None = None
    paid_through: dt.date | None = None
    outcome: Literal["invalid", "partly_invalid", "maintained"] | None = None
    new_owners: list[OwnerIn] | None = None
    new_name: str | None = None
    owner_id_number: str | None = None
    renewed_to: dt.date | None = None
    pledgee_consent: bool = False
    note: str = ""


class OwnerOut(Schema):
    name: str
    id_type: str
    id_number: str
    country: str
    domicile_in_china: bool
    address: str = ""


class EventOut(Schema):
    seq: int
    type: str
    date: dt.date
    official_code: str
    payload: dict
    recorded_at: dt.datetime


class RightOut(Schema):
    id: int
    kind: str
    number: str
    display_number: str
    title: str
    mark_text: str
    owners: list[OwnerOut]
    current_owners: list[OwnerOut]
    filing_date: dt.date | None
    grant_date: dt.date | None
    registration_date: dt.date | None
    first_publication_date: dt.date | None
    completion_date: dt.date | None
    author_kind: str
    author_death_date: dt.date | None
    annuity_paid_through: dt.date | None
    nice_class: int | None
    similar_groups: list[str]
    ipc: list[str]
    claims_count: int | None
    family_size: int | None
    citations: int | None
    term_adjustment_days: int
    same_day_invention: bool
    as_of: dt.date
    term_end: dt.date | None
    legal_state: str
    flags: list[str]
    events: list[EventOut]


class RightSummary(Schema):
    kind: str
    number: str
    display_number: str
    title: str
    holders: list[str]


def display_number(right: Right) -> str:
    if right.kind in ("invention", "utility_model", "design"):
        return identifiers.format_patent_number(right.number)
    return right.number


def _event_out(event, masked: bool) -> dict:
    return {"seq": event.seq, "type": event.type, "date": event.date, "official_code": event.official_code,
            "payload": privacy.mask_event_payload(event.payload) if masked else event.payload,
            "recorded_at": event.recorded_at}


def right_out(right: Right, on: dt.date, *, mask_ids: bool = True) -> dict:
    """The right as the API shows it; ``mask_ids`` (the default) masks natural persons' numbers and
    addresses (``privacy``): only callers who pass ``privacy.sees_personal_data`` get them whole."""
    state = services.rules.derive(services.facts_of(right), services.events_of(right), on)
    current = [services.owner_dict(o) for o in state.owners]
    owners = [dict(o) for o in right.owners]
    if mask_ids:
        owners, current = [privacy.mask_person(o) for o in owners], [privacy.mask_person(o) for o in current]
    events = sorted(getattr(right, "_prefetched_objects_cache", {}).get("events") or right.events.all(),
                    key=lambda e: e.seq)
    return {**{f: getattr(right, f) for f in RightOut.model_fields if hasattr(right, f) and f != "owners"},
            "owners": owners, "current_owners": current, "display_number": display_number(right),
            "as_of": on, "term_end": state.term_end, "legal_state": state.legal_state,
            "flags": sorted(state.flags), "events": [_event_out(e, mask_ids) for e in events]}


def _masked_for(request, right: Right) -> bool:
    return not privacy.sees_personal_data(request.auth, right)


@router.post("", response={201: RightOut}, summary="Record a right in the register (registrar of its office, admin)")
def create_right(request, payload: RightIn):
    created = services.create_right(actor=request.auth, data=payload.dict())
    right = services.find_right(created.kind, created.number)
    return 201, right_out(right, business_date.today(), mask_ids=_masked_for(request, right))


@router.get("", response=list[RightSummary], summary="Search the register by number, title or holder")
def search_rights(request, q: str = "", kind: str | None = None, limit: int = 50):
    q = limits.text(q, field="q", max_length=limits.limit("MAX_SHORT_TEXT"))
    if not q.isprintable():
        raise ValidationFailed(_("Control characters are not allowed."), code="invalid_characters",
                               fields={"q": [_("Control characters are not allowed.")]})
    rights = services.search(q=q, kind=kind, limit=min(max(limit, 1), 200))
    return [{"kind": r.kind, "number": r.number, "display_number": display_number(r), "title": r.display_title,
             "holders": [h.name for h in r.holders.all()]} for r in rights]


@router.get("/{kind}/{number}", response=RightOut, summary="A right with its term end, legal state, flags and events")
def get_right(request, kind: str, number: str, as_of: dt.date | None = None):
    right = services.find_right(kind, number)
    return right_out(right, as_of or business_date.today(), mask_ids=_masked_for(request, right))


@router.post("/{kind}/{number}/events", response={201: EventOut}, summary="Record a legal-status event")
def add_event(request, kind: str, number: str, payload: EventIn):
    right = services.find_right(kind, number)
    data = payload.dict()
    if data.get("new_owners") is None:
        data.pop("new_owners", None)
    return 201, services.record_event(actor=request.auth, right=right, data=data)


@public_router.get("/{kind}/{number}", auth=None, response=RightOut,
                   summary="Public view of a right (identity numbers of individuals masked)")
def public_right(request, kind: str, number: str):
    return right_out(services.find_right(kind, number), business_date.today())
