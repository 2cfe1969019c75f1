"""Settlement proceeds reduce the loan exactly as the waterfall splits them (issue 14 point 3): the
principal balance drops by the principal applied, the shortfall stays on the loan, a recovery of the
whole claim repays it; the end of day and the statistics read the same balance."""

from __future__ import annotations

import pytest

from ippledge.core import business_date
from ippledge.core.actors import SYSTEM
from ippledge.core.errors import Conflict, ValidationFailed
from ippledge.credit import services as credit
from ippledge.credit.models import Loan
from ippledge.disposal.models import DisposalCase

from .test_disposal_api import World

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(db):
    # Monthly instalments from January: by the business date several are overdue, interest and principal.
    world = World(schedule="equal_principal")
    world.loss()
    return world


def _day():
    return business_date.today().isoformat()


def _settle(w, proceeds):
    no = w.open("negotiated_sale").data["disposal_no"]
    # The example: principal 1,200,000, interest due 30,000, costs 50,000.
    DisposalCase.objects.filter(disposal_no=no).update(claim_interest=3_000_000)
    r = w.officer.post(f"/disposals/{no}/agreement", {"value": proceeds, "agreement_ref": "转让协议",
                                                       "buyer_org_id": w.buyer_org.pk})
    assert r.status_code == 200, r.data
    s = w.officer.post(f"/disposals/{no}/settlement", {"proceeds": proceeds, "costs": "50000", "date": _day()})
    assert s.status_code == 201, s.data
    return s.data


def test_overdue_interest_in_the_schedule_would_otherwise_take_principal(w):
    # Instalments are overdue: an ordinary repayment of 950,000 runs down them oldest first, interest then
    # principal, and the principal balance does not drop by 920,000 (the gap this settlement closes).
    loan = Loan.objects.get(loan_no=w.loan_no)
    assert loan.dpd > 0 or credit._states(loan)[0].due_date < business_date.today()
    credit.repay(actor=SYSTEM, loan_no=w.loan_no, date=_day(), principal="920000", interest="30000")
    loan.refresh_from_db()
    assert 120_000_000 - loan.balance != 92_000_000


def test_a_shortfall_stays_on_the_loan_and_the_principal_drops_by_exactly_the_waterfalls_share(w):
    before = Loan.objects.get(loan_no=w.loan_no)
    assert before.balance == 120_000_000
    s = _settle(w, "1000000")
    assert s["applied"] == {"costs": "50000.00", "interest": "30000.00", "principal": "920000.00"}
    assert s["shortfall"] == "280000.00" and s["surplus"] == "0.00"
    loan = Loan.objects.get(loan_no=w.loan_no)
    assert loan.balance == 120_000_000 - 92_000_000 == 28_000_000
    rep = loan.repayments.get()
    assert (rep.principal, rep.interest) == (92_000_000, 3_000_000)
    assert not credit.fully_repaid(loan) and loan.dpd > 0  # still in default from the same date
    # The end of day (set-based) and the per-loan path agree on the balance; the loan stays loss.
    credit.classify_book(business_date.today())
    loan.refresh_from_db()
    assert loan.balance == 28_000_000 and loan.classification == "loss"
    assert loan.events.filter(type="enforcement").get().data["remaining_principal"] == 28_000_000


def test_a_recovery_of_the_whole_claim_repays_the_loan_and_the_surplus_goes_back(w):
    s = _settle(w, "1400000")
    assert s["applied"] == {"costs": "50000.00", "interest": "30000.00", "principal": "1200000.00"}
    assert s["surplus"] == "120000.00" and s["shortfall"] == "0.00"
    loan = Loan.objects.get(loan_no=w.loan_no)
    assert loan.balance == 0 and loan.dpd == 0 and credit.fully_repaid(loan)
    credit.classify_book(business_date.today())
    loan.refresh_from_db()
    assert loan.balance == 0


def test_statistics_read_the_balance_the_waterfall_left(w):
    from ippledge.reporting.sql import ip_book_sql

    _settle(w, "1000000")
    loan = Loan.objects.get(loan_no=w.loan_no)
    # reporting's balance is amount − Σ repaid principal: the same 280,000, still non-performing.
    assert loan.amount - sum(r.principal for r in loan.repayments.all()) == loan.balance == 28_000_000
    npl, balance = ip_book_sql({loan.bank_id}, business_date.today(), source="history")[loan.bank_id]
    assert balance == 28_000_000 and npl == 28_000_000


def test_a_second_recovery_runs_on_the_remainder_and_bad_recoveries_are_refused(w):
    _settle(w, "1000000")
    day = _day()
    with pytest.raises(Conflict) as exc:
        credit.apply_enforcement_recovery(actor=SYSTEM, loan_no=w.loan_no, date=day, principal="280000.01",
                                          interest="0")
    assert exc.value.code == "overpayment"
    credit.apply_enforcement_recovery(actor=SYSTEM, loan_no=w.loan_no, date=day, principal="80000", interest="0")
    loan = Loan.objects.get(loan_no=w.loan_no)
    assert loan.balance == 20_000_000
    credit.apply_enforcement_recovery(actor=SYSTEM, loan_no=w.loan_no, date=day, principal="200000", interest="0")
    loan.refresh_from_db()
    assert loan.balance == 0 and credit.fully_repaid(loan)
    with pytest.raises(Conflict) as exc:
        credit.apply_enforcement_recovery(actor=SYSTEM, loan_no=w.loan_no, date=day, principal="1", interest="0")
    assert exc.value.code == "nothing_outstanding"


def test_a_recovery_on_a_written_off_loan_leaves_the_principal_off_the_book(w):
    from ippledge.credit.write_off import write_off

    assert write_off(actor=SYSTEM, loan_no=w.loan_no, reason="test") == 120_000_000
    credit.apply_enforcement_recovery(actor=SYSTEM, loan_no=w.loan_no, date=_day(), principal="100000",
                                      interest="1000")
    assert Loan.objects.get(loan_no=w.loan_no).balance == 0


def test_a_recovery_dated_before_a_recorded_repayment_is_refused(w):
    import datetime as dt

    credit.repay(actor=SYSTEM, loan_no=w.loan_no, date=_day(), principal="0", interest="100")
    earlier = (business_date.today() - dt.timedelta(days=3)).isoformat()
    with pytest.raises(Conflict) as exc:
        credit.apply_enforcement_recovery(actor=SYSTEM, loan_no=w.loan_no, date=earlier, principal="1000",
                                          interest="0")
    assert exc.value.code == "later_repayment"
    with pytest.raises(ValidationFailed):
        credit.apply_enforcement_recovery(actor=SYSTEM, loan_no=w.loan_no, date=_day(), principal="-1", interest="0")
