"""The set-based end of day (``credit.bulk``, which ``services.classify_book`` runs) against the scalar
per-loan reference kept in ``tests/classification_oracle.py``: on a book of loans with varied schedules,
repayments, arrears (DPD 0 … 361), restructurings, an extension, manual floors, cured NPLs and debtors
with contagion, both give the same DPD, balance, category and classification-change records."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import override_settings

from ippledge.core import services as core
from ippledge.credit import bulk, services
from ippledge.credit.models import ClassificationChange, Loan, LoanEvent

from . import classification_oracle as oracle
from .conftest import uscc

pytestmark = pytest.mark.django_db

ON = dt.date(2027, 3, 15)
D = dt.date


class Rollback(Exception):
    pass


class Book:
    """Books loans and records repayments through the services, moving the business date as it goes."""

    def __init__(self, officer, reviewer, admin):
        self.officer, self.reviewer, self.admin = officer, reviewer, admin
        self.loans: dict[str, str] = {}
        self.borrowers = 0

    def day(self, day: dt.date) -> None:
        core.set_business_date(actor=self.admin, date=day)

    def borrower(self) -> tuple[str, str]:
        from ippledge.core.actors import SYSTEM

        self.borrowers += 1
        number, name = uscc(f"9144030000000{self.borrowers:04d}"), f"测试借款企业{self.borrowers}"
        core.create_organisation(actor=SYSTEM, name=name, kind="enterprise", uscc=number)  # loans go to known firms
        return number, name

    def book(self, name, *, start, maturity, kind="equal_instalments", amount="1000000.00", rate="0.0435",
             debtor=None, **extra) -> str:
        borrower_uscc, borrower_name = debtor or self.borrower()
        loan = services.book_loan(actor=self.officer, data={
            "bank_org_id": self.officer.organisation_id, "borrower_uscc": borrower_uscc,
            "borrower_name": borrower_name, "amount": amount, "annual_rate": rate, "start_date": start,
            "maturity_date": maturity, "schedule": kind, "ip_kind": "patent", **extra})
        self.loans[name] = loan.loan_no
        return loan.loan_no

    def rows(self, name):
        loan = Loan.objects.get(loan_no=self.loans[name])
        return list(loan.schedule.filter(current=True).order_by("due_date", "seq"))

    def pay(self, name, day, principal, interest="0"):
        services.repay(actor=self.officer, loan_no=self.loans[name], date=day, principal=principal, interest=interest)

    def pay_rows(self, name, *, upto, after=None, late=0, on=None):
        """Pay every current instalment due in (after, upto] in full, ``late`` days after its due date
        (or all on the date ``on``)."""
        for row in self.rows(name):
            if row.due_date <= upto and (after is None or row.due_date > after):
                day = on or row.due_date + dt.timedelta(days=late)
                self.pay(name, day, Decimal(row.principal) / 100, Decimal(row.interest) / 100)


def build(book: Book) -> None:
    b = book
    b.day(D(2025, 5, 20))
    # Performing amortising loans of each kind, all due instalments paid on their due dates.
    b.book("perf_equal", start=D(2026, 3, 15), maturity=D(2027, 9, 15))
    b.book("perf_principal", start=D(2026, 1, 15), maturity=D(2027, 1, 15), kind="equal_principal",
           amount="360000.00")  # fully repaid by ON: leaves the book
    b.book("perf_principal_open", start=D(2026, 6, 15), maturity=D(2027, 12, 15), kind="equal_principal")
    b.book("perf_io", start=D(2026, 9, 15), maturity=D(2027, 9, 15), kind="interest_only", day_count="ACT/365")
    b.book("not_due_bullet", start=D(2026, 12, 1), maturity=D(2027, 12, 1), kind="bullet")
    b.book("due_today", start=D(2026, 10, 15), maturity=D(2027, 10, 15))  # due ON, unpaid: DPD 0
    b.book("dpd1", start=D(2026, 10, 14), maturity=D(2027, 10, 14))  # due ON − 1, unpaid
    b.book("dpd5", start=D(2026, 11, 10), maturity=D(2027, 11, 10))
    for days in (90, 91, 270, 271, 360, 361):  # bullets overdue exactly ``days``
        b.book(f"bullet_dpd{days}", start=ON - dt.timedelta(days=days + 200), maturity=ON - dt.timedelta(days=days),
               kind="bullet", amount="200000.00")
    b.book("partial", start=D(2026, 8, 15), maturity=D(2027, 8, 15), kind="equal_principal")
    b.book("io_arrears", start=D(2026, 6, 5), maturity=D(2027, 6, 5), kind="interest_only")
    b.book("paid_late", start=D(2026, 6, 15), maturity=D(2027, 6, 15))
    b.book("prepaid", start=D(2026, 9, 15), maturity=D(2027, 9, 15))
    # Contagion: an NPL of a third of the debtor's balance; an NPL of 2% of another debtor's.
    d1, d2 = b.borrower(), b.borrower()
    b.book("d1_npl", start=D(2026, 1, 1), maturity=D(2026, 12, 5), kind="bullet", debtor=d1)
    b.book("d1_good", start=D(2026, 6, 15), maturity=D(2028, 6, 15), amount="2000000.00", debtor=d1)
    b.book("d2_npl", start=D(2026, 1, 1), maturity=D(2026, 8, 1), kind="bullet", amount="100000.00", debtor=d2)
    b.book("d2_good", start=D(2026, 6, 15), maturity=D(2028, 6, 15), amount="5000000.00", debtor=d2)
    b.book("d2_good_late", start=D(2026, 6, 15), maturity=D(2028, 6, 15), debtor=d2)
    # NPLs cured long ago (upgraded now) and recently (not yet), restructurings, manual floors.
    b.book("cured_old", start=D(2025, 1, 15), maturity=D(2028, 1, 15))
    b.book("cured_recent", start=D(2025, 1, 15), maturity=D(2028, 1, 15))
    b.book("npl_worse", start=D(2025, 1, 15), maturity=D(2028, 1, 15))
    b.book("restructured_done", start=D(2025, 1, 15), maturity=D(2028, 1, 15))
    b.book("restructured", start=D(2026, 6, 20), maturity=D(2027, 12, 20))
    b.book("restructured_twice", start=D(2026, 6, 20), maturity=D(2027, 12, 20))
    b.book("extended", start=D(2026, 1, 10), maturity=D(2026, 12, 10))
    b.book("manual_doubtful", start=D(2026, 6, 15), maturity=D(2027, 12, 15))
    b.book("manual_lifted", start=D(2026, 6, 15), maturity=D(2027, 12, 15))

    for name in ("restructured_done", "npl_worse"):
        b.pay_rows(name, upto=D(2025, 5, 20))
    services.classify_book(D(2025, 5, 20))  # cured_old, cured_recent: DPD 94 → substandard
    b.day(D(2025, 6, 1))
    services.restructure(actor=b.reviewer, loan_no=b.loans["restructured_done"], kind="rate_cut")
    b.day(D(2025, 7, 1))
    b.pay_rows("cured_old", upto=D(2025, 5, 31), on=D(2025, 6, 10))
    b.pay_rows("cured_old", upto=D(2025, 6, 30), after=D(2025, 5, 31))
    b.pay_rows("restructured_done", upto=D(2025, 6, 30), after=D(2025, 5, 20))
    b.pay_rows("npl_worse", upto=D(2025, 6, 30), after=D(2025, 5, 20))
    services.classify_book(D(2025, 7, 1))  # restructured_done: special mention in observation
    b.day(D(2025, 12, 1))
    b.pay_rows("restructured_done", upto=D(2025, 12, 1), after=D(2025, 6, 30))
    services.classify_book(D(2025, 12, 1))  # npl_worse 139 days → substandard, cured_recent → doubtful

    b.day(D(2026, 10, 1))
    b.pay_rows("extended", upto=D(2026, 10, 1))
    services.extend(actor=b.reviewer, loan_no=b.loans["extended"], maturity_date=D(2027, 10, 10), reason="周转")
    b.day(D(2026, 11, 1))
    services.restructure(actor=b.reviewer, loan_no=b.loans["restructured_twice"], kind="terms")
    b.day(D(2026, 12, 1))
    services.restructure(actor=b.reviewer, loan_no=b.loans["restructured"], kind="terms")
    services.restructure(actor=b.reviewer, loan_no=b.loans["restructured_twice"], kind="terms")
    late_starters = ("manual_doubtful", "manual_lifted", "restructured", "restructured_twice")
    for name in late_starters:
        b.pay_rows(name, upto=D(2026, 12, 1))
    services.classify_manually(actor=b.reviewer, loan_no=b.loans["manual_doubtful"], category="doubtful",
                               reason="经营恶化")
    services.classify_manually(actor=b.reviewer, loan_no=b.loans["manual_lifted"], category="special_mention",
                               reason="担保人涉诉")
    # What a manual upgrade records (the latest manual_floor event without a category lifts the floor),
    # written directly so that the end of day, not the reviewer's change, records the upgrade.
    LoanEvent.objects.create(loan=Loan.objects.get(loan_no=b.loans["manual_lifted"]), type="manual_floor",
                             date=D(2026, 12, 1), data={"category": None, "reason": "诉讼已撤"})

    b.day(ON)
    for name in ("perf_equal", "perf_principal", "perf_principal_open", "perf_io", "d1_good", "d2_good", "prepaid"):
        b.pay_rows(name, upto=ON)
    for name in late_starters:
        b.pay_rows(name, upto=ON, after=D(2026, 12, 1))
    b.pay_rows("restructured_done", upto=ON, after=D(2025, 12, 1))
    b.pay_rows("extended", upto=ON, after=D(2026, 10, 1))
    b.pay_rows("cured_old", upto=ON, after=D(2025, 6, 30))
    b.pay_rows("cured_recent", upto=D(2027, 1, 31), on=D(2027, 2, 1))
    b.pay_rows("cured_recent", upto=ON, after=D(2027, 1, 31))
    b.pay_rows("npl_worse", upto=D(2025, 9, 30), after=D(2025, 6, 30), late=100)  # then stops paying
    b.pay_rows("due_today", upto=ON - dt.timedelta(days=1))
    b.pay_rows("dpd1", upto=ON - dt.timedelta(days=2))
    b.pay_rows("dpd5", upto=ON - dt.timedelta(days=6))
    b.pay_rows("d2_good_late", upto=D(2027, 1, 31))  # 28 days late: special mention itself
    b.pay_rows("paid_late", upto=D(2026, 10, 31), late=20)
    b.pay_rows("paid_late", upto=ON, after=D(2026, 10, 31))
    b.pay_rows("partial", upto=D(2027, 1, 31))  # then the February interest and a third of its principal
    feb = next(r for r in b.rows("partial") if r.due_date == D(2027, 2, 15))
    b.pay("partial", D(2027, 2, 20), Decimal(feb.principal // 3) / 100, Decimal(feb.interest) / 100)
    b.pay_rows("io_arrears", upto=D(2027, 1, 31))  # 5 Feb and 5 Mar interest unpaid: DPD 38
    nxt = next(r for r in b.rows("prepaid") if r.due_date > ON)
    b.pay("prepaid", ON, Decimal(nxt.principal + nxt.interest + 12345) / 100)  # the next one and a bit more


def state() -> dict[str, tuple]:
    return {loan.loan_no: (loan.dpd, loan.balance, loan.classification) for loan in Loan.objects.all()}


def changes(after_id: int) -> dict[str, tuple]:
    rows = ClassificationChange.objects.filter(id__gt=after_id).select_related("loan")
    out = {}
    for c in rows:
        assert c.loan.loan_no not in out
        out[c.loan.loan_no] = (c.date, c.before, c.after, [list(r) for r in c.reasons], c.manual)
    return out


def per_loan_path(on: dt.date) -> tuple[dict, dict, dict]:
    """The scalar per-loan reference's result, rolled back."""
    last = ClassificationChange.objects.order_by("-id").values_list("id", flat=True).first() or 0
    captured = {}
    try:
        with transaction.atomic():
            captured["summary"] = oracle.classify_book_per_loan(on)
            captured["state"], captured["changes"] = state(), changes(last)
            raise Rollback
    except Rollback:
        pass
    return captured["summary"], captured["state"], captured["changes"]


@pytest.fixture(scope="module")
def book(django_db_setup, django_db_blocker):
    """The book, built once for the module in a transaction rolled back at its end (each test runs in
    a savepoint inside it)."""
    from ippledge.core.actors import SYSTEM

    from .conftest import PASSWORD

    with django_db_blocker.unblock(), transaction.atomic():
        bank = core.create_organisation(actor=SYSTEM, name="批量测试银行", kind="bank")
        officer, reviewer = (core.create_user(actor=SYSTEM, username=f"bulk-{role}", password=PASSWORD, org_id=bank.pk,
                                              roles=[role]) for role in ("bank_officer", "bank_reviewer"))
        operator = core.create_organisation(actor=SYSTEM, name="批量测试平台", kind="platform_operator")
        admin = core.create_user(actor=SYSTEM, username="bulk-admin", password=PASSWORD, org_id=operator.pk,
                                 roles=["admin"])
        with override_settings(ALLOW_BUSINESS_DATE=True):
            b = Book(officer, reviewer, admin)
            build(b)
        yield b
        transaction.set_rollback(True)


def test_bulk_end_of_day_agrees_with_the_per_loan_path(book):
    before = state()
    summary, expected, expected_changes = per_loan_path(ON)
    assert state() == before  # rolled back
    last = ClassificationChange.objects.order_by("-id").values_list("id", flat=True).first()

    got = bulk.classify_book_bulk(ON)

    assert got["loans"] == summary["loans"] and got["changed"] == summary["changed"]
    assert state() == expected
    assert changes(last) == expected_changes

    # The book really covers the rules (else agreement would prove little).
    by_name = {name: expected[no] for name, no in book.loans.items()}
    dpd = {name: v[0] for name, v in by_name.items()}
    assert {dpd[f"bullet_dpd{d}"] for d in (90, 91, 270, 271, 360, 361)} == {90, 91, 270, 271, 360, 361}
    assert dpd["due_today"] == 0 and dpd["dpd1"] == 1 and dpd["dpd5"] == 5 and dpd["io_arrears"] == 38
    assert [by_name[f"bullet_dpd{d}"][2] for d in (90, 91, 270, 271, 360, 361)] == [
        "special_mention", "substandard", "substandard", "doubtful", "doubtful", "loss"]
    assert by_name["perf_principal"][1] == 0
    feb = next(r for r in book.rows("partial") if r.due_date == D(2027, 2, 15))
    owed = sum(r.principal for r in book.rows("partial") if r.due_date >= feb.due_date) - feb.principal // 3
    assert by_name["partial"][:2] == (28, owed)
    reasons = {name: expected_changes[no][3] for name, no in book.loans.items() if no in expected_changes}
    assert reasons["d1_good"] == [["contagion", "substandard"]]
    assert reasons["d2_good"] == [["debtor_npl_elsewhere", "special_mention"]]
    assert reasons["d2_good_late"] == [["dpd_over_0", "special_mention"], ["debtor_npl_elsewhere",
                                                                          "special_mention"]]
    assert reasons["cured_old"] == [["upgrade", "normal"]]
    assert reasons["restructured_done"] == [["upgrade", "normal"]]
    assert reasons["restructured"] == [["restructuring_observation", "special_mention"]]
    assert reasons["restructured_twice"] == [["restructuring_observation", "special_mention"],
                                             ["restructured_again", "substandard"]]
    assert reasons["extended"] == [["restructuring_observation", "special_mention"]]
    assert reasons["npl_worse"] == [["dpd_over_360", "loss"]]
    assert by_name["cured_recent"][0] == 0 and by_name["cured_recent"][2] == "doubtful"  # upgrade refused
    assert "cured_recent" not in reasons
    assert by_name["manual_doubtful"][2] == "doubtful" and "manual_doubtful" not in reasons
    assert reasons["manual_lifted"] == [["upgrade", "normal"]]
    assert by_name["prepaid"][0] == 0 and by_name["not_due_bullet"] == (0, 100_000_000, "normal")

    # The next run changes nothing, and both paths still agree.
    summary2, expected2, _ = per_loan_path(ON)
    assert bulk.classify_book_bulk(ON)["changed"] == summary2["changed"] == 0
    assert state() == expected2


def test_batches_do_not_change_the_result(book):
    whole = bulk.compute_book(ON)
    small = bulk.compute_book(ON, batch=4)
    assert len(whole) == len(small) > 20
    for field in ("loan_id", "dpd", "balance", "category", "contagion", "blocked"):
        assert (getattr(whole, field) == getattr(small, field)).all(), field
    assert [whole.reasons(i) for i in range(len(whole))] == [small.reasons(i) for i in range(len(small))]


def test_operational_delay_keeps_a_short_arrear_normal(book):
    dpd5 = Loan.objects.get(loan_no=book.loans["dpd5"])
    dpd1 = Loan.objects.get(loan_no=book.loans["dpd1"])
    result = bulk.compute_book(ON, operational_delay=[dpd5.pk])
    i = int((result.loan_id == dpd5.pk).nonzero()[0][0])
    assert result.dpd[i] == 5 and result.category[i] == 0
    assert result.reasons(i) == [["operational_delay_exception", "normal"]]
    j = int((result.loan_id == dpd1.pk).nonzero()[0][0])
    assert result.category[j] == 1  # not named: special mention
    late = bulk.compute_book(ON + dt.timedelta(days=3), operational_delay=[dpd5.pk])  # 8 days: no exception
    assert late.category[int((late.loan_id == dpd5.pk).nonzero()[0][0])] == 1


def test_empty_book():
    Loan.objects.update(balance=0)  # nothing open (whether or not another test built a book)
    assert bulk.classify_book_bulk(ON) | {"seconds": 0} == {"loans": 0, "changed": 0, "seconds": 0}


def test_payments_beyond_the_schedule_count_as_fully_paid(book):
    """A documented difference: the per-loan reference refuses to allocate them and fails; bulk treats the
    loan as repaid.  (``repay`` never records such a payment; here it is written directly.)"""
    from ippledge.core.errors import ValidationFailed
    from ippledge.credit.models import Repayment

    loan = Loan.objects.get(loan_no=book.loans["not_due_bullet"])
    Repayment.objects.create(loan=loan, date=ON, principal=loan.amount * 2, interest=0)
    with pytest.raises(ValidationFailed), transaction.atomic():
        oracle.classify_book_per_loan(ON)
    result = bulk.compute_book(ON)
    i = int((result.loan_id == loan.pk).nonzero()[0][0])
    assert (result.dpd[i], result.balance[i], result.category[i]) == (0, 0, 0)
