"""The Loan Prime Rate table: seeded from the shipped history, extended by administrators monthly.

Staleness (lending-rules.md §4): the LPR is fixed on the 20th of each month, or the next working day
of the business calendar (:mod:`ippledge.core.business_date`) when the 20th is not one.  A month's
fixing is *missing* on day d when its expected date is on or before d and no fixing of that tenor is
recorded in that month (a fixing recorded on another day of the month counts: the calendar may lack a
holiday).  Pricing on a day when a fixing after the one in force is missing carries a warning
(:func:`staleness`, code ``lpr_stale``); the administrators' page lists every missing fixing.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from importlib import resources

from django.db import transaction
from django.utils.translation import gettext as _

from ippledge.core import audit, business_date, limits
from ippledge.core.errors import NotFound, PermissionDenied, ValidationFailed

from . import inputs
from .models import LprFixing, Tenor


def shipped_fixings() -> list[tuple[dt.date, str, Decimal]]:
    """Parse the chinamoney export (``date<TAB>,1y,5y,``; header first; newest first)."""
    text = resources.files("ippledge.credit").joinpath("data/lpr_history.csv").read_text(encoding="utf-8-sig")
    rows = []
    for record in csv.reader(io.StringIO(text)):
        if len(record) < 3:
            continue
        try:
            day = dt.date.fromisoformat(record[0].strip())
        except ValueError:
            continue  # the header row
        rows.append((day, Tenor.ONE_YEAR, Decimal(record[1].strip())))
        rows.append((day, Tenor.FIVE_YEAR, Decimal(record[2].strip())))
    return rows


def rate_in_force(day: dt.date, tenor: str = Tenor.ONE_YEAR) -> LprFixing:
    """The latest fixing dated on or before ``day``."""
    if tenor not in Tenor.values:
        raise ValidationFailed(_("Choose 1y or 5y."), code="invalid_tenor", fields={"tenor": [_("Choose 1y or 5y.")]})
    fixing = LprFixing.objects.filter(tenor=tenor, fixing_date__lte=day).order_by("-fixing_date").first()
    if fixing is None:
        raise NotFound(_("No LPR fixing on or before this date."), code="lpr_not_found")
    return fixing


FIXING_DAY = 20


def expected_fixing_date(year: int, month: int) -> dt.date:
    """The 20th of the month, or the next working day of the business calendar."""
    day = dt.date(year, month, FIXING_DAY)
    while not business_date.is_working_day(day):
        day += dt.timedelta(days=1)
    return day


def _months_after(first: dt.date, last: dt.date) -> list[tuple[int, int]]:
    """(year, month) of every month after ``first``'s, up to and including ``last``'s."""
    months = []
    year, month = first.year, first.month
    while (year, month) < (last.year, last.month):
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        months.append((year, month))
    return months


def missing_fixings(on: dt.date, tenor: str = Tenor.ONE_YEAR, *, after: dt.date | None = None) -> list[dt.date]:
    """Expected fixing dates on or before ``on`` whose month has no recorded fixing of ``tenor``.

    Months after ``after``'s month are checked (by default after the first recorded fixing's: the
    table's start); oldest first.
    """
    fixings = LprFixing.objects.filter(tenor=tenor)
    if after is None:
        after = fixings.order_by("fixing_date").values_list("fixing_date", flat=True).first()
        if after is None:
            return []
    recorded = {(d.year, d.month) for d in fixings.filter(fixing_date__gt=after).dates("fixing_date", "month")}
    missing = []
    for year, month in _months_after(after, on):
        if (year, month) in recorded:
            continue
        expected = expected_fixing_date(year, month)
        if expected <= on:
            missing.append(expected)
    return missing


def staleness(on: dt.date, fixing: LprFixing) -> dict | None:
    """The warning a quote priced on ``on`` with ``fixing`` carries, or None when no later fixing is missing.

    ``{"code": "lpr_stale", "message", "missing": first missing expected date, "missing_dates",
    "fixing_used": the date of the fixing used, "rate_used", "tenor"}`` (dates ISO, rate in percent).
    """
    missing = missing_fixings(on, fixing.tenor, after=fixing.fixing_date)
    if not missing:
        return None
    message = _("The LPR fixing expected on %(missing)s is not recorded: this price uses the fixing of "
                "%(used)s. A platform administrator enters the missing fixing.") % {
        "missing": missing[0].isoformat(), "used": fixing.fixing_date.isoformat()}
    return {"code": "lpr_stale", "message": message, "missing": missing[0].isoformat(),
            "missing_dates": [d.isoformat() for d in missing], "fixing_used": fixing.fixing_date.isoformat(),
            "rate_used": str(fixing.rate), "tenor": fixing.tenor}


def may_manage(actor) -> bool:
    """Only a platform administrator enters LPR fixings (and sees the page that asks for them)."""
    return bool(getattr(actor, "is_authenticated", False) and actor.is_platform_admin)


@transaction.atomic
def enter_fixing(*, actor, fixing_date, tenor, rate) -> LprFixing:
    """An administrator enters (or corrects) a published fixing; the rate is in percent as published."""
    if not may_manage(actor):
        raise PermissionDenied(_("Only a platform administrator may enter LPR fixings."))
    check = inputs.Checks()
    day = check(inputs.day, fixing_date, "fixing_date", today=business_date.today())
    tenor = check(inputs.choice, tenor, "tenor", Tenor.values)
    # Percent with the four decimals the table keeps, within the rate limit (expressed in percent here).
    rate = check(inputs.fraction, rate, "rate", places=4, max_percent=limits.limit("MAX_RATE_PERCENT") * 100)
    if rate is not None and rate <= 0:
        check.fail("rate", _("The LPR is a positive rate in percent, e.g. 3.45."), "rate_out_of_range")
    check.done(_("Give the fixing date, the tenor (1y or 5y) and the rate in percent, e.g. 3.45."))
    fixing, created = LprFixing.objects.update_or_create(fixing_date=day, tenor=tenor,
                                                         defaults={"rate": rate, "source": "entered",
                                                                   "entered_by": actor})
    audit.record(actor=actor, action="lpr.enter" if created else "lpr.correct", obj=fixing,
                 object_repr=f"{tenor} {day}", after={"rate": rate})
    return fixing
