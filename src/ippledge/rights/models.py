"""The IP-rights register: rights as the offices record them, and their append-only legal events.

Term end and legal state are never stored as truth: ``rules.derive`` computes them from these facts
and events at any business date.  ``RightHolder`` is a derived index of current holders for search,
rebuilt by the service after every change of ownership.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ippledge.core.querysets import RestrictedQuerySet
from ippledge.core.roles import OFFICE_RIGHT_KINDS, Role


class RightKind(models.TextChoices):
    INVENTION = "invention", _("Invention patent")
    UTILITY_MODEL = "utility_model", _("Utility model")
    DESIGN = "design", _("Design patent")
    TRADEMARK = "trademark", _("Trademark")
    COPYRIGHT = "copyright", _("Copyright")
    SOFTWARE = "software", _("Software copyright")
    IC_LAYOUT = "ic_layout", _("IC layout design")
    GEOGRAPHICAL_INDICATION = "geographical_indication", _("Geographical indication")


class AuthorKind(models.TextChoices):
    NATURAL_PERSON = "natural_person", _("Natural person")
    LEGAL_PERSON = "legal_person", _("Legal person")


class IdType(models.TextChoices):
    USCC = "uscc", _("Unified social credit code")
    RESIDENT_ID = "resident_id", _("Resident ID")
    PASSPORT = "passport", _("Passport")
    FOREIGN_COMPANY = "foreign_company", _("Foreign company number")
    OTHER = "other", _("Other")


class Right(models.Model):
    kind = models.CharField(_("kind"), max_length=32, choices=RightKind.choices)
    number = models.CharField(_("number"), max_length=64)
    title = models.CharField(_("title"), max_length=300, blank=True)
    mark_text = models.CharField(_("mark text"), max_length=200, blank=True)
    owners = models.JSONField(_("owners as recorded"), default=list)
    filing_date = models.DateField(_("filing date"), null=True, blank=True)
    grant_date = models.DateField(_("grant date"), null=True, blank=True)
    registration_date = models.DateField(_("registration date"), null=True, blank=True)
    first_publication_date = models.DateField(_("first publication date"), null=True, blank=True)
    completion_date = models.DateField(_("completion date"), null=True, blank=True)
    author_kind = models.CharField(_("author kind"), max_length=16, choices=AuthorKind.choices, blank=True)
    author_death_date = models.DateField(_("author's date of death"), null=True, blank=True)
    annuity_paid_through = models.DateField(_("annuity paid through"), null=True, blank=True)
    nice_class = models.PositiveSmallIntegerField(_("Nice class"), null=True, blank=True)
    similar_groups = models.JSONField(_("similarity groups"), default=list, blank=True)
    ipc = models.JSONField(_("IPC codes"), default=list, blank=True)
    claims_count = models.PositiveIntegerField(_("claims"), null=True, blank=True)
    family_size = models.PositiveIntegerField(_("family size"), null=True, blank=True)
    citations = models.PositiveIntegerField(_("citations"), null=True, blank=True)
    term_adjustment_days = models.PositiveIntegerField(_("term adjustment (days)"), default=0)
    same_day_invention = models.BooleanField(_("same-day invention filed"), default=False)
    recorded_by = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "number"]
        constraints = [models.UniqueConstraint(fields=["kind", "number"], name="right_kind_number_unique")]
        indexes = [models.Index(fields=["number"]), models.Index(fields=["filing_date"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.number}"

    @property
    def display_title(self) -> str:
        return self.title or self.mark_text or self.number

    # The register is public information (as published by the offices): everyone may view it;
    # registrars of the recording office and admins may change it.
    @classmethod
    def scope_anonymous(cls, action):
        return action == "view"

    @classmethod
    def scope(cls, user, action):
        if action == "view":
            return True
        if user.has_role(Role.REGISTRAR) and user.organisation is not None:
            kinds = OFFICE_RIGHT_KINDS.get(user.organisation.kind, set())
            return Q(kind__in=kinds) if kinds else False
        return False


class LegalEvent(models.Model):
    """An entry in a right's legal-status history.  Never edited: a correction is a new event."""

    right = models.ForeignKey(Right, on_delete=models.PROTECT, related_name="events")
    seq = models.PositiveIntegerField()
    type = models.CharField(_("event"), max_length=40)
    date = models.DateField(_("date"))
    official_code = models.CharField(_("official code"), max_length=8, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    note = models.CharField(max_length=300, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True,
                                    related_name="+")

    class Meta:
        ordering = ["right", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["right", "seq"], name="legal_event_seq_unique"),
            # An official record is identified by right, code and date: a feed imported twice, or
            # two imports racing, cannot record it twice.
            models.UniqueConstraint(fields=["right", "official_code", "date"], condition=~Q(official_code=""),
                                    name="legal_event_official_unique"),
        ]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("Legal events are append-only.")
        super().save(*args, **kwargs)


class RightHolder(models.Model):
    """Derived index: the current holders of each right, for search by name or identifier."""

    right = models.ForeignKey(Right, on_delete=models.CASCADE, related_name="holders")
    name = models.CharField(max_length=200)
    name_normalised = models.CharField(max_length=200, db_index=True)
    id_type = models.CharField(max_length=16, choices=IdType.choices)
    id_number = models.CharField(max_length=64, db_index=True)

    class Meta:
        ordering = ["right", "id"]
