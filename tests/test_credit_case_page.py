"""Issue 11 on the credit pages: the case page a bank officer, reviewer and approver work in (valuation from
a list, saved due-diligence items moving on to the next, the risk grade, LTV and cost breakdown, confirmed
decisions, elapsed against allowed working days), the enterprise told of each decision, the cases list
and loan book as shared listings with export, and amounts, times and codes shown for people."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.test import Client
from django.utils import translation

from ippledge.credit import workflow
from ippledge.credit.labels import DD_LABELS
from ippledge.credit.models import CreditCase
from ippledge.registry.models import Notification
from ippledge.rights.models import Right

from .conftest import PASSWORD
from .test_credit_workflow import PRODUCT, valuation_no, world  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

ISO_MICROSECONDS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+")


def zh(text) -> str:
    """What a Chinese page shows for a message (the English text until the catalog translates it)."""
    with translation.override("zh-hans"):
        return translation.gettext(str(text))


def _client(username, language=None):
    client = Client()
    client.post("/login/", {"username": username, "password": PASSWORD})
    if language:
        client.cookies["django_language"] = language
    return client


def _html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def _open_case(w, amount="1000000") -> tuple[CreditCase, str]:
    product = workflow.create_product(actor=w["approver"].user, data=PRODUCT)
    patent = Right.objects.get(kind="invention")
    enterprise = _client("ent")
    assert enterprise.post("/credit/portal/", {"amount": amount, "term_months": "12", "purpose": "研发",
                                               "rights": f"invention:{patent.number}"}).status_code == 302
    need = w["ent"].user.organisation.financing_needs.get()
    assert _client("officer").post("/credit/matching/", {"need_id": need.pk, "product_id": product.pk}) \
        .status_code == 302
    case = CreditCase.objects.get()
    return case, f"/credit/cases/{case.case_no}/"


def test_officer_reviewer_approver_and_enterprise_on_the_case_page(world):  # noqa: F811
    w = world
    case, url = _open_case(w)
    officer = _client("officer")
    # Elapsed against allowed working days, on every tab.
    page = _html(officer.get(url))
    sla = zh("In this stage for %(used)s of %(allowed)s working days allowed (due %(due)s).")
    assert sla % {"used": 0, "allowed": 5, "due": workflow.sla(case)["due_date"]} in page
    assert "1,000,000.00" in page and "300000000" not in page
    # The valuation is chosen from the pledged rights' valuations (a select), not typed.
    number = valuation_no(w)
    rights = _html(officer.get(url + "?tab=rights"))
    assert f'<option value="{number}">' in rights and 'list="valuation-candidates"' not in rights
    assert "7,460,555.97" in rights  # the candidate's market value, in yuan with separators
    assert officer.post(url, {"action": "valuation", "valuation_no": "VA-NOT-A-CHOICE"}).status_code == 400
    assert officer.post(url, {"action": "valuation", "valuation_no": number}).status_code == 302
    # Each due-diligence item: saved, and the form moves on to the next open item.
    items = list(case.dd_items.values_list("key", flat=True))
    r = officer.post(url, {"action": "dd", "key": items[0], "result": "ok", "notes": "已核实"})
    assert r.status_code == 302 and r.url.endswith(f"?tab=dd&saved={items[0]}")
    page = _html(officer.get(r.url))
    assert zh("Saved: %(item)s.") % {"item": zh(DD_LABELS[items[0]])} in page and 'data-testid="dd-saved"' in page
    assert re.search(rf'<option value="{items[1]}" selected>', page)
    bad = officer.post(url, {"action": "dd", "key": items[1], "result": "maybe"})
    assert bad.status_code == 400 and 'data-testid="field-error-result"' in bad.content.decode()
    for key in items[1:]:
        assert officer.post(url, {"action": "dd", "key": key, "result": "ok"}).status_code == 302
    # The risk grade is one of the product's grades, from a select.
    dd = _html(officer.get(url + "?tab=dd"))
    assert '<select name="risk_grade"' in dd and '<option value="A"' in dd
    assert officer.post(url, {"action": "submit", "risk_grade": "Z"}).status_code == 400
    assert officer.post(url, {"action": "submit", "risk_grade": "A"}).status_code == 302
    # The reviewer sees the officer's grade, the LTV and an indicative cost breakdown, no Python repr.
    reviewer = _client("reviewer")
    trail = _html(reviewer.get(url + "?tab=trail"))
    assert 'data-testid="assessment"' in trail and 'data-testid="risk-grade">A' in trail
    ltv = re.search(r'data-testid="ltv">([^<]*)<', trail).group(1)
    assert ltv.startswith("13.40%"), ltv  # 1,000,000 ÷ 7,460,555.97
    assert 'data-testid="cost-breakdown"' in trail and "{'" not in trail and "Decimal(" not in trail
    assert zh("Beijing time") in trail and not ISO_MICROSECONDS.search(trail)
    assert zh("Due diligence signed off") in trail  # the trail's actions are labelled
    assert "submit" not in re.sub(r'data-action="[a-z_]+"', "", trail.split('data-testid="trail"')[1].split("</ol>")[0])
    # Decline asks for confirmation (JavaScript) with a no-JavaScript fallback; a reason is required.
    assert 'data-confirm="' in trail and 'name="confirmed"' in trail
    refused = reviewer.post(url, {"action": "review", "decision": "decline"})
    assert refused.status_code == 400 and 'data-testid="field-error-note"' in refused.content.decode()
    assert reviewer.post(url, {"action": "review", "decision": "pass"}).status_code == 302
    # The approver sees the same and confirms before approving.
    approver = _client("approver")
    trail = _html(approver.get(url + "?tab=trail"))
    assert 'data-testid="risk-grade">A' in trail and 'data-testid="cost-net"' in trail
    approve_form = trail[trail.find('value="approve"') - 600: trail.find('value="approve"')]
    assert "data-confirm=" in approve_form
    assert approver.post(url, {"action": "approval", "decision": "approve"}).status_code == 302
    contract = _html(approver.get(url + "?tab=contract"))
    assert 'data-testid="cost-breakdown"' in contract and "<code>" not in contract.split("cost-breakdown")[1][:3000]
    # The enterprise hears of each decision, in its notifications and on its portal.
    kinds = list(Notification.objects.filter(org=w["ent"].user.organisation).values_list("kind", flat=True))
    assert {"credit_case.pass", "credit_case.approve"} <= set(kinds), kinds
    assert all(n.data["case_no"] == case.case_no for n in Notification.objects.filter(kind__startswith="credit_case."))
    portal = _html(_client("ent").get("/credit/portal/"))
    assert 'data-testid="decisions"' in portal and case.case_no in portal and zh("Beijing time") in portal
    borrower_trail = _html(_client("ent").get(url + "?tab=trail"))
    assert 'data-testid="assessment"' not in borrower_trail  # the bank's assessment stays the bank's
    # Disbursement confirms too; then the enterprise is told of the loan.
    disburse = _html(officer.get(url + "?tab=contract"))
    assert 'data-testid="sign-contract"' not in disburse
    assert _client("ent").post(url, {"action": "sign"}).status_code == 302
    disburse = _html(officer.get(url + "?tab=contract"))
    assert 'data-testid="disburse"' in disburse and "data-confirm" in disburse.split('data-testid="disburse"')[1][:400]
    assert officer.post(url, {"action": "disburse", "schedule": "nonsense"}).status_code == 400
    assert officer.post(url, {"action": "disburse", "schedule": "bullet"}).status_code == 302
    assert Notification.objects.filter(org=w["ent"].user.organisation, kind="credit_case.disburse").exists()


def test_portal_form_errors_are_next_to_their_fields_in_the_readers_language(world):  # noqa: F811
    ent = _client("ent")
    page = _html(ent.get("/credit/portal/"))
    assert 'type="checkbox" name="rights"' in page  # the rights the register records, not free text
    r = ent.post("/credit/portal/", {"amount": "abc", "term_months": "0"})
    html = r.content.decode()
    assert r.status_code == 400
    for field in ("amount", "term_months", "rights"):
        assert f'data-testid="field-error-{field}"' in html, field
    assert "rights[0]" not in html and "<code>" not in html
    english = _client("ent", "en").post("/credit/portal/", {"amount": "abc"}).content.decode()
    assert "Enter a number." in english and "Choose at least one right." in english


def test_cases_and_loans_are_listings_with_filters_and_export(world):  # noqa: F811
    w = world
    case, url = _open_case(w, amount="2500000")
    officer = _client("officer")
    page = _html(officer.get("/credit/cases/"))
    assert case.case_no in page and "2,500,000.00" in page and zh("Amount (yuan)") in page
    assert case.case_no not in _html(officer.get("/credit/cases/?stage=review"))
    assert case.case_no in _html(officer.get("/credit/cases/?stage=due_diligence&q=" + case.case_no[-4:]))
    exported = officer.get("/credit/cases/?export=csv")
    assert exported.status_code == 200 and exported["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    assert rows[0][0] == zh("Case") and rows[1][0] == case.case_no and "2500000.00" in rows[1]
    assert zh("Due diligence") in rows[1]  # the stage's label, not its code
    xlsx = officer.get("/credit/cases/?export=xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    assert _html(officer.get("/credit/loans/")).count("data-testid") >= 1
    # The enterprise sees its own case in the list too; the list is the user's scope.
    assert case.case_no in _html(_client("ent").get("/credit/cases/"))
    workbench = _html(officer.get("/credit/"))
    assert "余额（分）" not in workbench and zh("Balance (yuan)") in workbench
    assert 'class="table-scroll"' in workbench


def test_the_pages_speak_english_too(world):  # noqa: F811
    w = world
    case, url = _open_case(w)
    officer = _client("officer", "en")
    for tab in ("enterprise", "rights", "dd", "trail", "contract", "loan"):
        html = _html(officer.get(f"{url}?tab={tab}"))
        assert "working days" in html or tab != "enterprise"
        assert not ISO_MICROSECONDS.search(html)
    trail = _html(officer.get(f"{url}?tab=trail"))
    assert "Case opened" in trail and "Beijing time" in trail
    assert "Amount (yuan)" in _html(officer.get("/credit/"))
    assert "Amount (yuan)" in _html(officer.get("/credit/cases/"))


def test_plans_and_park_lines_through_forms(world):  # noqa: F811
    from ippledge.core import business_date
    from ippledge.credit.models import CreditPlan, ParkCreditLine

    w = world
    year = business_date.today().year
    approver = _client("approver")
    page = _html(approver.get("/credit/plans/"))
    assert 'data-testid="plan-form"' in page and 'data-testid="park-line-form"' in page
    assert 'data-testid="plan-form"' not in _html(_client("officer").get("/credit/plans/"))
    assert _client("officer").post("/credit/plans/", {"action": "plan", "year": year, "households": 10,
                                                      "amount": "1000000"}).status_code == 403
    bad = approver.post("/credit/plans/", {"action": "plan", "year": year, "households": "-1", "amount": "x"})
    assert bad.status_code == 400 and 'data-testid="field-error-households"' in bad.content.decode()
    r = approver.post("/credit/plans/", {"action": "plan", "year": year, "households": 10, "amount": "50000000"})
    assert r.status_code == 302 and CreditPlan.objects.get(bank=w["bank"], year=year).amount == 5_000_000_000
    assert "50,000,000.00" in _html(approver.get(f"/credit/plans/?year={year}"))
    start = business_date.today()
    r = approver.post("/credit/plans/", {"action": "line", "park_name": "示范科技园", "limit": "20000000",
                                         "start_date": start.isoformat(), "end_date": start.replace(year=start.year + 1)
                                         .isoformat()})
    assert r.status_code == 302, r.content.decode()[:2000]
    assert ParkCreditLine.objects.get().limit == 2_000_000_000
    page = _html(approver.get("/credit/plans/"))
    assert "示范科技园" in page and "20,000,000.00" in page
    backwards = approver.post("/credit/plans/", {"action": "line", "park_name": "园", "limit": "1",
                                                 "start_date": "2026-05-01", "end_date": "2026-04-01"})
    assert backwards.status_code == 400 and 'data-testid="field-error-end_date"' in backwards.content.decode()


def test_another_banks_staff_see_neither_the_cases_nor_the_loans(world):  # noqa: F811
    from ippledge.core import services as core
    from ippledge.core.actors import SYSTEM

    w = world
    case, url = _open_case(w)
    other = core.create_organisation(actor=SYSTEM, name="另一家银行", kind="bank", uscc="91110000100000000R")
    core.create_user(actor=SYSTEM, username="officer_b", password=PASSWORD, org_id=other.pk, roles=["bank_officer"])
    stranger = _client("officer_b")
    for path in ("/credit/cases/", "/credit/cases/?export=csv", "/credit/", f"/credit/cases/?q={case.case_no}"):
        r = stranger.get(path)
        shown = r.content.decode("utf-8-sig")
        assert r.status_code == 200 and f">{case.case_no}<" not in shown and f"\n{case.case_no}," not in shown, path
    assert stranger.get(url).status_code == 404
