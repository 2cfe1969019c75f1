"""Business actions of enforcement cases: open a case on a non-performing loan, and run its channel —
rounds with deposits and bids (auction, tender, IP-exchange listing), expressions of interest, an agreed
set-off or negotiated sale, licensing by an operation company.  Settlement is ``services_settlement``.

Who acts: the lending bank's staff open and run their cases; an IP exchange's users publish and close
the rounds of a case listed on their exchange; any registered organisation's users (enterprises, banks)
bid and express interest as that organisation; the pledgor's own users confirm an agreed set-off.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ippledge.core import audit, business_date, limits, numbers
from ippledge.core.actors import user_or_none as _user
from ippledge.core.errors import Conflict, NotAuthenticated, NotFound, PermissionDenied, ValidationFailed
from ippledge.core.models import Organisation
from ippledge.core.permissions import (
    BANK_STAFF,
    belongs_to,
    has_any_role,
    require_member,
    require_role,
    require_user,
)
from ippledge.core.roles import OrgKind, Role
from ippledge.credit import inputs
from ippledge.credit import services as credit
from ippledge.credit.engine import schedule as sched
from ippledge.credit.models import NON_PERFORMING, Loan
from ippledge.registry.models import Pledge, PledgeStatus
from ippledge.rights.models import Right
from ippledge.rights.services import find_right
from ippledge.valuation.models import (
    AppraisalAgency,
    RosterStatus,
    ValuationRecord,
    ValuationRight,
    ValuationStatus,
)

from . import config, rules
from .models import (
    AGREED_CHANNELS,
    BIDDING_CHANNELS,
    Bid,
    CaseNotice,
    CaseRight,
    CaseStatus,
    Channel,
    DefaultBasis,
    Deposit,
    DisposalCase,
    Interest,
    Round,
)

EXCHANGE_USERS: frozenset[Role] = frozenset({Role.EXCHANGE_USER})
# Who bids or expresses interest for a registered organisation: its enterprise users and bank staff.
BIDDERS: frozenset[Role] = BANK_STAFF | {Role.ENTERPRISE_USER}
LIVE_STATUSES = (CaseStatus.OPEN, CaseStatus.LISTED, CaseStatus.AGREED, CaseStatus.SOLD, CaseStatus.OPERATING)
MAX_ROUND_DAYS = 366


def now() -> dt.datetime:
    """The clock of bids and rounds (tests move it)."""
    return timezone.now()


# --- reading -----------------------------------------------------------------------------------------

def cases_for(actor):
    require_user(actor)
    return DisposalCase.objects.restrict(actor, "view")


def get_case(*, actor, disposal_no: str, for_update: bool = False) -> DisposalCase:
    """The case if the actor may read it; 404 alike for a case that does not exist and one it may not see."""
    number = (disposal_no or "").strip().upper() if isinstance(disposal_no, str) else ""
    pk = cases_for(actor).filter(disposal_no=number).values_list("pk", flat=True).first() if number else None
    if pk is None:
        raise NotFound(_("No such disposal case."), code="disposal_not_found")
    # PostgreSQL locks no row on the nullable side of an outer join: lock the case's own row only.
    qs = DisposalCase.objects.select_for_update(of=("self",)) if for_update else DisposalCase.objects
    return qs.select_related("loan", "bank", "pledgor", "exchange", "operator").get(pk=pk)


def public_listings():
    """Cases open to buyers (a round published, or an exchange listing), for anonymous readers."""
    return (DisposalCase.objects.filter(status=CaseStatus.LISTED)
            .prefetch_related("case_rights__right", "rounds").order_by("deadline", "id"))


def current_round(case: DisposalCase, *, for_update: bool = False) -> Round | None:
    qs = Round.objects.filter(case=case).order_by("-number")
    return (qs.select_for_update() if for_update else qs).first()


# --- who may act on a case ---------------------------------------------------------------------------

def require_case_bank(actor, case: DisposalCase) -> None:
    credit.require_bank_staff(actor, case.bank)


def require_case_operator(actor, case: DisposalCase) -> None:
    """The rounds of an exchange listing are the exchange's users' act; of an auction or tender the bank's."""
    if case.channel == Channel.EXCHANGE_LISTING:
        require_member(actor, case.exchange, EXCHANGE_USERS,
                       _("Only the users of the IP exchange the case is listed on may do this."))
    else:
        require_case_bank(actor, case)


def _operator_roles(case: DisposalCase) -> Iterable[Role]:
    return EXCHANGE_USERS if case.channel == Channel.EXCHANGE_LISTING else BANK_STAFF


# --- opening a case ----------------------------------------------------------------------------------

def _states(loan: Loan) -> list[sched.InstalmentState]:
    rows = list(loan.schedule.filter(current=True).order_by("due_date", "seq"))
    instalments = [sched.Instalment(seq=i + 1, due_date=r.due_date, principal=r.principal, interest=r.interest)
                   for i, r in enumerate(rows)]
    payments = [(p.date, p.principal, p.interest) for p in loan.repayments.all()]
    return sched.apply_payments(instalments, payments)  # in fen: the schedule is exact on integers


def interest_due(loan: Loan, on: dt.date) -> int:
    """Scheduled interest fallen due by ``on`` and not paid (fen): the interest part of the claim."""
    return int(sum((s.interest - s.paid_interest for s in _states(loan) if s.due_date <= on), 0))


def _liquidation_value(rights: list[Right]) -> tuple[int, str] | None:
    """The liquidation value of the rights from the latest final valuation of each (a bundle's allocation
    scaled by its liquidation-to-market ratio), with the valuation numbers; None if a right has none."""
    total, refs = 0, []
    for right in rights:
        link = (ValuationRight.objects.filter(right=right, valuation__status=ValuationStatus.FINAL,
                                              valuation__liquidation_value__isnull=False)
                .select_related("valuation").order_by("-valuation__valuation_date", "-valuation__id").first())
        if link is None:
            return None
        record: ValuationRecord = link.valuation
        if link.allocated_value is not None and record.market_value:
            value = record.liquidation_value * link.allocated_value // record.market_value
        else:
            value = record.liquidation_value
        total += value
        if record.valuation_no not in refs:
            refs.append(record.valuation_no)
    return total, ", ".join(refs)[:64]


def _collateral_rights(check: inputs.Checks, loan: Loan, refs) -> list[tuple[Right, str]]:
    """The rights named, each pledged to this loan by a live registration: (right, registration)."""
    listed = check(inputs.entries, refs, "rights", max_items=limits.limit("MAX_RIGHTS")) or []
    found: list[tuple[Right, str]] = []
    collateral = {(c.right_kind, c.right_number): c.registration_no for c in loan.collateral.all()}
    for i, ref in enumerate(listed):
        field = f"rights[{i}]"
        if not isinstance(ref, dict):
            check.fail(field, _("Give the right as {kind, number}."))
            continue
        try:
            right = find_right(str(ref.get("kind") or ""), str(ref.get("number") or ""))
        except NotFound as exc:
            check.fail(field, exc.localised(_), "right_not_found")
            continue
        registration = collateral.get((right.kind, right.number))
        if registration is None:
            check.fail(field, _("This right does not secure the loan."), "right_not_collateral")
            continue
        if any(r.pk == right.pk for r, _reg in found):
            check.fail(field, _("This right is named twice."))
            continue
        found.append((right, registration))
    if listed == [] and not check.errors:
        check.fail("rights", _("Name at least one pledged right."))
    return found


def _check_whole_pledges(found: list[tuple[Right, str]]) -> dict[str, Pledge]:
    """Each enforcing registration is live and enforced on all its live rights (the registry cancels
    a registration as a whole; it has no partial release)."""
    pledges: dict[str, Pledge] = {}
    chosen = {r.pk for r, _reg in found}
    for _right, registration in found:
        if registration in pledges:
            continue
        pledge = Pledge.objects.filter(registration_no=registration).first()
        if pledge is None or pledge.status != PledgeStatus.REGISTERED:
            raise Conflict(_("Pledge %(no)s is no longer registered: it cannot be enforced.") % {"no": registration},
                           code="pledge_not_live")
        rest = set(pledge.pledge_rights.filter(live=True).values_list("right_id", flat=True)) - chosen
        if rest:
            message = _("Pledge %(no)s also covers other rights: enforce it on all of them in one case.") % {
                "no": registration}
            raise ValidationFailed(message, code="partial_pledge", fields={"rights": [message]})
        pledges[registration] = pledge
    return pledges


def _org(check: inputs.Checks, value, field: str, kinds: Iterable[str] | None, required: bool) -> Organisation | None:
    pk = check(inputs.optional_id, value, field)
    if pk is None:
        if required and field not in check.errors:
            check.fail(field, _("This field is required."))
        return None
    org = Organisation.objects.filter(pk=pk).first()
    if org is None or (kinds is not None and org.kind not in kinds):
        check.fail(field, _("No such organisation of the right kind."), "unknown_organisation")
        return None
    return org


def _appraisal(check: inputs.Checks, data) -> tuple[int, AppraisalAgency, str] | None:
    if data in (None, ""):
        return None
    if not isinstance(data, dict):
        check.fail("appraisal", _("Give the appraisal as {agency_id, value, report_no}."))
        return None
    agency_id = check(inputs.optional_id, data.get("agency_id"), "appraisal.agency_id")
    value = check(inputs.fen, data.get("value"), "appraisal.value")
    report = check(inputs.short, data.get("report_no"), "appraisal.report_no", required=True, max_length=64)
    agency = AppraisalAgency.objects.filter(pk=agency_id).first() if agency_id else None
    if agency is None or agency.status != RosterStatus.ADMITTED:
        check.fail("appraisal.agency_id", _("Choose an appraisal agency admitted to the roster."), "agency_not_rostered")
        return None
    return (value, agency, report) if value is not None and report else None


@transaction.atomic
def open_case(*, actor, data: dict) -> DisposalCase:
    """A bank opens an enforcement case on its non-performing loan (or one in default by contract, with a
    reason) for some or all of the loan's pledged rights."""
    credit.require_bank_staff(actor)  # the role first: a stranger learns nothing of the loan
    loan_no = data.get("loan_no") if isinstance(data.get("loan_no"), str) else ""
    loan = credit.get_loan(actor=actor, loan_no=loan_no.strip().upper(), for_update=True)
    credit.require_bank_staff(actor, loan.bank)
    on = business_date.today()
    check = inputs.Checks()
    channel = check(inputs.choice, data.get("channel"), "channel", Channel.values)
    contract_default = check(inputs.flag, data.get("contract_default"), "contract_default")
    reason = check(inputs.text, data.get("default_reason"), "default_reason", max_length=300)
    legal_basis = check(inputs.text, data.get("legal_basis"), "legal_basis", max_length=300)
    costs = check(inputs.fen, data.get("costs") or "0", "costs", allow_zero=True)
    deadline = None if data.get("deadline") in (None, "") else check(inputs.day, data.get("deadline"), "deadline",
                                                                     today=on, not_before=on)
    found = _collateral_rights(check, loan, data.get("rights"))
    exchange = _org(check, data.get("exchange_org_id"), "exchange_org_id", {OrgKind.IP_EXCHANGE},
                    required=channel == Channel.EXCHANGE_LISTING)
    operator = _org(check, data.get("operator_org_id"), "operator_org_id", None, required=channel == Channel.LICENSING)
    guarantors = [_org(check, g, f"guarantor_org_ids[{i}]", {OrgKind.GUARANTOR, OrgKind.INSURER}, required=True)
                  for i, g in enumerate(check(inputs.entries, data.get("guarantor_org_ids"), "guarantor_org_ids",
                                              max_items=limits.limit("MAX_PARTIES")) or [])]
    appraisal = _appraisal(check, data.get("appraisal"))
    if contract_default and not reason:
        check.fail("default_reason", _("Give the contract clause and the default."), "default_reason_required")
    check.done(_("The disposal case is not valid."))
    if loan.classification not in NON_PERFORMING and not contract_default:
        raise Conflict(_("The loan is performing: a disposal needs a non-performing loan, or a default under the "
                         "contract with its reason."), code="loan_performing")
    busy = CaseRight.objects.filter(right__in=[r for r, _reg in found], case__status__in=LIVE_STATUSES)
    if busy.exists():
        raise Conflict(_("A right named is already in an open disposal case."), code="right_in_disposal")
    pledges = _check_whole_pledges(found)
    rights = [r for r, _reg in found]
    if appraisal is not None:
        value, agency, ref = appraisal
        source = "appraisal"
    else:
        valued = _liquidation_value(rights)
        if valued is None:
            message = _("A right has no final valuation with a liquidation value: give a rostered agency's appraisal.")
            raise ValidationFailed(message, code="valuation_required", fields={"appraisal": [message]})
        (value, ref), agency, source = valued, None, "valuation"
    case = DisposalCase.objects.create(
        disposal_no=numbers.next_number(f"disposal-{on.year}", f"CZ{on.year}", 6), loan=loan, bank=loan.bank,
        pledgor=loan.borrower, channel=channel,
        status=CaseStatus.OPERATING if channel == Channel.LICENSING else CaseStatus.OPEN,
        default_basis=DefaultBasis.CONTRACT_DEFAULT if loan.classification not in NON_PERFORMING
        else DefaultBasis.NON_PERFORMING, default_reason=reason,
        legal_basis=legal_basis or _("Civil Code Art. 436 and 437: the pledgee may realise the pledged right."),
        claim_principal=loan.balance, claim_interest=interest_due(loan, on), claim_costs=costs,
        appraised_value=value, valuation_source=source, valuation_ref=ref, appraisal_agency=agency,
        exchange=exchange, operator=operator, deadline=deadline, opened_on=on, created_by=_user(actor))
    shares = _split(value, [1] * len(rights))
    CaseRight.objects.bulk_create([CaseRight(case=case, right=r, registration_no=reg, appraised_value=share)
                                   for (r, reg), share in zip(found, shares, strict=True)])
    _give_notice(case, pledges, [g for g in guarantors if g is not None])
    audit.record(actor=actor, action="disposal.open", obj=case, object_repr=case.disposal_no,
                 after={"loan": loan.loan_no, "channel": channel, "rights": [r.number for r in rights],
                        "claim": [case.claim_principal, case.claim_interest, case.claim_costs], "value": value})
    return case


def _split(total: int, weights: list[int]) -> list[int]:
    """``total`` in parts proportional to ``weights`` (largest remainder), adding up exactly."""
    whole = sum(weights)
    if not weights:
        return []
    if whole <= 0:
        weights, whole = [1] * len(weights), len(weights)
    parts = [total * w // whole for w in weights]
    order = sorted(range(len(weights)), key=lambda i: -(total * weights[i] % whole))
    for i in order[: total - sum(parts)]:
        parts[i] += 1
    return parts


def _give_notice(case: DisposalCase, pledges: dict[str, Pledge], guarantors: list[Organisation]) -> None:
    """The notice of enforcement to the pledgor(s) and the guarantors, in the platform."""
    from ippledge.registry import notify

    pledgors = {case.pledgor_id: case.pledgor}
    for pledge in pledges.values():
        for party in pledge.parties.filter(role="pledgor", org__isnull=False).select_related("org"):
            pledgors.setdefault(party.org_id, party.org)
    message = _("Disposal case %(no)s: bank %(bank)s enforces its pledge on the rights securing loan %(loan)s.") % {
        "no": case.disposal_no, "bank": case.bank.name, "loan": case.loan.loan_no}
    for role, orgs in (("pledgor", pledgors.values()), ("guarantor", guarantors)):
        for org in orgs:
            notify.notify(org=org, kind="disposal.notice", message=message[:300],
                          data={"disposal_no": case.disposal_no, "role": role, "loan_no": case.loan.loan_no})
            CaseNotice.objects.create(case=case, org=org, role=role)


# --- rounds: auction, tender, exchange listing -------------------------------------------------------

def _moment(check: inputs.Checks, value, field: str, *, not_before: dt.datetime | None = None) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = dt.datetime.fromisoformat(value) if isinstance(value, str) and len(value) <= 40 else None
        except ValueError:
            moment = None
    if moment is None:
        check.fail(field, _("Enter a date and time as YYYY-MM-DDTHH:MM with its offset."), "invalid_datetime")
        return None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, dt.timezone(dt.timedelta(hours=8)))  # Beijing time
    if not_before is not None and moment <= not_before:
        check.fail(field, _("Must be later than the opening."))
        return None
    if abs(moment - now()) > dt.timedelta(days=MAX_ROUND_DAYS):
        check.fail(field, _("Out of the allowed range."), "out_of_range")
        return None
    return moment


def _require_bidding(case: DisposalCase) -> None:
    if case.channel not in BIDDING_CHANNELS:
        raise Conflict(_("This case is not sold by bids."), code="wrong_channel")


@transaction.atomic
def publish_round(*, actor, disposal_no: str, data: dict) -> Round:
    """Publish the next round: reserve, increment, deposit, open and close times.  A round after an unsold
    one defaults to the previous reserve less the configured discount."""
    require_role(actor, BANK_STAFF | EXCHANGE_USERS)
    case = get_case(actor=actor, disposal_no=disposal_no, for_update=True)
    require_case_operator(actor, case)
    _require_bidding(case)
    last = current_round(case)
    if case.status not in (CaseStatus.OPEN, CaseStatus.LISTED) or (last is not None and last.closed_at is None):
        raise Conflict(_("A round is open, or the case is no longer for sale."), code="round_not_allowed")
    check = inputs.Checks()
    if data.get("reserve") in (None, "") and last is not None:
        reserve = rules.next_reserve(last.reserve, config.round_discount())
    else:
        reserve = check(inputs.fen, data.get("reserve"), "reserve")
    increment = check(inputs.fen, data.get("increment") or "0", "increment", allow_zero=True)
    deposit = check(inputs.fen, data.get("deposit") or "0", "deposit", allow_zero=True)
    opens_at = _moment(check, data.get("opens_at"), "opens_at")
    closes_at = _moment(check, data.get("closes_at"), "closes_at", not_before=opens_at) if opens_at else None
    check.done(_("The round is not valid."))
    rnd = Round.objects.create(case=case, number=(last.number + 1) if last else 1, reserve=reserve,
                               increment=increment, deposit=deposit, opens_at=opens_at, closes_at=closes_at,
                               published_by=_user(actor))
    case.status = CaseStatus.LISTED
    if case.deadline is None or case.deadline < timezone.localtime(closes_at).date():
        case.deadline = timezone.localtime(closes_at).date()
    case.save(update_fields=["status", "deadline"])
    audit.record(actor=actor, action="disposal.round", obj=case, object_repr=case.disposal_no,
                 after={"round": rnd.number, "reserve": reserve, "closes_at": closes_at.isoformat()})
    return rnd


def _open_round(case: DisposalCase, *, for_update: bool = False) -> Round:
    rnd = current_round(case, for_update=for_update)
    if rnd is None or rnd.closed_at is not None or case.status != CaseStatus.LISTED:
        raise Conflict(_("No round of this case is open."), code="auction_closed")
    return rnd


@transaction.atomic
def record_deposit(*, actor, disposal_no: str, bidder_org_id, amount) -> Deposit:
    """Whoever runs the round (the bank, or the exchange) records a bidder's deposit as received."""
    require_role(actor, BANK_STAFF | EXCHANGE_USERS)
    case = get_case(actor=actor, disposal_no=disposal_no, for_update=True)
    require_case_operator(actor, case)
    _require_bidding(case)
    rnd = _open_round(case, for_update=True)
    check = inputs.Checks()
    bidder = _org(check, bidder_org_id, "bidder_org_id", {OrgKind.ENTERPRISE, OrgKind.BANK}, required=True)
    value = check(inputs.fen, amount, "amount")
    check.done(_("The deposit is not valid."))
    if value < rnd.deposit:
        message = _("The deposit is %(deposit)s yuan.") % {"deposit": _yuan(rnd.deposit)}
        raise ValidationFailed(message, code="deposit_too_small", fields={"amount": [message]})
    if _excluded_bidder(case, bidder):
        raise Conflict(_("The pledgor may not buy its own pledged rights."), code="bidder_excluded")
    try:
        with transaction.atomic():
            row = Deposit.objects.create(round=rnd, bidder=bidder, amount=value, recorded_by=_user(actor))
    except IntegrityError:
        raise Conflict(_("This bidder's deposit is already recorded."), code="deposit_exists") from None
    audit.record(actor=actor, action="disposal.deposit", obj=case, object_repr=case.disposal_no,
                 after={"round": rnd.number, "bidder": bidder.pk, "amount": value})
    return row


def _yuan(fen: int) -> str:
    """An amount in a message or notification, as pages show money (thousands separators, two decimals)."""
    from ippledge.core.money import format_yuan

    return format_yuan(fen)


def _excluded_bidder(case: DisposalCase, org: Organisation) -> bool:
    return org.pk == case.pledgor_id


def _bidder_org(actor) -> Organisation:
    require_role(actor, BIDDERS, _("Bids are placed by a registered organisation's users."))
    org = getattr(actor, "organisation", None)
    if org is None or org.kind not in (OrgKind.ENTERPRISE, OrgKind.BANK):
        raise PermissionDenied(_("Bids are placed by a registered organisation's users."))
    return org


def may_bid(actor) -> bool:
    """Whether ``actor`` bids for a registered organisation (what ``place_bid`` asks first)."""
    try:
        _bidder_org(actor)
    except (PermissionDenied, NotAuthenticated):
        return False
    return True


@transaction.atomic
def place_bid(*, actor, disposal_no: str, amount) -> Bid:
    """A registered organisation bids through its own user.  Auction and listing bids are open (each beats
    the highest by the increment); tender bids are sealed (one per bidder, opened at close)."""
    org = _bidder_org(actor)
    case = _listed_case(disposal_no)
    rnd = _open_round(case, for_update=True)  # the round's row lock orders concurrent bids
    value = inputs.fen(amount, "amount")
    bids = Bid.objects.filter(round=rnd)
    sealed = case.channel == Channel.TENDER
    if sealed and bids.filter(bidder=org).exists():
        raise Conflict(_("A tender takes one sealed bid from each bidder."), code="bid_already_sealed")
    highest = None if sealed else bids.order_by("-amount").values_list("amount", flat=True).first()
    at = now()
    deposit_paid = rnd.deposit == 0 or Deposit.objects.filter(round=rnd, bidder=org).exists()
    if _excluded_bidder(case, org):
        raise Conflict(_("The pledgor may not buy its own pledged rights."), code="bidder_excluded")
    try:
        rules.check_bid(_rule_round(rnd), amount=value, at=at, highest=highest, deposit_paid=deposit_paid)
    except rules.BidRefused as exc:
        raise Conflict(_(_BID_MESSAGES.get(exc.code, gettext_noop("The bid is refused."))), code=exc.code) from None
    bid = Bid.objects.create(round=rnd, bidder=org, amount=value, at=at, placed_by=_user(actor))
    audit.record(actor=actor, action="disposal.bid", obj=case, object_repr=case.disposal_no,
                 after={"round": rnd.number, "bidder": org.pk, "amount": None if sealed else value})
    return bid


_BID_MESSAGES = {
    "auction_not_open": gettext_noop("The round has not opened yet."),
    "auction_closed": gettext_noop("The round is closed."),
    "deposit_required": gettext_noop("Pay the deposit before bidding."),
    "bid_below_reserve": gettext_noop("The bid is below the reserve price."),
    "bid_below_increment": gettext_noop("The bid must beat the highest bid by at least the increment."),
}


def _listed_case(disposal_no) -> DisposalCase:
    """A case buyers may act on: listed for sale (public), whatever their organisation."""
    number = (disposal_no or "").strip().upper() if isinstance(disposal_no, str) else ""
    case = DisposalCase.objects.select_for_update().filter(disposal_no=number, status=CaseStatus.LISTED).first()
    if case is None:
        raise NotFound(_("No such listing."), code="disposal_not_found")
    return case


def _rule_round(rnd: Round) -> rules.Round:
    return rules.Round(number=rnd.number, reserve=rnd.reserve, increment=rnd.increment, deposit=rnd.deposit,
                       opens_at=rnd.opens_at, closes_at=rnd.closes_at)


@transaction.atomic
def close_round(*, actor, disposal_no: str) -> Round:
    """At or after the closing time: the highest bid at or above the reserve wins (sealed bids are opened
    now); with none the next round opens at once for as long, the reserve less the configured discount."""
    require_role(actor, BANK_STAFF | EXCHANGE_USERS)
    case = get_case(actor=actor, disposal_no=disposal_no, for_update=True)
    require_case_operator(actor, case)
    _require_bidding(case)
    rnd = _open_round(case, for_update=True)
    at = now()
    if at < rnd.closes_at:
        raise Conflict(_("The round closes at its closing time."), code="round_still_open")
    bids = list(Bid.objects.filter(round=rnd).order_by("at", "id"))
    won = rules.winner([(b.amount, b.at, b) for b in bids], _rule_round(rnd))
    rnd.closed_at = at
    if won is not None:
        amount, bid = won
        rnd.outcome, rnd.winning_bid = "sold", bid
        case.status, case.agreed_value, case.agreed_buyer = CaseStatus.SOLD, amount, bid.bidder
        case.save(update_fields=["status", "agreed_value", "agreed_buyer"])
        rnd.save(update_fields=["closed_at", "outcome", "winning_bid"])
        _tell(case, bid.bidder, _("You won disposal %(no)s at %(amount)s yuan.") % {
            "no": case.disposal_no, "amount": _yuan(amount)})
    else:
        rnd.outcome = "unsold"
        rnd.save(update_fields=["closed_at", "outcome"])
        length = rnd.closes_at - rnd.opens_at
        following = Round.objects.create(case=case, number=rnd.number + 1,
                                         reserve=rules.next_reserve(rnd.reserve, config.round_discount()),
                                         increment=rnd.increment, deposit=rnd.deposit, opens_at=at,
                                         closes_at=at + length, published_by=_user(actor))
        case.deadline = timezone.localtime(following.closes_at).date()
        case.save(update_fields=["deadline"])
    audit.record(actor=actor, action="disposal.close_round", obj=case, object_repr=case.disposal_no,
                 after={"round": rnd.number, "outcome": rnd.outcome, "bids": len(bids),
                        "winner": rnd.winning_bid.bidder_id if rnd.winning_bid else None})
    return rnd


def _tell(case: DisposalCase, org: Organisation, message: str) -> None:
    from ippledge.registry import notify

    notify.notify(org=org, kind="disposal", message=message[:300], data={"disposal_no": case.disposal_no})


@transaction.atomic
def express_interest(*, actor, disposal_no: str, note: str = "") -> Interest:
    """A registered organisation's user tells the seller it is interested in a listing (意向登记)."""
    org = _bidder_org(actor)
    case = _listed_case(disposal_no)
    text = inputs.text(note, "note", max_length=300)
    row = Interest.objects.create(case=case, org=org, note=text, by=_user(actor))
    seller = case.exchange if case.channel == Channel.EXCHANGE_LISTING else case.bank
    _tell(case, seller, _("%(org)s is interested in disposal %(no)s.") % {"org": org.name, "no": case.disposal_no})
    audit.record(actor=actor, action="disposal.interest", obj=case, object_repr=case.disposal_no,
                 after={"org": org.pk})
    return row


# --- agreed set-off and negotiated sale --------------------------------------------------------------

@transaction.atomic
def agree(*, actor, disposal_no: str, value, agreement_ref, buyer_org_id=None) -> DisposalCase:
    """The bank records the agreement: a set-off at a value not below the configured share of the appraisal
    (the pledgor's users then confirm it), or a negotiated sale to a registered buyer (agreed at once)."""
    credit.require_bank_staff(actor)
    case = get_case(actor=actor, disposal_no=disposal_no, for_update=True)
    require_case_bank(actor, case)
    if case.channel not in AGREED_CHANNELS:
        raise Conflict(_("This case is not settled by agreement."), code="wrong_channel")
    if case.status not in (CaseStatus.OPEN, CaseStatus.AGREED) or case.pledgor_confirmed_by_id:
        raise Conflict(_("The agreement can no longer be changed."), code="agreement_closed")
    check = inputs.Checks()
    amount = check(inputs.fen, value, "value")
    ref = check(inputs.short, agreement_ref, "agreement_ref", required=True)
    buyer = case.bank if case.channel == Channel.AGREED_SETOFF else \
        _org(check, buyer_org_id, "buyer_org_id", {OrgKind.ENTERPRISE, OrgKind.BANK}, required=True)
    check.done(_("The agreement is not valid."))
    if case.channel == Channel.AGREED_SETOFF:
        floor = rules.setoff_floor(case.appraised_value, config.setoff_floor_share())
        if amount < floor:
            message = _("A set-off may not be below %(floor)s yuan (%(share)s of the appraisal).") % {
                "floor": _yuan(floor), "share": f"{config.setoff_floor_share():.0%}"}
            raise ValidationFailed(message, code="below_setoff_floor", fields={"value": [message]})
    elif _excluded_bidder(case, buyer):
        raise Conflict(_("The pledgor may not buy its own pledged rights."), code="bidder_excluded")
    case.agreed_value, case.agreed_buyer, case.agreement_ref = amount, buyer, ref
    case.status = CaseStatus.AGREED if case.channel == Channel.NEGOTIATED_SALE else CaseStatus.OPEN
    case.save(update_fields=["agreed_value", "agreed_buyer", "agreement_ref", "status"])
    if case.channel == Channel.AGREED_SETOFF:
        _tell(case, case.pledgor, _("Bank %(bank)s proposes to take the rights of disposal %(no)s at %(amount)s "
                                    "yuan: confirm the signed agreement.") % {
            "bank": case.bank.name, "no": case.disposal_no, "amount": _yuan(amount)})
    audit.record(actor=actor, action="disposal.agree", obj=case, object_repr=case.disposal_no,
                 after={"value": amount, "buyer": buyer.pk, "ref": ref})
    return case


def setoffs_for_pledgor(actor):
    """The agreed set-offs (协议折价) on the actor's enterprise's pledged rights that a bank has proposed:
    what the pledgor's users read and confirm (only the pledgor's own users; none for anyone else)."""
    require_role(actor, {Role.ENTERPRISE_USER}, _("Only the pledgor's users confirm a set-off."))
    qs = DisposalCase.objects.filter(channel=Channel.AGREED_SETOFF, agreed_value__isnull=False)
    if not actor.is_platform_admin:
        own = getattr(actor, "organisation_id", None)
        if own is None:
            return qs.none()
        qs = qs.filter(pledgor_id=own)
    return qs.select_related("bank", "pledgor", "pledgor_confirmed_by").order_by("-opened_on", "-id")


def setoff_for_pledgor(*, actor, disposal_no: str) -> DisposalCase:
    """One proposed set-off of the actor's enterprise; 404 alike for another's and for one that does not exist."""
    number = (disposal_no or "").strip().upper() if isinstance(disposal_no, str) else ""
    case = setoffs_for_pledgor(actor).filter(disposal_no=number).first() if number else None
    if case is None or not (actor.is_platform_admin or belongs_to(actor, case.pledgor)):
        raise NotFound(_("No such disposal case."), code="disposal_not_found")
    return case


def setoff_floor_of(case: DisposalCase) -> int:
    """The lowest value the case's set-off may take (the configured share of its appraisal), fen."""
    return rules.setoff_floor(case.appraised_value, config.setoff_floor_share())


@transaction.atomic
def confirm_agreement(*, actor, disposal_no: str) -> DisposalCase:
    """The pledgor's own user confirms the signed set-off agreement (a bank cannot speak for the pledgor)."""
    require_role(actor, {Role.ENTERPRISE_USER}, _("Only the pledgor's users confirm a set-off."))
    number = (disposal_no or "").strip().upper() if isinstance(disposal_no, str) else ""
    case = DisposalCase.objects.select_for_update(of=("self",)).filter(disposal_no=number).select_related(
        "pledgor").first()
    if case is None or not (actor.is_platform_admin or belongs_to(actor, case.pledgor)):
        raise NotFound(_("No such disposal case."), code="disposal_not_found")
    if case.channel != Channel.AGREED_SETOFF or case.agreed_value is None or case.status != CaseStatus.OPEN:
        raise Conflict(_("There is no set-off agreement to confirm."), code="nothing_to_confirm")
    case.pledgor_confirmed_by, case.status = _user(actor), CaseStatus.AGREED
    case.save(update_fields=["pledgor_confirmed_by", "status"])
    audit.record(actor=actor, action="disposal.confirm", obj=case, object_repr=case.disposal_no,
                 after={"value": case.agreed_value})
    return case


@transaction.atomic
def withdraw(*, actor, disposal_no: str, reason) -> DisposalCase:
    """The bank ends a case without a sale (the debtor paid, the court took over)."""
    credit.require_bank_staff(actor)
    case = get_case(actor=actor, disposal_no=disposal_no, for_update=True)
    require_case_bank(actor, case)
    text = inputs.text(reason, "reason", required=True, max_length=300)
    if case.status in (CaseStatus.SETTLED, CaseStatus.WITHDRAWN, CaseStatus.SOLD):
        raise Conflict(_("The case can no longer be withdrawn."), code="case_closed")
    case.status = CaseStatus.WITHDRAWN
    case.save(update_fields=["status"])
    audit.record(actor=actor, action="disposal.withdraw", obj=case, object_repr=case.disposal_no,
                 after={"reason": text})
    return case


def may_see_bids(actor, case: DisposalCase, rnd: Round) -> bool:
    """Sealed tender bids stay sealed to everyone until the round closes."""
    if case.channel == Channel.TENDER and rnd.closed_at is None:
        return False
    return actor is not None and getattr(actor, "is_authenticated", False) and \
        has_any_role(actor, set(_operator_roles(case)) | {Role.REGULATOR_USER})
