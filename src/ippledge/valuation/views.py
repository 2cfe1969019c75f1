"""Valuation pages: the calculator, valuation records, rosters, enterprise innovation scores."""

from __future__ import annotations

import json
from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from ippledge.core.audit import current_channel
from ippledge.core.errors import DomainError

from . import charts, services
from .api import agency_out, valuation_out
from .examples import EXAMPLES, METHOD_LABELS
from .models import AppraisalAgency, ValuationRecord


@login_required
def calculator(request):
    method = request.POST.get("method") or request.GET.get("method") or "income"
    inputs_text = request.POST.get("inputs") or json.dumps(EXAMPLES.get(method, {}), ensure_ascii=False, indent=2)
    factor_mode = request.POST.get("factor_mode", "exact")
    rights_text = request.POST.get("rights", "")
    result, error = None, None
    if request.method == "POST":
        try:
            inputs = json.loads(inputs_text)
            if not isinstance(inputs, dict):
                raise ValueError
        except ValueError:
            error = DomainError(_("The inputs must be a JSON object."), code="invalid_input")
        else:
            try:
                if request.POST.get("save") or method == "bundle":
                    current_channel.set("web")
                    rights = [{"kind": parts[0], "number": parts[1]} for parts in
                              (line.split(None, 1) for line in rights_text.splitlines()) if len(parts) == 2]
                    record = services.create_valuation(actor=request.user, data={
                        "rights": rights, "method": method, "inputs": inputs,
                        "options": {"factor_mode": factor_mode}})
                    return redirect("valuation:record", valuation_no=record.valuation_no)
                result = services.compute(method=method, inputs=inputs, options={"factor_mode": factor_mode})
            except DomainError as exc:
                error = exc
    headline = None
    if result:
        headline = next(((k, result[k]) for k in ("value", "split_rate", "price", "p50") if k in result), None)
    chart = ""
    if result and "p50" in result:
        chart = charts.range_chart([(k.upper(), Decimal(str(result[k]))) for k in ("p5", "p10", "p50", "p90")
                                    if result.get(k) is not None])
    return render(request, "valuation/calculator.html", {
        "method": method, "methods": METHOD_LABELS, "inputs_text": inputs_text, "factor_mode": factor_mode,
        "rights_text": rights_text,
        "result": result, "headline": headline, "error": error, "chart": chart,
        "examples_json": json.dumps(EXAMPLES, ensure_ascii=False)}, status=400 if error else 200)


@login_required
def records(request):
    rows = ValuationRecord.objects.restrict(request.user, "view").distinct()[:200]
    return render(request, "valuation/records.html", {"rows": [valuation_out(v) for v in rows]})


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
    v = valuation_out(record)
    result = v["result"] or {}
    points = [(k.upper(), Decimal(str(result[k]))) for k in ("p5", "p10", "p50", "p90") if result.get(k) is not None]
    if not points:
        points = [(label, Decimal(value)) for label, value in
                  (("P10", v["p10"]), (_("Value"), v["market_value"]), ("P90", v["p90"])) if value]
    history = []
    cursor = record
    while cursor is not None:
        history.append(cursor)
        cursor = cursor.supersedes
    return render(request, "valuation/record.html", {"v": v, "chart": charts.range_chart(points), "points": points,
                                                     "history": history, "error": error,
                                                     "lender": result.get("lender") or {}},
                  status=400 if error else 200)


def agencies(request):
    return render(request, "valuation/agencies.html", {"agencies": AppraisalAgency.objects.all()})


def agency_detail(request, agency_id: int):
    agency = AppraisalAgency.objects.filter(pk=agency_id).first()
    if agency is None:
        return render(request, "errors/404.html", status=404)
    return render(request, "valuation/agency.html", {"a": agency_out(agency, detail=True)})


def experts(request):
    field = request.GET.get("field", "")
    party = request.GET.get("party_org_id")
    rows = services.find_experts(field=field, party_org_ids=[int(party)] if party and party.isdigit() else [])
    return render(request, "valuation/experts.html", {"rows": rows, "field": field})


def _radar_parts(result: dict) -> list[tuple[str, float, float]]:
    out = []
    for key, part in (result.get("parts") or {}).items():
        if not isinstance(part, dict):
            continue
        score = part.get("points", part.get("score"))
        maximum = part.get("max", part.get("maximum", part.get("weight")))
        try:
            out.append((str(part.get("label_zh") or part.get("label") or key), float(score), float(maximum)))
        except (TypeError, ValueError):
            continue
    return out


@login_required
def enterprise_scores(request, org_id: int):
    try:  # the API's scope: an enterprise the user may not read is not found, here as there
        org, history = services.scores_for(actor=request.user, enterprise_id=org_id, limit=50)
    except DomainError:
        return render(request, "errors/404.html", status=404)
    error = None
    if request.method == "POST":
        current_channel.set("web")
        inputs = {k: v for k, v in request.POST.items() if k not in ("csrfmiddlewaretoken", "scheme") and v != ""}
        try:
            services.evaluate_enterprise(actor=request.user, enterprise_id=org.pk,
                                         scheme=request.POST.get("scheme", "composite"), inputs=inputs)
            return redirect("valuation:enterprise", org_id=org.pk)
        except DomainError as exc:
            error = exc
    latest = next((s for s in history if s.scheme == "composite"), history[0] if history else None)
    parts = _radar_parts(latest.result) if latest else []
    from ippledge.core import business_date

    return render(request, "valuation/enterprise.html", {
        "org": org, "history": history, "latest": latest, "radar": charts.radar_chart(parts), "parts": parts,
        "facts": services.register_facts(org, business_date.today()), "error": error},
        status=400 if error else 200)
