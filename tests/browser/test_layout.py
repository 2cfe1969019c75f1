"""Every role's main pages fit the screen (issue 11.10, 11.12): on a 390 px phone and a 1366 px laptop
the page never scrolls sideways (``document.documentElement.scrollWidth`` ≤ the viewport width) —
wide tables scroll inside their own box, the navigation folds into a menu, forms stack.

The pages are those of the demo region, as each demo login sees them: its navigation and the detail
pages of its work (a case, a loan, a pledge, a right, a valuation).  A failure names each page that
overflows, by how much, and the elements that stick out, so a developer sees what to fix.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

pytestmark = pytest.mark.browser

VIEWPORTS = ((390, 844), (1366, 900))
SKIP = ("/logout/", "/i18n/", "/api/", "/static/", "/login/")

# URL prefix → why it still overflows (to be emptied; the lead's report names what remains).
KNOWN: dict[str, str] = {}

# The elements that stick out past the right edge of the viewport, innermost first.
OFFENDERS_JS = """(vw) => {
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.right <= vw + 1) continue;
    // an element inside a box that scrolls sideways is that box's business, not the page's
    let p = el.parentElement, inside = false;
    while (p && p !== document.body) {
      const s = getComputedStyle(p);
      if ((s.overflowX === 'auto' || s.overflowX === 'scroll' || s.overflowX === 'hidden')
          && p.getBoundingClientRect().right <= vw + 1) { inside = true; break; }
      p = p.parentElement;
    }
    if (inside) continue;
    if ([...el.children].some(c => c.getBoundingClientRect().right > vw + 1)) continue;
    const cls = el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
    const text = (el.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 40);
    out.push(`${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${cls} (right ${Math.round(r.right)} px) "${text}"`);
    if (out.length >= 4) break;
  }
  return out;
}"""


def _demo_pages() -> dict[str, list[str]]:
    """Each demo login (None: the public) → the pages to check besides its navigation."""
    from ippledge.credit.models import Loan
    from ippledge.credit.workflow_models import CreditCase
    from ippledge.registry.models import Pledge, PledgeApplication
    from ippledge.rights.models import Right
    from ippledge.valuation.models import ValuationRecord

    def first(qs, attr):
        obj = qs.first()
        return getattr(obj, attr) if obj is not None else None

    right = Right.objects.filter(pledge_links__live=True).first() or Right.objects.first()
    pledge = first(Pledge.objects.order_by("pk"), "registration_no")
    case = first(CreditCase.objects.order_by("pk"), "case_no")
    loan = first(Loan.objects.order_by("pk"), "loan_no")
    queued = first(PledgeApplication.objects.filter(status="submitted").order_by("pk"), "application_no")
    application = first(PledgeApplication.objects.order_by("pk"), "application_no")
    valuation = first(ValuationRecord.objects.order_by("pk"), "valuation_no")
    public = ["/", "/rights/", "/registry/", "/reports/public/", "/valuation/agencies/",
              "/registry/certificates/verify/"]
    if right is not None:
        public.append(f"/rights/{right.kind}/{right.number}/")
    if pledge:
        public.append(f"/registry/pledges/{pledge}/")
    bank = ["/credit/", "/credit/cases/", "/credit/loans/", "/credit/matching/", "/reports/",
            "/registry/applications/"]
    bank += [f"/credit/cases/{case}/"] if case else []
    bank += [f"/credit/loans/{loan}/"] if loan else []
    bank += [f"/registry/applications/{application}/"] if application else []
    return {
        None: public,
        "enterprise": ["/credit/portal/", "/registry/applications/", "/registry/notifications/"],
        "bank_officer": bank + ["/registry/applications/new/", "/valuation/"],
        "bank_reviewer": bank[:2] + ([f"/credit/cases/{case}/"] if case else []),
        "bank_approver": bank[:2] + ([f"/credit/cases/{case}/"] if case else []),
        "registrar": ["/registry/queue/", "/rights/new/", "/registry/statistics/"]
                     + ([f"/registry/queue/{queued}/"] if queued else []),
        "appraiser": ["/valuation/", "/valuation/records/"]
                     + ([f"/valuation/records/{valuation}/"] if valuation else []),
        "regulator": ["/reports/", "/reports/loans/", "/credit/"],
        "admin": ["/manage/", "/manage/organisations/", "/manage/users/", "/manage/eod/", "/credit/lpr/"],
        "insurer": [],
        "fund_manager": [],
    }


def _log_in(page, username: str) -> None:
    from ippledge.demo.generator import DEMO_PASSWORD

    page.goto("/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_load_state()


def _nav_links(page) -> list[str]:
    page.goto("/")
    hrefs = page.eval_on_selector_all("nav.mainnav a[href]", "els => els.map(e => e.getAttribute('href'))")
    return [h for h in hrefs if h.startswith("/") and not h.startswith(SKIP)]


def test_no_page_scrolls_sideways(browser: Browser, live_server, settings):
    from ippledge.core import business_date
    from ippledge.credit.lpr import shipped_fixings
    from ippledge.credit.models import LprFixing
    from ippledge.demo.generator import load_demo

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # An earlier transactional test flushed the rows the migrations seed (the shipped LPR fixings the
    # demo's loans are priced with): put them back.
    LprFixing.objects.bulk_create([LprFixing(fixing_date=d, tenor=t, rate=r, source="chinamoney")
                                   for d, t, r in shipped_fixings()], ignore_conflicts=True)
    load_demo(seed=2026, today=business_date.today(), enterprises=40, rights=600)
    pages = _demo_pages()
    overflows: list[str] = []
    checked = 0
    for login, extra in pages.items():
        context = browser.new_context(base_url=live_server.url, locale="zh-CN", timezone_id="Asia/Shanghai",
                                      viewport={"width": VIEWPORTS[-1][0], "height": VIEWPORTS[-1][1]})
        context.set_default_timeout(30_000)
        page = context.new_page()
        try:
            if login:
                _log_in(page, login)
            urls = list(dict.fromkeys(_nav_links(page) + extra))
            for width, height in VIEWPORTS:
                page.set_viewport_size({"width": width, "height": height})
                for url in urls:
                    response = page.goto(url)
                    if response is None or response.status >= 400 or "html" not in (
                            response.headers.get("content-type") or ""):
                        continue
                    checked += 1
                    scroll = page.evaluate("document.documentElement.scrollWidth")
                    if scroll > width and not any(url.startswith(p) for p in KNOWN):
                        offenders = page.evaluate(OFFENDERS_JS, width)
                        overflows.append(f"{login or '(public)'} {url} at {width} px: {scroll} px wide; "
                                         + "; ".join(offenders))
        finally:
            context.close()
    assert checked > 40, f"only {checked} pages could be checked"
    if overflows:
        pytest.fail(f"{len(overflows)} pages scroll sideways:\n  " + "\n  ".join(overflows), pytrace=False)


def test_the_menu_opens_on_a_phone(browser: Browser, live_server):
    """At 390 px the navigation folds behind a menu button, which opens and closes it."""
    context = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto("/rights/")
        toggle, nav = page.locator(".nav-toggle"), page.locator("nav.mainnav")
        assert toggle.is_visible() and not nav.is_visible()
        toggle.click()
        assert nav.is_visible() and toggle.get_attribute("aria-expanded") == "true"
        assert page.locator("nav.mainnav a[aria-current=page]").is_visible()
        toggle.click()
        assert not nav.is_visible()
        page.set_viewport_size({"width": 1366, "height": 900})
        assert nav.is_visible() and not toggle.is_visible()
    finally:
        context.close()


def test_a_confirmed_form_asks_first(browser: Browser, live_server):
    """form[data-confirm] asks with its text before it submits; cancelling keeps the reader on the page."""
    context = browser.new_context(base_url=live_server.url, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto("/rights/")
        page.evaluate("""() => {
            const f = document.createElement('form');
            f.method = 'get'; f.action = '/registry/'; f.setAttribute('data-confirm', '确定放款吗？');
            f.innerHTML = '<button type="submit" id="go">go</button>';
            document.querySelector('main').appendChild(f);
        }""")
        asked: list[str] = []
        page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
        page.locator("#go").click()
        page.wait_for_timeout(300)
        assert asked == ["确定放款吗？"] and page.url.endswith("/rights/")
        page.once("dialog", lambda d: (asked.append(d.message), d.accept()))
        page.locator("#go").click()
        page.wait_for_url("**/registry/**")
        assert len(asked) == 2
    finally:
        context.close()
