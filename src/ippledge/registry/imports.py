"""Pledges registered at an official registry before or outside the platform, and official pledge
records (PE01/PM01/PC01) read from legal-status feeds.

An imported pledge is a registry ``Pledge`` like any other: it gets a platform registration number,
its parties are indexed, its rights are linked live (a patent's link is exclusive, so the database
refuses a second live pledge of it), it is journalled (``pledge.imported``, with the official
number and date) and it is watched by monitoring.  There is no application: the official registry
examined it.  The official registration number identifies it per regime, so importing the same file
twice changes nothing.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _

from ippledge.core import audit, business_date, limits, money
from ippledge.core import permissions as perm
from ippledge.core.actors import user_or_none
from ippledge.core.errors import Conflict, ValidationFailed
from ippledge.core.permissions import Actor
from ippledge.rights import rules
from ippledge.rights.models import Right

from . import examination, journal, services
from .models import Pledge, PledgeEvent, PledgeRight, PledgeStatus, PledgeVersion, Regime
from .parsing import Errors, _date, clean_debt, clean_parties, clean_party, control_characters, find_rights

OFFICIAL_RECORD = "official_record"  # pledge history: an official registry's record of this pledge
PLEDGE_RECORD_CODES = {"PE01": "registered", "PM01": "changed", "PC01": "cancelled"}


# --- facts for bulk readers ----------------------------------------------------------------------

def rights_with_live_pledges(right_ids) -> set[int]:
    """Which of these rights are under a live pledge (as ``services.live_pledges`` defines it)."""
    ids = list(right_ids)
    if not ids:
        return set()
    # Raw SQL for a long IN list (the ORM prepares each value); the same filter as live_pledges.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT pr.right_id FROM {PledgeRight._meta.db_table} pr "
                       f"JOIN {Pledge._meta.db_table} p ON p.id = pr.pledge_id "
                       f"WHERE pr.live = %s AND p.status = %s AND pr.right_id IN ({', '.join(['%s'] * len(ids))})",
                       [True, PledgeStatus.REGISTERED.value, *ids])
        return {row[0] for row in cursor.fetchall()}


# --- official pledge records from a legal-status feed -------------------------------------------

def _candidates(right_id: int, code: str, official_no: str) -> list[Pledge]:
    pledges = Pledge.objects.filter(pledge_rights__right_id=right_id).distinct().order_by("registered_at", "id")
    if official_no:
        return [p for p in pledges if p.official_registration_no == official_no]
    if code == "PC01":
        return list(pledges)
    return [p for p in pledges if p.status == PledgeStatus.REGISTERED]


@transaction.atomic
def note_official_record(*, actor: Actor, right: Right, code: str, date: dt.date, official_no: str = "") -> dict:
    """Match an official pledge record on ``right`` to the pledge we hold and note it in its history.

    ``{"status": "matched" | "unchanged" | "unmatched", "registration_no", "pledge_status"}``: a record
    we do not hold is reported, never invented; a cancellation (PC01) of a pledge we still hold as
    registered is noted and reported with ``pledge_status`` so that someone acts on it."""
    perm.require_office(actor, {right.kind})
    found = _candidates(right.pk, code, official_no)
    if not found:
        return {"status": "unmatched", "registration_no": None, "pledge_status": None}
    pledge = Pledge.objects.select_for_update().get(pk=found[-1].pk)
    result = {"registration_no": pledge.registration_no, "pledge_status": pledge.status}
    if PledgeEvent.objects.filter(pledge=pledge, type=OFFICIAL_RECORD, date=date, data__code=code).exists():
        return {"status": "unchanged", **result}
    fields = []
    if code == "PE01" and official_no and not pledge.official_registration_no:
        pledge.official_registration_no = official_no
        fields.append("official_registration_no")
    if code == "PE01" and pledge.official_effective_date is None:
        pledge.official_effective_date = date
        fields.append("official_effective_date")
    if fields:
        pledge.save(update_fields=fields)
    with journal.buffered():
        services._history(pledge, OFFICIAL_RECORD, actor=actor, on=date,
                          data={"code": code, "official_registration_no": official_no or pledge.official_registration_no,
                                "right": {"kind": right.kind, "number": right.number}})
    audit.record(actor=actor, action="pledge.official_record", obj=pledge,
                 after={"code": code, "date": date, "official_registration_no": official_no})
    return {"status": "matched", **result}


# --- pledges registered outside the platform ---------------------------------------------------

def _clean(data: dict, today: dt.date) -> tuple[dict, list[Right], str]:
    errors = Errors()
    control_characters(data, "", errors)
    official_no = str(data.get("official_registration_no") or "").strip().upper()
    if not official_no:
        errors.add("official_registration_no", _("This field is required."))
    elif len(official_no) > 64 or not official_no.isascii() or not official_no.replace("-", "").isalnum():
        errors.add("official_registration_no", _("Give the official registration number in letters and digits."))
    official_date = _date(data.get("official_effective_date"), "official_effective_date", errors, required=True)
    if official_date is not None:
        try:
            limits.business_date(official_date, field="official_effective_date", today=today, not_after=today)
        except ValidationFailed as exc:
            errors.update(exc.fields)
    pledgors = clean_parties(data.get("pledgors"), "pledgors", errors)
    pledgees = clean_parties(data.get("pledgees"), "pledgees", errors)
    debtor = clean_party(data["debtor"], "debtor", errors) if data.get("debtor") else None
    raw_debt = data.get("secured_debt")
    if raw_debt is None and data.get("secured_amount") not in (None, ""):
        raw_debt = {"type": data.get("debt_type") or "", "amount": data.get("secured_amount"),
                    "currency": data.get("currency") or "CNY"}
    debt = clean_debt(raw_debt, errors)
    if debt and debt.get("amount") is None and "secured_debt.amount" not in errors:
        errors.add("secured_debt.amount", _("This field is required."))
    rights = find_rights(data.get("rights"), errors)
    regime = ""
    if rights:
        try:
            regime = examination.regime_of(r.kind for r in rights)
        except ValidationFailed as exc:
            errors.add("rights", exc.localised(_))
            errors.setdefault("_code", exc.code)
    term_end = _date(data.get("registration_term_end"), "registration_term_end", errors)
    due = _date(data.get("debt_due_date"), "debt_due_date", errors)
    short = limits.limit("MAX_SHORT_TEXT")
    contract_no = str(data.get("contract_no") or "")[:short]
    errors.raise_if_any()
    cleaned = {"official_registration_no": official_no, "official_effective_date": official_date,
               "pledgors": pledgors, "pledgees": pledgees, "debtor": debtor, "secured_debt": debt,
               "debt_due_date": due.isoformat() if due else None, "guarantee_scope": "",
               "contract_no": contract_no, "registration_term_end": term_end.isoformat() if term_end else None,
               "agent": None, "valuation_ref": None}
    return cleaned, rights, regime


def kinds_of_row(data: dict) -> set[str]:
    return {str(r.get("kind") or "") for r in data.get("rights") or [] if isinstance(r, dict)}


@transaction.atomic
def import_pledge(*, actor: Actor, data: dict, source: str = "") -> tuple[str, Pledge]:
    """Record one officially registered pledge: ``("imported", pledge)`` or ``("unchanged", pledge)``
    when its official number is already held for the regime; DomainError when it cannot be."""
    perm.require_registrar(actor)
    today = business_date.today()
    cleaned, rights, regime = _clean(data, today)
    perm.require_office(actor, {r.kind for r in rights})
    official_no = cleaned["official_registration_no"]
    held = Pledge.objects.filter(regime=regime, official_registration_no=official_no).first()
    if held is not None:
        same = {r.pk for r in rights} == set(held.pledge_rights.values_list("right_id", flat=True))
        if not same:
            raise Conflict(_("This official registration number is already held for other rights (%s).")
                           % held.registration_no, code="official_number_conflict")
        return "unchanged", held
    # Lock the rights (as a registration does) before the live-pledge check.
    list(Right.objects.select_for_update().filter(pk__in=[r.pk for r in rights]).values_list("pk", flat=True))
    pledged = rights_with_live_pledges(r.pk for r in rights if r.kind in rules.PATENT_KINDS)
    if pledged:
        numbers = ", ".join(r.number for r in rights if r.pk in pledged)
        raise Conflict(_("A patent admits one live pledge: %s is already pledged.") % numbers,
                       code="right_already_pledged")
    now = services._now()
    on = cleaned["official_effective_date"]
    with journal.buffered():
        try:
            with transaction.atomic():
                pledge = Pledge.objects.create(
                    registration_no=services._registration_no(regime, today), official_registration_no=official_no,
                    application=None, regime=regime, disclosure_only=regime == Regime.DISCLOSURE,
                    registered_at=now, effective_date=on, official_effective_date=on,
                    registration_term_end=cleaned["registration_term_end"],
                    secured_amount=money.to_fen(cleaned["secured_debt"]["amount"]),
                    currency=cleaned["secured_debt"].get("currency", "CNY"), notes=[])
                PledgeRight.objects.bulk_create([
                    PledgeRight(pledge=pledge, right=r, live=True, exclusive=r.kind in rules.PATENT_KINDS)
                    for r in rights])
        except IntegrityError as exc:
            raise Conflict(_("A patent admits one live pledge: one of these rights is already pledged."),
                           code="right_already_pledged") from exc
        PledgeVersion.objects.create(pledge=pledge, version=1, at=now, data=services._version_data(cleaned),
                                     reason="import", actor=user_or_none(actor))
        services._index_parties(pledge, cleaned, new=True)
        services._history(pledge, "imported", actor=actor, on=today,
                          data={"official_registration_no": official_no, "official_effective_date": on,
                                "source": source[:200]})
    audit.record(actor=actor, action="pledge.import", obj=pledge,
                 after={"official_registration_no": official_no, "official_effective_date": on,
                        "rights": [f"{r.kind}:{r.number}" for r in rights], "source": source[:200]})
    return "imported", pledge
