"""Money: integer fen in the database, ``Decimal`` in code, decimal strings in JSON.  One rounding rule.

Pure module (no Django).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .errors import N_, ValidationFailed

FEN = Decimal("0.01")
WAN = Decimal(10000)


def to_decimal(value: object) -> Decimal:
    """Parse an amount given as a decimal string or int; floats are refused (they are not exact)."""
    if isinstance(value, float) or isinstance(value, bool):
        raise ValidationFailed(N_("Give amounts as decimal strings, not floating-point numbers."),
                               code="invalid_amount")
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise ValidationFailed(N_("Not a valid amount."), code="invalid_amount") from None
    if not amount.is_finite():
        raise ValidationFailed(N_("Not a valid amount."), code="invalid_amount")
    return amount


def quantize(amount: Decimal) -> Decimal:
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


def to_fen(value: object) -> int:
    return int(quantize(to_decimal(value)) * 100)


def from_fen(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(FEN)


def format_wan(fen: int) -> str:
    """Fen as 万元 with two decimals, as Chinese bank reports show amounts."""
    return str((Decimal(fen) / 100 / WAN).quantize(FEN, rounding=ROUND_HALF_UP))
