"""Business limits: the largest amount, rate, term, count and text a request may carry.

One table, read by every service that parses input, so a stranger's request can never carry a loan of
10²⁰ yuan or ten thousand pledgors. Operators can change any limit with an environment variable
``IPPLEDGE_LIMIT_<NAME>`` (e.g. ``IPPLEDGE_LIMIT_MAX_AMOUNT_YUAN=50000000000``).

Pure module (no Django): the checks raise ``ValidationFailed`` with a field error, which the API
answers as 422.
"""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal

from . import exact
from .errors import N_, ValidationFailed

# Defaults sized for IP-pledge lending in China: the largest single IP-pledge facility on record is a
# few billion yuan, so 100 亿元 leaves room without letting sums approach 64-bit limits
# (10¹² fen × 10⁶ loans stays below 9.2 × 10¹⁸).
DEFAULTS: dict[str, int] = {
    "MAX_AMOUNT_YUAN": 10_000_000_000,     # 100 亿元 per amount
    "MAX_RATE_PERCENT": 36,                 # the judicial ceiling on private lending is far below this
    "MAX_TERM_MONTHS": 360,
    "MAX_INSTALMENTS": 360,
    "MAX_PARTIES": 50,                      # pledgors, pledgees, co-owners per application
    "MAX_RIGHTS": 500,                      # rights in one application or bundle
    "MAX_TEXT": 2000,                       # free text (reasons, notes, statements)
    "MAX_SHORT_TEXT": 200,                  # names, contract numbers, references
    "MAX_LIST": 1000,                       # any other list in a request body
    "EXPORT_ROWS": 100_000,                 # rows in one CSV/Excel export of a work list
    "MAX_STAFF": 10_000_000,                # an enterprise's staff: more than the largest employer
    "MAX_HOUSEHOLDS": 10_000_000,           # borrowers in a bank's yearly credit plan
    "MIN_YEAR": 1985,                       # the Patent Law took effect on 1985-04-01
    "MAX_YEARS_AHEAD": 50,                  # dates later than today + 50 years are typing errors
    "MAX_BODY_BYTES": 2_621_440,            # 2.5 MiB per request body
    "MAX_UPLOAD_BYTES": 11_534_336,         # a 10 MiB evidence file and its form, as multipart
}

def limit(name: str) -> int:
    raw = os.environ.get(f"IPPLEDGE_LIMIT_{name}")
    if raw is not None:
        try:
            return int(raw)
        except ValueError:
            pass
    return DEFAULTS[name]


def _fail(field: str, message: str, code: str = "validation_error", **params) -> ValidationFailed:
    return exact.invalid(field, message, code=code, **params)


def amount(value: object, *, field: str = "amount", allow_zero: bool = False,
           max_yuan: int | None = None) -> Decimal:
    """A positive yuan amount with at most two decimals, ASCII digits only, within the limit.

    Read by ``core.exact`` in its plain form (``-?digits[.digits]``, thousands separators in groups of
    three).  ``"1000.001"`` is refused rather than rounded: an amount a person typed is never silently
    changed.
    """
    if isinstance(value, float):
        raise _fail(field, exact.FLOAT, "invalid_amount")
    result = exact.decimal(value, field, plain=True, thousands=True, places=2, code="invalid_amount",
                           message=N_("Give the amount in yuan with digits 0-9 and at most two decimals."))
    if result < 0 or (result == 0 and not allow_zero):
        raise _fail(field, N_("The amount must be greater than zero."), "invalid_amount")
    cap = max_yuan if max_yuan is not None else limit("MAX_AMOUNT_YUAN")
    if result > cap:
        raise _fail(field, N_("The amount may not exceed %(cap)s yuan."), "amount_out_of_range", cap=f"{cap:,}")
    return result


def rate(value: object, *, field: str = "rate", max_percent: int | None = None,
         allow_negative: bool = False) -> Decimal:
    """A yearly rate as a decimal fraction (0.0385 = 3.85 %), within the limit."""
    result = exact.decimal(value, field, plain=True, places=8, maximum=999, minimum=-999, code="invalid_rate",
                           message=N_("Give the rate as a decimal string, e.g. 0.0385."),
                           range_message=N_("Give the rate as a decimal string, e.g. 0.0385."))
    cap = Decimal(max_percent if max_percent is not None else limit("MAX_RATE_PERCENT")) / 100
    if result > cap or (result < 0 and not allow_negative) or result < -cap:
        raise _fail(field, N_("The rate must lie between 0 and %(cap)s."), "rate_out_of_range", cap=str(cap))
    return result


def count(value: object, *, field: str, low: int = 0, high: int) -> int:
    """A whole number from ``low`` to ``high`` (ASCII digits, no decimals); one message for every failure."""
    try:
        return exact.whole(value, field, minimum=low, maximum=high, plain=True)
    except ValidationFailed:
        raise _fail(field, N_("Give a whole number from %(low)s to %(high)s."), "out_of_range",
                    low=low, high=high) from None


def has_control_characters(value: str) -> bool:
    """Control characters (NUL above all, which PostgreSQL cannot store) are never part of business text;
    line breaks and tabs are."""
    return any(ord(ch) < 32 and ch not in "\n\r\t" for ch in value)


def text(value: object, *, field: str, max_length: int | None = None, required: bool = False) -> str:
    result = "" if value is None else str(value).strip()
    cap = max_length if max_length is not None else limit("MAX_TEXT")
    if len(result) > cap:
        raise _fail(field, N_("At most %(cap)s characters."), "too_long", cap=cap)
    if has_control_characters(result):
        raise _fail(field, N_("Remove the control characters from this text."), "invalid_text")
    if required and not result:
        raise _fail(field, N_("This field is required."), "validation_error")
    return result


def items(value: list | tuple | None, *, field: str, max_items: int | None = None) -> list:
    result = list(value or [])
    cap = max_items if max_items is not None else limit("MAX_LIST")
    if len(result) > cap:
        raise _fail(field, N_("At most %(cap)s entries."), "too_many", cap=cap)
    return result


def business_date(value: dt.date, *, field: str, today: dt.date, not_before: dt.date | None = None,
                  not_after: dt.date | None = None) -> dt.date:
    """A date within what the business allows: not before MIN_YEAR (or ``not_before``) and not more than
    MAX_YEARS_AHEAD years after ``today`` (or ``not_after``)."""
    low = not_before or dt.date(limit("MIN_YEAR"), 1, 1)
    high = not_after or dt.date(min(today.year + limit("MAX_YEARS_AHEAD"), 9998), 12, 31)
    if not (low <= value <= high):
        raise _fail(field, N_("The date must lie between %(low)s and %(high)s."), "date_out_of_range",
                    low=low.isoformat(), high=high.isoformat())
    return value
