"""Business actions of valuation: compute (no storage), record valuations (internal, external,
negotiated) with lender values, revalue, sign off, manage the agency and expert rosters, record
realised prices, and evaluate enterprises' innovation capability."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from ippledge.core import audit, business_date, calendar, identifiers, limits, money, numbers
from ippledge.core import permissions as perm
from ippledge.core.actors import user_or_none as _user
from ippledge.core.errors import (
    Conflict,
    DomainError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from ippledge.core.models import Organisation
from ippledge.core.roles import Role
from ippledge.rights import services as rights_services
from ippledge.rights.models import Right
from ippledge.rights.rules import in_force_for_pledge

from .engine import MODEL_VERSION, term
from .models import (
    AppraisalAgency,
    Basis,
    Expert,
    InnovationScore,
    RealisedPrice,
    RosterEvent,
    RosterStatus,
    ValuationRecord,
    ValuationRight,
    ValuationStatus,
)

VALUERS = perm.BANK_STAFF | {Role.APPRAISER, Role.ADMIN}
VALIDITY_MONTHS = 12

# Later apps (monitoring) react to a final valuation, a revaluation above all, without valuation importing
# them: ``listener(valuation_id=...)`` runs after the transaction commits (a failure is logged, the
# valuation stands).
valuation_listeners: list[Callable[..., None]] = []


def _final_after_commit(record: ValuationRecord) -> None:
    if record.status != ValuationStatus.FINAL:
        return
    for listener in valuation_listeners:
        transaction.on_commit(functools.partial(listener, valuation_id=record.pk), robust=True)


def _fen(amount: Decimal) -> int:
    """A computed amount in yuan as integer fen: core.money's one rule (half up)."""
    return money.fen(amount)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_JSON_DEPTH = 8


def plain_text(value, field: str, *, max_length: int, required: bool = False) -> str:
    """Text as a person types it: within the column's length, without control characters (PostgreSQL
    cannot store NUL); refused rather than cut.  (Reporting uses it too.)"""
    if value is not None and (isinstance(value, bool) or not isinstance(value, str | int)):
        raise ValidationFailed(_("Give text."), fields={field: [_("Give text.")]})
    if isinstance(value, str) and _CONTROL.search(value):
        raise ValidationFailed(_("Control characters are not allowed."),
                               fields={field: [_("Control characters are not allowed.")]})
    return limits.text(value, field=field, max_length=max_length, required=required)


def _plain(value, field: str, depth: int = 0):
    """JSON a caller sent that is kept as given (model inputs and options): bounded in depth and length,
    no control characters in any key or string."""
    if depth > MAX_JSON_DEPTH:
        raise ValidationFailed(_("Nested too deeply."), fields={field: [_("Nested too deeply.")]})
    if isinstance(value, dict):
        limits.items(list(value), field=field)
        return {plain_text(k, field, max_length=100): _plain(v, f"{field}.{k}", depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, f"{field}[{i}]", depth + 1) for i, v in enumerate(limits.items(value, field=field))]
    if isinstance(value, str):
        return plain_text(value, field, max_length=limits.limit("MAX_TEXT"))
    return value


# --- pure computations (no storage) --------------------------------------------------------------

def compute(*, method: str, inputs: dict, options: dict | None = None) -> dict:
    from .engine.compute import compute as engine_compute

    return engine_compute(method, inputs or {}, options or {})


def evaluate_scheme(*, scheme: str, inputs: dict) -> dict:
    from .engine.innovation import evaluate

    return evaluate(scheme, inputs or {})


# --- valuation records ----------------------------------------------------------------------------

def _find_rights(refs: list, errors: dict) -> list[Right]:
    found = []
    for i, ref in enumerate(refs or []):
        try:
            found.append(rights_services.find_right((ref or {}).get("kind", ""), (ref or {}).get("number", "")))
        except DomainError:
            errors.setdefault(f"rights[{i}]", []).append(_("No such right in the register."))
    if not refs:
        errors.setdefault("rights", []).append(_("Name the right or rights valued."))
    return found


def _legal_term(right: Right, on: dt.date) -> term.Term | None:
    """The right's legal term on ``on`` as the register gives it (``None``: the register knows no end)."""
    state = rights_services.state_of(right, on)
    if state.term_end is None:
        return None
    years = Decimal(max((state.term_end - on).days, 0)) / Decimal("365.25")
    return term.Term(kind=right.kind, years=years, in_force=in_force_for_pledge(state))


def _with_legal_term(inputs: dict, rights: list[Right], on: dt.date, key: str) -> dict:
    """The income method's inputs with the rights' remaining legal term (孰短原则) in ``key`` and whether
    a trademark's renewal is expected, unless the caller gave the term; the engine decides whether
    it binds (engine/term.py)."""
    if "remaining_legal_years" in inputs or "max_years" in inputs:
        return inputs
    terms = [t for t in (_legal_term(r, on) for r in rights) if t is not None]
    years, renewal = term.of_rights(terms, inputs.get(term.INPUT))
    if years is None:
        return inputs
    out = {**inputs, key: str(int(years))}
    if renewal or any(term.renewable(t.kind) for t in terms):
        out[term.INPUT] = renewal
    return out


def _lender_values(*, kind: str, market_value: Decimal, p10: Decimal | None, p90: Decimal | None,
                   horizon_value: Decimal | None, ltv_caps: dict | None) -> dict:
    from .engine import lender
    from .engine.trace import Trace

    trace = Trace()
    return lender.lender_values(market_value=market_value, p10=p10 if p10 is not None else market_value,
                                p90=p90 if p90 is not None else market_value,
                                horizon_quantile_value=horizon_value if horizon_value is not None else
                                (p10 if p10 is not None else market_value),
                                kind=kind, ltv_caps=ltv_caps, trace=trace)


def _kind_of(rights: list[Right]) -> str:
    if len(rights) > 1:
        return "bundle"
    kind = rights[0].kind
    return kind


@transaction.atomic
def create_valuation(*, actor, data: dict, supersedes: ValuationRecord | None = None) -> ValuationRecord:
    perm.require_role(actor, VALUERS | {Role.ENTERPRISE_USER}, _("Only bank users, appraisers and enterprises record valuations."))
    errors: dict[str, list[str]] = {}
    refs = limits.items(data.get("rights"), field="rights", max_items=limits.limit("MAX_RIGHTS"))
    rights = _find_rights(refs, errors)
    basis = data.get("basis") or Basis.INTERNAL
    if basis not in Basis.values:
        errors.setdefault("basis", []).append(_("Choose internal, external or negotiated."))
    on = business_date.today()
    valuation_date = data.get("valuation_date") or on
    if isinstance(valuation_date, str):
        try:
            valuation_date = dt.date.fromisoformat(valuation_date)
        except ValueError:
            errors.setdefault("valuation_date", []).append(_("Enter a date as YYYY-MM-DD."))
            valuation_date = on
    if errors:
        raise ValidationFailed(_("The valuation is not valid."), fields=errors)
    # A valuation is dated when it is made (or reported), never ahead of the business date.
    limits.business_date(valuation_date, field="valuation_date", today=on, not_after=on)
    validity = limits.count(data.get("validity_months") or VALIDITY_MONTHS, field="validity_months", low=1,
                            high=limits.limit("MAX_TERM_MONTHS"))
    purpose = plain_text(data.get("purpose") or "pledge", "purpose",
                    max_length=ValuationRecord._meta.get_field("purpose").max_length)
    data = {**data, "inputs": _plain(data.get("inputs") or {}, "inputs"),
            "options": _plain(data.get("options") or {}, "options"),
            "ltv_caps": _plain(data.get("ltv_caps"), "ltv_caps") if data.get("ltv_caps") else None}
    record = ValuationRecord(subject="bundle" if len(rights) > 1 else "right", purpose=purpose,
                             basis=basis, valuation_date=valuation_date,
                             valid_until=calendar.add_months(valuation_date, validity),
                             created_by=_user(actor), organisation=getattr(actor, "organisation", None),
                             supersedes=supersedes, model_version=MODEL_VERSION)
    result: dict = {}
    allocations: dict[int, int] = {}
    lender = None
    if basis == Basis.INTERNAL and (data.get("method") == "bundle"):
        result, lender, allocations = _bundle(rights, data, record)
        value, p10, p90 = result["bundle"]["p50"], result["bundle"]["p10"], result["bundle"]["p90"]
    elif basis == Basis.INTERNAL:
        method = data.get("method") or "income"
        inputs = dict(data.get("inputs") or {})
        if method in ("income", "relief_from_royalty", "monte_carlo_income"):
            inputs = _with_legal_term(inputs, rights, valuation_date,
                                      "max_years" if method == "monte_carlo_income" else "remaining_legal_years")
        from .engine.compute import INFORMATION_ONLY

        if method in INFORMATION_ONLY:
            # A lender cannot monetise the owner's flexibility in a forced sale (valuation-methods §3).
            raise ValidationFailed(_("Real-option prices are information only and cannot be a pledge value."),
                                   code="method_gives_no_value", fields={"method": [_("Choose a valuation method.")]})
        result = compute(method=method, inputs=inputs, options=data.get("options") or {})
        record.method, record.inputs, record.options = method, inputs, data.get("options") or {}
        record.trace = result.pop("trace", [])
        value = next((result[k] for k in ("p50", "value") if result.get(k) is not None), None)
        if value is None:
            raise ValidationFailed(_("This method does not produce a value of the right."),
                                   code="method_gives_no_value", fields={"method": [_("Choose a valuation method.")]})
        # A simulation without a given seed draws one; keep it so the value can be reproduced.
        record.seed = result.get("seed", inputs.get("seed"))
        p10, p90 = result.get("p10"), result.get("p90")
        horizon = (result.get("horizon") or {}).get("p10")
    else:
        if data.get("market_value") in (None, ""):
            raise ValidationFailed(_("Give the agreed or appraised value as a decimal string."),
                                   fields={"market_value": [_("This field is required.")]})
        value = limits.amount(data["market_value"], field="market_value")
        p10 = limits.amount(data["p10"], field="p10", allow_zero=True) if data.get("p10") not in (None, "") else None
        p90 = limits.amount(data["p90"], field="p90", allow_zero=True) if data.get("p90") not in (None, "") else None
        if (p10 is not None and p10 > value) or (p90 is not None and p90 < value):
            raise ValidationFailed(_("The range must hold the value: P10 at most the value, P90 at least."),
                                   code="invalid_range", fields={"p10" if p10 is not None and p10 > value
                                                                 else "p90": [_("Out of the allowed range.")]})
        horizon = None
        if basis == Basis.EXTERNAL:
            agency = AppraisalAgency.objects.filter(pk=data.get("agency_id")).first()
            if agency is None:
                raise ValidationFailed(_("Name the appraisal agency."), fields={"agency_id": [_("Not found.")]})
            if agency.status != RosterStatus.ADMITTED:
                raise Conflict(_("This appraisal agency is not admitted to the roster."), code="agency_not_admitted")
            # An agency's appraiser files only its own agency's reports; a bank may record any admitted one's.
            org = getattr(actor, "organisation", None)
            if org is not None and org.kind == "appraisal_agency" and agency.organisation_id != org.pk:
                raise PermissionDenied(_("An appraiser files reports in its own agency's name only."),
                                       code="not_your_agency")
            if not data.get("report_no") or not data.get("appraisers"):
                raise ValidationFailed(_("An external valuation needs the report number and the appraisers."),
                                       fields={"report_no": [_("This field is required.")],
                                               "appraisers": [_("This field is required.")]})
            # Refused rather than cut: what the report says is kept whole or not at all.
            record.agency = agency
            record.report_no = plain_text(data["report_no"], "report_no", max_length=64)
            record.appraisers = [plain_text(a, f"appraisers[{i}]", max_length=100) for i, a in
                                 enumerate(limits.items(data["appraisers"], field="appraisers", max_items=10))]
        else:
            rule = plain_text(data.get("agreement_rule"), "agreement_rule", max_length=300)
            if not rule:
                raise ValidationFailed(_("Say which rule the bank and the enterprise used to agree the value."),
                                       fields={"agreement_rule": [_("This field is required.")]})
            record.agreement_rule = rule
            record.status = ValuationStatus.PENDING_SIGNOFF
    if Decimal(str(value)) > limits.limit("MAX_AMOUNT_YUAN"):
        # A model fed absurd inputs may compute any figure; a pledge value stays within the business bound.
        raise ValidationFailed(_("The value is beyond what the platform records for one valuation."),
                               code="amount_out_of_range", fields={"market_value": [_("Out of the allowed range.")]})
    if lender is None:
        lender = _lender_values(kind=_kind_of(rights), market_value=Decimal(str(value)), p10=p10, p90=p90,
                                horizon_value=horizon, ltv_caps=data.get("ltv_caps"))
    record.result = {**_jsonable(result), "lender": _jsonable({k: v for k, v in lender.items() if k != "trace"})}
    record.market_value = _fen(value)
    record.p10 = _fen(p10) if p10 is not None else None
    record.p90 = _fen(p90) if p90 is not None else None
    record.liquidation_value = _fen(lender["liquidation_value"])
    record.max_loan = _fen(lender["max_loan"])
    record.valuation_no = numbers.next_number(f"valuation-{on.year}", f"VA{on.year}", 7)
    record.save()
    ValuationRight.objects.bulk_create([ValuationRight(valuation=record, right=r, allocated_value=allocations.get(r.pk))
                                        for r in rights])
    if supersedes is not None:
        ValuationRecord.objects.filter(pk=supersedes.pk).update(status=ValuationStatus.SUPERSEDED)
    audit.record(actor=actor, action="valuation.create", obj=record, object_repr=record.valuation_no,
                 after={"basis": basis, "market_value": record.market_value, "rights": [r.number for r in rights]})
    _final_after_commit(record)
    return record


def _bundle(rights: list[Right], data: dict, record: ValuationRecord) -> tuple[dict, dict, dict[int, int]]:
    """A package of rights valued as one unit by correlated simulation (valuation-methods §5)."""
    from .engine.bundle import value_bundle
    from .engine.trace import Trace

    inputs = dict(data.get("inputs") or {})
    per_right = {}
    for i, item in enumerate(inputs.get("rights") or []):
        try:
            right = rights_services.find_right(item.get("kind", ""), item.get("number", ""))
        except DomainError:
            raise ValidationFailed(_("Each bundle input names a right of the bundle."),
                                   fields={f"inputs.rights[{i}]": [_("No such right in the register.")]}) from None
        per_right[right.pk] = item
    missing = [r.number for r in rights if r.pk not in per_right]
    if missing:
        raise ValidationFailed(_("Give income inputs for every right of the bundle."),
                               fields={"inputs.rights": [", ".join(missing)]})
    on = record.valuation_date
    specs = []
    for right in rights:
        spec = {**per_right[right.pk], "kind": right.kind, "number": right.number}
        legal = _legal_term(right, on)
        if legal is not None and "max_years" not in spec:
            spec["max_years"] = int(legal.years)
            if term.INPUT not in spec and term.renewable(right.kind):
                spec[term.INPUT] = term.renewal_default(right.kind, legal.in_force)
        specs.append(spec)
    trace = Trace()
    options = {k: inputs[k] for k in ("correlation_within", "correlation_across", "paths", "seed", "ltv_bundle",
                                      "product_cap", "horizon", "forced_sale_discount", "product_lines")
               if k in inputs}
    result = value_bundle(specs, ltv_caps=data.get("ltv_caps"), trace=trace, **options)
    record.method, record.inputs, record.options = "bundle", inputs, data.get("options") or {}
    record.trace, record.seed = trace.as_list(), result.get("seed")
    limit = result["limit"]
    lender = {"market_value": result["bundle"]["p50"], "liquidation_value": limit["liquidation_value"],
              "max_loan": limit["max_loan"], "implied_pledge_rate": limit["pledge_rate"], "binding": limit["binding"]}
    allocations = {r.pk: _fen(row["allocated_value"]) for r, row in zip(rights, result["rights"], strict=True)}
    return result, lender, allocations


def _jsonable(value):
    from .engine.trace import render

    return render(value)


VALUATION_NO = re.compile(r"VA[0-9]{11}")


def get_valuation(*, actor, valuation_no: str) -> ValuationRecord:
    if not VALUATION_NO.fullmatch(str(valuation_no)):
        raise NotFound(_("No such valuation."), code="valuation_not_found")
    pk = ValuationRecord.objects.restrict(actor, "view").filter(valuation_no=valuation_no) \
        .values_list("pk", flat=True).first()
    if pk is None:
        raise NotFound(_("No such valuation."), code="valuation_not_found")
    return ValuationRecord.objects.get(pk=pk)


@transaction.atomic
def revalue(*, actor, valuation_no: str, data: dict) -> ValuationRecord:
    old = get_valuation(actor=actor, valuation_no=valuation_no)
    # Reading a valuation (the rights' owner may) is not owning it: only the valuing organisation revalues.
    if not ValuationRecord.objects.restrict(actor, "change").filter(pk=old.pk).exists():
        raise PermissionDenied(_("Only the organisation that made a valuation revalues it."),
                               code="not_your_valuation")
    if old.status == ValuationStatus.SUPERSEDED:
        raise Conflict(_("This valuation has already been revalued."), code="already_superseded")
    merged = {"rights": [{"kind": r.kind, "number": r.number} for r in old.rights.all()], "basis": old.basis,
              "method": old.method, "inputs": old.inputs, "options": old.options, "purpose": old.purpose, **data}
    return create_valuation(actor=actor, data=merged, supersedes=old)


@transaction.atomic
def sign_off(*, actor, valuation_no: str) -> ValuationRecord:
    """Negotiated valuations (协商估值) become final when the bank and the enterprise both sign."""
    record = get_valuation(actor=actor, valuation_no=valuation_no)
    if record.basis != Basis.NEGOTIATED or record.status != ValuationStatus.PENDING_SIGNOFF:
        raise Conflict(_("This valuation is not waiting for a sign-off."), code="not_pending_signoff")
    kind = getattr(actor.organisation, "kind", "")
    if kind == "bank" and actor.has_role(*perm.BANK_STAFF):
        record.bank_signoff = actor
    elif kind == "enterprise" and actor.has_role(Role.ENTERPRISE_USER):
        owners = {h for r in record.rights.all() for h in r.holders.values_list("id_number", flat=True)}
        if actor.organisation.uscc not in owners:
            raise PermissionDenied(_("Only the enterprise that owns the rights signs for the enterprise."))
        record.enterprise_signoff = actor
    else:
        raise PermissionDenied(_("Only the bank and the enterprise sign a negotiated valuation."))
    if record.bank_signoff_id and record.enterprise_signoff_id:
        record.status = ValuationStatus.FINAL
    record.save(update_fields=["bank_signoff", "enterprise_signoff", "status"])
    audit.record(actor=actor, action="valuation.signoff", obj=record, object_repr=record.valuation_no,
                 after={"status": record.status})
    _final_after_commit(record)
    return record


def valid_reference(valuation_no: str, rights: list[Right], on: dt.date) -> bool:
    """A pledge application's valuation reference: final, in validity, covering a pledged right."""
    record = ValuationRecord.objects.filter(valuation_no=valuation_no, status=ValuationStatus.FINAL,
                                            valid_until__gte=on).first()
    return record is not None and record.valuation_rights.filter(right__in=rights).exists()


# --- rosters ---------------------------------------------------------------------------------------

ROSTER_MANAGERS = frozenset({Role.ADMIN, Role.REGULATOR_USER})


def _clean_list(value, field: str) -> list[str]:
    if isinstance(value, str):
        value = value.replace("，", ",").split(",")
    if value is not None and not isinstance(value, list | tuple):
        raise ValidationFailed(_("Give a list."), fields={field: [_("Give a list.")]})
    items = [plain_text(v, f"{field}[{i}]", max_length=100) for i, v in
             enumerate(limits.items(value, field=field, max_items=limits.limit("MAX_LIST")))]
    return sorted({v.upper() if len(v) <= 4 else v for v in items if v})


@transaction.atomic
def admit_agency(*, actor, data: dict) -> AppraisalAgency:
    perm.require_role(actor, ROSTER_MANAGERS, _("Only the platform operator or a regulator manages the rosters."))
    field = AppraisalAgency._meta.get_field
    texts = {k: plain_text(data.get(k), k, max_length=field(k).max_length, required=True)
             for k in ("name", "licence_no", "qualification")}
    if AppraisalAgency.objects.filter(licence_no=texts["licence_no"]).exists():
        raise Conflict(_("An agency with this licence number is already on the roster."), code="duplicate_agency")
    org = Organisation.objects.filter(pk=data.get("organisation_id")).first() if data.get("organisation_id") else None
    agency = AppraisalAgency.objects.create(
        name=identifiers.clean_display_name(texts["name"]), organisation=org, licence_no=texts["licence_no"],
        qualification=texts["qualification"],
        specialities_ipc=_clean_list(data.get("specialities_ipc"), "specialities_ipc"),
        ip_kinds=_clean_list(data.get("ip_kinds"), "ip_kinds"), regions=_clean_list(data.get("regions"), "regions"),
        admitted_on=business_date.today())
    RosterEvent.objects.create(agency=agency, status=RosterStatus.ADMITTED, date=agency.admitted_on,
                               actor=_user(actor), reason="admission")
    audit.record(actor=actor, action="agency.admit", obj=agency, after={"licence_no": agency.licence_no})
    return agency


@transaction.atomic
def set_roster_status(*, actor, agency_id: int | None = None, expert_id: int | None = None, status: str,
                      reason: str) -> AppraisalAgency | Expert:
    perm.require_role(actor, ROSTER_MANAGERS, _("Only the platform operator or a regulator manages the rosters."))
    if status not in RosterStatus.values:
        raise ValidationFailed(_("Choose admitted, suspended or exited."), fields={"status": [_("Not allowed.")]})
    reason = plain_text(reason, "reason", max_length=RosterEvent._meta.get_field("reason").max_length)
    if not reason:
        raise ValidationFailed(_("Give the reason."), fields={"reason": [_("This field is required.")]})
    model = AppraisalAgency if agency_id else Expert
    member = model.objects.select_for_update().filter(pk=agency_id or expert_id).first()
    if member is None:
        raise NotFound(_("Not on the roster."), code="roster_member_not_found")
    if member.status == RosterStatus.EXITED:
        raise Conflict(_("An exited member must be admitted again as a new entry."), code="roster_exited")
    before = member.status
    member.status, member.status_reason = status, reason
    member.save(update_fields=["status", "status_reason"])
    RosterEvent.objects.create(agency=member if agency_id else None, expert=None if agency_id else member,
                               status=status, reason=member.status_reason, date=business_date.today(),
                               actor=_user(actor))
    audit.record(actor=actor, action="roster.status", obj=member, before={"status": before}, after={"status": status})
    return member


@transaction.atomic
def add_expert(*, actor, data: dict) -> Expert:
    perm.require_role(actor, ROSTER_MANAGERS, _("Only the platform operator or a regulator manages the rosters."))
    field = Expert._meta.get_field
    name = plain_text(data.get("name"), "name", max_length=field("name").max_length, required=True)
    title = plain_text(data.get("title"), "title", max_length=field("title").max_length)
    org = Organisation.objects.filter(pk=data.get("organisation_id")).first() if data.get("organisation_id") else None
    expert = Expert.objects.create(name=identifiers.clean_display_name(name), organisation=org, title=title,
                                   fields_ipc=_clean_list(data.get("fields_ipc"), "fields_ipc"),
                                   ip_kinds=_clean_list(data.get("ip_kinds"), "ip_kinds"),
                                   regions=_clean_list(data.get("regions"), "regions"),
                                   admitted_on=business_date.today())
    RosterEvent.objects.create(expert=expert, status=RosterStatus.ADMITTED, date=expert.admitted_on,
                               actor=_user(actor), reason="admission")
    audit.record(actor=actor, action="expert.add", obj=expert, after={"name": expert.name})
    return expert


def find_experts(*, field: str = "", party_org_ids: list[int] | None = None) -> list[dict]:
    """Admitted experts whose fields match an IPC prefix, each flagged when conflicted (same
    organisation as a party)."""
    field = (field or "").strip().upper()
    conflicts = set(party_org_ids or [])
    out = []
    for expert in Expert.objects.filter(status=RosterStatus.ADMITTED).select_related("organisation"):
        if field and not any(f.startswith(field) or field.startswith(f) for f in expert.fields_ipc):
            continue
        out.append({"expert": expert, "conflict": expert.organisation_id in conflicts})
    return out


PRICE_SOURCES = ("transfer", "disposal", "licence")


@transaction.atomic
def record_realised_price(*, actor, right: Right, price, date: dt.date, source: str) -> RealisedPrice:
    # Regulators read these records; registrars (transfers), banks (disposals) and the operator write them.
    perm.require_role(actor, {Role.ADMIN, Role.REGISTRAR, Role.BANK_OFFICER},
             _("Only registrars, banks and the operator record realised prices."))
    fen = _fen(limits.amount(price, field="price"))
    today = business_date.today()
    limits.business_date(date, field="date", today=today, not_after=today)  # a price already fetched
    if source not in PRICE_SOURCES:
        raise ValidationFailed(_("Choose transfer, disposal or licence."), fields={"source": [_("Not allowed.")]})
    row = RealisedPrice.objects.create(right=right, price=fen, date=date, source=source,
                                       recorded_by=_user(actor))
    audit.record(actor=actor, action="realised_price.record", obj=row, after={"right": right.number, "price": row.price})
    return row


def agency_track_record(agency: AppraisalAgency) -> dict:
    """Deviation of the agency's appraised values from later realised prices and from the internal model."""
    vs_price, vs_model = [], []
    for record in agency.valuations.prefetch_related("valuation_rights__right").all():
        for link in record.valuation_rights.all():
            price = RealisedPrice.objects.filter(right=link.right, date__gte=record.valuation_date).order_by("date").first()
            if price is not None and record.market_value:
                vs_price.append((price.price - record.market_value) / record.market_value)
            model = ValuationRecord.objects.filter(basis=Basis.INTERNAL, valuation_rights__right=link.right,
                                                   subject="right").order_by("-created_at").first()
            if model is not None and record.market_value:
                vs_model.append((record.market_value - model.market_value) / model.market_value)

    def stats(values):
        if not values:
            return {"n": 0}
        ordered = sorted(values)
        mid = ordered[len(ordered) // 2] if len(ordered) % 2 else (ordered[len(ordered) // 2 - 1] +
                                                                   ordered[len(ordered) // 2]) / 2
        return {"n": len(values), "mean_pct": round(100 * sum(values) / len(values), 2),
                "median_pct": round(100 * mid, 2), "mean_abs_pct": round(100 * sum(abs(v) for v in values) /
                                                                          len(values), 2)}

    return {"valuations": agency.valuations.count(), "vs_realised_price": stats(vs_price),
            "vs_internal_model": stats(vs_model)}


# --- standardised scores of a right --------------------------------------------------------------

def score_right(*, right: Right, profile: str = "finance", industry: str | None = None, basis: str = "sales",
                subjective: dict | None = None) -> dict:
    """The right's standardised value score from the register (plus any appraiser's levels), and the
    split rate it implies inside the industry band (valuation-methods §1 and §4)."""
    from .engine import scoring
    from .engine.trace import Trace, render

    on = business_date.today()
    state = rights_services.state_of(right, on)
    trace = Trace()
    out: dict = {"kind": right.kind, "number": right.number, "as_of": on.isoformat()}
    if right.kind in ("invention", "utility_model", "design", "ic_layout"):
        facts = {"kind": right.kind, "filing_date": right.filing_date, "term_end": state.term_end, "on": on,
                 "legal_state": state.legal_state, "flags": list(state.flags),
                 "events": [e.type if e.type != "invalidation_decided" else {"type": e.type, "outcome": (e.payload or
                            {}).get("outcome")} for e in right.events.all()],
                 "family_size": right.family_size, "claims_count": right.claims_count,
                 "citations": right.citations, "ipc": right.ipc}
        objective = scoring.objective_indicators({k: v for k, v in facts.items() if v is not None}, trace)
        levels = {**objective["scores"], **(subjective or {})}
        degree = scoring.patent_value_degree(levels, profile=profile, trace=trace)
        score = degree["PVD"]["score"]
        out.update(objective=objective, degrees=degree,
                   high_value=scoring.high_value_patent({**facts, "legal_state": state.legal_state}))
    elif right.kind == "trademark":
        result = scoring.trademark_score({"registration_date": right.registration_date, "on": on,
                                          "classes": [right.nice_class] if right.nice_class else [],
                                          **(subjective or {})}, trace)
        score = result["score"]
        out["trademark"] = result
    else:
        result = scoring.copyright_score({"term_end": state.term_end, "on": on, **(subjective or {})}, trace)
        score = result["score"]
        out["copyright"] = result
    out["score"] = score
    if industry:
        out["split"] = scoring.split_for(industry, score, basis=basis, trace=trace)
    out["trace"] = trace.as_list()
    return render(out)


# --- innovation capability ---------------------------------------------------------------------

CLASS_I_KINDS = {"invention", "ic_layout"}
CLASS_II_KINDS = {"utility_model", "design", "software"}


def register_facts(org: Organisation, on: dt.date) -> dict:
    """What the register knows about a firm's IP: in-force Class I/II rights, trademarks, copyrights."""
    counts = {"class1_ip": 0, "class2_ip": 0, "trademarks": 0, "copyrights": 0, "patents_in_force": 0}
    if not org.uscc:
        return counts
    from ippledge.rights import rules

    for right in Right.objects.filter(holders__id_number=org.uscc).prefetch_related("events").distinct():
        if not rules.in_force_for_pledge(rights_services.state_of(right, on)):
            continue
        if right.kind in CLASS_I_KINDS:
            counts["class1_ip"] += 1
        elif right.kind in CLASS_II_KINDS:
            counts["class2_ip"] += 1
        elif right.kind == "trademark":
            counts["trademarks"] += 1
        elif right.kind == "copyright":
            counts["copyrights"] += 1
        if right.kind in ("invention", "utility_model", "design"):
            counts["patents_in_force"] += 1
    return counts


@transaction.atomic
def evaluate_enterprise(*, actor, enterprise_id: int, scheme: str, inputs: dict) -> InnovationScore:
    # Regulators read evaluations (the banks' and the enterprises' records); they do not make them.
    perm.require_role(actor, VALUERS | {Role.ENTERPRISE_USER},
             _("Only banks, appraisers and the enterprise itself evaluate an enterprise."))
    org = readable_enterprise(actor=actor, enterprise_id=enterprise_id)
    if actor.has_role(Role.ENTERPRISE_USER) and not actor.is_platform_admin and actor.organisation_id != org.pk:
        raise PermissionDenied(_("An enterprise evaluates only itself."))
    if inputs is not None and not isinstance(inputs, dict):
        raise ValidationFailed(_("Give the inputs as an object."), fields={"inputs": [_("Give the inputs as an object.")]})
    inputs = _plain(inputs or {}, "inputs")
    facts = register_facts(org, business_date.today())
    merged = {**{k: str(v) for k, v in facts.items()}, **(inputs or {})}
    result = evaluate_scheme(scheme=scheme, inputs=merged)
    rendered = _jsonable(result)
    row = InnovationScore.objects.create(enterprise=org, scheme=scheme, inputs=_jsonable(merged), result=rendered,
                                         score=Decimal(str(result.get("score", 0))),
                                         grade=str(result.get("grade") or "")[:8],
                                         qualified=result.get("qualified"), computed_by=_user(actor))
    audit.record(actor=actor, action="innovation.evaluate", obj=row, object_repr=f"{org.name} {scheme}",
                 after={"score": str(row.score), "qualified": row.qualified})
    return row


def readable_enterprise(*, actor, enterprise_id) -> Organisation:
    """The enterprise whose innovation scores the actor may read, by :meth:`InnovationScore.readable_enterprises`
    (the rule ``restrict()`` applies too); 404 alike for an unknown enterprise and one out of scope."""
    rule = InnovationScore.readable_enterprises(actor)
    qs = Organisation.objects.filter(pk=enterprise_id, kind="enterprise") if rule else Organisation.objects.none()
    org = (qs if rule is True else qs.filter(rule)).first()
    if org is None:
        raise NotFound(_("No such enterprise."), code="enterprise_not_found")
    return org


def scores_for(*, actor, enterprise_id, limit: int = 100) -> tuple[Organisation, list[InnovationScore]]:
    """An enterprise's evaluations over time, newest first, as the actor may read them."""
    org = readable_enterprise(actor=actor, enterprise_id=enterprise_id)
    return org, list(InnovationScore.objects.restrict(actor, "view").filter(enterprise=org)[:limit])
