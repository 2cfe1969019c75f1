"""Repayment schedules, payment allocation and days past due (lending-rules.md §1 DPD, §4 pricing).

Conventions
-----------
* Money is ``Decimal``; every amount in a schedule is rounded to the fen, half up
  (:func:`ippledge.core.money.quantize`).  Floats are refused.
* Day count (§4): interest = principal × annual rate × actual days / 360 (``ACT/360``, the default)
  or / 365 (``ACT/365``).  Used by ``bullet`` and ``interest_only`` and by :func:`interest_between`.
* Every schedule says which of the two conventions it is computed by (:func:`convention`): the day
  count (``ACT/360`` or ``ACT/365``) for ``bullet`` and ``interest_only``, ``monthly_rate`` for the
  amortising kinds, whose ``day_count`` is not used.  Pages and the API show this label, never the
  loan's stored day count alone, so an amortising loan is not presented as ACT/360.
* Monthly due dates fall on the start date's day of month, clamped to the month's last day and always
  computed from the start date (start 31 Jan → 28/29 Feb, 31 Mar, 30 Apr …); the last period ends at
  maturity.
* Amortising schedules (``equal_instalments`` 等额本息, ``equal_principal`` 等额本金) follow the Chinese
  bank convention of §4: monthly rate i = annual rate / 12 charged per period whatever the period's
  length in days, so every period is one month: n defaults to, and may not be less than, the number of
  whole months from start to maturity (at least 1); due
  dates are start + 1 … n − 1 months, then maturity, so a maturity that is not a monthly anniversary
  lengthens the last period.  Each period's amounts are rounded to the fen and the last period takes
  the whole outstanding principal, so Σ principal = the loan amount exactly.  A rounded-up payment
  never repays more than the outstanding principal (a later period is then 0).

Payments (:func:`apply_payments`)
---------------------------------
A payment is ``(date, principal, interest)``; its two parts are added and the total is allocated in
date order (stable for equal dates) to the oldest instalment that is not fully paid: its interest
first, then its principal, then the next instalment (逾期先收息后收本).  The bank's own split of a
payment is not used for the allocation.  Paying more than the whole schedule is refused.  Every
allocation keeps its payment date, so the state "as of" a date counts only payments dated on or
before it (:func:`earliest_unpaid_due`, :func:`outstanding_principal`, :func:`days_past_due_on`).

Days past due (§1, platform convention): DPD on day d = d − the earliest contractual due date still
unpaid (principal or interest), in calendar days; 0 on the due date itself and before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, localcontext
from typing import Any, Literal

from ippledge.core import exact
from ippledge.core.calendar import add_months, whole_months  # the one calendar (month-end clamped)
from ippledge.core.errors import N_
from ippledge.core.money import quantize

Kind = Literal["bullet", "equal_instalments", "equal_principal", "interest_only"]
DayCount = Literal["ACT/360", "ACT/365"]

KINDS: tuple[str, ...] = ("bullet", "equal_instalments", "equal_principal", "interest_only")
AMORTISING: tuple[str, ...] = ("equal_instalments", "equal_principal")
MONTHLY_RATE = "monthly_rate"  # i = annual rate / 12 per period, whatever the period's length in days
DAY_BASIS: dict[str, Decimal] = {"ACT/360": Decimal(360), "ACT/365": Decimal(365)}
ZERO = Decimal("0.00")
MONTHS_PER_YEAR = Decimal(12)


# --------------------------------------------------------------------------- validation helpers

def _date(value: Any, name: str) -> date:
    if not isinstance(value, date):
        raise exact.invalid(name, N_("Not a valid date."))
    return value


def _basis(day_count: str) -> Decimal:
    try:
        return DAY_BASIS[day_count]
    except (KeyError, TypeError):
        raise exact.invalid("day_count", N_("The day count must be ACT/360 or ACT/365.")) from None


# --------------------------------------------------------------------------- dates

def monthly_due_dates(start: date, maturity: date) -> list[date]:
    """Every monthly anniversary strictly before maturity, then maturity itself."""
    dates = []
    k = 1
    while (due := add_months(start, k)) < maturity:
        dates.append(due)
        k += 1
    dates.append(maturity)
    return dates


# --------------------------------------------------------------------------- schedules

def convention(kind: str, day_count: str = "ACT/360") -> str:
    """How a schedule of ``kind`` computes interest: ``monthly_rate`` for the amortising kinds, else
    the day-count basis (``ACT/360`` or ``ACT/365``) over actual days."""
    if kind not in KINDS:
        raise exact.invalid("kind", N_("Unknown repayment method."))
    if kind in AMORTISING:
        return MONTHLY_RATE
    _basis(day_count)
    return day_count


@dataclass(frozen=True)
class Instalment:
    seq: int
    due_date: date
    principal: Decimal
    interest: Decimal

    @property
    def amount(self) -> Decimal:
        return self.principal + self.interest


def interest_between(principal: Any, annual_rate: Any, start: date, end: date,
                     day_count: DayCount = "ACT/360") -> Decimal:
    """Simple interest for the actual days from ``start`` to ``end``: P × rate × days / basis, to the fen."""
    principal = exact.decimal(principal, "principal")
    annual_rate = exact.decimal(annual_rate, "annual_rate")
    start, end = _date(start, "start"), _date(end, "end")
    if end < start:
        raise exact.invalid("end", N_("The end date must not be before the start date."))
    return quantize(principal * annual_rate * (end - start).days / _basis(day_count))


def build_schedule(*, principal: Any, annual_rate: Any, start_date: date, maturity_date: date,
                   kind: Kind, instalments: int | None = None,
                   day_count: DayCount = "ACT/360") -> list[Instalment]:
    """The contractual schedule of a loan (see the module docstring for the conventions).

    ``instalments`` is used by the amortising kinds only (it must still be ≥ 1 when given).
    """
    principal = exact.amount(principal, "principal")
    if principal <= 0:
        raise exact.invalid("principal", N_("The principal must be more than zero."))
    rate = exact.decimal(annual_rate, "annual_rate")
    if rate < 0:
        raise exact.invalid("annual_rate", N_("The interest rate must not be negative."))
    start = _date(start_date, "start_date")
    maturity = _date(maturity_date, "maturity_date")
    if maturity <= start:
        raise exact.invalid("maturity_date", N_("The maturity date must be after the start date."))
    if kind not in KINDS:
        raise exact.invalid("kind", N_("Unknown repayment method."))
    basis = _basis(day_count)
    if instalments is not None and (isinstance(instalments, bool) or not isinstance(instalments, int)
                                    or instalments < 1):
        raise exact.invalid("instalments", N_("The number of instalments must be a whole number of at least 1."))

    if kind == "bullet":
        interest = quantize(principal * rate * (maturity - start).days / basis)
        return [Instalment(1, maturity, principal, interest)]

    if kind == "interest_only":
        schedule = []
        previous = start
        dues = monthly_due_dates(start, maturity)
        for seq, due in enumerate(dues, start=1):
            interest = quantize(principal * rate * (due - previous).days / basis)
            schedule.append(Instalment(seq, due, principal if due == maturity else ZERO, interest))
            previous = due
        return schedule

    months = max(1, whole_months(start, maturity))
    n = instalments if instalments is not None else months
    if n > 1 and add_months(start, n - 1) >= maturity:
        raise exact.invalid("instalments", N_("Too many monthly instalments before the maturity date."))
    if n < months:  # the last period would span several months at one month's rate i
        raise exact.invalid("instalments", N_("An amortising schedule pays every month: give one instalment a month "
                                         "up to the maturity date."))
    dues = [add_months(start, k) for k in range(1, n)] + [maturity]
    i = rate / MONTHS_PER_YEAR

    if kind == "equal_instalments":
        with localcontext() as ctx:
            ctx.prec = 40
            if i == 0:
                payment = quantize(principal / n)
            else:
                payment = quantize(principal * i / (1 - (1 + i) ** -n))
    else:
        base = quantize(principal / n)

    schedule = []
    outstanding = principal
    for seq, due in enumerate(dues, start=1):
        interest = quantize(outstanding * i)
        if seq == n:
            part = outstanding
        elif kind == "equal_instalments":
            part = min(max(payment - interest, ZERO), outstanding)
        else:
            part = min(base, outstanding)
        schedule.append(Instalment(seq, due, part, interest))
        outstanding -= part
    return schedule


# --------------------------------------------------------------------------- days past due

def days_past_due(unpaid_due_dates: list[date], on: date) -> int:
    """``on`` − the earliest unpaid due date, in calendar days; 0 if none is unpaid or it is not yet past."""
    if not unpaid_due_dates:
        return 0
    return max(0, (on - min(unpaid_due_dates)).days)


# --------------------------------------------------------------------------- payments

@dataclass(frozen=True)
class Allocation:
    """The part of one payment applied to one instalment."""

    paid: date
    principal: Decimal
    interest: Decimal


@dataclass(frozen=True)
class InstalmentState:
    """An instalment with what was paid towards it (all payments given) and when.

    ``paid_on`` is the date of the payment that completed it (an instalment of 0 counts as paid on its
    due date), ``None`` while something is still owed.  Use the ``*_as_of`` methods for the state
    at an earlier date.
    """

    seq: int
    due_date: date
    principal: Decimal
    interest: Decimal
    paid_principal: Decimal
    paid_interest: Decimal
    paid_on: date | None
    allocations: tuple[Allocation, ...] = field(default=())

    def paid_as_of(self, on: date) -> tuple[Decimal, Decimal]:
        """(principal, interest) paid by payments dated on or before ``on``."""
        principal = sum((a.principal for a in self.allocations if a.paid <= on), ZERO)
        interest = sum((a.interest for a in self.allocations if a.paid <= on), ZERO)
        return principal, interest

    def unpaid_as_of(self, on: date) -> Decimal:
        principal, interest = self.paid_as_of(on)
        return self.principal + self.interest - principal - interest

    def settled_as_of(self, on: date) -> bool:
        return self.unpaid_as_of(on) == 0


def apply_payments(schedule: list[Instalment],
                   payments: list[tuple[date, Any, Any]]) -> list[InstalmentState]:
    """Allocate payments to the oldest unpaid instalment, interest first, then principal.

    Payments are taken in date order; each payment's principal and interest parts are added and the
    total runs down the instalments.  More than the schedule's total is refused (a prepayment needs a
    new schedule).
    """
    parsed = []
    for index, payment in enumerate(payments):
        try:
            when, principal, interest = payment
        except (TypeError, ValueError):
            raise exact.invalid("payments", N_("A payment is (date, principal, interest).")) from None
        parsed.append((_date(when, "payments"), exact.amount(principal, "payments") + exact.amount(interest, "payments"),
                       index))
    parsed.sort(key=lambda item: (item[0], item[2]))

    owed = [[inst.interest, inst.principal] for inst in schedule]
    allocations: list[list[Allocation]] = [[] for _ in schedule]
    paid_on: list[date | None] = [None] * len(schedule)
    cursor = 0
    for when, amount, _ in parsed:
        while amount > 0:
            while cursor < len(schedule) and owed[cursor] == [0, 0]:
                cursor += 1
            if cursor == len(schedule):
                raise exact.invalid("payments", N_("The payments are more than the whole schedule."))
            to_interest = min(amount, owed[cursor][0])
            to_principal = min(amount - to_interest, owed[cursor][1])
            owed[cursor][0] -= to_interest
            owed[cursor][1] -= to_principal
            amount -= to_interest + to_principal
            allocations[cursor].append(Allocation(when, to_principal, to_interest))
            if owed[cursor] == [0, 0]:
                paid_on[cursor] = when

    states = []
    for k, inst in enumerate(schedule):
        if inst.principal == 0 and inst.interest == 0:
            paid_on[k] = inst.due_date
        states.append(InstalmentState(
            seq=inst.seq, due_date=inst.due_date, principal=inst.principal, interest=inst.interest,
            paid_principal=inst.principal - owed[k][1], paid_interest=inst.interest - owed[k][0],
            paid_on=paid_on[k], allocations=tuple(allocations[k])))
    return states


def earliest_unpaid_due(states: list[InstalmentState], on: date) -> date | None:
    """The earliest due date with principal or interest unpaid, counting payments dated ≤ ``on``.

    The date may be after ``on`` (the next instalment); ``None`` when everything is paid.
    """
    unpaid = [s.due_date for s in states if not s.settled_as_of(on)]
    return min(unpaid) if unpaid else None


def days_past_due_on(states: list[InstalmentState], on: date) -> int:
    """DPD of the loan on ``on`` counting only payments dated on or before it."""
    earliest = earliest_unpaid_due(states, on)
    return days_past_due([earliest] if earliest else [], on)


def outstanding_principal(states: list[InstalmentState], on: date) -> Decimal:
    """Principal not yet repaid, counting payments dated on or before ``on``."""
    return sum((s.principal - s.paid_as_of(on)[0] for s in states), ZERO)
