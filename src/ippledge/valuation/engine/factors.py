"""Present-value factors, engine options and input parsing shared by the valuation methods.

Two factor modes:

* ``exact`` (default): factors at full ``Decimal`` precision (28 significant digits).
* ``table4``: factors as printed in Chinese appraisal tables and exams, rounded to 4 decimals half
  up.  A LEVEL stream is discounted with the rounded annuity factor, e.g. (P/A, 10%, 5) = 3.7908
  (the sum of the rounded single-payment factors would be 3.7907); an uneven stream with the rounded
  single-payment factors, e.g. (P/F, 10%, 2) = 0.8264.

``round_rate`` (``None`` or 0..8) rounds intermediate rates (split rates, discount rates) to that
many decimals, half up, before they are used, as published reports often do.

Pure module: no Django.
"""

from __future__ import annotations

import functools
from decimal import ROUND_HALF_UP, Context, Decimal, localcontext
from typing import Any

from ippledge.core.errors import N_, ValidationFailed

from .trace import Trace, dec, fen

CONTEXT = Context(prec=28)
FACTOR_MODES = ("exact", "table4")
TABLE_PLACES = Decimal("0.0001")
RATE_PLACES = Decimal("0.000001")
ONE = Decimal(1)
ZERO = Decimal(0)
CURRENCY = "CNY"

INVALID = N_("The valuation inputs are not valid.")
MSG_REQUIRED = N_("This field is required.")
MSG_RATE = N_("Give a rate as a fraction between 0 and 1, e.g. \"0.12\" for 12%.")
MSG_TAX = N_("Give a tax rate as a fraction from 0 up to (but not including) 1.")
MSG_POSITIVE = N_("Must be greater than zero.")
MSG_NON_NEGATIVE = N_("Must not be negative.")
MSG_ABOVE_MINUS_ONE = N_("Must be greater than -1.")
MSG_SERIES = N_("Give a non-empty list of yearly amounts as decimal strings.")
MSG_INTEGER = N_("Must be a whole number.")
MSG_FACTOR_MODE = N_("Choose exact or table4.")
MSG_ROUND_RATE = N_("Give a whole number of decimals from 0 to 8, or leave it empty.")


def in_context(func):
    """Run ``func`` under the engine's Decimal context (prec 28) whatever the caller's context is."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with localcontext(CONTEXT):
            return func(*args, **kwargs)

    return wrapper


def invalid(name: str, message: str = MSG_REQUIRED, summary: str = INVALID) -> ValidationFailed:
    return ValidationFailed(summary, code="invalid_input", fields={name: [message]})


MAX_MAGNITUDE = Decimal("1e15")
MAX_YEARS = 200
MSG_RANGE = N_("Out of the allowed range.")


def num(value: Any, name: str) -> Decimal:
    """``dec`` plus a sanity bound (|x| ≤ 10¹⁵) so that no amount overflows the 28-digit context."""
    parsed = dec(value, name)
    if abs(parsed) > MAX_MAGNITUDE:
        raise invalid(name, MSG_RANGE)
    return parsed


def rate6(value: Decimal) -> Decimal:
    """A rate as returned by the engine: 6 decimals, half up."""
    return Decimal(value).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)


# ---------------------------------------------------------------------------------------------
# Options


def normalise_options(options: dict | None) -> dict:
    """Validate ``factor_mode`` and ``round_rate``; other keys (used by other methods) pass through."""
    if options is None:
        options = {}
    if not isinstance(options, dict):
        raise invalid("options", N_("Give the options as an object."))
    out = dict(options)
    mode = out.get("factor_mode") or "exact"
    if mode not in FACTOR_MODES:
        raise invalid("factor_mode", MSG_FACTOR_MODE)
    places = out.get("round_rate")
    if places == "":
        places = None
    if places is not None:
        if isinstance(places, str) and places.strip().isdigit():
            places = int(places.strip())
        if isinstance(places, bool) or not isinstance(places, int) or not 0 <= places <= 8:
            raise invalid("round_rate", MSG_ROUND_RATE)
    out["factor_mode"] = mode
    out["round_rate"] = places
    return out


def rounded_rate(rate: Decimal, places: int | None) -> Decimal:
    """Round an intermediate rate to ``places`` decimals (half up); ``None`` leaves it unchanged."""
    if places is None:
        return rate
    return rate.quantize(ONE.scaleb(-places), rounding=ROUND_HALF_UP)


def use_rate(rate: Decimal, name: str, options: dict, trace: Trace, en: str, zh: str) -> Decimal:
    """Apply the ``round_rate`` option to an intermediate rate and record it when it changes."""
    rounded = rounded_rate(rate, options.get("round_rate"))
    if rounded != rate:
        trace.step(f"round.{name}", f"{en}, rounded to {options['round_rate']} decimals",
                   f"{zh}（保留{options['round_rate']}位小数）", rounded)
    return rounded


# ---------------------------------------------------------------------------------------------
# Factors


def _check_mode(mode: str) -> None:
    if mode not in FACTOR_MODES:
        raise invalid("factor_mode", MSG_FACTOR_MODE)


def _check_rate(r: Decimal) -> None:
    if r <= -1:
        raise invalid("discount_rate", MSG_ABOVE_MINUS_ONE)


@in_context
def pf(r: Any, t: int, mode: str = "exact", round_rate: int | None = None) -> Decimal:
    """Single-payment present-value factor (P/F, r, t) = 1/(1+r)^t."""
    _check_mode(mode)
    r = rounded_rate(num(r, "discount_rate"), round_rate)
    _check_rate(r)
    factor = ONE / (ONE + r) ** int(t)
    if mode == "table4":
        factor = factor.quantize(TABLE_PLACES, rounding=ROUND_HALF_UP)
    return factor


@in_context
def pa(r: Any, n: int, mode: str = "exact", round_rate: int | None = None) -> Decimal:
    """Annuity present-value factor (P/A, r, n) = [1 − (1+r)^−n]/r (= n when r = 0)."""
    _check_mode(mode)
    r = rounded_rate(num(r, "discount_rate"), round_rate)
    _check_rate(r)
    n = int(n)
    factor = Decimal(n) if r == 0 else (ONE - ONE / (ONE + r) ** n) / r
    if mode == "table4":
        factor = factor.quantize(TABLE_PLACES, rounding=ROUND_HALF_UP)
    return factor


def _show_factor(factor: Decimal, mode: str) -> Decimal:
    return factor if mode == "table4" else rate6(factor)


@in_context
def present_value(flows: list[Decimal], r: Decimal, mode: str, trace: Trace, prefix: str = "pv") -> dict:
    """Discount end-of-year cash flows (year 1 first) and record each step.

    Returns ``{"value": Decimal (unquantized), "cash_flows": [...], "factor_basis": str}``; the
    caller quantizes the value.  In ``table4`` mode a level stream (all flows equal, n ≥ 2) uses the
    rounded annuity factor; otherwise each year uses its (rounded) single-payment factor.
    """
    n = len(flows)
    level = mode == "table4" and n >= 2 and all(f == flows[0] for f in flows)
    cash_flows = []
    total = ZERO
    for t, flow in enumerate(flows, start=1):
        factor = pf(r, t, mode)
        pv = flow * factor
        total += pv
        shown = _show_factor(factor, mode)
        trace.step(f"{prefix}.year{t}", f"Present value, year {t}", f"第{t}年现值", fen(pv),
                   f"R{t}·(P/F, r, {t}) = {fen(flow)} × {shown}")
        cash_flows.append({"year": t, "cash_flow": fen(flow), "factor": shown, "present_value": fen(pv)})
    if level:
        annuity = pa(r, n, mode)
        total = flows[0] * annuity
        trace.step(f"{prefix}.annuity_factor", f"Annuity factor (P/A, r, {n}), 4-decimal table",
                   f"年金现值系数 (P/A, r, {n})（四位小数表）", annuity, f"(P/A, {rate6(r)}, {n})")
        trace.step(f"{prefix}.level_stream", "Level stream discounted with the rounded annuity factor",
                   "等额收益按年金现值系数折现", fen(total), f"V = R·(P/A, r, n) = {fen(flows[0])} × {annuity}")
    trace.step(f"{prefix}.total", "Sum of present values", "现值合计", fen(total), "Σ R_t/(1+r)^t")
    return {"value": total, "cash_flows": cash_flows, "factor_basis": "annuity" if level else "single_payment"}


# ---------------------------------------------------------------------------------------------
# Input parsing

_KINDS = {
    # kind: (predicate, message)
    "rate": (lambda x: ZERO <= x <= ONE, MSG_RATE),
    "tax": (lambda x: ZERO <= x < ONE, MSG_TAX),
    "positive": (lambda x: x > ZERO, MSG_POSITIVE),
    "non_negative": (lambda x: x >= ZERO, MSG_NON_NEGATIVE),
    "above_minus_one": (lambda x: x > -ONE, MSG_ABOVE_MINUS_ONE),
    None: (lambda x: True, ""),
}


def _present(inputs: dict, name: str) -> bool:
    return name in inputs and inputs[name] is not None and inputs[name] != ""


def read_number(inputs: dict, name: str, trace: Trace, en: str, zh: str, *, default: str | None = None,
                kind: str | None = None, record: bool = True) -> Decimal:
    """A required (or defaulted) scalar input, parsed with ``dec`` and range-checked."""
    if not isinstance(inputs, dict):
        raise invalid("inputs", N_("Give the inputs as an object."))
    if _present(inputs, name):
        value = num(inputs[name], name)
    elif default is not None:
        value = Decimal(default)
    else:
        raise invalid(name)
    check, message = _KINDS[kind]
    if not check(value):
        raise invalid(name, message)
    if record:
        trace.input(name, en, zh, value)
    return value


def read_series(inputs: dict, name: str, trace: Trace, en: str, zh: str, *, kind: str | None = None,
                record: bool = True) -> list[Decimal]:
    """A required non-empty list of yearly amounts (year 1 first)."""
    if not isinstance(inputs, dict):
        raise invalid("inputs", N_("Give the inputs as an object."))
    raw = inputs.get(name)
    if raw is None or raw == "":
        raise invalid(name)
    if not isinstance(raw, list | tuple) or not raw:
        raise invalid(name, MSG_SERIES)
    if len(raw) > MAX_YEARS:
        raise invalid(name, MSG_RANGE)
    values = [num(v, name) for v in raw]
    check, message = _KINDS[kind]
    if not all(check(v) for v in values):
        raise invalid(name, message)
    if record:
        trace.input(name, en, zh, values)
    return values


def read_int(inputs: dict, name: str, trace: Trace, en: str, zh: str, *, default: str | None = None,
             low: int = 0, high: int | None = None) -> int:
    value = read_number(inputs, name, trace, en, zh, default=default, record=False)
    if value != value.to_integral_value():
        raise invalid(name, MSG_INTEGER)
    number = int(value)
    if number < low or (high is not None and number > high):
        raise invalid(name, MSG_RANGE)
    trace.input(name, en, zh, number)
    return number


def has(inputs: dict, name: str) -> bool:
    return isinstance(inputs, dict) and _present(inputs, name)
