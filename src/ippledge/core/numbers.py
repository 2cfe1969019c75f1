"""Public number series: allocated inside the caller's transaction under a row lock, so numbers are
unique, gap-free among committed rows and never reused."""

from __future__ import annotations

from django.db import IntegrityError, connection, transaction

from .models import NumberSeries


def next_value(series: str, count: int = 1) -> int:
    """Reserve ``count`` consecutive values and return the first.

    One ``UPDATE … RETURNING`` takes the row lock and the value together (SQLite ≥ 3.35 and
    PostgreSQL); a series' first use creates its row.
    """
    table = NumberSeries._meta.db_table
    # A single UPDATE is atomic on its own; the surrounding transaction holds the row lock to commit.
    with transaction.atomic(savepoint=False):
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {table} SET next_value = next_value + %s WHERE name = %s RETURNING next_value",
                           [count, series])
            row = cursor.fetchone()
        if row is not None:
            return row[0] - count
        try:
            with transaction.atomic():
                NumberSeries.objects.create(name=series, next_value=1 + count)
            return 1
        except IntegrityError:  # created concurrently: take the ordinary path
            return next_value(series, count)


def next_number(series: str, prefix: str, width: int = 6) -> str:
    """E.g. ``next_number("pledge-app-2026", "Y2026")`` → ``Y2026000001``."""
    return f"{prefix}{next_value(series):0{width}d}"
