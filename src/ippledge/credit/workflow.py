"""The bank credit workflow as business actions: products, financing needs, matching, cases with due
diligence, officer → reviewer → approver with separation of duties and amount tiers, pricing from the
LPR in force, the contract and its pledge filed in the registry, and disbursement once the pledge is
registered (park line headroom and plan progress kept)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from ippledge.core import audit, business_date, money, numbers
from ippledge.core.actors import user_or_none as _user
from ippledge.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from ippledge.core.models import Organisation, User
from ippledge.registry import services as registry
from ippledge.registry.models import PledgeApplication
from ippledge.rights import rules as right_rules
from ippledge.rights import services as rights_services

from . import lpr, services
from .models import (
    SLA_DAYS,
    ApprovalAuthority,
    CaseStep,
    CreditCase,
    CreditPlan,
    DueDiligenceItem,
    ExemptionRequest,
    FinancingNeed,
    Loan,
    ParkCreditLine,
    PartnerInvestment,
    Product,
    Stage,
    SubsidyScheme,
)

DD_KEYS = ("ownership", "legal_state", "encumbrances", "term_vs_loan", "licences", "litigation", "annuity")



def _fen(value, field: str) -> int:
    try:
        return money.to_fen(value)
    except DomainError as exc:
        raise ValidationFailed(exc.localised(_), code="invalid_amount", fields={field: [exc.localised(_)]}) from None


def _step(case: CreditCase, to_stage: str, action: str, actor, note: str = "") -> None:
    CaseStep.objects.create(case=case, from_stage=case.stage, to_stage=to_stage, action=action, note=note[:500],
                            actor=_user(actor))
    audit.record(actor=actor, action=f"credit_case.{action}", obj=case, object_repr=case.case_no,
                 before={"stage": case.stage}, after={"stage": to_stage, "note": note})
    case.stage, case.stage_entered_at = to_stage, timezone.now()
    case.save(update_fields=["stage", "stage_entered_at"])


# --- products and needs ---------------------------------------------------------------------------

@transaction.atomic
def create_product(*, actor, data: dict) -> Product:
    services._require_bank(actor, roles={"bank_approver", "bank_reviewer"})
    bank = actor.organisation if not actor.is_platform_admin else \
        Organisation.objects.filter(pk=data.get("bank_org_id"), kind="bank").first()
    if bank is None or bank.kind != "bank":
        raise NotFound(_("No such bank."), code="bank_not_found", fields={"bank_org_id": [_("Not found.")]})
    errors = {}
    if not (data.get("name") or "").strip():
        errors["name"] = [_("This field is required.")]
    low, high = _fen(data.get("min_amount", "0"), "min_amount"), _fen(data.get("max_amount", "0"), "max_amount")
    if high <= 0 or low > high:
        errors["max_amount"] = [_("Give an amount range from the minimum to the maximum.")]
    kinds = [k for k in data.get("eligible_kinds") or [] if k in ("patent", "trademark", "copyright", "bundle",
                                                                  "geographical_indication")]
    if not kinds:
        errors["eligible_kinds"] = [_("Name at least one kind of IP.")]
    if errors:
        raise ValidationFailed(_("The product is not valid."), fields=errors)
    product = Product.objects.create(
        bank=bank, name=data["name"].strip()[:200], eligible_kinds=kinds, min_amount=low, max_amount=high,
        min_term_months=int(data.get("min_term_months") or 1), max_term_months=int(data.get("max_term_months") or 36),
        ltv_caps={k: str(v) for k, v in (data.get("ltv_caps") or _default_caps()).items()},
        lpr_tenor=data.get("lpr_tenor") or "1y", spreads_bp={k: int(v) for k, v in (data.get("spreads_bp") or
                                                                                     {"A": 50, "B": 100, "C": 200}).items()},
        rate_floor=data.get("rate_floor"), rate_cap=data.get("rate_cap"),
        required_documents=data.get("required_documents") or [], risk_sharing=data.get("risk_sharing") or [],
        insurance=data.get("insurance") or [], park_ids=data.get("park_ids") or [], regions=data.get("regions") or [],
        first_loan_friendly=bool(data.get("first_loan_friendly")), inclusive_smb=bool(data.get("inclusive_smb")),
        min_innovation_grade=data.get("min_innovation_grade") or "",
        guarantee_fee_rate=Decimal(str(data.get("guarantee_fee_rate") or 0)),
        insurance_premium_rate=Decimal(str(data.get("insurance_premium_rate") or 0)))
    audit.record(actor=actor, action="product.create", obj=product, after={"name": product.name})
    return product


def _default_caps() -> dict:
    from ippledge.valuation.engine.lender import DEFAULT_LTV_CAPS

    return dict(DEFAULT_LTV_CAPS)


@transaction.atomic
def publish_need(*, actor, data: dict) -> FinancingNeed:
    if not (actor.is_platform_admin or actor.has_role("enterprise_user")):
        raise PermissionDenied(_("Enterprises publish their financing needs."))
    errors = {}
    amount = _fen(data.get("amount"), "amount")
    if amount <= 0:
        errors["amount"] = [_("Must be greater than zero.")]
    rights = []
    for i, ref in enumerate(data.get("rights") or []):
        try:
            right = rights_services.find_right(ref.get("kind", ""), ref.get("number", ""))
        except DomainError:
            errors[f"rights[{i}]"] = [_("No such right in the register.")]
            continue
        if actor.organisation and actor.organisation.uscc not in right.holders.values_list("id_number", flat=True):
            errors[f"rights[{i}]"] = [_("Offer only rights your enterprise holds.")]
        rights.append({"kind": right.kind, "number": right.number})
    if errors:
        raise ValidationFailed(_("The financing need is not valid."), fields=errors)
    need = FinancingNeed.objects.create(enterprise=actor.organisation, amount=amount,
                                        term_months=int(data.get("term_months") or 12),
                                        purpose=(data.get("purpose") or "")[:300], rights=rights,
                                        created_by=_user(actor))
    audit.record(actor=actor, action="need.publish", obj=need, after={"amount": amount})
    return need


def _need_view(need: FinancingNeed) -> dict:
    from ippledge.valuation.models import InnovationScore, ValuationRecord, ValuationStatus

    on = business_date.today()
    offered = []
    for ref in need.rights:
        right = rights_services.find_right(ref["kind"], ref["number"])
        record = ValuationRecord.objects.filter(valuation_rights__right=right, status=ValuationStatus.FINAL,
                                                valid_until__gte=on).order_by("-created_at").first()
        offered.append({"kind": right.kind, "number": right.number,
                        "in_force": right_rules.in_force_for_pledge(rights_services.state_of(right, on)),
                        "market_value": money.from_fen(record.market_value) if record else None})
    score = InnovationScore.objects.filter(enterprise=need.enterprise, scheme="composite").first()
    return {"id": need.pk, "amount": money.from_fen(need.amount), "term_months": need.term_months,
            "purpose": need.purpose, "rights": offered, "innovation_grade": score.grade if score else None,
            "region": need.enterprise.region_code, "park_id": None, "first_loan": not Loan.objects.filter(
                borrower=need.enterprise).exists(), "size_class": need.enterprise.size_class}


def _product_view(p: Product) -> dict:
    return {"id": p.pk, "bank": p.bank.name, "eligible_kinds": p.eligible_kinds,
            "min_amount": money.from_fen(p.min_amount), "max_amount": money.from_fen(p.max_amount),
            "min_term_months": p.min_term_months, "max_term_months": p.max_term_months,
            "ltv_caps": {k: Decimal(v) for k, v in p.ltv_caps.items()}, "regions": p.regions, "park_ids": p.park_ids,
            "first_loan_friendly": p.first_loan_friendly, "inclusive_smb": p.inclusive_smb,
            "min_innovation_grade": p.min_innovation_grade or None}


def match_products(need: FinancingNeed) -> list[dict]:
    from .engine import matching

    return matching.rank_products(_need_view(need), [_product_view(p) for p in Product.objects.filter(active=True)])


def match_needs(product: Product) -> list[dict]:
    from .engine import matching

    return matching.rank_needs(_product_view(product), [_need_view(n) for n in
                                                        FinancingNeed.objects.filter(status="open")])


# --- cases -------------------------------------------------------------------------------------------

def _prefill(case: CreditCase) -> None:
    """Answer the due-diligence checklist from the register where the platform knows the answer."""
    on = business_date.today()
    maturity = _maturity(on, case.term_months)
    found: dict[str, list[tuple[str, str]]] = {k: [] for k in DD_KEYS}
    for ref in case.rights:
        right = rights_services.find_right(ref["kind"], ref["number"])
        state = rights_services.state_of(right, on)
        holders = {o.id_number for o in state.owners}
        found["ownership"].append(("ok" if case.enterprise.uscc in holders else "issue",
                                   f"{right.number}: {', '.join(o.name for o in state.owners)}"))
        found["legal_state"].append(("ok" if right_rules.in_force_for_pledge(state) else "issue",
                                     f"{right.number}: {state.legal_state}"))
        live = registry.live_pledges_on(right)
        found["encumbrances"].append(("ok" if not live else "issue",
                                      f"{right.number}: {', '.join(p.registration_no for p in live) or '—'}"))
        term_ok = state.term_end is None or state.term_end >= maturity
        found["term_vs_loan"].append(("ok" if term_ok else "issue", f"{right.number}: {state.term_end}"))
        found["licences"].append(("issue" if "licensed" in state.flags else "ok", f"{right.number}"))
        risky = {"litigation", "ownership_dispute", "preserved", "seized", "suspended", "invalidation_pending"}
        found["litigation"].append(("issue" if risky & set(state.flags) else "ok",
                                    f"{right.number}: {', '.join(sorted(risky & set(state.flags))) or '—'}"))
        if right.kind in right_rules.PATENT_KINDS:
            found["annuity"].append(("issue" if state.legal_state == "annuity_grace" else "ok",
                                     f"{right.number}: {state.annuity_due_date or '—'}"))
    rows = []
    for key in DD_KEYS:
        results = found[key]
        verdict = "unknown" if not results else ("issue" if any(r == "issue" for r, _d in results) else "ok")
        rows.append(DueDiligenceItem(case=case, key=key, prefilled=verdict,
                                     prefilled_detail="; ".join(d for _r, d in results)[:500]))
    DueDiligenceItem.objects.bulk_create(rows)


@transaction.atomic
def open_case(*, actor, product_id: int, enterprise_id: int | None = None, need_id: int | None = None,
              amount=None, term_months: int | None = None, rights: list | None = None, purpose: str = "",
              valuation_no: str = "", first_loan: bool | None = None, park_id: int | None = None,
              profile: dict | None = None) -> CreditCase:
    """Expressing interest opens a case (from a need, by either side) or a bank opens one directly."""
    product = Product.objects.filter(pk=product_id, active=True).select_related("bank").first()
    if product is None:
        raise NotFound(_("No such product."), code="product_not_found")
    need = FinancingNeed.objects.filter(pk=need_id).first() if need_id else None
    enterprise = need.enterprise if need else Organisation.objects.filter(pk=enterprise_id, kind="enterprise").first()
    if enterprise is None:
        raise NotFound(_("No such enterprise."), code="enterprise_not_found")
    if actor.has_role("enterprise_user") and not actor.is_platform_admin:
        if actor.organisation_id != enterprise.pk:
            raise PermissionDenied(_("An enterprise applies only for itself."))
        preparer = User.objects.filter(organisation=product.bank, roles__role="bank_officer").order_by("pk").first()
        if preparer is None:
            raise Conflict(_("The bank has no loan officer to take the case."), code="no_officer")
    else:
        services._require_bank(actor, product.bank, {"bank_officer"})
        preparer = actor
    amount_fen = _fen(amount if amount is not None else (money.from_fen(need.amount) if need else "0"), "amount")
    term = int(term_months or (need.term_months if need else 12))
    refs = rights if rights is not None else (need.rights if need else [])
    errors = {}
    if not (product.min_amount <= amount_fen <= product.max_amount):
        errors["amount"] = [_("Outside the product's amount range.")]
    if not (product.min_term_months <= term <= product.max_term_months):
        errors["term_months"] = [_("Outside the product's term range.")]
    if not refs:
        errors["rights"] = [_("Name the rights offered as collateral.")]
    if errors:
        raise ValidationFailed(_("The application does not fit the product."), code="product_mismatch", fields=errors)
    max_loan = None
    if valuation_no:
        from ippledge.valuation.models import ValuationRecord

        record = ValuationRecord.objects.filter(valuation_no=valuation_no).first()
        if record is None:
            raise ValidationFailed(_("No such valuation."), fields={"valuation_no": [_("Not found.")]})
        max_loan = record.max_loan
        if max_loan is not None and amount_fen > max_loan:
            raise ValidationFailed(_("The amount is above the maximum loan the valuation supports."),
                                   code="above_max_loan", fields={"amount": [str(money.from_fen(max_loan))]})
    from ippledge.valuation.models import InnovationScore

    score = InnovationScore.objects.filter(enterprise=enterprise, scheme="composite").first()
    on = business_date.today()
    case = CreditCase.objects.create(
        case_no=numbers.next_number(f"case-{on.year}", f"CR{on.year}", 7), bank=product.bank, enterprise=enterprise,
        product=product, need=need, amount=amount_fen, term_months=term, purpose=purpose or (need.purpose if need
                                                                                               else ""),
        rights=refs, valuation_no=valuation_no, max_loan=max_loan, innovation_grade=score.grade if score else "",
        size_class=_size_class(enterprise, profile),
        first_loan=first_loan if first_loan is not None else not Loan.objects.filter(borrower=enterprise).exists(),
        stage_entered_at=timezone.now(), prepared_by=preparer,
        park_id=park_id)
    CaseStep.objects.create(case=case, to_stage=Stage.DUE_DILIGENCE, action="open", actor=_user(actor))
    _prefill(case)
    if need:
        FinancingNeed.objects.filter(pk=need.pk).update(status="matched")
    audit.record(actor=actor, action="credit_case.open", obj=case, object_repr=case.case_no,
                 after={"amount": amount_fen, "product": product.pk})
    return case


def _size_class(enterprise: Organisation, profile: dict | None) -> str:
    """The size class by the MIIT 2011 table from the application's figures, else the firm's profile."""
    if not profile or not profile.get("staff"):
        return enterprise.size_class
    from .engine import size

    industry = profile.get("industry") or size.industry_for((enterprise.industry or "C")[:1] or "C",
                                                            profile.get("subsector"))
    return size.size_class(industry, int(profile["staff"]), Decimal(str(profile.get("revenue") or 0)),
                           Decimal(str(profile["assets"])) if profile.get("assets") else None)


def get_case(*, actor, case_no: str, for_update: bool = False) -> CreditCase:
    pk = CreditCase.objects.restrict(actor, "view").filter(case_no=case_no).values_list("pk", flat=True).first()
    if pk is None:
        raise NotFound(_("No such credit case."), code="case_not_found")
    return (CreditCase.objects.select_for_update() if for_update else CreditCase.objects).get(pk=pk)


@transaction.atomic
def update_dd(*, actor, case_no: str, key: str, result: str, notes: str = "", evidence: list | None = None):
    case = get_case(actor=actor, case_no=case_no, for_update=True)
    services._require_bank(actor, case.bank, {"bank_officer"})
    if case.stage != Stage.DUE_DILIGENCE:
        raise Conflict(_("Due diligence is closed for this case."), code="wrong_stage")
    item = case.dd_items.filter(key=key).first()
    if item is None or result not in ("ok", "issue"):
        raise ValidationFailed(_("Give a checklist item and ok or issue."), fields={"key": [_("Not allowed.")]})
    item.result, item.notes = result, (notes or "")[:1000]
    if evidence:  # references typed by the officer; uploaded files (dicts) are kept
        item.evidence = ([e for e in item.evidence if isinstance(e, dict)] + [str(e)[:200] for e in evidence])[:20]
    item.save(update_fields=["result", "notes", "evidence"])
    audit.record(actor=actor, action="credit_case.dd", obj=case, object_repr=case.case_no,
                 after={"key": key, "result": result})
    return item


@transaction.atomic
def submit_for_review(*, actor, case_no: str, risk_grade: str = "B") -> CreditCase:
    case = get_case(actor=actor, case_no=case_no, for_update=True)
    services._require_bank(actor, case.bank, {"bank_officer"})
    if case.stage != Stage.DUE_DILIGENCE:
        raise Conflict(_("Only a case in due diligence can be submitted."), code="wrong_stage")
    missing = [i.key for i in case.dd_items.all() if not i.result]
    if missing:
        raise ValidationFailed(_("Complete every due-diligence item first."), code="dd_incomplete",
                               fields={"dd": missing})
    case.dd_signed_by, case.dd_signed_at, case.risk_grade = actor, timezone.now(), (risk_grade or "B")[:8]
    case.save(update_fields=["dd_signed_by", "dd_signed_at", "risk_grade"])
    _step(case, Stage.REVIEW, "submit", actor)
    return case


def _separate(actor, case: CreditCase) -> None:
    if actor.pk in (case.prepared_by_id, case.dd_signed_by_id):
        raise PermissionDenied(_("No one reviews or approves a case they prepared."), code="separation_of_duties")


@transaction.atomic
def review(*, actor, case_no: str, decision: str, note: str = "") -> CreditCase:
    case = get_case(actor=actor, case_no=case_no, for_update=True)
    services._require_bank(actor, case.bank, {"bank_reviewer"})
    _separate(actor, case)
    if case.stage != Stage.REVIEW:
        raise Conflict(_("This case is not in review."), code="wrong_stage")
    targets = {"pass": Stage.APPROVAL, "return": Stage.DUE_DILIGENCE, "decline": Stage.DECLINED}
    if decision not in targets:
        raise ValidationFailed(_("Choose pass, return or decline."), fields={"decision": [_("Not allowed.")]})
    if decision != "pass" and not note.strip():
        raise ValidationFailed(_("Give the reason."), fields={"note": [_("This field is required.")]})
    _step(case, targets[decision], decision, actor, note)
    return case


def price(case: CreditCase, on: dt.date) -> dict:
    from .engine import pricing

    fixing = lpr.rate_in_force(on, case.product.lpr_tenor)
    rate = pricing.rate_for(lpr=fixing.rate, spread_bp_by_grade=case.product.spreads_bp, grade=case.risk_grade,
                            floor=case.product.rate_floor, cap=case.product.rate_cap)
    subsidies = [{"name": s.name, "kind": s.kind, "value": s.value, "cap": money.from_fen(s.cap) if s.cap else None}
                 for s in SubsidyScheme.objects.filter(active=True, region_code__in=["", case.enterprise.region_code])]
    cost = pricing.all_in_cost(principal=money.from_fen(case.amount), annual_rate=rate, days=30 * case.term_months,
                               guarantee_fee_rate=case.product.guarantee_fee_rate,
                               insurance_premium_rate=case.product.insurance_premium_rate, subsidies=subsidies)
    from ippledge.valuation.engine.trace import render

    return render({"lpr": fixing.rate, "lpr_fixing_date": fixing.fixing_date.isoformat(), "tenor": fixing.tenor,
                   "spread_bp": case.product.spreads_bp.get(case.risk_grade), "rate": rate, "all_in": cost})


@transaction.atomic
def approve(*, actor, case_no: str, decision: str, note: str = "") -> CreditCase:
    """The approver decides; approval prices the loan, writes the contract and files the pledge."""
    case = get_case(actor=actor, case_no=case_no, for_update=True)
    services._require_bank(actor, case.bank, {"bank_approver"})
    _separate(actor, case)
    if case.stage != Stage.APPROVAL:
        raise Conflict(_("This case is not waiting for approval."), code="wrong_stage")
    if decision == "return":
        _step(case, Stage.REVIEW, "return", actor, note)
        return case
    if decision == "decline":
        if not note.strip():
            raise ValidationFailed(_("Give the reason."), fields={"note": [_("This field is required.")]})
        _step(case, Stage.DECLINED, "decline", actor, note)
        return case
    if decision != "approve":
        raise ValidationFailed(_("Choose approve, return or decline."), fields={"decision": [_("Not allowed.")]})
    authority = ApprovalAuthority.objects.filter(bank=case.bank, user=actor).first()
    if authority is not None and case.amount > authority.max_amount:
        raise PermissionDenied(_("The amount is above your approval authority."), code="above_authority")
    on = business_date.today()
    case.pricing = price(case, on)
    case.contract_no = f"{case.case_no}-ZY"
    case.save(update_fields=["pricing", "contract_no"])
    _step(case, Stage.APPROVED, "approve", actor, note)
    app = registry.file_application(actor=actor, data={
        "pledgors": [{"name": case.enterprise.name, "id_type": "uscc", "id_number": case.enterprise.uscc,
                      "address": case.enterprise.region_code or "—"}],
        "pledgees": [{"name": case.bank.name, "id_type": "uscc", "id_number": case.bank.uscc or "",
                      "address": case.bank.region_code or "—"}],
        "rights": case.rights,
        "secured_debt": {"type": "贷款", "amount": str(money.from_fen(case.amount)), "currency": "CNY"},
        "debt_due_date": _maturity(on, case.term_months).isoformat(),
        "guarantee_scope": "主债权及利息、违约金、损害赔偿金和实现质权的费用", "contract_no": case.contract_no,
        "registration_term_end": (_maturity(on, case.term_months) + dt.timedelta(days=365)).isoformat()
        if any(r["kind"] == "trademark" for r in case.rights) else None,
        "valuation_ref": case.valuation_no or None,
        "confirmations": {"pledgor": True, "pledgee": True}}, idempotency_key=f"case-{case.case_no}")
    case.pledge_application_no = app.application_no
    case.save(update_fields=["pledge_application_no"])
    _step(case, Stage.CONTRACTED, "contract", actor, app.status)
    return case


@transaction.atomic
def disburse(*, actor, case_no: str, schedule: str = "bullet") -> Loan:
    """Disburse only once the pledge is registered; draw the park line and count towards the plan."""
    case = get_case(actor=actor, case_no=case_no, for_update=True)
    services._require_bank(actor, case.bank, {"bank_officer", "bank_approver"})
    if case.stage != Stage.CONTRACTED:
        raise Conflict(_("This case is not contracted."), code="wrong_stage")
    app = PledgeApplication.objects.filter(application_no=case.pledge_application_no).first()
    pledge = getattr(app, "pledge", None) if app and app.status == "registered" else None
    if pledge is None:
        raise Conflict(_("The pledge is not registered yet: disbursement must wait."), code="pledge_not_registered")
    on = business_date.today()
    if case.park_id:
        line = ParkCreditLine.objects.select_for_update().filter(bank=case.bank, park_id=case.park_id,
                                                                  start_date__lte=on, end_date__gte=on).first()
        if line is None:
            raise Conflict(_("There is no park credit line in force for this park."), code="no_park_line")
        used = Loan.objects.filter(bank=case.bank, park_id=case.park_id).aggregate(s=Sum("balance"))["s"] or 0
        if used + case.amount > line.limit:
            raise Conflict(_("The park credit line has not enough headroom."), code="park_line_exhausted")
    loan = services.book_loan(actor=actor, data={
        "borrower_uscc": case.enterprise.uscc, "bank_org_id": case.bank_id, "amount": str(money.from_fen(case.amount)),
        "annual_rate": case.pricing.get("rate"), "start_date": on,
        "maturity_date": _maturity(on, case.term_months), "schedule": schedule,
        "pledge_registration_no": pledge.registration_no, "ip_kind": _ip_kind(case.rights),
        "first_loan": case.first_loan, "inclusive_smb": case.size_class in ("small", "micro") and case.amount <=
        money.to_fen("10000000"), "park_id": case.park_id})
    case.loan = loan
    case.save(update_fields=["loan"])
    _step(case, Stage.DISBURSED, "disburse", actor, loan.loan_no)
    return loan


def _maturity(start: dt.date, months: int) -> dt.date:
    """The same day ``months`` later (month-end clamped), as loan contracts count terms."""
    from .engine.schedule import add_months

    return add_months(start, months)


def _ip_kind(rights: list[dict]) -> str:
    kinds = {"patent" if r["kind"] in right_rules.PATENT_KINDS else ("copyright" if r["kind"] == "software"
                                                                      else r["kind"]) for r in rights}
    return kinds.pop() if len(kinds) == 1 else "bundle"


def sla(case: CreditCase) -> dict:
    limit = SLA_DAYS.get(case.stage)
    if limit is None:
        return {"limit_days": None, "elapsed_days": None, "overdue": False}
    elapsed = (timezone.now() - case.stage_entered_at).total_seconds() / 86400
    return {"limit_days": limit, "elapsed_days": round(elapsed, 1), "overdue": elapsed > limit}


# --- plans, lines, exemptions, investments ----------------------------------------------------------

def plan_progress(bank: Organisation, year: int) -> dict:
    plan = CreditPlan.objects.filter(bank=bank, year=year).first()
    loans = Loan.objects.filter(bank=bank, start_date__year=year)
    lent = loans.aggregate(s=Sum("amount"))["s"] or 0
    households = loans.values("borrower").distinct().count()
    return {"year": year, "plan_households": plan.households if plan else None,
            "plan_amount": str(money.from_fen(plan.amount)) if plan else None, "households": households,
            "amount": str(money.from_fen(lent)),
            "households_pct": round(100 * households / plan.households, 1) if plan and plan.households else None,
            "amount_pct": round(100 * lent / plan.amount, 1) if plan and plan.amount else None}


def park_line_usage(line: ParkCreditLine) -> dict:
    used = Loan.objects.filter(bank=line.bank, park=line.park).aggregate(s=Sum("balance"))["s"] or 0
    return {"park": line.park.name, "limit": str(money.from_fen(line.limit)), "used": str(money.from_fen(used)),
            "headroom": str(money.from_fen(line.limit - used)), "start_date": line.start_date.isoformat(),
            "end_date": line.end_date.isoformat()}


@transaction.atomic
def request_exemption(*, actor, loan_no: str, statement: str) -> ExemptionRequest:
    loan = services.get_loan(actor=actor, loan_no=loan_no)
    services._require_bank(actor, loan.bank)
    if loan.classification != "loss":
        raise Conflict(_("Due-diligence exemption applies to loans classified as loss."), code="not_a_loss")
    case = getattr(loan, "case", None)
    evidence = {"case_no": case.case_no if case else None,
                "dd": [{"key": i.key, "result": i.result, "notes": i.notes} for i in case.dd_items.all()] if case else [],
                "trail": [{"action": s.action, "to": s.to_stage, "by": s.actor.username if s.actor else None,
                           "at": s.at.isoformat(), "note": s.note} for s in case.steps.all()] if case else []}
    row = ExemptionRequest.objects.create(loan=loan, requested_by=actor, statement=statement[:4000], evidence=evidence)
    audit.record(actor=actor, action="exemption.request", obj=row, object_repr=loan.loan_no)
    return row


@transaction.atomic
def decide_exemption(*, actor, request_id: int, grant: bool, reason: str) -> ExemptionRequest:
    row = ExemptionRequest.objects.select_for_update().select_related("loan").filter(pk=request_id).first()
    if row is None:
        raise NotFound(_("No such request."), code="exemption_not_found")
    services._require_bank(actor, row.loan.bank, {"bank_reviewer", "bank_approver"})
    if actor.pk == row.requested_by_id:
        raise PermissionDenied(_("No one decides their own request."), code="separation_of_duties")
    if not reason.strip():
        raise ValidationFailed(_("Give the reason."), fields={"reason": [_("This field is required.")]})
    row.status, row.decided_by, row.decided_at, row.decision_reason = ("granted" if grant else "refused"), actor, \
        timezone.now(), reason[:500]
    row.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    audit.record(actor=actor, action="exemption.decide", obj=row, after={"status": row.status})
    return row


@transaction.atomic
def record_investment(*, actor, enterprise_id: int, fund_name: str, amount, date, stake=None) -> PartnerInvestment:
    services._require_bank(actor, roles={"bank_officer", "fund_manager"})
    org = Organisation.objects.filter(pk=enterprise_id, kind="enterprise").first()
    if org is None:
        raise NotFound(_("No such enterprise."), code="enterprise_not_found")
    row = PartnerInvestment.objects.create(enterprise=org, fund_name=fund_name[:200], amount=_fen(amount, "amount"),
                                           date=date, stake=stake, recorded_by=_user(actor))
    audit.record(actor=actor, action="investment.record", obj=row, after={"fund": fund_name})
    return row


@transaction.atomic
def set_plan(*, actor, bank_org_id: int, year: int, households: int, amount) -> CreditPlan:
    """A bank's dedicated yearly IP-pledge credit plan (单列信贷计划); a new figure replaces the old."""
    bank = Organisation.objects.filter(pk=bank_org_id, kind="bank").first()
    if bank is None:
        raise NotFound(_("No such bank."), code="bank_not_found")
    services._require_bank(actor, bank, {"bank_approver"})
    if households < 0 or year < 2000:
        raise ValidationFailed(_("The plan is not valid."), fields={"households": [_("Must be zero or more.")]})
    plan, _created = CreditPlan.objects.update_or_create(bank=bank, year=year, defaults={
        "households": households, "amount": _fen(amount, "amount")})
    audit.record(actor=actor, action="credit_plan.set", obj=plan, after={"year": year, "households": households,
                                                                          "amount": plan.amount})
    return plan


@transaction.atomic
def grant_park_line(*, actor, bank_org_id: int, park_name: str, limit, start_date: dt.date,
                    end_date: dt.date) -> ParkCreditLine:
    """A park intent credit line (园区意向性授信额度) granted by a bank to an industrial park."""
    from .models import Park

    bank = Organisation.objects.filter(pk=bank_org_id, kind="bank").first()
    if bank is None:
        raise NotFound(_("No such bank."), code="bank_not_found")
    services._require_bank(actor, bank, {"bank_approver"})
    if end_date <= start_date or not (park_name or "").strip():
        raise ValidationFailed(_("The park credit line is not valid."),
                               fields={"end_date": [_("Must be later than the start date.")]})
    park, _created = Park.objects.get_or_create(name=park_name.strip()[:200])
    line = ParkCreditLine.objects.create(bank=bank, park=park, limit=_fen(limit, "limit"), start_date=start_date,
                                         end_date=end_date)
    audit.record(actor=actor, action="park_line.grant", obj=line, after={"park": park.name, "limit": line.limit})
    return line


@transaction.atomic
def add_subsidy_scheme(*, actor, name: str, kind: str, value, cap=None, region_code: str = "") -> SubsidyScheme:
    if not (getattr(actor, "is_authenticated", False) and (actor.is_platform_admin or actor.has_role("regulator_user"))):
        raise PermissionDenied(_("Subsidy schemes are kept by the operator or a regulator."))
    if kind not in ("rate", "share_of_interest", "amount") or not (name or "").strip():
        raise ValidationFailed(_("The subsidy scheme is not valid."), fields={"kind": [_("Not allowed.")]})
    row = SubsidyScheme.objects.create(name=name.strip()[:200], kind=kind, value=Decimal(str(value)),
                                       cap=_fen(cap, "cap") if cap not in (None, "") else None,
                                       region_code=(region_code or "")[:6])
    audit.record(actor=actor, action="subsidy.add", obj=row, after={"name": row.name})
    return row


EVIDENCE_MAX_BYTES = 10 * 1024 * 1024


@transaction.atomic
def attach_evidence(*, actor, case_no: str, key: str, name: str, content: bytes) -> dict:
    """Keep an evidence file for a due-diligence item in the data directory, recorded with its hash."""
    import hashlib
    import re
    import uuid
    from pathlib import Path

    from django.conf import settings

    case = get_case(actor=actor, case_no=case_no, for_update=True)
    services._require_bank(actor, case.bank, {"bank_officer"})
    item = case.dd_items.filter(key=key).first()
    if item is None:
        raise ValidationFailed(_("Give a checklist item and ok or issue."), fields={"key": [_("Not allowed.")]})
    if not content or len(content) > EVIDENCE_MAX_BYTES:
        raise ValidationFailed(_("Attach a file of at most 10 MB."), code="invalid_file",
                               fields={"file": [_("Out of the allowed range.")]})
    safe = re.sub(r"[^\w.\-]+", "_", name or "evidence")[-80:]
    stored = f"{uuid.uuid4().hex[:12]}_{safe}"
    folder = Path(settings.DATA_DIR) / "evidence" / case.case_no
    folder.mkdir(parents=True, exist_ok=True)
    (folder / stored).write_bytes(content)
    ref = {"file": stored, "name": name[:200], "sha256": hashlib.sha256(content).hexdigest(), "bytes": len(content)}
    item.evidence = [*item.evidence, ref][:20]
    item.save(update_fields=["evidence"])
    audit.record(actor=actor, action="credit_case.evidence", obj=case, object_repr=case.case_no,
                 after={"key": key, "file": stored, "sha256": ref["sha256"]})
    return ref


def evidence_path(*, actor, case_no: str, stored: str):
    from pathlib import Path

    from django.conf import settings

    case = get_case(actor=actor, case_no=case_no)
    if not any(isinstance(e, dict) and e.get("file") == stored for i in case.dd_items.all() for e in i.evidence):
        raise NotFound(_("Not found."), code="evidence_not_found")
    return Path(settings.DATA_DIR) / "evidence" / case.case_no / stored
