"""Business actions of the loan book: book (disburse) a loan, record repayments, extend, restructure,
classify manually, and the end-of-day classification of the whole book by the 2023 rules."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from ippledge.core import audit, business_date, identifiers, money, numbers
from ippledge.core.actors import user_or_none as _user
from ippledge.core.errors import (
    Conflict,
    DomainError,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from ippledge.core.models import Organisation
from ippledge.registry.models import Pledge, PledgeStatus

from .engine import classification as rules
from .engine import schedule as sched
from .models import (
    Classification,
    ClassificationChange,
    Loan,
    LoanEvent,
    Park,
    Repayment,
    ScheduleKind,
    ScheduleRow,
)

BANK_ROLES = {"bank_officer", "bank_reviewer", "bank_approver"}
IP_KINDS = ("patent", "trademark", "copyright", "bundle", "geographical_indication", "other")



def _require_bank(actor, bank: Organisation | None = None, roles: set[str] = BANK_ROLES) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated(_("Authentication is required."))
    if actor.is_platform_admin:
        return
    if not actor.role_set & roles:
        raise PermissionDenied(_("Only the bank's staff may do this."))
    if bank is not None and actor.organisation_id not in (bank.pk, bank.parent_id):
        raise PermissionDenied(_("Only the bank's staff may do this."))


def _fen(value, field: str) -> int:
    try:
        return money.to_fen(value)
    except DomainError as exc:
        raise ValidationFailed(exc.localised(_), code="invalid_amount", fields={field: [exc.localised(_)]}) from None


def _date(value, field: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValidationFailed(_("Enter a date as YYYY-MM-DD."), fields={field: [_("Enter a date as YYYY-MM-DD.")]}) \
            from None


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


@transaction.atomic
def book_loan(*, actor, data: dict) -> Loan:
    errors: dict[str, list[str]] = {}
    _require_bank(actor)
    bank = Organisation.objects.filter(pk=data.get("bank_org_id"), kind="bank").first()
    if bank is None:
        raise NotFound(_("No such bank."), code="bank_not_found", fields={"bank_org_id": [_("Not found.")]})
    _require_bank(actor, bank)
    try:
        uscc = identifiers.normalise_uscc(data.get("borrower_uscc") or "")
    except DomainError as exc:
        raise ValidationFailed(exc.localised(_), code=exc.code, fields={"borrower_uscc": [exc.localised(_)]}) from None
    borrower = Organisation.objects.filter(uscc=uscc).first()
    if borrower is None:
        name = identifiers.clean_display_name(data.get("borrower_name") or "") or uscc
        borrower = Organisation.objects.create(name=name, name_normalised=identifiers.normalise_name(name),
                                               kind="enterprise", uscc=uscc, region_code=uscc[2:8])
    amount = _fen(data.get("amount"), "amount")
    if amount <= 0:
        errors["amount"] = [_("Must be greater than zero.")]
    try:
        rate = Decimal(str(data.get("annual_rate")))
        if not Decimal(0) <= rate < 1:
            raise ValueError
    except (ArithmeticError, ValueError):
        errors["annual_rate"] = [_("Give the annual rate as a fraction, e.g. 0.0345 for 3.45 per cent.")]
        rate = Decimal(0)
    start, maturity = _date(data.get("start_date"), "start_date"), _date(data.get("maturity_date"), "maturity_date")
    kind = data.get("schedule") or ScheduleKind.BULLET
    if kind not in ScheduleKind.values:
        errors["schedule"] = [_("Choose one of: %s") % ", ".join(ScheduleKind.values)]
    ip_kind = data.get("ip_kind") or ""
    if ip_kind not in IP_KINDS:
        errors["ip_kind"] = [_("Choose one of: %s") % ", ".join(IP_KINDS)]
    if errors:
        raise ValidationFailed(_("The loan is not valid."), fields=errors)
    registration = (data.get("pledge_registration_no") or "").strip().upper()
    if registration:
        pledge = Pledge.objects.filter(registration_no=registration).first()
        if pledge is None or pledge.status != PledgeStatus.REGISTERED:
            # Disbursement only against a registered pledge (the pledge is created on registration).
            raise Conflict(_("The pledge is not registered; the loan cannot be disbursed."), code="pledge_not_registered")
    park = Park.objects.filter(pk=data.get("park_id")).first() if data.get("park_id") else None
    instalments = sched.build_schedule(principal=money.from_fen(amount), annual_rate=rate, start_date=start,
                                       maturity_date=maturity, kind=kind, instalments=data.get("instalments"),
                                       day_count=data.get("day_count") or "ACT/360")
    loan = Loan.objects.create(
        loan_no=numbers.next_number(f"loan-{start.year}", f"LN{start.year}", 8), bank=bank, borrower=borrower,
        amount=amount, currency=(data.get("currency") or "CNY").upper(), annual_rate=rate, start_date=start,
        maturity_date=maturity, schedule_kind=kind, day_count=data.get("day_count") or "ACT/360", ip_kind=ip_kind,
        pledge_registration_no=registration, first_loan=bool(data.get("first_loan")),
        inclusive_smb=bool(data.get("inclusive_smb")), park=park, balance=amount, created_by=_user(actor))
    _write_schedule(loan, instalments, version=1)
    ClassificationChange.objects.create(loan=loan, date=start, before="", after=Classification.NORMAL,
                                        reasons=[["booked", Classification.NORMAL]], actor=_user(actor))
    audit.record(actor=actor, action="loan.book", obj=loan, object_repr=loan.loan_no,
                 after={"amount": amount, "bank": bank.pk, "borrower": borrower.pk, "schedule": kind})
    return loan


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


@transaction.atomic
def repay(*, actor, loan_no: str, date, principal, interest) -> Repayment:
    loan = get_loan(actor=actor, loan_no=loan_no, for_update=True)
    _require_bank(actor, loan.bank)
    day = _date(date, "date")
    if day < loan.start_date or day > business_date.today():
        raise ValidationFailed(_("A repayment is dated between the loan's start and today's business date."),
                               fields={"date": [_("Out of the allowed range.")]})
    p, i = _fen(principal or "0", "principal"), _fen(interest or "0", "interest")
    if p < 0 or i < 0 or p + i == 0:
        raise ValidationFailed(_("Give a positive repayment."), fields={"principal": [_("Must be greater than zero.")]})
    row = Repayment.objects.create(loan=loan, date=day, principal=p, interest=i, recorded_by=_user(actor))
    try:
        _refresh_summary(loan, business_date.today())
    except DomainError as exc:
        raise Conflict(exc.localised(_), code="overpayment") from None
    audit.record(actor=actor, action="loan.repay", obj=loan, object_repr=loan.loan_no,
                 after={"date": day, "principal": p, "interest": i})
    return row


@transaction.atomic
def extend(*, actor, loan_no: str, maturity_date, reason: str = "") -> Loan:
    """展期: a new schedule for the outstanding principal to the new maturity; a restructuring."""
    loan = get_loan(actor=actor, loan_no=loan_no, for_update=True)
    _require_bank(actor, loan.bank, {"bank_reviewer", "bank_approver"})
    on = business_date.today()
    new_maturity = _date(maturity_date, "maturity_date")
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
                                   "reason": reason[:300], "restructured_again": again})
    loan.maturity_date, loan.extended, loan.restructured_on = new_maturity, True, on
    loan.save(update_fields=["maturity_date", "extended", "restructured_on"])
    _refresh_summary(loan, on)
    audit.record(actor=actor, action="loan.extend", obj=loan, object_repr=loan.loan_no,
                 after={"maturity_date": new_maturity})
    return loan


@transaction.atomic
def restructure(*, actor, loan_no: str, kind: str, note: str = "") -> Loan:
    loan = get_loan(actor=actor, loan_no=loan_no, for_update=True)
    _require_bank(actor, loan.bank, {"bank_reviewer", "bank_approver"})
    on = business_date.today()
    again = loan.restructured_on is not None
    LoanEvent.objects.create(loan=loan, type="restructure", date=on, actor=_user(actor),
                             data={"kind": (kind or "other")[:40], "note": note[:300], "restructured_again": again})
    loan.restructured_on = on
    loan.save(update_fields=["restructured_on"])
    audit.record(actor=actor, action="loan.restructure", obj=loan, object_repr=loan.loan_no, after={"kind": kind})
    return loan


_FROM_EVENTS = object()


def _facts(loan: Loan, on: dt.date, manual_floor=_FROM_EVENTS) -> rules.LoanFacts:
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
    return rules.LoanFacts(
        loan_no=loan.loan_no, debtor_id=f"{loan.bank_id}:{loan.borrower_id}",
        balance=sched.outstanding_principal(states, on), dpd=dpd, restructured_on=loan.restructured_on,
        restructured_again=any(e.data.get("restructured_again") for e in events if e.type in ("extension",
                                                                                             "restructure")),
        observation_periods_paid=obs_paid, observation_started=obs_start, previous=loan.classification,
        arrears_cleared=dpd == 0, periods_paid_since_cure=on_time, months_since_cure=max(months, 0),
        able_to_pay=dpd == 0, manual_floor=floor)


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


@transaction.atomic
def classify_book(on: dt.date) -> dict:
    """End of day: DPD, balance and the five-category classification of every open loan."""
    loans = list(Loan.objects.filter(balance__gt=0).prefetch_related("schedule", "repayments", "events"))
    facts = [_facts(loan, on) for loan in loans]
    decisions = rules.classify_book(facts, on)
    changed = 0
    for loan, fact in zip(loans, facts, strict=True):
        loan.dpd, loan.balance = fact.dpd, money.to_fen(fact.balance)
        loan.save(update_fields=["dpd", "balance"])
        changed += _record_change(loan, decisions[loan.loan_no], on)
    return {"loans": len(loans), "changed": changed}


@transaction.atomic
def classify_manually(*, actor, loan_no: str, category: str, reason: str) -> Loan:
    """A reviewer's downgrade (a floor the end of day keeps), or an upgrade the rules allow."""
    loan = get_loan(actor=actor, loan_no=loan_no, for_update=True)
    _require_bank(actor, loan.bank, {"bank_reviewer", "bank_approver"})
    if category not in rules.CATEGORIES:
        raise ValidationFailed(_("Choose one of: %s") % ", ".join(rules.CATEGORIES),
                               fields={"category": [_("Not allowed.")]})
    if not (reason or "").strip():
        raise ValidationFailed(_("Give the reason."), fields={"reason": [_("This field is required.")]})
    on = business_date.today()
    if rules.rank(category) > rules.rank(loan.classification):
        LoanEvent.objects.create(loan=loan, type="manual_floor", date=on, actor=_user(actor),
                                 data={"category": category, "reason": reason[:300]})
        decision = rules.Decision(category=category, floor_reasons=[("manual_downgrade", category)])
    else:
        decision = rules.classify_loan(_facts(loan, on, manual_floor=None), on)
        if rules.rank(decision.category) > rules.rank(category):
            raise Conflict(_("The rules do not allow this upgrade: %s") % (", ".join(decision.upgrade_unmet) or
                                                                           decision.category),
                           code="upgrade_not_allowed")
        LoanEvent.objects.create(loan=loan, type="manual_floor", date=on, actor=_user(actor),
                                 data={"category": None, "reason": reason[:300]})
        decision = rules.Decision(category=category, floor_reasons=[("manual_upgrade", category)])
    _record_change(loan, decision, on, actor=actor, manual=True, note=reason)
    audit.record(actor=actor, action="loan.classify", obj=loan, object_repr=loan.loan_no, after={"category": category})
    return loan


@transaction.atomic
def prepay(*, actor, loan_no: str, date, principal, interest="0") -> Loan:
    """提前还款: principal paid ahead of the schedule; the rest is re-amortised over the remaining term."""
    loan = get_loan(actor=actor, loan_no=loan_no, for_update=True)
    _require_bank(actor, loan.bank)
    day = _date(date, "date")
    on = business_date.today()
    if day < loan.start_date or day > on:
        raise ValidationFailed(_("A repayment is dated between the loan's start and today's business date."),
                               fields={"date": [_("Out of the allowed range.")]})
    states = _states(loan)
    due = sched.earliest_unpaid_due(states, day)
    if due is not None and due <= day:
        raise Conflict(_("Settle the instalments due before prepaying."), code="overdue_first")
    outstanding = sched.outstanding_principal(states, day)
    extra = money.from_fen(_fen(principal, "principal"))
    if extra <= 0 or extra > outstanding:
        raise ValidationFailed(_("Give a prepayment between zero and the outstanding principal."),
                               fields={"principal": [_("Out of the allowed range.")]})
    p_fen, i_fen = money.to_fen(extra), _fen(interest or "0", "interest")
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
    return loan
