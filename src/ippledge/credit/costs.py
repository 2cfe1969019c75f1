"""Premium sources: how the all-in cost of a loan reads a real insurance policy without credit knowing
about insurance (credit sits below risk sharing in the layers and must not import it).

An app above credit registers a *premium source* at start-up (``risksharing`` does, in its
``AppConfig.ready``): a callable ``source(loan, on) -> PremiumTerms | None``.  The first source that
answers for a loan gives the premium the quote uses instead of the product's nominal rate.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class PremiumTerms:
    """The premium of the loan's policy over the loan's term, in yuan (Decimal, to the fen)."""

    reference: str          # the policy's number, shown beside the premium
    annual_rate: Decimal    # the policy's premium rate a year
    premium: Decimal        # the premium over the term
    subsidy: Decimal        # of it, what the scheme's premium subsidy pays
    subsidy_ratio: Decimal | None = None
    subsidy_year_cap: Decimal | None = None


PremiumSource = Callable[[object, dt.date], "PremiumTerms | None"]
_sources: list[PremiumSource] = []


def register_premium_source(source: PremiumSource) -> None:
    """Register a premium source once (a second registration of the same callable is ignored)."""
    if source not in _sources:
        _sources.append(source)


def premium_terms(loan, on: dt.date) -> PremiumTerms | None:
    """The premium of ``loan``'s policy in force on ``on``, from the first source that has one."""
    if loan is None:
        return None
    for source in _sources:
        terms = source(loan, on)
        if terms is not None:
            return terms
    return None
