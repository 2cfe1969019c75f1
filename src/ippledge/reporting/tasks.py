"""Reporting's end-of-day jobs: month-end balance snapshots, and each bank's quarterly report workbook
after a quarter ends."""

from __future__ import annotations

import datetime as dt

from ippledge.core.actors import SYSTEM
from ippledge.core.eod import eod_job

from . import services, snapshots


# After the loan book's classification (credit, order 50), so a month's last day is snapshotted with
# that day's categories; before the quarterly files (80), which then read the snapshot.
@eod_job("reporting.balance_snapshots", order=70)
def balance_snapshots(day: dt.date) -> dict:
    return {"month_ends": snapshots.refresh(actor=SYSTEM, day=day)}


@eod_job("reporting.quarterly_files", order=80)
def quarterly(day: dt.date) -> dict:
    return {"files": services.quarterly_files(day)}
