"""Maintenance-fee relief (notice item 十六) for rights a bank obtained by enforcing its pledge, and the
holding period of such rights (by analogy with the Commercial Bank Law Art. 42; configurable).

A bank's staff apply with the disposal record as evidence; a registrar of the office that keeps the
right decides (a reduction in percent, or a refusal with its reason).  ``reductions_for(right_ids)`` is the
reader monitoring's annuity amounts use (``monitoring.annuities.relief_readers``, registered in this app's
``ready``): the approved share off the fees while the bank holds the right.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from ippledge.core import audit, business_date
from ippledge.core.actors import user_or_none as _user
from ippledge.core.eod import eod_job
from ippledge.core.errors import Conflict, NotFound
from ippledge.core.permissions import require_office, require_user
from ippledge.credit import inputs
from ippledge.credit import services as credit
from ippledge.rights.models import Right
from ippledge.rights.services import find_right

from . import config
from .models import AcquiredRight, FeeRelief, ReliefStatus


def reliefs_for(actor):
    require_user(actor)
    return FeeRelief.objects.restrict(actor, "view").select_related("right", "bank", "acquired__case")


def get_relief(*, actor, relief_id, for_update: bool = False) -> FeeRelief:
    pk = inputs.optional_id(relief_id, "relief_id")
    found = reliefs_for(actor).filter(pk=pk).values_list("pk", flat=True).first() if pk else None
    if found is None:
        raise NotFound(_("No such fee-relief application."), code="relief_not_found")
    qs = FeeRelief.objects.select_for_update(of=("self",)) if for_update else FeeRelief.objects
    return qs.select_related("right", "bank", "acquired__case").get(pk=found)


def held_rights_for(actor):
    """The rights the actor's bank (or its branches) obtained by enforcement and still holds, without a
    pending or approved fee-relief application: what its staff may apply for."""
    from django.db.models import Q

    require_user(actor)
    own = getattr(actor, "organisation_id", None)
    if own is None:
        return AcquiredRight.objects.none()
    live = FeeRelief.objects.exclude(status=ReliefStatus.REFUSED).values("right_id")
    return (AcquiredRight.objects.filter(Q(bank_id=own) | Q(bank__parent_id=own), disposed_on__isnull=True)
            .exclude(right_id__in=live).select_related("right", "case").order_by("hold_until", "id"))


@transaction.atomic
def apply(*, actor, right: dict, note: str = "") -> FeeRelief:
    credit.require_bank_staff(actor)
    ref = right if isinstance(right, dict) else {}
    target: Right = find_right(str(ref.get("kind") or ""), str(ref.get("number") or ""))
    held = AcquiredRight.objects.filter(right=target, disposed_on__isnull=True).select_related("bank", "case").first()
    if held is None:
        raise Conflict(_("The right was not obtained by a bank enforcing its pledge."), code="not_acquired_by_enforcement")
    credit.require_bank_staff(actor, held.bank)
    text = inputs.text(note, "note", max_length=300)
    try:
        with transaction.atomic():
            row = FeeRelief.objects.create(right=target, bank=held.bank, acquired=held, note=text,
                                           applied_on=business_date.today(), applied_by=_user(actor))
    except IntegrityError:
        raise Conflict(_("A fee-relief application for this right is pending or approved."), code="relief_exists") from None
    audit.record(actor=actor, action="fee_relief.apply", obj=row, object_repr=target.number,
                 after={"right": target.number, "disposal": held.case.disposal_no})
    return row


@transaction.atomic
def decide(*, actor, relief_id, approve, reduction_percent=None, reason="") -> FeeRelief:
    """A registrar of the right's office approves with a reduction (0–100 %) or refuses with a reason."""
    from ippledge.core.permissions import require_registrar

    require_registrar(actor)
    row = get_relief(actor=actor, relief_id=relief_id, for_update=True)
    require_office(actor, {row.right.kind})
    if row.status != ReliefStatus.PENDING:
        raise Conflict(_("The application is decided."), code="already_decided")
    check = inputs.Checks()
    yes = check(inputs.flag, approve, "approve")
    why = check(inputs.text, reason, "reason", max_length=300)
    percent = None
    if yes:
        try:
            percent = Decimal(str(reduction_percent)) if reduction_percent not in (None, "", True, False) else None
        except ArithmeticError:
            percent = None
        if percent is None or not Decimal(0) < percent <= Decimal(100) or -percent.as_tuple().exponent > 2:
            check.fail("reduction_percent", _("Give a reduction above 0 and at most 100 percent."), "out_of_range")
    elif not why:
        check.fail("reason", _("Give the reason for the refusal."), "reason_required")
    check.done(_("The decision is not valid."))
    row.status = ReliefStatus.APPROVED if yes else ReliefStatus.REFUSED
    row.reduction_percent, row.reason = percent, why
    row.decided_on, row.decided_by = business_date.today(), _user(actor)
    row.save(update_fields=["status", "reduction_percent", "reason", "decided_on", "decided_by"])
    audit.record(actor=actor, action="fee_relief.decide", obj=row, object_repr=row.right.number,
                 after={"status": row.status, "reduction_percent": str(percent) if percent is not None else None})
    return row


def fee_reduction(right: Right) -> Decimal | None:
    """The approved share off the right's annual/maintenance fees (0.5 = half), while a bank holds it."""
    return reductions_for([right.pk]).get(right.pk)


def reductions_for(right_ids: list[int]) -> dict[int, Decimal]:
    """{right id: approved share off} of these rights while a bank holds them: the reader monitoring's
    annuity amounts use (registered in ``DisposalConfig.ready``; monitoring does not import this app).
    Approved reliefs are few: one query over them, filtered here, whatever the number of ids."""
    wanted = set(right_ids)
    rows = FeeRelief.objects.filter(status=ReliefStatus.APPROVED, acquired__disposed_on__isnull=True,
                                    reduction_percent__isnull=False).values_list("right_id", "reduction_percent")
    return {right_id: percent / 100 for right_id, percent in rows if right_id in wanted}


@eod_job("disposal.holding_periods", order=150)
def holding_period_alerts(on: dt.date) -> dict:
    """Raise ``holding_period_due`` in the bank's inbox for acquired rights whose holding deadline is within
    the alert lead (IPPLEDGE_DISPOSAL_HOLDING_ALERT_DAYS) or past; a right the bank no longer holds (its
    register shows another owner) is marked disposed."""
    from ippledge.monitoring import services as monitoring

    lead = dt.timedelta(days=config.holding_alert_days())
    raised = disposed = 0
    for held in AcquiredRight.objects.filter(disposed_on__isnull=True, hold_until__lte=on + lead).select_related(
            "bank", "right", "case"):
        if held.bank.uscc and not held.right.holders.filter(id_number=held.bank.uscc).exists():
            held.disposed_on = on
            held.save(update_fields=["disposed_on"])
            disposed += 1
            continue
        alert = monitoring.raise_alert(kind="holding_period_due", condition_key=f"held:{held.pk}", owner_org=held.bank,
                                       on=on, right=held.right, due_date=max(on, held.hold_until),
                                       detail={"deadline": held.hold_until.isoformat(),
                                               "disposal_no": held.case.disposal_no})
        raised += alert is not None
    return {"raised": raised, "disposed": disposed}
