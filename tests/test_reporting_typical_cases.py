"""Typical cases drawn from closed disposals (issue 14 point 7): a case published on a loan whose disposal
settled carries the disposal's anonymised facts — channel, month it closed, proceeds band and realised ÷
liquidation value, share of the claim recovered, whether the rights were transferred — through the API's
typed answers and on the public page, without the buyer or any amount to the fen; a loan whose disposal is
still open carries none; regulators list the loans to draw from, other roles may not."""

from __future__ import annotations

import pytest
from django.test import Client

from ippledge.core import business_date
from ippledge.core import services as core
from ippledge.core.actors import SYSTEM
from ippledge.core.errors import PermissionDenied
from ippledge.disposal.models import DisposalCase
from ippledge.reporting import services as reporting

from .conftest import PASSWORD, Api
from .test_disposal_api import BUYER_USCC, World

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(db):
    world = World()
    world.loss()
    org = core.create_organisation(actor=SYSTEM, name="典型案例监管局", kind="regulator")
    world.regulator_user = core.create_user(actor=SYSTEM, username="tc-regulator", password=PASSWORD,
                                            org_id=org.pk, roles=["regulator_user"])
    world.c["regulator"] = Api(core.issue_token(user=world.regulator_user))
    return world


def _day():
    return business_date.today().isoformat()


def _publish(w, title="处置后的典型案例"):
    r = w.regulator.post("/case-studies", {"loan_no": w.loan_no, "title": title, "body": "……", "consent": True})
    assert r.status_code == 201, r.data
    return r.data


def _sold(w, proceeds="1000000"):
    """A negotiated sale to the buyer: principal 1,200,000, interest 30,000, costs 50,000 (the issue's
    example), appraised at 1,500,000."""
    no = w.open("negotiated_sale").data["disposal_no"]
    DisposalCase.objects.filter(disposal_no=no).update(claim_interest=3_000_000)
    r = w.officer.post(f"/disposals/{no}/agreement", {"value": proceeds, "agreement_ref": "转让协议",
                                                       "buyer_org_id": w.buyer_org.pk})
    assert r.status_code == 200, r.data
    s = w.officer.post(f"/disposals/{no}/settlement", {"proceeds": proceeds, "costs": "50000", "date": _day()})
    assert s.status_code == 201, s.data
    return s.data


def test_a_case_on_a_sold_loan_carries_the_disposals_anonymised_facts(w, anon):
    s = _sold(w)
    assert s["shortfall"] == "280000.00"
    published = _publish(w)
    expected = [{"channel": "negotiated_sale", "settled_month": business_date.today().strftime("%Y-%m"),
                 "proceeds_band": "100万–1000万", "realised_to_appraised": "0.67", "recovery_share": "0.78",
                 "rights_transferred": True}]
    assert published["facts"]["disposals"] == expected
    assert published["facts"]["ip_kind"] == "patent"  # the loan's facts are still there
    public = anon.get("/public/case-studies")
    assert public.status_code == 200
    assert public.data[0]["facts"]["disposals"] == expected
    # No buyer, no pledgor, no amount to the fen, no day.
    text = public.content.decode()
    for secret in ("买受科技", BUYER_USCC, w.ent_org.name, "1000000", "280000", _day()):
        assert secret not in text


def test_the_public_page_shows_the_disposal_in_words(w):
    from django.urls import reverse

    _sold(w)
    _publish(w)
    page = Client().get(reverse("reporting:public"))
    assert page.status_code == 200
    html = page.content.decode()
    cases = html[html.index('data-testid="cases"'):]
    assert "67 %" in cases and "78 %" in cases and "100 万元–1000 万元" in cases
    assert "negotiated_sale" not in cases  # the channel by its label, never the code
    assert "买受科技" not in cases


def test_a_licensing_case_recovered_in_full_keeps_the_rights_with_the_pledgor(w):
    no = w.open("licensing", operator_org_id=w.buyer_org.pk).data["disposal_no"]
    r = w.buyer.post(f"/disposals/{no}/licence-income", {"amount": "2000000", "date": _day()})
    assert r.status_code == 201, r.data
    assert DisposalCase.objects.get(disposal_no=no).status == "settled"
    facts = _publish(w)["facts"]["disposals"]
    assert len(facts) == 1
    assert (facts[0]["channel"], facts[0]["recovery_share"], facts[0]["rights_transferred"],
            facts[0]["proceeds_band"]) == ("licensing", "1.00", False, "100万–1000万")


def test_an_open_disposal_gives_no_facts_and_a_loan_without_one_neither(w):
    assert _publish(w, "尚未处置")["facts"]["disposals"] == []
    w.open("auction")
    assert _publish(w, "处置中")["facts"]["disposals"] == []


def test_regulators_list_the_loans_to_draw_cases_from_and_others_may_not(w):
    from ippledge.core.models import User

    assert reporting.case_candidates(actor=w.regulator_user) == []
    _sold(w)
    rows = reporting.case_candidates(actor=w.regulator_user)
    assert [(r["loan_no"], r["channel"]) for r in rows] == [(w.loan_no, "negotiated_sale")]
    officer = User.objects.get(username="dp-officer")
    with pytest.raises(PermissionDenied):
        reporting.case_candidates(actor=officer)
    # Publishing stays the regulators' (the bank may not draw a case from its own disposal).
    r = w.officer.post("/case-studies", {"loan_no": w.loan_no, "title": "t", "body": "b", "consent": True})
    assert r.status_code == 403


# --- the regulator's page -----------------------------------------------------------------------------

def _page(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_regulator_draws_a_case_from_a_closed_disposal_on_the_page(w):
    from django.urls import reverse

    url = reverse("reporting:publish_case")
    client = _page(w.regulator_user)
    empty = client.get(url)
    assert empty.status_code == 200 and 'data-testid="no-closed-disposals"' in empty.content.decode()
    _sold(w)
    page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200 and f'value="{w.loan_no}"' in html and "negotiated_sale" not in html
    assert 'data-testid="publish-case-link"' in client.get(reverse("reporting:public")).content.decode()
    # Bad input: no consent, nothing chosen, both a closed disposal and another loan, an unknown loan.
    body = {"closed": w.loan_no, "title": "页面典型案例", "body": "正文", "consent": "on"}
    for bad, field in (({"consent": ""}, "consent"), ({"closed": ""}, "loan_no"),
                       ({"loan_no": "LN2026999999"}, None), ({"closed": "", "loan_no": "LN2099000001"}, None),
                       ({"closed": "LN0000000000"}, "closed"), ({"title": ""}, "title")):
        r = client.post(url, {**body, **bad})
        assert r.status_code == 400, bad
        text = r.content.decode()
        assert "alert-error" in text
        if field:
            assert f'id="id_{field}-error"' in text, (bad, text[text.find("alert-error"):][:1500])
    from ippledge.reporting.models import CaseStudy

    assert not CaseStudy.objects.exists()
    r = client.post(url, body)
    assert r.status_code == 302, r.content.decode()[:2000]
    case = CaseStudy.objects.get()
    assert case.title == "页面典型案例" and case.facts["disposals"][0]["channel"] == "negotiated_sale"
    public = Client().get(reverse("reporting:public")).content.decode()
    assert "页面典型案例" in public and "78 %" in public


def test_other_roles_may_not_open_the_publish_page(w):
    from django.urls import reverse

    from ippledge.core.models import User

    url = reverse("reporting:publish_case")
    for username in ("dp-officer", "dp-exchange", "dp-ent"):
        client = _page(User.objects.get(username=username))
        assert client.get(url).status_code == 403
        assert client.post(url, {"loan_no": w.loan_no, "title": "t", "body": "b", "consent": "on"}).status_code == 403
    assert Client().get(url).status_code == 302  # to the login page
