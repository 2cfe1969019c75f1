"""The platform's "today": the Asia/Shanghai calendar date, or an admin's override in simulation mode.

Domain code asks ``business_date.today()``; nothing calls ``date.today()``.
"""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from contextvars import ContextVar
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from .models import BusinessDateChange, Holiday

BEIJING = ZoneInfo("Asia/Shanghai")
# Within ``calendar_for``: (first day, last day, the holiday table between them, today).
_calendar: ContextVar[tuple[dt.date, dt.date, dict, dt.date] | None] = ContextVar("calendar", default=None)


def real_today() -> dt.date:
    return timezone.now().astimezone(BEIJING).date()


def override() -> dt.date | None:
    if not settings.ALLOW_BUSINESS_DATE:
        return None
    latest = BusinessDateChange.objects.order_by("-id").first()
    return latest.date if latest else None


def today() -> dt.date:
    cal = _calendar.get()
    if cal is not None:
        return cal[3]
    return override() or real_today()


@contextmanager
def calendar_for(start: dt.date | None, end: dt.date | None = None):
    """Within the block, working days after ``start`` (to ``end``, by default a year after today) are
    counted from one read of the holiday table, and today is read once: for lists that compute a due
    date per row (one query per list, not two per row).  ``start`` None: nothing is read ahead."""
    if not start:
        yield
        return
    now = today()
    end = end or max(now, start) + dt.timedelta(days=366)
    entries = {h.date: h.is_working_day for h in Holiday.objects.filter(date__gt=start, date__lte=end)}
    token = _calendar.set((start, end, entries, now))
    try:
        yield
    finally:
        _calendar.reset(token)


def _holidays(start: dt.date, end: dt.date) -> dict[dt.date, bool]:
    """{day: is a working day} of the holiday table after ``start`` up to ``end``."""
    cal = _calendar.get()
    if cal is not None and cal[0] <= start and end <= cal[1]:
        return cal[2]
    return {h.date: h.is_working_day for h in Holiday.objects.filter(date__gt=start, date__lte=end)}


def beijing_date(moment: dt.datetime) -> dt.date:
    return moment.astimezone(BEIJING).date()


def is_working_day(day: dt.date) -> bool:
    entry = Holiday.objects.filter(date=day).first()
    if entry is not None:
        return entry.is_working_day
    return day.weekday() < 5


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when ``end`` is not later)."""
    if end <= start:
        return 0
    entries = _holidays(start, end)
    count, current = 0, start
    while current < end:
        current += dt.timedelta(days=1)
        count += entries.get(current, current.weekday() < 5)
    return count


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The date ``days`` working days after ``start`` (start itself not counted)."""
    entries = _holidays(start, start + dt.timedelta(days=days * 3 + 30))
    current, left = start, days
    while left > 0:
        current += dt.timedelta(days=1)
        if entries.get(current, current.weekday() < 5):
            left -= 1
    return current
