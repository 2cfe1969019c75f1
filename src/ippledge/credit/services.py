"""Business actions of the loan book: book (disburse) a loan, record repayments, extend, restructure,
classify manually, and the end-of-day classification of the whole book by the 2023 rules."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable

from django.db import transaction
from django.utils.translation import gettext as _

from ippledge.core import audit, business_date, identifiers, limits, money, numbers
from ippledge.core.actors import user_or_none as _user
from ippledge.core.errors import (
    Conflict,
    DomainError,
    NotFound,
    ValidationFailed,
)
from ippledge.core.models import Organisation
from ippledge.core.permissions import BANK_STAFF, require_member
from ippledge.core.roles import Role
from ippledge.registry.models import Pledge, PledgeStatus

from . import bulk, inputs
from .engine import classification as rules
from .engine import schedule as sched
from .models import (
    Classification,
    ClassificationChange,
    Loan,
    LoanCollateral,
    LoanEvent,
    Park,
    Repayment,
    ScheduleKind,
    ScheduleRow,
)

IP_KINDS = ("patent", "trademark", "copyright", "bundle", "geographical_indication", "other")
# Who decides a loan's course (extension, restructuring, manual class): the reviewer and the approver.
DECIDERS: frozenset[Role] = frozenset({Role.BANK_REVIEWER, Role.BANK_APPROVER})
RATE_PLACES = 6  # Loan.annual_rate keeps six decimals: a rate with more is refused, not rounded

# Later apps (monitoring) react to a change of a loan's balance or collateral without credit importing
# them: ``listener(loan_id=..., reason=...)`` runs after the transaction commits (a failing listener is
# logged and never undoes the repayment); reasons: booked, repayment, prepayment, pledges_cancelled.
loan_listeners: list[Callable[..., None]] = []


def _after_commit(loan: Loan, reason: str) -> None:
    for listener in loan_listeners:
        transaction.on_commit(functools.partial(listener, loan_id=loan.pk, reason=reason), robust=True)


def require_bank_staff(actor, bank: Organisation | None = None, roles: Iterable[Role] = BANK_STAFF) -> None:
    """``core.permissions.require_member`` with the credit app's one refusal: the role first, then the bank
    (its own staff or its head office's); ``bank=None`` asks the role only."""
    require_member(actor, bank, roles, _("Only the bank's staff may do this."))


def _states(loan: Loan) -> list[sched.InstalmentState]:
    rows = list(loan.schedule.filter(current=True).order_by("due_date", "seq"))
    instalments = [sched.Instalment(seq=i + 1, due_date=r.due_date, principal=money.from_fen(r.principal),
                                    interest=money.from_fen(r.interest)) for i, r in enumerate(rows)]
    payments = [(p.date, money.from_fen(p.principal), money.from_fen(p.interest)) for p in loan.repayments.all()]
    return sched.apply_payments(instalments, payments)


def _write_schedule(loan: Loan, instalments: list[sched.Instalment], version: int) -> None:
    ScheduleRow.objects.bulk_create([ScheduleRow(loan=loan, seq=i.seq, due_date=i.due_date,
                                                 principal=money.to_fen(i.principal), interest=money.to_fen(i.interest),
                                                 version=version) for i in instalments])


CURRENCIES = ("CNY",)  # the loan book, its statistics and the regulator's reports are kept in yuan


def bank_family(bank: Organisation) -> list[Organisation]:
    """The bank, its head office and its branches: who may lend on a pledge registered to one of them."""
    from django.db.models import Q

    query = Q(pk=bank.pk) | Q(parent_id=bank.pk)
    if bank.parent_id:
        query |= Q(pk=bank.parent_id)
    return list(Organisation.objects.filter(query, kind="bank"))


def _borrower(actor, data: dict) -> Organisation:
    try:
        uscc = identifiers.normalise_uscc(data.get("borrower_uscc") or "")
    except DomainError as exc:
        raise ValidationFailed(exc.localised(_), code=exc.code, fields={"borrower_uscc": [exc.localised(_)]}) from None
    borrower = Organisation.objects.filter(uscc=uscc, kind="enterprise").first()
    if borrower is not None:
        return borrower
    if _user(actor) is None and actor.is_platform_admin:
        # An import from the operator's shell registers the borrower through the audited organisation
        # service; a user's request never creates an organisation.
        from ippledge.core import services as core_services

        name = limits.text(data.get("borrower_name"), field="borrower_name", max_length=limits.limit("MAX_SHORT_TEXT"))
        return core_services.create_organisation(actor=actor, name=name or uscc, kind="enterprise", uscc=uscc)
    message = _("No enterprise with this USCC is registered on the platform; an administrator registers it first.")
    raise ValidationFailed(message, code="unknown_borrower", fields={"borrower_uscc": [message]})


def _check_pledge(registration: str, bank: Organisation, borrower: Organisation,
                  field: str = "pledge_registration_no") -> Pledge:
    """A loan is booked only on registered pledges whose pledgee is the lending bank (or its head office
    or a branch) and whose pledgor or debtor is the borrower."""
    from django.db.models import Q

    pledge = Pledge.objects.filter(registration_no=registration).first()
    if pledge is None:
        raise Conflict(_("The pledge is not registered; the loan cannot be disbursed."), code="pledge_not_registered")
    family = bank_family(bank)
    pledgee = Q(org__in=family) | Q(id_type="uscc", id_number__in=[b.uscc for b in family if b.uscc])
    debtor = Q(org=borrower) | Q(id_type="uscc", id_number=borrower.uscc)
    if not (pledge.parties.filter(pledgee, role="pledgee").exists() and
            pledge.parties.filter(debtor, role__in=("pledgor", "debtor")).exists()):
        message = _("This pledge does not secure a loan of this bank to this borrower: the pledgee must be the "
                    "bank (or its head office or a branch) and the borrower a pledgor or the debtor.")
        raise ValidationFailed(message, code="pledge_not_yours", fields={field: [message]})
    if pledge.status != PledgeStatus.REGISTERED:
        # Disbursement only against a registered pledge (the pledge is created on registration).
        raise Conflict(_("The pledge is not registered; the loan cannot be disbursed."), code="pledge_not_registered")
    return pledge


def _registrations(check: inputs.Checks, data: dict) -> list[str]:
    """The registrations securing the loan: ``pledge_registration_no`` (one) and/or
    ``pledge_registration_nos`` (a bundle across registry regimes: one registration per regime)."""
    listed = check(inputs.entries, data.get("pledge_registration_nos"), "pledge_registration_nos",
                   max_items=limits.limit("MAX_RIGHTS")) or []
    given = [(data.get("pledge_registration_no"), "pledge_registration_no"),
             *((value, f"pledge_registration_nos[{i}]") for i, value in enumerate(listed))]
    found: list[str] = []
    for value, field in given:
        number = (check(inputs.short, value, field) or "").upper()
        if number and number not in found:
            found.append(number)
    return found


def _loan_terms(data: dict, on: dt.date) -> dict:
    """Every term of a loan parsed within the business limits; one 422 names every bad field."""
    check = inputs.Checks()
    terms = {
        "amount": check(inputs.fen, data.get("amount"), "amount"),
        "rate": check(inputs.fraction, data.get("annual_rate"), "annual_rate", places=RATE_PLACES),
        "currency": check(inputs.choice, data.get("currency").upper() if isinstance(data.get("currency"), str)
                          else data.get("currency"), "currency", CURRENCIES, default="CNY"),
        "start": check(inputs.day, data.get("start_date"), "start_date", today=on),
        "kind": check(inputs.choice, data.get("schedule"), "schedule", ScheduleKind.values, default="bullet"),
        "day_count": check(inputs.choice, data.get("day_count"), "day_count", sched.DAY_BASIS, default="ACT/360"),
        "ip_kind": check(inputs.choice, data.get("ip_kind"), "ip_kind", IP_KINDS),
        "instalments": None if data.get("instalments") is None else
        check(inputs.whole, data.get("instalments"), "instalments", low=1, high=limits.limit("MAX_INSTALMENTS")),
        "registrations": _registrations(check, data),
        "first_loan": check(inputs.flag, data.get("first_loan"), "first_loan"),
        "inclusive_smb": check(inputs.flag, data.get("inclusive_smb"), "inclusive_smb"),
        "park_id": check(inputs.optional_id, data.get("park_id"), "park_id"),
    }
    if terms["start"] is not None:
        terms["maturity"] = check(inputs.day, data.get("maturity_date"), "maturity_date", today=on,
                                  not_before=terms["start"] + dt.timedelta(days=1),
                                  not_after=sched.add_months(terms["start"], limits.limit("MAX_TERM_MONTHS")))
    check.done(_("The loan is not valid."))
    return terms


@transaction.atomic
def book_loan(*, actor, data: dict, collateral_values: dict[int, int] | None = None) -> Loan:
    """Book a loan, on the registered pledges that secure it (if any).  ``collateral_values``: what the
    loan's valuation gives each pledged right (right id → fen), passed by the credit workflow only."""
    require_bank_staff(actor)
    bank_id = inputs.optional_id(data.get("bank_org_id"), "bank_org_id")
    bank = Organisation.objects.filter(pk=bank_id, kind="bank").first() if bank_id else None
    if bank is None:
        raise NotFound(_("No such bank."), code="bank_not_found", fields={"bank_org_id": [_("Not found.")]})
    require_bank_staff(actor, bank)
    terms = _loan_terms(data, business_date.today())
    borrower = _borrower(actor, data)
    park = None
    if terms["park_id"]:
        park = Park.objects.filter(pk=terms["park_id"]).first()
        if park is None:
            raise ValidationFailed(_("No such park."), code="unknown_park", fields={"park_id": [_("Not found.")]})
    registrations = terms["registrations"]
    pledges = [_check_pledge(number, bank, borrower, "pledge_registration_no" if len(registrations) == 1
                             else "pledge_registration_nos") for number in registrations]
    amount, start = terms["amount"], terms["start"]
    instalments = sched.build_schedule(principal=money.from_fen(amount), annual_rate=terms["rate"], start_date=start,
                                       maturity_date=terms["maturity"], kind=terms["kind"],
                                       instalments=terms["instalments"], day_count=terms["day_count"])
    loan = Loan.objects.create(
        loan_no=numbers.next_number(f"loan-{start.year}", f"LN{start.year}", 8), bank=bank, borrower=borrower,
        amount=amount, currency=terms["currency"], annual_rate=terms["rate"], start_date=start,
        maturity_date=terms["maturity"], schedule_kind=terms["kind"], day_count=terms["day_count"],
        ip_kind=terms["ip_kind"], pledge_registration_no=registrations[0] if len(registrations) == 1 else "",
        first_loan=terms["first_loan"], inclusive_smb=terms["inclusive_smb"], park=park, balance=amount,
        created_by=_user(actor))
    _write_collateral(loan, pledges, collateral_values or {})
    _write_schedule(loan, instalments, version=1)
    ClassificationChange.objects.create(loan=loan, date=start, before="", after=Classification.NORMAL,
                                        reasons=[["booked", Classification.NORMAL]], actor=_user(actor))
    audit.record(actor=actor, action="loan.book", obj=loan, object_repr=loan.loan_no,
                 after={"amount": amount, "bank": bank.pk, "borrower": borrower.pk, "schedule": terms["kind"],
                        "registrations": registrations})
    _after_commit(loan, "booked")
    return loan


def _write_collateral(loan: Loan, pledges: list[Pledge], values: dict[int, int]) -> None:
    LoanCollateral.objects.bulk_create([
        LoanCollateral(loan=loan, registration_no=pledge.registration_no, regime=pledge.regime,
                       right_kind=link.right.kind, right_number=link.right.number,
                       allocated_value=values.get(link.right_id))
        for pledge in pledges for link in pledge.pledge_rights.select_related("right").order_by("id")])


def get_loan(*, actor, loan_no: str, for_update: bool = False) -> Loan:
    pk = Loan.objects.restrict(actor, "view").filter(loan_no=loan_no).values_list("pk", flat=True).first()
    if pk is None:
        raise NotFound(_("No such loan."), code="loan_not_found")
    return (Loan.objects.select_for_update() if for_update else Loan.objects).get(pk=pk)


def _refresh_summary(loan: Loan, on: dt.date) -> None:
    states = _states(loan)
    loan.balance = money.to_fen(sched.outstanding_principal(states, on))
    loan.dpd = sched.days_past_due_on(states, on)
    loan.save(update_fields=["balance", "dpd"])


def _payment_day(value, loan: Loan, on: dt.date) -> dt.date:
    """A repayment is dated between the loan's start and today's business date."""
    return inputs.day(value, "date", today=on, not_before=loan.start_date, not_after=max(on, loan.start_date))


def _payment_inputs(actor, loan_no: str, date, principal, interest, invalid: str):
    """The lending bank's loan (locked), the business date, the payment day and the amounts in fen of a
    repayment or an enforcement recovery; 422 with ``invalid`` for bad amounts or a day, and for nothing."""
    require_bank_staff(actor)  # the role first: a stranger learns nothing of the object
    loan = get_loan(actor=actor, loan_no=loan_no, for_update=True)
    require_bank_staff(actor, loan.bank)
    on = business_date.today()
    check = inputs.Checks()
    day = check(_payment_day, date, loan, on)
    p = check(inputs.fen, "0" if principal in (None, "") else principal, "principal", allow_zero=True)
    i = check(inputs.fen, "0" if interest in (None, "") else interest, "interest", allow_zero=True)
    check.done(invalid)
    if p + i == 0:
        raise ValidationFailed(_("Give a positive repayment."), fields={"principal": [_("Must be greater than zero.")]})
    return loan, on, day, p, i


@transaction.atomic
def repay(*, actor, loan_no: str, date, principal, interest) -> Repayment:
    loan, on, day, p, i = _payment_inputs(actor, loan_no, date, principal, interest,
                                          _("The repayment is not valid."))
    was_repaid = fully_repaid(loan)
    row = Repayment.objects.create(loan=loan, date=day, principal=p, interest=i, recorded_by=_user(actor))
    try:
        _refresh_summary(loan, on)
    except DomainError as exc:
        raise Conflict(exc.localised(_), code="overpayment") from None
    audit.record(actor=actor, action="loan.repay", obj=loan, object_repr=loan.loan_no,
                 after={"date": day, "principal": p, "interest": i})
    if not was_repaid:
        _prompt_cancellation(loan)
    _after_commit(loan, "repayment")
    return row


ENFORCEMENT_SEQ = 10_000  # rows an enforcement recovery writes sort after every scheduled row of their day


@transaction.atomic
def apply_enforcement_recovery(*, actor, loan_no: str, date, principal, interest) -> Repayment:
    """A recovery from enforcing the loan's collateral (a disposal's settlement or licence income), applied
    exactly as the Civil Code 561 waterfall split it: ``interest`` to interest, ``principal`` to principal.

    An ordinary repayment runs down the schedule oldest instalment first, interest then principal, so a
    large recovery would pay instalments' principal before later instalments' overdue interest and the
    balance would drop by less than the waterfall's principal.  The enforcement accelerates the claim
    instead: the instalments not yet settled are replaced (a new schedule version) by, all due on the
    earliest unpaid due date so that days past due run on from the default,

    * what earlier payments already paid of the first unsettled instalment (settled as before),
    * the recovery itself (exactly ``principal`` and ``interest``), and
    * the remainder: the outstanding principal less ``principal``, and the overdue interest less
      ``interest`` (interest of instalments not yet due is not owed on an accelerated claim).

    Once the recovery repays the whole principal the claim is settled and the remainder is released
    (the bank claimed what it claimed; the surplus went back to the pledgor): the loan is fully repaid.
    The allocation engine, the end of day and the statistics then read the recovery exactly as split.
    """
    loan, on, day, p, i = _payment_inputs(actor, loan_no, date, principal, interest,
                                          _("The recovery is not valid."))
    if loan.repayments.filter(date__gt=day).exists():
        raise Conflict(_("A repayment dated after the recovery is recorded: date the recovery on or after it."),
                       code="later_repayment")
    rows = list(loan.schedule.filter(current=True).order_by("due_date", "seq", "id"))
    states = _states(loan)
    unsettled = [(row, s) for row, s in zip(rows, states, strict=True) if s.paid_on is None]
    if not unsettled:
        raise Conflict(_("The loan is repaid: there is nothing to recover."), code="nothing_outstanding")
    outstanding = sum(money.to_fen(s.principal - s.paid_principal) for _row, s in unsettled)
    if p > outstanding:
        raise Conflict(_("The recovery's principal is more than the outstanding principal."), code="overpayment")
    overdue_interest = sum(money.to_fen(s.interest - s.paid_interest) for _row, s in unsettled if s.due_date <= day)
    was_repaid = fully_repaid(loan, states)
    first_row, first = unsettled[0]
    due = first.due_date
    rest_principal = outstanding - p
    rest_interest = max(0, overdue_interest - i) if rest_principal > 0 else 0
    released = max(0, overdue_interest - i) - rest_interest
    dropped = sum(money.to_fen(s.interest - s.paid_interest) for _row, s in unsettled if s.due_date > day)
    version = (loan.schedule.order_by("-version").values_list("version", flat=True).first() or 1) + 1
    loan.schedule.filter(pk__in=[row.pk for row, _s in unsettled]).update(current=False)
    parts = [(money.to_fen(first.paid_principal), money.to_fen(first.paid_interest)), (p, i),
             (rest_principal, rest_interest)]
    ScheduleRow.objects.bulk_create([
        ScheduleRow(loan=loan, seq=ENFORCEMENT_SEQ + k, due_date=due, principal=part_p, interest=part_i, version=version)
        for k, (part_p, part_i) in enumerate(parts) if part_p + part_i > 0])
    row = Repayment.objects.create(loan=loan, date=day, principal=p, interest=i, recorded_by=_user(actor))
    _refresh_summary(loan, on)
    if loan.events.filter(type="write_off").exists():
        # A written-off principal left the book (credit.write_off): the recovery does not bring it back.
        loan.balance = 0
        loan.save(update_fields=["balance"])
    LoanEvent.objects.create(loan=loan, type="enforcement", date=day, actor=_user(actor),
                             data={"principal": p, "interest": i, "remaining_principal": rest_principal,
                                   "remaining_interest": rest_interest, "released_interest": released,
                                   "interest_not_due": dropped, "replaced_from_seq": first_row.seq})
    audit.record(actor=actor, action="loan.enforcement_recovery", obj=loan, object_repr=loan.loan_no,
                 after={"date": day, "principal": p, "interest": i, "remaining_principal": rest_principal})
    if not was_repaid:
        # After the enforcing case has cancelled the sold rights' pledges (enforced): only the rest is prompted.
        transaction.on_commit(functools.partial(_prompt_cancellation, loan), robust=True)
    _after_commit(loan, "repayment")
    return row


def fully_repaid(loan: Loan, states: list[sched.InstalmentState] | None = None) -> bool:
    """Whether every instalment of the loan's current schedule is paid, principal and interest."""
    states = _states(loan) if states is None else states
    return bool(states) and all(s.paid_on is not None for s in states)


def pledges_to_cancel(loan: Loan, states: list[sched.InstalmentState] | None = None) -> list[str]:
    """The registrations still registered on a fully repaid loan: the pledgee bank is to cancel them, or
    the rights cannot be pledged again."""
    if not fully_repaid(loan, states):
        return []
    numbers_ = list(dict.fromkeys(loan.collateral.values_list("registration_no", flat=True)))
    live = set(Pledge.objects.filter(registration_no__in=numbers_, status=PledgeStatus.REGISTERED)
               .values_list("registration_no", flat=True))
    return [n for n in numbers_ if n in live]


def _prompt_cancellation(loan: Loan) -> None:
    """The repayment that settles the loan tells the bank, in the platform, to cancel its pledges."""
    from ippledge.registry import notify

    todo = pledges_to_cancel(loan)
    if todo:
        notify.notify(org=loan.bank, kind="loan.pledges_to_cancel",
                      message=_("Loan %(loan)s is repaid: cancel its pledge registration %(registrations)s.")
                      % {"loan": loan.loan_no, "registrations": ", ".join(todo)},
                      data={"loan_no": loan.loan_no, "registrations": todo})


@transaction.atomic
def cancel_pledges(*, actor, loan_no: str) -> list[str]:
    """The lending bank cancels (注销) the registrations of a fully repaid loan, through the registry (the
    pledgee's act); returns the registrations cancelled."""
    from ippledge.registry import services as registry

    require_bank_staff(actor)  # the role first: a stranger learns nothing of the object
    loan = get_loan(actor=actor, loan_no=loan_no, for_update=True)
    require_bank_staff(actor, loan.bank)
    todo = pledges_to_cancel(loan)
    if not todo:
        raise Conflict(_("There is no pledge to cancel: the loan is not repaid, or its pledges are cancelled."),
                       code="nothing_to_cancel")
    for number in todo:
        registry.cancel(actor=actor, registration_no=number, reason="repaid")
    LoanEvent.objects.create(loan=loan, type="pledges_cancelled", date=business_date.today(), actor=_user(actor),
                             data={"registrations": todo})
    audit.record(actor=actor, action="loan.cancel_pledges", obj=loan, object_repr=loan.loan_no,
                 after={"registrations": todo})
    _after_commit(loan, "pledges_cancelled")
    return todo


@transaction.atomic
def extend(*, actor, loan_no: str, maturity_date, reason: str = "") -> Loan:
    """展期: a new schedule for the outstanding principal to the new maturity; a restructuring."""
    require_bank_staff(actor, roles=DECIDERS)
    loan = get_loan(actor=actor, loan_no=loan_no, for_update=True)
    require_bank_staff(actor, loan.bank, DECIDERS)
    on = business_date.today()
    new_maturity = inputs.day(maturity_date, "maturity_date", today=on, not_before=loan.start_date,
                              not_after=sched.add_months(loan.start_date, limits.limit("MAX_TERM_MONTHS")))
    reason = inputs.text(reason, "reason")
    if new_maturity <= loan.maturity_date:
        raise ValidationFailed(_("An extension moves the maturity later."),
                               fields={"maturity_date": [_("Must be later than the current maturity.")]})
    states = _states(loan)
    outstanding = sched.outstanding_principal(states, on)
    if outstanding <= 0:
        raise Conflict(_("The loan is repaid."), code="loan_repaid")
    version = (loan.schedule.order_by("-version").values_list("version", flat=True).first() or 1) + 1
    loan.schedule.filter(current=True, due_date__gt=on).update(current=False)
    instalments = sched.build_schedule(principal=outstanding, annual_rate=loan.annual_rate, start_date=on,
                                       maturity_date=new_maturity, kind=loan.schedule_kind, day_count=loan.day_count)
    _write_schedule(loan, instalments, version=version)
    again = loan.restructured_on is not None
    LoanEvent.objects.create(loan=loan, type="extension", date=on, actor=_user(actor),
                             data={"from": loan.maturity_date.isoformat(), "to": new_maturity.isoformat(),
                                   "reason": reason, "restructured_again": again})
    loan.maturity_date, loan.extended, loan.restructured_on = new_maturity, True, on
    loan.save(update_fields=["maturity_date", "extended", "restructured_on"])
    _refresh_summary(loan, on)
    audit.record(actor=actor, action="loan.extend", obj=loan, object_repr=loan.loan_no,
                 after={"maturity_date": new_maturity})
    return loan


@transaction.atomic
def restructure(*, actor, loan_no: str, kind: str, note: str = "") -> Loan:
    require_bank_staff(actor, roles=DECIDERS)
    loan = get_loan(actor=actor, loan_no=loan_no, for_update=True)
    require_bank_staff(actor, loan.bank, DECIDERS)
    check = inputs.Checks()
    kind = check(inputs.short, kind, "kind", required=True, max_length=40)
    note = check(inputs.text, note, "note")
    check.done(_("The restructuring is not valid."))
    on = business_date.today()
    again = loan.restructured_on is not None
    LoanEvent.objects.create(loan=loan, type="restructure", date=on, actor=_user(actor),
                             data={"kind": kind, "note": note, "restructured_again": again})
    loan.restructured_on = on
    loan.save(update_fields=["restructured_on"])
    audit.record(actor=actor, action="loan.restructure", obj=loan, object_repr=loan.loan_no, after={"kind": kind})
    return loan


def _record_change(loan: Loan, decision: rules.Decision, on: dt.date, *, actor=None, manual=False, note="") -> bool:
    if decision.category == loan.classification:
        return False
    ClassificationChange.objects.create(loan=loan, date=on, before=loan.classification, after=decision.category,
                                        reasons=[list(r) for r in decision.floor_reasons] or
                                        [[decision.upgrade_blocked_reason or "upgrade", decision.category]],
                                        manual=manual, note=note[:300], actor=_user(actor))
    loan.classification = decision.category
    loan.save(update_fields=["classification"])
    return True


def classify_book(on: dt.date) -> dict:
    """End of day: DPD, balance and the five-category classification of every open loan (set-based: the
    facts of the whole book go to the one rule, :func:`ippledge.credit.engine.classification.classify`)."""
    return bulk.classify_book_bulk(on)


@transaction.atomic
def classify_manually(*, actor, loan_no: str, category: str, reason: str) -> Loan:
    """A reviewer's downgrade (a floor the end of day keeps), or an upgrade the rules allow."""
    require_bank_staff(actor, roles=DECIDERS)
    loan = get_loan(actor=actor, loan_no=loan_no, for_update=True)
    require_bank_staff(actor, loan.bank, DECIDERS)
    check = inputs.Checks()
    category = check(inputs.choice, category, "category", rules.CATEGORIES)
    # The reason is kept as the classification change's note (300 characters).
    reason = check(inputs.text, reason, "reason", required=True, max_length=300)
    check.done(_("The classification is not valid."))
    on = business_date.today()
    if rules.rank(category) > rules.rank(loan.classification):
        LoanEvent.objects.create(loan=loan, type="manual_floor", date=on, actor=_user(actor),
                                 data={"category": category, "reason": reason})
        decision = rules.Decision(category=category, floor_reasons=[("manual_downgrade", category)])
    else:
        # The end of day's facts and rule, the debtor rules included, without the reviewer's own floor.
        decision = bulk.decide_loan(loan, on, without_manual_floor=True)
        if rules.rank(decision.category) > rules.rank(category):
            raise Conflict(_("The rules do not allow this upgrade: %s") % (", ".join(decision.upgrade_unmet) or
                                                                           decision.category),
                           code="upgrade_not_allowed")
        LoanEvent.objects.create(loan=loan, type="manual_floor", date=on, actor=_user(actor),
                                 data={"category": None, "reason": reason})
        decision = rules.Decision(category=category, floor_reasons=[("manual_upgrade", category)])
    _record_change(loan, decision, on, actor=actor, manual=True, note=reason)
    audit.record(actor=actor, action="loan.classify", obj=loan, object_repr=loan.loan_no, after={"category": category})
    return loan


@transaction.atomic
def prepay(*, actor, loan_no: str, date, principal, interest="0") -> Loan:
    """提前还款: principal paid ahead of the schedule; the rest is re-amortised over the remaining term."""
    require_bank_staff(actor)  # the role first: a stranger learns nothing of the object
    loan = get_loan(actor=actor, loan_no=loan_no, for_update=True)
    require_bank_staff(actor, loan.bank)
    on = business_date.today()
    check = inputs.Checks()
    day = check(_payment_day, date, loan, on)
    extra_fen = check(inputs.fen, principal, "principal")
    i_fen = check(inputs.fen, "0" if interest in (None, "") else interest, "interest", allow_zero=True)
    check.done(_("The prepayment is not valid."))
    was_repaid = fully_repaid(loan)
    states = _states(loan)
    due = sched.earliest_unpaid_due(states, day)
    if due is not None and due <= day:
        raise Conflict(_("Settle the instalments due before prepaying."), code="overdue_first")
    outstanding = sched.outstanding_principal(states, day)
    extra = money.from_fen(extra_fen)
    if extra > outstanding:
        raise ValidationFailed(_("Give a prepayment between zero and the outstanding principal."),
                               fields={"principal": [_("Out of the allowed range.")]})
    p_fen = extra_fen
    Repayment.objects.create(loan=loan, date=day, principal=p_fen, interest=i_fen, recorded_by=_user(actor))
    remaining = outstanding - extra
    version = (loan.schedule.order_by("-version").values_list("version", flat=True).first() or 1) + 1
    # Rows still to come are replaced; the prepaid principal settles nothing scheduled, so the new
    # schedule starts from the prepayment date with the remaining principal.
    future = loan.schedule.filter(current=True, due_date__gt=day)
    paid_ahead = sum((r.principal for r in future), 0)
    future.update(current=False)
    # Keep allocation consistent: the prepayment is booked against a zero-interest row on its date.
    ScheduleRow.objects.create(loan=loan, seq=0, due_date=day, principal=p_fen, interest=i_fen, version=version)
    if remaining > 0:
        instalments = sched.build_schedule(principal=remaining, annual_rate=loan.annual_rate, start_date=day,
                                           maturity_date=loan.maturity_date, kind=loan.schedule_kind,
                                           day_count=loan.day_count)
        _write_schedule(loan, instalments, version=version)
    LoanEvent.objects.create(loan=loan, type="prepayment", date=day, actor=_user(actor),
                             data={"principal": p_fen, "remaining": money.to_fen(remaining),
                                   "replaced_principal": paid_ahead})
    _refresh_summary(loan, on)
    audit.record(actor=actor, action="loan.prepay", obj=loan, object_repr=loan.loan_no,
                 after={"date": day, "principal": p_fen})
    if not was_repaid:
        _prompt_cancellation(loan)
    _after_commit(loan, "prepayment")
    return loan
