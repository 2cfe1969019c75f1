"""The credit case page shows its loan's risk-sharing enrolment (issue 13.2) through risk sharing's template
tag: credit imports nothing of risk sharing."""

from __future__ import annotations

import pytest

from ippledge.core.models import Organisation

from .test_credit_case_page import _client as credit_client
from .test_credit_workflow import _journey, world  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def test_the_credit_case_shows_its_loans_enrolment(world):  # noqa: F811
    """A case through the credit workflow to disbursement; once the bank enrols the loan, the case's loan tab
    shows the scheme (and the borrower, who reads the case but not the enrolment, sees no panel)."""
    w = world
    _product, case = _journey(w)
    no = case["case_no"]
    for item in case["due_diligence"]:
        assert w["officer"].post(f"/credit-cases/{no}/due-diligence", {"key": item["key"], "result": "ok"}) \
            .status_code == 200
    assert w["officer"].post(f"/credit-cases/{no}/submit", {"risk_grade": "B"}).status_code == 200
    assert w["reviewer"].post(f"/credit-cases/{no}/review", {"decision": "pass"}).status_code == 200
    assert w["approver"].post(f"/credit-cases/{no}/approval", {"decision": "approve"}).status_code == 200
    assert w["ent"].post(f"/credit-cases/{no}/contract-signature").status_code == 200
    paid = w["officer"].post(f"/credit-cases/{no}/disbursement", {"schedule": "bullet"})
    assert paid.status_code == 200, paid.data
    loan_no = paid.data["loan_no"]
    url = f"/credit/cases/{no}/?tab=loan"
    officer = credit_client("officer", "en")
    page = officer.get(url).content.decode()
    assert 'data-testid="panel-not-enrolled"' in page and f'href="/risk-sharing/loans/{loan_no}/"' in page
    region = Organisation.objects.get(pk=w["ent"].user.organisation_id).region_code or "110000"
    scheme = w["admin"].post("/risk-sharing/schemes", {"name": "案件方案", "region_code": region[:2] + "0000",
                                                       "parties": [{"name": "fund", "kind": "fund", "ratio": "0.4"}]})
    assert scheme.status_code == 201, scheme.data
    r = officer.post(f"/risk-sharing/loans/{loan_no}/", {"action": "enrol", "enrol-scheme": str(scheme.data["id"])})
    assert r.status_code == 302, r.content.decode()[-3000:]
    page = officer.get(url).content.decode()
    assert 'data-testid="panel-scheme"' in page and "案件方案" in page
    borrower = credit_client("ent", "en").get(url).content.decode()
    assert "案件方案" not in borrower and 'data-testid="risk-sharing-panel"' not in borrower
