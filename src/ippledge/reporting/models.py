"""What reporting stores: banks' overall loan figures per period (history kept), published typical
cases, and the quarterly report files.  Everything else is computed from the loan book."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class BankOverall(models.Model):
    """A bank's whole-book loan and NPL balances at a period end; later submissions supersede."""

    bank = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, related_name="overall_figures")
    period_end = models.DateField()
    total_loan_balance = models.BigIntegerField()
    npl_balance = models.BigIntegerField()
    inclusive_loan_balance = models.BigIntegerField(null=True, blank=True)
    inclusive_npl_balance = models.BigIntegerField(null=True, blank=True)
    submitted_by = models.ForeignKey("core.User", on_delete=models.PROTECT, null=True, related_name="+")
    submitted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["bank", "period_end", "-submitted_at", "-id"]


class CaseStudy(models.Model):
    """A typical case (典型案例) published by a regulator from a real loan, anonymised, with consent."""

    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"))
    loan = models.ForeignKey("credit.Loan", on_delete=models.PROTECT, related_name="+")
    facts = models.JSONField(default=dict)
    borrower_consent = models.BooleanField(default=False)
    published_by = models.ForeignKey("core.User", on_delete=models.PROTECT, related_name="+")
    published_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-published_at"]


class ReportFile(models.Model):
    bank = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, related_name="+")
    period = models.CharField(max_length=8)
    path = models.CharField(max_length=300)
    generated_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-generated_at"]
        constraints = [models.UniqueConstraint(fields=["bank", "period"], name="report_file_unique")]
