"""Turning an application body (API, form or bank workflow) into clean, validated data.

Shape errors — a bad identifier, a missing field, a bad date or amount, an unknown right — are a 422
with field errors and nothing stored.  Content gaps the law names (an empty address, a missing
guarantee scope) are left for the examination to decide.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from ippledge.core import exact, identifiers, limits, money
from ippledge.core.errors import DomainError, ValidationFailed
from ippledge.rights.models import Right

ID_TYPES = ("uscc", "resident_id", "passport", "foreign_company", "other")

# The valuation app (a higher layer) registers a check that a valuation reference is a final record
# in force covering a pledged right: ``check(valuation_no, rights, on) -> bool``.
valuation_ref_checks: list = []
CANCELLATION_REASONS = ("repaid", "enforced", "waived", "contract_void", "other")


class Errors(dict):
    def add(self, field: str, message: str) -> None:
        self.setdefault(field, []).append(message)

    def raise_if_any(self, code: str | None = None) -> None:
        if self:
            raise ValidationFailed(_("The application is not valid."), code=self.pop("_code", None) or code
                                   or "validation_error", fields=dict(self))


def _date(value: Any, field: str, errors: Errors, required: bool = False) -> dt.date | None:
    if value in (None, ""):
        if required:
            errors.add(field, _("This field is required."))
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        errors.add(field, _("Enter a date as YYYY-MM-DD."))
        return None


def clean_party(raw: Any, field: str, errors: Errors) -> dict | None:
    if not isinstance(raw, dict):
        errors.add(field, _("Give the party as an object with name, id_type and id_number."))
        return None
    id_type = raw.get("id_type") or ""
    if id_type not in ID_TYPES:
        errors.add(f"{field}.id_type", _("Choose one of: %s") % ", ".join(ID_TYPES))
        return None
    try:
        id_number = identifiers.validate_party_id(id_type, raw.get("id_number") or "")
    except DomainError as exc:
        errors.add(f"{field}.id_number", exc.localised(_))
        errors.setdefault("_code", exc.code)
        return None
    country = str(raw.get("country") or "CN").strip().upper()
    if not (len(country) == 2 and country.isascii() and country.isalpha()):
        errors.add(f"{field}.country", _("Use a two-letter country code such as CN."))
        return None
    domicile = raw.get("domicile_in_china")
    name, address = str(raw.get("name") or ""), str(raw.get("address") or "")
    short = limits.limit("MAX_SHORT_TEXT")
    for key, value in (("name", name), ("address", address)):
        if len(value) > short:
            errors.add(f"{field}.{key}", _("At most %(cap)s characters.") % {"cap": short})
            return None
    return {"name": identifiers.clean_display_name(name), "id_type": id_type,
            "id_number": id_number, "address": identifiers.clean_display_name(address),
            "country": country, "domicile_in_china": bool(country == "CN" if domicile is None else domicile)}


def clean_parties(raw: Any, field: str, errors: Errors) -> list[dict]:
    if not isinstance(raw, list) or not raw:
        errors.add(field, _("Name at least one party."))
        return []
    if len(raw) > (cap := limits.limit("MAX_PARTIES")):
        errors.add(field, _("At most %(cap)s entries.") % {"cap": cap})
        return []
    return [p for i, item in enumerate(raw) if (p := clean_party(item, f"{field}[{i}]", errors))]


def clean_debt(raw: Any, errors: Errors) -> dict:
    if not isinstance(raw, dict):
        errors.add("secured_debt", _("Give the secured debt as {type, amount, currency}."))
        return {}
    debt_type = str(raw.get("type") or "")
    if len(debt_type) > limits.limit("MAX_SHORT_TEXT"):
        errors.add("secured_debt.type", _("At most %(cap)s characters.") % {"cap": limits.limit("MAX_SHORT_TEXT")})
    debt = {"type": identifiers.clean_display_name(debt_type[:limits.limit("MAX_SHORT_TEXT")]),
            "currency": str(raw.get("currency") or "CNY").strip().upper()}
    # ISO 4217 codes are three Latin letters.
    if not (len(debt["currency"]) == 3 and debt["currency"].isascii() and debt["currency"].isalpha()):
        errors.add("secured_debt.currency", _("Use a three-letter currency code such as CNY."))
    amount = raw.get("amount")
    if amount in (None, ""):
        debt["amount"] = None
    else:
        try:
            debt["amount"] = str(money.quantize(limits.amount(amount, field="secured_debt.amount")))
        except DomainError as exc:
            errors.add("secured_debt.amount", exc.localised(_))
            errors.setdefault("_code", exc.code)
    return debt


def find_rights(raw: Any, errors: Errors, field: str = "rights") -> list[Right]:
    if not isinstance(raw, list) or not raw:
        errors.add(field, _("List at least one right to pledge."))
        return []
    if len(raw) > (cap := limits.limit("MAX_RIGHTS")):
        errors.add(field, _("At most %(cap)s entries.") % {"cap": cap})
        return []
    found: list[Right] = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            errors.add(f"{field}[{i}]", _("Give each right as {kind, number}."))
            continue
        kind, number = item.get("kind") or "", item.get("number") or ""
        try:
            normalised = identifiers.normalise_right_number(kind, number)
        except DomainError as exc:
            errors.add(f"{field}[{i}].number", exc.localised(_))
            errors.setdefault("_code", exc.code)
            continue
        right = Right.objects.filter(kind=kind, number=normalised).prefetch_related("events").first()
        if right is None:
            errors.add(f"{field}[{i}]", _("No such right in the register."))
            errors.setdefault("_code", "unknown_right")
        elif right in found:
            errors.add(f"{field}[{i}]", _("This right is listed twice."))
        else:
            found.append(right)
    return found


def right_key(right: Right) -> str:
    return f"{right.kind}:{right.number}"


def clean_right_ref(raw: Any, field: str, errors: Errors) -> str | None:
    """``{"kind", "number"}`` (any normal form) → ``kind:number``."""
    if isinstance(raw, dict):
        kind, number = raw.get("kind") or "", raw.get("number") or ""
    elif isinstance(raw, str) and ":" in raw:
        kind, number = raw.split(":", 1)
    else:
        errors.add(field, _("Name the right as {kind, number}."))
        return None
    try:
        return f"{kind}:{identifiers.normalise_right_number(kind, number)}"
    except DomainError as exc:
        errors.add(field, exc.localised(_))
        return None


def control_characters(value: Any, path: str, errors: Errors, depth: int = 0) -> None:
    """Control characters (a NUL above all, which PostgreSQL cannot store) are in no party's name,
    address, contract or scope; line breaks and tabs are allowed."""
    if depth > 6:
        return
    if isinstance(value, str):
        if limits.has_control_characters(value):
            errors.add(path or "body", _("Remove the control characters from this text."))
            errors.setdefault("_code", "invalid_text")
    elif isinstance(value, dict):
        for key, item in value.items():
            control_characters(item, f"{path}.{key}" if path else str(key), errors, depth + 1)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value[:limits.limit("MAX_LIST")]):
            control_characters(item, f"{path}[{i}]", errors, depth + 1)


def clean_application(data: dict) -> tuple[dict, list[Right]]:
    """Validate an application body into the stored form and the rights it pledges."""
    errors = Errors()
    control_characters(data, "", errors)
    errors.raise_if_any()
    pledgors = clean_parties(data.get("pledgors"), "pledgors", errors)
    pledgees = clean_parties(data.get("pledgees"), "pledgees", errors)
    debtor = clean_party(data["debtor"], "debtor", errors) if data.get("debtor") else None
    rights = find_rights(data.get("rights"), errors)
    debt = clean_debt(data.get("secured_debt"), errors)
    due = _date(data.get("debt_due_date"), "debt_due_date", errors, required=True)
    term_end = _date(data.get("registration_term_end"), "registration_term_end", errors)
    from ippledge.core import business_date

    today = business_date.today()
    # A pledge secures a debt still to be repaid: one that fell due before filing is a typing error.
    for field, value in (("debt_due_date", due), ("registration_term_end", term_end)):
        if value is not None:
            try:
                limits.business_date(value, field=field, today=today, not_before=today)
            except DomainError as exc:
                errors.add(field, exc.localised(_))
                errors.setdefault("_code", exc.code)
    for key, cap in (("guarantee_scope", limits.limit("MAX_TEXT")), ("contract_no", 100),
                     ("signed_contract_ref", limits.limit("MAX_SHORT_TEXT"))):
        if data.get(key) is None and key != "signed_contract_ref":
            errors.add(key, _("This field is required."))
        elif len(str(data.get(key) or "")) > cap:
            errors.add(key, _("At most %(cap)s characters.") % {"cap": cap})
    for key in ("co_owner_consents", "licence_contracts"):
        if len(data.get(key) or []) > limits.limit("MAX_LIST"):
            errors.add(key, _("At most %(cap)s entries.") % {"cap": limits.limit("MAX_LIST")})
            data = {**data, key: []}
    consents = []
    for i, c in enumerate(data.get("co_owner_consents") or []):
        ref = clean_right_ref((c or {}).get("right"), f"co_owner_consents[{i}].right", errors)
        owner = identifiers.clean_display_name(str((c or {}).get("owner_id_number") or "")).upper()
        if not owner:
            errors.add(f"co_owner_consents[{i}].owner_id_number", _("This field is required."))
        if ref and owner:
            consents.append({"right": ref, "owner_id_number": owner})
    licences = [ref for i, r in enumerate(data.get("licence_contracts") or [])
                if (ref := clean_right_ref(r, f"licence_contracts[{i}]", errors))]
    declarations = data.get("declarations") or {}
    confirmations = data.get("confirmations") or {}
    agent = data.get("agent") or None
    if isinstance(agent, dict):
        agent = identifiers.clean_display_name(agent.get("name") or "")
    valuation_ref = (data.get("valuation_ref") or "").strip().upper()[:64]
    if valuation_ref and rights:
        if not all(check(valuation_ref, rights, today) for check in valuation_ref_checks):
            errors.add("valuation_ref", _("No final valuation in force with this number covers the pledged rights."))
            errors.setdefault("_code", "invalid_valuation_ref")
    errors.raise_if_any()
    cleaned = {
        "pledgors": pledgors, "pledgees": pledgees, "debtor": debtor or None,
        "rights": [{"kind": r.kind, "number": r.number} for r in rights],
        "secured_debt": debt, "debt_due_date": due.isoformat() if due else None,
        "guarantee_scope": identifiers.clean_display_name(data.get("guarantee_scope") or ""),
        "contract_no": identifiers.clean_display_name(data.get("contract_no") or ""),
        "co_owner_consents": consents, "licence_contracts": licences,
        "declarations": {k: declarations.get(k) for k in ("same_day_invention", "invalidation_pending")},
        "registration_term_end": term_end.isoformat() if term_end else None,
        "agent": agent or "",
        "confirmations": {"pledgor": bool(confirmations.get("pledgor")),
                          "pledgee": bool(confirmations.get("pledgee"))},
        "valuation_ref": valuation_ref,
        "signed_contract_ref": identifiers.clean_display_name(str(data.get("signed_contract_ref") or "")),
    }
    return cleaned, rights


def decimal_or_none(value: str | None) -> Decimal | None:
    """The cleaned secured amount (yuan text) as a Decimal, read by core.exact; empty is None."""
    return exact.optional_decimal(value, "secured_debt.amount")
