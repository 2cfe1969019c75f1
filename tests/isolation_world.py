"""A platform with two organisations of each kind and real objects owned by the "A" side, made the way
users make them (through the API, with each party's own users), for the isolation matrix
(tests/test_isolation.py).

Organisations and users come from the core services (as an administrator would create them); rights
from the rights services (as the register import does); everything else through the API.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings

from ippledge.core import business_date
from ippledge.core import services as core
from ippledge.core.actors import SYSTEM
from ippledge.core.models import ApiToken

from .conftest import PASSWORD, Api, uscc
from .registry_fixtures import (
    BANK_USCC,
    PLEDGEE,
    PLEDGOR,
    PLEDGOR_USCC,
    application,
    make_patent,
    patent_number,
)

BANK_B = {"name": "乙商业银行股份有限公司", "id_type": "uscc", "id_number": uscc("91310000MA1FPX3K2"),
          "address": "上海市浦东新区", "country": "CN", "domicile_in_china": True}
ENT_B = {"name": "乙科技有限公司", "id_type": "uscc", "id_number": uscc("91440300MA5DRQAL1"),
         "address": "深圳市福田区", "country": "CN", "domicile_in_china": True}
PARK_A = "甲银行合作科技园"
# A loopback receiver the operator allows for the test (no traffic leaves the machine; nothing listens).
WEBHOOK_A = "http://127.0.0.1:9/registry"
EVIDENCE_PDF = b"%PDF-1.4 bank A's register extract"

# (username, organisation key, role)
USERS = (
    ("admin", "operator", "admin"),
    ("regulator", "regulator", "regulator_user"),
    ("registrar_ip", "ip_office", "registrar"),
    ("checker_ip", "ip_office", "registrar"),
    ("registrar_cr", "copyright_office", "registrar"),
    ("officer_a", "bank_a", "bank_officer"), ("reviewer_a", "bank_a", "bank_reviewer"),
    ("approver_a", "bank_a", "bank_approver"),
    ("officer_b", "bank_b", "bank_officer"), ("reviewer_b", "bank_b", "bank_reviewer"),
    ("approver_b", "bank_b", "bank_approver"),
    ("ent_a", "ent_a", "enterprise_user"), ("ent_b", "ent_b", "enterprise_user"),
    ("appraiser_a", "agency_a", "appraiser"), ("appraiser_b", "agency_b", "appraiser"),
    ("insurer", "insurer", "insurer_user"), ("fund", "fund", "fund_manager"),
)
ORGS = {
    "operator": ("平台运营方", "platform_operator", None),
    "regulator": ("地方金融监管局", "regulator", None),
    "ip_office": ("知识产权局", "ip_office", None),
    "copyright_office": ("版权局", "copyright_office", None),
    "bank_a": (PLEDGEE["name"], "bank", BANK_USCC),
    "bank_b": (BANK_B["name"], "bank", BANK_B["id_number"]),
    "ent_a": (PLEDGOR["name"], "enterprise", PLEDGOR_USCC),
    "ent_b": (ENT_B["name"], "enterprise", ENT_B["id_number"]),
    "agency_a": ("甲资产评估有限公司", "appraisal_agency", uscc("91110108MA01AAAA1")),
    "agency_b": ("乙资产评估有限公司", "appraisal_agency", uscc("91110108MA01BBBB2")),
    "insurer": ("丙财产保险股份有限公司", "insurer", None),
    "fund": ("风险补偿资金池", "risk_fund", None),
}


def right_no(n: int) -> str:
    return "ZL" + patent_number(f"2021100{n:05d}")


@dataclass
class World:
    tokens: dict[str, str] = field(default_factory=dict)
    users: dict[str, object] = field(default_factory=dict)
    orgs: dict[str, object] = field(default_factory=dict)
    ref: dict[str, object] = field(default_factory=dict)

    def client(self, actor: str | None) -> Api:
        return Api(self.tokens[actor] if actor else None)

    def __getattr__(self, name):
        try:
            return self.__dict__["ref"][name]
        except KeyError:
            raise AttributeError(name) from None


def _ok(r, what: str):
    assert 200 <= r.status_code < 300, (what, r.status_code, r.data)
    return r.data


def _file(w: World, filer: str, confirmer: str | None, body: dict) -> dict:
    """A bank files; the enterprise confirms on the platform (as each party does through its own users)."""
    data = _ok(w.client(filer).post("/pledge-applications", body), "file")
    if confirmer and data["status"] == "awaiting_confirmation":
        data = _ok(w.client(confirmer).post(f"/pledge-applications/{data['application_no']}/confirmation",
                                            {"side": "pledgor"}), "confirm")
    return data


INCOME = {"method": "income", "inputs": {"income": ["3000000", "3000000", "3000000"], "discount_rate": "0.1"}}


def _valuation(w: World, right: str) -> str:
    """Bank A's own valuation of one of enterprise A's patents (it supports a loan of 1,865,138.99)."""
    return _ok(w.client("officer_a").post("/valuations", {"rights": [{"kind": "invention", "number": right}],
                                                          **INCOME}), "case valuation")["valuation_no"]


def _case(w: World, right: str, *, until: str) -> str:
    """A credit case of bank A for enterprise A, moved through the workflow up to stage ``until`` (with
    bank A's valuation of the right from the approval on: no approval without one)."""
    officer, reviewer, approver = (w.client(n) for n in ("officer_a", "reviewer_a", "approver_a"))
    valued = {"valuation_no": _valuation(w, right)} if until not in ("due_diligence", "review", "approval") else {}
    case = _ok(officer.post("/credit-cases", {
        "product_id": w.product_a, "enterprise_id": w.orgs["ent_a"].pk, "amount": "1000000", "term_months": 12,
        "rights": [{"kind": "invention", "number": right}], **valued}), "open case")
    no = case["case_no"]
    for item in case["due_diligence"]:
        _ok(officer.post(f"/credit-cases/{no}/due-diligence", {"key": item["key"], "result": "ok"}), "dd")
    if until == "due_diligence":
        return no
    _ok(officer.post(f"/credit-cases/{no}/submit", {"risk_grade": "B"}), "submit")
    if until == "review":
        return no
    _ok(reviewer.post(f"/credit-cases/{no}/review", {"decision": "pass"}), "review")
    if until == "approval":
        return no
    contracted = _ok(approver.post(f"/credit-cases/{no}/approval", {"decision": "approve"}), "approve")
    assert contracted["stage"] == "contracted", contracted
    filed = _ok(officer.get(f"/pledge-applications/{contracted['pledge_application_no']}"), "case pledge")
    if filed["status"] == "awaiting_confirmation":  # the enterprise confirms the pledge it signed
        _ok(w.client("ent_a").post(f"/pledge-applications/{filed['application_no']}/confirmation",
                                   {"side": "pledgor"}), "confirm case pledge")
    if until == "contracted":
        return no
    _ok(officer.post(f"/credit-cases/{no}/disbursement", {}), "disburse")
    return no


def quarter_end(day: dt.date) -> dt.date:
    """The last quarter end on or before ``day``."""
    month = (day.month - 1) // 3 * 3  # 0, 3, 6, 9: the end month of the previous quarter
    if month == 0:
        return dt.date(day.year - 1, 12, 31)
    return dt.date(day.year, month + 1, 1) - dt.timedelta(days=1)


def build() -> World:
    # Nobody logs in with a password here (every actor holds a token): a fast hasher spares ~1 s a user.
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        return _build()


def _build() -> World:
    w = World()
    for key, (name, kind, code) in ORGS.items():
        w.orgs[key] = core.create_organisation(actor=SYSTEM, name=name, kind=kind, uscc=code)
    for username, org, role in USERS:
        user = core.create_user(actor=SYSTEM, username=username, password=PASSWORD, org_id=w.orgs[org].pk,
                                roles=[role])
        w.users[username] = user
        w.tokens[username] = core.issue_token(user=user, name="isolation")
    today = business_date.today()
    w.ref.update(today=today, year=today.year, quarter_end=quarter_end(today))

    # Rights of enterprise A in the register, one per object that pledges a right.
    rights = {name: right_no(i) for i, name in enumerate((
        "reg", "wait", "corr", "decl", "free", "dd", "appr", "contr", "loan"), start=1)}
    for name, number in rights.items():
        events = [{"type": "invalidation_requested", "date": "2025-01-01"}] if name == "decl" else ()
        make_patent(number=number, events=events)
    make_patent(number="30100001", kind="trademark", registration_date="2020-05-01", filing_date=None,
                grant_date=None, annuity_paid_through=None)
    w.ref["rights"] = rights

    def patent(name):
        return [{"kind": "invention", "number": rights[name]}]

    # The registry: one application in each open state, a registered patent pledge and a trademark pledge.
    term_end = today + dt.timedelta(days=365)
    w.ref["app_wait"] = _file(w, "officer_a", None, application(patent("wait"), contract_no="A-WAIT",
                                                                confirmations={"pledgee": True}))["application_no"]
    foreign_pledgee = {**PLEDGEE, "domicile_in_china": False}
    corr = _file(w, "officer_a", "ent_a", application(patent("corr"), pledgees=[foreign_pledgee], contract_no="A-CORR"))
    assert corr["status"] == "correction_required", corr
    decl = _file(w, "officer_a", "ent_a", application(patent("decl"), contract_no="A-DECL"))
    assert decl["status"] == "awaiting_declaration", decl
    reg = _file(w, "officer_a", "ent_a", application(patent("reg"), contract_no="A-REG"))
    tm = _file(w, "officer_a", "ent_a", application([{"kind": "trademark", "number": "30100001"}], contract_no="A-TM",
                                                    registration_term_end=term_end.isoformat()))
    assert reg["registration_no"] and tm["registration_no"], (reg, tm)
    w.ref.update(app_corr=corr["application_no"], app_decl=decl["application_no"], reg=reg["registration_no"],
                 tm_reg=tm["registration_no"], tm_term_end=term_end)
    w.ref["objection"] = _ok(w.client("ent_a").post(f"/pledges/{w.reg}/objections", {"statement": "合同争议"}),
                             "objection")["id"]
    w.ref["proposal"] = _ok(w.client("registrar_ip").post("/registry/proposals", {
        "application_no": w.app_decl, "action": "refuse", "code": "other", "reason": "材料不实"}), "propose")["id"]
    with override_settings(WEBHOOK_ALLOW_HOSTS="127.0.0.1"):
        w.ref["webhook"] = _ok(w.client("officer_a").post("/webhooks", {"url": WEBHOOK_A}), "webhook")["id"]
    core.issue_token(user=w.users["officer_a"], name="spare")
    w.ref["spare_token"] = ApiToken.objects.filter(user=w.users["officer_a"], name="spare").get().pk

    # Valuations: bank A's internal and negotiated ones, agency A's external one, enterprise A's score.
    officer = w.client("officer_a")
    income = {"method": "income", "inputs": {"income": ["300000", "300000", "300000"], "discount_rate": "0.1"}}
    internal = _ok(officer.post("/valuations", {"rights": patent("reg"), **income}), "internal valuation")
    w.ref.update(val_int=internal["valuation_no"], val_int_max_loan=internal["max_loan"])
    w.ref["val_neg"] = _ok(officer.post("/valuations", {
        "rights": patent("reg"), "basis": "negotiated", "market_value": "800000",
        "agreement_rule": "双方按收益法协商"}), "negotiated valuation")["valuation_no"]
    for key, org in (("agency_a", "agency_a"), ("agency_b", "agency_b")):
        w.ref[key] = _ok(w.client("admin").post("/appraisal-agencies", {
            "name": ORGS[org][0], "licence_no": f"L-{key}", "qualification": "资产评估资格",
            "organisation_id": w.orgs[org].pk}), "admit agency")["id"]
    w.ref["val_ext"] = _ok(w.client("appraiser_a").post("/valuations", {
        "rights": patent("free"), "basis": "external", "market_value": "600000", "agency_id": w.agency_a,
        "report_no": "甲评报字2026第1号", "appraisers": ["张评估"]}), "external valuation")["valuation_no"]
    w.ref["val_ext_value"] = "600000.00"
    _ok(w.client("ent_a").post("/enterprise-scores", {"enterprise_id": w.orgs["ent_a"].pk, "scheme": "composite",
                                                      "inputs": {}}), "score")

    # Credit: products of both banks, enterprise A's need, bank A's cases at each stage, loans, plans.
    product = {"eligible_kinds": ["patent", "trademark"], "min_amount": "100000", "max_amount": "10000000",
               "min_term_months": 6, "max_term_months": 36, "spreads_bp": {"A": 50, "B": 80}}
    w.ref["product_a"] = _ok(w.client("approver_a").post("/products", {"name": "甲行知识产权贷", **product}),
                             "product a")["id"]
    w.ref["product_b"] = _ok(w.client("approver_b").post("/products", {"name": "乙行知识产权贷", **product}),
                             "product b")["id"]
    w.ref["need_a"] = _ok(w.client("ent_a").post("/financing-needs", {
        "amount": "1000000", "term_months": 12, "purpose": "研发", "rights": patent("free")}), "need")["id"]
    w.ref["case_dd"] = _case(w, rights["dd"], until="due_diligence")
    upload = SimpleUploadedFile("extract.pdf", EVIDENCE_PDF, content_type="application/pdf")
    evidence = Client().post(f"/api/v1/credit-cases/{w.case_dd}/evidence", {"key": "ownership", "file": upload},
                             headers={"Authorization": f"Bearer {w.tokens['officer_a']}"})
    assert evidence.status_code == 201, evidence.content
    w.ref["evidence"] = evidence.json()["file"]
    w.ref["case_review"] = _case(w, rights["dd"], until="review")
    w.ref["case_appr"] = _case(w, rights["appr"], until="approval")
    # A valuation of the case's right that bank A's staff attach to the case (the approval then passes).
    w.ref["val_dd"] = _valuation(w, rights["dd"])
    _ok(officer.put(f"/credit-cases/{w.case_appr}/valuation", {"valuation_no": _valuation(w, rights["appr"])}),
        "attach valuation")
    w.ref["case_contr"] = _case(w, rights["contr"], until="contracted")
    case_loan = _case(w, rights["loan"], until="disbursed")
    loan = _ok(officer.get(f"/credit-cases/{case_loan}"), "case")["loan_no"]
    w.ref.update(case_loan=case_loan, loan=loan,
                 loan_maturity=dt.date.fromisoformat(_ok(officer.get(f"/loans/{loan}"), "loan")["maturity_date"]))
    loss = _ok(officer.post("/loans", {
        "borrower_uscc": PLEDGOR_USCC, "bank_org_id": w.orgs["bank_a"].pk, "amount": "200000",
        "annual_rate": "0.04", "start_date": today.isoformat(),
        "maturity_date": (today + dt.timedelta(days=365)).isoformat(), "ip_kind": "patent"}), "loan")["loan_no"]
    _ok(w.client("reviewer_a").post(f"/loans/{loss}/classification", {"category": "loss", "reason": "企业停产"}),
        "classify")
    w.ref["loan_loss"] = loss
    w.ref["exemption"] = _ok(officer.post(f"/loans/{loss}/exemption-requests", {"statement": "已尽职"}),
                             "exemption")["id"]
    approver = w.client("approver_a")
    _ok(approver.post("/credit-plans", {"bank_org_id": w.orgs["bank_a"].pk, "year": today.year, "households": 20,
                                        "amount": "50000000"}), "plan")
    _ok(approver.post("/park-credit-lines", {"bank_org_id": w.orgs["bank_a"].pk, "park_name": PARK_A,
                                             "limit": "30000000", "start_date": today.isoformat(),
                                             "end_date": (today + dt.timedelta(days=365)).isoformat()}), "line")
    _ok(officer.post("/reports/bank-overall", {"bank_org_id": w.orgs["bank_a"].pk,
                                               "period_end": w.quarter_end.isoformat(),
                                               "total_loan_balance": "900000000", "npl_balance": "9000000"}),
        "overall")
    # Guarantee insurance: the insurer's product and its policy on bank A's loan, accepted by bank A.
    insurer = w.client("insurer")
    w.ref["ins_product"] = _ok(insurer.post("/risk-sharing/insurance-products", {
        "name": "丙保险知识产权质押贷款保证保险", "policy_type": "loan_guarantee", "premium_rate": "0.02",
        "coverage_ratio": "0.6"}), "insurance product")["id"]
    policy = _ok(insurer.post("/risk-sharing/policies", {"product_id": w.ins_product, "loan_no": w.loan,
                                                         "borrower_uscc": PLEDGOR_USCC}), "policy")
    _ok(officer.post(f"/risk-sharing/policies/{policy['id']}/acceptance", {}), "accept policy")
    w.ref.update(policy=policy["id"], policy_no=policy["policy_no"])
    return w
