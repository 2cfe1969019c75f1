"""The IP-pledge loan book: LPR fixings, industrial parks, loans with their schedules, repayments,
restructuring events and classification history.  Amounts are integer fen; rates Decimal."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ippledge.core.querysets import RestrictedQuerySet


class Tenor(models.TextChoices):
    ONE_YEAR = "1y", _("1-year")
    FIVE_YEAR = "5y", _("5-year")


class LprFixing(models.Model):
    """A monthly Loan Prime Rate fixing; the rate in force on a day is the latest fixing on or before it."""

    fixing_date = models.DateField()
    tenor = models.CharField(max_length=2, choices=Tenor.choices)
    rate = models.DecimalField(max_digits=6, decimal_places=4, help_text=_("percent per year, e.g. 3.4500"))
    source = models.CharField(max_length=40, default="chinamoney")
    entered_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    entered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-fixing_date", "tenor"]
        constraints = [models.UniqueConstraint(fields=["fixing_date", "tenor"], name="lpr_fixing_unique")]


class Park(models.Model):
    """An industrial park (园区) whose enterprises may draw on park intent credit lines."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    region_code = models.CharField(max_length=6, blank=True)

    def __str__(self) -> str:
        return self.name


class Classification(models.TextChoices):
    NORMAL = "normal", _("Normal")
    SPECIAL_MENTION = "special_mention", _("Special mention")
    SUBSTANDARD = "substandard", _("Substandard")
    DOUBTFUL = "doubtful", _("Doubtful")
    LOSS = "loss", _("Loss")


# Non-performing (不良) = substandard + doubtful + loss (lending-rules §1).
NON_PERFORMING = (Classification.SUBSTANDARD, Classification.DOUBTFUL, Classification.LOSS)


class ScheduleKind(models.TextChoices):
    BULLET = "bullet", _("Bullet")
    EQUAL_INSTALMENTS = "equal_instalments", _("Equal instalments")
    EQUAL_PRINCIPAL = "equal_principal", _("Equal principal")
    INTEREST_ONLY = "interest_only", _("Interest only, then bullet")


class Loan(models.Model):
    loan_no = models.CharField(max_length=20, unique=True)
    bank = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, related_name="loans_made")
    borrower = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, related_name="loans_taken")
    amount = models.BigIntegerField(_("amount (fen)"))
    currency = models.CharField(max_length=3, default="CNY")
    annual_rate = models.DecimalField(max_digits=7, decimal_places=6, help_text=_("fraction per year"))
    start_date = models.DateField()
    maturity_date = models.DateField()
    schedule_kind = models.CharField(max_length=20, choices=ScheduleKind.choices)
    day_count = models.CharField(max_length=8, default="ACT/360")
    ip_kind = models.CharField(max_length=16)  # patent | trademark | copyright | bundle | other
    # The registration, when the loan is secured by exactly one; every registration is in ``collateral``.
    pledge_registration_no = models.CharField(max_length=24, blank=True)
    first_loan = models.BooleanField(default=False)
    inclusive_smb = models.BooleanField(default=False)
    park = models.ForeignKey(Park, on_delete=models.PROTECT, null=True, blank=True, related_name="loans")
    # Summaries kept by the services and the end-of-day job (the history tables are the record).
    balance = models.BigIntegerField(_("principal balance (fen)"))
    dpd = models.PositiveIntegerField(default=0)
    classification = models.CharField(max_length=16, choices=Classification.choices, default=Classification.NORMAL)
    restructured_on = models.DateField(null=True, blank=True)
    extended = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-start_date", "loan_no"]
        indexes = [models.Index(fields=["bank", "classification"]), models.Index(fields=["borrower"])]

    def __str__(self) -> str:
        return self.loan_no

    @classmethod
    def scope(cls, user, action):
        if user.organisation_id is None:
            return False
        if action == "view":
            return Q(bank_id=user.organisation_id) | Q(bank__parent_id=user.organisation_id) | \
                Q(borrower_id=user.organisation_id)
        return Q(bank_id=user.organisation_id)


class LoanCollateral(models.Model):
    """A right securing a loan, with the registration that pledges it and the value the loan's valuation
    gives it (a bundle valuation's allocation to the right; a single right's market value).  A loan secured
    by a bundle across registry regimes has one registration per regime."""

    loan = models.ForeignKey("credit.Loan", on_delete=models.PROTECT, related_name="collateral")
    registration_no = models.CharField(max_length=24)
    regime = models.CharField(max_length=16)
    right_kind = models.CharField(max_length=32)
    right_number = models.CharField(max_length=64)
    allocated_value = models.BigIntegerField(_("allocated value (fen)"), null=True, blank=True)

    class Meta:
        ordering = ["loan", "id"]
        constraints = [models.UniqueConstraint(fields=["loan", "registration_no", "right_kind", "right_number"],
                                               name="loan_collateral_unique")]


class ScheduleRow(models.Model):
    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="schedule")
    seq = models.PositiveIntegerField()
    due_date = models.DateField()
    principal = models.BigIntegerField()
    interest = models.BigIntegerField()
    version = models.PositiveIntegerField(default=1, help_text=_("Schedules replaced by an extension keep their rows"))
    current = models.BooleanField(default=True)

    class Meta:
        ordering = ["loan", "version", "seq"]
        indexes = [models.Index(fields=["loan", "current", "due_date"])]


class Repayment(models.Model):
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="repayments")
    date = models.DateField()
    principal = models.BigIntegerField()
    interest = models.BigIntegerField()
    recorded_at = models.DateTimeField(auto_now_add=True)
    recorded_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["loan", "date", "id"]
        # Covers "principal repaid by a date" per loan, which every statistic and end of day sums.
        indexes = [models.Index(fields=["loan", "date", "principal"], name="repayment_loan_date_principal")]


class LoanEvent(models.Model):
    """Extensions (展期), restructurings and other changes of terms.  Insert-only."""

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="events")
    type = models.CharField(max_length=20)
    date = models.DateField()
    data = models.JSONField(default=dict)
    actor = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["loan", "at", "id"]


class ClassificationChange(models.Model):
    """Every change of a loan's category with its reasons; insert-only."""

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="classification_history")
    date = models.DateField()
    before = models.CharField(max_length=16, blank=True)
    after = models.CharField(max_length=16)
    reasons = models.JSONField(default=list)
    manual = models.BooleanField(default=False)
    note = models.CharField(max_length=300, blank=True)
    actor = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["loan", "at", "id"]


from .workflow_models import (  # noqa: E402,F401  (one app, two model modules)
    SLA_DAYS,
    ApprovalAuthority,
    CaseFiling,
    CaseStep,
    CreditCase,
    CreditPlan,
    DueDiligenceItem,
    ExemptionRequest,
    FinancingNeed,
    ParkCreditLine,
    PartnerInvestment,
    Product,
    Stage,
    SubsidyScheme,
)
