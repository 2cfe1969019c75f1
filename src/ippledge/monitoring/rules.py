"""Pure monitoring rules: which alert a right, pledge or loan calls for on a business date.

No Django imports (import-linter enforces it).  The law (term ends, annuity due dates and grace
periods, legal states) is ``ippledge.rights.rules``'s; this module only decides, from a right's
derived state and the secured debt's dates, which adverse *conditions* hold on a day.  The single
object path (a listener, a test's reference) and the set-based end-of-day pass call the same
functions, so they cannot disagree.

A condition is ``(kind, condition_key)``; the key names what makes two sightings the same condition
(one pledge, one right, one due date), so the next day's pass finds the same key and raises nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from ippledge.core.calendar import add_months, whole_months
from ippledge.rights import rules as rights_rules


@dataclass(frozen=True)
class KindSpec:
    severity: str  # info | warning | critical
    sla_days: int  # working days from the day it is raised to its due date


# Severity and SLA (working days) per alert kind.  Calendar kinds whose law sets a deadline (an
# annuity's due date, the surcharge deadline, a trademark's term end) take the earlier of the two.
SPECS: dict[str, KindSpec] = {
    "annuity_due": KindSpec("warning", 20),
    "annuity_grace": KindSpec("critical", 5),
    "right_terminated": KindSpec("critical", 3),
    "right_expiring": KindSpec("warning", 20),
    "trademark_renewal_window": KindSpec("warning", 20),
    "invalidation_requested": KindSpec("warning", 10),
    "invalidation_decided": KindSpec("critical", 5),
    "litigation": KindSpec("warning", 10),
    "preservation": KindSpec("critical", 3),
    "ownership_dispute": KindSpec("critical", 5),
    "transfer_attempt_blocked": KindSpec("warning", 5),
    "licence_recorded": KindSpec("warning", 10),
    "valuation_expiring": KindSpec("info", 20),
    "valuation_expired": KindSpec("warning", 10),
    "ltv_shortfall": KindSpec("critical", 10),
    "borrower_review_due": KindSpec("info", 15),
    "loan_overdue": KindSpec("warning", 3),
    "cancellation_due": KindSpec("warning", 10),
    "holding_period_due": KindSpec("warning", 20),  # raised by the disposal app (issue 14)
}

# The kinds the calendar pass decides alone: it raises them and clears them when the condition ends.
CALENDAR_KINDS: tuple[str, ...] = ("annuity_due", "annuity_grace", "right_terminated", "right_expiring",
                                   "trademark_renewal_window")
LOAN_KINDS: tuple[str, ...] = ("loan_overdue",)
# Raised when an event is recorded; cleared when a closing event is recorded or the pledge ends.
EVENT_KINDS: tuple[str, ...] = ("invalidation_requested", "invalidation_decided", "litigation", "preservation",
                                "ownership_dispute", "transfer_attempt_blocked", "licence_recorded")

# Legal states in which the right no longer exists (a trademark's ``expired_renewable`` still may be renewed).
ENDED_STATES = frozenset({"terminated", "invalidated", "expired", "revoked", "cancelled"})
SERIOUS_OVERDUE_DAYS = 90  # past 90 days overdue a loan is non-performing (lending-rules §1)
RENEWAL_WINDOW_MONTHS = 12  # 商标法 Art. 40: renewal within the 12 months before expiry


def spec(kind: str) -> KindSpec:
    return SPECS[kind]


def sla_due(on: dt.date, working_days: int, holidays: Mapping[dt.date, bool] | None = None) -> dt.date:
    """The day ``working_days`` working days after ``on``; ``holidays`` maps a date to whether it is a
    working day (the operator's holiday table), other days work Monday to Friday."""
    holidays = holidays or {}
    current, left = on, working_days
    while left > 0:
        current += dt.timedelta(days=1)
        if holidays.get(current, current.weekday() < 5):
            left -= 1
    return current


@dataclass(frozen=True)
class Condition:
    """One adverse condition found on a day: what to raise if no live alert has it yet."""

    kind: str
    key: str
    severity: str
    deadline: dt.date | None = None  # a legal deadline that caps the SLA due date
    detail: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Leads:
    annuity_days: int = 60
    expiry_days: int = 180


def right_key(pledge_id: int, right_id: int, suffix: str) -> str:
    return f"p{pledge_id}:r{right_id}:{suffix}"


def loan_key(loan_id: int, suffix: str) -> str:
    return f"loan{loan_id}:{suffix}"


# --- annuity amounts ---------------------------------------------------------------------------------

# The official annual fees of a patent (CNIPA's schedule, yuan) by the patent year they fall due for:
# (first year, last year, fee) bands.  A granted fee relief (notice item 十六, the disposal app's decision
# on a right a bank obtained by enforcement) takes its share off the amount; the due date is unchanged.
ANNUITY_FEES: dict[str, tuple[tuple[int, int, int], ...]] = {
    "invention": ((1, 3, 900), (4, 6, 1200), (7, 9, 2000), (10, 12, 4000), (13, 15, 6000), (16, 20, 8000)),
    "utility_model": ((1, 3, 600), (4, 5, 900), (6, 8, 1200), (9, 10, 2000)),
    "design": ((1, 3, 600), (4, 5, 900), (6, 8, 1200), (9, 10, 2000), (11, 15, 3000)),
}


@dataclass(frozen=True)
class AnnuityAmount:
    due_date: dt.date
    year: int  # the patent year the annuity is for (1 = the year from the filing date)
    fee: int  # the official fee, fen
    reduction: Decimal | None  # the granted relief's share off (0.5 = half), None without relief
    due: int  # what is to pay, fen

    def as_detail(self) -> dict:
        detail = {"annuity_year": self.year, "annuity_fee": _yuan(self.fee), "annuity_amount": _yuan(self.due)}
        if self.reduction is not None:
            percent = self.reduction * 100
            detail["fee_relief_percent"] = f"{percent:f}".rstrip("0").rstrip(".") if "." in f"{percent:f}" else f"{percent:f}"
        return detail


def _yuan(fen: int) -> str:
    return str((Decimal(fen) / 100).quantize(Decimal("0.01")))


def annuity_amount(kind: str, filing_date: dt.date | None, due: dt.date | None,
                   reduction: Decimal | None = None) -> AnnuityAmount | None:
    """The annuity due on ``due`` for a patent filed on ``filing_date``, less a granted relief's share
    (rounded half up to the fen); None when the kind has no annual fee or the year is outside the schedule."""
    bands = ANNUITY_FEES.get(kind)
    if bands is None or filing_date is None or due is None or due < filing_date:
        return None
    year = whole_months(filing_date, due) // 12 + 1
    fee = next((amount * 100 for first, last, amount in bands if first <= year <= last), None)
    if fee is None:
        return None
    share = reduction if reduction is not None and Decimal(0) < reduction <= Decimal(1) else None
    to_pay = fee if share is None else int((Decimal(fee) * (1 - share)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return AnnuityAmount(due_date=due, year=year, fee=fee, reduction=share, due=to_pay)


# --- calendar rules over one right under one pledge --------------------------------------------------

def annuity_due(state: rights_rules.RightState, on: dt.date, lead_days: int) -> dt.date | None:
    """The unpaid annuity's due date when it falls within ``lead_days`` from ``on`` (and is not yet past)."""
    due = state.annuity_due_date
    if due is None or state.legal_state in ENDED_STATES:
        return None
    return due if on <= due <= on + dt.timedelta(days=lead_days) else None


def annuity_grace(state: rights_rules.RightState) -> tuple[dt.date, dt.date] | None:
    """(due date, surcharge deadline) while the patent is in its 6-month late-payment period."""
    if state.legal_state != "annuity_grace" or state.annuity_due_date is None or state.grace_end is None:
        return None
    return state.annuity_due_date, state.grace_end


def right_terminated(state: rights_rules.RightState) -> bool:
    return state.legal_state in ENDED_STATES


def right_expiring(kind: str, state: rights_rules.RightState, on: dt.date, debt_due: dt.date | None,
                   lead_days: int) -> str | None:
    """Why the right's legal term is a risk to the debt: ``before_debt_due`` (it ends before the secured
    debt falls due) or ``within_lead`` (it ends within ``lead_days``); None otherwise.

    Trademarks are renewable without limit: their risk is an unrenewed term (``trademark_renewal_window``).
    """
    end = state.term_end
    if kind == "trademark" or end is None or end < on or state.legal_state in ENDED_STATES:
        return None
    if debt_due is not None and end < debt_due:
        return "before_debt_due"
    if end <= on + dt.timedelta(days=lead_days):
        return "within_lead"
    return None


def trademark_renewal_window(kind: str, state: rights_rules.RightState, on: dt.date) -> tuple[str, dt.date] | None:
    """(``window`` or ``grace``, deadline): the 12-month renewal window before expiry is open (deadline:
    the term end), or the 6-month grace after it runs (deadline: its last day)."""
    end = state.term_end
    if kind != "trademark" or end is None:
        return None
    if state.legal_state == "expired_renewable" and state.grace_end is not None and on <= state.grace_end:
        return "grace", state.grace_end
    if state.legal_state in ("in_force",) and add_months(end, -RENEWAL_WINDOW_MONTHS) < on <= end:
        return "window", end
    return None


def right_conditions(*, pledge_id: int, right_id: int, kind: str, state: rights_rules.RightState, on: dt.date,
                     debt_due: dt.date | None, leads: Leads, filing_date: dt.date | None = None,
                     fee_reduction: Decimal | None = None) -> list[Condition]:
    """Every calendar condition of one right under one live pledge on ``on``; an annuity's detail carries its
    amount (with the granted fee relief, if any) when the filing date is given."""
    fee = annuity_amount(kind, filing_date, state.annuity_due_date, fee_reduction)
    fee_detail = fee.as_detail() if fee is not None else {}
    found: list[Condition] = []
    if right_terminated(state):
        found.append(Condition("right_terminated", right_key(pledge_id, right_id, "ended"),
                               SPECS["right_terminated"].severity,
                               detail={"legal_state": state.legal_state, "since": _iso(state.state_since)}))
        return found
    due = annuity_due(state, on, leads.annuity_days)
    if due is not None:
        found.append(Condition("annuity_due", right_key(pledge_id, right_id, f"due:{due.isoformat()}"),
                               SPECS["annuity_due"].severity, deadline=due,
                               detail={"annuity_due_date": due.isoformat(), "days_left": (due - on).days, **fee_detail}))
    grace = annuity_grace(state)
    if grace is not None:
        due, surcharge_deadline = grace
        found.append(Condition("annuity_grace", right_key(pledge_id, right_id, f"grace:{due.isoformat()}"),
                               SPECS["annuity_grace"].severity, deadline=surcharge_deadline,
                               detail={"annuity_due_date": due.isoformat(),
                                       "surcharge_deadline": surcharge_deadline.isoformat(), **fee_detail}))
    why = right_expiring(kind, state, on, debt_due, leads.expiry_days)
    if why is not None:
        end = state.term_end
        found.append(Condition("right_expiring", right_key(pledge_id, right_id, f"term:{end.isoformat()}"),
                               SPECS["right_expiring"].severity,
                               detail={"term_end": end.isoformat(), "debt_due": _iso(debt_due), "reason": why}))
    window = trademark_renewal_window(kind, state, on)
    if window is not None:
        phase, deadline = window
        severity = "critical" if phase == "grace" else SPECS["trademark_renewal_window"].severity
        found.append(Condition("trademark_renewal_window",
                               right_key(pledge_id, right_id, f"renewal:{state.term_end.isoformat()}:{phase}"),
                               severity, deadline=deadline,
                               detail={"phase": phase, "term_end": state.term_end.isoformat(),
                                       "deadline": deadline.isoformat()}))
    return found


# --- loans -------------------------------------------------------------------------------------------

def loan_overdue(*, loan_id: int, dpd: int, balance: int, on: dt.date) -> Condition | None:
    """A loan past due (``dpd`` > 0 with principal outstanding); one episode from its first overdue day."""
    if dpd <= 0 or balance <= 0:
        return None
    since = on - dt.timedelta(days=dpd - 1)
    severity = "critical" if dpd > SERIOUS_OVERDUE_DAYS else SPECS["loan_overdue"].severity
    return Condition("loan_overdue", loan_key(loan_id, f"since:{since.isoformat()}"), severity,
                     detail={"dpd": dpd, "overdue_since": since.isoformat()})


# --- event-driven alerts -----------------------------------------------------------------------------

# Event type -> alert kind raised when it is recorded on a pledged right.
EVENT_ALERTS: dict[str, str] = {
    "invalidation_requested": "invalidation_requested",
    "invalidation_decided": "invalidation_decided",
    "litigation_filed": "litigation",
    "preserved": "preservation",
    "seized": "preservation",
    "suspended": "preservation",
    "ownership_dispute_filed": "ownership_dispute",
    "licensed": "licence_recorded",
    "open_licence_declared": "licence_recorded",
}
# Event type -> alert kinds whose condition it ends (cleared on the right's live pledges).
EVENT_CLEARS: dict[str, tuple[str, ...]] = {
    "invalidation_decided": ("invalidation_requested",),
    "litigation_closed": ("litigation",),
    "preservation_lifted": ("preservation",),
    "seizure_lifted": ("preservation",),
    "suspension_lifted": ("preservation",),
    "ownership_dispute_closed": ("ownership_dispute",),
    "licence_cancelled": ("licence_recorded",),
    "open_licence_withdrawn": ("licence_recorded",),
}
# Events after which the right may have ended: the calendar rule is asked at once, not at end of day.
TERMINATING_EVENTS = frozenset({"terminated_unpaid_annuity", "invalidation_decided", "expired", "revoked",
                                "cancelled", "abandoned"})
OUTCOME_SEVERITY = {"invalid": "critical", "partly_invalid": "warning", "maintained": "info"}


def event_condition(*, pledge_id: int, right_id: int, event_type: str, event_seq: int, event_date: dt.date,
                    outcome: str | None = None, official_code: str | None = None) -> Condition | None:
    """The alert an event recorded on a pledged right raises, or None.  One event, one condition."""
    kind = EVENT_ALERTS.get(event_type)
    if kind is None:
        return None
    detail = {"event": event_type, "event_date": event_date.isoformat(), "event_seq": event_seq}
    if official_code:
        detail["official_code"] = official_code
    severity = SPECS[kind].severity
    if kind == "invalidation_decided":
        detail["outcome"] = outcome or ""
        severity = OUTCOME_SEVERITY.get(outcome or "", severity)
    if kind == "licence_recorded":
        # Civil Code 444: the pledgor's licence fees go to early repayment or escrow with an agreed third party.
        detail["proceeds"] = "early_repayment_or_escrow"
        detail["legal_basis"] = "Civil Code 444"
    return Condition(kind, right_key(pledge_id, right_id, f"ev{event_seq}"), severity, detail=detail)


def blocked_transfer_condition(*, pledge_id: int, right_id: int, event_type: str, event_date: dt.date,
                               attempt: str) -> Condition:
    """A transfer (or licence, abandonment…) of a pledged right refused for want of the pledgee's consent;
    ``attempt`` distinguishes attempts (the refused event was never stored, so it has no sequence number)."""
    return Condition("transfer_attempt_blocked", right_key(pledge_id, right_id, f"blocked:{attempt}"),
                     SPECS["transfer_attempt_blocked"].severity,
                     detail={"event": event_type, "event_date": event_date.isoformat()})


def debt_due(loan_maturities: Iterable[dt.date | None], registration_term_end: dt.date | None) -> dt.date | None:
    """When the secured debt falls due: the latest maturity of the loans the pledge secures, and the
    pledge's registration term, whichever is later (either may be unknown)."""
    known = [d for d in (*loan_maturities, registration_term_end) if d is not None]
    return max(known) if known else None


def _iso(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None
