"""Public disclosure: search of registered pledges, point-in-time, and search certificates.

Rules (registry-rules §5): any normal form of a right number finds the record; names match exactly
after normalisation, close matches only when asked and labelled; natural persons are found only by
ID number, never by name; ID numbers of individuals are masked; an invalid USCC or ID in a query is
a 422; a record appears only from the instant it was registered.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import secrets
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ippledge.core import identifiers, limits, money, numbers
from ippledge.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from ippledge.rights.models import RightKind

from . import signing
from .canonical import canonical
from .models import JournalEntry, Pledge, PledgeParty, SearchCertificate

PERSONAL_ID_TYPES = {"resident_id", "passport", "other"}
ENDING_EVENTS = {"cancelled": "cancelled", "lapsed": "lapsed", "revoked": "revoked"}
MAX_RESULTS = 500
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Criteria:
    right: str = ""
    party: str = ""
    party_id: str = ""
    registration_no: str = ""
    as_of: dt.datetime | None = None
    close: bool = False

    def as_dict(self) -> dict:
        return {"right": self.right, "party": self.party, "party_id": self.party_id,
                "registration_no": self.registration_no, "close": self.close,
                "as_of": self.as_of.isoformat() if self.as_of else None}


BEIJING = dt.timezone(dt.timedelta(hours=8))
# The register's first day: the Patent Law took effect on 1985-04-01, nothing was pledged before.
REGISTRY_START = dt.date(limits.limit("MIN_YEAR"), 1, 1)


def _query_text(raw: dict, field: str) -> str:
    """A search field as text: bounded, and without control characters (PostgreSQL refuses NUL, and
    none belongs in a name or number)."""
    value = limits.text(raw.get(field), field=field, max_length=limits.limit("MAX_SHORT_TEXT"))
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValidationFailed(_("Control characters are not allowed."), code="invalid_characters",
                               fields={field: [_("Control characters are not allowed.")]})
    return value


def reference(value: str, field: str = "registration_no") -> str:
    """A registration or certificate number from a URL, checked like a query field."""
    return _query_text({field: value}, field).upper()


def _as_of(value) -> dt.datetime | None:
    """The searched instant, between the register's first day and now.  Bounds are checked on the
    value's own calendar date before any conversion, so no offset can push it out of datetime's range."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        text = value.strip()
        if len(text) > 40:
            raise ValidationFailed(_("Give as_of as an ISO date-time."), fields={"as_of": [_("Not a date-time.")]})
        try:
            value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationFailed(_("Give as_of as an ISO date-time."), fields={"as_of": [_("Not a date-time.")]}) \
                from None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time.max)
    if not isinstance(value, dt.datetime):
        raise ValidationFailed(_("Give as_of as an ISO date-time."), fields={"as_of": [_("Not a date-time.")]})
    if timezone.is_naive(value):
        value = value.replace(tzinfo=BEIJING)
    # "Now" on the as_of's own clock: a date-only as_of of today (end of day) is still today.
    today_there = timezone.now().astimezone(value.tzinfo).date()
    limits.business_date(value.date(), field="as_of", today=today_there, not_before=REGISTRY_START,
                         not_after=today_there)
    return value


def parse_criteria(raw: dict) -> Criteria:
    close = raw.get("close")
    criteria = Criteria(right=_query_text(raw, "right"), party=_query_text(raw, "party"),
                        party_id=_query_text(raw, "party_id"),
                        registration_no=_query_text(raw, "registration_no").upper(),
                        as_of=_as_of(raw.get("as_of")), close=str(close).lower() in {"1", "true", "yes"})
    if not (criteria.right or criteria.party or criteria.party_id or criteria.registration_no):
        raise ValidationFailed(_("Search by right number, party name, party ID or registration number."),
                               code="no_criteria")
    return criteria


def _party_id(value: str) -> tuple[str, str]:
    """Validate a USCC or resident ID: (id_type, normalised number); an invalid one is an error, never
    "no records"."""
    compact = "".join(value.split()).upper()
    errors = []
    for id_type, check in (("uscc", identifiers.normalise_uscc), ("resident_id", identifiers.normalise_resident_id)):
        try:
            return id_type, check(compact)
        except DomainError as exc:
            errors.append(exc)
    # Both failed: report as the one it most looks like (a resident ID is digits with a birth year
    # at positions 7-10).
    looks_personal = compact[:17].isdigit() and compact[6:8] in ("18", "19", "20")
    exc = errors[1] if looks_personal else errors[0]
    raise ValidationFailed(exc.message, code=exc.code, params=exc.params, fields={"party_id": [exc.message]})


def masked_party_id(value: str) -> str:
    """The party ID as public pages may show it: a USCC as is, anything else masked as a person's ID."""
    if not value:
        return value
    try:
        return identifiers.normalise_uscc("".join(value.split()).upper())
    except DomainError:
        return identifiers.mask_resident_id(value)


def _name_matches(criteria: Criteria) -> tuple[set[int], set[int]]:
    name = identifiers.normalise_name(criteria.party)
    # Natural persons are never found by name (PIPL): only organisations' names match.
    named = PledgeParty.objects.exclude(id_type__in=PERSONAL_ID_TYPES)
    exact = set(named.filter(name_normalised=name).values_list("pledge_id", flat=True)[:MAX_RESULTS])
    close: set[int] = set()
    if criteria.close and len(name) >= 2:
        close = set(named.filter(name_normalised__contains=name).exclude(pledge_id__in=exact)
                    .values_list("pledge_id", flat=True)[:MAX_RESULTS])
    return exact, close


def search(criteria: Criteria) -> list[dict]:
    """Matching registrations in registration order.  Hand-written SQL: this is the platform's
    hottest public read, and the ORM's per-query cost dominated it (see docs/benchmarks.md)."""
    joins, where, params = [], [], []
    close_ids: set[int] = set()
    if criteria.registration_no:
        where.append("(p.registration_no = %s OR p.official_registration_no = %s)")
        params += [criteria.registration_no, criteria.registration_no]
    if criteria.right:
        pairs = _number_forms(criteria.right)
        if not pairs:
            return []
        joins.append("JOIN registry_pledgeright pr ON pr.pledge_id = p.id JOIN rights_right r ON r.id = pr.right_id")
        where.append("(" + " OR ".join("(r.kind = %s AND r.number = %s)" for _ in pairs) + ")")
        params += [x for pair in pairs for x in pair]
    if criteria.party_id:
        joins.append("JOIN registry_pledgeparty pi ON pi.pledge_id = p.id")
        where.append("pi.id_number = %s")
        params.append(_party_id(criteria.party_id)[1])
    if criteria.party and not criteria.close:
        joins.append("JOIN registry_pledgeparty pn ON pn.pledge_id = p.id")
        where.append("pn.name_normalised = %s AND pn.id_type NOT IN (%s, %s, %s)")
        params += [identifiers.normalise_name(criteria.party), *sorted(PERSONAL_ID_TYPES)]
    elif criteria.party:
        exact, close_ids = _name_matches(criteria)
        ids = exact | close_ids
        if not ids:
            return []
        where.append(f"p.id IN ({', '.join(['%s'] * len(ids))})")
        params += sorted(ids)
    if criteria.as_of:
        where.append("p.registered_at <= %s")
        params.append(connection.ops.adapt_datetimefield_value(criteria.as_of))
    sql = (f"SELECT DISTINCT p.id, p.registered_at FROM registry_pledge p {' '.join(joins)} "
           f"WHERE {' AND '.join(where) or '1=1'} ORDER BY p.registered_at, p.id LIMIT {MAX_RESULTS}")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [row[0] for row in cursor.fetchall()]
    return records(ids, as_of=criteria.as_of, close_ids=close_ids)


def _number_forms(number: str) -> list[tuple[str, str]]:
    """Every (kind, normalised number) the text can denote.  An unmistakable patent number (new
    13-character form, a dot or a ZL/CN prefix) denotes one kind only; a bare 9-digit string may be an
    old patent number or a trademark number, so it is tried as every kind."""
    compact = "".join(number.split()).upper()
    if len(compact) == 13 or "." in compact or compact[:2] in ("ZL", "CN"):
        try:
            parsed = identifiers.parse_patent_number(number)
        except DomainError:
            pass
        else:
            return [(parsed.kind, parsed.normalised)]
    pairs = []
    for kind in RightKind.values:
        try:
            pairs.append((kind, identifiers.normalise_right_number(kind, number)))
        except DomainError:
            continue
    return pairs


def _moment(value) -> dt.datetime:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _day(value) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else value.isoformat()


def _json(value):
    return json.loads(value) if isinstance(value, str) else value


def _fetch(sql: str, ids: list[int]) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql.replace("{ids}", ", ".join(["%s"] * len(ids))), ids)
        return cursor.fetchall()


def _db_records(ids: list[int]) -> dict[int, dict]:
    """Public records of the given pledges as the tables hold them (full history), four queries in all.
    Each party carries ``id_seal``, a keyed digest of its full ID number, so that the journal can vouch
    for the number searched by without holding it; ``records`` strips it before serving."""
    out: dict[int, dict] = {}
    for (pid, reg, official, status, regime, disclosure, at, effective, term_end, amount, currency,
         notes) in _fetch("SELECT id, registration_no, official_registration_no, status, regime, disclosure_only, "
                          "registered_at, effective_date, registration_term_end, secured_amount, currency, notes "
                          "FROM registry_pledge WHERE id IN ({ids})", ids):
        out[pid] = {"registration_no": reg, "official_registration_no": official, "status": status,
                    "regime": regime, "disclosure_only": bool(disclosure),
                    "registered_at": _moment(at).isoformat(), "effective_date": _day(effective),
                    "registration_term_end": _day(term_end), "rights": [], "pledgors": [], "pledgees": [],
                    "secured_amount": str(money.from_fen(amount)), "currency": currency,
                    "notes": _json(notes) or [], "history": []}
    for pid, kind, number, title, mark in _fetch(
            "SELECT pr.pledge_id, r.kind, r.number, r.title, r.mark_text FROM registry_pledgeright pr "
            "JOIN rights_right r ON r.id = pr.right_id WHERE pr.pledge_id IN ({ids}) ORDER BY pr.id", ids):
        out[pid]["rights"].append({"kind": kind, "number": number, "title": title or mark or number})
    for pid, role, name, id_type, id_number in _fetch(
            "SELECT pledge_id, role, name, id_type, id_number FROM registry_pledgeparty "
            "WHERE pledge_id IN ({ids}) ORDER BY id", ids):
        if role in ("pledgor", "pledgee"):
            out[pid][role + "s"].append({"name": name, "id_type": id_type,
                                         "id_number": identifiers.mask_id(id_type, id_number),
                                         "id_seal": signing.seal("party-id", f"{id_type}:{id_number}")[:24]})
    for pid, etype, at, day, data in _fetch(
            "SELECT pledge_id, type, at, date, data FROM registry_pledgeevent WHERE pledge_id IN ({ids}) "
            "ORDER BY at, id", ids):
        out[pid]["history"].append({"type": etype, "at": _moment(at).isoformat(), "date": _day(day),
                                    "data": _public_history_data(etype, _json(data) or {})})
    return out


def records(ids: list[int], *, as_of: dt.datetime | None = None, close_ids: set[int] = frozenset()) -> list[dict]:
    """Public records of the given pledges, in the given order.  Each is checked against its journal
    first; a record that disagrees is served as the journal has it (and the disagreement logged)."""
    if not ids:
        return []
    out = _db_records(ids)
    recorded = journal_records([r["registration_no"] for r in out.values()])
    result = []
    for pid in ids:
        record = out[pid]
        journalled = recorded.get(record["registration_no"])
        if journalled and journalled["state"] is not None and differences(record, journalled):
            log.error("pledge %s disagrees with its journal (%s); serving the journal's record",
                      record["registration_no"], ", ".join(differences(record, journalled)))
            record = {**journalled["state"], "history": journalled["history"]}
        for party in (*record["pledgors"], *record["pledgees"]):
            party.pop("id_seal", None)
        if as_of is not None:
            record["history"] = [h for h in record["history"] if _moment(h["at"]) <= as_of]
            record["status"] = "registered"
            for h in record["history"]:
                record["status"] = ENDING_EVENTS.get(h["type"], record["status"])
        if pid in close_ids:
            record["close_match"] = True
        result.append(record)
    return result


def public_record(pledge: Pledge, *, as_of: dt.datetime | None = None) -> dict:
    return records([pledge.pk], as_of=as_of)[0]


# --- the record as its journal has it ------------------------------------------------------------
# Every ``pledge.*`` journal entry carries the record's public state after the action that wrote it
# (``journal`` asks ``current_states`` when it writes), and the pledge's public history is its
# sequence of ``pledge.*`` entries.  So the journal alone rebuilds what public search must serve.

PLEDGE_EVENT = "pledge."


def _state(record: dict) -> dict:
    return json.loads(canonical({k: v for k, v in record.items() if k not in ("history", "close_match")}))


def current_states(registration_nos: list[str]) -> dict[str, dict]:
    """The public state of these pledges as the tables hold it now (for the journal to record)."""
    ids = list(Pledge.objects.filter(registration_no__in=registration_nos).values_list("id", flat=True))
    return {r["registration_no"]: _state(r) for r in _db_records(ids).values()} if ids else {}


def journal_records(registration_nos: list[str]) -> dict[str, dict]:
    """{registration_no: {"state": latest recorded state or None, "history": [...]}} from the journal."""
    out: dict[str, dict] = {}
    if not registration_nos:
        return out
    # Raw SQL like the record itself: this runs on every public read.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT ref, kind, at, payload FROM {JournalEntry._meta.db_table} "
                       f"WHERE ref IN ({', '.join(['%s'] * len(registration_nos))}) AND kind LIKE %s ORDER BY seq",
                       [*registration_nos, PLEDGE_EVENT + "%"])
        rows = cursor.fetchall()
    for ref, kind, at, payload in rows:
        entry = out.setdefault(ref, {"state": None, "history": []})
        data = dict(_json(payload) or {})
        state, day = data.pop("state", None), data.pop("date", None)
        etype = kind[len(PLEDGE_EVENT):]
        entry["history"].append({"type": etype, "at": _moment(at).isoformat(), "date": _day(day),
                                 "data": _public_history_data(etype, data)})
        if state is not None:
            entry["state"] = state
    return out


def _comparable(state: dict) -> dict:
    # A right's title belongs to the rights register (and may be corrected there): the pledge record
    # vouches for which rights are pledged.
    return {**state, "rights": [(r.get("kind"), r.get("number")) for r in state.get("rights") or []]}


def differences(record: dict, journalled: dict) -> list[str]:
    """The fields in which a record (as the tables hold it) differs from its journal."""
    served, recorded = _comparable(_state(record)), _comparable(journalled["state"] or {})
    fields = sorted(k for k in served.keys() | recorded.keys() if served.get(k) != recorded.get(k))

    def events(history):
        return [(h["type"], h["date"], h["data"]) for h in json.loads(canonical(history))]

    if events(record["history"]) != events(journalled["history"]):
        fields.append("history")
    return fields


def record_differences(batch: int = 500) -> list[dict]:
    """Every difference between the public records the tables would serve and their journal."""
    found: list[dict] = []
    last_id = 0
    seen: set[str] = set()
    while True:
        ids = list(Pledge.objects.filter(pk__gt=last_id).order_by("pk").values_list("pk", flat=True)[:batch])
        if not ids:
            break
        last_id = ids[-1]
        held = _db_records(ids)
        recorded = journal_records([r["registration_no"] for r in held.values()])
        for pid in ids:
            record = held[pid]
            reg = record["registration_no"]
            seen.add(reg)
            journalled = recorded.get(reg)
            if not journalled or journalled["state"] is None:
                found.append({"registration_no": reg, "field": "journal",
                              "journal": None, "served": "record without a recorded state in the journal"})
                continue
            state = _comparable(_state(record))
            expected = _comparable(journalled["state"])
            for field in differences(record, journalled):
                found.append({"registration_no": reg, "field": field,
                              "journal": journalled["history"] if field == "history" else expected.get(field),
                              "served": record["history"] if field == "history" else state.get(field)})
    for reg in JournalEntry.objects.filter(kind=PLEDGE_EVENT + "registered").values_list("ref", flat=True):
        if reg not in seen:
            found.append({"registration_no": reg, "field": "record", "journal": "registered",
                          "served": None})
    return found


def _public_history_data(etype: str, data: dict) -> dict:
    keep = ("reason", "version", "fields", "from", "to", "term_end", "void_from", "objector", "expires_on",
            "notes")
    return {k: v for k, v in data.items() if k in keep}


# --- certificates --------------------------------------------------------------------------------

@transaction.atomic
def issue_certificate(raw_criteria: dict) -> SearchCertificate:
    """Issue a certificate of a search.  Certificates are not registry events: they stay out of the
    pledge journal (anonymous issues would otherwise grow its chain without bound) and carry their own
    integrity instead, a seal over their content that doubles as the verification code."""
    criteria = parse_criteria(raw_criteria)
    issued_at = timezone.now()
    # The certificate fixes the instant searched: without as_of it is "as at issue", and it never
    # certifies an instant after its issue.
    as_of = min(criteria.as_of, issued_at) if criteria.as_of else issued_at
    results = search(Criteria(**{**criteria.__dict__, "as_of": as_of}))
    year = timezone.localtime(issued_at, BEIJING).year
    stated = criteria.as_dict()
    stated["party_id"] = masked_party_id(criteria.party_id)  # a person's full ID never goes on paper
    cert = SearchCertificate(certificate_no=numbers.next_number(f"certificate-{year}", f"CX{year}", 8),
                             issued_at=issued_at, criteria=stated, as_of=as_of, results=results)
    cert.verification_code = certificate_seal(cert)
    cert.save()
    return cert


SEAL_LENGTH = 16  # hex characters; certificates issued before seals carry a random 12-character code


def certificate_seal(cert: SearchCertificate) -> str:
    content = {"certificate_no": cert.certificate_no, "issued_at": cert.issued_at.astimezone(dt.UTC),
               "as_of": cert.as_of.astimezone(dt.UTC), "criteria": cert.criteria, "results": cert.results}
    return signing.seal("search-certificate", canonical(content))[:SEAL_LENGTH].upper()


def certificate_intact(cert: SearchCertificate) -> bool:
    if len(cert.verification_code) != SEAL_LENGTH:
        return True  # issued before seals: nothing to check it against
    return secrets.compare_digest(cert.verification_code, certificate_seal(cert))


def find_certificate(certificate_no: str, code: str) -> SearchCertificate:
    number, code = reference(certificate_no, "certificate_no"), reference(code, "code")
    cert = SearchCertificate.objects.filter(certificate_no=number).first()
    # Same answer for a wrong number and a wrong code: the code is what proves access.
    if cert is None or not secrets.compare_digest(cert.verification_code, code):
        raise NotFound(_("No certificate with this number and verification code."), code="certificate_not_found")
    if not certificate_intact(cert):
        log.error("search certificate %s does not match its seal: its stored content was altered",
                  cert.certificate_no)
        raise Conflict(_("This certificate's stored content no longer matches its seal; the registry has been "
                         "alerted."), code="certificate_altered")
    return cert


def public_criteria(cert: SearchCertificate) -> dict:
    """The criteria as a certificate shows them (older certificates stored the full ID searched)."""
    return {**cert.criteria, "party_id": masked_party_id(cert.criteria.get("party_id") or "")}


def certificate_body(cert: SearchCertificate) -> dict:
    return {"certificate_no": cert.certificate_no, "verification_code": cert.verification_code,
            "issued_at": cert.issued_at.isoformat(), "as_of": cert.as_of.isoformat(),
            "criteria": public_criteria(cert), "results": cert.results}
