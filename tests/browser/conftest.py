"""Browser journeys: Playwright's sync API driving Debian's Chromium against Django's live server.

Chromium is found at ``$IPPLEDGE_CHROMIUM`` or ``/usr/bin/chromium`` (Debian's ``chromium``
package); Playwright never downloads a browser of its own.  Without Chromium the journeys are
skipped locally, but fail under CI (``CI=true``) or when ``IPPLEDGE_REQUIRE_BROWSER=1``, so a CI
run cannot pass without them.

Screenshots go to ``test-results/`` (one per journey, and one of any failed journey).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEFAULT_CHROMIUM = "/usr/bin/chromium"
RESULTS_DIR = Path(__file__).resolve().parents[2] / "test-results"
TIMEOUT_MS = 15_000


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def browser_required() -> bool:
    return _truthy(os.environ.get("IPPLEDGE_REQUIRE_BROWSER")) or _truthy(os.environ.get("CI"))


def find_chromium() -> str | None:
    candidate = os.environ.get("IPPLEDGE_CHROMIUM") or DEFAULT_CHROMIUM
    return shutil.which(candidate)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture(scope="package")
def _allow_sync_orm_in_tests() -> Iterator[None]:
    """Playwright's sync API keeps an asyncio loop on the test thread; Django would then refuse ORM
    calls from tests (and the database flush between them).  Allowed only while journeys run."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="package")
def chromium_executable() -> str:
    path = find_chromium()
    if path is None:
        where = os.environ.get("IPPLEDGE_CHROMIUM") or DEFAULT_CHROMIUM
        message = (
            f"No Chromium executable at {where!r}. To run the browser journeys, install Debian's "
            "Chromium (`apt-get install chromium`) or set IPPLEDGE_CHROMIUM to a Chromium binary."
        )
        if browser_required():
            pytest.fail(message + " (Required here because CI or IPPLEDGE_REQUIRE_BROWSER is set.)",
                        pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture(scope="package")
def browser(_allow_sync_orm_in_tests, chromium_executable):
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_executable, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(autouse=True)
def _seeded_rows(request):
    """Every journey starts with the rows the migrations seed: a transactional test before it flushed the
    database, the shipped LPR fixings with it (a case is priced with them; approval is 404 lpr_not_found
    without)."""
    if "live_server" in request.fixturenames:
        request.getfixturevalue("live_server")
        from ippledge.credit.lpr import shipped_fixings
        from ippledge.credit.models import LprFixing

        LprFixing.objects.bulk_create([LprFixing(fixing_date=d, tenor=t, rate=r, source="chinamoney")
                                       for d, t, r in shipped_fixings()], ignore_conflicts=True)
    yield


@pytest.fixture
def page(request, browser, live_server):
    """A fresh browser profile (no cookies) per journey, speaking Chinese like our users' browsers."""
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                  viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    report = getattr(request.node, "rep_call", None)
    failed_shot = RESULTS_DIR / f"FAILED-{request.node.name}.png"
    if report is not None and report.failed:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(Exception):  # a failed screenshot must not hide the real failure
            page.screenshot(path=str(failed_shot), full_page=True)
    else:
        failed_shot.unlink(missing_ok=True)  # no stale picture of a failure that is fixed
    context.close()


@pytest.fixture
def screenshot(page):
    """``screenshot("login")`` saves a full-page PNG into test-results/ for humans to look at."""

    def take(name: str) -> Path:
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        path = RESULTS_DIR / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
