"""A deterministic synthetic region for demonstrations: institutions, users, enterprises and IP rights.

Two steps, so that what is generated can be checked before anything is written:

* ``plan(seed=…, today=…)`` is pure: one ``random.Random(seed)`` and the explicit ``today`` decide
  everything (no global random, no wall clock), and it returns plain data (``DemoPlan``).
* ``write(plan)`` records the plan through the real services (``create_organisation``,
  ``create_user``, ``rights.services.create_right`` / ``record_event``) as ``SystemActor("demo")``,
  all in one transaction, so every number, owner and legal event passes the same validation as a
  registrar's input and leaves the same audit trail.

The region is Guangdong: real GB/T 2260 division codes inside the USCCs, fictional institutions
("示范…"), random enterprise brands, valid but synthetic identifiers (USCC, resident ID, patent,
trademark, software and work registration numbers).  Resident ID numbers are random sequences
with correct check characters; they describe no real person.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from stdnum.cn import ric
from stdnum.cn import uscc as stdnum_uscc

from ippledge.core.actors import SystemActor
from ippledge.core.identifiers import USCC_CHARSET, patent_check_char
from ippledge.core.roles import OrgKind, Role
from ippledge.rights.rules import DESIGN_15_YEAR_FROM, add_months, anniversary, day_before_anniversary

from . import words

DEMO_PASSWORD = "ippledge-demo"
DEMO_ACTOR_NAME = "demo"

# (username, role, description) of the logins shown by ``ippledge demo``; all use DEMO_PASSWORD.  A
# login that a demo region has one of is named after its role (``registrar``, ``bank_officer``…).
DEMO_LOGINS: list[tuple[str, str, str]] = [
    (Role.ADMIN.value, Role.ADMIN.value, "平台运营方 管理员"),
    (Role.REGISTRAR.value, Role.REGISTRAR.value, "知识产权登记中心 专利商标"),
    ("registrar_copyright", Role.REGISTRAR.value, "版权登记中心 登记员"),
    (Role.BANK_OFFICER.value, Role.BANK_OFFICER.value, "示范商业银行 客户经理"),
    (Role.BANK_REVIEWER.value, Role.BANK_REVIEWER.value, "示范商业银行 风险审查"),
    (Role.BANK_APPROVER.value, Role.BANK_APPROVER.value, "示范商业银行 审批人"),
    ("enterprise", Role.ENTERPRISE_USER.value, "第一家示范企业"),
    (Role.APPRAISER.value, Role.APPRAISER.value, "示范资产评估 评估师"),
    ("insurer", Role.INSURER_USER.value, "示范财产保险 保险业务"),
    (Role.FUND_MANAGER.value, Role.FUND_MANAGER.value, "风险补偿基金 管理人"),
    ("regulator", Role.REGULATOR_USER.value, "金融监管 示范监管分局"),
    ("exchange", Role.EXCHANGE_USER.value, "知识产权交易中心 挂牌业务"),
]

KIND_SHARES: tuple[tuple[str, float], ...] = (
    ("utility_model", 0.45), ("invention", 0.20), ("trademark", 0.15), ("design", 0.10),
    ("software", 0.06), ("copyright", 0.03), ("ic_layout", 0.005), ("geographical_indication", 0.005),
)
PATENT_TERM_YEARS = {"invention": 20, "utility_model": 10}
GRANT_LAG_DAYS = {"invention": (480, 1460), "utility_model": (150, 420), "design": (110, 330)}
HISTORY_YEARS = 15
# How much each GB/T 4754 section holds of patents and of the other rights (relative weights).
OWNER_INDUSTRY_FACTORS: dict[str, dict[str, float]] = {
    "patent": {"C": 1.0, "M": 1.0, "I": 0.6, "E": 0.5, "A": 0.3, "F": 0.15, "R": 0.1},
    "other": {"I": 1.0, "R": 1.0, "F": 0.8, "C": 0.6, "M": 0.5, "A": 0.5, "E": 0.4},
}  # filing dates spread over this many years before ``today``

ProgressFn = Callable[[str, int, int], None]


# --------------------------------------------------------------------------------------------
# Plain data
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OrgSpec:
    key: str
    name: str
    kind: str
    uscc: str | None
    region_code: str = ""
    size_class: str = ""
    industry: str = ""
    parent: str | None = None


@dataclass(frozen=True)
class UserSpec:
    username: str
    org: str  # OrgSpec.key
    roles: tuple[str, ...]
    display_name: str


@dataclass
class DemoPlan:
    seed: int
    today: dt.date
    organisations: list[OrgSpec]
    users: list[UserSpec]
    # Each right is the ``data`` of ``create_right`` plus an "events" list of ``record_event`` data.
    rights: list[dict]


@dataclass
class DemoSummary:
    organisations: int = 0
    users: int = 0
    rights: int = 0
    events: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    pledges: int = 0  # registered (the register's own and the loans')
    applications: int = 0  # pledge applications filed (a case's waits for the enterprise to sign)
    loans: int = 0
    cases: dict[str, int] = field(default_factory=dict)  # credit cases by stage
    needs: dict[str, int] = field(default_factory=dict)  # financing needs by status
    valuations: int = 0
    agencies: int = 0
    experts: int = 0
    realised_prices: int = 0
    typical_cases: int = 0
    overall_figures: int = 0
    alerts: dict[str, int] = field(default_factory=dict)  # live monitoring alerts by kind
    disposals: dict[str, int] = field(default_factory=dict)  # disposal cases by status
    fee_reliefs: int = 0  # maintenance-fee relief applications
    risk_sharing: dict[str, int] = field(default_factory=dict)  # schemes, enrolments, claims, policies…
    seconds: float = 0.0


# --------------------------------------------------------------------------------------------
# Identifiers (valid, synthetic)
# --------------------------------------------------------------------------------------------

_ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def _org_code_check(body: str) -> str:
    """GB 11714 check character of an 8-character organisation code body."""
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body, _ORG_CODE_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def make_uscc(rng: random.Random, authority: str, region: str, *, new_style: bool) -> str:
    """``authority`` is the registration authority and entity type (91 company, 11 state organ,
    12 public institution, 51 social organisation); the organisation code is GB 11714 checked."""
    if new_style:  # codes issued since the 2015 reform start with MA
        body = "MA" + "".join(rng.choice(USCC_CHARSET[:10] + "BCDEFGHJKLMNPQRTUWXY") for _ in range(6))
    else:
        body = "".join(rng.choice("0123456789") for _ in range(8))
    first17 = authority + region + body + _org_code_check(body)
    return first17 + stdnum_uscc.calc_check_digit(first17)


def make_resident_id(rng: random.Random, region: str, born: dt.date) -> str:
    body = f"{region}{born:%Y%m%d}{rng.randrange(1000):03d}"
    return body + ric.calc_check_digit(body + "0")


def _patent_number(year: int, type_digit: int, serial: int, *, old: bool = False) -> str:
    digits = f"{year % 100:02d}{type_digit}{serial:05d}" if old else f"{year}{type_digit}{serial:07d}"
    return f"{digits}.{patent_check_char(digits)}"


# Rough size of the trademark application-number series at the start of each year (CNIPA).
_TRADEMARK_SERIES = ((1995, 800_000), (2000, 1_500_000), (2005, 4_400_000), (2008, 6_500_000),
                     (2010, 8_000_000), (2012, 10_000_000), (2014, 13_500_000), (2016, 18_500_000),
                     (2018, 28_000_000), (2020, 43_000_000), (2022, 62_000_000), (2024, 75_000_000),
                     (2026, 85_000_000), (2030, 99_000_000))


def _trademark_series_at(year: float) -> int:
    points = _TRADEMARK_SERIES
    if year <= points[0][0]:
        return points[0][1]
    for (y0, n0), (y1, n1) in zip(points, points[1:], strict=False):
        if year <= y1:
            return int(n0 + (n1 - n0) * (year - y0) / (y1 - y0))
    return points[-1][1]


def _software_serial_max(year: int) -> int:
    return 200_000 if year <= 2014 else 700_000 if year <= 2017 else 1_500_000 if year <= 2019 else 2_500_000


# --------------------------------------------------------------------------------------------
# The planner
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Party:
    """An owner as the register records it, with what the titles are made of."""

    name: str
    id_type: str
    id_number: str
    address: str
    brand: str = ""
    industry: str = ""
    place: str = ""

    def owner(self) -> dict:
        return {"name": self.name, "id_type": self.id_type, "id_number": self.id_number,
                "country": "CN", "domicile_in_china": True, "address": self.address}


class _Planner:
    def __init__(self, seed: int, today: dt.date):
        self.rng = random.Random(seed)
        self.seed = seed
        self.today = today
        self.orgs: list[OrgSpec] = []
        self.users: list[UserSpec] = []
        self.usccs: set[str] = set()
        self.names: set[str] = set()
        self.numbers: set[tuple[str, str]] = set()
        self.enterprises: list[_Party] = []
        self.associations: list[_Party] = []
        self.persons: list[_Party] = []
        self._owner_cum: dict[str, list[float]] = {}
        # Scenarios every demo shows, however small: taken by the first patents planned.
        self.forced = ["grace", "lapsed", "expired", "invalidation_pending", "invalidation_decided",
                       "transfer", "licence"]

    # ---- small helpers ----------------------------------------------------------------------

    def _days_ago(self, lo: int, hi: int, skew: float = 1.5) -> dt.date:
        """A date ``lo``..``hi`` days before today, skewed towards recent (filings grew fast)."""
        hi = max(hi, lo)
        return self.today - dt.timedelta(days=lo + int((hi - lo) * self.rng.random() ** skew))

    def _between(self, start: dt.date, end: dt.date) -> dt.date:
        if end <= start:
            return start
        return start + dt.timedelta(days=self.rng.randint(0, (end - start).days))

    def _weighted(self, pairs):
        values, weights = zip(*pairs, strict=True)
        return self.rng.choices(values, weights=weights)[0]

    def _uscc(self, authority: str, region: str, *, new_style: bool) -> str:
        while True:
            code = make_uscc(self.rng, authority, region, new_style=new_style)
            if code not in self.usccs:
                self.usccs.add(code)
                return code

    def _org(self, key: str, name: str, kind: str, authority: str | None = "91", region: str = "440300",
             **extra) -> OrgSpec:
        uscc = self._uscc(authority, region, new_style=self.rng.random() < 0.4) if authority else None
        spec = OrgSpec(key=key, name=name, kind=kind, uscc=uscc, region_code=region, **extra)
        self.orgs.append(spec)
        self.names.add(name)
        return spec

    def _user(self, username: str, org: str, role: str, display_name: str) -> None:
        self.users.append(UserSpec(username=username, org=org, roles=(role,), display_name=display_name))

    # ---- institutions -----------------------------------------------------------------------

    def institutions(self) -> None:
        o = self._org
        o("operator", "示范区知识产权质押融资服务平台（运营方）", OrgKind.PLATFORM_OPERATOR, None)
        self._user(Role.ADMIN.value, "operator", Role.ADMIN, "平台管理员")
        o("ip_office", "示范区知识产权登记中心（专利商标）", OrgKind.IP_OFFICE, "12", "440300")
        self._user(Role.REGISTRAR.value, "ip_office", Role.REGISTRAR, "专利商标登记员")
        o("copyright_office", "示范区版权登记中心", OrgKind.COPYRIGHT_OFFICE, "12", "440300")
        self._user("registrar_copyright", "copyright_office", Role.REGISTRAR, "版权登记员")
        o("regulator", "国家金融监督管理总局示范监管分局", OrgKind.REGULATOR, "11", "440300")
        self._user("regulator", "regulator", Role.REGULATOR_USER, "监管用户")
        banks = ("示范商业银行股份有限公司", "南粤示范科技银行股份有限公司", "珠江示范农村商业银行股份有限公司",
                 "岭南示范城市商业银行股份有限公司", "湾区示范村镇银行股份有限公司")
        regions = ("440300", "440100", "440600", "441900", "440400")
        for i, (name, region) in enumerate(zip(banks, regions, strict=True), start=1):
            key = f"bank{i}"
            o(key, name, OrgKind.BANK, "91", region)
            prefix = "bank" if i == 1 else f"bank{i}"
            short = name.removesuffix("股份有限公司")
            for role, label in ((Role.BANK_OFFICER, "客户经理"), (Role.BANK_REVIEWER, "风险审查"),
                                (Role.BANK_APPROVER, "审批人")):
                self._user(f"{prefix}_{role.value.removeprefix('bank_')}", key, role, f"{short} {label}")
        o("bank1_branch", "示范商业银行股份有限公司深圳南山支行", OrgKind.BANK, "91", "440305", parent="bank1")
        self._user("bank_branch_officer", "bank1_branch", Role.BANK_OFFICER, "示范商业银行南山支行 客户经理")
        for i, name in enumerate(("示范财产保险股份有限公司", "湾区示范保险股份有限公司"), start=1):
            o(f"insurer{i}", name, OrgKind.INSURER, "91", "440300")
            self._user("insurer" if i == 1 else f"insurer{i}", f"insurer{i}", Role.INSURER_USER,
                       f"{name.removesuffix('股份有限公司')} 保险业务")
        o("guarantor", "示范融资担保有限公司", OrgKind.GUARANTOR, "91", "440300")
        self._user("guarantor", "guarantor", Role.INSURER_USER, "示范融资担保 担保业务")
        o("risk_fund", "示范区知识产权质押融资风险补偿基金", OrgKind.RISK_FUND, "12", "440300")
        self._user(Role.FUND_MANAGER.value, "risk_fund", Role.FUND_MANAGER, "风险补偿基金管理人")
        # The fund's second manager confirms the payments the first enters (maker-checker).
        self._user("fund_checker", "risk_fund", Role.FUND_MANAGER, "风险补偿基金复核人")
        agencies = ("示范资产评估有限公司", "华岭示范资产评估事务所（特殊普通合伙）", "知衡示范知识产权评估有限公司")
        for i, name in enumerate(agencies, start=1):
            o(f"agency{i}", name, OrgKind.APPRAISAL_AGENCY, "91", ("440300", "440100", "440300")[i - 1])
            self._user(Role.APPRAISER.value if i == 1 else f"{Role.APPRAISER.value}{i}", f"agency{i}", Role.APPRAISER, f"{name} 评估师")
        o("exchange", "示范知识产权交易中心有限公司", OrgKind.IP_EXCHANGE, "91", "440300")
        self._user("exchange", "exchange", Role.EXCHANGE_USER, "示范知识产权交易中心 挂牌业务")

    # ---- enterprises, associations, persons ---------------------------------------------------

    def enterprises_(self, count: int, users: int) -> None:
        rng = self.rng
        divisions = [(d[:3], d[3]) for d in words.DIVISIONS]
        industries = [(k, v[0]) for k, v in words.INDUSTRIES.items()]
        for i in range(count):
            while True:
                region, city, district = self._weighted(divisions)
                industry = self._weighted(industries)
                brand = rng.choice(words.BRAND_FIRST) + rng.choice(words.BRAND_SECOND)
                if brand[0] == brand[1]:
                    continue
                size = self._weighted(words.SIZE_CLASSES)
                form = "股份有限公司" if size in ("medium", "large") and rng.random() < 0.4 else "有限公司"
                name = f"{city}{brand}{rng.choice(words.INDUSTRIES[industry][1])}{form}"
                if name not in self.names:
                    break
            key = f"ent{i + 1:04d}"
            spec = self._org(key, name, OrgKind.ENTERPRISE, "91", region, size_class=size, industry=industry)
            self.enterprises.append(_Party(name=name, id_type="uscc", id_number=spec.uscc or "",
                                           address=f"广东省{city}{district}", brand=brand, industry=industry,
                                           place=(district or city).removesuffix("区").removesuffix("市")))
            if i < users:
                self._user("enterprise" if i == 0 else f"enterprise{i + 1:02d}", key, Role.ENTERPRISE_USER,
                           f"{brand} 企业用户")
        # Who holds how many rights: larger firms more, manufacturers and labs most of the patents,
        # software and media firms most of the copyrights; the first enterprise (the demo login) is
        # among the bigger holders.
        size_factor = {"micro": 1.0, "small": 2.5, "medium": 6.0, "large": 15.0}
        orgs = {o.key: o for o in self.orgs}
        base = [size_factor[orgs[f"ent{i + 1:04d}"].size_class] * rng.lognormvariate(0, 0.8) for i in range(count)]
        for pool, factors in OWNER_INDUSTRY_FACTORS.items():
            weights = [b * factors[e.industry] for b, e in zip(base, self.enterprises, strict=True)]
            weights[0] = sorted(weights)[-min(10, len(weights))]
            self._owner_cum[pool] = list(itertools.accumulate(weights))

    def associations_(self, count: int) -> None:
        for i in range(count):
            region, city, district, _w = self.rng.choice(words.DIVISIONS[:20])
            product = words.GI_PRODUCTS[i % len(words.GI_PRODUCTS)]
            name = f"{city}{(district or '').removesuffix('区')}{product}产业协会"
            spec = self._org(f"assoc{i + 1}", name, OrgKind.ENTERPRISE, "51", region, size_class="micro",
                             industry="A")
            self.associations.append(_Party(name=name, id_type="uscc", id_number=spec.uscc or "",
                                            address=f"广东省{city}{district}", industry="A",
                                            place=(district or city).removesuffix("区").removesuffix("市")))

    def persons_(self, count: int) -> None:
        rng = self.rng
        for _ in range(count):
            region, city, district, _w = rng.choice(words.DIVISIONS)
            name = rng.choice(words.SURNAMES) + "".join(rng.choice(words.GIVEN) for _ in range(rng.choice((1, 2))))
            born = dt.date(1960, 1, 1) + dt.timedelta(days=rng.randint(0, 35 * 365))
            self.persons.append(_Party(name=name, id_type="resident_id",
                                       id_number=make_resident_id(rng, region, born),
                                       address=f"广东省{city}{district}", industry="C",
                                       brand=rng.choice(words.BRAND_FIRST) + rng.choice(words.BRAND_SECOND)))

    def _enterprise(self, pool: str = "other") -> _Party:
        return self.rng.choices(self.enterprises, cum_weights=self._owner_cum[pool])[0]

    def _owners(self, pool: str = "other", person_share: float = 0.0) -> list[_Party]:
        if self.persons and self.rng.random() < person_share:
            return [self.rng.choice(self.persons)]
        first = self._enterprise(pool)
        if len(self.enterprises) > 1 and self.rng.random() < 0.05:  # co-owned
            while (second := self.rng.choice(self.enterprises)) is first:
                pass
            return [first, second]
        return [first]

    def _other_enterprise(self, current: list[_Party]) -> _Party:
        while True:
            candidate = self.rng.choice(self.enterprises)
            if candidate not in current or len(self.enterprises) <= len(current):
                return candidate

    # ---- rights -----------------------------------------------------------------------------

    def kinds(self, total: int) -> list[str]:
        """``total`` kinds in the shares of KIND_SHARES (largest remainder), each kind at least once."""
        if total < len(KIND_SHARES):
            kinds = [k for k, _s in KIND_SHARES[:total]]
            self.rng.shuffle(kinds)
            return kinds
        spare = total - len(KIND_SHARES)
        quotas = {k: spare * s for k, s in KIND_SHARES}
        counts = {k: 1 + int(q) for k, q in quotas.items()}
        by_remainder = sorted(KIND_SHARES, key=lambda ks: (-(quotas[ks[0]] % 1), ks[0]))
        for k, _s in by_remainder[:total - sum(counts.values())]:
            counts[k] += 1
        kinds = [k for k, _s in KIND_SHARES for _ in range(counts[k])]
        self.rng.shuffle(kinds)
        return kinds

    def right(self, kind: str) -> dict:
        if kind in ("invention", "utility_model", "design"):
            return self._patent(kind)
        return {"trademark": self._trademark, "software": self._software, "copyright": self._work,
                "ic_layout": self._ic_layout, "geographical_indication": self._gi}[kind]()

    def _unique(self, kind: str, make: Callable[[], str]) -> str:
        while True:
            number = make()
            if (kind, number) not in self.numbers:
                self.numbers.add((kind, number))
                return number

    @staticmethod
    def _event(etype: str, date: dt.date, code: str = "", **payload) -> dict:
        event = {"type": etype, "date": date, **payload}
        if code:
            event["official_code"] = code
        return event

    def _flag_events(self, events: list[dict], start: dt.date, end: dt.date, owners: list[_Party], *,
                     patent: bool, rates: dict[str, float], force: str = "") -> None:
        """Transfers, licences, preservation and suspension between ``start`` and ``end``."""
        rng, code = self.rng, (lambda c: c if patent else "")
        if (end - start).days < 60:
            return
        if force == "transfer" or rng.random() < rates.get("transfer", 0):
            new = self._other_enterprise(owners)
            events.append(self._event("transferred", self._between(start, end), code("TR01"),
                                      new_owners=[new.owner()], note="权利转让"))
        if force == "licence" or rng.random() < rates.get("licence", 0):
            day = self._between(start, end - dt.timedelta(days=30))
            events.append(self._event("licensed", day, code("EE01"),
                                      note=rng.choice(("普通许可", "普通许可", "排他许可", "独占许可"))))
            if rng.random() < 0.3 and (end - day).days > 90:
                events.append(self._event("licence_cancelled", self._between(day + dt.timedelta(days=60), end),
                                          code("EC01"), note="许可合同到期"))
        if rng.random() < rates.get("preserved", 0):
            day = self._between(start, end - dt.timedelta(days=30))
            events.append(self._event("preserved", day, code("PP01"), note="人民法院财产保全"))
            if rng.random() < 0.4 and (end - day).days > 120:
                events.append(self._event("preservation_lifted", self._between(day + dt.timedelta(days=90), end),
                                          code("PD01"), note="解除保全"))
        if rng.random() < rates.get("suspended", 0):
            day = self._between(start, end - dt.timedelta(days=30))
            events.append(self._event("suspended", day, note="权属纠纷，中止有关程序"))
            if rng.random() < 0.5 and (end - day).days > 120:
                events.append(self._event("suspension_lifted", self._between(day + dt.timedelta(days=90), end),
                                          note="纠纷已结，恢复有关程序"))

    def _finish(self, data: dict, events: list[dict]) -> dict:
        events = sorted((e for e in events if e["date"] <= self.today), key=lambda e: e["date"])
        cut = next((e["date"] for e in events if e["type"] == "invalidation_decided"
                    and e.get("outcome") == "invalid"), None)
        if cut is not None:  # nothing happens to a patent after it was declared wholly invalid
            events = [e for e in events if e["date"] <= cut]
        data["events"] = events
        return data

    # patents ---------------------------------------------------------------------------------

    def _patent_title(self, kind: str, area: dict[str, tuple[str, ...]]) -> str:
        rng = self.rng
        if kind == "invention":
            if area["materials"] and rng.random() < 0.6:
                return f"一种{rng.choice(area['materials'])}{rng.choice(('及其制备方法', '的制备方法', '及其应用'))}"
            return f"一种基于{rng.choice(area['tech'])}的{rng.choice(area['objects'])}" \
                   f"{rng.choice(words.INVENTION_METHOD)}"
        if kind == "utility_model":
            return f"一种{rng.choice(words.UTILITY_ADJ)}{rng.choice(area['utility'])}"
        product = rng.choice(area["design"])
        return product if "图形用户界面" in product else f"{product}{rng.choice(words.DESIGN_VARIANT)}"

    def _patent_scenario(self, kind: str) -> str:
        if self.forced:
            return self.forced.pop(0)
        roll = self.rng.random()
        if kind == "invention":
            return ("old" if roll < 0.01 else "pending" if roll < 0.07 else "grace" if roll < 0.11
                    else "lapsed" if roll < 0.18 else "normal")
        return "grace" if roll < 0.04 else "lapsed" if roll < 0.14 else "normal"

    @staticmethod
    def _term_end(kind: str, filing: dt.date) -> dt.date:
        years = PATENT_TERM_YEARS.get(kind) or (15 if filing >= DESIGN_15_YEAR_FROM else 10)
        return day_before_anniversary(filing, years)

    def _patent(self, kind: str) -> dict:
        rng, today = self.rng, self.today
        scenario = self._patent_scenario(kind)
        if scenario == "expired" and kind == "invention":
            scenario = "old"
        lag_lo, lag_hi = GRANT_LAG_DAYS[kind]
        lag = rng.randint(lag_lo, lag_hi)
        grant: dt.date | None
        paid: dt.date | None = None
        events: list[dict] = []
        lapse: tuple[dt.date, dt.date] | None = None  # (due date not paid, termination recorded)
        old = False
        if scenario == "pending":
            filing, grant = self._days_ago(90, 900, 1.0), None
        elif scenario == "old":
            filing = dt.date(1996, 1, 1) + dt.timedelta(days=rng.randint(0, (dt.date(2003, 9, 30)
                                                                              - dt.date(1996, 1, 1)).days))
            grant, old = filing + dt.timedelta(days=lag), True
        elif scenario == "expired":
            filing = self._days_ago(10 * 366 + 30, HISTORY_YEARS * 365, 1.0)
            grant = filing + dt.timedelta(days=lag)
        elif scenario == "grace":
            years = rng.randint(5, 15) if kind == "invention" else rng.randint(2, 9)
            due_guess = today - dt.timedelta(days=rng.randint(8, 170))
            filing = anniversary(due_guess, -years)
            grant = filing + dt.timedelta(days=lag)
        elif scenario == "lapsed":
            filing = self._days_ago(lag + 3 * 365, HISTORY_YEARS * 365, 1.0)
            grant = filing + dt.timedelta(days=lag)
        else:  # forced scenarios need a patent that has lived a while
            filing = self._days_ago(lag + (7 if scenario == "normal" else 500), HISTORY_YEARS * 365)
            grant = filing + dt.timedelta(days=lag)
        if grant is not None and grant > today:  # cannot happen by construction; keep it safe
            grant = None
        term_end = self._term_end(kind, filing)
        if grant is not None:
            # k: the first anniversary after today; the annuity year before it is the current one.
            k = max(1, today.year - filing.year - 1)
            while anniversary(filing, k) <= today:
                k += 1
            current = min(term_end, anniversary(filing, k) - dt.timedelta(days=1))
            if scenario == "grace":
                due = anniversary(filing, k - 1)
                if due > grant and due <= term_end and add_months(due, 6) >= today:
                    paid = due - dt.timedelta(days=1)
                else:
                    scenario, paid = "normal", current
            elif scenario == "lapsed":
                first = int((grant - filing).days / 365.25) + 1
                options = [j for j in range(first, k) if anniversary(filing, j) > grant
                           and anniversary(filing, j) <= term_end
                           and add_months(anniversary(filing, j), 6) + dt.timedelta(days=30) < today]
                if options:
                    j = rng.choice(options)
                    due = anniversary(filing, j)
                    paid = due - dt.timedelta(days=1)
                    recorded = min(today, add_months(due, 6) + dt.timedelta(days=rng.randint(20, 120)))
                    lapse = (due, recorded)
                    events.append(self._event("terminated_unpaid_annuity", recorded, "CF01",
                                              note="未缴年费专利权终止"))
                else:
                    scenario, paid = "normal", current
            else:
                paid = current
        owners = self._owners("patent", person_share=0.015 if kind == "utility_model" else 0.005)
        facts_paid = paid
        if paid is not None and lapse is None and paid == day_before_anniversary(filing, k) and k >= 2:
            # The current year's annuity as a payment event (paid before its due date, or late in grace).
            due = anniversary(filing, k - 1)
            if scenario == "grace" or due <= grant + dt.timedelta(days=30):
                pass  # the annuity of the year of grant is paid with the grant fees
            elif rng.random() < 0.06 and (today - due).days > 12:
                day = due + dt.timedelta(days=rng.randint(5, min(170, (today - due).days - 1)))
                facts_paid = due - dt.timedelta(days=1)
                events.append(self._event("annuity_paid", day, paid_through=paid, note="滞纳期内补缴年费及滞纳金"))
            elif rng.random() < 0.75 and due - dt.timedelta(days=90) > grant:
                facts_paid = due - dt.timedelta(days=1)
                events.append(self._event("annuity_paid", due - dt.timedelta(days=rng.randint(5, 80)),
                                          paid_through=paid))
        # Things that happen to granted patents while they live.
        if grant is not None:
            end = min(today, term_end, lapse[1] if lapse else today, paid if scenario == "grace" else today)
            start = grant + dt.timedelta(days=20)
            force = scenario if scenario in ("invalidation_pending", "invalidation_decided") else ""
            inval_rate = 0.08 if kind == "invention" else 0.04
            if (force or rng.random() < inval_rate) and (end - start).days > 40:
                requested = self._between(start, end - dt.timedelta(days=30))
                events.append(self._event("invalidation_requested", requested, note="无效宣告请求"))
                decided = requested + dt.timedelta(days=rng.randint(150, 420))
                decide = force == "invalidation_decided" or (force != "invalidation_pending" and rng.random() < 0.65)
                if decide and decided > end and force == "invalidation_decided":
                    decided = self._between(requested + dt.timedelta(days=1), end)
                if decide and decided <= end:
                    outcome = self._weighted((("maintained", 45), ("partly_invalid", 30), ("invalid", 25)))
                    code = {"invalid": "IW01", "partly_invalid": "IP01"}.get(outcome, "")
                    events.append(self._event("invalidation_decided", decided, code, outcome=outcome,
                                              note="无效宣告审查决定"))
            self._flag_events(events, start, end, owners, patent=True, force=scenario,
                              rates={"transfer": 0.06, "licence": 0.05, "preserved": 0.015, "suspended": 0.01})
        type_digit = {"invention": 1, "utility_model": 2, "design": 3}[kind]
        if kind in ("invention", "utility_model") and not old and rng.random() < (0.05 if kind == "invention"
                                                                                   else 0.01):
            type_digit += 7  # PCT national phase: 8 invention, 9 utility model
        number = self._unique(kind, lambda: _patent_number(
            filing.year, type_digit, rng.randint(1000, 99_999) if old else rng.randint(10_000, 3_600_000), old=old))
        area = words.AREAS[self._weighted(words.INDUSTRY_AREAS.get(owners[0].industry, (("machinery", 1),)))]
        ipc = rng.sample(area["ipc"], rng.choice((1, 1, 2, 3))) if kind != "design" else []
        data = {
            "kind": kind, "number": number, "title": self._patent_title(kind, area),
            "owners": [o.owner() for o in owners], "filing_date": filing, "grant_date": grant,
            "annuity_paid_through": facts_paid, "ipc": ipc,
            "claims_count": None if kind == "design" else
            rng.randint(5, 20) if kind == "invention" else rng.randint(2, 10),
            "family_size": (1 + int(rng.expovariate(0.8))) if kind == "invention" else 1,
            "citations": int(rng.expovariate(0.25 if kind == "invention" else 0.6)),
            "same_day_invention": kind == "utility_model" and rng.random() < 0.03,
        }
        if kind == "invention" and grant is not None and (grant - filing).days > 4 * 365 \
                and filing >= dt.date(2021, 6, 1):
            data["term_adjustment_days"] = rng.randint(30, 400)  # 专利法 Art. 42 term adjustment
        return self._finish(data, events)

    # trademarks ------------------------------------------------------------------------------

    def _trademark(self) -> dict:
        rng, today = self.rng, self.today
        owners = self._owners()
        events: list[dict] = []
        forced_expiry = "trademark_expired" in self.forced
        if forced_expiry:
            self.forced.remove("trademark_expired")
        if not forced_expiry and rng.random() < 0.03:  # still in examination
            filing, registration = self._days_ago(60, 330, 1.0), None
        else:
            if forced_expiry:
                registration = self._days_ago(10 * 366 + 200, 12 * 365, 1.0)
            else:
                registration = self._days_ago(30, 17 * 365, 1.2)
            filing = registration - dt.timedelta(days=rng.randint(270, 700))
        end = today
        if registration is not None:
            expiry = day_before_anniversary(registration, 10)
            window_open = anniversary(registration, 10) - dt.timedelta(days=364)
            renew = not forced_expiry and window_open <= today and \
                rng.random() < (0.7 if expiry < today else 0.35)
            if renew:
                latest = min(today, add_months(expiry, 6))
                day = self._between(window_open, min(latest, expiry)) if rng.random() < 0.85 \
                    else self._between(min(latest, expiry), latest)
                events.append(self._event("renewed", day, renewed_to=day_before_anniversary(registration, 20),
                                          note="续展注册"))
            elif expiry < today:
                end = expiry
            start = registration + dt.timedelta(days=20)
            if rng.random() < 0.01 and (end - start).days > 400:
                end = self._between(start + dt.timedelta(days=3 * 365), end) \
                    if (end - start).days > 3 * 365 + 30 else end
                events.append(self._event("cancelled", end, note="连续三年不使用，注册商标被撤销"))
                end -= dt.timedelta(days=1)
            self._flag_events(events, start, end, owners, patent=False,
                              rates={"transfer": 0.04, "licence": 0.05, "preserved": 0.01})
        year = filing.year + (filing.timetuple().tm_yday / 366)
        number = self._unique("trademark", lambda: str(rng.randint(
            max(1_000_000, _trademark_series_at(year - 0.3)), max(1_000_001, _trademark_series_at(year + 0.3)))))
        nice = self._weighted(words.NICE_CLASSES)
        groups = sorted({f"{nice:02d}{rng.randint(1, 12):02d}" for _ in range(rng.randint(1, 4))})
        brand = owners[0].brand or owners[0].name[:2]
        mark = rng.choice((brand, brand, f"{brand}及图", f"{brand}智造", f"{brand}优选"))
        data = {"kind": "trademark", "number": number, "mark_text": mark, "owners": [o.owner() for o in owners],
                "filing_date": filing, "registration_date": registration, "nice_class": nice,
                "similar_groups": groups}
        return self._finish(data, events)

    # copyright, software, layout designs, geographical indications -------------------------------

    def _software(self) -> dict:
        rng, today = self.rng, self.today
        owners = self._owners()
        completion = self._days_ago(90, 12 * 365, 1.3)
        published = completion + dt.timedelta(days=rng.randint(0, 90)) if rng.random() < 0.85 else None
        if published is not None and published > today:
            published = None
        registration = min(today, max(completion, published or completion) + dt.timedelta(days=rng.randint(30, 240)))
        filing = max(completion, registration - dt.timedelta(days=rng.randint(20, 60)))
        number = self._unique("software", lambda: f"{registration.year}SR"
                                                  f"{rng.randint(1, _software_serial_max(registration.year)):07d}")
        owner = owners[0]
        title = f"{owner.brand}{rng.choice(words.SOFTWARE_MODULE)}{rng.choice(('系统', '系统', '平台', '软件'))}" \
                f"V{rng.choice((1, 1, 1, 2, 2, 3))}.{rng.choice((0, 0, 0, 1, 2, 5))}"
        events: list[dict] = []
        self._flag_events(events, registration + dt.timedelta(days=20), today, owners, patent=False,
                          rates={"transfer": 0.03, "licence": 0.04, "preserved": 0.01})
        data = {"kind": "software", "number": number, "title": title, "owners": [o.owner() for o in owners],
                "filing_date": filing, "registration_date": registration, "completion_date": completion,
                "first_publication_date": published, "author_kind": "legal_person"}
        return self._finish(data, events)

    def _work(self) -> dict:
        rng, today = self.rng, self.today
        natural = rng.random() < 0.3
        owners = [rng.choice(self.persons)] if natural and self.persons and rng.random() < 0.6 else self._owners()
        category, pattern = rng.choice(words.WORK_TITLES)
        completion = self._days_ago(60, 12 * 365, 1.3)
        published = completion + dt.timedelta(days=rng.randint(0, 120)) if rng.random() < 0.7 else None
        if published is not None and published > today:
            published = None
        registration = min(today, completion + dt.timedelta(days=rng.randint(30, 400)))
        number = self._unique("copyright", lambda: f"国作登字-{registration.year}-{category}-"
                                                   f"{rng.randint(1, 2_500_000):08d}")
        death = None
        if natural and rng.random() < 0.03:
            death = self._between(completion, today)
        title = pattern.format(brand=owners[0].brand or owners[0].name[:2], product=rng.choice(words.PRODUCTS))
        events: list[dict] = []
        self._flag_events(events, registration + dt.timedelta(days=20), today, owners, patent=False,
                          rates={"transfer": 0.03, "licence": 0.03, "preserved": 0.005})
        data = {"kind": "copyright", "number": number, "title": title, "owners": [o.owner() for o in owners],
                "registration_date": registration, "completion_date": completion,
                "first_publication_date": published,
                "author_kind": "natural_person" if natural else "legal_person", "author_death_date": death}
        return self._finish(data, events)

    def _ic_layout(self) -> dict:
        rng, today = self.rng, self.today
        owners = self._owners("patent")
        filing = self._days_ago(120, 12 * 365, 1.2)
        completion = filing - dt.timedelta(days=rng.randint(30, 400))
        used = completion + dt.timedelta(days=rng.randint(0, (filing - completion).days)) \
            if rng.random() < 0.5 else None
        registration = filing + dt.timedelta(days=rng.randint(90, 270))
        if registration > today:
            registration = None
        yy = filing.year % 100

        def make() -> str:
            digits = f"{yy:02d}5{rng.randint(0, 99_999):05d}"
            return f"BS.{digits}{patent_check_char(digits)}"

        number = self._unique("ic_layout", make)
        title = f"{owners[0].brand}{rng.choice(words.IC_CHIPS)}"
        events: list[dict] = []
        if registration is not None:
            self._flag_events(events, registration + dt.timedelta(days=20), today, owners, patent=False,
                              rates={"transfer": 0.05, "licence": 0.05})
        data = {"kind": "ic_layout", "number": number, "title": title, "owners": [o.owner() for o in owners],
                "filing_date": filing, "registration_date": registration, "completion_date": completion,
                "first_publication_date": used}
        return self._finish(data, events)

    def _gi(self) -> dict:
        rng = self.rng
        holder = rng.choice(self.associations) if self.associations else self._enterprise()
        registration = self._days_ago(365, HISTORY_YEARS * 365, 1.0)
        filing = registration - dt.timedelta(days=rng.randint(180, 540))
        number = self._unique("geographical_indication", lambda: f"GI-{registration.year}-{rng.randint(1, 2500):04d}")
        for attempt in range(1000):
            title = f"{rng.choice(words.DIVISIONS)[2].removesuffix('区') or holder.place}" \
                    f"{rng.choice(words.GI_PRODUCTS)}{'' if attempt < 50 else attempt}"
            if ("gi-title", title) not in self.numbers:
                self.numbers.add(("gi-title", title))
                break
        data = {"kind": "geographical_indication", "number": number, "title": title,
                "owners": [holder.owner()], "filing_date": filing, "registration_date": registration}
        return self._finish(data, [])


def plan(*, seed: int = 2026, today: dt.date, enterprises: int = 1000, rights: int = 5000,
         enterprise_users: int = 20) -> DemoPlan:
    """The whole demo region as plain data.  Same arguments, same plan."""
    if enterprises < 2:
        raise ValueError("The demo needs at least two enterprises.")
    planner = _Planner(seed, today)
    planner.institutions()
    planner.enterprises_(enterprises, min(enterprise_users, enterprises))
    planner.associations_(min(3, max(1, enterprises // 300)))
    planner.persons_(max(5, enterprises // 25))
    planner.forced.append("trademark_expired")
    planned = [planner.right(kind) for kind in planner.kinds(rights)]
    return DemoPlan(seed=seed, today=today, organisations=planner.orgs, users=planner.users, rights=planned)


# --------------------------------------------------------------------------------------------
# Writing through the services
# --------------------------------------------------------------------------------------------

def demo_loaded() -> bool:
    from ippledge.core.models import Organisation

    return Organisation.objects.filter(is_demo=True).exists()


def _check_free(demo: DemoPlan) -> None:
    from django.utils.translation import gettext as _

    from ippledge.core.errors import Conflict
    from ippledge.core.models import Organisation, User

    taken = sorted(User.objects.filter(username__in=[u.username for u in demo.users])
                   .values_list("username", flat=True))
    usccs = [o.uscc for o in demo.organisations if o.uscc]
    clash = Organisation.objects.filter(uscc__in=usccs).count()
    if taken or clash:
        raise Conflict(_("The demo region cannot be loaded into this database: %s already exist.")
                       % ", ".join(taken + ([f"{clash} USCC"] if clash else [])), code="demo_conflict")


def write(demo: DemoPlan, *, progress: ProgressFn | None = None) -> DemoSummary:
    """Record the plan through the services, in one transaction."""
    from django.db import transaction

    from ippledge.core import services as core_services
    from ippledge.core.models import Organisation
    from ippledge.rights import services as rights_services

    actor = SystemActor(DEMO_ACTOR_NAME)
    report = progress or (lambda stage, done, total: None)
    started = time.perf_counter()
    summary = DemoSummary()
    with transaction.atomic():
        _check_free(demo)
        ids: dict[str, int] = {}
        made: dict[str, Organisation] = {}
        total = len(demo.organisations)
        for i, spec in enumerate(demo.organisations, start=1):
            org = core_services.create_organisation(
                actor=actor, name=spec.name, kind=spec.kind, uscc=spec.uscc, region_code=spec.region_code,
                size_class=spec.size_class, industry=spec.industry,
                parent=made[spec.parent] if spec.parent else None, is_demo=True)
            made[spec.key], ids[spec.key] = org, org.pk
            if i % 50 == 0 or i == total:
                report("organisations", i, total)
        summary.organisations = total

        total = len(demo.users)
        for i, spec in enumerate(demo.users, start=1):
            core_services.create_user(actor=actor, username=spec.username, password=DEMO_PASSWORD,
                                      org_id=ids[spec.org], roles=list(spec.roles), display_name=spec.display_name)
            report("users", i, total)
        summary.users = total

        total = len(demo.rights)
        kinds: Counter[str] = Counter()
        for i, item in enumerate(demo.rights, start=1):
            data = {k: v for k, v in item.items() if k != "events"}
            right = rights_services.create_right(actor=actor, data=data)
            for event in item["events"]:
                rights_services.record_event(actor=actor, right=right, data=event)
            summary.events += len(item["events"])
            kinds[right.kind] += 1
            if i % 100 == 0 or i == total:
                report("rights", i, total)
        summary.rights = total
        summary.by_kind = dict(sorted(kinds.items()))
        summary.pledges = summary.applications = _pledges(demo, ids, report)
        _showcase(demo, summary, report)
    summary.seconds = time.perf_counter() - started
    return summary


def _showcase(demo: DemoPlan, summary: DemoSummary, report: ProgressFn) -> None:
    """The rosters, the loan book with cases in flight at every stage, typical cases and overall figures."""
    from . import showcase
    from .loans import load_loans

    agencies, summary.experts = showcase.rosters(seed=demo.seed, today=demo.today)
    summary.agencies = len(agencies)
    reports, summary.realised_prices = showcase.appraisals(seed=demo.seed, today=demo.today, agencies=agencies)
    report("rosters", 1, 1)
    book = load_loans(seed=demo.seed, today=demo.today, count=max(6, len(demo.rights) // 40), agencies=agencies,
                      report=report)
    summary.loans, summary.cases, summary.needs = book.loans, book.cases, book.needs
    summary.valuations = reports + book.valuations
    summary.applications += book.applications
    summary.pledges += book.pledges
    # Live alerts of several kinds: a few legal events on the first bank's collateral, then the monitoring
    # end-of-day pass over the whole book.
    from . import alerts

    summary.alerts, staged = alerts.stage(today=demo.today)
    summary.events += staged
    report("alerts", 1, 1)
    # Risk sharing and insurance: the scheme, enrolled loans, a claim the fund paid, the insurer's policies.
    from . import risksharing

    risksharing.stage(today=demo.today)
    report("risk sharing", 1, 1)
    # Disposal cases: a listing won and settled, one open on the exchange, a set-off awaiting the pledgor,
    # a right the bank holds with its fee-relief application (settlements record transfers and prices).
    from ippledge.disposal.models import FeeRelief
    from ippledge.rights.models import LegalEvent
    from ippledge.valuation.models import RealisedPrice

    from . import disposals

    events, prices = LegalEvent.objects.count(), RealisedPrice.objects.count()
    summary.disposals = disposals.stage(today=demo.today, agencies=agencies)
    summary.events += LegalEvent.objects.count() - events
    summary.realised_prices += RealisedPrice.objects.count() - prices
    summary.fee_reliefs = FeeRelief.objects.count()
    risksharing.finish(today=demo.today)
    summary.risk_sharing = risksharing.counts()
    report("disposals", 1, 1)
    summary.typical_cases = showcase.typical_cases(today=demo.today)
    summary.overall_figures = showcase.overall_figures(seed=demo.seed, today=demo.today)
    report("reports", 1, 1)


def describe(summary: DemoSummary) -> str:
    """What a load made, as ``ippledge demo`` prints it: every figure is a count of rows written."""
    def listing(counts: dict[str, int]) -> str:
        return ", ".join(f"{key.replace('_', ' ')} {n}" for key, n in counts.items() if n) or "none"

    return (f"Loaded {summary.organisations} organisations, {summary.users} users, {summary.rights} IP rights "
            f"({listing(summary.by_kind)}) and {summary.events} legal events; "
            f"{summary.applications} pledge applications filed, {summary.pledges} pledges registered; "
            f"{summary.loans} loans; credit cases by stage: {listing(summary.cases)}; "
            f"financing needs: {listing(summary.needs)}; {summary.valuations} valuations; "
            f"{summary.agencies} appraisal agencies and {summary.experts} experts on the rosters, "
            f"{summary.realised_prices} realised prices; {summary.typical_cases} typical cases; "
            f"{summary.overall_figures} overall bank figures; "
            f"live alerts: {listing(summary.alerts)}; disposal cases: {listing(summary.disposals)}, "
            f"{summary.fee_reliefs} fee-relief applications; risk sharing: {listing(summary.risk_sharing)}; "
            f"in {summary.seconds:.1f} s.")


def _pledges(demo: DemoPlan, ids: dict[str, int], report: ProgressFn) -> int:
    """Register pledges on about one in fifty of the patents a bank would take, through the registry's
    own filing service as the first bank's loan officer, so the public register has records to show.
    Returns how many were registered: every one filed (the bar counts what is made)."""
    import random as _random

    from ippledge.core.models import Organisation, User
    from ippledge.registry import services as registry
    from ippledge.registry.filing import Party, PledgeFiling, RightRef, SecuredDebt
    from ippledge.rights import rules

    from .loans import confirm_for_parties, pledgeable

    bank_spec = next(o for o in demo.organisations if o.kind == "bank" and not o.parent)
    bank = Organisation.objects.get(pk=ids[bank_spec.key])
    officer = User.objects.filter(organisation=bank, roles__role=Role.BANK_OFFICER).order_by("pk").first()
    if officer is None:
        return 0
    rng = _random.Random(demo.seed * 7919)
    chosen = [c for c in pledgeable(demo.today, tuple(sorted(rules.PATENT_KINDS))) if rng.random() < 0.02]
    for i, item in enumerate(chosen, start=1):
        due = demo.today + dt.timedelta(days=365 + rng.randrange(0, 730))
        filing = PledgeFiling(
            pledgors=(Party.of_organisation(item.enterprise, address=_address(item.enterprise)),),
            pledgees=(Party.of_organisation(bank, address="广东省深圳市"),),
            rights=(RightRef(kind=item.right.kind, number=item.right.number),),
            secured_debt=SecuredDebt(amount_fen=rng.randrange(50, 3000) * 1_000_000, type="流动资金贷款"),
            debt_due_date=due, contract_no=f"示范质字{demo.today.year}第{i:04d}号",
            confirm_pledgor=True, confirm_pledgee=True)
        app = registry.file_application(actor=officer, data=filing)
        status = confirm_for_parties(app.application_no)
        if status != "registered":
            raise RuntimeError(f"demo pledge {app.application_no} was not registered: {status}")
        report("pledges", i, len(chosen))
    return len(chosen)


def _address(org) -> str:
    from ippledge.core.regions import region_name

    return region_name(org.region_code, "zh-hans") or "广东省"


def load_demo(*, seed: int = 2026, today: dt.date, enterprises: int = 1000, rights: int = 5000,
              enterprise_users: int = 20, progress: ProgressFn | None = None) -> DemoSummary:
    """Plan the demo region for ``seed`` and ``today`` and write it (call ``business_date.today()``
    at the call site for ``today``)."""
    started = time.perf_counter()
    summary = write(plan(seed=seed, today=today, enterprises=enterprises, rights=rights,
                         enterprise_users=enterprise_users), progress=progress)
    summary.seconds = time.perf_counter() - started
    return summary
