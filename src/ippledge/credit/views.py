"""Credit pages: the bank workbench, the case page (tabs), the loan page, the enterprise portal,
matching, plans and park lines.  Thin: the workflow module does the work."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from ippledge.core import business_date, money
from ippledge.core.audit import current_channel
from ippledge.core.errors import DomainError, ValidationFailed
from ippledge.core.models import Organisation
from ippledge.core.permissions import BANK_STAFF
from ippledge.core.roles import Role

from . import services, workflow
from .api import loan_out
from .labels import DD_LABELS, RESULT_LABELS
from .models import Classification, CreditCase, FinancingNeed, Loan, ParkCreditLine, Product, ScheduleKind
from .workflow_api import case_out, need_out, product_out


@login_required
def workbench(request):
    cases = CreditCase.objects.restrict(request.user, "view").select_related("enterprise", "product", "prepared_by")
    by_stage: dict[str, list] = {}
    mine = []
    for case in cases[:500]:
        row = {"case": case, "sla": workflow.sla(case)}
        by_stage.setdefault(case.stage, []).append(row)
        roles = request.user.role_set
        if (case.stage == "due_diligence" and case.prepared_by_id == request.user.pk) or \
                (case.stage == "review" and Role.BANK_REVIEWER in roles) or \
                (case.stage == "approval" and Role.BANK_APPROVER in roles) or \
                (case.stage == "contracted" and Role.BANK_OFFICER in roles):
            mine.append(row)
    loans = Loan.objects.restrict(request.user, "view").select_related("borrower")[:200]
    return render(request, "credit/workbench.html", {"by_stage": by_stage, "mine": mine, "loans": loans,
                                                     "needs": FinancingNeed.objects.filter(status="open")[:50]})


@login_required
def case_page(request, case_no: str):
    try:
        case = workflow.get_case(actor=request.user, case_no=case_no)
    except DomainError:
        return render(request, "errors/404.html", status=404)
    error = None
    if request.method == "POST":
        current_channel.set("web")
        action, post = request.POST.get("action"), request.POST
        try:
            if action == "dd" and request.FILES.get("file"):
                upload = request.FILES["file"]
                workflow.may_attach_evidence(actor=request.user, case_no=case_no)
                if upload.size > workflow.EVIDENCE_MAX_BYTES:
                    raise ValidationFailed(_("Attach a file of at most 10 MB."), code="invalid_file")
                workflow.attach_evidence(actor=request.user, case_no=case_no, key=post.get("key", ""),
                                         name=upload.name, content=upload.read())
            if action == "dd":
                workflow.update_dd(actor=request.user, case_no=case_no, key=post.get("key", ""),
                                   result=post.get("result", ""), notes=post.get("notes", ""),
                                   evidence=[e for e in post.get("evidence", "").splitlines() if e.strip()])
            elif action == "submit":
                workflow.submit_for_review(actor=request.user, case_no=case_no, risk_grade=post.get("risk_grade", "B"))
            elif action == "review":
                workflow.review(actor=request.user, case_no=case_no, decision=post.get("decision", ""),
                                note=post.get("note", ""))
            elif action == "valuation":
                workflow.attach_valuation(actor=request.user, case_no=case_no,
                                          valuation_no=post.get("valuation_no", "").strip())
            elif action == "approval":
                workflow.approve(actor=request.user, case_no=case_no, decision=post.get("decision", ""),
                                 note=post.get("note", ""), ltv_override_reason=post.get("ltv_override_reason", ""))
            elif action == "disburse":
                workflow.disburse(actor=request.user, case_no=case_no, schedule=post.get("schedule", "bullet"))
            elif action == "sign":
                workflow.sign_contract(actor=request.user, case_no=case_no)
            tab = {"dd": "dd", "submit": "dd", "review": "trail", "approval": "trail", "disburse": "contract",
                   "sign": "contract", "valuation": "rights"}
            return redirect(reverse("credit:case", args=[case_no]) + f"?tab={tab.get(action, 'enterprise')}")
        except DomainError as exc:
            error = exc
    data = case_out(case, request.user)
    loan = loan_out(case.loan, request.user) if case.loan_id else None
    for item in data.get("due_diligence", []):
        item["label"] = DD_LABELS.get(item["key"], item["key"])
    return render(request, "credit/case.html", {"c": data, "case": case, "loan": loan, "error": error,
                                                "tab": request.GET.get("tab") or request.POST.get("tab") or
                                                ("dd" if request.POST.get("action") in ("dd", "submit") else
                                                 "enterprise"),
                                                "results": RESULT_LABELS,
                                                "pledge_awaiting": workflow.pledge_awaits_signature(case),
                                                "above_max_loan": case.max_loan is not None and
                                                case.amount > case.max_loan,
                                                "valuations": workflow.valuation_candidates(request.user, case),
                                                "may_attach_valuation": data["reader"] == "lender" and
                                                case.stage in workflow.VALUATION_STAGES},
                  status=400 if error else 200)


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


@login_required
def portal(request):
    """The enterprise's own view: its needs, cases and loans, and a form to publish a need."""
    org = request.user.organisation
    error = None
    if request.method == "POST":
        current_channel.set("web")
        rights = [{"kind": p[0], "number": p[1]} for p in (line.split(None, 1) for line in
                                                          request.POST.get("rights", "").splitlines()) if len(p) == 2]
        try:
            workflow.publish_need(actor=request.user, data={"amount": request.POST.get("amount"),
                                                            "term_months": request.POST.get("term_months") or 12,
                                                            "purpose": request.POST.get("purpose", ""),
                                                            "rights": rights})
            return redirect("credit:portal")
        except DomainError as exc:
            error = exc
    needs = FinancingNeed.objects.filter(enterprise=org) if org else FinancingNeed.objects.none()
    return render(request, "credit/portal.html", {
        "needs": [need_out(n) for n in needs], "error": error,
        "cases": CreditCase.objects.filter(enterprise=org) if org else [],
        "loans": Loan.objects.filter(borrower=org) if org else []}, status=400 if error else 200)


@login_required
def matching(request):
    if request.method == "POST":  # express interest: opens a credit case for this need and product
        current_channel.set("web")
        try:
            case = workflow.open_case(actor=request.user, product_id=int(request.POST.get("product_id", 0)),
                                      need_id=int(request.POST.get("need_id", 0)))
        except (DomainError, ValueError) as exc:
            return render(request, "credit/matching.html", {"error": exc if isinstance(exc, DomainError) else None,
                                                            "needs": [], "products": []}, status=400)
        return redirect("credit:case", case_no=case.case_no)
    need_id, product_id = request.GET.get("need"), request.GET.get("product")
    rows, subject = [], None
    try:
        if need_id:
            need = FinancingNeed.objects.get(pk=int(need_id))
            subject, rows = need_out(need), workflow.match_products(actor=request.user, need=need)
        elif product_id:
            product = Product.objects.get(pk=int(product_id))
            subject, rows = product_out(product), workflow.match_needs(actor=request.user, product=product)
    except (ValueError, DomainError, FinancingNeed.DoesNotExist, Product.DoesNotExist):
        return render(request, "errors/404.html", status=404)
    names = {p.pk: f"{p.bank.name} · {p.name}" for p in Product.objects.select_related("bank")}
    need_names = {n.pk: f"{n.enterprise.name} · {money.format_yuan(n.amount)}" for n in
                  FinancingNeed.objects.filter(pk__in={row.get("need_id") for row in rows})
                  .select_related("enterprise")}
    for row in rows:
        row["name"] = names.get(row.get("product_id")) if need_id else need_names.get(row.get("need_id"))
    return render(request, "credit/matching.html", {
        "subject": subject, "rows": rows, "by_need": bool(need_id), "need_id": need_id, "product_id": product_id,
        "needs": [need_out(n) for n in FinancingNeed.objects.filter(status="open")[:100]],
        "products": [product_out(p) for p in Product.objects.filter(active=True)]})


@login_required
def plans(request):
    year = business_date.today().year
    banks = Organisation.objects.restrict(request.user, "view").filter(kind="bank")
    return render(request, "credit/plans.html", {
        "year": year, "plans": [{"bank": b, **workflow.plan_progress(b, year)} for b in banks],
        "lines": [workflow.park_line_usage(line) for line in ParkCreditLine.objects.filter(bank__in=banks)
                  .select_related("park", "bank")], "title": _("Credit plans and park lines")})
