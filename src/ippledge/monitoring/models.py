"""Alerts on pledged rights and loans, and the periodic borrower reviews (notice item 九).

An alert is one adverse *condition* (``kind`` + ``condition_key``: e.g. the annuity of one right due on
one date); the database allows at most one open or acknowledged alert per condition, so a condition seen
again by the next end of day, or by a re-import, never raises a second one.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class AlertKind(models.TextChoices):
    ANNUITY_DUE = "annuity_due", _("Annuity due")
    ANNUITY_GRACE = "annuity_grace", _("Annuity in grace period")
    RIGHT_TERMINATED = "right_terminated", _("Right terminated")
    RIGHT_EXPIRING = "right_expiring", _("Right expiring")
    TRADEMARK_RENEWAL_WINDOW = "trademark_renewal_window", _("Trademark renewal window")
    INVALIDATION_REQUESTED = "invalidation_requested", _("Invalidation requested")
    INVALIDATION_DECIDED = "invalidation_decided", _("Invalidation decided")
    LITIGATION = "litigation", _("Litigation")
    PRESERVATION = "preservation", _("Preservation or seizure")
    OWNERSHIP_DISPUTE = "ownership_dispute", _("Ownership dispute")
    TRANSFER_ATTEMPT_BLOCKED = "transfer_attempt_blocked", _("Transfer attempt blocked")
    LICENCE_RECORDED = "licence_recorded", _("Licence recorded")
    VALUATION_EXPIRING = "valuation_expiring", _("Valuation expiring")
    VALUATION_EXPIRED = "valuation_expired", _("Valuation expired")
    LTV_SHORTFALL = "ltv_shortfall", _("Loan-to-value shortfall")
    BORROWER_REVIEW_DUE = "borrower_review_due", _("Borrower review due")
    LOAN_OVERDUE = "loan_overdue", _("Loan overdue")
    CANCELLATION_DUE = "cancellation_due", _("Pledge cancellation due")
    HOLDING_PERIOD_DUE = "holding_period_due", _("Acquired IP holding period ending")


class Severity(models.TextChoices):
    INFO = "info", _("Information")
    WARNING = "warning", _("Warning")
    CRITICAL = "critical", _("Critical")


class AlertStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    RESOLVED = "resolved", _("Resolved")


class Resolution(models.TextChoices):
    REMEDIED = "remedied", _("Remedied")
    ACCEPTED_RISK = "accepted_risk", _("Risk accepted")
    LOAN_ACTION = "loan_action", _("Action on the loan")
    FALSE_POSITIVE = "false_positive", _("False positive")
    # Set by the platform, never by a user: the condition ended (annuity paid, loan repaid, pledge ended).
    CLEARED = "cleared", _("Condition ended")


LIVE_STATUSES = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)


class Alert(models.Model):
    kind = models.CharField(_("kind"), max_length=32, choices=AlertKind.choices)
    severity = models.CharField(_("severity"), max_length=8, choices=Severity.choices)
    status = models.CharField(_("status"), max_length=12, choices=AlertStatus.choices, default=AlertStatus.OPEN)
    # What makes two sightings the same condition, e.g. "right:17:2026-03-01" for an annuity due date.
    condition_key = models.CharField(max_length=120)
    pledge = models.ForeignKey("registry.Pledge", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="alerts")
    right = models.ForeignKey("rights.Right", on_delete=models.PROTECT, null=True, blank=True, related_name="alerts")
    loan = models.ForeignKey("credit.Loan", on_delete=models.PROTECT, null=True, blank=True, related_name="alerts")
    event = models.ForeignKey("rights.LegalEvent", on_delete=models.PROTECT, null=True, blank=True,
                              related_name="alerts")
    # The bank (pledgee / lender) that owns the alert, and its officer where one is known.
    owner_org = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, related_name="alerts")
    officer = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    raised_on = models.DateField(_("raised on"), help_text=_("Business date (Beijing)"))
    due_date = models.DateField(_("due date"))
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    resolution = models.CharField(_("resolution"), max_length=16, choices=Resolution.choices, blank=True)
    note = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["owner_org", "kind", "condition_key"],
                                    condition=Q(status__in=["open", "acknowledged"]),
                                    name="monitoring_one_live_alert_per_condition"),
        ]
        indexes = [
            models.Index(fields=["owner_org", "status", "due_date"]),
            models.Index(fields=["kind", "status"]),
        ]

    def __str__(self):
        return f"{self.kind} {self.condition_key}"


class Conclusion(models.TextChoices):
    STABLE = "stable", _("Stable")
    WATCH = "watch", _("Watch")
    DETERIORATING = "deteriorating", _("Deteriorating")


class BorrowerReview(models.Model):
    """One periodic analysis of a borrower under one loan (append-only: a correction is a new review)."""

    loan = models.ForeignKey("credit.Loan", on_delete=models.PROTECT, related_name="reviews")
    seq = models.PositiveIntegerField()
    period_end = models.DateField(_("period end"))
    reviewed_on = models.DateField(_("reviewed on"), help_text=_("Business date (Beijing)"))
    # Figures in fen (profit may be negative); staff as a head count.
    revenue = models.BigIntegerField(_("revenue (fen)"))
    profit = models.BigIntegerField(_("profit (fen)"))
    liabilities = models.BigIntegerField(_("liabilities (fen)"))
    staff = models.PositiveIntegerField(_("staff"))
    overdue_events = models.JSONField(default=list, blank=True)
    credit_events = models.JSONField(default=list, blank=True)
    conclusion = models.CharField(_("conclusion"), max_length=16, choices=Conclusion.choices)
    note = models.CharField(max_length=1000, blank=True)
    # Computed when recorded: changes against the previous review and the rights' events in the period.
    changes = models.JSONField(default=dict, blank=True)
    rights_events = models.JSONField(default=list, blank=True)
    classification_review_proposed = models.BooleanField(default=False)
    recorded_by = models.ForeignKey("core.User", on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["loan", "seq"], name="monitoring_review_seq_unique")]
        ordering = ["loan", "seq"]
