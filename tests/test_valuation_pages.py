"""Valuation pages: a form per method with units, the result page titled as a valuation, its PDF
report, the work lists (valuations, agencies, experts) and the enterprise radar."""

from __future__ import annotations

import io
import re

import pytest
from django.test import Client

from ippledge.core.actors import SYSTEM
from ippledge.valuation import forms, services

from .conftest import PASSWORD
from .registry_fixtures import PLEDGOR, make_patent

pytestmark = pytest.mark.django_db

INCOME = {"method": "income", "income": "1000000\n1000000\n1000000", "split_rate": "25", "tax_rate": "25",
          "discount_rate": "10", "factor_mode": "exact"}


@pytest.fixture
def officer(make_user):
    make_user("bank_officer", "bank", username="valuer")
    client = Client()
    client.post("/login/", {"username": "valuer", "password": PASSWORD})
    return client


def _initial(method: str) -> dict:
    """What the calculator's form for ``method`` shows before anything is typed, as a browser posts it."""
    form = forms.form_for(method)
    data = {"method": method}
    for name in form.fields:
        value = form[name].value()
        if value not in (None, ""):
            data[name] = str(value)
    return data


def _pdf_text(body: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(body)).pages).replace("\x00", "")


def test_calculator_income_form_shows_value_in_yuan_and_trace(officer):
    page = officer.get("/valuation/").content.decode()
    assert 'data-testid="calculator"' in page and 'name="split_rate"' in page
    assert "（%）" in page or "(%)" in page  # the rate's unit next to its label
    r = officer.post("/valuation/", INCOME)
    html = r.content.decode()
    assert r.status_code == 200, html[:2000]
    assert "466,284.75" in html and 'data-testid="trace"' in html and 'data-testid="result"' in html
    # The trace names the method and the period's bound in words, never by code.
    assert not re.search(r">\s*(income_stream|exact|income)\s*<", html)


def test_calculator_errors_sit_next_to_the_fields_without_paths(officer):
    bad = officer.post("/valuation/", {**INCOME, "discount_rate": "ten", "income": "100 abc"})
    html = bad.content.decode()
    assert bad.status_code == 400 and 'role="alert"' in html
    assert html.count('class="field-error"') >= 2
    assert "inputs.income" not in html and "income[0]" not in html and "{'" not in html


def test_every_method_computes_from_its_form(officer):
    for method in forms.FORMS:
        if method == "bundle":
            continue
        r = officer.post("/valuation/", _initial(method))
        html = r.content.decode()
        assert r.status_code == 200, (method, re.findall(r'field-error[^>]*>([^<]*)', html), html[-1500:])
        assert 'data-testid="headline"' in html, method


def test_monte_carlo_in_the_calculator_draws_the_distribution(officer):
    data = {**_initial("monte_carlo_income"), "paths": "2000", "seed": "7"}
    r = officer.post("/valuation/", data)
    html = r.content.decode()
    assert r.status_code == 200, html[-2000:]
    assert "<svg" in html and 'data-testid="range"' in html


def test_calculator_saves_a_record_for_a_right_and_the_result_page_and_pdf(officer):
    make_patent()
    r = officer.post("/valuation/", {**INCOME, "save": "1", "rights": "ZL201410362077.3"})
    assert r.status_code == 302 and "/valuation/records/VA" in r.url, r.content.decode()[-2000:]
    page = officer.get(r.url).content.decode()
    number = r.url.rstrip("/").rsplit("/", 1)[1]
    assert 'data-testid="market-value"' in page and "466,284.75" in page and number in page
    assert 'data-testid="lender-values"' in page and 'data-testid="inputs"' in page
    assert f"/valuation/records/{number}/report.pdf" in page
    pdf = officer.get(f"/valuation/records/{number}/report.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    text = _pdf_text(pdf.content)
    assert number in text and "466,284.75" in text
    assert "市场价值" in text and "最高可贷额度" in text
    for code in ("income_stream", "ltv_cap", "pending_signoff", "internal", "invention"):
        assert code not in text, code


def test_calculator_refuses_an_unknown_right_next_to_the_field(officer):
    r = officer.post("/valuation/", {**INCOME, "save": "1", "rights": "ZL209999999999.9"})
    html = r.content.decode()
    assert r.status_code == 400 and 'class="field-error"' in html and "ZL209999999999.9" in html


def test_negotiated_valuation_form_and_signatures_in_the_report(officer):
    make_patent()
    r = officer.post("/valuation/records/new/", {"basis": "negotiated", "rights": "ZL201410362077.3",
                                                  "market_value": "2,000,000", "agreement_rule": "两家评估均值"})
    assert r.status_code == 302, r.content.decode()[-2000:]
    page = officer.get(r.url).content.decode()
    assert 'data-testid="signoffs"' in page and "2,000,000.00" in page
    number = r.url.rstrip("/").rsplit("/", 1)[1]
    text = _pdf_text(officer.get(f"/valuation/records/{number}/report.pdf").content)
    assert number in text and "两家评估均值" in text and "2,000,000.00" in text
    bad = officer.post("/valuation/records/new/", {"basis": "external", "rights": "ZL201410362077.3",
                                                    "market_value": "100"})
    assert bad.status_code == 400 and bad.content.decode().count('class="field-error"') >= 3


def test_record_page_with_chart_and_rosters(officer, make_user):
    make_patent()
    user = make_user("bank_officer", "bank", username="valuer2")
    record = services.create_valuation(actor=user, data={
        "rights": [{"kind": "invention", "number": "ZL201410362077.3"}], "method": "monte_carlo_income",
        "inputs": {"revenue": "1000000", "years": 5, "split": "0.25", "life": 5, "rate": "0.12", "hazard": "0.02",
                   "tax_rate": "0.25", "paths": 2000, "seed": 1}})
    client = Client()
    client.post("/login/", {"username": "valuer2", "password": PASSWORD})
    page = client.get(f"/valuation/records/{record.valuation_no}/").content.decode()
    assert 'data-testid="distribution"' in page and "<svg" in page and 'data-testid="trace"' in page
    agency = services.admit_agency(actor=SYSTEM, data={"name": "示范评估", "licence_no": "X1", "qualification": "资质",
                                                       "ip_kinds": ["invention"]})
    roster = Client().get("/valuation/agencies/").content.decode()
    assert "示范评估" in roster and 'data-testid="listing-agencies"' in roster
    detail = Client().get(f"/valuation/agencies/{agency.pk}/").content.decode()
    assert 'data-testid="track-record"' in detail and "admission" not in detail
    services.add_expert(actor=SYSTEM, data={"name": "王专家", "fields_ipc": ["H04L"]})
    assert "王专家" in Client().get("/valuation/experts/?field=H04L").content.decode()


def test_valuation_list_filters_sorts_and_exports(officer, make_user):
    make_patent()
    officer.post("/valuation/", {**INCOME, "save": "1", "rights": "ZL201410362077.3"})
    page = officer.get("/valuation/records/?sort=-market_value").content.decode()
    assert 'data-testid="listing-valuations"' in page and "466,284.75" in page
    csv = officer.get("/valuation/records/?export=csv")
    body = csv.content.decode("utf-8-sig")
    assert csv.status_code == 200 and "466284.75" in body and "VA" in body and ",internal," not in body
    assert "466,284.75" not in officer.get("/valuation/records/?basis=negotiated").content.decode()


def test_agency_page_lists_its_valuations_for_its_appraiser(make_user, make_org):
    make_patent()
    org = make_org("appraisal_agency", name="示范评估机构")
    appraiser = make_user("appraiser", username="appr", org=org)
    agency = services.admit_agency(actor=SYSTEM, data={"name": "示范评估机构", "licence_no": "Y1",
                                                       "qualification": "资产评估资格", "organisation_id": org.pk})
    record = services.create_valuation(actor=appraiser, data={
        "rights": [{"kind": "invention", "number": "ZL201410362077.3"}], "basis": "external",
        "market_value": "1500000", "agency_id": agency.pk, "report_no": "R-1", "appraisers": ["张三"]})
    client = Client()
    client.post("/login/", {"username": "appr", "password": PASSWORD})
    roster = client.get("/valuation/agencies/").content.decode()
    assert 'data-testid="own-agency"' in roster and f"/valuation/agencies/{agency.pk}/" in roster
    detail = client.get(f"/valuation/agencies/{agency.pk}/").content.decode()
    assert record.valuation_no in detail and 'data-testid="agency-valuations"' in detail
    assert ">1<" in detail  # the track record counts it


def test_enterprise_page_radar(officer, make_org):
    org = make_org("enterprise", name=PLEDGOR["name"], uscc=PLEDGOR["id_number"])
    make_patent()
    r = officer.post(f"/valuation/enterprises/{org.pk}/", {"scheme": "composite", "rd_expense": "500000",
                                                           "sales": "10000000"})
    assert r.status_code == 302
    page = officer.get(f"/valuation/enterprises/{org.pk}/").content.decode()
    assert 'data-testid="radar"' in page and 'data-testid="score"' in page
    assert 'data-testid="top-factors"' in page
    assert ">composite<" not in page and "北京时间" in page
    bad = officer.post(f"/valuation/enterprises/{org.pk}/", {"scheme": "composite", "staff_total": "10",
                                                             "tech_staff": "20"})
    assert bad.status_code == 400 and 'class="field-error"' in bad.content.decode()


def test_bundle_form_values_the_package_and_saves_it(officer):
    make_patent()
    make_patent(number="ZL201510000001.0", title="一种数据压缩方法")
    data = {"method": "bundle", "rights_inputs": "ZL201410362077.3 A 5,000,000 20\nZL201510000001.0 A 3000000 10",
            "growth": "3", "years": "6", "rate": "12", "hazard": "2", "tax_rate": "25", "paths": "2000", "seed": "5"}
    r = officer.post("/valuation/", data)
    assert r.status_code == 302, re.findall(r'field-error[^>]*>([^<]*)', r.content.decode())
    page = officer.get(r.url).content.decode()
    assert "ZL201510000001.0" in page and 'data-testid="distribution"' in page
    bad = officer.post("/valuation/", {**data, "rights_inputs": "ZL201410362077.3 A 5000000 20"})
    assert bad.status_code == 400 and "[data-field" not in bad.content.decode()
    assert 'data-field="rights_inputs"' in bad.content.decode() and 'class="field-error"' in bad.content.decode()


def test_the_operator_admits_an_agency_and_a_regulator_suspends_it(make_user, make_org):
    org = make_org("appraisal_agency", name="华岭示范资产评估事务所")
    make_user("admin", username="op")
    make_user("regulator_user", username="reg")
    make_user("bank_officer", "bank", username="bank1")
    operator, regulator, bank = Client(), Client(), Client()
    for client, name in ((operator, "op"), (regulator, "reg"), (bank, "bank1")):
        client.post("/login/", {"username": name, "password": PASSWORD})
    page = operator.get("/valuation/agencies/").content.decode()
    assert 'data-testid="admit-agency"' in page and "华岭示范资产评估事务所" in page
    assert 'data-testid="admit-agency"' not in bank.get("/valuation/agencies/").content.decode()
    assert bank.post("/valuation/agencies/", {"admit-licence_no": "Z9"}).status_code == 403
    missing = operator.post("/valuation/agencies/", {"admit-organisation": str(org.pk)})
    assert missing.status_code == 400 and missing.content.decode().count('class="field-error"') >= 2
    r = operator.post("/valuation/agencies/", {"admit-organisation": str(org.pk), "admit-licence_no": "44010020161234",
                                               "admit-qualification": "资产评估资格", "admit-specialities_ipc": "G06F, H04L",
                                               "admit-ip_kinds": ["patent", "trademark"]})
    assert r.status_code == 302, r.content.decode()[-2000:]
    detail = regulator.get(r.url).content.decode()
    assert "G06F" in detail and 'data-testid="roster-status"' in detail
    r2 = regulator.post(r.url, {"status-status": "suspended", "status-reason": "年度考核未通过"})
    assert r2.status_code == 302
    after = regulator.get(r.url).content.decode()
    assert "年度考核未通过" in after and ">suspended<" not in after
    assert "华岭示范资产评估事务所" not in operator.get("/valuation/agencies/").content.decode().split(
        'data-testid="admit-agency"')[1]


def test_indicator_scoring_of_a_right(officer):
    make_patent()
    assert 'data-testid="score-form"' in officer.get("/valuation/score/").content.decode()
    r = officer.get("/valuation/score/", {"right": "ZL201410362077.3", "profile": "finance", "industry": "machinery",
                                          "basis": "sales", "level_advancement": "10"})
    html = r.content.decode()
    assert r.status_code == 200 and 'data-testid="value-score"' in html and 'data-testid="degrees"' in html
    assert 'data-testid="split"' in html and " %" in html
    text = re.sub(r"<[^>]+>", " ", html)
    assert "maintained_over_10_years" not in text and "finance" not in text and "non_circumventability" not in text
    bad = officer.get("/valuation/score/", {"right": "ZL209999999999.9", "profile": "finance", "basis": "sales"})
    assert bad.status_code == 400 and 'class="field-error"' in bad.content.decode()
