"""The platform's "today": the Asia/Shanghai calendar date, or an admin's override in simulation mode.

Domain code asks ``business_date.today()``; nothing calls ``date.today()``.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from .models import BusinessDateChange, Holiday

BEIJING = ZoneInfo("Asia/Shanghai")


def real_today() -> dt.date:
    return timezone.now().astimezone(BEIJING).date()


def override() -> dt.date | None:
    if not settings.ALLOW_BUSINESS_DATE:
        return None
    latest = BusinessDateChange.objects.order_by("-id").first()
    return latest.date if latest else None


def today() -> dt.date:
    return override() or real_today()


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
    entries = {h.date: h.is_working_day for h in Holiday.objects.filter(date__gt=start, date__lte=end)}
    count, current = 0, start
    while current < end:
        current += dt.timedelta(days=1)
        count += entries.get(current, current.weekday() < 5)
    return count


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The date ``days`` working days after ``start`` (start itself not counted)."""
    entries = {h.date: h.is_working_day for h in Holiday.objects.filter(
        date__gt=start, date__lte=start + dt.timedelta(days=days * 3 + 30))}
    current, left = start, days
    while left > 0:
        current += dt.timedelta(days=1)
        if entries.get(current, current.weekday() < 5):
            left -= 1
    return current
