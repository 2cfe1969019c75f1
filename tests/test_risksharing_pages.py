"""Risk-sharing pages (issue 13.7): the schemes list with parties, ratios, balance and capacity and the
form that makes a scheme from a template; a scheme's page with rules, enrolled loans, claims and the fund
ledger; the claims list for the bank (filed, recovered) and for a party (its share); a claim's page with
its payments entered by one user of a party and checked by another, and the bank's recoveries.  Another
organisation gets a 404 page; refusals show as words, never codes."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from .conftest import PASSWORD
from .test_risksharing_api import World, world  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def _client(name: str, lang: str = "zh-hans") -> Client:
    client = Client()
    client.cookies["django_language"] = lang
    assert client.post("/login/", {"username": f"rs-{name}", "password": PASSWORD}).status_code == 302
    return client


def _text(response) -> str:
    return response.content.decode()


def _zh(vocabulary_name: str, code: str) -> str:
    from django.utils import translation

    from ippledge.core import vocabulary

    with translation.override("zh-hans"):
        return str(vocabulary.label(vocabulary_name, code))


def _no_codes(html: str, *codes: str) -> None:
    visible = re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)[^>]*>.*?</\1>", "", html, flags=re.S))
    for code in codes:
        assert not re.search(rf"(?<![\w-]){re.escape(code)}(?![\w-])", visible), code


@pytest.fixture
def w(world, db):  # noqa: F811
    return world


@pytest.fixture
def claim(w):
    """An advance-mode scheme of the fund (50 %) and the insurer (30 %) with 2,000,000 in the fund, and
    the filed claim of bank A's 1,000,000 loan now substandard: fund 500,000, insurer 300,000."""
    scheme = w.scheme(mode="advance", parties=[
        {"name": "fund", "kind": "fund", "ratio": "0.5", "organisation_id": w.fund.pk},
        {"name": "insurer", "kind": "insurer", "ratio": "0.3", "organisation_id": w.insurer.pk}])
    w.fund_in(scheme["id"], "2000000")
    loan = w.loan("1000000")
    assert w.enrol(loan, scheme["id"]).status_code == 201
    w.classify(loan, "substandard")
    r = w.claim(loan)
    assert r.status_code == 201, r.data
    return {"scheme": scheme, "loan_no": loan, "id": r.data["id"], "claim_no": r.data["claim_no"]}


# --- schemes -----------------------------------------------------------------------------------------

def test_the_fund_manager_sees_its_scheme_with_parties_balance_and_capacity(w, claim):
    html = _text(_client("fund1").get("/risk-sharing/"))
    assert 'data-testid="listing-schemes"' in html and "测试方案" in html
    assert "广州" in html  # the region in words, not 440100
    assert _zh("risksharing.Scheme.mode", "advance") in html
    assert "50 %" in html and "30 %" in html and "20 %" in html  # the bank bears the rest
    assert "2,000,000.00" in html  # the fund's balance
    assert 'data-testid="from-template-form"' in html
    _no_codes(html, "advance", "fund", "insurer", "440100")


def test_a_bank_reads_schemes_but_not_the_funds_money_and_cannot_create_one(w, claim):
    client = _client("officer")
    html = _text(client.get("/risk-sharing/"))
    assert "测试方案" in html and "2,000,000.00" not in html and "from-template-form" not in html
    assert client.post("/risk-sharing/", {"template": "guangzhou_2023"}).status_code == 403
    page = _text(client.get(f"/risk-sharing/schemes/{claim['scheme']['id']}/"))
    assert claim["loan_no"] in page and 'data-testid="ledger"' not in page


def test_another_fund_sees_neither_the_scheme_nor_its_claim(w, claim):
    client = _client("fund_b")
    assert "测试方案" not in _text(client.get("/risk-sharing/"))
    r = client.get(f"/risk-sharing/schemes/{claim['scheme']['id']}/")
    assert r.status_code == 404 and "测试方案" not in _text(r)
    assert client.get(f"/risk-sharing/claims/{claim['id']}/").status_code == 404
    assert client.post(f"/risk-sharing/claims/{claim['id']}/", {"action": "propose", "party": "fund"}).status_code == 404
    assert claim["claim_no"] not in _text(client.get("/risk-sharing/claims/"))
    assert _client("officer_b").get(f"/risk-sharing/claims/{claim['id']}/").status_code == 404


def test_the_scheme_page_shows_rules_enrolled_loans_claims_and_the_ledger(w, claim):
    html = _text(_client("fund1").get(f"/risk-sharing/schemes/{claim['scheme']['id']}/"))
    assert claim["loan_no"] in html and "甲银行" in html and "1,000,000.00" in html
    assert claim["claim_no"] in html and _zh("risksharing.Claim.status", "filed") in html
    assert 'data-testid="listing-ledger"' in html and _zh("risksharing.LedgerEntry.kind", "contribution") in html
    assert "广州市风险补偿资金" in html and _zh("risk_party_name", "fund") in html
    _no_codes(html, "contribution", "filed", "advance", "substandard")


def test_a_scheme_from_a_template_through_the_page(w):
    client = _client("fund1")
    r = client.post("/risk-sharing/", {"template": "guangzhou_2023", "name": "页面方案"})
    assert r.status_code == 302 and re.fullmatch(r"/risk-sharing/schemes/\d+/", r.url)
    html = _text(client.get(r.url))
    assert "页面方案" in html and "广州市风险补偿资金" in html and "10,000,000.00" in html  # the eligible-base cap


def test_a_template_without_a_ratio_re_renders_with_the_message(w):
    client = _client("fund1", "en")
    r = client.post("/risk-sharing/", {"template": "haikou"})
    assert r.status_code == 400 and "ratio" in _text(r).lower() and 'data-error-code="ratio_required"' in _text(r)
    _no_codes(_text(r), "ratio_required")
    r = client.post("/risk-sharing/", {"template": "no-such-template"})
    assert r.status_code == 400 and 'data-testid="from-template-form"' in _text(r)
    r = client.post("/risk-sharing/", {"template": "haikou", "ratio": "0.5"})
    assert r.status_code == 302


def test_the_fund_manager_moves_money_on_the_scheme_page(w, claim):
    url = f"/risk-sharing/schemes/{claim['scheme']['id']}/"
    client = _client("fund1")
    r = client.post(url, {"party": "fund", "kind": "withdrawal", "amount": "99999999"})
    assert r.status_code == 400 and "2,000,000.00" in _text(r)  # the balance named in the refusal
    _no_codes(_text(r), "insufficient_balance")
    r = client.post(url, {"party": "fund", "kind": "contribution", "amount": "500000"})
    assert r.status_code == 302
    assert "2,500,000.00" in _text(client.get(url))
    assert _client("ins1").post(url, {"party": "fund", "amount": "1"}).status_code == 403


# --- claims ------------------------------------------------------------------------------------------

def test_claims_lists_the_banks_own_and_the_partys_share(w, claim):
    bank = _text(_client("officer").get("/risk-sharing/claims/"))
    assert claim["claim_no"] in bank and 'data-testid="listing-claims"' in bank and "Your share" not in bank
    party = _text(_client("fund1", "en").get("/risk-sharing/claims/"))
    assert claim["claim_no"] in party and "Your share" in party and "500,000.00" in party
    insurer = _text(_client("ins1").get("/risk-sharing/claims/"))
    assert claim["claim_no"] in insurer and "300,000.00" in insurer


def test_a_payment_is_entered_by_one_user_of_the_party_and_checked_by_another(w, claim):
    url = f"/risk-sharing/claims/{claim['id']}/"
    maker, checker = _client("fund1"), _client("fund2")
    page = _text(maker.get(url))
    assert 'data-testid="propose-form"' in page and 'data-testid="recovery-form"' not in page
    r = maker.post(url, {"action": "propose", "party": "fund"})
    assert r.status_code == 302 and r.url == url
    page = _text(maker.get(url))
    assert _zh("risksharing.ClaimPayment.status", "proposed") in page
    assert 'data-testid="check-form"' not in page  # no one checks their own payment
    assert maker.post(url, {"action": "check", "payment": "1", "decision": "approve"}).status_code == 403
    assert 'data-testid="check-form"' in _text(checker.get(url))
    from ippledge.risksharing.models import ClaimPayment

    payment = ClaimPayment.objects.get(share__claim_id=claim["id"])
    r = checker.post(url, {"action": "check", "payment": str(payment.pk), "decision": ""})
    assert r.status_code == 400
    r = checker.post(url, {"action": "check", "payment": str(payment.pk), "decision": "approve"})
    assert r.status_code == 302
    page = _text(checker.get(url))
    assert _zh("risksharing.ClaimPayment.status", "paid") in page and "rs-fund1" in page and "rs-fund2" in page
    ledger = _text(maker.get(f"/risk-sharing/schemes/{claim['scheme']['id']}/"))
    assert _zh("risksharing.LedgerEntry.kind", "payment") in ledger and "1,500,000.00" in ledger


def test_bad_payments_re_render_with_the_refusal_in_words(w, claim):
    url = f"/risk-sharing/claims/{claim['id']}/"
    client = _client("ins1", "en")
    r = client.post(url, {"action": "propose", "party": "insurer", "amount": "abc"})
    assert r.status_code == 400 and 'data-testid="propose-form"' in _text(r)
    r = client.post(url, {"action": "propose", "party": "insurer", "amount": "400000"})
    assert r.status_code == 400 and "300,000.00" in _text(r) and 'data-error-code="share_exceeded"' in _text(r)
    _no_codes(_text(r), "share_exceeded")
    # The insurer cannot pay the fund's share: the form offers its own party only.
    r = client.post(url, {"action": "propose", "party": "fund"})
    assert r.status_code == 400
    assert _client("officer").post(url, {"action": "propose", "party": "fund"}).status_code == 403


def test_the_bank_records_a_recovery_once_every_party_has_paid(w, claim):
    url = f"/risk-sharing/claims/{claim['id']}/"
    bank = _client("officer")
    assert 'data-testid="recovery-form"' not in _text(bank.get(url))
    for maker, checker, party in (("fund1", "fund2", "fund"), ("ins1", "ins2", "insurer")):
        m, c = _client(maker), _client(checker)
        assert m.post(url, {"action": "propose", "party": party}).status_code == 302
        from ippledge.risksharing.models import ClaimPayment

        pk = ClaimPayment.objects.get(share__claim_id=claim["id"], share__party__name=party, status="proposed").pk
        assert c.post(url, {"action": "check", "payment": str(pk), "decision": "approve"}).status_code == 302
    assert 'data-testid="recovery-form"' in _text(bank.get(url))
    r = bank.post(url, {"action": "recovery", "amount": "100000", "date": "2026-13-40"})
    assert r.status_code == 400 and 'data-testid="recovery-form"' in _text(r)
    r = bank.post(url, {"action": "recovery", "amount": "5000000", "date": _today()})
    assert r.status_code == 400 and "1,000,000.00" in _text(r)
    r = bank.post(url, {"action": "recovery", "amount": "400000", "date": _today()})
    assert r.status_code == 302
    page = _text(bank.get(url))
    assert "400,000.00" in page and _zh("risksharing.Claim.status", "settled") in page
    assert "200,000.00" in page and "120,000.00" in page  # the fund's and the insurer's pro-rata parts back
    assert "400,000.00" in _text(bank.get("/risk-sharing/claims/"))  # recovered, on the bank's list
    assert _client("fund1").post(url, {"action": "recovery", "amount": "1", "date": _today()}).status_code == 403


def test_claim_page_in_english_names_everything_in_words(w, claim):
    html = _text(_client("fund1", "en").get(f"/risk-sharing/claims/{claim['id']}/"))
    assert "Compensation fund" in html and "Classified non-performing" in html
    _no_codes(html, "npl", "substandard", "advance", "fund_manager")


def test_pages_ask_for_login_and_forms_carry_csrf(w, claim):
    anonymous = Client()
    for url in ("/risk-sharing/", "/risk-sharing/claims/", f"/risk-sharing/claims/{claim['id']}/"):
        assert anonymous.get(url).status_code == 302
    strict = Client(enforce_csrf_checks=True)
    from ippledge.core.models import User

    strict.force_login(User.objects.get(username="rs-fund1"))
    page = _text(strict.get(f"/risk-sharing/claims/{claim['id']}/"))
    assert "csrfmiddlewaretoken" in page
    assert strict.post(f"/risk-sharing/claims/{claim['id']}/", {"action": "propose", "party": "fund"}).status_code == 403


def test_navigation_and_desks_lead_to_the_pages(w):
    assert 'href="/risk-sharing/"' in _text(_client("fund1").get("/desk/fund/"))
    assert 'href="/risk-sharing/claims/"' in _text(_client("ins1").get("/desk/insurer/"))
    assert 'href="/risk-sharing/claims/"' in _text(_client("officer").get("/credit/"))


def _today() -> str:
    from ippledge.core import business_date

    return business_date.today().isoformat()


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_no_raw_code_on_the_risk_sharing_pages(w, claim, lang):
    """The platform's raw-code checker (tests/test_raw_codes.py) over these pages with data in them (the
    demo region has no scheme): a paid share, a payment awaiting its checker, the ledger, exports."""
    from ippledge.core.models import User

    from .test_raw_codes import Checker, Crawl, _enum_codes

    w.pay(claim["id"], "fund", w.fund1, w.fund2)
    assert w.ins1.post(f"/risk-sharing/claims/{claim['id']}/payments", {"party": "insurer"}).status_code == 201
    checker = Checker(codes=_enum_codes(), usernames=set(User.objects.values_list("username", flat=True)))
    sid = claim["scheme"]["id"]
    seeds = ["/risk-sharing/", f"/risk-sharing/schemes/{sid}/", "/risk-sharing/claims/",
             f"/risk-sharing/claims/{claim['id']}/", "/risk-sharing/?export=csv", "/risk-sharing/claims/?export=xlsx",
             f"/risk-sharing/schemes/{sid}/?export=csv", "/risk-sharing/claims/999999/"]
    for who in ("fund1", "ins2", "officer", "regulator"):
        crawl = Crawl(checker, lang)
        crawl.run(_client(who, lang), seeds, limit=len(seeds))
        assert not crawl.findings, (who, dict(crawl.findings))
        assert len(crawl.visited) == len(seeds), (who, crawl.visited)
