"""Disposal API (issue 14): enforcement cases, rounds, deposits, bids, interest, agreements, settlement,
licence income, public listings and maintenance-fee relief.  Thin: every rule is in the services."""

from __future__ import annotations

from ninja import Field, Router, Schema

from ippledge.core.api_schemas import IsoDate, IsoDateTime, Money, OpenSchema
from ippledge.core.money import from_fen
from ippledge.credit.inputs import Day, Decimal_, Flag, RightRefs, Text, Whole

from . import services, services_relief, services_settlement
from .models import CaseStatus, DisposalCase, FeeRelief, Settlement

router = Router(tags=["disposal"])


def _s(fen):
    return None if fen is None else str(from_fen(fen))


class CaseIn(Schema):
    loan_no: Text
    rights: RightRefs = None
    channel: Text
    contract_default: Flag = False
    default_reason: Text = ""
    legal_basis: Text = ""
    costs: Decimal_ = "0"
    deadline: Day = None
    exchange_org_id: Whole = None
    operator_org_id: Whole = None
    guarantor_org_ids: list = Field(None, description="organisation ids of the guarantors to notify")
    appraisal: dict = Field(None, description="{agency_id, value, report_no}: a rostered agency's appraisal")


class RoundIn(Schema):
    reserve: Decimal_ = None
    increment: Decimal_ = "0"
    deposit: Decimal_ = "0"
    opens_at: Text = None
    closes_at: Text = None


class DepositIn(Schema):
    bidder_org_id: Whole
    amount: Decimal_


class BidIn(Schema):
    amount: Decimal_


class InterestIn(Schema):
    note: Text = ""


class AgreementIn(Schema):
    value: Decimal_
    agreement_ref: Text
    buyer_org_id: Whole = None


class SettlementIn(Schema):
    proceeds: Decimal_
    costs: Decimal_ = "0"
    date: Day
    buyer: dict = Field(None, description="{org_id}: the buyer (the agreed party or the round's winner)")


class IncomeIn(Schema):
    amount: Decimal_
    date: Day


class WithdrawIn(Schema):
    reason: Text


class ReliefIn(Schema):
    right: dict = Field(..., description="{kind, number}")
    note: Text = ""


class DecisionIn(Schema):
    approve: Flag
    reduction_percent: Decimal_ = None
    reason: Text = ""


# --- answers ----------------------------------------------------------------------------------

class WaterfallOut(Schema):
    """What went to the claim's parts, in the order the proceeds are applied."""
    costs: Money
    interest: Money
    principal: Money


class RankOut(OpenSchema):
    """Every pledge on the sold rights in rank order: a senior's payment, the enforcing bank's own
    (``paid`` null: its share is the waterfall), a junior's nothing (its pledge ends with the sale)."""
    registration_no: str
    rank: int
    position: str = Field(description="senior | enforcing | junior")
    paid: Money | None


class SettlementOut(Schema):
    applied: WaterfallOut
    surplus: Money
    shortfall: Money
    proceeds: Money
    senior_paid: Money
    ranks: list[RankOut]
    risk_recovery: Money
    date: IsoDate
    buyer_org_id: int


class BidOut(Schema):
    bidder_org_id: int
    amount: Money
    at: IsoDateTime


class RoundOut(Schema):
    """A round; ``bids`` only for those who may see them (the bank, and the exchange once closed)."""
    number: int
    reserve: Money
    increment: Money
    deposit: Money
    opens_at: IsoDateTime
    closes_at: IsoDateTime
    closed: bool
    outcome: str | None = Field(description="sold | unsold, null while open")
    bids: list[BidOut] = []


class ClaimOut(Schema):
    principal: Money
    interest: Money
    costs: Money


class CaseValuationOut(Schema):
    liquidation_value: Money
    source: str = Field(description="valuation | appraisal")
    ref: str
    agency_id: int | None


class CaseRightOut(Schema):
    kind: str
    number: str
    registration_no: str
    appraised_value: Money | None


class NoticeOut(Schema):
    org_id: int
    role: str = Field(description="pledgor | guarantor")


class CaseOut(Schema):
    disposal_no: str
    status: str
    channel: str
    loan_no: str
    bank_org_id: int
    pledgor_org_id: int
    default_basis: str
    default_reason: str
    legal_basis: str
    claim: ClaimOut
    valuation: CaseValuationOut
    rights: list[CaseRightOut]
    notices: list[NoticeOut]
    exchange_org_id: int | None
    operator_org_id: int | None
    deadline: IsoDate | None
    agreed_value: Money | None
    agreed_buyer_org_id: int | None
    pledgor_confirmed: bool
    recovered: WaterfallOut
    rounds: list[RoundOut]
    settlement: SettlementOut | None
    opened_on: IsoDate


class CasesOut(Schema):
    disposals: list[CaseOut]


class ListedRightOut(Schema):
    kind: str
    number: str
    title: str
    legal_state: str


class ValueRangeOut(Schema):
    low: Money
    high: Money


class ListedRoundOut(Schema):
    number: int
    reserve: Money
    increment: Money
    deposit: Money
    opens_at: IsoDateTime
    closes_at: IsoDateTime


class ListingOut(Schema):
    """What a buyer sees: no names of the parties, no personal data."""
    disposal_no: str
    channel: str
    rights: list[ListedRightOut]
    value_range: ValueRangeOut
    round: ListedRoundOut | None
    deadline: IsoDate | None


class ListingsOut(Schema):
    listings: list[ListingOut]


class DepositOut(Schema):
    bidder_org_id: int
    amount: Money


class PlacedBidOut(Schema):
    bid_id: int
    amount: Money
    at: IsoDateTime


class ClosedRoundOut(Schema):
    round: int
    outcome: str = Field(description="sold | unsold")
    case: CaseOut


class InterestOut(Schema):
    id: int


class CaseStatusOut(Schema):
    disposal_no: str
    status: str


class IncomeOut(Schema):
    applied: WaterfallOut


class ReliefRightOut(Schema):
    kind: str
    number: str


class ReliefOut(Schema):
    id: int
    right: ReliefRightOut
    bank_org_id: int
    disposal_no: str
    acquired_on: IsoDate
    hold_until: IsoDate
    status: str
    reduction_percent: str | None = Field(description="decimal percent as text, null until approved")
    reason: str
    applied_on: IsoDate
    decided_on: IsoDate | None


class ReliefsOut(Schema):
    applications: list[ReliefOut]


def settlement_out(row: Settlement) -> dict:
    return {"applied": {"costs": _s(row.applied_costs), "interest": _s(row.applied_interest),
                        "principal": _s(row.applied_principal)},
            "surplus": _s(row.surplus), "shortfall": _s(row.shortfall), "proceeds": _s(row.proceeds),
            "senior_paid": _s(row.senior_paid), "ranks": [{**r, "paid": _s(r["paid"])} for r in row.ranks],
            "risk_recovery": _s(row.risk_recovery), "date": row.date.isoformat(), "buyer_org_id": row.buyer_id}


def case_out(case: DisposalCase, actor=None) -> dict:
    rounds = []
    for rnd in case.rounds.all().order_by("number"):
        item = {"number": rnd.number, "reserve": _s(rnd.reserve), "increment": _s(rnd.increment),
                "deposit": _s(rnd.deposit), "opens_at": rnd.opens_at.isoformat(), "closes_at": rnd.closes_at.isoformat(),
                "closed": rnd.closed_at is not None, "outcome": rnd.outcome or None}
        if actor is not None and services.may_see_bids(actor, case, rnd):
            item["bids"] = [{"bidder_org_id": b.bidder_id, "amount": _s(b.amount), "at": b.at.isoformat()}
                            for b in rnd.bids.all()]
        rounds.append(item)
    settlement = Settlement.objects.filter(case=case).first()
    return {
        "disposal_no": case.disposal_no, "status": case.status, "channel": case.channel, "loan_no": case.loan.loan_no,
        "bank_org_id": case.bank_id, "pledgor_org_id": case.pledgor_id, "default_basis": case.default_basis,
        "default_reason": case.default_reason, "legal_basis": case.legal_basis,
        "claim": {"principal": _s(case.claim_principal), "interest": _s(case.claim_interest),
                  "costs": _s(case.claim_costs)},
        "valuation": {"liquidation_value": _s(case.appraised_value), "source": case.valuation_source,
                      "ref": case.valuation_ref, "agency_id": case.appraisal_agency_id},
        "rights": [{"kind": link.right.kind, "number": link.right.number, "registration_no": link.registration_no,
                    "appraised_value": _s(link.appraised_value)} for link in case.case_rights.select_related("right")],
        "notices": [{"org_id": n.org_id, "role": n.role} for n in case.notices.all()],
        "exchange_org_id": case.exchange_id, "operator_org_id": case.operator_id,
        "deadline": case.deadline.isoformat() if case.deadline else None,
        "agreed_value": _s(case.agreed_value), "agreed_buyer_org_id": case.agreed_buyer_id,
        "pledgor_confirmed": case.pledgor_confirmed_by_id is not None,
        "recovered": {"costs": _s(case.recovered_costs), "interest": _s(case.recovered_interest),
                      "principal": _s(case.recovered_principal)},
        "rounds": rounds, "settlement": settlement_out(settlement) if settlement else None,
        "opened_on": case.opened_on.isoformat(),
    }


def listing_out(case: DisposalCase) -> dict:
    """What a buyer sees: no names of the parties, no personal data."""
    from ippledge.rights.services import state_of

    rnd = services.current_round(case)
    value = case.appraised_value
    return {"disposal_no": case.disposal_no, "channel": case.channel,
            "rights": [{"kind": link.right.kind, "number": link.right.number, "title": link.right.title,
                        "legal_state": state_of(link.right).legal_state}
                       for link in case.case_rights.all()],
            "value_range": {"low": _s(rnd.reserve if rnd else value * 7 // 10), "high": _s(value)},
            "round": None if rnd is None else {"number": rnd.number, "reserve": _s(rnd.reserve),
                                               "increment": _s(rnd.increment), "deposit": _s(rnd.deposit),
                                               "opens_at": rnd.opens_at.isoformat(),
                                               "closes_at": rnd.closes_at.isoformat()},
            "deadline": case.deadline.isoformat() if case.deadline else None}


def relief_out(row: FeeRelief) -> dict:
    return {"id": row.pk, "right": {"kind": row.right.kind, "number": row.right.number}, "bank_org_id": row.bank_id,
            "disposal_no": row.acquired.case.disposal_no, "acquired_on": row.acquired.acquired_on.isoformat(),
            "hold_until": row.acquired.hold_until.isoformat(), "status": row.status,
            "reduction_percent": None if row.reduction_percent is None else str(row.reduction_percent),
            "reason": row.reason, "applied_on": row.applied_on.isoformat(),
            "decided_on": row.decided_on.isoformat() if row.decided_on else None}


@router.post("/disposals", response={201: CaseOut}, exclude_unset=True, summary="Open an enforcement case on a non-performing loan")
def open_case(request, payload: CaseIn):
    case = services.open_case(actor=request.auth, data=payload.dict())
    return 201, case_out(case, request.auth)


@router.get("/disposals", response=CasesOut, exclude_unset=True, summary="The disposal cases the user may read")
def list_cases(request, status: str | None = None, limit: int = 100):
    rows = services.cases_for(request.auth).select_related("loan")
    if status in CaseStatus.values:
        rows = rows.filter(status=status)
    return {"disposals": [case_out(c, request.auth) for c in rows[: max(1, min(limit, 1000))]]}


@router.get("/disposals/listings", response=ListingsOut, auth=None, summary="Public listings: what is for sale, without personal data")
def listings(request):
    return {"listings": [listing_out(c) for c in services.public_listings()[:1000]]}


@router.get("/disposals/{disposal_no}", response=CaseOut, exclude_unset=True, summary="A disposal case with its rounds and settlement")
def get_case(request, disposal_no: str):
    return case_out(services.get_case(actor=request.auth, disposal_no=disposal_no), request.auth)


@router.post("/disposals/{disposal_no}/rounds", response={201: CaseOut}, exclude_unset=True, summary="Publish the next round")
def publish_round(request, disposal_no: str, payload: RoundIn):
    services.publish_round(actor=request.auth, disposal_no=disposal_no, data=payload.dict())
    return 201, case_out(services.get_case(actor=request.auth, disposal_no=disposal_no), request.auth)


@router.post("/disposals/{disposal_no}/deposits", response={201: DepositOut}, summary="Record a bidder's deposit")
def record_deposit(request, disposal_no: str, payload: DepositIn):
    row = services.record_deposit(actor=request.auth, disposal_no=disposal_no, bidder_org_id=payload.bidder_org_id,
                                  amount=payload.amount)
    return 201, {"bidder_org_id": row.bidder_id, "amount": _s(row.amount)}


@router.post("/disposals/{disposal_no}/bids", response={201: PlacedBidOut}, summary="Bid as your organisation")
def place_bid(request, disposal_no: str, payload: BidIn):
    bid = services.place_bid(actor=request.auth, disposal_no=disposal_no, amount=payload.amount)
    return 201, {"bid_id": bid.pk, "amount": _s(bid.amount), "at": bid.at.isoformat()}


@router.post("/disposals/{disposal_no}/close", response=ClosedRoundOut, exclude_unset=True, summary="Close the round: the winner, or the next round")
def close_round(request, disposal_no: str):
    rnd = services.close_round(actor=request.auth, disposal_no=disposal_no)
    case = services.get_case(actor=request.auth, disposal_no=disposal_no)
    return {"round": rnd.number, "outcome": rnd.outcome, "case": case_out(case, request.auth)}


@router.post("/disposals/{disposal_no}/interests", response={201: InterestOut}, summary="Express interest in a listing")
def express_interest(request, disposal_no: str, payload: InterestIn):
    row = services.express_interest(actor=request.auth, disposal_no=disposal_no, note=payload.note)
    return 201, {"id": row.pk}


@router.post("/disposals/{disposal_no}/agreement", response=CaseOut, exclude_unset=True, summary="Record an agreed set-off or negotiated sale")
def agree(request, disposal_no: str, payload: AgreementIn):
    case = services.agree(actor=request.auth, disposal_no=disposal_no, value=payload.value,
                          agreement_ref=payload.agreement_ref, buyer_org_id=payload.buyer_org_id)
    return case_out(case, request.auth)


@router.post("/disposals/{disposal_no}/agreement/confirm", response=CaseStatusOut, summary="The pledgor confirms the set-off agreement")
def confirm(request, disposal_no: str):
    case = services.confirm_agreement(actor=request.auth, disposal_no=disposal_no)
    return {"disposal_no": case.disposal_no, "status": case.status}


@router.post("/disposals/{disposal_no}/withdraw", response=CaseStatusOut, summary="End a case without a sale")
def withdraw(request, disposal_no: str, payload: WithdrawIn):
    case = services.withdraw(actor=request.auth, disposal_no=disposal_no, reason=payload.reason)
    return {"disposal_no": case.disposal_no, "status": case.status}


@router.post("/disposals/{disposal_no}/settlement", response={201: SettlementOut},
             summary="Settle once: the waterfall, the loan, the risk-sharing claim, the register and registry")
def settle(request, disposal_no: str, payload: SettlementIn):
    row = services_settlement.settle(actor=request.auth, disposal_no=disposal_no, proceeds=payload.proceeds,
                                     costs=payload.costs, date=payload.date, buyer=payload.buyer)
    return 201, settlement_out(row)


@router.post("/disposals/{disposal_no}/licence-income", response={201: IncomeOut},
             summary="Licence income of a licensing case, applied as a recovery")
def licence_income(request, disposal_no: str, payload: IncomeIn):
    row = services_settlement.record_licence_income(actor=request.auth, disposal_no=disposal_no,
                                                    amount=payload.amount, date=payload.date)
    return 201, {"applied": {"costs": _s(row.applied_costs), "interest": _s(row.applied_interest),
                             "principal": _s(row.applied_principal)}}


@router.post("/fee-relief", response={201: ReliefOut}, summary="Apply for fee relief on a right obtained by enforcement")
def apply_relief(request, payload: ReliefIn):
    return 201, relief_out(services_relief.apply(actor=request.auth, right=payload.right, note=payload.note))


@router.get("/fee-relief", response=ReliefsOut, summary="Fee-relief applications the user may read (registrars: its office's queue)")
def list_reliefs(request, status: str | None = None):
    rows = services_relief.reliefs_for(request.auth)
    if status:
        rows = rows.filter(status=status)
    return {"applications": [relief_out(r) for r in rows[:1000]]}


@router.get("/fee-relief/{relief_id}", response=ReliefOut, summary="A fee-relief application")
def get_relief(request, relief_id: int):
    return relief_out(services_relief.get_relief(actor=request.auth, relief_id=relief_id))


@router.post("/fee-relief/{relief_id}/decision", response=ReliefOut, summary="The right's office decides")
def decide_relief(request, relief_id: int, payload: DecisionIn):
    row = services_relief.decide(actor=request.auth, relief_id=relief_id, approve=payload.approve,
                                 reduction_percent=payload.reduction_percent, reason=payload.reason)
    return relief_out(row)
