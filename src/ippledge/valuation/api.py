"""Valuation API: the calculator, valuation records, rosters, realised prices, innovation scores."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.db.models import Prefetch
from django.utils.translation import gettext as _
from ninja import Router, Schema

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


@router.post("/valuations/compute", summary="Compute a value with one method; returns the value and its trace")
def compute(request, payload: ComputeIn):
    return services.compute(method=payload.method, inputs=payload.inputs, options=payload.options)


@router.post("/enterprise-scores/compute", summary="Score an enterprise under an official or the composite scheme")
def score_compute(request, payload: ScoreComputeIn):
    from .engine.trace import render

    return render(services.evaluate_scheme(scheme=payload.scheme, inputs=payload.inputs))


@router.get("/ip-rights/{kind}/{number}/value-score",
            summary="Standardised value score of a right from the register, and the split rate it implies")
def value_score(request, kind: str, number: str, profile: str = "finance", industry: str | None = None,
                basis: Literal["sales", "profit"] = "sales"):
    return services.score_right(right=rights_services.find_right(kind, number), profile=profile, industry=industry,
                                basis=basis)


@router.post("/valuations", response={201: dict}, summary="Record a valuation (internal, external or negotiated)")
def create_valuation(request, payload: ValuationIn):
    return 201, valuation_out(services.create_valuation(actor=request.auth, data=payload.dict()))


@router.get("/valuations", summary="Valuations visible to you")
def list_valuations(request, kind: str | None = None, number: str | None = None):
    qs = ValuationRecord.objects.restrict(request.auth, "view").distinct().select_related(
        "agency", "bank_signoff", "enterprise_signoff", "supersedes", "superseded_by").prefetch_related(
        Prefetch("valuation_rights", queryset=ValuationRight.objects.select_related("right")))
    if kind and number:
        right = rights_services.find_right(kind, number)
        qs = qs.filter(valuation_rights__right=right)
    return [valuation_out(v) for v in qs[:200]]


@router.get("/valuations/{valuation_no}")
def get_valuation(request, valuation_no: str):
    return valuation_out(services.get_valuation(actor=request.auth, valuation_no=valuation_no))


@router.post("/valuations/{valuation_no}/signoff", summary="Sign a negotiated valuation (bank or enterprise)")
def signoff(request, valuation_no: str):
    return valuation_out(services.sign_off(actor=request.auth, valuation_no=valuation_no))


@router.post("/valuations/{valuation_no}/revaluations", response={201: dict}, summary="Revalue (new record)")
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


@router.get("/appraisal-agencies", summary="The appraisal-agency roster")
def agencies(request, status: str | None = None, ipc: str | None = None):
    qs = AppraisalAgency.objects.all()
    if status:
        qs = qs.filter(status=status) if status in RosterStatus.values else qs.none()
    rows = [agency_out(a) for a in qs]
    if ipc:
        rows = [r for r in rows if any(ipc.upper().startswith(f) or f.startswith(ipc.upper())
                                       for f in r["specialities_ipc"])]
    return rows


@router.post("/appraisal-agencies", response={201: dict}, summary="Admit an agency (operator, regulator)")
def admit_agency(request, payload: AgencyIn):
    return 201, agency_out(services.admit_agency(actor=request.auth, data=payload.dict()))


@router.get("/appraisal-agencies/{agency_id}", summary="An agency with its track record and history")
def agency(request, agency_id: int):
    a = AppraisalAgency.objects.filter(pk=agency_id).first()
    if a is None:
        raise NotFound(_("Not on the roster."), code="roster_member_not_found")
    return agency_out(a, detail=True)


@router.post("/appraisal-agencies/{agency_id}/status", summary="Suspend, re-admit or exit an agency")
def agency_status(request, agency_id: int, payload: StatusIn):
    return agency_out(services.set_roster_status(actor=request.auth, agency_id=agency_id, status=payload.status,
                                                 reason=payload.reason))


def expert_out(e: Expert, conflict: bool = False) -> dict:
    return {"id": e.pk, "name": e.name, "title": e.title, "organisation": e.organisation.name if e.organisation else None,
            "fields_ipc": e.fields_ipc, "ip_kinds": e.ip_kinds, "regions": e.regions, "status": e.status,
            "conflict_of_interest": conflict}


@router.get("/experts", summary="Search the expert roster by technical field, flagging conflicts of interest")
def experts(request, field: str = "", party_org_id: int | None = None):
    return [expert_out(row["expert"], row["conflict"])
            for row in services.find_experts(field=field,
                                                      party_org_ids=[party_org_id] if party_org_id else [])]


@router.post("/experts", response={201: dict}, summary="Add an expert (operator, regulator)")
def add_expert(request, payload: ExpertIn):
    return 201, expert_out(services.add_expert(actor=request.auth, data=payload.dict()))


@router.post("/experts/{expert_id}/status", summary="Suspend, re-admit or exit an expert")
def expert_status(request, expert_id: int, payload: StatusIn):
    return expert_out(services.set_roster_status(actor=request.auth, expert_id=expert_id, status=payload.status,
                                                 reason=payload.reason))


@router.post("/realised-prices", response={201: dict}, summary="Record a realised price for continuing assessment")
def realised_price(request, payload: RealisedPriceIn):
    right = rights_services.find_right(payload.right.kind, payload.right.number)
    row = services.record_realised_price(actor=request.auth, right=right, price=payload.price, date=payload.date,
                                         source=payload.source)
    return 201, {"id": row.pk, "price": _money(row.price)}


def score_out(s: InnovationScore) -> dict:
    return {"id": s.pk, "enterprise_id": s.enterprise_id, "scheme": s.scheme, "score": str(s.score), "grade": s.grade,
            "qualified": s.qualified, "computed_at": s.computed_at.isoformat(), "result": s.result, "inputs": s.inputs}


@router.post("/enterprise-scores", response={201: dict}, summary="Evaluate an enterprise and keep the result")
def enterprise_score(request, payload: EnterpriseScoreIn):
    return 201, score_out(services.evaluate_enterprise(actor=request.auth, enterprise_id=payload.enterprise_id,
                                                       scheme=payload.scheme, inputs=payload.inputs))


@router.get("/enterprise-scores", summary="An enterprise's evaluations over time")
def enterprise_scores(request, enterprise_id: int):
    _org, scores = services.scores_for(actor=request.auth, enterprise_id=enterprise_id)
    return [score_out(s) for s in scores]
