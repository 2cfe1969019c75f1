"""Monitoring by the calendar: every kind the end-of-day watch raises, its dedupe and its clearing."""

from __future__ import annotations

import datetime as dt

import pytest

from ippledge.core.actors import SYSTEM
from ippledge.credit.models import Loan
from ippledge.monitoring import tasks, watch
from ippledge.monitoring.models import Alert
from ippledge.registry.models import Notification
from ippledge.rights import services as rights

from .monitoring_fixtures import live_pledge
from .registry_fixtures import PLEDGOR, make_patent, patent_number

ON = dt.date(2026, 12, 3)  # a Thursday


@pytest.fixture
def bank(make_org):
    return make_org("bank", name="甲银行")


@pytest.fixture(autouse=True)
def today(monkeypatch):
    monkeypatch.setattr("ippledge.core.business_date.today", lambda: ON)


def _live(kind=None):
    qs = Alert.objects.filter(status__in=("open", "acknowledged"))
    return qs.filter(kind=kind) if kind else qs


def trademark(number="30100001", registration_date="2017-06-01", **over):
    return rights.create_right(actor=SYSTEM, data={"kind": "trademark", "number": number, "mark_text": "示范",
                                                   "owners": [PLEDGOR], "filing_date": "2016-01-04",
                                                   "registration_date": registration_date, "nice_class": 9, **over})


def test_annuity_due_within_the_lead_then_grace_then_paid(bank, settings):
    right = make_patent(annuity_paid_through=(ON + dt.timedelta(days=30)).isoformat())
    pledge = live_pledge([right], bank)
    assert tasks.pledged_rights(ON)["raised"] == 1
    alert = _live("annuity_due").get()
    due = ON + dt.timedelta(days=31)
    assert (alert.pledge, alert.right, alert.owner_org, alert.severity) == (pledge, right, bank, "warning")
    assert alert.detail["annuity_due_date"] == due.isoformat() and alert.due_date <= due
    # The same day again, and the next days inside the lead: nothing new.
    assert tasks.pledged_rights(ON) == {"raised": 0, "cleared": 0, "live": 1, "cleared_pledge_ended": 0}
    assert watch.watch_rights(ON + dt.timedelta(days=5))["raised"] == 0
    # The due date passes unpaid: the due alert ends, the grace alert (with the surcharge deadline) starts.
    later = due + dt.timedelta(days=1)
    assert watch.watch_rights(later) == {"raised": 1, "cleared": 1, "live": 1, "cleared_pledge_ended": 0}
    grace = _live().get()
    assert grace.kind == "annuity_grace" and grace.severity == "critical"
    # The amount of that year's annuity (the official fee; no fee relief on a pledged right here).
    assert grace.detail == {"annuity_due_date": due.isoformat(), "surcharge_deadline": "2027-07-03",
                            "annuity_year": 13, "annuity_fee": "6000.00", "annuity_amount": "6000.00"}
    assert Alert.objects.get(pk=alert.pk).resolution == "cleared"
    # Paying (recorded as an event) clears it at once, without waiting for end of day.
    rights.record_event(actor=SYSTEM, right=right, data={"type": "annuity_paid", "date": ON.isoformat(),
                                                         "paid_through": "2028-01-01"})
    assert not _live().exists()


def test_a_longer_lead_setting_is_honoured(bank, settings):
    right = make_patent(annuity_paid_through=(ON + dt.timedelta(days=90)).isoformat())
    live_pledge([right], bank)
    assert tasks.pledged_rights(ON)["raised"] == 0
    settings.MONITORING_ANNUITY_LEAD_DAYS = 120
    assert tasks.pledged_rights(ON)["raised"] == 1


def test_right_terminated_by_an_unpaid_annuity(bank):
    right = make_patent(annuity_paid_through="2026-03-01")  # grace ended 2026-09-02
    live_pledge([right], bank)
    tasks.pledged_rights(ON)
    alert = _live().get()
    assert alert.kind == "right_terminated" and alert.severity == "critical"
    assert alert.detail == {"legal_state": "terminated", "since": "2026-03-02"}


def test_right_terminated_when_the_termination_is_recorded(bank):
    right = make_patent(annuity_paid_through="2026-10-01")
    live_pledge([right], bank)
    rights.record_event(actor=SYSTEM, right=right, data={"type": "abandoned", "date": ON.isoformat(),
                                                         "pledgee_consent": True})
    assert _live().get().kind == "right_terminated"
    assert tasks.pledged_rights(ON)["raised"] == 0  # the end of day finds the same condition


def test_right_expiring_before_the_debt_is_due_or_within_the_lead(bank, make_org):
    # A utility model filed 2017-03-01 ends 2027-02-28, before the registration term (2027-06-30).
    utility = make_patent(number=patent_number("201720123456"), kind="utility_model", filing_date="2017-03-01",
                          grant_date="2017-09-01")
    pledge = live_pledge([utility], bank)
    tasks.pledged_rights(ON)
    alert = _live("right_expiring").get()
    assert alert.detail == {"term_end": "2027-02-28", "debt_due": "2027-06-30", "reason": "before_debt_due"}
    # A loan secured by the pledge that matures later is the debt's due date.
    borrower = make_org("enterprise", name="借款企业")
    Loan.objects.create(loan_no="L-T-1", bank=bank, borrower=borrower, amount=100, annual_rate="0.035",
                        start_date=dt.date(2026, 1, 5), maturity_date=dt.date(2028, 1, 5), schedule_kind="bullet",
                        ip_kind="patent", pledge_registration_no=pledge.registration_no, balance=100)
    Alert.objects.all().delete()
    tasks.pledged_rights(ON)
    alert = _live("right_expiring").get()
    assert alert.detail["debt_due"] == "2028-01-05" and alert.loan.loan_no == "L-T-1"
    # No debt date at all: only the lead counts (180 days by default).
    Alert.objects.all().delete()
    Loan.objects.all().delete()
    pledge.registration_term_end = None
    pledge.save()
    assert tasks.pledged_rights(ON)["raised"] == 1 and _live().get().detail["reason"] == "within_lead"
    assert tasks.pledged_rights(ON - dt.timedelta(days=100))["cleared"] == 1  # outside the lead: ended


def test_trademark_renewal_window_then_grace(bank):
    in_window = trademark()  # ends 2027-05-31: the 12-month window is open
    in_grace = trademark(number="30100002", registration_date="2016-10-01")  # ended 2026-09-30
    live_pledge([in_window], bank)
    live_pledge([in_grace], bank)
    tasks.pledged_rights(ON)
    window = _live().get(right=in_window)
    assert window.kind == "trademark_renewal_window" and window.severity == "warning"
    assert window.detail == {"phase": "window", "term_end": "2027-05-31", "deadline": "2027-05-31"}
    grace = _live().get(right=in_grace)
    assert grace.kind == "trademark_renewal_window" and grace.severity == "critical"
    assert grace.detail == {"phase": "grace", "term_end": "2026-09-30", "deadline": "2027-03-30"}
    assert not _live("right_expiring").exists()  # a trademark's risk is its renewal, not its term
    # Renewed: the window alert ends when the renewal is recorded.
    rights.record_event(actor=SYSTEM, right=in_window, data={"type": "renewed", "date": ON.isoformat(),
                                                             "renewed_to": "2037-05-31"})
    assert not _live().filter(right=in_window).exists()


def test_loan_overdue_raised_once_and_cleared_when_paid(bank, make_org):
    borrower = make_org("enterprise", name="借款企业")
    loan = Loan.objects.create(loan_no="L-T-2", bank=bank, borrower=borrower, amount=100, annual_rate="0.035",
                               start_date=dt.date(2026, 1, 5), maturity_date=dt.date(2027, 1, 5),
                               schedule_kind="bullet", ip_kind="patent", balance=100, dpd=5)
    assert tasks.overdue_loans(ON)["raised"] == 1
    alert = _live().get()
    assert (alert.kind, alert.loan, alert.owner_org, alert.severity) == ("loan_overdue", loan, bank, "warning")
    assert alert.detail == {"dpd": 5, "overdue_since": "2026-11-29"}
    Loan.objects.filter(pk=loan.pk).update(dpd=6)
    assert watch.watch_loans(ON + dt.timedelta(days=1))["raised"] == 0  # the same episode
    Loan.objects.filter(pk=loan.pk).update(dpd=0)
    assert watch.watch_loans(ON + dt.timedelta(days=2))["cleared"] == 1
    Loan.objects.filter(pk=loan.pk).update(dpd=120)
    watch.watch_loans(ON + dt.timedelta(days=3))
    assert _live().get().severity == "critical"


def test_end_of_day_runs_the_watch_and_a_rerun_changes_nothing(bank):
    from ippledge.core import eod

    right = make_patent(annuity_paid_through="2026-03-01")
    live_pledge([right], bank)
    runs = {r.job: r for r in eod.run(business_date=ON)}
    assert runs["monitoring.pledged_rights"].status == "done"
    assert runs["monitoring.pledged_rights"].detail["raised"] == 1
    before = list(Alert.objects.values_list("id", "status"))
    assert tasks.pledged_rights(ON)["raised"] == 0
    assert list(Alert.objects.values_list("id", "status")) == before
    assert Notification.objects.filter(kind="alert").count() == 1


def test_alerts_end_with_the_pledge(bank):
    right = make_patent(annuity_paid_through="2026-03-01")
    pledge = live_pledge([right], bank)
    rights.record_event(actor=SYSTEM, right=right, data={"type": "litigation_filed", "date": ON.isoformat()})
    tasks.pledged_rights(ON)
    assert set(_live().values_list("kind", flat=True)) == {"right_terminated", "litigation"}
    pledge.status = "cancelled"
    pledge.save()
    result = tasks.pledged_rights(ON)
    assert (result["cleared"], result["cleared_pledge_ended"]) == (1, 1)
    assert not _live().exists()
