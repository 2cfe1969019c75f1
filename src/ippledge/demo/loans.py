"""The demo region's loan book, written through the credit and registry services.

Calibrated to lending-rules §3: loan sizes lognormal with median ≈ 333万 (ln X ~ N(5.8075, 1.8407²),
X in 万元, clipped to each product's range), mostly one-year terms, a mix of patents, trademarks and
bundles, about one in twelve loans overdue at various depths, a few extended or restructured, first
loans and park loans.  Current loans go through the whole case workflow (due diligence, review,
approval, pledge registration, disbursement); older loans are booked with their historical start
dates against pledges filed through the registry and repaid instalment by instalment, so the book has
a history that end of day classifies by the rules.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from decimal import Decimal

from django.db import transaction

from ippledge.core import money
from ippledge.core.models import Organisation, User
from ippledge.core.roles import Role
from ippledge.credit import services as credit
from ippledge.credit import workflow
from ippledge.credit.engine import schedule as sched
from ippledge.credit.models import CreditPlan, Park, ParkCreditLine
from ippledge.registry import services as registry
from ippledge.registry.filing import PledgeFiling, RightRef
from ippledge.registry.models import PledgeApplication
from ippledge.rights import rules
from ippledge.rights import services as rights_services
from ippledge.rights.models import Right
from ippledge.valuation import services as valuation

PRODUCT = {"name": "知识产权质押融资·科创贷", "eligible_kinds": ["patent", "trademark", "copyright", "bundle"],
           "min_amount": "100000", "max_amount": "30000000", "min_term_months": 6, "max_term_months": 36,
           "spreads_bp": {"A": 40, "B": 80, "C": 150}, "first_loan_friendly": True, "inclusive_smb": True,
           "guarantee_fee_rate": "0.008"}


def confirm_for_parties(application_no: str) -> str:
    """The demo's parties confirm a filed application as real ones would: each party on the platform
    through one of its own users, a party off the platform through a registrar of the right's office,
    from the signed contract.  Returns the application's status afterwards."""
    app = PledgeApplication.objects.get(application_no=application_no)
    if app.status != "awaiting_confirmation":
        return app.status
    for side, todo in registry.pending_confirmations(app).items():
        for org_id in todo["orgs"]:
            user = User.objects.filter(organisation_id=org_id, is_active=True).order_by("pk").first()
            registry.confirm(actor=user, application_no=application_no, side=side)
        if todo["paper"]:
            office = "copyright_office" if app.regime == "copyright" else "ip_office"
            registrar = User.objects.filter(roles__role=Role.REGISTRAR, organisation__kind=office).order_by("pk").first()
            registry.confirm(actor=registrar, application_no=application_no, side=side,
                             signed_contract_ref=f"质押合同 {app.data['contract_no']} 签字页扫描件")
    app.refresh_from_db()
    return app.status


def _size(rng: random.Random) -> Decimal:
    wan = math.exp(rng.gauss(5.8075, 1.8407))
    return Decimal(str(round(min(max(wan, 10), 3000) * 10000, -4)))


def _team(bank: Organisation) -> dict[Role, User] | None:
    team = {role: User.objects.filter(organisation=bank, roles__role=role).order_by("pk").first()
            for role in (Role.BANK_OFFICER, Role.BANK_REVIEWER, Role.BANK_APPROVER)}
    return team if all(team.values()) else None


@transaction.atomic
def load_loans(*, seed: int, today: dt.date, count: int = 120, report=None) -> int:
    rng = random.Random(seed * 104729)
    banks = [(b, t) for b in Organisation.objects.filter(kind="bank", parent__isnull=True, is_demo=True).order_by("pk")
             if (t := _team(b))]
    if not banks:
        return 0
    park = Park.objects.get_or_create(name="示范高新技术产业园", defaults={"region_code": "440300"})[0]
    products = {}
    for bank, team in banks:
        products[bank.pk] = workflow.create_product(actor=team[Role.BANK_APPROVER], data=PRODUCT)
        ParkCreditLine.objects.get_or_create(bank=bank, park=park, start_date=dt.date(today.year, 1, 1),
                                             defaults={"limit": 50_000_000_000, "end_date": dt.date(today.year, 12, 31)})
        CreditPlan.objects.get_or_create(bank=bank, year=today.year, defaults={"households": 60,
                                                                               "amount": 40_000_000_000})
    candidates = []
    for right in Right.objects.filter(kind__in=("invention", "utility_model", "trademark")).prefetch_related(
            "events").order_by("pk"):
        if len(right.owners) != 1 or right.owners[0]["id_type"] != "uscc":
            continue
        if registry.live_pledges_on(right) or not rules.in_force_for_pledge(rights_services.state_of(right, today)):
            continue
        candidates.append(right)
    rng.shuffle(candidates)
    done = 0
    for i, right in enumerate(candidates[:count]):
        owner = right.owners[0]
        enterprise = Organisation.objects.filter(uscc=owner["id_number"], kind="enterprise").first()
        if enterprise is None:
            continue
        bank, team = banks[i % len(banks)]
        amount = _size(rng)
        term = 12 if rng.random() < 0.8 else rng.choice((6, 24, 36))
        in_park = rng.random() < 0.15
        try:
            if i % 3 == 0:  # a current loan through the whole workflow
                _through_workflow(team, products[bank.pk], enterprise, right, amount, term, park if in_park else None)
            else:  # an older loan with its repayment history
                _historical(rng, team, bank, enterprise, right, amount, term, today, park if in_park else None)
            done += 1
        except Exception:  # a demo right that does not fit (e.g. term too short) is skipped
            continue
        if report:
            report("loans", i + 1, min(count, len(candidates)))
    credit.classify_book(today)
    return done


# The bank's internal valuation of a pledged right: three years of income at 10%, twice the loan a year.
# Under the product's caps a patent supports about 1.2 times the loan and a trademark 2.5 times; a utility
# model (15%) supports less than the loan, so its case is approved with a recorded LTV override.
INCOME_TIMES_LOAN = 2
OVERRIDE_REASON = "追加法定代表人个人连带责任保证及应收账款质押，综合担保充足"


def _valuation(officer, right, amount: Decimal) -> str:
    income = str(amount * INCOME_TIMES_LOAN)
    record = valuation.create_valuation(actor=officer, data={
        "rights": [{"kind": right.kind, "number": right.number}], "method": "income",
        "inputs": {"income": [income] * 3, "discount_rate": "0.1"}})
    return record.valuation_no


def _through_workflow(team, product, enterprise, right, amount, term, park) -> None:
    amount = min(max(amount, money.from_fen(product.min_amount)), money.from_fen(product.max_amount))
    case = workflow.open_case(actor=team[Role.BANK_OFFICER], product_id=product.pk, enterprise_id=enterprise.pk,
                              amount=str(amount), term_months=term, rights=[{"kind": right.kind,
                                                                              "number": right.number}],
                              purpose="研发与生产经营周转", park_id=park.pk if park else None,
                              valuation_no=_valuation(team[Role.BANK_OFFICER], right, amount))
    for item in case.dd_items.all():
        workflow.update_dd(actor=team[Role.BANK_OFFICER], case_no=case.case_no, key=item.key,
                           result="ok" if item.prefilled != "issue" else "issue", notes="已核对登记簿与原件")
    workflow.submit_for_review(actor=team[Role.BANK_OFFICER], case_no=case.case_no, risk_grade="B")
    workflow.review(actor=team[Role.BANK_REVIEWER], case_no=case.case_no, decision="pass")
    workflow.approve(actor=team[Role.BANK_APPROVER], case_no=case.case_no, decision="approve",
                     ltv_override_reason=OVERRIDE_REASON if case.amount > case.max_loan else "")
    for filing in case.filings.all():  # one pledge application per registry regime
        confirm_for_parties(filing.application_no)
    workflow.disburse(actor=team[Role.BANK_OFFICER], case_no=case.case_no,
                      schedule="interest_only" if term > 12 else "bullet")


def _historical(rng, team, bank, enterprise, right, amount, term, today, park) -> None:
    start = today - dt.timedelta(days=rng.randrange(60, 420))
    maturity = sched.add_months(start, term)
    app = registry.file_application(actor=team[Role.BANK_OFFICER], data=PledgeFiling.for_loan(
        pledgor=enterprise, pledgee=bank, rights=[RightRef(kind=right.kind, number=right.number)],
        amount_fen=money.to_fen(amount), due_date=maturity, contract_no=f"HIS-{right.pk}", debt_type="流动资金贷款",
        guarantee_scope="主债权及利息", pledgor_address="广东省", pledgee_address="广东省深圳市"))
    if confirm_for_parties(app.application_no) != "registered":
        raise ValueError(app.status)
    app.refresh_from_db()
    loan = credit.book_loan(actor=team[Role.BANK_OFFICER], data={
        "borrower_uscc": enterprise.uscc, "bank_org_id": bank.pk, "amount": str(amount), "annual_rate": "0.0385",
        "start_date": start, "maturity_date": maturity, "schedule": "equal_instalments" if term <= 12 else
        "interest_only", "pledge_registration_no": app.pledge.registration_no,
        "ip_kind": "trademark" if right.kind == "trademark" else "patent", "first_loan": rng.random() < 0.3,
        "inclusive_smb": amount <= 10_000_000 and enterprise.size_class in ("small", "micro"),
        "park_id": park.pk if park else None})
    behaviour = rng.random()
    stop = None if behaviour > 0.08 else today - dt.timedelta(days=rng.choice((3, 40, 100, 300, 400)))
    for row in loan.schedule.filter(current=True).order_by("due_date"):
        if row.due_date > today or (stop is not None and row.due_date >= stop):
            break
        credit.repay(actor=team[Role.BANK_OFFICER], loan_no=loan.loan_no, date=row.due_date,
                     principal=str(money.from_fen(row.principal)), interest=str(money.from_fen(row.interest)))
    if behaviour > 0.97 and loan.maturity_date > today:
        credit.restructure(actor=team[Role.BANK_REVIEWER], loan_no=loan.loan_no, kind="rate_cut", note="经营困难，下调利率")
