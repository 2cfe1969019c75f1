"""Issue 5's credit journey in a real Chromium: an enterprise publishes a financing need, the loan
officer sees the bank's product ranked against it, works the case through due diligence, the reviewer
passes it, the approver approves it (contract, pledge filed and registered), the officer disburses in
equal instalments, and after a missed monthly payment and end of day the loan page shows DPD and
the special-mention category."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import override_settings
from playwright.sync_api import Page, expect

from ippledge.core import eod
from ippledge.core import services as core
from ippledge.credit import workflow
from ippledge.credit.labels import CASE_ACTION_LABELS, MATCH_REASON_LABELS
from ippledge.credit.lpr import shipped_fixings
from ippledge.credit.models import Classification, CreditCase, FinancingNeed, LprFixing
from ippledge.credit.workflow_models import Stage
from ippledge.valuation import services as valuation
from tests.test_credit_workflow import PRODUCT, world  # noqa: F401  (fixture)

from .conftest import RESULTS_DIR
from .test_registry_journeys import log_in, new_page, zh  # noqa: F401  (new_page is a fixture)

pytestmark = pytest.mark.browser

OPENED_ON = dt.date(2026, 3, 2)  # a Monday; the 1-year LPR in force is the 2026-02-24 fixing
MISSED_BY = dt.date(2026, 4, 3)  # the day after the first monthly instalment fell due, unpaid


def shot(page: Page, name: str) -> None:
    """A full-page PNG in test-results/, for any of the journey's browsers (the fixture shoots only ``page``)."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(RESULTS_DIR / f"{name}.png"), full_page=True)


def expect_stage(page: Page, stage: Stage) -> None:
    expect(page.get_by_test_id("case-stage")).to_have_text(zh(stage.label))
    expect(page.get_by_role("alert")).to_have_count(0)


def open_tab(page: Page, label: str) -> None:
    page.locator("nav.tabs").get_by_role("link", name=zh(label), exact=True).click()
    expect(page.locator("nav.tabs a[aria-current=page]")).to_have_text(zh(label))


def open_task(page: Page, case_no: str) -> None:
    """From the workbench's "My tasks" to the case page."""
    page.goto("/credit/")
    page.get_by_test_id("my-tasks").get_by_role("link", name=case_no).click()
    expect(page.locator("h1")).to_contain_text(case_no)


def expect_classification(page: Page, value: str) -> None:
    """The loan page's category: its state class, and its label (or, until the page shows labels, its code)."""
    badge = page.get_by_test_id("classification")
    expect(badge).to_have_class(re.compile(rf"\bstate-{value}\b"))
    label = zh(Classification(value).label)
    expect(badge).to_have_text(re.compile(rf"^\s*({re.escape(label)}|{re.escape(value)})\s*$"))


@override_settings(ALLOW_BUSINESS_DATE=True)
def test_need_to_loan_to_special_mention(page: Page, new_page, world, screenshot):  # noqa: F811
    w = world
    admin = w["admin"].user
    # A transactional test may follow others that flushed the migration-seeded LPR history.
    LprFixing.objects.bulk_create([LprFixing(fixing_date=d, tenor=t, rate=r, source="chinamoney")
                                   for d, t, r in shipped_fixings()], ignore_conflicts=True)
    core.set_business_date(actor=admin, date=OPENED_ON)
    product = workflow.create_product(actor=w["approver"].user, data=PRODUCT)

    # The enterprise publishes its financing need on the portal.
    enterprise = new_page()
    log_in(enterprise, "ent", next_url="/credit/portal/")
    enterprise.locator("#id_amount").fill("1000000")
    enterprise.locator("#id_term_months").fill("12")
    enterprise.locator("#id_purpose").fill("研发投入")
    enterprise.get_by_label(re.compile(r"201410362077")).check()  # the rights the register says it holds
    enterprise.get_by_test_id("need-form").get_by_role("button", name=zh("Publish")).click()
    expect(enterprise).to_have_url(re.compile(r"/credit/portal/$"))
    expect(enterprise.get_by_role("alert")).to_have_count(0)
    matching_link = enterprise.get_by_role("link", name=zh("Matching products"))
    expect(matching_link).to_have_count(1)
    need = FinancingNeed.objects.get()
    assert need.amount == 100_000_000 and need.term_months == 12 and need.purpose == "研发投入"
    assert [r["kind"] for r in need.rights] == ["invention"] and "201410362077" in need.rights[0]["number"]
    expect(matching_link).to_have_attribute("href", re.compile(rf"need={need.pk}$"))
    shot(enterprise, "journey-credit-need-published")

    # The loan officer sees the bank's product ranked against the need (the only product: first).
    log_in(page, "officer", next_url=f"/credit/matching/?need={need.pk}")
    matches = page.get_by_test_id("matches")
    expect(matches).to_be_visible()
    first = matches.locator("tbody tr").first
    expect(first.locator("td").nth(0)).to_contain_text(product.name)
    # Without a valuation of the patent the collateral counts at 0, so the product ranks but is not eligible.
    expect(first.locator("td").nth(4)).to_contain_text(zh(MATCH_REASON_LABELS["amount_in_range"]))
    expect(first.locator("td").nth(4)).to_contain_text(zh(MATCH_REASON_LABELS["kinds_eligible"]))
    screenshot("journey-credit-matches")

    # The officer expresses interest from the match, which opens the credit case.
    with page.expect_navigation():
        first.get_by_test_id("express-interest").click()

    case_no = CreditCase.objects.get(need=need).case_no

    # The officer attaches the bank's valuation of the pledged patent (no approval without one).
    valued = valuation.create_valuation(actor=w["officer"].user, data={
        "rights": [{"kind": "invention", "number": "ZL201410362077.3"}], "method": "income",
        "inputs": {"income": ["3000000", "3000000", "3000000"], "discount_rate": "0.1"}})
    open_task(page, case_no)
    open_tab(page, "Rights and valuation")
    page.locator("#attach-valuation_no").select_option(valued.valuation_no)
    page.get_by_role("button", name=zh("Attach valuation")).click()
    expect(page.get_by_test_id("case-valuation")).to_contain_text(valued.valuation_no)

    # Due diligence: every checklist item recorded on the case page's form, then signed off.
    expect_stage(page, Stage.DUE_DILIGENCE)
    open_tab(page, "Due diligence")
    keys = page.locator("#dd-key option").evaluate_all("options => options.map(o => o.value)")
    assert keys, "the due-diligence form lists no items"
    for key in keys:
        page.locator("#dd-key").select_option(key)
        page.locator("#dd-result").select_option("ok")
        page.locator("#dd-notes").fill("已核实")
        page.locator("#dd-evidence").fill("register-extract.pdf")
        with page.expect_navigation():  # the stage does not change: wait for the post's redirect to load
            page.get_by_role("button", name=zh("Save finding")).click()
        expect_stage(page, Stage.DUE_DILIGENCE)
        if page.locator("nav.tabs a[aria-current=page]").inner_text() != zh("Due diligence"):
            open_tab(page, "Due diligence")  # the form's redirect drops ?tab=dd
    rows = page.get_by_test_id("dd").locator("tbody tr")
    expect(rows).to_have_count(len(keys))
    for i in range(len(keys)):
        expect(rows.nth(i).locator("td").nth(2)).to_have_text(zh("No problem"))
    screenshot("journey-credit-due-diligence")
    page.locator("#risk_grade").select_option("B")
    page.get_by_role("button", name=zh("Sign off and submit for review")).click()
    expect_stage(page, Stage.REVIEW)

    # The reviewer, at another computer, passes it on the review trail.
    reviewer = new_page()
    log_in(reviewer, "reviewer")
    open_task(reviewer, case_no)
    open_tab(reviewer, "Review trail")
    expect(reviewer.get_by_test_id("trail")).to_contain_text(zh(CASE_ACTION_LABELS["submit"]))
    reviewer.get_by_role("button", name=zh("Pass"), exact=True).click()
    expect_stage(reviewer, Stage.APPROVAL)

    # The approver approves: priced, contracted, pledge filed.
    approver = new_page()
    log_in(approver, "approver")
    open_task(approver, case_no)
    open_tab(approver, "Review trail")
    expect(approver.get_by_test_id("trail").locator(".event-type")).to_have_text(
        [zh(CASE_ACTION_LABELS[a]) for a in ("open", "valuation", "submit", "pass")])
    approver.on("dialog", lambda dialog: dialog.accept())  # the approval is confirmed
    approver.get_by_role("button", name=zh("Approve"), exact=True).click()
    expect_stage(approver, Stage.CONTRACTED)
    open_tab(approver, "Review trail")
    expect(approver.get_by_test_id("trail").locator(".event-type")).to_have_text(
        [zh(CASE_ACTION_LABELS[a]) for a in ("open", "valuation", "submit", "pass", "approve", "contract")])
    shot(approver, "journey-credit-approved")

    # The enterprise signs the contract on its case page: that confirms its pledge, registered at once.
    enterprise.goto(f"/credit/cases/{case_no}/?tab=contract")
    enterprise.on("dialog", lambda dialog: dialog.accept())
    enterprise.get_by_test_id("sign-contract").click()
    expect(enterprise.get_by_test_id("sign-contract")).to_have_count(0)
    shot(enterprise, "journey-credit-signed")

    # The officer disburses in equal instalments on the contract tab.
    page.reload()
    expect_stage(page, Stage.CONTRACTED)
    open_tab(page, "Contract and pledge")
    contract = page.locator("main section.card").last
    expect(contract).to_contain_text(f"{case_no}-ZY")
    application_no = CreditCase.objects.get(case_no=case_no).pledge_application_no
    assert application_no, "approval filed no pledge application"
    expect(contract.get_by_role("link", name=application_no)).to_be_visible()
    contract.locator("select[name=schedule]").select_option("equal_instalments")
    page.on("dialog", lambda dialog: dialog.accept())  # the disbursement is confirmed
    contract.get_by_role("button", name=zh("Disburse")).click()
    expect_stage(page, Stage.DISBURSED)
    screenshot("journey-credit-disbursed")
    loan_no = CreditCase.objects.get(case_no=case_no).loan.loan_no

    # The loan page: performing.
    open_tab(page, "Loan")
    page.get_by_role("link", name=loan_no).click()
    expect(page.locator("h1")).to_contain_text(loan_no)
    expect(page.get_by_test_id("dpd")).to_have_text("0")
    expect(page.get_by_test_id("balance")).to_have_text("1,000,000.00")  # to the fen, with separators
    expect_classification(page, "normal")
    expect(page.locator("main")).to_contain_text("2026-04-02")  # the first monthly instalment
    screenshot("journey-credit-loan-normal")

    # The first instalment is missed; the business date moves on and end of day classifies the loan.
    core.set_business_date(actor=admin, date=MISSED_BY)
    runs = eod.run(business_date=MISSED_BY)
    assert runs and all(r.status == "done" for r in runs), [(r.job, r.status, r.detail) for r in runs]
    page.reload()
    dpd = page.get_by_test_id("dpd")
    expect(dpd).to_have_text(re.compile(r"^\s*[1-9]\d*\s*$"))
    assert int(dpd.inner_text()) >= 1
    expect_classification(page, "special_mention")
    screenshot("journey-credit-loan-special-mention")
