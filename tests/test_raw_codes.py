"""No raw code reaches a person: every page of the demo region, in Chinese and English, for every demo
login, and the printed documents and workbooks, show labels, region names, formatted amounts and
Beijing times — never an enum value, a GB/T 2260 code, a Python repr, an internal field path or an ISO
timestamp (issue 11.3, 11.4).

The demo region is built once for this module (inside a transaction rolled back at the end, so other
tests still see an empty database).  Each login then crawls its own pages: the navigation, and every
same-site link found on a page, bounded per URL shape (a list and two of its detail pages, not all of
them).  Visible text is the HTML with tags, scripts and styles removed; attribute values are not read.

A finding names the URL and the offending text, grouped by URL, so a developer sees what to fix.
``KNOWN`` lists what is known to fail and why while the pages are being fixed; it must end empty, and
``test_known_failures_are_still_failing`` fails when an entry no longer finds anything (remove it).
"""

from __future__ import annotations

import io
import logging
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import pytest
from django.db import transaction
from django.test import Client

LANGUAGES = ("zh-hans", "en")
ANONYMOUS = "(anonymous)"
PAGES_PER_LOGIN = 50  # bound of the crawl per login and language
PER_SHAPE = 2  # pages of one URL shape (detail pages of one kind, one list with one kind of query)
SKIP_PREFIXES = ("/logout/", "/i18n/", "/static/", "/api/", "/login/", "/healthz", "/admin/")
SKIP_PARTS = ("/evidence/",)
USER_PAGES = ("/manage/",)  # the administrator's pages list users by their username  # uploaded files are the user's own bytes, not our text

# "URL prefix" or "URL prefix | kind of finding" (``"/"`` alone: the home page only) → what still fails
# there and whose page it is.  Shrinks to empty as the pages are fixed (issue 11);
# test_known_failures_are_still_failing names the entries that find nothing any more.
KNOWN: dict[str, str] = {}


# ------------------------------------------------------------------------------------------------
# What a raw code looks like
# ------------------------------------------------------------------------------------------------

ENGLISH_AS_CODE: set[str] = set()  # codes whose English label is the code itself: fine on English pages


def _enum_codes() -> dict[str, set[str]]:
    """Every enum value the platform knows → where it comes from (model choices, TextChoices classes,
    registered vocabularies).  Only lower-case identifiers: upper-case values (A/B/C grades, CNY) and
    numbers are not told apart from ordinary text."""
    from django.apps import apps
    from django.db import models
    from django.utils import translation

    from ippledge.core import vocabulary

    found: dict[str, set[str]] = defaultdict(set)

    def add(code, where: str, text=None) -> None:
        code = str(code)
        if re.fullmatch(r"[a-z][a-z0-9_]*", code) and len(code) > 1:
            found[code].add(where)
            if text is not None:
                with translation.override("en"):
                    if str(text) == code:  # English writes it so ("running", "maintained")
                        ENGLISH_AS_CODE.add(code)

    for model in apps.get_models():
        if not model.__module__.startswith("ippledge."):
            continue
        for f in model._meta.get_fields():
            if getattr(f, "choices", None):
                for value, text in f.flatchoices:
                    add(value, f"{model._meta.label}.{f.name}", text)

    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    for cls in subclasses(models.TextChoices):
        if cls.__module__.startswith("ippledge."):
            for value, text in cls.choices:
                add(value, f"{cls.__module__}.{cls.__name__}", text)
    for name, mapping in vocabulary.registered().items():
        for value, text in mapping.items():
            add(value, f"vocabulary {name!r}", text)
    return dict(found)


def _is_region_code(code: str) -> bool:
    from ippledge.core.regions import _parts

    return bool(_parts(code))


PATTERNS: list[tuple[str, re.Pattern]] = [
    ("Python repr", re.compile(r"Decimal\(|datetime\.(?:date|datetime)\(|\{'|\['|<ippledge\.|<[A-Z]\w+: |"
                               r"UUID\(|Traceback \(most|object at 0x|\bQuerySet\b")),
    ("internal field path", re.compile(r"\b[a-z][a-z_]*\[\d+\](?:\.[a-z_]+)?|\b[a-z]+(?:_[a-z]+)+\.[a-z][a-z_]+\b")),
    ("ISO timestamp", re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}|\d{2}:\d{2}:\d{2}\.\d{3,6}|[+-]00:00\b|"
                                 r"\d{2}:\d{2}(?::\d{2})?\s*UTC\b")),
    ("amount without thousands separators", re.compile(r"(?<![\w.,:/-])\d{5,}\.\d{2}(?![\d%])")),
    ("amount in fen", re.compile(r"[（(]\s*(?:分|fen)\s*[)）]")),
]
NONE_ALONE = re.compile(r"(?:^|[\s:：(（])(None|True|False|nan|NaN)(?=$|[\s,，)）])")
MONEY_HEADER = re.compile(r"金额|余额|本金|利息|额度|万元|元|amount|balance|principal|interest|limit|value|yuan",
                          re.I)
COUNTRY_HEADER = re.compile(r"国家|国籍|country", re.I)
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
BARE_NUMBER = re.compile(r"-?\d{5,}(?:\.\d+)?")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
ENGLISH_WORD = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z][A-Za-z]+(?![A-Za-z0-9_])")
WORD = re.compile(r"(?<![A-Za-z0-9_])[a-z][a-z0-9_]*(?![A-Za-z0-9_])")


@dataclass
class Checker:
    codes: dict[str, set[str]]
    usernames: set[str]

    def text(self, text: str, *, lang: str, header: str = "", data: bool = False, url: str = "") -> list[str]:
        """Findings in one visible text node (``header``: its table column's heading, if any; ``data``:
        a cell of an export, where amounts are plain numbers so that a spreadsheet can add them up).
        A username is a name, not a code — but a user named like a role ("bank_officer") is excused only
        on the administrator's pages, where user names are listed."""
        out = []
        stripped = text.strip()
        if not stripped or (data and NUMBER.fullmatch(stripped)):
            return out
        if stripped in self.usernames and (stripped not in self.codes or url.startswith(USER_PAGES)):
            return out
        for what, pattern in PATTERNS:
            for m in pattern.finditer(stripped):
                out.append(f"{what}: {m.group(0)!r} in {_clip(stripped)!r}")
        if m := NONE_ALONE.search(stripped):
            out.append(f"Python value: {m.group(1)!r} in {_clip(stripped)!r}")
        for m in re.finditer(r"(?<![\w.,/*-])\d{6}(?![\w.,/*-])", stripped):  # not a masked ID's
            if _is_region_code(m.group(0)):
                out.append(f"region code: {m.group(0)!r} in {_clip(stripped)!r}")
        if lang != "en" and header and COUNTRY_HEADER.search(header) and re.fullmatch(r"[A-Z]{2,3}", stripped):
            out.append(f"country code: {stripped!r} under {header!r}")
        if header and MONEY_HEADER.search(header) and BARE_NUMBER.fullmatch(stripped.replace(" ", "")):
            out.append(f"amount without unit format: {stripped!r} under {header!r}")
        words = WORD.findall(stripped)
        codes = [w for w in words if w in self.codes]
        if codes:
            # Chinese pages: any code is raw.  English text (an English page, or an English sentence on
            # a Chinese page not translated yet — the translation test's concern): codes with an
            # underscore anywhere, and single-word codes when the text is nothing but codes
            # ("registered", "invention, design").
            prose = [w for w in ENGLISH_WORD.findall(stripped) if w not in self.codes]
            other = re.sub(r"[\s,;，、/|·:：()（）\-]+", "", WORD.sub("", stripped))
            whole = not other and len(codes) == len(words)
            english = lang == "en" or bool(prose)
            for code in codes:
                if english and code in ENGLISH_AS_CODE:
                    continue
                if not english or "_" in code or whole:
                    out.append(f"raw code: {code!r} in {_clip(stripped)!r}")
        return out


def _clip(text: str, width: int = 90) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


class VisibleText(HTMLParser):
    """Text nodes a person sees, with the heading of the table column each cell is in, and links."""

    SKIP = {"script", "style", "template"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.nodes: list[tuple[str, str]] = []  # (text, column heading)
        self.links: list[str] = []
        self._stack: list[tuple[str, bool]] = []  # (tag, skipped)
        self._tables: list[dict] = []

    def _skipping(self) -> bool:
        return any(skipped for _tag, skipped in self._stack)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag in self.VOID:
            return
        skipped = tag in self.SKIP or a.get("data-testid") == "user-chip"
        self._stack.append((tag, skipped))
        if tag == "table":
            self._tables.append({"headers": [], "col": -1, "cell": None, "head_row": False})
        elif self._tables and tag == "tr":
            t = self._tables[-1]
            t["col"], t["cell"] = -1, None
        elif self._tables and tag in ("td", "th"):
            t = self._tables[-1]
            t["col"] += 1
            t["cell"] = tag
            if tag == "th" and not t.get("body_started"):
                t["headers"].append("")

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        for i in range(len(self._stack) - 1, -1, -1):
            if self._stack[i][0] == tag:
                del self._stack[i:]
                break
        if tag == "table" and self._tables:
            self._tables.pop()
        elif tag == "td" and self._tables:
            self._tables[-1]["body_started"] = True

    def handle_data(self, data):
        if self._skipping() or not data.strip():
            return
        header = ""
        if self._tables:
            t = self._tables[-1]
            if t["cell"] == "th" and not t.get("body_started") and t["headers"]:
                t["headers"][-1] += data.strip()
            elif t["cell"] == "td" and 0 <= t["col"] < len(t["headers"]):
                header = t["headers"][t["col"]]
        self.nodes.append((data, header))


# ------------------------------------------------------------------------------------------------
# The demo region and the crawl
# ------------------------------------------------------------------------------------------------

@dataclass
class Region:
    certificate: tuple[str, str] | None = None  # (number, verification code)
    pledges: list[str] = field(default_factory=list)
    periods: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def region(django_db_setup, django_db_blocker):
    """The demo region, built once for the module and rolled back after it."""
    from django.conf import settings

    from ippledge.core import business_date
    from ippledge.demo.generator import load_demo

    logging.getLogger("fontTools").setLevel(logging.WARNING)  # PDF font subsetting chatters at INFO
    hashers = settings.PASSWORD_HASHERS
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            load_demo(seed=2026, today=business_date.today(), enterprises=40, rights=600)
            yield _region_facts()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            settings.PASSWORD_HASHERS = hashers


def _region_facts() -> Region:
    from ippledge.registry import search
    from ippledge.registry.models import Pledge

    facts = Region()
    pledges = list(Pledge.objects.order_by("pk"))
    facts.pledges = [p.registration_no for p in pledges[:3]]
    link = next((link for p in pledges for link in p.pledge_rights.select_related("right")), None)
    if link is not None:
        try:
            cert = search.issue_certificate({"right": link.right.number})
            facts.certificate = (cert.certificate_no, cert.verification_code)
        except Exception:  # noqa: BLE001 - no certificate then; the crawl still covers the search page
            facts.certificate = None
    return facts


def _logins() -> list[str]:
    from ippledge.demo.generator import DEMO_LOGINS

    return [ANONYMOUS] + [username for username, _role, _who in DEMO_LOGINS]


def _shape(url: str) -> str:
    parts = urlsplit(url)
    path = "/".join("*" if re.search(r"\d", seg) else seg for seg in parts.path.split("/"))
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    keys = sorted(k for k in query if k not in ("page", "sort", "per_page", "export"))
    export = query.get("export", "")  # one export of each format per list is enough
    return f"{path}?{','.join(keys)}{'&export=' + export if export else ''}"


def _normal(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return None
    if parts.path.startswith(SKIP_PREFIXES) or any(p in parts.path for p in SKIP_PARTS):
        return None
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return parts.path + (f"?{query}" if query else "")


def _text_of_pdf(body: bytes) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(body)).pages]


def _text_of_xlsx(body: bytes) -> list[tuple[str, str]]:
    """(cell text, its column's first-row heading) for every non-empty text cell."""
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(body), read_only=True, data_only=True)
    out = []
    for sheet in book.worksheets:
        out.append((sheet.title, ""))
        headers: list[str] = []
        for row in sheet.iter_rows(values_only=True):
            if not headers and any(isinstance(v, str) for v in row):
                headers = [str(v or "") for v in row]
            for i, value in enumerate(row):
                if isinstance(value, str):
                    out.append((value, ""))
                elif value is not None and not isinstance(value, int | float):
                    out.append((str(value), headers[i] if i < len(headers) else ""))
    return out


def _text_of_csv(body: bytes) -> list[tuple[str, str]]:
    import csv

    text = body.decode("utf-8-sig", errors="replace")
    rows = list(csv.reader(io.StringIO(text)))
    out = []
    for r, row in enumerate(rows):
        for cell in row:
            out.append((cell, ""))  # amounts are numbers in exports, so no money check on bare numbers
        if r > 500:
            break
    return out


class Crawl:
    def __init__(self, checker: Checker, lang: str):
        self.checker = checker
        self.lang = lang
        self.findings: dict[str, list[str]] = defaultdict(list)
        self.visited: list[str] = []

    def check_texts(self, url: str, nodes: Iterable[tuple[str, str]], *, data: bool = False) -> None:
        seen = set()
        for text, header in nodes:
            for finding in self.checker.text(text, lang=self.lang, header=header, data=data, url=url):
                if finding not in seen:
                    seen.add(finding)
                    self.findings[url].append(finding)

    def run(self, client: Client, seeds: list[str], limit: int = PAGES_PER_LOGIN) -> None:
        queue = [u for u in (_normal(s) for s in seeds) if u]
        seen, shapes = set(queue), defaultdict(int)
        while queue and len(self.visited) < limit:
            url = queue.pop(0)
            shape = _shape(url)
            if shapes[shape] >= (1 if "&export=" in shape else PER_SHAPE):
                continue
            shapes[shape] += 1
            self.visited.append(url)
            try:
                response = client.get(url)
            except Exception as exc:  # noqa: BLE001 - a broken page is a finding, the crawl goes on
                self.findings[url].append(f"server error: {type(exc).__name__}: {_clip(str(exc), 160)}")
                continue
            if response.status_code in (301, 302, 303):
                target = _normal(urljoin(url, response["Location"]))
                if target and target not in seen:
                    seen.add(target)
                    queue.append(target)
                continue
            if response.status_code >= 500:
                self.findings[url].append(f"server error {response.status_code}")
                continue
            kind = response.get("Content-Type", "")
            body = b"".join(response.streaming_content) if response.streaming else response.content
            if kind.startswith("application/pdf"):
                self.check_texts(url, ((t, "") for t in _text_of_pdf(body)))
            elif "spreadsheetml" in kind:
                self.check_texts(url, _text_of_xlsx(body), data=True)
            elif kind.startswith("text/csv"):
                self.check_texts(url, _text_of_csv(body), data=True)
            elif kind.startswith("text/html"):
                parser = VisibleText()
                parser.feed(body.decode(response.charset or "utf-8", errors="replace"))
                self.check_texts(url, parser.nodes)
                for href in parser.links:
                    target = _normal(urljoin(url, href))
                    if target and target not in seen:
                        seen.add(target)
                        queue.append(target)


# ------------------------------------------------------------------------------------------------
# Tests
# ------------------------------------------------------------------------------------------------

RESULTS: dict[tuple[str, str], dict[str, list[str]]] = {}
BAD_INPUT = ["/registry/?right=ZL12", "/registry/?party_id=123", "/registry/certificates/verify/?no=CX1&code=00",
             "/rights/invention/201410362077.3/", "/rights/?kind=nonsense&sort=nonsense&page=999",
             "/registry/pledges/Y000/", "/credit/loans/?classification=nonsense", "/reports/?period=2026Q9",
             "/monitoring/?state=nonsense&severity=9&at_risk=maybe", "/monitoring/alerts/999999/"]


@pytest.fixture(scope="module")
def checker(region) -> Checker:
    from ippledge.core.models import User

    return Checker(codes=_enum_codes(),
                   usernames=set(User.objects.values_list("username", flat=True)))


def _matches(entry: str, url: str, finding: str | None = None) -> bool:
    prefix, _sep, kind = (part.strip() for part in entry.partition("|"))
    if not (url.split("?")[0] == "/" if prefix == "/" else url.startswith(prefix)):
        return False
    return not kind or finding is None or finding.startswith(kind)


def _unexcused(findings: dict[str, list[str]]) -> dict[str, list[str]]:
    out = {url: [f for f in found if not any(_matches(entry, url, f) for entry in KNOWN)]
           for url, found in findings.items()}
    return {url: found for url, found in out.items() if found}


def _report(findings: dict[str, list[str]]) -> str:
    lines = []
    for url in sorted(findings):
        lines.append(url)
        lines.extend(f"    {f}" for f in findings[url][:15])
        if len(findings[url]) > 15:
            lines.append(f"    … and {len(findings[url]) - 15} more")
    return "\n".join(lines)


def _seeds(region: Region) -> list[str]:
    seeds = ["/", "/rights/", "/registry/", "/registry/certificates/verify/", "/reports/public/",
             "/valuation/agencies/", "/valuation/experts/"]
    # What a person sees after a mistake: refusals and "not found" say it in words, not codes.
    seeds += BAD_INPUT
    # The collateral monitor and the alert inbox (issue 12): a bank's pages, the regulator's too; the
    # crawl follows them to the alerts' own pages and the exports.
    seeds += ["/monitoring/", "/monitoring/alerts/", "/monitoring/?at_risk=yes", "/monitoring/alerts/?overdue=yes"]
    for no in region.pledges:
        seeds += [f"/registry/pledges/{no}/", f"/registry/pledges/{no}/notice.pdf"]
    if region.certificate:
        no, code = region.certificate
        seeds += [f"/registry/certificates/verify/?no={no}&code={code}", f"/registry/certificates/{no}.pdf?code={code}"]
    return seeds


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("login", _logins())
def test_no_raw_code_on_any_page(region, checker, db, login, lang):
    from ippledge.core.models import User

    client = Client()
    client.cookies["django_language"] = lang
    if login != ANONYMOUS:
        client.force_login(User.objects.get(username=login))
    crawl = Crawl(checker, lang)
    quiet = logging.getLogger("django.request")
    level, quiet.level = quiet.level, logging.CRITICAL  # a page's 500 is reported as a finding below
    try:
        with transaction.atomic():  # what a page writes (audit, notifications read) is undone
            crawl.run(client, _seeds(region))
            transaction.set_rollback(True)
    finally:
        quiet.setLevel(level)
    RESULTS[(login, lang)] = crawl.findings
    failing = _unexcused(crawl.findings)
    assert crawl.visited, "nothing crawled"
    if failing:
        pytest.fail(f"{login} ({lang}): raw codes on {len(failing)} of {len(crawl.visited)} pages:\n"
                    + _report(failing), pytrace=False)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_raw_code_in_the_statistics_workbook(region, checker, db, lang):
    from django.utils import translation

    from ippledge.core import business_date
    from ippledge.core import services as core_services
    from ippledge.core.models import User

    regulator = User.objects.get(username="regulator")
    token = core_services.issue_token(user=regulator)
    year = business_date.today().year
    client = Client()
    client.cookies["django_language"] = lang
    findings: dict[str, list[str]] = defaultdict(list)
    crawl = Crawl(checker, lang)
    with translation.override(lang), transaction.atomic():
        for period in (f"{year}", f"{year}-Q1", f"{year - 1}"):
            for suffix in ("xlsx", "csv"):
                url = f"/api/v1/reports/ip-pledge-loans.{suffix}?period={period}"
                response = client.get(url, headers={"Authorization": f"Bearer {token}",
                                                    "Accept-Language": lang})
                if response.status_code != 200:
                    continue
                crawl.check_texts(url, _text_of_xlsx(response.content) if suffix == "xlsx"
                                  else _text_of_csv(response.content), data=True)
                findings[url]  # noqa: B018 - mark as fetched
        transaction.set_rollback(True)
    assert findings, "no statistics workbook could be fetched"
    RESULTS[("workbook", lang)] = crawl.findings
    failing = _unexcused(crawl.findings)
    if failing:
        pytest.fail(_report(failing), pytrace=False)


def test_known_failures_are_still_failing():
    """An entry of KNOWN that finds nothing any more is stale: remove it."""
    if len(RESULTS) < 2 * len(_logins()):
        pytest.skip("only part of the crawl ran")
    found = [(url, f) for findings in RESULTS.values() for url, fs in findings.items() for f in fs]
    stale = [entry for entry in KNOWN if not any(_matches(entry, url, f) for url, f in found)]
    assert not stale, f"these KNOWN entries pass now, remove them: {stale}"


def test_checker_finds_what_it_should(checker, db):
    """The detector itself: what must be flagged is, ordinary text is not."""
    flagged = [
        ("zh-hans", "状态：registered"), ("zh-hans", "invention"), ("en", "registered"),
        ("en", "awaiting_confirmation"), ("en", "invention, design"), ("zh-hans", "广东省 440000"),
        ("en", "Decimal('12.50')"), ("en", "{'a': 1}"), ("en", "None"), ("zh-hans", "pledgors[0].id_number"),
        ("en", "2026-12-02T10:13:30.123456+00:00"), ("zh-hans", "余额（分）"), ("en", "676530000.00"),
        ("en", "10:13 UTC"), ("zh-hans", "著作权、patent"), ("en", "approved by bank_approver"),
        ("zh-hans", "· 440300"),
    ]
    for lang, text in flagged:
        assert checker.text(text, lang=lang), (lang, text)
    assert checker.text("300000000", lang="zh-hans", header="金额（元）")
    assert not checker.text("300000000.00", lang="zh-hans", data=True)  # an export's number
    assert checker.text("CN", lang="zh-hans", header="国家/地区")
    clean = [
        ("zh-hans", "已登记"), ("en", "Registered"), ("en", "The invention patent is registered."),
        ("en", "3,000,000.00"), ("zh-hans", "2026-12-02 18:13:30 北京时间"), ("zh-hans", "ZL202310123456.7"),
        ("en", "Guangdong"), ("zh-hans", "676,530,000.00 元"), ("en", "API documentation"),
        ("zh-hans", "442000********3345"), ("zh-hans", "Loan amount"),
    ]
    for lang, text in clean:
        assert not checker.text(text, lang=lang), (lang, text, checker.text(text, lang=lang))
