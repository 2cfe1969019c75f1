"""Business actions of guarantee insurance (issue 13 point 3): insurers' products, policies with their
yearly premium schedules and the premium subsidy of the loan's scheme, premium payments, and the premium
source through which the all-in cost of a loan reads its policy (:mod:`ippledge.credit.costs`).

Who does what (both questions asked here: the role, then the party):

* **Products** are made by an insurer's users (role ``insurer_user``), for their own organisation (an
  insurer, or a guarantee company).  An insurer reads
  its own products; regulators and administrators read all; nobody else.
* **Loan guarantee policies** are issued by the insurer's users on their own product, naming the loan by
  its number *and* its borrower's USCC, the particulars of the bank's insurance application (a wrong pair
  answers "no such loan", the same as an unknown number: an insurer cannot probe the loan book).  The
  policy is ``pending`` until a user of the loan's bank accepts it (a body never speaks for another
  party): only then is it ``active`` and read by the loan's all-in cost.  One live policy per loan.
* **Infringement-loss and enforcement policies** are bound to rights (kind + number) that the register
  shows the enterprise holding, with a sum insured; they are ``active`` when issued (the enterprise is the
  policyholder and reads them).
* **Cancellation**: the insurer's users cancel a pending or active policy with a reason (the loan's cost
  then reads the product's nominal rate again, and another policy may be issued on the loan).
* **Premium payments** are recorded by the insurer's users (the party that receives the premium), one
  instalment at a time, for the instalment's full premium.
* Reading: the insurer its policies, a bank the policies on its loans, an enterprise its rights policies,
  regulators and administrators all.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ippledge.core import audit, business_date, money, numbers
from ippledge.core.actors import user_or_none as _user
from ippledge.core.calendar import add_months, whole_months
from ippledge.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ippledge.core.models import Organisation
from ippledge.core.permissions import require_member, require_role, require_user
from ippledge.core.roles import Role
from ippledge.credit import costs, inputs
from ippledge.credit import services as credit
from ippledge.credit.models import NON_PERFORMING, Loan

from .engine import premium as engine
from .models import (
    Enrolment,
    InsurancePolicy,
    InsuranceProduct,
    PolicyStatus,
    PolicyType,
    PremiumInstalment,
)

INSURERS = frozenset({Role.INSURER_USER})
BANK_STAFF = frozenset({Role.BANK_OFFICER, Role.BANK_REVIEWER, Role.BANK_APPROVER})
PRODUCT_READERS = frozenset({Role.INSURER_USER, Role.REGULATOR_USER})
POLICY_READERS = PRODUCT_READERS | BANK_STAFF | {Role.ENTERPRISE_USER}
# Premium rate a year, per policy type (fractions): lending-rules §5 gives 1–3 % for guarantee insurance;
# infringement-loss and enforcement cover is priced on a (smaller) sum insured at a few per cent.
RATE_BOUNDS = {
    PolicyType.LOAN_GUARANTEE: (Decimal("0.01"), Decimal("0.03")),
    PolicyType.INFRINGEMENT_LOSS: (Decimal("0.001"), Decimal("0.10")),
    PolicyType.ENFORCEMENT: (Decimal("0.001"), Decimal("0.10")),
}
# The organisations whose users (role insurer_user) keep products: insurers, and guarantee companies,
# whose guarantees of IP-pledge loans the platform records the same way.
INSURER_ORG_KINDS = frozenset({"insurer", "guarantor"})
MAX_TERM_MONTHS = 120
MAX_RIGHTS = 50


def _yuan(fen: int | None) -> Decimal | None:
    return None if fen is None else money.from_fen(fen)


def _is_reader(actor, roles) -> bool:
    return actor.is_platform_admin or bool(set(actor.role_set) & set(roles))


def _require_reader(actor, roles, message: str) -> None:
    require_user(actor)
    if not _is_reader(actor, roles):
        raise PermissionDenied(message, code="permission_denied")


def _insurer_org(actor) -> Organisation:
    require_user(actor)
    require_role(actor, INSURERS, _("Insurance is kept by the insurer's own users."))
    org = actor.organisation
    if org is None or org.kind not in INSURER_ORG_KINDS:
        raise PermissionDenied(_("Insurance is kept by the insurer's own users."), code="permission_denied")
    return org


# --- products ----------------------------------------------------------------------------------------

def _rate(check: inputs.Checks, value, policy_type: str | None, field: str = "premium_rate") -> Decimal | None:
    if value in (None, ""):
        check.fail(field, _("Give the premium rate a year."), "rate_required")
        return None
    rate = check(inputs.fraction, value, field, max_percent=100)
    if rate is None or policy_type not in RATE_BOUNDS:
        return rate
    low, high = RATE_BOUNDS[policy_type]
    if not low <= rate <= high:
        check.fail(field, _("The premium rate of this policy type is from %(low)s %% to %(high)s %% a year.")
                   % {"low": (low * 100).normalize(), "high": (high * 100).normalize()}, "premium_rate_out_of_range")
        return None
    return rate


def _coverage(check: inputs.Checks, value, policy_type: str | None) -> Decimal | None:
    if value in (None, ""):
        if policy_type == PolicyType.LOAN_GUARANTEE:
            check.fail("coverage_ratio", _("Give the share of the principal loss the policy covers."),
                       "coverage_required")
        return None
    ratio = check(inputs.fraction, value, "coverage_ratio", max_percent=100)
    if ratio is not None and ratio <= 0:
        check.fail("coverage_ratio", _("The coverage is more than 0 and at most 1."), "invalid_coverage")
        return None
    return ratio


@transaction.atomic
def create_product(*, actor, data: dict) -> InsuranceProduct:
    org = _insurer_org(actor)
    if not isinstance(data, dict):
        raise ValidationFailed(_("The insurance product is not valid."))
    on = business_date.today()
    check = inputs.Checks()
    name = check(inputs.short, data.get("name"), "name", required=True, max_length=200)
    policy_type = check(inputs.choice, data.get("policy_type"), "policy_type", PolicyType.values)
    rate = _rate(check, data.get("premium_rate"), policy_type)
    coverage = _coverage(check, data.get("coverage_ratio"), policy_type)
    start = on if data.get("valid_from") in (None, "") else check(inputs.day, data.get("valid_from"), "valid_from",
                                                                  today=on)
    end = None
    if data.get("valid_to") not in (None, "") and start is not None:
        end = check(inputs.day, data.get("valid_to"), "valid_to", today=on, not_before=start)
    description = check(inputs.text, data.get("description"), "description", max_length=2000) or ""
    check.done(_("The insurance product is not valid."))
    product = InsuranceProduct.objects.create(insurer=org, name=name, policy_type=policy_type, premium_rate=rate,
                                              coverage_ratio=coverage, valid_from=start, valid_to=end,
                                              description=description, created_by=_user(actor))
    audit.record(actor=actor, action="insurance_product.create", obj=product,
                 after={"type": policy_type, "premium_rate": str(rate),
                        "coverage_ratio": None if coverage is None else str(coverage)})
    return product


def products_for(actor):
    _require_reader(actor, PRODUCT_READERS, _("Insurance products are read by their insurer and regulators."))
    return InsuranceProduct.objects.restrict(actor, "view").select_related("insurer")


def get_product(*, actor, product_id) -> InsuranceProduct:
    rows = products_for(actor)
    pk = inputs.optional_id(product_id, "product_id")
    found = rows.filter(pk=pk).first() if pk else None
    if found is None:
        raise NotFound(_("No such insurance product."), code="insurance_product_not_found")
    return found


def in_force(product: InsuranceProduct, on: dt.date) -> bool:
    return product.valid_from <= on and (product.valid_to is None or on <= product.valid_to)


# --- policies ----------------------------------------------------------------------------------------

def _own_product(actor, org, product_id) -> InsuranceProduct:
    pk = inputs.optional_id(product_id, "product_id")
    product = InsuranceProduct.objects.filter(pk=pk, insurer=org).first() if pk else None
    if product is None:
        raise NotFound(_("No such insurance product."), code="insurance_product_not_found")
    return product


def _loan_for_insurer(loan_no, borrower_uscc) -> Loan:
    number = inputs.short(loan_no, "loan_no", required=True, max_length=20)
    uscc = inputs.short(borrower_uscc, "borrower_uscc", required=True, max_length=18)
    loan = Loan.objects.select_for_update().filter(loan_no=number, borrower__uscc=uscc).first()
    if loan is None:
        raise NotFound(_("No such loan."), code="loan_not_found")
    return loan


def _subsidy_of(loan: Loan, on: dt.date):
    """The loan's scheme and the premium subsidy it grants (ratio, yearly cap in fen), if any."""
    enrolment = Enrolment.objects.filter(loan=loan).select_related("scheme").first()
    scheme = enrolment.scheme if enrolment else None
    if scheme is None or not scheme.premium_subsidy_ratio:
        return scheme, None, None
    from .services import in_force as scheme_in_force

    if not scheme_in_force(scheme, on):
        return scheme, None, None
    return scheme, scheme.premium_subsidy_ratio, scheme.premium_subsidy_cap


def _term_months(start: dt.date, end: dt.date) -> int:
    """Months from ``start`` covering ``end`` (a part month counts as a month)."""
    months = whole_months(start, end)
    return max(1, months if add_months(start, months) >= end else months + 1)


def _schedule_rows(policy: InsurancePolicy) -> list[PremiumInstalment]:
    rows = engine.schedule(base=money.from_fen(policy.sum_insured), annual_rate=policy.premium_rate,
                           start=policy.start_date, term_months=policy.term_months,
                           subsidy_ratio=policy.subsidy_ratio, subsidy_year_cap=_yuan(policy.subsidy_year_cap))
    return [PremiumInstalment(policy=policy, seq=r.seq, period_start=r.period_start, period_end=r.period_end,
                              due_date=r.due_date, premium=money.fen(r.premium), subsidy=money.fen(r.subsidy),
                              borrower=money.fen(r.borrower)) for r in rows]


def _rights(check: inputs.Checks, value, enterprise: Organisation | None) -> list[dict]:
    from ippledge.rights.models import Right
    from ippledge.rights.services import find_right

    rows = check(inputs.entries, value, "rights", max_items=MAX_RIGHTS) or []
    if not rows and "rights" not in check.errors:
        check.fail("rights", _("Name at least one right (kind and number)."), "rights_required")
    found, seen = [], set()
    for i, row in enumerate(rows):
        field = f"rights[{i}]"
        if not isinstance(row, dict):
            check.fail(field, _("Give each right as an object with its kind and number."))
            continue
        kind = check(inputs.short, row.get("kind"), f"{field}.kind", required=True, max_length=32)
        number = check(inputs.short, row.get("number"), f"{field}.number", required=True, max_length=64)
        if not kind or not number:
            continue
        try:
            right = find_right(kind, number)  # any normal form of the number
        except NotFound:
            check.fail(field, _("No such right in the register."), "right_not_found")
            continue
        if (right.kind, right.number) in seen:
            continue
        seen.add((right.kind, right.number))
        kind, number = right.kind, right.number
        held = enterprise is not None and enterprise.uscc and Right.objects.filter(
            pk=right.pk, holders__id_number=enterprise.uscc).exists()
        if not held:
            check.fail(field, _("The register does not show the enterprise holding this right."), "right_not_held")
            continue
        found.append({"kind": kind, "number": number})
    return found


def _number(on: dt.date) -> str:
    return numbers.next_number(f"rs-policy-{on.year}", f"IP{on.year}", 6)


@transaction.atomic
def issue_policy(*, actor, data: dict) -> InsurancePolicy:
    """The insurer's user issues a policy on its own product (see the module docstring for the rules)."""
    org = _insurer_org(actor)
    if not isinstance(data, dict):
        raise ValidationFailed(_("The policy is not valid."))
    product = _own_product(actor, org, data.get("product_id"))
    on = business_date.today()
    if not in_force(product, on):
        raise Conflict(_("The product is not on sale on %(date)s.") % {"date": on.isoformat()},
                       code="product_not_in_force")
    if product.policy_type == PolicyType.LOAN_GUARANTEE:
        policy = _loan_policy(actor, product, data, on)
    else:
        policy = _rights_policy(actor, product, data, on)
    rows = _schedule_rows(policy)
    PremiumInstalment.objects.bulk_create(rows)
    audit.record(actor=actor, action="insurance_policy.issue", obj=policy,
                 after={"type": policy.policy_type, "loan": policy.loan.loan_no if policy.loan_id else None,
                        "rights": policy.rights, "sum_insured": policy.sum_insured,
                        "premium_rate": str(policy.premium_rate), "instalments": len(rows),
                        "subsidy_ratio": None if policy.subsidy_ratio is None else str(policy.subsidy_ratio)})
    return policy


def _loan_policy(actor, product: InsuranceProduct, data: dict, on: dt.date) -> InsurancePolicy:
    loan = _loan_for_insurer(data.get("loan_no"), data.get("borrower_uscc"))
    if loan.classification in NON_PERFORMING:
        raise Conflict(_("A non-performing loan cannot be insured."), code="loan_non_performing")
    if loan.balance <= 0 or loan.maturity_date <= on:
        raise Conflict(_("The loan is repaid or matured."), code="loan_repaid")
    if InsurancePolicy.objects.filter(loan=loan, status__in=[PolicyStatus.PENDING, PolicyStatus.ACTIVE]).exists():
        raise Conflict(_("The loan already has a guarantee policy."), code="already_insured")
    start = max(loan.start_date, on)
    scheme, ratio, cap = _subsidy_of(loan, on)
    try:
        with transaction.atomic():
            return InsurancePolicy.objects.create(
                policy_no=_number(on), product=product, insurer=product.insurer, policy_type=product.policy_type,
                loan=loan, sum_insured=loan.amount, premium_rate=product.premium_rate,
                coverage_ratio=product.coverage_ratio, scheme=scheme, subsidy_ratio=ratio, subsidy_year_cap=cap,
                start_date=start, end_date=loan.maturity_date, term_months=_term_months(start, loan.maturity_date),
                status=PolicyStatus.PENDING, issued_by=_user(actor))
    except IntegrityError:
        raise Conflict(_("The loan already has a guarantee policy."), code="already_insured") from None


def _rights_policy(actor, product: InsuranceProduct, data: dict, on: dt.date) -> InsurancePolicy:
    check = inputs.Checks()
    ent_id = check(inputs.optional_id, data.get("enterprise_id"), "enterprise_id")
    enterprise = Organisation.objects.filter(pk=ent_id, kind="enterprise", is_active=True).first() if ent_id else None
    if enterprise is None and "enterprise_id" not in check.errors:
        check.fail("enterprise_id", _("No such enterprise."), "enterprise_not_found")
    rights = _rights(check, data.get("rights"), enterprise)
    total = check(inputs.fen, data.get("sum_insured"), "sum_insured") if data.get("sum_insured") not in (None, "") \
        else check.fail("sum_insured", _("Give the sum insured."), "sum_insured_required")
    start = on if data.get("start_date") in (None, "") else check(inputs.day, data.get("start_date"), "start_date",
                                                                  today=on, not_before=on)
    months = 12 if data.get("term_months") in (None, "") else check(inputs.whole, data.get("term_months"),
                                                                     "term_months", low=1, high=MAX_TERM_MONTHS)
    check.done(_("The policy is not valid."))
    end = add_months(start, months) - dt.timedelta(days=1)
    return InsurancePolicy.objects.create(
        policy_no=_number(on), product=product, insurer=product.insurer, policy_type=product.policy_type,
        enterprise=enterprise, rights=rights, sum_insured=total, premium_rate=product.premium_rate,
        coverage_ratio=product.coverage_ratio, start_date=start, end_date=end, term_months=months,
        status=PolicyStatus.ACTIVE, issued_by=_user(actor))


def policies_for(actor):
    _require_reader(actor, POLICY_READERS,
                    _("Policies are read by their insurer, the loan's bank, the policyholder and regulators."))
    return InsurancePolicy.objects.restrict(actor, "view").select_related("product", "insurer", "loan", "loan__bank", "enterprise", "scheme")


def get_policy(*, actor, policy_id, for_update: bool = False) -> InsurancePolicy:
    pk = inputs.optional_id(policy_id, "policy_id")
    found = policies_for(actor).filter(pk=pk).values_list("pk", flat=True).first() if pk else None
    if found is None:
        raise NotFound(_("No such policy."), code="policy_not_found")
    # Only the policy row is locked (PostgreSQL refuses FOR UPDATE on the nullable side of an outer join).
    rows = InsurancePolicy.objects.select_for_update(of=("self",)) if for_update else InsurancePolicy.objects
    return rows.select_related("product", "insurer", "loan", "loan__bank", "enterprise", "scheme").get(pk=found)


def may_accept(actor, policy: InsurancePolicy) -> bool:
    if policy.status != PolicyStatus.PENDING or policy.loan_id is None:
        return False
    try:
        require_member(actor, policy.loan.bank, BANK_STAFF, "")
    except PermissionDenied:
        return False
    return True


@transaction.atomic
def accept_policy(*, actor, policy_id) -> InsurancePolicy:
    """A user of the loan's bank accepts the insurer's pending guarantee policy: it comes into force."""
    require_user(actor)
    require_role(actor, BANK_STAFF, _("The loan's bank accepts its guarantee policy."))
    policy = get_policy(actor=actor, policy_id=policy_id, for_update=True)
    if policy.loan_id is None:
        raise Conflict(_("Only a loan guarantee policy is accepted by a bank."), code="not_a_loan_policy")
    credit.require_bank_staff(actor, policy.loan.bank)
    if policy.status != PolicyStatus.PENDING:
        raise Conflict(_("The policy is not waiting for acceptance."), code="policy_not_pending")
    policy.status, policy.accepted_by, policy.accepted_at = PolicyStatus.ACTIVE, _user(actor), timezone.now()
    policy.save(update_fields=["status", "accepted_by", "accepted_at"])
    audit.record(actor=actor, action="insurance_policy.accept", obj=policy, after={"status": policy.status})
    return policy


@transaction.atomic
def cancel_policy(*, actor, policy_id, reason) -> InsurancePolicy:
    """The insurer's user cancels a pending or active policy, with the reason (premiums recorded stay)."""
    org = _insurer_org(actor)
    policy = get_policy(actor=actor, policy_id=policy_id, for_update=True)
    if policy.insurer_id != org.pk:
        raise NotFound(_("No such policy."), code="policy_not_found")
    reason = inputs.text(reason, "reason", max_length=300, required=True)
    if policy.status not in (PolicyStatus.PENDING, PolicyStatus.ACTIVE):
        raise Conflict(_("The policy is already cancelled."), code="policy_not_live")
    before = policy.status
    policy.status = PolicyStatus.CANCELLED
    policy.save(update_fields=["status"])
    audit.record(actor=actor, action="insurance_policy.cancel", obj=policy, before={"status": before},
                 after={"status": policy.status, "reason": reason})
    return policy


def status_of(policy: InsurancePolicy, on: dt.date | None = None) -> str:
    """What the policy reads today: claimed, lapsed or expired are read from its facts (the engine's rule)."""
    on = on or business_date.today()
    unpaid = [i.due_date for i in policy.instalments.all() if i.paid_on is None]
    claimed = bool(policy.loan_id) and hasattr(policy.loan, "risk_claim")
    return engine.status(stored=policy.status, end_date=policy.end_date, on=on, unpaid_due_dates=unpaid,
                         claimed=claimed)


def may_record_payment(actor, policy: InsurancePolicy) -> bool:
    return (policy.status == PolicyStatus.ACTIVE and actor.has_role(Role.INSURER_USER)
            and actor.organisation_id == policy.insurer_id)


@transaction.atomic
def record_premium_payment(*, actor, policy_id, instalment=None, amount=None, paid_on=None,
                           note: str = "") -> PremiumInstalment:
    """The insurer's user records an instalment's premium as received (the earliest unpaid by default)."""
    org = _insurer_org(actor)
    policy = get_policy(actor=actor, policy_id=policy_id, for_update=True)
    if policy.insurer_id != org.pk:
        raise NotFound(_("No such policy."), code="policy_not_found")
    if policy.status != PolicyStatus.ACTIVE:
        raise Conflict(_("Premiums are recorded on a policy in force."), code="policy_not_active")
    on = business_date.today()
    check = inputs.Checks()
    seq = check(inputs.whole, instalment, "instalment", low=1, high=MAX_TERM_MONTHS) \
        if instalment not in (None, "") else None
    value = check(inputs.fen, amount, "amount") if amount not in (None, "") else None
    day = on if paid_on in (None, "") else check(inputs.day, paid_on, "paid_on", today=on, not_after=on)
    note = check(inputs.text, note, "note", max_length=300) or ""
    check.done(_("The premium payment is not valid."))
    rows = PremiumInstalment.objects.select_for_update().filter(policy=policy)
    row = rows.filter(seq=seq).first() if seq else rows.filter(paid_on__isnull=True).order_by("seq").first()
    if row is None:
        if seq:
            raise ValidationFailed(_("No such instalment."), code="instalment_not_found",
                                   fields={"instalment": [_("No such instalment.")]})
        raise Conflict(_("Every instalment is paid."), code="already_paid")
    if row.paid_on is not None:
        raise Conflict(_("This instalment is already paid."), code="already_paid")
    if value is not None and value != row.premium:
        message = _("The instalment's premium is %(premium)s.") % {"premium": money.from_fen(row.premium)}
        raise ValidationFailed(message, code="amount_mismatch", fields={"amount": [message]})
    row.paid_on, row.paid_amount, row.recorded_by = day, row.premium, _user(actor)
    row.recorded_at, row.note = timezone.now(), note
    row.save(update_fields=["paid_on", "paid_amount", "recorded_by", "recorded_at", "note"])
    audit.record(actor=actor, action="insurance_policy.premium_paid", obj=policy,
                 after={"instalment": row.seq, "amount": row.premium, "paid_on": day.isoformat()})
    return row


def totals(policy: InsurancePolicy) -> dict[str, int]:
    rows = list(policy.instalments.all())
    return {"premium": sum(r.premium for r in rows), "subsidy": sum(r.subsidy for r in rows),
            "borrower": sum(r.borrower for r in rows),
            "paid": sum(r.paid_amount or 0 for r in rows),
            "unpaid": sum(r.premium for r in rows if r.paid_on is None)}


# --- the premium source of the loan's all-in cost -------------------------------------------------------

def live_policy(loan) -> InsurancePolicy | None:
    """The loan's guarantee policy that is pending or active (at most one: a database constraint)."""
    return InsurancePolicy.objects.filter(loan=loan, status__in=[PolicyStatus.PENDING, PolicyStatus.ACTIVE]) \
        .select_related("product", "insurer").first()


def premium_source(loan, on: dt.date) -> costs.PremiumTerms | None:
    """Registered with :func:`ippledge.credit.costs.register_premium_source`: the premium over the term of
    the loan's guarantee policy in force (accepted, not lapsed or expired)."""
    if getattr(loan, "pk", None) is None:
        return None
    policy = InsurancePolicy.objects.filter(loan=loan, status=PolicyStatus.ACTIVE).first()
    if policy is None or status_of(policy, on) not in (PolicyStatus.ACTIVE, PolicyStatus.CLAIMED):
        return None
    sums = totals(policy)
    return costs.PremiumTerms(reference=policy.policy_no, annual_rate=policy.premium_rate,
                              premium=money.from_fen(sums["premium"]), subsidy=money.from_fen(sums["subsidy"]),
                              subsidy_ratio=policy.subsidy_ratio, subsidy_year_cap=_yuan(policy.subsidy_year_cap))
