"""Risk-sharing and loss-compensation schemes (items 十二, 十四): schemes as data with their parties and
rules, loans enrolled in them, claims with each party's share, payments (maker-checker inside each party),
recoveries that true the payers up, the funds' append-only ledgers, provision settings and write-offs.

Amounts are integer fen, ratios Decimal.  The arithmetic of a claim lives once, in ``engine/``; the
services gather the facts (caps already used, balances) and store what the engine and the caps give.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ippledge.core.querysets import RestrictedQuerySet
from ippledge.core.roles import Role


class Mode(models.TextChoices):
    EX_POST = "ex_post", _("Ex post (after the loss is recognised)")
    ADVANCE = "advance", _("Advance (on the outstanding principal at NPL, trued up later)")


class RecoveryRule(models.TextChoices):
    PRO_RATA = "pro_rata", _("Pro rata to what each payer paid")


class PartyKind(models.TextChoices):
    FUND = "fund", _("Compensation fund")
    INSURER = "insurer", _("Insurer")
    GUARANTOR = "guarantor", _("Guarantor")
    APPRAISER = "appraiser", _("Appraisal agency")
    BANK = "bank", _("Bank")


# The organisation kinds that may stand behind a party of each kind.
PARTY_ORG_KINDS = {
    PartyKind.FUND: {"risk_fund"},
    PartyKind.INSURER: {"insurer"},
    PartyKind.GUARANTOR: {"guarantor", "insurer"},
    PartyKind.APPRAISER: {"appraisal_agency"},
    PartyKind.BANK: {"bank"},
}
# The role through which a party's organisation acts (reviews and pays its share).
PARTY_ROLES = {
    PartyKind.FUND: Role.FUND_MANAGER,
    PartyKind.INSURER: Role.INSURER_USER,
    PartyKind.GUARANTOR: Role.INSURER_USER,
    PartyKind.APPRAISER: Role.APPRAISER,
    PartyKind.BANK: Role.BANK_APPROVER,
}


def _schemes_of(user):
    """The schemes the user's organisation is a party to (a subquery: no duplicate rows from the join)."""
    return SchemeParty.objects.filter(organisation_id=user.organisation_id).values("scheme_id")


def _party_orgs(user) -> Q:
    return Q(pk__in=_schemes_of(user)) | Q(created_by_org_id=user.organisation_id)


class Scheme(models.Model):
    """A named scheme of a region: its parties and the rules that bound what they pay.

    Caps are in fen; ``None`` means no such cap.  ``borrower_year_cap``, ``annual_cap`` and
    ``bank_annual_cap`` bound what the scheme's *funds* (parties of kind ``fund``) compensate per borrower
    per year, in total per year (first come first served by claim date) and per bank per year."""

    name = models.CharField(_("name"), max_length=200)
    region_code = models.CharField(_("region (GB/T 2260)"), max_length=6)
    template_key = models.CharField(max_length=40, blank=True, help_text=_("The template it was made from"))
    mode = models.CharField(_("mode"), max_length=8, choices=Mode.choices, default=Mode.EX_POST)
    recovery_rule = models.CharField(_("recovery rule"), max_length=12, choices=RecoveryRule.choices,
                                     default=RecoveryRule.PRO_RATA)
    eligible_base_cap = models.BigIntegerField(_("eligible part of a loan up to (fen)"), null=True, blank=True)
    ip_portion_required = models.BooleanField(_("only the IP-secured amount counts"), default=False)
    max_loan_amount = models.BigIntegerField(_("largest loan that may enrol (fen)"), null=True, blank=True)
    borrower_year_cap = models.BigIntegerField(_("per borrower per year (fen)"), null=True, blank=True)
    annual_cap = models.BigIntegerField(_("total per year (fen)"), null=True, blank=True)
    bank_annual_cap = models.BigIntegerField(_("per bank per year (fen)"), null=True, blank=True)
    limit_to_balance = models.BooleanField(_("compensation limited to the fund's balance"), default=False)
    leverage = models.DecimalField(_("leverage (loans backed per yuan of fund)"), max_digits=8, decimal_places=2,
                                   null=True, blank=True)
    # Read by guarantee insurance (premium rate 1–3 % a year; subsidy e.g. 50 %, at most 20,000 a year).
    premium_rate = models.DecimalField(max_digits=7, decimal_places=6, null=True, blank=True)
    premium_subsidy_ratio = models.DecimalField(max_digits=7, decimal_places=6, null=True, blank=True)
    premium_subsidy_cap = models.BigIntegerField(null=True, blank=True)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    source = models.TextField(_("source"), blank=True)
    created_by_org = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, null=True, blank=True,
                                       related_name="+")
    created_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                                   name="rs_scheme_dates"),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def scope(cls, user, action):
        if user.organisation_id is None:
            return False
        if action == "view" and user.has_role(Role.BANK_OFFICER, Role.BANK_REVIEWER, Role.BANK_APPROVER):
            return True  # a scheme is published policy: every bank reads it to enrol its loans
        return _party_orgs(user) if action == "view" else Q(created_by_org_id=user.organisation_id)


class SchemeParty(models.Model):
    """Who shares the loss besides the bank, in order (caps apply party by party in this order).

    ``balance`` is the fund's money on the platform (kept by the ledger, never negative); a party without
    a ledger (an insurer paying from its own books) has ``funded`` False."""

    scheme = models.ForeignKey(Scheme, on_delete=models.PROTECT, related_name="parties")
    seq = models.PositiveIntegerField(default=0)
    name = models.CharField(_("name"), max_length=40)
    kind = models.CharField(_("kind"), max_length=12, choices=PartyKind.choices)
    organisation = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="risk_parties")
    ratio = models.DecimalField(_("ratio"), max_digits=7, decimal_places=6)
    per_loan_cap = models.BigIntegerField(_("per-loan cap (fen)"), null=True, blank=True)
    funded = models.BooleanField(_("pays from a fund kept here"), default=False)
    balance = models.BigIntegerField(_("balance (fen)"), default=0)

    class Meta:
        ordering = ["scheme", "seq", "id"]
        constraints = [
            models.UniqueConstraint(fields=["scheme", "name"], name="rs_party_name_unique"),
            models.CheckConstraint(condition=Q(balance__gte=0), name="rs_party_balance_not_negative"),
            models.CheckConstraint(condition=Q(ratio__gte=0) & Q(ratio__lte=1), name="rs_party_ratio_range"),
        ]

    def __str__(self) -> str:
        return f"{self.scheme_id}:{self.name}"


class LedgerKind(models.TextChoices):
    CONTRIBUTION = "contribution", _("Contribution")
    PAYMENT = "payment", _("Compensation paid")
    RETURN = "return", _("Recovery returned")
    WITHDRAWAL = "withdrawal", _("Withdrawal")


class LedgerQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("Ledger entries cannot be changed.")

    def delete(self):
        raise TypeError("Ledger entries cannot be deleted.")


class LedgerEntry(models.Model):
    """One movement of a fund party's money; insert-only.  ``amount`` is signed (in +, out −) and
    ``balance_after`` is the party's balance after it, which the database keeps at or above zero."""

    party = models.ForeignKey(SchemeParty, on_delete=models.PROTECT, related_name="ledger")
    kind = models.CharField(max_length=12, choices=LedgerKind.choices)
    amount = models.BigIntegerField()
    balance_after = models.BigIntegerField()
    date = models.DateField()
    claim = models.ForeignKey("risksharing.Claim", on_delete=models.PROTECT, null=True, blank=True,
                              related_name="ledger")
    note = models.CharField(max_length=300, blank=True)
    actor = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    objects = LedgerQuerySet.as_manager()

    class Meta:
        ordering = ["party", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(balance_after__gte=0), name="rs_ledger_balance_not_negative"),
            models.CheckConstraint(condition=~Q(amount=0), name="rs_ledger_amount_not_zero"),
        ]

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise TypeError("Ledger entries cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("Ledger entries cannot be deleted.")


class Enrolment(models.Model):
    """A loan in a scheme.  A loan is in at most one scheme (the one-to-one key)."""

    scheme = models.ForeignKey(Scheme, on_delete=models.PROTECT, related_name="enrolments")
    loan = models.OneToOneField("credit.Loan", on_delete=models.PROTECT, related_name="risk_enrolment")
    ip_secured_amount = models.BigIntegerField(_("IP-secured amount (fen)"), null=True, blank=True)
    enrolled_on = models.DateField()
    enrolled_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]

    @classmethod
    def scope(cls, user, action):
        if user.organisation_id is None:
            return False
        bank = Q(loan__bank_id=user.organisation_id) | Q(loan__bank__parent_id=user.organisation_id)
        if action != "view":
            return bank
        return bank | Q(scheme_id__in=_schemes_of(user))


class ClaimStatus(models.TextChoices):
    FILED = "filed", _("Filed, awaiting payment")
    PAID = "paid", _("Paid")
    SETTLED = "settled", _("Settled after recovery")


class Claim(models.Model):
    """A claim on an enrolled non-performing loan; its shares are fixed when it is filed.  One per loan."""

    claim_no = models.CharField(max_length=20, unique=True)
    scheme = models.ForeignKey(Scheme, on_delete=models.PROTECT, related_name="claims")
    loan = models.OneToOneField("credit.Loan", on_delete=models.PROTECT, related_name="risk_claim")
    mode = models.CharField(max_length=8, choices=Mode.choices)
    base_amount = models.BigIntegerField(_("claim base (fen)"))
    eligible = models.BigIntegerField(_("eligible (fen)"))
    bank_share = models.BigIntegerField(_("borne by the bank (fen)"))
    classification = models.CharField(max_length=16)
    loss_event = models.JSONField(default=dict, blank=True)
    write_off = models.ForeignKey("risksharing.WriteOff", on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="+")
    status = models.CharField(max_length=8, choices=ClaimStatus.choices, default=ClaimStatus.FILED)
    filed_on = models.DateField()
    filed_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    recovered = models.BigIntegerField(_("recovered after payment (fen)"), default=0)
    at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-filed_on", "-id"]
        indexes = [models.Index(fields=["scheme", "filed_on"])]
        constraints = [
            models.CheckConstraint(condition=Q(base_amount__gte=0) & Q(eligible__gte=0) & Q(bank_share__gte=0),
                                   name="rs_claim_amounts_not_negative"),
        ]

    def __str__(self) -> str:
        return self.claim_no

    @classmethod
    def scope(cls, user, action):
        if user.organisation_id is None:
            return False
        bank = Q(loan__bank_id=user.organisation_id) | Q(loan__bank__parent_id=user.organisation_id)
        if action != "view":
            return bank
        return bank | Q(scheme_id__in=_schemes_of(user))


class ClaimShare(models.Model):
    """One party's share of a claim: what the engine allocated, what every cap left (``share``, with the
    caps that bit in ``caps``), what has been paid and what recoveries returned."""

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="shares")
    party = models.ForeignKey(SchemeParty, on_delete=models.PROTECT, related_name="shares")
    allocated = models.BigIntegerField()
    share = models.BigIntegerField()
    caps = models.JSONField(default=list, blank=True)
    paid = models.BigIntegerField(default=0)
    returned = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["claim", "party__seq", "id"]
        constraints = [
            models.UniqueConstraint(fields=["claim", "party"], name="rs_share_unique"),
            models.CheckConstraint(condition=Q(share__gte=0) & Q(paid__gte=0) & Q(paid__lte=models.F("share")),
                                   name="rs_share_paid_within_share"),
            models.CheckConstraint(condition=Q(returned__gte=0) & Q(returned__lte=models.F("paid")),
                                   name="rs_share_returned_within_paid"),
        ]


class PaymentStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed, awaiting the checker")
    PAID = "paid", _("Paid")
    REJECTED = "rejected", _("Rejected")


class ClaimPayment(models.Model):
    """A party paying (part of) its share: proposed by one of its users, confirmed by another."""

    share = models.ForeignKey(ClaimShare, on_delete=models.PROTECT, related_name="payments")
    amount = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.PROPOSED)
    made_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    made_at = models.DateTimeField(auto_now_add=True)
    checked_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    checked_at = models.DateTimeField(null=True, blank=True)
    paid_on = models.DateField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["share", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="rs_payment_positive"),
            # One payment at a time per share waits for its checker.
            models.UniqueConstraint(fields=["share"], condition=Q(status="proposed"),
                                    name="rs_one_proposed_payment_per_share"),
        ]


class Recovery(models.Model):
    """Money recovered on a claimed loan after payment (disposal, repayment); ``true_up`` is what each
    payer got back, by party name, in fen."""

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="recoveries")
    amount = models.BigIntegerField()
    date = models.DateField()
    true_up = models.JSONField(default=dict)
    recorded_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["claim", "date", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="rs_recovery_positive")]


class ProvisionSetting(models.Model):
    """A bank's provisioning base for IP-pledge loans: provision ratio and coverage, the higher applies."""

    bank = models.OneToOneField("core.Organisation", on_delete=models.PROTECT, related_name="provision_setting")
    provision_ratio = models.DecimalField(max_digits=7, decimal_places=6, default="0.025")
    coverage_ratio = models.DecimalField(max_digits=7, decimal_places=4, default="1.50")
    updated_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)


class WriteOffStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed, awaiting approval")
    APPROVED = "approved", _("Written off")
    REJECTED = "rejected", _("Rejected")


class WriteOff(models.Model):
    """核销 of a loss loan: proposed by the bank's reviewer or approver, approved by another approver; on
    approval the outstanding principal leaves the book and is the recognised principal loss."""

    loan = models.ForeignKey("credit.Loan", on_delete=models.PROTECT, related_name="write_offs")
    amount = models.BigIntegerField(_("principal written off (fen)"))
    reason = models.CharField(max_length=500)
    status = models.CharField(max_length=10, choices=WriteOffStatus.choices, default=WriteOffStatus.PROPOSED)
    proposed_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    proposed_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    date = models.DateField(null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="rs_write_off_positive"),
            # A loan is written off once; one proposal at a time.
            models.UniqueConstraint(fields=["loan"], condition=Q(status__in=["proposed", "approved"]),
                                    name="rs_one_live_write_off_per_loan"),
        ]

    @classmethod
    def scope(cls, user, action):
        if user.organisation_id is None:
            return False
        return Q(loan__bank_id=user.organisation_id) | Q(loan__bank__parent_id=user.organisation_id)


class PortfolioRun(models.Model):
    """One simulation of a book's loss per party (issue 13 point 5): who ran it, the inputs with the seed
    (so the run can be repeated to the fen) and the results per party in yuan as decimal strings."""

    organisation = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")
    created_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    inputs = models.JSONField(default=dict)
    results = models.JSONField(default=dict)
    loans_count = models.PositiveIntegerField(default=0)

    # Run on Django's Tasks API (risksharing.tasks.simulate_portfolio): queued with its inputs and seed,
    # then running, then done with its results or failed with a stable code and a message.
    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    task_id = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-id"]


# --- guarantee insurance (issue 13 point 3) ----------------------------------------------------------

class PolicyType(models.TextChoices):
    LOAN_GUARANTEE = "loan_guarantee", _("Loan guarantee insurance")
    INFRINGEMENT_LOSS = "infringement_loss", _("IP infringement loss insurance")
    ENFORCEMENT = "enforcement", _("IP enforcement insurance")


class PolicyStatus(models.TextChoices):
    PENDING = "pending", _("Issued, awaiting the bank's acceptance")
    ACTIVE = "active", _("In force")
    LAPSED = "lapsed", _("Lapsed (premium unpaid)")
    EXPIRED = "expired", _("Expired")
    CLAIMED = "claimed", _("Claimed")
    CANCELLED = "cancelled", _("Cancelled")


class InsuranceProduct(models.Model):
    """An insurer's product: its policy type, premium rate a year and the share of a loss it covers."""

    insurer = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, related_name="insurance_products")
    name = models.CharField(_("name"), max_length=200)
    policy_type = models.CharField(_("policy type"), max_length=20, choices=PolicyType.choices)
    premium_rate = models.DecimalField(_("premium rate a year"), max_digits=7, decimal_places=6)
    coverage_ratio = models.DecimalField(_("coverage ratio"), max_digits=7, decimal_places=6, null=True, blank=True)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    description = models.TextField(_("description"), blank=True)
    created_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(premium_rate__gt=0) & Q(premium_rate__lt=1),
                                   name="rs_ins_product_rate_range"),
            models.CheckConstraint(condition=Q(coverage_ratio__isnull=True) |
                                   (Q(coverage_ratio__gt=0) & Q(coverage_ratio__lte=1)),
                                   name="rs_ins_product_coverage_range"),
            models.CheckConstraint(condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                                   name="rs_ins_product_dates"),
        ]

    def __str__(self) -> str:
        return self.name

    @classmethod
    def scope(cls, user, action):
        if user.organisation_id is None:
            return False
        return Q(insurer_id=user.organisation_id)


class InsurancePolicy(models.Model):
    """A policy issued on an insurer's product: a loan guarantee policy is bound to a loan (issued by the
    insurer, accepted by the loan's bank), the other types to rights (kind + number) of an enterprise.
    The terms (rate, coverage, subsidy) are copied from the product and the loan's scheme at issue."""

    policy_no = models.CharField(max_length=20, unique=True)
    product = models.ForeignKey(InsuranceProduct, on_delete=models.PROTECT, related_name="policies")
    insurer = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, related_name="insurance_policies")
    policy_type = models.CharField(max_length=20, choices=PolicyType.choices)
    loan = models.ForeignKey("credit.Loan", on_delete=models.PROTECT, null=True, blank=True,
                             related_name="insurance_policies")
    enterprise = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="insurance_policies_held")
    rights = models.JSONField(default=list, blank=True)  # [{"kind", "number"}] for rights policies
    sum_insured = models.BigIntegerField(_("sum insured (fen)"))
    premium_rate = models.DecimalField(max_digits=7, decimal_places=6)
    coverage_ratio = models.DecimalField(max_digits=7, decimal_places=6, null=True, blank=True)
    scheme = models.ForeignKey(Scheme, on_delete=models.PROTECT, null=True, blank=True, related_name="policies")
    subsidy_ratio = models.DecimalField(max_digits=7, decimal_places=6, null=True, blank=True)
    subsidy_year_cap = models.BigIntegerField(null=True, blank=True)
    start_date = models.DateField()
    end_date = models.DateField()
    term_months = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=PolicyStatus.choices, default=PolicyStatus.PENDING)
    issued_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    issued_at = models.DateTimeField(auto_now_add=True)
    accepted_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    accepted_at = models.DateTimeField(null=True, blank=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(condition=Q(sum_insured__gt=0), name="rs_policy_sum_positive"),
            models.CheckConstraint(condition=Q(end_date__gte=models.F("start_date")), name="rs_policy_dates"),
            models.CheckConstraint(condition=Q(policy_type="loan_guarantee", loan__isnull=False) |
                                   (~Q(policy_type="loan_guarantee") & Q(enterprise__isnull=False)),
                                   name="rs_policy_bound"),
            # One live guarantee policy per loan: the cost of the loan reads exactly one.
            models.UniqueConstraint(fields=["loan"], condition=Q(status__in=["pending", "active"]),
                                    name="rs_one_live_policy_per_loan"),
        ]

    def __str__(self) -> str:
        return self.policy_no

    @classmethod
    def scope(cls, user, action):
        if user.organisation_id is None:
            return False
        insurer = Q(insurer_id=user.organisation_id)
        if action != "view":
            return insurer
        # The policyholder of a rights policy reads it; a bank's staff the policies on its loans.
        readers = insurer | Q(enterprise_id=user.organisation_id)
        if user.has_role(Role.BANK_OFFICER, Role.BANK_REVIEWER, Role.BANK_APPROVER):
            return readers | Q(loan__bank_id=user.organisation_id) | Q(loan__bank__parent_id=user.organisation_id)
        return readers


class PremiumInstalment(models.Model):
    """One policy year's premium: what is due (and of it the subsidy and the borrower's part), and when
    the insurer recorded it paid."""

    policy = models.ForeignKey(InsurancePolicy, on_delete=models.PROTECT, related_name="instalments")
    seq = models.PositiveIntegerField()
    period_start = models.DateField()
    period_end = models.DateField()
    due_date = models.DateField()
    premium = models.BigIntegerField()
    subsidy = models.BigIntegerField(default=0)
    borrower = models.BigIntegerField()
    paid_on = models.DateField(null=True, blank=True)
    paid_amount = models.BigIntegerField(null=True, blank=True)
    recorded_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    recorded_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["policy", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "seq"], name="rs_instalment_unique"),
            models.CheckConstraint(condition=Q(premium__gte=0) & Q(subsidy__gte=0) & Q(borrower__gte=0),
                                   name="rs_instalment_amounts_not_negative"),
        ]
