"""Permission matrix: every API route × every role (and anonymous).

Each route states who may use it; a route missing from the table fails the suite, so new routes
must declare their access rule here.
"""

from __future__ import annotations

import pytest

from ippledge.api import api
from ippledge.core.roles import ROLE_ORG_KINDS, Role

from .conftest import Api
from .registry_fixtures import application

pytestmark = pytest.mark.django_db

ANYONE = "anyone"          # anonymous included
LOGGED_IN = "logged_in"    # any authenticated user
ADMIN = {"admin"}
REGISTRAR = {"admin", "registrar"}
DENIED = {"not_authenticated", "permission_denied", "read_only"}  # read_only: a regulator asked to write
# Authenticated, then scoped to the rows (parties, own organisation): outsiders get 403/404 from the
# row rules, which tests/test_isolation.py proves per route against real objects of two organisations
# (a SCOPED route without an isolation row fails there).
SCOPED = "scoped"
FILERS = {"admin", "registrar", "bank_officer", "bank_reviewer", "bank_approver", "enterprise_user"}
APP = "/pledge-applications/ZY20260000001"
VALUERS = {"admin", "bank_officer", "bank_reviewer", "bank_approver", "appraiser", "enterprise_user"}
ROSTER = {"admin", "regulator_user"}
PLEDGE = "/pledges/Y202610000001"
BANKS = {"admin", "bank_officer", "bank_reviewer", "bank_approver"}
SELLERS = BANKS | {"exchange_user"}  # a case's bank runs its auction or tender; an exchange's users its listing
BIDDERS = {"bank_officer", "bank_reviewer", "bank_approver", "enterprise_user"}  # as a registered organisation

RIGHT = "invention/ZL201410362077.3"
# (method, path template as in OpenAPI, concrete path, body, who)
ROUTES = [
    ("post", "/api/v1/auth/token", "/auth/token", {"username": "nobody", "password": "x"}, ANYONE),
    ("get", "/api/v1/me", "/me", None, LOGGED_IN),
    ("get", "/api/v1/auth/tokens", "/auth/tokens", None, LOGGED_IN),
    ("delete", "/api/v1/auth/tokens/{token_id}", "/auth/tokens/999999", None, SCOPED),
    ("post", "/api/v1/orgs", "/orgs", {"name": "矩阵测试", "kind": "enterprise"}, ADMIN),
    ("get", "/api/v1/orgs", "/orgs", None, LOGGED_IN),
    ("get", "/api/v1/orgs/{org_id}", "/orgs/{own_org}", None, LOGGED_IN),
    ("post", "/api/v1/users", "/users", {"username": "m-{role}", "password": "Matrix-pass-1!", "org_id": "{ent_org}",
                                         "roles": ["enterprise_user"]}, ADMIN),
    ("get", "/api/v1/admin/business-date", "/admin/business-date", None, LOGGED_IN),
    ("put", "/api/v1/admin/business-date", "/admin/business-date", {"date": None}, ADMIN),
    ("post", "/api/v1/admin/eod", "/admin/eod", {}, ADMIN),
    ("get", "/api/v1/admin/eod", "/admin/eod", None, ADMIN),
    # A task is shown to whoever enqueued it (admins: all), 404 to anyone else: tests/test_tasks_api.py.
    ("get", "/api/v1/tasks/{task_id}", "/tasks/5f0c3b8e-0000-4000-8000-000000000000", None, LOGGED_IN),
    ("post", "/api/v1/ip-rights", "/ip-rights", {"kind": "invention", "number": "ZL202011472880.4", "owners": [
        {"name": "矩阵公司", "id_type": "uscc", "id_number": "914403001922038216"}], "filing_date": "2020-12-15"},
     REGISTRAR),
    ("get", "/api/v1/ip-rights", "/ip-rights?q=2014", None, LOGGED_IN),
    ("get", "/api/v1/ip-rights/{kind}/{number}", f"/ip-rights/{RIGHT}", None, LOGGED_IN),
    ("post", "/api/v1/ip-rights/{kind}/{number}/events", f"/ip-rights/{RIGHT}/events",
     {"type": "licensed", "date": "2020-01-01"}, REGISTRAR),
    ("get", "/api/v1/public/ip-rights/{kind}/{number}", f"/public/ip-rights/{RIGHT}", None, ANYONE),
    # A feed for the registrar's own office's rights (which kinds: tests/test_feeds_api.py); queued as a task.
    ("post", "/api/v1/legal-events/import", "/legal-events/import", {"note": "matrix"}, REGISTRAR),
    ("post", "/api/v1/pledge-applications", "/pledge-applications", application(), FILERS),
    ("get", "/api/v1/pledge-applications/{application_no}", APP, None, SCOPED),
    ("post", "/api/v1/pledge-applications/{application_no}/confirmation", f"{APP}/confirmation",
     {"side": "pledgor"}, SCOPED),
    ("post", "/api/v1/pledge-applications/{application_no}/declarations", f"{APP}/declarations",
     {"continue": True}, SCOPED),
    ("post", "/api/v1/pledge-applications/{application_no}/corrections", f"{APP}/corrections", {}, SCOPED),
    ("post", "/api/v1/pledge-applications/{application_no}/withdraw", f"{APP}/withdraw", {}, SCOPED),
    ("get", "/api/v1/pledges/{registration_no}", PLEDGE, None, SCOPED),
    ("post", "/api/v1/pledges/{registration_no}/changes", f"{PLEDGE}/changes", {}, SCOPED),
    ("post", "/api/v1/pledges/{registration_no}/extensions", f"{PLEDGE}/extensions",
     {"registration_term_end": "2030-01-01"}, SCOPED),
    ("post", "/api/v1/pledges/{registration_no}/cancellation", f"{PLEDGE}/cancellation", {"reason": "repaid"},
     SCOPED),
    ("post", "/api/v1/pledges/{registration_no}/revocation", f"{PLEDGE}/revocation", {"reason": "x"}, REGISTRAR),
    ("post", "/api/v1/pledges/{registration_no}/objections", f"{PLEDGE}/objections", {"statement": "x"}, SCOPED),
    ("post", "/api/v1/pledges/{registration_no}/objections/{objection_id}/case-notice",
     f"{PLEDGE}/objections/1/case-notice", {"case_notice_ref": "x"}, SCOPED),
    ("get", "/api/v1/registry/journal/verify", "/registry/journal/verify", None, REGISTRAR | {"regulator_user"}),
    ("get", "/api/v1/registry/queue", "/registry/queue", None, REGISTRAR),
    ("post", "/api/v1/registry/proposals", "/registry/proposals",
     {"application_no": "ZY20260000001", "action": "clear", "reason": "x"}, REGISTRAR),
    ("post", "/api/v1/registry/proposals/{proposal_id}/decision", "/registry/proposals/1/decision",
     {"accept": True}, REGISTRAR),
    ("get", "/api/v1/registry/stats/registration-time", "/registry/stats/registration-time", None, LOGGED_IN),
    ("get", "/api/v1/notifications", "/notifications", None, LOGGED_IN),
    ("post", "/api/v1/webhooks", "/webhooks", {"url": "http://127.0.0.1:9/hook"}, SCOPED),
    ("get", "/api/v1/webhooks", "/webhooks", None, LOGGED_IN),
    ("get", "/api/v1/public/pledges", "/public/pledges?right=2014103620773", None, ANYONE),
    ("get", "/api/v1/public/pledges/{registration_no}", "/public/pledges/Y202610000001", None, ANYONE),
    ("post", "/api/v1/public/search-certificates", "/public/search-certificates", {"right": "2014103620773"},
     ANYONE),
    ("get", "/api/v1/public/search-certificates/{certificate_no}", "/public/search-certificates/CX1?code=x", None,
     ANYONE),
    ("get", "/api/v1/public/registry/checkpoints", "/public/registry/checkpoints", None, ANYONE),
    ("post", "/api/v1/valuations/compute", "/valuations/compute", {"method": "income", "inputs": {
        "income": ["100"], "discount_rate": "0.1"}}, LOGGED_IN),
    ("post", "/api/v1/enterprise-scores/compute", "/enterprise-scores/compute", {"scheme": "composite", "inputs": {}},
     LOGGED_IN),
    ("post", "/api/v1/valuations", "/valuations", {"rights": [{"kind": "invention", "number": RIGHT.split("/")[1]}],
                                                   "method": "income", "inputs": {"income": ["100"],
                                                                                  "discount_rate": "0.1"}}, VALUERS),
    ("get", "/api/v1/valuations", "/valuations", None, LOGGED_IN),
    ("get", "/api/v1/ip-rights/{kind}/{number}/value-score", f"/ip-rights/{RIGHT}/value-score", None, LOGGED_IN),
    ("get", "/api/v1/valuations/{valuation_no}", "/valuations/VA20260000001", None, SCOPED),
    ("post", "/api/v1/valuations/{valuation_no}/signoff", "/valuations/VA20260000001/signoff", {}, SCOPED),
    ("post", "/api/v1/valuations/{valuation_no}/revaluations", "/valuations/VA20260000001/revaluations", {}, SCOPED),
    ("get", "/api/v1/appraisal-agencies", "/appraisal-agencies", None, LOGGED_IN),
    ("post", "/api/v1/appraisal-agencies", "/appraisal-agencies", {"name": "m-{role}", "licence_no": "L-{role}",
                                                                   "qualification": "q"}, ROSTER),
    ("get", "/api/v1/appraisal-agencies/{agency_id}", "/appraisal-agencies/1", None, LOGGED_IN),
    ("post", "/api/v1/appraisal-agencies/{agency_id}/status", "/appraisal-agencies/1/status",
     {"status": "suspended", "reason": "x"}, ROSTER),
    ("get", "/api/v1/experts", "/experts?field=G06F", None, LOGGED_IN),
    ("post", "/api/v1/experts", "/experts", {"name": "专家"}, ROSTER),
    ("post", "/api/v1/experts/{expert_id}/status", "/experts/1/status", {"status": "suspended", "reason": "x"},
     ROSTER),
    ("post", "/api/v1/realised-prices", "/realised-prices", {"right": {"kind": "invention", "number":
                                                                       RIGHT.split("/")[1]}, "price": "100",
                                                             "date": "2026-01-01", "source": "transfer"},
     {"admin", "registrar", "bank_officer"}),  # the regulator reads prices, banks and registrars report them
    ("post", "/api/v1/enterprise-scores", "/enterprise-scores", {"enterprise_id": "{ent_org}", "scheme": "composite",
                                                                 "inputs": {}}, SCOPED),
    ("get", "/api/v1/enterprise-scores", "/enterprise-scores?enterprise_id=1", None, SCOPED),
    ("get", "/api/v1/lpr", "/lpr?date=2026-01-01&tenor=1y", None, LOGGED_IN),
    ("post", "/api/v1/lpr", "/lpr", {"fixing_date": "2026-09-21", "tenor": "1y", "rate": "2.95"}, ADMIN),
    ("post", "/api/v1/loans", "/loans", {"borrower_uscc": "914403001922038216", "bank_org_id": "{own_org}",
                                         "amount": "100000", "annual_rate": "0.03", "start_date": "2026-01-05",
                                         "maturity_date": "2027-01-05", "ip_kind": "patent"},
     {"admin", "bank_officer", "bank_reviewer", "bank_approver"}),
    ("get", "/api/v1/loans/{loan_no}", "/loans/LN202600000001", None, SCOPED),
    ("post", "/api/v1/loans/{loan_no}/repayments", "/loans/LN202600000001/repayments",
     {"date": "2026-01-06", "principal": "1"}, SCOPED),
    ("post", "/api/v1/loans/{loan_no}/extension", "/loans/LN202600000001/extension",
     {"maturity_date": "2028-01-01"}, SCOPED),
    ("post", "/api/v1/loans/{loan_no}/restructure", "/loans/LN202600000001/restructure", {"kind": "x"}, SCOPED),
    ("post", "/api/v1/loans/{loan_no}/classification", "/loans/LN202600000001/classification",
     {"category": "loss", "reason": "x"}, SCOPED),
    ("post", "/api/v1/products", "/products", {"name": "p-{role}", "eligible_kinds": ["patent"], "min_amount": "1",
                                               "max_amount": "100"}, {"admin", "bank_approver", "bank_reviewer"}),
    ("get", "/api/v1/products", "/products", None, LOGGED_IN),
    ("get", "/api/v1/products/{product_id}/matches", "/products/1/matches", None, SCOPED),
    ("post", "/api/v1/financing-needs", "/financing-needs", {"amount": "100", "rights": []},
     {"admin", "enterprise_user"}),
    ("get", "/api/v1/financing-needs", "/financing-needs", None, LOGGED_IN),
    ("get", "/api/v1/financing-needs/{need_id}/matches", "/financing-needs/1/matches", None, SCOPED),
    ("post", "/api/v1/credit-cases", "/credit-cases", {"product_id": 1}, SCOPED),
    ("get", "/api/v1/credit-cases", "/credit-cases", None, LOGGED_IN),
    ("get", "/api/v1/credit-cases/{case_no}", "/credit-cases/CR20260000001", None, SCOPED),
    ("post", "/api/v1/credit-cases/{case_no}/due-diligence", "/credit-cases/CR20260000001/due-diligence",
     {"key": "ownership", "result": "ok"}, SCOPED),
    ("post", "/api/v1/credit-cases/{case_no}/evidence", "/credit-cases/CR20260000001/evidence", {}, SCOPED),
    # Borrower reviews: the lending bank's staff; the regulator reads (tests/test_monitoring_reviews.py).
    ("get", "/api/v1/loans/{loan_no}/reviews", "/loans/LN202600000001/reviews", None, SCOPED),
    ("post", "/api/v1/loans/{loan_no}/reviews", "/loans/LN202600000001/reviews", {}, SCOPED),
    ("post", "/api/v1/loans/{loan_no}/prepayment", "/loans/LN202600000001/prepayment",
     {"date": "2026-01-06", "principal": "1"}, SCOPED),
    ("post", "/api/v1/credit-cases/{case_no}/submit", "/credit-cases/CR20260000001/submit", {}, SCOPED),
    ("post", "/api/v1/credit-cases/{case_no}/review", "/credit-cases/CR20260000001/review", {"decision": "pass"},
     SCOPED),
    ("post", "/api/v1/credit-cases/{case_no}/approval", "/credit-cases/CR20260000001/approval",
     {"decision": "approve"}, SCOPED),
    ("put", "/api/v1/credit-cases/{case_no}/valuation", "/credit-cases/CR20260000001/valuation",
     {"valuation_no": "VA20260000001"}, SCOPED),
    # The borrowing enterprise signs its own contract (the case's party check: test_credit_workflow).
    ("post", "/api/v1/credit-cases/{case_no}/contract-signature", "/credit-cases/CR20260000001/contract-signature",
     {}, {"enterprise_user"}),
    ("post", "/api/v1/credit-cases/{case_no}/disbursement", "/credit-cases/CR20260000001/disbursement", {}, SCOPED),
    ("get", "/api/v1/credit-plans/{bank_org_id}/{year}", "/credit-plans/1/2026", None, SCOPED),
    ("get", "/api/v1/park-credit-lines", "/park-credit-lines", None, LOGGED_IN),
    ("post", "/api/v1/credit-plans", "/credit-plans", {"bank_org_id": "{own_org}", "year": 2026, "households": 1,
                                                       "amount": "1"}, SCOPED),
    ("post", "/api/v1/park-credit-lines", "/park-credit-lines", {"bank_org_id": "{own_org}", "park_name": "园",
                                                                 "limit": "1", "start_date": "2026-01-01",
                                                                 "end_date": "2026-12-31"}, SCOPED),
    ("post", "/api/v1/subsidy-schemes", "/subsidy-schemes", {"name": "贴息", "kind": "share_of_interest",
                                                             "value": "0.5"}, {"admin", "regulator_user"}),
    ("post", "/api/v1/loans/{loan_no}/exemption-requests", "/loans/LN202600000001/exemption-requests",
     {"statement": "x"}, SCOPED),
    ("post", "/api/v1/exemption-requests/{request_id}/decision", "/exemption-requests/1/decision",
     {"grant": True, "reason": "x"}, SCOPED),
    ("post", "/api/v1/reports/bank-overall", "/reports/bank-overall", {"bank_org_id": "{own_org}",
                                                                       "period_end": "2026-09-30",
                                                                       "total_loan_balance": "100",
                                                                       "npl_balance": "1"}, SCOPED),
    ("get", "/api/v1/reports/npl-tolerance", "/reports/npl-tolerance?bank_org_id=1&period_end=2026-09-30", None,
     SCOPED),
    ("get", "/api/v1/reports/ip-pledge-loans", "/reports/ip-pledge-loans?period=2026", None, SCOPED),
    ("get", "/api/v1/reports/ip-pledge-loans/loans", "/reports/ip-pledge-loans/loans?period=2026", None, SCOPED),
    ("get", "/api/v1/reports/ip-pledge-loans.xlsx", "/reports/ip-pledge-loans.xlsx?period=2026", None, SCOPED),
    ("get", "/api/v1/reports/ip-pledge-loans.csv", "/reports/ip-pledge-loans.csv?period=2026", None, SCOPED),
    ("get", "/api/v1/reports/scorecard", "/reports/scorecard?period=2026", None, {"admin", "regulator_user"}),
    ("get", "/api/v1/reports/registry", "/reports/registry?period=2026", None, LOGGED_IN),
    ("post", "/api/v1/reports/sharing-token", "/reports/sharing-token", {}, {"admin", "regulator_user", "registrar"}),
    ("get", "/api/v1/reports/pulls", "/reports/pulls", None, {"admin", "regulator_user"}),
    ("post", "/api/v1/case-studies", "/case-studies", {"loan_no": "x", "title": "t", "body": "b", "consent": True},
     {"admin", "regulator_user"}),
    ("get", "/api/v1/public/case-studies", "/public/case-studies", None, ANYONE),
    ("get", "/api/v1/public/statistics", "/public/statistics?period=2026", None, ANYONE),
    ("post", "/api/v1/investments", "/investments", {"enterprise_id": "{ent_org}", "fund_name": "f", "amount": "1",
                                                     "date": "2026-01-01"}, {"admin", "bank_officer", "fund_manager"}),
    # Alerts (issue 12): a bank's staff handle their bank's alerts; regulators read them; scoping is
    # tests/test_monitoring_alerts_api.py's.
    ("get", "/api/v1/alerts", "/alerts", None, LOGGED_IN),
    ("post", "/api/v1/alerts/{alert_id}/acknowledge", "/alerts/999999/acknowledge", {}, BANKS),
    ("post", "/api/v1/alerts/{alert_id}/resolve", "/alerts/999999/resolve", {"resolution": "remedied"}, BANKS),
    # Risk sharing (issue 13): party scoping against real objects is tests/test_risksharing_api.py.
    *[(m, f"/api/v1{t}", p, b, w) for m, t, p, b, w in (
        ("get", "/risk-sharing/templates", "/risk-sharing/templates", None, LOGGED_IN),
        ("post", "/risk-sharing/templates/{key}/schemes", "/risk-sharing/templates/zhuhai/schemes", {},
         {"admin", "regulator_user", "fund_manager"}),
        ("post", "/risk-sharing/schemes", "/risk-sharing/schemes", {"name": "s-{role}", "region_code": "440100",
                                                                    "parties": [{"name": "fund", "kind": "fund",
                                                                                 "ratio": "0.5"}]},
         {"admin", "regulator_user", "fund_manager"}),
        ("get", "/risk-sharing/schemes", "/risk-sharing/schemes", None, LOGGED_IN),
        ("get", "/risk-sharing/schemes/{scheme_id}", "/risk-sharing/schemes/999999", None, LOGGED_IN),
        ("post", "/risk-sharing/schemes/{scheme_id}/allocate", "/risk-sharing/schemes/999999/allocate",
         {"loan_amount": "1", "principal_loss": "1"}, LOGGED_IN),
        ("post", "/risk-sharing/schemes/{scheme_id}/funds", "/risk-sharing/schemes/999999/funds",
         {"party": "fund", "amount": "1"}, {"admin", "fund_manager"}),
        ("get", "/risk-sharing/schemes/{scheme_id}/ledger", "/risk-sharing/schemes/999999/ledger", None, LOGGED_IN),
        ("post", "/loans/{loan_no}/risk-sharing", "/loans/LN202600000001/risk-sharing", {"scheme_id": 1},
         {"admin", "bank_officer", "bank_reviewer", "bank_approver"}),
        ("get", "/loans/{loan_no}/risk-sharing", "/loans/LN202600000001/risk-sharing", None, LOGGED_IN),
        ("post", "/risk-sharing/claims", "/risk-sharing/claims", {"loan_no": "LN202600000001"},
         {"admin", "bank_officer", "bank_reviewer", "bank_approver"}),
        ("get", "/risk-sharing/claims", "/risk-sharing/claims", None, LOGGED_IN),
        ("get", "/risk-sharing/claims/{claim_id}", "/risk-sharing/claims/999999", None, LOGGED_IN),
        ("post", "/risk-sharing/claims/{claim_id}/payments", "/risk-sharing/claims/999999/payments",
         {"party": "fund"}, {"admin", "fund_manager", "insurer_user", "appraiser", "bank_approver"}),
        ("post", "/risk-sharing/claims/{claim_id}/payments/{payment_id}/check",
         "/risk-sharing/claims/999999/payments/1/check", {"approve": True},
         {"admin", "fund_manager", "insurer_user", "appraiser", "bank_approver"}),
        ("post", "/risk-sharing/claims/{claim_id}/recoveries", "/risk-sharing/claims/999999/recoveries",
         {"amount": "1", "date": "2026-01-01"}, {"admin", "bank_officer", "bank_reviewer", "bank_approver"}),
        ("get", "/risk-sharing/provisioning", "/risk-sharing/provisioning?bank_org_id=999999", None, LOGGED_IN),
        ("put", "/risk-sharing/provisioning", "/risk-sharing/provisioning",
         {"bank_org_id": "{own_org}", "provision_ratio": "0.025", "coverage_ratio": "1.5"}, {"admin", "bank_approver"}),
        ("post", "/risk-sharing/write-offs", "/risk-sharing/write-offs", {"loan_no": "LN202600000001", "reason": "x"},
         {"admin", "bank_reviewer", "bank_approver"}),
        ("get", "/risk-sharing/write-offs/{write_off_id}", "/risk-sharing/write-offs/999999", None, LOGGED_IN),
        ("post", "/risk-sharing/write-offs/{write_off_id}/decision", "/risk-sharing/write-offs/999999/decision",
         {"approve": True}, {"admin", "bank_approver"}),
        ("post", "/risk-sharing/portfolio-runs", "/risk-sharing/portfolio-runs", {"scenarios": 100},
         BANKS | {"regulator_user", "fund_manager", "insurer_user"}),
        ("get", "/risk-sharing/portfolio-runs", "/risk-sharing/portfolio-runs", None,
         BANKS | {"regulator_user", "fund_manager", "insurer_user"}),
        ("get", "/risk-sharing/portfolio-runs/{run_id}", "/risk-sharing/portfolio-runs/999999", None,
         BANKS | {"regulator_user", "fund_manager", "insurer_user"}),
        # Guarantee insurance (issue 13.3): products and policies by the insurer's own users; a policy is read
        # by its insurer, the loan's bank, the policyholder and regulators (tests/test_risksharing_insurance.py).
        ("post", "/risk-sharing/insurance-products", "/risk-sharing/insurance-products",
         {"name": "p-{role}", "policy_type": "loan_guarantee", "premium_rate": "0.02", "coverage_ratio": "0.6"},
         {"insurer_user"}),
        ("get", "/risk-sharing/insurance-products", "/risk-sharing/insurance-products", None,
         {"admin", "insurer_user", "regulator_user"}),
        ("get", "/risk-sharing/insurance-products/{product_id}", "/risk-sharing/insurance-products/999999", None,
         {"admin", "insurer_user", "regulator_user"}),
        ("post", "/risk-sharing/policies", "/risk-sharing/policies", {"product_id": 999999}, {"insurer_user"}),
        ("get", "/risk-sharing/policies", "/risk-sharing/policies", None,
         BANKS | {"insurer_user", "regulator_user", "enterprise_user"}),
        ("get", "/risk-sharing/policies/{policy_id}", "/risk-sharing/policies/999999", None,
         BANKS | {"insurer_user", "regulator_user", "enterprise_user"}),
        ("post", "/risk-sharing/policies/{policy_id}/acceptance", "/risk-sharing/policies/999999/acceptance", {},
         BANKS),
        ("post", "/risk-sharing/policies/{policy_id}/premium-payments",
         "/risk-sharing/policies/999999/premium-payments", {}, {"insurer_user"}),
        ("post", "/risk-sharing/policies/{policy_id}/cancellation", "/risk-sharing/policies/999999/cancellation",
         {"reason": "x"}, {"insurer_user"}),
    )],
    # Disposal (issue 14): the role is asked first; the party questions (the case's bank, its exchange, the
    # pledgor, the right's office; another bank gets 404) are tests/test_disposal_api.py's.
    *[(m, f"/api/v1{t}", p, b, w) for m, t, p, b, w in (
        ("post", "/disposals", "/disposals", {"loan_no": "LN202600000001", "channel": "auction", "rights": []}, BANKS),
        ("get", "/disposals", "/disposals", None, LOGGED_IN),
        ("get", "/disposals/{disposal_no}", "/disposals/CZ2026000001", None, LOGGED_IN),
        ("post", "/disposals/{disposal_no}/rounds", "/disposals/CZ2026000001/rounds", {"reserve": "1"}, SELLERS),
        ("post", "/disposals/{disposal_no}/deposits", "/disposals/CZ2026000001/deposits",
         {"bidder_org_id": 1, "amount": "1"}, SELLERS),
        ("post", "/disposals/{disposal_no}/bids", "/disposals/CZ2026000001/bids", {"amount": "1"}, BIDDERS),
        ("post", "/disposals/{disposal_no}/close", "/disposals/CZ2026000001/close", None, SELLERS),
        ("post", "/disposals/{disposal_no}/interests", "/disposals/CZ2026000001/interests", {"note": ""}, BIDDERS),
        ("post", "/disposals/{disposal_no}/agreement", "/disposals/CZ2026000001/agreement",
         {"value": "1", "agreement_ref": "x"}, BANKS),
        ("post", "/disposals/{disposal_no}/agreement/confirm", "/disposals/CZ2026000001/agreement/confirm", None,
         {"admin", "enterprise_user"}),
        ("post", "/disposals/{disposal_no}/withdraw", "/disposals/CZ2026000001/withdraw", {"reason": "x"}, BANKS),
        ("post", "/disposals/{disposal_no}/settlement", "/disposals/CZ2026000001/settlement",
         {"proceeds": "1", "date": "2026-01-01"}, BANKS),
        ("post", "/disposals/{disposal_no}/licence-income", "/disposals/CZ2026000001/licence-income",
         {"amount": "1", "date": "2026-01-01"}, BANKS | {"enterprise_user"}),
        ("post", "/fee-relief", "/fee-relief", {"right": {"kind": "invention", "number": "ZL201410362077.3"}}, BANKS),
        ("get", "/fee-relief", "/fee-relief", None, LOGGED_IN),
        ("get", "/fee-relief/{relief_id}", "/fee-relief/999999", None, LOGGED_IN),
        ("post", "/fee-relief/{relief_id}/decision", "/fee-relief/999999/decision", {"approve": True}, REGISTRAR),
    )],
    ("get", "/api/v1/disposals/listings", "/disposals/listings", None, ANYONE),
]


def test_every_route_is_in_the_matrix():
    schema = api.get_openapi_schema()
    declared = {(m, p) for m, p, *_ in ROUTES}
    actual = {(method, path) for path, ops in schema["paths"].items() for method in ops}
    assert actual - declared == set(), "add these routes to the permission matrix"


def _allowed(who, role):
    if who == ANYONE:
        return True
    if role is None:
        return False
    if who in (LOGGED_IN, SCOPED):
        return True
    return role in who


@pytest.mark.parametrize("role", [None, *Role.values])
def test_matrix(role, make_user, make_org):
    from ippledge.core import services
    from ippledge.core.actors import SYSTEM
    from ippledge.rights import services as rights

    ent = make_org("enterprise", name="矩阵企业")
    rights.create_right(actor=SYSTEM, data={"kind": "invention", "number": RIGHT.split("/")[1], "owners": [
        {"name": "矩阵公司", "id_type": "uscc", "id_number": "914403001922038216"}],
        "filing_date": "2014-07-28", "grant_date": "2016-01-01"})
    client, own_org = Api(), None
    if role is not None:
        kind = "platform_operator" if role == "admin" else sorted(ROLE_ORG_KINDS[role])[0]
        if role == "registrar":
            kind = "ip_office"
        user = make_user(role, kind)
        own_org = user.organisation_id
        client = Api(services.issue_token(user=user))
    for method, _template, path, body, who in ROUTES:
        path = path.replace("{own_org}", str(own_org or ent.pk))
        if isinstance(body, dict):
            body = {k: (v.replace("{role}", str(role)) if isinstance(v, str) else v) for k, v in body.items()}
            for key in ("org_id", "enterprise_id"):
                if body.get(key) == "{ent_org}":
                    body[key] = ent.pk
            if body.get("bank_org_id") == "{own_org}":
                body["bank_org_id"] = own_org or ent.pk
        r = client.call(method, path, body)
        if who == SCOPED and role is not None:
            assert r.status_code != 401 and r.status_code < 500, (method, path, role, r.data)
        elif _allowed(who, role):
            code = ((r.data or {}).get("error") or {}).get("code") if isinstance(r.data, dict) else None
            assert code not in DENIED and r.status_code < 500, (method, path, role, r.status_code, r.data)
        else:
            expected = 401 if role is None else 403
            assert r.status_code == expected, (method, path, role, r.status_code, r.data)
            assert r.data["error"]["code"] in DENIED
