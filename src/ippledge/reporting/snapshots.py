"""Month-end balance snapshots: the loan book's balances and categories at a month end, written once.

Every statistic of a period end needs each loan's principal balance and category at that day, which
the history gives (repayments dated on or before it, the latest classification change before it) at
the cost of summing every repayment of the book.  A snapshot stores them — one row per loan of the book
(``LoanBalance``) and their sums per booking organisation (``BookBalance``) — computed from the history
by the same SQL fragments the statistics use (``reporting.sql``), so reading it gives the same figures:

    take(actor=, month_end=)     # (re)build the snapshot of a month end from the history
    current(month_end) -> id     # the snapshot to read for a day, or None (read the history)
    month_end_for(day)           # the month end the end-of-day job snapshots on ``day``

The end-of-day job (``reporting.tasks``) takes the snapshot on a month's last day, or on a later day
when the month just ended has none (or a stale one); ``ippledge report snapshot --month 2025-06``
rebuilds any past month.  A snapshot is only read while it still describes the history: a repayment,
classification change or loan dated on or before its month end and written after it marks it stale
(model signals; bulk-inserted changes and loans are caught by the ids kept in the snapshot), and the
next end of day rebuilds it.
"""

from __future__ import annotations

import datetime as dt

from django.db import OperationalError, connection, transaction
from django.db.models import Sum
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils.translation import gettext as _

from ippledge.core import audit, business_date, limits
from ippledge.core import calendar as core_calendar
from ippledge.core.errors import Conflict, ValidationFailed
from ippledge.credit.models import ClassificationChange, Loan, Repayment

from . import sql
from .engine import statistics as engine
from .models import BalanceSnapshot, BookBalance, LoanBalance


def last_day(year: int, month: int) -> dt.date:
    return core_calendar.month_end(year, month)


def month_end_for(day: dt.date) -> dt.date:
    """The month end the end of day of ``day`` snapshots: ``day`` itself on a month's last day, else the
    end of the month before (the month just ended, taken on a later day if its own day was missed)."""
    end = last_day(day.year, day.month)
    return end if day == end else day.replace(day=1) - dt.timedelta(days=1)


def parse_month(text) -> dt.date:
    """``"2025-06"`` → 2025-06-30; anything else → ``invalid_month``."""
    text = limits.text(text, field="month", max_length=7)
    try:
        year, month = (int(x) for x in text.split("-"))
        return last_day(year, month)
    except ValueError:
        message = _("Give the month as YYYY-MM.")
        raise ValidationFailed(message, code="invalid_month", fields={"month": [message]}) from None


def current(month_end: dt.date) -> int | None:
    """The id of the snapshot that describes the book at ``month_end``, or ``None``."""
    row = BalanceSnapshot.objects.filter(month_end=month_end, stale=False) \
        .values_list("pk", "last_loan_id", "last_change_id").first()
    if row is None:
        return None
    pk, last_loan, last_change = row
    # Writes that bypass the signals below (bulk inserts) dated on or before the month end: the rows
    # newer than the snapshot, a few, read by their primary key.
    end = sql._date(month_end)
    with connection.cursor() as cursor:
        cursor.execute("""SELECT EXISTS (SELECT 1 FROM credit_loan WHERE id > %s AND start_date <= %s),
       EXISTS (SELECT 1 FROM credit_classificationchange WHERE id > %s AND "date" <= %s)""",
                       [last_loan, end, last_change, end])
        newer = cursor.fetchone()
    return None if any(newer) else pk


def _last_ids() -> tuple[int, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT (SELECT MAX(id) FROM credit_loan), (SELECT MAX(id) FROM credit_classificationchange)")
        last_loan, last_change = cursor.fetchone()
    return last_loan or 0, last_change or 0


def _insert_loans_sql(split: bool) -> str:
    """Every loan of the book at ``%(end)s`` with its balance and category, as ``reporting.sql`` reads them."""
    vendor = connection.vendor
    balance, join = sql._balance_sql(vendor, few=False, split=split)
    return f"""{sql._ctes(vendor, few=not join)}
INSERT INTO reporting_loanbalance (snapshot_id, loan_id, balance, category)
SELECT %(snapshot)s, l.id, {balance}, COALESCE(c."after", '{engine.NORMAL}')
FROM credit_loan l{join} LEFT JOIN latest c ON c.loan_id = l.id
WHERE l.start_date <= %(end)s"""


_INSERT_BOOKS = f"""INSERT INTO reporting_bookbalance (snapshot_id, booked_by_id, inclusive, loans, balance, npl_balance)
SELECT %(snapshot)s, l.bank_id, l.inclusive_smb, COUNT(*), SUM(s.balance),
       SUM(CASE WHEN s.category IN {sql.NPL_SQL} THEN s.balance ELSE 0 END)
FROM reporting_loanbalance s JOIN credit_loan l ON l.id = s.loan_id
WHERE s.snapshot_id = %(snapshot)s
GROUP BY l.bank_id, l.inclusive_smb"""


@transaction.atomic
def take(*, actor, month_end: dt.date) -> BalanceSnapshot:
    """(Re)build the snapshot of ``month_end`` (a month's last day, not after today) from the history."""
    if month_end != last_day(month_end.year, month_end.month):
        raise ValidationFailed(_("A balance snapshot is taken at a month end."), code="invalid_month",
                               fields={"month": [_("Give the month as YYYY-MM.")]})
    if month_end > business_date.today():
        raise Conflict(_("A month end that has not come yet cannot be snapshotted."), code="snapshot_future")
    # The ids first: whatever is written from here on is either in the snapshot or newer than them.
    last_loan, last_change = _last_ids()
    snap, created = BalanceSnapshot.objects.select_for_update().get_or_create(month_end=month_end)
    LoanBalance.objects.filter(snapshot=snap).delete()
    BookBalance.objects.filter(snapshot=snap).delete()
    params = {"snapshot": snap.pk, "end": sql._date(month_end)}
    with connection.cursor() as cursor:
        try:
            with transaction.atomic():
                cursor.execute(_insert_loans_sql(False), params)
        except OperationalError as exc:
            # As in reporting.sql: only a tampered book's repayments overflow SQLite's SUM.
            if "integer overflow" not in str(exc):
                raise
            cursor.execute(_insert_loans_sql(True), params)
        try:
            with transaction.atomic():
                cursor.execute(_INSERT_BOOKS, params)
        except OperationalError as exc:
            if "integer overflow" not in str(exc):
                raise
            raise Conflict(_("The book's balances exceed what a snapshot can hold."), code="snapshot_overflow") \
                from None
    totals = BookBalance.objects.filter(snapshot=snap).aggregate(loans=Sum("loans"), balance=Sum("balance"))
    before = {"loans": snap.loans, "balance": snap.balance} if not created else None
    snap.loans, snap.balance = totals["loans"] or 0, totals["balance"] or 0
    snap.last_loan_id, snap.last_change_id, snap.stale = last_loan, last_change, False
    snap.save()
    audit.record(actor=actor, action="report.snapshot", obj=snap, object_repr=f"snapshot {month_end}",
                 before=before, after={"loans": snap.loans, "balance": snap.balance})
    return snap


def refresh(*, actor, day: dt.date) -> list[str]:
    """The end-of-day work: the snapshot of the month just ended when it is missing, and every stale one
    rebuilt.  Returns the month ends taken."""
    wanted = {month_end_for(day)} - set(BalanceSnapshot.objects.filter(stale=False).values_list("month_end", flat=True))
    wanted |= set(BalanceSnapshot.objects.filter(stale=True, month_end__lte=day).values_list("month_end", flat=True))
    for month_end in sorted(wanted):
        take(actor=actor, month_end=month_end)
    return [m.isoformat() for m in sorted(wanted)]


def _stale_from(day: dt.date) -> None:
    BalanceSnapshot.objects.filter(month_end__gte=day, stale=False).update(stale=True)


@receiver(post_save, sender=Repayment, dispatch_uid="reporting.snapshot.repayment")
def _repayment_written(sender, instance: Repayment, created: bool, **kwargs) -> None:
    _stale_from(instance.date)


@receiver(post_save, sender=ClassificationChange, dispatch_uid="reporting.snapshot.change")
def _change_written(sender, instance: ClassificationChange, created: bool, **kwargs) -> None:
    _stale_from(instance.date)


@receiver(post_save, sender=Loan, dispatch_uid="reporting.snapshot.loan")
def _loan_written(sender, instance: Loan, created: bool, **kwargs) -> None:
    # Later saves update the loan's summaries (balance, days past due), which snapshots do not read.
    if created:
        _stale_from(instance.start_date)
