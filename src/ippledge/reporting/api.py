"""Reporting API: overall figures, the NPL tolerance test, periodic statistics with exports, the bank
scorecard, registry figures, read-only data-sharing tokens and their pull audit, typical cases."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Router, Schema

from ippledge.core import permissions as perm
from ippledge.core import services as core_services
from ippledge.core.api_schemas import DecimalText, IsoDate, IsoDateTime, Money, OpenSchema
from ippledge.core.errors import PermissionDenied
from ippledge.core.models import AuditEntry
from ippledge.credit.inputs import Day, Decimal_, Flag, Text, Whole

from . import export_views, services, sql
from .engine import rules
from .models import CaseStudy

router = Router(tags=["statistics"])
public_router = Router(tags=["public"])


# Loose field types: the services read every value within the business limits after the permission check,
# so a stranger's malformed body answers 403, not 422.

class OverallIn(Schema):
    bank_org_id: Whole
    period_end: Day
    total_loan_balance: Decimal_
    npl_balance: Decimal_
    inclusive_loan_balance: Decimal_ = None
    inclusive_npl_balance: Decimal_ = None


class CaseIn(Schema):
    loan_no: Text
    title: Text
    body: Text
    consent: Flag


# --- answers ----------------------------------------------------------------------------------

class OverallOut(Schema):
    id: int
    bank_org_id: int
    period_end: IsoDate


class ToleranceOut(Schema):
    bank_org_id: int
    bank: str
    period_end: IsoDate
    segment: str
    ip_npl_ratio: DecimalText | None  # percent
    overall_npl_ratio: DecimalText | None
    gap_pp: DecimalText | None  # percentage points
    points: DecimalText
    within_tolerance: bool | None
    ip_npl_balance: Money
    ip_loan_balance: Money
    overall_npl_balance: Money
    overall_loan_balance: Money


class StatisticsRowOut(OpenSchema):
    """One group's figures.  The group's keys come first, one per ``group_by`` dimension (``ip_kind``,
    ``region``, ...; an organisation dimension as ``bank`` and ``bank_org_id``)."""
    households: int
    loan_count: int
    amount_lent: Money
    balance: Money
    npl_balance: Money
    first_loan_households: int
    first_loan_amount: Money
    inclusive_households: int
    inclusive_amount: Money
    under_10m_share: DecimalText | None
    npl_ratio: DecimalText | None
    yoy_households: DecimalText | None
    yoy_amount: DecimalText | None


class StatisticsOut(Schema):
    period: str
    as_of: IsoDateTime
    period_end: IsoDate
    group_by: list[str]
    rows: list[StatisticsRowOut]


class LoanBehindOut(Schema):
    loan_no: str
    bank: str
    branch: str | None
    ip_kind: str
    region: str | None
    amount: Money
    start_date: IsoDate
    balance: Money
    category: str
    lent_in_year: bool


class LoansBehindOut(Schema):
    period: str
    period_end: IsoDate
    filters: dict[str, Any]
    count: int
    loans: list[LoanBehindOut]


class ScorecardRowOut(OpenSchema):
    """A bank's inputs (amounts in fen), its score per component and its rank."""
    bank_org_id: int
    bank: str
    plan_households: int | None
    households: int
    plan_amount: int | None
    amount_lent: int
    first_loan_households: int
    households_total: int
    inclusive_amount: int
    amount_total: int
    npl_gap_pp: DecimalText | None
    median_registration_seconds: float | None
    scores: dict[str, DecimalText | None]
    total: DecimalText
    rank: int


class RegimeFiguresOut(Schema):
    registrations: int
    secured_amount: Money


class RegistryFiguresOut(Schema):
    period: str
    by_regime: dict[str, RegimeFiguresOut]
    enterprises_served: int


class SharingTokenOut(Schema):
    access_token: str
    token_type: str
    read_only: bool
    scope: str
    expires_in: int


class PullOut(Schema):
    at: IsoDateTime
    user: str
    organisation: str | None
    report: str
    params: Any
    via: str


class CaseDisposalOut(Schema):
    """A closed disposal of the case's loan, anonymised (issue 14 point 7)."""

    channel: str
    settled_month: str  # YYYY-MM
    proceeds_band: str
    realised_to_appraised: DecimalText | None  # proceeds ÷ liquidation value, two places
    recovery_share: DecimalText | None  # share of the claim recovered, two places
    rights_transferred: bool


class CaseFactsOut(OpenSchema):
    """A typical case's anonymised facts; a case published before a fact existed simply lacks it (and a
    fact added later passes through)."""

    region: str | None = None
    industry: str | None = None
    size: str | None = None
    ip_kind: str | None = None
    amount_band: str | None = None
    term_days: int | None = None
    first_loan: bool | None = None
    bank: str | None = None
    disposals: list[CaseDisposalOut] = []


class PublishedCaseOut(Schema):
    id: int
    title: str
    facts: CaseFactsOut


class CaseStudyOut(Schema):
    id: int
    title: str
    body: str
    facts: CaseFactsOut
    published_at: IsoDateTime


class PublicRowOut(Schema):
    ip_kind: str
    households: int
    loan_count: int
    amount_lent: Money
    balance: Money
    yoy_households: DecimalText | None
    yoy_amount: DecimalText | None


class PublicStatisticsOut(Schema):
    period: str
    rows: list[PublicRowOut]
    registry: RegistryFiguresOut


def _file(content_type: str, description: str) -> dict:
    return {"responses": {200: {"description": description,
                                  "content": {content_type: {"schema": {"type": "string", "format": "binary"}}}}}}


@router.post("/reports/bank-overall", response={201: OverallOut}, summary="Submit a bank's overall loan and NPL balances")
def overall(request, payload: OverallIn):
    row = services.submit_overall(actor=request.auth, **payload.dict())
    return 201, {"id": row.pk, "bank_org_id": row.bank_id, "period_end": row.period_end.isoformat()}


@router.get("/reports/npl-tolerance", response=ToleranceOut,
            summary="IP-pledge NPL ratio against the overall ratio (3-point tolerance)")
def npl_tolerance(request, bank_org_id: int, period_end: dt.date, segment: Literal["all", "inclusive"] = "all"):
    return services.tolerance(actor=request.auth, bank_org_id=bank_org_id, period_end=period_end, segment=segment)


def _statistics(request, period: str, group_by: str, bank_org_id: int | None) -> tuple[dict, tuple, services.Scope]:
    scope = services.scope_for(request.auth, bank_org_id)
    dims = scope.dimensions(services.group_by(group_by))
    data = sql.report_sql(period=period, group_by=dims, bank_ids=scope.bank_ids)
    services.pulled(request.auth, "ip-pledge-loans", {"period": period, "group_by": dims, "bank": bank_org_id})
    return data, dims, scope


@router.get("/reports/ip-pledge-loans", response=StatisticsOut,
            summary="Periodic IP-pledge loan statistics (period 2026Q3, 2026-09 or 2026)")
def ip_pledge_loans(request, period: str, group_by: str = "", bank_org_id: int | None = None):
    from django.utils import timezone

    data, _dims, _scope = _statistics(request, period, group_by, bank_org_id)
    return {"period": data["period"], "as_of": timezone.now().isoformat(), "period_end": data["period_end"],
            "group_by": data["group_by"], "rows": data["rows"]}


@router.get("/reports/ip-pledge-loans/loans", response=LoansBehindOut,
            summary="The loans behind a figure (same period, scope and group keys)")
def loans_behind(request, period: str, bank_org_id: int | None = None, bank: str = "", branch: str = "",
                 region: str = "", city: str = "", park: str = "", ip_kind: str = "", size: str = "",
                 first_loan: str = "", inclusive: str = "", risk_scheme: str = "", risk_covered: str = ""):
    scope = services.scope_for(request.auth, bank_org_id, own_book=True)  # a bank traces only its own loans
    filters = services.drill_filters({"bank": bank, "branch": branch, "region": region, "city": city, "park": park,
                                      "ip_kind": ip_kind, "size": size, "first_loan": first_loan,
                                      "inclusive": inclusive, "risk_scheme": risk_scheme,
                                      "risk_covered": risk_covered})
    data = sql.loans_behind_sql(period=period, filters=filters, bank_ids=scope.bank_ids)
    services.pulled(request.auth, "ip-pledge-loans/loans", {"period": data["period"], **data["filters"]})
    return data


@router.get("/reports/ip-pledge-loans.xlsx",
            openapi_extra=_file("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                                "The workbook (one sheet per breakdown)"),
            summary="The statistics as an Excel workbook (万元, sheet per breakdown)")
def ip_pledge_loans_xlsx(request, period: str, bank_org_id: int | None = None):
    scope = services.scope_for(request.auth, bank_org_id)
    label = rules.parse_period(period).label  # also keeps the file name free of what the caller typed
    body = export_views.workbook_for(period=label, scope=scope, title=f"知识产权质押贷款统计 {label}")
    services.pulled(request.auth, "ip-pledge-loans.xlsx", {"period": label, "bank": bank_org_id})
    return HttpResponse(body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="ip-pledge-loans-{label}.xlsx"'})


@router.get("/reports/ip-pledge-loans.csv", openapi_extra=_file("text/csv", "The statistics, UTF-8 CSV"),
            summary="The statistics as CSV (UTF-8, 万元)")
def ip_pledge_loans_csv(request, period: str, group_by: str = "", bank_org_id: int | None = None):
    data, dims, _scope = _statistics(request, period, group_by, bank_org_id)
    body = export_views.csv_for(data=data, group_by=dims)
    return HttpResponse(body, content_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="ip-pledge-loans-{data["period"]}.csv"'})


@router.get("/reports/scorecard", response=list[ScorecardRowOut],
            summary="Bank evaluation scorecard with adjustable weights (regulators)")
def scorecard(request, period: str, weights: str = ""):
    return services.scorecard(actor=request.auth, period=period, weights=weights)


@router.get("/reports/registry", response=RegistryFiguresOut,
            summary="Registry-side figures: registrations, secured amounts, enterprises")
def registry_figures(request, period: str):
    perm.require_user(request.auth)
    data = services.registry_figures(period)
    services.pulled(request.auth, "registry", {"period": data["period"]})
    return data


@router.post("/reports/sharing-token", response={201: SharingTokenOut},
             summary="A read-only, statistics-only API token for inter-agency data sharing (regulators, IP "
                     "offices); it expires, and GET/DELETE /auth/tokens list and revoke it")
def sharing_token(request):
    if not services.reads_all(request.auth) or services.own_bank(request.auth) is not None:
        raise PermissionDenied(_("Data-sharing tokens are for regulators and IP offices."))
    lifetime = core_services.token_lifetime("statistics")
    raw = core_services.issue_token(user=request.auth, name="data-sharing", read_only=True, scope="statistics",
                                    lifetime=lifetime)
    return 201, {"access_token": raw, "token_type": "bearer", "read_only": True, "scope": "statistics",
                 "expires_in": int(lifetime.total_seconds())}


@router.get("/reports/pulls", response=list[PullOut], summary="Who pulled which statistics (regulators)")
def pulls(request, limit: int = 200):
    perm.require_role(request.auth, perm.REGULATORS, _("Only regulators see the data-sharing audit."))
    rows = AuditEntry.objects.filter(action="report.pull").select_related("organisation")[: max(1, min(limit, 1000))]
    return [{"at": r.at.isoformat(), "user": r.actor_username, "organisation": r.organisation.name if r.organisation
             else None, "report": r.object_id, "params": r.after, "via": r.via} for r in rows]


@router.post("/case-studies", response={201: PublishedCaseOut}, summary="Publish an anonymised typical case (regulators)")
def publish_case(request, payload: CaseIn):
    row = services.publish_case(actor=request.auth, loan_no=payload.loan_no, title=payload.title, body=payload.body,
                                consent=payload.consent)
    return 201, {"id": row.pk, "title": row.title, "facts": row.facts}


@public_router.get("/case-studies", auth=None, response=list[CaseStudyOut], summary="Typical cases (anonymised)")
def case_studies(request):
    return [{"id": c.pk, "title": c.title, "body": c.body, "facts": c.facts,
             "published_at": c.published_at.isoformat()} for c in CaseStudy.objects.all()[:100]]


@public_router.get("/statistics", auth=None, response=PublicStatisticsOut,
                   summary="Public aggregate statistics (no bank or borrower detail)")
def public_statistics(request, period: str):
    data = sql.report_sql(period=period, group_by=("ip_kind",))
    keep = ("ip_kind", "households", "loan_count", "amount_lent", "balance", "yoy_households", "yoy_amount")
    return {"period": data["period"], "rows": [{k: r[k] for k in keep} for r in data["rows"]],
            "registry": services.registry_figures(period)}
