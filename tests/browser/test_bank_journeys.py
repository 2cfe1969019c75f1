"""Issue 11's bank journeys in a real Chromium, asserting what a person sees: the loan officer works a case
from the workbench (the valuation chosen from a list, each due-diligence item saved and the next one
offered, the risk grade signed off); the reviewer and the approver read the officer's risk grade, the LTV
and the cost breakdown and confirm their decision; the enterprise reads the decision on its portal.
Amounts in yuan with separators under headings that name the unit, Beijing times with their label, labels
not codes; at 390 px nothing scrolls sideways."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import override_settings
from playwright.sync_api import Page, expect

from ippledge.core import services as core
from ippledge.credit import workflow
from ippledge.credit.labels import CASE_ACTION_LABELS, DD_LABELS
from ippledge.credit.lpr import shipped_fixings
from ippledge.credit.models import CreditCase, LprFixing
from ippledge.credit.workflow_models import Stage
from ippledge.valuation import services as valuation
from tests.test_credit_workflow import PRODUCT, world  # noqa: F401  (fixture)

from .test_credit_journey import expect_stage, open_tab, open_task, shot
from .test_registry_journeys import log_in, new_page, zh  # noqa: F401  (new_page is a fixture)

pytestmark = pytest.mark.browser

OPENED_ON = dt.date(2026, 3, 2)
PATENT = {"kind": "invention", "number": "ZL201410362077.3"}
ISO_MICROSECONDS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+")


def no_sideways_scroll(page: Page, where: str) -> None:
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"{where} is {width} px wide at 390 px"


def expect_people_text(page: Page) -> None:
    """No raw ISO timestamps, no Python reprs on the page."""
    text = page.locator("main").inner_text()
    assert not ISO_MICROSECONDS.search(text), text
    assert "Decimal(" not in text and "{'" not in text


@pytest.fixture
def case_in_due_diligence(world):  # noqa: F811
    w = world
    LprFixing.objects.bulk_create([LprFixing(fixing_date=d, tenor=t, rate=r, source="chinamoney")
                                   for d, t, r in shipped_fixings()], ignore_conflicts=True)
    with override_settings(ALLOW_BUSINESS_DATE=True):
        core.set_business_date(actor=w["admin"].user, date=OPENED_ON)
    product = workflow.create_product(actor=w["approver"].user, data=PRODUCT)
    need = workflow.publish_need(actor=w["ent"].user, data={"amount": "1000000", "term_months": 12,
                                                             "purpose": "研发投入", "rights": [PATENT]})
    case = workflow.open_case(actor=w["officer"].user, product_id=product.pk, need_id=need.pk)
    valued = valuation.create_valuation(actor=w["officer"].user, data={
        "rights": [PATENT], "method": "income",
        "inputs": {"income": ["3000000", "3000000", "3000000"], "discount_rate": "0.1"}})
    return case.case_no, valued.valuation_no


@override_settings(ALLOW_BUSINESS_DATE=True)
def test_officer_reviewer_approver_and_enterprise(page: Page, new_page, case_in_due_diligence):  # noqa: F811
    case_no, valuation_no = case_in_due_diligence

    # --- the loan officer, from the workbench ----------------------------------------------------------
    page.set_viewport_size({"width": 1366, "height": 900})
    log_in(page, "officer", next_url="/credit/")
    tasks = page.get_by_test_id("my-tasks")
    expect(tasks.locator("thead")).to_contain_text(zh("Amount (yuan)"))
    expect(tasks.locator("tbody tr").first).to_contain_text("1,000,000.00")
    expect(tasks.locator("tbody tr").first).to_contain_text(zh(Stage.DUE_DILIGENCE.label))
    open_task(page, case_no)
    expect(page.get_by_test_id("sla")).to_contain_text(re.compile(r"\b0\b.*\b5\b"))
    expect(page.get_by_test_id("case-amount")).to_have_text("1,000,000.00")

    # The valuation is chosen from the pledged right's valuations.
    open_tab(page, "Rights and valuation")
    choice = page.locator("#attach-valuation_no")
    expect(choice.locator(f'option[value="{valuation_no}"]')).to_contain_text("7,460,555.97")
    choice.select_option(valuation_no)
    page.get_by_role("button", name=zh("Attach valuation")).click()
    expect(page.locator(".flash")).to_contain_text(zh("Valuation attached."))
    expect(page.get_by_test_id("case-valuation")).to_contain_text(valuation_no)
    expect(page.get_by_test_id("case-valuation")).to_contain_text("1,865,138.99")

    # Each due-diligence item is saved, said so, and the form moves on to the next item.
    open_tab(page, "Due diligence")
    keys = page.locator("#dd-key option").evaluate_all("options => options.map(o => o.value)")
    assert len(keys) == 7
    for i, key in enumerate(keys):
        expect(page.locator("#dd-key")).to_have_value(key)  # offered next, without choosing
        page.locator("#dd-result").select_option("ok")
        page.locator("#dd-notes").fill("已核实")
        with page.expect_navigation():
            page.get_by_role("button", name=zh("Save finding")).click()
        expect(page.locator(".flash")).to_contain_text(zh("Saved: %(item)s.") % {"item": zh(DD_LABELS[key])})
        expect(page.get_by_test_id("dd-saved")).to_contain_text(zh(DD_LABELS[key]))
        expect(page.get_by_test_id("dd").locator("tbody tr").nth(i).locator("td").nth(2)).to_have_text(
            zh("No problem"))
    shot(page, "journey-bank-due-diligence")
    page.locator("#risk_grade").select_option("A")
    page.get_by_role("button", name=zh("Sign off and submit for review")).click()
    expect_stage(page, Stage.REVIEW)
    expect(page.get_by_test_id("trail")).to_contain_text(zh("Beijing time"))
    expect(page.get_by_test_id("trail")).to_contain_text(zh(CASE_ACTION_LABELS["submit"]))
    expect_people_text(page)

    # At 390 px the workbench and the case page do not scroll sideways.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/credit/")
    no_sideways_scroll(page, "the credit workbench")
    page.goto(f"/credit/cases/{case_no}/?tab=dd")
    no_sideways_scroll(page, "the due-diligence tab")

    # --- the reviewer reads the officer's grade, the LTV and the cost, and passes ----------------------
    reviewer = new_page()
    log_in(reviewer, "reviewer")
    open_task(reviewer, case_no)
    open_tab(reviewer, "Review trail")
    assessment = reviewer.get_by_test_id("assessment")
    expect(assessment.get_by_test_id("risk-grade")).to_contain_text("A")
    expect(assessment.get_by_test_id("ltv")).to_contain_text("13.40%")
    expect(assessment.get_by_test_id("market-value")).to_have_text("7,460,555.97")
    expect(assessment.get_by_test_id("cost-breakdown")).to_contain_text(zh("Interest (yuan)"))
    expect(assessment.get_by_test_id("cost-rate")).to_have_text(re.compile(r"^\d+\.\d{4}%$"))
    expect(assessment.get_by_test_id("cost-net")).to_have_text(re.compile(r"^\d{1,3}(,\d{3})*\.\d\d$"))
    expect_people_text(reviewer)
    shot(reviewer, "journey-bank-review")
    reviewer.set_viewport_size({"width": 390, "height": 844})
    no_sideways_scroll(reviewer, "the reviewer's trail with the cost breakdown")
    reviewer.set_viewport_size({"width": 1366, "height": 900})
    reviewer.get_by_role("button", name=zh("Pass"), exact=True).click()
    expect_stage(reviewer, Stage.APPROVAL)

    # --- the approver reads the same and confirms the approval ---------------------------------------
    approver = new_page()
    log_in(approver, "approver")
    open_task(approver, case_no)
    open_tab(approver, "Review trail")
    expect(approver.get_by_test_id("risk-grade")).to_contain_text("A")
    expect(approver.get_by_test_id("ltv")).to_contain_text("13.40%")
    expect(approver.get_by_test_id("cost-breakdown")).to_be_visible()
    asked = []

    def dismiss(dialog):  # the first time the approver thinks again
        asked.append(dialog.message)
        dialog.dismiss()

    approver.once("dialog", dismiss)
    approver.get_by_role("button", name=zh("Approve"), exact=True).click()
    expect_stage(approver, Stage.APPROVAL)
    assert asked and case_no in asked[0] and "1,000,000.00" in asked[0], asked
    approver.once("dialog", lambda dialog: dialog.accept())
    approver.get_by_role("button", name=zh("Approve"), exact=True).click()
    expect_stage(approver, Stage.CONTRACTED)
    assert CreditCase.objects.get(case_no=case_no).stage == Stage.CONTRACTED
    open_tab(approver, "Contract and pledge")
    expect(approver.get_by_test_id("cost-breakdown")).to_contain_text(zh("Net cost to the enterprise (yuan)"))
    shot(approver, "journey-bank-approved")

    # --- the enterprise reads the decisions on its portal ---------------------------------------------
    enterprise = new_page()
    log_in(enterprise, "ent", next_url="/credit/portal/")
    decisions = enterprise.get_by_test_id("decisions")
    expect(decisions).to_contain_text(case_no)
    expect(decisions).to_contain_text(zh("Beijing time"))
    expect(decisions.locator("li")).to_have_count(2)  # passed the review; approved
    expect(enterprise.get_by_test_id("my-cases")).to_contain_text("1,000,000.00")
    expect(enterprise.get_by_test_id("my-cases").locator("thead")).to_contain_text(zh("Amount (yuan)"))
    expect_people_text(enterprise)
    shot(enterprise, "journey-bank-enterprise-decisions")
    enterprise.goto("/registry/notifications/")
    expect(enterprise.locator("main")).to_contain_text(case_no)

    # The same pages read in English.
    enterprise.goto("/credit/portal/")
    enterprise.locator("#lang-select").select_option("en")
    expect(enterprise.locator("html")).to_have_attribute("lang", "en")
    expect(enterprise.get_by_test_id("my-cases").locator("thead")).to_contain_text("Amount (yuan)")
    expect(enterprise.get_by_test_id("decisions")).to_contain_text("Beijing time")
    approver.goto(f"/credit/cases/{case_no}/?tab=trail")
    approver.locator("#lang-select").select_option("en")
    expect(approver.locator("html")).to_have_attribute("lang", "en")
    expect(approver.get_by_test_id("trail")).to_contain_text("Approved")
    expect(approver.get_by_test_id("trail")).to_contain_text("Beijing time")
    expect(approver.get_by_test_id("case-stage")).to_have_text("Contracted, pledge filed")
    expect_people_text(approver)
