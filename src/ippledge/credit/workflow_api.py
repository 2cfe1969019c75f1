"""Credit workflow API: products, financing needs and matching, cases (due diligence, review,
approval, contract and pledge, disbursement), plans, park lines, exemptions, investments."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from django.utils.translation import gettext as _
from ninja import File, Form, Router, Schema
from ninja.files import UploadedFile

from ippledge.core.errors import NotFound
from ippledge.core.models import Organisation
from ippledge.core.money import from_fen

from . import workflow
from .models import CreditCase, FinancingNeed, ParkCreditLine, PartnerInvestment, Product

router = Router(tags=["credit workflow"])


class RightRef(Schema):
    kind: str
    number: str


class ProductIn(Schema):
    name: str
    eligible_kinds: list[str]
    min_amount: str
    max_amount: str
    min_term_months: int = 1
    max_term_months: int = 36
    ltv_caps: dict[str, str] = {}
    lpr_tenor: Literal["1y", "5y"] = "1y"
    spreads_bp: dict[str, int] = {"A": 50, "B": 100, "C": 200}
    rate_floor: str | None = None
    rate_cap: str | None = None
    required_documents: list[str] = []
    risk_sharing: list[str] = []
    insurance: list[str] = []
    park_ids: list[int] = []
    regions: list[str] = []
    first_loan_friendly: bool = False
    inclusive_smb: bool = False
    min_innovation_grade: str = ""
    guarantee_fee_rate: str = "0"
    insurance_premium_rate: str = "0"
    bank_org_id: int | None = None


class NeedIn(Schema):
    amount: str
    term_months: int = 12
    purpose: str = ""
    rights: list[RightRef]


class ProfileIn(Schema):
    staff: int
    revenue: str
    assets: str | None = None
    industry: str | None = None
    subsector: str | None = None


class CaseIn(Schema):
    product_id: int
    need_id: int | None = None
    enterprise_id: int | None = None
    amount: str | None = None
    term_months: int | None = None
    rights: list[RightRef] | None = None
    purpose: str = ""
    valuation_no: str = ""
    first_loan: bool | None = None
    park_id: int | None = None
    profile: ProfileIn | None = None


class DdIn(Schema):
    key: str
    result: Literal["ok", "issue"]
    notes: str = ""
    evidence: list[str] = []


class SubmitIn(Schema):
    risk_grade: str = "B"


class DecisionIn(Schema):
    decision: str
    note: str = ""


class DisburseIn(Schema):
    schedule: Literal["bullet", "equal_instalments", "equal_principal", "interest_only"] = "bullet"


class ExemptionIn(Schema):
    statement: str


class ExemptionDecisionIn(Schema):
    grant: bool
    reason: str


class PlanIn(Schema):
    bank_org_id: int
    year: int
    households: int
    amount: str


class ParkLineIn(Schema):
    bank_org_id: int
    park_name: str
    limit: str
    start_date: dt.date
    end_date: dt.date


class SubsidyIn(Schema):
    name: str
    kind: Literal["rate", "share_of_interest", "amount"]
    value: str
    cap: str | None = None
    region_code: str = ""


class InvestmentIn(Schema):
    enterprise_id: int
    fund_name: str
    amount: str
    date: dt.date
    stake: str | None = None


def _found(obj, code: str):
    if obj is None:
        raise NotFound(_("Not found."), code=code)
    return obj


def product_out(p: Product) -> dict:
    return {"id": p.pk, "bank_org_id": p.bank_id, "bank": p.bank.name, "name": p.name,
            "eligible_kinds": p.eligible_kinds, "min_amount": str(from_fen(p.min_amount)),
            "max_amount": str(from_fen(p.max_amount)), "min_term_months": p.min_term_months,
            "max_term_months": p.max_term_months, "ltv_caps": p.ltv_caps, "lpr_tenor": p.lpr_tenor,
            "spreads_bp": p.spreads_bp, "rate_floor": str(p.rate_floor) if p.rate_floor is not None else None,
            "rate_cap": str(p.rate_cap) if p.rate_cap is not None else None,
            "required_documents": p.required_documents, "risk_sharing": p.risk_sharing, "insurance": p.insurance,
            "park_ids": p.park_ids, "first_loan_friendly": p.first_loan_friendly, "inclusive_smb": p.inclusive_smb}


def need_out(n: FinancingNeed) -> dict:
    return {"id": n.pk, "enterprise": n.enterprise.name, "enterprise_id": n.enterprise_id,
            "amount": str(from_fen(n.amount)), "term_months": n.term_months, "purpose": n.purpose,
            "rights": n.rights, "status": n.status, "created_at": n.created_at.isoformat()}


def case_out(c: CreditCase) -> dict:
    return {
        "case_no": c.case_no, "stage": c.stage, "bank_org_id": c.bank_id, "enterprise": {
            "id": c.enterprise_id, "name": c.enterprise.name, "uscc": c.enterprise.uscc, "size_class": c.size_class},
        "product": product_out(c.product), "amount": str(from_fen(c.amount)), "term_months": c.term_months,
        "purpose": c.purpose, "rights": c.rights, "valuation_no": c.valuation_no or None,
        "max_loan": str(from_fen(c.max_loan)) if c.max_loan is not None else None,
        "innovation_grade": c.innovation_grade or None, "first_loan": c.first_loan, "risk_grade": c.risk_grade,
        "prepared_by": c.prepared_by.username, "dd_signed_by": c.dd_signed_by.username if c.dd_signed_by else None,
        "due_diligence": [{"key": i.key, "prefilled": i.prefilled, "prefilled_detail": i.prefilled_detail,
                           "result": i.result or None, "notes": i.notes, "evidence": i.evidence}
                          for i in c.dd_items.all()],
        "trail": [{"action": s.action, "from": s.from_stage or None, "to": s.to_stage,
                   "by": s.actor.username if s.actor else None, "at": s.at.isoformat(), "note": s.note}
                  for s in c.steps.select_related("actor")],
        "sla": workflow.sla(c), "pricing": c.pricing, "contract_no": c.contract_no or None,
        "pledge_application_no": c.pledge_application_no or None,
        "loan_no": c.loan.loan_no if c.loan_id else None,
        "investments": [{"fund": i.fund_name, "amount": str(from_fen(i.amount)), "date": i.date.isoformat()}
                        for i in PartnerInvestment.objects.filter(enterprise_id=c.enterprise_id)],
    }


@router.post("/products", response={201: dict}, summary="Define an IP-pledge loan product (bank)")
def create_product(request, payload: ProductIn):
    return 201, product_out(workflow.create_product(actor=request.auth, data=payload.dict()))


@router.get("/products", summary="Published loan products")
def products(request):
    return [product_out(p) for p in Product.objects.filter(active=True).select_related("bank")]


@router.get("/products/{product_id}/matches", summary="Financing needs ranked for a product, with reasons")
def product_matches(request, product_id: int):
    return workflow.match_needs(_found(Product.objects.filter(pk=product_id).first(), "product_not_found"))


@router.post("/financing-needs", response={201: dict}, summary="Publish a financing need (enterprise)")
def publish_need(request, payload: NeedIn):
    return 201, need_out(workflow.publish_need(actor=request.auth, data=payload.dict()))


@router.get("/financing-needs", summary="Open financing needs (the project database)")
def needs(request):
    return [need_out(n) for n in FinancingNeed.objects.filter(status="open").select_related("enterprise")[:500]]


@router.get("/financing-needs/{need_id}/matches", summary="Products ranked for a need, with reasons")
def need_matches(request, need_id: int):
    return workflow.match_products(_found(FinancingNeed.objects.filter(pk=need_id).first(), "need_not_found"))


@router.post("/credit-cases", response={201: dict}, summary="Express interest / open a credit case")
def open_case(request, payload: CaseIn):
    data = payload.dict()
    if data.get("profile") is None:
        data.pop("profile", None)
    if data.get("rights") is not None:
        data["rights"] = [dict(r) for r in data["rights"]]
    return 201, case_out(workflow.open_case(actor=request.auth, **data))


@router.get("/credit-cases", summary="Cases visible to you (the workbench)")
def cases(request, stage: str | None = None):
    qs = CreditCase.objects.restrict(request.auth, "view").select_related("enterprise", "product__bank", "prepared_by")
    if stage:
        qs = qs.filter(stage=stage)
    return [case_out(c) for c in qs[:200]]


@router.get("/credit-cases/{case_no}")
def get_case(request, case_no: str):
    return case_out(workflow.get_case(actor=request.auth, case_no=case_no))


@router.post("/credit-cases/{case_no}/due-diligence", summary="Record a due-diligence finding")
def dd(request, case_no: str, payload: DdIn):
    workflow.update_dd(actor=request.auth, case_no=case_no, key=payload.key, result=payload.result,
                       notes=payload.notes, evidence=payload.evidence)
    return case_out(workflow.get_case(actor=request.auth, case_no=case_no))


@router.post("/credit-cases/{case_no}/evidence", response={201: dict},
             summary="Attach an evidence file to a due-diligence item (multipart: key, file)")
def evidence(request, case_no: str, key: Form[str], file: File[UploadedFile]):
    ref = workflow.attach_evidence(actor=request.auth, case_no=case_no, key=key, name=file.name or "evidence",
                                   content=file.read())
    return 201, ref


@router.post("/credit-cases/{case_no}/submit", summary="Sign off due diligence and submit for review (officer)")
def submit(request, case_no: str, payload: SubmitIn):
    return case_out(workflow.submit_for_review(actor=request.auth, case_no=case_no, risk_grade=payload.risk_grade))


@router.post("/credit-cases/{case_no}/review", summary="Risk review: pass, return or decline")
def review(request, case_no: str, payload: DecisionIn):
    return case_out(workflow.review(actor=request.auth, case_no=case_no, decision=payload.decision, note=payload.note))


@router.post("/credit-cases/{case_no}/approval", summary="Approve (prices, contracts, files the pledge), return or decline")
def approval(request, case_no: str, payload: DecisionIn):
    return case_out(workflow.approve(actor=request.auth, case_no=case_no, decision=payload.decision, note=payload.note))


@router.post("/credit-cases/{case_no}/disbursement", summary="Disburse once the pledge is registered")
def disburse(request, case_no: str, payload: DisburseIn):
    workflow.disburse(actor=request.auth, case_no=case_no, schedule=payload.schedule)
    return case_out(workflow.get_case(actor=request.auth, case_no=case_no))


@router.get("/credit-plans/{bank_org_id}/{year}", summary="A bank's yearly IP-pledge plan and its progress")
def plan(request, bank_org_id: int, year: int):
    bank = Organisation.objects.restrict(request.auth, "view").filter(pk=bank_org_id, kind="bank").first()
    if bank is None:
        raise NotFound(_("No such bank."), code="bank_not_found")
    return workflow.plan_progress(bank, year)


@router.post("/credit-plans", response={201: dict}, summary="Set a bank's dedicated yearly credit plan (approver)")
def set_plan(request, payload: PlanIn):
    plan = workflow.set_plan(actor=request.auth, **payload.dict())
    return 201, workflow.plan_progress(plan.bank, plan.year)


@router.post("/park-credit-lines", response={201: dict}, summary="Grant a park intent credit line (approver)")
def grant_line(request, payload: ParkLineIn):
    return 201, workflow.park_line_usage(workflow.grant_park_line(actor=request.auth, **payload.dict()))


@router.post("/subsidy-schemes", response={201: dict}, summary="Add an interest-subsidy scheme (operator, regulator)")
def add_subsidy(request, payload: SubsidyIn):
    row = workflow.add_subsidy_scheme(actor=request.auth, **payload.dict())
    return 201, {"id": row.pk, "name": row.name, "kind": row.kind, "value": str(row.value)}


@router.get("/park-credit-lines", summary="Park intent credit lines with utilisation and headroom")
def park_lines(request):
    banks = Organisation.objects.restrict(request.auth, "view").filter(kind="bank")
    return [workflow.park_line_usage(line) for line in ParkCreditLine.objects.filter(bank__in=banks)
            .select_related("park", "bank")]


@router.post("/loans/{loan_no}/exemption-requests", response={201: dict},
             summary="Request due-diligence exemption (尽职免责) for a loss")
def exemption(request, loan_no: str, payload: ExemptionIn):
    row = workflow.request_exemption(actor=request.auth, loan_no=loan_no, statement=payload.statement)
    return 201, {"id": row.pk, "status": row.status, "evidence": row.evidence}


@router.post("/exemption-requests/{request_id}/decision", summary="Decide an exemption request (reviewer)")
def exemption_decision(request, request_id: int, payload: ExemptionDecisionIn):
    row = workflow.decide_exemption(actor=request.auth, request_id=request_id, grant=payload.grant,
                                    reason=payload.reason)
    return {"id": row.pk, "status": row.status, "reason": row.decision_reason}


@router.post("/investments", response={201: dict}, summary="Record a partner fund's investment (投贷联动)")
def investment(request, payload: InvestmentIn):
    row = workflow.record_investment(actor=request.auth, enterprise_id=payload.enterprise_id,
                                     fund_name=payload.fund_name, amount=payload.amount, date=payload.date,
                                     stake=payload.stake)
    return 201, {"id": row.pk}
