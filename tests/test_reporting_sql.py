"""The set-based statistics (reporting.sql, decided by reporting.engine.statistics) give exactly what the
reference (tests/reporting_oracle.py) gives: same keys, strings and row order, for quarters, months and
years, every grouping, a bank's scope, and the NPL tolerance of all banks at once."""

from __future__ import annotations

import datetime as dt

import pytest

from ippledge.core import services as core
from ippledge.core.actors import SYSTEM
from ippledge.core.errors import ValidationFailed
from ippledge.core.models import Organisation
from ippledge.credit import services as credit
from ippledge.credit.models import ClassificationChange, Loan, Park, Repayment
from ippledge.reporting import services
from ippledge.reporting.sql import ip_book_sql, report_sql, tolerance_all_banks

from . import reporting_oracle as oracle
from .conftest import uscc

pytestmark = pytest.mark.django_db

PERIODS = ("2026Q1", "2026Q3", "2026", "2026-08", "2025")
GROUPINGS = ((), ("bank",), ("ip_kind",), ("bank", "ip_kind", "region"), ("size",), ("first_loan",),
             ("branch", "city", "park", "inclusive"))


@pytest.fixture
def book(db):
    """The reporting API's book (bank A lends to three firms, one loan goes bad; bank B to one), plus a
    branch of A, an idle bank C, parks, several regions and sizes, loans of the previous year, repayments
    (one after the period end, one overpaying), and classification changes that go down and up again."""
    banks = {key: core.create_organisation(actor=SYSTEM, name=f"银行{key}", kind="bank", uscc=uscc(body))
             for key, body in (("A", "91110000100000589"), ("B", "91110000100000590"), ("C", "91110000100000591"))}
    branch = core.create_organisation(actor=SYSTEM, name="银行A深圳分行", kind="bank")
    Organisation.objects.filter(pk=branch.pk).update(parent=banks["A"])
    banks["A1"] = Organisation.objects.get(pk=branch.pk)
    parks = [Park.objects.create(name=f"园区{i}", region_code="440300") for i in range(2)]

    def lend(bank, i, amount, kind, start, region="440300", **extra):
        return credit.book_loan(actor=SYSTEM, data={
            "borrower_uscc": uscc(f"91{region}000000{i:03d}"), "borrower_name": f"企业{i}",
            "bank_org_id": banks[bank].pk, "amount": amount, "annual_rate": "0.04", "start_date": start,
            "maturity_date": start + dt.timedelta(days=365), "schedule": "bullet", "ip_kind": kind, **extra})

    loans = [lend(bank, i, amount, kind, dt.date(2026, 2, 10), first_loan=i == 0)
             for i, (bank, amount, kind) in enumerate((("A", "2000000", "patent"), ("A", "3000000", "trademark"),
                                                      ("A", "5000000", "patent"), ("B", "1000000", "bundle")))]
    # The third loan is written down to doubtful by a reviewer on 2026-08-01.
    Loan.objects.filter(pk=loans[2].pk).update(classification="doubtful")
    ClassificationChange.objects.create(loan=loans[2], date=dt.date(2026, 8, 1), before="normal", after="doubtful",
                                        reasons=[["manual_downgrade", "doubtful"]], manual=True)
    # The branch lends over 10 million to the first borrower again (same household), inclusive, in a park.
    loans.append(lend("A1", 0, "12000000", "copyright", dt.date(2026, 5, 20), inclusive_smb=True,
                      park_id=parks[0].pk))
    # A loan of the previous year: partly repaid in 2025 and 2026, once more after the end of 2026Q3;
    # substandard at the end of 2025, upgraded back to normal in April 2026.
    old = lend("A", 5, "800000", "patent", dt.date(2025, 3, 15), region="110108")
    loans.append(old)
    for day, principal in ((dt.date(2025, 6, 30), 30_000_000), (dt.date(2026, 3, 31), 20_000_000),
                           (dt.date(2026, 10, 15), 10_000_000)):
        Repayment.objects.create(loan=old, date=day, principal=principal, interest=100)
    ClassificationChange.objects.create(loan=old, date=dt.date(2025, 12, 1), before="normal", after="substandard")
    ClassificationChange.objects.create(loan=old, date=dt.date(2026, 4, 1), before="substandard", after="normal")
    # Bank B: an inclusive loan of August 2025 in the other park, overpaid (balance 0) in January 2026 …
    paid = lend("B", 6, "600000", "patent", dt.date(2025, 8, 5), region="310115", inclusive_smb=True,
                park_id=parks[1].pk, first_loan=True)
    loans.append(paid)
    Repayment.objects.create(loan=paid, date=dt.date(2025, 12, 20), principal=40_000_000, interest=0)
    Repayment.objects.create(loan=paid, date=dt.date(2026, 1, 20), principal=30_000_000, interest=0)
    # … and a bundle loan of August 2025, lost and then reclassified the same day (the later change wins).
    aug = lend("B", 7, "2500000", "bundle", dt.date(2025, 8, 20), region="310115")
    loans.append(aug)
    ClassificationChange.objects.create(loan=aug, date=dt.date(2026, 9, 30), before="normal", after="loss")
    ClassificationChange.objects.create(loan=aug, date=dt.date(2026, 9, 30), before="loss", after="substandard")
    # August 2026 and November 2026 loans (the latter after 2026Q3), one borrower without a region.
    loans.append(lend("A", 8, "700000", "patent", dt.date(2026, 8, 18), first_loan=True))
    loans.append(lend("A1", 9, "400000", "trademark", dt.date(2026, 11, 1), region="320506"))
    Organisation.objects.filter(pk=loans[-2].borrower_id).update(region_code="", size_class="micro")
    Organisation.objects.filter(pk=loans[0].borrower_id).update(size_class="small")
    Organisation.objects.filter(pk=paid.borrower_id).update(size_class="medium")
    return {"banks": banks, "loans": loans, "parks": parks}


@pytest.mark.parametrize("period", PERIODS)
def test_report_matches_reference(book, period):
    for group_by in GROUPINGS:
        assert report_sql(period=period, group_by=group_by) == oracle.report(period=period, group_by=group_by), \
            (period, group_by)


def test_the_book_exercises_the_figures(book):
    """Guard the fixture: growth, NPLs, zero balances and the 10-million share are all non-trivial."""
    rows = {r["bank"]: r for r in report_sql(period="2026Q3", group_by=("bank",))["rows"]}
    assert list(rows) == ["银行A", "银行B"]  # the branch rolls up into its head office
    a, b = rows["银行A"], rows["银行B"]
    assert a["households"] == 4 and a["loan_count"] == 5 and a["amount_lent"] == "22700000.00"
    assert a["balance"] == "23000000.00" and a["npl_balance"] == "5000000.00" and a["under_10m_share"] == "80.00"
    assert b["npl_balance"] == "2500000.00" and b["yoy_households"] == "-50.00" and b["yoy_amount"] == "-67.7419"
    q1 = {r["bank"]: r for r in report_sql(period="2026Q1", group_by=("bank",))["rows"]}
    assert q1["银行A"]["npl_balance"] == "300000.00" and q1["银行B"]["yoy_households"] is None
    month = report_sql(period="2026-08")["rows"][0]
    assert month["households"] == 5 and month["yoy_households"] == "66.6667"  # year to date


def test_partitions_by_borrower_add_up(book):
    """Split by borrower (as SQLite runs it on several cores), the parts add up to the same figures."""
    for period in ("2026Q3", "2026"):
        for group_by in ((), ("bank", "ip_kind", "region"), ("size", "first_loan")):
            assert report_sql(period=period, group_by=group_by, workers=3) == \
                oracle.report(period=period, group_by=group_by), (period, group_by)
    ids = {b.pk for b in book["banks"].values()}
    assert ip_book_sql(ids, dt.date(2026, 9, 30), workers=2) == ip_book_sql(ids, dt.date(2026, 9, 30), workers=1)


def test_report_for_a_bank_and_a_branch(book):
    banks = book["banks"]
    for scope in ({banks["A"].pk}, {banks["A1"].pk}, {banks["B"].pk}, {banks["C"].pk}, {banks["A1"].pk, banks["B"].pk}):
        for group_by in ((), ("branch", "ip_kind"), ("bank", "region")):
            for period in ("2026Q3", "2026"):
                assert report_sql(period=period, group_by=group_by, bank_ids=scope) == \
                    oracle.report(period=period, group_by=group_by, bank_ids=scope), (scope, group_by, period)
    assert report_sql(period="2026", bank_ids={banks["C"].pk})["rows"] == []


def test_report_refuses_what_the_reference_refuses(book):
    for call in (report_sql, oracle.report):
        with pytest.raises(ValidationFailed) as bad_group:
            call(period="2026", group_by=("colour",))
        assert bad_group.value.code == "invalid_group_by"
        with pytest.raises(ValidationFailed) as bad_period:
            call(period="2026Q5")
        assert bad_period.value.code == "invalid_period"


def test_ip_book_of_many_banks_in_one_statement(book):
    banks = book["banks"]
    ids = {b.pk for b in banks.values()}
    for end in (dt.date(2025, 12, 31), dt.date(2026, 3, 31), dt.date(2026, 9, 30)):
        for inclusive in (False, True):
            got = ip_book_sql(ids, end, inclusive_only=inclusive)
            assert got == {b.pk: oracle.ip_book(b, end, inclusive_only=inclusive) for b in banks.values()}
    everyone = ip_book_sql(None, dt.date(2026, 9, 30))
    assert set(everyone) == {banks["A"].pk, banks["A1"].pk, banks["B"].pk}
    assert everyone[banks["A"].pk] == (500_000_000, 2_300_000_000)


def test_tolerance_of_all_banks_equals_the_per_bank_service(book):
    banks, end = book["banks"], dt.date(2026, 9, 30)
    submit = services.submit_overall
    submit(actor=SYSTEM, bank_org_id=banks["A"].pk, period_end=end, total_loan_balance="100000000",
           npl_balance="18000000")
    submit(actor=SYSTEM, bank_org_id=banks["A"].pk, period_end=end, total_loan_balance="100000000",
           npl_balance="19000000")  # supersedes the first
    submit(actor=SYSTEM, bank_org_id=banks["A1"].pk, period_end=end, total_loan_balance="50000000",
           npl_balance="1000000", inclusive_loan_balance="20000000", inclusive_npl_balance="100000")
    submit(actor=SYSTEM, bank_org_id=banks["B"].pk, period_end=end, total_loan_balance="40000000",
           npl_balance="1", inclusive_loan_balance="10000000", inclusive_npl_balance="0")
    submit(actor=SYSTEM, bank_org_id=banks["C"].pk, period_end=dt.date(2026, 6, 30), total_loan_balance="1",
           npl_balance="0")  # another period end: not tested at 2026-09-30
    everyone = tolerance_all_banks(end)
    assert [r["bank_org_id"] for r in everyone] == sorted([banks["A"].pk, banks["A1"].pk, banks["B"].pk])
    for row in everyone:
        assert row == services.tolerance(actor=SYSTEM, bank_org_id=row["bank_org_id"], period_end=end)
    by_bank = {r["bank"]: r for r in everyone}
    # 5/23 = 21.7391 % against 19 % (the later submission; 18 % would fail the test).
    assert by_bank["银行A"]["gap_pp"] == "2.7391" and by_bank["银行A"]["within_tolerance"] is True
    inclusive = tolerance_all_banks(end.isoformat(), segment="inclusive")
    assert [r["bank_org_id"] for r in inclusive] == sorted([banks["A1"].pk, banks["B"].pk])
    for row in inclusive:
        assert row == services.tolerance(actor=SYSTEM, bank_org_id=row["bank_org_id"], period_end=end,
                                         segment="inclusive")
    assert tolerance_all_banks(dt.date(2024, 12, 31)) == []
