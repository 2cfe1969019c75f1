"""The statistics pages as people read them (issue 11, points 1, 3, 9, 10): amounts in 万元 with
separators where a heading says 万元; regions, kinds, categories as names, never codes, on pages, in the
CSV and in the workbook; charts whose text stays readable; the 3-point NPL comparison explained, and a
form through which a bank's staff submit the overall figures it needs."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from django.test import Client
from django.utils import translation

from ippledge.core import services as core
from ippledge.core.actors import SYSTEM
from ippledge.credit import services as credit
from ippledge.credit.models import ClassificationChange, Loan
from ippledge.reporting import charts
from ippledge.reporting.models import BankOverall

from .conftest import PASSWORD, Api, uscc

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 10, 15)  # the third quarter has ended: its overall figures can be submitted


def zh(text) -> str:
    with translation.override("zh-hans"):
        return translation.gettext(str(text))


@pytest.fixture
def book(db, settings):
    """On business day 2026-10-15, bank A lends 20 and 30 万元 on patents and 50 万元 on a
    trademark to firms in Guangdong, one loan written down to doubtful; bank B lends 10 万元 in Beijing."""
    admin_org = core.create_organisation(actor=SYSTEM, name="平台", kind="platform_operator")
    admin = core.create_user(actor=SYSTEM, username="admin", password=PASSWORD, org_id=admin_org.pk, roles=["admin"])
    settings.ALLOW_BUSINESS_DATE = True
    core.set_business_date(actor=admin, date=TODAY)
    banks = {k: core.create_organisation(actor=SYSTEM, name=f"银行{k}", kind="bank", uscc=uscc(body))
             for k, body in (("A", "91110000100000589"), ("B", "91110000100000590"))}
    users = {k: core.create_user(actor=SYSTEM, username=f"officer{k}", password=PASSWORD, org_id=banks[k].pk,
                                 roles=["bank_officer"]) for k in banks}
    reg_org = core.create_organisation(actor=SYSTEM, name="监管局", kind="regulator")
    regulator = core.create_user(actor=SYSTEM, username="reg", password=PASSWORD, org_id=reg_org.pk,
                                 roles=["regulator_user"])
    loans = []
    for i, (bank, amount, kind, region) in enumerate((("A", "200000", "patent", "440300"),
                                                       ("A", "300000", "patent", "440300"),
                                                       ("A", "500000", "trademark", "440100"),
                                                       ("B", "100000", "bundle", "110105"))):
        core.create_organisation(actor=SYSTEM, name=f"企业{i}", kind="enterprise", uscc=uscc(f"914403000000000{i:02d}"),
                                 region_code=region, size_class="small")
        loans.append(credit.book_loan(actor=users[bank], data={
            "borrower_uscc": uscc(f"914403000000000{i:02d}"), "borrower_name": f"企业{i}",
            "bank_org_id": banks[bank].pk, "amount": amount, "annual_rate": "0.04",
            "start_date": dt.date(2026, 2, 10), "maturity_date": dt.date(2027, 2, 10), "schedule": "bullet",
            "ip_kind": kind, "first_loan": i == 0}))
    Loan.objects.filter(pk=loans[2].pk).update(classification="doubtful")
    ClassificationChange.objects.create(loan=loans[2], date=dt.date(2026, 8, 1), before="normal", after="doubtful",
                                        reasons=[["manual_downgrade", "doubtful"]], manual=True)
    return {"banks": banks, "users": users, "regulator": regulator, "loans": loans}


def _client(user, language: str | None = None) -> Client:
    client = Client()
    client.force_login(user)
    if language:
        client.cookies["django_language"] = language
    return client


def _text(html: str) -> str:
    """What a person reads: the page without its tags, attributes and scripts."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _section(html: str, testid: str) -> str:
    start = html.index(f'data-testid="{testid}"')
    return html[start:html.index("</section>", start)]


# ------------------------------------------------------------------------- amounts and labels


def test_regulator_dashboard_shows_wan_with_separators_and_names(book):
    page = _client(book["regulator"]).get("/reports/?period=2026Q3")
    assert page.status_code == 200
    html = page.content.decode()
    kinds = _text(_section(html, "by-kind"))
    # 50 万元 on patents: 500,000 yuan shown as 50.00 under a 万元 heading, never 500000.00.
    assert "(万元)" in kinds or "（万元）" in kinds
    assert "50.00" in kinds and "500000.00" not in html and "500,000.00" not in kinds
    assert zh("Patent") in kinds and zh("Trademark") in kinds
    assert not re.search(r"\b(patent|trademark|bundle)\b", kinds)
    regions = _text(_section(html, "by-region"))
    assert "广东省" in regions and "北京市" in regions and "440000" not in regions
    top = _text(_section(html, "top-banks"))
    assert "银行A" in top and "100.00" in top  # 1,000,000 yuan lent by bank A = 100.00 万元
    # The chart says its unit with each value and on its axis.
    assert "50.00万元" in _section(html, "by-kind")


def test_english_dashboard_names_regions_and_kinds_in_english(book):
    html = _client(book["regulator"], "en").get("/reports/?period=2026Q3").content.decode()
    regions = _text(_section(html, "by-region"))
    assert "Guangdong" in regions and "Beijing" in regions
    assert "Patent" in _text(_section(html, "by-kind"))


def test_charts_keep_their_text_readable_and_names_whole_on_hover():
    long_name = "中国工商银行股份有限公司深圳市分行营业部科技支行"
    svg = charts.bars([(long_name, 12_345), ("银行B", 10)], unit="万元")
    sizes = [int(x) for x in re.findall(r'font-size="(\d+)"', svg)]
    assert sizes and min(sizes) >= 12
    assert "viewBox" not in svg  # laid out in percentages: the text is not scaled down with the picture
    assert f"<title>{long_name}: 12,345.00万元</title>" in svg  # the whole name and value on hover
    shown = re.findall(r'<text[^>]*font-size="14">([^<]*)</text>', svg)
    assert shown[0].endswith("…") and len(shown[0]) < len(long_name) and shown[1] == "银行B"
    assert "万元</text>" in svg  # the axis ends with its unit
    line = charts.trend([("2026Q2", 5), ("2026Q3", 8)], unit="万元")
    assert ">Q3<" in line and ">2026<" in line and "万元" in line
    sizes = [int(x) for x in re.findall(r'font-size="(\d+)"', line)]
    assert min(sizes) >= 12


# ------------------------------------------------------------------------- the 3-point comparison


def test_the_comparison_is_explained_and_a_bank_submits_its_overall_figures(book):
    officer = _client(book["users"]["A"])
    html = officer.get("/reports/?period=2026Q3").content.decode()
    box = _section(html, "tolerance")
    assert 'data-testid="tolerance-explained"' in box and "2026-09-30" in box
    assert 'data-testid="overall-form"' in box and 'data-testid="overall-missing"' in box
    # The NPL balance above the total is refused next to its field, in the page language, without codes.
    r = officer.post("/reports/overall/", {"period": "2026Q3", "period_end": "2026-09-30",
                                           "total_loan_balance": "100", "npl_balance": "200"})
    assert r.status_code == 400
    assert zh("The NPL balance cannot be larger than the total loan balance.") in r.content.decode()
    assert not BankOverall.objects.exists()
    # 10 亿元 of loans (100,000 万元), 1.5 % non-performing.
    r = officer.post("/reports/overall/", {"period": "2026Q3", "period_end": "2026-09-30",
                                           "total_loan_balance": "100000", "npl_balance": "1500"})
    assert r.status_code == 302 and r["Location"].endswith("#tolerance")
    row = BankOverall.objects.get()
    assert row.bank == book["banks"]["A"] and row.total_loan_balance == 100_000 * 10_000 * 100
    assert row.npl_balance == 1500 * 10_000 * 100 and row.submitted_by == book["users"]["A"]
    html = officer.get(r["Location"]).content.decode()
    table = _text(html[html.index('data-testid="tolerance-table"'):])
    # Bank A's IP-pledge book: 50 of 100 万元 doubtful = 50 %, 48.5 points above 1.50 %: beyond.
    assert "50.00" in table and "1.50" in table and "48.50" in table
    assert 'data-testid="overall-missing"' not in _section(html, "tolerance")
    assert 'data-testid="inclusive-table"' not in html  # no inclusive figures were given
    # Corrected figures with the inclusive segment: the latest submission counts.
    officer.post("/reports/overall/", {"period": "2026Q3", "period_end": "2026-09-30", "total_loan_balance": "100000",
                                       "npl_balance": "1500", "inclusive_loan_balance": "20000",
                                       "inclusive_npl_balance": "400"})
    html = officer.get("/reports/?period=2026Q3").content.decode()
    inclusive = _text(html[html.index('data-testid="inclusive-table"'):])
    assert "银行A" in inclusive and "2.00" in inclusive
    # The regulator sees the comparison too, and bank B still missing, with no form (banks submit their own).
    reg = _client(book["regulator"]).get("/reports/?period=2026Q3").content.decode()
    assert "银行A" in _section(reg, "tolerance") and 'data-testid="overall-form"' not in reg
    assert "银行B" in _section(reg, "overall-missing")


def test_only_bank_staff_post_overall_figures(book):
    r = _client(book["regulator"]).post("/reports/overall/", {"period_end": "2026-09-30",
                                                              "total_loan_balance": "100", "npl_balance": "1"})
    assert r.status_code == 403 and not BankOverall.objects.exists()
    assert Client().post("/reports/overall/", {}).status_code == 302  # to the login page


def test_a_future_period_end_is_refused_beside_its_field(book):
    r = _client(book["users"]["B"]).post("/reports/overall/", {"period_end": "2026-12-31",
                                                               "total_loan_balance": "100", "npl_balance": "1"})
    assert r.status_code == 400 and not BankOverall.objects.exists()
    html = r.content.decode()
    form = html[html.index('data-testid="overall-form"'):html.index("</form>", html.index('data-testid="overall-form"'))]
    assert 'class="field-error"' in form and "period_end" not in _text(form)


# ------------------------------------------------------------------------- the loans behind a figure


def test_loans_behind_a_figure_are_a_listing_with_labels(book):
    client = _client(book["regulator"])
    html = client.get("/reports/loans/?period=2026Q3&region=440000").content.decode()
    keys = _text(html[html.index('data-testid="figure-keys"'):html.index("</dl>")])
    assert "广东省" in keys and "440000" not in keys and "3" in keys
    rows = _text(html[html.index('data-testid="listing-loans-behind"'):])
    assert "广东省" in rows and "440000" not in rows and zh("Patent") in rows and zh("Doubtful") in rows
    assert "500,000.00" in rows and "doubtful" not in rows
    # Filtered to the non-performing category, and exported as shown.
    html = client.get("/reports/loans/?period=2026Q3&region=440000&category=doubtful").content.decode()
    assert book["loans"][2].loan_no in html and book["loans"][0].loan_no not in html
    exported = client.get("/reports/loans/?period=2026Q3&region=440000&category=doubtful&export=csv")
    lines = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert len(lines) == 2 and zh("Doubtful") in lines[1] and "500000.00" in lines[1]


# ------------------------------------------------------------------------- files


def test_workbook_and_csv_name_every_key_and_keep_amounts_numeric(book):
    from openpyxl import load_workbook

    api = Api(core.issue_token(user=book["regulator"]))
    r = api.client.get("/api/v1/reports/ip-pledge-loans.xlsx?period=2026Q3",
                       headers={"Authorization": f"Bearer {api.token}"})
    wb = load_workbook(io.BytesIO(r.content))
    kinds = wb["按知识产权类型"]
    header = [c.value for c in kinds[1]]
    assert header[0] == "知识产权类型" and "当年累放贷款金额（万元）" in header
    by_kind = {row[0].value: row for row in kinds.iter_rows(min_row=2)}
    assert set(by_kind) == {"专利", "注册商标", "打包组合"} or set(by_kind) == {zh("Patent"), zh("Trademark"), zh("Bundle")}
    amount = by_kind[zh("Patent")][header.index("当年累放贷款金额（万元）")]
    assert amount.value == 50 and amount.number_format == "#,##0.00"
    regions = {row[0].value for row in wb["按地区"].iter_rows(min_row=2)}
    assert regions == {"广东省", "北京市"}
    sizes = {row[0].value for row in wb["按企业规模"].iter_rows(min_row=2)}
    assert sizes == {zh("Small")}
    cells = {str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None}
    assert not cells & {"patent", "trademark", "bundle", "440000", "110000", "small", "True", "False"}
    assert any("北京时间" in c for c in cells)
    text = api.client.get("/api/v1/reports/ip-pledge-loans.csv?period=2026Q3&group_by=region,first_loan",
                          headers={"Authorization": f"Bearer {api.token}"}).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:2] == ["省级行政区划", "首贷户"]
    assert {(r[0], r[1]) for r in rows[1:]} == {("广东省", "是"), ("广东省", "否"), ("北京市", "否")}
    beijing = next(r for r in rows[1:] if r[0] == "北京市")
    assert beijing[rows[0].index("当年累放贷款金额（万元）")] == "10.00"  # a number, no separators


def test_a_banks_excel_link_gives_its_own_book(book):
    from openpyxl import load_workbook

    client = _client(book["users"]["B"])
    html = client.get("/reports/?period=2026Q3").content.decode()
    href = re.search(r'href="([^"]+)" data-testid="xlsx"', html).group(1).replace("&amp;", "&")
    assert f"bank_org_id={book['banks']['B'].pk}" in href
    wb = load_workbook(io.BytesIO(client.get(href).content))
    assert [r[0].value for r in wb["按银行"].iter_rows(min_row=2)] == ["银行B"]


def test_public_statistics_name_kinds_and_registers(book):
    html = Client().get("/reports/public/?period=2026").content.decode()
    text = _text(html)
    assert zh("Patent") in text and zh("Disclosure only") in text
    assert not re.search(r"\b(patent|trademark|disclosure|bundle)\b", text)
