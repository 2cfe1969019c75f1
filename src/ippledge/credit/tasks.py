"""The loan book's end-of-day job: DPD and five-category classification of every open loan."""

from __future__ import annotations

import datetime as dt

from ippledge.core.eod import eod_job

from . import bulk


@eod_job("credit.classify_loans", order=50)
def classify(day: dt.date) -> dict:
    # Set-based: DPD in SQL and the rules vectorised over the whole book (benchmarks/credit.py); it
    # agrees with the per-loan reference (tests/classification_oracle.py) loan for loan (tests/test_credit_bulk.py).
    return bulk.classify_book_bulk(day)
