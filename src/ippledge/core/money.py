"""Money: integer fen in the database, ``Decimal`` in code, decimal strings in JSON.  One rounding rule:
half up (away from zero) to the fen, so 1234.565 yuan is 123457 fen and −1234.565 is −123457.

Every yuan↔fen conversion, amount parsing and amount shown on a page goes through this module; no other
module quantizes money itself.  Pure module (no Django).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .errors import N_, ValidationFailed

FEN = Decimal("0.01")
FEN_PER_YUAN = 100
WAN = Decimal(10000)


def _exact(amount: Decimal | int) -> Decimal:
    """An exact amount (Decimal or int); a float or bool here is a programming error, not user input."""
    if isinstance(amount, Decimal):
        return amount
    if isinstance(amount, int) and not isinstance(amount, bool):
        return Decimal(amount)
    raise TypeError(f"money needs a Decimal or int, got {type(amount).__name__}")


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


def quantize(amount: Decimal | int) -> Decimal:
    """Yuan to the fen, half up."""
    return _exact(amount).quantize(FEN, rounding=ROUND_HALF_UP)


def round_yuan(value: float | Decimal | int) -> Decimal:
    """A computed estimate (e.g. a simulation's NumPy float) as yuan to the fen, half up.  A float is
    taken at its shortest decimal form (``repr``), so 1234.565 rounds to 1234.57 as the Decimal does."""
    if isinstance(value, float):
        value = Decimal(repr(value))
    return quantize(value)


def fen(amount: Decimal | int) -> int:
    """Yuan (Decimal or int) as integer fen, half up."""
    return int(quantize(amount) * FEN_PER_YUAN)


def to_fen(value: object) -> int:
    """An amount as given (decimal string, Decimal or int) as integer fen, half up."""
    return fen(to_decimal(value))


def from_fen(fen: int) -> Decimal:
    """Integer fen as yuan with exactly two decimals."""
    return (_exact(fen) / FEN_PER_YUAN).quantize(FEN)


def format_yuan(fen: int) -> str:
    """Fen as pages show yuan: thousands separators and exactly two decimals (123457 → "1,234.57")."""
    return f"{from_fen(fen):,.2f}"


def wan(fen: int) -> Decimal:
    """Fen as 万元 to two decimals, half up (125000 fen → 0.13)."""
    return (_exact(fen) / FEN_PER_YUAN / WAN).quantize(FEN, rounding=ROUND_HALF_UP)


def format_wan(fen: int) -> str:
    """Fen as pages show 万元: thousands separators and two decimals, as Chinese bank reports show
    amounts (676,530,000,00 fen → "67,653.00").  Files for machines write ``str(wan(fen))``."""
    return f"{wan(fen):,.2f}"
