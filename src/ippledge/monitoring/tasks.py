"""End-of-day monitoring jobs: the calendar watch over every pledged right, and overdue loans.

They run after the loan book's classification (order 50), which brings every loan's days past due
up to date, and before the passes other modules add for loan-to-value and reviews."""

from __future__ import annotations

import datetime as dt

from ippledge.core.eod import eod_job

from . import watch


@eod_job("monitoring.pledged_rights", order=60)
def pledged_rights(day: dt.date) -> dict:
    # Set-based (monitoring/watch.py): a few bulk queries, the pure rules per right, bulk writes of the
    # difference; it agrees with the per-right reference in tests/test_monitoring_alerts_watch.py.
    return watch.watch_rights(day)


@eod_job("monitoring.overdue_loans", order=61)
def overdue_loans(day: dt.date) -> dict:
    return watch.watch_loans(day)
