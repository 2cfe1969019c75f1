"""Provisioning for IP-pledge loans per bank (provision ratio and coverage, the higher applies; base 2.5 % of
loans and 150 % of NPLs, configurable per bank) and the write-off (核销) of a loss loan with maker-checker,
whose written-off principal is the recognised principal loss an ex-post claim reads.

The provision rule is the engine's (:mod:`.engine.provisioning`); reporting reads :func:`required_provisions`.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from ippledge.core import audit, business_date, money
from ippledge.core.actors import user_or_none as _user
from ippledge.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ippledge.core.models import Organisation
from ippledge.core.permissions import require_user
from ippledge.core.roles import Role
from ippledge.credit import inputs
from ippledge.credit import services as credit
from ippledge.credit import write_off as credit_write_off
from ippledge.credit.models import NON_PERFORMING, Classification, Loan

from .models import ProvisionSetting, WriteOff, WriteOffStatus

DEFAULT_PROVISION_RATIO = Decimal("0.025")
DEFAULT_COVERAGE_RATIO = Decimal("1.50")
APPROVERS = frozenset({Role.BANK_APPROVER})
PROPOSERS = frozenset({Role.BANK_REVIEWER, Role.BANK_APPROVER})


# --- provisioning ------------------------------------------------------------------------------------

def _bank(actor, bank_org_id) -> Organisation:
    require_user(actor)
    bank_id = inputs.optional_id(bank_org_id, "bank_org_id")
    bank = Organisation.objects.filter(pk=bank_id, kind="bank").first() if bank_id else None
    readable = bank is not None and (actor.is_platform_admin or actor.has_role(Role.REGULATOR_USER) or
                                     actor.organisation_id in (bank.pk, bank.parent_id))
    if not readable:
        raise NotFound(_("No such bank."), code="bank_not_found")
    return bank


def settings_of(bank: Organisation) -> tuple[Decimal, Decimal]:
    row = ProvisionSetting.objects.filter(bank=bank).first()
    return (row.provision_ratio, row.coverage_ratio) if row else (DEFAULT_PROVISION_RATIO, DEFAULT_COVERAGE_RATIO)


@transaction.atomic
def set_provisioning(*, actor, bank_org_id, provision_ratio, coverage_ratio) -> ProvisionSetting:
    """A bank's approver sets its provisioning base for IP-pledge loans."""
    credit.require_bank_staff(actor, roles=APPROVERS)
    bank = _bank(actor, bank_org_id)
    credit.require_bank_staff(actor, bank, APPROVERS)
    check = inputs.Checks()
    ratio = check(inputs.fraction, provision_ratio, "provision_ratio", max_percent=100)
    # Coverage is a multiple of the NPL balance (150 % = 1.50), at most 10×.
    coverage = check(inputs.fraction, coverage_ratio, "coverage_ratio", places=4, max_percent=1000)
    check.done(_("The provisioning settings are not valid."))
    row, _created = ProvisionSetting.objects.update_or_create(
        bank=bank, defaults={"provision_ratio": ratio, "coverage_ratio": coverage, "updated_by": _user(actor)})
    audit.record(actor=actor, action="risk_provisioning.set", obj=row, object_repr=bank.name,
                 after={"provision_ratio": str(ratio), "coverage_ratio": str(coverage)})
    return row


def book_figures(bank_ids: list[int] | None = None) -> dict[int, dict[str, int]]:
    """Per bank: the IP-pledge loan balance and its non-performing part, in fen (one grouped query)."""
    query = Loan.objects.filter(balance__gt=0)
    if bank_ids is not None:
        query = query.filter(bank_id__in=bank_ids)
    rows = query.values("bank_id").annotate(loans=Sum("balance"),
                                            npl=Sum("balance", filter=Q(classification__in=NON_PERFORMING)))
    return {r["bank_id"]: {"loans": r["loans"] or 0, "npl": r["npl"] or 0} for r in rows}


def provision_for(*, loans: int, npl: int, provision_ratio: Decimal, coverage_ratio: Decimal) -> dict:
    """The engine's rule on fen figures: what is required (fen), by which test, and both tests' amounts."""
    from .engine import provisioning

    result = provisioning.required_provision(loans=money.from_fen(loans), npl=money.from_fen(npl),
                                             provision_ratio=provision_ratio, coverage_ratio=coverage_ratio)
    return {"by_loans": money.fen(result.by_loans), "by_npl": money.fen(result.by_npl),
            "required": money.fen(result.required), "binding": result.binding}


def required_provisions(*, bank_ids: list[int] | None = None) -> list[dict]:
    """Required provisions for IP-pledge loans, bank by bank (for statistics; reporting reads this)."""
    figures = book_figures(bank_ids)
    settings = {s.bank_id: s for s in ProvisionSetting.objects.filter(bank_id__in=list(figures))}
    out = []
    for bank_id, fig in sorted(figures.items()):
        row = settings.get(bank_id)
        ratio = row.provision_ratio if row else DEFAULT_PROVISION_RATIO
        coverage = row.coverage_ratio if row else DEFAULT_COVERAGE_RATIO
        out.append({"bank_org_id": bank_id, "loan_balance": fig["loans"], "npl_balance": fig["npl"],
                    "provision_ratio": ratio, "coverage_ratio": coverage,
                    **provision_for(loans=fig["loans"], npl=fig["npl"], provision_ratio=ratio,
                                    coverage_ratio=coverage)})
    return out


def provisioning_of(*, actor, bank_org_id) -> dict:
    bank = _bank(actor, bank_org_id)
    ratio, coverage = settings_of(bank)
    fig = book_figures([bank.pk]).get(bank.pk, {"loans": 0, "npl": 0})
    return {"bank_org_id": bank.pk, "bank": bank.name, "as_of": business_date.today().isoformat(),
            "loan_balance": fig["loans"], "npl_balance": fig["npl"], "provision_ratio": ratio,
            "coverage_ratio": coverage,
            **provision_for(loans=fig["loans"], npl=fig["npl"], provision_ratio=ratio, coverage_ratio=coverage)}


# --- write-off ---------------------------------------------------------------------------------------

@transaction.atomic
def propose_write_off(*, actor, loan_no: str, reason) -> WriteOff:
    """The bank's reviewer or approver proposes writing off a loss loan's outstanding principal."""
    credit.require_bank_staff(actor, roles=PROPOSERS)
    loan = credit.get_loan(actor=actor, loan_no=loan_no, for_update=True)
    credit.require_bank_staff(actor, loan.bank, PROPOSERS)
    reason = inputs.text(reason, "reason", required=True, max_length=500)
    if loan.classification != Classification.LOSS:
        raise Conflict(_("Only a loan classified as loss is written off."), code="not_loss")
    if loan.balance <= 0:
        raise Conflict(_("No principal is outstanding."), code="nothing_outstanding")
    try:
        with transaction.atomic():
            row = WriteOff.objects.create(loan=loan, amount=loan.balance, reason=reason, proposed_by=_user(actor))
    except IntegrityError:
        raise Conflict(_("This loan's write-off is already proposed or done."), code="write_off_exists") from None
    audit.record(actor=actor, action="risk_write_off.propose", obj=row, object_repr=loan.loan_no,
                 after={"amount": row.amount})
    return row


def get_write_off(*, actor, write_off_id, for_update: bool = False) -> WriteOff:
    require_user(actor)
    pk = inputs.optional_id(write_off_id, "write_off_id")
    found = WriteOff.objects.restrict(actor, "view").filter(pk=pk).values_list("pk", flat=True).first() if pk else None
    if found is None:
        raise NotFound(_("No such write-off."), code="write_off_not_found")
    return (WriteOff.objects.select_for_update() if for_update else WriteOff.objects).get(pk=found)


@transaction.atomic
def decide_write_off(*, actor, write_off_id, approve, note: str = "") -> WriteOff:
    """Another approver of the bank approves (the principal leaves the book through the credit service and is
    the recognised loss) or rejects."""
    credit.require_bank_staff(actor, roles=APPROVERS)
    row = get_write_off(actor=actor, write_off_id=write_off_id, for_update=True)
    credit.require_bank_staff(actor, row.loan.bank, APPROVERS)
    approve = inputs.flag(approve, "approve", default=None)
    if approve is None:
        raise ValidationFailed(_("Approve or reject the write-off."), fields={"approve": [_("This field is required.")]})
    if row.proposed_by_id is not None and row.proposed_by_id == getattr(actor, "pk", None):
        raise PermissionDenied(_("No one approves a write-off they proposed."), code="separation_of_duties")
    if row.status != WriteOffStatus.PROPOSED:
        raise Conflict(_("This write-off is already decided."), code="already_decided")
    row.decided_by, row.decided_at = _user(actor), timezone.now()
    if not approve:
        row.status = WriteOffStatus.REJECTED
        row.save(update_fields=["status", "decided_by", "decided_at"])
        audit.record(actor=actor, action="risk_write_off.reject", obj=row, object_repr=row.loan.loan_no)
        return row
    row.amount = credit_write_off.write_off(actor=actor, loan_no=row.loan.loan_no, reason=row.reason)
    row.status, row.date = WriteOffStatus.APPROVED, business_date.today()
    row.save(update_fields=["status", "decided_by", "decided_at", "amount", "date"])
    audit.record(actor=actor, action="risk_write_off.approve", obj=row, object_repr=row.loan.loan_no,
                 after={"amount": row.amount})
    return row

