"""Risk-sharing API: scheme templates and schemes, the allocation calculator, fund movements and ledgers,
enrolment of loans, claims with payments (maker-checker inside each party) and recoveries, provisioning
settings and write-offs.  Thin: every rule is in the services and the engine."""

from __future__ import annotations

from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from ippledge.core.errors import NotFound
from ippledge.core.money import from_fen
from ippledge.core.regions import region_name
from ippledge.credit.inputs import Day, Decimal_, Flag, Text, TextMap, Whole

from . import services, services_claims, services_portfolio, services_provisions
from .api_schemas import (
    AllocationOut,
    CheckedPaymentOut,
    ClaimOut,
    ClaimsOut,
    EnrolmentOut,
    LedgerEntryOut,
    LedgerOut,
    LoanEnrolmentOut,
    PortfolioRunOut,
    PortfolioRunsOut,
    ProposedPaymentOut,
    ProvisioningOut,
    RecordedRecoveryOut,
    SchemeOut,
    SchemesOut,
    TemplatesOut,
    WriteOffOut,
)
from .models import Claim, Enrolment, LedgerEntry, PortfolioRun, Scheme

router = Router(tags=["risk sharing"])

Parties = Field(..., description="[{name, kind (fund|insurer|guarantor|appraiser|bank), ratio, organisation_id?, "
                                 "per_loan_cap?, funded?}]: each name unique in the scheme; ratios add up to at most 1")


def _s(fen):
    return None if fen is None else str(from_fen(fen))


def _d(value):
    return None if value is None else str(value)


# Loose field types: the services parse every value within the business limits after the permission
# check (see ``credit.inputs``), so a stranger's malformed body answers 403, not 422.

class SchemeIn(Schema):
    name: Text
    region_code: Text
    mode: Text = "ex_post"
    recovery_rule: Text = "pro_rata"
    eligible_base_cap: Decimal_ = None
    ip_portion_required: Flag = False
    max_loan_amount: Decimal_ = None
    borrower_year_cap: Decimal_ = None
    annual_cap: Decimal_ = None
    bank_annual_cap: Decimal_ = None
    limit_to_balance: Flag = False
    leverage: Decimal_ = None
    premium_rate: Decimal_ = None
    premium_subsidy_ratio: Decimal_ = None
    premium_subsidy_cap: Decimal_ = None
    valid_from: Day = None
    valid_to: Day = None
    source: Text = ""
    parties: list[dict] = Parties


class FromTemplateIn(Schema):
    name: Text = None
    region_code: Text = Field(None, description="default: the template's (e.g. a district of its city)")
    valid_from: Day = None
    valid_to: Day = None
    bank_annual_cap: Decimal_ = None
    ratios: TextMap = Field(None, description="party name → ratio, for a template that states none")
    organisations: dict = Field(None, description="party name → organisation id (default: yours, for the "
                                                  "parties of your organisation's kind)")


class AllocateIn(Schema):
    loan_amount: Decimal_
    principal_loss: Decimal_
    ip_secured_amount: Decimal_ = None


class FundsIn(Schema):
    party: Text
    amount: Decimal_
    kind: Text = "contribution"
    note: Text = ""


class EnrolIn(Schema):
    scheme_id: Whole
    ip_secured_amount: Decimal_ = None


class LossEventIn(Schema):
    kind: Text
    date: Day
    reference: Text


class ClaimIn(Schema):
    loan_no: Text
    principal_loss: Decimal_ = Field(None, description="ex post: the recognised principal loss (default: the "
                                                       "approved write-off)")
    loss_event: dict = Field(None, description="ex post without a write-off: {kind, date, reference} of the event "
                                               "that recognised the loss (disposal, court_ruling, bankruptcy, "
                                               "settlement, other)")


class PaymentIn(Schema):
    party: Text
    amount: Decimal_ = Field(None, description="default: what is left of the party's share")
    note: Text = ""


class CheckIn(Schema):
    approve: Flag
    note: Text = ""


class RecoveryIn(Schema):
    amount: Decimal_
    date: Day


class ProvisioningIn(Schema):
    bank_org_id: Whole
    provision_ratio: Decimal_
    coverage_ratio: Decimal_


class WriteOffIn(Schema):
    loan_no: Text
    reason: Text


class PortfolioRunIn(Schema):
    scenarios: Whole = Field(None, description="100 to 200,000 (default 10,000)")
    seed: Whole = Field(None, description="0 to 2⁶³−1 (default 1): the same seed and book give the same numbers")
    correlation: Text = Field(None, description='"basel" (the Basel corporate formula of each PD, the default) '
                                                "or a fraction from 0 to 0.99")
    lgd: Decimal_ = Field(None, description="loss given default, a fraction (default 0.675, the IP 60–75 %)")
    lgd_by_kind: TextMap = Field(None, description="loss given default by the loan's collateral kind "
                                                   "(patent, trademark, copyright, bundle, other), fractions; "
                                                   "a kind not named takes lgd")
    scheme_id: Whole = Field(None, description="only the loans enrolled in this scheme")


# --- shapes ------------------------------------------------------------------------------------------

def scheme_out(scheme: Scheme, reader=None) -> dict:
    money_visible = reader is None or services.reads_ledger(reader, scheme)
    room = services.capacity(scheme)
    return {
        "id": scheme.pk, "name": scheme.name, "region_code": scheme.region_code,
        "region": region_name(scheme.region_code), "template": scheme.template_key or None, "mode": scheme.mode,
        "recovery_rule": scheme.recovery_rule,
        "rules": {"eligible_base_cap": _s(scheme.eligible_base_cap), "ip_portion_required": scheme.ip_portion_required,
                  "max_loan_amount": _s(scheme.max_loan_amount), "borrower_year_cap": _s(scheme.borrower_year_cap),
                  "annual_cap": _s(scheme.annual_cap), "bank_annual_cap": _s(scheme.bank_annual_cap),
                  "limit_to_balance": scheme.limit_to_balance, "leverage": _d(scheme.leverage),
                  "premium_rate": _d(scheme.premium_rate), "premium_subsidy_ratio": _d(scheme.premium_subsidy_ratio),
                  "premium_subsidy_cap": _s(scheme.premium_subsidy_cap)},
        "valid_from": scheme.valid_from.isoformat(),
        "valid_to": scheme.valid_to.isoformat() if scheme.valid_to else None,
        "in_force": services.in_force(scheme, services.business_date.today()),
        "source": scheme.source, "created_by_org_id": scheme.created_by_org_id,
        "parties": [{"name": p.name, "kind": p.kind, "ratio": str(p.ratio), "per_loan_cap": _s(p.per_loan_cap),
                     "organisation_id": p.organisation_id,
                     "organisation": p.organisation.name if p.organisation_id else None, "funded": p.funded,
                     "balance": _s(p.balance) if p.funded and money_visible else None}
                    for p in scheme.parties.select_related("organisation")],
        "capacity": {"fund_balance": _s(room["fund_balance"]) if money_visible else None,
                     "leverage": _d(room["leverage"]), "capacity": _s(room["capacity"]) if money_visible else None,
                     "enrolled_outstanding": _s(room["enrolled_outstanding"]),
                     "remaining": _s(room["remaining"])},
    }


def enrolment_out(e: Enrolment) -> dict:
    return {"loan_no": e.loan.loan_no, "scheme_id": e.scheme_id, "scheme": e.scheme.name,
            "ip_secured_amount": _s(e.ip_secured_amount), "enrolled_on": e.enrolled_on.isoformat()}


def ledger_out(entry: LedgerEntry) -> dict:
    return {"id": entry.pk, "party": entry.party.name, "kind": entry.kind, "amount": _s(entry.amount),
            "balance_after": _s(entry.balance_after), "date": entry.date.isoformat(),
            "claim_no": entry.claim.claim_no if entry.claim_id else None, "note": entry.note}


def claim_out(claim: Claim) -> dict:
    shares = list(claim.shares.select_related("party").prefetch_related("payments"))
    return {
        "id": claim.pk, "claim_no": claim.claim_no, "loan_no": claim.loan.loan_no, "scheme_id": claim.scheme_id,
        "scheme": claim.scheme.name, "mode": claim.mode, "status": claim.status, "filed_on": claim.filed_on.isoformat(),
        "classification": claim.classification, "loss_event": claim.loss_event,
        "base_amount": _s(claim.base_amount), "eligible": _s(claim.eligible),
        "shares": {**{s.party.name: _s(s.share) for s in shares}, "bank": _s(claim.bank_share)},
        "parties": [{"party": s.party.name, "kind": s.party.kind, "allocated": _s(s.allocated), "share": _s(s.share),
                     "caps": [{"cap": c["cap"], "before": _s(c["before"]), "after": _s(c["after"])} for c in s.caps],
                     "paid": _s(s.paid), "returned": _s(s.returned), "net": _s(s.paid - s.returned),
                     "payments": [{"id": p.pk, "amount": _s(p.amount), "status": p.status,
                                   "made_by": p.made_by.username if p.made_by_id else None,
                                   "checked_by": p.checked_by.username if p.checked_by_id else None,
                                   "paid_on": p.paid_on.isoformat() if p.paid_on else None}
                                  for p in s.payments.all()]} for s in shares],
        "recovered": _s(claim.recovered),
        "recoveries": [{"amount": _s(r.amount), "date": r.date.isoformat(),
                        "returned": {k: _s(v) for k, v in r.true_up.items()}} for r in claim.recoveries.all()],
    }


def _provisioning_out(p: dict) -> dict:
    return {"bank_org_id": p["bank_org_id"], "bank": p["bank"], "as_of": p["as_of"],
            "loan_balance": _s(p["loan_balance"]), "npl_balance": _s(p["npl_balance"]),
            "provision_ratio": str(p["provision_ratio"]), "coverage_ratio": str(p["coverage_ratio"]),
            "by_loans": _s(p["by_loans"]), "by_npl": _s(p["by_npl"]), "required": _s(p["required"]),
            "binding": p["binding"]}


def portfolio_run_out(run: PortfolioRun) -> dict:
    failed = run.status == PortfolioRun.Status.FAILED
    return {"id": run.pk, "status": run.status, "organisation_id": run.organisation_id,
            "created_by": run.created_by_id, "created_at": run.created_at, "started_at": run.started_at,
            "finished_at": run.finished_at, "task_id": run.task_id or None, "loans_count": run.loans_count,
            "inputs": run.inputs, "results": run.results if run.status == PortfolioRun.Status.DONE else {},
            "error": {"code": run.error_code, "message": run.error_message} if failed else None}


def write_off_out(w) -> dict:
    return {"id": w.pk, "loan_no": w.loan.loan_no, "amount": _s(w.amount), "reason": w.reason, "status": w.status,
            "proposed_by": w.proposed_by.username if w.proposed_by_id else None,
            "decided_by": w.decided_by.username if w.decided_by_id else None,
            "date": w.date.isoformat() if w.date else None}


# --- templates and schemes -----------------------------------------------------------------------------

@router.get("/risk-sharing/templates", response=TemplatesOut, exclude_unset=True, summary="The real schemes shipped as templates, with their sources")
def list_templates(request):
    return {"templates": list(services.templates())}


@router.post("/risk-sharing/templates/{key}/schemes", response={201: SchemeOut},
             summary="Create a scheme from a template (your organisation filled in for its kind of party)")
def from_template(request, key: str, payload: FromTemplateIn):
    data = {k: v for k, v in payload.dict().items() if v is not None}
    scheme = services.create_from_template(actor=request.auth, key=key, data=data)
    return 201, scheme_out(scheme, request.auth)


@router.post("/risk-sharing/schemes", response={201: SchemeOut}, summary="Create a scheme (operator, regulator, fund manager)")
def create_scheme(request, payload: SchemeIn):
    return 201, scheme_out(services.create_scheme(actor=request.auth, data=payload.dict()), request.auth)


@router.get("/risk-sharing/schemes", response=SchemesOut, summary="The schemes you may read")
def list_schemes(request, limit: int = 100):
    rows = services.schemes_for(request.auth).order_by("-id")[: services_claims.list_limit(limit)]
    return {"schemes": [scheme_out(s, request.auth) for s in rows]}


@router.get("/risk-sharing/schemes/{scheme_id}", response=SchemeOut, summary="A scheme with its parties, rules and capacity")
def get_scheme(request, scheme_id: int):
    return scheme_out(services.get_scheme(actor=request.auth, scheme_id=scheme_id), request.auth)


@router.post("/risk-sharing/schemes/{scheme_id}/allocate", response=AllocationOut,
             summary="Who would bear a principal loss under the scheme (writes nothing)")
def allocate(request, scheme_id: int, payload: AllocateIn):
    result = services.allocate(actor=request.auth, scheme_id=scheme_id, loan_amount=payload.loan_amount,
                               principal_loss=payload.principal_loss, ip_secured_amount=payload.ip_secured_amount)
    return {"eligible": str(result["eligible"]), "shares": {k: str(v) for k, v in result["shares"].items()}}


@router.post("/risk-sharing/schemes/{scheme_id}/funds", response={201: LedgerEntryOut},
             summary="A fund's manager puts money in (contribution) or takes it out (withdrawal)")
def move_funds(request, scheme_id: int, payload: FundsIn):
    entry = services.move_funds(actor=request.auth, scheme_id=scheme_id, party=payload.party, amount=payload.amount,
                                kind=payload.kind, note=payload.note)
    return 201, ledger_out(entry)


@router.get("/risk-sharing/schemes/{scheme_id}/ledger", response=LedgerOut, summary="Every movement of the scheme's funds")
def ledger(request, scheme_id: int, party: str | None = None):
    scheme = services.get_scheme(actor=request.auth, scheme_id=scheme_id)
    if not services.reads_ledger(request.auth, scheme):
        raise NotFound(_("No such scheme."), code="scheme_not_found")
    rows = LedgerEntry.objects.filter(party__scheme=scheme).select_related("party", "claim").order_by("id")
    if party:
        rows = rows.filter(party=services.find_party(scheme, party))
    return {"entries": [ledger_out(e) for e in rows]}


# --- enrolment -----------------------------------------------------------------------------------------

@router.post("/loans/{loan_no}/risk-sharing", response={201: EnrolmentOut}, summary="Enrol a loan in a scheme (its bank)")
def enrol(request, loan_no: str, payload: EnrolIn):
    enrolment = services.enrol(actor=request.auth, loan_no=loan_no, scheme_id=payload.scheme_id,
                               ip_secured_amount=payload.ip_secured_amount)
    return 201, enrolment_out(enrolment)


@router.get("/loans/{loan_no}/risk-sharing", response=LoanEnrolmentOut, summary="The loan's scheme, if it is in one")
def loan_enrolment(request, loan_no: str):
    enrolment = services.enrolment_of(actor=request.auth, loan_no=loan_no)
    return {"enrolment": enrolment_out(enrolment) if enrolment else None}


# --- claims ----------------------------------------------------------------------------------------------

@router.post("/risk-sharing/claims", response={201: ClaimOut}, summary="File the claim of an enrolled NPL loan (its bank)")
def file_claim(request, payload: ClaimIn):
    claim = services_claims.file_claim(actor=request.auth, loan_no=payload.loan_no,
                                       principal_loss=payload.principal_loss, loss_event=payload.loss_event)
    return 201, claim_out(claim)


@router.get("/risk-sharing/claims", response=ClaimsOut, summary="The claims you may read (your bank's, your fund's, all for regulators)")
def list_claims(request, status: str | None = None, scheme_id: int | None = None, limit: int = 100):
    rows = services_claims.claims_for(request.auth).select_related("loan", "scheme")
    if status:
        rows = rows.filter(status=status)
    if scheme_id:
        rows = rows.filter(scheme_id=scheme_id)
    return {"claims": [claim_out(c) for c in rows[: services_claims.list_limit(limit)]]}


@router.get("/risk-sharing/claims/{claim_id}", response=ClaimOut, summary="A claim with each party's share, payments and recoveries")
def get_claim(request, claim_id: int):
    return claim_out(services_claims.get_claim(actor=request.auth, claim_id=claim_id))


@router.post("/risk-sharing/claims/{claim_id}/payments", response={201: ProposedPaymentOut},
             summary="A party's user enters its payment (another user of the party confirms it)")
def propose_payment(request, claim_id: int, payload: PaymentIn):
    payment = services_claims.propose_payment(actor=request.auth, claim_id=claim_id, party=payload.party,
                                              amount=payload.amount, note=payload.note)
    return 201, {"payment_id": payment.pk, "status": payment.status, "amount": _s(payment.amount),
                 "claim": claim_out(services_claims.get_claim(actor=request.auth, claim_id=claim_id))}


@router.post("/risk-sharing/claims/{claim_id}/payments/{payment_id}/check", response=CheckedPaymentOut,
             summary="The party's second user confirms (the money moves) or rejects a payment")
def check_payment(request, claim_id: int, payment_id: int, payload: CheckIn):
    payment = services_claims.check_payment(actor=request.auth, claim_id=claim_id, payment_id=payment_id,
                                            approve=payload.approve, note=payload.note)
    return {"payment_id": payment.pk, "status": payment.status,
            "claim": claim_out(services_claims.get_claim(actor=request.auth, claim_id=claim_id))}


@router.post("/risk-sharing/claims/{claim_id}/recoveries", response={201: RecordedRecoveryOut},
             summary="Record a recovery after payment; each payer is trued up pro rata")
def record_recovery(request, claim_id: int, payload: RecoveryIn):
    recovery = services_claims.record_recovery(actor=request.auth, claim_id=claim_id, amount=payload.amount,
                                               date=payload.date)
    return 201, {"amount": _s(recovery.amount), "returned": {k: _s(v) for k, v in recovery.true_up.items()},
                 "claim": claim_out(services_claims.get_claim(actor=request.auth, claim_id=claim_id))}


# --- provisioning and write-off ------------------------------------------------------------------------

@router.get("/risk-sharing/provisioning", response=ProvisioningOut, summary="A bank's required provisions for its IP-pledge loans")
def provisioning(request, bank_org_id: int):
    return _provisioning_out(services_provisions.provisioning_of(actor=request.auth, bank_org_id=bank_org_id))


@router.put("/risk-sharing/provisioning", response=ProvisioningOut, summary="Set a bank's provision ratio and coverage (its approver)")
def set_provisioning(request, payload: ProvisioningIn):
    services_provisions.set_provisioning(actor=request.auth, bank_org_id=payload.bank_org_id,
                                         provision_ratio=payload.provision_ratio,
                                         coverage_ratio=payload.coverage_ratio)
    return _provisioning_out(services_provisions.provisioning_of(actor=request.auth, bank_org_id=payload.bank_org_id))


@router.post("/risk-sharing/write-offs", response={201: WriteOffOut}, summary="Propose writing off a loss loan")
def propose_write_off(request, payload: WriteOffIn):
    row = services_provisions.propose_write_off(actor=request.auth, loan_no=payload.loan_no, reason=payload.reason)
    return 201, write_off_out(row)


@router.get("/risk-sharing/write-offs/{write_off_id}", response=WriteOffOut, summary="A write-off")
def get_write_off(request, write_off_id: int):
    return write_off_out(services_provisions.get_write_off(actor=request.auth, write_off_id=write_off_id))


@router.post("/risk-sharing/write-offs/{write_off_id}/decision", response=WriteOffOut,
             summary="Another approver approves (the principal leaves the book) or rejects")
def decide_write_off(request, write_off_id: int, payload: CheckIn):
    row = services_provisions.decide_write_off(actor=request.auth, write_off_id=write_off_id,
                                               approve=payload.approve, note=payload.note)
    return write_off_out(row)


# --- portfolio loss per party ----------------------------------------------------------------------------

@router.post("/risk-sharing/portfolio-runs", response={202: PortfolioRunOut}, exclude_unset=True,
             summary="Queue a simulation of the book you may see: expected loss, VaR and expected shortfall "
                     "per party (GET the run for its status and, once done, its results)")
def create_portfolio_run(request, payload: PortfolioRunIn):
    return 202, portfolio_run_out(services_portfolio.run(actor=request.auth, data=payload.dict()))


@router.get("/risk-sharing/portfolio-runs", response=PortfolioRunsOut, exclude_unset=True, summary="Your organisation's portfolio runs")
def list_portfolio_runs(request, limit: int = 100):
    rows = services_portfolio.runs_for(request.auth)[: services_claims.list_limit(limit)]
    return {"runs": [portfolio_run_out(r) for r in rows]}


@router.get("/risk-sharing/portfolio-runs/{run_id}", response=PortfolioRunOut, exclude_unset=True, summary="A portfolio run with its inputs, seed and results")
def get_portfolio_run(request, run_id: int):
    return portfolio_run_out(services_portfolio.get_run(actor=request.auth, run_id=run_id))


# --- guarantee insurance (issue 13 point 3) ----------------------------------------------------------

from . import services_insurance  # noqa: E402  (appended section: insurance products and policies)
from .models import InsurancePolicy, InsuranceProduct, PremiumInstalment  # noqa: E402


class InsuranceProductIn(Schema):
    name: Text
    policy_type: Text = Field(None, description="loan_guarantee | infringement_loss | enforcement")
    premium_rate: Decimal_ = Field(None, description="a fraction a year: 0.01–0.03 for loan_guarantee, "
                                                    "0.001–0.10 for the others")
    coverage_ratio: Decimal_ = Field(None, description="share of the principal loss covered (required for "
                                                       "loan_guarantee), more than 0 and at most 1")
    valid_from: Day = None
    valid_to: Day = None
    description: Text = ""


class InsuranceProductOut(Schema):
    id: int
    insurer_id: int
    insurer: str
    name: str
    policy_type: str
    premium_rate: str
    coverage_ratio: str | None
    valid_from: str
    valid_to: str | None
    in_force: bool
    description: str


class InsuranceProductsOut(Schema):
    products: list[InsuranceProductOut]


class PolicyIn(Schema):
    product_id: Whole = None
    loan_no: Text = Field(None, description="loan_guarantee: the loan's number")
    borrower_uscc: Text = Field(None, description="loan_guarantee: the borrower's USCC, as in the bank's "
                                                  "application (a wrong pair answers loan_not_found)")
    enterprise_id: Whole = Field(None, description="infringement_loss / enforcement: the policyholder")
    rights: list[dict] = Field(None, description="infringement_loss / enforcement: [{kind, number}] the "
                                                 "register shows the enterprise holding")
    sum_insured: Decimal_ = Field(None, description="infringement_loss / enforcement: yuan")
    start_date: Day = None
    term_months: Whole = Field(None, description="infringement_loss / enforcement: 1–120 (default 12)")


class CancelPolicyIn(Schema):
    reason: Text = None


class PremiumPaymentIn(Schema):
    instalment: Whole = Field(None, description="the instalment's number (default: the earliest unpaid)")
    amount: Decimal_ = Field(None, description="default and only accepted value: the instalment's premium")
    paid_on: Day = None
    note: Text = ""


class InstalmentOut(Schema):
    seq: int
    period_start: str
    period_end: str
    due_date: str
    premium: str
    subsidy: str
    borrower: str
    paid: bool
    paid_on: str | None
    paid_amount: str | None


class PolicyRightOut(Schema):
    kind: str
    number: str


class PolicyOut(Schema):
    id: int
    policy_no: str
    policy_type: str
    status: str
    stored_status: str
    product_id: int
    product: str
    insurer_id: int
    insurer: str
    loan_no: str | None
    bank_id: int | None
    enterprise_id: int | None
    rights: list[PolicyRightOut]
    sum_insured: str
    premium_rate: str
    coverage_ratio: str | None
    scheme_id: int | None
    subsidy_ratio: str | None
    subsidy_year_cap: str | None
    start_date: str
    end_date: str
    term_months: int
    premium_total: str
    subsidy_total: str
    borrower_total: str
    paid_total: str
    unpaid_total: str
    instalments: list[InstalmentOut]


class PoliciesOut(Schema):
    policies: list[PolicyOut]


class PremiumPaymentOut(Schema):
    instalment: InstalmentOut
    policy: PolicyOut


def insurance_product_out(p: InsuranceProduct) -> dict:
    return {"id": p.pk, "insurer_id": p.insurer_id, "insurer": p.insurer.name, "name": p.name,
            "policy_type": p.policy_type, "premium_rate": str(p.premium_rate), "coverage_ratio": _d(p.coverage_ratio),
            "valid_from": p.valid_from.isoformat(), "valid_to": p.valid_to.isoformat() if p.valid_to else None,
            "in_force": services_insurance.in_force(p, services.business_date.today()), "description": p.description}


def instalment_out(i: PremiumInstalment) -> dict:
    return {"seq": i.seq, "period_start": i.period_start.isoformat(), "period_end": i.period_end.isoformat(),
            "due_date": i.due_date.isoformat(), "premium": _s(i.premium), "subsidy": _s(i.subsidy),
            "borrower": _s(i.borrower), "paid": i.paid_on is not None,
            "paid_on": i.paid_on.isoformat() if i.paid_on else None, "paid_amount": _s(i.paid_amount)}


def policy_out(p: InsurancePolicy) -> dict:
    sums = services_insurance.totals(p)
    return {"id": p.pk, "policy_no": p.policy_no, "policy_type": p.policy_type,
            "status": services_insurance.status_of(p), "stored_status": p.status,
            "product_id": p.product_id, "product": p.product.name, "insurer_id": p.insurer_id,
            "insurer": p.insurer.name, "loan_no": p.loan.loan_no if p.loan_id else None,
            "bank_id": p.loan.bank_id if p.loan_id else None, "enterprise_id": p.enterprise_id,
            "rights": p.rights, "sum_insured": _s(p.sum_insured), "premium_rate": str(p.premium_rate),
            "coverage_ratio": _d(p.coverage_ratio), "scheme_id": p.scheme_id, "subsidy_ratio": _d(p.subsidy_ratio),
            "subsidy_year_cap": _s(p.subsidy_year_cap), "start_date": p.start_date.isoformat(),
            "end_date": p.end_date.isoformat(), "term_months": p.term_months,
            "premium_total": _s(sums["premium"]), "subsidy_total": _s(sums["subsidy"]),
            "borrower_total": _s(sums["borrower"]), "paid_total": _s(sums["paid"]),
            "unpaid_total": _s(sums["unpaid"]), "instalments": [instalment_out(i) for i in p.instalments.all()]}


@router.post("/risk-sharing/insurance-products", response={201: InsuranceProductOut},
             summary="An insurer's user creates an insurance product of its insurer")
def create_insurance_product(request, payload: InsuranceProductIn):
    product = services_insurance.create_product(actor=request.auth, data=payload.dict())
    return 201, insurance_product_out(services_insurance.get_product(actor=request.auth, product_id=product.pk))


@router.get("/risk-sharing/insurance-products", response=InsuranceProductsOut,
            summary="Insurance products you may read (an insurer its own; regulators all)")
def list_insurance_products(request, policy_type: str | None = None, limit: int = 100):
    rows = services_insurance.products_for(request.auth)
    if policy_type:
        rows = rows.filter(policy_type=policy_type)
    return {"products": [insurance_product_out(p) for p in rows[: services_claims.list_limit(limit)]]}


@router.get("/risk-sharing/insurance-products/{product_id}", response=InsuranceProductOut,
            summary="An insurance product")
def get_insurance_product(request, product_id: int):
    return insurance_product_out(services_insurance.get_product(actor=request.auth, product_id=product_id))


@router.post("/risk-sharing/policies", response={201: PolicyOut},
             summary="An insurer's user issues a policy: on a loan (pending until its bank accepts) or on rights")
def issue_policy(request, payload: PolicyIn):
    policy = services_insurance.issue_policy(actor=request.auth, data=payload.dict())
    return 201, policy_out(services_insurance.get_policy(actor=request.auth, policy_id=policy.pk))


@router.get("/risk-sharing/policies", response=PoliciesOut,
            summary="Policies you may read (the insurer's, those on your bank's loans, your own; regulators all)")
def list_policies(request, loan_no: str | None = None, status: str | None = None, limit: int = 100):
    rows = services_insurance.policies_for(request.auth).prefetch_related("instalments")
    if loan_no:
        rows = rows.filter(loan__loan_no=loan_no)
    if status:
        rows = rows.filter(status=status)
    return {"policies": [policy_out(p) for p in rows[: services_claims.list_limit(limit)]]}


@router.get("/risk-sharing/policies/{policy_id}", response=PolicyOut,
            summary="A policy with its premium schedule, subsidy and payments")
def get_policy(request, policy_id: int):
    return policy_out(services_insurance.get_policy(actor=request.auth, policy_id=policy_id))


@router.post("/risk-sharing/policies/{policy_id}/acceptance", response=PolicyOut,
             summary="The loan's bank accepts the insurer's guarantee policy (it comes into force)")
def accept_policy(request, policy_id: int):
    policy = services_insurance.accept_policy(actor=request.auth, policy_id=policy_id)
    return policy_out(services_insurance.get_policy(actor=request.auth, policy_id=policy.pk))


@router.post("/risk-sharing/policies/{policy_id}/premium-payments", response={201: PremiumPaymentOut},
             summary="The insurer's user records an instalment's premium as received")
def record_premium_payment(request, policy_id: int, payload: PremiumPaymentIn):
    row = services_insurance.record_premium_payment(actor=request.auth, policy_id=policy_id,
                                                    instalment=payload.instalment, amount=payload.amount,
                                                    paid_on=payload.paid_on, note=payload.note)
    policy = services_insurance.get_policy(actor=request.auth, policy_id=policy_id)
    return 201, {"instalment": instalment_out(row), "policy": policy_out(policy)}


@router.post("/risk-sharing/policies/{policy_id}/cancellation", response=PolicyOut,
             summary="The insurer's user cancels a pending or active policy, with the reason")
def cancel_policy(request, policy_id: int, payload: CancelPolicyIn):
    policy = services_insurance.cancel_policy(actor=request.auth, policy_id=policy_id, reason=payload.reason)
    return policy_out(services_insurance.get_policy(actor=request.auth, policy_id=policy.pk))
