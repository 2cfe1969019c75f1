"""Public number series: allocated inside the caller's transaction under a row lock, so numbers are
unique, gap-free among committed rows and never reused."""

from __future__ import annotations

from django.db import transaction

from .models import NumberSeries


def next_value(series: str) -> int:
    with transaction.atomic():
        row, _ = NumberSeries.objects.select_for_update().get_or_create(name=series)
        value = row.next_value
        NumberSeries.objects.filter(pk=row.pk).update(next_value=value + 1)
    return value


def next_number(series: str, prefix: str, width: int = 6) -> str:
    """E.g. ``next_number("pledge-app-2026", "Y2026")`` → ``Y2026000001``."""
    return f"{prefix}{next_value(series):0{width}d}"
