"""Credit pages: the bank workbench, the cases list and loan book, the case page (tabs), the loan page,
the enterprise portal, matching and plans.  Thin: Django forms read the input, the workflow decides."""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext as _

from ippledge.core import business_date, money
from ippledge.core.audit import current_channel
from ippledge.core.errors import DomainError
from ippledge.core.listing import Column, Filter, Listing
from ippledge.core.models import Organisation
from ippledge.core.permissions import BANK_STAFF
from ippledge.core.roles import Role

from . import quote, services, workflow
from .api import loan_out
from .forms import (
    CASE_FORMS,
    InterestForm,
    MatchingQueryForm,
    NeedForm,
    ParkLineForm,
    PlanForm,
    PlanYearForm,
    apply_domain_error,
)
from .labels import DD_LABELS, IP_KIND_LABELS
from .models import (
    Classification,
    CreditCase,
    FinancingNeed,
    Loan,
    ParkCreditLine,
    Product,
    ScheduleKind,
    Stage,
)
from .workflow_api import case_out


def _mine(user, case: CreditCase) -> bool:
    roles = user.role_set
    return ((case.stage == Stage.DUE_DILIGENCE and case.prepared_by_id == user.pk)
            or (case.stage == Stage.REVIEW and Role.BANK_REVIEWER in roles)
            or (case.stage == Stage.APPROVAL and Role.BANK_APPROVER in roles)
            or (case.stage == Stage.CONTRACTED and Role.BANK_OFFICER in roles))


PIPELINE_SHOWN = 8  # cases named per stage on the workbench; the cases list has them all


@login_required
def workbench(request):
    cases = CreditCase.objects.restrict(request.user, "view").select_related("enterprise", "product", "prepared_by")
    by_stage: dict[str, dict] = {}
    mine = []
    for case in cases[:500]:
        stage = by_stage.setdefault(case.stage, {"stage": case.stage, "count": 0, "rows": []})
        stage["count"] += 1
        row = {"case": case, "sla": workflow.sla(case)}
        if len(stage["rows"]) < PIPELINE_SHOWN:
            stage["rows"].append(row)
        if _mine(request.user, case):
            mine.append(row)
    pipeline = [by_stage[s] for s in Stage.values if s in by_stage]
    loans = Loan.objects.restrict(request.user, "view").select_related("borrower").order_by("-id")[:10]
    return render(request, "credit/workbench.html", {"pipeline": pipeline, "mine": mine, "loans": loans})


def _case_listing(request) -> Listing:
    rows = CreditCase.objects.restrict(request.user, "view").select_related("enterprise", "product", "bank")
    return Listing(request, rows, name="credit-cases", default_sort="-created", columns=[
        Column("case_no", _("Case"), link=lambda c: reverse("credit:case", args=[c.case_no]), sort="case_no"),
        Column("enterprise", _("Enterprise"), "enterprise.name", sort="enterprise__name"),
        Column("bank", _("Bank"), "bank.name", sort="bank__name"),
        Column("product", _("Product"), "product.name"),
        Column("amount", _("Amount (yuan)"), kind="fen", sort="amount"),
        Column("term_months", _("Term (months)"), kind="number", sort="term_months"),
        Column("stage", _("Stage"), kind="label:credit.CreditCase.stage", sort="stage"),
        Column("created", _("Opened"), "created_at", kind="moment", sort="created_at"),
    ], filters=[
        Filter("q", _("Search"), ("case_no", "enterprise__name", "enterprise__uscc"), kind="search"),
        Filter("stage", _("Stage"), "stage", vocabulary="credit.CreditCase.stage"),
        Filter("from", _("Opened from"), "created_at__date", kind="date_from"),
        Filter("to", _("Opened until"), "created_at__date", kind="date_to"),
    ])


@login_required
def cases(request):
    listing = _case_listing(request)
    if (response := listing.export_response()) is not None:
        return response
    return render(request, "credit/cases.html", {"listing": listing, "title": _("Credit cases")})


def _loan_listing(request) -> Listing:
    rows = Loan.objects.restrict(request.user, "view").select_related("borrower", "bank")
    return Listing(request, rows, name="loans", default_sort="-loan_no", columns=[
        Column("loan_no", _("Loan"), link=lambda loan: reverse("credit:loan", args=[loan.loan_no]), sort="loan_no"),
        Column("borrower", _("Borrower"), "borrower.name", sort="borrower__name"),
        Column("bank", _("Bank"), "bank.name", sort="bank__name"),
        Column("amount", _("Amount (yuan)"), kind="fen", sort="amount"),
        Column("balance", _("Balance (yuan)"), kind="fen", sort="balance"),
        Column("start_date", _("Start date"), kind="date", sort="start_date"),
        Column("maturity_date", _("Maturity date"), kind="date", sort="maturity_date"),
        Column("dpd", _("Days past due"), kind="number", sort="dpd"),
        Column("classification", _("Classification"), kind="label:credit.Loan.classification",
               sort="classification"),
    ], filters=[
        Filter("q", _("Search"), ("loan_no", "borrower__name", "borrower__uscc"), kind="search"),
        Filter("classification", _("Classification"), "classification", vocabulary="credit.Loan.classification"),
        Filter("from", _("Started from"), "start_date", kind="date_from"),
        Filter("to", _("Started until"), "start_date", kind="date_to"),
    ])


@login_required
def loans(request):
    listing = _loan_listing(request)
    if (response := listing.export_response()) is not None:
        return response
    return render(request, "credit/loans.html", {"listing": listing, "title": _("Loan book")})


# --- the case page ---------------------------------------------------------------------------------

CASE_TABS = ("enterprise", "rights", "dd", "trail", "contract", "loan")
# Where each action's result is seen, and what the page says once it is done.
AFTER = {"dd": "dd", "submit": "trail", "review": "trail", "approval": "trail", "disburse": "loan",
         "sign": "contract", "valuation": "rights"}
FORM_TAB = {"dd": "dd", "submit": "dd", "valuation": "rights", "review": "trail", "approval": "trail",
            "disburse": "contract", "sign": "contract"}
DONE = {
    "submit": gettext_lazy("Due diligence signed off: the case is with the risk reviewer."),
    "valuation": gettext_lazy("Valuation attached."),
    "pass": gettext_lazy("Review passed: the case is with the approver. The enterprise is notified."),
    "return": gettext_lazy("Returned for rework. The enterprise is notified."),
    "decline": gettext_lazy("Declined. The enterprise is notified."),
    "approve": gettext_lazy("Approved: the contract is written and the pledge filed. The enterprise is notified."),
    "disburse": gettext_lazy("Disbursed. The enterprise is notified."),
    "sign": gettext_lazy("Contract signed: the pledge is confirmed."),
}


def _next_item(items, after: str | None) -> str | None:
    """The due-diligence item to work on next: the first open one after ``after``, else the first open one."""
    keys = [i.key for i in items]
    open_ = [i.key for i in items if not i.result]
    if after in keys:
        later = [k for k in keys[keys.index(after) + 1:] if k in open_]
        if later:
            return later[0]
    return open_[0] if open_ else None


def _case_form(action: str, case: CreditCase, user, data=None, files=None, chosen: str | None = None):
    cls = CASE_FORMS[action]
    if action == "dd":
        items = list(case.dd_items.all())
        initial = {}
        item = next((i for i in items if i.key == chosen), None)
        if item is not None:
            initial = {"key": item.key, "result": item.result or "ok", "notes": item.notes,
                       "evidence": "\n".join(e for e in item.evidence if isinstance(e, str))}
        return cls(data, files, keys=[i.key for i in items], initial=initial, prefix=None)
    if action == "submit":
        return cls(data, grades=list(case.product.spreads_bp), initial={"risk_grade": case.risk_grade})
    if action == "valuation":
        return cls(data, candidates=workflow.valuation_candidates(user, case),
                   initial={"valuation_no": case.valuation_no})
    return cls(data)


def _act(action: str, form, user, case_no: str, files) -> str:
    """Run the case action the valid ``form`` asks for; returns what was done (a ``DONE`` key)."""
    d = form.cleaned_data
    if action == "dd":
        upload = d.get("file")
        if upload is not None:
            workflow.may_attach_evidence(actor=user, case_no=case_no)
            workflow.attach_evidence(actor=user, case_no=case_no, key=d["key"], name=upload.name,
                                     content=upload.read())
        workflow.update_dd(actor=user, case_no=case_no, key=d["key"], result=d["result"], notes=d["notes"],
                           evidence=form.references())
        return "dd"
    if action == "submit":
        workflow.submit_for_review(actor=user, case_no=case_no, risk_grade=d["risk_grade"])
        return "submit"
    if action == "valuation":
        workflow.attach_valuation(actor=user, case_no=case_no, valuation_no=d["valuation_no"])
        return "valuation"
    if action == "review":
        workflow.review(actor=user, case_no=case_no, decision=d["decision"], note=d["note"])
        return d["decision"]
    if action == "approval":
        workflow.approve(actor=user, case_no=case_no, decision=d["decision"], note=d["note"],
                         ltv_override_reason=d["ltv_override_reason"])
        return d["decision"]
    if action == "disburse":
        workflow.disburse(actor=user, case_no=case_no, schedule=d["schedule"])
        return "disburse"
    workflow.sign_contract(actor=user, case_no=case_no)
    return "sign"


def _assessment(case: CreditCase, user) -> dict | None:
    """What the reviewer and approver weigh: the officer's risk grade, the LTV of the attached valuation,
    and the cost breakdown (the approval quote, or before approval an indicative quote as of today)."""
    from ippledge.valuation.models import ValuationRecord

    if not workflow.reads_internals(user, case):
        return None
    record = ValuationRecord.objects.filter(valuation_no=case.valuation_no).first() if case.valuation_no else None
    ltv = None
    if record is not None and record.market_value:
        ltv = (Decimal(case.amount) * 100 / Decimal(record.market_value)).quantize(Decimal("0.01"))
    quote_, indicative = case.pricing or None, False
    if not quote_ and case.stage in (Stage.REVIEW, Stage.APPROVAL):
        try:
            quote_, indicative = quote.price(case, business_date.today()), True
        except DomainError:
            quote_ = None
    return {"risk_grade": case.risk_grade if case.dd_signed_at else None, "dd_signed_by": case.dd_signed_by,
            "dd_signed_at": case.dd_signed_at, "record": record, "ltv_percent": ltv, "max_loan": case.max_loan,
            "caps": [(_kind_label(kind), (Decimal(cap) * 100).quantize(Decimal("0.01"))) for kind, cap in
                     sorted(case.product.ltv_caps.items()) if kind in _cap_kinds(case)],
            "above_max_loan": case.max_loan is not None and case.amount > case.max_loan,
            "cost": _cost(quote_) if quote_ else None, "indicative": indicative}


def _cap_kinds(case: CreditCase) -> set[str]:
    """The LTV caps that bear on the case's rights: their kinds, "patent" for patents, "bundle" for several."""
    from ippledge.rights.rules import PATENT_KINDS

    kinds = {r["kind"] for r in case.rights}
    return kinds | ({"patent"} if kinds & set(PATENT_KINDS) else set()) | ({"bundle"} if len(kinds) > 1 else set())


def _kind_label(kind: str) -> str:
    """An LTV cap's kind: a right kind (``invention``) or a product kind (``patent``, ``bundle``)."""
    from ippledge.core import vocabulary

    return str(IP_KIND_LABELS.get(kind) or vocabulary.label("rights.Right.kind", kind))


def _percent(value) -> Decimal | None:
    """A rate as a fraction (``"0.0365"``) shown as a percentage to four places (``3.6500``)."""
    if value in (None, ""):
        return None
    return (Decimal(str(value)) * 100).quantize(Decimal("0.0001"))


def _cost(q: dict) -> dict:
    """The quote as rows a person reads: rate parts, then each cost in yuan, subsidies, the net cost."""
    cost = q.get("all_in") or {}
    return {"lpr": q.get("lpr"), "lpr_fixing_date": q.get("lpr_fixing_date"), "tenor": q.get("tenor"),
            "spread_bp": q.get("spread_bp"), "rate_percent": _percent(q.get("rate")),
            "convention": q.get("convention"), "days": cost.get("days"), "start_date": cost.get("start_date"),
            "maturity_date": cost.get("maturity_date"), "principal": cost.get("principal"),
            "interest": cost.get("interest"), "guarantee_fee": cost.get("guarantee_fee"),
            "insurance_premium": cost.get("insurance_premium"), "valuation_fee": cost.get("valuation_fee"),
            "subsidies": cost.get("subsidies") or [],
            "subsidy_total": cost.get("subsidy_total") if Decimal(str(cost.get("subsidy_total") or 0)) else None,
            "gross_cost": cost.get("gross_cost"), "net_cost": cost.get("net_cost"),
            "effective_percent": _percent(cost.get("effective_annual_rate")), "warning": q.get("lpr_warning")}


@login_required
def case_page(request, case_no: str):
    try:
        case = workflow.get_case(actor=request.user, case_no=case_no)
    except DomainError:
        return render(request, "errors/404.html", status=404)
    bound, status = {}, 200
    if request.method == "POST":
        current_channel.set("web")
        action = request.POST.get("action", "")
        if action not in CASE_FORMS:
            return render(request, "errors/404.html", status=404)
        form = _case_form(action, case, request.user, request.POST, request.FILES)
        if form.is_valid():
            try:
                done = _act(action, form, request.user, case_no, request.FILES)
                url = reverse("credit:case", args=[case_no]) + f"?tab={AFTER[action]}"
                if done == "dd":
                    key = form.cleaned_data["key"]
                    messages.success(request, _("Saved: %(item)s.") % {"item": DD_LABELS.get(key, key)})
                    url += f"&saved={key}"
                else:
                    messages.success(request, str(DONE[done]))
                return redirect(url)
            except DomainError as exc:
                apply_domain_error(form, exc)
        bound[action], status = form, 400
        case = workflow.get_case(actor=request.user, case_no=case_no)
    data = case_out(case, request.user)
    loan = loan_out(case.loan, request.user) if case.loan_id else None
    items = list(case.dd_items.all())
    saved = request.GET.get("saved")
    chosen = request.GET.get("item") or _next_item(items, saved)
    forms_ = {action: bound.get(action) or _case_form(action, case, request.user, chosen=chosen)
              for action in CASE_FORMS}
    if "dd" not in bound and chosen:
        forms_["dd"].initial.setdefault("key", chosen)
    forms_["dd"].auto_id, forms_["submit"].auto_id, forms_["valuation"].auto_id = "dd-%s", "%s", "attach-%s"
    forms_["disburse"].auto_id = "disburse-%s"
    decisions = {}  # one form per decision (each its own reason and confirmation); a refused one keeps its input
    for action in ("review", "approval"):
        posted = bound.get(action)
        for decision in CASE_FORMS[action].DECISIONS:
            form = posted if posted is not None and posted.data.get("decision") == decision else \
                _case_form(action, case, request.user)
            form.auto_id = f"{decision}-%s"
            decisions[f"{action}_{decision}"] = form
    tab = request.GET.get("tab") or (FORM_TAB.get(request.POST.get("action", "")) if bound else None) \
        or "enterprise"
    return render(request, "credit/case.html", {
        "c": data, "case": case, "loan": loan, "tab": tab if tab in CASE_TABS else "enterprise", "forms": forms_,
        "items": items, "saved": saved, "next_item": chosen, "all_recorded": all(i.result for i in items),
        "decisions": decisions, "pledge_awaiting": workflow.pledge_awaits_signature(case), "assessment": _assessment(case, request.user),
        "sla": workflow.sla(case), "trail": case.steps.select_related("actor"),
        "may_attach_valuation": data["reader"] == "lender" and case.stage in workflow.VALUATION_STAGES},
        status=status)


@login_required
def evidence_file(request, case_no: str, stored: str):
    from django.http import FileResponse

    try:
        path = workflow.evidence_path(actor=request.user, case_no=case_no, stored=stored)
    except DomainError:
        return render(request, "errors/404.html", status=404)
    return FileResponse(path.open("rb"), as_attachment=True, filename=stored.split("_", 1)[-1])


@login_required
def loan_page(request, loan_no: str):
    try:
        loan = services.get_loan(actor=request.user, loan_no=loan_no)
    except DomainError:
        return render(request, "errors/404.html", status=404)
    error = None
    if request.method == "POST" and request.POST.get("action") == "cancel_pledges":
        current_channel.set("web")
        try:
            services.cancel_pledges(actor=request.user, loan_no=loan_no)
            return redirect("credit:loan", loan_no=loan_no)
        except DomainError as exc:
            error = exc
    data = loan_out(loan, request.user)
    data["classification_label"] = Classification(data["classification"]).label
    data["schedule_label"] = ScheduleKind(data["schedule_kind"]).label
    # Amortising schedules charge outstanding × annual rate ÷ 12 a month; the others accrue by actual days.
    data["convention_label"] = (_("monthly rate (annual rate ÷ 12)") if data["convention"] == "monthly_rate"
                                else _("%(basis)s, actual days") % {"basis": data["convention"]})
    data["rate_percent"] = f"{Decimal(data['annual_rate']) * 100:.4f}"
    for h in data["classification_history"]:
        h["after_label"] = Classification(h["after"]).label
        h["before_label"] = Classification(h["before"]).label if h["before"] else "—"
    may_cancel = bool(request.user.role_set & BANK_STAFF) and \
        request.user.organisation_id in (loan.bank_id, loan.bank.parent_id)
    return render(request, "credit/loan.html", {"l": data, "error": error, "may_cancel": may_cancel},
                  status=400 if error else 200)


def _own_rights(org):
    from ippledge.rights.models import Right

    if org is None or not org.uscc:
        return []
    return list(Right.objects.filter(holders__id_number=org.uscc).distinct().order_by("kind", "number")[:200])


@login_required
def portal(request):
    """The enterprise's own view: its needs, cases and loans, the bank's decisions on its cases, and a form
    to publish a need offering rights the register records it as holding."""
    from ippledge.registry.models import Notification

    org = request.user.organisation
    form = NeedForm(request.POST or None, rights=_own_rights(org))
    status = 200
    if request.method == "POST":
        current_channel.set("web")
        if form.is_valid():
            try:
                workflow.publish_need(actor=request.user, data=form.service_data())
                messages.success(request, _("Financing need published."))
                return redirect("credit:portal")
            except DomainError as exc:
                apply_domain_error(form, exc)
        status = 400
    needs = FinancingNeed.objects.filter(enterprise=org) if org else FinancingNeed.objects.none()
    decisions = Notification.objects.restrict(request.user, "view").filter(kind__startswith="credit_case.")[:10] \
        if org else []
    return render(request, "credit/portal.html", {
        "form": form, "needs": needs, "decisions": decisions,
        "cases": CreditCase.objects.filter(enterprise=org).select_related("bank", "product") if org else [],
        "loans": Loan.objects.filter(borrower=org).select_related("bank") if org else []}, status=status)


@login_required
def matching(request):
    if request.method == "POST":  # express interest: opens a credit case for this need and product
        current_channel.set("web")
        interest = InterestForm(request.POST)
        error = None
        if interest.is_valid():
            try:
                case = workflow.open_case(actor=request.user, product_id=interest.cleaned_data["product_id"],
                                          need_id=interest.cleaned_data["need_id"])
                messages.success(request, _("Credit case %(case)s opened.") % {"case": case.case_no})
                return redirect("credit:case", case_no=case.case_no)
            except DomainError as exc:
                error = exc.localised(gettext)
        else:
            error = _("Choose a need and a product from the lists.")
        return render(request, "credit/matching.html", {"error_text": error, "needs": [], "products": []},
                      status=400)
    query = MatchingQueryForm(request.GET)
    if not query.is_valid():
        return render(request, "errors/404.html", status=404)
    need_id, product_id = query.cleaned_data.get("need"), query.cleaned_data.get("product")
    rows, subject = [], None
    try:
        if need_id:
            need = FinancingNeed.objects.select_related("enterprise").get(pk=need_id)
            subject, rows = need, workflow.match_products(actor=request.user, need=need)
        elif product_id:
            product = Product.objects.select_related("bank").get(pk=product_id)
            subject, rows = product, workflow.match_needs(actor=request.user, product=product)
    except (DomainError, FinancingNeed.DoesNotExist, Product.DoesNotExist):
        return render(request, "errors/404.html", status=404)
    names = {p.pk: f"{p.bank.name} · {p.name}" for p in Product.objects.select_related("bank")}
    need_names = {n.pk: f"{n.enterprise.name} · {money.format_yuan(n.amount)} {_('yuan')}" for n in
                  FinancingNeed.objects.filter(pk__in={row.get("need_id") for row in rows})
                  .select_related("enterprise")}
    for row in rows:
        row["name"] = names.get(row.get("product_id")) if need_id else need_names.get(row.get("need_id"))
        row["reason_rows"] = [{"code": code, "ok": ok} for code, ok, _detail in row.get("reasons", [])]
    return render(request, "credit/matching.html", {
        "subject": subject, "rows": rows, "by_need": bool(need_id), "need_id": need_id, "product_id": product_id,
        "needs": FinancingNeed.objects.filter(status="open").select_related("enterprise")[:100],
        "products": Product.objects.filter(active=True).select_related("bank")})


@login_required
def plans(request):
    query = PlanYearForm(request.GET or None, initial={"year": business_date.today().year})
    year = query.cleaned_data["year"] if query.is_bound and query.is_valid() else business_date.today().year
    banks = Organisation.objects.restrict(request.user, "view").filter(kind="bank")
    may_set = Role.BANK_APPROVER in request.user.role_set and getattr(request.user.organisation, "kind", "") == "bank"
    plan_form = PlanForm(initial={"year": year})
    line_form = ParkLineForm()
    status = 200
    if request.method == "POST" and may_set:
        current_channel.set("web")
        action = request.POST.get("action")
        form = PlanForm(request.POST) if action == "plan" else ParkLineForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            try:
                if action == "plan":
                    workflow.set_plan(actor=request.user, bank_org_id=request.user.organisation_id, year=d["year"],
                                      households=d["households"], amount=str(d["amount"]))
                    messages.success(request, _("Credit plan saved."))
                else:
                    workflow.grant_park_line(actor=request.user, bank_org_id=request.user.organisation_id,
                                             park_name=d["park_name"], limit=str(d["limit"]),
                                             start_date=d["start_date"].isoformat(),
                                             end_date=d["end_date"].isoformat())
                    messages.success(request, _("Park credit line granted."))
                return redirect(reverse("credit:plans") + (f"?year={d['year']}" if action == "plan" else ""))
            except DomainError as exc:
                apply_domain_error(form, exc)
        if action == "plan":
            plan_form = form
        else:
            line_form = form
        status = 400
    elif request.method == "POST":
        return render(request, "errors/403.html", status=403)
    return render(request, "credit/plans.html", {
        "year": year, "query": query, "plans": [{"bank": b, **workflow.plan_progress(b, year)} for b in banks],
        "lines": _park_lines(banks), "title": _("Credit plans and park lines"),
        "may_set": may_set, "plan_form": plan_form, "line_form": line_form}, status=status)


def _park_lines(banks) -> list[dict]:
    lines = list(ParkCreditLine.objects.filter(bank__in=banks).select_related("park", "bank"))
    used = workflow.park_lines_used(lines)
    return [workflow.park_line_usage(line, used.get((line.bank_id, line.park_id), 0)) for line in lines]
