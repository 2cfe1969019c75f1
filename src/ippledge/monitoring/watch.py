"""The set-based watch over every right under a live pledge, and every overdue loan.

One pass gathers the facts with a handful of ``values_list`` queries (live pledge links, pledgee
banks, the rights' dates, the events that shape a right's legal state, the loans the pledges
secure, the live alerts), asks the pure rules (``monitoring.rules`` over ``rights.rules.derive``)
which conditions hold today, and then only writes the difference: new conditions are bulk-created
as alerts, live alerts whose condition is gone are cleared.  Running it twice in a day writes
nothing the second time.  Filtered to a few rights (``right_ids``) it is also the single-right path
the listeners use right after an event is recorded; there is no second implementation of the rules.

Only the kinds the watch decides (``rules.CALENDAR_KINDS``, ``rules.LOAN_KINDS``) are raised and
cleared by it; event-driven alerts are cleared here only when their pledge is no longer live.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.db.models import Subquery

from ippledge.core import audit
from ippledge.core.actors import SYSTEM
from ippledge.credit.models import Loan, LoanCollateral
from ippledge.registry.models import Pledge, PledgeParty, PledgeRight, PledgeStatus
from ippledge.rights import rules as rights_rules
from ippledge.rights.models import LegalEvent, Right

from . import annuities, rules, services
from .models import LIVE_STATUSES, Alert

# The events that move a right's term end, annuity position or legal state.  Flags (litigation,
# licences…) and ownership do not enter any calendar condition, so the pass does not read them; the
# per-right reference in tests/ derives from the full history and must agree.
STATE_EVENTS = ("granted", "annuity_paid", "terminated_unpaid_annuity", "invalidation_decided", "renewed",
                "expired", "revoked", "cancelled", "abandoned", "restored")
RIGHT_FIELDS = ("id", "kind", "number", "filing_date", "grant_date", "registration_date", "first_publication_date",
                "completion_date", "author_kind", "author_death_date", "annuity_paid_through", "term_adjustment_days")
CHUNK = 900  # ids per IN (...) list: under SQLite's default variable limit


@dataclass
class Candidate:
    """A condition found today for one bank, with everything its alert and notice need."""

    condition: rules.Condition
    org_id: int
    pledge_id: int | None = None
    registration_no: str = ""
    right: tuple[int, str, str] | None = None  # (id, kind, number)
    loan: tuple[int, str] | None = None  # (id, loan_no)
    officer_id: int | None = None
    extra: dict = field(default_factory=dict)


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def _date(value) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def facts_from_row(row: tuple) -> rights_rules.RightFacts:
    (_id, kind, _number, filing, grant, registration, publication, completion, author_kind, death, paid,
     adjustment) = row
    return rights_rules.RightFacts(kind=kind, filing_date=filing, grant_date=grant, registration_date=registration,
                                   first_publication_date=publication, completion_date=completion,
                                   author_kind=author_kind or None, author_death_date=death,
                                   annuity_paid_through=paid, term_adjustment_days=adjustment or 0)


def event_from_row(seq: int, etype: str, date: dt.date, payload: dict | None, code: str) -> rights_rules.Event:
    p = payload or {}
    return rights_rules.Event(seq=seq, type=etype, date=date, paid_through=_date(p.get("paid_through")),
                              outcome=p.get("outcome"), renewed_to=_date(p.get("renewed_to")),
                              official_code=code or None)


# --- deriving every right's state ----------------------------------------------------------------------

PARALLEL_FROM = 20_000  # rights; below this a process pool costs more than it saves


def _derive_chunk(args) -> list[tuple[int, rights_rules.RightState]]:
    rows, events, on = args
    return [(row[0], rights_rules.derive(facts_from_row(row), events.get(row[0], ()), on)) for row in rows]


def derive_all(rights: dict[int, tuple], events: dict[int, list], on: dt.date) -> dict[int, rights_rules.RightState]:
    """Each right's state on ``on`` (``rights.rules.derive``, pure).  A large register is split over
    worker processes (``IPPLEDGE_MONITORING_WORKERS``, default: the CPUs, at most 8): the rule is pure
    and per right, the children only compute and never touch the database."""
    rows = list(rights.values())
    workers = services.setting_int("MONITORING_WORKERS", min(8, os.cpu_count() or 1))
    if workers <= 1 or len(rows) < PARALLEL_FROM:
        return dict(_derive_chunk((rows, events, on)))
    size = -(-len(rows) // (workers * 4))
    chunks = []
    for start in range(0, len(rows), size):
        part = rows[start:start + size]
        chunks.append((part, {row[0]: events[row[0]] for row in part if row[0] in events}, on))
    states: dict[int, rights_rules.RightState] = {}
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("fork")) as pool:
        for result in pool.map(_derive_chunk, chunks):
            states.update(result)
    return states


# --- gathering ---------------------------------------------------------------------------------------

def _live_links(right_ids: list[int] | None):
    qs = PledgeRight.objects.filter(live=True, pledge__status=PledgeStatus.REGISTERED)
    if right_ids is not None:
        qs = qs.filter(right_id__in=right_ids)
    return qs


def loans_by_registration(registration_nos: set[str] | None) -> dict[str, list[tuple]]:
    """registration_no -> [(loan id, loan_no, bank id, maturity, officer id)] of loans still owing."""
    found: dict[str, dict[int, tuple]] = defaultdict(dict)
    collateral = LoanCollateral.objects.filter(loan__balance__gt=0)
    direct = Loan.objects.filter(balance__gt=0).exclude(pledge_registration_no="")
    if registration_nos is not None:
        collateral = collateral.filter(registration_no__in=registration_nos)
        direct = direct.filter(pledge_registration_no__in=registration_nos)
    for reg, loan_id, loan_no, bank_id, maturity, officer in collateral.values_list(
            "registration_no", "loan_id", "loan__loan_no", "loan__bank_id", "loan__maturity_date",
            "loan__created_by_id"):
        found[reg][loan_id] = (loan_id, loan_no, bank_id, maturity, officer)
    for reg, loan_id, loan_no, bank_id, maturity, officer in direct.values_list(
            "pledge_registration_no", "id", "loan_no", "bank_id", "maturity_date", "created_by_id"):
        found[reg][loan_id] = (loan_id, loan_no, bank_id, maturity, officer)
    return {reg: sorted(loans.values()) for reg, loans in found.items()}


def right_candidates(on: dt.date, *, right_ids: list[int] | None = None,
                     leads: rules.Leads | None = None) -> list[Candidate]:
    """Every calendar condition of every right under a live pledge (or of these rights) on ``on``."""
    leads = leads or services.leads()
    links = list(_live_links(right_ids).values_list("pledge_id", "right_id", "pledge__registration_no",
                                                    "pledge__registration_term_end"))
    if not links:
        return []
    live_rights = _live_links(right_ids).values("right_id")
    pledgees: dict[int, list[int]] = defaultdict(list)
    parties = PledgeParty.objects.filter(role="pledgee", org__isnull=False, pledge__status=PledgeStatus.REGISTERED)
    if right_ids is not None:
        parties = parties.filter(pledge_id__in={p for p, *_ in links})
    for pledge_id, org_id in parties.values_list("pledge_id", "org_id").distinct():
        pledgees[pledge_id].append(org_id)
    rights = {row[0]: row for row in Right.objects.filter(pk__in=Subquery(live_rights)).values_list(*RIGHT_FIELDS)}
    events: dict[int, list[rights_rules.Event]] = defaultdict(list)
    for right_id, seq, etype, date, payload, code in LegalEvent.objects.filter(
            right_id__in=Subquery(live_rights), type__in=STATE_EVENTS).values_list(
            "right_id", "seq", "type", "date", "payload", "official_code"):
        events[right_id].append(event_from_row(seq, etype, date, payload, code))
    loans = loans_by_registration({reg for _p, _r, reg, _t in links} if right_ids is not None else None)

    states = derive_all(rights, events, on)
    relief = annuities.reductions(rights)
    found: list[Candidate] = []
    for pledge_id, right_id, registration_no, term_end in links:
        banks = pledgees.get(pledge_id)
        row = rights.get(right_id)
        if not banks or row is None:
            continue
        state = states[right_id]
        secured = loans.get(registration_no, ())
        debt_due = rules.debt_due((loan[3] for loan in secured), term_end)
        conditions = rules.right_conditions(pledge_id=pledge_id, right_id=right_id, kind=row[1], state=state,
                                            on=on, debt_due=debt_due, leads=leads, filing_date=_date(row[3]),
                                            fee_reduction=relief.get(right_id))
        for condition in conditions:
            for org_id in banks:
                own = next((loan for loan in secured if loan[2] == org_id), None)
                found.append(Candidate(condition, org_id, pledge_id, registration_no, (right_id, row[1], row[2]),
                                       (own[0], own[1]) if own else None, own[4] if own else None))
    return found


def loan_candidates(on: dt.date, *, loan_ids: list[int] | None = None) -> list[Candidate]:
    qs = Loan.objects.filter(dpd__gt=0, balance__gt=0)
    if loan_ids is not None:
        qs = qs.filter(pk__in=loan_ids)
    rows = list(qs.values_list("id", "loan_no", "bank_id", "dpd", "balance", "pledge_registration_no",
                               "created_by_id"))
    pledges = dict(Pledge.objects.filter(registration_no__in={r[5] for r in rows if r[5]})
                   .values_list("registration_no", "id")) if rows else {}
    found = []
    for loan_id, loan_no, bank_id, dpd, balance, registration_no, officer in rows:
        condition = rules.loan_overdue(loan_id=loan_id, dpd=dpd, balance=balance, on=on)
        if condition is not None:
            found.append(Candidate(condition, bank_id, pledges.get(registration_no), registration_no or "",
                                   None, (loan_id, loan_no), officer))
    return found


# --- writing the difference --------------------------------------------------------------------------

def _stub_alert(c: Candidate, on: dt.date, holidays: dict) -> Alert:
    cond = c.condition
    alert = Alert(kind=cond.kind, severity=cond.severity, condition_key=cond.key, owner_org_id=c.org_id,
                  pledge_id=c.pledge_id, right_id=c.right[0] if c.right else None,
                  loan_id=c.loan[0] if c.loan else None, officer_id=c.officer_id, raised_on=on,
                  due_date=services.due_date_for(cond.kind, on, cond.deadline, holidays), detail=dict(cond.detail))
    return alert


def _bind_display(alert: Alert, c: Candidate) -> None:
    """Attach unsaved stand-ins so ``services.payload`` reads numbers without a query per alert."""
    if c.pledge_id:
        alert.pledge = Pledge(pk=c.pledge_id, registration_no=c.registration_no)
    if c.right:
        alert.right = Right(pk=c.right[0], kind=c.right[1], number=c.right[2])
    if c.loan:
        alert.loan = Loan(pk=c.loan[0], loan_no=c.loan[1])


def _notify_many(alerts: list[Alert]) -> None:
    """In-app notices in bulk; a bank with webhooks gets each signed and queued (``registry.notify``)."""
    from ippledge.registry import notify

    notify.notify_many([(a.owner_org_id, "alert", services.notice_message(a), services.payload(a)) for a in alerts])


def _audit_raised(alerts: list[Alert]) -> None:
    audit.record_many(actor=SYSTEM, action="alert.raise", entries=[(a, services.snapshot(a)) for a in alerts])


def sync(on: dt.date, candidates: list[Candidate], live: dict[tuple[int, str, str], int]) -> dict:
    """Raise the candidates no live alert has yet, clear the live alerts (``live``: the ones this pass
    decides, keyed (org, kind, condition key)) whose condition was not found; counts."""
    wanted: dict[tuple[int, str, str], Candidate] = {}
    for c in candidates:
        wanted.setdefault((c.org_id, c.condition.kind, c.condition.key), c)
    new = [c for key, c in wanted.items() if key not in live]
    gone = [pk for key, pk in live.items() if key not in wanted]
    cleared = services.clear_ids(gone, on=on)
    raised: list[Alert] = []
    if new:
        holidays = services.holidays_from(on)
        stubs = [_stub_alert(c, on, holidays) for c in new]
        try:
            with transaction.atomic():
                raised = Alert.objects.bulk_create(stubs, batch_size=500)
        except IntegrityError:
            # A listener raised one of these conditions meanwhile: fall back to one savepoint each.
            raised = _one_by_one(stubs)
        for alert, c in zip(raised, new, strict=False):
            _bind_display(alert, c)
        raised = [a for a in raised if a is not None and a.pk is not None]
        _audit_raised(raised)
        _notify_many(raised)
    return {"raised": len(raised), "cleared": cleared, "live": len(wanted)}


def _one_by_one(stubs: list[Alert]) -> list[Alert | None]:
    out: list[Alert | None] = []
    for alert in stubs:
        try:
            with transaction.atomic():
                alert.save()
            out.append(alert)
        except IntegrityError:
            out.append(None)
    return out


def _live_alerts(kinds: Iterable[str], *, right_ids: list[int] | None = None,
                 loan_ids: list[int] | None = None) -> dict[tuple[int, str, str], int]:
    qs = Alert.objects.filter(kind__in=list(kinds), status__in=LIVE_STATUSES)
    if right_ids is not None:
        qs = qs.filter(right_id__in=right_ids)
    if loan_ids is not None:
        qs = qs.filter(loan_id__in=loan_ids)
    return {(org, kind, key): pk for pk, org, kind, key in qs.values_list("id", "owner_org_id", "kind",
                                                                            "condition_key")}


@transaction.atomic
def watch_rights(on: dt.date, *, right_ids: list[int] | None = None) -> dict:
    """The calendar conditions of the pledged rights (all, or these), written as alerts."""
    candidates = right_candidates(on, right_ids=right_ids)
    result = sync(on, candidates, _live_alerts(rules.CALENDAR_KINDS, right_ids=right_ids))
    if right_ids is None:
        # Event-driven alerts outlive neither their pledge nor the pledge's hold on the right.
        ended = list(Alert.objects.filter(kind__in=rules.EVENT_KINDS, status__in=LIVE_STATUSES, pledge__isnull=False)
                     .exclude(pledge__status=PledgeStatus.REGISTERED).values_list("id", flat=True))
        result["cleared_pledge_ended"] = services.clear_ids(ended, on=on)
    return result


@transaction.atomic
def watch_loans(on: dt.date, *, loan_ids: list[int] | None = None) -> dict:
    return sync(on, loan_candidates(on, loan_ids=loan_ids), _live_alerts(rules.LOAN_KINDS, loan_ids=loan_ids))
