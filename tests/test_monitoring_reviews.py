"""Periodic borrower analysis (issue 12, point 5): reviews due at the product's frequency from
disbursement raise ``borrower_review_due`` at end of day; the officer records the figures, events and a
conclusion through ``/api/v1/loans/{loan_no}/reviews`` or the loan page's form; the platform computes the
changes against the last review and the pledged rights' legal events in the period; ``deteriorating``
proposes a classification review that the loan's reviewer decides through the manual classification."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings

from ippledge.core.actors import SYSTEM
from ippledge.credit.models import Loan
from ippledge.monitoring import reviews
from ippledge.monitoring.models import Alert, BorrowerReview
from ippledge.rights import services as rights

from .conftest import Api
from .test_credit_collateral import PATENT, _case, _client, _product, _to_approval, _valuation, others  # noqa: F401
from .test_credit_workflow import world  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

REVIEW = {"revenue": "12000000.00", "profit": "800000.50", "liabilities": "5000000", "staff": 48,
          "overdue_events": [], "credit_events": ["新增他行贷款 200 万元"], "conclusion": "stable", "note": "经营平稳"}


@pytest.fixture
def loan(world):  # noqa: F811
    """A loan disbursed on 2026-03-02 under a quarterly product; business date 2026-06-05."""
    w = world
    with override_settings(ALLOW_BUSINESS_DATE=True):
        w["admin"].put("/admin/business-date", {"date": "2026-03-02"})
        no = _case(w, _product(w), valuation_no=_valuation(w["officer"])["valuation_no"])
        _to_approval(w, no)
        w["approver"].post(f"/credit-cases/{no}/approval", {"decision": "approve"})
        w["ent"].post(f"/credit-cases/{no}/contract-signature")
        loan_no = w["officer"].post(f"/credit-cases/{no}/disbursement", {}).data["loan_no"]
        right = rights.find_right(PATENT["kind"], PATENT["number"])
        rights.record_event(actor=SYSTEM, right=right, data={"type": "invalidation_requested", "date": "2026-04-10"})
        w["admin"].put("/admin/business-date", {"date": "2026-06-05"})
    return {**w, "loan_no": loan_no}


@pytest.fixture(autouse=True)
def _business_dates():
    with override_settings(ALLOW_BUSINESS_DATE=True):
        yield


def _due_alerts(**kw):
    return list(Alert.objects.filter(kind="borrower_review_due", **kw))


def test_a_due_review_raises_an_alert_and_recording_it_clears_it(loan):
    w = loan
    loan_obj = Loan.objects.get(loan_no=w["loan_no"])
    out = reviews.end_of_day(dt.date(2026, 6, 1))
    assert out["due"] == 0 and not _due_alerts()  # quarterly from 2026-03-02: due 2026-06-02
    out = reviews.end_of_day(dt.date(2026, 6, 5))
    [alert] = _due_alerts()
    assert out["raised"] == 1 and alert.loan_id == loan_obj.pk and alert.owner_org_id == w["bank"].pk
    assert alert.detail == {"review_due": "2026-06-02"} and alert.status == "open"
    assert reviews.end_of_day(dt.date(2026, 6, 5))["raised"] == 0  # the same condition: no second alert
    listed = w["officer"].get(f"/loans/{w['loan_no']}/reviews").data
    assert listed["next_review_due"] == "2026-06-02" and listed["count"] == 0
    r = w["officer"].post(f"/loans/{w['loan_no']}/reviews", REVIEW)
    assert r.status_code == 201, r.data
    review = r.data
    assert review["seq"] == 1 and review["period_end"] == "2026-06-02" and review["reviewed_on"] == "2026-06-05"
    assert review["revenue"] == "12000000.00" and review["profit"] == "800000.50" and review["staff"] == 48
    assert review["changes"] == {}  # the first review has nothing to compare with
    assert [(e["number"], e["type"], e["date"]) for e in review["rights_events"]] == \
        [(rights.find_right(**PATENT).number, "invalidation_requested", "2026-04-10")]
    assert BorrowerReview.objects.get().revenue == 1_200_000_000  # fen
    assert Alert.objects.get(pk=alert.pk).status == "resolved"
    assert reviews.end_of_day(dt.date(2026, 6, 5))["raised"] == 0  # the next is due 2026-09-02
    assert w["officer"].get(f"/loans/{w['loan_no']}/reviews").data["next_review_due"] is None


def test_the_second_review_shows_the_changes_and_deteriorating_proposes_a_classification_review(loan):
    w = loan
    assert w["officer"].post(f"/loans/{w['loan_no']}/reviews", REVIEW).status_code == 201
    with override_settings(ALLOW_BUSINESS_DATE=True):
        w["admin"].put("/admin/business-date", {"date": "2026-09-10"})
    worse = {**REVIEW, "revenue": "9000000", "profit": "-300000", "liabilities": "6500000", "staff": 40,
             "overdue_events": ["2026-08-20 利息逾期 5 天"], "conclusion": "deteriorating"}
    r = w["officer"].post(f"/loans/{w['loan_no']}/reviews", worse)
    assert r.status_code == 201, r.data
    c = r.data["changes"]
    assert c["revenue"] == {"before": "12000000.00", "after": "9000000.00", "change": "-3000000.00",
                            "change_percent": "-25.00"}
    assert c["profit"]["change"] == "-1100000.50" and c["liabilities"]["change_percent"] == "30.00"
    assert c["staff"] == {"before": "48", "after": "40", "change": "-8", "change_percent": "-16.67"}
    assert r.data["period_end"] == "2026-09-02" and r.data["rights_events"] == []  # none since 2026-06-02
    assert r.data["classification_review_proposed"] is True
    # The loan page shows the proposal; only a decider gets the link to the manual classification.
    officer_page = _client("officer").get(f"/credit/loans/{w['loan_no']}/").content.decode()
    assert 'data-testid="classification-proposal"' in officer_page and 'data-testid="reclassify-link"' not in officer_page
    reviewer = _client("reviewer")
    page = reviewer.get(f"/credit/loans/{w['loan_no']}/").content.decode()
    assert 'data-testid="reclassify-link"' in page
    # The officer who recorded the review does not reclassify (maker-checker): the reviewer does.
    url = f"/monitoring/reviews/{w['loan_no']}/"
    assert _client("officer").post(url, {"action": "reclassify", "category": "special_mention",
                                         "reason": "经营恶化"}).status_code == 403
    assert 'data-testid="reclassify"' in reviewer.get(url).content.decode()
    r = reviewer.post(url, {"action": "reclassify", "category": "special_mention", "reason": "季度复核：经营恶化"})
    assert r.status_code == 302
    loan_obj = Loan.objects.get(loan_no=w["loan_no"])
    assert loan_obj.classification == "special_mention"
    assert loan_obj.classification_history.filter(manual=True, actor=w["reviewer"].user).exists()
    assert 'data-testid="classification-proposal"' not in reviewer.get(f"/credit/loans/{w['loan_no']}/").content.decode()


@pytest.mark.parametrize(("field", "value"), [
    ("revenue", "abc"), ("revenue", "1.001"), ("revenue", "-1"), ("revenue", None), ("revenue", 1.5),
    ("liabilities", "1" + "0" * 20), ("profit", "--5"), ("staff", -1), ("staff", 10_000_000), ("staff", "x"),
    ("conclusion", "fine"), ("overdue_events", ["x"] * 21), ("credit_events", ["y" * 201]),
    ("note", "z" * 1001), ("period_end", "2026-02-01"), ("period_end", "2027-01-01"), ("period_end", "soon"),
])
def test_inputs_are_bounded(loan, field, value):
    w = loan
    r = w["officer"].post(f"/loans/{w['loan_no']}/reviews", {**REVIEW, field: value})
    assert r.status_code == 422, (field, value, r.data)
    assert any(k.split("[")[0] == field for k in r.data["error"].get("fields", {})), r.data
    assert not BorrowerReview.objects.exists()


def test_who_reads_and_records(loan, others, api_as):  # noqa: F811
    w = loan
    url = f"/loans/{w['loan_no']}/reviews"
    assert w["officer"].post(url, REVIEW).status_code == 201
    reader_codes = {"officer": (200, 201), "reviewer": (200, 201), "approver": (200, 201),
                    "regulator": (200, 403), "admin": (200, 403), "ent": (404, 404), "officer_b": (404, 404)}
    clients = {**{k: w[k] for k in ("officer", "reviewer", "approver", "admin", "ent")}, **others}
    for name, (read, write) in reader_codes.items():
        api = clients[name]
        assert api.get(url).status_code == read, name
        # A stranger's body, even a malformed one, learns nothing: 404 before 422.
        body = REVIEW if write == 201 else {"revenue": "not a number"}
        assert api.post(url, body).status_code == write, name
    registrar, _ = api_as("registrar", "ip_office")
    assert registrar.get(url).status_code == 404
    assert Api().get(url).status_code == 401
    assert w["officer"].get("/loans/LN2099999999/reviews").status_code == 404
    assert BorrowerReview.objects.count() == 4  # the three bank staff's, and the first


def test_the_loan_page_lists_reviews_and_records_one_with_its_form(loan):
    w = loan
    officer = _client("officer")
    page = officer.get(f"/credit/loans/{w['loan_no']}/").content.decode()
    assert 'data-testid="borrower-reviews"' in page and 'data-testid="review-form"' in page
    assert 'data-testid="review-due"' in page and 'data-testid="loan-ltv"' in page
    url = f"/monitoring/reviews/{w['loan_no']}/"
    form = {"action": "record", "revenue": "12000000", "profit": "-1000.50", "liabilities": "5000000",
            "staff": "48", "overdue_events": "", "credit_events": "新增他行贷款\n担保人变更", "conclusion": "watch",
            "note": ""}
    bad = officer.post(url, {**form, "revenue": "12,000,000.001"})
    assert bad.status_code == 400 and 'data-testid="field-error-revenue"' in bad.content.decode()
    r = officer.post(url, form)
    assert r.status_code == 302 and r["Location"].endswith(f"/credit/loans/{w['loan_no']}/#reviews")
    review = BorrowerReview.objects.get()
    assert review.profit == -100_050 and review.credit_events == ["新增他行贷款", "担保人变更"]
    assert review.conclusion == "watch" and review.recorded_by == w["officer"].user
    with override_settings(ALLOW_BUSINESS_DATE=True):
        w["admin"].put("/admin/business-date", {"date": "2026-09-03"})
    assert officer.post(url, {**form, "revenue": "15000000"}).status_code == 302
    page = officer.get(f"/credit/loans/{w['loan_no']}/").content.decode()
    assert 'data-testid="review-2"' in page and 'data-testid="review-changes"' in page and "25.00%" in page
    # The borrower sees neither the section nor the page; another bank cannot post.
    ent = _client("ent")
    assert 'data-testid="borrower-reviews"' not in ent.get(f"/credit/loans/{w['loan_no']}/").content.decode()
    assert ent.get(url).status_code == 404 and ent.post(url, form).status_code == 404
    # The reviewer may record too; a regulator reads the page but gets no form.
    assert 'data-testid="review-form"' in _client("reviewer").get(url).content.decode()
