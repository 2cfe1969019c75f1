"""Business actions on the rights register: record a right, record a legal event, import in bulk.

Every action validates fully before writing, runs in one transaction and leaves an audit row, so a
bad row is rejected whole and never half-written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ippledge.core import audit, business_date, identifiers
from ippledge.core import permissions as perm
from ippledge.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from ippledge.core.models import User
from ippledge.core.permissions import Actor

from . import legal_codes, rules
from .models import LegalEvent, Right, RightHolder, RightKind

# Later apps (the pledge registry) veto or react to events without the register importing them:
# a guard raises a DomainError to refuse an event; a listener runs after it is recorded.
event_guards: list[Callable[..., None]] = []
event_listeners: list[Callable[..., None]] = []
# Told of an event a guard refused, after the refused transaction rolled back, so what they write
# (an alert that a pledged right's transfer was blocked) is kept: listener(right, event, error, actor).
event_refusal_listeners: list[Callable[..., None]] = []
# Set-based forms of those hooks, for a batch of events on distinct rights (a feed chunk's round):
# batch_forms[per-event hook] = the batch hook.  A guard's form takes items=[(right, event, consent)]
# and returns {index: DomainError} for the ones it refuses; a listener's takes items=[(right, row)];
# a refusal listener's items=[(right, event, error)].  Each must write exactly what its per-event hook
# would for every item; ``record_events`` falls back to ``record_event`` one by one when a hook has no
# batch form.
batch_forms: dict[Callable[..., Any], Callable[..., Any]] = {}

DATE_FIELDS = ("filing_date", "grant_date", "registration_date", "first_publication_date",
               "completion_date", "author_death_date", "annuity_paid_through")
INT_FIELDS = ("nice_class", "claims_count", "family_size", "citations", "term_adjustment_days")


# --- conversions between stored rows and the pure rules ------------------------------------------

def _owner(data: dict) -> rules.Owner:
    return rules.Owner(name=data.get("name", ""), id_type=data.get("id_type", "other"),
                       id_number=data.get("id_number", ""), country=data.get("country", "CN"),
                       domicile_in_china=bool(data.get("domicile_in_china", True)),
                       address=data.get("address", ""))


def owner_dict(owner: rules.Owner) -> dict:
    return {"name": owner.name, "id_type": owner.id_type, "id_number": owner.id_number,
            "country": owner.country, "domicile_in_china": owner.domicile_in_china, "address": owner.address}


def facts_of(right: Right) -> rules.RightFacts:
    return rules.RightFacts(
        kind=right.kind, filing_date=right.filing_date, grant_date=right.grant_date,
        registration_date=right.registration_date, first_publication_date=right.first_publication_date,
        completion_date=right.completion_date, author_kind=right.author_kind or None,
        author_death_date=right.author_death_date, annuity_paid_through=right.annuity_paid_through,
        term_adjustment_days=right.term_adjustment_days or 0,
        owners=tuple(_owner(o) for o in right.owners))


def _event(ev: LegalEvent) -> rules.Event:
    p = ev.payload or {}
    return rules.Event(
        seq=ev.seq, type=ev.type, date=ev.date,
        paid_through=_parse_date(p.get("paid_through")), outcome=p.get("outcome"),
        new_owners=tuple(_owner(o) for o in p.get("new_owners") or ()) or None,
        new_name=p.get("new_name"), owner_id_number=p.get("owner_id_number"),
        renewed_to=_parse_date(p.get("renewed_to")), official_code=ev.official_code or None)


def events_of(right: Right) -> list[rules.Event]:
    cached = getattr(right, "_prefetched_objects_cache", {}).get("events")
    rows = cached if cached is not None else right.events.all()
    return [_event(e) for e in sorted(rows, key=lambda e: e.seq)]


def state_of(right: Right, on: dt.date | None = None) -> rules.RightState:
    return rules.derive(facts_of(right), events_of(right), on or business_date.today())


# --- input cleaning --------------------------------------------------------------------------------

def _parse_date(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value).strip())


def _bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "y", "是"}
    return bool(value)


def _str_list(value: Any) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.replace(";", ",").replace("|", ",").split(",") if v.strip()]
    return [str(v).strip() for v in value if str(v).strip()]


def clean_owners(raw: Any, errors: dict, field: str = "owners") -> list[dict]:
    if not raw:
        errors.setdefault(field, []).append(_("At least one owner is required."))
        return []
    owners = []
    for i, item in enumerate(raw):
        item = dict(item or {})
        name = identifiers.clean_display_name(item.get("name") or "")
        if not name:
            errors.setdefault(f"{field}[{i}].name", []).append(_("This field is required."))
        id_type = item.get("id_type") or "other"
        id_number = ""
        try:
            id_number = identifiers.validate_party_id(id_type, item.get("id_number") or "")
        except DomainError as exc:
            errors.setdefault(f"{field}[{i}].id_number", []).append(exc.localised(_))
            errors.setdefault("_code", exc.code)
        country = (item.get("country") or "CN").strip().upper()[:2]
        owners.append({"name": name, "id_type": id_type, "id_number": id_number, "country": country,
                       "domicile_in_china": _bool(item.get("domicile_in_china", country == "CN")),
                       "address": identifiers.clean_display_name(item.get("address") or "")})
    return owners


def _raise_if(errors: dict) -> None:
    if errors:
        code = errors.pop("_code", "validation_error")
        raise ValidationFailed(_("The data is not valid."), code=code, fields=errors)


def clean_right(data: dict) -> dict:
    """Validate a right's fields (from API, form, CSV or JSON Lines) into model values."""
    errors: dict[str, list[str]] = {}
    kind = (data.get("kind") or "").strip()
    if kind not in RightKind.values:
        errors["kind"] = [_("Choose one of: %s") % ", ".join(RightKind.values)]
    number = ""
    if kind in RightKind.values:
        try:
            number = identifiers.normalise_right_number(kind, data.get("number") or "")
        except DomainError as exc:
            errors["number"] = [exc.localised(_)]
            errors["_code"] = exc.code
    values: dict[str, Any] = {"kind": kind, "number": number}
    for f in DATE_FIELDS:
        try:
            values[f] = _parse_date(data.get(f))
        except ValueError:
            errors.setdefault(f, []).append(_("Enter a date as YYYY-MM-DD."))
    for f in INT_FIELDS:
        raw = data.get(f)
        if raw in (None, ""):
            values[f] = 0 if f == "term_adjustment_days" else None
            continue
        try:
            values[f] = int(raw)
            if values[f] < 0:
                raise ValueError
        except (TypeError, ValueError):
            errors.setdefault(f, []).append(_("Enter a whole number of zero or more."))
    if values.get("nice_class") is not None and not 1 <= values["nice_class"] <= 45:
        errors.setdefault("nice_class", []).append(_("Nice classes run from 1 to 45."))
    values["title"] = identifiers.clean_display_name(data.get("title") or "")[:300]
    values["mark_text"] = identifiers.clean_display_name(data.get("mark_text") or "")[:200]
    values["author_kind"] = data.get("author_kind") or ""
    if values["author_kind"] and values["author_kind"] not in ("natural_person", "legal_person"):
        errors["author_kind"] = [_("Choose natural_person or legal_person.")]
    values["similar_groups"] = _str_list(data.get("similar_groups"))
    values["ipc"] = _str_list(data.get("ipc"))
    values["same_day_invention"] = _bool(data.get("same_day_invention", False))
    values["owners"] = clean_owners(data.get("owners"), errors)
    if kind in ("invention", "utility_model", "design", "ic_layout") and not values.get("filing_date"):
        errors.setdefault("filing_date", []).append(_("Patents need a filing date."))
    if kind == "trademark" and values.get("registration_date") and values.get("filing_date") and \
            values["registration_date"] < values["filing_date"]:
        errors.setdefault("registration_date", []).append(_("Registration cannot precede filing."))
    if values.get("grant_date") and values.get("filing_date") and values["grant_date"] < values["filing_date"]:
        errors.setdefault("grant_date", []).append(_("Grant cannot precede filing."))
    if values["same_day_invention"] and kind != "utility_model":
        errors.setdefault("same_day_invention", []).append(_("Only a utility model can have a same-day invention."))
    _raise_if(errors)
    return values


# --- actions -------------------------------------------------------------------------------------

# Registrars of the office that records this kind of right, and admins, write the register.
WRITER_REFUSED = gettext_noop("Only a registrar of the office that records this kind of right may do this.")


def _rebuild_holders(right: Right) -> None:
    state = rules.derive(facts_of(right), events_of(right), dt.date.max)
    RightHolder.objects.filter(right=right).delete()
    RightHolder.objects.bulk_create([
        RightHolder(right=right, name=o.name, name_normalised=identifiers.normalise_name(o.name),
                    id_type=o.id_type, id_number=o.id_number) for o in state.owners])


def snapshot(right: Right) -> dict:
    return {f: getattr(right, f) for f in ("kind", "number", "title", "mark_text", "owners", *DATE_FIELDS,
                                           *INT_FIELDS, "similar_groups", "ipc", "same_day_invention")}


@transaction.atomic
def create_right(*, actor: Actor, data: dict) -> Right:
    values = clean_right(data)
    perm.require_office(actor, {values["kind"]}, _(WRITER_REFUSED))
    if Right.objects.filter(kind=values["kind"], number=values["number"]).exists():
        raise Conflict(_("This right is already in the register."), code="duplicate_right",
                       fields={"number": [_("Already registered.")]})
    try:
        with transaction.atomic():
            right = Right.objects.create(recorded_by=getattr(actor, "organisation", None), **values)
    except IntegrityError as exc:
        raise Conflict(_("This right is already in the register."), code="duplicate_right") from exc
    _rebuild_holders(right)
    audit.record(actor=actor, action="right.create", obj=right, after=snapshot(right))
    return right


def find_right(kind: str, number: str) -> Right:
    """Look a right up by any normal form of its number."""
    if kind not in RightKind.values:
        raise NotFound(_("Unknown kind of right."), code="right_not_found")
    try:
        normalised = identifiers.normalise_right_number(kind, number)
    except DomainError:
        raise NotFound(_("No such right in the register."), code="right_not_found") from None
    right = Right.objects.filter(kind=kind, number=normalised).prefetch_related("events").first()
    if right is None:
        raise NotFound(_("No such right in the register."), code="right_not_found")
    return right


def clean_event_fields(data: dict) -> tuple[str, str, dt.date, dict]:
    """(type, official code, date, payload) of an event's data, or ValidationFailed.  Needs no right
    and no database: bulk imports clean each row with it before one query per chunk."""
    errors: dict[str, list[str]] = {}
    etype = (data.get("type") or "").strip()
    code = (data.get("official_code") or "").strip().upper()
    payload: dict[str, Any] = {}
    if code and etype == "unmapped":
        # A code the register does not map (RINS, C52, PLDC…) is kept with its description.
        if legal_codes.event_type_for_code(code) is not None or code in legal_codes.PLEDGE_CODES:
            errors["type"] = [_("This official code has its own meaning; do not record it as unmapped.")]
        known = legal_codes.lookup(code)
        description = identifiers.clean_display_name(data.get("description") or "")
        payload["description"] = (description or (known.description_en if known else ""))[:300]
    elif code:
        mapped = legal_codes.event_type_for_code(code)
        if legal_codes.lookup(code) is None:
            errors["official_code"] = [_("Unknown official legal-status code.")]
        elif code in legal_codes.PLEDGE_CODES:
            errors["official_code"] = [_("Pledge events are recorded in the pledge registry, not here.")]
        elif mapped is None:
            errors["official_code"] = [_("This code has no effect on the register.")]
        else:
            mapped_type, extra = mapped
            if etype and etype != mapped_type:
                errors["type"] = [_("The type does not match the official code (%s).") % mapped_type]
            etype = mapped_type
            payload.update(extra)
    if etype not in rules.EVENT_TYPES:
        errors.setdefault("type", [_("Choose one of: %s") % ", ".join(sorted(rules.EVENT_TYPES))])
    elif etype == "unmapped" and not code:
        errors["official_code"] = [_("An unmapped record needs its official code.")]
    try:
        date = _parse_date(data.get("date"))
        if date is None:
            errors["date"] = [_("This field is required.")]
    except ValueError:
        date = None
        errors["date"] = [_("Enter a date as YYYY-MM-DD.")]
    for f in ("paid_through", "renewed_to"):
        if data.get(f) not in (None, ""):
            try:
                payload[f] = _parse_date(data.get(f)).isoformat()
            except ValueError:
                errors[f] = [_("Enter a date as YYYY-MM-DD.")]
    if data.get("outcome"):
        payload["outcome"] = data["outcome"]
    if data.get("new_owners"):
        payload["new_owners"] = clean_owners(data["new_owners"], errors, "new_owners")
    for f in ("new_name", "owner_id_number"):
        if data.get(f):
            payload[f] = identifiers.clean_display_name(str(data[f]))
    _raise_if(errors)
    return etype, code, date, payload


def event_of(seq: int, etype: str, code: str, date: dt.date, payload: dict) -> rules.Event:
    return rules.Event(seq=seq, type=etype, date=date, paid_through=_parse_date(payload.get("paid_through")),
                        outcome=payload.get("outcome"),
                        new_owners=tuple(_owner(o) for o in payload.get("new_owners", ())) or None,
                        new_name=payload.get("new_name"), owner_id_number=payload.get("owner_id_number"),
                        renewed_to=_parse_date(payload.get("renewed_to")), official_code=code or None)


def clean_event(right: Right, data: dict) -> tuple[rules.Event, dict]:
    etype, code, date, payload = clean_event_fields(data)
    seq = (right.events.order_by("-seq").values_list("seq", flat=True).first() or 0) + 1
    event = event_of(seq, etype, code, date, payload)
    rules.validate_event(facts_of(right), events_of(right), event)
    return event, payload


def record_event(*, actor: Actor, right: Right, data: dict) -> LegalEvent:
    refused: list[rules.Event] = []
    try:
        return _record_event(actor=actor, right=right, data=data, refused=refused)
    except DomainError as exc:
        for listener in event_refusal_listeners if refused else ():
            listener(right=right, event=refused[0], error=exc, actor=actor)
        raise


@transaction.atomic
def _record_event(*, actor: Actor, right: Right, data: dict, refused: list) -> LegalEvent:
    perm.require_office(actor, {right.kind}, _(WRITER_REFUSED))
    # Lock the right so concurrent events get distinct sequence numbers and consistent checks.
    right = Right.objects.select_for_update().get(pk=right.pk)
    event, payload = clean_event(right, data)
    if event.official_code and right.events.filter(official_code=event.official_code, date=event.date).exists():
        raise Conflict(_("This official record is already in the right's history."), code="duplicate_event")
    consent = _bool(data.get("pledgee_consent", False))
    for guard in event_guards:
        try:
            guard(right=right, event=event, pledgee_consent=consent, actor=actor)
        except DomainError:
            refused.append(event)
            raise
    if consent:
        payload["pledgee_consent"] = True
    row = LegalEvent.objects.create(right=right, seq=event.seq, type=event.type, date=event.date,
                                    official_code=event.official_code or "", payload=payload,
                                    note=(data.get("note") or "")[:300],
                                    recorded_by=actor if isinstance(actor, User) else None)
    if event.type in ("transferred", "owner_renamed"):
        _rebuild_holders(right)
    audit.record(actor=actor, action="right.event", obj=right,
                 after={"seq": row.seq, "type": row.type, "date": row.date, "official_code": row.official_code,
                        "payload": payload})
    for listener in event_listeners:
        listener(right=right, event=row, actor=actor)
    return row


def batchable() -> bool:
    """Every registered guard and listener has a set-based form (``record_events`` may batch)."""
    return all(hook in batch_forms for hook in (*event_guards, *event_listeners, *event_refusal_listeners))


@transaction.atomic
def record_events(*, actor: Actor, items: list[tuple[Right, rules.Event, dict, dict]]) -> list:
    """``record_event`` for many events at once, each on a distinct right, already cleaned and
    validated by the caller (``clean_event_fields`` and ``rules.validate_event`` against the right's
    history, with its sequence number; not a transfer or a rename: they rebuild the holder index).
    ``items``: (right, event, payload, data).  Guards, the insert, the audit rows and the listeners
    run once for the batch, through their ``batch_forms``; what is written is what recording the
    events one by one writes.  Returns, per item, the stored ``LegalEvent`` or the ``DomainError``
    that refused it (refusal listeners told, as ``record_event`` tells them)."""
    if not items:
        return []
    if any(event.type in ("transferred", "owner_renamed") for _r, event, _p, _d in items):
        raise ValueError("transfers and renames go through record_event")
    if len({right.pk for right, *_ in items}) != len(items):
        raise ValueError("one event per right in a batch")
    perm.require_office(actor, {right.kind for right, *_ in items}, _(WRITER_REFUSED))
    consents = [_bool(data.get("pledgee_consent", False)) for *_x, data in items]
    refused: dict[int, DomainError] = {}
    for guard in event_guards:
        open_ = [i for i in range(len(items)) if i not in refused]
        found = batch_forms[guard](items=[(items[i][0], items[i][1], consents[i]) for i in open_], actor=actor)
        for k, error in found.items():
            refused[open_[k]] = error
    user = actor if isinstance(actor, User) else None
    rows: list[LegalEvent] = []
    kept: list[int] = []
    for i, (right, event, payload, data) in enumerate(items):
        if i in refused:
            continue
        if consents[i]:
            payload = {**payload, "pledgee_consent": True}
        rows.append(LegalEvent(right=right, seq=event.seq, type=event.type, date=event.date,
                               official_code=event.official_code or "", payload=payload,
                               note=(data.get("note") or "")[:300], recorded_by=user))
        kept.append(i)
    rows = LegalEvent.objects.bulk_create(rows, batch_size=500)
    audit.record_many(actor=actor, action="right.event", entries=[
        (items[i][0], {"seq": row.seq, "type": row.type, "date": row.date, "official_code": row.official_code,
                       "payload": row.payload}) for i, row in zip(kept, rows, strict=True)])
    stored = [(items[i][0], row) for i, row in zip(kept, rows, strict=True)]
    for listener in event_listeners:
        batch_forms[listener](items=stored, actor=actor)
    if refused:
        told = [(items[i][0], items[i][1], refused[i]) for i in sorted(refused)]
        for listener in event_refusal_listeners:
            batch_forms[listener](items=told, actor=actor)
    out: list = [None] * len(items)
    for i, error in refused.items():
        out[i] = error
    for i, row in zip(kept, rows, strict=True):
        out[i] = row
    return out


def search(*, q: str = "", kind: str | None = None, limit: int = 50):
    """Find rights by number (any normal form), title or mark text, or holder name or identifier."""
    qs = Right.objects.all()
    if kind:
        qs = qs.filter(kind=kind)
    q = (q or "").strip()
    if q:
        from django.db.models import Q

        match = Q(title__icontains=q) | Q(mark_text__icontains=q)
        for k in ([kind] if kind else RightKind.values):
            try:
                match |= Q(kind=k, number=identifiers.normalise_right_number(k, q))
            except DomainError:
                continue
        holder = RightHolder.objects.filter(
            Q(name_normalised__contains=identifiers.normalise_name(q)) | Q(id_number=q.upper()))
        match |= Q(pk__in=holder.values("right_id"))
        qs = qs.filter(match)
    return list(qs.prefetch_related("holders").order_by("kind", "number")[:limit])
