"""A trademark's renewable term in the income period (issue 10.2): n = min(economic life, remaining legal
term) (valuation-methods.md "Income period"), and a trademark's legal term is renewable indefinitely by
10-year renewals (registry-rules.md §2), so when renewal is expected — the default for a mark in force —
its current term does not stop the income period: n is the economic life.  ``renewal_expected: false``
values the current term only.  The trace says which term bound n."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from ippledge.core import business_date
from ippledge.core.actors import SYSTEM
from ippledge.core.errors import ValidationFailed
from ippledge.rights import services as rights
from ippledge.valuation.engine.bundle import value_bundle
from ippledge.valuation.engine.compute import compute
from ippledge.valuation.engine.simulation import monte_carlo_income
from ippledge.valuation.engine.trace import Trace

from .registry_fixtures import PLEDGOR, make_patent

INCOME = {"income": ["100000"] * 10, "split_rate": "1", "tax_rate": "0", "discount_rate": "0",
          "economic_life": "8"}
MC = {"revenue": "100000", "growth": "0", "years": 10, "split": "1", "life": 8, "rate": "0", "hazard": "0",
      "tax_rate": "0", "horizon": 1, "paths": 200, "seed": 3}
TRADEMARK = {"kind": "trademark", "number": "12345678"}
PATENT = {"kind": "invention", "number": "ZL201410362077.3"}


def _steps(trace: list[dict]) -> dict:
    return {step["key"]: step["value"] for step in trace}


# ------------------------------------------------------------------------------------ the engine

def test_a_renewable_term_expected_to_be_renewed_does_not_bound_the_income_period():
    renewed = compute("income", {**INCOME, "remaining_legal_years": "2", "renewal_expected": True})
    assert (renewed["period_years"], renewed["period_bound"]) == (8, "economic_life")
    assert renewed["value"] == Decimal("800000.00")
    steps = _steps(renewed["trace"])
    assert steps["period.remaining_legal_years.renewed"] == 2  # shown, and said not to bind
    current = compute("income", {**INCOME, "remaining_legal_years": "2", "renewal_expected": False})
    assert (current["period_years"], current["period_bound"]) == (2, "remaining_legal_years")
    assert current["value"] == Decimal("200000.00")
    # Without the input the engine keeps the term as given (the caller who knows the right says so).
    assert compute("income", {**INCOME, "remaining_legal_years": "2"})["period_years"] == 2


def test_the_monte_carlo_income_period_follows_the_same_rule():
    renewed = monte_carlo_income({**MC, "max_years": 2, "renewal_expected": "true"}, None, Trace())
    current = monte_carlo_income({**MC, "max_years": 2, "renewal_expected": "false"}, None, Trace())
    assert (renewed["p50"], current["p50"]) == (Decimal("800000.00"), Decimal("200000.00"))


def test_renewal_expected_is_a_yes_or_no():
    with pytest.raises(ValidationFailed) as exc:
        compute("income", {**INCOME, "remaining_legal_years": "2", "renewal_expected": "perhaps"})
    assert "renewal_expected" in exc.value.fields


def _bundle(trademark_extra: dict) -> dict:
    line = {"revenue": "100000", "growth": "0", "years": 10, "split": "1", "life": 8, "rate": "0", "hazard": "0",
            "tax_rate": "0"}
    rights_in = [{**PATENT, **line, "max_years": 5}, {**TRADEMARK, **line, "max_years": 2, **trademark_extra}]
    trace = Trace()
    out = value_bundle(rights_in, paths=200, seed=1, trace=trace)
    return {"rights": {r["kind"]: r for r in out["rights"]}, "trace": _steps(trace.as_list())}


def test_a_bundles_trademark_is_valued_over_its_economic_life_when_renewal_is_expected():
    default = _bundle({})  # a trademark's renewal is expected unless the caller says otherwise
    assert default["rights"]["trademark"]["income_period_cap"] == 10
    assert default["rights"]["trademark"]["mean"] == Decimal("800000.00")
    # The patent's fixed term still binds.
    assert default["rights"]["invention"]["income_period_cap"] == 5
    assert default["rights"]["invention"]["mean"] == Decimal("500000.00")
    current = _bundle({"renewal_expected": False})
    assert current["rights"]["trademark"]["income_period_cap"] == 2
    assert current["rights"]["trademark"]["mean"] == Decimal("200000.00")
    terms = {row["right"]: row for row in default["trace"]["bundle.legal_terms"]}
    assert terms["trademark 12345678"]["renewal_expected"] is True
    assert terms["invention ZL201410362077.3"]["renewal_expected"] is False


def test_only_a_trademark_term_is_renewable():
    line = {"revenue": "100000", "years": 10, "split": "1", "rate": "0"}
    with pytest.raises(ValidationFailed) as exc:
        value_bundle([{**PATENT, **line, "max_years": 5, "renewal_expected": True}], paths=10, seed=1, trace=Trace())
    assert "rights[0].renewal_expected" in exc.value.fields


# ------------------------------------------------------------------------ through the valuation service

@pytest.fixture
def bank(api_as):
    client, _ = api_as("bank_officer", "bank")
    return client


def _trademark_with_two_years_left():
    # 10 years from registration: registered 7½ years ago, 2½ years (two whole years) are left.
    registered = business_date.today() - dt.timedelta(days=round(7.5 * 365.25))
    rights.create_right(actor=SYSTEM, data={**TRADEMARK, "owners": [PLEDGOR], "registration_date":
                                            registered.isoformat()})


@pytest.mark.django_db
@pytest.mark.parametrize(("extra", "years", "bound"), [({}, 8, "economic_life"),
                                                       ({"renewal_expected": True}, 8, "economic_life"),
                                                       ({"renewal_expected": False}, 2, "remaining_legal_years")])
def test_a_trademark_with_two_years_left_and_an_economic_life_of_eight(bank, extra, years, bound):
    _trademark_with_two_years_left()
    r = bank.post("/valuations", {"rights": [TRADEMARK], "method": "income", "inputs": {**INCOME, **extra}})
    assert r.status_code == 201, r.data
    v = r.data
    assert (v["result"]["period_years"], v["result"]["period_bound"]) == (years, bound)
    assert v["inputs"]["remaining_legal_years"] == "2"
    assert _steps(v["trace"])["period.bound"] == bound


@pytest.mark.django_db
def test_a_trademark_monte_carlo_valuation_expects_renewal(bank):
    _trademark_with_two_years_left()
    r = bank.post("/valuations", {"rights": [TRADEMARK], "method": "monte_carlo_income", "inputs": MC})
    assert r.status_code == 201, r.data
    assert r.data["market_value"] == "800000.00"
    r = bank.post("/valuations", {"rights": [TRADEMARK], "method": "monte_carlo_income",
                                  "inputs": {**MC, "renewal_expected": False}})
    assert r.data["market_value"] == "200000.00"


@pytest.mark.django_db
def test_a_patent_term_cannot_be_expected_to_renew(bank):
    make_patent()
    r = bank.post("/valuations", {"rights": [PATENT], "method": "income",
                                  "inputs": {**INCOME, "renewal_expected": True}})
    assert r.status_code == 422 and "renewal_expected" in r.data["error"]["fields"]


@pytest.mark.django_db
@pytest.mark.parametrize(("extra", "cap"), [({}, 10), ({"renewal_expected": False}, 2)])
def test_a_patent_and_trademark_bundle_values_the_trademark_over_its_economic_life(bank, extra, cap):
    make_patent()
    _trademark_with_two_years_left()
    line = {"revenue": "100000", "growth": "0", "years": 10, "split": "1", "life": 8, "rate": "0", "hazard": "0",
            "tax_rate": "0"}
    items = [{**PATENT, **line}, {**TRADEMARK, **line, **extra}]
    r = bank.post("/valuations", {"rights": [PATENT, TRADEMARK], "method": "bundle",
                                  "inputs": {"rights": items, "paths": 200, "seed": 5}})
    assert r.status_code == 201, r.data
    rows = {row["kind"]: row for row in r.data["result"]["rights"]}
    assert rows["trademark"]["income_period_cap"] == cap
    assert rows["invention"]["income_period_cap"] < 10  # the patent's fixed term (to 2034) still binds
