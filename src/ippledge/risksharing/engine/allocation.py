"""Who bears a principal loss under a risk-sharing scheme (lending-rules §5, issue 13 point 1).

Interpretation (stated once, the same for every scheme):

* the *eligible* loss is the part of the principal loss the scheme covers, pro rata over the loan:
  ``eligible = loss × (ip_secured / loan if ip_portion_required) × min(1, eligible_base_cap / loan)``;
  with ``ip_portion_required`` and no IP-secured amount stated nothing is eligible (Guangzhou 2023);
* each sharing party gets ``ratio × eligible``, to the fen (half up), then capped by its
  ``per_loan_cap`` (and, by the caller, by further remaining capacities via :func:`cap_share`);
* the bank bears the remainder: everything not eligible, its own ratio (a party of kind ``bank`` is
  folded into ``"bank"``; the Qingdao 60/20/20 scheme names it), whatever the caps cut off and the
  rounding.  So the shares always add up to the loss exactly to the fen and none is negative.

Principal only: interest is never compensated, so callers pass the principal loss.
Pure module (no Django).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from ippledge.core.errors import N_
from ippledge.core.exact import invalid
from ippledge.core.money import quantize

BANK = "bank"
KINDS = ("fund", "insurer", "guarantor", "appraiser", "bank")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Party:
    """A party to a scheme: ``name`` unique in the scheme (``fund``, ``province``…), ``kind`` one of
    :data:`KINDS`, ``ratio`` of the eligible loss (0..1), an optional cap in yuan per loan."""

    name: str
    kind: str
    ratio: Decimal
    per_loan_cap: Decimal | None = None


@dataclass(frozen=True)
class SchemeRules:
    """The allocation rules of a scheme; the bank is implicit and bears the remainder."""

    parties: tuple[Party, ...]
    eligible_base_cap: Decimal | None = None
    ip_portion_required: bool = False


@dataclass(frozen=True)
class Allocation:
    """``eligible``: the covered part of the loss; ``shares``: each non-bank party's amount (in the
    scheme's order, zero included) and ``"bank"`` last.  ``sum(shares.values()) == loss``."""

    eligible: Decimal
    shares: dict[str, Decimal]


def validate(rules: SchemeRules) -> list[str]:
    """Error codes for a scheme's rules, empty when it can be used.  Codes (stable, one each):
    ``no_parties``, ``empty_party_name``, ``duplicate_party_name``, ``reserved_party_name`` (``bank``
    names only the bank), ``unknown_party_kind``, ``negative_ratio``, ``ratio_above_one``,
    ``ratio_sum_above_one``, ``negative_per_loan_cap``, ``bank_party_cap`` (the bank bears the rest,
    it has no cap), ``negative_eligible_base_cap``."""
    errors: list[str] = []

    def add(code: str) -> None:
        if code not in errors:
            errors.append(code)

    if not rules.parties:
        add("no_parties")
    seen: set[str] = set()
    total = Decimal(0)
    for p in rules.parties:
        name = (p.name or "").strip()
        if not name:
            add("empty_party_name")
        if name in seen:
            add("duplicate_party_name")
        seen.add(name)
        if p.kind not in KINDS:
            add("unknown_party_kind")
        if name == BANK and p.kind != BANK:
            add("reserved_party_name")
        if p.ratio < 0:
            add("negative_ratio")
        if p.ratio > 1:
            add("ratio_above_one")
        total += p.ratio
        if p.per_loan_cap is not None:
            if p.kind == BANK:
                add("bank_party_cap")
            elif p.per_loan_cap < 0:
                add("negative_per_loan_cap")
    if total > 1:
        add("ratio_sum_above_one")
    if rules.eligible_base_cap is not None and rules.eligible_base_cap < 0:
        add("negative_eligible_base_cap")
    return errors


def cap_share(share: Decimal, *remaining: Decimal | None) -> Decimal:
    """The share limited by every remaining capacity that is given (``None``: no limit), never below 0."""
    for room in remaining:
        if room is not None and room < share:
            share = room
    return share if share > 0 else ZERO


def limit_to_balance(share: Decimal, balance: Decimal | None) -> Decimal:
    """What a fund pays when it pays only up to its balance (Haikou 以其余额为限): 540,000 against 200,000
    pays 200,000.  ``balance=None``: no such limit."""
    return cap_share(share, balance)


def eligible_fraction(rules: SchemeRules, *, loan_amount: Decimal,
                      ip_secured_amount: Decimal | None = None) -> Decimal:
    """The fraction of a principal loss on this loan that the scheme covers (exact, not rounded)."""
    fraction = Decimal(1)
    if rules.ip_portion_required:
        if ip_secured_amount is None or ip_secured_amount <= 0:
            return Decimal(0)
        fraction = min(Decimal(1), ip_secured_amount / loan_amount)
    cap = rules.eligible_base_cap
    if cap is not None and cap < loan_amount:
        fraction *= cap / loan_amount
    return fraction


def _check_inputs(loan_amount: Decimal, principal_loss: Decimal, ip_secured_amount: Decimal | None) -> None:
    if loan_amount <= 0:
        raise invalid("loan_amount", N_("The loan amount must be positive."), code="invalid_loan_amount")
    if principal_loss < 0:
        raise invalid("principal_loss", N_("The amount must not be negative."), code="invalid_principal_loss")
    if principal_loss > loan_amount:
        raise invalid("principal_loss", N_("The principal loss cannot exceed the loan amount."),
                      code="loss_above_loan")
    if ip_secured_amount is not None and ip_secured_amount < 0:
        raise invalid("ip_secured_amount", N_("The amount must not be negative."), code="invalid_ip_secured_amount")


def allocate(rules: SchemeRules, *, loan_amount: Decimal, principal_loss: Decimal,
             ip_secured_amount: Decimal | None = None) -> Allocation:
    """Split a principal loss between the scheme's parties and the bank (module docstring).

    Raises ``ValidationFailed`` for an impossible loan (amount ≤ 0, negative loss, loss above the loan,
    negative IP-secured amount); the rules themselves are checked with :func:`validate` beforehand.
    """
    _check_inputs(loan_amount, principal_loss, ip_secured_amount)
    loss = quantize(principal_loss)
    fraction = eligible_fraction(rules, loan_amount=loan_amount, ip_secured_amount=ip_secured_amount)
    eligible = min(quantize(loss * fraction), loss)
    shares: dict[str, Decimal] = {}
    allocated = ZERO
    for p in rules.parties:
        if p.kind == BANK:
            continue  # the bank's own ratio is part of its remainder
        share = quantize(p.ratio * eligible)
        # the running room keeps half-up rounding of several parties from passing the eligible loss
        share = cap_share(share, p.per_loan_cap, eligible - allocated)
        shares[p.name] = share
        allocated += share
    shares[BANK] = loss - allocated
    return Allocation(eligible=eligible, shares=shares)


def true_up(paid: dict[str, Decimal], *, outstanding_at_claim: Decimal, recovered: Decimal) -> dict[str, Decimal]:
    """What each payer gets back from recoveries after it paid, pro rata to what it paid.

    Payer ``i`` paid ``paid[i]`` on ``outstanding_at_claim``; of a recovery each gets
    ``recovered × paid[i] / outstanding_at_claim`` (the bank keeps its own part).  Pass the *total*
    recovered to date and subtract what was returned before, so rounding never drifts.  A recovery above
    the outstanding principal is principal-capped (interest is not shared).  Example: 500,000 advanced at
    50% on 1,000,000, 400,000 recovered → final loss 600,000, fund share 300,000, 200,000 returned.
    """
    if outstanding_at_claim <= 0:
        raise invalid("outstanding_at_claim", N_("The outstanding principal must be positive."),
                      code="invalid_outstanding")
    if recovered < 0:
        raise invalid("recovered", N_("The amount must not be negative."), code="invalid_recovered")
    if any(v < 0 for v in paid.values()):
        raise invalid("paid", N_("The amount must not be negative."), code="invalid_paid")
    if sum(paid.values(), Decimal(0)) > outstanding_at_claim:
        raise invalid("paid", N_("The payers paid more than the outstanding principal."), code="paid_above_outstanding")
    recovered = min(recovered, outstanding_at_claim)
    back: dict[str, Decimal] = {}
    room = quantize(recovered)
    for name, amount in paid.items():
        refund = cap_share(quantize(recovered * amount / outstanding_at_claim), amount, room)
        back[name] = refund
        room -= refund
    return back
