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


class BalanceSnapshot(models.Model):
    """The loan book as it stood at a month end: every loan's principal balance and category, taken from
    the repayment and classification history by end of day (or rebuilt on demand).  Statistics for that
    day read it instead of summing the history again; a later write dated on or before the month end
    (a back-dated repayment, change or loan) marks it stale, and stale snapshots are not read.

    ``last_*_id``: the history's highest ids when it was taken, so writes that bypass the model signals
    (bulk inserts) are still noticed (:func:`ippledge.reporting.snapshots.current`)."""

    month_end = models.DateField(unique=True)
    loans = models.PositiveIntegerField(default=0)
    balance = models.BigIntegerField(default=0)
    last_loan_id = models.BigIntegerField(default=0)
    last_change_id = models.BigIntegerField(default=0)
    stale = models.BooleanField(default=False)
    taken_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-month_end"]


class LoanBalance(models.Model):
    """One loan's balance (fen) and category at its snapshot's month end."""

    # The indexes below lead with the snapshot; single-column ones would only slow the month-end writes.
    snapshot = models.ForeignKey(BalanceSnapshot, on_delete=models.CASCADE, related_name="loan_rows",
                                 db_index=False)
    loan = models.ForeignKey("credit.Loan", on_delete=models.CASCADE, related_name="+", db_index=False)
    balance = models.BigIntegerField()
    category = models.CharField(max_length=16)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["snapshot", "loan"], name="loan_balance_unique")]
        indexes = [
            # Covering: a statement reads a snapshot's balances and categories in loan order from the index
            # alone, and its NPL branch the few non-performing loans.
            models.Index(fields=["snapshot", "loan", "balance", "category"], name="loan_balance_covering"),
            models.Index(fields=["snapshot", "category", "loan", "balance"], name="loan_balance_category"),
        ]


class BookBalance(models.Model):
    """Per booking organisation and inclusive flag, the sum of a snapshot's loans: what the all-bank NPL
    tolerance test reads (a few hundred rows instead of the whole book)."""

    snapshot = models.ForeignKey(BalanceSnapshot, on_delete=models.CASCADE, related_name="book_rows")
    booked_by = models.ForeignKey("core.Organisation", on_delete=models.CASCADE, related_name="+")
    inclusive = models.BooleanField()
    loans = models.PositiveIntegerField()
    balance = models.BigIntegerField()
    npl_balance = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["snapshot", "booked_by", "inclusive"],
                                               name="book_balance_unique")]
