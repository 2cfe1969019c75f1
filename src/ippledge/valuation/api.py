"""Valuation API: the calculator, valuation records, rosters, realised prices, innovation scores."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.db.models import Prefetch
from django.utils.translation import gettext as _
from ninja import Router, Schema

from ippledge.core.api_schemas import DecimalText, IsoDate, IsoDateTime, Money, OpenSchema
from ippledge.core.errors import NotFound
from ippledge.core.money import from_fen
from ippledge.rights import services as rights_services

from . import services
from .models import AppraisalAgency, Expert, InnovationScore, RosterStatus, ValuationRecord, ValuationRight

router = Router(tags=["valuation"])


class ComputeIn(Schema):
    method: str
    inputs: dict[str, Any]
    options: dict[str, Any] = {}


class ScoreComputeIn(Schema):
    scheme: Literal["tech_sme", "high_tech_ip", "innovative_sme", "zjtx", "composite"]
    inputs: dict[str, Any]


class RightRef(Schema):
    kind: str
    number: str


class ValuationIn(Schema):
    rights: list[RightRef]
    basis: Literal["internal", "external", "negotiated"] = "internal"
    purpose: str = "pledge"
    method: str | None = None
    inputs: dict[str, Any] = {}
    options: dict[str, Any] = {}
    market_value: str | None = None
    p10: str | None = None
    p90: str | None = None
    valuation_date: dt.date | None = None
    validity_months: int = 12
    agency_id: int | None = None
    report_no: str | None = None
    appraisers: list[str] = []
    agreement_rule: str | None = None
    ltv_caps: dict[str, str] | None = None


class RevaluationIn(Schema):
    method: str | None = None
    inputs: dict[str, Any] | None = None
    options: dict[str, Any] | None = None
    market_value: str | None = None
    valuation_date: dt.date | None = None


class AgencyIn(Schema):
    name: str
    licence_no: str
    qualification: str
    organisation_id: int | None = None
    specialities_ipc: list[str] = []
    ip_kinds: list[str] = []
    regions: list[str] = []


class ExpertIn(Schema):
    name: str
    organisation_id: int | None = None
    title: str = ""
    fields_ipc: list[str] = []
    ip_kinds: list[str] = []
    regions: list[str] = []


class StatusIn(Schema):
    status: Literal["admitted", "suspended", "exited"]
    reason: str


class RealisedPriceIn(Schema):
    right: RightRef
    price: str
    date: dt.date
    source: Literal["transfer", "disposal", "licence"]


class EnterpriseScoreIn(Schema):
    enterprise_id: int
    scheme: Literal["tech_sme", "high_tech_ip", "innovative_sme", "zjtx", "composite"]
    inputs: dict[str, Any] = {}


# --- answers ----------------------------------------------------------------------------------

class TraceStepOut(Schema):
    key: str
    en: str
    zh: str
    value: Any = None
    formula: str = ""  # only where the step has one


class ComputeOut(OpenSchema):
    """One method's result: the value, the method's own figures (they differ per method) and the trace."""

    value: Money | None = None
    currency: str = "CNY"
    method: str
    model_version: str
    trace: list[TraceStepOut]


class SchemeScoreOut(OpenSchema):
    """A scheme's score; its parts, eligibility and conditions differ per scheme."""

    scheme: str
    score: int | float | str
    max: int | float | str
    qualified: bool | None = None
    parts: dict[str, Any] = {}


class ValueScoreOut(Schema):
    """The standardised value score of a right; the indicators present depend on the kind of right."""
    kind: str
    number: str
    as_of: IsoDate
    objective: dict[str, Any] = {}  # patents and IC layouts
    degrees: dict[str, Any] = {}
    high_value: list[Any] = []
    trademark: dict[str, Any] = {}  # trademarks
    copyright: dict[str, Any] = {}  # copyrights and software
    score: int | float | str
    split: dict[str, Any] = {}  # with ?industry=
    trace: list[TraceStepOut]


class RightRefOut(Schema):
    kind: str
    number: str


class ValuationOut(Schema):
    valuation_no: str
    subject: str
    purpose: str
    basis: str
    method: str
    status: str
    currency: str
    market_value: Money | None
    p10: Money | None
    p90: Money | None
    liquidation_value: Money | None
    max_loan: Money | None
    valuation_date: IsoDate
    valid_until: IsoDate
    rights: list[RightRefOut]
    agency: str | None
    report_no: str
    appraisers: list[str]
    agreement_rule: str
    bank_signoff: str | None
    enterprise_signoff: str | None
    supersedes: str | None
    superseded_by: str | None
    model_version: str
    seed: int | None
    inputs: dict[str, Any]
    options: dict[str, Any]
    result: dict[str, Any]
    trace: list[TraceStepOut]


class RosterHistoryOut(Schema):
    status: str
    reason: str
    date: IsoDate


class AgencyOut(Schema):
    id: int
    name: str
    licence_no: str
    qualification: str
    specialities_ipc: list[str]
    ip_kinds: list[str]
    regions: list[str]
    status: str
    status_reason: str
    admitted_on: IsoDate


class AccuracyOut(Schema):
    n: int
    mean_pct: float | None = None
    median_pct: float | None = None
    mean_abs_pct: float | None = None


class TrackRecordOut(Schema):
    valuations: int
    vs_realised_price: AccuracyOut
    vs_internal_model: AccuracyOut


class AgencyDetailOut(AgencyOut):
    track_record: TrackRecordOut
    history: list[RosterHistoryOut]


class ExpertOut(Schema):
    id: int
    name: str
    title: str
    organisation: str | None
    fields_ipc: list[str]
    ip_kinds: list[str]
    regions: list[str]
    status: str
    conflict_of_interest: bool


class RealisedPriceOut(Schema):
    id: int
    price: Money | None


class EnterpriseScoreOut(Schema):
    id: int
    enterprise_id: int
    scheme: str
    score: DecimalText
    grade: str
    qualified: bool | None
    computed_at: IsoDateTime
    result: dict[str, Any]
    inputs: dict[str, Any]


def _money(fen: int | None) -> str | None:
    return None if fen is None else str(from_fen(fen))


def valuation_out(v: ValuationRecord) -> dict:
    return {
        "valuation_no": v.valuation_no, "subject": v.subject, "purpose": v.purpose, "basis": v.basis,
        "method": v.method, "status": v.status, "currency": v.currency,
        "market_value": _money(v.market_value), "p10": _money(v.p10), "p90": _money(v.p90),
        "liquidation_value": _money(v.liquidation_value), "max_loan": _money(v.max_loan),
        "valuation_date": v.valuation_date.isoformat(), "valid_until": v.valid_until.isoformat(),
        "rights": [{"kind": link.right.kind, "number": link.right.number} for link in
                   (v.valuation_rights.all() if "valuation_rights" in getattr(v, "_prefetched_objects_cache", {})
                    else v.valuation_rights.select_related("right"))],
        "agency": v.agency.name if v.agency else None, "report_no": v.report_no, "appraisers": v.appraisers,
        "agreement_rule": v.agreement_rule,
        "bank_signoff": v.bank_signoff.username if v.bank_signoff else None,
        "enterprise_signoff": v.enterprise_signoff.username if v.enterprise_signoff else None,
        "supersedes": v.supersedes.valuation_no if v.supersedes else None,
        "superseded_by": getattr(getattr(v, "superseded_by", None), "valuation_no", None),
        "model_version": v.model_version, "seed": v.seed, "inputs": v.inputs, "options": v.options,
        "result": v.result, "trace": v.trace,
    }


@router.post("/valuations/compute", response=ComputeOut, exclude_unset=True, summary="Compute a value with one method; returns the value and its trace")
def compute(request, payload: ComputeIn):
    return services.compute(method=payload.method, inputs=payload.inputs, options=payload.options)


@router.post("/enterprise-scores/compute", response=SchemeScoreOut, exclude_unset=True, summary="Score an enterprise under an official or the composite scheme")
def score_compute(request, payload: ScoreComputeIn):
    from .engine.trace import render

    return render(services.evaluate_scheme(scheme=payload.scheme, inputs=payload.inputs))


@router.get("/ip-rights/{kind}/{number}/value-score", response=ValueScoreOut, exclude_unset=True,
            summary="Standardised value score of a right from the register, and the split rate it implies")
def value_score(request, kind: str, number: str, profile: str = "finance", industry: str | None = None,
                basis: Literal["sales", "profit"] = "sales"):
    return services.score_right(right=rights_services.find_right(kind, number), profile=profile, industry=industry,
                                basis=basis)


@router.post("/valuations", response={201: ValuationOut}, exclude_unset=True, summary="Record a valuation (internal, external or negotiated)")
def create_valuation(request, payload: ValuationIn):
    return 201, valuation_out(services.create_valuation(actor=request.auth, data=payload.dict()))


@router.get("/valuations", response=list[ValuationOut], exclude_unset=True, summary="Valuations visible to you")
def list_valuations(request, kind: str | None = None, number: str | None = None):
    qs = ValuationRecord.objects.restrict(request.auth, "view").distinct().select_related(
        "agency", "bank_signoff", "enterprise_signoff", "supersedes", "superseded_by").prefetch_related(
        Prefetch("valuation_rights", queryset=ValuationRight.objects.select_related("right")))
    if kind and number:
        right = rights_services.find_right(kind, number)
        qs = qs.filter(valuation_rights__right=right)
    return [valuation_out(v) for v in qs[:200]]


@router.get("/valuations/{valuation_no}", response=ValuationOut, exclude_unset=True)
def get_valuation(request, valuation_no: str):
    return valuation_out(services.get_valuation(actor=request.auth, valuation_no=valuation_no))


@router.post("/valuations/{valuation_no}/signoff", response=ValuationOut, exclude_unset=True, summary="Sign a negotiated valuation (bank or enterprise)")
def signoff(request, valuation_no: str):
    return valuation_out(services.sign_off(actor=request.auth, valuation_no=valuation_no))


@router.post("/valuations/{valuation_no}/revaluations", response={201: ValuationOut}, exclude_unset=True, summary="Revalue (new record)")
def revalue(request, valuation_no: str, payload: RevaluationIn):
    data = {k: v for k, v in payload.dict().items() if v is not None}
    return 201, valuation_out(services.revalue(actor=request.auth, valuation_no=valuation_no, data=data))


def agency_out(a: AppraisalAgency, *, detail: bool = False) -> dict:
    out = {"id": a.pk, "name": a.name, "licence_no": a.licence_no, "qualification": a.qualification,
           "specialities_ipc": a.specialities_ipc, "ip_kinds": a.ip_kinds, "regions": a.regions,
           "status": a.status, "status_reason": a.status_reason, "admitted_on": a.admitted_on.isoformat()}
    if detail:
        out["track_record"] = services.agency_track_record(a)
        out["history"] = [{"status": h.status, "reason": h.reason, "date": h.date.isoformat()} for h in a.history.all()]
    return out


@router.get("/appraisal-agencies", response=list[AgencyOut], summary="The appraisal-agency roster")
def agencies(request, status: str | None = None, ipc: str | None = None):
    qs = AppraisalAgency.objects.all()
    if status:
        qs = qs.filter(status=status) if status in RosterStatus.values else qs.none()
    rows = [agency_out(a) for a in qs]
    if ipc:
        rows = [r for r in rows if any(ipc.upper().startswith(f) or f.startswith(ipc.upper())
                                       for f in r["specialities_ipc"])]
    return rows


@router.post("/appraisal-agencies", response={201: AgencyOut}, summary="Admit an agency (operator, regulator)")
def admit_agency(request, payload: AgencyIn):
    return 201, agency_out(services.admit_agency(actor=request.auth, data=payload.dict()))


@router.get("/appraisal-agencies/{agency_id}", response=AgencyDetailOut, exclude_unset=True, summary="An agency with its track record and history")
def agency(request, agency_id: int):
    a = AppraisalAgency.objects.filter(pk=agency_id).first()
    if a is None:
        raise NotFound(_("Not on the roster."), code="roster_member_not_found")
    return agency_out(a, detail=True)


@router.post("/appraisal-agencies/{agency_id}/status", response=AgencyOut, summary="Suspend, re-admit or exit an agency")
def agency_status(request, agency_id: int, payload: StatusIn):
    return agency_out(services.set_roster_status(actor=request.auth, agency_id=agency_id, status=payload.status,
                                                 reason=payload.reason))


def expert_out(e: Expert, conflict: bool = False) -> dict:
    return {"id": e.pk, "name": e.name, "title": e.title, "organisation": e.organisation.name if e.organisation else None,
            "fields_ipc": e.fields_ipc, "ip_kinds": e.ip_kinds, "regions": e.regions, "status": e.status,
            "conflict_of_interest": conflict}


@router.get("/experts", response=list[ExpertOut], summary="Search the expert roster by technical field, flagging conflicts of interest")
def experts(request, field: str = "", party_org_id: int | None = None):
    return [expert_out(row["expert"], row["conflict"])
            for row in services.find_experts(field=field,
                                                      party_org_ids=[party_org_id] if party_org_id else [])]


@router.post("/experts", response={201: ExpertOut}, summary="Add an expert (operator, regulator)")
def add_expert(request, payload: ExpertIn):
    return 201, expert_out(services.add_expert(actor=request.auth, data=payload.dict()))


@router.post("/experts/{expert_id}/status", response=ExpertOut, summary="Suspend, re-admit or exit an expert")
def expert_status(request, expert_id: int, payload: StatusIn):
    return expert_out(services.set_roster_status(actor=request.auth, expert_id=expert_id, status=payload.status,
                                                 reason=payload.reason))


@router.post("/realised-prices", response={201: RealisedPriceOut}, summary="Record a realised price for continuing assessment")
def realised_price(request, payload: RealisedPriceIn):
    right = rights_services.find_right(payload.right.kind, payload.right.number)
    row = services.record_realised_price(actor=request.auth, right=right, price=payload.price, date=payload.date,
                                         source=payload.source)
    return 201, {"id": row.pk, "price": _money(row.price)}


def score_out(s: InnovationScore) -> dict:
    return {"id": s.pk, "enterprise_id": s.enterprise_id, "scheme": s.scheme, "score": str(s.score), "grade": s.grade,
            "qualified": s.qualified, "computed_at": s.computed_at.isoformat(), "result": s.result, "inputs": s.inputs}


@router.post("/enterprise-scores", response={201: EnterpriseScoreOut}, summary="Evaluate an enterprise and keep the result")
def enterprise_score(request, payload: EnterpriseScoreIn):
    return 201, score_out(services.evaluate_enterprise(actor=request.auth, enterprise_id=payload.enterprise_id,
                                                       scheme=payload.scheme, inputs=payload.inputs))


@router.get("/enterprise-scores", response=list[EnterpriseScoreOut], summary="An enterprise's evaluations over time")
def enterprise_scores(request, enterprise_id: int):
    _org, scores = services.scores_for(actor=request.auth, enterprise_id=enterprise_id)
    return [score_out(s) for s in scores]
