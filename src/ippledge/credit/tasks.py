"""The loan book's end-of-day job: DPD and five-category classification of every open loan."""

from __future__ import annotations

import datetime as dt

from ippledge.core.eod import eod_job

from . import services


@eod_job("credit.classify_loans", order=50)
def classify(day: dt.date) -> dict:
    return services.classify_book(day)
