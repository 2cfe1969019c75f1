"""Claims on enrolled non-performing loans: filing (the engine's allocation, then every cap in order),
each party paying its share through its own users (maker, then a different checker of the same party),
and recoveries after payment that true the payers up pro rata, with the funds' ledger entries.

Caps in order (lending-rules §5): eligible base and IP portion and per-loan caps (the engine), then for
the scheme's funds the borrower-year cap, the scheme's annual cap (first come first served by claim
date: filings are serialised on the scheme row), the bank's annual cap, and with ``limit_to_balance``
the fund's remaining balance (its balance less what other claims' unpaid shares already hold).
"""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from ippledge.core import audit, business_date, limits, money, numbers
from ippledge.core.actors import user_or_none as _user
from ippledge.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ippledge.core.permissions import require_user
from ippledge.credit import inputs
from ippledge.credit import services as credit
from ippledge.credit.models import NON_PERFORMING

from . import services
from .models import (
    PARTY_ROLES,
    Claim,
    ClaimPayment,
    ClaimShare,
    ClaimStatus,
    Enrolment,
    LedgerKind,
    Mode,
    PartyKind,
    PaymentStatus,
    Recovery,
    SchemeParty,
    WriteOff,
    WriteOffStatus,
)

LOSS_EVENTS = ("disposal", "court_ruling", "bankruptcy", "settlement", "other")
PARTY_ACTOR_ROLES = frozenset(PARTY_ROLES.values())


def _engine():
    from .engine import allocation

    return allocation


# --- reading -----------------------------------------------------------------------------------------

def claims_for(actor):
    require_user(actor)
    return Claim.objects.restrict(actor, "view")


def get_claim(*, actor, claim_id, for_update: bool = False) -> Claim:
    pk = inputs.optional_id(claim_id, "claim_id")
    found = claims_for(actor).filter(pk=pk).values_list("pk", flat=True).first() if pk else None
    if found is None:
        raise NotFound(_("No such claim."), code="claim_not_found")
    return (Claim.objects.select_for_update() if for_update else Claim.objects).get(pk=found)


# --- filing ------------------------------------------------------------------------------------------

def _fund_used(scheme_id: int, year: int, **where) -> int:
    """What the scheme's funds were allotted by earlier claims of the year (optionally one borrower or bank)."""
    return ClaimShare.objects.filter(claim__scheme_id=scheme_id, claim__filed_on__year=year,
                                     party__kind=PartyKind.FUND, **where).aggregate(s=Sum("share"))["s"] or 0


def _held(party: SchemeParty) -> int:
    """What the fund's balance already owes: other claims' shares not yet paid."""
    return ClaimShare.objects.filter(party=party).aggregate(s=Sum(F("share") - F("paid")))["s"] or 0


def _recognised_loss(loan, enrolment: Enrolment, principal_loss, loss_event) -> tuple[int, dict, WriteOff | None]:
    """Ex post: the principal loss once recognised — by the loan's approved write-off, or stated with the
    event that fixed it (a disposal, a court ruling…)."""
    written = WriteOff.objects.filter(loan=loan, status=WriteOffStatus.APPROVED).first()
    check = inputs.Checks()
    loss = None if principal_loss in (None, "") else check(inputs.fen, principal_loss, "principal_loss",
                                                           allow_zero=True)
    event: dict = {}
    if written is None:
        if not isinstance(loss_event, dict):
            if loss is None:
                raise Conflict(_("In an ex-post scheme the claim waits until the principal loss is recognised "
                                 "(a write-off, or the disposal that fixed it)."), code="loss_not_recognised")
            check.fail("loss_event", _("Name the event that recognised the loss: its kind, date and reference."),
                       "loss_event_required")
        else:
            on = business_date.today()
            event = {"kind": check(inputs.choice, loss_event.get("kind"), "loss_event.kind", LOSS_EVENTS),
                     "reference": check(inputs.short, loss_event.get("reference"), "loss_event.reference",
                                        required=True),
                     "date": check(inputs.day, loss_event.get("date"), "loss_event.date", today=on,
                                   not_before=loan.start_date, not_after=on)}
            if loss is None:
                check.fail("principal_loss", _("This field is required."))
        ceiling = loan.balance
    else:
        event = {"kind": "write_off", "reference": str(written.pk), "date": written.date.isoformat()}
        ceiling = written.amount
        loss = written.amount if loss is None else loss
    if loss is not None and loss > ceiling:
        check.fail("principal_loss", _("The principal loss cannot exceed the principal outstanding (%(cap)s).")
                   % {"cap": money.from_fen(ceiling)}, "loss_above_outstanding")
    check.done(_("The claim is not valid."))
    if "date" in event and not isinstance(event["date"], str):
        event["date"] = event["date"].isoformat()
    return loss, event, written


def _cap(caps: list, share: int, name: str, room: int | None) -> int:
    """The share within one remaining capacity (the engine's rule), noting the cap when it bites."""
    if room is None:
        return share
    after = money.fen(_engine().cap_share(money.from_fen(share), money.from_fen(max(room, 0))))
    if after < share:
        caps.append({"cap": name, "before": share, "after": after})
    return after


def _capped_shares(scheme, parties, allocation, loan, on) -> tuple[list[dict], int]:
    """Every party's share after the scheme's caps in order; returns the rows and the bank's share."""
    year = on.year
    used_borrower = _fund_used(scheme.pk, year, claim__loan__borrower_id=loan.borrower_id)
    used_year = _fund_used(scheme.pk, year)
    used_bank = _fund_used(scheme.pk, year, claim__loan__bank_id=loan.bank_id)
    rows, total = [], 0
    for party in parties:
        if party.kind == PartyKind.BANK:
            continue  # folded into the bank's remainder by the engine
        allocated = money.fen(allocation.shares.get(party.name, Decimal(0)))
        share, caps = allocated, []
        uncapped = money.fen(party.ratio * allocation.eligible)
        if party.per_loan_cap is not None and uncapped > allocated:
            caps.append({"cap": "per_loan_cap", "before": uncapped, "after": allocated})
        if party.kind == PartyKind.FUND:
            share = _cap(caps, share, "borrower_year_cap", None if scheme.borrower_year_cap is None
                         else scheme.borrower_year_cap - used_borrower)
            share = _cap(caps, share, "annual_cap", None if scheme.annual_cap is None else scheme.annual_cap - used_year)
            share = _cap(caps, share, "bank_annual_cap", None if scheme.bank_annual_cap is None
                         else scheme.bank_annual_cap - used_bank)
        if party.funded and scheme.limit_to_balance:
            share = _cap(caps, share, "balance", party.balance - _held(party))
        if party.kind == PartyKind.FUND:
            used_borrower, used_year, used_bank = used_borrower + share, used_year + share, used_bank + share
        rows.append({"party": party, "allocated": allocated, "share": share, "caps": caps})
        total += share
    return rows, total


@transaction.atomic
def file_claim(*, actor, loan_no: str, principal_loss=None, loss_event=None) -> Claim:
    """The lending bank files the claim of an enrolled loan that is substandard or worse."""
    credit.require_bank_staff(actor)  # the role first: a stranger learns nothing of the loan
    loan = credit.get_loan(actor=actor, loan_no=loan_no, for_update=True)
    credit.require_bank_staff(actor, loan.bank)
    enrolment = Enrolment.objects.filter(loan=loan).first()
    if enrolment is None:
        raise Conflict(_("The loan is not in a risk-sharing scheme."), code="not_enrolled")
    if loan.classification not in NON_PERFORMING:
        raise Conflict(_("A claim arises when the loan is non-performing (substandard, doubtful or loss)."),
                       code="not_non_performing")
    # The scheme row is locked: the year's caps go to claims in the order they are filed.
    scheme = type(enrolment.scheme).objects.select_for_update().get(pk=enrolment.scheme_id)
    if Claim.objects.filter(loan=loan).exists():
        raise Conflict(_("This loan's claim is already filed."), code="already_claimed")
    on = business_date.today()
    written = None
    if scheme.mode == Mode.ADVANCE:
        base, event = loan.balance, {"kind": "npl", "date": on.isoformat(), "reference": loan.classification}
        if base <= 0:
            raise Conflict(_("No principal is outstanding."), code="nothing_outstanding")
    else:
        base, event, written = _recognised_loss(loan, enrolment, principal_loss, loss_event)
    parties = list(SchemeParty.objects.select_for_update().filter(scheme=scheme).order_by("seq", "id"))
    allocation = _engine().allocate(services.engine_rules(scheme, parties), loan_amount=money.from_fen(loan.amount),
                                    principal_loss=money.from_fen(base),
                                    ip_secured_amount=services._yuan(enrolment.ip_secured_amount))
    rows, total = _capped_shares(scheme, parties, allocation, loan, on)
    try:
        with transaction.atomic():
            claim = Claim.objects.create(
                claim_no=numbers.next_number(f"rs-claim-{on.year}", f"RC{on.year}", 6), scheme=scheme, loan=loan,
                mode=scheme.mode, base_amount=base, eligible=money.fen(allocation.eligible), bank_share=base - total,
                classification=loan.classification, loss_event=event, write_off=written,
                status=ClaimStatus.FILED if total else ClaimStatus.PAID, filed_on=on, filed_by=_user(actor))
    except IntegrityError:
        raise Conflict(_("This loan's claim is already filed."), code="already_claimed") from None
    ClaimShare.objects.bulk_create([ClaimShare(claim=claim, party=r["party"], allocated=r["allocated"],
                                               share=r["share"], caps=r["caps"]) for r in rows])
    audit.record(actor=actor, action="risk_claim.file", obj=claim, object_repr=claim.claim_no,
                 after={"loan": loan.loan_no, "mode": claim.mode, "base": base, "eligible": claim.eligible,
                        "shares": {r["party"].name: r["share"] for r in rows}, "bank": claim.bank_share})
    return claim


# --- payments: maker, then checker, inside each party ---------------------------------------------

def _share(claim: Claim, party_name, *, for_update: bool = False) -> ClaimShare:
    party = services.find_party(claim.scheme, party_name)
    query = ClaimShare.objects.select_for_update() if for_update else ClaimShare.objects
    return query.select_related("party").get(claim=claim, party=party)


@transaction.atomic
def propose_payment(*, actor, claim_id, party, amount=None, note: str = "") -> ClaimPayment:
    """One of the party's users enters its payment of (part of) its share; another confirms it."""
    from ippledge.core.permissions import require_role

    require_role(actor, PARTY_ACTOR_ROLES, _("Each party pays through its own users."))
    claim = get_claim(actor=actor, claim_id=claim_id, for_update=True)
    share = _share(claim, party, for_update=True)
    services.acts_for_party(actor, share.party)
    check = inputs.Checks()
    left = share.share - share.paid
    value = left if amount in (None, "") else check(inputs.fen, amount, "amount")
    note = check(inputs.text, note, "note", max_length=300) or ""
    check.done(_("The payment is not valid."))
    if share.payments.filter(status=PaymentStatus.PROPOSED).exists():
        raise Conflict(_("A payment of this share awaits its checker."), code="payment_pending")
    if left <= 0:
        raise Conflict(_("This party's share is paid."), code="share_paid")
    if value > left:
        raise Conflict(_("The payment is more than the %(left)s left of this party's share.")
                       % {"left": money.from_fen(left)}, code="share_exceeded")
    if share.party.funded and value > share.party.balance:
        raise Conflict(_("The fund's balance of %(balance)s is not enough for %(amount)s.")
                       % {"balance": money.from_fen(share.party.balance), "amount": money.from_fen(value)},
                       code="insufficient_balance")
    try:
        with transaction.atomic():
            payment = ClaimPayment.objects.create(share=share, amount=value, made_by=_user(actor), note=note)
    except IntegrityError:
        raise Conflict(_("A payment of this share awaits its checker."), code="payment_pending") from None
    audit.record(actor=actor, action="risk_payment.propose", obj=payment, object_repr=claim.claim_no,
                 after={"party": share.party.name, "amount": value})
    return payment


@transaction.atomic
def check_payment(*, actor, claim_id, payment_id, approve, note: str = "") -> ClaimPayment:
    """The party's second user confirms (the money moves, the fund's ledger shows it) or rejects."""
    from ippledge.core.permissions import require_role

    require_role(actor, PARTY_ACTOR_ROLES, _("Each party pays through its own users."))
    claim = get_claim(actor=actor, claim_id=claim_id, for_update=True)
    pk = inputs.optional_id(payment_id, "payment_id")
    payment = ClaimPayment.objects.select_for_update().filter(pk=pk, share__claim=claim).first() if pk else None
    if payment is None:
        raise NotFound(_("No such payment."), code="payment_not_found")
    share = ClaimShare.objects.select_for_update().select_related("party").get(pk=payment.share_id)
    services.acts_for_party(actor, share.party)
    approve = inputs.flag(approve, "approve", default=None)
    if approve is None:
        raise ValidationFailed(_("Confirm or reject the payment."), fields={"approve": [_("This field is required.")]})
    note = inputs.text(note, "note", max_length=300)
    if payment.made_by_id is not None and payment.made_by_id == getattr(actor, "pk", None):
        raise PermissionDenied(_("No one confirms a payment they entered."), code="separation_of_duties")
    if payment.status != PaymentStatus.PROPOSED:
        raise Conflict(_("This payment is already decided."), code="already_decided")
    on = business_date.today()
    payment.checked_by, payment.checked_at = _user(actor), timezone.now()
    if not approve:
        payment.status, payment.note = PaymentStatus.REJECTED, note or payment.note
        payment.save(update_fields=["status", "checked_by", "checked_at", "note"])
        audit.record(actor=actor, action="risk_payment.reject", obj=payment, object_repr=claim.claim_no)
        return payment
    if payment.amount > share.share - share.paid:
        raise Conflict(_("The payment is more than what is left of this party's share."), code="share_exceeded")
    if share.party.funded:
        services.post_ledger(party=share.party, kind=LedgerKind.PAYMENT, amount=-payment.amount, on=on, actor=actor,
                             claim=claim, note=claim.claim_no)
    share.paid += payment.amount
    share.save(update_fields=["paid"])
    payment.status, payment.paid_on = PaymentStatus.PAID, on
    payment.save(update_fields=["status", "checked_by", "checked_at", "paid_on"])
    if not claim.shares.filter(paid__lt=F("share")).exists():
        claim.status = ClaimStatus.PAID
        claim.save(update_fields=["status"])
    audit.record(actor=actor, action="risk_payment.confirm", obj=payment, object_repr=claim.claim_no,
                 after={"party": share.party.name, "amount": payment.amount, "paid": share.paid})
    return payment


# --- recoveries --------------------------------------------------------------------------------------

@transaction.atomic
def record_recovery(*, actor, claim_id, amount, date) -> Recovery:
    """The bank records principal recovered after the claim was paid; each payer gets its part back pro
    rata to what it paid (the engine's true-up on the total recovered), funds through their ledger."""
    credit.require_bank_staff(actor)
    claim = get_claim(actor=actor, claim_id=claim_id, for_update=True)
    credit.require_bank_staff(actor, claim.loan.bank)
    on = business_date.today()
    check = inputs.Checks()
    value = check(inputs.fen, amount, "amount")
    day = check(inputs.day, date, "date", today=on, not_before=claim.filed_on, not_after=on)
    check.done(_("The recovery is not valid."))
    if claim.status == ClaimStatus.FILED:
        raise Conflict(_("Record recoveries once every party has paid its share."), code="claim_not_paid")
    if claim.recovered + value > claim.base_amount:
        message = _("Recoveries cannot exceed the claim's principal of %(base)s (interest is not shared).") \
            % {"base": money.from_fen(claim.base_amount)}
        raise ValidationFailed(message, code="recovery_above_base", fields={"amount": [message]})
    shares = list(ClaimShare.objects.select_for_update().select_related("party").filter(claim=claim)
                  .order_by("party__seq", "id"))
    total = claim.recovered + value
    back = _engine().true_up({s.party.name: money.from_fen(s.paid) for s in shares if s.paid > 0},
                             outstanding_at_claim=money.from_fen(claim.base_amount), recovered=money.from_fen(total))
    deltas: dict[str, int] = {}
    for share in shares:
        delta = money.fen(back.get(share.party.name, Decimal(0))) - share.returned
        if delta <= 0:
            continue
        if share.party.funded:
            services.post_ledger(party=share.party, kind=LedgerKind.RETURN, amount=delta, on=day, actor=actor,
                                 claim=claim, note=claim.claim_no)
        share.returned += delta
        share.save(update_fields=["returned"])
        deltas[share.party.name] = delta
    recovery = Recovery.objects.create(claim=claim, amount=value, date=day, true_up=deltas, recorded_by=_user(actor))
    claim.recovered, claim.status = total, ClaimStatus.SETTLED
    claim.save(update_fields=["recovered", "status"])
    audit.record(actor=actor, action="risk_claim.recovery", obj=claim, object_repr=claim.claim_no,
                 after={"amount": value, "recovered": total, "returned": deltas})
    return recovery


def list_limit(value) -> int:
    return 100 if value in (None, "") else inputs.whole(value, "limit", low=1, high=limits.limit("MAX_LIST"))

