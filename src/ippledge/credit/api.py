"""Credit API: LPR in force, and the loan book (book, read, repay, extend, restructure, classify)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from ninja import Router, Schema

from ippledge.core import business_date
from ippledge.core.api_schemas import DecimalText, IsoDate, IsoDateTime, Money
from ippledge.core.money import from_fen
from ippledge.core.roles import Role

from . import lpr, services
from .engine import schedule as sched
from .inputs import Day, Decimal_, Flag, Text, TextList, Whole, one_of
from .models import Loan

router = Router(tags=["credit"])


# Loose field types: the services parse every value within the business limits after the permission
# check (see ``inputs``), so a stranger's malformed body answers 403, not 422.

class LprIn(Schema):
    fixing_date: Day
    tenor: one_of("1y", "5y")
    rate: Decimal_


class LoanIn(Schema):
    borrower_uscc: Text
    borrower_name: Text = ""
    bank_org_id: Whole
    amount: Decimal_
    currency: one_of(*services.CURRENCIES) = "CNY"
    annual_rate: Decimal_
    start_date: Day
    maturity_date: Day
    schedule: one_of("bullet", "equal_instalments", "equal_principal", "interest_only") = "bullet"
    instalments: Whole = None
    day_count: one_of("ACT/360", "ACT/365") = "ACT/360"
    pledge_registration_no: Text = None
    pledge_registration_nos: TextList = None
    ip_kind: one_of(*services.IP_KINDS)
    first_loan: Flag = False
    inclusive_smb: Flag = False
    park_id: Whole = None


class RepaymentIn(Schema):
    date: Day
    principal: Decimal_ = "0"
    interest: Decimal_ = "0"


class PrepaymentIn(Schema):
    date: Day
    principal: Decimal_
    interest: Decimal_ = "0"


class ExtensionIn(Schema):
    maturity_date: Day
    reason: Text = ""


class RestructureIn(Schema):
    kind: Text
    note: Text = ""


class ClassificationIn(Schema):
    category: one_of("normal", "special_mention", "substandard", "doubtful", "loss")
    reason: Text


# --- answers ----------------------------------------------------------------------------------

class LprOut(Schema):
    rate: DecimalText
    fixing_date: IsoDate
    tenor: str


class BorrowerOut(Schema):
    id: int
    name: str
    uscc: str | None


class PledgedRightOut(Schema):
    kind: str
    number: str
    allocated_value: Money | None  # what the valuation gives this right (a bundle's allocation)


class LoanPledgeOut(Schema):
    registration_no: str
    regime: str
    status: str | None
    rights: list[PledgedRightOut]


class LtvOverrideOut(Schema):
    reason: str
    by: str | None
    at: IsoDateTime | None
    amount: Money
    max_loan: Money | None
    valuation_no: str | None


class ClassificationStepOut(Schema):
    date: IsoDate
    before: str | None
    after: str
    reasons: list[Any]
    manual: bool
    note: str  # empty for readers outside the lending bank


class InstalmentOut(Schema):
    seq: int
    due_date: IsoDate
    principal: Money
    interest: Money
    paid: bool
    paid_on: IsoDate | None


class RepaymentOut(Schema):
    date: IsoDate
    principal: Money
    interest: Money


class LoanEventOut(Schema):
    type: str
    date: IsoDate
    data: dict[str, Any]  # empty for readers outside the lending bank


class LoanOut(Schema):
    loan_no: str
    bank_org_id: int
    borrower: BorrowerOut
    amount: Money
    currency: str
    annual_rate: DecimalText
    start_date: IsoDate
    maturity_date: IsoDate
    schedule_kind: str
    day_count: str
    convention: str
    ip_kind: str
    pledge_registration_no: str | None
    pledges: list[LoanPledgeOut]
    repaid: bool
    pledges_to_cancel: list[str]
    case_no: str | None
    ltv_override: LtvOverrideOut | None
    first_loan: bool
    inclusive_smb: bool
    park_id: int | None
    extended: bool
    restructured_on: IsoDate | None
    as_of: IsoDate
    balance: Money
    dpd: int
    classification: str
    classification_history: list[ClassificationStepOut]
    schedule: list[InstalmentOut]
    repayments: list[RepaymentOut]
    events: list[LoanEventOut]


def _lender_reads(reader, loan: Loan) -> bool:
    """The bank's own notes on a loan (manual classification notes, event details) are for the lending
    bank (and its head office), the regulator and administrators — not the borrower."""
    if reader is None:
        return True
    if reader.is_platform_admin or reader.has_role(Role.REGULATOR_USER):
        return True
    return bool(reader.organisation_id and reader.organisation_id in (loan.bank_id, loan.bank.parent_id))


def _pledges(loan: Loan) -> list[dict]:
    """Every registration securing the loan with the rights it pledges and what the valuation gives each."""
    from ippledge.registry.models import Pledge

    rows = list(loan.collateral.all())
    status = dict(Pledge.objects.filter(registration_no__in={r.registration_no for r in rows})
                  .values_list("registration_no", "status"))
    pledges: dict[str, dict] = {}
    for row in rows:
        pledge = pledges.setdefault(row.registration_no, {"registration_no": row.registration_no,
                                                          "regime": row.regime,
                                                          "status": status.get(row.registration_no), "rights": []})
        pledge["rights"].append({"kind": row.right_kind, "number": row.right_number,
                                 "allocated_value": str(from_fen(row.allocated_value))
                                 if row.allocated_value is not None else None})
    return list(pledges.values())


def ltv_override_out(case) -> dict | None:
    """An approval above the maximum loan the valuation supported: shown wherever the case or its loan is."""
    if case is None or not case.ltv_override_reason:
        return None
    return {"reason": case.ltv_override_reason, "by": case.ltv_override_by.username if case.ltv_override_by else None,
            "at": case.ltv_override_at.isoformat() if case.ltv_override_at else None,
            "amount": str(from_fen(case.amount)),
            "max_loan": str(from_fen(case.max_loan)) if case.max_loan is not None else None,
            "valuation_no": case.valuation_no or None}


def loan_out(loan: Loan, reader=None) -> dict:
    on = business_date.today()
    states = services._states(loan)
    internal = _lender_reads(reader, loan)
    case = getattr(loan, "case", None)
    return {
        "loan_no": loan.loan_no, "bank_org_id": loan.bank_id, "borrower": {"id": loan.borrower_id,
                                                                             "name": loan.borrower.name,
                                                                             "uscc": loan.borrower.uscc},
        "amount": str(from_fen(loan.amount)), "currency": loan.currency, "annual_rate": str(loan.annual_rate),
        "start_date": loan.start_date.isoformat(), "maturity_date": loan.maturity_date.isoformat(),
        "schedule_kind": loan.schedule_kind, "day_count": loan.day_count,
        "convention": sched.convention(loan.schedule_kind, loan.day_count), "ip_kind": loan.ip_kind,
        "pledge_registration_no": loan.pledge_registration_no or None, "pledges": _pledges(loan),
        "repaid": services.fully_repaid(loan, states), "pledges_to_cancel": services.pledges_to_cancel(loan, states),
        "case_no": case.case_no if case else None, "ltv_override": ltv_override_out(case) if internal else None,
        "first_loan": loan.first_loan,
        "inclusive_smb": loan.inclusive_smb, "park_id": loan.park_id, "extended": loan.extended,
        "restructured_on": loan.restructured_on.isoformat() if loan.restructured_on else None,
        "as_of": on.isoformat(), "balance": str(from_fen(loan.balance)), "dpd": loan.dpd,
        "classification": loan.classification,
        "classification_history": [{"date": c.date.isoformat(), "before": c.before or None, "after": c.after,
                                    "reasons": c.reasons, "manual": c.manual, "note": c.note if internal else ""}
                                   for c in loan.classification_history.all()],
        "schedule": [{"seq": s.seq, "due_date": s.due_date.isoformat(), "principal": str(s.principal),
                      "interest": str(s.interest), "paid": s.settled_as_of(on),
                      "paid_on": s.paid_on.isoformat() if s.paid_on else None} for s in states],
        "repayments": [{"date": r.date.isoformat(), "principal": str(from_fen(r.principal)),
                        "interest": str(from_fen(r.interest))} for r in loan.repayments.all()],
        "events": [{"type": e.type, "date": e.date.isoformat(), "data": e.data if internal else {}}
                   for e in loan.events.all()],
    }


@router.get("/lpr", response=LprOut, summary="The LPR in force on a date (latest fixing on or before it)")
def lpr_in_force(request, date: dt.date | None = None, tenor: Literal["1y", "5y"] = "1y"):
    fixing = lpr.rate_in_force(date or business_date.today(), tenor)
    return {"rate": str(fixing.rate), "fixing_date": fixing.fixing_date.isoformat(), "tenor": fixing.tenor}


@router.post("/lpr", response={201: LprOut}, summary="Enter or correct a monthly LPR fixing (admin)")
def lpr_enter(request, payload: LprIn):
    fixing = lpr.enter_fixing(actor=request.auth, fixing_date=payload.fixing_date, tenor=payload.tenor,
                              rate=payload.rate)
    return 201, {"rate": str(fixing.rate), "fixing_date": fixing.fixing_date.isoformat(), "tenor": fixing.tenor}


@router.post("/loans", response={201: LoanOut}, summary="Book (disburse) a loan")
def book(request, payload: LoanIn):
    return 201, loan_out(services.book_loan(actor=request.auth, data=payload.dict()))


@router.get("/loans/{loan_no}", response=LoanOut, summary="A loan with balance, DPD, classification and schedule")
def get_loan(request, loan_no: str):
    return loan_out(services.get_loan(actor=request.auth, loan_no=loan_no), request.auth)


@router.post("/loans/{loan_no}/repayments", response={201: LoanOut}, summary="Record a repayment")
def repay(request, loan_no: str, payload: RepaymentIn):
    services.repay(actor=request.auth, loan_no=loan_no, date=payload.date, principal=payload.principal,
                   interest=payload.interest)
    return 201, loan_out(services.get_loan(actor=request.auth, loan_no=loan_no))


@router.post("/loans/{loan_no}/prepayment", response=LoanOut, summary="Prepay principal; the rest is re-amortised to maturity")
def prepayment(request, loan_no: str, payload: PrepaymentIn):
    services.prepay(actor=request.auth, loan_no=loan_no, date=payload.date, principal=payload.principal,
                    interest=payload.interest)
    return loan_out(services.get_loan(actor=request.auth, loan_no=loan_no), request.auth)


@router.post("/loans/{loan_no}/extension", response=LoanOut, summary="Extend the loan (展期; counts as a restructuring)")
def extension(request, loan_no: str, payload: ExtensionIn):
    return loan_out(services.extend(actor=request.auth, loan_no=loan_no, maturity_date=payload.maturity_date,
                                    reason=payload.reason))


@router.post("/loans/{loan_no}/restructure", response=LoanOut, summary="Record a restructuring")
def restructure(request, loan_no: str, payload: RestructureIn):
    return loan_out(services.restructure(actor=request.auth, loan_no=loan_no, kind=payload.kind, note=payload.note))


@router.post("/loans/{loan_no}/classification", response=LoanOut,
             summary="Classify manually (downgrade; upgrade only as the rules allow)")
def classify(request, loan_no: str, payload: ClassificationIn):
    return loan_out(services.classify_manually(actor=request.auth, loan_no=loan_no, category=payload.category,
                                               reason=payload.reason))
