"""The set-based watch agrees with a per-right reference on a small random register.

The reference walks every right under a live pledge one by one through the ORM and the rights app's
own ``state_of`` (the full event history), asks the same pure rules, and lists the live alerts there
should be; after each end of day the watch's live alerts must be exactly those."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from ippledge.core.actors import SYSTEM
from ippledge.core.errors import DomainError
from ippledge.credit.models import Loan, LoanCollateral
from ippledge.monitoring import annuities, rules, services, watch
from ippledge.monitoring.models import Alert
from ippledge.registry.services import live_pledges
from ippledge.rights import services as rights
from ippledge.rights.models import Right

from .monitoring_fixtures import live_pledge
from .registry_fixtures import PLEDGOR, patent_number

ON = dt.date(2026, 12, 3)


def reference(on: dt.date) -> set[tuple]:
    """(bank, kind, key, severity, detail) of every calendar condition, one right at a time."""
    leads = services.leads()
    expected = set()
    for right in Right.objects.all():
        state = rights.state_of(right, on)
        for pledge in live_pledges(right):
            banks = {p.org_id for p in pledge.parties.all() if p.role == "pledgee" and p.org_id}
            owing = [c.loan for c in LoanCollateral.objects.filter(registration_no=pledge.registration_no,
                                                                   loan__balance__gt=0).select_related("loan")]
            owing += list(Loan.objects.filter(pledge_registration_no=pledge.registration_no, balance__gt=0))
            debt_due = rules.debt_due([loan.maturity_date for loan in owing], pledge.registration_term_end)
            for c in rules.right_conditions(pledge_id=pledge.pk, right_id=right.pk, kind=right.kind, state=state,
                                            on=on, debt_due=debt_due, leads=leads, filing_date=right.filing_date,
                                            fee_reduction=annuities.reductions([right.pk]).get(right.pk)):
                for bank in banks:
                    expected.add((bank, c.kind, c.key, c.severity, tuple(sorted(c.detail.items()))))
    return expected


def actual() -> set[tuple]:
    return {(a.owner_org_id, a.kind, a.condition_key, a.severity, tuple(sorted(a.detail.items())))
            for a in Alert.objects.filter(status__in=("open", "acknowledged"), kind__in=rules.CALENDAR_KINDS)}


def _day(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randrange(max(1, (end - start).days)))


def random_register(rng: random.Random, banks, borrower):
    made = []
    for i in range(36):
        kind = rng.choice(["invention", "invention", "utility_model", "design", "trademark", "trademark"])
        filed = _day(rng, dt.date(2004, 1, 1), dt.date(2024, 1, 1))
        if kind == "trademark":
            registered = _day(rng, dt.date(2015, 9, 1), dt.date(2018, 6, 1))
            data = {"kind": kind, "number": f"3{i:07d}", "mark_text": "示范", "owners": [PLEDGOR],
                    "filing_date": (registered - dt.timedelta(days=300)).isoformat(),
                    "registration_date": registered.isoformat()}
        else:
            digit = {"invention": "1", "utility_model": "2", "design": "3"}[kind]
            paid = ON + dt.timedelta(days=rng.randrange(-330, 400))
            data = {"kind": kind, "number": patent_number(f"{filed.year}{digit}{i:07d}"), "owners": [PLEDGOR],
                    "filing_date": filed.isoformat(), "grant_date": (filed + dt.timedelta(days=400)).isoformat(),
                    "annuity_paid_through": paid.isoformat()}
        right = rights.create_right(actor=SYSTEM, data=data)
        for _ in range(rng.randrange(3)):
            event = _random_event(rng, right)
            try:
                rights.record_event(actor=SYSTEM, right=right, data=event)
            except DomainError:
                pass
        made.append(right)
    patents = [r for r in made if r.kind != "trademark"]
    marks = [r for r in made if r.kind == "trademark"]
    rng.shuffle(patents)
    pledges = []
    while patents or marks:
        chosen = [patents.pop() for _ in range(min(len(patents), rng.randrange(1, 3)))]
        if marks and rng.random() < 0.6:
            chosen += rng.sample(marks, min(len(marks), rng.randrange(1, 3)))
            marks = [m for m in marks if m not in chosen] if rng.random() < 0.7 else marks
        if not chosen:
            break
        term = rng.choice([None, _day(rng, dt.date(2026, 6, 1), dt.date(2031, 1, 1))])
        pledge = live_pledge(chosen, rng.choice(banks), term_end=term)
        pledges.append(pledge)
        if rng.random() < 0.4:
            loan = Loan.objects.create(loan_no=f"L-W-{pledge.pk}", bank=pledge.parties.get(role="pledgee").org,
                                       borrower=borrower, amount=100, annual_rate="0.035",
                                       start_date=dt.date(2026, 1, 5),
                                       maturity_date=_day(rng, dt.date(2027, 1, 1), dt.date(2033, 1, 1)),
                                       schedule_kind="bullet", ip_kind="patent", balance=rng.choice([0, 100]))
            LoanCollateral.objects.create(loan=loan, registration_no=pledge.registration_no, regime=pledge.regime,
                                          right_kind=chosen[0].kind, right_number=chosen[0].number)
    for pledge in rng.sample(pledges, len(pledges) // 6):
        pledge.status = "cancelled"
        pledge.save()
    return made


def _random_event(rng: random.Random, right) -> dict:
    if right.kind == "trademark":
        end = dt.date.fromisoformat(str(right.registration_date)) + dt.timedelta(days=3650)
        return rng.choice([{"type": "renewed", "date": (end - dt.timedelta(days=100)).isoformat(),
                            "renewed_to": (end + dt.timedelta(days=3652)).isoformat()},
                           {"type": "litigation_filed", "date": "2025-05-01"}])
    paid = dt.date.fromisoformat(str(right.annuity_paid_through))
    return rng.choice([
        {"type": "annuity_paid", "date": (paid - dt.timedelta(days=20)).isoformat(),
         "paid_through": (paid + dt.timedelta(days=365)).isoformat()},
        {"type": "terminated_unpaid_annuity", "date": "2026-10-10"},
        {"type": "invalidation_decided", "date": "2026-06-01", "outcome": rng.choice(["invalid", "maintained"])},
        {"type": "preserved", "date": "2026-02-01"},
        {"type": "restored", "date": "2026-11-01"},
    ])


@pytest.mark.parametrize("seed", [1, 7, 2026])
def test_the_watch_agrees_with_the_per_right_reference(make_org, seed, monkeypatch):
    monkeypatch.setattr("ippledge.core.business_date.today", lambda: ON)
    rng = random.Random(seed)
    banks = [make_org("bank", name=f"银行{n}") for n in range(3)]
    random_register(rng, banks, make_org("enterprise", name="借款企业"))
    seen = set()
    for day in (ON, ON + dt.timedelta(days=45), ON + dt.timedelta(days=200), ON + dt.timedelta(days=200)):
        result = watch.watch_rights(day)
        assert actual() == reference(day), day
        seen |= {kind for _b, kind, *_ in actual()}
    assert result["raised"] == result["cleared"] == 0  # the same day again writes nothing
    assert len(seen) >= 3  # the random register exercised several kinds


def test_the_process_pool_derives_the_same_states(make_org, monkeypatch, settings):
    monkeypatch.setattr("ippledge.core.business_date.today", lambda: ON)
    rng = random.Random(3)
    random_register(rng, [make_org("bank", name="银行")], make_org("enterprise", name="借款企业"))
    serial = watch.right_candidates(ON)
    monkeypatch.setattr(watch, "PARALLEL_FROM", 1)
    settings.MONITORING_WORKERS = 2
    pooled = watch.right_candidates(ON)
    assert serial and [(c.org_id, c.condition) for c in pooled] == [(c.org_id, c.condition) for c in serial]
