"""Risk-sharing pages (issue 13.7): the schemes a user may see with their parties and capacity (and, for
those who keep schemes, a form to make one from a shipped template), a scheme's page with its rules,
enrolled loans and the fund's ledger, the claims list (the bank's filed claims and recoveries; a party's
claims to review with its own share) and a claim's page with each party's share, its payments (maker,
then a different checker of the same party) and recoveries.

Thin: every read is scoped and every write made by the services, which also decide who may act; the page
offers a form only where the service would accept the user, and shows a refusal in words."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import F, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ippledge.core import business_date, money, vocabulary
from ippledge.core.audit import current_channel
from ippledge.core.errors import DomainError, NotFound
from ippledge.core.forms import apply_error
from ippledge.core.listing import Column, Filter, Listing
from ippledge.core.roles import Role
from ippledge.credit import services as credit

from . import services, services_claims, services_portfolio, services_provisions
from .forms import (
    CheckPaymentForm,
    ClaimForm,
    EnrolForm,
    FromTemplateForm,
    FundsForm,
    PortfolioRunForm,
    ProposePaymentForm,
    ProvisioningForm,
    RecoveryForm,
    WriteOffDecisionForm,
    WriteOffForm,
)
from .models import (
    Claim,
    ClaimShare,
    ClaimStatus,
    Enrolment,
    LedgerEntry,
    Mode,
    PaymentStatus,
    SchemeParty,
    WriteOff,
    WriteOffStatus,
)

SHOWN = 200  # enrolled loans and claims listed on a scheme's page (the claims list has them all)


def _not_found(request, message):
    return render(request, "errors/404.html", {"message": message}, status=404)


def party_text(party: SchemeParty) -> str:
    """A party as people read it: its name (a template's names in words), its organisation."""
    name = vocabulary.label("risk_party_name", party.name)
    org = party.organisation.name if party.organisation_id else ""
    return f"{name} · {org}" if org else name


def _ratio(value) -> str:
    return f"{(value * 100).normalize():f} %"


def _acts_for(user, party: SchemeParty) -> bool:
    try:
        services.acts_for_party(user, party)
    except DomainError:
        return False
    return True


# --- schemes -----------------------------------------------------------------------------------------

def _scheme_row(user, scheme) -> dict:
    parties = sorted(scheme.parties.all(), key=lambda p: (p.seq, p.pk))
    room = services.capacity(scheme)
    visible = services.reads_ledger(user, scheme)
    return {"scheme": scheme, "parties": [{"party": p, "text": party_text(p), "ratio": _ratio(p.ratio)} for p in parties],
            "bank_ratio": _ratio(1 - sum((p.ratio for p in parties if p.kind != "bank"), start=0)),
            "room": room, "money_visible": visible}


@login_required
def schemes(request):
    user = request.user
    keeper = user.is_platform_admin or bool(user.role_set & services.SCHEME_KEEPERS)
    templates = services.templates()
    form = FromTemplateForm(templates=templates) if keeper else None
    status = 200
    if request.method == "POST":
        if not keeper:
            return render(request, "errors/403.html", status=403)
        current_channel.set("web")
        form = FromTemplateForm(request.POST, templates=templates)
        if form.is_valid():
            data = {k: v for k, v in (("name", form.cleaned_data["name"]),
                                      ("region_code", form.cleaned_data["region_code"])) if v}
            if form.cleaned_data["valid_from"]:
                data["valid_from"] = form.cleaned_data["valid_from"].isoformat()
            key = form.cleaned_data["template"]
            if form.cleaned_data["ratio"]:
                unstated = [p["name"] for p in services.template(key)["parties"] if p.get("ratio") in (None, "")]
                data["ratios"] = {name: form.cleaned_data["ratio"] for name in unstated}
            try:
                scheme = services.create_from_template(actor=user, key=key, data=data)
            except DomainError as exc:
                apply_error(form, exc, aliases={"ratios": "ratio", "parties": "ratio"})
            else:
                messages.success(request, _("Scheme created."))
                return redirect("risksharing:scheme", scheme_id=scheme.pk)
        status = 400
    rows = services.schemes_for(user).prefetch_related("parties", "parties__organisation")
    facts = _SchemeFacts(user)
    listing = Listing(request, rows, name="schemes", columns=[
        Column("name", _("Scheme"), sort="name", link=lambda s: reverse("risksharing:scheme", args=[s.pk])),
        Column("region_code", _("Region"), kind="region", sort="region_code"),
        Column("mode", _("Mode"), kind="label:risksharing.Scheme.mode", sort="mode"),
        Column("parties", _("Parties and ratios"), lambda s: "; ".join(
            [f"{p['text']} {p['ratio']}" for p in facts(s)["parties"]] + [f"{_('Bank')} {facts(s)['bank_ratio']}"])),
        Column("fund_balance", _("Fund balance (yuan)"), lambda s: facts(s)["fund_balance"], kind="fen"),
        Column("capacity", _("Capacity (yuan)"), lambda s: facts(s)["capacity"], kind="fen"),
        Column("remaining", _("Capacity left (yuan)"), lambda s: facts(s)["room"]["remaining"], kind="fen"),
        Column("valid_from", _("Valid from"), kind="date", sort="valid_from"),
    ], filters=[
        Filter("q", _("Name"), ("name",), kind="search"),
        Filter("mode", _("Mode"), "mode", vocabulary="risksharing.Scheme.mode"),
    ], default_sort="-valid_from")
    if (response := listing.export_response()) is not None:
        return response
    return render(request, "risksharing/schemes.html", {
        "listing": listing, "form": form, "title": _("Risk-sharing schemes")}, status=status)


class _SchemeFacts:
    """A scheme's parties and capacity, worked out once per scheme for all the columns that show them."""

    def __init__(self, user):
        self.user, self.seen = user, {}

    def __call__(self, scheme) -> dict:
        if scheme.pk not in self.seen:
            row = _scheme_row(self.user, scheme)
            visible = row["money_visible"]
            row["fund_balance"] = row["room"]["fund_balance"] if visible else None
            row["capacity"] = row["room"]["capacity"] if visible else None
            self.seen[scheme.pk] = row
        return self.seen[scheme.pk]


def _ledger_listing(request, scheme) -> Listing:
    rows = LedgerEntry.objects.filter(party__scheme=scheme).select_related("party", "party__organisation", "claim")
    return Listing(request, rows, name="ledger", columns=[
        Column("date", _("Date"), kind="date", sort="date"),
        Column("party", _("Fund"), lambda e: party_text(e.party)),
        Column("kind", _("Movement"), kind="label:risksharing.LedgerEntry.kind", sort="kind"),
        Column("amount", _("Amount (yuan)"), kind="fen", sort="amount"),
        Column("balance_after", _("Balance after (yuan)"), kind="fen"),
        Column("claim", _("Claim"), lambda e: e.claim.claim_no if e.claim_id else "",
               link=lambda e: reverse("risksharing:claim", args=[e.claim_id]) if e.claim_id else None),
        Column("note", _("Note")),
    ], filters=[Filter("kind", _("Movement"), "kind", vocabulary="risksharing.LedgerEntry.kind")],
        default_sort="-date")


@login_required
def scheme_detail(request, scheme_id: int):
    user = request.user
    try:
        scheme = services.get_scheme(actor=user, scheme_id=scheme_id)
    except NotFound:
        return _not_found(request, _("No such scheme."))
    reads_ledger = services.reads_ledger(user, scheme)
    funds = [p for p in scheme.parties.select_related("organisation") if p.funded and _acts_for(user, p)] \
        if user.has_role(Role.FUND_MANAGER) else []
    funds_form = FundsForm(parties=[(p.name, party_text(p)) for p in funds]) if funds else None
    enrols = _is_bank_staff(user) and services.in_force(scheme, business_date.today())
    enrol_form = EnrolForm(prefix="enrol") if enrols else None
    status = 200
    if request.method == "POST" and request.POST.get("action") == "enrol":
        if not enrols:
            return render(request, "errors/403.html", status=403)
        current_channel.set("web")
        enrol_form = EnrolForm(request.POST, prefix="enrol")
        if enrol_form.is_valid():
            d = enrol_form.cleaned_data
            try:
                services.enrol(actor=user, loan_no=d["loan_no"].strip(), scheme_id=scheme.pk,
                               ip_secured_amount=d["ip_secured_amount"] or None)
            except DomainError as exc:
                _refused(enrol_form, exc)
            else:
                messages.success(request, _("Loan %(no)s enrolled in the scheme.") % {"no": d["loan_no"].strip()})
                return redirect("risksharing:scheme", scheme_id=scheme.pk)
        status = 400
    elif request.method == "POST":
        if not funds:
            return render(request, "errors/403.html", status=403)
        current_channel.set("web")
        funds_form = FundsForm(request.POST, parties=[(p.name, party_text(p)) for p in funds])
        if funds_form.is_valid():
            d = funds_form.cleaned_data
            try:
                services.move_funds(actor=user, scheme_id=scheme.pk, party=d["party"], amount=d["amount"],
                                    kind=d["kind"], note=d["note"])
            except NotFound:
                return _not_found(request, _("No such scheme."))
            except DomainError as exc:
                apply_error(funds_form, exc)
            else:
                messages.success(request, _("Fund movement recorded."))
                return redirect("risksharing:scheme", scheme_id=scheme.pk)
        status = 400
    ledger = _ledger_listing(request, scheme) if reads_ledger else None
    if ledger is not None and (response := ledger.export_response()) is not None:
        return response
    enrolments = Enrolment.objects.restrict(user, "view").filter(scheme=scheme) \
        .select_related("loan", "loan__bank", "loan__borrower").order_by("-enrolled_on", "-id")
    claims = services_claims.claims_for(user).filter(scheme=scheme).select_related("loan", "loan__bank")
    lender = _is_bank_staff(user)
    return render(request, "risksharing/scheme.html", {
        "row": _scheme_row(user, scheme), "scheme": scheme, "ledger": ledger, "funds_form": funds_form,
        "enrolments": [{"e": e, "own": lender and user.organisation_id in (e.loan.bank_id, e.loan.bank.parent_id)}
                       for e in enrolments[:SHOWN]], "enrolment_count": enrolments.count(),
        "claims": claims[:SHOWN], "claim_count": claims.count(),
        "in_force": services.in_force(scheme, business_date.today()),
        "caps": _caps(scheme), "enrol_form": enrol_form, "title": scheme.name}, status=status)


def _refused(form, exc, aliases: dict[str, str] | None = None) -> None:
    """A service's refusal on the form; a loan the user may not read is named next to the loan's field
    (the same words for a loan of another bank and for one that does not exist)."""
    if exc.code == "loan_not_found" and "loan_no" in form.fields:
        form.domain_error = exc
        form.add_error("loan_no", exc.localised(_))
        return
    apply_error(form, exc, aliases=aliases)


def _is_bank_staff(user) -> bool:
    try:
        credit.require_bank_staff(user)
    except DomainError:
        return False
    return True


def _caps(scheme) -> list[tuple[str, object]]:
    """The scheme's rules in words: (label, fen amount or text)."""
    rows = [(_("Eligible part of a loan up to (yuan)"), scheme.eligible_base_cap),
            (_("Largest loan that may enrol (yuan)"), scheme.max_loan_amount),
            (_("Per borrower per year (yuan)"), scheme.borrower_year_cap),
            (_("Scheme's total per year (yuan)"), scheme.annual_cap),
            (_("Per bank per year (yuan)"), scheme.bank_annual_cap)]
    return [(title, value) for title, value in rows if value is not None]


# --- claims ------------------------------------------------------------------------------------------

def _own_share(user, field: str):
    rows = ClaimShare.objects.filter(claim=OuterRef("pk"), party__organisation_id=user.organisation_id) \
        .values("claim").annotate(s=Sum(field)).values("s")
    return Coalesce(Subquery(rows), Value(0))


def _is_party(user) -> bool:
    return user.organisation_id is not None and SchemeParty.objects.filter(organisation_id=user.organisation_id).exists()


@login_required
def claims(request):
    user = request.user
    party = _is_party(user)
    rows = services_claims.claims_for(user).select_related("loan", "loan__bank", "scheme")
    if party:
        rows = rows.annotate(own_share=_own_share(user, "share"), own_paid=_own_share(user, "paid"),
                             own_left=F("own_share") - F("own_paid"))
    columns = [
        Column("claim_no", _("Claim"), sort="claim_no", link=lambda c: reverse("risksharing:claim", args=[c.pk])),
        Column("loan_no", _("Loan"), "loan.loan_no", sort="loan__loan_no"),
        Column("bank", _("Bank"), "loan.bank.name", sort="loan__bank__name"),
        Column("scheme", _("Scheme"), "scheme.name", sort="scheme__name",
               link=lambda c: reverse("risksharing:scheme", args=[c.scheme_id])),
        Column("filed_on", _("Filed on"), kind="date", sort="filed_on"),
        Column("status", _("Status"), kind="label:risksharing.Claim.status", sort="status"),
        Column("base_amount", _("Claim base (yuan)"), kind="fen", sort="base_amount"),
        Column("bank_share", _("Borne by the bank (yuan)"), kind="fen", sort="bank_share"),
    ]
    if party:
        columns += [Column("own_share", _("Your share (yuan)"), kind="fen", sort="own_share"),
                    Column("own_left", _("Your share left to pay (yuan)"), kind="fen", sort="own_left")]
    columns.append(Column("recovered", _("Recovered (yuan)"), kind="fen", sort="recovered"))
    scheme_choices = [(s.pk, s.name) for s in services.schemes_for(user).filter(
        pk__in=services_claims.claims_for(user).values("scheme_id")).order_by("name")]
    listing = Listing(request, rows, name="claims", columns=columns, filters=[
        Filter("q", _("Claim or loan"), ("claim_no", "loan__loan_no"), kind="search"),
        Filter("status", _("Status"), "status", vocabulary="risksharing.Claim.status"),
        Filter("scheme", _("Scheme"), "scheme_id", choices=scheme_choices),
    ], default_sort="-filed_on")
    if (response := listing.export_response()) is not None:
        return response
    return render(request, "risksharing/claims.html", {"listing": listing, "party": party,
                                                        **_bank_waiting(user),
                                                        "title": _("Risk-sharing claims")})


def _bank_waiting(user) -> dict:
    """For the bank's staff: its enrolled non-performing loans without a claim yet, and its write-offs
    awaiting an approver's decision (each leads to the loan's risk-sharing page)."""
    if not _is_bank_staff(user):
        return {}
    from ippledge.credit.models import NON_PERFORMING

    own = Enrolment.objects.restrict(user, "change")
    to_claim = own.filter(loan__classification__in=NON_PERFORMING, loan__risk_claim__isnull=True) \
        .select_related("loan", "loan__borrower", "scheme").order_by("loan__loan_no")
    to_decide = WriteOff.objects.restrict(user, "view").filter(status=WriteOffStatus.PROPOSED) \
        .select_related("loan", "proposed_by").order_by("proposed_at")
    return {"to_claim": to_claim[:SHOWN], "to_decide": to_decide[:SHOWN], "bank_staff": True}


class _Invalid(Exception):
    """A form error found after the form's own checks (no service was asked)."""


DONE = {"propose": gettext_lazy("Payment entered: another user of the party confirms it."),
        "approve": gettext_lazy("Payment confirmed."), "reject": gettext_lazy("Payment rejected."),
        "recovery": gettext_lazy("Recovery recorded: the payers are trued up.")}


def _bank_staff_of(user, claim) -> bool:
    try:
        credit.require_bank_staff(user, claim.loan.bank)
    except DomainError:
        return False
    return True


@login_required
def claim_detail(request, claim_id: int):
    user = request.user
    try:
        claim = services_claims.get_claim(actor=user, claim_id=claim_id)
    except NotFound:
        return _not_found(request, _("No such claim."))
    shares = list(claim.shares.select_related("party", "party__organisation")
                  .prefetch_related("payments", "payments__made_by", "payments__checked_by"))
    mine = [s for s in shares if _acts_for(user, s.party)]
    payable = [(s.party.name, party_text(s.party)) for s in mine if s.paid < s.share and
               not any(p.status == PaymentStatus.PROPOSED for p in s.payments.all())]
    checkable = [(str(p.pk), f"{party_text(s.party)} · {money.format_yuan(p.amount)} {_('yuan')}") for s in mine
                 for p in s.payments.all() if p.status == PaymentStatus.PROPOSED and p.made_by_id != user.pk]
    recovers = claim.status != ClaimStatus.FILED and _bank_staff_of(user, claim)
    forms_ = {"propose": ProposePaymentForm(parties=payable) if payable else None,
              "check": CheckPaymentForm(payments=checkable) if checkable else None,
              "recovery": RecoveryForm(initial={"date": business_date.today().isoformat()}) if recovers else None}
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        if forms_.get(action) is None:
            return render(request, "errors/403.html", status=403)
        current_channel.set("web")
        form = {"propose": lambda: ProposePaymentForm(request.POST, parties=payable),
                "check": lambda: CheckPaymentForm(request.POST, payments=checkable),
                "recovery": lambda: RecoveryForm(request.POST)}[action]()
        if form.is_valid():
            d = form.cleaned_data
            try:
                if action == "propose":
                    services_claims.propose_payment(actor=user, claim_id=claim.pk, party=d["party"],
                                                    amount=d["amount"] or None, note=d["note"])
                    done = "propose"
                elif action == "check":
                    if d["decision"] not in ("approve", "reject"):
                        form.add_error("decision", _("Confirm or reject the payment."))
                        raise _Invalid
                    services_claims.check_payment(actor=user, claim_id=claim.pk, payment_id=d["payment"],
                                                  approve=d["decision"] == "approve", note=d["note"])
                    done = d["decision"]
                else:
                    services_claims.record_recovery(actor=user, claim_id=claim.pk, amount=d["amount"], date=d["date"])
                    done = "recovery"
            except _Invalid:
                pass
            except NotFound:
                return _not_found(request, _("No such claim."))
            except DomainError as exc:
                apply_error(form, exc, aliases={"payment_id": "payment", "approve": "decision"})
            else:
                messages.success(request, str(DONE[done]))
                return redirect("risksharing:claim", claim_id=claim.pk)
        forms_[action], status = form, 400
    bank_staff = _bank_staff_of(user, claim)
    return render(request, "risksharing/claim.html", {
        "claim": claim, "shares": [{"share": s, "text": party_text(s.party), "mine": s in mine,
                                    "left": s.share - s.paid, "net": s.paid - s.returned} for s in shares],
        "recoveries": [{"recovery": r, "returned": [(vocabulary.label("risk_party_name", name), fen)
                                                    for name, fen in r.true_up.items()]}
                       for r in claim.recoveries.all()],
        "forms": forms_, "bank_staff": bank_staff, "title": _("Claim %(no)s") % {"no": claim.claim_no}}, status=status)


# --- portfolio loss per party ----------------------------------------------------------------------------

RUNS_SHOWN = 50


def _book_text(code: str) -> str:
    return {"all": _("The whole book"), "bank": _("Your bank's loans"),
            "schemes": _("The loans enrolled in your schemes")}.get(code, "")


def _run_parties(run, names: dict[int, str], scheme_names: dict[int, str]) -> list[dict]:
    rows = []
    for p in run.results.get("parties", []):
        if p["kind"] == "total":
            text = _("All parties")
        elif p["key"] == services_portfolio.BANK_KEY:
            text = _("Lending banks (the remainder)")
        elif p.get("organisation_id"):
            text = f"{names.get(p['organisation_id'], '')} · {vocabulary.label('risksharing.SchemeParty.kind', p['kind'])}"
        else:
            text = f"{vocabulary.label('risk_party_name', p.get('party_name', ''))} · " \
                   f"{scheme_names.get(p.get('scheme_id'), '')}"
        rows.append({"text": text, "total": p["kind"] == "total", **p})
    return rows


def _run_inputs(run) -> dict:
    i = run.inputs
    return {"scenarios": i.get("scenarios"), "seed": i.get("seed"), "book": _book_text(i.get("book", "")),
            "correlation": _("Basel corporate formula") if i.get("correlation") == services_portfolio.BASEL
            else i.get("correlation"), "lgd": i.get("lgd"), "scheme_id": i.get("scheme_id")}


@login_required
def portfolio(request):
    user = request.user
    try:
        runs = list(services_portfolio.runs_for(user)[:RUNS_SHOWN])
    except DomainError:
        return render(request, "errors/403.html", status=403)
    form = PortfolioRunForm()
    status = 200
    if request.method == "POST":
        current_channel.set("web")
        form = PortfolioRunForm(request.POST)
        if form.is_valid():
            try:
                found = services_portfolio.run(actor=user, data=dict(form.cleaned_data))
            except DomainError as exc:
                apply_error(form, exc)
            else:
                if found.status == found.Status.DONE:
                    messages.success(request, _("Portfolio simulated."))
                elif found.status == found.Status.FAILED:
                    messages.error(request, _("The simulation failed: the run shows why."))
                else:
                    messages.info(request, _("Simulation queued: the run shows its status until it is done."))
                return redirect(f"{reverse('risksharing:portfolio')}?run={found.pk}")
        status = 400
    chosen = None
    wanted = request.GET.get("run", "")
    if wanted:
        if not wanted.isdigit() or len(wanted) > 10:
            return _not_found(request, _("No such portfolio run."))
        try:
            chosen = services_portfolio.get_run(actor=user, run_id=int(wanted))
        except NotFound:
            return _not_found(request, _("No such portfolio run."))
    elif runs:
        chosen = runs[0]
    shown = [chosen] if chosen else []
    names = services_portfolio.organisation_names(shown)
    scheme_ids = {p.get("scheme_id") for r in shown for p in r.results.get("parties", []) if p.get("scheme_id")}
    scheme_names = dict(services.schemes_for(user).filter(pk__in=scheme_ids).values_list("pk", "name"))
    return render(request, "risksharing/portfolio.html", {
        "title": _("Portfolio loss per party"), "form": form, "chosen": chosen,
        "parties": _run_parties(chosen, names, scheme_names) if chosen else [],
        "inputs": _run_inputs(chosen) if chosen else None,
        "runs": [{"run": r, "inputs": _run_inputs(r)} for r in runs]}, status=status)


# --- a loan in risk sharing: enrolment, claim, write-off -----------------------------------------------

LOAN_DONE = {"enrol": gettext_lazy("The loan is enrolled in the scheme."),
             "claim": gettext_lazy("Claim filed: each party reviews and pays its share."),
             "write_off": gettext_lazy("Write-off proposed: another approver of the bank decides it."),
             "approve": gettext_lazy("The loan is written off."), "reject": gettext_lazy("Write-off rejected.")}


def _enrolable_schemes(user, loan) -> list[tuple[str, str]]:
    """Schemes in force today whose region holds the borrower (or its park), as choices."""
    today = business_date.today()
    regions = [loan.borrower.region_code, loan.park.region_code if loan.park_id else ""]
    rows = services.schemes_for(user).filter(valid_from__lte=today).order_by("name", "pk")
    return [(str(s.pk), f"{s.name} · {vocabulary.label('risksharing.Scheme.mode', s.mode)}") for s in rows
            if services.in_force(s, today) and any(services.region_matches(s.region_code, r) for r in regions)]


def _loan_state(user, loan) -> dict:
    """What the loan's risk-sharing page shows and which forms it offers (only where the service would
    accept this user: the loan's bank's staff; write-offs its reviewers and approvers)."""
    from ippledge.credit.models import NON_PERFORMING, Classification

    enrolment = Enrolment.objects.filter(loan=loan).select_related("scheme", "enrolled_by").first()
    claim = Claim.objects.filter(loan=loan).first()
    write_offs = list(WriteOff.objects.filter(loan=loan).select_related("proposed_by", "decided_by"))
    live = next((w for w in write_offs if w.status != WriteOffStatus.REJECTED), None)
    npl = loan.classification in NON_PERFORMING
    proposes = _is_bank_staff(user) and bool(user.role_set & services_provisions.PROPOSERS)
    approves = bool(user.role_set & services_provisions.APPROVERS)
    return {
        "enrolment": enrolment, "claim": claim, "write_offs": write_offs, "live_write_off": live, "npl": npl,
        "may_enrol": enrolment is None and not npl and loan.balance > 0,
        "may_claim": enrolment is not None and claim is None and npl,
        "claim_asks_loss": enrolment is not None and enrolment.scheme.mode == Mode.EX_POST and
        not any(w.status == WriteOffStatus.APPROVED for w in write_offs),
        "may_write_off": proposes and live is None and loan.classification == Classification.LOSS and loan.balance > 0,
        "may_decide": approves and live is not None and live.status == WriteOffStatus.PROPOSED and
        live.proposed_by_id != user.pk,
    }


def _loan_forms(user, loan, state, data=None, action: str = "") -> dict:
    def bound(name):
        return data if action == name else None

    from .services_claims import LOSS_EVENTS

    return {
        "enrol": EnrolForm(bound("enrol"), schemes=_enrolable_schemes(user, loan), loan_no=loan.loan_no,
                           prefix="enrol") if state["may_enrol"] else None,
        "claim": ClaimForm(bound("claim"), ask_loss=state["claim_asks_loss"], prefix="claim",
                           loss_kinds=[(k, vocabulary.label("risk_loss_event", k)) for k in LOSS_EVENTS],
                           initial={"loss_date": business_date.today().isoformat()})
        if state["may_claim"] else None,
        "write_off": WriteOffForm(bound("write_off"), prefix="wo") if state["may_write_off"] else None,
        "decide": WriteOffDecisionForm(bound("decide"), prefix="decide") if state["may_decide"] else None,
    }


def _act_on_loan(user, loan, action: str, form, state) -> str:
    """Ask the service for the action; returns what was done (a key of LOAN_DONE)."""
    d = form.cleaned_data
    if action == "enrol":
        services.enrol(actor=user, loan_no=loan.loan_no, scheme_id=d["scheme"] or None,
                       ip_secured_amount=d["ip_secured_amount"] or None)
        return "enrol"
    if action == "claim":
        event = None
        if "loss_kind" in d and (d["loss_kind"] or d["loss_reference"]):
            event = {"kind": d["loss_kind"], "date": d["loss_date"], "reference": d["loss_reference"]}
        services_claims.file_claim(actor=user, loan_no=loan.loan_no, principal_loss=d.get("principal_loss") or None,
                                   loss_event=event)
        return "claim"
    if action == "write_off":
        services_provisions.propose_write_off(actor=user, loan_no=loan.loan_no, reason=d["reason"])
        return "write_off"
    if d["decision"] not in ("approve", "reject"):
        form.add_error("decision", _("Approve or reject the write-off."))
        raise _Invalid
    services_provisions.decide_write_off(actor=user, write_off_id=state["live_write_off"].pk,
                                         approve=d["decision"] == "approve", note=d["note"])
    return d["decision"]


CLAIM_ALIASES = {"loss_event.kind": "loss_kind", "loss_event.date": "loss_date",
                 "loss_event.reference": "loss_reference", "loss_event": "loss_kind"}


@login_required
def loan_detail(request, loan_no: str):
    """A loan's place in risk sharing, for its bank: enrol it in a scheme, file its claim once it is
    non-performing, and write off a loss loan (proposed by one of the bank, approved by another approver)."""
    user = request.user
    if not _is_bank_staff(user):
        return render(request, "errors/403.html", status=403)
    try:
        loan = credit.get_loan(actor=user, loan_no=loan_no)
        credit.require_bank_staff(user, loan.bank)
    except NotFound:
        return _not_found(request, _("No such loan."))
    except DomainError:
        return _not_found(request, _("No such loan."))
    loan = type(loan).objects.select_related("bank", "borrower", "park").get(pk=loan.pk)
    state = _loan_state(user, loan)
    forms_ = _loan_forms(user, loan, state)
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        if forms_.get(action) is None:
            return render(request, "errors/403.html", status=403)
        current_channel.set("web")
        form = _loan_forms(user, loan, state, request.POST, action)[action]
        if form.is_valid():
            try:
                done = _act_on_loan(user, loan, action, form, state)
            except _Invalid:
                pass
            except NotFound as exc:
                if exc.code == "loan_not_found":
                    return _not_found(request, _("No such loan."))
                apply_error(form, exc, aliases={"scheme_id": "scheme"})
            except DomainError as exc:
                apply_error(form, exc, aliases={"scheme_id": "scheme", "reason": "reason", **CLAIM_ALIASES})
            else:
                messages.success(request, str(LOAN_DONE[done]))
                return redirect("risksharing:loan", loan_no=loan.loan_no)
        forms_[action], status = form, 400
    room = services.capacity(state["enrolment"].scheme) if state["enrolment"] else None
    return render(request, "risksharing/loan.html", {
        "loan": loan, **state, "forms": forms_, "room": room,
        "title": _("Risk sharing of loan %(no)s") % {"no": loan.loan_no}}, status=status)


# --- provisioning -----------------------------------------------------------------------------------

def _percent(value) -> str:
    return f"{(value * 100).normalize():f} %"


@login_required
def provisioning(request):
    """A bank's required provisions for its IP-pledge loans (the provision ratio of the balance or the
    coverage of the NPL balance, the higher applies) and its write-offs; its approvers set the ratios.
    Regulators see every bank's figures."""
    user = request.user
    regulator = user.is_platform_admin or user.has_role(Role.REGULATOR_USER)
    if not (_is_bank_staff(user) or regulator):
        return render(request, "errors/403.html", status=403)
    mine, form, status = None, None, 200
    if _is_bank_staff(user):
        mine = services_provisions.provisioning_of(actor=user, bank_org_id=user.organisation_id)
        if user.role_set & services_provisions.APPROVERS:
            form = ProvisioningForm(initial={"provision_ratio": mine["provision_ratio"],
                                             "coverage_ratio": mine["coverage_ratio"]})
    if request.method == "POST":
        if form is None:
            return render(request, "errors/403.html", status=403)
        current_channel.set("web")
        form = ProvisioningForm(request.POST)
        if form.is_valid():
            try:
                services_provisions.set_provisioning(actor=user, bank_org_id=user.organisation_id,
                                                     **form.cleaned_data)
            except DomainError as exc:
                apply_error(form, exc)
            else:
                messages.success(request, _("Provisioning settings saved."))
                return redirect("risksharing:provisioning")
        status = 400
    banks = []
    if regulator:
        from ippledge.core.models import Organisation

        rows = services_provisions.required_provisions()
        names = dict(Organisation.objects.filter(pk__in=[r["bank_org_id"] for r in rows]).values_list("pk", "name"))
        banks = [{**r, "bank": names.get(r["bank_org_id"], ""), "ratio_text": _percent(r["provision_ratio"]),
                  "coverage_text": _percent(r["coverage_ratio"])} for r in rows]
    write_offs = WriteOff.objects.restrict(user, "view").select_related("loan", "proposed_by", "decided_by") \
        .order_by("-proposed_at")[:SHOWN] if mine else []
    if mine:
        mine = {**mine, "ratio_text": _percent(mine["provision_ratio"]), "coverage_text": _percent(mine["coverage_ratio"])}
    return render(request, "risksharing/provisioning.html", {
        "mine": mine, "form": form, "banks": banks, "write_offs": write_offs,
        "title": _("Provisions for IP-pledge loans")}, status=status)
