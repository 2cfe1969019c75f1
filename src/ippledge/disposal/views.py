"""Disposal pages (issue 14.6, 14.7): the bank's and the exchange's cases with their stages and deadlines,
a case's page with the actions the services allow the user, the public listings (anonymous readers; a
registered organisation's user bids from them), the registrar's fee-relief queue and the realised ÷
appraised report.  Thin: the services decide who may see and do what; refusals come back in words."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ippledge.core import vocabulary
from ippledge.core.audit import current_channel
from ippledge.core.errors import DomainError, NotFound, PermissionDenied
from ippledge.core.forms import apply_error
from ippledge.core.identifiers import PATENT_KINDS, format_patent_number
from ippledge.core.listing import Column, Filter, Listing
from ippledge.core.models import Organisation
from ippledge.core.money import from_fen
from ippledge.core.permissions import BANK_STAFF, REGISTRARS, REGULATORS, has_any_role
from ippledge.core.roles import OrgKind, Role
from ippledge.monitoring import annuities

from . import config, reports, services, services_relief, services_settlement
from . import forms as f
from .models import (
    AGREED_CHANNELS,
    BIDDING_CHANNELS,
    CaseStatus,
    Channel,
    Deposit,
    ReliefStatus,
    Settlement,
)

CASE_READERS = BANK_STAFF | REGULATORS | {Role.EXCHANGE_USER, Role.ENTERPRISE_USER}
RELIEF_READERS = BANK_STAFF | REGULATORS | REGISTRARS
REPORT_READERS = BANK_STAFF | REGULATORS | {Role.EXCHANGE_USER}
PLEDGOR_USERS = frozenset({Role.ENTERPRISE_USER})  # the pledgor's users confirm an agreed set-off
MAX_ORG_CHOICES = 500


def _forbidden(request):
    return render(request, "errors/403.html", status=403)


def _not_found(request, message=None):
    return render(request, "errors/404.html", {"message": message or _("No such disposal case.")}, status=404)


def _reads(user, roles) -> bool:
    """The user's role reads these pages; an IP exchange's users read their exchange's cases (acting
    on them takes the exchange-user role, which the services ask)."""
    from ippledge.core.desk import is_exchange_user

    return has_any_role(user, roles) or (roles is CASE_READERS and is_exchange_user(user))


def right_text(right) -> str:
    kind = vocabulary.label("rights.Right.kind", right.kind)
    number = format_patent_number(right.number) if right.kind in PATENT_KINDS else right.number
    return f"{kind} {number}"


def _rights_of(case) -> str:
    return "; ".join(right_text(link.right) for link in case.case_rights.all())


# --- the cases ---------------------------------------------------------------------------------------

@login_required
def cases(request):
    if not _reads(request.user, CASE_READERS):
        return _forbidden(request)
    rows = services.cases_for(request.user).select_related("loan", "bank").prefetch_related("case_rights__right")
    columns = [
        Column("disposal_no", _("Disposal"), sort="disposal_no",
               link=lambda c: reverse("disposal:case", args=[c.disposal_no])),
        Column("loan_no", _("Loan"), "loan.loan_no", sort="loan__loan_no"),
        Column("bank", _("Bank"), "bank.name", sort="bank__name"),
        Column("rights", _("Rights"), _rights_of),
        Column("channel", _("Channel"), kind="label:disposal.DisposalCase.channel", sort="channel"),
        Column("status", _("Status"), kind="label:disposal.DisposalCase.status", sort="status"),
        Column("deadline", _("Deadline"), kind="date", sort="deadline"),
        Column("claim", _("Claim (yuan)"), lambda c: c.claim_principal + c.claim_interest + c.claim_costs, kind="fen"),
        Column("appraised_value", _("Liquidation value (yuan)"), kind="fen", sort="appraised_value"),
        Column("opened_on", _("Opened on"), kind="date", sort="opened_on"),
    ]
    filters = [
        Filter("q", _("Disposal or loan"), ("disposal_no", "loan__loan_no"), kind="search"),
        Filter("status", _("Status"), "status", vocabulary="disposal.DisposalCase.status"),
        Filter("channel", _("Channel"), "channel", vocabulary="disposal.DisposalCase.channel"),
    ]
    listing = Listing(request, rows, columns=columns, filters=filters, name="disposals", default_sort="-opened_on")
    if (response := listing.export_response()) is not None:
        return response
    return render(request, "disposal/cases.html", {"listing": listing, "title": _("Disposal cases"),
                                                   "pledgor_user": has_any_role(request.user, PLEDGOR_USERS)})


def _allowed(check, *args) -> bool:
    """Whether a service's own authorisation check lets the user act (the forms shown follow it)."""
    try:
        check(*args)
    except (PermissionDenied, DomainError):
        return False
    return True


def _org_choices(kinds, exclude=()) -> list[tuple[int, str]]:
    rows = Organisation.objects.filter(kind__in=kinds).exclude(pk__in=exclude).order_by("name")
    return list(rows.values_list("pk", "name")[:MAX_ORG_CHOICES])


ACTIONS = ("round", "deposit", "close", "agree", "settle", "income", "withdraw")
DONE = {"round": gettext_lazy("Round published."), "deposit": gettext_lazy("Deposit recorded."), "close": gettext_lazy("Round closed."),
        "agree": gettext_lazy("Agreement recorded."), "settle": gettext_lazy("Case settled."),
        "income": gettext_lazy("Licence income recorded."), "withdraw": gettext_lazy("Case withdrawn.")}


def _available(user, case, rnd) -> dict[str, bool]:
    """The actions the services would allow now: the role and party by the services' own checks, the stage
    by the case (the services refuse anything else with a message)."""
    bank = _allowed(services.require_case_bank, user, case)
    operator = _allowed(services.require_case_operator, user, case)
    bidding = case.channel in BIDDING_CHANNELS
    round_open = rnd is not None and rnd.closed_at is None and case.status == CaseStatus.LISTED
    live = case.status not in (CaseStatus.SETTLED, CaseStatus.WITHDRAWN)
    return {
        "round": operator and bidding and case.status in (CaseStatus.OPEN, CaseStatus.LISTED) and not round_open,
        "deposit": operator and bidding and round_open,
        "close": operator and bidding and round_open,
        "agree": bank and case.channel in AGREED_CHANNELS and case.status in (CaseStatus.OPEN, CaseStatus.AGREED)
        and case.pledgor_confirmed_by_id is None,
        "settle": bank and case.channel != Channel.LICENSING and case.status in (CaseStatus.AGREED, CaseStatus.SOLD),
        "income": (bank or _allowed(_operates, user, case)) and case.channel == Channel.LICENSING
        and case.status == CaseStatus.OPERATING,
        "withdraw": bank and live and case.status != CaseStatus.SOLD,
    }


def _operates(user, case) -> None:
    from ippledge.core.permissions import require_member

    require_member(user, case.operator, {Role.ENTERPRISE_USER})
    if case.operator is None:
        raise PermissionDenied(_("Your role may not do this."))


def _forms(case, rnd, data=None, action=None) -> dict:
    bound = {a: (data if a == action else None) for a in ACTIONS}
    buyers = None if case.channel == Channel.AGREED_SETOFF else _org_choices(
        (OrgKind.ENTERPRISE, OrgKind.BANK), exclude=[case.pledgor_id])
    return {
        "round": f.RoundForm(bound["round"], first=rnd is None, prefix="round"),
        "deposit": f.DepositForm(bound["deposit"], prefix="deposit", bidders=_org_choices(
            (OrgKind.ENTERPRISE, OrgKind.BANK), exclude=[case.pledgor_id])),
        "close": f.CloseForm(bound["close"], prefix="close"),
        "agree": f.AgreementForm(bound["agree"], buyers=buyers, prefix="agree"),
        "settle": f.SettleForm(bound["settle"], prefix="settle", initial={
            "proceeds": None if case.agreed_value is None else from_fen(case.agreed_value)}),
        "income": f.LicenceIncomeForm(bound["income"], prefix="income"),
        "withdraw": f.WithdrawForm(bound["withdraw"], prefix="withdraw"),
    }


def _act(user, case, action: str, d: dict) -> None:
    no = case.disposal_no
    if action == "round":
        services.publish_round(actor=user, disposal_no=no, data=d)
    elif action == "deposit":
        services.record_deposit(actor=user, disposal_no=no, bidder_org_id=d["bidder_org_id"], amount=str(d["amount"]))
    elif action == "close":
        services.close_round(actor=user, disposal_no=no)
    elif action == "agree":
        services.agree(actor=user, disposal_no=no, value=str(d["value"]), agreement_ref=d["agreement_ref"],
                       buyer_org_id=d.get("buyer_org_id"))
    elif action == "settle":
        services_settlement.settle(actor=user, disposal_no=no, proceeds=str(d["proceeds"]),
                                   costs=str(d["costs"] or 0), date=d["date"].isoformat())
    elif action == "income":
        services_settlement.record_licence_income(actor=user, disposal_no=no, amount=str(d["amount"]),
                                                  date=d["date"].isoformat())
    elif action == "withdraw":
        services.withdraw(actor=user, disposal_no=no, reason=d["reason"])


def _rounds(user, case) -> list[dict]:
    out = []
    deposits = {}
    for dep in Deposit.objects.filter(round__case=case).select_related("bidder"):
        deposits.setdefault(dep.round_id, []).append(dep)
    for rnd in case.rounds.all().order_by("number").prefetch_related("bids__bidder"):
        bids = list(rnd.bids.all())
        seen = services.may_see_bids(user, case, rnd)
        out.append({"round": rnd, "bids": bids if seen else None, "bid_count": len(bids),
                    "deposits": deposits.get(rnd.pk, []) if seen else None,
                    "winner": rnd.winning_bid.bidder.name if seen and rnd.winning_bid_id else ""})
    return out


def _timeline(case, rounds, settlement) -> list[tuple]:
    """What happened when, oldest first: (moment or date, text)."""
    events = [(case.opened_on, _("Case opened"))]
    for notice in case.notices.all():
        events.append((notice.at, _("Notice of enforcement given to %(org)s") % {"org": notice.org.name}))
    for item in rounds:
        rnd = item["round"]
        events.append((rnd.opens_at, _("Round %(n)s opens") % {"n": rnd.number}))
        if rnd.closed_at:
            events.append((rnd.closed_at, _("Round %(n)s closed: %(outcome)s") % {
                "n": rnd.number, "outcome": vocabulary.label("disposal_round_outcome", rnd.outcome)}))
    if settlement is not None:
        events.append((settlement.at, _("Settled")))
    for income in case.licence_income.all():
        events.append((income.at, _("Licence income received")))

    def key(event):
        when = event[0]
        return when if isinstance(when, dt.datetime) else dt.datetime.combine(when, dt.time.min).astimezone()
    return [(when, isinstance(when, dt.datetime), text) for when, text in sorted(events, key=key)]


@login_required
def case_detail(request, disposal_no: str):
    if not _reads(request.user, CASE_READERS):
        return _forbidden(request)
    try:
        case = services.get_case(actor=request.user, disposal_no=disposal_no)
    except NotFound:
        return _not_found(request)
    rnd = services.current_round(case)
    available = _available(request.user, case, rnd)
    action = request.POST.get("action", "") if request.method == "POST" else None
    forms_ = _forms(case, rnd)
    status = 200
    if request.method == "POST":
        if action not in ACTIONS:
            return _not_found(request)
        if not available[action]:
            return _forbidden(request)
        current_channel.set("web")
        forms_ = _forms(case, rnd, request.POST, action)
        form = forms_[action]
        if form.is_valid():
            data = form.data_for_service() if action == "round" else form.cleaned_data
            try:
                _act(request.user, case, action, data)
                messages.success(request, str(DONE[action]))
                return redirect("disposal:case", disposal_no=case.disposal_no)
            except NotFound:
                return _not_found(request)
            except DomainError as exc:
                apply_error(form, exc, aliases={"bidder_org_id": "bidder_org_id", "buyer": "buyer_org_id"})
        status = 400
    settlement = Settlement.objects.filter(case=case).select_related("buyer").first()
    rounds = _rounds(request.user, case)
    links = list(case.case_rights.select_related("right"))
    return render(request, "disposal/case.html", {
        "case": case, "links": [(link, right_text(link.right)) for link in links], "rounds": rounds,
        "settlement": settlement, "forms": forms_, "available": available, "may_act": any(available.values()),
        "claim_total": case.claim_principal + case.claim_interest + case.claim_costs,
        "timeline": _timeline(case, rounds, settlement), "posted": action,
        "title": _("Disposal %(no)s") % {"no": case.disposal_no}}, status=status)


# --- the pledgor's confirmation of an agreed set-off (协议折价) ----------------------------------------

@login_required
def setoffs(request):
    """The set-offs banks proposed on the user's enterprise's pledged rights: confirmed or awaiting it."""
    if not has_any_role(request.user, PLEDGOR_USERS):
        return _forbidden(request)
    rows = [{"case": case, "floor": services.setoff_floor_of(case)}
            for case in services.setoffs_for_pledgor(request.user)[:200]]
    return render(request, "disposal/setoffs.html", {"rows": rows, "title": _("Set-offs for your confirmation")})


@login_required
def setoff(request, disposal_no: str):
    """One proposed set-off: the rights, the claim, the value against its floor and the appraisal; the
    pledgor's own user confirms (a bank cannot speak for the pledgor; another enterprise sees nothing)."""
    if not has_any_role(request.user, PLEDGOR_USERS):
        return _forbidden(request)
    try:
        case = services.setoff_for_pledgor(actor=request.user, disposal_no=disposal_no)
    except NotFound:
        return _not_found(request)
    awaiting = case.status == CaseStatus.OPEN and case.pledgor_confirmed_by_id is None
    form, status = f.ConfirmSetoffForm(), 200
    if request.method == "POST":
        if not awaiting:
            return _forbidden(request)
        current_channel.set("web")
        form = f.ConfirmSetoffForm(request.POST)
        if form.is_valid():
            try:
                services.confirm_agreement(actor=request.user, disposal_no=case.disposal_no)
                messages.success(request, _("Set-off confirmed: the bank may now settle it."))
                return redirect("disposal:setoff", disposal_no=case.disposal_no)
            except NotFound:
                return _not_found(request)
            except DomainError as exc:
                apply_error(form, exc)
        status = 400
    floor = services.setoff_floor_of(case)
    links = list(case.case_rights.select_related("right"))
    return render(request, "disposal/setoff.html", {
        "case": case, "links": [(link, right_text(link.right)) for link in links], "floor": floor,
        "share": config.setoff_floor_share() * 100, "form": form, "awaiting": awaiting,
        "claim_total": case.claim_principal + case.claim_interest + case.claim_costs,
        "above_claim": max(0, (case.agreed_value or 0) - case.claim_principal - case.claim_interest - case.claim_costs),
        "title": _("Set-off %(no)s") % {"no": case.disposal_no}}, status=status)


# --- the public listings -------------------------------------------------------------------------

def _listing_rows(user, bound=None, bound_no=None) -> list[dict]:
    from ippledge.rights.services import state_of

    may_bid = services.may_bid(user) if user.is_authenticated else False
    out = []
    for case in services.public_listings()[:200]:
        rnd = services.current_round(case)
        open_round = rnd is not None and rnd.closed_at is None
        mine = bound_no == case.disposal_no
        out.append({
            "case": case, "round": rnd if open_round else None,
            "rights": [{"text": right_text(link.right), "title": link.right.display_title,
                        "state": state_of(link.right).legal_state} for link in case.case_rights.all()],
            "low": rnd.reserve if rnd else case.appraised_value * 7 // 10, "high": case.appraised_value,
            "sealed": case.channel == Channel.TENDER,
            "bid_form": f.BidForm(bound if mine and bound.get("action") == "bid" else None,
                                  prefix=f"bid-{case.pk}") if may_bid and open_round else None,
            "interest_form": f.InterestForm(bound if mine and bound.get("action") == "interest" else None,
                                            prefix=f"interest-{case.pk}") if may_bid else None,
        })
    return out


def listings(request):
    """Public: what is for sale.  No names of the parties, no personal data."""
    rows, status = None, 200
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect(f"{reverse('login')}?next={reverse('disposal:listings')}")
        if not services.may_bid(request.user):
            return _forbidden(request)
        no = request.POST.get("disposal_no", "")[:20]
        action = request.POST.get("action", "")
        if action not in ("bid", "interest"):
            return _not_found(request, _("No such listing."))
        current_channel.set("web")
        rows = _listing_rows(request.user, request.POST, no)
        row = next((r for r in rows if r["case"].disposal_no == no), None)
        form = row and (row["bid_form"] if action == "bid" else row["interest_form"])
        if form is None:
            return _not_found(request, _("No such listing."))
        if form.is_valid():
            try:
                if action == "bid":
                    services.place_bid(actor=request.user, disposal_no=no, amount=str(form.cleaned_data["amount"]))
                    messages.success(request, _("Your bid is placed."))
                else:
                    services.express_interest(actor=request.user, disposal_no=no, note=form.cleaned_data["note"])
                    messages.success(request, _("The seller is told of your interest."))
                return redirect(reverse("disposal:listings") + f"#listing-{no}")
            except NotFound:
                return _not_found(request, _("No such listing."))
            except DomainError as exc:
                apply_error(form, exc)
        status = 400
    return render(request, "disposal/listings.html", {
        "rows": rows if rows is not None else _listing_rows(request.user), "title": _("IP for sale")}, status=status)


# --- fee relief ----------------------------------------------------------------------------------

@login_required
def fee_relief(request):
    if not _reads(request.user, RELIEF_READERS):
        return _forbidden(request)
    may_decide = has_any_role(request.user, REGISTRARS)
    held = list(services_relief.held_rights_for(request.user)[:MAX_ORG_CHOICES]) \
        if has_any_role(request.user, BANK_STAFF) else []
    held_choices = [(h.pk, f"{right_text(h.right)} · {h.case.disposal_no}") for h in held]
    apply_form = f.ReliefApplyForm(prefix="apply", held=held_choices) if held else None
    bound_id, bound_form, status = None, None, 200
    if request.method == "POST" and request.POST.get("action") == "apply":
        if apply_form is None:
            return _forbidden(request)
        current_channel.set("web")
        apply_form = f.ReliefApplyForm(request.POST, prefix="apply", held=held_choices)
        if apply_form.is_valid():
            row = next(h for h in held if h.pk == apply_form.cleaned_data["held"])
            try:
                services_relief.apply(actor=request.user, right={"kind": row.right.kind, "number": row.right.number},
                                      note=apply_form.cleaned_data["note"])
                messages.success(request, _("Fee-relief application filed."))
                return redirect("disposal:fee_relief")
            except DomainError as exc:
                apply_error(apply_form, exc)
        status = 400
    elif request.method == "POST":
        if not may_decide:
            return _forbidden(request)
        current_channel.set("web")
        raw = request.POST.get("relief_id", "")
        try:
            relief = services_relief.get_relief(actor=request.user, relief_id=raw)
        except DomainError:
            return _not_found(request, _("No such fee-relief application."))
        bound_id, bound_form = relief.pk, f.DecisionForm(request.POST, prefix=f"decide-{relief.pk}")
        if bound_form.is_valid():
            d = bound_form.cleaned_data
            try:
                services_relief.decide(actor=request.user, relief_id=relief.pk, approve=d["decision"] == "approve",
                                       reduction_percent=d["reduction_percent"], reason=d["reason"])
                messages.success(request, _("Decision recorded."))
                return redirect("disposal:fee_relief")
            except NotFound:
                return _not_found(request, _("No such fee-relief application."))
            except DomainError as exc:
                apply_error(bound_form, exc)
        status = 400
    rows = services_relief.reliefs_for(request.user)
    wanted = request.GET.get("status", "")
    if wanted in ReliefStatus.values:
        rows = rows.filter(status=wanted)
    shown = []
    for row in rows.order_by("status", "-applied_on", "-id")[:500]:
        form = None
        if may_decide and row.status == ReliefStatus.PENDING:
            form = bound_form if row.pk == bound_id else f.DecisionForm(prefix=f"decide-{row.pk}")
        annuity = annuities.annuity_position(row.right) if row.status != ReliefStatus.REFUSED else None
        shown.append({"relief": row, "right": right_text(row.right), "form": form, "annuity": annuity})
    return render(request, "disposal/fee_relief.html", {
        "rows": shown, "apply_form": apply_form, "statuses": vocabulary.labels("disposal.FeeRelief.status"), "wanted": wanted,
        "title": _("Fee relief")}, status=status)


# --- realised ÷ appraised -------------------------------------------------------------------------

@login_required
def realised_prices(request):
    if not _reads(request.user, REPORT_READERS):
        return _forbidden(request)
    report = reports.realised_vs_appraised(request.user)
    return render(request, "disposal/realised_prices.html", {"report": report,
                                                             "title": _("Realised prices against appraisals")})

