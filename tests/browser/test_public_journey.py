"""The public's journey in Chromium at 1366 px: search a pledge from the home page, open its record,
have a search certificate issued and verify it — reading what a person reads: the amount with its
unit, Beijing times with their label, Chinese labels (and the English page once)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from ippledge.registry.labels import STATUS_LABELS
from tests.registry_fixtures import PLEDGEE, PLEDGOR, make_patent

from .conftest import RESULTS_DIR, TIMEOUT_MS
from .test_registry_journeys import file_pledge, zh

pytestmark = pytest.mark.browser

NUMBER = "ZL201410362077.3"
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def person(browser, live_server):
    """``person(lang="zh-hans", viewport=DESKTOP)`` opens a fresh browser profile for another person."""
    contexts = []

    def make(lang: str = "zh-hans", viewport: dict = DESKTOP) -> Page:
        context = browser.new_context(base_url=live_server.url, locale="zh-CN" if lang == "zh-hans" else "en-GB",
                                      timezone_id="Asia/Shanghai", viewport=viewport)
        context.add_cookies([{"name": "django_language", "value": lang, "url": live_server.url}])
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.evaluate("window.innerWidth")
    assert width <= viewport, f"{page.url}: {width} px wide in a {viewport} px window"


def test_public_finds_a_pledge_opens_it_and_verifies_a_certificate(person, make_user, make_org):
    make_patent()
    reg = file_pledge(make_user, make_org).pledge.registration_no
    me = person()

    # The home page's big box searches pledges first.
    me.goto("/")
    hero = me.get_by_test_id("hero-search")
    hero.locator("input[name=q]").fill(NUMBER)
    hero.locator("button[type=submit]").click()
    expect(me).to_have_url(re.compile(r"/registry/$"))
    record = me.get_by_test_id("record")
    expect(record).to_have_count(1)
    expect(record.locator(".state")).to_have_text(zh(STATUS_LABELS["registered"]))
    expect(record.get_by_test_id("secured-amount")).to_have_text(f"5,000,000.00 {zh('yuan')}")
    expect(record).to_contain_text(zh("Beijing time"))
    expect(record).to_contain_text(zh("Invention patent"))
    expect(record).to_contain_text(PLEDGOR["name"])
    expect(record).to_contain_text(PLEDGEE["name"])

    # The record's own page.
    record.get_by_role("link", name=reg).first.click()
    expect(me).to_have_url(re.compile(rf"/registry/pledges/{reg}/$"))
    expect(me.get_by_test_id("record").get_by_test_id("secured-amount")).to_contain_text("5,000,000.00")

    # A certificate of the search, then its verification on another computer.
    me.go_back()
    me.get_by_test_id("issue-certificate").click()
    certificate = me.get_by_test_id("certificate")
    expect(certificate).to_be_visible()
    expect(certificate.get_by_test_id("issued-at")).to_contain_text(zh("Beijing time"))
    expect(certificate).not_to_contain_text("UTC")
    url = me.url
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    me.screenshot(path=str(RESULTS_DIR / "journey-public-certificate.png"), full_page=True)

    other = person()
    other.goto("/registry/certificates/verify/")
    number, code = re.search(r"no=([^&]+)&code=(.+)$", url).groups()
    other.locator("#c-no").fill(number)
    other.locator("#c-code").fill(code)
    other.locator("#c-code").press("Enter")
    expect(other.get_by_test_id("certificate").locator("h2")).to_contain_text(number)
    expect(other.get_by_test_id("record").get_by_role("link", name=reg)).to_be_visible()

    # The same certificate read in English.
    english = person("en")
    english.goto(url)
    expect(english.get_by_test_id("certificate").get_by_test_id("issued-at")).to_contain_text("Beijing time")
    expect(english.get_by_test_id("record").locator(".state")).to_have_text("Registered")
    expect(english.get_by_test_id("record").get_by_test_id("secured-amount")).to_have_text("5,000,000.00 yuan")

    # On a phone the pages fit the screen.
    phone = person(viewport=PHONE)
    verify = urlsplit(url)
    for path in ("/", f"/registry/pledges/{reg}/", f"{verify.path}?{verify.query}", f"/rights/?q={NUMBER}"):
        phone.goto(path)
        no_sideways_scroll(phone)
