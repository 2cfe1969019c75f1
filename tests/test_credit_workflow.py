"""The credit journey of issue 5 through the API: need → match → case → due diligence → review →
approval (pricing, contract, pledge filed and registered) → disbursement → classification."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import override_settings

from ippledge.core import eod
from ippledge.core import services as core
from ippledge.core.actors import SYSTEM
from ippledge.credit.models import ApprovalAuthority, CreditPlan, Park, ParkCreditLine

from .conftest import PASSWORD, Api
from .registry_fixtures import PLEDGEE, PLEDGOR, make_patent

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    bank = core.create_organisation(actor=SYSTEM, name=PLEDGEE["name"], kind="bank", uscc=PLEDGEE["id_number"])
    ent = core.create_organisation(actor=SYSTEM, name=PLEDGOR["name"], kind="enterprise", uscc=PLEDGOR["id_number"])
    admin_org = core.create_organisation(actor=SYSTEM, name="平台", kind="platform_operator")
    users = {}
    for name, org, role in (("officer", bank, "bank_officer"), ("reviewer", bank, "bank_reviewer"),
                            ("approver", bank, "bank_approver"), ("ent", ent, "enterprise_user"),
                            ("admin", admin_org, "admin")):
        user = core.create_user(actor=SYSTEM, username=name, password=PASSWORD, org_id=org.pk, roles=[role])
        users[name] = Api(core.issue_token(user=user))
        users[name].user = user
    make_patent()
    return {"bank": bank, "ent": ent, **users}


PRODUCT = {"name": "知识产权质押快贷", "eligible_kinds": ["patent", "trademark", "bundle"], "min_amount": "100000",
           "max_amount": "10000000", "min_term_months": 6, "max_term_months": 36, "spreads_bp": {"A": 50, "B": 80}}


def valuation_no(w) -> str:
    """The bank's own valuation of the fixture patent: a market value of 7,460,555.97, which under the
    default invention cap (25%) supports a loan of up to 1,865,138.99."""
    r = w["officer"].post("/valuations", {"rights": [{"kind": "invention", "number": "ZL201410362077.3"}],
                                          "method": "income", "inputs": {"income": ["3000000"] * 3,
                                                                         "discount_rate": "0.1"}})
    assert r.status_code == 201, r.data
    return r.data["valuation_no"]


def _journey(w, amount="1000000"):
    product = w["approver"].post("/products", PRODUCT)
    assert product.status_code == 201, product.data
    need = w["ent"].post("/financing-needs", {"amount": amount, "term_months": 12, "purpose": "研发投入",
                                              "rights": [{"kind": "invention", "number": "ZL201410362077.3"}]})
    assert need.status_code == 201, need.data
    matches = w["officer"].get(f"/financing-needs/{need.data['id']}/matches").data
    assert matches[0]["product_id"] == product.data["id"]
    case = w["officer"].post("/credit-cases", {"product_id": product.data["id"], "need_id": need.data["id"],
                                               "valuation_no": valuation_no(w)})
    assert case.status_code == 201, case.data
    return product.data, case.data


@override_settings(ALLOW_BUSINESS_DATE=True)
def test_full_journey_from_need_to_classification(world):
    w = world
    w["admin"].put("/admin/business-date", {"date": "2026-03-02"})
    _product, case = _journey(w)
    no = case["case_no"]
    dd = {i["key"]: i for i in case["due_diligence"]}
    assert dd["ownership"]["prefilled"] == "ok" and dd["encumbrances"]["prefilled"] == "ok"
    early = w["officer"].post(f"/credit-cases/{no}/submit", {})
    assert early.status_code == 422 and early.data["error"]["code"] == "dd_incomplete"
    for key in dd:
        assert w["officer"].post(f"/credit-cases/{no}/due-diligence", {"key": key, "result": "ok",
                                                                         "evidence": ["register-extract.pdf"]}).status_code == 200
    assert w["officer"].post(f"/credit-cases/{no}/submit", {"risk_grade": "B"}).data["stage"] == "review"
    # The officer who prepared the case cannot review or approve it.
    assert w["officer"].post(f"/credit-cases/{no}/review", {"decision": "pass"}).status_code == 403
    assert w["reviewer"].post(f"/credit-cases/{no}/review", {"decision": "pass"}).data["stage"] == "approval"
    approved = w["approver"].post(f"/credit-cases/{no}/approval", {"decision": "approve"})
    assert approved.status_code == 200, approved.data
    c = approved.data
    assert c["stage"] == "contracted" and c["pledge_application_no"]
    # LPR 1y in force on 2026-03-02 is the February fixing (2026-02-24, moved by the holiday); B = 80 bp.
    assert c["pricing"]["lpr_fixing_date"] == "2026-02-24" and c["pricing"]["spread_bp"] == 80
    assert [s["action"] for s in c["trail"]] == ["open", "submit", "pass", "approve", "contract"]
    # The bank's filing waits for the pledgor: no disbursement until the enterprise signs.
    early = w["officer"].post(f"/credit-cases/{no}/disbursement", {"schedule": "equal_instalments"})
    assert early.status_code == 409 and early.data["error"]["code"] == "pledge_not_registered"
    assert w["officer"].post(f"/credit-cases/{no}/contract-signature").status_code == 403
    signed = w["ent"].post(f"/credit-cases/{no}/contract-signature")
    assert signed.status_code == 200, signed.data
    assert signed.data["trail"][-1]["action"] == "sign"
    paid = w["officer"].post(f"/credit-cases/{no}/disbursement", {"schedule": "equal_instalments"})
    assert paid.status_code == 200, paid.data
    loan_no = paid.data["loan_no"]
    # The bank's own notes on the loan are not the borrower's to read.
    noted = w["reviewer"].post(f"/loans/{loan_no}/classification", {"category": "special_mention",
                                                                    "reason": "行业下行，内部关注"})
    assert noted.status_code in (200, 201), noted.data
    assert w["officer"].get(f"/loans/{loan_no}").data["classification_history"][-1]["note"]
    borrower_view = w["ent"].get(f"/loans/{loan_no}").data
    assert borrower_view["loan_no"] == loan_no
    assert all(not h["note"] for h in borrower_view["classification_history"])
    loan = w["officer"].get(f"/loans/{loan_no}").data
    assert loan["pledge_registration_no"] and loan["first_loan"] is True
    w["admin"].put("/admin/business-date", {"date": "2026-04-03"})
    eod.run(business_date=dt.date(2026, 4, 3))
    loan = w["officer"].get(f"/loans/{loan_no}").data
    assert loan["dpd"] == 1 and loan["classification"] == "special_mention"
    progress = w["officer"].get(f"/credit-plans/{w['bank'].pk}/2026").data
    assert progress["households"] == 1 and progress["amount"] == "1000000.00"


def test_decline_needs_a_reason_and_return_goes_back(world):
    w = world
    _product, case = _journey(w)
    no = case["case_no"]
    for item in case["due_diligence"]:
        w["officer"].post(f"/credit-cases/{no}/due-diligence", {"key": item["key"], "result": "ok"})
    w["officer"].post(f"/credit-cases/{no}/submit", {})
    assert w["reviewer"].post(f"/credit-cases/{no}/review", {"decision": "decline"}).status_code == 422
    back = w["reviewer"].post(f"/credit-cases/{no}/review", {"decision": "return", "note": "补充材料"})
    assert back.data["stage"] == "due_diligence"


def test_amount_tier_authority(world):
    w = world
    ApprovalAuthority.objects.create(bank=w["bank"], user=w["approver"].user, max_amount=50_000_000)
    _product, case = _journey(w, amount="1000000")
    no = case["case_no"]
    for item in case["due_diligence"]:
        w["officer"].post(f"/credit-cases/{no}/due-diligence", {"key": item["key"], "result": "ok"})
    w["officer"].post(f"/credit-cases/{no}/submit", {})
    w["reviewer"].post(f"/credit-cases/{no}/review", {"decision": "pass"})
    r = w["approver"].post(f"/credit-cases/{no}/approval", {"decision": "approve"})
    assert r.status_code == 403 and r.data["error"]["code"] == "above_authority"


def test_amount_outside_the_product_is_refused(world):
    w = world
    product = w["approver"].post("/products", PRODUCT).data
    r = w["officer"].post("/credit-cases", {"product_id": product["id"], "enterprise_id": w["ent"].user.organisation_id,
                                            "amount": "50000000", "term_months": 12,
                                            "rights": [{"kind": "invention", "number": "ZL201410362077.3"}]})
    assert r.status_code == 422 and r.data["error"]["code"] == "product_mismatch"


@override_settings(ALLOW_BUSINESS_DATE=True)
def test_park_line_headroom_is_enforced(world):
    w = world
    w["admin"].put("/admin/business-date", {"date": "2026-03-02"})
    park = Park.objects.create(name="示范科技园")
    ParkCreditLine.objects.create(bank=w["bank"], park=park, limit=50_000_000, start_date=dt.date(2026, 1, 1),
                                  end_date=dt.date(2026, 12, 31))
    CreditPlan.objects.create(bank=w["bank"], year=2026, households=10, amount=1_000_000_000)
    product = w["approver"].post("/products", PRODUCT).data
    case = w["officer"].post("/credit-cases", {"product_id": product["id"], "enterprise_id":
                                               w["ent"].user.organisation_id, "amount": "1000000",
                                               "term_months": 12, "park_id": park.pk,
                                               "rights": [{"kind": "invention", "number": "ZL201410362077.3"}],
                                               "valuation_no": valuation_no(w)}).data
    no = case["case_no"]
    for item in case["due_diligence"]:
        w["officer"].post(f"/credit-cases/{no}/due-diligence", {"key": item["key"], "result": "ok"})
    w["officer"].post(f"/credit-cases/{no}/submit", {})
    w["reviewer"].post(f"/credit-cases/{no}/review", {"decision": "pass"})
    w["approver"].post(f"/credit-cases/{no}/approval", {"decision": "approve"})
    w["ent"].post(f"/credit-cases/{no}/contract-signature")
    r = w["officer"].post(f"/credit-cases/{no}/disbursement", {})
    assert r.status_code == 409 and r.data["error"]["code"] == "park_line_exhausted"
    lines = w["officer"].get("/park-credit-lines").data
    assert lines[0]["headroom"] == "500000.00"


def test_plans_lines_and_subsidies_through_the_api(world):
    w = world
    r = w["approver"].post("/credit-plans", {"bank_org_id": w["bank"].pk, "year": 2026, "households": 50,
                                             "amount": "200000000"})
    assert r.status_code == 201 and r.data["plan_households"] == 50
    assert w["officer"].post("/credit-plans", {"bank_org_id": w["bank"].pk, "year": 2026, "households": 5,
                                               "amount": "1"}).status_code == 403
    line = w["approver"].post("/park-credit-lines", {"bank_org_id": w["bank"].pk, "park_name": "示范园",
                                                     "limit": "30000000", "start_date": "2026-01-01",
                                                     "end_date": "2026-12-31"})
    assert line.status_code == 201 and line.data["headroom"] == "30000000.00"
    sub = w["admin"].post("/subsidy-schemes", {"name": "区级贴息", "kind": "share_of_interest", "value": "0.3"})
    assert sub.status_code == 201


def test_evidence_files_are_kept_with_their_hash(world):
    import hashlib

    from django.test import Client

    w = world
    _product, case = _journey(w)
    no = case["case_no"]
    client = Client()
    r = client.post(f"/api/v1/credit-cases/{no}/evidence", {"key": "ownership", "file": _upload(b"%PDF-1.4 extract")},
                    headers={"Authorization": f"Bearer {w['officer'].token}"})
    assert r.status_code == 201, r.content
    assert r.json()["sha256"] == hashlib.sha256(b"%PDF-1.4 extract").hexdigest()
    w["officer"].post(f"/credit-cases/{no}/due-diligence", {"key": "ownership", "result": "ok",
                                                             "evidence": ["纸质原件已核"]})
    item = next(i for i in w["officer"].get(f"/credit-cases/{no}").data["due_diligence"] if i["key"] == "ownership")
    assert [type(e).__name__ for e in item["evidence"]] == ["dict", "str"]
    page = Client()
    page.post("/login/", {"username": "officer", "password": PASSWORD})
    download = page.get(f"/credit/cases/{no}/evidence/{item['evidence'][0]['file']}")
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"%PDF-1.4 extract"
    other = Client()
    other.post("/login/", {"username": "ent", "password": PASSWORD})
    assert other.get(f"/credit/cases/{no}/evidence/../../secret_key").status_code == 404


def _upload(content: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("extract.pdf", content, content_type="application/pdf")


def test_size_class_from_the_miit_table(world):
    w = world
    product = w["approver"].post("/products", PRODUCT).data
    r = w["officer"].post("/credit-cases", {"product_id": product["id"], "enterprise_id": w["ent"].user.organisation_id,
                                            "amount": "1000000", "term_months": 12,
                                            "rights": [{"kind": "invention", "number": "ZL201410362077.3"}],
                                            "profile": {"staff": 300, "revenue": "20000000", "industry": "industry"}})
    assert r.status_code == 201, r.data
    assert r.data["enterprise"]["size_class"] == "medium"


@override_settings(ALLOW_BUSINESS_DATE=True)
def test_prepayment_reamortises_the_rest(world):
    w = world
    w["admin"].put("/admin/business-date", {"date": "2026-01-05"})
    loan = w["officer"].post("/loans", {"borrower_uscc": PLEDGOR["id_number"], "bank_org_id": w["bank"].pk,
                                        "amount": "1200000", "annual_rate": "0.04", "start_date": "2026-01-05",
                                        "maturity_date": "2027-01-05", "schedule": "equal_instalments",
                                        "ip_kind": "patent"}).data
    first = loan["schedule"][0]
    w["admin"].put("/admin/business-date", {"date": "2026-02-10"})
    w["officer"].post(f"/loans/{loan['loan_no']}/repayments", {"date": "2026-02-05", "principal": first["principal"],
                                                               "interest": first["interest"]})
    r = w["officer"].post(f"/loans/{loan['loan_no']}/prepayment", {"date": "2026-02-10", "principal": "500000"})
    assert r.status_code == 200, r.data
    remaining = Decimal("1200000.00") - Decimal(first["principal"]) - Decimal("500000.00")
    assert Decimal(r.data["balance"]) == remaining
    future = [row for row in r.data["schedule"] if row["due_date"] > "2026-02-10"]
    assert sum(Decimal(x["principal"]) for x in future) == remaining
    assert r.data["dpd"] == 0
    too_much = w["officer"].post(f"/loans/{loan['loan_no']}/prepayment", {"date": "2026-02-10",
                                                                          "principal": "99999999"})
    assert too_much.status_code == 422
