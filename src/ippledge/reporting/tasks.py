"""Reporting's end-of-day job: each bank's quarterly report workbook after a quarter ends."""

from __future__ import annotations

import datetime as dt

from ippledge.core.eod import eod_job

from . import services


@eod_job("reporting.quarterly_files", order=80)
def quarterly(day: dt.date) -> dict:
    return {"files": services.quarterly_files(day)}
