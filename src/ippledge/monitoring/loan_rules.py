"""Pure rules of the loan's side of dynamic collateral management (issue 12, points 4 and 5).

No Django imports (import-linter enforces it).  The maximum loan a valuation supports under a product's
caps is ``credit.engine.collateral.max_loan``'s (the rule approval uses); this module only compares a
loan's outstanding principal with it, dates the revaluation and the borrower reviews, and computes what
changed between two reviews.  The single-loan path (a repayment, a revaluation) and the set-based end of
day gather the same facts and call the same functions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from ippledge.core.calendar import add_months

RATIO = Decimal("0.000001")
DEFAULT_VALIDITY_MONTHS = 12
DEFAULT_REVIEW_MONTHS = 3
REVIEW_FIGURES = ("revenue", "profit", "liabilities", "staff")


# --- loan-to-value after disbursement ------------------------------------------------------------------

@dataclass(frozen=True)
class LtvPosition:
    """A loan against its collateral's current lender value (amounts in fen)."""

    outstanding: int
    market_value: int
    max_loan: int
    ltv: Decimal | None  # outstanding ÷ market value (6 dp); None without a value
    pledge_rate: Decimal | None  # maximum loan ÷ market value: the cap the product's rules allow
    shortfall: int  # outstanding − maximum loan when above it, else 0

    @property
    def breached(self) -> bool:
        return self.shortfall > 0


def ratio(numerator: int, denominator: int) -> Decimal | None:
    if denominator <= 0:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(RATIO, rounding=ROUND_HALF_UP)


def ltv_position(*, outstanding: int, market_value: int, max_loan: int) -> LtvPosition:
    """The loan is short of collateral when its outstanding principal is above the maximum loan the
    current valuation supports under the product's caps — the same test as at approval (amount above
    the maximum loan); the shortfall is what must be repaid or covered by more collateral."""
    return LtvPosition(outstanding=outstanding, market_value=market_value, max_loan=max_loan,
                       ltv=ratio(outstanding, market_value), pledge_rate=ratio(max_loan, market_value),
                       shortfall=max(0, outstanding - max_loan))


# --- the revaluation schedule -------------------------------------------------------------------------------

def revaluation_due(*, valuation_date: dt.date, valid_until: dt.date, validity_months: int | None) -> dt.date:
    """The last day a valuation stands for a loan: the earlier of its own validity and the product's
    (``validity_months`` after the valuation date; default 12 months)."""
    months = validity_months or DEFAULT_VALIDITY_MONTHS
    return min(valid_until, add_months(valuation_date, months))


def valuation_condition(due: dt.date, on: dt.date, lead_days: int) -> str | None:
    """``valuation_expired`` after the due day, ``valuation_expiring`` within ``lead_days`` of it, else None."""
    if on > due:
        return "valuation_expired"
    if on >= due - dt.timedelta(days=lead_days):
        return "valuation_expiring"
    return None


# --- periodic borrower reviews ----------------------------------------------------------------------------

def review_dates(start: dt.date, frequency_months: int | None, until: dt.date) -> list[dt.date]:
    """The review due dates from disbursement (``start`` + k × frequency, k ≥ 1) up to ``until``."""
    months = frequency_months or DEFAULT_REVIEW_MONTHS
    out, k = [], 1
    while (day := add_months(start, k * months)) <= until:
        out.append(day)
        k += 1
    return out


def next_review_due(*, start: dt.date, frequency_months: int | None, last_period_end: dt.date | None) -> dt.date:
    """The first review due date after the period the last review covered (after disbursement if none)."""
    months = frequency_months or DEFAULT_REVIEW_MONTHS
    after = last_period_end or start
    k = 1
    while (day := add_months(start, k * months)) <= after:
        k += 1
    return day


def review_overdue(*, start: dt.date, frequency_months: int | None, last_period_end: dt.date | None,
                   on: dt.date) -> dt.date | None:
    """The due date of the review the loan is waiting for on ``on``, or None when none is due yet."""
    due = next_review_due(start=start, frequency_months=frequency_months, last_period_end=last_period_end)
    return due if due <= on else None


def _change(before: int, after: int) -> dict:
    pct = None
    if before:
        pct = str((Decimal(after - before) * 100 / abs(Decimal(before))).quantize(Decimal("0.01"),
                                                                                  rounding=ROUND_HALF_UP))
    return {"before": before, "after": after, "change": after - before, "change_percent": pct}


def review_changes(previous: Mapping[str, int] | None, current: Mapping[str, int]) -> dict:
    """Each figure's change against the previous review (``before``/``after``/``change`` in the figure's
    unit — fen or heads — and ``change_percent`` as a 2-dp string, None from zero); empty for the first."""
    if previous is None:
        return {}
    return {name: _change(int(previous[name]), int(current[name])) for name in REVIEW_FIGURES}
