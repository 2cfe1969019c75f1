"""Granted maintenance-fee relief (notice item 十六) in monitoring's annuity amounts: monitoring reads the
disposal app's decision through the reader the disposal app registers (it never imports it), and a right
with relief shows the reduced amount on the same due date — in the annuity position, an annuity alert's
detail and required action, and the registrar's queue page."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from ippledge.core import business_date
from ippledge.monitoring import annuities, rules
from ippledge.rights import rules as rights_rules
from ippledge.rights.models import Right
from ippledge.rights.services import find_right

from .test_disposal_api import PATENT, World

pytestmark = pytest.mark.django_db


def test_the_official_fee_by_patent_year_and_the_relief_taken_off():
    filed = dt.date(2014, 7, 28)
    assert rules.annuity_amount("invention", filed, dt.date(2027, 7, 28)).fee == 600_000  # year 14
    assert rules.annuity_amount("invention", filed, dt.date(2016, 7, 28)).year == 3
    half = rules.annuity_amount("invention", filed, dt.date(2027, 7, 28), Decimal("0.5"))
    assert (half.fee, half.due, half.reduction) == (600_000, 300_000, Decimal("0.5"))
    assert rules.annuity_amount("utility_model", filed, dt.date(2019, 7, 28)).fee == 120_000  # year 6
    assert rules.annuity_amount("trademark", filed, dt.date(2019, 7, 28)) is None
    assert rules.annuity_amount("utility_model", filed, dt.date(2026, 7, 28)) is None  # beyond year 10
    assert rules.annuity_amount("invention", filed, dt.date(2027, 7, 28), Decimal("1")).due == 0


def test_an_annuity_alert_carries_the_amount_after_relief():
    state = rights_rules.RightState(**{**{f: None for f in rights_rules.RightState.__dataclass_fields__},
                                       "legal_state": "in_force", "annuity_due_date": dt.date(2027, 7, 28)})
    found = rules.right_conditions(pledge_id=1, right_id=2, kind="invention", state=state, on=dt.date(2027, 7, 1),
                                   debt_due=None, leads=rules.Leads(), filing_date=dt.date(2014, 7, 28),
                                   fee_reduction=Decimal("0.3"))
    due = next(c for c in found if c.kind == "annuity_due")
    assert due.detail["annuity_amount"] == "4200.00" and due.detail["annuity_fee"] == "6000.00"
    assert due.detail["fee_relief_percent"] == "30"


def test_a_right_with_granted_relief_shows_the_reduced_annuity(db):
    w = World()
    w.loss()
    right = find_right("invention", PATENT)
    Right.objects.filter(pk=right.pk).update(annuity_paid_through=dt.date(2027, 7, 27))  # the next annuity known
    right.refresh_from_db()
    full = annuities.annuity_position(right)
    assert (full.due_date, full.fee, full.due, full.reduction) == (dt.date(2027, 7, 28), 600_000, 600_000, None)
    no = w.open("agreed_setoff").data["disposal_no"]
    assert w.officer.post(f"/disposals/{no}/agreement", {"value": "1400000", "agreement_ref": "折价协议1"}).status_code == 200
    assert w.ent.post(f"/disposals/{no}/agreement/confirm").status_code == 200
    day = business_date.today().isoformat()
    assert w.officer.post(f"/disposals/{no}/settlement", {"proceeds": "1400000", "date": day}).status_code == 201
    rid = w.officer.post("/fee-relief", {"right": {"kind": "invention", "number": PATENT}}).data["id"]
    assert annuities.annuity_position(right).due == 600_000  # pending: nothing off yet
    assert w.registrar.post(f"/fee-relief/{rid}/decision", {"approve": True, "reduction_percent": "50"}).status_code == 200
    relieved = annuities.annuity_position(right)
    assert (relieved.due_date, relieved.fee, relieved.due) == (dt.date(2027, 7, 28), 600_000, 300_000)
    assert annuities.reductions([right.pk, right.pk + 999]) == {right.pk: Decimal("0.5")}
    from django.test import Client

    from ippledge.core.models import User

    client = Client()
    client.force_login(User.objects.get(username="dp-registrar"))
    page = client.get("/disposals/fee-relief/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "2027-07-28" in html and "3,000.00" in html and "6,000.00" in html
