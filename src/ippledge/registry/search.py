"""Public disclosure: search of registered pledges, point-in-time, and search certificates.

Rules (registry-rules §5): any normal form of a right number finds the record; names match exactly
after normalisation, close matches only when asked and labelled; natural persons are found only by
ID number, never by name; ID numbers of individuals are masked; an invalid USCC or ID in a query is
a 422; a record appears only from the instant it was registered.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ippledge.core import identifiers, numbers
from ippledge.core.errors import DomainError, NotFound, ValidationFailed
from ippledge.rights.models import RightKind

from . import journal
from .models import Pledge, PledgeParty, SearchCertificate

PERSONAL_ID_TYPES = {"resident_id", "passport", "other"}
ENDING_EVENTS = {"cancelled": "cancelled", "lapsed": "lapsed", "revoked": "revoked"}
MAX_RESULTS = 500


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


def parse_criteria(raw: dict) -> Criteria:
    as_of = raw.get("as_of")
    if isinstance(as_of, str) and as_of:
        try:
            as_of = dt.datetime.fromisoformat(as_of.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationFailed(_("Give as_of as an ISO date-time."), fields={"as_of": [_("Not a date-time.")]}) \
                from None
    if isinstance(as_of, dt.date) and not isinstance(as_of, dt.datetime):
        as_of = dt.datetime.combine(as_of, dt.time.max)
    if as_of and timezone.is_naive(as_of):
        as_of = timezone.make_aware(as_of, dt.timezone(dt.timedelta(hours=8)))
    close = raw.get("close")
    criteria = Criteria(right=(raw.get("right") or "").strip(), party=(raw.get("party") or "").strip(),
                        party_id=(raw.get("party_id") or "").strip(),
                        registration_no=(raw.get("registration_no") or "").strip().upper(),
                        as_of=as_of or None, close=str(close).lower() in {"1", "true", "yes"})
    if not (criteria.right or criteria.party or criteria.party_id or criteria.registration_no):
        raise ValidationFailed(_("Search by right number, party name, party ID or registration number."),
                               code="no_criteria")
    return criteria


def _party_id(value: str) -> str:
    """Validate a USCC or resident ID; an invalid one is an error, never "no records"."""
    compact = "".join(value.split()).upper()
    errors = []
    for check in (identifiers.normalise_uscc, identifiers.normalise_resident_id):
        try:
            return check(compact)
        except DomainError as exc:
            errors.append(exc)
    # Both failed: report as the one it most looks like (a resident ID is digits with a birth year
    # at positions 7-10).
    looks_personal = compact[:17].isdigit() and compact[6:8] in ("18", "19", "20")
    exc = errors[1] if looks_personal else errors[0]
    raise ValidationFailed(exc.message, code=exc.code, params=exc.params, fields={"party_id": [exc.message]})


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
        params.append(_party_id(criteria.party_id))
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


def records(ids: list[int], *, as_of: dt.datetime | None = None, close_ids: set[int] = frozenset()) -> list[dict]:
    """Public records of the given pledges, in the given order, with four queries in all."""
    if not ids:
        return []
    out: dict[int, dict] = {}
    for (pid, reg, official, status, regime, disclosure, at, effective, term_end, amount, currency,
         notes) in _fetch("SELECT id, registration_no, official_registration_no, status, regime, disclosure_only, "
                          "registered_at, effective_date, registration_term_end, secured_amount, currency, notes "
                          "FROM registry_pledge WHERE id IN ({ids})", ids):
        out[pid] = {"registration_no": reg, "official_registration_no": official, "status": status,
                    "regime": regime, "disclosure_only": bool(disclosure),
                    "registered_at": _moment(at).isoformat(), "effective_date": _day(effective),
                    "registration_term_end": _day(term_end), "rights": [], "pledgors": [], "pledgees": [],
                    "secured_amount": str(Decimal(str(amount)).quantize(Decimal("0.01"))), "currency": currency,
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
                                         "id_number": identifiers.mask_id(id_type, id_number)})
    for pid, etype, at, day, data in _fetch(
            "SELECT pledge_id, type, at, date, data FROM registry_pledgeevent WHERE pledge_id IN ({ids}) "
            "ORDER BY at, id", ids):
        moment = _moment(at)
        if as_of is not None and moment > as_of:
            continue
        out[pid]["history"].append({"type": etype, "at": moment.isoformat(), "date": _day(day),
                                    "data": _public_history_data(etype, _json(data) or {})})
    result = []
    for pid in ids:
        record = out[pid]
        if as_of is not None:
            record["status"] = "registered"
            for h in record["history"]:
                record["status"] = ENDING_EVENTS.get(h["type"], record["status"])
        if pid in close_ids:
            record["close_match"] = True
        result.append(record)
    return result


def public_record(pledge: Pledge, *, as_of: dt.datetime | None = None) -> dict:
    return records([pledge.pk], as_of=as_of)[0]


def _public_history_data(etype: str, data: dict) -> dict:
    keep = ("reason", "version", "fields", "from", "to", "term_end", "void_from", "objector", "expires_on",
            "notes")
    return {k: v for k, v in data.items() if k in keep}


# --- certificates --------------------------------------------------------------------------------

@transaction.atomic
def issue_certificate(raw_criteria: dict) -> SearchCertificate:
    criteria = parse_criteria(raw_criteria)
    issued_at = timezone.now()
    # The certificate fixes the instant searched: without as_of it is "as at issue".
    effective = Criteria(**{**criteria.__dict__, "as_of": criteria.as_of or issued_at})
    results = search(effective)
    year = timezone.localtime(issued_at, dt.timezone(dt.timedelta(hours=8))).year
    cert = SearchCertificate.objects.create(
        certificate_no=numbers.next_number(f"certificate-{year}", f"CX{year}", 8),
        verification_code=secrets.token_hex(6).upper(), issued_at=issued_at,
        criteria=criteria.as_dict(), as_of=effective.as_of, results=results)
    journal.append(kind="certificate.issued", ref=cert.certificate_no,
                   payload={"criteria": cert.criteria, "results": [r["registration_no"] for r in results]})
    return cert


def find_certificate(certificate_no: str, code: str) -> SearchCertificate:
    cert = SearchCertificate.objects.filter(certificate_no=(certificate_no or "").strip().upper()).first()
    # Same answer for a wrong number and a wrong code: the code is what proves access.
    if cert is None or not secrets.compare_digest(cert.verification_code, (code or "").strip().upper()):
        raise NotFound(_("No certificate with this number and verification code."), code="certificate_not_found")
    return cert


def certificate_body(cert: SearchCertificate) -> dict:
    return {"certificate_no": cert.certificate_no, "verification_code": cert.verification_code,
            "issued_at": cert.issued_at.isoformat(), "as_of": cert.as_of.isoformat(), "criteria": cert.criteria,
            "results": cert.results}
