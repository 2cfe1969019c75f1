"""One rounding rule in valuation (issue 10.3): every amount a valuation records goes to integer fen
through core.money, half up, so 1234.565 yuan is 123457 fen (not the half-even 123456)."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from ippledge.valuation import services
from ippledge.valuation.engine.trace import fen
from ippledge.valuation.models import ValuationRecord

from .registry_fixtures import make_patent

RIGHT = [{"kind": "invention", "number": "ZL201410362077.3"}]


@pytest.fixture
def bank(api_as):
    client, _ = api_as("bank_officer", "bank")
    return client


@pytest.mark.django_db
def test_a_half_fen_from_the_model_is_recorded_half_up(bank, monkeypatch):
    """A model figure at half a fen (here handed back as computed, before any rounding) is stored as
    the fen core.money gives: 1234.565 → 123457, 1000.005 → 100001."""
    make_patent()
    monkeypatch.setattr(services, "compute", lambda **_: {
        "value": Decimal("1234.565"), "p10": Decimal("1000.005"), "p90": Decimal("1500.005"), "trace": []})
    r = bank.post("/valuations", {"rights": RIGHT, "method": "income", "inputs": {}})
    assert r.status_code == 201, r.data
    record = ValuationRecord.objects.get(valuation_no=r.data["valuation_no"])
    assert (record.market_value, record.p10, record.p90) == (123457, 100001, 150001)


@pytest.mark.django_db
def test_an_income_value_at_half_a_fen_is_recorded_half_up(bank):
    make_patent()
    inputs = {"income": ["1234.565"], "split_rate": "1", "tax_rate": "0", "discount_rate": "0"}
    r = bank.post("/valuations", {"rights": RIGHT, "method": "income", "inputs": inputs})
    assert r.status_code == 201, r.data
    assert ValuationRecord.objects.get(valuation_no=r.data["valuation_no"]).market_value == 123457


@pytest.mark.parametrize("value", [Decimal("1234.565"), "1234.565", 1234.565, np.float64(1234.565)])
def test_engine_amounts_round_half_up_to_the_fen(value):
    assert fen(value) == Decimal("1234.57")
    assert fen(-Decimal("1234.565")) == Decimal("-1234.57")
