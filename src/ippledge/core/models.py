"""Platform core: organisations, users and roles, API tokens, business date, audit, number series."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .querysets import RestrictedQuerySet
from .roles import OrgKind, Role


class Organisation(models.Model):
    name = models.CharField(_("name"), max_length=200)
    name_normalised = models.CharField(max_length=200, db_index=True, editable=False)
    kind = models.CharField(_("kind"), max_length=32, choices=OrgKind.choices)
    uscc = models.CharField(_("USCC"), max_length=18, null=True, blank=True)
    region_code = models.CharField(_("region (GB/T 2260)"), max_length=6, blank=True)
    # Enterprise profile facts used across domains (size class by the 2011 MIIT table, GB/T 4754 industry).
    size_class = models.CharField(_("size class"), max_length=8, blank=True,
                                  choices=[("micro", _("Micro")), ("small", _("Small")), ("medium", _("Medium")),
                                           ("large", _("Large"))])
    industry = models.CharField(_("industry (GB/T 4754)"), max_length=8, blank=True)
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="branches",
                               help_text=_("Head office of a branch"))
    is_demo = models.BooleanField(default=False, editable=False)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["uscc"], condition=Q(uscc__isnull=False), name="org_uscc_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def scope(cls, user, action):
        # A user sees its own organisation and its branches; wider reads come from roles.
        if user.organisation_id is None:
            return False
        return Q(pk=user.organisation_id) | Q(parent_id=user.organisation_id) if action == "view" else False


class User(AbstractUser):
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="users")
    display_name = models.CharField(_("display name"), max_length=100, blank=True)

    @property
    def role_set(self) -> frozenset[str]:
        # Cached per instance: permission checks ask many times per request.
        cached = getattr(self, "_role_cache", None)
        if cached is None:
            cached = frozenset(self.roles.values_list("role", flat=True)) if self.pk else frozenset()
            self._role_cache = cached
        return cached

    def has_role(self, *roles: str) -> bool:
        return bool(self.role_set.intersection(roles))

    @property
    def is_platform_admin(self) -> bool:
        return self.is_superuser or self.has_role(Role.ADMIN)

    def __str__(self) -> str:
        return self.display_name or self.username


class UserRole(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(max_length=32, choices=Role.choices)
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="user_role_unique")]


class ApiToken(models.Model):
    """A bearer token; only its SHA-256 is stored, the secret is shown once.

    ``scope`` bounds what the token reaches whatever its user's roles: ``full`` (the user's own API
    access) or ``statistics`` (inter-agency data sharing: statistics routes only, read-only).
    Every token expires; revoked and expired tokens stay as history.
    """

    class Scope(models.TextChoices):
        FULL = "full", _("full access of its user")
        STATISTICS = "statistics", _("statistics only")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    name = models.CharField(max_length=100, blank=True)
    read_only = models.BooleanField(default=False)
    scope = models.CharField(max_length=16, choices=Scope.choices, default=Scope.FULL)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["-id"]


class LoginFailure(models.Model):
    """Failed login attempts: the record an operator reads.  Throttling counts in ``LoginThrottle``."""

    username = models.CharField(max_length=150, db_index=True)
    client = models.CharField(max_length=64, db_index=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)


class LoginThrottle(models.Model):
    """One throttling bucket: a (username, address) pair or an address.

    An attempt is counted *before* the password is checked, under a row lock, so concurrent guesses
    cannot all pass a check that none of them has counted yet.
    """

    key = models.CharField(max_length=255, unique=True)
    failures = models.PositiveIntegerField(default=0)
    last_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)


class BusinessDateChange(models.Model):
    """Append-only history of business-date overrides; the newest row wins, a null date resets."""

    date = models.DateField(null=True, blank=True)
    set_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True)
    set_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]


class Holiday(models.Model):
    """The operator's business calendar: public holidays and make-up working days (调休)."""

    date = models.DateField(unique=True)
    is_working_day = models.BooleanField(default=False, help_text=_("True for a weekend make-up working day"))
    name = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["date"]


class NumberSeries(models.Model):
    """Public number series (application, registration, certificate numbers), gap-free per series."""

    name = models.CharField(max_length=64, unique=True)
    next_value = models.PositiveBigIntegerField(default=1)


class EodRun(models.Model):
    """One end-of-day job for one business date; a done row makes reruns no-ops."""

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    business_date = models.DateField()
    job = models.CharField(max_length=100)
    status = models.CharField(max_length=16, choices=Status.choices)
    attempts = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-business_date", "job"]
        constraints = [models.UniqueConstraint(fields=["business_date", "job"], name="eod_run_unique")]


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("Audit entries cannot be changed.")

    def delete(self):
        raise TypeError("Audit entries cannot be deleted.")


class AuditEntry(models.Model):
    """Who did what to which object, with the before/after state.  Insert-only."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    actor_username = models.CharField(max_length=150, blank=True)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64, db_index=True)
    object_repr = models.CharField(max_length=200, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    request_id = models.CharField(max_length=36, blank=True)
    via = models.CharField(max_length=16, blank=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("Audit entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Audit entries cannot be deleted.")
