"""Collateral disposal (issue 14): enforcement cases on non-performing loans, their channels (agreed
set-off, auction, negotiated sale, tender, IP-exchange listing, licensing), rounds with deposits and bids,
the one settlement of a case with its proceeds waterfall, licence income applied as recoveries, IP a bank
acquired with its holding period, and maintenance-fee relief for such IP.  Amounts are integer fen."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ippledge.core.querysets import RestrictedQuerySet
from ippledge.core.roles import Role


class Channel(models.TextChoices):
    AGREED_SETOFF = "agreed_setoff", _("Agreed set-off")
    AUCTION = "auction", _("Auction")
    NEGOTIATED_SALE = "negotiated_sale", _("Negotiated sale")
    TENDER = "tender", _("Tender")
    EXCHANGE_LISTING = "exchange_listing", _("IP exchange listing")
    LICENSING = "licensing", _("Licensing by an operation company")


# Channels that sell through rounds of bids, and those agreed directly between the parties.
BIDDING_CHANNELS = (Channel.AUCTION, Channel.TENDER, Channel.EXCHANGE_LISTING)
AGREED_CHANNELS = (Channel.AGREED_SETOFF, Channel.NEGOTIATED_SALE)


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    LISTED = "listed", _("Listed for sale")
    AGREED = "agreed", _("Agreed, awaiting settlement")
    SOLD = "sold", _("Sold, awaiting settlement")
    OPERATING = "operating", _("Operated under licence")
    SETTLED = "settled", _("Settled")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class DefaultBasis(models.TextChoices):
    NON_PERFORMING = "non_performing", _("Non-performing loan")
    CONTRACT_DEFAULT = "contract_default", _("Default under the contract")


class DisposalCase(models.Model):
    disposal_no = models.CharField(max_length=20, unique=True)
    loan = models.ForeignKey("credit.Loan", on_delete=models.PROTECT, related_name="disposals")
    bank = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, related_name="disposals")
    pledgor = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=20, choices=Channel.choices)
    status = models.CharField(max_length=12, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    default_basis = models.CharField(max_length=20, choices=DefaultBasis.choices)
    default_reason = models.CharField(max_length=300, blank=True)
    legal_basis = models.CharField(max_length=300)
    # The claim when the case opened; the costs of realising it grow until settlement.
    claim_principal = models.BigIntegerField(_("principal claimed (fen)"))
    claim_interest = models.BigIntegerField(_("interest claimed (fen)"))
    claim_costs = models.BigIntegerField(_("costs so far (fen)"), default=0)
    appraised_value = models.BigIntegerField(_("liquidation value (fen)"))
    valuation_source = models.CharField(max_length=16)  # valuation | appraisal
    valuation_ref = models.CharField(max_length=64, blank=True)
    appraisal_agency = models.ForeignKey("valuation.AppraisalAgency", on_delete=models.PROTECT, null=True,
                                         blank=True, related_name="+")
    exchange = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="exchange_listings")
    operator = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, null=True, blank=True,
                                 related_name="operated_disposals")
    deadline = models.DateField(null=True, blank=True)
    # An agreed set-off or negotiated sale: the value, the buyer and the signed agreement.
    agreed_value = models.BigIntegerField(null=True, blank=True)
    agreed_buyer = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, null=True, blank=True,
                                     related_name="+")
    agreement_ref = models.CharField(max_length=200, blank=True)
    pledgor_confirmed_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True,
                                             related_name="+")
    # Recovered so far by licence income (licensing cases), in the waterfall's parts.
    recovered_costs = models.BigIntegerField(default=0)
    recovered_interest = models.BigIntegerField(default=0)
    recovered_principal = models.BigIntegerField(default=0)
    opened_on = models.DateField()
    created_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_on", "-id"]
        indexes = [models.Index(fields=["bank", "status"])]

    def __str__(self) -> str:
        return self.disposal_no

    @classmethod
    def scope(cls, user, action):
        """The bank (or its head office) its own cases, an exchange the cases listed on it, an operation
        company the cases it operates, the regulator all of them (to read)."""
        if user.has_role(Role.REGULATOR_USER) and action == "view":
            return True
        if user.organisation_id is None:
            return False
        own = user.organisation_id
        rule = Q(bank_id=own) | Q(bank__parent_id=own)
        if action == "view":
            rule |= Q(exchange_id=own) | Q(operator_id=own)
        return rule


class CaseRight(models.Model):
    case = models.ForeignKey(DisposalCase, on_delete=models.PROTECT, related_name="case_rights")
    right = models.ForeignKey("rights.Right", on_delete=models.PROTECT, related_name="disposal_links")
    registration_no = models.CharField(max_length=24)  # the enforcing bank's pledge on the right
    appraised_value = models.BigIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["case", "id"]
        constraints = [models.UniqueConstraint(fields=["case", "right"], name="disposal_case_right_unique")]


class CaseNotice(models.Model):
    """The notice of enforcement given to the pledgor and each guarantor (in-app notification)."""

    case = models.ForeignKey(DisposalCase, on_delete=models.PROTECT, related_name="notices")
    org = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, related_name="+")
    role = models.CharField(max_length=12)  # pledgor | guarantor
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["case", "id"]


class Round(models.Model):
    case = models.ForeignKey(DisposalCase, on_delete=models.PROTECT, related_name="rounds")
    number = models.PositiveSmallIntegerField()
    reserve = models.BigIntegerField()
    increment = models.BigIntegerField()
    deposit = models.BigIntegerField()
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=8, blank=True)  # sold | unsold
    winning_bid = models.ForeignKey("disposal.Bid", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    published_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["case", "number"]
        constraints = [models.UniqueConstraint(fields=["case", "number"], name="disposal_round_unique")]


class Deposit(models.Model):
    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="deposits")
    bidder = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, related_name="+")
    amount = models.BigIntegerField()
    recorded_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["round", "id"]
        constraints = [models.UniqueConstraint(fields=["round", "bidder"], name="disposal_deposit_once")]


class Bid(models.Model):
    round = models.ForeignKey(Round, on_delete=models.PROTECT, related_name="bids")
    bidder = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, related_name="+")
    amount = models.BigIntegerField()
    at = models.DateTimeField()
    placed_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["round", "at", "id"]


class Interest(models.Model):
    """An expression of interest in a listing (挂牌意向), before or instead of a bid."""

    case = models.ForeignKey(DisposalCase, on_delete=models.PROTECT, related_name="interests")
    org = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, related_name="+")
    note = models.CharField(max_length=300, blank=True)
    by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["case", "id"]


class Settlement(models.Model):
    """The one settlement of a case (the one-to-one key makes the database refuse a second)."""

    case = models.OneToOneField(DisposalCase, on_delete=models.PROTECT, related_name="settlement")
    date = models.DateField()
    proceeds = models.BigIntegerField()
    costs = models.BigIntegerField()
    buyer = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, related_name="+")
    senior_paid = models.BigIntegerField(default=0)  # to pledges ranking before the enforcing bank's
    applied_costs = models.BigIntegerField()
    applied_interest = models.BigIntegerField()
    applied_principal = models.BigIntegerField()
    surplus = models.BigIntegerField()
    shortfall = models.BigIntegerField()
    ranks = models.JSONField(default=list)  # every pledge on the sold rights: rank, paid, cancelled
    risk_recovery = models.BigIntegerField(default=0)  # principal passed to the risk-sharing claim
    recorded_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    at = models.DateTimeField(auto_now_add=True)


class LicenceIncome(models.Model):
    """Licence income of a licensing case, applied to the claim as a recovery.  Insert-only."""

    case = models.ForeignKey(DisposalCase, on_delete=models.PROTECT, related_name="licence_income")
    date = models.DateField()
    amount = models.BigIntegerField()
    applied_costs = models.BigIntegerField()
    applied_interest = models.BigIntegerField()
    applied_principal = models.BigIntegerField()
    recorded_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["case", "date", "id"]


class AcquiredRight(models.Model):
    """A right a bank took by agreed set-off: it must dispose of it within the holding period."""

    right = models.ForeignKey("rights.Right", on_delete=models.PROTECT, related_name="+")
    bank = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(DisposalCase, on_delete=models.PROTECT, related_name="acquired")
    acquired_on = models.DateField()
    hold_until = models.DateField()
    disposed_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["hold_until", "id"]
        constraints = [models.UniqueConstraint(fields=["right"], condition=Q(disposed_on__isnull=True),
                                               name="acquired_right_held_once")]


class ReliefStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", pgettext_lazy("fee relief", "Refused")


class FeeRelief(models.Model):
    """An application to reduce the annual/maintenance fees of a right a bank obtained by enforcement
    (notice item 十六), with the disposal record as evidence and the office's decision."""

    right = models.ForeignKey("rights.Right", on_delete=models.PROTECT, related_name="fee_reliefs")
    bank = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, related_name="+")
    acquired = models.ForeignKey(AcquiredRight, on_delete=models.PROTECT, related_name="reliefs")
    note = models.CharField(max_length=300, blank=True)
    status = models.CharField(max_length=10, choices=ReliefStatus.choices, default=ReliefStatus.PENDING)
    reduction_percent = models.DecimalField(max_digits=5, decimal_places=2, null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    applied_on = models.DateField()
    applied_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    decided_on = models.DateField(null=True, blank=True)
    decided_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")

    objects = RestrictedQuerySet.as_manager()

    class Meta:
        ordering = ["-applied_on", "-id"]
        constraints = [models.UniqueConstraint(fields=["right"], condition=~Q(status="refused"),
                                               name="fee_relief_one_live_per_right")]

    @classmethod
    def scope(cls, user, action):
        from ippledge.core.roles import OFFICE_RIGHT_KINDS

        if user.has_role(Role.REGULATOR_USER) and action == "view":
            return True
        org = user.organisation
        if user.has_role(Role.REGISTRAR) and org is not None:
            return Q(right__kind__in=sorted(OFFICE_RIGHT_KINDS.get(org.kind, ())))
        if user.organisation_id is None:
            return False
        return Q(bank_id=user.organisation_id) | Q(bank__parent_id=user.organisation_id)
