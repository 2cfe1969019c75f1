"""End-to-end journeys through the pledge registry pages, in a real Chromium: a bank files and sees
the pledge registered, the public searches and verifies a certificate, two registrars revoke a case."""

from __future__ import annotations

import datetime as dt
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import translation
from playwright.sync_api import Page, expect

from ippledge.core import business_date
from ippledge.registry import services as registry
from ippledge.registry.labels import STATUS_LABELS
from ippledge.registry.models import Pledge
from tests.conftest import PASSWORD
from tests.registry_fixtures import BANK_USCC, PLEDGEE, PLEDGOR, PLEDGOR_USCC, application, make_patent

from .conftest import TIMEOUT_MS

pytestmark = pytest.mark.browser

NUMBER = "ZL201410362077.3"
REGISTERED_WITHIN_S = 1.0  # the promise: filed in the browser, registered in under a second


def debt_due() -> str:
    """A year ahead: due after filing, and well inside the patent's term (ends 2034)."""
    return (business_date.today() + dt.timedelta(days=365)).isoformat()


def zh(text) -> str:
    """What a Chinese page shows for a message (the English text until the catalog translates it)."""
    with translation.override("zh-hans"):
        return translation.gettext(str(text))


def log_in(page: Page, username: str, password: str = PASSWORD, next_url: str = "") -> None:
    page.goto("/login/" + (f"?next={next_url}" if next_url else ""))
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_test_id("user-chip")).to_be_visible()


@pytest.fixture
def new_page(browser, live_server):
    """``new_page()`` opens another fresh browser profile (another person at another computer)."""
    contexts = []

    def make() -> Page:
        context = browser.new_context(base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                      viewport={"width": 1280, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def assert_pdf(page: Page, href: str | None) -> None:
    assert href, "no link to the PDF"
    response = page.request.get(href)
    assert response.ok, f"{href}: HTTP {response.status}"
    assert response.headers["content-type"].startswith("application/pdf")
    assert response.body().startswith(b"%PDF")


def parties(make_user, make_org):
    """The bank (pledgee) and the enterprise (pledgor) as platform organisations, each with a user."""
    bank = make_org("bank", name=PLEDGEE["name"], uscc=BANK_USCC)
    enterprise = make_org("enterprise", name=PLEDGOR["name"], uscc=PLEDGOR_USCC)
    return (make_user("bank_officer", "bank", username="officer", org=bank),
            make_user("enterprise_user", "enterprise", username="pledgor", org=enterprise))


def file_pledge(make_user, make_org, **over):
    """Filed by the bank and confirmed by the enterprise's own user, through the services."""
    officer, pledgor = parties(make_user, make_org)
    app = registry.file_application(actor=officer, data=application(debt_due_date=debt_due(), **over))
    return registry.confirm(actor=pledgor, application_no=app.application_no, side="pledgor")


def test_bank_officer_files_a_pledge_and_sees_it_registered(page: Page, new_page, make_user, make_org, screenshot):
    make_patent()
    officer, pledgor = parties(make_user, make_org)

    log_in(page, officer.username)
    page.goto("/registry/applications/new/")
    # The pledgor is found in the register by part of its name, and its patent is ticked from its rights.
    picker = page.get_by_test_id("pledgor-search")
    picker.locator("#id_pledgor_q").fill("示范科技")
    picker.locator("button[type=submit]").click()
    page.get_by_test_id("pledgor-results").get_by_role("link", name=PLEDGOR["name"]).click()
    expect(page.get_by_test_id("pledgor-chosen")).to_contain_text(PLEDGOR_USCC)
    form = page.get_by_test_id("application-form")
    expect(form).to_be_visible()
    option = form.get_by_test_id("right-option").filter(has_text=NUMBER)
    expect(option).to_contain_text(zh("Invention patent"))
    option.locator("input[type=checkbox]").check()
    expect(page.locator("#id_pledgor_address")).to_have_value(PLEDGOR["address"])
    expect(page.get_by_test_id("pledgee-chosen")).to_contain_text(PLEDGEE["name"])
    page.locator("#id_pledgee_address").fill(PLEDGEE["address"])
    page.locator("#id_debt_amount").fill("5000000")
    page.locator("#id_debt_due_date").fill(debt_due())
    page.locator("#id_contract_no").fill("ZY-2026-001")
    # Both parties' confirmations are ticked on a fresh form.
    expect(form.locator("input[name=confirm_pledgor]")).to_be_checked()
    expect(form.locator("input[name=confirm_pledgee]")).to_be_checked()
    screenshot("journey-filing-form")

    page.get_by_test_id("submit-application").click()
    # The bank's filing speaks for the bank only: the application waits for the pledgor.
    waiting = page.get_by_test_id("awaiting-confirmation")
    expect(waiting).to_contain_text(PLEDGOR["name"])
    expect(page.get_by_test_id("confirm-pledgor")).to_have_count(0)
    application_url = page.url

    # The enterprise's own user confirms, at another computer; examination is instant.
    other = new_page()
    log_in(other, pledgor.username, next_url=urlsplit(application_url).path)
    other.on("dialog", lambda dialog: dialog.accept())
    registered = other.get_by_test_id("registered")
    started = time.perf_counter()
    other.get_by_test_id("confirm-pledgor").click()
    registered.wait_for(state="visible")
    elapsed = time.perf_counter() - started
    page.reload()
    registered = page.get_by_test_id("registered")
    assert elapsed < REGISTERED_WITHIN_S, f"registered after {elapsed:.2f} s, promised under {REGISTERED_WITHIN_S} s"

    pledge = Pledge.objects.get()
    expect(page.get_by_test_id("application-status")).to_have_text(zh(STATUS_LABELS["registered"]))
    expect(page.get_by_test_id("registration-no")).to_have_text(pledge.registration_no)
    expect(page.get_by_role("alert")).to_have_count(0)
    screenshot("journey-pledge-registered")

    notice = registered.locator("a[href$='notice.pdf']")
    expect(notice).to_have_text(zh("Registration notice (PDF)"))
    assert_pdf(page, notice.get_attribute("href"))

    # On a phone the application page and the filing form fit the screen.
    page.set_viewport_size({"width": 390, "height": 844})
    for path in (urlsplit(application_url).path, f"/registry/applications/new/?pledgor=uscc:{PLEDGOR_USCC}"):
        page.goto(path)
        width, window = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width <= window, f"{path}: {width} px wide in a {window} px window"


def test_public_searches_and_verifies_a_certificate(page: Page, new_page, make_user, make_org, screenshot):
    make_patent()
    reg = file_pledge(make_user, make_org).pledge.registration_no

    page.goto("/registry/")
    search = page.get_by_test_id("search-form")
    search.locator("#s-right").fill("2014103620773")  # the number written without "ZL" and the dot
    search.locator("button[type=submit]").click()
    record = page.get_by_test_id("record")
    expect(record).to_have_count(1)
    expect(record.get_by_role("link", name=reg)).to_be_visible()
    expect(record).to_contain_text("201410362077.3")  # the record lists rights by their bare number
    expect(record.locator(".state")).to_have_text(zh(STATUS_LABELS["registered"]))

    page.get_by_test_id("issue-certificate").click()
    expect(page).to_have_url(re.compile(r"/registry/certificates/verify/\?no=.+&code=.+"))
    certificate = page.get_by_test_id("certificate")
    expect(certificate).to_be_visible()
    query = parse_qs(urlsplit(page.url).query)
    number, code = query["no"][0], query["code"][0]
    expect(certificate.locator("h2")).to_contain_text(number)
    expect(page.get_by_test_id("record").get_by_role("link", name=reg)).to_be_visible()
    screenshot("journey-certificate")
    assert_pdf(page, certificate.locator("a[href*='.pdf']").get_attribute("href"))

    # Someone else, handed the certificate number and code, checks it on their own computer.
    other = new_page()
    other.goto("/registry/certificates/verify/")
    expect(other.get_by_test_id("certificate")).to_have_count(0)
    other.locator("#c-no").fill(number)
    other.locator("#c-code").fill(code)
    other.locator("#c-code").press("Enter")
    expect(other.get_by_test_id("certificate").locator("h2")).to_contain_text(number)
    expect(other.get_by_test_id("record").get_by_role("link", name=reg)).to_be_visible()
    expect(other.get_by_role("alert")).to_have_count(0)

    # A wrong code proves nothing: an error, and no certificate shown.
    other.locator("#c-code").fill("000000000000" if code != "000000000000" else "111111111111")
    other.locator("main form button[type=submit]").click()
    expect(other.get_by_role("alert")).to_be_visible()
    expect(other.get_by_test_id("certificate")).to_have_count(0)
    expect(other.get_by_test_id("record")).to_have_count(0)


def test_registrars_revoke_a_flagged_pledge_with_maker_checker(page: Page, new_page, make_user, make_org,
                                                               screenshot):
    make_patent(events=[{"type": "invalidation_requested", "date": "2025-01-01"}])
    app = file_pledge(make_user, make_org, declarations={"invalidation_pending": True})
    assert app.status == "registered" and app.needs_review
    app_no, reg = app.application_no, app.pledge.registration_no
    maker = make_user("registrar", "ip_office", username="registrar-a")
    checker = make_user("registrar", "ip_office", username="registrar-b")
    assert maker.organisation_id == checker.organisation_id
    reason = "质押合同系伪造"

    # Registrar A (the maker) finds the case in the queue and proposes to revoke.
    log_in(page, maker.username, next_url="/registry/queue/")
    queue = page.get_by_test_id("queue")
    expect(queue.locator("tbody tr")).to_have_count(1)
    queue.get_by_role("link", name=app_no).click()
    expect(page.locator("h1")).to_contain_text(app_no)
    expect(page.get_by_test_id("pending-proposal")).to_have_count(0)
    page.locator("#r-action").select_option("revoke")
    page.locator("#r-reason").fill(reason)
    page.locator("#r-reason").locator("xpath=ancestor::form").locator("button[type=submit]").click()
    pending = page.get_by_test_id("pending-proposal")
    expect(pending).to_contain_text(maker.username)
    expect(pending).to_contain_text(reason)
    expect(page.get_by_role("alert")).to_have_count(0)
    screenshot("journey-review-proposed")

    # Registrar B (the checker, same office) opens the case on their own computer and confirms.
    other = new_page()
    log_in(other, checker.username, next_url="/registry/queue/")
    other.get_by_test_id("queue").get_by_role("link", name=app_no).click()
    pending = other.get_by_test_id("pending-proposal")
    expect(pending).to_contain_text(maker.username)
    expect(pending).to_contain_text(reason)
    other.locator("button[name=accept][value='1']").click()
    expect(other.get_by_test_id("pending-proposal")).to_have_count(0)
    expect(other.get_by_role("alert")).to_have_count(0)
    registration = other.locator("dd").filter(has=other.get_by_role("link", name=reg))
    expect(registration).to_contain_text(zh(STATUS_LABELS["revoked"]))
    expect(other.locator("main")).to_contain_text(zh("confirmed by"))

    # The case has left the queue, and the public record says the pledge is revoked.
    other.goto("/registry/queue/")
    expect(other.get_by_test_id("queue").get_by_role("link", name=app_no)).to_have_count(0)
    page.goto(f"/registry/pledges/{reg}/")
    expect(page.get_by_test_id("record").locator(".state")).to_have_text(zh(STATUS_LABELS["revoked"]))
    assert Pledge.objects.get(registration_no=reg).status == "revoked"
