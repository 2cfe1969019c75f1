"""Security of statistics and valuation (issue 9): one scope for API, pages, exports and drill-downs;
the regulator reads but does not write banks' records; sums that cannot overflow; absurd input is a
422, never a 500 or a request that runs for minutes."""

from __future__ import annotations

import datetime as dt
import io

import pytest

from ippledge.core import business_date
from ippledge.core import services as core
from ippledge.core.actors import SYSTEM
from ippledge.core.money import from_fen
from ippledge.credit.models import ClassificationChange, Loan, Repayment
from ippledge.reporting import sql
from ippledge.valuation import services as valuation

from . import reporting_oracle as oracle
from .conftest import PASSWORD, Api, uscc
from .registry_fixtures import make_patent

pytestmark = pytest.mark.django_db

HUGE = 9_000_000_000_000_000_000  # 9 × 10¹⁶ yuan in fen: fits 64 bits, two of them do not


def _user(org, username, role):
    user = core.create_user(actor=SYSTEM, username=username, password=PASSWORD, org_id=org.pk, roles=[role])
    api = Api(core.issue_token(user=user))
    api.user = user
    return api


def _loan(bank, borrower, n, amount, *, start=dt.date(2026, 2, 10), kind="patent"):
    """A loan written straight to the book (bypassing the services' bounds, as a tampered book would be)."""
    return Loan.objects.create(loan_no=f"TL{n:08d}", bank=bank, borrower=borrower, amount=amount, balance=amount,
                               annual_rate="0.04", start_date=start, maturity_date=start + dt.timedelta(days=365),
                               schedule_kind="bullet", ip_kind=kind)


@pytest.fixture
def world(db):
    """Banks A and B, each lending to its own borrower; a regulator; two enterprises with users."""
    banks = {k: core.create_organisation(actor=SYSTEM, name=f"银行{k}", kind="bank", uscc=uscc(body))
             for k, body in (("A", "91110000100000589"), ("B", "91110000100000590"))}
    firms = {k: core.create_organisation(actor=SYSTEM, name=f"企业{k}", kind="enterprise", uscc=uscc(body))
             for k, body in (("X", "91440300000000001"), ("Y", "91440300000000002"))}
    regulator_org = core.create_organisation(actor=SYSTEM, name="监管局", kind="regulator")
    loans = [_loan(banks["A"], firms["X"], 1, 200_000_000), _loan(banks["A"], firms["X"], 2, 300_000_000),
             _loan(banks["B"], firms["Y"], 3, 100_000_000, kind="trademark")]
    return {"banks": banks, "firms": firms, "loans": loans,
            "officer": {k: _user(banks[k], f"officer{k}", "bank_officer") for k in banks},
            "firm_user": {k: _user(firms[k], f"firm{k}", "enterprise_user") for k in firms},
            "regulator": _user(regulator_org, "regulator", "regulator_user")}


def _raw(api, path):
    return api.client.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {api.token}"})


# ------------------------------------------------------------------------- point 7: one scope everywhere


def test_the_workbook_gives_a_bank_no_other_banks_rows(world):
    from openpyxl import load_workbook

    officer_b = world["officer"]["B"]
    r = _raw(officer_b, "/reports/ip-pledge-loans.xlsx?period=2026")
    assert r.status_code == 200
    workbook = load_workbook(io.BytesIO(r.content))
    cells = {str(c.value) for ws in workbook.worksheets for row in ws.iter_rows() for c in row if c.value}
    assert "按银行" not in workbook.sheetnames and "银行A" not in cells  # national aggregates only
    own = load_workbook(io.BytesIO(_raw(officer_b, f"/reports/ip-pledge-loans.xlsx?period=2026"
                                                   f"&bank_org_id={world['banks']['B'].pk}").content))
    by_bank = [[c.value for c in row] for row in own["按银行"].iter_rows(min_row=2)]
    assert [row[0] for row in by_bank] == ["银行B"]
    # The CSV and the JSON obey the same scope; the regulator reads every bank.
    csv = _raw(officer_b, "/reports/ip-pledge-loans.csv?period=2026&group_by=bank").content.decode("utf-8-sig")
    assert "银行A" not in csv and "银行B" not in csv
    assert _raw(officer_b, f"/reports/ip-pledge-loans.xlsx?period=2026&bank_org_id={world['banks']['A'].pk}") \
        .status_code == 403
    everyone = load_workbook(io.BytesIO(_raw(world["regulator"], "/reports/ip-pledge-loans.xlsx?period=2026").content))
    assert {row[0].value for row in everyone["按银行"].iter_rows(min_row=2)} == {"银行A", "银行B"}


def test_drill_down_and_dashboard_show_a_bank_its_own_loans(world):
    officer_b = world["officer"]["B"]
    loans = officer_b.get("/reports/ip-pledge-loans/loans?period=2026").data["loans"]
    assert [x["loan_no"] for x in loans] == ["TL00000003"]
    assert officer_b.get(f"/reports/ip-pledge-loans/loans?period=2026&bank_org_id={world['banks']['A'].pk}") \
        .status_code == 403
    page = officer_b.client
    page.force_login(officer_b.user)
    body = page.get("/reports/loans/?period=2026").content.decode()
    assert "TL00000003" in body and "TL00000001" not in body
    dashboard = page.get("/reports/?period=2026Q1").content.decode()
    assert "银行A" not in dashboard


def test_enterprise_page_obeys_the_scope_the_api_obeys(world):
    firm_y = world["firms"]["Y"]
    valuation.evaluate_enterprise(actor=world["officer"]["B"].user, enterprise_id=firm_y.pk, scheme="composite",
                                  inputs={})
    outsider = world["firm_user"]["X"]
    assert outsider.get(f"/enterprise-scores?enterprise_id={firm_y.pk}").status_code == 404
    outsider.client.force_login(outsider.user)
    assert outsider.client.get(f"/valuation/enterprises/{firm_y.pk}/").status_code == 404
    # The enterprise itself and the banks assessing it read its evaluations on both.
    for reader in (world["firm_user"]["Y"], world["officer"]["A"], world["regulator"]):
        assert len(reader.get(f"/enterprise-scores?enterprise_id={firm_y.pk}").data) == 1
        reader.client.force_login(reader.user)
        assert reader.client.get(f"/valuation/enterprises/{firm_y.pk}/").status_code == 200


def test_another_banks_valuation_is_not_echoed_in_an_error(world):
    """Opening a case on another bank's valuation number: 'no such valuation', never its maximum loan."""
    make_patent()
    right = {"kind": "invention", "number": "ZL201410362077.3"}
    officer_a, officer_b = world["officer"]["A"], world["officer"]["B"]
    theirs = officer_a.post("/valuations", {"rights": [right], "basis": "negotiated", "market_value": "1000000",
                                            "agreement_rule": "协商"}).data
    approver_b = _user(world["banks"]["B"], "approverB", "bank_approver")
    product = approver_b.post("/products", {
        "name": "快贷", "eligible_kinds": ["patent"], "min_amount": "100000", "max_amount": "10000000",
        "min_term_months": 6, "max_term_months": 36, "spreads_bp": {"A": 50, "B": 80}}).data
    r = officer_b.post("/credit-cases", {"product_id": product["id"], "enterprise_id": world["firms"]["Y"].pk,
                                         "amount": "5000000", "term_months": 12, "rights": [right],
                                         "valuation_no": theirs["valuation_no"]})
    assert r.status_code == 422, r.data
    assert "valuation_no" in r.data["error"]["fields"] and theirs["max_loan"] not in str(r.data)


# ------------------------------------------------------------------------- point 5: the regulator reads


def test_the_regulator_reads_but_does_not_write_bank_records(world):
    make_patent()
    regulator = world["regulator"]
    right = {"kind": "invention", "number": "ZL201410362077.3"}
    today = business_date.today().isoformat()
    r = regulator.post("/realised-prices", {"right": right, "price": "100", "date": today, "source": "transfer"})
    assert r.status_code == 403
    r = regulator.post("/enterprise-scores", {"enterprise_id": world["firms"]["X"].pk, "scheme": "composite",
                                              "inputs": {}})
    assert r.status_code == 403
    r = regulator.post("/valuations", {"rights": [right], "basis": "negotiated", "market_value": "100",
                                       "agreement_rule": "协商"})
    assert r.status_code == 403
    # It still reads them, and its regulatory writes stay.
    assert regulator.get("/valuations").status_code == 200
    assert regulator.get("/reports/ip-pledge-loans?period=2026&group_by=bank").status_code == 200
    r = regulator.post("/case-studies", {"loan_no": "TL00000001", "title": "案例", "body": "正文", "consent": True})
    assert r.status_code == 201, r.data
    # Banks still record realised prices (disposals).
    r = world["officer"]["A"].post("/realised-prices", {"right": right, "price": "100", "date": today,
                                                        "source": "disposal"})
    assert r.status_code == 201, r.data


# ------------------------------------------------------------------------- point 9: sums beyond 64 bits


def test_statistics_answer_when_the_book_sums_beyond_64_bits(world):
    banks, firms = world["banks"], world["firms"]
    big = [_loan(banks["A"], firms["X"], 10, HUGE), _loan(banks["B"], firms["Y"], 11, HUGE)]
    # One loan's repayments alone also sum beyond 64 bits (overpaid: its balance is zero).
    for day in (dt.date(2026, 3, 1), dt.date(2026, 4, 1)):
        Repayment.objects.create(loan=big[1], date=day, principal=HUGE, interest=0)
    ClassificationChange.objects.create(loan=big[0], date=dt.date(2026, 5, 1), before="normal", after="loss")
    lent = sum(x.amount for x in Loan.objects.all())
    regulator = world["regulator"]
    national = regulator.get("/reports/ip-pledge-loans?period=2026")
    assert national.status_code == 200, national.data
    row = national.data["rows"][0]
    assert row["amount_lent"] == str(from_fen(lent))
    assert row["balance"] == str(from_fen(lent - HUGE))  # the overpaid loan has no balance left
    assert row["npl_balance"] == str(from_fen(HUGE))
    # Exactly what the reference computes in Python integers, for every grouping and in partitions.
    for group_by in ((), ("bank",), ("bank", "ip_kind")):
        assert sql.report_sql(period="2026", group_by=group_by) == oracle.report(period="2026", group_by=group_by)
    assert sql.report_sql(period="2026Q2", group_by=("bank",), workers=2) == \
        oracle.report(period="2026Q2", group_by=("bank",))
    assert sql.ip_book_sql(None, dt.date(2026, 9, 30))[banks["A"].pk] == (HUGE, HUGE + 500_000_000)
    officer_a = world["officer"]["A"]
    for api, path in ((world["officer"]["A"], "/reports/ip-pledge-loans?period=2026&group_by=ip_kind"),
                      (officer_a, f"/reports/ip-pledge-loans?period=2026Q3&bank_org_id={banks['A'].pk}"),
                      (officer_a, "/reports/ip-pledge-loans/loans?period=2026"),
                      (officer_a, "/reports/ip-pledge-loans.xlsx?period=2026"),
                      (officer_a, "/reports/ip-pledge-loans.csv?period=2026&group_by=ip_kind"),
                      (regulator, "/reports/registry?period=2026"),
                      (Api(), "/public/statistics?period=2026")):
        r = _raw(api, path)
        assert r.status_code == 200, (path, r.content[:300])
    r = officer_a.post("/reports/bank-overall", {"bank_org_id": banks["A"].pk, "period_end": "2026-09-30",
                                                 "total_loan_balance": "100000000", "npl_balance": "1000000"})
    assert r.status_code == 201, r.data
    tolerance = officer_a.get(f"/reports/npl-tolerance?bank_org_id={banks['A'].pk}&period_end=2026-09-30")
    assert tolerance.status_code == 200 and tolerance.data["ip_npl_balance"] == str(from_fen(HUGE))
    assert sql.tolerance_all_banks(dt.date(2026, 9, 30))[0]["ip_npl_balance"] == str(from_fen(HUGE))
    client = officer_a.client
    client.force_login(officer_a.user)
    assert client.get("/reports/?period=2026Q3").status_code == 200
    assert Api().client.get("/reports/public/?period=2026").status_code == 200


# ------------------------------------------------------------------------- point 10: absurd input is a 422


def _field_error(r, field: str):
    assert r.status_code == 422, (r.status_code, r.data)
    assert field in r.data["error"].get("fields", {}), r.data


WEIGHTS = [
    "x", "1e999", "NaN", "[1, 2]", '{"plan": 1e999, "first_loan": 0, "inclusive": 0, "npl": 0, "speed": 0}',
    '{"plan": "1e999999999", "first_loan": 0, "inclusive": 0, "npl": 0, "speed": 0}',
    '{"plan": NaN, "first_loan": 0, "inclusive": 0, "npl": 0, "speed": 100}',
    '{"plan": Infinity, "first_loan": 0, "inclusive": 0, "npl": 0, "speed": 0}',
    '{"plan": -100, "first_loan": 200, "inclusive": 0, "npl": 0, "speed": 0}',
    '{"plan": "1e-999999", "first_loan": 100, "inclusive": 0, "npl": 0, "speed": 0}',
    '{"plan": 100' + ", 0" * 100_000 + "}", "[" * 100_000,
]


def test_scorecard_weights_are_a_field_error(world):
    from urllib.parse import quote

    for weights in WEIGHTS:
        r = world["regulator"].get(f"/reports/scorecard?period=2026&weights={quote(weights)}")
        _field_error(r, "weights")
        assert r.data["error"]["code"] in ("invalid_weights", "too_long")
        # Weights are read only once the caller may see the scorecard.
        assert world["officer"]["A"].get(f"/reports/scorecard?period=2026&weights={quote(weights)}") \
            .status_code == 403
    exact = '{"plan": 30.5, "first_loan": 19.5, "inclusive": 20, "npl": "20", "speed": 10}'
    r = world["regulator"].get(f"/reports/scorecard?period=2026&weights={quote(exact)}")
    assert r.status_code == 200, r.data


def test_absurd_statistics_input_is_a_field_error(world):
    regulator = world["regulator"]
    for year in ("-2567", "1" * 20, "0", "99999"):
        _field_error(regulator.get(f"/registry/stats/registration-time?year={year}"), "year")
    assert regulator.get("/registry/stats/registration-time?year=2026").status_code == 200
    _field_error(regulator.get("/reports/ip-pledge-loans?period=2026&group_by=" + "bank," * 1000), "group_by")
    bank = world["banks"]["A"]
    officer = world["officer"]["A"]
    for field, value in (("total_loan_balance", "1e999"), ("total_loan_balance", "1" * 25),
                         ("npl_balance", "NaN"), ("inclusive_loan_balance", "1e30"), ("total_loan_balance", "")):
        body = {"bank_org_id": bank.pk, "period_end": "2026-09-30", "total_loan_balance": "100000000",
                "npl_balance": "1000000", field: value}
        _field_error(officer.post("/reports/bank-overall", body), field)
    _field_error(officer.post("/reports/bank-overall", {"bank_org_id": bank.pk, "period_end": "0001-01-01",
                                                        "total_loan_balance": "1", "npl_balance": "0"}), "period_end")
    # Permission first: a body from someone who may not submit is a 403 however malformed it is.
    garbage = {"bank_org_id": "x", "period_end": "never", "total_loan_balance": [], "npl_balance": {}}
    assert world["firm_user"]["X"].post("/reports/bank-overall", garbage).status_code == 403
    assert officer.post("/case-studies", {"loan_no": 1, "title": [], "body": {}, "consent": "x"}).status_code == 403
    page = officer.client
    page.force_login(officer.user)
    assert page.get("/reports/?period=1901Q1").status_code == 200  # the trend starts where figures start


def test_absurd_valuation_input_is_a_field_error(world):
    make_patent()
    officer = world["officer"]["A"]
    right = {"kind": "invention", "number": "ZL201410362077.3"}
    today = business_date.today()
    for price in ("", " ", "x", "NaN", "Infinity", "1e999", "1e30", "1" * 25, "-1", "0"):
        _field_error(officer.post("/realised-prices", {"right": right, "price": price, "date": today.isoformat(),
                                                       "source": "transfer"}), "price")
    for day in ("0001-01-01", "9999-12-31"):
        _field_error(officer.post("/realised-prices", {"right": right, "price": "1", "date": day,
                                                       "source": "transfer"}), "date")
    negotiated = {"rights": [right], "basis": "negotiated", "market_value": "1000000", "agreement_rule": "协商"}
    for field, value in (("market_value", "1e999"), ("market_value", "1e30"), ("market_value", "NaN"),
                         ("p10", "x"), ("p90", "1"), ("validity_months", 10**15), ("valuation_date", "9999-12-31"),
                         ("agreement_rule", "规" * 5000), ("purpose", "p" * 500), ("rights", [right] * 5000)):
        _field_error(officer.post("/valuations", {**negotiated, field: value}), field)
    r = officer.post("/valuations", {"rights": [right], "method": "income", "inputs": {
        "income": ["1e15"] * 10, "discount_rate": "0.0001"}})
    _field_error(r, "market_value")
    assert officer.post("/valuations", negotiated).status_code == 201
    for enterprise_id in ("1" * 20, "99999999999999999999999", "-1"):
        assert officer.get(f"/enterprise-scores?enterprise_id={enterprise_id}").status_code in (404, 422)


def test_simulations_are_bounded_in_work():
    from ippledge.core.errors import ValidationFailed
    from ippledge.valuation.engine.bundle import value_bundle
    from ippledge.valuation.engine.compute import compute
    from ippledge.valuation.engine.trace import Trace

    rights = [{"kind": "invention", "number": f"N{i}", "revenue": "1000000", "growth": "0.05", "years": 25,
               "split": "0.1", "rate": "0.1", "max_years": 25} for i in range(100)]
    with pytest.raises(ValidationFailed) as too_big:
        value_bundle(rights, paths=200_000, trace=Trace())  # ~85 s and tens of GB before the bound
    assert "paths" in too_big.value.fields
    with pytest.raises(ValidationFailed) as tree:
        compute("binomial", {"S": "100", "K": "100", "u": "1.2", "d": "0.8", "r": "0.03", "dt": "1",
                             "steps": 2000, "option": "put", "style": "american"})
    assert "steps" in tree.value.fields


def test_text_a_database_cannot_store_is_a_422(world):
    """NUL cannot be stored (or even looked up) by PostgreSQL: refused up front on both databases."""
    make_patent()
    regulator, officer = world["regulator"], world["officer"]["A"]
    nul = "a\x00b"
    assert officer.get("/reports/ip-pledge-loans/loans?period=2026&bank=a%00b").status_code == 422
    assert regulator.get("/reports/ip-pledge-loans/loans?period=%00").status_code == 422
    assert regulator.get("/reports/registry?period=%00").status_code == 422
    assert regulator.get("/valuations/a%00b").status_code == 404
    assert regulator.get("/appraisal-agencies?status=%00").data["error"]["code"] == "invalid_query"
    _field_error(regulator.post("/case-studies", {"loan_no": "TL00000001", "title": nul, "body": "b",
                                                  "consent": True}), "title")
    assert regulator.post("/case-studies", {"loan_no": nul, "title": "t", "body": "b", "consent": True}) \
        .status_code == 404
    _field_error(regulator.post("/experts", {"name": nul}), "name")
    _field_error(regulator.post("/appraisal-agencies", {"name": "甲", "licence_no": nul, "qualification": "q"}),
                 "licence_no")
    _field_error(regulator.post("/appraisal-agencies", {"name": "甲" * 300, "licence_no": "L", "qualification": "q"}),
                 "name")
    _field_error(officer.post("/enterprise-scores", {"enterprise_id": world["firms"]["X"].pk, "scheme": "composite",
                                                     "inputs": {"k\x00": "v"}}), "inputs")
    right = {"kind": "invention", "number": "ZL201410362077.3"}
    _field_error(officer.post("/valuations", {"rights": [right], "method": "income", "inputs": {
        "income": ["100"], "discount_rate": "0.1", "note": nul}}), "inputs.note")
    client = officer.client
    client.force_login(officer.user)
    assert client.get("/reports/loans/?period=2026&bank=a%00b").status_code == 400
    assert client.get("/valuation/records/a%00b/").status_code == 404
