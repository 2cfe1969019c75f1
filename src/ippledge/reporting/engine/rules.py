"""Reporting rules: statistical periods, NPL ratios, the 3-percentage-point tolerance, growth, scorecard.

Pure module (no Django), exact ``Decimal`` arithmetic; amounts are integer fen, floats are refused
(except :func:`scorecard`'s ``median_registration_seconds``, a measured duration).
Sources: lending-rules.md §2 (NPL ratio and tolerance, notice item 十一) and §3 (statistics).

Periods (:func:`parse_period`)
------------------------------
``"2026Q3"`` (also ``"2026-Q3"``, lower case q) is a quarter, ``"2026-09"`` (``"2026-9"``) a month,
``"2026"`` a year; years 1900–9999.  ``start``/``end`` are the first and last calendar days, both
included; ``label`` is the canonical spelling (``2026Q3``, ``2026-09``, ``2026``).  Anything else raises
``ValidationFailed`` with code ``invalid_period``.  Year-to-date figures (当年累放) run from
``period.year_start`` to ``period.end``.  :func:`previous_year` is the same period a year earlier.

Ratios and the tolerance (:func:`npl_ratio`, :func:`tolerance`)
---------------------------------------------------------------
Ratios are percentages, ``Decimal`` with 4 decimals (half up); ``None`` when the balance is 0.
The tolerance test ("IP-pledge NPL ratio at most 3 percentage points above the overall ratio, 含 3")
is decided on the *exact* rational ratios, never on rounded or binary-float ones, so 4.4 % vs 1.4 %
(gap exactly 3) is within and a gap of 3.0001 is not.  The same function serves the inclusive
small/micro (普惠型小微) test: pass that segment's balances.  ``gap_pp`` is the exact gap rounded
half up to 4 decimals, except that a failing gap which would round down onto ``points`` (3.00004) is
rounded up (3.0001), so the shown gap is ≤ ``points`` exactly when the test passes.
Strings are rendered by :func:`percent_str`: at least 2 decimals, up to 4 (``"4.40"``, ``"3.0125"``).

Scorecard (:func:`scorecard`)
-----------------------------
Five components, each 0–100, weighted by :data:`DEFAULT_WEIGHTS` (or the caller's weights: exactly
these keys, non-negative, summing to exactly 100; else ``invalid_weights``):

* ``plan`` (30): mean of households / plan_households and amount_lent / plan_amount, each capped at
  100 %; a plan that is missing or 0 is left out of the mean; no plan at all scores 0.
* ``first_loan`` (20): first_loan_households / households_total (0 when nobody was lent to).
* ``inclusive`` (20): inclusive_amount / amount_total (0 when nothing was lent).
* ``npl`` (20): 100 when npl_gap_pp ≤ points (3, inclusive) or is ``None`` (no IP-pledge book, nothing
  to deduct); beyond, it falls linearly to 0 at points + ``npl_span`` (5) percentage points.
* ``speed`` (10): best / own median_registration_seconds, where best is the fastest bank in the list
  (the fastest scores 100); a bank with no registrations (``None``) scores 0.

``total`` = Σ weight × score / 100; component scores and the total are shown with 2 decimals (half
up) and the total is computed from the unrounded scores.  Banks come back best first; banks with the
same shown total share a rank (1, 1, 3), and keep their input order among themselves.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from ippledge.core.calendar import month_end
from ippledge.core.errors import N_, ValidationFailed

HUNDRED = Decimal(100)
TOLERANCE_POINTS = Decimal(3)
NPL_SPAN_POINTS = Decimal(5)
MIN_YEAR, MAX_YEAR = 1900, 9999
COMPONENTS: tuple[str, ...] = ("plan", "first_loan", "inclusive", "npl", "speed")
DEFAULT_WEIGHTS: dict[str, Decimal] = {
    "plan": Decimal(30),
    "first_loan": Decimal(20),
    "inclusive": Decimal(20),
    "npl": Decimal(20),
    "speed": Decimal(10),
}

_QUARTER = re.compile(r"([0-9]{4})-?Q([1-4])")
_MONTH = re.compile(r"([0-9]{4})-([0-9]{1,2})")
_YEAR = re.compile(r"([0-9]{4})")
_PERIOD_MESSAGE = N_("Not a valid period: give a quarter (2026Q3), a month (2026-09) or a year (2026).")


# --------------------------------------------------------------------------------------------- periods


@dataclass(frozen=True)
class Period:
    kind: str  # "quarter" | "month" | "year"
    year: int
    start: date
    end: date
    label: str

    @property
    def year_start(self) -> date:
        """1 January of the period's year: where year-to-date (当年累放) figures start."""
        return date(self.year, 1, 1)

    @property
    def number(self) -> int | None:
        """The quarter (1–4) or month (1–12); ``None`` for a year."""
        if self.kind == "quarter":
            return (self.start.month - 1) // 3 + 1
        if self.kind == "month":
            return self.start.month
        return None

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def __str__(self) -> str:
        return self.label


def _invalid_period() -> ValidationFailed:
    return ValidationFailed(_PERIOD_MESSAGE, code="invalid_period", fields={"period": [_PERIOD_MESSAGE]})


def _make_period(kind: str, year: int, number: int | None = None) -> Period:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise _invalid_period()
    if kind == "quarter":
        first, last = 3 * number - 2, 3 * number
        label = f"{year:04d}Q{number}"
    elif kind == "month":
        first = last = number
        label = f"{year:04d}-{number:02d}"
    else:
        first, last = 1, 12
        label = f"{year:04d}"
    end = month_end(year, last)
    return Period(kind=kind, year=year, start=date(year, first, 1), end=end, label=label)


def parse_period(value: Any) -> Period:
    """``"2026Q3"`` | ``"2026-09"`` | ``"2026"`` → :class:`Period`; anything else → ``invalid_period``."""
    if isinstance(value, Period):
        return value
    if not isinstance(value, str):
        raise _invalid_period()
    text = value.strip().upper()
    if m := _QUARTER.fullmatch(text):
        return _make_period("quarter", int(m[1]), int(m[2]))
    if m := _MONTH.fullmatch(text):
        month = int(m[2])
        if not 1 <= month <= 12:
            raise _invalid_period()
        return _make_period("month", int(m[1]), month)
    if m := _YEAR.fullmatch(text):
        return _make_period("year", int(m[1]))
    raise _invalid_period()


def previous_year(period: Period | str) -> Period:
    """The same quarter, month or year one year earlier (for year-on-year growth)."""
    p = parse_period(period)
    return _make_period(p.kind, p.year - 1, p.number)


# ------------------------------------------------------------------------------------------ numbers


def _invalid(name: str, message: str, code: str = "invalid_input") -> ValidationFailed:
    return ValidationFailed(message, code=code, fields={name: [message]})


def _number(value: Any, name: str) -> Decimal:
    """An exact number: int, Decimal or decimal string; floats and booleans are refused."""
    if isinstance(value, Decimal):
        parsed = value
    elif isinstance(value, bool | float) or value is None:
        raise _invalid(name, N_("Give numbers as integers or decimal strings, not floating-point numbers."))
    else:
        try:
            parsed = Decimal(str(value).strip())
        except (InvalidOperation, ValueError):
            raise _invalid(name, N_("Not a number.")) from None
    if not parsed.is_finite():
        raise _invalid(name, N_("Not a number."))
    return parsed


def _fen(value: Any, name: str) -> int:
    """A non-negative whole amount of fen (or a count)."""
    amount = _number(value, name)
    if amount < 0 or amount != amount.to_integral_value():
        raise _invalid(name, N_("Must be a whole number, zero or more."))
    return int(amount)


def percent_str(value: Decimal | int | str | None, places: int = 2, max_places: int = 4) -> str | None:
    """A percentage as text with at least ``places`` and at most ``max_places`` decimals (half up).

    ``Decimal("4.4")`` → ``"4.40"``; ``Decimal("3.0125")`` → ``"3.0125"``; ``None`` → ``None``.
    """
    if value is None:
        return None
    number = _number(value, "percent").quantize(Decimal(1).scaleb(-max_places), rounding=ROUND_HALF_UP)
    if number == 0:
        number = abs(number)
    whole, _, frac = format(number, "f").partition(".")
    frac = frac.rstrip("0").ljust(places, "0")
    return f"{whole}.{frac}" if frac else whole


def _ratio_exact(npl: int, balance: int) -> Fraction | None:
    return None if balance == 0 else Fraction(npl * 100, balance)


def _to_decimal(value: Fraction, rounding: str = ROUND_HALF_UP, places: int = 4) -> Decimal:
    """Round an exact rational to ``places`` decimals in integer arithmetic (one rounding step, no double rounding).

    ``ROUND_HALF_UP`` rounds halves away from zero (as ``Decimal`` does); ``ROUND_CEILING`` towards +∞.
    """
    sign = -1 if value < 0 else 1
    quotient, remainder = divmod(abs(value.numerator) * 10**places, value.denominator)
    if rounding == ROUND_CEILING:
        if remainder and sign > 0:
            quotient += 1
    elif 2 * remainder >= value.denominator:
        quotient += 1
    result = Decimal(sign * quotient).scaleb(-places)
    return abs(result) if result == 0 else result


def share(part: int, whole: int, places: int = 4) -> Decimal | None:
    """``part`` of ``whole`` in percent, ``places`` decimals half up (exact); ``None`` when ``whole`` is 0."""
    return None if whole == 0 else _to_decimal(Fraction(part * 100, whole), places=places)


def npl_ratio(npl_balance: int, balance: int) -> Decimal | None:
    """NPL ratio in percent, 4 decimals half up; ``None`` when the balance is 0."""
    npl, total = _fen(npl_balance, "npl_balance"), _fen(balance, "balance")
    if npl > total:
        raise _invalid("npl_balance", N_("The NPL balance must not exceed the loan balance."), "invalid_balance")
    ratio = _ratio_exact(npl, total)
    return None if ratio is None else _to_decimal(ratio)


def tolerance(ip_npl: int, ip_balance: int, overall_npl: int, overall_balance: int,
              points: Decimal | int | str = TOLERANCE_POINTS) -> dict:
    """The notice's 3-point tolerance: is the IP-pledge (or inclusive) NPL ratio at most ``points``
    percentage points above the overall ratio?  Decided in exact rational arithmetic.

    Returns ``ip_npl_ratio``, ``overall_npl_ratio``, ``gap_pp`` (strings, :func:`percent_str`, or
    ``None``), ``points`` (string) and ``within_tolerance``: ``True``/``False``; ``True`` with no gap
    when the IP-pledge balance is 0 (nothing to deduct); ``None`` when the overall balance is 0 but
    the IP-pledge balance is not (the figures are inconsistent, nothing can be decided).
    """
    limit = _number(points, "points")
    if limit < 0:
        raise _invalid("points", N_("The tolerance must not be negative."))
    ip_ratio_dec = npl_ratio(ip_npl, ip_balance)  # validates the four amounts
    overall_ratio_dec = npl_ratio(overall_npl, overall_balance)
    ip_ratio = _ratio_exact(_fen(ip_npl, "ip_npl"), _fen(ip_balance, "ip_balance"))
    overall_ratio = _ratio_exact(_fen(overall_npl, "overall_npl"), _fen(overall_balance, "overall_balance"))
    gap: Decimal | None = None
    if ip_ratio is None:
        within: bool | None = True
    elif overall_ratio is None:
        within = None
    else:
        exact_gap = ip_ratio - overall_ratio
        within = exact_gap <= Fraction(limit)
        gap = _to_decimal(exact_gap)
        if not within and gap <= limit:  # e.g. 3.00004 must not show as 3.0000 beside "not within"
            gap = _to_decimal(exact_gap, ROUND_CEILING)
    return {
        "ip_npl_ratio": percent_str(ip_ratio_dec),
        "overall_npl_ratio": percent_str(overall_ratio_dec),
        "gap_pp": percent_str(gap),
        "points": percent_str(limit),
        "within_tolerance": within,
    }


def yoy(current: Decimal | int | str | None, previous: Decimal | int | str | None) -> Decimal | None:
    """Year-on-year growth in percent, 4 decimals half up: (current − previous) / |previous| × 100.

    ``None`` when ``previous`` is 0 or either figure is missing.
    """
    if current is None or previous is None:
        return None
    now, before = _number(current, "current"), _number(previous, "previous")
    if before == 0:
        return None
    return _to_decimal(Fraction(now - before) * 100 / abs(Fraction(before)))


# ---------------------------------------------------------------------------------------- scorecard


WEIGHTS_MESSAGE = N_("Weights must name plan, first_loan, inclusive, npl and speed, each from 0 to 100 with "
                     "at most 4 decimals, and add up to 100.")


def parse_weights(text: str | dict | None) -> dict | None:
    """The scorecard weights as a caller sends them: a JSON object (``""``/``None``: the defaults).

    Numbers are read exactly (never as floats), and ``NaN``/``Infinity`` are refused."""
    if text is None or isinstance(text, dict):
        return text
    if not str(text).strip():
        return None

    def refuse(_constant):
        raise ValueError

    try:
        parsed = json.loads(str(text), parse_float=Decimal, parse_constant=refuse)
    except (ValueError, RecursionError):
        raise _invalid("weights", WEIGHTS_MESSAGE, "invalid_weights") from None
    if not isinstance(parsed, dict):
        raise _invalid("weights", WEIGHTS_MESSAGE, "invalid_weights")
    return parsed


def validate_weights(weights: dict | None) -> dict[str, Decimal]:
    """The scorecard weights: exactly the :data:`COMPONENTS`, each 0–100 with at most 4 decimals,
    summing to 100."""
    if weights is None:
        return dict(DEFAULT_WEIGHTS)
    message = WEIGHTS_MESSAGE
    if not isinstance(weights, dict) or set(weights) != set(COMPONENTS):
        raise _invalid("weights", message, "invalid_weights")
    parsed: dict[str, Decimal] = {}
    for key in COMPONENTS:
        try:
            parsed[key] = _number(weights[key], key)
        except ValidationFailed:
            raise _invalid("weights", message, "invalid_weights") from None
        # Bounded before any arithmetic, so 1e999 or 1e-999999 cannot reach the sum.
        if not (0 <= parsed[key] <= HUNDRED) or parsed[key].normalize().as_tuple().exponent < -4:
            raise _invalid("weights", message, "invalid_weights")
    if sum(parsed.values()) != HUNDRED:
        raise _invalid("weights", message, "invalid_weights")
    return parsed


def _count(bank: dict, key: str) -> int:
    value = bank.get(key)
    return 0 if value is None else _fen(value, key)


def _share(part: int, whole: int, part_key: str) -> Fraction:
    if part > whole:
        raise _invalid(part_key, N_("A part must not exceed its total."))
    return Fraction(0) if whole == 0 else Fraction(part, whole)


def _seconds(value: Any) -> Fraction | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise _invalid("median_registration_seconds", N_("Not a number."))
    number = _number(str(value) if isinstance(value, float) else value, "median_registration_seconds")
    if number <= 0:
        raise _invalid("median_registration_seconds", N_("A duration must be more than zero."))
    return Fraction(number)


def _components(bank: dict, best_seconds: Fraction | None, limit: Fraction, span: Fraction) -> dict[str, Fraction]:
    attained = []
    for done_key, plan_key in (("households", "plan_households"), ("amount_lent", "plan_amount")):
        plan = _count(bank, plan_key)
        if plan > 0:
            attained.append(min(Fraction(1), Fraction(_count(bank, done_key), plan)))
    plan_score = sum(attained, Fraction(0)) / len(attained) if attained else Fraction(0)

    gap_value = bank.get("npl_gap_pp")
    if gap_value is None:
        npl_score = Fraction(1)
    else:
        gap = Fraction(_number(gap_value, "npl_gap_pp"))
        npl_score = Fraction(1) if gap <= limit else max(Fraction(0), 1 - (gap - limit) / span)

    own = _seconds(bank.get("median_registration_seconds"))
    speed_score = Fraction(0) if own is None or best_seconds is None else best_seconds / own

    parts = {
        "plan": plan_score,
        "first_loan": _share(_count(bank, "first_loan_households"), _count(bank, "households_total"),
                             "first_loan_households"),
        "inclusive": _share(_count(bank, "inclusive_amount"), _count(bank, "amount_total"), "inclusive_amount"),
        "npl": npl_score,
        "speed": speed_score,
    }
    return {k: v * 100 for k, v in parts.items()}


def _score(value: Fraction) -> Decimal:
    return _to_decimal(value, places=2)


def scorecard(banks: list[dict], weights: dict | None = None, *,
              points: Decimal | int | str = TOLERANCE_POINTS,
              npl_span: Decimal | int | str = NPL_SPAN_POINTS) -> list[dict]:
    """Score and rank banks (see the module docstring).  Each returned dict is a copy of the input with
    ``scores`` ({component: Decimal}), ``total`` (Decimal) and ``rank`` (int) added."""
    chosen = validate_weights(weights)
    limit, span = Fraction(_number(points, "points")), Fraction(_number(npl_span, "npl_span"))
    if limit < 0 or span <= 0:
        raise _invalid("npl_span", N_("The tolerance must be zero or more and the span more than zero."))
    timings = [s for s in (_seconds(b.get("median_registration_seconds")) for b in banks) if s is not None]
    best = min(timings) if timings else None
    scored = []
    for index, bank in enumerate(banks):
        parts = _components(bank, best, limit, span)
        total = sum((Fraction(chosen[k]) * parts[k] for k in COMPONENTS), Fraction(0)) / 100
        row = dict(bank)
        row["scores"] = {k: _score(parts[k]) for k in COMPONENTS}
        row["total"] = _score(total)
        scored.append((index, row))
    scored.sort(key=lambda item: (-item[1]["total"], item[0]))
    out: list[dict] = []
    for position, (_, row) in enumerate(scored, start=1):
        row["rank"] = out[-1]["rank"] if out and out[-1]["total"] == row["total"] else position
        out.append(row)
    return out
