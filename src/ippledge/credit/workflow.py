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
from django.utils.translation import gettext_lazy

from ippledge.core import audit, business_date, limits, money, numbers
from ippledge.core.actors import user_or_none as _user
from ippledge.core.errors import (
    Conflict,
    DomainError,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from ippledge.core.models import Organisation, User
from ippledge.core.permissions import BANK_STAFF, REGULATORS
from ippledge.core.roles import Role
from ippledge.registry import services as registry
from ippledge.registry.filing import PledgeFiling
from ippledge.registry.models import PledgeApplication
from ippledge.rights import rules as right_rules
from ippledge.rights import services as rights_services

from . import inputs, quote, services
from .models import (
    NON_PERFORMING,
    SLA_DAYS,
    ApprovalAuthority,
    CaseFiling,
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
    ScheduleKind,
    Stage,
    SubsidyScheme,
)

DD_KEYS = ("ownership", "legal_state", "encumbrances", "term_vs_loan", "licences", "litigation", "annuity")



def _step(case: CreditCase, to_stage: str, action: str, actor, note: str = "") -> None:
    note = inputs.text(note, "note", max_length=CaseStep._meta.get_field("note").max_length)
    CaseStep.objects.create(case=case, from_stage=case.stage, to_stage=to_stage, action=action, note=note,
                            actor=_user(actor))
    audit.record(actor=actor, action=f"credit_case.{action}", obj=case, object_repr=case.case_no,
                 before={"stage": case.stage}, after={"stage": to_stage, "note": note})
    case.stage, case.stage_entered_at = to_stage, timezone.now()
    case.save(update_fields=["stage", "stage_entered_at"])


# --- products and needs ---------------------------------------------------------------------------

PRODUCT_KINDS = ("patent", "trademark", "copyright", "bundle", "geographical_indication")
RISK_GRADE_LENGTH = 8  # CreditCase.risk_grade
INNOVATION_GRADES = tuple(f"T{n}" for n in range(1, 11))


def _product_bank(actor, data: dict) -> Organisation:
    """The bank a product is defined for: the actor's own, or one named by ``bank_org_id`` that the actor
    acts for (its own bank or a branch of it, as for every bank write); an administrator names any."""
    services.require_bank_staff(actor, roles=services.DECIDERS)
    bank_id = inputs.optional_id(data.get("bank_org_id"), "bank_org_id")
    if bank_id is None:
        bank = None if actor.is_platform_admin else actor.organisation
    else:
        bank = Organisation.objects.filter(pk=bank_id).first()
    if bank is None or bank.kind != "bank":
        raise NotFound(_("No such bank."), code="bank_not_found", fields={"bank_org_id": [_("Not found.")]})
    try:
        services.require_bank_staff(actor, bank, services.DECIDERS)
    except PermissionDenied:
        raise PermissionDenied(_("A bank defines products for itself and its branches only."),
                               code="not_your_bank") from None
    return bank


def _text_list(check, value, field: str, *, max_items: int | None = None) -> list[str]:
    values = check(inputs.entries, value, field, max_items=max_items) or []
    return [v for i, item in enumerate(values) if (v := check(inputs.short, item, f"{field}[{i}]", required=True))]


def _product_terms(data: dict) -> dict:
    from ippledge.valuation.engine.lender import DEFAULT_LTV_CAPS

    from .models import Park

    check = inputs.Checks()
    low = check(inputs.fen, data.get("min_amount"), "min_amount")
    high = check(inputs.fen, data.get("max_amount"), "max_amount")
    if low is not None and high is not None and low > high:
        check.fail("max_amount", _("Give an amount range from the minimum to the maximum."))
    max_term = limits.limit("MAX_TERM_MONTHS")
    min_months = check(inputs.whole, 1 if data.get("min_term_months") is None else data["min_term_months"],
                       "min_term_months", low=1, high=max_term)
    max_months = check(inputs.whole, 36 if data.get("max_term_months") is None else data["max_term_months"],
                       "max_term_months", low=1, high=max_term)
    if min_months is not None and max_months is not None and min_months > max_months:
        check.fail("max_term_months", _("Give a term range from the minimum to the maximum."))
    kinds = check(inputs.entries, data.get("eligible_kinds"), "eligible_kinds", max_items=len(PRODUCT_KINDS)) or []
    for i, kind in enumerate(kinds):
        check(inputs.choice, kind, f"eligible_kinds[{i}]", PRODUCT_KINDS)
    if not kinds:
        check.fail("eligible_kinds", _("Name at least one kind of IP."))
    caps = check(inputs.mapping, data.get("ltv_caps") or _default_caps(), "ltv_caps",
                 max_items=len(DEFAULT_LTV_CAPS)) or {}
    ltv_caps = {}
    for kind, cap in caps.items():
        if check(inputs.choice, kind, f"ltv_caps.{kind}", tuple(DEFAULT_LTV_CAPS)) is not None:
            value = check(inputs.fraction, str(cap) if isinstance(cap, Decimal) else cap, f"ltv_caps.{kind}",
                          max_percent=100)
            ltv_caps[kind] = str(value)
    spreads = check(inputs.mapping, data.get("spreads_bp") or {"A": 50, "B": 100, "C": 200}, "spreads_bp",
                    max_items=20) or {}
    bp = limits.limit("MAX_RATE_PERCENT") * 100
    spreads_bp = {}
    for grade, spread in spreads.items():
        if check(inputs.short, grade, f"spreads_bp.{grade}", required=True, max_length=RISK_GRADE_LENGTH):
            # A spread may be negative (LPR minus a discount), within the rate limit either way.
            spreads_bp[grade] = check(inputs.whole, spread, f"spreads_bp.{grade}", low=-bp, high=bp)
    floor = check(inputs.fraction, data["rate_floor"], "rate_floor") if data.get("rate_floor") is not None else None
    cap = check(inputs.fraction, data["rate_cap"], "rate_cap") if data.get("rate_cap") is not None else None
    if floor is not None and cap is not None and floor > cap:
        check.fail("rate_floor", _("The rate floor must not be above the rate cap."))
    parks = check(inputs.entries, data.get("park_ids"), "park_ids", max_items=limits.limit("MAX_LIST")) or []
    park_ids = [p for i, v in enumerate(parks) if (p := check(inputs.optional_id, v, f"park_ids[{i}]"))]
    if len(set(park_ids)) != Park.objects.filter(pk__in=park_ids).count():
        check.fail("park_ids", _("No such park."), "unknown_park")
    regions = _text_list(check, data.get("regions"), "regions")
    for i, code in enumerate(regions):
        if not (len(code) == 6 and code.isascii() and code.isdigit()):
            check.fail(f"regions[{i}]", _("Give a six-digit administrative division code (GB/T 2260)."))
    grade = check(inputs.choice, data.get("min_innovation_grade"), "min_innovation_grade", INNOVATION_GRADES,
                  default="")
    terms = {
        "name": check(inputs.short, data.get("name"), "name", required=True),
        "eligible_kinds": kinds, "min_amount": low, "max_amount": high, "min_term_months": min_months,
        "max_term_months": max_months, "ltv_caps": ltv_caps,
        "valuation_validity_months": check(inputs.whole, data.get("valuation_validity_months") or 12,
                                           "valuation_validity_months", low=1, high=60),
        "review_frequency_months": check(inputs.whole, data.get("review_frequency_months") or 3,
                                         "review_frequency_months", low=1, high=24),
        "lpr_tenor": check(inputs.choice, data.get("lpr_tenor"), "lpr_tenor", ("1y", "5y"), default="1y"),
        "spreads_bp": spreads_bp, "rate_floor": floor, "rate_cap": cap,
        "required_documents": _text_list(check, data.get("required_documents"), "required_documents"),
        "risk_sharing": _text_list(check, data.get("risk_sharing"), "risk_sharing"),
        "insurance": _text_list(check, data.get("insurance"), "insurance"),
        "park_ids": park_ids, "regions": regions,
        "first_loan_friendly": check(inputs.flag, data.get("first_loan_friendly"), "first_loan_friendly"),
        "inclusive_smb": check(inputs.flag, data.get("inclusive_smb"), "inclusive_smb"),
        "min_innovation_grade": grade,
        "guarantee_fee_rate": check(inputs.fraction, data.get("guarantee_fee_rate") or "0", "guarantee_fee_rate"),
        "insurance_premium_rate": check(inputs.fraction, data.get("insurance_premium_rate") or "0",
                                        "insurance_premium_rate"),
    }
    check.done(_("The product is not valid."))
    return terms


@transaction.atomic
def create_product(*, actor, data: dict) -> Product:
    bank = _product_bank(actor, data)
    product = Product.objects.create(bank=bank, **_product_terms(data))
    audit.record(actor=actor, action="product.create", obj=product, after={"name": product.name, "bank": bank.pk})
    return product


def _default_caps() -> dict:
    from ippledge.valuation.engine.lender import DEFAULT_LTV_CAPS

    return dict(DEFAULT_LTV_CAPS)


def _right_refs(check, value, field: str = "rights") -> list[dict]:
    refs = check(inputs.entries, value, field, max_items=limits.limit("MAX_RIGHTS")) or []
    result = []
    for i, ref in enumerate(refs):
        if not isinstance(ref, dict):
            check.fail(f"{field}[{i}]", _("Name a right by its kind and number."))
            continue
        kind = check(inputs.short, ref.get("kind"), f"{field}[{i}].kind", required=True)
        number = check(inputs.short, ref.get("number"), f"{field}[{i}].number", required=True)
        if kind and number:
            result.append({"kind": kind, "number": number})
    return result


@transaction.atomic
def publish_need(*, actor, data: dict) -> FinancingNeed:
    if not (actor.is_platform_admin or actor.has_role(Role.ENTERPRISE_USER)):
        raise PermissionDenied(_("Enterprises publish their financing needs."))
    check = inputs.Checks()
    amount = check(inputs.fen, data.get("amount"), "amount")
    term = check(inputs.whole, 12 if data.get("term_months") in (None, "") else data["term_months"], "term_months",
                 low=1, high=limits.limit("MAX_TERM_MONTHS"))
    purpose = check(inputs.text, data.get("purpose"), "purpose",
                    max_length=FinancingNeed._meta.get_field("purpose").max_length)
    refs = _right_refs(check, data.get("rights"))
    check.done(_("The financing need is not valid."))
    errors = {}
    rights = []
    for i, ref in enumerate(refs):
        try:
            right = rights_services.find_right(ref["kind"], ref["number"])
        except DomainError:
            errors[f"rights[{i}]"] = [_("No such right in the register.")]
            continue
        if actor.organisation and actor.organisation.uscc not in right.holders.values_list("id_number", flat=True):
            errors[f"rights[{i}]"] = [_("Offer only rights your enterprise holds.")]
        rights.append({"kind": right.kind, "number": right.number})
    if errors:
        raise ValidationFailed(_("The financing need is not valid."), fields=errors)
    need = FinancingNeed.objects.create(enterprise=actor.organisation, amount=amount, term_months=term,
                                        purpose=purpose, rights=rights, created_by=_user(actor))
    audit.record(actor=actor, action="need.publish", obj=need, after={"amount": amount})
    return need


def _need_view(need: FinancingNeed) -> dict:
    return _need_views([need])[0]


def _need_views(needs: list[FinancingNeed]) -> list[dict]:
    """The matching engine's view of each need (its rights in force and valued, the enterprise's grade,
    region, size and whether it borrowed before), read for all the needs together: a few queries for a
    list, not several per need."""
    from django.db.models import Q

    from ippledge.core import identifiers
    from ippledge.rights.models import Right
    from ippledge.valuation.models import InnovationScore, ValuationRight, ValuationStatus

    on = business_date.today()
    normal: dict[tuple[str, str], tuple[str, str] | None] = {}
    for ref in (ref for n in needs for ref in n.rights):
        key = (ref["kind"], ref["number"])
        try:
            normal[key] = (ref["kind"], identifiers.normalise_right_number(*key))
        except DomainError:
            normal[key] = None
    query = Q()
    for kind, number in {k for k in normal.values() if k is not None}:
        query |= Q(kind=kind, number=number)
    rights = {(r.kind, r.number): r for r in Right.objects.filter(query).prefetch_related("events")} if query else {}

    def right_of(ref: dict) -> Right:
        key = normal.get((ref["kind"], ref["number"]))
        # A reference that is not in the register answers as find_right answers it (not found).
        return rights.get(key) if key in rights else rights_services.find_right(ref["kind"], ref["number"])

    # The market value of each right's latest final valuation still valid today.
    values: dict[int, int | None] = {}
    for right_id, value in ValuationRight.objects.filter(
            right_id__in=[r.pk for r in rights.values()], valuation__status=ValuationStatus.FINAL,
            valuation__valid_until__gte=on).order_by("-valuation__created_at", "-valuation_id") \
            .values_list("right_id", "valuation__market_value"):
        values.setdefault(right_id, value)
    enterprises = {n.enterprise_id for n in needs}
    grades: dict[int, str] = {}
    for enterprise_id, grade in InnovationScore.objects.filter(enterprise_id__in=enterprises, scheme="composite") \
            .values_list("enterprise_id", "grade"):
        grades.setdefault(enterprise_id, grade)
    borrowed = set(Loan.objects.filter(borrower_id__in=enterprises).values_list("borrower_id", flat=True).distinct()) \
        if enterprises else set()
    out = []
    for need in needs:
        offered = []
        for ref in need.rights:
            right = right_of(ref)
            offered.append({"kind": right.kind, "number": right.number,
                            "in_force": right_rules.in_force_for_pledge(rights_services.state_of(right, on)),
                            "market_value": money.from_fen(values[right.pk]) if right.pk in values else None})
        out.append({"id": need.pk, "amount": money.from_fen(need.amount), "term_months": need.term_months,
                    "purpose": need.purpose, "rights": offered, "innovation_grade": grades.get(need.enterprise_id),
                    "region": need.enterprise.region_code, "park_id": None,
                    "first_loan": need.enterprise_id not in borrowed, "size_class": need.enterprise.size_class})
    return out


def _product_view(p: Product) -> dict:
    return {"id": p.pk, "bank": p.bank.name, "eligible_kinds": p.eligible_kinds,
            "min_amount": money.from_fen(p.min_amount), "max_amount": money.from_fen(p.max_amount),
            "min_term_months": p.min_term_months, "max_term_months": p.max_term_months,
            "ltv_caps": {k: Decimal(v) for k, v in p.ltv_caps.items()}, "regions": p.regions, "park_ids": p.park_ids,
            "first_loan_friendly": p.first_loan_friendly, "inclusive_smb": p.inclusive_smb,
            "min_innovation_grade": p.min_innovation_grade or None}


MATCH_READER_ROLES = BANK_STAFF | REGULATORS


def _may_read_matches(actor, need: FinancingNeed | None = None) -> None:
    """A ranking shows the value of the rights a need offers: banks (who lend on them), regulators and the
    enterprise whose need it is read it; another enterprise or an insurer does not."""
    if not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated(_("Authentication is required."))
    if actor.is_platform_admin or actor.role_set & MATCH_READER_ROLES:
        return
    if need is not None and actor.organisation_id and actor.organisation_id == need.enterprise_id:
        return
    raise PermissionDenied(_("Matching is read by banks, regulators and the enterprise whose need it is."))


def match_products(*, actor, need: FinancingNeed) -> list[dict]:
    from .engine import matching

    _may_read_matches(actor, need)
    return matching.rank_products(_need_view(need), [_product_view(p) for p in
                                                     Product.objects.filter(active=True).select_related("bank")])


def match_needs(*, actor, product: Product) -> list[dict]:
    from .engine import matching

    _may_read_matches(actor)
    return matching.rank_needs(_product_view(product), _need_views(list(
        FinancingNeed.objects.filter(status="open").select_related("enterprise"))))


# --- cases -------------------------------------------------------------------------------------------

def _prefill(case: CreditCase) -> None:
    """Answer the due-diligence checklist from the register where the platform knows the answer (the
    detail in the platform's language, states and flags by their labels)."""
    from django.conf import settings
    from django.utils import translation

    from ippledge.core import vocabulary

    with translation.override(settings.LANGUAGE_CODE):
        _prefill_items(case, vocabulary)


def _prefill_items(case: CreditCase, vocabulary) -> None:
    from ippledge.core.identifiers import PATENT_KINDS, format_patent_number

    on = business_date.today()
    maturity = _maturity(on, case.term_months)
    found: dict[str, list[tuple[str, str]]] = {k: [] for k in DD_KEYS}
    for ref in case.rights:
        right = rights_services.find_right(ref["kind"], ref["number"])
        state = rights_services.state_of(right, on)
        shown = format_patent_number(right.number) if right.kind in PATENT_KINDS else right.number
        holders = {o.id_number for o in state.owners}
        found["ownership"].append(("ok" if case.enterprise.uscc in holders else "issue",
                                   f"{shown}: {', '.join(o.name for o in state.owners)}"))
        found["legal_state"].append(("ok" if right_rules.in_force_for_pledge(state) else "issue",
                                     f"{shown}: {vocabulary.label('legal_state', state.legal_state)}"))
        live = registry.live_pledges_on(right)
        found["encumbrances"].append(("ok" if not live else "issue",
                                      f"{shown}: {', '.join(p.registration_no for p in live) or '—'}"))
        term_ok = state.term_end is None or state.term_end >= maturity
        found["term_vs_loan"].append(("ok" if term_ok else "issue", f"{shown}: {state.term_end}"))
        found["licences"].append(("issue" if "licensed" in state.flags else "ok", shown))
        risky = {"litigation", "ownership_dispute", "preserved", "seized", "suspended", "invalidation_pending"}
        found["litigation"].append(("issue" if risky & set(state.flags) else "ok",
                                    f"{shown}: {', '.join(vocabulary.label('right_flag', f) for f in sorted(risky & set(state.flags))) or '—'}"))
        if right.kind in right_rules.PATENT_KINDS:
            found["annuity"].append(("issue" if state.legal_state == "annuity_grace" else "ok",
                                     f"{shown}: {state.annuity_due_date or '—'}"))
    rows = []
    for key in DD_KEYS:
        results = found[key]
        verdict = "unknown" if not results else ("issue" if any(r == "issue" for r, _d in results) else "ok")
        rows.append(DueDiligenceItem(case=case, key=key, prefilled=verdict,
                                     prefilled_detail="; ".join(d for _r, d in results)[:500]))
    DueDiligenceItem.objects.bulk_create(rows)


@transaction.atomic
def open_case(*, actor, product_id, enterprise_id=None, need_id=None, amount=None, term_months=None,
              rights: list | None = None, purpose="", valuation_no="", first_loan=None, park_id=None,
              profile: dict | None = None) -> CreditCase:
    """Expressing interest opens a case (from a need, by either side) or a bank opens one directly."""
    if not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated(_("Authentication is required."))
    if not (actor.is_platform_admin or actor.has_role(Role.ENTERPRISE_USER, Role.BANK_OFFICER)):
        raise PermissionDenied(_("A loan officer or the enterprise itself opens a credit case."))
    ids = inputs.Checks()
    product_id = ids(inputs.optional_id, product_id, "product_id")
    need_id = ids(inputs.optional_id, need_id, "need_id")
    enterprise_id = ids(inputs.optional_id, enterprise_id, "enterprise_id")
    ids.done(_("The application is not valid."))
    product = Product.objects.filter(pk=product_id, active=True).select_related("bank").first() if product_id else None
    if product is None:
        raise NotFound(_("No such product."), code="product_not_found")
    need = FinancingNeed.objects.filter(pk=need_id).first() if need_id else None
    enterprise = need.enterprise if need else Organisation.objects.filter(pk=enterprise_id, kind="enterprise").first()
    if enterprise is None:
        raise NotFound(_("No such enterprise."), code="enterprise_not_found")
    if actor.has_role(Role.ENTERPRISE_USER) and not actor.is_platform_admin:
        if actor.organisation_id != enterprise.pk:
            raise PermissionDenied(_("An enterprise applies only for itself."))
        preparer = User.objects.filter(organisation=product.bank, roles__role=Role.BANK_OFFICER).order_by("pk").first()
        if preparer is None:
            raise Conflict(_("The bank has no loan officer to take the case."), code="no_officer")
    else:
        services.require_bank_staff(actor, product.bank, frozenset({Role.BANK_OFFICER}))
        preparer = actor
    check = inputs.Checks()
    if amount is not None:
        amount_fen = check(inputs.fen, amount, "amount")
    elif need:
        amount_fen = need.amount
    else:
        amount_fen = None
        check.fail("amount", _("This field is required."))
    term = check(inputs.whole, term_months, "term_months", low=1, high=limits.limit("MAX_TERM_MONTHS")) \
        if term_months is not None else (need.term_months if need else 12)
    refs = _right_refs(check, rights) if rights is not None else (need.rights if need else [])
    purpose = check(inputs.text, purpose, "purpose", max_length=CreditCase._meta.get_field("purpose").max_length)
    valuation_no = check(inputs.short, valuation_no, "valuation_no",
                         max_length=CreditCase._meta.get_field("valuation_no").max_length)
    first_loan = check(inputs.flag, first_loan, "first_loan", default=None)
    park_id = check(inputs.optional_id, park_id, "park_id")
    profile = check(_profile, profile) if profile is not None else None
    check.done(_("The application is not valid."))
    errors = {}
    if not (product.min_amount <= amount_fen <= product.max_amount):
        errors["amount"] = [_("Outside the product's amount range.")]
    if not (product.min_term_months <= term <= product.max_term_months):
        errors["term_months"] = [_("Outside the product's term range.")]
    if not refs:
        errors["rights"] = [_("Name the rights offered as collateral.")]
    if errors:
        raise ValidationFailed(_("The application does not fit the product."), code="product_mismatch", fields=errors)
    if park_id is not None:
        from .models import Park

        if not Park.objects.filter(pk=park_id).exists():
            raise ValidationFailed(_("No such park."), code="unknown_park", fields={"park_id": [_("Not found.")]})
    max_loan = None
    if valuation_no:
        # The same checks as attaching it later; the amount is held against the maximum at approval.
        record = _readable_valuation(actor, valuation_no)
        try:
            right_ids = _right_ids(refs)
        except DomainError:
            raise ValidationFailed(_("No such right in the register."), fields={"rights": [_("Not found.")]}) \
                from None
        _check_valuation(record, right_ids, business_date.today())
        max_loan = _max_loan(product, record)
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


def _profile(value) -> dict:
    """The application's figures for the size class: staff, revenue and assets (yuan), industry."""
    if not isinstance(value, dict):
        raise ValidationFailed(_("Give the profile as an object."), fields={"profile": [_("Give an object.")]})
    check = inputs.Checks()
    result = {
        "staff": check(inputs.whole, value.get("staff"), "profile.staff", low=0, high=limits.limit("MAX_STAFF")),
        "revenue": check(inputs.fen, value.get("revenue") or "0", "profile.revenue", allow_zero=True),
        "assets": check(inputs.fen, value["assets"], "profile.assets", allow_zero=True)
        if value.get("assets") not in (None, "") else None,
        "industry": check(inputs.short, value.get("industry"), "profile.industry") or None,
        "subsector": check(inputs.short, value.get("subsector"), "profile.subsector") or None,
    }
    check.done(_("The profile is not valid."))
    return result


def _size_class(enterprise: Organisation, profile: dict | None) -> str:
    """The size class by the MIIT 2011 table from the application's figures, else the firm's profile."""
    if not profile or not profile.get("staff"):
        return enterprise.size_class
    from .engine import size

    industry = profile.get("industry") or size.industry_for((enterprise.industry or "C")[:1] or "C",
                                                            profile.get("subsector"))
    return size.size_class(industry, profile["staff"], money.from_fen(profile["revenue"]),
                           money.from_fen(profile["assets"]) if profile.get("assets") is not None else None)


def reads_internals(actor, case: CreditCase) -> bool:
    """Whether ``actor`` reads the bank's internal file of a case (due diligence, grades, who did what and
    their notes): the lending bank's staff (and its head office) and administrators; not the borrower."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return False
    return bool(actor.is_platform_admin or (actor.organisation_id and actor.organisation_id in
                                            (case.bank_id, case.bank.parent_id)))


def get_case(*, actor, case_no: str, for_update: bool = False) -> CreditCase:
    pk = CreditCase.objects.restrict(actor, "view").filter(case_no=case_no).values_list("pk", flat=True).first()
    if pk is None:
        raise NotFound(_("No such credit case."), code="case_not_found")
    return (CreditCase.objects.select_for_update() if for_update else CreditCase.objects).get(pk=pk)


@transaction.atomic
def update_dd(*, actor, case_no: str, key: str, result: str, notes: str = "", evidence: list | None = None):
    services.require_bank_staff(actor, roles=frozenset({Role.BANK_OFFICER}))
    case = get_case(actor=actor, case_no=case_no, for_update=True)
    services.require_bank_staff(actor, case.bank, frozenset({Role.BANK_OFFICER}))
    if case.stage != Stage.DUE_DILIGENCE:
        raise Conflict(_("Due diligence is closed for this case."), code="wrong_stage")
    check = inputs.Checks()
    key = check(inputs.choice, key, "key", DD_KEYS)
    result = check(inputs.choice, result, "result", ("ok", "issue"))
    notes = check(inputs.text, notes, "notes", max_length=DueDiligenceItem._meta.get_field("notes").max_length)
    typed = check(inputs.entries, evidence, "evidence", max_items=EVIDENCE_PER_ITEM) or []
    refs = [r for i, e in enumerate(typed) if (r := check(inputs.short, e, f"evidence[{i}]", required=True))]
    check.done(_("Give a checklist item and ok or issue."))
    item = case.dd_items.filter(key=key).first()
    if item is None:
        raise ValidationFailed(_("Give a checklist item and ok or issue."), fields={"key": [_("Not allowed.")]})
    item.result, item.notes = result, notes
    if refs:  # references typed by the officer replace the typed ones; uploaded files (dicts) are kept
        kept = [e for e in item.evidence if isinstance(e, dict)] + refs
        if len(kept) > EVIDENCE_PER_ITEM:
            raise _too_many_files()
        item.evidence = kept
    item.save(update_fields=["result", "notes", "evidence"])
    audit.record(actor=actor, action="credit_case.dd", obj=case, object_repr=case.case_no,
                 after={"key": key, "result": result})
    return item


@transaction.atomic
def submit_for_review(*, actor, case_no: str, risk_grade: str = "B") -> CreditCase:
    services.require_bank_staff(actor, roles=frozenset({Role.BANK_OFFICER}))
    case = get_case(actor=actor, case_no=case_no, for_update=True)
    services.require_bank_staff(actor, case.bank, frozenset({Role.BANK_OFFICER}))
    if case.stage != Stage.DUE_DILIGENCE:
        raise Conflict(_("Only a case in due diligence can be submitted."), code="wrong_stage")
    missing = [i.key for i in case.dd_items.all() if not i.result]
    if missing:
        raise ValidationFailed(_("Complete every due-diligence item first."), code="dd_incomplete",
                               fields={"dd": missing})
    # The grade prices the loan: only a grade the product sets a spread for.
    grade = inputs.choice(risk_grade, "risk_grade", tuple(case.product.spreads_bp), default="B")
    if grade not in case.product.spreads_bp:
        raise ValidationFailed(_("Choose one of: %s") % ", ".join(case.product.spreads_bp), code="invalid_choice",
                               fields={"risk_grade": [_("The product sets no spread for this grade.")]})
    case.dd_signed_by, case.dd_signed_at, case.risk_grade = actor, timezone.now(), grade
    case.save(update_fields=["dd_signed_by", "dd_signed_at", "risk_grade"])
    _step(case, Stage.REVIEW, "submit", actor)
    return case


# The enterprise hears of every decision on its case in its notifications (registry.notify, the platform's
# in-app list and webhooks): what was decided and where the case stands, never the bank's internal notes.
DECISION_MESSAGES = {
    "pass": gettext_lazy("Credit case %(case)s passed the risk review and awaits approval."),
    "return": gettext_lazy("Credit case %(case)s was returned by the bank for further work."),
    "decline": gettext_lazy("Credit case %(case)s was declined by the bank."),
    "approve": gettext_lazy("Credit case %(case)s was approved: sign the contract on the case page."),
    "disburse": gettext_lazy("Credit case %(case)s was disbursed as loan %(loan)s."),
}


def _tell_enterprise(case: CreditCase, decision: str, loan_no: str = "") -> None:
    from django.conf import settings
    from django.utils import translation

    from ippledge.registry import notify

    with translation.override(settings.LANGUAGE_CODE):  # stored text: in the platform's language
        message = str(DECISION_MESSAGES[decision]) % {"case": case.case_no, "loan": loan_no}
    notify.notify(org=case.enterprise, kind=f"credit_case.{decision}", message=message,
                  data={"case_no": case.case_no, "decision": decision, "stage": case.stage,
                        **({"loan_no": loan_no} if loan_no else {})})


def _separate(actor, case: CreditCase) -> None:
    if actor.pk in (case.prepared_by_id, case.dd_signed_by_id):
        raise PermissionDenied(_("No one reviews or approves a case they prepared."), code="separation_of_duties")


@transaction.atomic
def review(*, actor, case_no: str, decision: str, note: str = "") -> CreditCase:
    services.require_bank_staff(actor, roles=frozenset({Role.BANK_REVIEWER}))
    case = get_case(actor=actor, case_no=case_no, for_update=True)
    services.require_bank_staff(actor, case.bank, frozenset({Role.BANK_REVIEWER}))
    _separate(actor, case)
    if case.stage != Stage.REVIEW:
        raise Conflict(_("This case is not in review."), code="wrong_stage")
    targets = {"pass": Stage.APPROVAL, "return": Stage.DUE_DILIGENCE, "decline": Stage.DECLINED}
    if not isinstance(decision, str) or decision not in targets:
        raise ValidationFailed(_("Choose pass, return or decline."), fields={"decision": [_("Not allowed.")]})
    note = inputs.text(note, "note", max_length=CaseStep._meta.get_field("note").max_length)
    if decision != "pass" and not note:
        raise ValidationFailed(_("Give the reason."), fields={"note": [_("This field is required.")]})
    _step(case, targets[decision], decision, actor, note)
    _tell_enterprise(case, decision)
    return case


# --- collateral: the valuation of the pledged rights and the maximum loan it supports -------------

VALUATION_ROLES = BANK_STAFF
VALUATION_STAGES = (Stage.DUE_DILIGENCE, Stage.REVIEW, Stage.APPROVAL)


def _right_ids(refs: list[dict]) -> set[int]:
    return {rights_services.find_right(ref["kind"], ref["number"]).pk for ref in refs}


def _readable_valuation(actor, valuation_no):
    """A valuation the actor may read: another organisation's figures are neither used nor echoed."""
    from ippledge.valuation.models import ValuationRecord

    number = inputs.short(valuation_no, "valuation_no", required=True,
                          max_length=CreditCase._meta.get_field("valuation_no").max_length)
    record = ValuationRecord.objects.restrict(actor, "view").filter(valuation_no=number).first()
    if record is None:
        raise ValidationFailed(_("No such valuation."), code="valuation_not_found",
                               fields={"valuation_no": [_("Not found.")]})
    return record


def _check_valuation(record, right_ids: set[int], on: dt.date) -> None:
    """The valuation is of exactly the rights pledged (one right, or the bundle of all of them), final
    and still valid."""
    from ippledge.valuation.models import ValuationStatus

    if set(record.valuation_rights.values_list("right_id", flat=True)) != right_ids:
        message = _("The valuation is not of the rights pledged in this case: value exactly those rights "
                    "(one right, or all of them as a bundle).")
        raise ValidationFailed(message, code="valuation_right_mismatch", fields={"valuation_no": [message]})
    if record.status != ValuationStatus.FINAL:
        message = _("The valuation is not final (awaiting sign-off, or superseded by a revaluation).")
        raise ValidationFailed(message, code="valuation_not_final", fields={"valuation_no": [message]})
    if record.valid_until < on:
        message = _("The valuation expired on %s: revalue the rights.") % record.valid_until.isoformat()
        raise ValidationFailed(message, code="valuation_expired", fields={"valuation_no": [message]})


def _max_loan(product: Product, record) -> int:
    """The valuation's maximum loan under the product's LTV caps, in fen (see ``engine.collateral``)."""
    from .engine import collateral

    return money.to_fen(collateral.max_loan(record.result, product.ltv_caps)["max_loan"])


def _note_in_trail(case: CreditCase, action: str, actor, note: str) -> None:
    """A trail entry that does not move the case (its stage and the stage's SLA clock stay)."""
    CaseStep.objects.create(case=case, from_stage=case.stage, to_stage=case.stage, action=action, note=note,
                            actor=_user(actor))


def valuation_candidates(actor, case: CreditCase) -> list:
    """For the case page: the valuations the actor could attach now (readable, final, valid, of exactly the
    case's rights)."""
    from ippledge.valuation.models import ValuationRecord, ValuationStatus

    if case.stage not in VALUATION_STAGES or not reads_internals(actor, case):
        return []
    try:
        ids = _right_ids(case.rights)
    except DomainError:
        return []
    records = ValuationRecord.objects.restrict(actor, "view").filter(
        status=ValuationStatus.FINAL, valid_until__gte=business_date.today(), valuation_rights__right_id__in=ids
    ).distinct().prefetch_related("valuation_rights")[:50]
    return [r for r in records if {link.right_id for link in r.valuation_rights.all()} == ids]


@transaction.atomic
def attach_valuation(*, actor, case_no: str, valuation_no) -> CreditCase:
    """The bank's staff attach the valuation of the pledged rights while the case is in due diligence,
    review or approval; the case keeps the maximum loan it supports under the product's LTV caps."""
    services.require_bank_staff(actor, roles=VALUATION_ROLES)  # the role first: a stranger learns nothing
    case = get_case(actor=actor, case_no=case_no, for_update=True)
    services.require_bank_staff(actor, case.bank, VALUATION_ROLES)
    if case.stage not in VALUATION_STAGES:
        raise Conflict(_("The case is decided: its valuation can no longer change."), code="wrong_stage")
    record = _readable_valuation(actor, valuation_no)
    _check_valuation(record, _right_ids(case.rights), business_date.today())
    before = {"valuation_no": case.valuation_no, "max_loan": case.max_loan}
    case.valuation_no, case.max_loan = record.valuation_no, _max_loan(case.product, record)
    case.save(update_fields=["valuation_no", "max_loan"])
    _note_in_trail(case, "valuation", actor, record.valuation_no)
    audit.record(actor=actor, action="credit_case.valuation", obj=case, object_repr=case.case_no, before=before,
                 after={"valuation_no": case.valuation_no, "max_loan": case.max_loan})
    return case


def _collateral_check(case: CreditCase, actor, on: dt.date, override_reason: str) -> bool:
    """Approval needs the valuation of the pledged rights; an amount above the maximum loan it supports
    under the product's LTV caps needs the approver's reason, recorded on the case.  True when overridden
    (a reason given for an amount within the maximum is not an override and is not recorded)."""
    from ippledge.valuation.models import ValuationRecord

    if not case.valuation_no:
        raise ValidationFailed(_("Attach the valuation of the pledged rights before approving."),
                               code="valuation_required", fields={"valuation_no": [_("This field is required.")]})
    # The valuation the bank attached (read then by the bank's own staff), checked again as it is today.
    record = ValuationRecord.objects.get(valuation_no=case.valuation_no)
    _check_valuation(record, _right_ids(case.rights), on)
    case.max_loan = _max_loan(case.product, record)
    case.save(update_fields=["max_loan"])
    if case.amount <= case.max_loan:
        return False
    if not override_reason:
        message = _("The amount is above the maximum loan of %s the valuation supports under the product's "
                    "LTV caps: lower the amount, or approve with the reason for the override.") \
            % money.from_fen(case.max_loan)
        raise ValidationFailed(message, code="ltv_exceeded", fields={"ltv_override_reason": [message]})
    case.ltv_override_reason, case.ltv_override_by, case.ltv_override_at = override_reason, actor, timezone.now()
    case.save(update_fields=["ltv_override_reason", "ltv_override_by", "ltv_override_at"])
    _note_in_trail(case, "ltv_override", actor, override_reason)
    audit.record(actor=actor, action="credit_case.ltv_override", obj=case, object_repr=case.case_no,
                 after={"amount": case.amount, "max_loan": case.max_loan, "excess": case.amount - case.max_loan,
                        "valuation_no": case.valuation_no, "reason": override_reason})
    return True


def _by_regime(rights: list[dict]) -> dict[str, list[dict]]:
    """The case's rights grouped by registry regime, in the registry's order (one application each)."""
    from ippledge.registry import examination

    groups: dict[str, list[dict]] = {}
    for ref in rights:
        right = rights_services.find_right(ref["kind"], ref["number"])
        groups.setdefault(examination.regime_of([right.kind]), []).append({"kind": right.kind,
                                                                           "number": right.number})
    return {regime: groups[regime] for regime in examination.REGIMES if regime in groups}


def _file_pledges(case: CreditCase, actor, on: dt.date) -> list[PledgeApplication]:
    """File the pledge of the case's rights: one application per regime (a patent and trademark bundle is
    two registrations at the IP office), each securing the whole loan."""
    maturity = _maturity(on, case.term_months)
    apps = []
    for regime, rights in _by_regime(case.rights).items():
        filing = PledgeFiling.for_loan(pledgor=case.enterprise, pledgee=case.bank, rights=rights,
                                       amount_fen=case.amount, due_date=maturity, contract_no=case.contract_no,
                                       valuation_ref=case.valuation_no)
        app = registry.file_application(actor=actor, data=filing, idempotency_key=f"case-{case.case_no}-{regime}")
        CaseFiling.objects.create(case=case, regime=regime, application_no=app.application_no)
        apps.append(app)
    return apps


def _statuses(apps: list[PledgeApplication]) -> str:
    return "; ".join(f"{app.application_no} {app.status}" for app in apps)


@transaction.atomic
def approve(*, actor, case_no: str, decision: str, note: str = "", ltv_override_reason: str = "") -> CreditCase:
    """The approver decides; approval checks the collateral (valuation and maximum loan), prices the
    loan, writes the contract and files the pledge (one application per registry regime).

    The bank's filing speaks for the bank only: the pledge is registered the moment the enterprise
    signs the contract on the platform (``sign_contract``), or, for an enterprise without users here, when
    a registrar confirms it from the paper contract."""
    services.require_bank_staff(actor, roles=frozenset({Role.BANK_APPROVER}))
    case = get_case(actor=actor, case_no=case_no, for_update=True)
    services.require_bank_staff(actor, case.bank, frozenset({Role.BANK_APPROVER}))
    _separate(actor, case)
    override_reason = inputs.text(ltv_override_reason, "ltv_override_reason",
                                  max_length=CreditCase._meta.get_field("ltv_override_reason").max_length)
    if case.stage != Stage.APPROVAL:
        raise Conflict(_("This case is not waiting for approval."), code="wrong_stage")
    if decision == "return":
        _step(case, Stage.REVIEW, "return", actor, note)
        _tell_enterprise(case, "return")
        return case
    if decision == "decline":
        if not note.strip():
            raise ValidationFailed(_("Give the reason."), fields={"note": [_("This field is required.")]})
        _step(case, Stage.DECLINED, "decline", actor, note)
        _tell_enterprise(case, "decline")
        return case
    if decision != "approve":
        raise ValidationFailed(_("Choose approve, return or decline."), fields={"decision": [_("Not allowed.")]})
    authority = ApprovalAuthority.objects.filter(bank=case.bank, user=actor).first()
    if authority is not None and case.amount > authority.max_amount:
        raise PermissionDenied(_("The amount is above your approval authority."), code="above_authority")
    on = business_date.today()
    _collateral_check(case, actor, on, override_reason)
    case.pricing = quote.price(case, on)
    case.contract_no = f"{case.case_no}-ZY"
    case.save(update_fields=["pricing", "contract_no"])
    _step(case, Stage.APPROVED, "approve", actor, note)
    apps = _file_pledges(case, actor, on)
    _step(case, Stage.CONTRACTED, "contract", actor, _statuses(apps))
    _tell_enterprise(case, "approve")
    return case


def _applications(case: CreditCase) -> list[PledgeApplication]:
    numbers_ = list(case.filings.values_list("application_no", flat=True))
    found = {a.application_no: a for a in PledgeApplication.objects.filter(application_no__in=numbers_)}
    return [found[n] for n in numbers_ if n in found]


def pledge_awaits_signature(case: CreditCase) -> bool:
    """Whether a pledge application of the case still waits for the enterprise (pages: offer to sign)."""
    return any(app.status == "awaiting_confirmation" for app in _applications(case))


@transaction.atomic
def sign_contract(*, actor, case_no: str) -> CreditCase:
    """The enterprise signs the approved contract; signing confirms every pledge application of the case
    as pledgor, so each is examined and registered at once and the bank can disburse."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise NotAuthenticated(_("Authentication is required."))
    if not actor.has_role(Role.ENTERPRISE_USER):
        raise PermissionDenied(_("Only the borrowing enterprise's own users sign its contract."))
    case = get_case(actor=actor, case_no=case_no, for_update=True)
    if case.enterprise_id != actor.organisation_id:
        raise PermissionDenied(_("Only the borrowing enterprise's own users sign its contract."),
                               code="not_the_borrower")
    apps = _applications(case)
    if case.stage != Stage.CONTRACTED or not apps:
        raise Conflict(_("There is no approved contract to sign."), code="wrong_stage")
    waiting = [app for app in apps if "pledgor" in registry.sides_actor_may_confirm(actor, app)]
    if not waiting:
        raise Conflict(_("The case's pledge applications do not await your confirmation."),
                       code="not_awaiting_confirmation")
    confirmed = [registry.confirm(actor=actor, application_no=app.application_no, side="pledgor") for app in waiting]
    _step(case, Stage.CONTRACTED, "sign", actor, _statuses(confirmed))
    return case


def collateral_values(case: CreditCase) -> dict[int, int]:
    """What the case's valuation gives each right, in fen: a bundle's allocation per right, or the single
    right's market value."""
    from ippledge.valuation.models import ValuationRecord

    record = ValuationRecord.objects.filter(valuation_no=case.valuation_no).first() if case.valuation_no else None
    return {} if record is None else values_given(record)


def values_given(record) -> dict[int, int]:
    """What a valuation gives each of its rights, in fen (see :func:`collateral_values`)."""
    links = list(record.valuation_rights.all())
    if len(links) == 1 and links[0].allocated_value is None:
        return {links[0].right_id: record.market_value}
    return {link.right_id: link.allocated_value for link in links if link.allocated_value is not None}


@transaction.atomic
def disburse(*, actor, case_no: str, schedule: str = "bullet") -> Loan:
    """Disburse only once every pledge of the case is registered; draw the park line and count towards
    the plan.  The loan keeps every registration and what the valuation gives each right."""
    services.require_bank_staff(actor, roles=frozenset({Role.BANK_OFFICER, Role.BANK_APPROVER}))
    case = get_case(actor=actor, case_no=case_no, for_update=True)
    services.require_bank_staff(actor, case.bank, frozenset({Role.BANK_OFFICER, Role.BANK_APPROVER}))
    schedule = inputs.choice(schedule, "schedule", ScheduleKind.values, default="bullet")
    if case.stage != Stage.CONTRACTED:
        raise Conflict(_("This case is not contracted."), code="wrong_stage")
    pledges, waiting = [], []
    for app in _applications(case):
        pledge = getattr(app, "pledge", None) if app.status == "registered" else None
        if pledge is None:
            waiting.append(app.application_no)
        else:
            pledges.append(pledge)
    if waiting or not pledges:
        raise Conflict(_("The pledge is not registered yet (%s): disbursement must wait.") % ", ".join(waiting),
                       code="pledge_not_registered", fields={"pledge_applications": waiting})
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
        "pledge_registration_nos": [pledge.registration_no for pledge in pledges],
        "ip_kind": _ip_kind(case.rights),
        "first_loan": case.first_loan, "inclusive_smb": case.size_class in ("small", "micro") and case.amount <=
        money.to_fen("10000000"), "park_id": case.park_id}, collateral_values=collateral_values(case))
    case.loan = loan
    case.save(update_fields=["loan"])
    _step(case, Stage.DISBURSED, "disburse", actor, loan.loan_no)
    _tell_enterprise(case, "disburse", loan.loan_no)
    return loan


def _maturity(start: dt.date, months: int) -> dt.date:
    """The same day ``months`` later (month-end clamped), as loan contracts count terms."""
    from ippledge.core.calendar import add_months

    return add_months(start, months)


def _ip_kind(rights: list[dict]) -> str:
    kinds = {"patent" if r["kind"] in right_rules.PATENT_KINDS else ("copyright" if r["kind"] == "software"
                                                                      else r["kind"]) for r in rights}
    return kinds.pop() if len(kinds) == 1 else "bundle"


def sla(case: CreditCase) -> dict:
    """How long the case has been in its stage, in working days of the business calendar (weekends and
    holidays do not count against the bank), and the date the stage is due."""
    limit = SLA_DAYS.get(case.stage)
    if limit is None:
        return {"limit_days": None, "elapsed_days": None, "due_date": None, "overdue": False}
    entered = business_date.beijing_date(case.stage_entered_at)
    elapsed = business_date.working_days_between(entered, business_date.today())
    due = business_date.add_working_days(entered, limit)
    return {"limit_days": limit, "elapsed_days": elapsed, "due_date": due.isoformat(), "overdue": elapsed > limit}


# --- plans, lines, exemptions, investments ----------------------------------------------------------

def plan_progress(bank: Organisation, year) -> dict:
    year = inputs.whole(year, "year", low=limits.limit("MIN_YEAR"),
                        high=business_date.today().year + limits.limit("MAX_YEARS_AHEAD"))
    plan = CreditPlan.objects.filter(bank=bank, year=year).first()
    loans = Loan.objects.filter(bank=bank, start_date__year=year)
    lent = loans.aggregate(s=Sum("amount"))["s"] or 0
    households = loans.values("borrower").distinct().count()
    return {"year": year, "plan_households": plan.households if plan else None,
            "plan_amount": str(money.from_fen(plan.amount)) if plan else None, "households": households,
            "amount": str(money.from_fen(lent)),
            "households_pct": round(100 * households / plan.households, 1) if plan and plan.households else None,
            "amount_pct": round(100 * lent / plan.amount, 1) if plan and plan.amount else None}


def park_lines_used(lines) -> dict[tuple[int, int], int]:
    """{(bank id, park id): balance of the bank's loans in the park} for many lines in one query."""
    lines = list(lines)
    if not lines:
        return {}
    rows = Loan.objects.filter(bank_id__in={x.bank_id for x in lines}, park_id__in={x.park_id for x in lines}) \
        .order_by().values_list("bank_id", "park_id").annotate(s=Sum("balance"))
    return {(bank, park): s or 0 for bank, park, s in rows}


def park_line_usage(line: ParkCreditLine, used: int | None = None) -> dict:
    """``used``: the balance of the bank's loans in the park, when :func:`park_lines_used` read it."""
    if used is None:
        used = Loan.objects.filter(bank=line.bank, park=line.park).aggregate(s=Sum("balance"))["s"] or 0
    return {"park": line.park.name, "limit": str(money.from_fen(line.limit)), "used": str(money.from_fen(used)),
            "headroom": str(money.from_fen(line.limit - used)), "start_date": line.start_date.isoformat(),
            "end_date": line.end_date.isoformat()}


@transaction.atomic
def request_exemption(*, actor, loan_no: str, statement: str) -> ExemptionRequest:
    services.require_bank_staff(actor)  # the role first: a stranger learns nothing of the object
    loan = services.get_loan(actor=actor, loan_no=loan_no)
    services.require_bank_staff(actor, loan.bank)
    statement = inputs.text(statement, "statement", required=True)
    if loan.classification not in NON_PERFORMING:
        # Item 十一: exemption for the staff of a non-performing loan whose duties were done.
        raise Conflict(_("Due-diligence exemption applies to non-performing loans (substandard, doubtful or "
                         "loss)."), code="not_non_performing")
    case = getattr(loan, "case", None)
    evidence = {"case_no": case.case_no if case else None,
                "dd": [{"key": i.key, "result": i.result, "notes": i.notes} for i in case.dd_items.all()] if case else [],
                "trail": [{"action": s.action, "to": s.to_stage, "by": s.actor.username if s.actor else None,
                           "at": s.at.isoformat(), "note": s.note} for s in case.steps.all()] if case else []}
    row = ExemptionRequest.objects.create(loan=loan, requested_by=actor, statement=statement, evidence=evidence)
    audit.record(actor=actor, action="exemption.request", obj=row, object_repr=loan.loan_no)
    return row


@transaction.atomic
def decide_exemption(*, actor, request_id: int, grant: bool, reason: str) -> ExemptionRequest:
    services.require_bank_staff(actor, roles=services.DECIDERS)
    row = ExemptionRequest.objects.select_for_update().select_related("loan").filter(pk=request_id).first()
    if row is None:
        raise NotFound(_("No such request."), code="exemption_not_found")
    services.require_bank_staff(actor, row.loan.bank, services.DECIDERS)
    if actor.pk == row.requested_by_id:
        raise PermissionDenied(_("No one decides their own request."), code="separation_of_duties")
    check = inputs.Checks()
    grant = check(inputs.flag, grant, "grant", default=None)
    if grant is None and not check.errors:
        check.fail("grant", _("This field is required."))
    reason = check(inputs.text, reason, "reason", required=True,
                   max_length=ExemptionRequest._meta.get_field("decision_reason").max_length)
    check.done(_("The decision is not valid."))
    if row.status != "pending":
        raise Conflict(_("This request is already decided."), code="already_decided")
    row.status, row.decided_by, row.decided_at, row.decision_reason = ("granted" if grant else "refused"), actor, \
        timezone.now(), reason
    row.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])
    audit.record(actor=actor, action="exemption.decide", obj=row, after={"status": row.status})
    return row


@transaction.atomic
def record_investment(*, actor, enterprise_id, fund_name, amount, date, stake=None) -> PartnerInvestment:
    services.require_bank_staff(actor, roles=frozenset({Role.BANK_OFFICER, Role.FUND_MANAGER}))
    on = business_date.today()
    check = inputs.Checks()
    enterprise_id = check(inputs.optional_id, enterprise_id, "enterprise_id")
    fund_name = check(inputs.short, fund_name, "fund_name", required=True,
                      max_length=PartnerInvestment._meta.get_field("fund_name").max_length)
    amount = check(inputs.fen, amount, "amount")
    day = check(inputs.day, date, "date", today=on, not_after=on)  # an investment already made
    # The stake is a share of the enterprise, 0 to 1, with the four decimals kept.
    stake = check(inputs.fraction, stake, "stake", places=4, max_percent=100) if stake not in (None, "") else None
    check.done(_("The investment is not valid."))
    org = Organisation.objects.filter(pk=enterprise_id, kind="enterprise").first() if enterprise_id else None
    if org is None:
        raise NotFound(_("No such enterprise."), code="enterprise_not_found")
    row = PartnerInvestment.objects.create(enterprise=org, fund_name=fund_name, amount=amount, date=day, stake=stake,
                                           recorded_by=_user(actor))
    audit.record(actor=actor, action="investment.record", obj=row, after={"fund": fund_name})
    return row


def _bank(actor, bank_org_id, roles: frozenset[Role]) -> Organisation:
    services.require_bank_staff(actor, roles=roles)
    bank_id = inputs.optional_id(bank_org_id, "bank_org_id")
    bank = Organisation.objects.filter(pk=bank_id, kind="bank").first() if bank_id else None
    if bank is None:
        raise NotFound(_("No such bank."), code="bank_not_found")
    services.require_bank_staff(actor, bank, roles)
    return bank


@transaction.atomic
def set_plan(*, actor, bank_org_id, year, households, amount) -> CreditPlan:
    """A bank's dedicated yearly IP-pledge credit plan (单列信贷计划); a new figure replaces the old."""
    bank = _bank(actor, bank_org_id, frozenset({Role.BANK_APPROVER}))
    on = business_date.today()
    check = inputs.Checks()
    # Plans are set for this year or the next; earlier years are kept as they were.
    year = check(inputs.whole, year, "year", low=limits.limit("MIN_YEAR"), high=on.year + 1)
    households = check(inputs.whole, households, "households", low=0, high=limits.limit("MAX_HOUSEHOLDS"))
    amount = check(inputs.fen, amount, "amount", allow_zero=True)
    check.done(_("The plan is not valid."))
    plan, _created = CreditPlan.objects.update_or_create(bank=bank, year=year, defaults={
        "households": households, "amount": amount})
    audit.record(actor=actor, action="credit_plan.set", obj=plan, after={"year": year, "households": households,
                                                                          "amount": plan.amount})
    return plan


@transaction.atomic
def grant_park_line(*, actor, bank_org_id, park_name, limit, start_date, end_date) -> ParkCreditLine:
    """A park intent credit line (园区意向性授信额度) granted by a bank to an industrial park."""
    from .models import Park

    bank = _bank(actor, bank_org_id, frozenset({Role.BANK_APPROVER}))
    on = business_date.today()
    check = inputs.Checks()
    name = check(inputs.short, park_name, "park_name", required=True, max_length=Park._meta.get_field("name").max_length)
    amount = check(inputs.fen, limit, "limit")
    start = check(inputs.day, start_date, "start_date", today=on)
    if start is not None:
        check(inputs.day, end_date, "end_date", today=on, not_before=start + dt.timedelta(days=1),
              not_after=_maturity(start, limits.limit("MAX_TERM_MONTHS")))
    check.done(_("The park credit line is not valid."))
    end = inputs.day(end_date, "end_date", today=on)
    park, _created = Park.objects.get_or_create(name=name)
    if ParkCreditLine.objects.filter(bank=bank, park=park, start_date=start).exists():
        raise Conflict(_("This bank already has a line for this park from this date."), code="duplicate_park_line")
    line = ParkCreditLine.objects.create(bank=bank, park=park, limit=amount, start_date=start, end_date=end)
    audit.record(actor=actor, action="park_line.grant", obj=line, after={"park": park.name, "limit": line.limit})
    return line


def _subsidy_value(kind: str, value) -> Decimal:
    """A rate (a fraction a year), a share of the interest (0 to 1) or a fixed amount in yuan (within what
    the scheme's value column keeps)."""
    if kind == "rate":
        return inputs.fraction(value, "value")
    if kind == "share_of_interest":
        return inputs.fraction(value, "value", max_percent=100)
    column = SubsidyScheme._meta.get_field("value")
    cap = 10 ** (column.max_digits - column.decimal_places) - 1
    return money.from_fen(inputs.fen(value, "value", max_yuan=min(cap, limits.limit("MAX_AMOUNT_YUAN"))))


@transaction.atomic
def add_subsidy_scheme(*, actor, name, kind, value, cap=None, region_code="") -> SubsidyScheme:
    if not (getattr(actor, "is_authenticated", False) and (actor.is_platform_admin or actor.has_role(Role.REGULATOR_USER))):
        raise PermissionDenied(_("Subsidy schemes are kept by the operator or a regulator."))
    check = inputs.Checks()
    name = check(inputs.short, name, "name", required=True, max_length=SubsidyScheme._meta.get_field("name").max_length)
    kind = check(inputs.choice, kind, "kind", ("rate", "share_of_interest", "amount"))
    value = check(_subsidy_value, kind, value) if kind else None
    cap = check(inputs.fen, cap, "cap") if cap not in (None, "") else None
    region = check(inputs.short, region_code, "region_code") or ""
    if region and not (len(region) == 6 and region.isascii() and region.isdigit()):
        check.fail("region_code", _("Give a six-digit administrative division code (GB/T 2260)."))
    check.done(_("The subsidy scheme is not valid."))
    row = SubsidyScheme.objects.create(name=name, kind=kind, value=value, cap=cap, region_code=region)
    audit.record(actor=actor, action="subsidy.add", obj=row, after={"name": row.name})
    return row


EVIDENCE_MAX_BYTES = 10 * 1024 * 1024
EVIDENCE_PER_ITEM = 20
# What evidence is: scans and documents.  The type is told by the file's first bytes, not by its name.
EVIDENCE_TYPES = {
    ".pdf": (b"%PDF-",), ".png": (b"\x89PNG\r\n\x1a\n",), ".jpg": (b"\xff\xd8\xff",), ".jpeg": (b"\xff\xd8\xff",),
    ".tif": (b"II*\x00", b"MM\x00*"), ".tiff": (b"II*\x00", b"MM\x00*"),
    ".ofd": (b"PK\x03\x04",), ".docx": (b"PK\x03\x04",), ".xlsx": (b"PK\x03\x04",),
}


def _too_many_files() -> ValidationFailed:
    message = _("A due-diligence item keeps at most %(count)s files or references.") % {"count": EVIDENCE_PER_ITEM}
    return ValidationFailed(message, code="too_many_files", fields={"file": [message]})


def may_attach_evidence(*, actor, case_no: str) -> CreditCase:
    """Whether this actor may attach evidence to this case now: the case's own officer, in due diligence
    (after sign-off the file the reviewers and approver saw stays as it was)."""
    services.require_bank_staff(actor, roles=frozenset({Role.BANK_OFFICER}))
    case = get_case(actor=actor, case_no=case_no)
    services.require_bank_staff(actor, case.bank, frozenset({Role.BANK_OFFICER}))
    if case.stage != Stage.DUE_DILIGENCE:
        raise Conflict(_("Due diligence is closed for this case: evidence can no longer be attached."),
                       code="wrong_stage")
    return case


def _evidence_type(name: str, head: bytes) -> str:
    from pathlib import PurePath

    suffix = PurePath(name).suffix.lower()
    if not any(head.startswith(magic) for magic in EVIDENCE_TYPES.get(suffix, ())):
        message = _("Attach a PDF, PNG, JPEG, TIFF, OFD, DOCX or XLSX file (its content must match its name).")
        raise ValidationFailed(message, code="unsupported_file_type", fields={"file": [message]})
    return suffix


@transaction.atomic
def attach_evidence(*, actor, case_no: str, key, name, content: bytes) -> dict:
    """Keep an evidence file for a due-diligence item in the data directory, recorded with its hash."""
    import hashlib
    import re
    import uuid
    from pathlib import Path

    from django.conf import settings

    may_attach_evidence(actor=actor, case_no=case_no)
    case = get_case(actor=actor, case_no=case_no, for_update=True)
    if case.stage != Stage.DUE_DILIGENCE:  # re-read under the lock
        raise Conflict(_("Due diligence is closed for this case: evidence can no longer be attached."),
                       code="wrong_stage")
    check = inputs.Checks()
    key = check(inputs.choice, key, "key", DD_KEYS)
    name = check(inputs.short, name, "name", required=True)
    check.done(_("Give a checklist item and a file."))
    item = case.dd_items.filter(key=key).first()
    if item is None:
        raise ValidationFailed(_("Give a checklist item and ok or issue."), fields={"key": [_("Not allowed.")]})
    if not content or len(content) > EVIDENCE_MAX_BYTES:
        raise ValidationFailed(_("Attach a file of at most 10 MB."), code="invalid_file",
                               fields={"file": [_("Out of the allowed range.")]})
    _evidence_type(name, content[:16])
    if len(item.evidence) >= EVIDENCE_PER_ITEM:
        raise _too_many_files()
    safe = re.sub(r"[^\w.\-]+", "_", name)[-80:]
    stored = f"{uuid.uuid4().hex[:12]}_{safe}"
    folder = Path(settings.DATA_DIR) / "evidence" / case.case_no
    folder.mkdir(parents=True, exist_ok=True)
    (folder / stored).write_bytes(content)
    ref = {"file": stored, "name": name, "sha256": hashlib.sha256(content).hexdigest(), "bytes": len(content)}
    item.evidence = [*item.evidence, ref]
    item.save(update_fields=["evidence"])
    audit.record(actor=actor, action="credit_case.evidence", obj=case, object_repr=case.case_no,
                 after={"key": key, "file": stored, "sha256": ref["sha256"]})
    return ref


def evidence_path(*, actor, case_no: str, stored: str):
    from pathlib import Path

    from django.conf import settings

    case = get_case(actor=actor, case_no=case_no)
    if not reads_internals(actor, case) or \
            not any(isinstance(e, dict) and e.get("file") == stored for i in case.dd_items.all() for e in i.evidence):
        raise NotFound(_("Not found."), code="evidence_not_found")
    return Path(settings.DATA_DIR) / "evidence" / case.case_no / stored
