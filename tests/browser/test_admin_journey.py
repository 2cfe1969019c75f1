"""The administrator's journey in a real Chromium (issue 11.13): log in and land on the admin desk, create an
organisation and a user in it, set a simulated business date and see the banner, read the end-of-day log
in Beijing time; then every other role logs in and lands on its own desk.  At 1366 px and at 390 px, in
Chinese (the default) and English."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings
from playwright.sync_api import Page, expect

from ippledge.core import services
from ippledge.core.actors import SYSTEM
from ippledge.core.models import EodRun, Organisation, User
from tests.conftest import PASSWORD, uscc

from .conftest import RESULTS_DIR
from .test_registry_journeys import log_in, new_page, zh  # noqa: F401  (new_page is a fixture)

pytestmark = pytest.mark.browser

NARROW = {"width": 390, "height": 844}
WIDE = {"width": 1366, "height": 900}


def shot(page: Page, name: str) -> None:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(RESULTS_DIR / f"{name}.png"), full_page=True)


def no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url} is {width} px wide"


@override_settings(ALLOW_BUSINESS_DATE=True)
def test_admin_runs_the_platform_from_the_desk(page: Page, make_user, make_org):
    admin = make_user("admin")
    make_org("bank", name="示范银行股份有限公司")
    page.set_viewport_size(WIDE)

    # Logging in without a destination lands on the administrator's desk.
    page.goto("/login/")
    page.locator("#id_username").fill(admin.username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/manage/$"))
    expect(page.get_by_test_id("desk-title")).to_have_text(zh("Administration"))
    expect(page.get_by_test_id("desk-todo")).to_be_visible()
    expect(page.locator("nav.mainnav a[aria-current=page]")).to_have_text(zh("Administration"))
    shot(page, "journey-admin-desk")

    # A new enterprise, its region from the USCC, labelled kind.
    page.get_by_test_id("admin-sections").get_by_role("link", name=zh("Organisations"), exact=True).click()
    page.get_by_test_id("new-org").click()
    code = uscc("91440300MA5GAD123")
    form = page.get_by_test_id("org-form")
    form.locator("#id_name").fill("深圳旅程科技有限公司")
    form.locator("#id_kind").select_option("enterprise")
    form.locator("#id_uscc").fill(code)
    form.locator("#id_size_class").select_option("small")
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/manage/organisations/$"))
    listing = page.get_by_test_id("listing-organisations")
    row = listing.locator("tbody tr", has_text="深圳旅程科技有限公司")
    expect(row).to_contain_text(zh("Enterprise"))
    expect(row.locator("td").nth(3)).to_contain_text("深圳")  # the region by name, not 440300
    org = Organisation.objects.get(uscc=code)

    # A bad USCC is refused next to its field, in words.
    page.get_by_test_id("new-org").click()
    form = page.get_by_test_id("org-form")
    form.locator("#id_name").fill("错码公司")
    form.locator("#id_uscc").fill("91440300MA5GAD12X")
    form.locator("button[type=submit]").click()
    expect(page.locator("#id_uscc-error")).to_be_visible()
    expect(page.get_by_role("alert")).not_to_contain_text("uscc")

    # A user of the new enterprise: the password is never shown back.
    page.get_by_test_id("admin-sections").get_by_role("link", name=zh("Users and roles"), exact=True).click()
    page.get_by_test_id("new-user").click()
    form = page.get_by_test_id("user-form")
    form.locator("#id_username").fill("journey-ent")
    form.locator("#id_display_name").fill("李会计")
    form.locator("#id_organisation").select_option(str(org.pk))
    form.get_by_label(zh("Enterprise user"), exact=True).check()
    form.locator("#id_password").fill("Journey-pass-2026!")
    form.locator("#id_password2").fill("Journey-pass-2026!")
    form.locator("button[type=submit]").click()
    expect(page.get_by_test_id("account-username")).to_have_text("journey-ent")
    expect(page.get_by_test_id("account-roles")).to_have_text(zh("Enterprise user"))
    assert "Journey-pass-2026!" not in page.content()
    assert User.objects.get(username="journey-ent").organisation_id == org.pk

    # Simulation: set a business date and every page warns.
    page.get_by_test_id("admin-sections").get_by_role("link", name=zh("Business date"), exact=True).click()
    form = page.get_by_test_id("business-date-form")
    form.locator("#id_date").fill("2026-10-20")
    form.locator("button[type=submit]").click()
    banner = page.get_by_test_id("simulation-banner")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("2026-10-20")
    expect(page.get_by_test_id("business-date-value")).to_contain_text("2026-10-20")
    shot(page, "journey-admin-business-date")

    # End of day for the simulated date; the log in Beijing time, jobs and states in words.
    page.get_by_test_id("admin-sections").get_by_role("link", name=zh("End-of-day log"), exact=True).click()
    page.get_by_test_id("eod-form").locator("#id_date").fill("2026-10-20")
    page.get_by_test_id("eod-form").locator("button[type=submit]").click()
    log = page.get_by_test_id("eod-log")
    expect(log.locator("tbody tr").first).to_contain_text("2026-10-20")
    expect(log).to_contain_text(zh("Beijing time"))
    expect(log).not_to_contain_text("credit.classify_loans")
    assert EodRun.objects.filter(business_date="2026-10-20").exists()
    expect(page.get_by_test_id("simulation-banner")).to_be_visible()
    shot(page, "journey-admin-eod")

    # At 390 px nothing scrolls sideways, in Chinese and in English.
    page.set_viewport_size(NARROW)
    for path in ("/manage/", "/manage/organisations/", "/manage/users/", "/manage/eod/", "/manage/calendar/",
                 "/manage/business-date/", "/credit/products/", "/credit/lpr/"):
        page.goto(path)
        no_sideways_scroll(page)
    shot(page, "journey-admin-lpr-390")
    page.locator("#lang-select").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto("/manage/")
    expect(page.get_by_test_id("desk-title")).to_have_text("Administration")
    expect(page.get_by_test_id("simulation-banner")).to_contain_text("Simulation")
    no_sideways_scroll(page)

    # Clearing the simulation takes the banner away.
    page.goto("/manage/business-date/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("clear-business-date").click()
    expect(page.get_by_test_id("simulation-banner")).to_have_count(0)


DESKS = [
    ("registrar", "ip_office", r"/registry/queue/$"),
    ("bank_officer", "bank", r"/credit/$"),
    ("bank_reviewer", "bank", r"/credit/$"),
    ("bank_approver", "bank", r"/credit/$"),
    ("enterprise_user", "enterprise", r"/credit/portal/$"),
    ("appraiser", "appraisal_agency", r"/valuation/records/$"),
    ("regulator_user", "regulator", r"/reports/$"),
    ("insurer_user", "insurer", r"/desk/insurer/$"),
    ("fund_manager", "risk_fund", r"/desk/fund/$"),
]


def test_every_role_lands_on_its_own_desk(new_page, make_user, make_org):  # noqa: F811
    people = [(make_user(role, kind).username, pattern) for role, kind, pattern in DESKS]
    exchange = make_org("ip_exchange", name="示范知识产权交易中心")
    services.create_user(actor=SYSTEM, username="exchange-staff", password=PASSWORD, org_id=exchange.pk, roles=[])
    people.append(("exchange-staff", r"/desk/exchange/$"))
    for username, pattern in people:
        page = new_page()
        page.set_viewport_size(NARROW)
        log_in(page, username)
        expect(page).to_have_url(re.compile(pattern))
        expect(page.locator("nav.mainnav a[aria-current=page]")).to_have_count(1)
        if "/desk/" in pattern:
            expect(page.get_by_test_id("desk-coming")).to_be_visible()
            no_sideways_scroll(page)
            shot(page, f"journey-desk-{username}")
