"""Guarantee insurance (issue 13 point 3): the premium engine's oracles, insurers' products and policies
through the API (issued by the insurer, accepted by the loan's bank; rights policies for an enterprise),
premium payments, the scheme's premium subsidy, the all-in cost of the loan reading the real policy, who
may do what, another organisation's objects and bad input; the insurer's pages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from django.test import Client

from ippledge.core import business_date
from ippledge.core import services as core
from ippledge.core.actors import SYSTEM
from ippledge.core.calendar import add_months
from ippledge.credit import costs, quote
from ippledge.credit import services as credit
from ippledge.risksharing.engine import premium

from .conftest import PASSWORD, Api, uscc

GZ_BORROWER = uscc("91440101MA59PQRTA")
GZ_OTHER = uscc("91440101MA59PQRTB")
PATENT = "ZL201410362077.3"

D = Decimal


# --- the engine (pure) -----------------------------------------------------------------------------

def test_the_oracle_two_years_at_two_percent_with_the_subsidy_capped():
    rows = premium.schedule(base=D("5000000"), annual_rate=D("0.02"), start=dt.date(2026, 1, 31), term_months=24,
                            subsidy_ratio=D("0.5"), subsidy_year_cap=D("20000"))
    assert [(r.premium, r.subsidy, r.borrower) for r in rows] == [(D("100000.00"), D("20000.00"), D("80000.00"))] * 2
    assert [(r.due_date, r.period_end) for r in rows] == [(dt.date(2026, 1, 31), dt.date(2027, 1, 30)),
                                                          (dt.date(2027, 1, 31), dt.date(2028, 1, 30))]
    assert premium.totals(rows) == {"premium": D("200000.00"), "subsidy": D("40000.00"), "borrower": D("160000.00")}


def test_a_short_last_year_is_charged_by_months_and_a_small_premium_is_subsidised_by_the_ratio():
    rows = premium.schedule(base=D("1000000"), annual_rate=D("0.015"), start=dt.date(2026, 3, 1), term_months=18,
                            subsidy_ratio=D("0.5"), subsidy_year_cap=D("20000"))
    assert [(r.months, r.premium, r.subsidy, r.borrower) for r in rows] == [
        (12, D("15000.00"), D("7500.00"), D("7500.00")), (6, D("7500.00"), D("3750.00"), D("3750.00"))]
    one = premium.schedule(base=D("333333.33"), annual_rate=D("0.03"), start=dt.date(2026, 1, 1), term_months=5)
    assert [(r.premium, r.subsidy) for r in one] == [(D("4166.67"), D("0"))]


@pytest.mark.parametrize("kwargs", [
    {"base": D("0")}, {"base": D("-1")}, {"annual_rate": D("1")}, {"annual_rate": D("-0.01")},
    {"term_months": 0}, {"term_months": True}, {"subsidy_ratio": D("1.5")}, {"subsidy_year_cap": D("-1")},
    {"base": 5000000.0},
])
def test_the_engine_refuses_absurd_input(kwargs):
    args = {"base": D("100"), "annual_rate": D("0.02"), "start": dt.date(2026, 1, 1), "term_months": 12, **kwargs}
    with pytest.raises(ValueError):
        premium.schedule(**args)


def test_the_status_rule():
    end, due = dt.date(2027, 1, 1), dt.date(2026, 1, 1)
    assert premium.status(stored="active", end_date=end, on=dt.date(2026, 2, 1), unpaid_due_dates=[due]) == "active"
    assert premium.status(stored="active", end_date=end, on=dt.date(2026, 3, 3), unpaid_due_dates=[due]) == "lapsed"
    assert premium.status(stored="active", end_date=end, on=dt.date(2027, 1, 2)) == "expired"
    assert premium.status(stored="active", end_date=end, on=dt.date(2026, 3, 3), claimed=True,
                          unpaid_due_dates=[due]) == "claimed"
    assert premium.status(stored="cancelled", end_date=end, on=dt.date(2026, 2, 1)) == "cancelled"


# --- the world -------------------------------------------------------------------------------------

class World:
    def __init__(self):
        self.bank = core.create_organisation(actor=SYSTEM, name="保险测试甲银行", kind="bank")
        self.bank_b = core.create_organisation(actor=SYSTEM, name="保险测试乙银行", kind="bank")
        self.insurer = core.create_organisation(actor=SYSTEM, name="甲财产保险", kind="insurer")
        self.insurer_b = core.create_organisation(actor=SYSTEM, name="乙财产保险", kind="insurer")
        self.fund = core.create_organisation(actor=SYSTEM, name="保险测试补偿资金", kind="risk_fund")
        self.regulator_org = core.create_organisation(actor=SYSTEM, name="保险测试监管局", kind="regulator")
        self.borrower = core.create_organisation(actor=SYSTEM, name="保险测试甲科技", kind="enterprise",
                                                 uscc=GZ_BORROWER)
        self.other = core.create_organisation(actor=SYSTEM, name="保险测试乙科技", kind="enterprise", uscc=GZ_OTHER)
        self.clients: dict[str, Api] = {}
        self.users = {}
        for name, org, role in (
            ("officer", self.bank, "bank_officer"), ("approver", self.bank, "bank_approver"),
            ("officer_b", self.bank_b, "bank_officer"),
            ("ins", self.insurer, "insurer_user"), ("ins_b", self.insurer_b, "insurer_user"),
            ("fund1", self.fund, "fund_manager"), ("regulator", self.regulator_org, "regulator_user"),
            ("ent", self.borrower, "enterprise_user"), ("ent_other", self.other, "enterprise_user"),
        ):
            user = core.create_user(actor=SYSTEM, username=f"ins-{name}", password=PASSWORD, org_id=org.pk,
                                    roles=[role])
            self.users[name] = user
            self.clients[name] = Api(core.issue_token(user=user))
        from ippledge.rights import services as rights

        rights.create_right(actor=SYSTEM, data={"kind": "invention", "number": PATENT, "owners": [
            {"name": "保险测试甲科技", "id_type": "uscc", "id_number": GZ_BORROWER}],
            "filing_date": "2014-07-28", "grant_date": "2016-01-01"})

    def __getattr__(self, name):
        try:
            return self.__dict__["clients"][name]
        except KeyError:
            raise AttributeError(name) from None

    def loan(self, amount: str = "5000000", months: int = 24, bank=None) -> str:
        today = business_date.today()
        return credit.book_loan(actor=SYSTEM, data={
            "borrower_uscc": GZ_BORROWER, "bank_org_id": (bank or self.bank).pk, "amount": amount,
            "annual_rate": "0.0345", "start_date": today.isoformat(),
            "maturity_date": add_months(today, months).isoformat(), "schedule": "bullet",
            "ip_kind": "patent"}).loan_no

    def product(self, client=None, **body) -> dict:
        body = {"name": "知识产权质押贷款保证保险", "policy_type": "loan_guarantee", "premium_rate": "0.02",
                "coverage_ratio": "0.6", **body}
        r = (client or self.ins).post("/risk-sharing/insurance-products", body)
        assert r.status_code == 201, r.data
        return r.data

    def policy(self, loan_no: str, product_id: int | None = None, client=None, accept: bool = True) -> dict:
        product_id = product_id or self.product()["id"]
        r = (client or self.ins).post("/risk-sharing/policies", {"product_id": product_id, "loan_no": loan_no,
                                                                 "borrower_uscc": GZ_BORROWER})
        assert r.status_code == 201, r.data
        if accept:
            r = self.officer.post(f"/risk-sharing/policies/{r.data['id']}/acceptance", {})
            assert r.status_code == 200, r.data
        return r.data


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        yield World()
        transaction.set_rollback(True)


@pytest.fixture
def w(world, db):
    return world


# --- products --------------------------------------------------------------------------------------

def test_an_insurer_makes_a_product_of_its_own_and_reads_only_its_own(w):
    mine = w.product()
    assert (mine["insurer_id"], mine["premium_rate"], mine["coverage_ratio"], mine["in_force"]) == (
        w.insurer.pk, "0.020000", "0.600000", True)
    theirs = w.product(client=w.ins_b, name="乙的产品")
    listed = {p["id"] for p in w.ins.get("/risk-sharing/insurance-products").data["products"]}
    assert mine["id"] in listed and theirs["id"] not in listed
    assert w.ins.get(f"/risk-sharing/insurance-products/{theirs['id']}").status_code == 404
    assert w.regulator.get(f"/risk-sharing/insurance-products/{theirs['id']}").status_code == 200
    for who in ("officer", "ent", "fund1"):
        assert getattr(w, who).get("/risk-sharing/insurance-products").status_code == 403, who
        assert getattr(w, who).post("/risk-sharing/insurance-products", {"name": "x"}).status_code == 403, who
    assert w.regulator.post("/risk-sharing/insurance-products", {"name": "x"}).status_code == 403


@pytest.mark.parametrize(("body", "code"), [
    ({"premium_rate": "0.035"}, "premium_rate_out_of_range"),
    ({"premium_rate": "0.005"}, "premium_rate_out_of_range"),
    ({"premium_rate": "abc"}, None),
    ({"premium_rate": "0.02", "coverage_ratio": None}, "coverage_required"),
    ({"coverage_ratio": "1.5"}, None),
    ({"coverage_ratio": "0"}, "invalid_coverage"),
    ({"policy_type": "life"}, "invalid_choice"),
    ({"policy_type": "enforcement", "premium_rate": "0.2"}, "premium_rate_out_of_range"),
    ({"name": ""}, None),
    ({"valid_from": "2026-13-01"}, None),
])
def test_bad_products_are_refused(w, body, code):
    full = {"name": "x", "policy_type": "loan_guarantee", "premium_rate": "0.02", "coverage_ratio": "0.6", **body}
    r = w.ins.post("/risk-sharing/insurance-products", full)
    assert r.status_code == 422, r.data
    if code:
        assert code in str(r.data), r.data


# --- loan guarantee policies ----------------------------------------------------------------------

def test_a_policy_on_a_loan_with_its_schedule_waits_for_the_bank_then_is_in_force(w):
    loan_no = w.loan()
    pending = w.policy(loan_no, accept=False)
    assert (pending["status"], pending["loan_no"], pending["sum_insured"], pending["term_months"]) == (
        "pending", loan_no, "5000000.00", 24)
    assert [(i["premium"], i["subsidy"], i["borrower"]) for i in pending["instalments"]] == [
        ("100000.00", "0.00", "100000.00")] * 2
    # A pending policy is not yet the loan's cost.
    assert costs.premium_terms(credit.get_loan(actor=SYSTEM, loan_no=loan_no), business_date.today()) is None
    assert w.officer_b.post(f"/risk-sharing/policies/{pending['id']}/acceptance", {}).status_code == 404
    assert w.ins.post(f"/risk-sharing/policies/{pending['id']}/acceptance", {}).status_code == 403
    r = w.officer.post(f"/risk-sharing/policies/{pending['id']}/acceptance", {})
    assert r.status_code == 200 and r.data["status"] == "active"
    again = w.officer.post(f"/risk-sharing/policies/{pending['id']}/acceptance", {})
    assert again.status_code == 409 and again.data["error"]["code"] == "policy_not_pending"


def test_the_scheme_subsidy_enters_the_schedule(w):
    loan_no = w.loan()
    scheme = w.fund1.post("/risk-sharing/schemes", {
        "name": "保费补贴方案", "region_code": "440100", "premium_subsidy_ratio": "0.5", "premium_subsidy_cap": "20000",
        "parties": [{"name": "fund", "kind": "fund", "ratio": "0.5", "organisation_id": w.fund.pk}]})
    assert scheme.status_code == 201, scheme.data
    assert w.officer.post(f"/loans/{loan_no}/risk-sharing", {"scheme_id": scheme.data["id"]}).status_code == 201
    policy = w.policy(loan_no)
    assert (policy["scheme_id"], policy["subsidy_ratio"], policy["subsidy_year_cap"]) == (
        scheme.data["id"], "0.500000", "20000.00")
    assert [(i["premium"], i["subsidy"], i["borrower"]) for i in policy["instalments"]] == [
        ("100000.00", "20000.00", "80000.00")] * 2
    assert (policy["premium_total"], policy["subsidy_total"], policy["borrower_total"]) == (
        "200000.00", "40000.00", "160000.00")


def test_the_all_in_cost_of_the_loan_reads_the_real_policy(w):
    loan_no = w.loan()
    loan = credit.get_loan(actor=SYSTEM, loan_no=loan_no)
    on = business_date.today()
    nominal = quote.loan_cost(loan, on)
    assert nominal["insurance_source"] == "product" and nominal["insurance_premium"] == "0.00"
    scheme = w.fund1.post("/risk-sharing/schemes", {
        "name": "保费补贴方案二", "region_code": "440100", "premium_subsidy_ratio": "0.5",
        "premium_subsidy_cap": "20000", "parties": [{"name": "fund", "kind": "fund", "ratio": "0.5"}]}).data
    assert w.officer.post(f"/loans/{loan_no}/risk-sharing", {"scheme_id": scheme["id"]}).status_code == 201
    policy = w.policy(loan_no)
    cost = quote.loan_cost(loan, on)
    assert (cost["insurance_source"], cost["insurance_policy"], cost["insurance_premium_rate"]) == (
        "policy", policy["policy_no"], "0.020000")
    assert (cost["insurance_premium"], cost["insurance_premium_subsidy"]) == ("200000.00", "40000.00")
    assert D(cost["gross_cost"]) == D(nominal["gross_cost"]) + D("200000.00")
    assert D(cost["net_cost"]) == D(nominal["net_cost"]) + D("160000.00")
    assert D(cost["effective_annual_rate"]) > D(nominal["effective_annual_rate"])
    # The premium source is risk sharing's, registered into credit's hook at start-up.
    terms = costs.premium_terms(loan, on)
    assert (terms.reference, terms.premium, terms.subsidy) == (policy["policy_no"], D("200000.00"), D("40000.00"))


def test_the_insurer_names_the_loan_with_its_borrower_and_cannot_probe_the_book(w):
    loan_no = w.loan()
    product = w.product()["id"]
    unknown = w.ins.post("/risk-sharing/policies", {"product_id": product, "loan_no": "LN209900000001",
                                                    "borrower_uscc": GZ_BORROWER})
    wrong_pair = w.ins.post("/risk-sharing/policies", {"product_id": product, "loan_no": loan_no,
                                                       "borrower_uscc": GZ_OTHER})
    assert unknown.status_code == wrong_pair.status_code == 404
    assert unknown.data["error"] == wrong_pair.data["error"]
    # Another insurer's product is not yours to issue on.
    theirs = w.product(client=w.ins_b)["id"]
    r = w.ins.post("/risk-sharing/policies", {"product_id": theirs, "loan_no": loan_no, "borrower_uscc": GZ_BORROWER})
    assert r.status_code == 404 and r.data["error"]["code"] == "insurance_product_not_found"
    for who in ("officer", "ent", "fund1", "regulator"):
        assert getattr(w, who).post("/risk-sharing/policies", {"product_id": product}).status_code == 403, who


def test_one_live_policy_per_loan(w):
    loan_no = w.loan()
    w.policy(loan_no, accept=False)
    r = w.ins_b.post("/risk-sharing/policies", {"product_id": w.product(client=w.ins_b)["id"], "loan_no": loan_no,
                                                "borrower_uscc": GZ_BORROWER})
    assert r.status_code == 409 and r.data["error"]["code"] == "already_insured"


def test_who_reads_a_policy(w):
    loan_no = w.loan()
    policy = w.policy(loan_no)
    path = f"/risk-sharing/policies/{policy['id']}"
    for who in ("ins", "officer", "approver", "regulator"):
        assert getattr(w, who).get(path).status_code == 200, who
        assert policy["policy_no"] in str(getattr(w, who).get("/risk-sharing/policies").data), who
    for who in ("ins_b", "officer_b", "ent_other"):
        assert getattr(w, who).get(path).status_code == 404, who
        assert policy["policy_no"] not in str(getattr(w, who).get("/risk-sharing/policies").data), who
    assert w.fund1.get(path).status_code == 403


# --- premium payments --------------------------------------------------------------------------------

def test_the_insurer_records_premiums_instalment_by_instalment(w):
    loan_no = w.loan()
    policy = w.policy(loan_no)
    path = f"/risk-sharing/policies/{policy['id']}/premium-payments"
    r = w.ins.post(path, {"amount": "99999"})
    assert r.status_code == 422 and r.data["error"]["code"] == "amount_mismatch"
    r = w.ins.post(path, {})
    assert r.status_code == 201, r.data
    assert (r.data["instalment"]["seq"], r.data["instalment"]["paid_amount"]) == (1, "100000.00")
    assert (r.data["policy"]["paid_total"], r.data["policy"]["unpaid_total"]) == ("100000.00", "100000.00")
    again = w.ins.post(path, {"instalment": 1})
    assert again.status_code == 409 and again.data["error"]["code"] == "already_paid"
    assert w.ins.post(path, {"instalment": 9}).data["error"]["code"] == "instalment_not_found"
    future = (business_date.today() + dt.timedelta(days=3)).isoformat()
    assert w.ins.post(path, {"instalment": 2, "paid_on": future}).status_code == 422
    assert w.ins.post(path, {"instalment": 2}).status_code == 201
    assert w.ins.post(path, {}).data["error"]["code"] == "already_paid"
    # Only the policy's insurer records its premiums.
    for who in ("ins_b", "officer", "regulator"):
        assert getattr(w, who).post(path, {}).status_code in (403, 404), who


def test_a_pending_policy_takes_no_premium(w):
    policy = w.policy(w.loan(), accept=False)
    r = w.ins.post(f"/risk-sharing/policies/{policy['id']}/premium-payments", {})
    assert r.status_code == 409 and r.data["error"]["code"] == "policy_not_active"


def test_an_unpaid_premium_lapses_the_cover_and_the_cost_falls_back_to_the_product(w):
    from ippledge.risksharing import services_insurance
    from ippledge.risksharing.models import InsurancePolicy

    loan_no = w.loan()
    policy = w.policy(loan_no)
    row = InsurancePolicy.objects.get(pk=policy["id"])
    later = business_date.today() + dt.timedelta(days=premium.GRACE_DAYS + 1)
    assert services_insurance.status_of(row, later) == "lapsed"
    loan = credit.get_loan(actor=SYSTEM, loan_no=loan_no)
    assert services_insurance.premium_source(loan, later) is None
    assert services_insurance.premium_source(loan, business_date.today()) is not None


# --- rights policies ----------------------------------------------------------------------------------

def test_an_infringement_loss_policy_on_the_enterprises_rights(w):
    product = w.product(policy_type="infringement_loss", premium_rate="0.015", coverage_ratio="0.8")
    body = {"product_id": product["id"], "enterprise_id": w.borrower.pk, "sum_insured": "1000000",
            "term_months": 12, "rights": [{"kind": "invention", "number": PATENT}]}
    r = w.ins.post("/risk-sharing/policies", body)
    assert r.status_code == 201, r.data
    assert (r.data["status"], r.data["loan_no"], r.data["rights"]) == (
        "active", None, [{"kind": "invention", "number": PATENT.removeprefix("ZL")}])
    assert [i["premium"] for i in r.data["instalments"]] == ["15000.00"]
    assert w.ent.get(f"/risk-sharing/policies/{r.data['id']}").status_code == 200
    assert w.ent_other.get(f"/risk-sharing/policies/{r.data['id']}").status_code == 404
    # A right the register does not show the enterprise holding, no rights, no sum insured.
    bad = w.ins.post("/risk-sharing/policies", {**body, "enterprise_id": w.other.pk})
    assert bad.status_code == 422 and bad.data["error"]["code"] == "right_not_held"
    assert w.ins.post("/risk-sharing/policies", {**body, "rights": []}).status_code == 422
    assert w.ins.post("/risk-sharing/policies", {**body, "sum_insured": None}).status_code == 422
    assert w.ins.post("/risk-sharing/policies", {**body, "term_months": 500}).status_code == 422
    assert w.ins.post("/risk-sharing/policies", {**body, "sum_insured": "-5"}).status_code == 422


# --- pages ----------------------------------------------------------------------------------------------

def _page(w, who: str) -> Client:
    client = Client()
    client.force_login(w.users[who])
    return client


def test_the_insurers_pages(w):
    loan_no = w.loan()
    policy = w.policy(loan_no)
    client = _page(w, "ins")
    products = client.get("/risk-sharing/insurance/products/")
    assert products.status_code == 200 and "知识产权质押贷款保证保险" in products.content.decode()
    r = client.post("/risk-sharing/insurance/products/", {
        "name": "页面新产品", "policy_type": "loan_guarantee", "premium_rate": "2", "coverage_ratio": "60"})
    assert r.status_code == 302, r.content.decode()[:2000]
    assert "页面新产品" in client.get("/risk-sharing/insurance/products/").content.decode()
    bad = client.post("/risk-sharing/insurance/products/", {
        "name": "太贵", "policy_type": "loan_guarantee", "premium_rate": "9", "coverage_ratio": "60"})
    assert bad.status_code == 400
    listed = client.get("/risk-sharing/insurance/policies/")
    assert listed.status_code == 200 and policy["policy_no"] in listed.content.decode()
    detail = client.get(f"/risk-sharing/insurance/policies/{policy['id']}/")
    assert detail.status_code == 200 and "100,000.00" in detail.content.decode()
    paid = client.post(f"/risk-sharing/insurance/policies/{policy['id']}/", {"instalment": "1"})
    assert paid.status_code == 302
    assert w.ins.get(f"/risk-sharing/policies/{policy['id']}").data["instalments"][0]["paid"] is True
    # The bank reads it; another insurer and another bank do not.
    assert _page(w, "officer").get(f"/risk-sharing/insurance/policies/{policy['id']}/").status_code == 200
    assert _page(w, "ins_b").get(f"/risk-sharing/insurance/policies/{policy['id']}/").status_code == 404
    assert _page(w, "officer_b").get(f"/risk-sharing/insurance/policies/{policy['id']}/").status_code == 404
    assert _page(w, "fund1").get("/risk-sharing/insurance/products/").status_code == 403


def test_the_bank_accepts_on_the_policy_page(w):
    policy = w.policy(w.loan(), accept=False)
    client = _page(w, "officer")
    page = client.get(f"/risk-sharing/insurance/policies/{policy['id']}/")
    assert page.status_code == 200 and 'name="action" value="accept"' in page.content.decode()
    r = client.post(f"/risk-sharing/insurance/policies/{policy['id']}/", {"action": "accept"})
    assert r.status_code == 302
    assert w.officer.get(f"/risk-sharing/policies/{policy['id']}").data["status"] == "active"


def test_the_loan_page_shows_the_policy_and_the_all_in_cost_read_with_it(w):
    loan_no = w.loan()
    policy = w.policy(loan_no)
    page = _page(w, "officer").get(f"/credit/loans/{loan_no}/")
    text = page.content.decode()
    assert page.status_code == 200 and policy["policy_no"] in text
    assert 'data-testid="loan-premium">200,000.00' in text
    # The borrower reads its loan and the policy's number, not the insurer's page.
    borrower = _page(w, "ent").get(f"/credit/loans/{loan_no}/").content.decode()
    assert policy["policy_no"] in borrower and 'data-testid="loan-all-in"' not in borrower


def test_the_insurer_cancels_a_policy_and_the_loan_may_be_insured_again(w):
    loan_no = w.loan()
    policy = w.policy(loan_no)
    path = f"/risk-sharing/policies/{policy['id']}/cancellation"
    assert w.ins.post(path, {}).status_code == 422  # the reason is required
    for who in ("ins_b", "officer"):
        assert getattr(w, who).post(path, {"reason": "x"}).status_code in (403, 404), who
    r = w.ins.post(path, {"reason": "投保人申请退保"})
    assert r.status_code == 200 and r.data["status"] == "cancelled"
    assert w.ins.post(path, {"reason": "again"}).data["error"]["code"] == "policy_not_live"
    loan = credit.get_loan(actor=SYSTEM, loan_no=loan_no)
    assert quote.loan_cost(loan, business_date.today())["insurance_source"] == "product"
    assert w.policy(loan_no)["status"] == "active"


def test_the_database_keeps_one_live_policy_per_loan(w):
    from django.db import IntegrityError

    from ippledge.risksharing.models import InsurancePolicy

    policy = InsurancePolicy.objects.get(pk=w.policy(w.loan())["id"])
    twin = InsurancePolicy(**{f.attname: getattr(policy, f.attname) for f in InsurancePolicy._meta.concrete_fields
                              if f.attname not in ("id", "policy_no")}, policy_no="IP-TWIN")
    with pytest.raises(IntegrityError), transaction.atomic():
        twin.save()


@pytest.mark.parametrize("seed", range(30))
def test_schedule_properties(seed):
    import random

    rnd = random.Random(seed)
    base = D(rnd.randint(1, 10**9)) / 100
    rate = D(rnd.randint(1, 3000)) / 100000
    months = rnd.randint(1, 120)
    cap = D(rnd.randint(0, 10**7)) / 100
    ratio = D(rnd.randint(0, 100)) / 100
    rows = premium.schedule(base=base, annual_rate=rate, start=dt.date(2024, 2, 29), term_months=months,
                            subsidy_ratio=ratio, subsidy_year_cap=cap)
    assert sum(r.months for r in rows) == months and len(rows) == -(-months // 12)
    assert all(r.premium == r.subsidy + r.borrower and r.subsidy <= cap and r.borrower >= 0 for r in rows)
    assert rows[0].period_start == dt.date(2024, 2, 29)
    assert all(a.period_end + dt.timedelta(days=1) == b.period_start for a, b in zip(rows, rows[1:], strict=False))


def test_the_case_quote_reads_the_policy_once_the_case_has_its_loan(w):
    from django.utils import timezone

    from ippledge.credit.models import CreditCase, Product

    loan_no = w.loan()
    loan = credit.get_loan(actor=SYSTEM, loan_no=loan_no)
    product = Product.objects.create(bank=w.bank, name="保险测试快贷", min_amount=0, max_amount=10**12,
                                     spreads_bp={"B": 80}, insurance_premium_rate=D("0.01"))
    case = CreditCase.objects.create(case_no="CC-INS-1", bank=w.bank, enterprise=w.borrower, product=product,
                                     amount=loan.amount, term_months=24, risk_grade="B", stage="disbursed",
                                     stage_entered_at=timezone.now(), prepared_by=w.users["officer"], loan=loan)
    on = business_date.today()
    nominal = quote.price(case, on)["all_in"]
    assert nominal["insurance_source"] == "product" and D(nominal["insurance_premium"]) > 0
    policy = w.policy(loan_no)
    priced = quote.price(case, on)["all_in"]
    assert (priced["insurance_source"], priced["insurance_policy"], priced["insurance_premium"]) == (
        "policy", policy["policy_no"], "200000.00")
    assert ("Insurance premium", "保险费", "200000.00") in [tuple(row) for row in priced["trace"]]


def test_the_insurer_cancels_on_the_policy_page(w):
    policy = w.policy(w.loan())
    client = _page(w, "ins")
    assert client.post(f"/risk-sharing/insurance/policies/{policy['id']}/", {"action": "cancel"}).status_code == 400
    r = client.post(f"/risk-sharing/insurance/policies/{policy['id']}/", {"action": "cancel", "reason": "退保"})
    assert r.status_code == 302
    assert w.ins.get(f"/risk-sharing/policies/{policy['id']}").data["status"] == "cancelled"
    bank = _page(w, "officer").post(f"/risk-sharing/insurance/policies/{policy['id']}/",
                                    {"action": "cancel", "reason": "x"})
    assert bank.status_code == 403
