"""The actor of work started by an operator's shell (CLI imports, end of day, demo loading).

Shell access to the server already implies full trust, so the system actor acts as an admin; the
audit trail records it by name instead of a user row.
"""

from __future__ import annotations

from .roles import Role


class SystemActor:
    is_authenticated = True
    is_platform_admin = True
    is_superuser = True
    pk = None
    organisation = None
    organisation_id = None
    role_set = frozenset({Role.ADMIN})

    def __init__(self, name: str = "system"):
        self.username = name

    def has_role(self, *roles: str) -> bool:
        return Role.ADMIN in roles

    def __str__(self) -> str:
        return self.username


SYSTEM = SystemActor()


def user_or_none(actor):
    """The ``core.User`` behind an actor, or None for the system actor (for foreign keys)."""
    from .models import User

    return actor if isinstance(actor, User) else None
