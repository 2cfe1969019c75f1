"""Loan-to-value after disbursement, the revaluation schedule and the pledge that follows the loan
(issue 12, points 4 and 6).

For every open loan: LTV = outstanding principal ÷ the current lender value, which is the latest final
valuation of exactly the loan's pledged rights (one right, or all of them as a bundle) that is still
valid under the product's validity; the maximum loan it supports under the product's caps is
``credit.engine.collateral.max_loan`` (the rule approval uses).  Outstanding above that maximum raises
``ltv_shortfall`` with the shortfall; back under, the alert clears.  The valuation's due date (the
earlier of its own validity and the product's ``valuation_validity_months``) raises
``valuation_expiring`` a lead before it (``IPPLEDGE_MONITORING_VALUATION_LEAD_DAYS``, default 30) and
``valuation_expired`` after it.  A loan repaid in full with a pledge still registered raises
``cancellation_due`` until the bank cancels it.

Recomputed on every repayment, prepayment and booking (``credit.services.loan_listeners``), every final
valuation (``valuation.services.valuation_listeners``), every registration that ends
(``registry.services.pledge_end_listeners``) and at end of day.  The end-of-day pass is set-based: a
chunk of loans costs a handful of queries however large the book (``_assess`` on the chunk), and the
single-loan listeners call the very same ``_assess`` on one loan, so the two cannot disagree.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext_lazy

from ippledge.core import business_date, money, vocabulary
from ippledge.core.eod import eod_job
from ippledge.core.errors import DomainError

from . import loan_rules, rules, services
from .models import LIVE_STATUSES, Alert

log = logging.getLogger(__name__)

CHUNK = 1000  # loans per set-based step: bounded memory and IN lists on any database
LTV_KINDS = ("ltv_shortfall", "valuation_expiring", "valuation_expired")


def valuation_lead_days() -> int:
    # IPPLEDGE_MONITORING_VALUATION_LEAD_DAYS (README's settings table): days before a valuation's due date
    return services.setting_int("MONITORING_VALUATION_LEAD_DAYS", 30)


@dataclass
class LoanFacts:
    loan_id: int
    loan_no: str
    bank_id: int
    balance: int
    rights: frozenset[int]
    registrations: tuple[str, ...]
    product_id: int | None
    product: tuple | None  # (ltv_caps, valuation_validity_months, review_frequency_months)


@dataclass
class Valuation:
    pk: int
    valuation_no: str
    valuation_date: dt.date
    valid_until: dt.date
    market_value: int


# --- gathering the facts of a set of loans ---------------------------------------------------------------

class PassCache:
    """What one pass reuses across its chunks: products' terms and maximum loans per (valuation, product).
    Never kept between passes: a product's caps or a valuation may change."""

    def __init__(self):
        self.products: dict[int, tuple] = {}
        self.max_loans: dict[tuple[int, int | None], int | None] = {}


def _products(product_ids: set[int], cache: PassCache) -> dict[int, tuple]:
    from ippledge.credit.models import Product

    missing = product_ids - set(cache.products)
    if missing:
        for pk, caps, validity, review in Product.objects.filter(pk__in=missing).values_list(
                "pk", "ltv_caps", "valuation_validity_months", "review_frequency_months"):
            cache.products[pk] = (caps or {}, validity, review)
    return {pk: cache.products[pk] for pk in product_ids if pk in cache.products}


def loan_facts(loan_ids: list[int], cache: PassCache | None = None) -> dict[int, LoanFacts]:
    """The loans with their collateral's right ids and their product's terms (four queries)."""
    from ippledge.credit.models import CreditCase, Loan, LoanCollateral
    from ippledge.rights.models import Right

    rows = Loan.objects.filter(pk__in=loan_ids).values_list("pk", "loan_no", "bank_id", "balance")
    product_of = dict(CreditCase.objects.filter(loan_id__in=loan_ids).values_list("loan_id", "product_id"))
    products = _products(set(product_of.values()), cache or PassCache())
    collateral = defaultdict(list)
    for loan_id, reg, kind, number in LoanCollateral.objects.filter(loan_id__in=loan_ids).values_list(
            "loan_id", "registration_no", "right_kind", "right_number"):
        collateral[loan_id].append((reg, kind, number))
    numbers = {number for items in collateral.values() for _r, _k, number in items}
    right_id = {(k, n): pk for pk, k, n in Right.objects.filter(number__in=numbers).values_list("pk", "kind", "number")}
    out = {}
    for pk, loan_no, bank_id, balance in rows:
        items = collateral.get(pk, [])
        out[pk] = LoanFacts(loan_id=pk, loan_no=loan_no, bank_id=bank_id, balance=balance,
                            rights=frozenset(right_id[(k, n)] for _r, k, n in items if (k, n) in right_id),
                            registrations=tuple(dict.fromkeys(r for r, _k, _n in items)),
                            product_id=product_of.get(pk), product=products.get(product_of.get(pk)))
    return out


def latest_valuations(right_sets: set[frozenset[int]]) -> dict[frozenset[int], Valuation]:
    """For each set of rights, its latest final valuation of exactly those rights (two queries)."""
    from ippledge.valuation.models import ValuationRecord, ValuationRight, ValuationStatus

    ids = {r for s in right_sets for r in s}
    if not ids:
        return {}
    members = defaultdict(set)
    # Every right of a candidate valuation, not only the loans' rights: a valuation of more rights is
    # not a valuation of these.
    candidates = ValuationRight.objects.filter(right_id__in=ids, valuation__status=ValuationStatus.FINAL) \
        .values("valuation_id")
    for valuation_id, rid in ValuationRight.objects.filter(valuation_id__in=candidates).values_list(
            "valuation_id", "right_id"):
        members[valuation_id].add(rid)
    wanted = {vid: frozenset(rs) for vid, rs in members.items() if frozenset(rs) in right_sets}
    best: dict[frozenset[int], tuple] = {}
    for pk, no, day, until, value, created in ValuationRecord.objects.filter(pk__in=wanted).values_list(
            "pk", "valuation_no", "valuation_date", "valid_until", "market_value", "created_at"):
        key = wanted[pk]
        rank = (day, created, pk)
        if key not in best or rank > best[key][0]:
            best[key] = (rank, Valuation(pk, no, day, until, value))
    return {key: v for key, (_rank, v) in best.items()}


def _max_loans(pairs: set[tuple[int, int | None]], cache: PassCache) -> dict[tuple, int | None]:
    """The maximum loan (fen) of each (valuation, product) under the product's caps; None when the
    valuation lacks the figures (one query for the results not computed yet in this process)."""
    from ippledge.credit.engine import collateral
    from ippledge.valuation.models import ValuationRecord

    missing = {p for p in pairs if p not in cache.max_loans}
    if missing:
        results = dict(ValuationRecord.objects.filter(pk__in={v for v, _p in missing}).values_list("pk", "result"))
        for vid, pid in missing:
            try:
                caps = cache.products[pid][0] if pid in cache.products else None
                cache.max_loans[(vid, pid)] = money.to_fen(collateral.max_loan(results[vid], caps)["max_loan"])
            except (DomainError, KeyError):
                cache.max_loans[(vid, pid)] = None
    return {p: cache.max_loans[p] for p in pairs}


# --- deciding: which conditions hold for a loan today -----------------------------------------------------

def _yuan(fen: int) -> str:
    return str(money.from_fen(fen))


def conditions(facts: LoanFacts, valuation: Valuation | None, max_loan: int | None, on: dt.date,
               lead_days: int) -> tuple[list[rules.Condition], bool]:
    """The LTV and valuation conditions of one loan, and whether its LTV is known today (an unknown LTV
    neither raises nor clears a shortfall)."""
    found: list[rules.Condition] = []
    if facts.balance <= 0 or valuation is None:
        return found, facts.balance <= 0
    validity = facts.product[1] if facts.product else None
    due = loan_rules.revaluation_due(valuation_date=valuation.valuation_date, valid_until=valuation.valid_until,
                                     validity_months=validity)
    kind = loan_rules.valuation_condition(due, on, lead_days)
    if kind is not None:
        found.append(rules.Condition(kind, rules.loan_key(facts.loan_id, f"val{valuation.pk}:{kind}"),
                                     rules.SPECS[kind].severity, deadline=due if kind == "valuation_expiring" else None,
                                     detail={"valuation_no": valuation.valuation_no, "due_date": due.isoformat(),
                                             "days_left": (due - on).days}))
    if kind == "valuation_expired" or max_loan is None:
        return found, False
    position = loan_rules.ltv_position(outstanding=facts.balance, market_value=valuation.market_value,
                                       max_loan=max_loan)
    if position.breached:
        found.append(rules.Condition("ltv_shortfall", rules.loan_key(facts.loan_id, "ltv"),
                                     rules.SPECS["ltv_shortfall"].severity, detail={
                                         "outstanding": _yuan(position.outstanding),
                                         "market_value": _yuan(position.market_value),
                                         "max_loan": _yuan(position.max_loan), "shortfall": _yuan(position.shortfall),
                                         "ltv": str(position.ltv), "pledge_rate": str(position.pledge_rate),
                                         "valuation_no": valuation.valuation_no}))
    return found, True


def position_of(loan_id: int, on: dt.date | None = None) -> dict | None:
    """A loan's LTV as its page shows it (None without a valuation of its rights): the same facts and
    rule as the end of day."""
    on = on or business_date.today()
    cache = PassCache()
    facts = loan_facts([loan_id], cache).get(loan_id)
    if facts is None or not facts.rights:
        return None
    valuation = latest_valuations({facts.rights}).get(facts.rights)
    if valuation is None:
        return None
    max_loan = _max_loans({(valuation.pk, facts.product_id)}, cache)[(valuation.pk, facts.product_id)]
    if max_loan is None:
        return None
    due = loan_rules.revaluation_due(valuation_date=valuation.valuation_date, valid_until=valuation.valid_until,
                                     validity_months=facts.product[1] if facts.product else None)
    p = loan_rules.ltv_position(outstanding=max(facts.balance, 0), market_value=valuation.market_value,
                                max_loan=max_loan)
    return {"valuation_no": valuation.valuation_no, "valuation_due": due, "expired": on > due,
            "outstanding": p.outstanding, "market_value": p.market_value, "max_loan": p.max_loan,
            "ltv": p.ltv, "pledge_rate": p.pledge_rate, "shortfall": p.shortfall}


# --- applying: raise what holds, refresh what changed, clear what ended --------------------------------

def _loan_objects(ids: set[int]) -> dict:
    from ippledge.credit.models import Loan

    return Loan.objects.select_related("bank", "created_by").in_bulk(ids) if ids else {}


def _pledge_of(registrations: tuple[str, ...]):
    from ippledge.registry.models import Pledge

    if len(registrations) != 1:
        return None
    return Pledge.objects.filter(registration_no=registrations[0]).first()


def _apply(wanted: dict[int, list[rules.Condition]], known: set[int], facts: dict[int, LoanFacts],
           kinds: tuple[str, ...], on: dt.date) -> dict:
    """Make the live alerts of ``kinds`` on these loans match ``wanted`` (loan id → conditions).  A loan
    not in ``known`` keeps its live alerts of ``ltv_shortfall`` (its LTV could not be computed today)."""
    live = defaultdict(dict)
    for pk, loan_id, kind, key, detail in Alert.objects.filter(
            loan_id__in=list(facts), kind__in=kinds, status__in=LIVE_STATUSES).values_list(
            "pk", "loan_id", "kind", "condition_key", "detail"):
        live[loan_id][(kind, key)] = (pk, detail)
    to_raise, stale = [], []
    for loan_id in facts:
        want = {(c.kind, c.key): c for c in wanted.get(loan_id, [])}
        for (kind, key), (pk, detail) in live[loan_id].items():
            if (kind, key) in want:
                if want[(kind, key)].detail != detail:
                    to_raise.append((loan_id, want[(kind, key)]))  # raise_alert refreshes the detail
            elif kind != "ltv_shortfall" or loan_id in known:
                stale.append(pk)
        to_raise += [(loan_id, c) for k, c in want.items() if k not in live[loan_id]]
    loans = _loan_objects({loan_id for loan_id, _c in to_raise})
    raised = 0
    for loan_id, c in to_raise:
        loan = loans[loan_id]
        due = services.due_date_for(c.kind, on, c.deadline)
        alert = services.raise_alert(kind=c.kind, condition_key=c.key, owner_org=loan.bank, on=on, loan=loan,
                                     pledge=_pledge_of(facts[loan_id].registrations), severity=c.severity,
                                     due_date=due, detail=c.detail)
        raised += alert is not None
    cleared = services.clear_ids(stale, on=on)
    return {"raised": raised, "cleared": cleared}


def _assess(loan_ids: list[int], on: dt.date, lead_days: int, cache: PassCache | None = None) -> dict:
    """LTV and revaluation of these loans: gather, decide with the pure rules, apply (a handful of
    queries for the whole list, plus one write per alert that changes)."""
    cache = cache or PassCache()
    facts = loan_facts(loan_ids, cache)
    sets = {f.rights for f in facts.values() if f.rights and f.balance > 0}
    valuations = latest_valuations(sets)
    pairs = {(valuations[f.rights].pk, f.product_id) for f in facts.values()
             if f.balance > 0 and f.rights in valuations}
    max_loans = _max_loans(pairs, cache)
    wanted, known = {}, set()
    for f in facts.values():
        v = valuations.get(f.rights) if f.rights else None
        found, is_known = conditions(f, v, max_loans.get((v.pk, f.product_id)) if v else None, on, lead_days)
        wanted[f.loan_id] = found
        if is_known:
            known.add(f.loan_id)
    result = _apply(wanted, known, facts, LTV_KINDS, on)
    result["shortfalls"] = sum(1 for cs in wanted.values() for c in cs if c.kind == "ltv_shortfall")
    return result


# --- the pledge follows the loan -------------------------------------------------------------------------

def _cancellation(loan_ids: list[int] | None, on: dt.date) -> dict:
    """``cancellation_due`` on every loan repaid in full whose registration is still live; cleared once
    it is not (set-based: the candidates are the loans at a zero balance with a registered pledge)."""
    from ippledge.credit import services as credit
    from ippledge.credit.models import LoanCollateral
    from ippledge.registry.models import Pledge, PledgeStatus

    candidates = LoanCollateral.objects.filter(
        loan__balance=0, registration_no__in=Pledge.objects.filter(status=PledgeStatus.REGISTERED)
        .values("registration_no"))
    live = Alert.objects.filter(kind="cancellation_due", status__in=LIVE_STATUSES)
    if loan_ids is not None:
        candidates, live = candidates.filter(loan_id__in=loan_ids), live.filter(loan_id__in=loan_ids)
    ids = set(candidates.values_list("loan_id", flat=True).distinct())
    loans = _loan_objects(ids | set(live.values_list("loan_id", flat=True)))
    todo = {pk: credit.pledges_to_cancel(loan) for pk, loan in loans.items() if pk in ids}
    todo = {pk: regs for pk, regs in todo.items() if regs}
    raised = 0
    for pk, regs in todo.items():
        loan = loans[pk]
        alert = services.raise_alert(kind="cancellation_due", condition_key=rules.loan_key(pk, "cancel"),
                                     owner_org=loan.bank, on=on, loan=loan, pledge=_pledge_of(tuple(regs)),
                                     detail={"registrations": regs, "reason": "repaid"})
        raised += alert is not None
    stale = list(live.exclude(loan_id__in=list(todo)).values_list("pk", flat=True))
    return {"raised": raised, "cleared": services.clear_ids(stale, on=on), "due": len(todo)}


# --- entry points: end of day and the listeners ----------------------------------------------------------

def refresh_loans(loan_ids: list[int], on: dt.date | None = None) -> dict:
    """Recompute these loans now (a repayment, a revaluation): the end of day's own steps on a few loans."""
    on = on or business_date.today()
    out = {"raised": 0, "cleared": 0}
    for start in range(0, len(loan_ids), CHUNK):
        chunk = loan_ids[start:start + CHUNK]
        with transaction.atomic():
            for part in (_assess(chunk, on, valuation_lead_days()), _cancellation(chunk, on)):
                out["raised"] += part["raised"]
                out["cleared"] += part["cleared"]
    return out


@eod_job("monitoring.loan_collateral", order=62)
def end_of_day(day: dt.date) -> dict:
    """Every open loan's LTV and revaluation date, and every repaid loan's pledge, after the loan book's
    balances are refreshed (credit.classify_loans runs at order 50)."""
    from ippledge.credit.models import Loan

    cache, lead = PassCache(), valuation_lead_days()
    totals = {"loans": 0, "raised": 0, "cleared": 0, "shortfalls": 0}
    last = 0
    while chunk := list(Loan.objects.filter(pk__gt=last, balance__gt=0).order_by("pk")
                        .values_list("pk", flat=True)[:CHUNK]):
        last = chunk[-1]
        part = _assess(chunk, day, lead, cache)
        totals["loans"] += len(chunk)
        for k in ("raised", "cleared", "shortfalls"):
            totals[k] += part[k]
    # Loans repaid since their alert was raised: the alerts clear.
    repaid = sorted(set(Alert.objects.filter(kind__in=LTV_KINDS, status__in=LIVE_STATUSES, loan__balance__lte=0)
                        .values_list("loan_id", flat=True)))
    for start in range(0, len(repaid), CHUNK):
        totals["cleared"] += _assess(repaid[start:start + CHUNK], day, lead, cache)["cleared"]
    cancel = _cancellation(None, day)
    totals["cancellation_due"] = cancel["due"]
    totals["raised"] += cancel["raised"]
    totals["cleared"] += cancel["cleared"]
    return totals


def on_loan_change(*, loan_id: int, reason: str) -> None:
    refresh_loans([loan_id])


def on_valuation(*, valuation_id: int) -> None:
    """A final valuation (a revaluation above all): the open loans secured by exactly its rights."""
    from ippledge.credit.models import LoanCollateral
    from ippledge.valuation.models import ValuationRight

    refs = list(ValuationRight.objects.filter(valuation_id=valuation_id).values_list("right__kind", "right__number"))
    if not refs:
        return
    loan_ids = set()
    for kind, number in refs:
        loan_ids |= set(LoanCollateral.objects.filter(right_kind=kind, right_number=number, loan__balance__gt=0)
                        .values_list("loan_id", flat=True))
    refresh_loans(sorted(loan_ids))


def on_pledge_end(*, pledge, status: str, on: dt.date) -> None:
    """A registration ended (cancelled through the registry, not only from the loan page): the loans it
    secured no longer wait for its cancellation."""
    from ippledge.credit.models import LoanCollateral

    loan_ids = list(LoanCollateral.objects.filter(registration_no=pledge.registration_no)
                    .values_list("loan_id", flat=True).distinct())
    if loan_ids:
        _cancellation(loan_ids, on)


def _register() -> None:
    from ippledge.credit import services as credit
    from ippledge.registry import services as registry
    from ippledge.valuation import services as valuation

    for hooks, listener in ((credit.loan_listeners, on_loan_change), (valuation.valuation_listeners, on_valuation),
                            (registry.pledge_end_listeners, on_pledge_end)):
        if listener not in hooks:
            hooks.append(listener)


vocabulary.register("eod_job", {"monitoring.loan_collateral": gettext_lazy(
    "Loans: loan-to-value, revaluation dates and pledges to cancel")})
_register()
