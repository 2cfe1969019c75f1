"""End-to-end journeys through the pages, in a real Chromium: what each role's user does and sees."""

from __future__ import annotations

import re

import pytest
from django.utils import translation
from playwright.sync_api import Page, expect

from ippledge.core.actors import SYSTEM
from ippledge.rights import services as rights
from ippledge.rights.labels import EVENT_LABELS
from ippledge.rights.models import LegalEvent
from tests.conftest import PASSWORD, uscc

pytestmark = pytest.mark.browser

NUMBER = "201410362077.3"  # normalised; shown as ZL201410362077.3
OTHER_NUMBER = "202010123456.2"


def zh(text) -> str:
    """What a Chinese page shows for a message (the English text until the catalog translates it)."""
    with translation.override("zh-hans"):
        return translation.gettext(str(text))


def make_patent(number: str = NUMBER, title: str = "一种锂电池极片涂布方法"):
    return rights.create_right(actor=SYSTEM, data={
        "kind": "invention", "number": number, "title": title,
        "filing_date": "2014-07-22", "grant_date": "2016-05-11", "annuity_paid_through": "2030-07-21",
        "owners": [{"name": "杭州示例科技有限公司", "id_type": "uscc", "id_number": uscc("91330100MA27XYQ12")}],
    })


def log_in(page: Page, username: str, password: str = PASSWORD, next_url: str = "") -> None:
    page.goto("/login/" + (f"?next={next_url}" if next_url else ""))
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator("main form button[type=submit]").click()


def test_bank_officer_logs_in_and_out(page: Page, make_user, screenshot):
    officer = make_user("bank_officer")

    log_in(page, officer.username, "not-the-password")
    alert = page.get_by_role("alert")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text(zh("Wrong username or password."))
    expect(page.get_by_test_id("user-chip")).to_have_count(0)

    log_in(page, officer.username)
    chip = page.get_by_test_id("user-chip")
    expect(chip).to_be_visible()
    expect(chip).to_contain_text(officer.username)
    expect(page.get_by_role("alert")).to_have_count(0)
    screenshot("journey-login")

    page.locator("form[action$='/logout/'] button[type=submit]").click()
    expect(page.get_by_test_id("user-chip")).to_have_count(0)
    expect(page.locator(".topbar a[href^='/login/']")).to_be_visible()


def test_visitor_switches_language(page: Page, screenshot):
    html, nav = page.locator("html"), page.locator("nav.mainnav")

    page.goto("/rights/")
    expect(html).to_have_attribute("lang", "zh-CN")
    expect(nav).to_contain_text("首页")
    expect(nav).to_contain_text("知识产权登记簿")

    page.locator("#lang-select").select_option("en")  # submits itself
    expect(html).to_have_attribute("lang", "en")
    expect(nav).to_contain_text("Home")
    expect(nav).to_contain_text("IP-rights register")
    expect(page).to_have_url(re.compile(r"/rights/$"))  # the switch keeps the reader on the same page
    screenshot("journey-language-en")

    page.locator("#lang-select").select_option("zh-hans")
    expect(html).to_have_attribute("lang", "zh-CN")
    expect(nav).to_contain_text("首页")
    expect(nav).not_to_contain_text("Home")


def test_visitor_finds_a_right_and_reads_its_history(page: Page, db, screenshot):
    patent = make_patent()
    rights.record_event(actor=SYSTEM, right=patent, data={"type": "invalidation_requested", "date": "2024-03-05"})
    make_patent(OTHER_NUMBER, title="另一项发明")

    page.goto("/rights/")
    # Another normal form of the number than the register shows: no "ZL", no dot.
    page.locator("#q").fill("2014103620773")
    page.locator("form[role=search] button[type=submit]").click()
    results = page.locator("table.data-table tbody")
    expect(results.get_by_role("link", name="ZL201410362077.3")).to_be_visible()
    expect(results).not_to_contain_text("ZL202010123456.2")
    expect(results.locator("tr")).to_have_count(1)

    results.get_by_role("link", name="ZL201410362077.3").click()
    expect(page.get_by_test_id("right-number")).to_have_text("ZL201410362077.3")
    state = page.get_by_test_id("legal-state")
    expect(state).to_contain_text(zh("In force"))
    expect(state).to_contain_text(zh("Invalidation pending"))
    timeline = page.get_by_test_id("timeline")
    expect(timeline.locator("li")).to_have_count(1)
    expect(timeline).to_contain_text("2024-03-05")
    expect(timeline).to_contain_text(zh(EVENT_LABELS["invalidation_requested"]))
    # Anonymous visitors get no recording form.
    expect(page.locator("#ev-type")).to_have_count(0)
    screenshot("journey-browse-right")


def test_registrar_records_an_event_and_a_bad_one_is_refused(page: Page, make_user, screenshot):
    registrar = make_user("registrar", "ip_office")
    patent = make_patent()
    detail = f"/rights/invention/{NUMBER}/"

    log_in(page, registrar.username, next_url=detail)
    expect(page.get_by_test_id("right-number")).to_have_text("ZL201410362077.3")
    timeline = page.get_by_test_id("timeline")

    page.locator("#ev-type").select_option("licensed")
    page.locator("#ev-date").fill("2024-06-01")
    page.locator("#ev-type").locator("xpath=ancestor::form").locator("button[type=submit]").click()
    expect(timeline).to_contain_text(zh(EVENT_LABELS["licensed"]))
    expect(timeline).to_contain_text("2024-06-01")
    expect(page.get_by_role("alert")).to_have_count(0)
    assert list(LegalEvent.objects.filter(right=patent).values_list("type", flat=True)) == ["licensed"]

    # Nothing is suspended, so nothing can be lifted: refused on the page, nothing written.
    page.locator("#ev-type").select_option("suspension_lifted")
    page.locator("#ev-date").fill("2024-07-01")
    page.locator("#ev-type").locator("xpath=ancestor::form").locator("button[type=submit]").click()
    alert = page.get_by_role("alert")
    expect(alert).to_be_visible()
    expect(alert).to_contain_text(zh("There is nothing open at that date for this event to lift or close."))
    expect(timeline).not_to_contain_text(zh(EVENT_LABELS["suspension_lifted"]))
    expect(timeline.locator("li")).to_have_count(1)
    screenshot("journey-registrar-event")
    assert list(LegalEvent.objects.filter(right=patent).values_list("type", flat=True)) == ["licensed"]
