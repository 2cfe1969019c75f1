"""Valuation records (internal model, external appraisal, negotiated), the appraisal-agency and
expert rosters with their history, realised prices for continuing assessment, and enterprise
innovation scores.  Amounts are integer fen."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ippledge.core.querysets import RestrictedQuerySet
from ippledge.core.roles import Role


class RosterStatus(models.TextChoices):
    ADMITTED = "admitted", _("Admitted")
    SUSPENDED = "suspended", _("Suspended")
    EXITED = "exited", _("Exited")


class AppraisalAgency(models.Model):
    name = models.CharField(_("name"), max_length=200)
    organisation = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")
    licence_no = models.CharField(_("licence number"), max_length=64, unique=True)
    qualification = models.CharField(_("qualification"), max_length=200)
    specialities_ipc = models.JSONField(_("IPC fields"), default=list, blank=True)
    ip_kinds = models.JSONField(_("IP kinds"), default=list, blank=True)
    regions = models.JSONField(_("regions"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=RosterStatus.choices, default=RosterStatus.ADMITTED)
    status_reason = models.CharField(max_length=300, blank=True)
    admitted_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Expert(models.Model):
    name = models.CharField(_("name"), max_length=100)
    organisation = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+", help_text=_("Employer, for conflicts of interest"))
    title = models.CharField(_("title"), max_length=100, blank=True)
    fields_ipc = models.JSONField(_("technical fields (IPC)"), default=list, blank=True)
    ip_kinds = models.JSONField(_("IP kinds"), default=list, blank=True)
    regions = models.JSONField(_("regions"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=RosterStatus.choices, default=RosterStatus.ADMITTED)
    status_reason = models.CharField(max_length=300, blank=True)
    admitted_on = models.DateField()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RosterEvent(models.Model):
    """Append-only history of admissions, suspensions and exits on either roster."""

    agency = models.ForeignKey(AppraisalAgency, on_delete=models.PROTECT, null=True, blank=True, related_name="history")
    expert = models.ForeignKey(Expert, on_delete=models.PROTECT, null=True, blank=True, related_name="history")
    status = models.CharField(max_length=16, choices=RosterStatus.choices)
    reason = models.CharField(max_length=300, blank=True)
    date = models.DateField()
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["at", "id"]


class Basis(models.TextChoices):
    INTERNAL = "internal", _("Internal model")
    EXTERNAL = "external", _("External appraisal report")
    NEGOTIATED = "negotiated", _("Negotiated valuation")


class ValuationStatus(models.TextChoices):
    FINAL = "final", _("Final")
    PENDING_SIGNOFF = "pending_signoff", _("Awaiting sign-off")
    SUPERSEDED = "superseded", _("Superseded by a revaluation")


class ValuationRecord(models.Model):
    valuation_no = models.CharField(max_length=20, unique=True)
    subject = models.CharField(max_length=8, choices=[("right", _("Right")), ("bundle", _("Bundle"))])
    purpose = models.CharField(_("purpose"), max_length=20, default="pledge")
    basis = models.CharField(_("basis"), max_length=12, choices=Basis.choices)
    method = models.CharField(_("method"), max_length=40, blank=True)
    inputs = models.JSONField(default=dict, blank=True)
    options = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    trace = models.JSONField(default=list, blank=True)
    model_version = models.CharField(max_length=40, blank=True)
    seed = models.BigIntegerField(null=True, blank=True)
    currency = models.CharField(max_length=3, default="CNY")
    market_value = models.BigIntegerField(_("market value (fen)"))
    p10 = models.BigIntegerField(null=True, blank=True)
    p90 = models.BigIntegerField(null=True, blank=True)
    liquidation_value = models.BigIntegerField(null=True, blank=True)
    max_loan = models.BigIntegerField(null=True, blank=True)
    valuation_date = models.DateField()
    valid_until = models.DateField()
    agency = models.ForeignKey(AppraisalAgency, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="valuations")
    appraisers = models.JSONField(default=list, blank=True)
    report_no = models.CharField(max_length=64, blank=True)
    agreement_rule = models.CharField(_("rule used to agree"), max_length=300, blank=True)
    bank_signoff = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    enterprise_signoff = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True,
                                           related_name="+")
    status = models.CharField(max_length=16, choices=ValuationStatus.choices, default=ValuationStatus.FINAL)
    supersedes = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True,
                                      related_name="superseded_by")
    created_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    organisation = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    rights = models.ManyToManyField("rights.Right", through="ValuationRight", related_name="+")

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.valuation_no

    @classmethod
    def scope(cls, user, action):
        if user.organisation_id is None:
            return False
        if action == "view":
            # The valuing organisation, and the owners of the valued rights (by their USCC).
            uscc = getattr(user.organisation, "uscc", None)
            rule = Q(organisation_id=user.organisation_id)
            if uscc:
                rule |= Q(valuation_rights__right__holders__id_number=uscc)
            if user.has_role(Role.APPRAISER) and user.organisation.kind == "appraisal_agency":
                rule |= Q(agency__organisation_id=user.organisation_id)
            return rule
        return Q(organisation_id=user.organisation_id)


class ValuationRight(models.Model):
    valuation = models.ForeignKey(ValuationRecord, on_delete=models.CASCADE, related_name="valuation_rights")
    right = models.ForeignKey("rights.Right", on_delete=models.PROTECT, related_name="valuation_links")
    allocated_value = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["valuation", "id"]


class RealisedPrice(models.Model):
    """A price a right actually fetched (transfer, disposal), to assess appraisers against."""

    right = models.ForeignKey("rights.Right", on_delete=models.PROTECT, related_name="realised_prices")
    price = models.BigIntegerField(_("price (fen)"))
    date = models.DateField()
    source = models.CharField(max_length=16, choices=[("transfer", _("Transfer")), ("disposal", _("Disposal")),
                                                      ("licence", _("Licence"))])
    recorded_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-date"]


class InnovationScore(models.Model):
    """An enterprise's innovation-capability evaluation under one scheme, kept as history."""

    enterprise = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, related_name="innovation_scores")
    scheme = models.CharField(max_length=20)
    inputs = models.JSONField(default=dict)
    result = models.JSONField(default=dict)
    score = models.DecimalField(max_digits=6, decimal_places=2)
    grade = models.CharField(max_length=8, blank=True)
    qualified = models.BooleanField(null=True)
    computed_at = models.DateTimeField(auto_now_add=True)
    computed_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-computed_at", "-id"]

    @classmethod
    def readable_enterprises(cls, user) -> Q | bool:
        """The one rule of who reads an enterprise's evaluations, as a condition on the enterprise: the
        enterprise itself; banks and appraisers, who assess prospective borrowers; regulators and the
        operator.  The API, the pages and ``restrict()`` all use it."""
        if user is None or not getattr(user, "is_authenticated", False):
            return False
        if user.is_platform_admin or user.has_role(Role.REGULATOR_USER, *SCORE_READER_ROLES):
            return True
        return Q(pk=user.organisation_id) if user.organisation_id else False

    @classmethod
    def scope(cls, user, action):
        rule = cls.readable_enterprises(user) if action == "view" else False
        if isinstance(rule, bool):
            return rule
        from ippledge.core.models import Organisation

        return Q(enterprise__in=Organisation.objects.filter(rule))


SCORE_READER_ROLES = (Role.BANK_OFFICER, Role.BANK_REVIEWER, Role.BANK_APPROVER, Role.APPRAISER)
