"""The isolation matrix (issue 9, point 8): for every route that reads or writes an organisation's
object, against real objects of organisation A in a world with two organisations of each kind
(tests/isolation_world.py):

* the owner (A's user in the role the action needs) gets 2xx;
* the same role in organisation B gets 403 or 404 — never 2xx, and never the object's data;
* the regulator reads (GET 200) and does not write (403/404);
* anonymous gets 401.

The world is built once per module inside a transaction; each test runs in a savepoint rolled back
after it, so a write by one actor never changes what the next one meets.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client

from .isolation_world import ENT_B, EVIDENCE_PDF, ORGS, PARK_A, WEBHOOK_A, World, build, right_no
from .registry_fixtures import PLEDGEE, PLEDGOR, PLEDGOR_USCC, application

EVIDENCE = object()  # the body of the evidence upload: multipart, not JSON
OBJECT, LIST, PUBLIC = "object", "list", "public"


@dataclass(frozen=True)
class Row:
    """One route against one object of organisation A.

    ``kind``: OBJECT — outsiders are refused (``refused``); LIST — outsiders get the list without A's
    object (``marker``: strings of A's objects, the first must be in an allowed reader's list); PUBLIC — a
    public record that outsiders read without its private parts (``private(record)``: the parts shown).  ``regulator``: "read"
    (200), "write" or "deny" (403/404), "skip" (not asserted here).  ``body``: a dict, ``EVIDENCE`` or ``body(world, actor)``."""

    name: str
    method: str
    template: str
    path: str
    allowed: tuple[str, ...]
    others: tuple[str, ...]
    body: object = None
    kind: str = OBJECT
    regulator: str = ""
    refused: frozenset[int] = frozenset({403, 404})
    marker: Callable[[World], tuple[str, ...]] | None = None
    private: Callable[[dict], list] | None = None
    leaks: Callable[[World], tuple[str, ...]] | None = None
    page: bool = False  # a page (session login), not an API route

    @property
    def regulator_mode(self) -> str:
        return self.regulator or ("read" if self.method == "get" else "write")


def get(name, template, path, allowed, others, **kw) -> Row:
    return Row(name, "get", f"/api/v1{template}", path, allowed, others, **kw)


def post(name, template, path, allowed, others, body=None, **kw) -> Row:
    return Row(name, "post", f"/api/v1{template}", path, allowed, others, {} if body is None else body, **kw)


def put(name, template, path, allowed, others, body=None, **kw) -> Row:
    return Row(name, "put", f"/api/v1{template}", path, allowed, others, {} if body is None else body, **kw)


def page(name, path, allowed, others, **kw) -> Row:
    return Row(name, "get", path.split("?")[0], path, allowed, others, page=True, **kw)


def _days(day: dt.date, n: int) -> str:
    return (day + dt.timedelta(days=n)).isoformat()


def _own_bank(w: World, actor: str | None) -> int:
    """The bank an actor lends for (bank B's staff name bank B; everyone else bank A)."""
    return w.orgs["bank_b" if actor and actor.endswith("_b") else "bank_a"].pk


def _patent(w: World, name: str) -> list[dict]:
    return [{"kind": "invention", "number": w.rights[name]}]


APP = "/pledge-applications/{application_no}"
PLEDGE = "/pledges/{registration_no}"
VALUATION = "/valuations/{valuation_no}"
LOAN = "/loans/{loan_no}"
CASE = "/credit-cases/{case_no}"
STATISTICS = "/reports/ip-pledge-loans"
BANK_A_STATS = "?period={year}&bank_org_id={bank_a}"
PRODUCT = {"eligible_kinds": ["patent"], "min_amount": "100000", "max_amount": "5000000"}


def _change(w: World, actor: str | None) -> dict:
    """Each party changes its own side's address; a registrar, from the paper both signed, the scope."""
    if actor and actor.startswith("registrar"):
        return {"guarantee_scope": "主债权及利息"}
    if actor and actor.startswith("ent"):
        return {"pledgors": [{**PLEDGOR, "address": "深圳市南山区新址"}]}
    return {"pledgees": [{**PLEDGEE, "address": "北京市西城区新址"}]}


def _contract_data(record: dict) -> list:
    return [v["data"] for v in record["versions"] if v["data"]]


ROWS: list[Row] = [
    # --- platform ---------------------------------------------------------------------------------
    get("organisation", "/orgs/{org_id}", "/orgs/{bank_a}", ("officer_a",), ("officer_b", "ent_b", "insurer")),
    get("tokens-of-a-user", "/auth/tokens", "/auth/tokens?user_id={user_officer_a}", ("officer_a",),
        ("officer_b", "ent_a"), regulator="deny"),
    Row("token-revocation", "delete", "/api/v1/auth/tokens/{token_id}", "/auth/tokens/{spare_token}", ("officer_a",),
        ("officer_b", "ent_a")),
    # --- pledge applications ----------------------------------------------------------------------
    get("application", APP, "/pledge-applications/{app_wait}", ("officer_a", "ent_a", "registrar_ip"),
        ("officer_b", "ent_b", "registrar_cr", "insurer", "appraiser_a")),
    post("application-filing", "/pledge-applications", "/pledge-applications", ("officer_a", "ent_a"),
         ("officer_b", "ent_b", "registrar_cr"),
         lambda w, a: application(_patent(w, "free"), contract_no="A-NEW", confirmations={"pledgee": True,
                                                                                           "pledgor": True})),
    post("application-confirmation", f"{APP}/confirmation", "/pledge-applications/{app_wait}/confirmation",
         ("ent_a",), ("ent_b", "officer_b"), {"side": "pledgor"}),
    post("application-declaration", f"{APP}/declarations", "/pledge-applications/{app_decl}/declarations",
         ("officer_a", "ent_a", "registrar_ip"), ("officer_b", "ent_b", "registrar_cr"), {"continue": True}),
    post("application-correction", f"{APP}/corrections", "/pledge-applications/{app_corr}/corrections",
         ("officer_a", "ent_a", "registrar_ip"), ("officer_b", "ent_b", "registrar_cr"),
         {"agent": {"name": "示范知识产权代理有限公司"}}),
    post("application-withdrawal", f"{APP}/withdraw", "/pledge-applications/{app_wait}/withdraw",
         ("officer_a", "ent_a", "registrar_ip"), ("officer_b", "ent_b", "registrar_cr")),
    # --- registered pledges -----------------------------------------------------------------------
    # The register is public: outsiders read the public record, not the versions' contract data.
    get("pledge", PLEDGE, "/pledges/{reg}", ("officer_a", "ent_a", "registrar_ip"),
        ("officer_b", "ent_b", "registrar_cr", "insurer"), kind=PUBLIC, private=_contract_data),
    post("pledge-change", f"{PLEDGE}/changes", "/pledges/{reg}/changes", ("officer_a", "ent_a", "registrar_ip"),
         ("officer_b", "ent_b", "registrar_cr"), _change),
    # Extending and cancelling are the pledgee's (which of the parties may is the registry's own test).
    post("pledge-extension", f"{PLEDGE}/extensions", "/pledges/{tm_reg}/extensions", ("officer_a", "registrar_ip"),
         ("officer_b", "ent_b", "registrar_cr"),
         lambda w, a: {"registration_term_end": _days(w.tm_term_end, 365), "guarantee_letter": "GL-1"}),
    post("pledge-cancellation", f"{PLEDGE}/cancellation", "/pledges/{reg}/cancellation", ("officer_a", "registrar_ip"),
         ("officer_b", "ent_b", "registrar_cr"), {"reason": "repaid"}),
    post("pledge-revocation", f"{PLEDGE}/revocation", "/pledges/{reg}/revocation", ("registrar_ip",),
         ("registrar_cr", "officer_b"), {"reason": "材料伪造"}),
    post("objection", f"{PLEDGE}/objections", "/pledges/{reg}/objections", ("ent_a", "officer_a"),
         ("officer_b", "ent_b", "insurer"), {"statement": "质押合同存在争议"}),
    post("objection-case-notice", f"{PLEDGE}/objections/{{objection_id}}/case-notice",
         "/pledges/{reg}/objections/{objection}/case-notice", ("ent_a",), ("officer_b", "ent_b"),
         {"case_notice_ref": "(2026)粤03民初1号"}),
    # --- registrars act for their own office ------------------------------------------------------
    post("proposal", "/registry/proposals", "/registry/proposals", ("registrar_ip",), ("registrar_cr",),
         lambda w, a: {"application_no": w.app_corr, "action": "refuse", "code": "other", "reason": "材料不实"}),
    post("proposal-decision", "/registry/proposals/{proposal_id}/decision", "/registry/proposals/{proposal}/decision",
         ("checker_ip",), ("registrar_cr",), {"accept": True}),
    get("registrar-queue", "/registry/queue", "/registry/queue", ("registrar_ip",), ("registrar_cr",), kind=LIST,
        marker=lambda w: (w.app_corr,), regulator="deny"),
    post("right-record", "/ip-rights", "/ip-rights", ("registrar_ip",), ("registrar_cr",),
         {"kind": "invention", "number": right_no(90), "owners": [ENT_B], "filing_date": "2021-01-04"}),
    post("right-event", "/ip-rights/{kind}/{number}/events", "/ip-rights/invention/{right_free}/events",
         ("registrar_ip",), ("registrar_cr",), {"type": "licensed", "date": "2025-06-01"}),
    # --- notifications and webhooks ---------------------------------------------------------------
    get("notifications", "/notifications", "/notifications", ("ent_a",), ("ent_b", "officer_b"), kind=LIST,
        marker=lambda w: (w.app_wait,)),
    get("webhooks", "/webhooks", "/webhooks", ("officer_a",), ("officer_b", "ent_a"), kind=LIST,
        marker=lambda w: (WEBHOOK_A,)),
    # --- valuations and innovation scores ---------------------------------------------------------
    get("valuation", VALUATION, "/valuations/{val_int}", ("officer_a", "ent_a"),
        ("officer_b", "ent_b", "appraiser_b", "insurer")),
    get("valuation-by-an-agency", VALUATION, "/valuations/{val_ext}", ("appraiser_a", "ent_a"),
        ("appraiser_b", "officer_b")),
    get("valuations", "/valuations", "/valuations", ("officer_a",), ("officer_b", "ent_b", "appraiser_b"), kind=LIST,
        marker=lambda w: (w.val_int, w.val_neg, w.val_ext)),
    post("valuation-signoff", f"{VALUATION}/signoff", "/valuations/{val_neg}/signoff", ("officer_a", "ent_a"),
         ("officer_b", "ent_b", "appraiser_b")),
    # The record is the valuing bank's: the rights' owner reads it but does not supersede it.
    post("revaluation", f"{VALUATION}/revaluations", "/valuations/{val_int}/revaluations", ("officer_a",),
         ("officer_b", "ent_b", "ent_a")),
    post("valuation-in-an-agencys-name", "/valuations", "/valuations", ("appraiser_a",), ("appraiser_b",),
         lambda w, a: {"rights": _patent(w, "free"), "basis": "external", "market_value": "500000",
                       "agency_id": w.agency_a, "report_no": "甲评报字2026第2号", "appraisers": ["张评估"]},
         refused=frozenset({403, 404, 422})),
    post("score-recording", "/enterprise-scores", "/enterprise-scores", ("ent_a", "officer_a"), ("ent_b", "insurer"),
         lambda w, a: {"enterprise_id": w.orgs["ent_a"].pk, "scheme": "composite", "inputs": {}}),
    # Banks and appraisers read every enterprise's scores (they assess prospective borrowers).
    get("scores", "/enterprise-scores", "/enterprise-scores?enterprise_id={ent_a}",
        ("ent_a", "officer_a", "appraiser_b"), ("ent_b", "insurer", "fund")),
    # --- products, needs and matching -------------------------------------------------------------
    post("product-for-a-bank", "/products", "/products", ("approver_a",), ("approver_b",),
         lambda w, a: {"name": "甲行新产品", "bank_org_id": w.orgs["bank_a"].pk, **PRODUCT}),
    # Matching ranks enterprise A's need for banks, on the value of the rights it offers (agency A's
    # valuation): another enterprise or an insurer does not learn that value from a ranking.
    get("product-matches", "/products/{product_id}/matches", "/products/{product_a}/matches", ("officer_a",),
        ("ent_b", "insurer"), kind=LIST, marker=lambda w: (w.val_ext_value,)),
    get("need-matches", "/financing-needs/{need_id}/matches", "/financing-needs/{need_a}/matches",
        ("ent_a", "officer_a"), ("ent_b", "insurer"), kind=LIST, marker=lambda w: (w.val_ext_value,)),
    # --- credit cases ------------------------------------------------------------------------------
    get("case", CASE, "/credit-cases/{case_dd}", ("officer_a", "reviewer_a", "approver_a", "ent_a"),
        ("officer_b", "ent_b", "insurer")),
    get("cases", "/credit-cases", "/credit-cases", ("officer_a", "ent_a"), ("officer_b", "ent_b"), kind=LIST,
        marker=lambda w: (w.case_dd, w.case_review, w.case_appr, w.case_contr, w.case_loan)),
    post("case-opening", "/credit-cases", "/credit-cases", ("officer_a", "ent_a"), ("officer_b", "ent_b"),
         lambda w, a: {"product_id": w.product_a, "enterprise_id": w.orgs["ent_a"].pk, "amount": "500000",
                       "term_months": 12, "rights": _patent(w, "free")}),
    # Bank B's own product, on bank A's valuation: neither the case nor the valuation's figures.
    post("case-on-anothers-valuation", "/credit-cases", "/credit-cases", ("officer_a",), ("officer_b",),
         lambda w, a: {"product_id": w.product_b if a == "officer_b" else w.product_a,
                       "enterprise_id": w.orgs["ent_a"].pk, "amount": "100000", "term_months": 12,
                       "rights": _patent(w, "reg"), "valuation_no": w.val_int},
         refused=frozenset({403, 404, 422})),
    # ... and a case above that valuation's maximum loan is not told the maximum.
    post("case-above-anothers-valuation", "/credit-cases", "/credit-cases", (), ("officer_b",),
         lambda w, a: {"product_id": w.product_b, "enterprise_id": w.orgs["ent_a"].pk, "amount": "5000000",
                       "term_months": 12, "rights": _patent(w, "reg"), "valuation_no": w.val_int},
         refused=frozenset({403, 404, 422})),
    post("case-due-diligence", f"{CASE}/due-diligence", "/credit-cases/{case_dd}/due-diligence", ("officer_a",),
         ("officer_b",), {"key": "ownership", "result": "ok"}),
    post("case-evidence", f"{CASE}/evidence", "/credit-cases/{case_dd}/evidence", ("officer_a",), ("officer_b",),
         EVIDENCE),
    post("case-submission", f"{CASE}/submit", "/credit-cases/{case_dd}/submit", ("officer_a",), ("officer_b",),
         {"risk_grade": "B"}),
    post("case-review", f"{CASE}/review", "/credit-cases/{case_review}/review", ("reviewer_a",), ("reviewer_b",),
         {"decision": "pass"}),
    put("case-valuation", f"{CASE}/valuation", "/credit-cases/{case_dd}/valuation",
        ("officer_a", "reviewer_a", "approver_a"), ("officer_b", "approver_b", "ent_a", "appraiser_a"),
        lambda w, a: {"valuation_no": w.val_dd}),
    post("case-approval", f"{CASE}/approval", "/credit-cases/{case_appr}/approval", ("approver_a",), ("approver_b",),
         {"decision": "approve"}),
    post("case-disbursement", f"{CASE}/disbursement", "/credit-cases/{case_contr}/disbursement",
         ("officer_a", "approver_a"), ("officer_b", "approver_b")),
    # --- loans -------------------------------------------------------------------------------------
    post("loan-booking", "/loans", "/loans", ("officer_a",), ("officer_b",),
         lambda w, a: {"borrower_uscc": PLEDGOR_USCC, "bank_org_id": w.orgs["bank_a"].pk, "amount": "300000",
                       "annual_rate": "0.04", "start_date": w.today.isoformat(),
                       "maturity_date": _days(w.today, 365), "ip_kind": "patent"}),
    post("loan-on-anothers-pledge", "/loans", "/loans", ("officer_a",), ("officer_b",),
         lambda w, a: {"borrower_uscc": PLEDGOR_USCC, "bank_org_id": _own_bank(w, a), "amount": "300000",
                       "annual_rate": "0.04", "start_date": w.today.isoformat(),
                       "maturity_date": _days(w.today, 365), "ip_kind": "patent",
                       "pledge_registration_no": w.reg},
         refused=frozenset({403, 404, 422})),
    get("loan", LOAN, "/loans/{loan}", ("officer_a", "reviewer_a", "ent_a"), ("officer_b", "ent_b", "insurer", "fund")),
    post("loan-repayment", f"{LOAN}/repayments", "/loans/{loan}/repayments", ("officer_a",),
         ("officer_b", "ent_a", "ent_b"), lambda w, a: {"date": w.today.isoformat(), "principal": "1000"}),
    post("loan-prepayment", f"{LOAN}/prepayment", "/loans/{loan}/prepayment", ("officer_a",), ("officer_b", "ent_a"),
         lambda w, a: {"date": w.today.isoformat(), "principal": "1000"}),
    post("loan-extension", f"{LOAN}/extension", "/loans/{loan}/extension", ("reviewer_a",), ("reviewer_b", "ent_a"),
         lambda w, a: {"maturity_date": _days(w.loan_maturity, 180)}),
    post("loan-restructuring", f"{LOAN}/restructure", "/loans/{loan}/restructure", ("reviewer_a",), ("reviewer_b",),
         {"kind": "利率调整"}),
    post("loan-classification", f"{LOAN}/classification", "/loans/{loan}/classification", ("reviewer_a",),
         ("reviewer_b",), {"category": "substandard", "reason": "经营恶化"}),
    post("exemption-request", f"{LOAN}/exemption-requests", "/loans/{loan_loss}/exemption-requests", ("officer_a",),
         ("officer_b",), {"statement": "已尽职"}),
    post("exemption-decision", "/exemption-requests/{request_id}/decision", "/exemption-requests/{exemption}/decision",
         ("reviewer_a",), ("reviewer_b",), {"grant": True, "reason": "尽职无误"}),
    # --- plans, park lines, investments ------------------------------------------------------------
    get("credit-plan", "/credit-plans/{bank_org_id}/{year}", "/credit-plans/{bank_a}/{year}",
        ("officer_a", "approver_a"), ("officer_b", "ent_a", "insurer")),
    post("credit-plan-setting", "/credit-plans", "/credit-plans", ("approver_a",), ("approver_b",),
         lambda w, a: {"bank_org_id": w.orgs["bank_a"].pk, "year": w.year, "households": 30, "amount": "60000000"}),
    post("park-line-grant", "/park-credit-lines", "/park-credit-lines", ("approver_a",), ("approver_b",),
         lambda w, a: {"bank_org_id": w.orgs["bank_a"].pk, "park_name": "甲银行新园区", "limit": "1000000",
                       "start_date": w.today.isoformat(), "end_date": _days(w.today, 365)}),
    get("park-lines", "/park-credit-lines", "/park-credit-lines", ("officer_a",), ("officer_b", "ent_b"), kind=LIST,
        marker=lambda w: (PARK_A,)),
    post("investment", "/investments", "/investments", ("fund",), ("ent_b", "insurer"),
         lambda w, a: {"enterprise_id": w.orgs["ent_a"].pk, "fund_name": "科创投资基金", "amount": "1000000",
                       "date": w.today.isoformat()}),
    # --- statistics of one bank --------------------------------------------------------------------
    post("overall-figures", "/reports/bank-overall", "/reports/bank-overall", ("officer_a",), ("officer_b", "ent_a"),
         lambda w, a: {"bank_org_id": w.orgs["bank_a"].pk, "period_end": w.quarter_end.isoformat(),
                       "total_loan_balance": "100000000", "npl_balance": "1000000"}),
    get("npl-tolerance", "/reports/npl-tolerance", "/reports/npl-tolerance?bank_org_id={bank_a}&period_end={quarter_end}",
        ("officer_a",), ("officer_b", "ent_a", "insurer")),
    get("statistics-of-a-bank", STATISTICS, STATISTICS + BANK_A_STATS, ("officer_a",), ("officer_b", "ent_a")),
    get("loans-behind-a-banks-figures", f"{STATISTICS}/loans", f"{STATISTICS}/loans{BANK_A_STATS}", ("officer_a",),
        ("officer_b", "ent_a")),
    get("workbook-of-a-bank", f"{STATISTICS}.xlsx", f"{STATISTICS}.xlsx{BANK_A_STATS}", ("officer_a",),
        ("officer_b", "ent_a")),
    get("csv-of-a-bank", f"{STATISTICS}.csv", f"{STATISTICS}.csv{BANK_A_STATS}", ("officer_a",), ("officer_b", "ent_a")),
    # National figures: another bank sees aggregates, never bank A's row or loans.
    get("national-statistics-by-bank", STATISTICS, STATISTICS + "?period={year}&group_by=bank", (), ("officer_b",),
        kind=LIST, marker=lambda w: (PLEDGEE["name"],)),
    get("national-loans-behind", f"{STATISTICS}/loans", f"{STATISTICS}/loans?period={{year}}", ("officer_a",),
        ("officer_b",), kind=LIST, marker=lambda w: (w.loan,)),
    get("national-workbook", f"{STATISTICS}.xlsx", f"{STATISTICS}.xlsx?period={{year}}", (), ("officer_b",),
        kind=LIST, marker=lambda w: (PLEDGEE["name"],)),
    get("national-csv-by-bank", f"{STATISTICS}.csv", f"{STATISTICS}.csv?period={{year}}&group_by=bank", (),
        ("officer_b",), kind=LIST, marker=lambda w: (PLEDGEE["name"],)),
    # A typical case is the regulator's own write.
    # Borrower reviews are the lending bank's: the borrower itself does not read them.
    get("loan-reviews", f"{LOAN}/reviews", "/loans/{loan}/reviews", ("officer_a",), ("officer_b", "ent_a", "ent_b")),
    post("loan-review", f"{LOAN}/reviews", "/loans/{loan}/reviews", ("officer_a",), ("officer_b", "ent_a"),
         {"revenue": "1000000", "profit": "-1", "liabilities": "0", "staff": 3, "conclusion": "watch"}),
    post("case-study", "/case-studies", "/case-studies", ("regulator",), ("officer_b",),
         lambda w, a: {"loan_no": w.loan, "title": "知识产权质押典型案例", "body": "首贷", "consent": True}),
]

# Pages obey the scope of the API.
ROWS += [
    page("case-page", "/credit/cases/{case_dd}/", ("officer_a", "ent_a"), ("officer_b", "ent_b", "insurer")),
    # Evidence is the lending bank's file (whether the borrower or the regulator reads it is the credit tests').
    page("evidence-file", "/credit/cases/{case_dd}/evidence/{evidence}", ("officer_a",), ("officer_b", "ent_b"),
         regulator="skip", marker=lambda w: (EVIDENCE_PDF.decode(),)),
    page("loan-page", "/credit/loans/{loan}/", ("officer_a", "ent_a"), ("officer_b", "ent_b")),
    page("loan-reviews-page", "/monitoring/reviews/{loan}/", ("officer_a",), ("officer_b", "ent_a", "ent_b")),
    page("application-page", "/registry/applications/{app_wait}/", ("officer_a", "ent_a", "registrar_ip"),
         ("officer_b", "ent_b", "registrar_cr")),
    page("review-page", "/registry/queue/{app_corr}/", ("registrar_ip",), ("registrar_cr", "officer_b"),
         regulator="deny"),
    page("valuation-page", "/valuation/records/{val_int}/", ("officer_a", "ent_a"), ("officer_b", "ent_b", "appraiser_b")),
    page("scores-page", "/valuation/enterprises/{ent_a}/", ("ent_a", "officer_a"), ("ent_b", "insurer")),
    page("workbench-page", "/credit/", ("officer_a",), ("officer_b", "ent_b"), kind=LIST,
         marker=lambda w: (w.case_dd, w.loan)),
    page("cases-page", "/credit/cases/", ("officer_a", "ent_a"), ("officer_b", "ent_b"), kind=LIST,
         marker=lambda w: (w.case_dd,)),
    page("loan-book-page", "/credit/loans/", ("officer_a", "ent_a"), ("officer_b", "ent_b"), kind=LIST,
         marker=lambda w: (w.loan,)),
    page("applications-page", "/registry/applications/", ("officer_a", "ent_a"), ("officer_b", "ent_b"), kind=LIST,
         marker=lambda w: (w.app_wait, w.app_corr)),
    page("queue-page", "/registry/queue/", ("registrar_ip",), ("registrar_cr",), kind=LIST,
         marker=lambda w: (w.app_corr,), regulator="deny"),
    page("valuations-page", "/valuation/records/", ("officer_a",), ("officer_b", "ent_b"), kind=LIST,
         marker=lambda w: (w.val_int, w.val_neg)),
    page("notifications-page", "/registry/notifications/", ("ent_a",), ("ent_b",), kind=LIST,
         marker=lambda w: (w.app_wait,)),
    page("loans-behind-page", "/reports/loans/?period={year}", ("officer_a",), ("officer_b",), kind=LIST,
         marker=lambda w: (w.loan,)),
    page("dashboard-page", "/reports/?period={year}", (), ("officer_b",), kind=LIST,
         marker=lambda w: (PLEDGEE["name"],)),
    # Guarantee insurance (issue 13.3): the insurer's product and policy; bank A reads the policy on its loan.
    get("insurance-product", "/risk-sharing/insurance-products/{product_id}",
        "/risk-sharing/insurance-products/{ins_product}", ("insurer",), ("officer_b", "ent_b", "fund")),
    get("insurance-products", "/risk-sharing/insurance-products", "/risk-sharing/insurance-products", ("insurer",),
        ("officer_b", "ent_b", "fund"), kind=LIST, marker=lambda w: ("丙保险知识产权质押贷款保证保险",)),
    get("insurance-policy", "/risk-sharing/policies/{policy_id}", "/risk-sharing/policies/{policy}",
        ("insurer", "officer_a"), ("officer_b", "ent_b", "fund")),
    get("insurance-policies", "/risk-sharing/policies", "/risk-sharing/policies", ("insurer", "officer_a"),
        ("officer_b", "ent_b", "fund"), kind=LIST, marker=lambda w: (w.policy_no,)),
    post("policy-acceptance", "/risk-sharing/policies/{policy_id}/acceptance", "/risk-sharing/policies/{policy}/acceptance",
         (), ("officer_b", "approver_b", "insurer", "ent_b")),
    post("premium-payment", "/risk-sharing/policies/{policy_id}/premium-payments",
         "/risk-sharing/policies/{policy}/premium-payments", ("insurer",), ("officer_b", "officer_a", "ent_b", "fund")),
    post("policy-cancellation", "/risk-sharing/policies/{policy_id}/cancellation",
         "/risk-sharing/policies/{policy}/cancellation", ("insurer",), ("officer_b", "officer_a", "ent_b", "fund"),
         {"reason": "投保人未缴保费"}),
    page("insurance-policy-page", "/risk-sharing/insurance/policies/{policy}/", ("insurer", "officer_a"),
         ("officer_b", "ent_b", "fund")),
    page("insurance-policies-page", "/risk-sharing/insurance/policies/", ("insurer", "officer_a"),
         ("officer_b", "ent_b"), kind=LIST, marker=lambda w: (w.policy_no,)),
]

# SCOPED routes of the permission matrix with nothing of another organisation to isolate.
NOT_ISOLATED = {
    ("post", "/api/v1/webhooks"): "registers a webhook for the caller's own organisation; names no other",
}


def _refs(w: World) -> dict:
    refs = {k: v for k, v in w.ref.items() if not isinstance(v, dict)}
    refs.update({k: org.pk for k, org in w.orgs.items()})
    refs.update({f"user_{name}": user.pk for name, user in w.users.items()})
    refs.update({f"right_{name}": number for name, number in w.rights.items()})
    return refs


def send(w: World, row: Row, actor: str | None):
    path = row.path.format(**_refs(w))
    if row.page:
        client = Client()
        if actor:
            client.force_login(w.users[actor])
        r = client.get(path)
        r.data = None
        return path, r
    api = w.client(actor)
    if row.body is EVIDENCE:
        upload = SimpleUploadedFile("extract.pdf", b"%PDF-1.4 register extract", content_type="application/pdf")
        r = Client().post(f"/api/v1{path}", {"key": "ownership", "file": upload}, headers=api._headers(None))
        r.data = r.json() if r.headers.get("Content-Type", "").startswith("application/json") else None
        return path, r
    body = row.body(w, actor) if callable(row.body) else row.body
    return path, api.call(row.method, path, body)


def _text(r) -> str:
    """What a response shows: its text, or for a workbook the text of every sheet."""
    if r.headers.get("Content-Type", "").startswith("application/vnd.openxmlformats"):
        with zipfile.ZipFile(io.BytesIO(r.content)) as book:
            return "".join(book.read(n).decode() for n in book.namelist() if n.endswith(".xml"))
    if r.data is not None:
        return json.dumps(r.data, ensure_ascii=False)
    content = b"".join(r.streaming_content) if r.streaming else r.content
    return content.decode(errors="replace")


def _leaks(w: World, row: Row) -> tuple[str, ...]:
    """What an outsider's refusal must never show: A's objects' figures, identities and files."""
    return (w.val_int_max_loan, PLEDGOR_USCC, EVIDENCE_PDF.decode(), *(row.leaks(w) if row.leaks else ()))


ACTORS = {row.name: (*row.allowed, *row.others, None,
                     *(() if "regulator" in row.allowed or row.regulator == "skip" else ("regulator",)))
          for row in ROWS}
CASES = [pytest.param(row, actor, id=f"{row.name}-{actor or 'anonymous'}") for row in ROWS for actor in ACTORS[row.name]]


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """One world for the module, in a transaction rolled back at the end (each test adds a savepoint)."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build()
        transaction.set_rollback(True)


@pytest.mark.parametrize(("row", "actor"), CASES)
def test_isolation(world, db, row, actor):
    path, r = send(world, row, actor)
    text = _text(r)
    seen = f"{row.method.upper()} {path} as {actor or 'anonymous'} → {r.status_code}: {text[:300]}"
    if actor is None and row.page:
        assert r.status_code == 302 and r["Location"].startswith("/login/"), seen
    elif actor is None:
        assert r.status_code == 401, seen
    elif actor in row.allowed:
        assert 200 <= r.status_code < 300, seen
        if row.marker:
            assert row.marker(world)[0] in text, f"A's object missing: {seen}"
        if row.kind == PUBLIC:
            assert row.private(r.data), f"a party reads its whole record: {seen}"
    elif actor == "regulator" and row.regulator_mode == "read":
        assert r.status_code == 200, f"the regulator reads: {seen}"
        if row.kind == LIST:
            assert row.marker(world)[0] in text, f"the regulator reads every organisation's: {seen}"
    elif actor == "regulator":
        assert r.status_code in {403, 404}, f"the regulator does not write bank or registry records: {seen}"
    elif row.kind == LIST:
        assert r.status_code in {200, 403, 404}, seen
        shown = [m for m in row.marker(world) if m in text]
        assert not shown, f"another organisation sees A's {shown}: {seen}"
    elif row.kind == PUBLIC:
        assert r.status_code == 200, seen
        assert not row.private(r.data), f"an outsider reads the private parts of the record: {seen}"
    else:
        assert r.status_code in row.refused, f"another organisation acts on A's object: {seen}"
    if actor not in row.allowed and r.status_code >= 400:
        shown = [s for s in _leaks(world, row) if s in text]
        assert not shown, f"a refusal shows A's {shown}: {seen}"


def test_every_scoped_route_has_an_isolation_row():
    from .test_permissions import ROUTES, SCOPED

    covered = {(row.method, row.template) for row in ROWS} | set(NOT_ISOLATED)
    scoped = {(method, template) for method, template, _path, _body, who in ROUTES if who == SCOPED}
    assert scoped - covered == set(), "add an isolation row (tests/test_isolation.py) for these SCOPED routes"


def test_every_isolation_row_names_a_real_route():
    from django.urls import Resolver404, resolve

    from ippledge.api import api

    paths = api.get_openapi_schema()["paths"]
    unknown = [(row.name, row.method, row.template) for row in ROWS
               if not row.page and row.method not in paths.get(row.template, {})]
    for row in (r for r in ROWS if r.page):
        try:
            resolve(re.sub(r"\{\w+\}", "1", row.template))
        except Resolver404:
            unknown.append((row.name, "page", row.template))
    assert unknown == []


def test_the_world_has_two_organisations_of_each_kind():
    kinds = [kind for _name, kind, _uscc in ORGS.values()]
    for kind in ("bank", "enterprise", "appraisal_agency"):
        assert kinds.count(kind) == 2, kind
    assert {"ip_office", "copyright_office", "regulator", "insurer", "risk_fund"} <= set(kinds)
