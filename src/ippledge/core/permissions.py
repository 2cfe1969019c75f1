"""Who may act: the one permission vocabulary every service speaks.

A write is allowed after two questions, asked in this order:

1. may this **role** do it (``require_role``; a platform administrator always may), and
2. is the actor's **organisation** the one acting (``require_member``: the organisation itself or
   its head office) — or, for registrars, the office that keeps the right
   (``require_office``).

Whether an organisation is a *party* to a particular object (the pledgor of this pledge, the bank
of this case) is the object's own service's question; it asks it after these.  Roles are
:class:`~ippledge.core.roles.Role` members, never raw strings.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.translation import gettext as _

from .errors import NotAuthenticated, PermissionDenied
from .roles import OFFICE_RIGHT_KINDS, Role


def is_user(actor) -> bool:
    return actor is not None and bool(getattr(actor, "is_authenticated", False))


def require_user(actor) -> None:
    """Any signed-in user (or the system actor)."""
    if not is_user(actor):
        raise NotAuthenticated(_("Authentication is required."))


def require_admin(actor) -> None:
    require_user(actor)
    if not actor.is_platform_admin:
        raise PermissionDenied(_("Only a platform administrator may do this."))


def has_any_role(actor, roles: Iterable[Role]) -> bool:
    """The actor holds one of ``roles`` or administers the platform."""
    return actor.is_platform_admin or actor.has_role(*roles)


def require_role(actor, roles: Iterable[Role], message: str | None = None, *, code: str | None = None) -> None:
    require_user(actor)
    if not has_any_role(actor, roles):
        raise PermissionDenied(message or _("Your role may not do this."), code=code)


def belongs_to(actor, organisation) -> bool:
    """The actor works for ``organisation`` or for its head office (a head office acts for its
    branches; a branch does not act for its head office or its sister branches)."""
    own = getattr(actor, "organisation_id", None)
    return own is not None and own in (organisation.pk, organisation.parent_id)


def require_member(actor, organisation, roles: Iterable[Role], message: str | None = None, *,
                   code: str | None = None) -> None:
    """``require_role``, and the actor works for ``organisation`` or its head office; an
    administrator passes.  ``organisation=None`` checks the role only."""
    roles = tuple(roles)
    require_role(actor, roles, message, code=code)
    if organisation is not None and not actor.is_platform_admin and not belongs_to(actor, organisation):
        raise PermissionDenied(message or _("Only the organisation's own staff may do this."), code=code)


def office_keeps(actor, kinds: Iterable[str]) -> bool:
    """An administrator, or a registrar of the office that keeps every one of these right kinds
    (patents, trademarks, IC layouts and GIs at the IP office; copyrights and software at the
    copyright office).  A registrar acts for its own office only."""
    if actor.is_platform_admin:
        return True
    organisation = getattr(actor, "organisation", None)
    if not actor.has_role(Role.REGISTRAR) or organisation is None:
        return False
    return set(kinds) <= OFFICE_RIGHT_KINDS.get(organisation.kind, set())


def require_office(actor, kinds: Iterable[str], message: str | None = None) -> None:
    require_role(actor, (Role.REGISTRAR,), _("Only a registrar may do this."))
    if not office_keeps(actor, kinds):
        raise PermissionDenied(message or _("A registrar acts only for rights its own office keeps."),
                               code="not_your_office")
