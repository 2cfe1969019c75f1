"""The loans behind a figure and a bank's IP-pledge book, as the API and the pages ask for them.

Both are readings of the one set-based path: :mod:`ippledge.reporting.sql` gathers the facts and
:mod:`ippledge.reporting.engine.statistics` decides, exactly as for the report, so a loan is judged
once.  (The Python reference that used to live here is ``tests/reporting_oracle.py``.)
"""

from __future__ import annotations

import datetime as dt

from ippledge.core.models import Organisation

from .engine.statistics import DIMENSIONS
from .sql import ip_book_sql, loans_behind_sql

__all__ = ["DIMENSIONS", "ip_book", "loans_behind"]


def loans_behind(*, period: str, filters: dict, bank_ids: set[int] | None = None, limit: int = 1000) -> dict:
    return loans_behind_sql(period=period, filters=filters, bank_ids=bank_ids, limit=limit)


def ip_book(bank: Organisation, end: dt.date, *, inclusive_only: bool = False) -> tuple[int, int]:
    """(NPL balance, balance) in fen of the bank's IP-pledge book (its own loans and its branches')."""
    return ip_book_sql({bank.pk}, end, inclusive_only)[bank.pk]
