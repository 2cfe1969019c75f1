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
from typing import TYPE_CHECKING, Protocol

from django.utils.translation import gettext as _

from .errors import NotAuthenticated, PermissionDenied
from .roles import OFFICE_RIGHT_KINDS, Role

if TYPE_CHECKING:
    from .models import Organisation


class Actor(Protocol):
    """Who acts: a signed-in :class:`~ippledge.core.models.User` or the operator's
    :class:`~ippledge.core.actors.SystemActor` (an anonymous request's user is refused by
    :func:`require_user` before anything else is asked of it)."""

    @property
    def is_authenticated(self) -> bool: ...

    @property
    def is_platform_admin(self) -> bool: ...

    @property
    def pk(self) -> int | None: ...

    @property
    def organisation_id(self) -> int | None: ...

    @property
    def organisation(self) -> Organisation | None: ...

    @property
    def role_set(self) -> frozenset[str]: ...

    def has_role(self, *roles: str) -> bool: ...


# The groups of roles the services ask for, named once (administrators pass every role question).
BANK_STAFF: frozenset[Role] = frozenset({Role.BANK_OFFICER, Role.BANK_REVIEWER, Role.BANK_APPROVER})
# Who speaks for a party of a pledge or a loan: its bank's staff and its enterprise's users.
PARTY_USERS: frozenset[Role] = BANK_STAFF | {Role.ENTERPRISE_USER}
# Who files a pledge application: the parties' users, and registrars entering a paper application.
PLEDGE_FILERS: frozenset[Role] = PARTY_USERS | {Role.REGISTRAR, Role.ADMIN}
REGISTRARS: frozenset[Role] = frozenset({Role.REGISTRAR})
REGULATORS: frozenset[Role] = frozenset({Role.REGULATOR_USER})


def is_user(actor: Actor | None) -> bool:
    return actor is not None and bool(getattr(actor, "is_authenticated", False))


def require_user(actor: Actor | None) -> None:
    """Any signed-in user (or the system actor)."""
    if not is_user(actor):
        raise NotAuthenticated(_("Authentication is required."))


def require_admin(actor: Actor | None) -> None:
    require_user(actor)
    if not actor.is_platform_admin:
        raise PermissionDenied(_("Only a platform administrator may do this."))


def has_any_role(actor: Actor, roles: Iterable[Role]) -> bool:
    """The actor holds one of ``roles`` or administers the platform."""
    return actor.is_platform_admin or actor.has_role(*roles)


def is_registrar(actor: Actor) -> bool:
    """A registrar, or an administrator (who may act as one): they speak from the paper the parties signed."""
    return has_any_role(actor, REGISTRARS)


def is_regulator(actor: Actor) -> bool:
    return has_any_role(actor, REGULATORS)


def require_role(actor: Actor | None, roles: Iterable[Role], message: str | None = None, *,
                 code: str | None = None) -> None:
    require_user(actor)
    if not has_any_role(actor, roles):
        raise PermissionDenied(message or _("Your role may not do this."), code=code)


def belongs_to(actor: Actor, organisation: Organisation) -> bool:
    """The actor works for ``organisation`` or for its head office (a head office acts for its
    branches; a branch does not act for its head office or its sister branches)."""
    own = getattr(actor, "organisation_id", None)
    return own is not None and own in (organisation.pk, organisation.parent_id)


def require_member(actor: Actor | None, organisation: Organisation | None, roles: Iterable[Role],
                   message: str | None = None, *, code: str | None = None) -> None:
    """``require_role``, and the actor works for ``organisation`` or its head office; an
    administrator passes.  ``organisation=None`` checks the role only."""
    roles = tuple(roles)
    require_role(actor, roles, message, code=code)
    if organisation is not None and not actor.is_platform_admin and not belongs_to(actor, organisation):
        raise PermissionDenied(message or _("Only the organisation's own staff may do this."), code=code)


def office_keeps(actor: Actor, kinds: Iterable[str]) -> bool:
    """An administrator, or a registrar of the office that keeps every one of these right kinds
    (patents, trademarks, IC layouts and GIs at the IP office; copyrights and software at the
    copyright office).  A registrar acts for its own office only."""
    if actor.is_platform_admin:
        return True
    organisation = getattr(actor, "organisation", None)
    if not actor.has_role(Role.REGISTRAR) or organisation is None:
        return False
    return set(kinds) <= OFFICE_RIGHT_KINDS.get(organisation.kind, set())


def require_registrar(actor: Actor | None) -> None:
    """A registrar (or an administrator); which office's rights it may act on is ``require_office``."""
    require_role(actor, REGISTRARS, _("Only a registrar may do this."))


def require_office(actor: Actor | None, kinds: Iterable[str], message: str | None = None) -> None:
    require_registrar(actor)
    if not office_keeps(actor, kinds):
        raise PermissionDenied(message or _("A registrar acts only for rights its own office keeps."),
                               code="not_your_office")
