"""Calendar arithmetic on plain dates, one home for every engine (issue 10.11).  Pure module (no Django).

* Month steps (:func:`add_months`) keep the day of month, clamped to the target month's last day: a
  period with no corresponding day ends on the month's last day (Civil Code Art. 203).  31 Jan + 1 month
  is 29 Feb (2024) or 28 Feb; clamping loses days and never gains them, so stepping twice
  (31 Jan → 29 Feb → 29 Mar) can end earlier than one step of the sum (31 Mar): compute every date of a
  series from its start, never from the previous one.
* Year anniversaries (:func:`anniversary`) keep month and day; 29 February's anniversary in a common
  year is 1 March, so a term ending "the day before the anniversary" (:func:`day_before_anniversary`)
  ends on 28 February, the last day that exists before it.  ``add_months(d, 12 * n)`` differs from
  ``anniversary(d, n)`` only there (28 February instead of 1 March).
* Days are calendar days (:func:`days_between`).  Working days and the holiday table are
  :mod:`ippledge.core.business_date`'s, not this module's.
"""

from __future__ import annotations

import calendar as _std
import re
from datetime import date, datetime, timedelta
from typing import Any

from .errors import N_
from .exact import REQUIRED, invalid

DATE_FORMAT = N_("Enter a date as YYYY-MM-DD.")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def month_length(year: int, month: int) -> int:
    """Days in the month (28–31)."""
    return _std.monthrange(year, month)[1]


def month_end(year: int, month: int) -> date:
    """The month's last day."""
    return date(year, month, month_length(year, month))


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months (negative: back), the day clamped to the target month's last day."""
    year, month0 = divmod(day.year * 12 + day.month - 1 + months, 12)
    return date(year, month0 + 1, min(day.day, month_length(year, month0 + 1)))


def whole_months(start: date, end: date) -> int:
    """The largest k ≥ 0 with ``add_months(start, k) <= end`` (0 when end is less than a month away)."""
    k = (end.year - start.year) * 12 + (end.month - start.month)
    while k > 0 and add_months(start, k) > end:
        k -= 1
    return max(k, 0)


def anniversary(day: date, years: int) -> date:
    """``day`` moved ``years`` years on (negative: back); 29 February into a common year is 1 March."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year
        return date(day.year + years, 3, 1)


def day_before_anniversary(day: date, years: int) -> date:
    """The last day of a term of ``years`` years counted from ``day`` (the first day counts)."""
    return anniversary(day, years) - timedelta(days=1)


def days_between(start: date, end: date) -> int:
    """Calendar days from ``start`` to ``end`` (negative when end is earlier); ACT day counts use this."""
    return (end - start).days


def parse_date(value: Any, name: str, *, required: bool = False, code: str = "invalid_input") -> date | None:
    """A date given as ``date``/``datetime`` or as ``YYYY-MM-DD`` text; ``None`` or ``""`` is ``None``
    (or, when ``required``, a field error).  Compact (``20240101``) and week forms are refused."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise invalid(name, REQUIRED, code=code)
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = value.strip() if isinstance(value, str) else ""
    if _ISO_DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise invalid(name, DATE_FORMAT, code=code)
