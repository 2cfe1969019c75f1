"""Valuation pages: the calculator (a form per method), valuation results and their PDF report, the
work lists of valuations, agencies and experts, the agency roster with its track record, and
enterprise innovation scores.  Thin: forms read what a person typed, services decide."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ippledge.core import vocabulary
from ippledge.core.audit import current_channel
from ippledge.core.errors import DomainError
from ippledge.core.identifiers import PATENT_KINDS, format_patent_number
from ippledge.core.listing import Column, Filter, Listing

from . import charts, forms, labels, report, services
from .api import agency_out, valuation_out
from .examples import METHOD_LABELS
from .models import AppraisalAgency, Basis, ValuationRecord

QUANTILES = ("p5", "p10", "p50", "p90")
SCORED_BY_DEGREES = ("invention", "utility_model", "design", "ic_layout")  # the patent value degree (scoring §1)
# Methods grouped as the calculator's menu shows them.
METHOD_GROUPS = (
    (gettext_lazy("Income approach"), ("income", "relief_from_royalty", "excess_return", "incremental_income",
                                       "mpeem")),
    (gettext_lazy("Range and bundles"), ("monte_carlo_income", "bundle")),
    (gettext_lazy("Market and cost approaches"), ("market", "cost")),
    (gettext_lazy("Rates"), ("equivalent_investment_split", "discount_build_up", "value_score")),
    (gettext_lazy("Information only"), ("black_scholes", "binomial")),
)


VALUE_SCORE_LABEL = gettext_lazy("Indicator scoring of a right (value score and split rate)")


def _number(kind: str, number: str) -> str:
    return format_patent_number(number) if kind in PATENT_KINDS else number


def headline(result: dict) -> dict | None:
    """The one figure a method gives: an amount (yuan) or a rate (per cent)."""
    for key, unit in (("p50", "yuan"), ("value", "yuan"), ("price", "yuan"), ("split_rate", "%"),
                      ("discount_rate", "%")):
        if result.get(key) is not None:
            value = Decimal(str(result[key]))
            return {"key": key, "yuan": value if unit == "yuan" else None,
                    "percent": (value * 100).quantize(Decimal("0.0001")).normalize() if unit == "%" else None}
    return None


def _points(result: dict) -> list[tuple[str, Decimal]]:
    return [(k.upper(), Decimal(str(result[k]))) for k in QUANTILES if result.get(k) is not None]


@login_required
def calculator(request):
    method = request.POST.get("method") or request.GET.get("method") or "income"
    if method not in forms.FORMS:
        method = "income"
    posted = request.method == "POST"
    saving = posted and (bool(request.POST.get("save")) or method == "bundle")
    form = forms.FORMS[method](request.POST) if posted else forms.form_for(method)
    extra = forms.SaveForm(request.POST if posted else None, require_rights=saving and method != "bundle")
    result = None
    if posted and form.is_valid() & extra.is_valid():
        inputs = form.to_inputs()
        options = {"factor_mode": extra.cleaned_data.get("factor_mode") or "exact"} if form.discounts else {}
        try:
            if saving:
                current_channel.set("web")
                rights = form.cleaned_data["rights_inputs"] if method == "bundle" else extra.cleaned_data["rights"]
                record = services.create_valuation(actor=request.user, data={
                    "rights": [{"kind": r["kind"], "number": r["number"]} for r in rights], "method": method,
                    "inputs": inputs, "options": options})
                return redirect("valuation:record", valuation_no=record.valuation_no)
            result = services.compute(method=method, inputs=inputs, options=options)
        except DomainError as exc:
            forms.apply_domain_error(form, exc, {"rights": "rights_inputs"} if method == "bundle" else None)
            if method != "bundle" and any(k == "rights" or k.startswith("rights[") for k in exc.fields or {}):
                forms.apply_domain_error(extra, exc)
    failed = posted and result is None
    context = {"method": method, "method_label": METHOD_LABELS[method], "form": form, "extra": extra,
               "groups": [(title, [(m, METHOD_LABELS.get(m) or VALUE_SCORE_LABEL) for m in methods])
                          for title, methods in METHOD_GROUPS],
               "information_only": method in ("black_scholes", "binomial"), "always_saved": method == "bundle"}
    if result:
        points = _points(result)
        context.update(result=result, headline=headline(result), points=points,
                       chart=charts.range_chart(points) if "p50" in result else "",
                       steps=labels.trace_rows(result.get("trace")))
    return render(request, "valuation/calculator.html", context, status=400 if failed else 200)


def _degree_rows(degrees: dict) -> list[dict]:
    """The value degrees of a patent's score, each with its indicators, labelled."""
    rows = []
    for key in ("LVD", "TVD", "EVD"):
        degree = degrees.get(key) or {}
        rows.append({"label": vocabulary.label("value_degree", key), "score": degree.get("score"),
                     "weight": degree.get("weight"),
                     "indicators": [{"label": vocabulary.label("value_indicator", name), "score": part.get("score"),
                                     "weight": part.get("weight"), "contribution": part.get("contribution"),
                                     "defaulted": part.get("defaulted")}
                                    for name, part in (degree.get("contributions") or {}).items()]})
    return rows


@login_required
def value_score(request):
    """Indicator scoring (指标评分): a right's standardised value score and the split rate it implies."""
    from ippledge.rights import services as rights_services

    form = forms.ValueScoreForm(request.GET or None)
    result = None
    if request.GET and form.is_valid():
        ref = form.cleaned_data["right"]
        try:
            right = rights_services.find_right(ref["kind"], ref["number"])
            result = services.score_right(right=right, profile=form.cleaned_data["profile"],
                                          industry=form.cleaned_data["industry"] or None,
                                          basis=form.cleaned_data["basis"],
                                          subjective=form.levels() if right.kind in SCORED_BY_DEGREES else None)
        except DomainError as exc:
            forms.apply_domain_error(form, exc)
    context = {"form": form, "result": result}
    if result:
        split = result.get("split") or {}
        high = result.get("high_value")
        context.update(
            degrees=_degree_rows(result.get("degrees") or {}), steps=labels.trace_rows(result.get("trace")),
            split_pct=(Decimal(str(split["rate"])) * 100).quantize(Decimal("0.0001")).normalize()
            if split.get("rate") else None,
            band=[(Decimal(str(split[k])) * 100).normalize() for k in ("low", "high")] if split.get("rate") else None,
            high_value=high[0] if high else None,
            high_reasons=[vocabulary.label("high_value_reason", r) for r in (high[1] if high else [])])
    return render(request, "valuation/score.html", context, status=400 if request.GET and not result else 200)


def _record_listing(request, rows) -> Listing:
    return Listing(
        request, rows.prefetch_related("valuation_rights__right").select_related("agency"), name="valuations",
        columns=[
            Column("valuation_no", _("Valuation number"), sort="valuation_no",
                   link=lambda v: reverse("valuation:record", args=[v.valuation_no])),
            Column("rights", _("Rights"), lambda v: "、".join(_number(link.right.kind, link.right.number)
                                                              for link in v.valuation_rights.all())),
            Column("basis", _("Basis"), kind="label:valuation.ValuationRecord.basis", sort="basis"),
            Column("method", _("Method"), kind="label:valuation_method", sort="method"),
            Column("market_value", _("Market value (yuan)"), kind="fen", sort="market_value"),
            Column("max_loan", _("Maximum loan (yuan)"), kind="fen", sort="max_loan"),
            Column("valuation_date", _("Valuation date"), kind="date", sort="valuation_date"),
            Column("valid_until", _("Valid until"), kind="date", sort="valid_until"),
            Column("status", _("Status"), kind="label:valuation.ValuationRecord.status", sort="status"),
        ],
        filters=[Filter("q", _("Number or right"), ("valuation_no", "valuation_rights__right__number"), kind="search"),
                 Filter("basis", _("Basis"), "basis", vocabulary="valuation.ValuationRecord.basis"),
                 Filter("status", _("Status"), "status", vocabulary="valuation.ValuationRecord.status"),
                 Filter("from", _("Valued from"), "valuation_date__gte", kind="date_from"),
                 Filter("to", _("Valued until"), "valuation_date__lte", kind="date_to")],
        default_sort="-valuation_date")


@login_required
def records(request):
    listing = _record_listing(request, ValuationRecord.objects.restrict(request.user, "view").distinct())
    if (response := listing.export_response()) is not None:
        return response
    return render(request, "valuation/records.html", {"listing": listing})


def record_context(record: ValuationRecord) -> dict:
    """What the result page and the PDF report show of one valuation, labelled and formatted."""
    v = valuation_out(record)
    result = v["result"] or {}
    lender = result.get("lender") or {}
    points = _points(result)
    if not points:
        points = [(label, Decimal(value)) for label, value in
                  (("P10", v["p10"]), (_("Value"), v["market_value"]), ("P90", v["p90"])) if value]
    steps = labels.trace_rows(v["trace"])
    rate = lender.get("pledge_rate", lender.get("implied_pledge_rate"))
    history, cursor = [], record
    while cursor is not None:
        history.append(cursor)
        cursor = cursor.supersedes
    return {
        "record": record, "v": v, "points": points, "lender": lender,
        "pledge_rate_pct": (Decimal(str(rate)) * 100).quantize(Decimal("0.01")) if rate not in (None, "") else None,
        "ltv_cap_pct": (Decimal(str(lender["ltv_cap"])) * 100).quantize(Decimal("0.01"))
        if lender.get("ltv_cap") not in (None, "") else None,
        "discount_pct": (Decimal(str(lender["forced_sale_discount"])) * 100).quantize(Decimal("0.01"))
        if lender.get("forced_sale_discount") not in (None, "") else None,
        "binding": vocabulary.label("lender_binding", lender.get("binding")) if lender.get("binding") else "",
        "method_label": vocabulary.label("valuation_method", record.method) if record.method else "",
        "inputs": [s for s in steps if s["input"]], "steps": [s for s in steps if not s["input"]],
        "rights": [{"kind": link.right.kind, "number": link.right.number, "shown": _number(link.right.kind,
                                                                                             link.right.number),
                    "title": getattr(link.right, "display_title", "") or "",
                    "allocated": link.allocated_value}
                   for link in record.valuation_rights.select_related("right")],
        "history": history, "negotiated": record.basis == Basis.NEGOTIATED,
    }


@login_required
def record_detail(request, valuation_no: str):
    try:
        record = services.get_valuation(actor=request.user, valuation_no=valuation_no)
    except DomainError:
        return render(request, "errors/404.html", status=404)
    error = None
    if request.method == "POST" and request.POST.get("action") == "signoff":
        current_channel.set("web")
        try:
            services.sign_off(actor=request.user, valuation_no=valuation_no)
            return redirect("valuation:record", valuation_no=valuation_no)
        except DomainError as exc:
            error = exc
    context = record_context(record)
    context.update(error=error, chart=charts.range_chart(context["points"]))
    return render(request, "valuation/record.html", context, status=400 if error else 200)


@login_required
def record_pdf(request, valuation_no: str):
    try:
        record = services.get_valuation(actor=request.user, valuation_no=valuation_no)
    except DomainError:
        return render(request, "errors/404.html", status=404)
    body = report.valuation_report_pdf(record_context(record), request=request)
    response = HttpResponse(body, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{record.valuation_no}.pdf"'
    return response


@login_required
def record_new(request):
    """A valuation made elsewhere: an agency's appraisal report, or a value agreed with the enterprise."""
    form = forms.RecordedValuationForm(request.POST or None,
                                       initial={"basis": request.GET.get("basis", "negotiated")})
    if request.method == "POST" and form.is_valid():
        current_channel.set("web")
        try:
            record = services.create_valuation(actor=request.user, data=form.to_data())
            return redirect("valuation:record", valuation_no=record.valuation_no)
        except DomainError as exc:
            forms.apply_domain_error(form, exc, {"agency_id": "agency"})
    return render(request, "valuation/record_new.html", {"form": form},
                  status=400 if request.method == "POST" else 200)


def _agency_listing(request, rows) -> Listing:
    return Listing(
        request, rows.annotate(valuation_count=Count("valuations")), name="agencies",
        columns=[
            Column("name", _("Name"), sort="name", link=lambda a: reverse("valuation:agency", args=[a.pk])),
            Column("licence_no", _("Licence number"), sort="licence_no"),
            Column("specialities_ipc", _("Fields (IPC)"), lambda a: ", ".join(a.specialities_ipc)),
            Column("ip_kinds", _("IP kinds"), lambda a: "、".join(vocabulary.label("ip_kind", k)
                                                                 for k in a.ip_kinds)),
            Column("valuation_count", _("Valuations"), kind="number", sort="valuation_count"),
            Column("admitted_on", _("Admitted on"), kind="date", sort="admitted_on"),
            Column("status", _("Status"), kind="label:valuation.AppraisalAgency.status", sort="status"),
        ],
        filters=[Filter("q", _("Name or licence"), ("name", "licence_no"), kind="search"),
                 Filter("status", _("Status"), "status", vocabulary="valuation.AppraisalAgency.status")],
        default_sort="name")


def _manages_roster(user) -> bool:
    return getattr(user, "is_authenticated", False) and (user.is_platform_admin or
                                                         user.has_role(*services.ROSTER_MANAGERS))


def _unrostered():
    """Appraisal agencies registered on the platform that the roster does not hold yet."""
    from ippledge.core.models import Organisation

    return Organisation.objects.filter(kind="appraisal_agency").exclude(
        pk__in=AppraisalAgency.objects.exclude(organisation=None).values("organisation_id")).order_by("name")


def agencies(request):
    user = request.user
    admit = None
    if _manages_roster(user):
        admit = forms.AgencyAdmitForm(request.POST or None, organisations=_unrostered(), prefix="admit")
        if request.method == "POST" and admit.is_valid():
            current_channel.set("web")
            try:
                agency = services.admit_agency(actor=user, data=admit.to_data())
                return redirect("valuation:agency", agency_id=agency.pk)
            except DomainError as exc:
                forms.apply_domain_error(admit, exc)
    elif request.method == "POST":
        return render(request, "errors/403.html", status=403)
    listing = _agency_listing(request, AppraisalAgency.objects.all())
    if (response := listing.export_response()) is not None:
        return response
    own = None
    if getattr(user, "is_authenticated", False) and getattr(user, "organisation", None) is not None \
            and user.organisation.kind == "appraisal_agency":
        own = AppraisalAgency.objects.filter(organisation=user.organisation).first() or False
    return render(request, "valuation/agencies.html", {
        "listing": listing, "own": own, "admit": admit, "unrostered": list(_unrostered()) if admit else []},
        status=400 if request.method == "POST" else 200)


def _agency_valuations(request, agency: AppraisalAgency) -> Listing | None:
    """The agency's valuations as the reader may see them (its own appraisers see all of them)."""
    if not getattr(request.user, "is_authenticated", False):
        return None
    rows = ValuationRecord.objects.restrict(request.user, "view").filter(agency=agency).distinct()
    return _record_listing(request, rows)


def agency_detail(request, agency_id: int):
    agency = AppraisalAgency.objects.filter(pk=agency_id).first()
    if agency is None:
        return render(request, "errors/404.html", status=404)
    status_form = None
    if _manages_roster(request.user) and agency.status != "exited":
        status_form = forms.RosterStatusForm(request.POST or None, prefix="status")
        if request.method == "POST" and status_form.is_valid():
            current_channel.set("web")
            try:
                services.set_roster_status(actor=request.user, agency_id=agency.pk,
                                           status=status_form.cleaned_data["status"],
                                           reason=status_form.cleaned_data["reason"])
                return redirect("valuation:agency", agency_id=agency.pk)
            except DomainError as exc:
                forms.apply_domain_error(status_form, exc)
    elif request.method == "POST":
        return render(request, "errors/403.html", status=403)
    listing = _agency_valuations(request, agency)
    if listing is not None and (response := listing.export_response()) is not None:
        return response
    a = agency_out(agency, detail=True)
    return render(request, "valuation/agency.html", {
        "agency": agency, "a": a, "listing": listing, "status_form": status_form,
        "ip_kinds": [vocabulary.label("ip_kind", k) for k in agency.ip_kinds],
        "history": list(agency.history.select_related("actor"))}, status=400 if request.method == "POST" else 200)


def experts(request):
    field = request.GET.get("field", "")[:20]
    party = request.GET.get("party_org_id", "")
    rows = services.find_experts(field=field, party_org_ids=[int(party)] if party.isdigit() else [])
    listing = Listing(
        request, rows, name="experts",
        columns=[
            Column("name", _("Name"), "expert.name", sort=True),
            Column("title", _("Title"), "expert.title", sort=True),
            Column("organisation", _("Organisation"), lambda r: r["expert"].organisation.name
                   if r["expert"].organisation else "—", sort=True),
            Column("fields", _("Fields (IPC)"), lambda r: ", ".join(r["expert"].fields_ipc)),
            Column("regions", _("Regions"), lambda r: "、".join(_region(c) for c in r["expert"].regions)),
            Column("conflict", _("Same organisation as a party"), "conflict", kind="bool", sort=True),
        ],
        filters=[Filter("q", _("Name or organisation"), ("expert.name", "expert.organisation.name"), kind="search")],
        default_sort="name")
    if (response := listing.export_response()) is not None:
        return response
    return render(request, "valuation/experts.html", {"listing": listing, "field": field})


def _region(code: str) -> str:
    from ippledge.core.regions import region_name

    return region_name(str(code))


def _radar_parts(result: dict) -> list[tuple[str, float, float]]:
    out = []
    for key, part in (result.get("parts") or {}).items():
        if not isinstance(part, dict):
            continue
        score = part.get("points", part.get("score"))
        maximum = part.get("max", part.get("maximum", part.get("weight")))
        label = labels.bilingual(str(part.get("label") or key), str(part.get("label_zh") or part.get("label") or key))
        try:
            out.append((label, float(score), float(maximum)))
        except (TypeError, ValueError):
            continue
    return out


def _parts_table(result: dict) -> list[dict]:
    rows = []
    for key, part in (result.get("parts") or {}).items():
        if isinstance(part, dict):
            rows.append({"label": labels.bilingual(str(part.get("label") or key),
                                                   str(part.get("label_zh") or part.get("label") or key)),
                         "points": part.get("points", part.get("score")),
                         "max": part.get("max", part.get("maximum", part.get("weight")))})
    return rows


@login_required
def enterprise_scores(request, org_id: int):
    try:  # the API's scope: an enterprise the user may not read is not found, here as there
        org, history = services.scores_for(actor=request.user, enterprise_id=org_id, limit=50)
    except DomainError:
        return render(request, "errors/404.html", status=404)
    form = forms.EnterpriseScoreForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        current_channel.set("web")
        try:
            services.evaluate_enterprise(actor=request.user, enterprise_id=org.pk,
                                         scheme=form.cleaned_data["scheme"], inputs=form.to_inputs())
            return redirect("valuation:enterprise", org_id=org.pk)
        except DomainError as exc:
            forms.apply_domain_error(form, exc)
    latest = next((s for s in history if s.scheme == "composite"), history[0] if history else None)
    parts = _radar_parts(latest.result) if latest else []
    from ippledge.core import business_date

    factors = [{"label": labels.bilingual(str(f.get("factor", "")), str(f.get("zh") or f.get("factor", ""))),
                "points": f.get("points")} for f in ((latest.result or {}).get("top_factors") or [] if latest else [])]
    return render(request, "valuation/enterprise.html", {
        "org": org, "history": history, "latest": latest, "radar": charts.radar_chart(parts),
        "parts": _parts_table(latest.result) if latest else [], "top_factors": factors, "form": form,
        "facts": services.register_facts(org, business_date.today())},
        status=400 if request.method == "POST" else 200)

