"""The bank credit workflow: products, financing needs and interest, the credit case with due
diligence and its review and approval trail, credit plans and park credit lines, subsidy schemes,
due-diligence exemption requests and partner investments.  Amounts are integer fen."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ippledge.core.querysets import RestrictedQuerySet


class Product(models.Model):
    bank = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, related_name="credit_products")
    name = models.CharField(_("name"), max_length=200)
    eligible_kinds = models.JSONField(default=list)
    min_amount = models.BigIntegerField()
    max_amount = models.BigIntegerField()
    min_term_months = models.PositiveIntegerField(default=1)
    max_term_months = models.PositiveIntegerField(default=36)
    ltv_caps = models.JSONField(default=dict, blank=True)
    # Dynamic management (issue 12): how long a valuation of the collateral stands before a revaluation is
    # due, and how often the borrower is reviewed from disbursement.
    valuation_validity_months = models.PositiveIntegerField(_("valuation validity (months)"), default=12)
    review_frequency_months = models.PositiveIntegerField(_("borrower review frequency (months)"), default=3)
    lpr_tenor = models.CharField(max_length=2, default="1y")
    spreads_bp = models.JSONField(default=dict, help_text=_("basis points over LPR by risk grade"))
    rate_floor = models.DecimalField(max_digits=7, decimal_places=6, null=True, blank=True)
    rate_cap = models.DecimalField(max_digits=7, decimal_places=6, null=True, blank=True)
    required_documents = models.JSONField(default=list, blank=True)
    risk_sharing = models.JSONField(default=list, blank=True)
    insurance = models.JSONField(default=list, blank=True)
    park_ids = models.JSONField(default=list, blank=True)
    regions = models.JSONField(default=list, blank=True)
    first_loan_friendly = models.BooleanField(default=False)
    inclusive_smb = models.BooleanField(default=False)
    min_innovation_grade = models.CharField(max_length=4, blank=True)
    guarantee_fee_rate = models.DecimalField(max_digits=7, decimal_places=6, default=0)
    insurance_premium_rate = models.DecimalField(max_digits=7, decimal_places=6, default=0)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["bank", "name"]

    def __str__(self) -> str:
        return self.name


class FinancingNeed(models.Model):
    enterprise = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, related_name="financing_needs")
    amount = models.BigIntegerField()
    term_months = models.PositiveIntegerField()
    purpose = models.CharField(max_length=300)
    rights = models.JSONField(default=list, help_text=_("[{kind, number}] offered as collateral"))
    status = models.CharField(max_length=12, default="open")
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, related_name="+")

    class Meta:
        ordering = ["-created_at"]


class Stage(models.TextChoices):
    DUE_DILIGENCE = "due_diligence", _("Due diligence")
    REVIEW = "review", _("Risk review")
    APPROVAL = "approval", _("Approval")
    APPROVED = "approved", _("Approved")
    DECLINED = "declined", _("Declined")
    CONTRACTED = "contracted", _("Contracted, pledge filed")
    DISBURSED = "disbursed", _("Disbursed")


SLA_DAYS = {"due_diligence": 5, "review": 3, "approval": 2, "contracted": 5}


class CreditCase(models.Model):
    case_no = models.CharField(max_length=20, unique=True)
    bank = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, related_name="credit_cases")
    enterprise = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, related_name="credit_cases_as_borrower")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="cases")
    need = models.ForeignKey(FinancingNeed, on_delete=models.PROTECT, null=True, blank=True, related_name="cases")
    amount = models.BigIntegerField()
    term_months = models.PositiveIntegerField()
    purpose = models.CharField(max_length=300, blank=True)
    rights = models.JSONField(default=list)
    valuation_no = models.CharField(max_length=20, blank=True)
    max_loan = models.BigIntegerField(null=True, blank=True)
    innovation_grade = models.CharField(max_length=4, blank=True)
    size_class = models.CharField(max_length=8, blank=True)
    first_loan = models.BooleanField(default=False)
    risk_grade = models.CharField(max_length=8, default="B")
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.DUE_DILIGENCE)
    stage_entered_at = models.DateTimeField()
    prepared_by = models.ForeignKey("core.User", on_delete=models.PROTECT, related_name="+")
    dd_signed_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    dd_signed_at = models.DateTimeField(null=True, blank=True)
    pricing = models.JSONField(default=dict, blank=True)
    contract_no = models.CharField(max_length=40, blank=True)
    loan = models.OneToOneField("credit.Loan", on_delete=models.PROTECT, null=True, blank=True, related_name="case")
    park = models.ForeignKey("credit.Park", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    # An approval above the maximum loan the valuation supports under the product's LTV caps (``max_loan``),
    # by an approver who gave the reason; empty when the amount was within it.
    ltv_override_reason = models.CharField(max_length=500, blank=True)
    ltv_override_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True,
                                        related_name="+")
    ltv_override_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.case_no

    @property
    def pledge_application_no(self) -> str:
        """The case's pledge application (the first one, by regime, for a bundle filed with several)."""
        first = next(iter(self.filings.all()), None)  # in filing order (the model's ordering); prefetchable
        return first.application_no if first else ""

    @classmethod
    def scope(cls, user, action):
        if user.organisation_id is None:
            return False
        if action == "view":
            return Q(bank_id=user.organisation_id) | Q(enterprise_id=user.organisation_id)
        return Q(bank_id=user.organisation_id)


class CaseFiling(models.Model):
    """A pledge application filed at approval: one per registry regime of the case's rights (patents and
    trademarks at the IP office, copyrights and software at the copyright office, each examined alone)."""

    case = models.ForeignKey(CreditCase, on_delete=models.PROTECT, related_name="filings")
    regime = models.CharField(max_length=16)
    application_no = models.CharField(max_length=20, unique=True)

    class Meta:
        ordering = ["case", "id"]
        constraints = [models.UniqueConstraint(fields=["case", "regime"], name="case_filing_per_regime")]


class CaseStep(models.Model):
    """The review trail: every move of a case, by whom, when and why.  Insert-only."""

    case = models.ForeignKey(CreditCase, on_delete=models.PROTECT, related_name="steps")
    from_stage = models.CharField(max_length=16, blank=True)
    to_stage = models.CharField(max_length=16)
    action = models.CharField(max_length=20)
    note = models.CharField(max_length=500, blank=True)
    actor = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["case", "at", "id"]


class DueDiligenceItem(models.Model):
    case = models.ForeignKey(CreditCase, on_delete=models.CASCADE, related_name="dd_items")
    key = models.CharField(max_length=32)
    prefilled = models.CharField(max_length=8, blank=True)  # ok | issue | unknown
    prefilled_detail = models.CharField(max_length=500, blank=True)
    result = models.CharField(max_length=8, blank=True)
    notes = models.CharField(max_length=1000, blank=True)
    evidence = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["case", "id"]
        constraints = [models.UniqueConstraint(fields=["case", "key"], name="dd_item_unique")]


class ApprovalAuthority(models.Model):
    """Amount-tiered approval authority: an approver's limit at a bank."""

    bank = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey("core.User", on_delete=models.PROTECT, related_name="+")
    max_amount = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["bank", "user"], name="approval_authority_unique")]


class CreditPlan(models.Model):
    bank = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, related_name="credit_plans")
    year = models.PositiveIntegerField()
    households = models.PositiveIntegerField()
    amount = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["bank", "year"], name="credit_plan_unique")]


class ParkCreditLine(models.Model):
    bank = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, related_name="park_lines")
    park = models.ForeignKey("credit.Park", on_delete=models.PROTECT, related_name="credit_lines")
    limit = models.BigIntegerField()
    start_date = models.DateField()
    end_date = models.DateField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["bank", "park", "start_date"], name="park_line_unique")]


class SubsidyScheme(models.Model):
    name = models.CharField(max_length=200)
    region_code = models.CharField(max_length=6, blank=True)
    kind = models.CharField(max_length=20)  # rate | share_of_interest | amount
    value = models.DecimalField(max_digits=12, decimal_places=6)
    cap = models.BigIntegerField(null=True, blank=True)
    active = models.BooleanField(default=True)


class ExemptionRequest(models.Model):
    """尽职免责: a request to exempt the staff of a loss-making loan whose duties were done."""

    loan = models.ForeignKey("credit.Loan", on_delete=models.PROTECT, related_name="exemption_requests")
    requested_by = models.ForeignKey("core.User", on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    statement = models.TextField()
    evidence = models.JSONField(default=dict)
    status = models.CharField(max_length=10, default="pending")
    decided_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.CharField(max_length=500, blank=True)


class PartnerInvestment(models.Model):
    """投贷联动: a partner fund's investment in a borrower, shown on its cases."""

    enterprise = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, related_name="investments")
    fund_name = models.CharField(max_length=200)
    amount = models.BigIntegerField()
    date = models.DateField()
    stake = models.DecimalField(max_digits=6, decimal_places=4, null=True, blank=True)
    recorded_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, related_name="+")
