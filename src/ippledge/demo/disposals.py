"""Collateral disposal in the demo region (issue 14): a few enforcement cases on the banks' loans, each
taken through the disposal services as the users who would act — the bank's officer, the IP exchange's
user, a buyer, the registrar.

* a listing on the IP exchange, bid for and won by a registered buyer, settled through the waterfall into
  the loan (its balance drops by the principal applied), the right transferred to the buyer and the
  pledge cancelled (enforced);
* an open listing on the exchange, shown on the public listings page;
* an agreed set-off (协议折价) the bank proposed, awaiting the pledgor's confirmation;
* a negotiated sale to the bank itself, settled, and the bank's maintenance-fee relief application on the
  right it now holds, pending the registrar.

Deterministic: loans are taken in loan-number order from the last (the alerts take the first; a loan with
a paid risk-sharing claim comes first, so the won listing's settlement trues the claim up), each
staged in its own savepoint so that a loan whose collateral cannot be enforced is simply passed over.
The won listing's round closes 1.5 s after it opens (the exchange closes a round at its closing time).
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from decimal import Decimal

from django.db import transaction

from ippledge.core.errors import DomainError
from ippledge.core.roles import Role

ROUND_SECONDS = 1.5
LISTING_DAYS = 30


def _loans():
    """(loan, officer, [(kind, number)]) for the demo banks' open loans whose pledged rights are all live
    under whole registrations: the login bank's first, then last loan number first."""
    from ippledge.core.models import User
    from ippledge.credit.models import Loan, LoanCollateral
    from ippledge.registry.models import Pledge, PledgeStatus

    out = []
    for loan in Loan.objects.filter(bank__is_demo=True, balance__gt=0).select_related("bank").order_by("-loan_no"):
        rows = list(LoanCollateral.objects.filter(loan=loan).order_by("id"))
        registrations = {r.registration_no for r in rows}
        pledges = list(Pledge.objects.filter(registration_no__in=registrations))
        if not rows or len(pledges) != len(registrations) or any(p.status != PledgeStatus.REGISTERED for p in pledges):
            continue
        officer = User.objects.filter(organisation=loan.bank, roles__role=Role.BANK_OFFICER).order_by("pk").first()
        if officer is None:
            continue
        refs = []
        for pledge in pledges:
            for link in pledge.pledge_rights.filter(live=True).select_related("right").order_by("id"):
                refs.append({"kind": link.right.kind, "number": link.right.number})
        if refs:
            out.append((loan, officer, refs))
    # The bank whose staff the demo prints logins for comes first: its officer sees cases of every kind.
    login_bank = User.objects.filter(username=Role.BANK_OFFICER.value).values_list("organisation_id", flat=True).first()
    return sorted(out, key=lambda row: row[0].bank_id != login_bank)


def _open(loan, officer, refs, channel: str, agency, **extra):
    from ippledge.disposal import services

    value = loan.balance * 11 // 10 // 100 * 100  # the appraisal: 110 % of the principal, whole yuan
    data = {"loan_no": loan.loan_no, "channel": channel, "rights": refs,
            "appraisal": {"agency_id": agency.pk, "value": str(Decimal(value) / 100),
                          "report_no": f"示范评报字{loan.loan_no[-6:]}"}, **extra}
    if loan.classification not in ("substandard", "doubtful", "loss"):
        data.update(contract_default=True, default_reason="借款合同第十二条：逾期未付利息，贷款人宣布贷款提前到期")
    return services.open_case(actor=officer, data=data)


def _yuan(fen: int) -> str:
    return str(Decimal(fen) / 100)


def _buyer(pledgor_id: int, bank_id: int):
    """A registered organisation's user to bid or buy: the ``enterprise`` login's firm, else another
    enterprise's user, else another bank's officer (never the pledgor)."""
    from ippledge.core.models import User

    users = User.objects.filter(organisation__is_demo=True, is_active=True).exclude(organisation_id=pledgor_id)
    first = users.filter(username="enterprise").first()
    if first is not None:
        return first
    return (users.filter(roles__role=Role.ENTERPRISE_USER, organisation__kind="enterprise").order_by("pk").first()
            or users.filter(roles__role=Role.BANK_OFFICER, organisation__kind="bank").exclude(
                organisation_id=bank_id).order_by("pk").first())


def _won_listing(loan, officer, refs, *, today, agency, exchange, exchange_user):
    from ippledge.disposal import services, services_settlement

    case = _open(loan, officer, refs, "exchange_listing", agency, exchange_org_id=exchange.pk)
    buyer = _buyer(case.pledgor_id, case.bank_id)
    if buyer is None:
        raise _Skip
    start = services.now()
    closes = start + dt.timedelta(seconds=ROUND_SECONDS)
    reserve = case.appraised_value * 8 // 10 // 100 * 100
    services.publish_round(actor=exchange_user, disposal_no=case.disposal_no, data={
        "reserve": _yuan(reserve), "increment": "10000", "deposit": "0",
        "opens_at": (start - dt.timedelta(hours=1)).isoformat(), "closes_at": closes.isoformat()})
    services.express_interest(actor=buyer, disposal_no=case.disposal_no, note="有意受让，已完成尽职调查")
    services.place_bid(actor=buyer, disposal_no=case.disposal_no, amount=_yuan(reserve))
    wait = (closes - services.now()).total_seconds()
    if wait > 0:
        time.sleep(wait + 0.05)
    services.close_round(actor=exchange_user, disposal_no=case.disposal_no)
    case.refresh_from_db()
    services_settlement.settle(actor=officer, disposal_no=case.disposal_no, proceeds=_yuan(case.agreed_value),
                               costs="20000", date=today.isoformat(), buyer={"org_id": case.agreed_buyer_id})


def _open_listing(loan, officer, refs, *, today, agency, exchange, exchange_user):
    from ippledge.disposal import services

    case = _open(loan, officer, refs, "exchange_listing", agency, exchange_org_id=exchange.pk)
    start = services.now()
    services.publish_round(actor=exchange_user, disposal_no=case.disposal_no, data={
        "reserve": _yuan(case.appraised_value * 9 // 10 // 100 * 100), "increment": "10000", "deposit": "50000",
        "opens_at": (start - dt.timedelta(hours=2)).isoformat(),
        "closes_at": (start + dt.timedelta(days=LISTING_DAYS)).isoformat()})


def _setoff_awaiting(loan, officer, refs, *, today, agency, exchange, exchange_user):
    from ippledge.disposal import services

    case = _open(loan, officer, refs, "agreed_setoff", agency)
    value = max(services.setoff_floor_of(case), case.claim_principal) // 100 * 100 + 100
    services.agree(actor=officer, disposal_no=case.disposal_no, value=_yuan(value),
                   agreement_ref=f"示范折价协议{case.disposal_no[-4:]}")


def _held_with_relief(loan, officer, refs, *, today, agency, exchange, exchange_user):
    from ippledge.disposal import services, services_relief, services_settlement

    case = _open(loan, officer, refs, "negotiated_sale", agency)
    services.agree(actor=officer, disposal_no=case.disposal_no, value=_yuan(case.appraised_value),
                   agreement_ref=f"示范转让协议{case.disposal_no[-4:]}", buyer_org_id=case.bank_id)
    services_settlement.settle(actor=officer, disposal_no=case.disposal_no, proceeds=_yuan(case.appraised_value),
                               costs="10000", date=today.isoformat())
    first = case.case_rights.select_related("right").order_by("id").first().right
    services_relief.apply(actor=officer, right={"kind": first.kind, "number": first.number},
                          note="以处置方式取得，申请减缓年费")


class _Skip(Exception):
    pass


STAGES = (_won_listing, _open_listing, _setoff_awaiting, _held_with_relief)


def stage(*, today: dt.date, agencies) -> dict[str, int]:
    """Stage the disposal cases; returns the cases by status (what the summary reports)."""
    from ippledge.core.models import Organisation, User
    from ippledge.disposal.models import DisposalCase

    exchange = Organisation.objects.filter(kind="ip_exchange", is_demo=True).order_by("pk").first()
    exchange_user = User.objects.filter(organisation=exchange, roles__role=Role.EXCHANGE_USER).first() \
        if exchange else None
    admitted = [a for a in agencies if a.status == "admitted"]
    if exchange_user is None or not admitted:
        return {}
    # The won listing goes first to a loan whose risk-sharing claim is paid (demo.risksharing), so that its
    # settlement trues the claim up.
    from ippledge.risksharing.models import Claim, ClaimStatus

    claimed = set(Claim.objects.filter(status=ClaimStatus.PAID).values_list("loan_id", flat=True))
    candidates = iter(sorted(_loans(), key=lambda row: row[0].pk not in claimed))
    for n, step in enumerate(STAGES):
        for loan, officer, refs in candidates:
            try:
                with transaction.atomic():
                    step(loan, officer, refs, today=today, agency=admitted[n % len(admitted)], exchange=exchange,
                         exchange_user=exchange_user)
                break
            except (DomainError, _Skip):
                continue
    return dict(sorted(Counter(DisposalCase.objects.values_list("status", flat=True)).items()))
