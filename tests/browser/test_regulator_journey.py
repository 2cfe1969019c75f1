"""The regulator's journey in a real Chromium (issue 11, points 1, 3, 9, 10, 12): the regulator logs in,
opens the dashboard, reads what the 3-point NPL comparison means, traces a figure to its loans,
downloads the workbook (Chinese headers and names, amounts as numbers); a bank's officer submits the
bank's overall figures through the form and sees the comparison appear.  Charts keep their text at
12 px or more and inside the chart; at 390 px nothing scrolls sideways."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from tests.test_reporting_pages import book, zh  # noqa: F401  (fixture)

from .test_credit_journey import shot
from .test_registry_journeys import log_in, new_page  # noqa: F401  (new_page is a fixture)

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}

# The smallest chart text as displayed (its font size times the scale the picture is drawn at), and any
# chart text that sticks out of its chart.
CHART_TEXT = """() => {
  const out = {smallest: 99, outside: [], count: 0};
  for (const svg of document.querySelectorAll('svg.chart')) {
    const box = svg.getBoundingClientRect();
    for (const t of svg.querySelectorAll('text')) {
      const scale = t.getScreenCTM().a;
      out.smallest = Math.min(out.smallest, parseFloat(getComputedStyle(t).fontSize) * scale);
      const r = t.getBoundingClientRect();
      if (r.left < box.left - 1 || r.right > box.right + 1) out.outside.push(t.textContent);
      out.count += 1;
    }
  }
  return out;
}"""


def expect_readable_and_fitting(page: Page, width: int) -> None:
    charts = page.evaluate(CHART_TEXT)
    assert charts["count"] > 0 and charts["smallest"] >= 12, charts
    assert charts["outside"] == [], charts
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_regulator_reads_the_comparison_traces_loans_and_downloads_the_workbook(page: Page, new_page, book,  # noqa: F811
                                                                                 screenshot):
    log_in(page, "reg", next_url="/reports/?period=2026Q3")
    page.set_viewport_size(DESKTOP)
    expect(page.locator("h1")).to_contain_text("2026Q3")
    explained = page.get_by_test_id("tolerance-explained")
    expect(explained).to_contain_text("十一")
    expect(explained).to_contain_text("3")
    expect(explained).to_contain_text("2026-09-30")
    expect(page.get_by_test_id("overall-missing")).to_contain_text("银行A")
    expect(page.get_by_test_id("overall-form")).to_have_count(0)  # banks submit their own figures
    # Amounts in 万元, grouped, under a heading that says 万元; kinds and regions by name.
    kinds = page.get_by_test_id("by-kind")
    expect(kinds.locator("h2")).to_contain_text("万元")
    expect(kinds.locator("table")).to_contain_text("50.00")
    expect(kinds.locator("table")).to_contain_text(zh("Patent"))
    expect(page.get_by_test_id("by-region").locator("table")).to_contain_text("广东省")
    expect(page.get_by_test_id("top-banks").locator("table")).to_contain_text("100.00")
    # Hovering a bar shows its name and value with the unit (the SVG's own tooltip).
    tips = kinds.locator("svg.chart g.hover > title").all_text_contents()
    assert f"{zh('Patent')}: 50.00万元" in tips, tips
    expect_readable_and_fitting(page, DESKTOP["width"])
    screenshot("regulator-dashboard")

    # The same dashboard on a phone: readable charts, no sideways scrolling.
    page.set_viewport_size(PHONE)
    page.reload()
    expect_readable_and_fitting(page, PHONE["width"])
    screenshot("regulator-dashboard-390")
    page.set_viewport_size(DESKTOP)

    # Trace the patent figure to its loans.
    kinds.get_by_role("link", name=zh("Patent")).click()
    expect(page.locator("h1")).to_have_text(zh("Loans behind the figure"))
    expect(page.get_by_test_id("figure-keys")).to_contain_text(zh("Patent"))
    expect(page.get_by_test_id("loans-count")).to_have_text("2")
    listing = page.get_by_test_id("listing-loans-behind")
    expect(listing).to_contain_text(book["loans"][0].loan_no)
    expect(listing.locator("thead")).to_contain_text(zh("Amount (yuan)"))
    expect(listing).to_contain_text("200,000.00")
    expect(listing).to_contain_text("广东省")
    expect(listing).to_contain_text(zh("Normal"))
    screenshot("regulator-loans-behind")

    # The workbook: Chinese sheet names and headers, names for every key, amounts as numbers.
    page.go_back()
    with page.expect_download() as info:
        page.get_by_test_id("xlsx").click()
    book_file = load_workbook(io.BytesIO(open(info.value.path(), "rb").read()))
    assert book_file.sheetnames[0] == "全国合计" and book_file.sheetnames[-1] == "说明"
    kinds_sheet = book_file["按知识产权类型"]
    header = [c.value for c in kinds_sheet[1]]
    assert header[:2] == ["知识产权类型", "当年累放贷款户数"] and "期末贷款余额（万元）" in header
    rows = {r[0].value: r for r in kinds_sheet.iter_rows(min_row=2)}
    assert set(rows) == {zh("Patent"), zh("Trademark"), zh("Bundle")}
    balance = rows[zh("Patent")][header.index("期末贷款余额（万元）")]
    assert isinstance(balance.value, int | float) and balance.value == 50 and balance.number_format == "#,##0.00"
    assert {r[0].value for r in book_file["按地区"].iter_rows(min_row=2)} == {"广东省", "北京市"}

    # Bank B's officer submits the bank's overall figures and sees the comparison appear.
    officer = new_page()
    log_in(officer, "officerB", next_url="/reports/?period=2026Q3")
    expect(officer.get_by_test_id("overall-missing")).to_contain_text("银行B")
    form = officer.get_by_test_id("overall-form")
    expect(form.locator("#id_period_end")).to_have_value("2026-09-30")
    form.locator("#id_total_loan_balance").fill("50000")  # 5 亿元 of loans in all
    form.locator("#id_npl_balance").fill("600")  # 1.20 % non-performing
    form.get_by_role("button").click()
    expect(officer.locator(".flash")).to_contain_text("银行B")
    table = officer.get_by_test_id("tolerance-table")
    row = table.locator("tbody tr", has_text="银行B")
    expect(row).to_contain_text("1.20")
    expect(row).to_contain_text(zh("Yes"))
    expect(officer.get_by_test_id("overall-missing")).to_have_count(0)
    expect(officer.get_by_test_id("tolerance").locator("svg.chart")).to_have_count(1)
    shot(officer, "bank-overall-submitted")

    # The regulator now sees bank B compared, bank A still missing.
    page.reload()
    expect(page.get_by_test_id("tolerance-table")).to_contain_text("银行B")
    expect(page.get_by_test_id("overall-missing")).to_contain_text("银行A")


def test_english_dashboard_at_390_px(page: Page, book):  # noqa: F811
    log_in(page, "officerA", next_url="/reports/?period=2026Q3")
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": page.url}])
    page.set_viewport_size(PHONE)
    page.reload()
    expect(page.get_by_test_id("by-region")).to_contain_text("Guangdong")
    expect(page.get_by_test_id("by-kind")).to_contain_text("Patent")
    expect(page.get_by_test_id("overall-form")).to_be_visible()
    expect_readable_and_fitting(page, PHONE["width"])
