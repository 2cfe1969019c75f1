"""Exact numbers from input, and the one field error every engine raises (issue 10.11).

Every engine reads its numbers here, so "what is a number" has one answer:

* a ``Decimal`` (finite), an ``int`` (not ``bool``) or a decimal string: ASCII digits only
  (``"１２"`` and other Unicode digits are refused, although ``Decimal()`` would read them), an optional
  sign, fraction and exponent, surrounding spaces ignored; ``"1_000"``, ``"NaN"`` and ``"Infinity"`` are
  not numbers.  ``plain=True`` narrows the text to ``-?digits[.digits]`` (what the API documents for
  amounts and rates); ``thousands=True`` accepts ``1,234,567.89`` (commas in groups of three only);
* floats are refused (they are not exact) unless the caller passes ``floats=True`` for a parameter that
  code, not a person, gives; the float is then read by its shortest form (``repr``: 0.1 is 0.1);
* no business input needs more than :data:`MAX_MAGNITUDE` (10¹⁸) or more than :data:`MAX_DIGITS`
  significant digits (what the default context computes on exactly), so ``"1e400"`` is out of range;
  a computed total (a book's sum in fen can pass 2⁶³) passes ``magnitude=None`` to keep only the digits
  bound (below 10²⁸);
* the caller's bounds (``minimum``/``maximum`` inclusive, ``above``/``below`` exclusive), ``places``
  (counted on the value: ``"1.230"`` has two) and ``integer``.

Arguments are always ``(value, name)``; ``name`` is the input field the error names.  Every failure is
:func:`invalid`: a ``ValidationFailed`` with code ``invalid_input`` (or the caller's ``code``) and
``fields={name: [message]}``.

Pure module (no Django).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from .errors import N_, ValidationFailed

MAX_DIGITS = 28
MAX_MAGNITUDE = Decimal(10) ** 18

REQUIRED = N_("This field is required.")
FLOAT = N_("Give numbers as decimal strings, not floating-point numbers.")
NOT_A_NUMBER = N_("Not a number.")
OUT_OF_RANGE = N_("The number is out of range.")
BELOW_MINIMUM = N_("The number is below the allowed minimum.")
ABOVE_MAXIMUM = N_("The number is above the allowed maximum.")
WHOLE = N_("Enter a whole number.")
PLACES = N_("At most %(places)s decimals.")
NEGATIVE = N_("The value must not be negative.")
NEGATIVE_AMOUNT = N_("The amount must not be negative.")
FEN_PLACES = N_("Give the amount to the fen (at most two decimals).")
FRACTION = N_("Give a fraction between 0 and 1.")

_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_PLAIN = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_GROUPED = re.compile(r"([+-]?)([0-9]{1,3}(?:,[0-9]{3})+)((?:\.[0-9]*)?)")

Bound = Decimal | int | None


def invalid(name: str, message: str, *, code: str = "invalid_input", summary: str | None = None,
            **params: Any) -> ValidationFailed:
    """The error about one input field: ``fields={name: [message]}``, the message filled with ``params``.

    ``summary`` is the error's own message when it should differ from the field's (a form-level line).
    """
    shown = message % params if params else message
    return ValidationFailed(summary or message, code=code, fields={name: [shown]}, params=params)


def _places(value: Decimal) -> int:
    """Decimal places of the value, trailing zeros not counted (``1.230`` → 2, ``1E+3`` → 0)."""
    _, digits, exponent = value.as_tuple()
    zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return 0 if zeros == len(digits) else max(0, -(exponent + zeros))


def _significant(value: Decimal) -> int:
    digits = "".join(map(str, value.as_tuple().digits)).strip("0")
    return len(digits)


def _lex(value: Any, name: str, *, floats: bool, thousands: bool, plain: bool, code: str,
         message: str | None, magnitude: Bound) -> Decimal:
    """The value as a finite Decimal within the global bounds; everything else is a field error."""
    def fail(default: str, **params) -> ValidationFailed:
        return invalid(name, message or default, code=code, **({} if message else params))

    if isinstance(value, Decimal):
        parsed = value
    elif isinstance(value, bool):
        raise fail(NOT_A_NUMBER)
    elif isinstance(value, int):
        parsed = Decimal(value)
    elif isinstance(value, float):
        if not floats:
            raise fail(FLOAT)
        parsed = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip()
        if thousands and "," in text:
            grouped = _GROUPED.fullmatch(text)
            text = "".join(grouped.groups()).replace(",", "") if grouped else ","
        if not (_PLAIN if plain else _NUMBER).fullmatch(text):
            raise fail(NOT_A_NUMBER)
        parsed = Decimal(text)
    elif value is None:
        raise fail(REQUIRED)
    else:
        raise fail(NOT_A_NUMBER)
    if not parsed.is_finite():
        raise fail(NOT_A_NUMBER)
    # copy_abs and comparisons are exact (no context), so even 1e999999999999 is judged, not trapped.
    if ((magnitude is not None and parsed.copy_abs() > magnitude) or parsed.adjusted() >= MAX_DIGITS
            or _significant(parsed) > MAX_DIGITS):
        raise fail(OUT_OF_RANGE)
    return parsed


def decimal(value: Any, name: str, *, minimum: Bound = None, maximum: Bound = None, above: Bound = None,
            below: Bound = None, places: int | None = None, integer: bool = False, floats: bool = False,
            thousands: bool = False, plain: bool = False, magnitude: Bound = MAX_MAGNITUDE,
            code: str = "invalid_input", message: str | None = None, range_message: str | None = None) -> Decimal:
    """An exact number (see the module docstring), returned as given (``"1.50"`` stays ``1.50``).

    ``message`` replaces every message about the form of the value, ``range_message`` those about the
    bounds; ``code`` is the error code of both.
    """
    parsed = _lex(value, name, floats=floats, thousands=thousands, plain=plain, code=code, message=message,
                  magnitude=magnitude)
    if integer and _places(parsed):
        raise invalid(name, message or WHOLE, code=code)
    if places is not None and _places(parsed) > places:
        raise invalid(name, message or PLACES, code=code, **({} if message else {"places": places}))
    if (minimum is not None and parsed < minimum) or (above is not None and parsed <= above):
        raise invalid(name, range_message or BELOW_MINIMUM, code=code)
    if (maximum is not None and parsed > maximum) or (below is not None and parsed >= below):
        raise invalid(name, range_message or ABOVE_MAXIMUM, code=code)
    return parsed


def optional_decimal(value: Any, name: str, **kwargs: Any) -> Decimal | None:
    """:func:`decimal`, or ``None`` when the value is ``None`` or ``""`` (a field left empty)."""
    if value is None or (isinstance(value, str) and value == ""):
        return None
    return decimal(value, name, **kwargs)


def non_negative(value: Any, name: str, **kwargs: Any) -> Decimal:
    """A number of zero or more."""
    kwargs.setdefault("range_message", NEGATIVE)
    return decimal(value, name, minimum=0, **kwargs)


def amount(value: Any, name: str, *, places: int = 2, **kwargs: Any) -> Decimal:
    """A non-negative amount with at most ``places`` decimals (the fen), given back with exactly ``places``.

    ``"1000.001"`` is refused rather than rounded: an amount a person typed is never silently changed.
    """
    kwargs.setdefault("range_message", NEGATIVE_AMOUNT)
    parsed = decimal(value, name, minimum=0, **kwargs)
    if _places(parsed) > places:
        message = kwargs.get("message") or (FEN_PLACES if places == 2 else PLACES)
        raise invalid(name, message, code=kwargs.get("code", "invalid_input"),
                      **({"places": places} if message == PLACES else {}))
    return parsed.quantize(Decimal(1).scaleb(-places))


def fraction(value: Any, name: str, *, minimum: Bound = 0, maximum: Bound = 1, **kwargs: Any) -> Decimal:
    """A share or rate as a fraction: 0 ≤ value ≤ 1 unless the bounds say otherwise (``below=1`` for < 1)."""
    kwargs.setdefault("range_message", FRACTION)
    if kwargs.get("below") is not None:
        maximum = None
    return decimal(value, name, minimum=minimum, maximum=maximum, **kwargs)


def whole(value: Any, name: str, **kwargs: Any) -> int:
    """A whole number (``"12"``, ``12``, ``Decimal("12.0")``) as ``int``, within the bounds given."""
    return int(decimal(value, name, integer=True, **kwargs))
