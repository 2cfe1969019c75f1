"""Pure disposal rules: the proceeds waterfall, auction bidding and rounds, agreed set-off floors, the
holding period of IP a bank acquires.  No Django imports (import-linter enforces it).

Amounts are integer fen throughout: the waterfall only subtracts, so no rounding arises, and the parts
always add up to the proceeds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

# Civil Code Art. 561: unless agreed otherwise, a payment that does not cover the whole debt goes to the
# costs of realising the claim, then to interest, then to the principal.
STATUTORY_ORDER = ("costs", "interest", "principal")


@dataclass(frozen=True)
class Claim:
    principal: int
    interest: int
    costs: int


@dataclass(frozen=True)
class Waterfall:
    applied: dict[str, int]  # costs, interest, principal: what the proceeds paid of each
    surplus: int  # back to the pledgor
    shortfall: int  # what stays owed: costs, interest and principal the proceeds did not cover


def apply_proceeds(proceeds: int, claim: Claim, order: tuple[str, ...] = STATUTORY_ORDER) -> Waterfall:
    """Apply sale proceeds to a claim in ``order`` (Civil Code 561 by default; a contract may agree another
    order of the same three parts).  Example (issue 14): principal 1,200,000, interest 30,000, costs 50,000,
    proceeds 1,000,000 → costs 50,000, interest 30,000, principal 920,000, shortfall 280,000."""
    if sorted(order) != sorted(STATUTORY_ORDER):
        raise ValueError("order must name costs, interest and principal once each")
    if proceeds < 0 or min(claim.principal, claim.interest, claim.costs) < 0:
        raise ValueError("amounts must not be negative")
    owed = {"costs": claim.costs, "interest": claim.interest, "principal": claim.principal}
    left = proceeds
    applied = {}
    for part in order:
        applied[part] = min(left, owed[part])
        left -= applied[part]
    shortfall = sum(owed.values()) - sum(applied.values())
    return Waterfall(applied={p: applied[p] for p in STATUTORY_ORDER}, surplus=left, shortfall=shortfall)


# --- auctions -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Round:
    number: int
    reserve: int  # fen
    increment: int  # fen: a bid must beat the highest by at least this
    deposit: int  # fen: a bidder must have paid it to bid
    opens_at: dt.datetime
    closes_at: dt.datetime


class BidRefused(ValueError):
    """A bid the rules refuse; ``code`` is the stable error code the API answers with."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def check_bid(rnd: Round, *, amount: int, at: dt.datetime, highest: int | None, deposit_paid: bool) -> None:
    """Refuse a bid that is outside the round's time, below the reserve, not at least one increment above
    the highest bid so far, or from a bidder without a deposit."""
    if at < rnd.opens_at:
        raise BidRefused("auction_not_open")
    if at >= rnd.closes_at:
        raise BidRefused("auction_closed")
    if not deposit_paid:
        raise BidRefused("deposit_required")
    if amount < rnd.reserve:
        raise BidRefused("bid_below_reserve")
    if highest is not None and amount < highest + rnd.increment:
        raise BidRefused("bid_below_increment")


def winner(bids: list[tuple[int, dt.datetime, object]], rnd: Round) -> tuple[int, object] | None:
    """The winning bid at close: the highest at or above the reserve placed before close (the earliest of
    equal bids), as (amount, bidder); None when there is none — the next round follows."""
    valid = [(amount, at, who) for amount, at, who in bids if amount >= rnd.reserve and at < rnd.closes_at]
    if not valid:
        return None
    amount, _at, who = min(valid, key=lambda b: (-b[0], b[1]))
    return amount, who


def next_reserve(reserve: int, discount: Decimal) -> int:
    """The next round's reserve after an unsold round, ``discount`` off (e.g. 0.20), half up to the fen.
    Judicial practice caps a re-auction's discount at 20% of the previous reserve; the operator configures it."""
    if not Decimal(0) <= discount < Decimal(1):
        raise ValueError("discount must be in [0, 1)")
    return int((Decimal(reserve) * (Decimal(1) - discount)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


# --- agreed set-off and holding -------------------------------------------------------------------------

def setoff_floor(appraised: int, floor_share: Decimal) -> int:
    """The lowest value an agreed set-off (协议折价) may take: ``floor_share`` of the appraised value,
    rounded up to the fen so that the floor is never below the share."""
    return -int((-Decimal(appraised) * floor_share).to_integral_value(rounding="ROUND_FLOOR"))


def holding_deadline(acquired_on: dt.date, years: int) -> dt.date:
    """The day by which a bank must dispose of IP it acquired by enforcement (by analogy with the
    Commercial Bank Law Art. 42: two years by default).  29 February rolls to 28 February."""
    try:
        return acquired_on.replace(year=acquired_on.year + years)
    except ValueError:
        return acquired_on.replace(year=acquired_on.year + years, day=28)
