"""The pledgor confirms an agreed set-off (协议折价) on its own page (issue 14.2): the value shown against
its floor and the appraisal, only the pledgor's users confirm; another enterprise sees nothing, a bank
user may not speak for the pledgor."""

from __future__ import annotations

import pytest
from django.test import Client

from ippledge.core.models import User
from ippledge.disposal.models import DisposalCase

from .test_disposal_api import World

pytestmark = pytest.mark.django_db


def _client(username):
    client = Client()
    client.force_login(User.objects.get(username=username))
    return client


@pytest.fixture
def proposed(db):
    w = World()
    w.loss()
    no = w.open("agreed_setoff").data["disposal_no"]
    assert w.officer.post(f"/disposals/{no}/agreement", {"value": "1400000", "agreement_ref": "折价协议1"}).status_code == 200
    return w, no


def test_the_pledgor_sees_the_value_against_the_floor_and_confirms(proposed):
    w, no = proposed
    ent = _client("dp-ent")
    listed = ent.get("/disposals/set-offs/")
    assert listed.status_code == 200 and no in listed.content.decode()
    assert 'data-testid="setoffs-link"' in ent.get("/disposals/").content.decode()
    page = ent.get(f"/disposals/{no}/set-off/")
    html = page.content.decode()
    assert page.status_code == 200 and 'data-testid="confirm-setoff-form"' in html
    assert "1,400,000.00" in html and "1,050,000.00" in html and "1,500,000.00" in html  # value, floor 70 %, appraisal
    assert ent.post(f"/disposals/{no}/set-off/", {}).status_code == 400  # the box not ticked
    assert DisposalCase.objects.get(disposal_no=no).status == "open"
    done = ent.post(f"/disposals/{no}/set-off/", {"confirmed": "on"})
    assert done.status_code == 302
    case = DisposalCase.objects.get(disposal_no=no)
    assert case.status == "agreed" and case.pledgor_confirmed_by.username == "dp-ent"
    after = ent.get(f"/disposals/{no}/set-off/").content.decode()
    assert 'data-testid="confirm-setoff-form"' not in after
    assert ent.post(f"/disposals/{no}/set-off/", {"confirmed": "on"}).status_code == 403  # confirmed once


def test_another_enterprise_and_the_bank_cannot_confirm_for_the_pledgor(proposed):
    w, no = proposed
    other = _client("dp-buyer")
    assert other.get(f"/disposals/{no}/set-off/").status_code == 404
    assert other.post(f"/disposals/{no}/set-off/", {"confirmed": "on"}).status_code == 404
    assert no not in other.get("/disposals/set-offs/").content.decode()
    bank = _client("dp-officer")
    assert bank.get(f"/disposals/{no}/set-off/").status_code == 403
    assert bank.post(f"/disposals/{no}/set-off/", {"confirmed": "on"}).status_code == 403
    assert bank.get("/disposals/set-offs/").status_code == 403
    assert Client().get(f"/disposals/{no}/set-off/").status_code == 302  # to the sign-in page
    assert _client("dp-ent").get("/disposals/NO-SUCH/set-off/").status_code == 404
    assert DisposalCase.objects.get(disposal_no=no).status == "open"
