"""Issue 9, credit: loans only on the lender's own pledge to a known borrower, products only for one's own
bank, evidence only while due diligence is open and only what is kept, what the borrower reads of its
case, the regulator writes no bank record, and every amount, rate, term, count and string is bounded
(422 with field errors, never a 500)."""

from __future__ import annotations

import pytest
from django.test import Client

from ippledge.core import services as core
from ippledge.core.actors import SYSTEM
from ippledge.core.models import Organisation
from ippledge.credit.models import CreditCase, DueDiligenceItem, FinancingNeed, Loan, Product
from ippledge.registry import services as registry

from .conftest import PASSWORD, Api, uscc
from .registry_fixtures import PLEDGEE, PLEDGOR, application, make_patent

pytestmark = pytest.mark.django_db

OTHER_ENTERPRISE_USCC = uscc("91440300MA5F00001")
OTHER_BANK_USCC = uscc("91110000100000590")
RIGHT = {"kind": "invention", "number": "ZL201410362077.3"}


@pytest.fixture
def w(db):
    orgs = {
        "A": core.create_organisation(actor=SYSTEM, name=PLEDGEE["name"], kind="bank", uscc=PLEDGEE["id_number"]),
        "A1": core.create_organisation(actor=SYSTEM, name="示范商业银行深圳分行", kind="bank"),
        "B": core.create_organisation(actor=SYSTEM, name="另一家银行", kind="bank", uscc=OTHER_BANK_USCC),
        "E": core.create_organisation(actor=SYSTEM, name=PLEDGOR["name"], kind="enterprise", uscc=PLEDGOR["id_number"]),
        "F": core.create_organisation(actor=SYSTEM, name="另一家企业", kind="enterprise", uscc=OTHER_ENTERPRISE_USCC),
        "R": core.create_organisation(actor=SYSTEM, name="监管局", kind="regulator"),
        "P": core.create_organisation(actor=SYSTEM, name="平台", kind="platform_operator"),
    }
    Organisation.objects.filter(pk=orgs["A1"].pk).update(parent=orgs["A"])
    orgs["A1"].refresh_from_db()
    world = {"org": orgs}
    for name, org, role in (("officer", "A", "bank_officer"), ("reviewer", "A", "bank_reviewer"),
                            ("approver", "A", "bank_approver"), ("branch_officer", "A1", "bank_officer"),
                            ("branch_approver", "A1", "bank_approver"), ("other_officer", "B", "bank_officer"),
                            ("other_approver", "B", "bank_approver"), ("ent", "E", "enterprise_user"),
                            ("regulator", "R", "regulator_user"), ("admin", "P", "admin")):
        user = core.create_user(actor=SYSTEM, username=f"{name}-h3", password=PASSWORD, org_id=orgs[org].pk,
                                roles=[role])
        world[name] = Api(core.issue_token(user=user))
        world[name].user = user
    make_patent()
    return world


def loan_body(w, bank="A", **over):
    body = {"borrower_uscc": PLEDGOR["id_number"], "bank_org_id": w["org"][bank].pk, "amount": "1000000.00",
            "annual_rate": "0.0345", "start_date": "2026-01-05", "maturity_date": "2027-01-05",
            "schedule": "bullet", "ip_kind": "patent"}
    body.update(over)
    return body


def registered_pledge() -> str:
    app = registry.file_application(actor=SYSTEM, data=application())
    assert app.status == "registered", app.status
    return app.pledge.registration_no


PRODUCT = {"name": "知识产权质押快贷", "eligible_kinds": ["patent", "trademark"], "min_amount": "100000",
           "max_amount": "10000000", "min_term_months": 6, "max_term_months": 36, "spreads_bp": {"A": 50, "B": 80}}


def open_case(w) -> str:
    product = w["approver"].post("/products", PRODUCT)
    assert product.status_code == 201, product.data
    case = w["officer"].post("/credit-cases", {"product_id": product.data["id"], "enterprise_id": w["org"]["E"].pk,
                                               "amount": "1000000", "term_months": 12, "rights": [RIGHT]})
    assert case.status_code == 201, case.data
    return case.data["case_no"]


def upload(w, case_no, content=b"%PDF-1.4 extract", name="extract.pdf", key="ownership", who="officer"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return Client().post(f"/api/v1/credit-cases/{case_no}/evidence",
                         {"key": key, "file": SimpleUploadedFile(name, content)},
                         headers={"Authorization": f"Bearer {w[who].token}"})


def code(r):
    return (r.data or {}).get("error", {}).get("code")


# --- point 2: loans on the lender's own pledge, to a borrower the platform knows -------------------------

def test_a_loan_is_booked_only_on_a_pledge_of_the_lender_to_the_borrower(w):
    reg = registered_pledge()
    other_bank = w["other_officer"].post("/loans", loan_body(w, bank="B", pledge_registration_no=reg))
    assert other_bank.status_code == 422 and code(other_bank) == "pledge_not_yours", other_bank.data
    other_borrower = w["officer"].post("/loans", loan_body(w, borrower_uscc=OTHER_ENTERPRISE_USCC,
                                                           pledge_registration_no=reg))
    assert other_borrower.status_code == 422 and code(other_borrower) == "pledge_not_yours"
    assert Loan.objects.count() == 0
    own = w["officer"].post("/loans", loan_body(w, pledge_registration_no=reg))
    assert own.status_code == 201, own.data
    # A branch lends on a pledge registered to its head office.
    branch = w["branch_officer"].post("/loans", loan_body(w, bank="A1", pledge_registration_no=reg))
    assert branch.status_code == 201, branch.data


def test_an_unknown_borrower_is_refused_not_created(w):
    before = Organisation.objects.count()
    r = w["officer"].post("/loans", loan_body(w, borrower_uscc=uscc("91440300MA5F99999"), borrower_name="新公司"))
    assert r.status_code == 422 and code(r) == "unknown_borrower"
    assert "borrower_uscc" in r.data["error"]["fields"]
    assert Organisation.objects.count() == before and Loan.objects.count() == 0


# --- point 3: products for one's own bank (or a branch of it) -------------------------------------------

def test_bank_org_id_on_products_is_honoured_with_a_party_check(w):
    banks = w["org"]
    foreign = w["approver"].post("/products", {**PRODUCT, "bank_org_id": banks["B"].pk})
    assert foreign.status_code == 403 and code(foreign) == "not_your_bank"
    up = w["branch_approver"].post("/products", {**PRODUCT, "bank_org_id": banks["A"].pk})
    assert up.status_code == 403  # a branch does not define its head office's products
    assert w["approver"].post("/products", {**PRODUCT, "bank_org_id": 10**9}).status_code == 404
    assert Product.objects.count() == 0
    down = w["approver"].post("/products", {**PRODUCT, "bank_org_id": banks["A1"].pk})
    assert down.status_code == 201 and down.data["bank_org_id"] == banks["A1"].pk
    assert w["approver"].post("/products", PRODUCT).data["bank_org_id"] == banks["A"].pk
    admin = w["admin"].post("/products", {**PRODUCT, "bank_org_id": banks["B"].pk})
    assert admin.status_code == 201 and admin.data["bank_org_id"] == banks["B"].pk
    assert w["admin"].post("/products", PRODUCT).status_code == 404  # an administrator names the bank


# --- point 4: evidence while due diligence is open, and only what is kept ---------------------------------

def test_evidence_is_refused_when_it_would_not_be_kept(w):
    no = open_case(w)
    assert upload(w, no).status_code == 201
    fake = upload(w, no, content=b"just text", name="extract.pdf")
    assert fake.status_code == 422 and fake.json()["error"]["code"] == "unsupported_file_type"
    exe = upload(w, no, content=b"MZ\x90\x00", name="tool.exe")
    assert exe.status_code == 422
    for i in range(19):
        assert upload(w, no, name=f"page{i}.pdf").status_code == 201
    over = upload(w, no, name="page20.pdf")
    assert over.status_code == 422 and over.json()["error"]["code"] == "too_many_files"
    assert len(DueDiligenceItem.objects.get(case__case_no=no, key="ownership").evidence) == 20
    typed = w["officer"].post(f"/credit-cases/{no}/due-diligence", {"key": "ownership", "result": "ok",
                                                                      "evidence": ["纸质原件已核"]})
    assert typed.status_code == 422 and code(typed) == "too_many_files"
    # Someone else's case, and the borrower: refused before the upload is read.
    assert upload(w, no, who="other_officer").status_code == 404
    assert upload(w, no, who="ent").status_code == 403


def test_no_evidence_after_due_diligence_is_signed_off(w):
    no = open_case(w)
    for item in DueDiligenceItem.objects.filter(case__case_no=no):
        assert w["officer"].post(f"/credit-cases/{no}/due-diligence", {"key": item.key, "result": "ok"}).status_code \
            == 200
    assert w["officer"].post(f"/credit-cases/{no}/submit", {"risk_grade": "B"}).data["stage"] == "review"
    late = upload(w, no)
    assert late.status_code == 409 and late.json()["error"]["code"] == "wrong_stage"
    assert DueDiligenceItem.objects.get(case__case_no=no, key="ownership").evidence == []


def test_multipart_without_a_boundary_is_a_client_error(w):
    no = open_case(w)
    r = Client().post(f"/api/v1/credit-cases/{no}/evidence", data=b"--x\r\nnonsense", content_type="multipart/form-data",
                      headers={"Authorization": f"Bearer {w['officer'].token}"})
    assert 400 <= r.status_code < 500 and r.json()["error"]["code"]
    broken = Client().post(f"/api/v1/credit-cases/{no}/evidence", data=b"garbage",
                           content_type="multipart/form-data; boundary=zzz",
                           headers={"Authorization": f"Bearer {w['officer'].token}"})
    assert 400 <= broken.status_code < 500
    # The view itself reads the body robustly, without the middleware in front of it.
    from django.test import RequestFactory
    from django.urls import resolve

    path = f"/api/v1/credit-cases/{no}/evidence"
    request = RequestFactory().post(path, data=b"--x\r\nnonsense", content_type="multipart/form-data",
                                    HTTP_AUTHORIZATION=f"Bearer {w['officer'].token}")
    match = resolve(path)
    direct = match.func(request, *match.args, **match.kwargs)
    assert 400 <= direct.status_code < 500, direct.content


def test_the_borrower_does_not_read_the_banks_internal_file(w):
    no = open_case(w)
    w["officer"].post(f"/credit-cases/{no}/due-diligence", {"key": "litigation", "result": "issue",
                                                             "notes": "内部意见：实控人涉诉，需追加担保"})
    assert upload(w, no).status_code == 201
    lender = w["officer"].get(f"/credit-cases/{no}").data
    assert lender["reader"] == "lender" and lender["due_diligence"] and lender["risk_grade"] == "B"
    assert lender["prepared_by"] == "officer-h3" and lender["trail"][0]["by"] == "officer-h3"
    borrower = w["ent"].get(f"/credit-cases/{no}")
    assert borrower.status_code == 200
    seen = borrower.data
    assert seen["reader"] == "borrower" and seen["stage"] == "due_diligence" and seen["amount"] == "1000000.00"
    for hidden in ("due_diligence", "risk_grade", "prepared_by", "dd_signed_by", "max_loan", "innovation_grade"):
        assert hidden not in seen, hidden
    assert all("by" not in step and "note" not in step for step in seen["trail"])
    assert "内部意见" not in str(w["ent"].get("/credit-cases").data)
    # The pages say the same, and the evidence files stay with the bank.
    page = Client()
    page.post("/login/", {"username": "ent-h3", "password": PASSWORD})
    for tab in ("dd", "trail", "enterprise", "rights"):
        html = page.get(f"/credit/cases/{no}/?tab={tab}").content.decode()
        assert "内部意见" not in html and "officer-h3" not in html, tab
    stored = DueDiligenceItem.objects.get(case__case_no=no, key="ownership").evidence[0]["file"]
    assert page.get(f"/credit/cases/{no}/evidence/{stored}").status_code == 404
    bank = Client()
    bank.post("/login/", {"username": "officer-h3", "password": PASSWORD})
    assert "内部意见" in bank.get(f"/credit/cases/{no}/?tab=dd").content.decode()


# --- point 5: the regulator reads; it writes no bank record --------------------------------------------

def test_the_regulator_writes_no_bank_record(w):
    loan = w["officer"].post("/loans", loan_body(w)).data["loan_no"]
    no = open_case(w)
    e, a = w["org"]["E"].pk, w["org"]["A"].pk
    junk = "not-a-value"  # permission is answered before the body is parsed
    writes = [
        ("/lpr", {"fixing_date": junk, "tenor": junk, "rate": junk}),
        ("/loans", loan_body(w, amount=junk, start_date=junk)),
        (f"/loans/{loan}/repayments", {"date": junk, "principal": junk}),
        (f"/loans/{loan}/prepayment", {"date": "2026-02-01", "principal": "1"}),
        (f"/loans/{loan}/extension", {"maturity_date": junk}),
        (f"/loans/{loan}/restructure", {"kind": "rate_cut"}),
        (f"/loans/{loan}/classification", {"category": "loss", "reason": "x"}),
        (f"/loans/{loan}/exemption-requests", {"statement": "x"}),
        ("/exemption-requests/1/decision", {"grant": junk, "reason": "x"}),
        ("/products", {**PRODUCT, "max_amount": junk}),
        ("/financing-needs", {"amount": "100", "rights": [RIGHT]}),
        ("/credit-cases", {"product_id": junk, "enterprise_id": e}),
        (f"/credit-cases/{no}/due-diligence", {"key": "ownership", "result": "ok"}),
        (f"/credit-cases/{no}/evidence", {}),
        (f"/credit-cases/{no}/submit", {}),
        (f"/credit-cases/{no}/review", {"decision": "pass"}),
        (f"/credit-cases/{no}/disbursement", {}),
        ("/credit-plans", {"bank_org_id": a, "year": junk, "households": 1, "amount": "1"}),
        ("/park-credit-lines", {"bank_org_id": a, "park_name": "园", "limit": junk, "start_date": junk,
                                "end_date": "2026-12-31"}),
        ("/investments", {"enterprise_id": e, "fund_name": "f", "amount": junk, "date": junk, "stake": junk}),
    ]
    for path, body in writes:
        r = w["regulator"].post(path, body)
        assert r.status_code == 403 and code(r) == "permission_denied", (path, r.status_code, r.data)
    # The approval step files the pledge (the lead's part): refused either way.
    assert w["regulator"].post(f"/credit-cases/{no}/approval", {"decision": "approve"}).status_code in (403, 404)
    assert Loan.objects.count() == 1 and Product.objects.count() == 1 and CreditCase.objects.count() == 1
    assert FinancingNeed.objects.count() == 0
    # Its own regulatory write stays.
    scheme = w["regulator"].post("/subsidy-schemes", {"name": "区级贴息", "kind": "share_of_interest", "value": "0.3"})
    assert scheme.status_code == 201
    assert w["regulator"].post("/subsidy-schemes", {"name": "区级贴息", "kind": "rate", "value": ""}).status_code == 422


# --- points 9-11: every amount, rate, term, count and string has a business bound ---------------------

ABSURD_LOANS = [
    ("amount", "90000000000000000"), ("amount", "100000000000000000000"), ("amount", "1e20"),
    ("amount", "1000.001"), ("amount", "١٠٠٠"), ("amount", 1000.5), ("amount", ""),
    ("annual_rate", "0.99"), ("annual_rate", "0.0345123"), ("annual_rate", ""), ("annual_rate", "NaN"),
    ("start_date", "1900-01-01"), ("start_date", "0001-01-01"), ("start_date", "２０２６-01-05"),
    ("maturity_date", "9999-12-31"), ("maturity_date", "2025-01-01"),
    ("currency", "€€€€€€"), ("currency", "USD"), ("ip_kind", "x" * 10_000), ("schedule", "weekly"),
    ("day_count", "30/360"), ("first_loan", "yes"), ("park_id", 10**30), ("park_id", 999),
    ("pledge_registration_no", "Y" * 100_000), ("bank_org_id", "x"), ("borrower_uscc", ["x"]),
]


def test_absurd_loans_are_refused(w):
    for field, value in ABSURD_LOANS:
        r = w["officer"].post("/loans", loan_body(w, **{field: value}))
        assert r.status_code == 422, (field, value, r.status_code, r.data)
        assert field in r.data["error"]["fields"], (field, r.data)
    assert Loan.objects.count() == 0


def test_a_schedule_is_bounded(w):
    r = w["officer"].post("/loans", loan_body(w, schedule="equal_instalments", instalments=100000))
    assert r.status_code == 422 and "instalments" in r.data["error"]["fields"]
    far = w["officer"].post("/loans", loan_body(w, schedule="equal_instalments", start_date="2026-01-05",
                                                maturity_date="2056-01-06"))
    assert far.status_code == 422 and "maturity_date" in far.data["error"]["fields"]
    longest = w["officer"].post("/loans", loan_body(w, schedule="equal_instalments", start_date="2026-01-05",
                                                    maturity_date="2056-01-05"))
    assert longest.status_code == 201 and len(longest.data["schedule"]) == 360


def test_lpr_permission_first_then_bounds(w):
    for body in ({"fixing_date": "2026-09-21", "tenor": "1y", "rate": ""},
                 {"fixing_date": "x", "tenor": "10y", "rate": 3}):
        r = w["officer"].post("/lpr", body)
        assert r.status_code == 403, r.data
    for body, field in (({"fixing_date": "2026-09-21", "tenor": "1y", "rate": ""}, "rate"),
                        ({"fixing_date": "2026-09-21", "tenor": "1y", "rate": "2.951234"}, "rate"),
                        ({"fixing_date": "2026-09-21", "tenor": "1y", "rate": "0"}, "rate"),
                        ({"fixing_date": "2026-09-21", "tenor": "1y", "rate": "99"}, "rate"),
                        ({"fixing_date": "0001-01-01", "tenor": "1y", "rate": "2.95"}, "fixing_date"),
                        ({"fixing_date": "2026-09-21", "tenor": "10y", "rate": "2.95"}, "tenor")):
        r = w["admin"].post("/lpr", body)
        assert r.status_code == 422 and field in r.data["error"]["fields"], (body, r.data)
    assert w["admin"].post("/lpr", {"fixing_date": "2026-09-21", "tenor": "1y", "rate": "2.95"}).status_code == 201


def test_bank_records_are_bounded(w):
    loan = w["officer"].post("/loans", loan_body(w)).data["loan_no"]
    a, e = w["org"]["A"].pk, w["org"]["E"].pk
    cases = [
        ("officer", f"/loans/{loan}/repayments", {"date": "2026-02-01", "principal": "1e30"}, "principal"),
        ("officer", f"/loans/{loan}/repayments", {"date": "0001-01-01", "principal": "1"}, "date"),
        ("officer", f"/loans/{loan}/repayments", {"date": "2026-02-01", "interest": "0.001"}, "interest"),
        ("officer", f"/loans/{loan}/prepayment", {"date": "2026-02-01", "principal": "abc"}, "principal"),
        ("reviewer", f"/loans/{loan}/extension", {"maturity_date": "9999-12-31"}, "maturity_date"),
        ("reviewer", f"/loans/{loan}/extension", {"maturity_date": "2028-01-05", "reason": "x" * 5000}, "reason"),
        ("reviewer", f"/loans/{loan}/restructure", {"kind": "k" * 1000}, "kind"),
        ("reviewer", f"/loans/{loan}/restructure", {"kind": ""}, "kind"),
        ("reviewer", f"/loans/{loan}/classification", {"category": "loss", "reason": "r" * 301}, "reason"),
        ("reviewer", f"/loans/{loan}/classification", {"category": "worst", "reason": "r"}, "category"),
        ("approver", "/products", {**PRODUCT, "max_amount": "1e20"}, "max_amount"),
        ("approver", "/products", {**PRODUCT, "max_term_months": 100000}, "max_term_months"),
        ("approver", "/products", {**PRODUCT, "eligible_kinds": ["patent", "spaceship"]}, "eligible_kinds[1]"),
        ("approver", "/products", {**PRODUCT, "spreads_bp": {"A": "x"}}, "spreads_bp.A"),
        ("approver", "/products", {**PRODUCT, "spreads_bp": {"A": 10**9}}, "spreads_bp.A"),
        ("approver", "/products", {**PRODUCT, "rate_cap": "0.99"}, "rate_cap"),
        ("approver", "/products", {**PRODUCT, "ltv_caps": {"invention": "1.5"}}, "ltv_caps.invention"),
        ("approver", "/products", {**PRODUCT, "min_innovation_grade": "T99"}, "min_innovation_grade"),
        ("approver", "/products", {**PRODUCT, "regions": ["x"]}, "regions[0]"),
        ("approver", "/products", {**PRODUCT, "name": "n" * 100_000}, "name"),
        ("approver", "/products", {**PRODUCT, "required_documents": ["d"] * 5000}, "required_documents"),
        ("approver", "/credit-plans", {"bank_org_id": a, "year": 1900, "households": 1, "amount": "1"}, "year"),
        ("approver", "/credit-plans", {"bank_org_id": a, "year": 2026, "households": -1, "amount": "1"}, "households"),
        ("approver", "/credit-plans", {"bank_org_id": a, "year": 2026, "households": 1, "amount": "9e16"}, "amount"),
        ("approver", "/park-credit-lines", {"bank_org_id": a, "park_name": "园", "limit": "1e20",
                                            "start_date": "2026-01-01", "end_date": "2026-12-31"}, "limit"),
        ("approver", "/park-credit-lines", {"bank_org_id": a, "park_name": "园", "limit": "100",
                                            "start_date": "2026-01-01", "end_date": "9999-12-31"}, "end_date"),
        ("approver", "/park-credit-lines", {"bank_org_id": a, "park_name": "", "limit": "100",
                                            "start_date": "2026-01-01", "end_date": "2026-12-31"}, "park_name"),
        ("ent", "/financing-needs", {"amount": "1e20", "rights": [RIGHT]}, "amount"),
        ("ent", "/financing-needs", {"amount": "100", "term_months": 100000, "rights": [RIGHT]}, "term_months"),
        ("ent", "/financing-needs", {"amount": "100", "purpose": "p" * 301, "rights": [RIGHT]}, "purpose"),
        ("ent", "/financing-needs", {"amount": "100", "rights": [RIGHT] * 10_000}, "rights"),
        ("officer", "/investments", {"enterprise_id": e, "fund_name": "f", "amount": "1", "date": "2026-01-01",
                                     "stake": "w"}, "stake"),
        ("officer", "/investments", {"enterprise_id": e, "fund_name": "f", "amount": "1", "date": "2026-01-01",
                                     "stake": "1.5"}, "stake"),
        ("officer", "/investments", {"enterprise_id": e, "fund_name": "f", "amount": "1e20", "date": "2026-01-01"},
         "amount"),
        ("admin", "/subsidy-schemes", {"name": "贴息", "kind": "share_of_interest", "value": ""}, "value"),
        ("admin", "/subsidy-schemes", {"name": "贴息", "kind": "share_of_interest", "value": "2"}, "value"),
        ("admin", "/subsidy-schemes", {"name": "贴息", "kind": "amount", "value": "1e30"}, "value"),
        ("admin", "/subsidy-schemes", {"name": "贴息", "kind": "amount", "value": "5000000"}, "value"),
        ("admin", "/subsidy-schemes", {"name": "贴息", "kind": "rate", "value": "0.01", "region_code": "x"},
         "region_code"),
    ]
    for who, path, body, field in cases:
        r = w[who].post(path, body)
        assert r.status_code == 422, (path, body, r.status_code, r.data)
        assert field in r.data["error"]["fields"], (path, field, r.data)


def test_case_input_is_bounded(w):
    product = w["approver"].post("/products", PRODUCT).data["id"]
    base = {"product_id": product, "enterprise_id": w["org"]["E"].pk, "amount": "1000000", "term_months": 12,
            "rights": [RIGHT]}
    for over, field in (({"amount": "1e30"}, "amount"), ({"term_months": 100000}, "term_months"),
                        ({"profile": {"staff": 10**12, "revenue": "1"}}, "profile.staff"),
                        ({"profile": {"staff": 10, "revenue": "1e30"}}, "profile.revenue"),
                        ({"purpose": "p" * 1000}, "purpose"), ({"park_id": "x"}, "park_id"),
                        ({"rights": [{"kind": "invention"}]}, "rights[0].number")):
        r = w["officer"].post("/credit-cases", {**base, **over})
        assert r.status_code == 422 and field in r.data["error"]["fields"], (over, r.data)
    assert CreditCase.objects.count() == 0
    no = open_case(w)
    long_notes = w["officer"].post(f"/credit-cases/{no}/due-diligence", {"key": "ownership", "result": "ok",
                                                                           "notes": "n" * 1001})
    assert long_notes.status_code == 422 and "notes" in long_notes.data["error"]["fields"]
    for item in DueDiligenceItem.objects.filter(case__case_no=no):
        w["officer"].post(f"/credit-cases/{no}/due-diligence", {"key": item.key, "result": "ok"})
    # The risk grade prices the loan: only a grade the product sets a spread for.
    bad_grade = w["officer"].post(f"/credit-cases/{no}/submit", {"risk_grade": "Z"})
    assert bad_grade.status_code == 422 and "risk_grade" in bad_grade.data["error"]["fields"]
    assert w["officer"].post(f"/credit-cases/{no}/submit", {"risk_grade": "A"}).status_code == 200
    long_note = w["reviewer"].post(f"/credit-cases/{no}/review", {"decision": "decline", "note": "n" * 501})
    assert long_note.status_code == 422 and "note" in long_note.data["error"]["fields"]


ABSURD = ["", "x", "1e999", "-1", "0", 10**30, -(10**30), 1.5, True, None, [], {"a": 1}, "٣", "0001-01-01",
          "9999-12-31", "a\x00b", "x" * 20_000]


def test_no_absurd_value_on_any_credit_route_is_a_server_error(w):
    loan = w["officer"].post("/loans", loan_body(w)).data["loan_no"]
    no = open_case(w)
    a, e = w["org"]["A"].pk, w["org"]["E"].pk
    routes = [
        ("admin", "/lpr", {"fixing_date": "2026-09-21", "tenor": "1y", "rate": "2.95"}),
        ("officer", "/loans", loan_body(w, instalments=3, park_id=None, pledge_registration_no=None)),
        ("officer", f"/loans/{loan}/repayments", {"date": "2026-02-01", "principal": "1", "interest": "1"}),
        ("officer", f"/loans/{loan}/prepayment", {"date": "2026-02-01", "principal": "1", "interest": "0"}),
        ("reviewer", f"/loans/{loan}/extension", {"maturity_date": "2028-01-05", "reason": "r"}),
        ("reviewer", f"/loans/{loan}/restructure", {"kind": "rate_cut", "note": "n"}),
        ("reviewer", f"/loans/{loan}/classification", {"category": "doubtful", "reason": "r"}),
        ("officer", f"/loans/{loan}/exemption-requests", {"statement": "s"}),
        ("reviewer", "/exemption-requests/1/decision", {"grant": True, "reason": "r"}),
        ("approver", "/products", {**PRODUCT, "ltv_caps": {"invention": "0.2"}, "rate_floor": "0.01",
                                   "rate_cap": "0.2", "park_ids": [], "regions": ["440300"],
                                   "min_innovation_grade": "T3", "bank_org_id": a}),
        ("ent", "/financing-needs", {"amount": "100", "term_months": 12, "purpose": "p", "rights": [RIGHT]}),
        ("officer", "/credit-cases", {"product_id": 1, "enterprise_id": e, "amount": "1000000", "term_months": 12,
                                      "rights": [RIGHT], "purpose": "p", "valuation_no": "", "first_loan": True,
                                      "park_id": None, "profile": {"staff": 10, "revenue": "1000"}}),
        ("officer", f"/credit-cases/{no}/due-diligence", {"key": "ownership", "result": "ok", "notes": "n",
                                                           "evidence": ["e"]}),
        ("officer", f"/credit-cases/{no}/submit", {"risk_grade": "B"}),
        ("reviewer", f"/credit-cases/{no}/review", {"decision": "return", "note": "n"}),
        ("officer", f"/credit-cases/{no}/disbursement", {"schedule": "bullet"}),
        ("approver", "/credit-plans", {"bank_org_id": a, "year": 2026, "households": 1, "amount": "1"}),
        ("approver", "/park-credit-lines", {"bank_org_id": a, "park_name": "园", "limit": "1",
                                            "start_date": "2026-01-01", "end_date": "2026-12-31"}),
        ("admin", "/subsidy-schemes", {"name": "贴息", "kind": "amount", "value": "1", "cap": "1",
                                       "region_code": "440300"}),
        ("officer", "/investments", {"enterprise_id": e, "fund_name": "f", "amount": "1", "date": "2026-01-01",
                                     "stake": "0.1"}),
    ]
    failures = []
    for who, path, body in routes:
        for field in body:
            for value in ABSURD:
                r = w[who].post(path, {**body, field: value})
                if r.status_code >= 500:
                    failures.append((path, field, repr(value)[:40], r.status_code))
        for whole in ([], "x", 1):
            r = w[who].call("post", path, whole)
            if r.status_code >= 500:
                failures.append((path, "<body>", repr(whole), r.status_code))
    assert failures == []


def test_no_absurd_read_or_page_is_a_server_error(w):
    open_case(w)
    big = "99999999999999999999"
    a = w["org"]["A"].pk
    failures = []
    for who in ("officer", "regulator", "ent"):
        for path in (f"/credit-plans/{a}/{big}", f"/credit-plans/{a}/-2567", f"/credit-plans/{a}/0",
                     f"/credit-plans/{big}/2026", f"/products/{big}/matches", f"/financing-needs/{big}/matches",
                     "/lpr?date=0001-01-01", "/lpr?date=9999-12-31", f"/credit-cases/{'x' * 5000}",
                     "/credit-cases?stage=" + "x" * 5000, "/loans/a%00b"):
            r = w[who].get(path)
            if r.status_code >= 500:
                failures.append((who, path, r.status_code))
    officer, ent = Client(), Client()
    officer.force_login(w["officer"].user)
    ent.force_login(w["ent"].user)
    for path in (f"/credit/cases/{'x' * 3000}/", f"/credit/loans/{'x' * 3000}/", f"/credit/matching/?need={big}",
                 "/credit/matching/?product=x", "/credit/plans/", f"/credit/cases/x/evidence/{'y' * 3000}"):
        if officer.get(path).status_code >= 500:
            failures.append(("page", path))
    for data in ({"product_id": big, "need_id": "1"}, {"product_id": "x"}):
        if officer.post("/credit/matching/", data).status_code >= 500:
            failures.append(("matching", data))
    for data in ({"amount": "1e30", "term_months": "x"}, {"amount": "100", "term_months": big},
                 {"amount": "١٠٠", "purpose": "a\x00b"}):
        r = ent.post("/credit/portal/", data)
        if r.status_code >= 500 or FinancingNeed.objects.exists():
            failures.append(("portal", data, r.status_code))
    assert failures == []
