"""Public disclosure: search of registered pledges, point-in-time, and search certificates.

Rules (registry-rules §5): any normal form of a right number finds the record; names match exactly
after normalisation, close matches only when asked and labelled; natural persons are found only by
ID number, never by name; ID numbers of individuals are masked; an invalid USCC or ID in a query is
a 422; a record appears only from the instant it was registered.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ippledge.core import identifiers, numbers
from ippledge.core.errors import DomainError, NotFound, ValidationFailed
from ippledge.rights.models import Right, RightKind

from . import journal
from .models import Pledge, PledgeEvent, PledgeParty, SearchCertificate

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


def _rights_matching(number: str) -> list[int]:
    q = Q()
    for kind in RightKind.values:
        try:
            q |= Q(kind=kind, number=identifiers.normalise_right_number(kind, number))
        except DomainError:
            continue
    return list(Right.objects.filter(q).values_list("pk", flat=True)) if q else []


def search(criteria: Criteria) -> list[dict]:
    qs = Pledge.objects.all()
    close_ids: set[int] = set()
    if criteria.registration_no:
        qs = qs.filter(Q(registration_no=criteria.registration_no) |
                       Q(official_registration_no=criteria.registration_no))
    if criteria.right:
        qs = qs.filter(pledge_rights__right_id__in=_rights_matching(criteria.right))
    if criteria.party_id:
        qs = qs.filter(parties__id_number=_party_id(criteria.party_id))
    if criteria.party:
        name = identifiers.normalise_name(criteria.party)
        # Natural persons are never found by name (PIPL): only organisations' names match.
        named = PledgeParty.objects.exclude(id_type__in=PERSONAL_ID_TYPES)
        exact = set(named.filter(name_normalised=name).values_list("pledge_id", flat=True))
        if criteria.close and len(name) >= 2:
            close_ids = set(named.filter(name_normalised__contains=name).exclude(pledge_id__in=exact)
                            .values_list("pledge_id", flat=True)[:MAX_RESULTS])
        qs = qs.filter(pk__in=exact | close_ids)
    if criteria.as_of:
        qs = qs.filter(registered_at__lte=criteria.as_of)
    pledges = list(qs.distinct().order_by("registered_at", "id")
                   .prefetch_related("pledge_rights__right", "parties", "history")[:MAX_RESULTS])
    return [public_record(p, as_of=criteria.as_of, close_match=p.pk in close_ids) for p in pledges]


def _mask(party: PledgeParty) -> str:
    return identifiers.mask_id(party.id_type, party.id_number)


def public_record(pledge: Pledge, *, as_of: dt.datetime | None = None, close_match: bool = False) -> dict:
    history = [h for h in pledge.history.all() if as_of is None or h.at <= as_of]
    status = "registered"
    for h in history:
        status = ENDING_EVENTS.get(h.type, status)
    parties = list(pledge.parties.all())
    record = {
        "registration_no": pledge.registration_no, "official_registration_no": pledge.official_registration_no,
        "status": status, "regime": pledge.regime, "disclosure_only": pledge.disclosure_only,
        "registered_at": pledge.registered_at.isoformat(), "effective_date": pledge.effective_date.isoformat(),
        "registration_term_end": pledge.registration_term_end.isoformat() if pledge.registration_term_end else None,
        "rights": [{"kind": pr.right.kind, "number": pr.right.number, "title": pr.right.display_title}
                   for pr in pledge.pledge_rights.all()],
        "pledgors": [{"name": p.name, "id_type": p.id_type, "id_number": _mask(p)} for p in parties
                     if p.role == "pledgor"],
        "pledgees": [{"name": p.name, "id_type": p.id_type, "id_number": _mask(p)} for p in parties
                     if p.role == "pledgee"],
        "secured_amount": str(pledge.secured_amount), "currency": pledge.currency,
        "notes": pledge.notes,
        "history": [{"type": h.type, "at": h.at.isoformat(), "date": h.date.isoformat(),
                     "data": _public_history_data(h)} for h in history],
    }
    if close_match:
        record["close_match"] = True
    return record


def _public_history_data(event: PledgeEvent) -> dict:
    keep = ("reason", "version", "fields", "from", "to", "term_end", "void_from", "objector", "expires_on",
            "notes")
    return {k: v for k, v in (event.data or {}).items() if k in keep}


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
