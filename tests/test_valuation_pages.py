"""Valuation pages: calculator with trace, record with its distribution chart, rosters, enterprise radar."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from ippledge.core.actors import SYSTEM
from ippledge.valuation import services

from .conftest import PASSWORD
from .registry_fixtures import PLEDGOR, make_patent

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(make_user):
    make_user("bank_officer", "bank", username="valuer")
    client = Client()
    client.post("/login/", {"username": "valuer", "password": PASSWORD})
    return client


def test_calculator_shows_value_and_trace(officer):
    page = officer.get("/valuation/")
    assert page.status_code == 200 and 'data-testid="calculator"' in page.content.decode()
    inputs = {"income": ["1000000", "1000000", "1000000"], "split_rate": "0.25", "tax_rate": "0.25",
              "discount_rate": "0.10"}
    r = officer.post("/valuation/", {"method": "income", "inputs": json.dumps(inputs), "factor_mode": "exact"})
    html = r.content.decode()
    assert r.status_code == 200 and "466284.75" in html and 'data-testid="trace"' in html
    bad = officer.post("/valuation/", {"method": "income", "inputs": "not json"})
    assert bad.status_code == 400 and 'role="alert"' in bad.content.decode()


def test_monte_carlo_in_the_calculator_draws_the_distribution(officer):
    inputs = {"revenue": {"dist": "lognormal", "mean": "1000000", "sigma": "0.3"}, "growth": "0.03", "years": 5,
              "split": "0.25", "life": 5, "rate": "0.12", "hazard": "0.02", "tax_rate": "0.25", "paths": 2000,
              "seed": 7}
    r = officer.post("/valuation/", {"method": "monte_carlo_income", "inputs": json.dumps(inputs)})
    assert r.status_code == 200, r.content.decode()[:3000]
    assert "<svg" in r.content.decode()


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
    agency = services.admit_agency(actor=SYSTEM, data={"name": "示范评估", "licence_no": "X1", "qualification": "资质"})
    assert "示范评估" in Client().get("/valuation/agencies/").content.decode()
    assert 'data-testid="track-record"' in Client().get(f"/valuation/agencies/{agency.pk}/").content.decode()
    services.add_expert(actor=SYSTEM, data={"name": "王专家", "fields_ipc": ["H04L"]})
    assert "王专家" in Client().get("/valuation/experts/?field=H04L").content.decode()


def test_enterprise_page_radar(officer, make_org):
    org = make_org("enterprise", name=PLEDGOR["name"], uscc=PLEDGOR["id_number"])
    make_patent()
    r = officer.post(f"/valuation/enterprises/{org.pk}/", {"scheme": "composite", "rd_expense": "500000",
                                                           "sales": "10000000"})
    assert r.status_code == 302
    page = officer.get(f"/valuation/enterprises/{org.pk}/").content.decode()
    assert 'data-testid="radar"' in page and 'data-testid="score"' in page
    assert 'data-testid="top-factors"' in page


def test_calculator_saves_a_record_for_a_right(officer):
    make_patent()
    inputs = {"income": ["1000000", "1000000", "1000000"], "split_rate": "0.25", "tax_rate": "0.25",
              "discount_rate": "0.10"}
    r = officer.post("/valuation/", {"method": "income", "inputs": json.dumps(inputs), "save": "1",
                                     "rights": "invention ZL201410362077.3"})
    assert r.status_code == 302 and "/valuation/records/VA" in r.url
    assert 'data-testid="market-value"' in officer.get(r.url).content.decode()
