"""Statistics for regulators and banks: periodic figures from the loan book as of a period end, the
3-point NPL tolerance in exact decimals, exports, scorecard, data sharing and typical cases."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.test import override_settings

from ippledge.core import services as core
from ippledge.core.actors import SYSTEM
from ippledge.credit import services as credit

from .conftest import PASSWORD, Api, uscc

pytestmark = pytest.mark.django_db


@pytest.fixture
def book(db):
    """Two banks; bank A lends to three firms (one loan goes bad), bank B to one."""
    banks, users = {}, {}
    for key, body in (("A", "91110000100000589"), ("B", "91110000100000590")):
        banks[key] = core.create_organisation(actor=SYSTEM, name=f"银行{key}", kind="bank", uscc=uscc(body))
        user = core.create_user(actor=SYSTEM, username=f"officer{key}", password=PASSWORD, org_id=banks[key].pk,
                                roles=["bank_officer"])
        users[key] = Api(core.issue_token(user=user))
        users[key].user = user
    reg = core.create_organisation(actor=SYSTEM, name="监管局", kind="regulator")
    reg_user = core.create_user(actor=SYSTEM, username="reg", password=PASSWORD, org_id=reg.pk, roles=["regulator_user"])
    regulator = Api(core.issue_token(user=reg_user))
    loans = []
    for i, (bank, amount, kind) in enumerate((("A", "2000000", "patent"), ("A", "3000000", "trademark"),
                                              ("A", "5000000", "patent"), ("B", "1000000", "bundle"))):
        # Borrowers are registered before a bank lends to them (a loan never creates an organisation).
        core.create_organisation(actor=SYSTEM, name=f"企业{i}", kind="enterprise", uscc=uscc(f"914403000000000{i:02d}"))
        loans.append(credit.book_loan(actor=users[bank].user, data={
            "borrower_uscc": uscc(f"914403000000000{i:02d}"), "borrower_name": f"企业{i}", "bank_org_id": banks[bank].pk,
            "amount": amount, "annual_rate": "0.04", "start_date": dt.date(2026, 2, 10),
            "maturity_date": dt.date(2027, 2, 10), "schedule": "bullet", "ip_kind": kind, "first_loan": i == 0}))
    # The third loan is written down to doubtful by a reviewer on 2026-08-01.
    from ippledge.credit.models import ClassificationChange, Loan

    Loan.objects.filter(pk=loans[2].pk).update(classification="doubtful")
    ClassificationChange.objects.create(loan=loans[2], date=dt.date(2026, 8, 1), before="normal", after="doubtful",
                                        reasons=[["manual_downgrade", "doubtful"]], manual=True)
    return {"banks": banks, "users": users, "regulator": regulator, "loans": loans}


def test_periodic_figures_by_bank_and_kind(book):
    r = book["regulator"].get("/reports/ip-pledge-loans?period=2026Q3&group_by=bank")
    assert r.status_code == 200, r.data
    rows = {row["bank"]: row for row in r.data["rows"]}
    a = rows["银行A"]
    assert a["households"] == 3 and a["loan_count"] == 3 and a["amount_lent"] == "10000000.00"
    assert a["balance"] == "10000000.00" and a["npl_balance"] == "5000000.00" and a["npl_ratio"] == "50.00"
    assert a["first_loan_households"] == 1
    by_kind = book["regulator"].get("/reports/ip-pledge-loans?period=2026&group_by=ip_kind").data["rows"]
    assert {r["ip_kind"] for r in by_kind} == {"patent", "trademark", "bundle"}
    # As of the end of Q1 the write-down had not happened: reproducible from history.
    q1 = book["regulator"].get("/reports/ip-pledge-loans?period=2026Q1&group_by=bank").data["rows"]
    assert {r["bank"]: r["npl_balance"] for r in q1}["银行A"] == "0.00"


def test_npl_tolerance_boundary_is_exact(book):
    bank_a, officer = book["banks"]["A"], book["users"]["A"]
    # IP NPL ratio 50.00 %; overall 47.00 % → gap exactly 3.00 points → within.
    r = officer.post("/reports/bank-overall", {"bank_org_id": bank_a.pk, "period_end": "2026-09-30",
                                               "total_loan_balance": "100000000", "npl_balance": "47000000"})
    assert r.status_code == 201, r.data
    t = officer.get(f"/reports/npl-tolerance?bank_org_id={bank_a.pk}&period_end=2026-09-30").data
    assert t["ip_npl_ratio"].startswith("50.00") and t["overall_npl_ratio"].startswith("47.00")
    assert t["gap_pp"].startswith("3.00") and t["within_tolerance"] is True
    # A later submission replaces the earlier one (history kept).
    officer.post("/reports/bank-overall", {"bank_org_id": bank_a.pk, "period_end": "2026-09-30",
                                           "total_loan_balance": "100000000", "npl_balance": "46990000"})
    t = officer.get(f"/reports/npl-tolerance?bank_org_id={bank_a.pk}&period_end=2026-09-30").data
    assert t["within_tolerance"] is False


def test_banks_see_only_themselves(book):
    officer_b = book["users"]["B"]
    r = officer_b.get(f"/reports/npl-tolerance?bank_org_id={book['banks']['A'].pk}&period_end=2026-09-30")
    assert r.status_code == 403
    national = officer_b.get("/reports/ip-pledge-loans?period=2026&group_by=bank,ip_kind").data["rows"]
    assert all("bank" not in row for row in national)
    own = officer_b.get(f"/reports/ip-pledge-loans?period=2026&bank_org_id={book['banks']['B'].pk}").data["rows"]
    assert own[0]["households"] == 1


def test_excel_and_csv_exports(book):
    from openpyxl import load_workbook

    r = book["regulator"].client.get("/api/v1/reports/ip-pledge-loans.xlsx?period=2026",
                                     headers={"Authorization": f"Bearer {book['regulator'].token}"})
    assert r.status_code == 200
    wb = load_workbook(io.BytesIO(r.content))
    assert "按银行" in wb.sheetnames and "说明" in wb.sheetnames[-1]
    csv = book["regulator"].client.get("/api/v1/reports/ip-pledge-loans.csv?period=2026&group_by=bank",
                                       headers={"Authorization": f"Bearer {book['regulator'].token}"})
    assert csv.status_code == 200 and csv.content.startswith(b"\xef\xbb\xbf")


def test_sharing_token_is_read_only_and_pulls_are_audited(book):
    token = book["regulator"].post("/reports/sharing-token").data["access_token"]
    shared = Api(token)
    assert shared.get("/reports/ip-pledge-loans?period=2026").status_code == 200
    # A sharing token reads statistics and nothing else: writes and other routes answer token_scope.
    assert shared.post("/reports/sharing-token").data["error"]["code"] in ("read_only_token", "token_scope")
    assert shared.get("/credit-cases").data["error"]["code"] == "token_scope"
    pulls = book["regulator"].get("/reports/pulls").data
    assert pulls and pulls[0]["report"] == "ip-pledge-loans"
    assert book["users"]["A"].post("/reports/sharing-token").status_code == 403


def test_scorecard_ranks_banks(book):
    r = book["regulator"].get("/reports/scorecard?period=2026")
    assert r.status_code == 200, r.data
    assert sorted(b["rank"] for b in r.data) == [1, 2]
    assert book["users"]["A"].get("/reports/scorecard?period=2026").status_code == 403


def test_typical_cases_need_consent_and_are_anonymised(book, anon):
    loan = book["loans"][0]
    r = book["regulator"].post("/case-studies", {"loan_no": loan.loan_no, "title": "专利质押首贷", "body": "……",
                                                 "consent": False})
    assert r.status_code == 422 and r.data["error"]["code"] == "consent_missing"
    r = book["regulator"].post("/case-studies", {"loan_no": loan.loan_no, "title": "专利质押首贷", "body": "……",
                                                 "consent": True})
    assert r.status_code == 201
    public = anon.get("/public/case-studies").data
    assert public[0]["title"] == "专利质押首贷" and "企业0" not in str(public)
    assert anon.get("/public/statistics?period=2026").status_code == 200


def test_invalid_period_is_422(book):
    r = book["regulator"].get("/reports/ip-pledge-loans?period=2026Q5")
    assert r.status_code == 422 and r.data["error"]["code"] == "invalid_period"


@override_settings(ALLOW_BUSINESS_DATE=True)
def test_dashboards_render(book, make_user):
    from django.test import Client

    for username in ("reg", "officerA"):
        client = Client()
        client.post("/login/", {"username": username, "password": PASSWORD})
        page = client.get("/reports/?period=2026Q3")
        assert page.status_code == 200 and "<svg" in page.content.decode()
        behind = client.get("/reports/loans/?period=2026Q3&ip_kind=patent")
        assert behind.status_code == 200 and 'data-testid="loans-behind"' in behind.content.decode()
    assert Client().get("/reports/public/?period=2026").status_code == 200


def test_every_figure_traces_to_its_loans(book):
    rows = book["regulator"].get("/reports/ip-pledge-loans?period=2026Q3&group_by=bank").data["rows"]
    a = next(r for r in rows if r["bank"] == "银行A")
    behind = book["regulator"].get(f"/reports/ip-pledge-loans/loans?period=2026Q3&bank={a['bank_org_id']}").data
    assert behind["count"] == a["loan_count"] == 3
    assert sum(float(x["balance"]) for x in behind["loans"]) == float(a["balance"])
    npl = [x for x in behind["loans"] if x["category"] in ("substandard", "doubtful", "loss")]
    assert sum(float(x["balance"]) for x in npl) == float(a["npl_balance"])
    own = book["users"]["B"].get("/reports/ip-pledge-loans/loans?period=2026Q3").data
    assert {x["bank"] for x in own["loans"]} == {"银行B"}
