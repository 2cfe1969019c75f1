"""Credit workflow API: products, financing needs and matching, cases (due diligence, review,
approval, contract and pledge, disbursement), plans, park lines, exemptions, investments."""

from __future__ import annotations

from typing import Annotated, Any

from django.utils.translation import gettext as _
from ninja import Field, Router, Schema
from pydantic import WithJsonSchema

from ippledge.core.api_schemas import IsoDate, IsoDateTime, Money
from ippledge.core.errors import MalformedBody, NotFound, ValidationFailed
from ippledge.core.models import Organisation
from ippledge.core.money import from_fen

from . import workflow
from .api import LtvOverrideOut, PledgedRightOut, ltv_override_out
from .inputs import (
    Day,
    Decimal_,
    Flag,
    RightRefs,
    Text,
    TextList,
    TextMap,
    Whole,
    WholeList,
    WholeMap,
    one_of,
)
from .models import CreditCase, FinancingNeed, ParkCreditLine, PartnerInvestment, Product

router = Router(tags=["credit workflow"])


# Loose field types: the workflow parses every value within the business limits after the permission
# check (see ``inputs``), so a stranger's malformed body answers 403, not 422.

class ProductIn(Schema):
    name: Text
    eligible_kinds: TextList
    min_amount: Decimal_
    max_amount: Decimal_
    min_term_months: Whole = 1
    max_term_months: Whole = 36
    ltv_caps: TextMap = {}
    valuation_validity_months: Whole = 12
    review_frequency_months: Whole = 3
    lpr_tenor: one_of("1y", "5y") = "1y"
    spreads_bp: WholeMap = {"A": 50, "B": 100, "C": 200}
    rate_floor: Decimal_ = None
    rate_cap: Decimal_ = None
    required_documents: TextList = []
    risk_sharing: TextList = []
    insurance: TextList = []
    park_ids: WholeList = []
    regions: TextList = []
    first_loan_friendly: Flag = False
    inclusive_smb: Flag = False
    min_innovation_grade: Text = ""
    guarantee_fee_rate: Decimal_ = "0"
    insurance_premium_rate: Decimal_ = "0"
    bank_org_id: Whole = Field(None, description="The bank the product is for: your own (the default) or a "
                                                  "branch of it; an administrator names any bank.")


class NeedIn(Schema):
    amount: Decimal_
    term_months: Whole = 12
    purpose: Text = ""
    rights: RightRefs


Profile = Annotated[Any, WithJsonSchema({"type": "object", "properties": {
    "staff": {"type": "integer"}, "revenue": {"type": "string"}, "assets": {"type": "string"},
    "industry": {"type": "string"}, "subsector": {"type": "string"}}, "required": ["staff", "revenue"]})]


class CaseIn(Schema):
    product_id: Whole
    need_id: Whole = None
    enterprise_id: Whole = None
    amount: Decimal_ = None
    term_months: Whole = None
    rights: RightRefs = None
    purpose: Text = ""
    valuation_no: Text = ""
    first_loan: Flag = None
    park_id: Whole = None
    profile: Profile = None


class DdIn(Schema):
    key: one_of(*workflow.DD_KEYS)
    result: one_of("ok", "issue")
    notes: Text = ""
    evidence: TextList = []


class SubmitIn(Schema):
    risk_grade: Text = "B"


class DecisionIn(Schema):
    decision: Text
    note: Text = ""


class ApprovalIn(DecisionIn):
    ltv_override_reason: Text = Field("", description="Why the amount may exceed the maximum loan the valuation "
                                                      "supports under the product's LTV caps (recorded, shown to "
                                                      "every later reader of the case and its loan).")


class ValuationIn(Schema):
    valuation_no: Text


class DisburseIn(Schema):
    schedule: one_of("bullet", "equal_instalments", "equal_principal", "interest_only") = "bullet"


class ExemptionIn(Schema):
    statement: Text


class ExemptionDecisionIn(Schema):
    grant: Flag
    reason: Text


class PlanIn(Schema):
    bank_org_id: Whole
    year: Whole
    households: Whole
    amount: Decimal_


class ParkLineIn(Schema):
    bank_org_id: Whole
    park_name: Text
    limit: Decimal_
    start_date: Day
    end_date: Day


class SubsidyIn(Schema):
    name: Text
    kind: one_of("rate", "share_of_interest", "amount")
    value: Decimal_
    cap: Decimal_ = None
    region_code: Text = ""


class InvestmentIn(Schema):
    enterprise_id: Whole
    fund_name: Text
    amount: Decimal_
    date: Day
    stake: Decimal_ = None


# --- answers ----------------------------------------------------------------------------------

class ProductOut(Schema):
    id: int
    bank_org_id: int
    bank: str
    name: str
    eligible_kinds: list[str]
    min_amount: Money
    max_amount: Money
    min_term_months: int
    max_term_months: int
    ltv_caps: dict[str, str]
    lpr_tenor: str
    valuation_validity_months: int
    review_frequency_months: int
    spreads_bp: dict[str, int]
    rate_floor: str | None
    rate_cap: str | None
    required_documents: list[Any]
    risk_sharing: list[Any]
    insurance: list[Any]
    park_ids: list[int]
    first_loan_friendly: bool
    inclusive_smb: bool


class RightRefOut(Schema):
    kind: str
    number: str


class NeedOut(Schema):
    id: int
    enterprise: str
    enterprise_id: int
    amount: Money
    term_months: int
    purpose: str
    rights: list[RightRefOut]
    status: str
    created_at: IsoDateTime


class MatchOut(Schema):
    """One ranked candidate: ``product_id`` (a need's matches) or ``need_id`` (a product's matches)."""
    product_id: int | None = None
    need_id: int | None = None
    eligible: bool
    score: Money
    reasons: list[Any] = Field(description="[ok, code, message, ...] per eligibility rule")
    supportable_amount: Money | None


class EnterpriseOut(Schema):
    id: int
    name: str
    uscc: str | None
    size_class: str


class TrailStepOut(Schema):
    action: str
    from_: str | None = Field(alias="from")
    to: str
    at: IsoDateTime
    by: str | None = None  # the lending bank's readers only
    note: str = ""  # the lending bank's readers only


class SlaOut(Schema):
    limit_days: int | None
    elapsed_days: int | None
    due_date: IsoDate | None
    overdue: bool


class FilingOut(Schema):
    regime: str
    application_no: str
    status: str | None
    registration_no: str | None


class InvestmentOut(Schema):
    fund: str
    amount: Money
    date: IsoDate


class DdItemOut(Schema):
    key: str
    prefilled: str
    prefilled_detail: str
    result: str | None
    notes: str
    evidence: list[Any]


class CaseOut(Schema):
    """A credit case. The fields after ``investments`` are the bank's internal assessment: present only
    for the lending bank's readers (``reader`` is ``lender``), absent for the borrower."""
    case_no: str
    stage: str
    bank_org_id: int
    reader: str
    enterprise: EnterpriseOut
    product: ProductOut
    amount: Money
    term_months: int
    purpose: str
    rights: list[RightRefOut]
    valuation_no: str | None
    first_loan: bool
    trail: list[TrailStepOut]
    sla: SlaOut
    pricing: dict[str, Any]
    contract_no: str | None
    pledge_application_no: str | None
    pledge_applications: list[FilingOut]
    loan_no: str | None
    investments: list[InvestmentOut]
    max_loan: Money | None = None
    ltv_override: LtvOverrideOut | None = None
    collateral: list[PledgedRightOut] = []
    innovation_grade: str | None = None
    risk_grade: str | None = None
    prepared_by: str | None = None
    dd_signed_by: str | None = None
    due_diligence: list[DdItemOut] = []


class EvidenceOut(Schema):
    file: str
    name: str
    sha256: str
    bytes: int


class PlanOut(Schema):
    year: int
    plan_households: int | None
    plan_amount: Money | None
    households: int
    amount: Money
    households_pct: float | None
    amount_pct: float | None


class ParkLineOut(Schema):
    park: str
    limit: Money
    used: Money
    headroom: Money
    start_date: IsoDate
    end_date: IsoDate


class SubsidyOut(Schema):
    id: int
    name: str
    kind: str
    value: str


class ExemptionOut(Schema):
    id: int
    status: str
    evidence: dict[str, Any]


class ExemptionDecisionOut(Schema):
    id: int
    status: str
    reason: str


class CreatedOut(Schema):
    id: int


def _found(obj, code: str):
    if obj is None:
        raise NotFound(_("Not found."), code=code)
    return obj


def product_out(p: Product) -> dict:
    return {"id": p.pk, "bank_org_id": p.bank_id, "bank": p.bank.name, "name": p.name,
            "eligible_kinds": p.eligible_kinds, "min_amount": str(from_fen(p.min_amount)),
            "max_amount": str(from_fen(p.max_amount)), "min_term_months": p.min_term_months,
            "max_term_months": p.max_term_months, "ltv_caps": p.ltv_caps, "lpr_tenor": p.lpr_tenor,
            "valuation_validity_months": p.valuation_validity_months,
            "review_frequency_months": p.review_frequency_months,
            "spreads_bp": p.spreads_bp, "rate_floor": str(p.rate_floor) if p.rate_floor is not None else None,
            "rate_cap": str(p.rate_cap) if p.rate_cap is not None else None,
            "required_documents": p.required_documents, "risk_sharing": p.risk_sharing, "insurance": p.insurance,
            "park_ids": p.park_ids, "first_loan_friendly": p.first_loan_friendly, "inclusive_smb": p.inclusive_smb}


def need_out(n: FinancingNeed) -> dict:
    return {"id": n.pk, "enterprise": n.enterprise.name, "enterprise_id": n.enterprise_id,
            "amount": str(from_fen(n.amount)), "term_months": n.term_months, "purpose": n.purpose,
            "rights": n.rights, "status": n.status, "created_at": n.created_at.isoformat()}


class _CaseBatch:
    """What :func:`case_out` reads beyond the case's own rows, gathered once for a list of cases (a few
    queries in all rather than several per case): the pledge applications, the enterprises' partner
    investments, the rights the cases pledge and what their valuations give each right."""

    def __init__(self, cases: list[CreditCase]):
        from django.db.models import Q

        from ippledge.core import identifiers
        from ippledge.core.errors import DomainError
        from ippledge.registry.models import PledgeApplication
        from ippledge.rights.models import Right
        from ippledge.valuation.models import ValuationRecord

        numbers = [f.application_no for c in cases for f in c.filings.all()]
        self.applications = {a.application_no: a for a in PledgeApplication.objects.filter(
            application_no__in=numbers).select_related("pledge")} if numbers else {}
        self.investments: dict[int, list[PartnerInvestment]] = {c.enterprise_id: [] for c in cases}
        for row in PartnerInvestment.objects.filter(enterprise_id__in=list(self.investments)):
            self.investments[row.enterprise_id].append(row)
        # The rights by the normal form of each reference (as rights.services.find_right reads one).
        self.normal: dict[tuple[str, str], tuple[str, str] | None] = {}
        for c in cases:
            for ref in c.rights:
                key = (ref["kind"], ref["number"])
                try:
                    self.normal[key] = (ref["kind"], identifiers.normalise_right_number(*key))
                except DomainError:
                    self.normal[key] = None
        wanted = {k for k in self.normal.values() if k is not None}
        query = Q()
        for kind, number in wanted:
            query |= Q(kind=kind, number=number)
        self.right_ids = dict(((k, n), pk) for k, n, pk in Right.objects.filter(query)
                              .values_list("kind", "number", "pk")) if wanted else {}
        valuation_nos = {c.valuation_no for c in cases if c.valuation_no}
        self.values = {r.valuation_no: workflow.values_given(r) for r in ValuationRecord.objects.filter(
            valuation_no__in=valuation_nos).prefetch_related("valuation_rights")} if valuation_nos else {}

    def right_id(self, ref: dict) -> int | None:
        key = self.normal.get((ref["kind"], ref["number"]))
        return self.right_ids.get(key) if key else None


def _filings_out(c: CreditCase, batch: _CaseBatch | None = None) -> list[dict]:
    """The case's pledge applications, one per registry regime, with the registration each became."""
    from ippledge.registry.models import PledgeApplication

    filings = list(c.filings.all())
    apps = batch.applications if batch is not None else {a.application_no: a for a in PledgeApplication.objects.filter(
        application_no__in=[f.application_no for f in filings]).select_related("pledge")}
    out = []
    for f in filings:
        app = apps.get(f.application_no)
        pledge = getattr(app, "pledge", None) if app is not None else None
        out.append({"regime": f.regime, "application_no": f.application_no, "status": app.status if app else None,
                    "registration_no": pledge.registration_no if pledge else None})
    return out


def _collateral_out(c: CreditCase, batch: _CaseBatch | None = None) -> list[dict]:
    """Each pledged right with what the attached valuation gives it (a bundle's allocation per right)."""
    from ippledge.core.errors import DomainError
    from ippledge.rights import services as rights_services

    if batch is not None:
        values = batch.values.get(c.valuation_no, {}) if c.valuation_no else {}
    else:
        values = workflow.collateral_values(c)
    out = []
    for ref in c.rights:
        if batch is not None:
            right_id = batch.right_id(ref)
            out.append({"kind": ref["kind"], "number": ref["number"],
                        "allocated_value": str(from_fen(values[right_id])) if values.get(right_id) is not None
                        else None})
            continue
        try:
            right_id = rights_services.find_right(ref["kind"], ref["number"]).pk
        except DomainError:
            right_id = None
        value = values.get(right_id)
        out.append({"kind": ref["kind"], "number": ref["number"],
                    "allocated_value": str(from_fen(value)) if value is not None else None})
    return out


def case_out(c: CreditCase, reader, batch: _CaseBatch | None = None) -> dict:
    """A case as ``reader`` may read it: the lending bank's staff read the whole file; the borrower reads
    its application, where it stands and the outcome, but not the bank's internal assessment (due
    diligence, risk grade, maximum loan, innovation grade, who worked on it and their notes) — see
    docs/security.md, "Credit case visibility".  ``batch``: a list's cases read together (:func:`cases`)."""
    lender = workflow.reads_internals(reader, c)
    listed = batch is not None
    steps = c.steps.all() if listed else c.steps.select_related("actor")
    investments = batch.investments.get(c.enterprise_id, []) if listed else \
        PartnerInvestment.objects.filter(enterprise_id=c.enterprise_id)
    out = {
        "case_no": c.case_no, "stage": c.stage, "bank_org_id": c.bank_id, "reader": "lender" if lender else "borrower",
        "enterprise": {"id": c.enterprise_id, "name": c.enterprise.name, "uscc": c.enterprise.uscc,
                       "size_class": c.size_class},
        "product": product_out(c.product), "amount": str(from_fen(c.amount)), "term_months": c.term_months,
        "purpose": c.purpose, "rights": c.rights, "valuation_no": c.valuation_no or None, "first_loan": c.first_loan,
        "trail": [{"action": s.action, "from": s.from_stage or None, "to": s.to_stage, "at": s.at.isoformat(),
                   **({"by": s.actor.username if s.actor else None, "note": s.note} if lender else {})}
                  for s in steps],
        "sla": workflow.sla(c), "pricing": c.pricing, "contract_no": c.contract_no or None,
        "pledge_application_no": c.pledge_application_no or None, "pledge_applications": _filings_out(c, batch),
        "loan_no": c.loan.loan_no if c.loan_id else None,
        "investments": [{"fund": i.fund_name, "amount": str(from_fen(i.amount)), "date": i.date.isoformat()}
                        for i in investments],
    }
    if lender:
        out.update({
            "max_loan": str(from_fen(c.max_loan)) if c.max_loan is not None else None,
            "ltv_override": ltv_override_out(c), "collateral": _collateral_out(c, batch),
            "innovation_grade": c.innovation_grade or None, "risk_grade": c.risk_grade,
            "prepared_by": c.prepared_by.username, "dd_signed_by": c.dd_signed_by.username if c.dd_signed_by else None,
            "due_diligence": [{"key": i.key, "prefilled": i.prefilled, "prefilled_detail": i.prefilled_detail,
                               "result": i.result or None, "notes": i.notes, "evidence": i.evidence}
                              for i in c.dd_items.all()],
        })
    return out


@router.post("/products", response={201: ProductOut}, summary="Define an IP-pledge loan product (bank)")
def create_product(request, payload: ProductIn):
    return 201, product_out(workflow.create_product(actor=request.auth, data=payload.dict()))


@router.get("/products", response=list[ProductOut], summary="Published loan products")
def products(request):
    return [product_out(p) for p in Product.objects.filter(active=True).select_related("bank")]


@router.get("/products/{product_id}/matches", response=list[MatchOut], exclude_unset=True,
            summary="Financing needs ranked for a product, with reasons")
def product_matches(request, product_id: int):
    return workflow.match_needs(actor=request.auth,
                                product=_found(Product.objects.filter(pk=product_id).first(), "product_not_found"))


@router.post("/financing-needs", response={201: NeedOut}, summary="Publish a financing need (enterprise)")
def publish_need(request, payload: NeedIn):
    return 201, need_out(workflow.publish_need(actor=request.auth, data=payload.dict()))


@router.get("/financing-needs", response=list[NeedOut], summary="Open financing needs (the project database)")
def needs(request):
    return [need_out(n) for n in FinancingNeed.objects.filter(status="open").select_related("enterprise")[:500]]


@router.get("/financing-needs/{need_id}/matches", response=list[MatchOut], exclude_unset=True,
            summary="Products ranked for a need, with reasons")
def need_matches(request, need_id: int):
    return workflow.match_products(actor=request.auth,
                                   need=_found(FinancingNeed.objects.filter(pk=need_id).first(), "need_not_found"))


@router.post("/credit-cases", response={201: CaseOut}, exclude_unset=True, by_alias=True, summary="Express interest / open a credit case")
def open_case(request, payload: CaseIn):
    return 201, case_out(workflow.open_case(actor=request.auth, **payload.dict()), request.auth)


@router.get("/credit-cases", response=list[CaseOut], exclude_unset=True, by_alias=True, summary="Cases visible to you (the workbench)")
def cases(request, stage: str | None = None):
    from django.db.models import Prefetch

    from ippledge.core import business_date

    from .workflow_models import CaseStep

    qs = CreditCase.objects.restrict(request.auth, "view").select_related(
        "enterprise", "product__bank", "bank", "prepared_by", "dd_signed_by", "ltv_override_by", "loan") \
        .prefetch_related("filings", "dd_items", Prefetch("steps", queryset=CaseStep.objects.select_related("actor")))
    if stage:
        qs = qs.filter(stage=stage)
    rows = list(qs[:200])
    batch = _CaseBatch(rows)
    with business_date.calendar_for(rows and min(business_date.beijing_date(c.stage_entered_at) for c in rows)):
        return [case_out(c, request.auth, batch) for c in rows]


@router.get("/credit-cases/{case_no}", response=CaseOut, exclude_unset=True, by_alias=True)
def get_case(request, case_no: str):
    return case_out(workflow.get_case(actor=request.auth, case_no=case_no), request.auth)


@router.post("/credit-cases/{case_no}/due-diligence", response=CaseOut, exclude_unset=True, by_alias=True, summary="Record a due-diligence finding")
def dd(request, case_no: str, payload: DdIn):
    workflow.update_dd(actor=request.auth, case_no=case_no, key=payload.key, result=payload.result,
                       notes=payload.notes, evidence=payload.evidence)
    return case_out(workflow.get_case(actor=request.auth, case_no=case_no), request.auth)


_EVIDENCE_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["key", "file"], "properties": {
        "key": {"type": "string", "enum": list(workflow.DD_KEYS)},
        "file": {"type": "string", "format": "binary"}}}}}}}


@router.post("/credit-cases/{case_no}/evidence", response={201: EvidenceOut}, openapi_extra=_EVIDENCE_BODY,
             summary="Attach an evidence file to a due-diligence item (multipart: key, file)")
def evidence(request, case_no: str):
    # Who may attach, and whether the case still takes evidence, is answered before the upload is read;
    # the multipart body is parsed here (not by the schema) so that a malformed one is a 400, not a 500.
    workflow.may_attach_evidence(actor=request.auth, case_no=case_no)
    key, upload = _multipart(request)
    ref = workflow.attach_evidence(actor=request.auth, case_no=case_no, key=key, name=upload.name or "evidence",
                                   content=_read_upload(upload))
    return 201, ref


def _multipart(request):
    from django.http.multipartparser import MultiPartParserError

    try:
        key, upload = request.POST.get("key"), request.FILES.get("file")
    except (MultiPartParserError, ValueError) as exc:  # no boundary, a broken part, too many fields
        raise MalformedBody(_("Send the evidence as multipart/form-data with the fields key and file.")) from exc
    if upload is None:
        raise ValidationFailed(_("Attach a file."), code="invalid_file", fields={"file": [_("This field is required.")]})
    return key, upload


def _read_upload(upload) -> bytes:
    if upload.size is not None and upload.size > workflow.EVIDENCE_MAX_BYTES:
        raise ValidationFailed(_("Attach a file of at most 10 MB."), code="invalid_file",
                               fields={"file": [_("Out of the allowed range.")]})
    return upload.read()


@router.post("/credit-cases/{case_no}/submit", response=CaseOut, exclude_unset=True, by_alias=True,
             summary="Sign off due diligence and submit for review (officer)")
def submit(request, case_no: str, payload: SubmitIn):
    return case_out(workflow.submit_for_review(actor=request.auth, case_no=case_no, risk_grade=payload.risk_grade),
                    request.auth)


@router.post("/credit-cases/{case_no}/review", response=CaseOut, exclude_unset=True, by_alias=True, summary="Risk review: pass, return or decline")
def review(request, case_no: str, payload: DecisionIn):
    return case_out(workflow.review(actor=request.auth, case_no=case_no, decision=payload.decision,
                                    note=payload.note), request.auth)


@router.put("/credit-cases/{case_no}/valuation", response=CaseOut, exclude_unset=True, by_alias=True,
            summary="Attach the valuation of the pledged rights (bank staff, before the decision)")
def attach_valuation(request, case_no: str, payload: ValuationIn):
    return case_out(workflow.attach_valuation(actor=request.auth, case_no=case_no, valuation_no=payload.valuation_no),
                    request.auth)


@router.post("/credit-cases/{case_no}/approval", response=CaseOut, exclude_unset=True, by_alias=True,
             summary="Approve (checks the collateral, prices, contracts, files the pledges), return or decline")
def approval(request, case_no: str, payload: ApprovalIn):
    return case_out(workflow.approve(actor=request.auth, case_no=case_no, decision=payload.decision,
                                     note=payload.note, ltv_override_reason=payload.ltv_override_reason),
                    request.auth)


@router.post("/credit-cases/{case_no}/contract-signature", response=CaseOut, exclude_unset=True, by_alias=True,
             summary="The enterprise signs the approved contract; this confirms its pledge, registered at once")
def sign_contract(request, case_no: str):
    return case_out(workflow.sign_contract(actor=request.auth, case_no=case_no), request.auth)


@router.post("/credit-cases/{case_no}/disbursement", response=CaseOut, exclude_unset=True, by_alias=True,
             summary="Disburse once the pledge is registered")
def disburse(request, case_no: str, payload: DisburseIn):
    workflow.disburse(actor=request.auth, case_no=case_no, schedule=payload.schedule)
    return case_out(workflow.get_case(actor=request.auth, case_no=case_no), request.auth)


@router.get("/credit-plans/{bank_org_id}/{year}", response=PlanOut, summary="A bank's yearly IP-pledge plan and its progress")
def plan(request, bank_org_id: int, year: int):
    bank = Organisation.objects.restrict(request.auth, "view").filter(pk=bank_org_id, kind="bank").first()
    if bank is None:
        raise NotFound(_("No such bank."), code="bank_not_found")
    return workflow.plan_progress(bank, year)


@router.post("/credit-plans", response={201: PlanOut}, summary="Set a bank's dedicated yearly credit plan (approver)")
def set_plan(request, payload: PlanIn):
    plan = workflow.set_plan(actor=request.auth, **payload.dict())
    return 201, workflow.plan_progress(plan.bank, plan.year)


@router.post("/park-credit-lines", response={201: ParkLineOut}, summary="Grant a park intent credit line (approver)")
def grant_line(request, payload: ParkLineIn):
    return 201, workflow.park_line_usage(workflow.grant_park_line(actor=request.auth, **payload.dict()))


@router.post("/subsidy-schemes", response={201: SubsidyOut}, summary="Add an interest-subsidy scheme (operator, regulator)")
def add_subsidy(request, payload: SubsidyIn):
    row = workflow.add_subsidy_scheme(actor=request.auth, **payload.dict())
    return 201, {"id": row.pk, "name": row.name, "kind": row.kind, "value": str(row.value)}


@router.get("/park-credit-lines", response=list[ParkLineOut], summary="Park intent credit lines with utilisation and headroom")
def park_lines(request):
    banks = Organisation.objects.restrict(request.auth, "view").filter(kind="bank")
    lines = list(ParkCreditLine.objects.filter(bank__in=banks).select_related("park", "bank"))
    used = workflow.park_lines_used(lines)
    return [workflow.park_line_usage(line, used.get((line.bank_id, line.park_id), 0)) for line in lines]


@router.post("/loans/{loan_no}/exemption-requests", response={201: ExemptionOut},
             summary="Request due-diligence exemption (尽职免责) for a loss")
def exemption(request, loan_no: str, payload: ExemptionIn):
    row = workflow.request_exemption(actor=request.auth, loan_no=loan_no, statement=payload.statement)
    return 201, {"id": row.pk, "status": row.status, "evidence": row.evidence}


@router.post("/exemption-requests/{request_id}/decision", response=ExemptionDecisionOut,
             summary="Decide an exemption request (reviewer)")
def exemption_decision(request, request_id: int, payload: ExemptionDecisionIn):
    row = workflow.decide_exemption(actor=request.auth, request_id=request_id, grant=payload.grant,
                                    reason=payload.reason)
    return {"id": row.pk, "status": row.status, "reason": row.decision_reason}


@router.post("/investments", response={201: CreatedOut}, summary="Record a partner fund's investment (投贷联动)")
def investment(request, payload: InvestmentIn):
    row = workflow.record_investment(actor=request.auth, enterprise_id=payload.enterprise_id,
                                     fund_name=payload.fund_name, amount=payload.amount, date=payload.date,
                                     stake=payload.stake)
    return 201, {"id": row.pk}
