"""Risk sharing through the API (issue 13 points 1, 2, 4): schemes from templates, the calculator's oracles,
enrolment checks, claims with every cap in order, payments by each party through its own users (maker, then
checker), recoveries that true the payers up, the fund's ledger, party scoping and bad input."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from ippledge.core import services as core
from ippledge.core.actors import SYSTEM
from ippledge.credit import services as credit

from .conftest import PASSWORD, Api, uscc

pytestmark = pytest.mark.django_db

GZ_BORROWER = uscc("91440101MA59ABCDE")   # registered in Guangzhou (440101)
GZ_OTHER = uscc("91440106MA59ABCDF")
SZ_BORROWER = uscc("91440300MA59ABCDG")   # Shenzhen: outside a Guangzhou scheme


class World:
    """Two banks, a fund and an insurer with two users each (maker and checker), a regulator, borrowers."""

    def __init__(self):
        self.bank = core.create_organisation(actor=SYSTEM, name="甲银行", kind="bank")
        self.bank_b = core.create_organisation(actor=SYSTEM, name="乙银行", kind="bank")
        self.fund = core.create_organisation(actor=SYSTEM, name="广州市风险补偿资金", kind="risk_fund")
        self.other_fund = core.create_organisation(actor=SYSTEM, name="别处补偿资金", kind="risk_fund")
        self.insurer = core.create_organisation(actor=SYSTEM, name="某保险公司", kind="insurer")
        self.regulator_org = core.create_organisation(actor=SYSTEM, name="监管局", kind="regulator")
        self.borrower = core.create_organisation(actor=SYSTEM, name="广州甲科技", kind="enterprise", uscc=GZ_BORROWER)
        self.other = core.create_organisation(actor=SYSTEM, name="广州乙科技", kind="enterprise", uscc=GZ_OTHER)
        self.sz = core.create_organisation(actor=SYSTEM, name="深圳丙科技", kind="enterprise", uscc=SZ_BORROWER)
        self.clients: dict[str, Api] = {}
        for name, org, role in (
            ("officer", self.bank, "bank_officer"), ("reviewer", self.bank, "bank_reviewer"),
            ("approver", self.bank, "bank_approver"), ("approver2", self.bank, "bank_approver"),
            ("officer_b", self.bank_b, "bank_officer"), ("approver_b", self.bank_b, "bank_approver"),
            ("fund1", self.fund, "fund_manager"), ("fund2", self.fund, "fund_manager"),
            ("fund_b", self.other_fund, "fund_manager"),
            ("ins1", self.insurer, "insurer_user"), ("ins2", self.insurer, "insurer_user"),
            ("regulator", self.regulator_org, "regulator_user"), ("ent", self.borrower, "enterprise_user"),
        ):
            user = core.create_user(actor=SYSTEM, username=f"rs-{name}", password=PASSWORD, org_id=org.pk, roles=[role])
            self.clients[name] = Api(core.issue_token(user=user))
        admin_org = core.create_organisation(actor=SYSTEM, name="平台运营", kind="platform_operator")
        admin = core.create_user(actor=SYSTEM, username="rs-admin", password=PASSWORD, org_id=admin_org.pk,
                                 roles=["admin"])
        self.clients["admin"] = Api(core.issue_token(user=admin))

    def __getattr__(self, name):
        try:
            return self.__dict__["clients"][name]
        except KeyError:
            raise AttributeError(name) from None

    def loan(self, amount: str, borrower: str = GZ_BORROWER, bank=None, category: str | None = None) -> str:
        loan = credit.book_loan(actor=SYSTEM, data={
            "borrower_uscc": borrower, "bank_org_id": (bank or self.bank).pk, "amount": amount,
            "annual_rate": "0.0345", "start_date": "2026-01-05", "maturity_date": "2027-01-05",
            "schedule": "bullet", "ip_kind": "patent"})
        if category:
            self.classify(loan.loan_no, category)
        return loan.loan_no

    def classify(self, loan_no: str, category: str) -> None:
        credit.classify_manually(actor=SYSTEM, loan_no=loan_no, category=category, reason="test")

    def scheme(self, client=None, **body) -> dict:
        body = {"name": "测试方案", "region_code": "440100", "parties": [
            {"name": "fund", "kind": "fund", "ratio": "0.5", "organisation_id": self.fund.pk}], **body}
        r = (client or self.fund1).post("/risk-sharing/schemes", body)
        assert r.status_code == 201, r.data
        return r.data

    def fund_in(self, scheme_id: int, amount: str, party: str = "fund", client=None) -> dict:
        r = (client or self.fund1).post(f"/risk-sharing/schemes/{scheme_id}/funds", {"party": party, "amount": amount})
        assert r.status_code == 201, r.data
        return r.data

    def enrol(self, loan_no: str, scheme_id: int, client=None, **body):
        return (client or self.officer).post(f"/loans/{loan_no}/risk-sharing", {"scheme_id": scheme_id, **body})

    def claim(self, loan_no: str, client=None, **body):
        return (client or self.officer).post("/risk-sharing/claims", {"loan_no": loan_no, **body})

    def pay(self, claim_id: int, party: str, maker, checker, amount: str | None = None) -> dict:
        body = {"party": party} if amount is None else {"party": party, "amount": amount}
        r = maker.post(f"/risk-sharing/claims/{claim_id}/payments", body)
        assert r.status_code == 201, r.data
        r = checker.post(f"/risk-sharing/claims/{claim_id}/payments/{r.data['payment_id']}/check", {"approve": True})
        assert r.status_code == 200, r.data
        return r.data["claim"]


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """One world for the module (users are slow to make), rolled back at the end; each test is a savepoint."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield World()
        transaction.set_rollback(True)


@pytest.fixture
def w(world, db):
    return world


DISPOSAL = {"kind": "disposal", "date": "2026-06-30", "reference": "拍卖成交确认书 2026-018"}


def _today() -> str:
    from ippledge.core import business_date

    return business_date.today().isoformat()


def _shares(claim: dict) -> dict:
    return {k: Decimal(v) for k, v in claim["shares"].items()}


# --- schemes as data ---------------------------------------------------------------------------------

def test_templates_carry_every_real_scheme_with_its_source(w):
    r = w.fund1.get("/risk-sharing/templates")
    keys = {t["key"] for t in r.data["templates"]}
    assert {"qingdao_insurance", "zhongshan", "zhuhai", "guangzhou_2020_55", "guangzhou_2020_5311",
            "guangzhou_2020_541", "guangzhou_2023", "weihai", "shenzhen_2018", "haikou"} <= keys
    assert all(t["source"] for t in r.data["templates"])


def test_every_template_makes_a_scheme(w):
    for t in w.admin.get("/risk-sharing/templates").data["templates"]:
        body = {"ratios": {"fund": "0.5"}} if t["key"] == "haikou" else {}
        r = w.admin.post(f"/risk-sharing/templates/{t['key']}/schemes", body)
        assert r.status_code == 201, (t["key"], r.data)
        assert r.data["template"] == t["key"] and r.data["source"] == t["source"]


def test_a_template_without_a_ratio_needs_one(w):
    r = w.fund1.post("/risk-sharing/templates/haikou/schemes", {})
    assert r.status_code == 422 and r.data["error"]["code"] == "ratio_required"


def test_the_fund_managers_organisation_is_filled_in_from_the_template(w):
    r = w.fund1.post("/risk-sharing/templates/guangzhou_2023/schemes", {"bank_annual_cap": "30000000"})
    assert r.status_code == 201, r.data
    fund = r.data["parties"][0]
    assert (fund["name"], fund["kind"], fund["organisation_id"], fund["ratio"]) == ("fund", "fund", w.fund.pk,
                                                                                     "0.500000")
    assert r.data["rules"] == {**r.data["rules"], "eligible_base_cap": "10000000.00", "ip_portion_required": True,
                               "borrower_year_cap": "20000000.00", "annual_cap": "50000000.00",
                               "bank_annual_cap": "30000000.00"}
    assert w.fund1.get(f"/risk-sharing/schemes/{r.data['id']}").data["name"] == r.data["name"]


def test_ratios_above_one_are_refused(w):
    r = w.fund1.post("/risk-sharing/schemes", {"name": "x", "region_code": "440100", "parties": [
        {"name": "fund", "kind": "fund", "ratio": "0.6"}, {"name": "insurer", "kind": "insurer", "ratio": "0.5"}]})
    assert r.status_code == 422 and r.data["error"]["code"] == "ratio_sum_above_one"


@pytest.mark.parametrize(("party", "field"), [
    ({"name": "fund", "kind": "fund", "ratio": "1.2"}, "parties[0].ratio"),
    ({"name": "fund", "kind": "fund", "ratio": "-0.1"}, "parties[0].ratio"),
    ({"name": "fund", "kind": "treasury", "ratio": "0.1"}, "parties[0].kind"),
    ({"name": "fund", "kind": "fund", "ratio": "0.1", "per_loan_cap": "-5"}, "parties[0].per_loan_cap"),
    ({"name": "fund", "kind": "fund", "ratio": "0.1", "per_loan_cap": "1e20"}, "parties[0].per_loan_cap"),
    ({"name": "", "kind": "fund", "ratio": "0.1"}, "parties[0].name"),
])
def test_bad_parties_are_refused_by_field(w, party, field):
    r = w.fund1.post("/risk-sharing/schemes", {"name": "x", "region_code": "440100", "parties": [party]})
    assert r.status_code == 422 and field in r.data["error"]["fields"], r.data


def test_party_names_are_unique_and_organisations_fit_their_kind(w):
    r = w.fund1.post("/risk-sharing/schemes", {"name": "x", "region_code": "440100", "parties": [
        {"name": "fund", "kind": "fund", "ratio": "0.1"}, {"name": "fund", "kind": "insurer", "ratio": "0.1"}]})
    assert r.status_code == 422 and "parties[1].name" in r.data["error"]["fields"]
    r = w.fund1.post("/risk-sharing/schemes", {"name": "x", "region_code": "440100", "parties": [
        {"name": "fund", "kind": "fund", "ratio": "0.1", "organisation_id": w.insurer.pk}]})
    assert r.status_code == 422 and r.data["error"]["code"] == "organisation_kind_mismatch"
    r = w.fund1.post("/risk-sharing/schemes", {"name": "x", "region_code": "999999", "parties": [
        {"name": "fund", "kind": "fund", "ratio": "0.1"}]})
    assert r.status_code == 422 and "region_code" in r.data["error"]["fields"]


def test_who_keeps_schemes(w):
    body = {"name": "x", "region_code": "440100", "parties": [{"name": "fund", "kind": "fund", "ratio": "0.1"}]}
    assert w.regulator.post("/risk-sharing/schemes", body).status_code == 201
    assert w.admin.post("/risk-sharing/schemes", body).status_code == 201
    for who in ("officer", "approver", "ins1", "ent"):
        r = getattr(w, who).post("/risk-sharing/schemes", body)
        assert r.status_code == 403, who


# --- the calculator: the oracles of §5 ---------------------------------------------------------------

def _allocate(w, scheme_id, **body):
    r = w.fund1.post(f"/risk-sharing/schemes/{scheme_id}/allocate", body)
    assert r.status_code == 200, r.data
    return r.data


def test_qingdao_60_20_20(w):
    scheme = w.admin.post("/risk-sharing/templates/qingdao_insurance/schemes", {}).data
    r = w.admin.post(f"/risk-sharing/schemes/{scheme['id']}/allocate",
                     {"loan_amount": "1000000", "principal_loss": "1000000"})
    assert r.data == {"eligible": "1000000.00", "shares": {"insurer": "600000.00", "guarantor": "200000.00",
                                                          "bank": "200000.00"}}


def test_guangzhou_2023_oracles(w):
    sid = w.fund1.post("/risk-sharing/templates/guangzhou_2023/schemes", {}).data["id"]
    assert _allocate(w, sid, loan_amount="8000000", principal_loss="2000000", ip_secured_amount="8000000") == {
        "eligible": "2000000.00", "shares": {"fund": "1000000.00", "bank": "1000000.00"}}
    assert _allocate(w, sid, loan_amount="15000000", principal_loss="6000000", ip_secured_amount="15000000") == {
        "eligible": "4000000.00", "shares": {"fund": "2000000.00", "bank": "4000000.00"}}
    assert _allocate(w, sid, loan_amount="6000000", principal_loss="3000000",
                     ip_secured_amount="4000000")["shares"]["fund"] == "1000000.00"
    assert _allocate(w, sid, loan_amount="6000000", principal_loss="3000000")["shares"] == {
        "fund": "0.00", "bank": "3000000.00"}


def test_per_loan_cap_oracle(w):
    scheme = w.scheme(parties=[{"name": "fund", "kind": "fund", "ratio": "0.4", "per_loan_cap": "300000"},
                               {"name": "insurer", "kind": "insurer", "ratio": "0.3"}])
    assert _allocate(w, scheme["id"], loan_amount="1000000", principal_loss="1000000")["shares"] == {
        "fund": "300000.00", "insurer": "300000.00", "bank": "400000.00"}


def test_the_calculator_refuses_nonsense(w):
    sid = w.scheme()["id"]
    for body, field in (({"loan_amount": "-1", "principal_loss": "1"}, "loan_amount"),
                        ({"loan_amount": "1e30", "principal_loss": "1"}, "loan_amount"),
                        ({"loan_amount": "100", "principal_loss": "200"}, "principal_loss"),
                        ({"loan_amount": "100", "principal_loss": 5.5}, "principal_loss"),
                        ({"loan_amount": "100", "principal_loss": "1", "ip_secured_amount": "101"},
                         "ip_secured_amount")):
        r = w.fund1.post(f"/risk-sharing/schemes/{sid}/allocate", body)
        assert r.status_code == 422 and field in r.data["error"]["fields"], (body, r.data)


# --- enrolment -----------------------------------------------------------------------------------------

def test_enrolment_checks_region_size_ip_portion_capacity_and_once(w):
    gz = w.fund1.post("/risk-sharing/templates/guangzhou_2023/schemes", {}).data
    loan = w.loan("8000000")
    r = w.enrol(loan, gz["id"])
    assert r.status_code == 422 and r.data["error"]["code"] == "ip_secured_amount_required"
    r = w.enrol(loan, gz["id"], ip_secured_amount="9000000")
    assert r.status_code == 422 and r.data["error"]["code"] == "secured_above_loan"
    r = w.enrol(loan, gz["id"], ip_secured_amount="8000000")
    assert r.status_code == 201 and r.data["scheme_id"] == gz["id"]
    assert w.enrol(loan, gz["id"], ip_secured_amount="8000000").data["error"]["code"] == "already_enrolled"
    assert w.officer.get(f"/loans/{loan}/risk-sharing").data["enrolment"]["ip_secured_amount"] == "8000000.00"
    # Another region's borrower
    r = w.enrol(w.loan("1000000", borrower=SZ_BORROWER), gz["id"], ip_secured_amount="1")
    assert r.status_code == 409 and r.data["error"]["code"] == "region_mismatch"
    # An NPL does not join
    r = w.enrol(w.loan("1000000", category="substandard"), gz["id"], ip_secured_amount="1")
    assert r.data["error"]["code"] == "loan_non_performing"
    # Qingdao takes loans up to 5 million (in Qingdao)
    qd = w.admin.post("/risk-sharing/templates/qingdao_insurance/schemes", {"region_code": "440100"}).data
    assert w.enrol(w.loan("6000000"), qd["id"]).data["error"]["code"] == "loan_too_large"


def test_capacity_is_the_funds_balance_times_leverage(w):
    scheme = w.scheme(leverage="10")
    w.fund_in(scheme["id"], "100000")
    assert w.enrol(w.loan("600000"), scheme["id"]).status_code == 201
    r = w.enrol(w.loan("500000"), scheme["id"])
    assert r.status_code == 409 and r.data["error"]["code"] == "capacity_exceeded"
    assert w.enrol(w.loan("400000"), scheme["id"]).status_code == 201
    room = w.fund1.get(f"/risk-sharing/schemes/{scheme['id']}").data["capacity"]
    assert room == {"fund_balance": "100000.00", "leverage": "10.00", "capacity": "1000000.00",
                    "enrolled_outstanding": "1000000.00", "remaining": "0.00"}


def test_a_scheme_out_of_force_takes_no_loans(w):
    scheme = w.scheme(valid_from="2020-01-01", valid_to="2020-12-31")
    r = w.enrol(w.loan("100000"), scheme["id"])
    assert r.status_code == 409 and r.data["error"]["code"] == "scheme_not_in_force"


# --- the done-when journey: Guangzhou 2023 -------------------------------------------------------------

def test_guangzhou_2023_from_template_to_recovery(w):
    scheme = w.fund1.post("/risk-sharing/templates/guangzhou_2023/schemes", {"bank_annual_cap": "30000000"}).data
    sid = scheme["id"]
    w.fund_in(sid, "5000000")
    loan = w.loan("8000000")
    assert w.enrol(loan, sid, ip_secured_amount="8000000").status_code == 201
    r = w.claim(loan)
    assert r.status_code == 409 and r.data["error"]["code"] == "not_non_performing"
    w.classify(loan, "substandard")
    r = w.claim(loan)  # ex post: the loss must be recognised first
    assert r.status_code == 409 and r.data["error"]["code"] == "loss_not_recognised"
    r = w.claim(loan, principal_loss="2000000")
    assert r.status_code == 422 and "loss_event" in r.data["error"]["fields"]
    r = w.claim(loan, principal_loss="2000000", loss_event=DISPOSAL)
    assert r.status_code == 201, r.data
    claim = r.data
    assert (claim["mode"], claim["status"], claim["eligible"]) == ("ex_post", "filed", "2000000.00")
    assert _shares(claim) == {"fund": Decimal("1000000"), "bank": Decimal("1000000")}
    assert w.claim(loan, principal_loss="2000000", loss_event=DISPOSAL).data["error"]["code"] == "already_claimed"
    cid = claim["id"]
    # The fund pays through its own users: one enters, another confirms.
    r = w.fund1.post(f"/risk-sharing/claims/{cid}/payments", {"party": "fund", "amount": "600000"})
    assert r.status_code == 201 and r.data["status"] == "proposed"
    pid = r.data["payment_id"]
    r = w.fund1.post(f"/risk-sharing/claims/{cid}/payments/{pid}/check", {"approve": True})
    assert r.status_code == 403 and r.data["error"]["code"] == "separation_of_duties"
    r = w.fund2.post(f"/risk-sharing/claims/{cid}/payments", {"party": "fund"})
    assert r.status_code == 409 and r.data["error"]["code"] == "payment_pending"
    assert w.fund2.post(f"/risk-sharing/claims/{cid}/payments/{pid}/check", {"approve": True}).status_code == 200
    r = w.fund1.post(f"/risk-sharing/claims/{cid}/payments", {"party": "fund", "amount": "400000.01"})
    assert r.status_code == 409 and r.data["error"]["code"] == "share_exceeded"
    claim = w.pay(cid, "fund", w.fund2, w.fund1)  # the rest, 400,000
    assert claim["status"] == "paid" and claim["parties"][0]["paid"] == "1000000.00"
    r = w.fund1.post(f"/risk-sharing/claims/{cid}/payments", {"party": "fund"})
    assert r.status_code == 409 and r.data["error"]["code"] == "share_paid"
    # A later recovery trues the fund up pro rata: 1,000,000 of 2,000,000 paid, 400,000 recovered → 200,000.
    r = w.officer.post(f"/risk-sharing/claims/{cid}/recoveries", {"amount": "400000", "date": _today()})
    assert r.status_code == 201, r.data
    assert r.data["returned"] == {"fund": "200000.00"}
    assert r.data["claim"]["parties"][0]["net"] == "800000.00" and r.data["claim"]["status"] == "settled"
    ledger = w.fund1.get(f"/risk-sharing/schemes/{sid}/ledger").data["entries"]
    assert [(e["kind"], e["amount"], e["balance_after"]) for e in ledger] == [
        ("contribution", "5000000.00", "5000000.00"), ("payment", "-600000.00", "4400000.00"),
        ("payment", "-400000.00", "4000000.00"), ("return", "200000.00", "4200000.00")]
    assert ledger[1]["claim_no"] == claim["claim_no"]
    # The recoveries never exceed the claim's principal.
    r = w.officer.post(f"/risk-sharing/claims/{cid}/recoveries", {"amount": "1600001", "date": _today()})
    assert r.status_code == 422 and r.data["error"]["code"] == "recovery_above_base"


def test_advance_mode_pays_at_npl_and_trues_up(w):
    scheme = w.scheme(mode="advance")
    w.fund_in(scheme["id"], "2000000")
    loan = w.loan("1000000")
    assert w.enrol(loan, scheme["id"]).status_code == 201
    w.classify(loan, "substandard")
    claim = w.claim(loan).data
    assert (claim["mode"], claim["base_amount"]) == ("advance", "1000000.00")
    assert _shares(claim) == {"fund": Decimal("500000"), "bank": Decimal("500000")}
    w.pay(claim["id"], "fund", w.fund1, w.fund2)
    r = w.officer.post(f"/risk-sharing/claims/{claim['id']}/recoveries", {"amount": "400000", "date": _today()})
    assert r.data["returned"] == {"fund": "200000.00"}
    party = r.data["claim"]["parties"][0]
    assert (party["paid"], party["returned"], party["net"]) == ("500000.00", "200000.00", "300000.00")


def test_recoveries_wait_for_payment(w):
    scheme = w.scheme(mode="advance")
    w.fund_in(scheme["id"], "2000000")
    loan = w.loan("1000000")
    w.enrol(loan, scheme["id"])
    w.classify(loan, "doubtful")
    cid = w.claim(loan).data["id"]
    r = w.officer.post(f"/risk-sharing/claims/{cid}/recoveries", {"amount": "1", "date": _today()})
    assert r.status_code == 409 and r.data["error"]["code"] == "claim_not_paid"


# --- every cap -------------------------------------------------------------------------------------------

def _npl_claim(w, scheme_id, amount="1000000", borrower=GZ_BORROWER, bank=None, client=None):
    loan = w.loan(amount, borrower=borrower, bank=bank)
    assert w.enrol(loan, scheme_id, client=client).status_code == 201
    w.classify(loan, "substandard")
    r = w.claim(loan, client=client)
    assert r.status_code == 201, r.data
    return r.data


def _fund_share(claim):
    return claim["shares"]["fund"]


def test_borrower_year_cap(w):
    scheme = w.scheme(mode="advance", borrower_year_cap="600000")
    first = _npl_claim(w, scheme["id"])
    second = _npl_claim(w, scheme["id"])
    other = _npl_claim(w, scheme["id"], borrower=GZ_OTHER)
    assert (_fund_share(first), _fund_share(second), _fund_share(other)) == ("500000.00", "100000.00", "500000.00")
    assert second["shares"]["bank"] == "900000.00"
    assert second["parties"][0]["caps"] == [{"cap": "borrower_year_cap", "before": "500000.00",
                                             "after": "100000.00"}]


def test_annual_cap_first_come_first_served(w):
    scheme = w.scheme(mode="advance", annual_cap="700000")
    first = _npl_claim(w, scheme["id"])
    second = _npl_claim(w, scheme["id"], borrower=GZ_OTHER)
    third = _npl_claim(w, scheme["id"], borrower=GZ_OTHER)
    assert [_fund_share(c) for c in (first, second, third)] == ["500000.00", "200000.00", "0.00"]
    assert third["status"] == "paid" and third["shares"]["bank"] == "1000000.00"


def test_bank_annual_cap(w):
    scheme = w.scheme(mode="advance", bank_annual_cap="600000")
    a1 = _npl_claim(w, scheme["id"])
    a2 = _npl_claim(w, scheme["id"], borrower=GZ_OTHER)
    b1 = _npl_claim(w, scheme["id"], bank=w.bank_b, client=w.officer_b)
    assert [_fund_share(c) for c in (a1, a2, b1)] == ["500000.00", "100000.00", "500000.00"]


def test_limit_to_balance(w):
    scheme = w.scheme(mode="advance", limit_to_balance=True, parties=[
        {"name": "fund", "kind": "fund", "ratio": "0.54", "organisation_id": w.fund.pk}])
    w.fund_in(scheme["id"], "200000")
    claim = _npl_claim(w, scheme["id"])
    assert claim["shares"] == {"fund": "200000.00", "bank": "800000.00"}
    assert claim["parties"][0]["caps"] == [{"cap": "balance", "before": "540000.00", "after": "200000.00"}]
    # What this claim holds is not free for the next one.
    assert _fund_share(_npl_claim(w, scheme["id"], borrower=GZ_OTHER)) == "0.00"


def test_without_limit_to_balance_the_fund_cannot_pay_beyond_it(w):
    scheme = w.scheme(mode="advance")
    w.fund_in(scheme["id"], "100000")
    claim = _npl_claim(w, scheme["id"])
    assert _fund_share(claim) == "500000.00"
    r = w.fund1.post(f"/risk-sharing/claims/{claim['id']}/payments", {"party": "fund"})
    assert r.status_code == 409 and r.data["error"]["code"] == "insufficient_balance"
    claim = w.pay(claim["id"], "fund", w.fund1, w.fund2, amount="100000")
    assert claim["status"] == "filed" and claim["parties"][0]["paid"] == "100000.00"
    ledger = w.fund1.get(f"/risk-sharing/schemes/{scheme['id']}/ledger").data["entries"]
    assert ledger[-1]["balance_after"] == "0.00"
    r = w.fund1.post(f"/risk-sharing/schemes/{scheme['id']}/funds", {"party": "fund", "amount": "1",
                                                                    "kind": "withdrawal"})
    assert r.status_code == 409 and r.data["error"]["code"] == "insufficient_balance"


def test_per_loan_cap_and_an_insurer_paying_through_its_users(w):
    scheme = w.scheme(mode="advance", parties=[
        {"name": "fund", "kind": "fund", "ratio": "0.4", "per_loan_cap": "300000", "organisation_id": w.fund.pk},
        {"name": "insurer", "kind": "insurer", "ratio": "0.3", "organisation_id": w.insurer.pk}])
    w.fund_in(scheme["id"], "1000000")
    claim = _npl_claim(w, scheme["id"])
    assert claim["shares"] == {"fund": "300000.00", "insurer": "300000.00", "bank": "400000.00"}
    assert claim["parties"][0]["caps"][0]["cap"] == "per_loan_cap"
    # The insurer cannot pay the fund's share, nor the fund the insurer's.
    r = w.ins1.post(f"/risk-sharing/claims/{claim['id']}/payments", {"party": "fund"})
    assert r.status_code == 403
    r = w.fund1.post(f"/risk-sharing/claims/{claim['id']}/payments", {"party": "insurer"})
    assert r.status_code == 403
    w.pay(claim["id"], "insurer", w.ins1, w.ins2)
    done = w.pay(claim["id"], "fund", w.fund1, w.fund2)
    assert done["status"] == "paid"
    # The insurer pays from its own books: no ledger entry for it.
    ledger = w.fund1.get(f"/risk-sharing/schemes/{scheme['id']}/ledger").data["entries"]
    assert {e["party"] for e in ledger} == {"fund"}


# --- party scoping and bad input ----------------------------------------------------------------------

def test_party_scoping_of_schemes_claims_and_ledgers(w):
    scheme = w.scheme(mode="advance")
    w.fund_in(scheme["id"], "1000000")
    claim = _npl_claim(w, scheme["id"])
    cid, sid = claim["id"], scheme["id"]
    # The lending bank, the fund and the regulator read the claim; nobody else learns it exists.
    for who in ("officer", "approver", "fund1", "regulator", "admin"):
        assert getattr(w, who).get(f"/risk-sharing/claims/{cid}").status_code == 200, who
        assert [c["id"] for c in getattr(w, who).get("/risk-sharing/claims").data["claims"]] == [cid], who
    for who in ("officer_b", "fund_b", "ins1", "ent"):
        assert getattr(w, who).get(f"/risk-sharing/claims/{cid}").status_code == 404, who
        assert getattr(w, who).get("/risk-sharing/claims").data["claims"] == [], who
    # Schemes are published to banks; another fund and an enterprise do not see this one.
    assert w.officer_b.get(f"/risk-sharing/schemes/{sid}").status_code == 200
    assert w.officer_b.get(f"/risk-sharing/schemes/{sid}").data["parties"][0]["balance"] is None
    for who in ("fund_b", "ent", "ins1"):
        assert getattr(w, who).get(f"/risk-sharing/schemes/{sid}").status_code == 404, who
    # The fund's ledger: its parties, the regulator; a bank gets 404.
    assert w.regulator.get(f"/risk-sharing/schemes/{sid}/ledger").status_code == 200
    assert w.officer.get(f"/risk-sharing/schemes/{sid}/ledger").status_code == 404
    # Another bank cannot enrol, claim or recover on the loan.
    loan = claim["loan_no"]
    assert w.enrol(loan, sid, client=w.officer_b).status_code == 404
    assert w.claim(loan, client=w.officer_b).status_code == 404
    r = w.officer_b.post(f"/risk-sharing/claims/{cid}/recoveries", {"amount": "1", "date": _today()})
    assert r.status_code == 404
    # Another fund's manager, an enterprise, the regulator do not pay the fund's share.
    assert w.fund_b.post(f"/risk-sharing/claims/{cid}/payments", {"party": "fund"}).status_code == 404
    assert w.ent.post(f"/risk-sharing/claims/{cid}/payments", {"party": "fund"}).status_code == 403
    assert w.regulator.post(f"/risk-sharing/claims/{cid}/payments", {"party": "fund"}).status_code == 403
    # Another fund's manager cannot move this fund's money.
    r = w.fund_b.post(f"/risk-sharing/schemes/{sid}/funds", {"party": "fund", "amount": "1"})
    assert r.status_code == 404


def test_bad_payment_and_recovery_input(w):
    scheme = w.scheme(mode="advance")
    w.fund_in(scheme["id"], "1000000")
    cid = _npl_claim(w, scheme["id"])["id"]
    for body, code in (({"party": "nobody"}, "unknown_party"), ({"party": "fund", "amount": "-5"}, "invalid_amount"),
                       ({"party": "fund", "amount": "1e20"}, "invalid_amount"),
                       ({"party": "fund", "amount": "0"}, "invalid_amount"),
                       ({"party": "fund", "amount": "99999999999"}, "amount_out_of_range")):
        r = w.fund1.post(f"/risk-sharing/claims/{cid}/payments", body)
        assert r.status_code == 422 and r.data["error"]["code"] == code, (body, r.data)
    r = w.fund1.post(f"/risk-sharing/claims/{cid}/payments", {"party": "fund", "amount": "500000.01"})
    assert r.data["error"]["code"] == "share_exceeded"
    r = w.fund1.post(f"/risk-sharing/claims/{cid}/payments/999999/check", {"approve": True})
    assert r.status_code == 404
    r = w.fund1.post(f"/risk-sharing/schemes/{scheme['id']}/funds", {"party": "fund", "amount": "-1"})
    assert r.status_code == 422
    w.pay(cid, "fund", w.fund1, w.fund2)
    for body in ({"amount": "-1", "date": _today()}, {"amount": "1", "date": "2099-01-01"},
                 {"amount": "1", "date": "yesterday"}):
        r = w.officer.post(f"/risk-sharing/claims/{cid}/recoveries", body)
        assert r.status_code == 422, (body, r.data)


def test_a_rejected_payment_moves_no_money(w):
    scheme = w.scheme(mode="advance")
    w.fund_in(scheme["id"], "1000000")
    cid = _npl_claim(w, scheme["id"])["id"]
    pid = w.fund1.post(f"/risk-sharing/claims/{cid}/payments", {"party": "fund"}).data["payment_id"]
    r = w.fund2.post(f"/risk-sharing/claims/{cid}/payments/{pid}/check", {"approve": False, "note": "单据不全"})
    assert r.data["status"] == "rejected" and r.data["claim"]["parties"][0]["paid"] == "0.00"
    r = w.fund2.post(f"/risk-sharing/claims/{cid}/payments/{pid}/check", {"approve": True})
    assert r.status_code == 409 and r.data["error"]["code"] == "already_decided"
    assert len(w.fund1.get(f"/risk-sharing/schemes/{scheme['id']}/ledger").data["entries"]) == 1
