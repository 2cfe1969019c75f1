"""The Loan Prime Rate table: seeded from the shipped history, extended by administrators monthly."""

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


@transaction.atomic
def enter_fixing(*, actor, fixing_date, tenor, rate) -> LprFixing:
    """An administrator enters (or corrects) a published fixing; the rate is in percent as published."""
    if not (getattr(actor, "is_authenticated", False) and actor.is_platform_admin):
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
