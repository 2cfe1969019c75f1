"""Disposal pages (issue 14.6, 14.7): the bank's and the exchange's cases, a case's page with its forms
(publish, deposit, close, settle, withdraw) and their refusals in words, the public listings (anonymous:
no personal data; a registered organisation's user bids from them), the registrar's fee-relief queue and
realised ÷ appraised; another bank gets 404 and roles without a part get 403."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from ippledge.core import business_date
from ippledge.disposal import services as disposal

from .conftest import PASSWORD
from .registry_fixtures import PLEDGOR, PLEDGOR_USCC
from .test_disposal_api import PATENT, w  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def _client(username):
    client = Client()
    assert client.post("/login/", {"username": username, "password": PASSWORD}).status_code == 302
    return client


def _zh(vocabulary_name: str, code: str) -> str:
    from django.utils import translation

    from ippledge.core import vocabulary

    with translation.override("zh-hans"):
        return str(vocabulary.label(vocabulary_name, code))


def _local(minutes):
    return timezone.localtime(timezone.now() + dt.timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture
def listed(w):  # noqa: F811
    """A loss loan's exchange listing with an open round published by the exchange through its page."""
    w.loss()
    no = w.open("exchange_listing", exchange_org_id=w.exchange_org.pk).data["disposal_no"]
    exchange = _client("dp-exchange")
    r = exchange.post(f"/disposals/{no}/", {"action": "round", "round-reserve": "1000000", "round-increment": "10000",
                                            "round-deposit": "50000", "round-opens_at": _local(-2),
                                            "round-closes_at": _local(60)})
    assert r.status_code == 302, r.content.decode()[-3000:]
    return w, no, exchange


def test_the_bank_lists_its_cases_with_labels_and_another_bank_sees_none(listed):
    world, no, _exchange = listed
    page = _client("dp-officer").get("/disposals/").content.decode()
    assert no in page and world.loan_no in page
    assert _zh("disposal.DisposalCase.channel", "exchange_listing") in page
    assert ">exchange_listing<" not in page and "1,200,000.00" in page
    filtered = _client("dp-officer").get("/disposals/?status=settled").content.decode()
    assert no not in filtered
    other = _client("dp-officer_b")
    assert no not in other.get("/disposals/").content.decode()
    assert other.get(f"/disposals/{no}/").status_code == 404
    assert other.post(f"/disposals/{no}/", {"action": "withdraw", "withdraw-reason": "x"}).status_code == 404
    assert _client("dp-registrar").get("/disposals/").status_code == 403
    assert Client().get("/disposals/").status_code == 302  # to the login page


def test_the_exchange_runs_the_round_and_the_bank_settles_on_the_page(listed, monkeypatch):
    world, no, exchange = listed
    page = exchange.get(f"/disposals/{no}/").content.decode()
    assert 'data-testid="deposit-form"' in page and 'data-testid="close-form"' in page
    assert 'data-testid="settle-form"' not in page and "csrfmiddlewaretoken" in page
    bank = _client("dp-officer")
    bank_page = bank.get(f"/disposals/{no}/").content.decode()
    assert 'data-testid="deposit-form"' not in bank_page  # the exchange's rounds are the exchange's act
    assert bank.post(f"/disposals/{no}/", {"action": "close"}).status_code == 403
    # Too early to close: the refusal is in words, never a code.
    early = exchange.post(f"/disposals/{no}/", {"action": "close"})
    assert early.status_code == 400
    text = early.content.decode()
    assert "round_still_open" not in text.split('data-error-code="round_still_open"')[-1]
    r = exchange.post(f"/disposals/{no}/", {"action": "deposit", "deposit-bidder_org_id": world.buyer_org.pk,
                                            "deposit-amount": "50000"})
    assert r.status_code == 302
    buyer = _client("dp-buyer")
    r = buyer.post("/disposals/listings/", {"action": "bid", "disposal_no": no,
                                            f"bid-{_case_pk(no)}-amount": "1000000"})
    assert r.status_code == 302, r.content.decode()[-2000:]
    seller_view = exchange.get(f"/disposals/{no}/").content.decode()
    assert "买受科技" in seller_view and "1,000,000.00" in seller_view
    later = timezone.now() + dt.timedelta(hours=2)
    monkeypatch.setattr(disposal, "now", lambda: later)
    assert exchange.post(f"/disposals/{no}/", {"action": "close"}).status_code == 302
    day = business_date.today().isoformat()
    wrong = bank.post(f"/disposals/{no}/", {"action": "settle", "settle-proceeds": "990000", "settle-costs": "50000",
                                            "settle-date": day})
    assert wrong.status_code == 400 and 'data-error-code="proceeds_mismatch"' in wrong.content.decode()
    ok = bank.post(f"/disposals/{no}/", {"action": "settle", "settle-proceeds": "1000000", "settle-costs": "50000",
                                         "settle-date": day})
    assert ok.status_code == 302 and ok["Location"] == f"/disposals/{no}/"
    done = bank.get(f"/disposals/{no}/").content.decode()
    assert 'data-testid="settlement"' in done and 'data-testid="applied-costs">50,000.00' in done
    report = bank.get("/disposals/realised-prices/").content.decode()
    # 1,000,000 fetched against a liquidation value of 1,500,000: 66.7%.
    assert "66.7" in report and "评估所" in report
    assert "66.7" not in _client("dp-officer_b").get("/disposals/realised-prices/").content.decode()


def _case_pk(no):
    from ippledge.disposal.models import DisposalCase

    return DisposalCase.objects.get(disposal_no=no).pk


def test_the_public_listing_shows_what_is_for_sale_without_personal_data(listed):
    world, no, _exchange = listed
    anonymous = Client()
    page = anonymous.get("/disposals/listings/").content.decode()
    assert no in page and "1,000,000.00" in page and "1,500,000.00" in page
    for private in (PLEDGOR["name"], PLEDGOR_USCC, world.loan_no, "知识产权交易所", world.bank_org.name):
        assert private not in page
    assert 'data-testid="bid-form"' not in page
    r = anonymous.post("/disposals/listings/", {"action": "bid", "disposal_no": no})
    assert r.status_code == 302 and r["Location"].startswith("/login/")
    # The pledgor may not buy its own rights: the refusal in words.
    ent = _client("dp-ent")
    refused = ent.post("/disposals/listings/", {"action": "bid", "disposal_no": no,
                                                f"bid-{_case_pk(no)}-amount": "1000000"})
    assert refused.status_code == 400
    body = refused.content.decode()
    assert 'data-error-code="deposit_required"' in body or 'data-error-code="bidder_excluded"' in body
    assert _client("dp-registrar").post("/disposals/listings/", {"action": "bid", "disposal_no": no}).status_code == 403


def test_bad_input_on_the_pages(listed):
    world, no, exchange = listed
    pk = _case_pk(no)
    buyer = _client("dp-buyer")
    for amount in ("abc", "-5", "1" * 40, ""):
        r = buyer.post("/disposals/listings/", {"action": "bid", "disposal_no": no, f"bid-{pk}-amount": amount})
        assert r.status_code == 400
    assert buyer.post("/disposals/listings/", {"action": "bid", "disposal_no": "CZ" + "9" * 40}).status_code == 404
    assert buyer.post("/disposals/listings/", {"action": "nonsense", "disposal_no": no}).status_code == 404
    assert exchange.post(f"/disposals/{no}/", {"action": "nonsense"}).status_code == 404
    r = exchange.post(f"/disposals/{no}/", {"action": "deposit", "deposit-bidder_org_id": "999999",
                                            "deposit-amount": "x"})
    assert r.status_code == 400
    assert _client("dp-officer").get("/disposals/" + "Z" * 300 + "/").status_code == 404
    bank = _client("dp-officer")
    long = bank.post(f"/disposals/{no}/", {"action": "withdraw", "withdraw-reason": "x" * 301})
    assert long.status_code == 400


def test_withdraw_by_the_bank(w):  # noqa: F811
    w.loss()
    no = w.open("auction").data["disposal_no"]
    bank = _client("dp-officer")
    assert 'data-testid="round-form"' in bank.get(f"/disposals/{no}/").content.decode()  # a bank runs an auction
    assert bank.post(f"/disposals/{no}/", {"action": "withdraw", "withdraw-reason": "债务人已清偿"}).status_code == 302
    page = bank.get(f"/disposals/{no}/").content.decode()
    assert 'data-testid="withdraw-form"' not in page, page[page.find('withdraw-form') - 3000:page.find('withdraw-form')]
    assert f'data-testid="case-status">{_zh("disposal.DisposalCase.status", "withdrawn")}<' in page


def test_the_registrar_decides_fee_relief_on_the_queue(w):  # noqa: F811
    from ippledge.core.actors import SYSTEM  # noqa: F401

    w.loss()
    no = w.open("agreed_setoff").data["disposal_no"]
    assert w.officer.post(f"/disposals/{no}/agreement", {"value": "1400000", "agreement_ref": "折价协议1"}).status_code == 200
    assert w.ent.post(f"/disposals/{no}/agreement/confirm").status_code == 200
    day = business_date.today().isoformat()
    bank = _client("dp-officer")
    assert bank.post(f"/disposals/{no}/", {"action": "settle", "settle-proceeds": "1400000", "settle-date": day,
                                           "settle-costs": ""}).status_code == 302
    from ippledge.disposal.models import AcquiredRight, FeeRelief

    held = AcquiredRight.objects.get(case__disposal_no=no)
    assert 'data-testid="apply-form"' in bank.get("/disposals/fee-relief/").content.decode()
    assert _client("dp-officer_b").post("/disposals/fee-relief/", {"action": "apply", "apply-held": held.pk}) \
        .status_code == 403  # another bank holds nothing to apply for
    assert bank.post("/disposals/fee-relief/", {"action": "apply", "apply-held": "999999"}).status_code == 400
    assert bank.post("/disposals/fee-relief/", {"action": "apply", "apply-held": held.pk, "apply-note": "以物抵债"}) \
        .status_code == 302
    assert 'data-testid="apply-form"' not in bank.get("/disposals/fee-relief/").content.decode()  # one live each
    rid = FeeRelief.objects.get(right=held.right).pk
    registrar = _client("dp-registrar")
    page = registrar.get("/disposals/fee-relief/").content.decode()
    assert f'data-testid="relief-{rid}"' in page and 'data-testid="decide-form"' in page and ">pending<" not in page
    assert 'data-testid="decide-form"' not in bank.get("/disposals/fee-relief/").content.decode()
    assert bank.post("/disposals/fee-relief/", {"relief_id": rid, f"decide-{rid}-decision": "approve",
                                                f"decide-{rid}-reduction_percent": "50"}).status_code == 403
    missing = registrar.post("/disposals/fee-relief/", {"relief_id": rid, f"decide-{rid}-decision": "refuse"})
    assert missing.status_code == 400 and 'data-error-code="reason_required"' in missing.content.decode()
    assert registrar.post("/disposals/fee-relief/", {"relief_id": "abc"}).status_code == 404
    assert registrar.post("/disposals/fee-relief/", {"relief_id": "999999"}).status_code == 404
    r = registrar.post("/disposals/fee-relief/", {"relief_id": rid, f"decide-{rid}-decision": "approve",
                                                  f"decide-{rid}-reduction_percent": "50"})
    assert r.status_code == 302
    assert FeeRelief.objects.get(pk=rid).status == "approved"
    assert _client("dp-buyer").get("/disposals/fee-relief/").status_code == 403


def test_no_raw_code_on_the_disposal_pages_in_either_language(listed, monkeypatch):
    """The raw-code checker of tests/test_raw_codes.py over every disposal page with a round, bids and a
    settlement on it (the demo region has no disposal cases), in Chinese and English."""
    from ippledge.core.models import User

    from .test_raw_codes import Checker, VisibleText, _enum_codes

    world, no, exchange = listed
    exchange.post(f"/disposals/{no}/", {"action": "deposit", "deposit-bidder_org_id": world.buyer_org.pk,
                                        "deposit-amount": "50000"})
    _client("dp-buyer").post("/disposals/listings/", {"action": "bid", "disposal_no": no,
                                                      f"bid-{_case_pk(no)}-amount": "1000000"})
    pages = {"dp-exchange": [f"/disposals/{no}/", "/disposals/", "/disposals/listings/"],
             "dp-buyer": ["/disposals/listings/"], None: ["/disposals/listings/"]}
    later = timezone.now() + dt.timedelta(hours=2)
    monkeypatch.setattr(disposal, "now", lambda: later)
    assert exchange.post(f"/disposals/{no}/", {"action": "close"}).status_code == 302
    _client("dp-officer").post(f"/disposals/{no}/", {"action": "settle", "settle-proceeds": "1000000",
                                                     "settle-costs": "50000",
                                                     "settle-date": business_date.today().isoformat()})
    pages["dp-officer"] = [f"/disposals/{no}/", "/disposals/?status=nonsense&sort=nonsense&page=999",
                           "/disposals/realised-prices/", "/disposals/fee-relief/", "/disposals/CZ0/"]
    pages["dp-registrar"] = ["/disposals/fee-relief/?status=nonsense"]
    checker = Checker(codes=_enum_codes(), usernames=set(User.objects.values_list("username", flat=True)))
    findings = []
    for login, urls in pages.items():
        for lang in ("zh-hans", "en"):
            client = Client()
            client.cookies["django_language"] = lang
            if login:
                client.force_login(User.objects.get(username=login))
            for url in urls:
                response = client.get(url)
                assert response.status_code in (200, 404), (url, response.status_code)
                parser = VisibleText()
                parser.feed(response.content.decode())
                for text, header in parser.nodes:
                    findings += [f"{login} {lang} {url}: {x}" for x in checker.text(text, lang=lang, header=header,
                                                                                     url=url)]
    assert not findings, "\n".join(findings)


def test_the_exchange_desk_and_the_navigation_lead_to_the_disposal_pages(listed):
    _world, no, exchange = listed
    desk = exchange.get("/desk/exchange/").content.decode()
    assert 'data-testid="desk-disposals"' in desk and 'href="/disposals/"' in desk
    assert 'href="/disposals/listings/"' in Client().get("/").content.decode()  # public, in everyone's navigation
    assert 'href="/disposals/fee-relief/"' in _client("dp-registrar").get("/").content.decode()
    assert 'href="/disposals/"' not in _client("dp-buyer").get("/").content.decode()
