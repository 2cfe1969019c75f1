"""Issue 12's bank journey in a real Chromium: from the desk, the loan officer opens the collateral monitor,
sees the pledged right at risk and what to do today, opens the overdue alert, acknowledges it and resolves
it (confirming first); the inbox then lists it as resolved.  In Chinese at 1366 px, and in English at
390 px, where nothing scrolls sideways; the regulator reads the same alert without forms."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from ippledge.monitoring.models import AlertKind, AlertStatus, Resolution, Severity
from tests.test_credit_collateral import others  # noqa: F401  (fixture)
from tests.test_credit_workflow import world  # noqa: F401  (fixture)
from tests.test_monitoring_pages import book  # noqa: F401  (fixture)

from .test_bank_journeys import expect_people_text, no_sideways_scroll
from .test_credit_journey import shot
from .test_registry_journeys import log_in, new_page, zh  # noqa: F401  (new_page is a fixture)

pytestmark = pytest.mark.browser


def _en(text) -> str:
    """What an English page shows for a message."""
    from django.utils import translation

    with translation.override("en"):
        return str(text)


def test_officer_works_an_alert_from_the_monitor(page: Page, new_page, book, live_server):  # noqa: F811
    grace = book["alerts"]["grace"]

    # --- Chinese, 1366 px: desk → monitor → what to do today → the alert ---------------------------------
    page.set_viewport_size({"width": 1366, "height": 900})
    log_in(page, "officer", next_url="/credit/")
    expect(page.get_by_test_id("desk-alerts")).to_contain_text("3")
    page.get_by_test_id("desk-monitor").click()
    expect(page).to_have_url(re.compile(r"/monitoring/$"))
    monitor = page.get_by_test_id("listing-collateral-monitor")
    expect(monitor.locator("tbody tr")).to_have_count(1)
    row = monitor.locator("tbody tr").first
    expect(row).to_contain_text(book["reg"])
    expect(row).to_contain_text("ZL201410362077.3")
    expect(row).to_contain_text(zh(Severity.CRITICAL.label))
    expect(page.get_by_test_id("monitor-at-risk")).to_have_text("1")
    today = page.get_by_test_id("todo-today")
    expect(today).to_contain_text(zh(AlertKind.ANNUITY_GRACE.label))
    expect(today).to_contain_text(zh("Overdue"))
    expect_people_text(page)
    shot(page, "monitoring-monitor-zh-1366")
    today.get_by_role("link", name=zh(AlertKind.ANNUITY_GRACE.label)).click()
    expect(page.get_by_test_id("required-action")).to_be_visible()
    expect(page.get_by_test_id("alert-status")).to_have_text(zh(AlertStatus.OPEN.label))

    page.get_by_test_id("acknowledge").click()
    expect(page.get_by_test_id("alert-status")).to_have_text(zh(AlertStatus.ACKNOWLEDGED.label))
    form = page.get_by_test_id("resolve-form")
    form.locator("select[name=resolution]").select_option(Resolution.REMEDIED.value)
    form.locator("textarea[name=note]").fill("质权人已核实年费缴纳凭证")
    dialogs = []
    page.once("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    page.get_by_test_id("resolve").click()
    expect(page.get_by_test_id("alert-status")).to_contain_text(zh(AlertStatus.RESOLVED.label))
    expect(page.get_by_test_id("alert-note")).to_have_text("质权人已核实年费缴纳凭证")
    assert dialogs, "resolving asks for confirmation first"
    expect(page.get_by_test_id("resolve-form")).to_have_count(0)
    grace.refresh_from_db()
    assert grace.status == "resolved" and grace.resolution == "remedied"

    # The inbox: the resolved alert last; the overdue filter no longer finds it.
    page.goto("/monitoring/alerts/?overdue=yes")
    expect(page.get_by_test_id("listing-alerts").locator("tbody")).not_to_contain_text(f"#{grace.pk}")

    # --- Chinese at 390 px, then English at 390 and 1366 px ------------------------------------------------
    page.set_viewport_size({"width": 390, "height": 844})
    for url in ("/monitoring/", "/monitoring/alerts/", f"/monitoring/alerts/{grace.pk}/"):
        page.goto(url)
        no_sideways_scroll(page, url)
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": live_server.url}])
    page.goto("/monitoring/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text(_en("Collateral monitor"))
    expect(page.get_by_test_id("listing-collateral-monitor").locator("tbody tr").first) \
        .to_contain_text(_en(Severity.CRITICAL.label))
    no_sideways_scroll(page, "the collateral monitor")
    shot(page, "monitoring-monitor-en-390")
    page.goto("/monitoring/alerts/")
    inbox = page.get_by_test_id("listing-alerts")
    expect(inbox.locator("tbody tr").first).to_contain_text(_en(AlertKind.INVALIDATION_REQUESTED.label))
    expect(inbox.locator("tbody tr").last).to_contain_text(_en(AlertStatus.RESOLVED.label))
    no_sideways_scroll(page, "the alert inbox")
    inbox.locator("tbody tr").first.get_by_role("link").first.click()
    expect(page.get_by_test_id("resolve-form")).to_be_visible()
    no_sideways_scroll(page, "an alert's page")
    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/monitoring/")
    # The overdue alert is resolved; the critical invalidation request, not yet taken on, is today's work.
    today = page.get_by_test_id("todo-today")
    expect(today).to_contain_text(_en(AlertKind.INVALIDATION_REQUESTED.label))
    expect(today).not_to_contain_text(_en(AlertKind.ANNUITY_GRACE.label))

    # --- the regulator reads the same alert, without forms -------------------------------------------------
    regulator = new_page()
    regulator.set_viewport_size({"width": 1366, "height": 900})
    log_in(regulator, "regulator", next_url=f"/monitoring/alerts/{book['alerts']['invalidation'].pk}/")
    expect(regulator.get_by_test_id("read-only")).to_be_visible()
    expect(regulator.get_by_test_id("resolve-form")).to_have_count(0)
    regulator.goto("/monitoring/")
    expect(regulator.get_by_test_id("listing-collateral-monitor")).to_contain_text(book["bank"].name)
