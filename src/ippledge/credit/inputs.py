"""Parsing the credit app's input: every amount, rate, date, count, choice and string goes through the
business limits of :mod:`ippledge.core.limits`, in the service, after the permission check.

The API schemas therefore accept any JSON value for these fields (typed loosely, documented as the
type they must be): a body that a stricter schema would refuse before the view ran would answer 422
to someone who may not use the route at all, instead of 403.

:class:`Checks` gathers the field errors of one request so that a single 422 names every bad field.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any

from django.utils.translation import gettext as _
from pydantic import WithJsonSchema

from ippledge.core import limits, money
from ippledge.core.errors import ValidationFailed

# --- loose schema types (the service parses) ------------------------------------------------------

Text = Annotated[Any, WithJsonSchema({"type": "string"})]
Decimal_ = Annotated[Any, WithJsonSchema({"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"})]
Day = Annotated[Any, WithJsonSchema({"type": "string", "format": "date"})]
Whole = Annotated[Any, WithJsonSchema({"type": "integer"})]
Flag = Annotated[Any, WithJsonSchema({"type": "boolean"})]
TextList = Annotated[Any, WithJsonSchema({"type": "array", "items": {"type": "string"}})]
WholeList = Annotated[Any, WithJsonSchema({"type": "array", "items": {"type": "integer"}})]
TextMap = Annotated[Any, WithJsonSchema({"type": "object", "additionalProperties": {"type": "string"}})]
WholeMap = Annotated[Any, WithJsonSchema({"type": "object", "additionalProperties": {"type": "integer"}})]
RightRefs = Annotated[Any, WithJsonSchema({"type": "array", "items": {
    "type": "object", "properties": {"kind": {"type": "string"}, "number": {"type": "string"}},
    "required": ["kind", "number"]}})]


def one_of(*values: str):
    return Annotated[Any, WithJsonSchema({"type": "string", "enum": list(values)})]


_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _fail(field: str, message: str, code: str = "validation_error") -> ValidationFailed:
    return ValidationFailed(message, code=code, fields={field: [message]})


class Checks:
    """Runs parsers and keeps their field errors; :meth:`done` raises one 422 with all of them."""

    def __init__(self) -> None:
        self.errors: dict[str, list[str]] = {}
        self.codes: list[str] = []

    def __call__(self, parse, *args, **kwargs):
        try:
            return parse(*args, **kwargs)
        except ValidationFailed as exc:
            self.add(exc)
            return None

    def add(self, exc: ValidationFailed) -> None:
        self.codes.append(exc.code)
        for key, messages in (exc.fields or {"body": [exc.localised(_)]}).items():
            self.errors.setdefault(key, []).extend(messages if isinstance(messages, list) else [messages])

    def fail(self, field: str, message: str, code: str = "validation_error") -> None:
        self.add(_fail(field, message, code))

    def done(self, message: str) -> None:
        if self.errors:
            codes = set(self.codes)
            raise ValidationFailed(message, code=codes.pop() if len(codes) == 1 else "validation_error",
                                   fields=self.errors)


# --- parsers ----------------------------------------------------------------------------------------

def fen(value, field: str, *, allow_zero: bool = False, max_yuan: int | None = None) -> int:
    """An amount in yuan (ASCII digits, at most two decimals, within the limit) as integer fen."""
    return money.to_fen(limits.amount(value, field=field, allow_zero=allow_zero, max_yuan=max_yuan))


def fraction(value, field: str, *, places: int = 6, max_percent: int | None = None,
             allow_negative: bool = False) -> Decimal:
    """A yearly rate as a fraction within the limit, with no more decimals than are kept."""
    result = limits.rate(value, field=field, max_percent=max_percent, allow_negative=allow_negative)
    if -result.as_tuple().exponent > places:
        raise _fail(field, _("At most %(places)s decimals.") % {"places": places}, "invalid_rate")
    return result


def day(value, field: str, *, today: dt.date, not_before: dt.date | None = None,
        not_after: dt.date | None = None) -> dt.date:
    """A calendar date as YYYY-MM-DD within what the business allows (see ``limits.business_date``)."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if not isinstance(value, dt.date):
        text = value.strip() if isinstance(value, str) else ""
        try:
            value = dt.date.fromisoformat(text) if _DATE.match(text) else None
        except ValueError:
            value = None
        if value is None:
            raise _fail(field, _("Enter a date as YYYY-MM-DD."), "invalid_date")
    return limits.business_date(value, field=field, today=today, not_before=not_before, not_after=not_after)


def whole(value, field: str, *, low: int = 0, high: int) -> int:
    if isinstance(value, float):
        raise _fail(field, _("Give a whole number from %(low)s to %(high)s.") % {"low": low, "high": high},
                    "out_of_range")
    return limits.count(value, field=field, low=low, high=high)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def text(value, field: str, *, max_length: int | None = None, required: bool = False) -> str:
    if value is not None and (isinstance(value, bool) or not isinstance(value, str | int)):
        raise _fail(field, _("Give text."))
    if isinstance(value, str) and _CONTROL.search(value):
        # NUL cannot be stored by PostgreSQL; the other control characters are never typed by a person.
        raise _fail(field, _("Control characters are not allowed."))
    return limits.text(value, field=field, max_length=max_length, required=required)


def short(value, field: str, *, required: bool = False, max_length: int | None = None) -> str:
    """Names, numbers and references: at most MAX_SHORT_TEXT characters (or the column's length)."""
    cap = limits.limit("MAX_SHORT_TEXT")
    return text(value, field, max_length=min(cap, max_length) if max_length else cap, required=required)


def choice(value, field: str, options, *, default: str | None = None) -> str:
    if value in (None, "") and default is not None:
        return default
    if not isinstance(value, str) or value not in options:
        raise _fail(field, _("Choose one of: %s") % ", ".join(options), "invalid_choice")
    return value


def flag(value, field: str, *, default: bool = False) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _fail(field, _("Give true or false."))
    return value


def entries(value, field: str, *, max_items: int | None = None) -> list:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise _fail(field, _("Give a list."))
    return limits.items(value, field=field, max_items=max_items)


def mapping(value, field: str, *, max_items: int | None = None) -> dict:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _fail(field, _("Give an object of names and values."))
    limits.items(list(value), field=field, max_items=max_items)
    return value


def optional_id(value, field: str) -> int | None:
    """A database id (or nothing): a positive whole number that fits the column."""
    if value in (None, ""):
        return None
    return whole(value, field, low=1, high=2**63 - 1)
