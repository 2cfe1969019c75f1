"""Template context for the page shell: navigation entries for the user's roles, and the business date."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .permissions import BANK_STAFF, PARTY_USERS, PLEDGE_FILERS, REGISTRARS
from .roles import Role


def _exchange_staff(user, roles) -> bool:
    """IP-exchange users have no role of their own yet (it comes with the disposal issue)."""
    from .desk import is_exchange_user

    return is_exchange_user(user)


def _disposal_staff(user, roles) -> bool:
    """Bank staff, the regulator and the administrator, and the IP exchanges' users (disposal cases)."""
    return bool(roles & (BANK_STAFF | {Role.ADMIN, Role.REGULATOR_USER, Role.EXCHANGE_USER})) or \
        _exchange_staff(user, roles)


def _notified(user, roles) -> bool:
    return bool(roles & (PARTY_USERS | {Role.INSURER_USER, Role.FUND_MANAGER})) or _exchange_staff(user, roles)


# (url name, label, who sees it: None = everyone, a set of roles, or ``f(user, roles) -> bool``)
NAVIGATION = [
    ("home", _("Home"), None),
    ("admin_desk", _("Administration"), frozenset({Role.ADMIN})),
    ("desk_insurer", _("Insurer desk"), frozenset({Role.INSURER_USER})),
    ("desk_fund", _("Risk fund desk"), frozenset({Role.FUND_MANAGER})),
    ("desk_exchange", _("Exchange desk"), _exchange_staff),
    ("rights:list", _("IP-rights register"), None),
    ("rights:new", _("Record a right"), REGISTRARS | {Role.ADMIN}),
    ("registry:public_search", _("Pledge search"), None),
    ("registry:applications", _("Pledge applications"), PLEDGE_FILERS),
    ("registry:queue", _("Registrar queue"), REGISTRARS | {Role.ADMIN}),
    ("valuation:records", _("My valuations"), frozenset({Role.APPRAISER})),
    ("valuation:calculator", _("Valuation"), PARTY_USERS | {Role.APPRAISER, Role.ADMIN, Role.REGULATOR_USER}),
    ("valuation:agencies", _("Appraisal agencies"), None),
    ("credit:workbench", _("Credit workbench"), BANK_STAFF | {Role.ADMIN, Role.REGULATOR_USER}),
    ("credit:portal", _("Financing"), frozenset({Role.ENTERPRISE_USER})),
    ("monitoring:monitor", _("Collateral monitor"), BANK_STAFF | {Role.ADMIN, Role.REGULATOR_USER}),
    ("disposal:cases", _("Disposals"), _disposal_staff),
    ("disposal:fee_relief", _("Fee relief"), REGISTRARS),
    ("disposal:listings", _("IP for sale"), None),
    ("risksharing:schemes", _("Risk-sharing schemes"),
     frozenset({Role.FUND_MANAGER, Role.INSURER_USER, Role.ADMIN, Role.REGULATOR_USER})),
    ("risksharing:claims", _("Risk-sharing claims"), BANK_STAFF),
    ("reporting:dashboard", _("Statistics"), BANK_STAFF | {Role.REGULATOR_USER, Role.ADMIN}),
    ("reporting:public", _("Public statistics"), None),
    ("registry:notifications", _("Notifications"), _notified),
]


def shell(request):
    user = getattr(request, "user", None)
    roles = user.role_set if user is not None and user.is_authenticated else frozenset()
    if user is not None and user.is_authenticated and user.is_superuser:
        roles = roles | {Role.ADMIN}
    nav = []
    for name, label, allowed in NAVIGATION:
        if allowed is None or (allowed(user, roles) if callable(allowed) else roles & allowed):
            nav.append({"url": reverse(name), "label": label, "active": False})
    # Highlight the one entry whose URL is the longest prefix of the current path.
    matches = [item for item in nav if request.path == item["url"] or
               (item["url"] != "/" and request.path.startswith(item["url"]))]
    if matches:
        max(matches, key=lambda item: len(item["url"]))["active"] = True
    from . import business_date

    return {"nav_items": nav, "user_roles": sorted(roles), "shell_business_date": business_date.today,
            "shell_simulated_date": business_date.override,
            "language_next": _language_next(request)}


# Query parameters that may carry personal data: never written back into a page.
PRIVATE_PARAMS = frozenset({"party_id"})


def _language_next(request) -> str:
    """Where the language switch returns to: this page, without personal data from its query."""
    from urllib.parse import urlencode

    query = [(k, v) for k, values in request.GET.lists() if k not in PRIVATE_PARAMS for v in values]
    return request.path + (f"?{urlencode(query)}" if query else "")
