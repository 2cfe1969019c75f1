"""Loan-loss provision a bank must hold on its IP-pledge loans (issue 13 point 6).

Required provision = max(loans × provision ratio (拨贷比), NPL × provision coverage ratio (拨备覆盖率)):
the higher of the two applies.  Base 2.5% and 150%, both configurable (regulators lower them for
banks that dispose of bad loans well).  Amounts in yuan (Decimal), to the fen, half up.

Pure module (no Django).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ippledge.core.errors import N_
from ippledge.core.exact import invalid
from ippledge.core.money import quantize

DEFAULT_PROVISION_RATIO = Decimal("0.025")
DEFAULT_COVERAGE_RATIO = Decimal("1.50")


@dataclass(frozen=True)
class Provision:
    by_loans: Decimal        # loans × provision ratio
    by_npl: Decimal          # NPL × coverage ratio
    required: Decimal        # the higher of the two
    binding: str             # "provision_ratio" or "coverage_ratio" (which one set the requirement)
    shortfall: Decimal | None = None   # required − held, never below 0, when the held provision is given


def required_provision(*, loans: Decimal, npl: Decimal, held: Decimal | None = None,
                       provision_ratio: Decimal = DEFAULT_PROVISION_RATIO,
                       coverage_ratio: Decimal = DEFAULT_COVERAGE_RATIO) -> Provision:
    """The provision required on ``loans`` (outstanding balance) of which ``npl`` is non-performing."""
    for name, value in (("loans", loans), ("npl", npl), ("provision_ratio", provision_ratio),
                        ("coverage_ratio", coverage_ratio)):
        if value < 0:
            raise invalid(name, N_("The value must not be negative."))
    if npl > loans:
        raise invalid("npl", N_("Non-performing loans cannot exceed the loans."), code="npl_above_loans")
    if held is not None and held < 0:
        raise invalid("held", N_("The amount must not be negative."))
    by_loans = quantize(loans * provision_ratio)
    by_npl = quantize(npl * coverage_ratio)
    required = max(by_loans, by_npl)
    binding = "coverage_ratio" if by_npl > by_loans else "provision_ratio"
    shortfall = None if held is None else max(Decimal("0.00"), required - quantize(held))
    return Provision(by_loans=by_loans, by_npl=by_npl, required=required, binding=binding, shortfall=shortfall)


def provisions_by_bank(books: dict[str, tuple[Decimal, Decimal]], **ratios) -> dict[str, Provision]:
    """``{bank: (loans, npl)}`` → ``{bank: Provision}`` with the same ratios for every bank."""
    return {bank: required_provision(loans=loans, npl=npl, **ratios) for bank, (loans, npl) in books.items()}
