"""Risk sharing and guarantee insurance in the demo region (issue 13), written through the risk-sharing
services as the users who would act — the fund's two managers, the banks' staff, the insurer.

* the Shenzhen 2018 scheme (the template of the region most demo enterprises are in: fund 25 % of the
  loss, the fund's balance × 10 of loans) made by the fund's manager with the demo risk-compensation fund
  as its fund, and the fund's contribution on its ledger;
* several of the banks' performing Shenzhen loans enrolled by their banks' officers;
* one of them downgraded to substandard by its bank's reviewer, its claim filed by the officer (the loss
  recognised by a court ruling), the fund's share entered by one fund manager and confirmed by the other
  (the ledger shows the payment).  The claim's loan is the one ``demo.disposals`` sells on the IP exchange
  first, so the settlement's principal trues the claim up (the fund's return on the ledger); where no
  settlement reached it, :func:`finish` records a recovery directly;
* the insurer's loan-guarantee product (2 % a year) with a policy on a first-bank loan accepted by the
  bank and its first premium instalment paid, a second policy waiting for the bank's acceptance, and an
  infringement-loss product with a policy on an enterprise's rights (the ``enterprise`` login's firm's
  where it holds patents).

Deterministic: loans in loan-number order (the claim's from the last, as the disposals take them), each
enrolment in its own savepoint so that a loan a rule refuses is passed over.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.db import transaction

from ippledge.core import money
from ippledge.core.errors import DomainError
from ippledge.core.models import Organisation, User
from ippledge.core.roles import Role

TEMPLATE = "shenzhen_2018"
FUND_CONTRIBUTION = "50000000"  # yuan: × 10 leverage backs 5亿 of loans
ENROLMENTS = 6  # besides the claim's loan
FUND_CHECKER = "fund_checker"  # the fund's second manager, who confirms what the first enters
COURT_REFERENCE = "（{year}）粤0305民初{serial}号"


def _user(org, role: Role, *, exclude=None) -> User | None:
    users = User.objects.filter(organisation=org, roles__role=role, is_active=True).order_by("pk")
    if exclude is not None:
        users = users.exclude(pk=exclude.pk)
    return users.first()


def _yuan(fen: int) -> str:
    return str(money.from_fen(fen))


def _region_loans(prefix: str):
    """The demo banks' performing loans of borrowers in the scheme's region, loan-number order."""
    from ippledge.credit.models import Loan

    return [loan for loan in Loan.objects.filter(bank__is_demo=True, balance__gt=0, classification="normal")
            .select_related("bank", "borrower").order_by("loan_no") if loan.borrower.region_code.startswith(prefix)]


def _enrol(loan, scheme) -> bool:
    from ippledge.risksharing import services

    officer = _user(loan.bank, Role.BANK_OFFICER)
    if officer is None:
        return False
    try:
        with transaction.atomic():
            services.enrol(actor=officer, loan_no=loan.loan_no, scheme_id=scheme.pk)
    except DomainError:
        return False
    return True


def _claim(loan, today: dt.date, fund, checker):
    """Downgrade, file, pay the fund's share maker-checker; returns the claim (or None where refused)."""
    from ippledge.credit import services as credit
    from ippledge.risksharing import services_claims

    officer, reviewer = _user(loan.bank, Role.BANK_OFFICER), _user(loan.bank, Role.BANK_REVIEWER)
    if officer is None or reviewer is None:
        return None
    try:
        with transaction.atomic():
            credit.classify_manually(actor=reviewer, loan_no=loan.loan_no, category="substandard",
                                     reason="借款人主营业务停产，连续两期未付利息，第一还款来源明显不足")
            loan.refresh_from_db()
            claim = services_claims.file_claim(
                actor=officer, loan_no=loan.loan_no, principal_loss=_yuan(loan.balance),
                loss_event={"kind": "court_ruling", "date": today.isoformat(),
                            "reference": COURT_REFERENCE.format(year=today.year, serial=int(loan.loan_no[-4:]))})
            payment = services_claims.propose_payment(actor=fund, claim_id=claim.pk, party="fund",
                                                      note="按方案比例代偿本金损失的25%")
            services_claims.check_payment(actor=checker, claim_id=claim.pk, payment_id=payment.pk, approve=True,
                                          note="复核无误，准予支付")
    except DomainError:
        return None
    return claim


def _claim_candidates(prefix: str):
    """The loans ``demo.disposals`` would enforce, in its order, whose borrower is in the region."""
    from .disposals import _loans

    return [loan for loan, _officer, _refs in _loans()
            if loan.classification == "normal" and loan.borrower.region_code.startswith(prefix)]


def _insurance(today: dt.date, insurer, scheme_loans) -> None:
    """The insurer's products, a guarantee policy accepted with its first premium paid, one pending, and an
    infringement-loss policy on an enterprise's rights."""
    from ippledge.risksharing import services_insurance as insurance

    guarantee = insurance.create_product(actor=insurer, data={
        "name": "知识产权质押贷款保证保险", "policy_type": "loan_guarantee", "premium_rate": "0.02",
        "coverage_ratio": "0.6", "description": "承保借款人未按约偿还知识产权质押贷款的本金损失的60%，按年缴费"})
    first_bank = User.objects.filter(username=Role.BANK_OFFICER.value).values_list("organisation_id", flat=True).first()
    from ippledge.credit.models import Loan

    enrolled = [loan.pk for loan in scheme_loans]
    horizon = today + dt.timedelta(days=180)  # a policy over half a year or more, where a loan runs so long
    loans = sorted(Loan.objects.filter(bank_id=first_bank, balance__gt=0, classification="normal",
                                       maturity_date__gt=today).select_related("bank", "borrower"),
                   key=lambda loan: (loan.pk not in enrolled, loan.maturity_date < horizon, loan.loan_no))
    issued = []
    for loan in loans:
        if len(issued) == 2:
            break
        try:
            with transaction.atomic():
                issued.append((insurance.issue_policy(actor=insurer, data={
                    "product_id": guarantee.pk, "loan_no": loan.loan_no, "borrower_uscc": loan.borrower.uscc}), loan))
        except DomainError:
            continue
    if issued:
        policy, loan = issued[0]
        insurance.accept_policy(actor=_user(loan.bank, Role.BANK_OFFICER), policy_id=policy.pk)
        insurance.record_premium_payment(actor=insurer, policy_id=policy.pk, note="首期保费已到账")
    infringement = insurance.create_product(actor=insurer, data={
        "name": "知识产权侵权损失保险", "policy_type": "infringement_loss", "premium_rate": "0.015",
        "description": "承保被保险专利遭受侵权造成的直接经济损失及维权费用"})
    _rights_policy(insurer, infringement)


def _rights_policy(insurer, product) -> None:
    from ippledge.rights.models import Right
    from ippledge.risksharing import services_insurance as insurance

    first = User.objects.filter(username="enterprise").values_list("organisation_id", flat=True).first()
    firms = list(Organisation.objects.filter(kind="enterprise", is_demo=True).order_by("pk"))
    firms.sort(key=lambda org: org.pk != first)
    for firm in firms:
        rights = list(Right.objects.filter(holders__id_number=firm.uscc, kind__in=("invention", "utility_model"))
                      .order_by("pk").values("kind", "number")[:2])
        if not rights:
            continue
        try:
            with transaction.atomic():
                insurance.issue_policy(actor=insurer, data={
                    "product_id": product.pk, "enterprise_id": firm.pk, "rights": rights,
                    "sum_insured": "2000000", "term_months": 12})
            return
        except DomainError:
            continue


def stage(*, today: dt.date) -> None:
    """The scheme, enrolments, the paid claim and the insurance (run after the loans, before disposals)."""
    from ippledge.risksharing import services

    fund_org = Organisation.objects.filter(kind="risk_fund", is_demo=True).order_by("pk").first()
    fund = _user(fund_org, Role.FUND_MANAGER) if fund_org else None
    checker = _user(fund_org, Role.FUND_MANAGER, exclude=fund) if fund else None
    insurer_org = Organisation.objects.filter(kind="insurer", is_demo=True).order_by("pk").first()
    insurer = _user(insurer_org, Role.INSURER_USER) if insurer_org else None
    if fund is None or checker is None:
        return
    scheme = services.create_from_template(actor=fund, key=TEMPLATE)
    services.move_funds(actor=fund, scheme_id=scheme.pk, party="fund", amount=FUND_CONTRIBUTION,
                        note="市级财政首期注资")
    prefix = scheme.region_code.removesuffix("00")
    enrolled = []
    for loan in _claim_candidates(prefix):  # the claim's loan first
        if _enrol(loan, scheme):
            if _claim(loan, today, fund, checker) is not None:
                enrolled.append(loan)
                break
            enrolled.append(loan)
    for loan in _region_loans(prefix):
        if len(enrolled) > ENROLMENTS:
            break
        if loan not in enrolled and _enrol(loan, scheme):
            enrolled.append(loan)
    if insurer is not None:
        _insurance(today, insurer, enrolled)


def finish(*, today: dt.date) -> None:
    """After the disposals: a paid claim that no settlement reached records a recovery directly (a third of
    its principal, from the borrower's guarantor), so the fund's ledger shows a return either way."""
    from ippledge.risksharing import services_claims
    from ippledge.risksharing.models import Claim, ClaimStatus

    for claim in Claim.objects.filter(status=ClaimStatus.PAID, recovered=0).select_related("loan__bank"):
        officer = _user(claim.loan.bank, Role.BANK_OFFICER)
        amount = claim.base_amount // 3 // 100 * 100
        if officer is None or amount <= 0:
            continue
        services_claims.record_recovery(actor=officer, claim_id=claim.pk, amount=_yuan(amount),
                                        date=today.isoformat())


def counts() -> dict[str, int]:
    """What the stage made, as the summary reports it."""
    from ippledge.risksharing.models import Claim, Enrolment, InsurancePolicy, LedgerEntry, Recovery, Scheme

    made = {"schemes": Scheme.objects.count(), "enrolled_loans": Enrolment.objects.count(),
            "claims": Claim.objects.count(), "recoveries": Recovery.objects.count(),
            "fund_ledger_entries": LedgerEntry.objects.count()}
    made.update({f"{kind}_policies": n for kind, n in sorted(Counter(
        InsurancePolicy.objects.values_list("policy_type", flat=True)).items())})
    return made

