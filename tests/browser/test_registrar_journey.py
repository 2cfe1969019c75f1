"""The registrar's journey in Chromium at 1366 px: the queue (a listing with Beijing times), the
review page that chooses no decision for them, a proposal, and the second registrar's confirmation
— reading what a person reads (labels in Chinese, the amount with its unit; the queue once in English)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from ippledge.registry.models import Pledge
from tests.registry_fixtures import PLEDGOR, make_patent

from .conftest import RESULTS_DIR
from .test_public_journey import DESKTOP, PHONE, no_sideways_scroll, person  # noqa: F401 - the fixture
from .test_registry_journeys import file_pledge, log_in, zh

pytestmark = pytest.mark.browser


def test_registrar_reviews_a_case_from_the_queue_and_a_second_registrar_decides(person, make_user,  # noqa: F811
                                                                                  make_org):
    make_patent(events=[{"type": "invalidation_requested", "date": "2025-01-01"}])
    app = file_pledge(make_user, make_org, declarations={"invalidation_pending": True})
    assert app.needs_review
    maker = make_user("registrar", "ip_office", username="registrar-a")
    checker = make_user("registrar", "ip_office", username="registrar-b")

    me: Page = person(viewport=DESKTOP)
    log_in(me, maker.username, next_url="/registry/queue/")
    queue = me.get_by_test_id("queue")
    expect(queue.get_by_test_id("listing-count")).to_be_visible()
    row = queue.locator("tbody tr").filter(has_text=app.application_no)
    expect(row).to_contain_text(zh("Beijing time"))
    expect(row).to_contain_text(str(app.get_status_display()))
    row.get_by_role("link", name=app.application_no).click()

    # What was filed, as a person reads it.
    filed = me.get_by_test_id("filed")
    expect(filed.get_by_test_id("filed-amount")).to_have_text(f"5,000,000.00 {zh('yuan')}")
    expect(filed.get_by_test_id("filed-rights")).to_contain_text(zh("Invention patent"))
    expect(filed.get_by_test_id("filed-rights")).to_contain_text("ZL201410362077.3")
    expect(filed.get_by_test_id("filed-pledgors")).to_contain_text(PLEDGOR["name"])
    expect(filed.get_by_test_id("filed-at")).to_contain_text(zh("Beijing time"))

    # No decision is chosen for the registrar: proposing without one is a form error.
    form = me.get_by_test_id("review-form")
    expect(form.locator("#r-action")).to_have_value("")
    form.locator("#r-reason").fill("质押合同系伪造")
    form.locator("button[type=submit]").click()
    expect(me.locator(".field-error")).to_contain_text(zh("Choose a decision."))
    expect(me.get_by_test_id("pending-proposal")).to_have_count(0)

    me.get_by_test_id("review-form").locator("#r-action").select_option("revoke")
    expect(me.get_by_test_id("review-form").locator("#r-reason")).to_have_value("质押合同系伪造")
    me.get_by_test_id("review-form").locator("button[type=submit]").click()
    expect(me.get_by_test_id("pending-proposal")).to_contain_text(maker.username)
    expect(me.get_by_test_id("pending-proposal")).to_contain_text(zh("Beijing time"))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    me.screenshot(path=str(RESULTS_DIR / "journey-registrar-review.png"), full_page=True)

    # The second registrar confirms at another computer, reading the queue in English first.
    other = person("en")
    log_in(other, checker.username, next_url="/registry/queue/")
    english_row = other.get_by_test_id("queue").locator("tbody tr").filter(has_text=app.application_no)
    expect(english_row).to_contain_text("Beijing time")
    english_row.get_by_role("link", name=app.application_no).click()
    expect(other.get_by_test_id("pending-proposal")).to_contain_text("Revoke")
    other.locator("button[name=accept][value='1']").click()
    expect(other.get_by_test_id("pending-proposal")).to_have_count(0)
    expect(other.get_by_role("alert")).to_have_count(0)
    expect(other.locator("main")).to_contain_text("confirmed by")
    reg = Pledge.objects.get().registration_no
    assert Pledge.objects.get(registration_no=reg).status == "revoked"

    # The case has left the queue.
    other.goto("/registry/queue/")
    expect(other.get_by_test_id("queue").get_by_role("link", name=app.application_no)).to_have_count(0)

    # On a phone the queue and the review page fit the screen (tables scroll inside their card).
    me.set_viewport_size(PHONE)
    for path in ("/registry/queue/", f"/registry/queue/{app.application_no}/"):
        me.goto(path)
        no_sideways_scroll(me)
