"""Business actions of risk-sharing schemes: create a scheme (or one from a template), read schemes in the
reader's scope, the allocation calculator, fund contributions, and enrolling a loan in a scheme.

Claims, payments and recoveries are in :mod:`.services_claims`; provisioning and write-off in
:mod:`.services_provisions`.  The arithmetic of an allocation is the engine's (:mod:`.engine.allocation`).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from functools import lru_cache
from importlib import resources

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ippledge.core import audit, business_date, limits, money
from ippledge.core.actors import user_or_none as _user
from ippledge.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ippledge.core.models import Organisation
from ippledge.core.permissions import require_member, require_role, require_user
from ippledge.core.regions import is_region_code
from ippledge.core.roles import Role
from ippledge.credit import inputs
from ippledge.credit import services as credit
from ippledge.credit.models import NON_PERFORMING, Loan

from .models import (
    PARTY_ORG_KINDS,
    PARTY_ROLES,
    Enrolment,
    LedgerEntry,
    LedgerKind,
    Mode,
    PartyKind,
    RecoveryRule,
    Scheme,
    SchemeParty,
)

# Who keeps schemes: the operator's administrators, regulators and fund managers.
SCHEME_KEEPERS = frozenset({Role.ADMIN, Role.REGULATOR_USER, Role.FUND_MANAGER})
BANK_STAFF = frozenset({Role.BANK_OFFICER, Role.BANK_REVIEWER, Role.BANK_APPROVER})
PARTY_NAME_LENGTH = 40
MAX_LEVERAGE = 1000


def _engine():
    from .engine import allocation

    return allocation


def _yuan(fen: int | None) -> Decimal | None:
    return None if fen is None else money.from_fen(fen)


def _s(fen: int | None) -> str | None:
    return None if fen is None else str(money.from_fen(fen))


# --- engine rules from a scheme ---------------------------------------------------------------------

def engine_rules(scheme: Scheme, parties: list[SchemeParty] | None = None):
    """The scheme as the engine reads it: parties in order with ratios and per-loan caps (yuan)."""
    engine = _engine()
    parties = list(scheme.parties.all()) if parties is None else parties
    return engine.SchemeRules(
        parties=tuple(engine.Party(name=p.name, kind=p.kind, ratio=p.ratio, per_loan_cap=_yuan(p.per_loan_cap))
                      for p in parties),
        eligible_base_cap=_yuan(scheme.eligible_base_cap), ip_portion_required=scheme.ip_portion_required)


# Messages for the engine's validation codes; a code without one is shown with the generic message.
RULE_MESSAGES = {
    "no_parties": gettext_lazy("Name at least one party besides the bank."),
    "empty_party_name": gettext_lazy("Give each party a name."),
    "duplicate_party_name": gettext_lazy("Each party's name is unique in the scheme."),
    "reserved_party_name": gettext_lazy("Only the bank is named 'bank'."),
    "unknown_party_kind": gettext_lazy("Unknown kind of party."),
    "negative_ratio": gettext_lazy("A ratio is from 0 to 1."),
    "ratio_above_one": gettext_lazy("A ratio is from 0 to 1."),
    "ratio_sum_above_one": gettext_lazy("The parties' ratios add up to more than 1: the bank's remainder cannot be negative."),
    "negative_per_loan_cap": gettext_lazy("A cap cannot be negative."),
    "bank_party_cap": gettext_lazy("The bank bears the remainder: it has no per-loan cap."),
    "negative_eligible_base_cap": gettext_lazy("A cap cannot be negative."),
}


def _validate_rules(rules) -> None:
    codes = _engine().validate(rules)
    if codes:
        messages = [str(RULE_MESSAGES.get(code, _("The scheme's parties are not valid."))) for code in codes]
        raise ValidationFailed(messages[0], code=codes[0], fields={"parties": messages})


# --- parsing a scheme --------------------------------------------------------------------------------

def _region(check: inputs.Checks, value, field: str = "region_code") -> str:
    code = check(inputs.short, value, field, required=True) or ""
    if code and not (len(code) == 6 and code.isascii() and code.isdigit() and is_region_code(code)):
        check.fail(field, _("Give a six-digit administrative division code (GB/T 2260)."), "invalid_region")
    return code


def _opt_fen(check: inputs.Checks, value, field: str) -> int | None:
    return None if value in (None, "") else check(inputs.fen, value, field)


def _opt_fraction(check: inputs.Checks, value, field: str, *, max_percent: int | None = 100) -> Decimal | None:
    return None if value in (None, "") else check(inputs.fraction, value, field, max_percent=max_percent)


def _leverage(check: inputs.Checks, value) -> Decimal | None:
    if value in (None, ""):
        return None
    from ippledge.core import exact

    try:
        result = exact.decimal(value, "leverage", plain=True, places=2, maximum=MAX_LEVERAGE, minimum=0,
                               code="invalid_leverage")
    except ValidationFailed as exc:
        check.add(exc)
        return None
    if result <= 0:
        check.fail("leverage", _("Give a multiple greater than zero."), "invalid_leverage")
        return None
    return result


def _parties(check: inputs.Checks, value) -> list[dict]:
    rows = check(inputs.entries, value, "parties", max_items=limits.limit("MAX_PARTIES")) or []
    if not rows and "parties" not in check.errors:
        check.fail("parties", _("Name at least one party besides the bank."))
    parties, seen = [], set()
    for i, row in enumerate(rows):
        field = f"parties[{i}]"
        if not isinstance(row, dict):
            check.fail(field, _("Give each party as an object."))
            continue
        name = check(inputs.short, row.get("name"), f"{field}.name", required=True, max_length=PARTY_NAME_LENGTH)
        if name and name in seen:
            check.fail(f"{field}.name", _("Each party's name is unique in the scheme."), "duplicate_party")
        seen.add(name)
        kind = check(inputs.choice, row.get("kind"), f"{field}.kind", PartyKind.values)
        if row.get("ratio") in (None, ""):
            check.fail(f"{field}.ratio", _("Give the party's ratio of the loss, from 0 to 1."), "ratio_required")
            ratio = None
        else:
            ratio = check(inputs.fraction, row.get("ratio"), f"{field}.ratio", max_percent=100)
        org_id = check(inputs.optional_id, row.get("organisation_id"), f"{field}.organisation_id")
        org = None
        if org_id is not None:
            org = Organisation.objects.filter(pk=org_id, is_active=True).first()
            if org is None:
                check.fail(f"{field}.organisation_id", _("No such organisation."), "organisation_not_found")
            elif kind and org.kind not in PARTY_ORG_KINDS[kind]:
                check.fail(f"{field}.organisation_id", _("This organisation cannot be a party of this kind."),
                           "organisation_kind_mismatch")
        funded = check(inputs.flag, row.get("funded"), f"{field}.funded", default=kind == PartyKind.FUND)
        parties.append({"seq": i, "name": name, "kind": kind, "ratio": ratio, "organisation": org,
                        "per_loan_cap": _opt_fen(check, row.get("per_loan_cap"), f"{field}.per_loan_cap"),
                        "funded": bool(funded)})
    return parties


def _terms(data: dict, on: dt.date) -> tuple[dict, list[dict]]:
    check = inputs.Checks()
    terms = {
        "name": check(inputs.short, data.get("name"), "name", required=True),
        "region_code": _region(check, data.get("region_code")),
        "mode": check(inputs.choice, data.get("mode"), "mode", Mode.values, default=Mode.EX_POST),
        "recovery_rule": check(inputs.choice, data.get("recovery_rule"), "recovery_rule", RecoveryRule.values,
                               default=RecoveryRule.PRO_RATA),
        "eligible_base_cap": _opt_fen(check, data.get("eligible_base_cap"), "eligible_base_cap"),
        "ip_portion_required": check(inputs.flag, data.get("ip_portion_required"), "ip_portion_required"),
        "max_loan_amount": _opt_fen(check, data.get("max_loan_amount"), "max_loan_amount"),
        "borrower_year_cap": _opt_fen(check, data.get("borrower_year_cap"), "borrower_year_cap"),
        "annual_cap": _opt_fen(check, data.get("annual_cap"), "annual_cap"),
        "bank_annual_cap": _opt_fen(check, data.get("bank_annual_cap"), "bank_annual_cap"),
        "limit_to_balance": check(inputs.flag, data.get("limit_to_balance"), "limit_to_balance"),
        "leverage": _leverage(check, data.get("leverage")),
        "premium_rate": _opt_fraction(check, data.get("premium_rate"), "premium_rate", max_percent=None),
        "premium_subsidy_ratio": _opt_fraction(check, data.get("premium_subsidy_ratio"), "premium_subsidy_ratio"),
        "premium_subsidy_cap": _opt_fen(check, data.get("premium_subsidy_cap"), "premium_subsidy_cap"),
        "source": check(inputs.text, data.get("source"), "source") or "",
    }
    start = on if data.get("valid_from") in (None, "") else check(inputs.day, data.get("valid_from"), "valid_from",
                                                                  today=on)
    terms["valid_from"] = start
    terms["valid_to"] = None
    if data.get("valid_to") not in (None, "") and start is not None:
        terms["valid_to"] = check(inputs.day, data.get("valid_to"), "valid_to", today=on, not_before=start)
    parties = _parties(check, data.get("parties"))
    check.done(_("The scheme is not valid."))
    return terms, parties


def _keeper(actor) -> None:
    require_user(actor)
    require_role(actor, SCHEME_KEEPERS, _("Schemes are kept by the operator, regulators and fund managers."))


@transaction.atomic
def create_scheme(*, actor, data: dict, template_key: str = "") -> Scheme:
    _keeper(actor)
    if not isinstance(data, dict):
        raise ValidationFailed(_("The scheme is not valid."))
    terms, parties = _terms(data, business_date.today())
    rows = [SchemeParty(name=p["name"], kind=p["kind"], ratio=p["ratio"], per_loan_cap=p["per_loan_cap"], seq=p["seq"],
                        organisation=p["organisation"], funded=p["funded"]) for p in parties]
    _validate_rules(engine_rules(Scheme(**terms), rows))
    scheme = Scheme.objects.create(**terms, template_key=template_key, created_by=_user(actor),
                                   created_by_org=getattr(actor, "organisation", None))
    for row in rows:
        row.scheme = scheme
    SchemeParty.objects.bulk_create(rows)
    audit.record(actor=actor, action="risk_scheme.create", obj=scheme,
                 after={"template": template_key, "region": scheme.region_code, "mode": scheme.mode,
                        "parties": [{"name": r.name, "kind": r.kind, "ratio": str(r.ratio),
                                     "organisation": r.organisation_id} for r in rows]})
    return scheme


# --- templates ---------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def templates() -> tuple[dict, ...]:
    """The real schemes of lending-rules §5, shipped as package data (``data/templates.json``)."""
    text = resources.files("ippledge.risksharing").joinpath("data/templates.json").read_text(encoding="utf-8")
    return tuple(json.loads(text)["templates"])


def template(key: str) -> dict:
    found = next((t for t in templates() if t["key"] == key), None)
    if found is None:
        raise NotFound(_("No such scheme template."), code="template_not_found")
    return found


def _own_org_for(actor, kind: str) -> Organisation | None:
    org = getattr(actor, "organisation", None)
    return org if org is not None and org.kind in PARTY_ORG_KINDS[kind] else None


@transaction.atomic
def create_from_template(*, actor, key: str, data: dict | None = None) -> Scheme:
    """A scheme made from a template: the template's rules and parties, the caller's organisation filled in
    for the parties of its kind, and what the caller gives (name, dates, caps, ``ratios`` and
    ``organisations`` by party name) on top."""
    _keeper(actor)
    data = data if isinstance(data, dict) else {}
    found = template(key)
    check = inputs.Checks()
    ratios = check(inputs.mapping, data.get("ratios"), "ratios", max_items=limits.limit("MAX_PARTIES")) or {}
    orgs = check(inputs.mapping, data.get("organisations"), "organisations",
                 max_items=limits.limit("MAX_PARTIES")) or {}
    check.done(_("The scheme is not valid."))
    names = {p["name"] for p in found["parties"]}
    unknown = sorted((set(ratios) | set(orgs)) - names)
    if unknown:
        raise ValidationFailed(_("No such party in the template."), code="unknown_party",
                               fields={"parties": [", ".join(str(n) for n in unknown)]})
    parties = []
    for party in found["parties"]:
        own = _own_org_for(actor, party["kind"])
        parties.append({**party, "ratio": ratios.get(party["name"], party.get("ratio")),
                        "organisation_id": orgs.get(party["name"], own.pk if own else None)})
    body = {"name": found["name"], "region_code": found["region_code"], "mode": found["mode"],
            "source": found["source"], **found.get("rules", {}), "parties": parties}
    body.update({k: v for k, v in data.items() if k not in ("ratios", "organisations", "parties")})
    return create_scheme(actor=actor, data=body, template_key=key)


# --- reading -----------------------------------------------------------------------------------------

def schemes_for(actor):
    require_user(actor)
    return Scheme.objects.restrict(actor, "view")


def get_scheme(*, actor, scheme_id, for_update: bool = False) -> Scheme:
    pk = inputs.optional_id(scheme_id, "scheme_id")
    found = schemes_for(actor).filter(pk=pk).values_list("pk", flat=True).first() if pk else None
    if found is None:
        raise NotFound(_("No such scheme."), code="scheme_not_found")
    return (Scheme.objects.select_for_update() if for_update else Scheme.objects).get(pk=found)


def reads_ledger(actor, scheme: Scheme) -> bool:
    """A fund's ledger is read by its scheme's parties and keeper, regulators and administrators."""
    if actor.is_platform_admin or actor.has_role(Role.REGULATOR_USER):
        return True
    own = actor.organisation_id
    return bool(own and (own == scheme.created_by_org_id or
                         scheme.parties.filter(organisation_id=own).exists()))


def capacity(scheme: Scheme) -> dict:
    """What the scheme can still back: its funds' balance × leverage less the enrolled outstanding."""
    funded = scheme.parties.filter(funded=True).aggregate(s=Sum("balance"))["s"] or 0
    enrolled = Loan.objects.filter(risk_enrolment__scheme=scheme).aggregate(s=Sum("balance"))["s"] or 0
    limit = None if scheme.leverage is None else money.fen(money.from_fen(funded) * scheme.leverage)
    return {"fund_balance": funded, "leverage": scheme.leverage, "capacity": limit, "enrolled_outstanding": enrolled,
            "remaining": None if limit is None else limit - enrolled}


# --- the calculator ----------------------------------------------------------------------------------

def allocate(*, actor, scheme_id, loan_amount, principal_loss, ip_secured_amount=None) -> dict:
    """What the scheme's parties and the bank would bear of a loss (engine only: no caps that depend on
    other claims, nothing written)."""
    scheme = get_scheme(actor=actor, scheme_id=scheme_id)
    check = inputs.Checks()
    loan = check(inputs.fen, loan_amount, "loan_amount")
    loss = check(inputs.fen, principal_loss, "principal_loss", allow_zero=True)
    secured = None if ip_secured_amount in (None, "") else check(inputs.fen, ip_secured_amount, "ip_secured_amount",
                                                                 allow_zero=True)
    if loan is not None and loss is not None and loss > loan:
        check.fail("principal_loss", _("The principal loss cannot exceed the loan."), "loss_above_loan")
    if loan is not None and secured is not None and secured > loan:
        check.fail("ip_secured_amount", _("The IP-secured amount cannot exceed the loan."), "secured_above_loan")
    check.done(_("The allocation request is not valid."))
    result = _engine().allocate(engine_rules(scheme), loan_amount=money.from_fen(loan),
                                principal_loss=money.from_fen(loss),
                                ip_secured_amount=None if secured is None else money.from_fen(secured))
    return {"eligible": money.quantize(result.eligible),
            "shares": {name: money.quantize(amount) for name, amount in result.shares.items()}}


# --- fund movements ----------------------------------------------------------------------------------

def acts_for_party(actor, party: SchemeParty) -> None:
    """Each party acts through its own users: its organisation's users of the party's role (or an
    administrator, for a party with no organisation on the platform)."""
    require_role(actor, {PARTY_ROLES[party.kind]}, _("Each party acts through its own users."))
    if party.organisation_id is None:
        if not actor.is_platform_admin:
            raise PermissionDenied(_("This party has no organisation on the platform; the operator acts for it."),
                                   code="not_your_party")
        return
    require_member(actor, party.organisation, {PARTY_ROLES[party.kind]}, _("Each party acts through its own users."),
                   code="not_your_party")


def post_ledger(*, party: SchemeParty, kind: str, amount: int, on: dt.date, actor, claim=None,
                note: str = "") -> LedgerEntry:
    """Move a fund's money: the party row is locked, the balance may never go below zero."""
    locked = SchemeParty.objects.select_for_update().get(pk=party.pk)
    after = locked.balance + amount
    if after < 0:
        raise Conflict(_("The fund's balance of %(balance)s is not enough for %(amount)s.")
                       % {"balance": money.from_fen(locked.balance), "amount": money.from_fen(-amount)},
                       code="insufficient_balance")
    entry = LedgerEntry.objects.create(party=locked, kind=kind, amount=amount, balance_after=after, date=on,
                                       claim=claim, note=note[:300], actor=_user(actor))
    SchemeParty.objects.filter(pk=locked.pk).update(balance=after)
    party.balance = after
    return entry


def find_party(scheme: Scheme, name, field: str = "party") -> SchemeParty:
    name = inputs.short(name, field, required=True, max_length=PARTY_NAME_LENGTH)
    party = scheme.parties.filter(name=name).first()
    if party is None:
        raise ValidationFailed(_("No such party in the scheme."), code="unknown_party",
                               fields={field: [_("No such party in the scheme.")]})
    return party


@transaction.atomic
def move_funds(*, actor, scheme_id, party, amount, kind: str = LedgerKind.CONTRIBUTION, note: str = "") -> LedgerEntry:
    """A fund's manager puts money in (contribution) or takes it out (withdrawal, never below zero)."""
    require_role(actor, {Role.FUND_MANAGER}, _("A fund's own managers move its money."))
    scheme = get_scheme(actor=actor, scheme_id=scheme_id)
    found = find_party(scheme, party)
    acts_for_party(actor, found)
    if not found.funded:
        raise Conflict(_("This party pays from its own books: it has no fund here."), code="not_funded")
    check = inputs.Checks()
    kind = check(inputs.choice, kind, "kind", (LedgerKind.CONTRIBUTION, LedgerKind.WITHDRAWAL),
                 default=LedgerKind.CONTRIBUTION)
    value = check(inputs.fen, amount, "amount")
    note = check(inputs.text, note, "note", max_length=300) or ""
    check.done(_("The fund movement is not valid."))
    signed = value if kind == LedgerKind.CONTRIBUTION else -value
    entry = post_ledger(party=found, kind=kind, amount=signed, on=business_date.today(), actor=actor, note=note)
    audit.record(actor=actor, action=f"risk_fund.{kind}", obj=found, object_repr=f"{scheme.name}/{found.name}",
                 after={"amount": signed, "balance": entry.balance_after})
    return entry


# --- enrolment ---------------------------------------------------------------------------------------

def region_matches(scheme_region: str, region: str) -> bool:
    """A division is inside a scheme's region when its code starts with the region's significant digits
    (440000 → 44…, 440100 → 4401…, 440106 → 440106)."""
    if not region or not scheme_region:
        return False
    prefix = scheme_region
    while prefix.endswith("00") and len(prefix) > 2:
        prefix = prefix[:-2]
    return region.startswith(prefix)


def in_force(scheme: Scheme, on: dt.date) -> bool:
    return scheme.valid_from <= on and (scheme.valid_to is None or on <= scheme.valid_to)


@transaction.atomic
def enrol(*, actor, loan_no: str, scheme_id, ip_secured_amount=None) -> Enrolment:
    """The lending bank puts a loan in a scheme: in force today, in the scheme's region (the borrower's or
    its park's), within the scheme's loan size and its funds' leveraged capacity."""
    credit.require_bank_staff(actor)  # the role first: a stranger learns nothing of the loan
    loan = credit.get_loan(actor=actor, loan_no=loan_no, for_update=True)
    credit.require_bank_staff(actor, loan.bank)
    if Enrolment.objects.filter(loan=loan).exists():
        raise Conflict(_("The loan is already in a risk-sharing scheme."), code="already_enrolled")
    # The scheme row is locked: enrolments of one scheme are counted against its capacity one at a time.
    scheme = get_scheme(actor=actor, scheme_id=scheme_id, for_update=True)
    secured = None if ip_secured_amount in (None, "") else inputs.fen(ip_secured_amount, "ip_secured_amount",
                                                                      allow_zero=True)
    on = business_date.today()
    if not in_force(scheme, on):
        raise Conflict(_("The scheme is not in force on %(date)s.") % {"date": on.isoformat()},
                       code="scheme_not_in_force")
    regions = [loan.borrower.region_code, loan.park.region_code if loan.park_id else ""]
    if not any(region_matches(scheme.region_code, r) for r in regions):
        raise Conflict(_("The borrower (or its park) is outside the scheme's region."), code="region_mismatch")
    if loan.classification in NON_PERFORMING:
        raise Conflict(_("A non-performing loan cannot join a scheme."), code="loan_non_performing")
    if loan.balance <= 0:
        raise Conflict(_("The loan is repaid."), code="loan_repaid")
    if scheme.max_loan_amount is not None and loan.amount > scheme.max_loan_amount:
        raise Conflict(_("The loan is larger than the scheme takes (%(cap)s).")
                       % {"cap": money.from_fen(scheme.max_loan_amount)}, code="loan_too_large")
    if scheme.ip_portion_required and secured is None:
        message = _("This scheme counts only the IP-secured amount stated in the contract: give it.")
        raise ValidationFailed(message, code="ip_secured_amount_required", fields={"ip_secured_amount": [message]})
    if secured is not None and secured > loan.amount:
        message = _("The IP-secured amount cannot exceed the loan.")
        raise ValidationFailed(message, code="secured_above_loan", fields={"ip_secured_amount": [message]})
    room = capacity(scheme)
    if room["remaining"] is not None and loan.balance > room["remaining"]:
        raise Conflict(_("The scheme's funds cannot back this loan: %(remaining)s of capacity is left.")
                       % {"remaining": money.from_fen(max(room["remaining"], 0))}, code="capacity_exceeded")
    try:
        with transaction.atomic():
            enrolment = Enrolment.objects.create(scheme=scheme, loan=loan, ip_secured_amount=secured, enrolled_on=on,
                                                 enrolled_by=_user(actor))
    except IntegrityError:
        raise Conflict(_("The loan is already in a risk-sharing scheme."), code="already_enrolled") from None
    audit.record(actor=actor, action="risk_enrolment.create", obj=enrolment, object_repr=loan.loan_no,
                 after={"scheme": scheme.pk, "ip_secured_amount": secured})
    return enrolment


def enrolment_of(*, actor, loan_no: str) -> Enrolment | None:
    """The loan's enrolment, for whoever reads the loan (404 for whoever does not)."""
    loan = credit.get_loan(actor=actor, loan_no=loan_no)
    return Enrolment.objects.filter(loan=loan).select_related("scheme").first()

