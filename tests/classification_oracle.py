"""The scalar reference implementation of the five-category classification, kept for comparison only.

Product code classifies with the one vectorised rule, :func:`ippledge.credit.engine.classification.classify`
(end of day, manual upgrades, one row for one loan).  This module is its oracle: the same rules
written one loan and one ``if`` at a time (as they were before the rule got one home), and the
per-loan end of day that loaded every loan through the ORM.  ``tests/test_classification_one_home.py``
compares the engine with it on random facts, ``tests/test_credit_bulk.py`` compares the end of day
with it on a built book, and ``benchmarks/credit.py`` times it as the naive baseline.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from ippledge.core.errors import N_
from ippledge.credit.engine import schedule as sched
from ippledge.credit.engine.classification import (
    CONTAGION_SHARE,
    CROSS_BANK_OVERDUE_SHARE,
    DOUBTFUL,
    DPD_FLOORS,
    EXPECTED_LOSS_DOUBTFUL,
    EXPECTED_LOSS_LOSS,
    LOSS,
    NORMAL,
    NPL,
    OBSERVATION_MIN_MONTHS,
    OBSERVATION_MIN_PERIODS,
    OPERATIONAL_DELAY_MAX_DAYS,
    SPECIAL_MENTION,
    SUBSTANDARD,
    UPGRADE_MIN_MONTHS,
    UPGRADE_MIN_PERIODS,
    Decision,
    LoanFacts,
    _invalid,
    rank,
    worse,
)
from ippledge.credit.engine.schedule import add_months

if TYPE_CHECKING:  # the ORM part imports Django lazily: the scalar rule runs without it
    from ippledge.credit.models import Loan

# =========================================================================== the scalar rule

def in_observation(facts: LoanFacts, on: date) -> bool:
    """A restructured asset is in observation until ≥ 2 periods are paid and one full year has passed."""
    if facts.restructured_on is None:
        return False
    if facts.observation_started is None:
        return True
    year_done = on >= add_months(facts.observation_started, OBSERVATION_MIN_MONTHS)
    return not (facts.observation_periods_paid >= OBSERVATION_MIN_PERIODS and year_done)


def floor_reasons(facts: LoanFacts, on: date) -> list[tuple[str, str]]:
    """Every objective rule that fires, as (code, floor category); the strongest DPD rule only."""
    reasons: list[tuple[str, str]] = []
    non_retail = not facts.retail

    for threshold, category, code in DPD_FLOORS:
        if facts.dpd >= threshold:
            if (category == SPECIAL_MENTION and facts.operational_delay
                    and facts.dpd <= OPERATIONAL_DELAY_MAX_DAYS):
                reasons.append(("operational_delay_exception", NORMAL))
            else:
                reasons.append((code, category))
            break

    if facts.funds_diverted:
        reasons.append(("funds_diverted", SPECIAL_MENTION))
    if facts.repaid_by_new_borrowing and not facts.qualifying_renewal:
        reasons.append(("repaid_by_new_borrowing", SPECIAL_MENTION))
    if facts.debtor_npl_elsewhere and non_retail:
        reasons.append(("debtor_npl_elsewhere", SPECIAL_MENTION))

    if facts.credit_impaired:
        reasons.append(("credit_impaired", SUBSTANDARD))
    if facts.external_downgrade_severe:
        reasons.append(("external_downgrade", SUBSTANDARD))
    if non_retail and facts.debtor_cross_bank_overdue90_share > CROSS_BANK_OVERDUE_SHARE:
        reasons.append(("cross_bank_overdue", SUBSTANDARD))

    if facts.evades_debt:
        reasons.append(("evades_debt", DOUBTFUL))
    if facts.expected_loss is not None and facts.expected_loss >= EXPECTED_LOSS_LOSS:
        reasons.append(("expected_loss_90", LOSS))
    elif (facts.credit_impaired and facts.expected_loss is not None
          and facts.expected_loss >= EXPECTED_LOSS_DOUBTFUL):
        reasons.append(("expected_loss_50", DOUBTFUL))
    if facts.bankruptcy_liquidation:
        reasons.append(("bankruptcy", LOSS))

    if in_observation(facts, on):
        reasons.append(("restructuring_observation", SPECIAL_MENTION))
        if facts.restructured_again:
            reasons.append(("restructured_again", SUBSTANDARD))

    if facts.manual_floor is not None:
        reasons.append(("manual_downgrade", facts.manual_floor))
    return reasons


def upgrade_unmet(facts: LoanFacts, on: date) -> tuple[str, ...]:
    """The upgrade-out-of-NPL conditions that do not hold (empty: the upgrade may happen)."""
    unmet = []
    if not facts.arrears_cleared:
        unmet.append("arrears_not_cleared")
    # "the longer of 2 consecutive periods or 6 months": both must have elapsed.
    if facts.periods_paid_since_cure < UPGRADE_MIN_PERIODS or facts.months_since_cure < UPGRADE_MIN_MONTHS:
        unmet.append("insufficient_performance")
    if not facts.able_to_pay:
        unmet.append("not_able_to_pay")
    if facts.has_impaired_asset_at_bank:
        unmet.append("impaired_asset_at_bank")
    if in_observation(facts, on):
        unmet.append("restructuring_observation")
    return tuple(unmet)


def classify_loan(facts: LoanFacts, on: date) -> Decision:
    """Classify one loan on ``on`` (see the module docstring)."""
    if not isinstance(on, date):
        raise _invalid("on", N_("Not a valid date."))
    reasons = floor_reasons(facts, on)
    floor = NORMAL
    for _, category in reasons:
        floor = worse(floor, category)

    if facts.previous in NPL and rank(floor) < rank(facts.previous):
        unmet = upgrade_unmet(facts, on)
        if unmet:
            blocked = ("restructuring_observation" if "restructuring_observation" in unmet
                       else "upgrade_conditions_not_met")
            return Decision(facts.previous, reasons, blocked, unmet)
    return Decision(floor, reasons)


def apply_contagion(decisions: dict[str, tuple[str, Decimal, Decision]],
                    retail: set[str]) -> dict[str, Decision]:
    """Apply the debtor-level rules to per-loan decisions: {loan_no: (debtor_id, balance, decision)}.

    ``retail`` holds the debtor ids the rules do not apply to.  Contagion: if a non-retail debtor's
    NPL balance is more than 10% of its total balance at this bank, each of its performing loans
    becomes substandard (reason ``contagion``); otherwise, if the debtor has any NPL here, its other
    loans are at least special mention (reason ``debtor_npl_elsewhere``).
    """
    totals: dict[str, Decimal] = {}
    npl_totals: dict[str, Decimal] = {}
    has_npl: set[str] = set()
    for debtor, balance, decision in decisions.values():
        totals[debtor] = totals.get(debtor, Decimal(0)) + balance
        if decision.npl:
            npl_totals[debtor] = npl_totals.get(debtor, Decimal(0)) + balance
            has_npl.add(debtor)

    result: dict[str, Decision] = {}
    for loan_no, (debtor, _, decision) in decisions.items():
        if debtor in retail or debtor not in has_npl or decision.npl:
            result[loan_no] = decision
            continue
        share_exceeded = totals[debtor] > 0 and npl_totals[debtor] > CONTAGION_SHARE * totals[debtor]
        code, floor = ("contagion", SUBSTANDARD) if share_exceeded else ("debtor_npl_elsewhere", SPECIAL_MENTION)
        if (code, floor) in decision.floor_reasons:
            result[loan_no] = decision
            continue
        result[loan_no] = replace(decision, category=worse(decision.category, floor),
                                  floor_reasons=[*decision.floor_reasons, (code, floor)])
    return result


def classify_book(loans: list[LoanFacts], on: date) -> dict[str, Decision]:
    """Classify every loan, then apply the debtor-level rules.

    A debtor counts as retail only when all its loans are retail.
    """
    per_loan: dict[str, tuple[str, Decimal, Decision]] = {}
    non_retail: set[str] = set()
    debtors: set[str] = set()
    for facts in loans:
        if facts.loan_no in per_loan:
            raise _invalid("loan_no", N_("The same loan number appears twice."))
        per_loan[facts.loan_no] = (facts.debtor_id, facts.balance, classify_loan(facts, on))
        debtors.add(facts.debtor_id)
        if not facts.retail:
            non_retail.add(facts.debtor_id)
    return apply_contagion(per_loan, debtors - non_retail)


# =========================================================================== the per-loan end of day (ORM)

_FROM_EVENTS = object()


def _states(loan: Loan) -> list[sched.InstalmentState]:
    from ippledge.core import money

    rows = list(loan.schedule.filter(current=True).order_by("due_date", "seq"))
    instalments = [sched.Instalment(seq=i + 1, due_date=r.due_date, principal=money.from_fen(r.principal),
                                    interest=money.from_fen(r.interest)) for i, r in enumerate(rows)]
    payments = [(p.date, money.from_fen(p.principal), money.from_fen(p.interest)) for p in loan.repayments.all()]
    return sched.apply_payments(instalments, payments)


def loan_facts(loan: Loan, on: dt.date, manual_floor=_FROM_EVENTS) -> LoanFacts:
    """The classification facts of one loan; ``manual_floor`` overrides the reviewer's recorded floor
    (pass None to ask what the rules alone would say)."""
    states = _states(loan)
    dpd = sched.days_past_due_on(states, on)
    events = list(loan.events.all())
    floor = manual_floor
    if floor is _FROM_EVENTS:
        manual = [e for e in events if e.type == "manual_floor"]
        floor = manual[-1].data.get("category") if manual else None
    due = [s for s in states if s.due_date <= on]
    on_time = 0
    for s in reversed(due):  # consecutive instalments paid by their due date, newest first
        if s.paid_on is not None and s.paid_on <= s.due_date:
            on_time += 1
        else:
            break
    first_on_time = due[-on_time].due_date if on_time else None
    months = ((on.year - first_on_time.year) * 12 + on.month - first_on_time.month) if first_on_time else 0
    obs_start = next((s.due_date for s in states if loan.restructured_on and s.due_date > loan.restructured_on), None)
    obs_paid = sum(1 for s in states if obs_start and obs_start <= s.due_date <= on and s.paid_on is not None
                   and s.paid_on <= s.due_date)
    return LoanFacts(
        loan_no=loan.loan_no, debtor_id=f"{loan.bank_id}:{loan.borrower_id}",
        balance=sched.outstanding_principal(states, on), dpd=dpd, restructured_on=loan.restructured_on,
        restructured_again=any(e.data.get("restructured_again") for e in events if e.type in ("extension",
                                                                                             "restructure")),
        observation_periods_paid=obs_paid, observation_started=obs_start, previous=loan.classification,
        arrears_cleared=dpd == 0, periods_paid_since_cure=on_time, months_since_cure=max(months, 0),
        able_to_pay=dpd == 0, manual_floor=floor)


def _record_change(loan: Loan, decision: Decision, on: dt.date, *, manual=False, note="") -> bool:
    from ippledge.credit.models import ClassificationChange

    if decision.category == loan.classification:
        return False
    ClassificationChange.objects.create(loan=loan, date=on, before=loan.classification, after=decision.category,
                                        reasons=[list(r) for r in decision.floor_reasons] or
                                        [[decision.upgrade_blocked_reason or "upgrade", decision.category]],
                                        manual=manual, note=note[:300], actor=None)
    loan.classification = decision.category
    loan.save(update_fields=["classification"])
    return True


def classify_book_per_loan(on: dt.date) -> dict:
    """The per-loan end of day as it was: load each open loan, build its facts, classify, save every loan
    (in one transaction)."""
    from django.db import transaction

    with transaction.atomic():
        return _classify_book_per_loan(on)


def _classify_book_per_loan(on: dt.date) -> dict:
    from ippledge.core import money
    from ippledge.credit.models import Loan

    loans = list(Loan.objects.filter(balance__gt=0).prefetch_related("schedule", "repayments", "events"))
    facts = [loan_facts(loan, on) for loan in loans]
    decisions = classify_book(facts, on)
    changed = 0
    for loan, fact in zip(loans, facts, strict=True):
        loan.dpd, loan.balance = fact.dpd, money.to_fen(fact.balance)
        loan.save(update_fields=["dpd", "balance"])
        changed += _record_change(loan, decisions[loan.loan_no], on)
    return {"loans": len(loans), "changed": changed}
