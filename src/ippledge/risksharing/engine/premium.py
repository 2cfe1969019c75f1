"""Premium schedules of guarantee insurance (lending-rules §5: 保证保险, premium 1–3 % a year; subsidies
e.g. 50 %, at most 20,000 a year).  Pure module: plain Decimals and dates, no Django.

Conventions (stated once, here):

* The premium base is the insured sum (a loan guarantee policy: the loan's principal as lent; an
  infringement-loss or enforcement policy: its sum insured).  The premium is charged by policy year:
  one instalment per year of the term, due on the first day of its year.  A last, shorter year is
  charged pro rata by whole months (``months / 12``); a term of under a year is one instalment.
* Each instalment's subsidy is ``premium × subsidy_ratio``, capped at ``subsidy_year_cap`` per policy
  year (the cap of a short last year is not reduced: schemes state it "per year"); the borrower pays the
  rest.  Every amount is rounded to the fen, half up, per instalment, so the totals are the sums of
  the instalments exactly.
* Status: a policy that was issued and accepted is ``active``; it reads ``claimed`` once a claim is
  filed on its loan, ``lapsed`` when an instalment stays unpaid past its due date plus the grace days,
  ``expired`` after its end date; ``cancelled`` and ``pending`` are kept as they are.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from ippledge.core.calendar import add_months

CENT = Decimal("0.01")
ZERO = Decimal("0")
MONTHS_A_YEAR = 12
GRACE_DAYS = 60  # an instalment unpaid 60 days after its due date lapses the cover


@dataclass(frozen=True)
class Instalment:
    seq: int
    period_start: dt.date
    period_end: dt.date  # the last day covered
    due_date: dt.date
    months: int
    premium: Decimal
    subsidy: Decimal
    borrower: Decimal


def _fen(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _check(base: Decimal, rate: Decimal, term_months: int, ratio: Decimal | None, cap: Decimal | None) -> None:
    if not isinstance(base, Decimal) or base <= 0:
        raise ValueError("base must be a positive Decimal")
    if not isinstance(rate, Decimal) or not ZERO <= rate < 1:
        raise ValueError("rate must be a Decimal fraction from 0 to 1")
    if isinstance(term_months, bool) or not isinstance(term_months, int) or term_months < 1:
        raise ValueError("term_months must be a whole number of at least 1")
    if ratio is not None and not (isinstance(ratio, Decimal) and ZERO <= ratio <= 1):
        raise ValueError("subsidy_ratio must be a Decimal fraction from 0 to 1")
    if cap is not None and not (isinstance(cap, Decimal) and cap >= 0):
        raise ValueError("subsidy_year_cap must be a Decimal of at least zero")


def schedule(*, base: Decimal, annual_rate: Decimal, start: dt.date, term_months: int,
             subsidy_ratio: Decimal | None = None, subsidy_year_cap: Decimal | None = None) -> list[Instalment]:
    """The yearly premium instalments of a policy of ``term_months`` from ``start`` (yuan, to the fen).

    >>> rows = schedule(base=Decimal("5000000"), annual_rate=Decimal("0.02"), start=dt.date(2026, 1, 1),
    ...                 term_months=24, subsidy_ratio=Decimal("0.5"), subsidy_year_cap=Decimal("20000"))
    >>> [(r.premium, r.subsidy, r.borrower) for r in rows][0]
    (Decimal('100000.00'), Decimal('20000.00'), Decimal('80000.00'))
    """
    _check(base, annual_rate, term_months, subsidy_ratio, subsidy_year_cap)
    rows = []
    seq, done = 0, 0
    while done < term_months:
        months = min(MONTHS_A_YEAR, term_months - done)
        period_start = add_months(start, done)  # every date from the start, never from the previous one
        period_end = add_months(start, done + months) - dt.timedelta(days=1)
        premium = _fen(base * annual_rate * months / MONTHS_A_YEAR)
        subsidy = ZERO
        if subsidy_ratio:
            subsidy = _fen(premium * subsidy_ratio)
            if subsidy_year_cap is not None and subsidy > subsidy_year_cap:
                subsidy = _fen(subsidy_year_cap)
        seq += 1
        rows.append(Instalment(seq=seq, period_start=period_start, period_end=period_end, due_date=period_start,
                               months=months, premium=premium, subsidy=subsidy, borrower=premium - subsidy))
        done += months
    return rows


def totals(rows: list[Instalment]) -> dict[str, Decimal]:
    """The premium, subsidy and borrower's part over the schedule (sums of the instalments)."""
    return {"premium": sum((r.premium for r in rows), ZERO).quantize(CENT),
            "subsidy": sum((r.subsidy for r in rows), ZERO).quantize(CENT),
            "borrower": sum((r.borrower for r in rows), ZERO).quantize(CENT)}


def status(*, stored: str, end_date: dt.date, on: dt.date, unpaid_due_dates: list[dt.date] | tuple = (),
           claimed: bool = False, grace_days: int = GRACE_DAYS) -> str:
    """The status a policy reads on ``on`` (see the module docstring for the order of the rules)."""
    if stored != "active":
        return stored
    if claimed:
        return "claimed"
    if any(on > due + dt.timedelta(days=grace_days) for due in unpaid_due_dates):
        return "lapsed"
    if on > end_date:
        return "expired"
    return "active"
