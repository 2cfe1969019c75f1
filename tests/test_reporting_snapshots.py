"""Month-end balance snapshots give exactly the figures the history gives (and the reference,
tests/reporting_oracle.py): the report, the IP book of every bank and the all-bank NPL tolerance test, on
several month ends — with a loan repaid in the middle of a month, loans reclassified, and one disbursed
on a month's last day — and stop being read once the history they describe changes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command

from ippledge.core.actors import SYSTEM
from ippledge.core.errors import Conflict, ValidationFailed
from ippledge.credit import services as credit
from ippledge.credit.models import ClassificationChange, Repayment
from ippledge.reporting import services, snapshots
from ippledge.reporting.models import BalanceSnapshot, LoanBalance
from ippledge.reporting.sql import ip_book_sql, report_sql, tolerance_all_banks

from . import reporting_oracle as oracle
from .conftest import uscc
from .test_reporting_sql import book  # noqa: F401  (the fixture: a small book with every kind of history)

pytestmark = pytest.mark.django_db

# Month ends of quarters, a plain month, years, and months around the extra events below.
MONTH_ENDS = (dt.date(2025, 12, 31), dt.date(2026, 3, 31), dt.date(2026, 7, 31), dt.date(2026, 8, 31),
              dt.date(2026, 9, 30), dt.date(2026, 11, 30))
PERIODS = {dt.date(2025, 12, 31): "2025", dt.date(2026, 3, 31): "2026Q1", dt.date(2026, 7, 31): "2026-07",
           dt.date(2026, 8, 31): "2026-08", dt.date(2026, 9, 30): "2026Q3", dt.date(2026, 11, 30): "2026-11"}
GROUPINGS = ((), ("bank",), ("branch", "ip_kind"), ("bank", "ip_kind", "region"), ("size", "first_loan"),
             ("city", "park", "inclusive"))


@pytest.fixture
def richer(book):  # noqa: F811
    """The SQL tests' book, plus a loan repaid in the middle of August 2026 and reclassified twice in
    September, and one disbursed on 31 August 2026 (the month's last day)."""
    banks = book["banks"]

    def lend(bank, i, amount, start, **extra):
        return credit.book_loan(actor=SYSTEM, data={
            "borrower_uscc": uscc(f"91440300000000{i:03d}"), "borrower_name": f"企业{i}",
            "bank_org_id": banks[bank].pk, "amount": amount, "annual_rate": "0.04", "start_date": start,
            "maturity_date": start + dt.timedelta(days=365), "schedule": "bullet", "ip_kind": "patent", **extra})

    mid = lend("B", 20, "900000", dt.date(2026, 6, 5))
    Repayment.objects.create(loan=mid, date=dt.date(2026, 8, 14), principal=25_000_000, interest=0)
    Repayment.objects.create(loan=mid, date=dt.date(2026, 8, 14), principal=15_000_000, interest=0)  # same day
    ClassificationChange.objects.create(loan=mid, date=dt.date(2026, 9, 3), before="normal", after="special_mention")
    ClassificationChange.objects.create(loan=mid, date=dt.date(2026, 9, 30), before="special_mention", after="loss")
    last = lend("A1", 21, "1500000", dt.date(2026, 8, 31), inclusive_smb=True)
    return {**book, "mid": mid, "last_day": last}


def _history_and_snapshot(call, **kw):
    return call(**kw, source="history"), call(**kw, source="snapshot")


def test_snapshots_equal_the_history_on_several_month_ends(richer):
    ids = {b.pk for b in richer["banks"].values()}
    for end in MONTH_ENDS:
        snap = snapshots.take(actor=SYSTEM, month_end=end)
        period = PERIODS[end]
        for group_by in GROUPINGS:
            history, snapshot = _history_and_snapshot(report_sql, period=period, group_by=group_by)
            assert snapshot == history == oracle.report(period=period, group_by=group_by), (end, group_by)
        for scope in ({richer["banks"]["A"].pk}, {richer["banks"]["A1"].pk, richer["banks"]["B"].pk}):
            history, snapshot = _history_and_snapshot(report_sql, period=period, group_by=("branch",),
                                                      bank_ids=scope)
            assert snapshot == history, (end, scope)
        assert report_sql(period=period, group_by=("bank",), workers=3, source="snapshot") == \
            report_sql(period=period, group_by=("bank",), source="history")
        for inclusive in (False, True):
            history = ip_book_sql(ids, end, inclusive_only=inclusive, source="history")
            assert ip_book_sql(ids, end, inclusive_only=inclusive, source="snapshot") == history == \
                {b.pk: oracle.ip_book(b, end, inclusive_only=inclusive) for b in richer["banks"].values()}
            assert ip_book_sql(None, end, inclusive_only=inclusive, source="snapshot") == \
                ip_book_sql(None, end, inclusive_only=inclusive, source="history")
        # One row per loan of the book, and the totals kept with the snapshot.
        book_loans = [x for x in oracle.loans_at(end)]
        assert snap.loans == LoanBalance.objects.filter(snapshot=snap).count() == len(book_loans)
        assert snap.balance == sum(x.balance for x in book_loans)


def test_the_extra_loans_are_where_the_month_ends_put_them(richer):
    """Guard the fixture: the mid-month repayment, the reclassifications and the last-day loan show."""
    for end in (dt.date(2026, 7, 31), dt.date(2026, 8, 31), dt.date(2026, 9, 30)):
        snapshots.take(actor=SYSTEM, month_end=end)
    rows = {(r.snapshot.month_end, r.loan_id): r for r in LoanBalance.objects.select_related("snapshot")}
    mid, last = richer["mid"].pk, richer["last_day"].pk
    assert rows[(dt.date(2026, 7, 31), mid)].balance == 90_000_000
    assert rows[(dt.date(2026, 8, 31), mid)].balance == 50_000_000
    assert rows[(dt.date(2026, 8, 31), mid)].category == "normal"
    assert rows[(dt.date(2026, 9, 30), mid)].category == "loss"
    assert (dt.date(2026, 7, 31), last) not in rows
    assert rows[(dt.date(2026, 8, 31), last)].balance == 150_000_000


def test_all_bank_tolerance_reads_the_snapshot_when_present(richer):
    banks, end = richer["banks"], dt.date(2026, 9, 30)
    for bank, total, npl in (("A", "100000000", "19000000"), ("A1", "50000000", "1000000"), ("B", "40000000", "1")):
        services.submit_overall(actor=SYSTEM, bank_org_id=banks[bank].pk, period_end=end, total_loan_balance=total,
                                npl_balance=npl, inclusive_loan_balance="20000000", inclusive_npl_balance="100000")
    before = tolerance_all_banks(end)
    assert snapshots.current(end) is None  # none yet: the history is read
    snapshots.take(actor=SYSTEM, month_end=end)
    assert snapshots.current(end) is not None
    for segment in ("all", "inclusive"):
        assert tolerance_all_banks(end, segment=segment, source="snapshot") == \
            tolerance_all_banks(end, segment=segment, source="history")
    assert tolerance_all_banks(end) == before
    for row in before:
        assert row == services.tolerance(actor=SYSTEM, bank_org_id=row["bank_org_id"], period_end=end)


def test_a_later_write_dated_in_the_month_makes_the_snapshot_stale(richer):
    end = dt.date(2026, 8, 31)
    snapshots.take(actor=SYSTEM, month_end=end)
    later = snapshots.take(actor=SYSTEM, month_end=dt.date(2026, 11, 30))
    # A back-dated repayment: every snapshot from its date on describes a history that is gone.
    Repayment.objects.create(loan=richer["mid"], date=dt.date(2026, 8, 20), principal=1_000_000, interest=0)
    assert snapshots.current(end) is None and snapshots.current(later.month_end) is None
    assert report_sql(period="2026-08", group_by=("bank",)) == oracle.report(period="2026-08", group_by=("bank",))
    # The end of day rebuilds every stale snapshot (and the month just ended).
    taken = snapshots.refresh(actor=SYSTEM, day=dt.date(2026, 12, 1))
    assert taken == ["2026-08-31", "2026-11-30"]
    assert report_sql(period="2026-08", source="snapshot") == report_sql(period="2026-08", source="history")
    # A change inserted in bulk (no signal) is noticed by the ids the snapshot keeps.
    snap = snapshots.current(end)
    ClassificationChange.objects.bulk_create([ClassificationChange(
        loan=richer["mid"], date=dt.date(2026, 8, 30), before="normal", after="doubtful")])
    assert snap is not None and snapshots.current(end) is None
    # A loan booked later but started on or before the month end.
    snapshots.take(actor=SYSTEM, month_end=end)
    credit.book_loan(actor=SYSTEM, data={
        "borrower_uscc": uscc("91440300000000030"), "borrower_name": "企业30",
        "bank_org_id": richer["banks"]["B"].pk, "amount": "100000", "annual_rate": "0.04",
        "start_date": dt.date(2026, 8, 1), "maturity_date": dt.date(2027, 8, 1), "schedule": "bullet",
        "ip_kind": "patent"})
    assert snapshots.current(end) is None
    # A later month is untouched by writes dated after it.
    snapshots.take(actor=SYSTEM, month_end=dt.date(2026, 7, 31))
    Repayment.objects.create(loan=richer["mid"], date=dt.date(2026, 8, 25), principal=1_000_000, interest=0)
    assert snapshots.current(dt.date(2026, 7, 31)) is not None


def test_end_of_day_snapshots_the_month_just_ended_once(richer):
    assert snapshots.month_end_for(dt.date(2026, 9, 30)) == dt.date(2026, 9, 30)
    assert snapshots.month_end_for(dt.date(2026, 10, 1)) == dt.date(2026, 9, 30)
    assert snapshots.month_end_for(dt.date(2026, 10, 17)) == dt.date(2026, 9, 30)
    assert snapshots.refresh(actor=SYSTEM, day=dt.date(2026, 9, 30)) == ["2026-09-30"]
    assert snapshots.refresh(actor=SYSTEM, day=dt.date(2026, 10, 1)) == []  # idempotent
    assert snapshots.refresh(actor=SYSTEM, day=dt.date(2026, 11, 5)) == ["2026-10-31"]
    assert list(BalanceSnapshot.objects.order_by("month_end").values_list("month_end", flat=True)) == \
        [dt.date(2026, 9, 30), dt.date(2026, 10, 31)]


def test_the_command_rebuilds_a_past_month(richer, capsys):
    call_command("report_snapshot", "--month", "2026-06", "--json")
    out = capsys.readouterr().out
    assert '"month_end": "2026-06-30"' in out
    assert report_sql(period="2026Q2", source="snapshot") == oracle.report(period="2026Q2")
    call_command("report_snapshot", "--month", "2026-06")  # again: rebuilt in place
    assert BalanceSnapshot.objects.count() == 1


def test_snapshot_refusals(db):
    with pytest.raises(ValidationFailed) as bad:
        snapshots.parse_month("2026-13")
    assert bad.value.code == "invalid_month"
    with pytest.raises(ValidationFailed):
        snapshots.take(actor=SYSTEM, month_end=dt.date(2026, 6, 15))
    with pytest.raises(Conflict) as future:
        snapshots.take(actor=SYSTEM, month_end=dt.date(2999, 1, 31))
    assert future.value.code == "snapshot_future"
    with pytest.raises(Conflict) as missing:
        report_sql(period="2026Q2", source="snapshot")
    assert missing.value.code == "snapshot_missing"
