"""Every role has a desk: the page a user lands on after login, and the to-do items of the desks core draws.

``desk_url_name(user)`` names the one page each user works from (issue 11.13): the administrator's desk,
the registrar queue, the credit workbench, the regulator dashboard, the appraiser's valuations, the
enterprise's financing portal, and the landing pages of insurers, risk funds and IP exchanges (their
work arrives with the risk-sharing and disposal issues).  Pages of higher apps are named by URL name
only, so core imports none of them.

Higher apps add to-do items to a desk with :func:`register_items` (credit adds the missing LPR fixings
to the administrator's desk); a provider returns :class:`Item` rows for the user and may return none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from .roles import OrgKind, Role

ADMIN_DESK = "admin_desk"
INSURER_DESK = "desk_insurer"
FUND_DESK = "desk_fund"
EXCHANGE_DESK = "desk_exchange"

# First match wins for users with several roles: the role with the most pressing queue first.
ROLE_DESKS: tuple[tuple[str, str], ...] = (
    (Role.ADMIN, ADMIN_DESK),
    (Role.REGISTRAR, "registry:queue"),
    (Role.BANK_APPROVER, "credit:workbench"),
    (Role.BANK_REVIEWER, "credit:workbench"),
    (Role.BANK_OFFICER, "credit:workbench"),
    (Role.REGULATOR_USER, "reporting:dashboard"),
    (Role.APPRAISER, "valuation:records"),
    (Role.ENTERPRISE_USER, "credit:portal"),
    (Role.INSURER_USER, INSURER_DESK),
    (Role.FUND_MANAGER, FUND_DESK),
    (Role.EXCHANGE_USER, EXCHANGE_DESK),
)


def is_exchange_user(user) -> bool:
    """A user of an IP exchange (``exchange_user``, or any user an exchange organisation has)."""
    org = getattr(user, "organisation", None)
    return org is not None and org.kind == OrgKind.IP_EXCHANGE


def desk_url_name(user) -> str:
    """The URL name of the page ``user`` works from; the home page for anyone without a desk."""
    if user is None or not user.is_authenticated:
        return "home"
    if user.is_platform_admin:
        return ADMIN_DESK
    roles = user.role_set
    for role, name in ROLE_DESKS:
        if role in roles:
            return name
    if is_exchange_user(user):
        return EXCHANGE_DESK
    return "home"


def desk_url(user) -> str:
    return reverse(desk_url_name(user))


@dataclass(frozen=True)
class Item:
    """One to-do line on a desk: what to look at, how many, where to go."""

    label: str
    url: str
    count: int | None = None
    level: str = "info"  # "info", "warning" or "error"
    testid: str = ""


Provider = Callable[[object], list[Item]]
_PROVIDERS: dict[str, list[Provider]] = {}


def register_items(desk: str, provider: Provider) -> None:
    """Add ``provider(user) -> [Item]`` to ``desk`` (once: registering the same provider again is a no-op)."""
    providers = _PROVIDERS.setdefault(desk, [])
    if provider not in providers:
        providers.append(provider)


def items(desk: str, user) -> list[Item]:
    rows: list[Item] = []
    for provider in _PROVIDERS.get(desk, []):
        rows.extend(provider(user) or [])
    return rows


# --- the administrator's own to-do items (core facts only) ------------------------------------------

def admin_items(user) -> list[Item]:
    from . import business_date
    from .models import EodRun, Holiday

    rows: list[Item] = []
    if business_date.override() is not None:
        rows.append(Item(_("The business date is simulated: every date-driven rule reads it instead of the "
                           "calendar date."), reverse("admin_business_date"), level="warning",
                         testid="todo-business-date"))
    today = business_date.today()
    failed = EodRun.objects.filter(status=EodRun.Status.FAILED).count()
    if failed:
        rows.append(Item(_("End-of-day jobs failed"), reverse("admin_eod") + "?status=failed", failed,
                         "error", "todo-eod-failed"))
    last = EodRun.objects.order_by("-business_date").values_list("business_date", flat=True).first()
    if last is None or last < today:
        rows.append(Item(_("End of day has not run for today's business date yet"), reverse("admin_eod"),
                         level="info", testid="todo-eod-pending"))
    next_year = today.year + 1
    if not Holiday.objects.filter(date__year=next_year).exists():
        rows.append(Item(_("The business calendar has no holidays for %(year)s yet: enter them once the "
                           "State Council publishes them.") % {"year": next_year},
                         reverse("admin_calendar") + f"?year={next_year}", level="warning",
                         testid="todo-calendar"))
    return rows


register_items(ADMIN_DESK, admin_items)
