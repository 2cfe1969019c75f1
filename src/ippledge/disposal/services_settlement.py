"""Settlement of a disposal case and what follows it.

The proceeds go first to pledges on the sold rights that rank before the enforcing bank's (Civil Code
414: the earlier registration ranks first; each senior pledge takes up to its registered secured amount,
in order of registration), then through the Civil Code 561 waterfall of the bank's claim (costs of
realising it → interest → principal; ``rules.apply_proceeds``); what is left is the surplus for the
pledgor, what is not covered the shortfall that stays on the loan.  Every live pledge on a sold right —
senior, the bank's own and junior — is cancelled with reason ``enforced`` (the buyer takes the right free
of them; junior pledgees are told), and each right records a ``transferred`` event to the buyer (the
bank, for an agreed set-off or a bank buyer: it then holds the right for the holding period).

The interest and principal applied go to the loan exactly as split through
``credit.services.apply_enforcement_recovery`` (its balance drops by the principal applied; days past
due, classification and statistics follow); the principal is a recovery on the loan's paid
risk-sharing claim (the pro-rata true-up of issue 13).  Later apps react through
``settlement_listeners``: ``listener(settlement_id=..., case_id=...)`` after commit.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from ippledge.core import audit, business_date, money
from ippledge.core.actors import SYSTEM
from ippledge.core.actors import user_or_none as _user
from ippledge.core.errors import Conflict, ValidationFailed
from ippledge.core.models import Organisation
from ippledge.core.permissions import has_any_role
from ippledge.core.roles import Role
from ippledge.credit import inputs
from ippledge.credit import services as credit
from ippledge.registry import notify
from ippledge.registry import services as registry
from ippledge.registry.models import Pledge, PledgeStatus
from ippledge.rights import services as rights_services

from . import config, rules
from .models import AcquiredRight, CaseStatus, Channel, DisposalCase, LicenceIncome, Settlement
from .services import _split, get_case, require_case_bank

log = logging.getLogger(__name__)

settlement_listeners: list[Callable[..., None]] = []


def _party_owner(org: Organisation) -> dict:
    if org.uscc:
        return {"name": org.name, "id_type": "uscc", "id_number": org.uscc}
    return {"name": org.name, "id_type": "other", "id_number": ""}


def _ranked_pledges(case: DisposalCase) -> tuple[list[Pledge], set[str]]:
    """Every live pledge on the case's rights in rank order (registration time), and the bank's own."""
    rights = [link.right for link in case.case_rights.select_related("right")]
    own = {link.registration_no for link in case.case_rights.all()}
    pledges: dict[int, Pledge] = {}
    for right in rights:
        for pledge in registry.live_pledges(right):
            pledges[pledge.pk] = pledge
    return sorted(pledges.values(), key=lambda p: (p.registered_at, p.pk)), own


def rank_proceeds(proceeds: int, ranked: list[tuple[str, int, bool]]) -> tuple[list[dict], int]:
    """Split proceeds by rank: (registration, secured amount, is the enforcing bank's) in rank order.
    Seniors take up to their secured amounts first; the bank's claim takes what is left (returned);
    juniors take nothing here (their pledges end with the sale)."""
    left, rows, seen_own = proceeds, [], False
    for rank, (number, secured, mine) in enumerate(ranked, start=1):
        if mine:
            seen_own = True
            rows.append({"registration_no": number, "rank": rank, "position": "enforcing", "paid": None})
            continue
        if seen_own:
            rows.append({"registration_no": number, "rank": rank, "position": "junior", "paid": 0})
            continue
        paid = min(left, secured)
        left -= paid
        rows.append({"registration_no": number, "rank": rank, "position": "senior", "paid": paid})
    return rows, left


def _parse(case: DisposalCase, *, proceeds, costs, date, buyer) -> tuple[int, int, dt.date, Organisation]:
    on = business_date.today()
    check = inputs.Checks()
    value = check(inputs.fen, proceeds, "proceeds")
    cost = check(inputs.fen, "0" if costs in (None, "") else costs, "costs", allow_zero=True)
    day = check(inputs.day, date, "date", today=on, not_before=max(case.opened_on, case.loan.start_date),
                not_after=on)
    buyer_id = None
    if isinstance(buyer, dict):
        buyer_id = check(inputs.optional_id, buyer.get("org_id"), "buyer.org_id")
    elif buyer not in (None, ""):
        check.fail("buyer", _("Give the buyer as {org_id}."))
    check.done(_("The settlement is not valid."))
    if value != case.agreed_value:
        message = _("The proceeds must be the agreed or winning price of %(price)s yuan.") % {
            "price": money.from_fen(case.agreed_value)}
        raise ValidationFailed(message, code="proceeds_mismatch", fields={"proceeds": [message]})
    if buyer_id is not None and buyer_id != case.agreed_buyer_id:
        message = _("The buyer must be the party the sale was agreed with or the round's winner.")
        raise ValidationFailed(message, code="buyer_mismatch", fields={"buyer": [message]})
    if cost > value:
        message = _("The costs of realising the claim cannot exceed the proceeds.")
        raise ValidationFailed(message, code="costs_above_proceeds", fields={"costs": [message]})
    return value, cost, day, case.agreed_buyer


@transaction.atomic
def settle(*, actor, disposal_no: str, proceeds, costs, date, buyer=None) -> Settlement:
    """Settle a sold or agreed case once: the waterfall, the loan repayment, the risk-sharing recovery, the
    pledges cancelled (enforced) and the rights transferred to the buyer."""
    credit.require_bank_staff(actor)
    case = get_case(actor=actor, disposal_no=disposal_no, for_update=True)
    require_case_bank(actor, case)
    if Settlement.objects.filter(case=case).exists() or case.status == CaseStatus.SETTLED:
        raise Conflict(_("This case is already settled."), code="already_settled")
    if case.channel == Channel.LICENSING:
        raise Conflict(_("A licensing case recovers through licence income, not a sale."), code="wrong_channel")
    if case.status not in (CaseStatus.AGREED, CaseStatus.SOLD):
        raise Conflict(_("The case is settled once the sale is agreed or the round is won."), code="not_ready_to_settle")
    value, cost, day, buyer_org = _parse(case, proceeds=proceeds, costs=costs, date=date, buyer=buyer)
    ranked, own = _ranked_pledges(case)
    ranks, net = rank_proceeds(value, [(p.registration_no, p.secured_amount, p.registration_no in own)
                                       for p in ranked])
    loan = type(case.loan).objects.get(pk=case.loan_id)
    claim = rules.Claim(principal=loan.balance, interest=max(0, case.claim_interest - case.recovered_interest),
                        costs=max(0, case.claim_costs + cost - case.recovered_costs))
    fall = rules.apply_proceeds(net, claim)
    try:
        with transaction.atomic():
            row = Settlement.objects.create(
                case=case, date=day, proceeds=value, costs=cost, buyer=buyer_org, senior_paid=value - net,
                applied_costs=fall.applied["costs"], applied_interest=fall.applied["interest"],
                applied_principal=fall.applied["principal"], surplus=fall.surplus, shortfall=fall.shortfall,
                ranks=ranks, recorded_by=_user(actor))
    except IntegrityError:
        raise Conflict(_("This case is already settled."), code="already_settled") from None
    _apply_to_loan(actor, case, day, fall.applied["principal"], fall.applied["interest"])
    row.risk_recovery = _recover_on_claim(actor, case, day, fall.applied["principal"])
    row.save(update_fields=["risk_recovery"])
    _end_pledges(actor, case, ranked, own)
    _transfer(case, buyer_org, day)
    _realised_prices(actor, case, value, day)
    if buyer_org.pk == case.bank_id or buyer_org.parent_id == case.bank_id:
        hold_until = rules.holding_deadline(day, config.holding_years())
        AcquiredRight.objects.bulk_create([AcquiredRight(right=link.right, bank=buyer_org, case=case, acquired_on=day,
                                                         hold_until=hold_until) for link in case.case_rights.all()])
    case.status = CaseStatus.SETTLED
    case.save(update_fields=["status"])
    audit.record(actor=actor, action="disposal.settle", obj=case, object_repr=case.disposal_no,
                 after={"proceeds": value, "costs": cost, "buyer": buyer_org.pk, "applied": fall.applied,
                        "surplus": fall.surplus, "shortfall": fall.shortfall, "senior": value - net})
    for listener in settlement_listeners:
        transaction.on_commit(functools.partial(listener, settlement_id=row.pk, case_id=case.pk), robust=True)
    return row


def _apply_to_loan(actor, case: DisposalCase, day: dt.date, principal: int, interest: int) -> None:
    if principal + interest > 0:
        credit.apply_enforcement_recovery(actor=actor, loan_no=case.loan.loan_no, date=day.isoformat(),
                                          principal=str(money.from_fen(principal)),
                                          interest=str(money.from_fen(interest)))


def _recover_on_claim(actor, case: DisposalCase, day: dt.date, principal: int) -> int:
    """The principal recovered goes to the loan's paid risk-sharing claim (up to its base), trued up pro
    rata among the payers by the risk-sharing service.  Nothing when there is no paid claim."""
    if principal <= 0:
        return 0
    try:
        from ippledge.risksharing import services_claims
        from ippledge.risksharing.models import Claim, ClaimStatus
    except ImportError:  # risk sharing not installed in this build
        return 0
    claim = Claim.objects.filter(loan_id=case.loan_id).exclude(status=ClaimStatus.FILED).first()
    if claim is None:
        return 0
    amount = min(principal, claim.base_amount - claim.recovered)
    if amount <= 0:
        return 0
    services_claims.record_recovery(actor=actor, claim_id=claim.pk, amount=str(money.from_fen(amount)),
                                    date=max(day, claim.filed_on).isoformat())
    return amount


def _end_pledges(actor, case: DisposalCase, ranked: list[Pledge], own: set[str]) -> None:
    """Cancel every live pledge on the sold rights (reason ``enforced``): the bank's own as pledgee, the
    others by the registry as a consequence of the enforcement sale, their pledgees told."""
    for pledge in ranked:
        if pledge.status != PledgeStatus.REGISTERED:
            continue
        if pledge.registration_no in own:
            registry.cancel(actor=actor, registration_no=pledge.registration_no, reason="enforced")
            continue
        registry.cancel(actor=SYSTEM, registration_no=pledge.registration_no, reason="enforced")
        for party in pledge.parties.filter(role="pledgee", org__isnull=False).select_related("org"):
            notify.notify(org=party.org, kind="disposal.pledge_enforced",
                          message=_("Pledge %(pledge)s ended: its right was sold in disposal %(no)s.") % {
                              "pledge": pledge.registration_no, "no": case.disposal_no},
                          data={"registration_no": pledge.registration_no, "disposal_no": case.disposal_no})


def _transfer(case: DisposalCase, buyer: Organisation, day: dt.date) -> None:
    """Each right records its transfer to the buyer in the register (the registry's act on the
    enforcement; the pledges are cancelled already, the consent is the enforcing pledgee's)."""
    for link in case.case_rights.select_related("right"):
        rights_services.record_event(actor=SYSTEM, right=link.right, data={
            "type": "transferred", "date": day.isoformat(), "new_owners": [_party_owner(buyer)],
            "pledgee_consent": True, "note": _("Disposal %(no)s") % {"no": case.disposal_no}})


def _realised_prices(actor, case: DisposalCase, value: int, day: dt.date) -> None:
    """The price each right fetched (the proceeds split by appraised value), for the appraisers' record."""
    from ippledge.valuation import services as valuation

    links = list(case.case_rights.select_related("right"))
    parts = _split(value, [link.appraised_value or 0 for link in links])
    who = actor if has_any_role(actor, {Role.BANK_OFFICER}) else SYSTEM
    for link, part in zip(links, parts, strict=True):
        if part > 0:
            valuation.record_realised_price(actor=who, right=link.right, price=str(money.from_fen(part)), date=day,
                                            source="disposal")


# --- licensing ---------------------------------------------------------------------------------------

@transaction.atomic
def record_licence_income(*, actor, disposal_no: str, amount, date) -> LicenceIncome:
    """Licence income of a licensing case, applied as a recovery through the same waterfall on what the
    claim still owes; the bank's staff or the operation company's users record it."""
    from ippledge.core.permissions import BANK_STAFF, require_member, require_role

    require_role(actor, BANK_STAFF | {Role.ENTERPRISE_USER})
    case = get_case(actor=actor, disposal_no=disposal_no, for_update=True)
    if case.channel != Channel.LICENSING:
        raise Conflict(_("Licence income belongs to a licensing case."), code="wrong_channel")
    if actor.has_role(Role.ENTERPRISE_USER) and not actor.is_platform_admin:
        require_member(actor, case.operator, {Role.ENTERPRISE_USER},
                       _("Only the bank or the operation company records licence income."))
    else:
        require_case_bank(actor, case)
    if case.status != CaseStatus.OPERATING:
        raise Conflict(_("The case is closed."), code="case_closed")
    on = business_date.today()
    check = inputs.Checks()
    value = check(inputs.fen, amount, "amount")
    day = check(inputs.day, date, "date", today=on, not_before=max(case.opened_on, case.loan.start_date), not_after=on)
    check.done(_("The licence income is not valid."))
    loan = type(case.loan).objects.get(pk=case.loan_id)
    claim = rules.Claim(principal=loan.balance, interest=max(0, case.claim_interest - case.recovered_interest),
                        costs=max(0, case.claim_costs - case.recovered_costs))
    fall = rules.apply_proceeds(value, claim)
    row = LicenceIncome.objects.create(case=case, date=day, amount=value, applied_costs=fall.applied["costs"],
                                       applied_interest=fall.applied["interest"],
                                       applied_principal=fall.applied["principal"], recorded_by=_user(actor))
    bank_actor = actor if not actor.has_role(Role.ENTERPRISE_USER) else SYSTEM
    _apply_to_loan(bank_actor, case, day, fall.applied["principal"], fall.applied["interest"])
    _recover_on_claim(bank_actor, case, day, fall.applied["principal"])
    case.recovered_costs += fall.applied["costs"]
    case.recovered_interest += fall.applied["interest"]
    case.recovered_principal += fall.applied["principal"]
    if fall.shortfall == 0:
        case.status = CaseStatus.SETTLED  # the claim is recovered in full
    case.save(update_fields=["recovered_costs", "recovered_interest", "recovered_principal", "status"])
    audit.record(actor=actor, action="disposal.licence_income", obj=case, object_repr=case.disposal_no,
                 after={"amount": value, "applied": fall.applied, "surplus": fall.surplus})
    return row
