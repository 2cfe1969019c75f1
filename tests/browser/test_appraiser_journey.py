"""The appraiser's journey in a real Chromium (issue 11.6): an appraiser of an agency on the roster logs
in, values a patent by the income approach through the calculator's form (amounts in yuan, rates in
per cent), sees the trial result, saves it, reads the result page titled as a valuation with the
lender's values, and downloads the valuation report as a PDF with formatted amounts, their unit and
Chinese labels.  At 390 px the pages do not scroll sideways."""

from __future__ import annotations

import io
import re

import pytest
from playwright.sync_api import Page, expect

from ippledge.core.actors import SYSTEM
from ippledge.valuation import services as valuation
from tests.registry_fixtures import make_patent

from .test_registry_journeys import log_in, zh

pytestmark = pytest.mark.browser

NUMBER = "ZL201410362077.3"
VALUE = "466,284.75"  # 3 years × 1,000,000 × 25 % × (1 − 25 %) discounted at 10 %


def pdf_text(body: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(body)).pages).replace("\x00", "")


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert width <= 1, f"{page.url} scrolls sideways by {width} px"


def test_appraiser_values_a_patent_and_downloads_the_report(page: Page, make_user, make_org, screenshot):
    make_patent()
    org = make_org("appraisal_agency", name="示范资产评估有限公司")
    appraiser = make_user("appraiser", username="appraiser", org=org)
    agency = valuation.admit_agency(actor=SYSTEM, data={"name": org.name, "organisation_id": org.pk,
                                                        "licence_no": "44030020151234",
                                                        "qualification": "资产评估资格", "ip_kinds": ["patent"]})

    log_in(page, appraiser.username)
    page.goto("/valuation/")
    form = page.get_by_test_id("calculator")
    expect(form.locator("h2")).to_have_text(zh("Income approach (split of income)"))
    # Each field says its unit next to its label and explains itself under the input.
    expect(form.locator("label[for=id_split_rate]")).to_contain_text("%")
    expect(form.locator("label[for=id_income]")).to_contain_text(zh("yuan"))
    page.locator("#id_income").fill("1000000\n1000000\n1000000")
    page.locator("#id_split_rate").fill("25")
    page.locator("#id_tax_rate").fill("25")
    page.locator("#id_discount_rate").fill("10")
    page.get_by_test_id("compute").click()
    result = page.get_by_test_id("result")
    expect(result.get_by_test_id("headline")).to_have_text(VALUE)
    expect(result).to_contain_text(zh("yuan"))
    expect(result.get_by_test_id("trace")).to_contain_text("收益期")  # the trace's own Chinese labels
    expect(page.get_by_role("alert")).to_have_count(0)

    # A mistake is told next to its field, in words.
    page.locator("#id_discount_rate").fill("十")
    page.get_by_test_id("compute").click()
    expect(page.locator("[data-field=discount_rate] .field-error")).to_be_visible()
    page.locator("#id_discount_rate").fill("10")

    # Saved for the patent (named by its number only): the result page of valuation VA….
    page.locator("#id_rights").fill(NUMBER)
    page.get_by_test_id("save-record").click()
    expect(page).to_have_url(re.compile(r"/valuation/records/VA\d{11}/$"))
    number = page.url.rstrip("/").rsplit("/", 1)[1]
    expect(page.locator("h1")).to_have_text(zh("Valuation result %(number)s") % {"number": number})
    expect(page.get_by_test_id("market-value")).to_have_text(f"{VALUE} {zh('yuan')}")
    lender = page.get_by_test_id("lender-values")
    expect(lender).to_contain_text(zh("Maximum loan"))
    expect(lender).to_contain_text(zh("Liquidation value"))
    expect(page.get_by_test_id("method")).to_have_text(zh("Income approach (split of income)"))
    expect(page.get_by_test_id("valuation-status")).to_have_text(zh("Final"))
    screenshot("appraiser-valuation-result")

    href = page.get_by_test_id("report-pdf").get_attribute("href")
    response = page.request.get(href)
    assert response.ok and response.headers["content-type"].startswith("application/pdf")
    body = response.body()
    assert body.startswith(b"%PDF")
    text = pdf_text(body)
    assert number in text and f"{VALUE} {zh('yuan')}" in text
    for label in ("Market value", "Maximum loan", "Implied pledge rate", "How it was computed"):
        assert zh(label) in text, label
    assert "收益法" in text and "income_stream" not in text and "invention" not in text

    # The agency's page lists the appraiser's agency with the roster facts; the list is a work list.
    page.goto("/valuation/agencies/")
    expect(page.get_by_test_id("own-agency")).to_contain_text(org.name)
    expect(page.get_by_test_id("listing-agencies")).to_contain_text(agency.licence_no)

    # At a phone's width nothing scrolls sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    for path in ("/valuation/", f"/valuation/records/{number}/", "/valuation/records/"):
        page.goto(path)
        no_sideways_scroll(page)
    screenshot("appraiser-valuation-result-390")
