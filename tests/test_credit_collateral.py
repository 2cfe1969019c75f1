"""Collateral in the credit workflow (issue 10, points 1, 2, 8, 9): the valuation attached to a case and
the maximum loan under the product's LTV caps at approval (with a recorded override), bundles across
registry regimes secured by one registration per regime, the due-diligence exemption for every
non-performing loan, and the pledges of a repaid loan cancelled by the bank."""

from __future__ import annotations

import pytest
from django.test import Client

from ippledge.core import services as core
from ippledge.core.actors import SYSTEM
from ippledge.core.models import AuditEntry
from ippledge.credit.models import CaseStep, CreditCase, Loan, LoanCollateral
from ippledge.registry import services as registry
from ippledge.registry.models import Notification, Pledge, PledgeApplication
from ippledge.rights import services as rights

from .conftest import PASSWORD, Api
from .registry_fixtures import PLEDGOR, make_patent
from .test_credit_workflow import PRODUCT, world  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

PATENT = {"kind": "invention", "number": "ZL201410362077.3"}
TRADEMARK = {"kind": "trademark", "number": "12345678"}
# Three years of 3,000,000 at 10%: a market value of 7,460,555.97; the invention cap (25%) gives
# a maximum loan of 1,865,138.99 (below the liquidation value, 60% of the market value).
INCOME = {"method": "income", "inputs": {"income": ["3000000", "3000000", "3000000"], "discount_rate": "0.1"}}


def code(r):
    return ((r.data or {}).get("error") or {}).get("code")


def _valuation(api, rights_=(PATENT,), **body):
    r = api.post("/valuations", {"rights": list(rights_), **(body or INCOME)})
    assert r.status_code == 201, r.data
    return r.data


def _product(w, **over):
    r = w["approver"].post("/products", {**PRODUCT, **over})
    assert r.status_code == 201, r.data
    return r.data["id"]


def _case(w, product_id, amount="1000000", rights_=(PATENT,), **over):
    r = w["officer"].post("/credit-cases", {"product_id": product_id, "enterprise_id": w["ent"].user.organisation_id,
                                            "amount": amount, "term_months": 12, "rights": list(rights_), **over})
    assert r.status_code == 201, r.data
    return r.data["case_no"]


def _to_approval(w, no):
    case = w["officer"].get(f"/credit-cases/{no}").data
    for item in case["due_diligence"]:
        w["officer"].post(f"/credit-cases/{no}/due-diligence", {"key": item["key"], "result": "ok"})
    assert w["officer"].post(f"/credit-cases/{no}/submit", {}).status_code == 200
    assert w["reviewer"].post(f"/credit-cases/{no}/review", {"decision": "pass"}).status_code == 200


def _attach(api, no, valuation_no):
    return api.put(f"/credit-cases/{no}/valuation", {"valuation_no": valuation_no})


def _client(username):
    client = Client()
    client.post("/login/", {"username": username, "password": PASSWORD})
    return client


@pytest.fixture
def others(world):  # noqa: F811
    """Bank B's officer and a regulator, to try the case of bank A."""
    bank_b = core.create_organisation(actor=SYSTEM, name="乙银行", kind="bank", uscc="911100001000044477")
    reg_org = core.create_organisation(actor=SYSTEM, name="监管局", kind="regulator")
    out = {}
    for name, org, role in (("officer_b", bank_b, "bank_officer"), ("regulator", reg_org, "regulator_user")):
        user = core.create_user(actor=SYSTEM, username=name, password=PASSWORD, org_id=org.pk, roles=[role])
        out[name] = Api(core.issue_token(user=user))
    return out


# --- point 1: the valuation of the pledged rights, the maximum loan, the override ---------------------

def test_the_valuation_is_attached_by_the_banks_staff_and_must_be_of_the_pledged_rights(world, others):  # noqa: F811
    w = world
    make_patent(number="ZL201410362078.8")
    other_right = {"kind": "invention", "number": "ZL201410362078.8"}
    no = _case(w, _product(w))
    own = _valuation(w["officer"])
    elsewhere = _valuation(w["officer"], (other_right,))
    bundle = _valuation(w["officer"], (PATENT, other_right), basis="negotiated", market_value="900000",
                        agreement_rule="双方协商")
    for valuation in (elsewhere, bundle):
        r = _attach(w["officer"], no, valuation["valuation_no"])
        assert r.status_code == 422 and code(r) == "valuation_right_mismatch", r.data
    # The enterprise, another bank and the regulator attach nothing; a stranger learns nothing of it.
    assert _attach(w["ent"], no, own["valuation_no"]).status_code == 403
    assert _attach(others["officer_b"], no, own["valuation_no"]).status_code in (403, 404)
    assert _attach(others["regulator"], no, own["valuation_no"]).status_code in (403, 404)
    assert _attach(Api(), no, own["valuation_no"]).status_code == 401
    # Another bank's valuation is not found (its figures are not echoed).
    theirs = _valuation(others["officer_b"])
    r = _attach(w["officer"], no, theirs["valuation_no"])
    assert r.status_code == 422 and code(r) == "valuation_not_found" and theirs["max_loan"] not in str(r.data)
    for junk in ("V" * 100_000, "VA2026\x00001", ["VA"], None):
        assert _attach(w["officer"], no, junk).status_code == 422, junk
    r = _attach(w["officer"], no, own["valuation_no"])
    assert r.status_code == 200, r.data
    assert r.data["valuation_no"] == own["valuation_no"] and r.data["max_loan"] == "1865138.99"
    assert r.data["trail"][-1]["action"] == "valuation"
    # The borrower reads which valuation, not the bank's maximum loan.
    borrower = w["ent"].get(f"/credit-cases/{no}").data
    assert borrower["valuation_no"] == own["valuation_no"] and "max_loan" not in borrower


def test_a_pending_or_expired_valuation_is_not_attached(world):  # noqa: F811
    w = world
    no = _case(w, _product(w))
    pending = _valuation(w["officer"], basis="negotiated", market_value="900000", agreement_rule="双方协商")
    r = _attach(w["officer"], no, pending["valuation_no"])
    assert r.status_code == 422 and code(r) == "valuation_not_final"


def test_approval_needs_a_valuation(world):  # noqa: F811
    w = world
    no = _case(w, _product(w))
    _to_approval(w, no)
    r = w["approver"].post(f"/credit-cases/{no}/approval", {"decision": "approve"})
    assert r.status_code == 422 and code(r) == "valuation_required"
    assert CreditCase.objects.get(case_no=no).stage == "approval"


def test_an_amount_above_the_maximum_loan_needs_a_recorded_override(world, others):  # noqa: F811
    w = world
    no = _case(w, _product(w), amount="3000000")
    _to_approval(w, no)
    assert _attach(w["reviewer"], no, _valuation(w["officer"])["valuation_no"]).status_code == 200
    r = w["approver"].post(f"/credit-cases/{no}/approval", {"decision": "approve"})
    assert r.status_code == 422 and code(r) == "ltv_exceeded", r.data
    assert "1865138.99" in r.data["error"]["message"]
    for junk in ("理由" * 1000, "ok\x07"):
        bad = w["approver"].post(f"/credit-cases/{no}/approval", {"decision": "approve", "ltv_override_reason": junk})
        assert bad.status_code == 422 and code(bad) != "ltv_exceeded", bad.data
    assert CreditCase.objects.get(case_no=no).stage == "approval"
    reason = "追加法定代表人连带责任保证，风险可控"
    # Only the lending bank's approver overrides: not the enterprise, another bank or the regulator.
    for stranger in (w["ent"], others["officer_b"], others["regulator"]):
        r = stranger.post(f"/credit-cases/{no}/approval", {"decision": "approve", "ltv_override_reason": reason})
        assert r.status_code in (403, 404), r.data
    assert not CreditCase.objects.get(case_no=no).ltv_override_reason
    r = w["approver"].post(f"/credit-cases/{no}/approval", {"decision": "approve", "ltv_override_reason": reason})
    assert r.status_code == 200, r.data
    override = r.data["ltv_override"]
    assert override["reason"] == reason and override["by"] == "approver"
    assert override["amount"] == "3000000.00" and override["max_loan"] == "1865138.99"
    assert [s["action"] for s in r.data["trail"]][-3:] == ["ltv_override", "approve", "contract"]
    step = CaseStep.objects.get(case__case_no=no, action="ltv_override")
    assert step.note == reason and step.actor == w["approver"].user
    row = AuditEntry.objects.get(action="credit_case.ltv_override")
    assert row.after["excess"] == 300_000_000 - 186_513_899 and row.after["reason"] == reason
    # Every later reader of the bank's file sees it: the case page banner, the API, the loan.
    page = _client("officer").get(f"/credit/cases/{no}/").content.decode()
    assert 'data-testid="ltv-override"' in page and reason in page
    assert w["ent"].post(f"/credit-cases/{no}/contract-signature").status_code == 200
    loan_no = w["officer"].post(f"/credit-cases/{no}/disbursement", {}).data["loan_no"]
    assert w["officer"].get(f"/loans/{loan_no}").data["ltv_override"]["reason"] == reason
    loan_page = _client("officer").get(f"/credit/loans/{loan_no}/").content.decode()
    assert 'data-testid="ltv-override"' in loan_page and reason in loan_page


def test_the_products_caps_bind_not_the_valuers(world):  # noqa: F811
    w = world
    # The valuer's own maximum loan is 25% of the value (1,865,138.99); the product lends up to 40%.
    generous = _product(w, ltv_caps={"invention": "0.4"})
    no = _case(w, generous, amount="2500000")
    _to_approval(w, no)
    valuation = _valuation(w["officer"])
    assert valuation["max_loan"] == "1865138.99"
    assert _attach(w["officer"], no, valuation["valuation_no"]).data["max_loan"] == "2984222.39"
    r = w["approver"].post(f"/credit-cases/{no}/approval", {"decision": "approve"})
    assert r.status_code == 200 and r.data["ltv_override"] is None, r.data
    # A stricter product (10%) refuses what the valuer's caps would allow.
    strict = _product(w, ltv_caps={"invention": "0.1"})
    no = _case(w, strict, amount="1000000", valuation_no=_valuation(w["officer"])["valuation_no"])
    _to_approval(w, no)
    r = w["approver"].post(f"/credit-cases/{no}/approval", {"decision": "approve"})
    assert r.status_code == 422 and code(r) == "ltv_exceeded" and "746055.60" in r.data["error"]["message"]


def test_the_valuation_is_attached_and_overridden_from_the_case_page(world):  # noqa: F811
    w = world
    no = _case(w, _product(w), amount="3000000")
    valuation = _valuation(w["officer"])
    officer = _client("officer")
    url = f"/credit/cases/{no}/"
    assert valuation["valuation_no"] in officer.get(url + "?tab=rights").content.decode()  # offered to attach
    assert officer.post(url, {"action": "valuation", "valuation_no": valuation["valuation_no"]}).status_code == 302
    assert _client("ent").post(url, {"action": "valuation", "valuation_no": valuation["valuation_no"]}) \
        .status_code in (400, 403)
    _to_approval(w, no)
    approver = _client("approver")
    assert 'data-testid="ltv-override-reason"' in approver.get(url + "?tab=trail").content.decode()
    assert approver.post(url, {"action": "approval", "decision": "approve"}).status_code == 400
    r = approver.post(url, {"action": "approval", "decision": "approve", "ltv_override_reason": "另有保证人"})
    assert r.status_code == 302
    assert CreditCase.objects.get(case_no=no).ltv_override_reason == "另有保证人"


# --- point 2: a bundle across registry regimes ---------------------------------------------------------

BUNDLE_LINE = {"revenue": "20000000", "growth": "0.03", "years": 5, "split": "0.2", "life": 5, "rate": "0.12",
               "hazard": "0.02", "tax_rate": "0.25"}


def test_a_patent_and_trademark_bundle_is_filed_registered_and_lent_on_per_regime(world):  # noqa: F811
    w = world
    rights.create_right(actor=SYSTEM, data={**TRADEMARK, "owners": [PLEDGOR], "registration_date": "2020-05-01"})
    items = [{**PATENT, "product_line": "A", **BUNDLE_LINE}, {**TRADEMARK, "product_line": "A", **BUNDLE_LINE}]
    valuation = _valuation(w["officer"], (PATENT, TRADEMARK), method="bundle",
                           inputs={"rights": items, "paths": 2000, "seed": 7})
    no = _case(w, _product(w), amount="500000", rights_=(PATENT, TRADEMARK), valuation_no=valuation["valuation_no"])
    _to_approval(w, no)
    r = w["approver"].post(f"/credit-cases/{no}/approval", {"decision": "approve"})
    assert r.status_code == 200, r.data
    filed = r.data["pledge_applications"]
    assert [f["regime"] for f in filed] == ["patent", "trademark"]
    assert all(f["status"] == "awaiting_confirmation" for f in filed)
    assert {a.data["rights"][0]["kind"] for a in PledgeApplication.objects.all()} == {"invention", "trademark"}
    # Not one disbursement before every registration is there, and the refusal names what is missing.
    early = w["officer"].post(f"/credit-cases/{no}/disbursement", {})
    assert early.status_code == 409 and code(early) == "pledge_not_registered"
    assert all(f["application_no"] in early.data["error"]["message"] for f in filed)
    registry.confirm(actor=w["ent"].user, application_no=filed[0]["application_no"], side="pledgor")
    early = w["officer"].post(f"/credit-cases/{no}/disbursement", {})
    assert early.status_code == 409 and code(early) == "pledge_not_registered"
    assert filed[1]["application_no"] in early.data["error"]["message"]
    assert filed[0]["application_no"] not in early.data["error"]["message"]
    signed = w["ent"].post(f"/credit-cases/{no}/contract-signature")  # confirms the one still waiting
    assert signed.status_code == 200, signed.data
    assert all(f["registration_no"] for f in signed.data["pledge_applications"])
    paid = w["officer"].post(f"/credit-cases/{no}/disbursement", {})
    assert paid.status_code == 200, paid.data
    loan = w["officer"].get(f"/loans/{paid.data['loan_no']}").data
    assert loan["ip_kind"] == "bundle" and loan["pledge_registration_no"] is None
    assert [p["regime"] for p in loan["pledges"]] == ["patent", "trademark"]
    allocated = {r["number"]: r["allocated_value"] for p in loan["pledges"] for r in p["rights"]}
    from ippledge.valuation.models import ValuationRight

    expected = {link.right.number: link.allocated_value for link in
                ValuationRight.objects.filter(valuation__valuation_no=valuation["valuation_no"]).select_related("right")}
    assert {n: int(v.replace(".", "")) for n, v in allocated.items()} == expected
    assert sum(expected.values()) == int(valuation["market_value"].replace(".", ""))
    page = _client("officer").get(f"/credit/loans/{paid.data['loan_no']}/").content.decode()
    assert all(p["registration_no"] in page for p in loan["pledges"])
    case_page = _client("officer").get(f"/credit/cases/{no}/?tab=contract").content.decode()
    assert all(p["registration_no"] in case_page for p in loan["pledges"])


def test_a_single_right_loan_keeps_its_one_registration(world):  # noqa: F811
    w = world
    no = _case(w, _product(w), valuation_no=_valuation(w["officer"])["valuation_no"])
    _to_approval(w, no)
    assert w["approver"].post(f"/credit-cases/{no}/approval", {"decision": "approve"}).status_code == 200
    w["ent"].post(f"/credit-cases/{no}/contract-signature")
    loan_no = w["officer"].post(f"/credit-cases/{no}/disbursement", {}).data["loan_no"]
    loan = Loan.objects.get(loan_no=loan_no)
    pledge = Pledge.objects.get()
    assert loan.pledge_registration_no == pledge.registration_no
    assert list(LoanCollateral.objects.values_list("registration_no", "right_number", "allocated_value")) == [
        (pledge.registration_no, "201410362077.3", 746_055_597)]  # the register's number


# --- point 8: due-diligence exemption for every non-performing loan ------------------------------------

@pytest.mark.parametrize(("category", "allowed"), [("special_mention", False), ("substandard", True),
                                                   ("doubtful", True), ("loss", True)])
def test_exemption_applies_to_every_non_performing_loan(world, category, allowed):  # noqa: F811
    w = world
    loan = w["officer"].post("/loans", {"borrower_uscc": PLEDGOR["id_number"], "bank_org_id": w["bank"].pk,
                                        "amount": "300000", "annual_rate": "0.04", "start_date": "2026-01-05",
                                        "maturity_date": "2027-01-05", "ip_kind": "patent"}).data["loan_no"]
    assert w["reviewer"].post(f"/loans/{loan}/classification", {"category": category, "reason": "经营恶化"}) \
        .status_code in (200, 201)
    r = w["officer"].post(f"/loans/{loan}/exemption-requests", {"statement": "尽职调查与贷后管理均已履职"})
    if allowed:
        assert r.status_code == 201, r.data
    else:
        assert r.status_code == 409 and code(r) == "not_non_performing", r.data


# --- point 9: a repaid loan's pledges are cancelled by the bank; the right shows its live pledges --------

def _repaid_loan(w):
    no = _case(w, _product(w), valuation_no=_valuation(w["officer"])["valuation_no"])
    _to_approval(w, no)
    w["approver"].post(f"/credit-cases/{no}/approval", {"decision": "approve"})
    w["ent"].post(f"/credit-cases/{no}/contract-signature")
    loan = w["officer"].post(f"/credit-cases/{no}/disbursement", {}).data["loan_no"]
    return loan, Pledge.objects.get().registration_no


def test_the_repayment_that_settles_the_loan_prompts_the_bank_to_cancel_its_pledge(world, others):  # noqa: F811
    w = world
    loan_no, reg = _repaid_loan(w)
    loan = w["officer"].get(f"/loans/{loan_no}").data
    assert loan["pledges_to_cancel"] == [] and loan["repaid"] is False
    row = loan["schedule"][0]
    r = w["officer"].post(f"/loans/{loan_no}/repayments", {"date": loan["start_date"], "principal": row["principal"],
                                                          "interest": row["interest"]})
    assert r.status_code == 201, r.data
    loan = w["officer"].get(f"/loans/{loan_no}").data
    assert loan["repaid"] is True and loan["pledges_to_cancel"] == [reg]
    notice = Notification.objects.get(kind="loan.pledges_to_cancel")
    assert notice.org_id == w["bank"].pk and notice.data == {"loan_no": loan_no, "registrations": [reg]}
    page = _client("officer").get(f"/credit/loans/{loan_no}/").content.decode()
    assert 'data-testid="pledges-to-cancel"' in page and 'data-testid="cancel-pledges"' in page
    borrower_page = _client("ent").get(f"/credit/loans/{loan_no}/").content.decode()
    assert 'data-testid="pledges-to-cancel"' in borrower_page and 'data-testid="cancel-pledges"' not in borrower_page
    # Only the lending bank cancels: not the borrower, not another bank.
    assert _client("ent").post(f"/credit/loans/{loan_no}/", {"action": "cancel_pledges"}).status_code in (400, 403)
    assert _client("officer_b").post(f"/credit/loans/{loan_no}/", {"action": "cancel_pledges"}).status_code == 404
    assert Pledge.objects.get().status == "registered"
    r = _client("officer").post(f"/credit/loans/{loan_no}/", {"action": "cancel_pledges"})
    assert r.status_code == 302
    assert Pledge.objects.get().status == "cancelled"
    loan = w["officer"].get(f"/loans/{loan_no}").data
    assert loan["pledges_to_cancel"] == [] and loan["events"][-1]["type"] == "pledges_cancelled"
    assert 'data-testid="pledges-to-cancel"' not in _client("officer").get(f"/credit/loans/{loan_no}/").content.decode()


def test_the_rights_page_shows_its_live_pledges(world):  # noqa: F811
    w = world
    _loan_no, reg = _repaid_loan(w)
    page = Client().get("/rights/invention/ZL201410362077.3/").content.decode()
    assert 'data-testid="live-pledges"' in page and reg in page and w["bank"].name in page
    registry.cancel(actor=w["officer"].user, registration_no=reg, reason="repaid")
    page = Client().get("/rights/invention/ZL201410362077.3/").content.decode()
    assert reg not in page


# --- the demo region lends through the same workflow: every approval on a valuation ----------------------

def test_the_demo_approves_its_cases_on_a_valuation(settings):
    from ippledge.core import business_date
    from ippledge.demo.generator import load_demo

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # the demo creates dozens
    load_demo(seed=2026, today=business_date.today(), enterprises=30, rights=400)
    cases = list(CreditCase.objects.filter(stage="disbursed"))
    assert cases, "the demo lends through the workflow"
    for case in cases:
        assert case.valuation_no and case.max_loan is not None
        assert (case.amount > case.max_loan) == bool(case.ltv_override_reason), case.case_no
        assert list(case.loan.collateral.values_list("registration_no", flat=True)) == [case.loan.pledge_registration_no]


@pytest.mark.django_db(transaction=True)
def test_the_migration_carries_cases_and_loans_over(world):  # noqa: F811
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    from ippledge.credit.lpr import shipped_fixings
    from ippledge.credit.models import CaseFiling, LprFixing

    # An earlier transactional test (a browser journey) flushed the rows the migrations seed, such as
    # the shipped LPR fixings this loan is priced with: put them back.
    LprFixing.objects.bulk_create([LprFixing(fixing_date=d, tenor=t, rate=r, source="chinamoney")
                                   for d, t, r in shipped_fixings()], ignore_conflicts=True)
    loan_no, reg = _repaid_loan(world)
    application_no = CreditCase.objects.get().pledge_application_no
    executor = MigrationExecutor(connection)
    after = executor.loader.graph.leaf_nodes()
    executor.migrate([("credit", "0004_repayment_covering_index")])
    try:
        old = MigrationExecutor(connection).loader.project_state([("credit", "0004_repayment_covering_index")]).apps
        assert old.get_model("credit", "CreditCase").objects.get().pledge_application_no == application_no
    finally:
        MigrationExecutor(connection).migrate(after)
    assert list(CaseFiling.objects.values_list("regime", "application_no")) == [("patent", application_no)]
    assert list(LoanCollateral.objects.values_list("loan__loan_no", "registration_no", "regime", "right_number",
                                                   "allocated_value")) == [
        (loan_no, reg, "patent", "201410362077.3", None)]  # booked before values were kept: none
