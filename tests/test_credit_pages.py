"""Credit pages: the case moves through every stage from the browser forms; workbench, loan page,
enterprise portal, matching and plans render."""

from __future__ import annotations

import pytest
from django.test import Client

from ippledge.credit import workflow
from ippledge.credit.models import CreditCase
from ippledge.rights.models import Right

from .conftest import PASSWORD
from .test_credit_workflow import PRODUCT, valuation_no, world  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def _client(username):
    client = Client()
    client.post("/login/", {"username": username, "password": PASSWORD})
    return client


def test_case_through_the_pages(world):  # noqa: F811
    w = world
    product = workflow.create_product(actor=w["approver"].user, data=PRODUCT)
    enterprise = _client("ent")
    patent = Right.objects.get(kind="invention")
    portal = enterprise.get("/credit/portal/").content.decode()
    assert f'value="invention:{patent.number}"' in portal  # the rights the register says the enterprise holds
    r = enterprise.post("/credit/portal/", {"amount": "1000000", "term_months": "12", "purpose": "研发",
                                            "rights": f"invention:{patent.number}"})
    assert r.status_code == 302
    need = w["ent"].user.organisation.financing_needs.get()
    officer = _client("officer")
    assert 'data-testid="matches"' in officer.get(f"/credit/matching/?need={need.pk}").content.decode()
    opened = officer.post("/credit/matching/", {"need_id": need.pk, "product_id": product.pk})
    assert opened.status_code == 302
    case = CreditCase.objects.get()
    url = f"/credit/cases/{case.case_no}/"
    assert opened.url == url
    # The bank's valuation of the pledged patent, attached on the rights tab (no approval without one).
    assert officer.post(url, {"action": "valuation", "valuation_no": valuation_no(w)}).status_code == 302
    for item in case.dd_items.all():
        assert officer.post(url, {"action": "dd", "key": item.key, "result": "ok", "notes": "已核实"}).status_code == 302
    assert officer.post(url, {"action": "submit", "risk_grade": "A"}).status_code == 302
    assert 'data-testid="my-tasks"' in _client("reviewer").get("/credit/").content.decode()
    assert _client("reviewer").post(url, {"action": "review", "decision": "pass"}).status_code == 302
    denied = officer.post(url, {"action": "approval", "decision": "approve"})
    assert denied.status_code == 400
    assert _client("approver").post(url, {"action": "approval", "decision": "approve"}).status_code == 302
    # The enterprise signs the contract on its case page, which confirms its pledge.
    assert 'data-testid="sign-contract"' in enterprise.get(url + "?tab=contract").content.decode()
    assert enterprise.post(url, {"action": "sign"}).status_code == 302
    assert officer.post(url, {"action": "disburse", "schedule": "bullet"}).status_code == 302
    case = CreditCase.objects.get(pk=case.pk)
    assert case.stage == "disbursed"
    for tab in ("enterprise", "rights", "dd", "trail", "contract", "loan"):
        assert officer.get(f"{url}?tab={tab}").status_code == 200
    page = officer.get(f"/credit/loans/{case.loan.loan_no}/").content.decode()
    assert 'data-testid="classification"' in page
    # Money as yuan to the fen with separators; a bullet loan accrues by actual days (issue 10, 3 and 4).
    assert '<dd data-testid="balance">1,000,000.00</dd>' in page
    assert '<span data-testid="convention">ACT/360，按实际天数</span>' in page  # the default language
    assert '<td class="num">1,000,000.00</td>' in officer.get("/credit/").content.decode()
    # Priced while later LPR fixings are missing from the shipped table: the officer is warned (issue 10.5).
    contract = officer.get(f"{url}?tab=contract").content.decode()
    assert case.pricing.get("lpr_warning") and 'data-testid="lpr-warning"' in contract
    book = officer.get("/credit/loans/").content.decode()
    assert case.loan.loan_no in book and "1,000,000.00" in book
    assert officer.get("/credit/loans/?export=xlsx").content[:2] == b"PK"
    assert officer.get("/credit/plans/").status_code == 200
    assert case.case_no in enterprise.get("/credit/portal/").content.decode()
