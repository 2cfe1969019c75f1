"""Who sees a natural person's identity number and address in the rights register (PIPL).

Everyone else — the public, and every logged-in user, insurers and banks included — sees them masked:
the number as ``identifiers.mask_id`` writes it, the address left out.  Only the registrars of the
office that keeps the right and the right's own holders (their organisation's users) see them whole.
Organisations' numbers and addresses are public and never masked.
"""

from __future__ import annotations

from ippledge.core import identifiers
from ippledge.core import permissions as perm
from ippledge.core.errors import DomainError
from ippledge.core.roles import OFFICE_RIGHT_KINDS, Role

from .models import Right

PERSONAL_ID_TYPES = frozenset({"resident_id", "passport", "other"})


def sees_personal_data(user, right: Right) -> bool:
    if not perm.is_user(user):
        return False
    org = getattr(user, "organisation", None)
    if org is None:
        return False
    # An administrator is no registrar here: the operator does not read natural persons' numbers.
    if user.has_role(Role.REGISTRAR) and right.kind in OFFICE_RIGHT_KINDS.get(org.kind, set()):
        return True
    if not org.uscc:
        return False
    holders = {str(o.get("id_number", "")).upper() for o in right.owners or []}
    holders |= {h.id_number.upper() for h in right.holders.all()}
    return org.uscc.upper() in holders


def mask_person(party: dict) -> dict:
    """A copy of an owner or party with a natural person's number masked and address left out."""
    if party.get("id_type") not in PERSONAL_ID_TYPES:
        return dict(party)
    masked = {**party, "id_number": identifiers.mask_id(party["id_type"], str(party.get("id_number", "")))}
    if "address" in masked:
        masked["address"] = ""
    return masked


def _mask_bare_id(value: str) -> str:
    """An identity number given without its type: a USCC is public; anything else may be a person's."""
    try:
        return identifiers.normalise_uscc(value)
    except DomainError:
        return identifiers.mask_id("other", value)


def mask_event_payload(payload: dict) -> dict:
    masked = dict(payload or {})
    if isinstance(masked.get("new_owners"), list):
        masked["new_owners"] = [mask_person(o) if isinstance(o, dict) else o for o in masked["new_owners"]]
    if masked.get("owner_id_number"):
        masked["owner_id_number"] = _mask_bare_id(str(masked["owner_id_number"]))
    return masked
