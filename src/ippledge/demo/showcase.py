"""What the demo region shows beyond the register and the book: the appraisal rosters with their
agencies' reports and track record, typical cases, and each bank's overall figures.

Everything goes through the owning app's services, as the people who do it on a real platform: the
operator admits agencies and experts, appraisers file their reports, registrars record the prices
transferred rights fetched, a regulator publishes typical cases, and each bank submits its whole-book
loan and NPL balances for the quarter ends the dashboards compare against (the 3-point tolerance).
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.db import transaction

from ippledge.core.calendar import month_end
from ippledge.core.models import Organisation, User
from ippledge.core.roles import Role
from ippledge.credit.models import Loan
from ippledge.reporting import services as reporting
from ippledge.rights.models import LegalEvent
from ippledge.valuation import services as valuation
from ippledge.valuation.models import AppraisalAgency

from . import words

# (qualification, IPC specialities, IP kinds) of each demo agency, in the planner's order.
AGENCY_PROFILES = (
    ("资产评估机构（财政部门备案）", ["G06F", "H04L", "H01M"], ["patent", "trademark", "software"]),
    ("资产评估机构（财政部门备案）、知识产权评估专业资质", ["A61K", "C12N", "B25J"], ["patent", "copyright"]),
    ("知识产权评估机构（知识产权局推荐名录）", ["G06N", "H01L", "F21V"], ["patent", "trademark", "copyright"]),
)
EXPERT_TITLES = ("教授级高级工程师", "研究员", "副教授", "高级专利代理师", "资产评估师", "高级工程师")
EXPERT_FIELDS = (["G06F", "G06N"], ["H04L", "H04W"], ["A61K", "C07D"], ["H01M", "H02J"], ["B25J", "G05B"],
                 ["F21V", "H05B"], ["C12N"], ["B29C", "B33Y"])
EXPERTS = 8
APPRAISALS_PER_AGENCY = 4


def _user(role: Role, **org) -> User | None:
    return User.objects.filter(roles__role=role, is_active=True, organisation__is_demo=True,
                               **{f"organisation__{k}": v for k, v in org.items()}).order_by("pk").first()


@transaction.atomic
def rosters(*, seed: int, today: dt.date) -> tuple[list[AppraisalAgency], int]:
    """The operator admits the demo's appraisal agencies (each tied to its organisation, so its
    appraisers file in its name) and a panel of technical experts; one expert is suspended, so the
    roster's history shows a decision with its reason."""
    rng = random.Random(seed * 15485863)
    admin = _user(Role.ADMIN, kind="platform_operator")
    if admin is None:
        return [], 0
    agencies = []
    for i, org in enumerate(Organisation.objects.filter(kind="appraisal_agency", is_demo=True).order_by("pk")):
        qualification, ipc, kinds = AGENCY_PROFILES[i % len(AGENCY_PROFILES)]
        agencies.append(valuation.admit_agency(actor=admin, data={
            "name": org.name, "organisation_id": org.pk, "licence_no": f"{org.region_code}{2015 + i}{rng.randrange(1000, 9999)}",
            "qualification": qualification, "specialities_ipc": ipc, "ip_kinds": kinds,
            "regions": [org.region_code[:2] + "0000"]}))
    experts = []
    for i in range(EXPERTS):
        name = rng.choice(words.SURNAMES) + "".join(rng.choice(words.GIVEN) for _ in range(rng.choice((1, 2))))
        experts.append(valuation.add_expert(actor=admin, data={
            "name": name, "title": EXPERT_TITLES[i % len(EXPERT_TITLES)], "fields_ipc": EXPERT_FIELDS[i],
            "ip_kinds": ["patent"] if i % 3 else ["patent", "trademark"], "regions": ["440000"],
            "organisation_id": agencies[i % len(agencies)].organisation_id if agencies and i % 4 == 0 else None}))
    if experts:
        valuation.set_roster_status(actor=admin, expert_id=experts[-1].pk, status="suspended",
                                    reason="年度考核：评审意见未按期提交，暂停一年")
    return agencies, len(experts)


@transaction.atomic
def appraisals(*, seed: int, today: dt.date, agencies: list[AppraisalAgency]) -> tuple[int, int]:
    """Each agency's appraisers file reports on rights that were later transferred, and a registrar
    records the price each transfer fetched: the roster page's track record (deviation from realised
    prices) has figures.  Returns (reports, prices)."""
    rng = random.Random(seed * 32452843)
    registrar = _user(Role.REGISTRAR, kind="ip_office")
    transfers = list(LegalEvent.objects.filter(type="transferred", date__gt=today - dt.timedelta(days=600),
                                               date__lte=today, right__kind__in=("invention", "utility_model",
                                                                                 "trademark"))
                     .select_related("right").order_by("date", "pk"))
    reports = prices = 0
    for i, agency in enumerate(agencies):
        appraiser = _user(Role.APPRAISER, pk=agency.organisation_id)
        if appraiser is None:
            continue
        for event in transfers[i::max(1, len(agencies))][:APPRAISALS_PER_AGENCY]:
            right = event.right
            value = Decimal(rng.randrange(60, 900) * 10_000)
            on = max(event.date - dt.timedelta(days=rng.randrange(60, 240)), right.filing_date or event.date)
            valuation.create_valuation(actor=appraiser, data={
                "rights": [{"kind": right.kind, "number": right.number}], "basis": "external", "agency_id": agency.pk,
                "purpose": "transfer", "market_value": str(value), "p10": str(value * Decimal("0.85")),
                "p90": str(value * Decimal("1.2")), "valuation_date": on.isoformat(),
                "report_no": f"{agency.name[:2]}评报字〔{on.year}〕第{rng.randrange(100, 999)}号",
                "appraisers": [rng.choice(words.SURNAMES) + rng.choice(words.GIVEN) + rng.choice(words.GIVEN)
                               for _ in range(2)]})
            reports += 1
            if registrar is not None:
                price = (value * Decimal(rng.choice(("0.78", "0.9", "0.97", "1.05", "1.16")))).quantize(Decimal("1"))
                valuation.record_realised_price(actor=registrar, right=right, price=str(price), date=event.date,
                                                source="transfer")
                prices += 1
    return reports, prices


CASE_TEXTS = (
    ("首贷户以{kind}质押获得{amount}万元贷款",
     "{region}一家{size}{industry}企业此前从未获得银行贷款。银行依托平台查询质押物法律状态、在线完成质押登记，"
     "以其{kind}质押发放{amount}万元、期限{months}个月的贷款，实现“首贷”突破。"),
    ("{industry}企业以{kind}盘活无形资产",
     "{region}一家{size}{industry}企业以{kind}质押，从办理到放款全程线上办理，获得{amount}万元流动资金贷款，"
     "用于研发投入与扩大生产。"),
    ("知识产权质押助力{size}企业扩产",
     "银行以{kind}为质押物向{region}一家{size}{industry}企业发放{amount}万元贷款，期限{months}个月，"
     "质押登记即时办结，缩短了融资时间。"),
)
KIND_WORDS = {"patent": "专利权", "trademark": "商标专用权", "copyright": "著作权", "bundle": "专利和商标组合"}
INDUSTRY_WORDS = {"C": "制造业", "I": "信息技术", "M": "科技服务", "F": "商贸", "R": "文化创意", "A": "农业",
                  "E": "建筑业"}
SIZE_WORDS = {"micro": "微型", "small": "小型", "medium": "中型", "large": "大型"}


@transaction.atomic
def typical_cases(*, today: dt.date, count: int = 3) -> int:
    """A regulator publishes typical cases from current loans, with the borrowers' consent."""
    regulator = _user(Role.REGULATOR_USER)
    if regulator is None:
        return 0
    loans = list(Loan.objects.filter(bank__is_demo=True, balance__gt=0, classification="normal").select_related("borrower")
                 .order_by("-first_loan", "pk")[:count])
    for i, loan in enumerate(loans):
        title, body = CASE_TEXTS[i % len(CASE_TEXTS)]
        industry = INDUSTRY_WORDS.get((loan.borrower.industry or "")[:1], "科技")
        facts = {"kind": KIND_WORDS.get(loan.ip_kind, "知识产权"), "amount": f"{loan.amount / 1_000_000:,.0f}",
                 "months": (loan.maturity_date.year - loan.start_date.year) * 12 + loan.maturity_date.month
                 - loan.start_date.month, "region": "广东省", "size": SIZE_WORDS.get(loan.borrower.size_class, ""),
                 "industry": industry}
        reporting.publish_case(actor=regulator, loan_no=loan.loan_no, title=title.format(**facts),
                               body=body.format(**facts), consent=True)
    return len(loans)


# Each bank's whole book (亿元) and NPL ratio, roughly as banks of their kind report them.
BANK_BOOKS = ((6800, "0.0121"), (2100, "0.0143"), (1500, "0.0168"), (950, "0.0132"), (120, "0.0192"))
QUARTERS = 4


def quarter_ends(today: dt.date, n: int = QUARTERS) -> list[dt.date]:
    """The last ``n`` quarter ends on or before ``today``, oldest first."""
    year, quarter = today.year, (today.month - 1) // 3  # quarters completed this year
    if quarter == 0:
        year, quarter = year - 1, 4
    ends = []
    while len(ends) < n:
        ends.append(month_end(year, 3 * quarter))
        year, quarter = (year - 1, 4) if quarter == 1 else (year, quarter - 1)
    return sorted(ends)


@transaction.atomic
def overall_figures(*, seed: int, today: dt.date) -> int:
    """Each bank submits its whole-book loan and NPL balances (and the inclusive small/micro segment's)
    for the last quarter ends, so the dashboards can compare its IP-pledge NPL ratio with the overall."""
    rng = random.Random(seed * 49979687)
    count = 0
    banks = Organisation.objects.filter(kind="bank", parent__isnull=True, is_demo=True).order_by("pk")
    for i, bank in enumerate(banks):
        submitter = _user(Role.BANK_APPROVER, pk=bank.pk)
        if submitter is None:
            continue
        yi, ratio = BANK_BOOKS[i % len(BANK_BOOKS)]
        for q, end in enumerate(quarter_ends(today)):
            total = Decimal(yi) * Decimal(1 + 0.015 * q + rng.uniform(-0.005, 0.005)).quantize(Decimal("0.0001")) \
                * 100_000_000
            npl_ratio = Decimal(ratio) + Decimal(rng.randrange(-8, 9)) / 10_000
            inclusive = (total * Decimal(rng.choice(("0.14", "0.17", "0.21")))).quantize(Decimal("1"))
            reporting.submit_overall(
                actor=submitter, bank_org_id=bank.pk, period_end=end.isoformat(),
                total_loan_balance=str(total.quantize(Decimal("1"))),
                npl_balance=str((total * npl_ratio).quantize(Decimal("1"))),
                inclusive_loan_balance=str(inclusive),
                inclusive_npl_balance=str((inclusive * (npl_ratio + Decimal("0.006"))).quantize(Decimal("1"))))
            count += 1
    return count
