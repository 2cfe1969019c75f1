"""The demo region's loan book and its credit cases in flight, written through the credit and registry services.

Calibrated to lending-rules §3: loan sizes lognormal with median ≈ 333万 (ln X ~ N(5.8075, 1.8407²),
X in 万元, clipped to each product's range), mostly one-year terms, a mix of patents and trademarks,
about one in twelve loans overdue at various depths, a few restructured, first loans and park loans.
Current loans go through the whole case workflow (due diligence, review, approval, pledge registration,
disbursement); older loans are booked with their historical start dates against pledges filed through
the registry and repaid instalment by instalment, so the book has a history that end of day classifies.

Beside the book, every bank has cases *in flight*: financing needs published by enterprises (open, and
matched to a case), cases in due diligence (some items saved, one returned by the reviewer), in review,
awaiting approval, declined, approved and waiting for the enterprise to sign, and signed waiting for
disbursement.  The first bank (the documented demo logins) has one of each, so every desk has work.

A right is lent on only where a bank would take it (``pledgeable``): the registry's examination then
registers every pledge, so what the progress bars count is what was made.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction

from ippledge.core import money
from ippledge.core.models import Organisation, User
from ippledge.core.roles import Role
from ippledge.credit import services as credit
from ippledge.credit import workflow
from ippledge.credit.engine import schedule as sched
from ippledge.registry import services as registry
from ippledge.registry.filing import PledgeFiling, RightRef
from ippledge.registry.models import PledgeApplication, PledgeRight
from ippledge.rights import rules
from ippledge.rights import services as rights_services
from ippledge.rights.models import Right
from ippledge.valuation import services as valuation

from .showcase import quarter_ends

PRODUCT = {"name": "知识产权质押融资·科创贷", "eligible_kinds": ["patent", "trademark", "copyright", "bundle"],
           "min_amount": "100000", "max_amount": "30000000", "min_term_months": 6, "max_term_months": 36,
           "spreads_bp": {"A": 40, "B": 80, "C": 150}, "first_loan_friendly": True, "inclusive_smb": True,
           "guarantee_fee_rate": "0.008"}
PARK = "示范高新技术产业园"
LOAN_KINDS = ("invention", "utility_model", "trademark")
# A right is lent on only when its term runs well past the longest product term (36 months) and a
# trademark pledge's registration term (a year past the due date).
TERM_MARGIN_DAYS = 5 * 365

# The stages a bank's cases in flight stop at, in workflow order.  The first bank has all of them; in a
# full-sized region (a book of at least ``OTHER_BANKS_FROM`` loans) the others have a few, so the regulator
# sees work in progress across the region.
IN_FLIGHT = ("matched", "due_diligence", "returned", "review", "approval", "declined_in_review",
             "declined_at_approval", "awaiting_signature", "signed")
IN_FLIGHT_OTHER_BANKS = ("due_diligence", "review", "approval", "signed")
OTHER_BANKS_FROM = 25
# Needs the enterprises with logins publish and no bank has taken up yet.
OPEN_NEEDS = 2


@dataclass
class Book:
    """What the loan book and the cases in flight made (each count is rows written)."""

    loans: int = 0
    cases: dict[str, int] = field(default_factory=dict)  # credit cases by stage
    needs: dict[str, int] = field(default_factory=dict)  # financing needs by status
    valuations: int = 0
    applications: int = 0  # pledge applications filed
    pledges: int = 0  # of which registered
    park_lines: int = 0
    plans: int = 0


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


# --- which rights a bank takes -----------------------------------------------------------------------

@dataclass(frozen=True)
class Collateral:
    right: Right
    enterprise: Organisation


def pledgeable(today: dt.date, kinds=LOAN_KINDS) -> list[Collateral]:
    """The rights a bank would lend on, in register order: in force with no flag (licence, dispute,
    invalidation request, preservation…), held by one enterprise of the demo region, no live pledge, a
    term well past any loan, no same-day invention to declare and, for a trademark, no other mark of its
    owner on the same goods (which the registry would ask to be pledged with it)."""
    enterprises = {o.uscc: o for o in Organisation.objects.filter(kind="enterprise", is_demo=True)}
    pledged = set(PledgeRight.objects.filter(live=True).values_list("right_id", flat=True))
    horizon = today + dt.timedelta(days=TERM_MARGIN_DAYS)
    rights = list(Right.objects.filter(kind__in=kinds).prefetch_related("events").order_by("pk"))
    states = {r.pk: rights_services.state_of(r, today) for r in rights}
    marks_on_goods: Counter[tuple[str, int | None]] = Counter(
        (o.id_number, r.nice_class) for r in rights if r.kind == "trademark" for o in states[r.pk].owners)
    found = []
    for right in rights:
        state = states[right.pk]
        if len(state.owners) != 1 or state.owners[0].id_type != "uscc" or right.pk in pledged:
            continue
        owner = enterprises.get(state.owners[0].id_number)
        if owner is None or state.flags or not rules.in_force_for_pledge(state) or right.same_day_invention:
            continue
        if state.term_end is not None and state.term_end < horizon:
            continue
        if right.kind == "trademark" and marks_on_goods[(owner.uscc, right.nice_class)] > 1:
            continue
        found.append(Collateral(right=right, enterprise=owner))
    return found


def _size(rng: random.Random) -> Decimal:
    wan = math.exp(rng.gauss(5.8075, 1.8407))
    return Decimal(str(round(min(max(wan, 10), 3000) * 10000, -4)))


def _team(bank: Organisation) -> dict[Role, User] | None:
    team = {role: User.objects.filter(organisation=bank, roles__role=role).order_by("pk").first()
            for role in (Role.BANK_OFFICER, Role.BANK_REVIEWER, Role.BANK_APPROVER)}
    return team if all(team.values()) else None


def _enterprise_user(enterprise: Organisation) -> User | None:
    return User.objects.filter(organisation=enterprise, roles__role=Role.ENTERPRISE_USER,
                               is_active=True).order_by("pk").first()


# --- the book ----------------------------------------------------------------------------------------

@transaction.atomic
def load_loans(*, seed: int, today: dt.date, count: int = 120, agencies=(), report=None) -> Book:
    """``today`` is the business date the services work on (the caller passes ``business_date.today()``)."""
    rng = random.Random(seed * 104729)
    book = Book()
    report = report or (lambda stage, done, total: None)
    banks = [(b, t) for b in Organisation.objects.filter(kind="bank", parent__isnull=True, is_demo=True).order_by("pk")
             if (t := _team(b))]
    if not banks:
        return book
    products = {}
    park = None
    for bank, team in banks:
        products[bank.pk] = workflow.create_product(actor=team[Role.BANK_APPROVER], data=PRODUCT)
        line = workflow.grant_park_line(actor=team[Role.BANK_APPROVER], bank_org_id=bank.pk, park_name=PARK,
                                        limit="500000000", start_date=dt.date(today.year, 1, 1),
                                        end_date=dt.date(today.year, 12, 31))
        park = line.park
        workflow.set_plan(actor=team[Role.BANK_APPROVER], bank_org_id=bank.pk, year=today.year, households=60,
                          amount="400000000")
        book.park_lines += 1
        book.plans += 1
    candidates = pledgeable(today)
    rng.shuffle(candidates)
    # The enterprises with logins publish the needs: two stay open, one is matched to a case in due
    # diligence and one goes on to a contract the enterprise signs (the ``enterprise`` login's firm's where
    # it has a right to offer, and its open need too if it has two); the other rights are lent on.
    first = User.objects.filter(username="enterprise").values_list("organisation_id", flat=True).first()
    with_login = [c for c in candidates if _enterprise_user(c.enterprise) is not None]
    mine = [c for c in with_login if c.enterprise.pk == first]
    pool = [c for c in with_login if c.enterprise.pk != first]
    sign = (mine or pool)[:1]  # the contract the enterprise signs: the ``enterprise`` login's if it can
    rest = mine[1:2] + pool if mine else pool[1:]
    slots = {"open": rest[:OPEN_NEEDS], "matched": rest[OPEN_NEEDS:OPEN_NEEDS + 1], "awaiting_signature": sign}
    offered = [c for items in slots.values() for c in items]
    reserved = {c.right.pk for c in offered}
    lending = [c for c in candidates if c.right.pk not in reserved]
    flights = [(0, stage) for stage in IN_FLIGHT]
    if count >= OTHER_BANKS_FROM:
        flights += [(b, stage) for b in range(1, len(banks)) for stage in IN_FLIGHT_OTHER_BANKS]
    cases, loans = lending[:len(flights)], lending[len(flights):len(flights) + count]

    for i, item in enumerate(loans, start=1):
        bank, team = banks[(i - 1) % len(banks)]
        amount = _size(rng)
        term = 12 if rng.random() < 0.8 else rng.choice((6, 24, 36))
        in_park = park if rng.random() < 0.15 else None
        if i % 3 == 1:  # a current loan through the whole workflow (the first bank's first loan among them)
            case = _open(book, team, products[bank.pk], item, amount, term, in_park, today=today,
                         agency=agencies[i % len(agencies)] if agencies and i % 2 else None, rng=rng)
            _to_stage(book, team, case, "disbursed", schedule="interest_only" if term > 12 else "bullet")
        else:  # an older loan with its repayment history
            _historical(book, rng, team, bank, item, amount, term, today, in_park,
                        overdue=RISKY_BANK_OVERDUE if len(banks) > 2 and bank == banks[-1][0] else OVERDUE)
        book.loans += 1
        report("loans", i, len(loans))

    needs = iter(_needs(offered, rng))
    for items in slots.values():  # the needs in the order of the slots they were published for
        items[:] = [next(needs) for _ in items]
    matched = 0
    for n, ((b, stage), item) in enumerate(zip(flights, cases, strict=False), start=1):
        bank, team = banks[b]
        amount = min(_size(rng), Decimal("5000000"))
        if b == 0 and slots.get(stage):
            need = slots[stage].pop()
            matched += 1
            case = workflow.open_case(actor=team[Role.BANK_OFFICER], product_id=products[bank.pk].pk,
                                      need_id=need.pk, purpose=need.purpose)
            # Valued, attached at once to go on, or left for the officer to pick from the case page.
            number = _valuation(book, team[Role.BANK_OFFICER], case.rights, money.from_fen(case.amount),
                                today=today)
            if stage != "matched":
                workflow.attach_valuation(actor=team[Role.BANK_OFFICER], case_no=case.case_no, valuation_no=number)
        else:
            case = _open(book, team, products[bank.pk], item, amount, 12, None, today=today,
                         agency=agencies[n % len(agencies)] if agencies and n % 2 else None, rng=rng)
        _to_stage(book, team, case, stage)
        report("cases", n, len(cases))
    book.needs = {status: n for status, n in (("open", len(offered) - matched), ("matched", matched)) if n}
    # End of day as the platform would have run it at each past quarter end, then today: the loans' five
    # categories have a history, and the dashboards' NPL ratios at a quarter end are those of that day.
    for end in quarter_ends(today):
        credit.classify_book(end)
    credit.classify_book(today)
    return book


# The bank's internal valuation of a pledged right: three years of income at 10%, twice the loan a year.
# Under the product's caps a patent supports about 1.2 times the loan and a trademark 2.5 times; a utility
# model (15%) supports less than the loan, so its case is approved with a recorded LTV override.
INCOME_TIMES_LOAN = 2
OVERRIDE_REASON = "追加法定代表人个人连带责任保证及应收账款质押，综合担保充足"
APPRAISERS = (("陈思远", "林嘉欣"), ("黄志明", "周晓婷"), ("梁文斌", "何静怡"))


def _valuation(book: Book, officer, refs: list[dict], amount: Decimal, *, today: dt.date, agency=None,
               rng=None) -> str:
    """The bank's valuation of the pledged rights: its internal income model, or an admitted agency's
    appraisal report the bank records (with the report number and the signing appraisers) after checking
    it against its own model (the agency's track record compares the two)."""
    income = str(amount * INCOME_TIMES_LOAN)
    data = {"rights": refs, "method": "income", "inputs": {"income": [income] * 3, "discount_rate": "0.1"}}
    if agency is not None:
        valuation.create_valuation(actor=officer, data=data)
        book.valuations += 1
        value = (amount * Decimal(rng.choice(("2.2", "2.6", "3.0", "3.4")))).quantize(Decimal("1"))
        data = {"rights": refs, "basis": "external", "agency_id": agency.pk, "market_value": str(value),
                "p10": str((value * Decimal("0.8")).quantize(Decimal("1"))),
                "p90": str((value * Decimal("1.2")).quantize(Decimal("1"))),
                "report_no": f"{agency.name[:2]}评报字〔{today.year}〕第{rng.randrange(100, 999)}号",
                "appraisers": list(APPRAISERS[agency.pk % len(APPRAISERS)])}
    record = valuation.create_valuation(actor=officer, data=data)
    book.valuations += 1
    return record.valuation_no


def _open(book: Book, team, product, item: Collateral, amount: Decimal, term: int, park, *, today: dt.date,
          agency=None, rng=None):
    amount = min(max(amount, money.from_fen(product.min_amount)), money.from_fen(product.max_amount))
    refs = [{"kind": item.right.kind, "number": item.right.number}]
    number = _valuation(book, team[Role.BANK_OFFICER], refs, amount, today=today, agency=agency, rng=rng)
    return workflow.open_case(actor=team[Role.BANK_OFFICER], product_id=product.pk, enterprise_id=item.enterprise.pk,
                              amount=str(amount), term_months=term, rights=refs, purpose="研发与生产经营周转",
                              park_id=park.pk if park else None, valuation_no=number)


def _dd(team, case, *, items: int | None = None) -> None:
    for item in list(case.dd_items.order_by("pk"))[:items]:
        workflow.update_dd(actor=team[Role.BANK_OFFICER], case_no=case.case_no, key=item.key,
                           result="ok" if item.prefilled != "issue" else "issue", notes="已核对登记簿与原件")


def _sign(book: Book, case) -> None:
    """The enterprise signs on the platform (its own user) or, off the platform, a registrar confirms its
    pledge from the paper contract; every pledge of the case is then registered."""
    user = _enterprise_user(case.enterprise)
    if user is not None:
        workflow.sign_contract(actor=user, case_no=case.case_no)
    for filing in case.filings.all():
        if confirm_for_parties(filing.application_no) != "registered":
            raise RuntimeError(f"demo pledge {filing.application_no} of {case.case_no} was not registered")
        book.pledges += 1


# Where each in-flight stage leaves the case.
FINAL_STAGE = {"matched": "due_diligence", "returned": "due_diligence", "declined_in_review": "declined",
               "declined_at_approval": "declined", "awaiting_signature": "contracted", "signed": "contracted"}


def _to_stage(book: Book, team, case, stage: str, *, schedule: str = "bullet") -> None:
    """Drive a case from due diligence to ``stage`` the way the bank's staff and the enterprise would."""
    officer, reviewer, approver = team[Role.BANK_OFFICER], team[Role.BANK_REVIEWER], team[Role.BANK_APPROVER]
    if stage == "due_diligence":
        _dd(team, case, items=3)  # three items saved, the rest to do
    elif stage != "matched":  # a case just matched from a need: nothing saved yet
        _dd(team, case)
        workflow.submit_for_review(actor=officer, case_no=case.case_no, risk_grade="B")
        if stage == "returned":
            workflow.review(actor=reviewer, case_no=case.case_no, decision="return",
                            note="请补充近两年财务报表及专利实施情况说明")
        elif stage == "declined_in_review":
            workflow.review(actor=reviewer, case_no=case.case_no, decision="decline",
                            note="企业连续两年经营亏损，第一还款来源不足")
        elif stage != "review":
            workflow.review(actor=reviewer, case_no=case.case_no, decision="pass")
            if stage == "declined_at_approval":
                workflow.approve(actor=approver, case_no=case.case_no, decision="decline",
                                 note="质押专利技术可替代性强，处置变现能力不足")
            elif stage != "approval":
                case.refresh_from_db()
                workflow.approve(actor=approver, case_no=case.case_no, decision="approve",
                                 ltv_override_reason=OVERRIDE_REASON if case.max_loan is not None and
                                 case.amount > case.max_loan else "")
                book.applications += case.filings.count()
                if stage != "awaiting_signature":  # that one waits for the enterprise to sign
                    _sign(book, case)
                if stage == "disbursed":
                    workflow.disburse(actor=officer, case_no=case.case_no, schedule=schedule)
    case.refresh_from_db()
    final = FINAL_STAGE.get(stage, stage)
    if case.stage != final:
        raise RuntimeError(f"demo case {case.case_no} stopped at {case.stage}, not {final}")
    book.cases[final] = book.cases.get(final, 0) + 1


def _needs(items: list[Collateral], rng) -> list:
    """The enterprises with logins publish financing needs offering their rights."""
    needs = []
    for item in items:
        amount = rng.choice((1_000_000, 2_000_000, 3_000_000, 5_000_000))
        needs.append(workflow.publish_need(actor=_enterprise_user(item.enterprise), data={
            "amount": str(amount), "term_months": 12, "purpose": "扩大产能与研发投入",
            "rights": [{"kind": item.right.kind, "number": item.right.number}]}))
    return needs


# About one loan in twelve stops paying at some point; the last (smallest) bank's book is riskier, so the
# regulator's 3-point comparison has a bank to look at.
OVERDUE = 0.08
RISKY_BANK_OVERDUE = 0.35


def _historical(book: Book, rng, team, bank, item: Collateral, amount, term, today, park, *,
                overdue: float = OVERDUE) -> None:
    enterprise, right = item.enterprise, item.right
    # Started long enough ago to have a history, yet not matured: the pledge secures a debt still due.
    days = max(61, min(420, sched.add_months(today, term).toordinal() - today.toordinal() - 30))
    start = today - dt.timedelta(days=rng.randrange(60, days))
    maturity = sched.add_months(start, term)
    app = registry.file_application(actor=team[Role.BANK_OFFICER], data=PledgeFiling.for_loan(
        pledgor=enterprise, pledgee=bank, rights=[RightRef(kind=right.kind, number=right.number)],
        amount_fen=money.to_fen(amount), due_date=maturity, contract_no=f"HIS-{right.pk}", debt_type="流动资金贷款",
        guarantee_scope="主债权及利息", pledgor_address="广东省", pledgee_address="广东省深圳市"))
    book.applications += 1
    status = confirm_for_parties(app.application_no)
    if status != "registered":
        raise RuntimeError(f"demo pledge {app.application_no} was not registered: {status}")
    book.pledges += 1
    app.refresh_from_db()
    loan = credit.book_loan(actor=team[Role.BANK_OFFICER], data={
        "borrower_uscc": enterprise.uscc, "bank_org_id": bank.pk, "amount": str(amount), "annual_rate": "0.0385",
        "start_date": start, "maturity_date": maturity, "schedule": "equal_instalments" if term <= 12 else
        "interest_only", "pledge_registration_no": app.pledge.registration_no,
        "ip_kind": "trademark" if right.kind == "trademark" else "patent", "first_loan": rng.random() < 0.3,
        "inclusive_smb": amount <= 10_000_000 and enterprise.size_class in ("small", "micro"),
        "park_id": park.pk if park else None})
    behaviour = rng.random()
    stop = None if behaviour > overdue else today - dt.timedelta(days=rng.choice((3, 40, 100, 300, 400)))
    for row in loan.schedule.filter(current=True).order_by("due_date"):
        if row.due_date > today or (stop is not None and row.due_date >= stop):
            break
        credit.repay(actor=team[Role.BANK_OFFICER], loan_no=loan.loan_no, date=row.due_date,
                     principal=str(money.from_fen(row.principal)), interest=str(money.from_fen(row.interest)))
    if behaviour > 0.97 and loan.maturity_date > today:
        credit.restructure(actor=team[Role.BANK_REVIEWER], loan_no=loan.loan_no, kind="rate_cut", note="经营困难，下调利率")
