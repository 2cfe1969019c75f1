"""Row-level scoping: ``Model.objects.restrict(user, "view")`` returns only the rows the user may see.

Each model states its own rule in a ``scope(user, action) -> Q | bool`` classmethod (True = all rows,
False = none).  Regulators read everything; platform admins read and manage everything.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from .roles import Role


class RestrictedQuerySet(models.QuerySet):
    def restrict(self, user, action: str = "view") -> RestrictedQuerySet:
        if user is None or not getattr(user, "is_authenticated", False):
            rule = self.model.scope_anonymous(action) if hasattr(self.model, "scope_anonymous") else False
        elif user.is_platform_admin:
            rule = True
        elif action == "view" and user.has_role(Role.REGULATOR_USER):
            rule = True
        elif hasattr(self.model, "scope"):
            rule = self.model.scope(user, action)
        else:
            rule = action == "view" and Q(organisation_id=user.organisation_id)
        if rule is True:
            return self
        if rule is False or rule is None:
            return self.none()
        return self.filter(rule)
