"""The claim journey through the pages (issue 13 points 2, 4, 6, 7) on the Guangzhou 2023 template: a fund
manager makes the scheme and funds it, the bank enrols loans (from the loan and from the scheme's page, with
the IP-secured amount the scheme asks for), a loan turns loss and is written off (proposed by one of the bank,
approved by another approver), the claim is filed, the fund pays its share within the caps (entered by one
manager, confirmed by another), a recovery trues it up; the loan page and the credit pages show the
enrolment.  Bad intent: another bank, another role, absurd input — 403/404 or the refusal in words, never a
500 and never a code."""

from __future__ import annotations

import re

import pytest

from ippledge.risksharing.models import Claim, ClaimPayment, Enrolment, WriteOff

from .test_risksharing_api import GZ_OTHER, SZ_BORROWER, World, world  # noqa: F401  (fixture)
from .test_risksharing_pages import _client, _no_codes, _text, _today, _zh

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(world, db):  # noqa: F811
    return world


@pytest.fixture
def gz(w):
    """The Guangzhou 2023 scheme made from its template on the page by the fund's manager, 5,000,000 in
    its fund."""
    fund = _client("fund1")
    r = fund.post("/risk-sharing/", {"template": "guangzhou_2023"})
    assert r.status_code == 302, _text(r)
    scheme_id = int(re.search(r"/schemes/(\d+)/", r.url).group(1))
    r = fund.post(r.url, {"party": "fund", "kind": "contribution", "amount": "5000000"})
    assert r.status_code == 302
    return scheme_id


def _loan_url(loan_no: str) -> str:
    return f"/risk-sharing/loans/{loan_no}/"


def _enrol(client, loan_no: str, scheme_id: int, secured: str = ""):
    return client.post(_loan_url(loan_no), {"action": "enrol", "enrol-scheme": str(scheme_id),
                                            "enrol-ip_secured_amount": secured})


def _pay(claim_id: int, maker: str, checker: str, amount: str = "") -> None:
    url = f"/risk-sharing/claims/{claim_id}/"
    r = _client(maker).post(url, {"action": "propose", "party": "fund", "amount": amount})
    assert r.status_code == 302, _text(r)
    pk = ClaimPayment.objects.get(share__claim_id=claim_id, status="proposed").pk
    assert 'data-testid="check-form"' not in _text(_client(maker).get(url))  # no one checks their own
    r = _client(checker).post(url, {"action": "check", "payment": str(pk), "decision": "approve"})
    assert r.status_code == 302, _text(r)


def test_the_whole_journey_on_the_guangzhou_2023_template(w, gz):
    officer = _client("officer")
    loan = w.loan("6000000")
    page = _text(officer.get(_loan_url(loan)))
    assert 'data-testid="enrol-form"' in page and "广州市知识产权质押融资风险补偿（2023）" in page
    # The scheme counts only the IP-secured amount: without it the page says so, in words.
    r = _enrol(officer, loan, gz)
    assert r.status_code == 400 and 'data-error-code="ip_secured_amount_required"' in _text(r)
    _no_codes(_text(r), "ip_secured_amount_required")
    assert _enrol(officer, loan, gz, "4000000").status_code == 302
    page = _text(officer.get(_loan_url(loan)))
    assert 'data-testid="enrolled-scheme"' in page and "4,000,000.00" in page and 'enrol-form' not in page

    # The credit loan page shows the enrolment (credit imports nothing of risk sharing).
    credit_page = _text(officer.get(f"/credit/loans/{loan}/"))
    assert 'data-testid="risk-sharing-panel"' in credit_page and "广州市知识产权质押融资风险补偿（2023）" in credit_page
    assert f'href="/risk-sharing/loans/{loan}/"' in credit_page
    # The fund sees the loan among the scheme's enrolled loans; the bank's staff reach the loan's page from there.
    assert loan in _text(_client("fund1").get(f"/risk-sharing/schemes/{gz}/"))
    assert f'href="/risk-sharing/loans/{loan}/"' not in _text(_client("fund1").get(f"/risk-sharing/schemes/{gz}/"))
    assert f'href="/risk-sharing/loans/{loan}/"' in _text(officer.get(f"/risk-sharing/schemes/{gz}/"))

    # The loan turns loss: the reviewer proposes the write-off, another approver approves it.
    w.classify(loan, "loss")
    reviewer, approver = _client("reviewer"), _client("approver")
    assert 'data-testid="write-off-form"' not in _text(officer.get(_loan_url(loan)))  # an officer proposes none
    assert officer.post(_loan_url(loan), {"action": "write_off", "wo-reason": "x"}).status_code == 403
    r = reviewer.post(_loan_url(loan), {"action": "write_off", "wo-reason": ""})
    assert r.status_code == 400 and 'data-testid="write-off-form"' in _text(r)
    assert reviewer.post(_loan_url(loan), {"action": "write_off", "wo-reason": "借款人破产清算终结"}).status_code == 302
    assert 'data-testid="decide-form"' not in _text(reviewer.get(_loan_url(loan)))  # the proposer cannot decide
    r = approver.post(_loan_url(loan), {"action": "decide", "decide-decision": ""})
    assert r.status_code == 400
    assert approver.post(_loan_url(loan), {"action": "decide", "decide-decision": "approve"}).status_code == 302
    page = _text(officer.get(_loan_url(loan)))
    assert _zh("risksharing.WriteOff.status", "approved") in page and "6,000,000.00" in page

    # The claim: the written-off principal is the recognised loss; only the IP-secured 4/6 of it is eligible.
    r = officer.post(_loan_url(loan), {"action": "claim"})
    assert r.status_code == 302, _text(r)
    found = Claim.objects.get(loan__loan_no=loan)
    assert (found.base_amount, found.eligible, found.bank_share) == (600_000_000, 400_000_000, 400_000_000)
    assert found.shares.get(party__name="fund").share == 200_000_000
    claim = {"id": found.pk}
    claim_url = f"/risk-sharing/claims/{claim['id']}/"
    assert f'href="{claim_url}"' in _text(officer.get(_loan_url(loan)))

    # The fund pays within its share: more than the share is refused in words; two payments, maker-checker.
    r = _client("fund1").post(claim_url, {"action": "propose", "party": "fund", "amount": "2500000"})
    assert r.status_code == 400 and "2,000,000.00" in _text(r) and 'data-error-code="share_exceeded"' in _text(r)
    _pay(claim["id"], "fund1", "fund2", "1500000")
    _pay(claim["id"], "fund2", "fund1")  # the rest of the share
    page = _text(officer.get(claim_url))
    assert _zh("risksharing.Claim.status", "paid") in page

    # A recovery trues the fund up pro rata: 1,500,000 recovered of 6,000,000 → 500,000 back to the fund.
    r = officer.post(claim_url, {"action": "recovery", "amount": "1500000", "date": _today()})
    assert r.status_code == 302
    page = _text(officer.get(claim_url))
    assert _zh("risksharing.Claim.status", "settled") in page and "500,000.00" in page
    ledger = _text(_client("fund1").get(f"/risk-sharing/schemes/{gz}/"))
    assert "3,500,000.00" in ledger  # 5,000,000 − 2,000,000 paid + 500,000 returned
    assert _zh("risksharing.LedgerEntry.kind", "return") in ledger
    _no_codes(page, "settled", "write_off", "ex_post")


def test_enrolment_from_the_scheme_page_and_an_ex_post_claim_with_its_loss_event(w, gz):
    officer = _client("officer", "en")
    loan = w.loan("8000000")
    url = f"/risk-sharing/schemes/{gz}/"
    assert 'data-testid="enrol-form"' in _text(officer.get(url))
    assert 'data-testid="enrol-form"' not in _text(_client("fund1").get(url))  # funds do not enrol loans
    r = officer.post(url, {"action": "enrol", "enrol-loan_no": loan, "enrol-ip_secured_amount": "abc"})
    assert r.status_code == 400 and 'data-testid="enrol-form"' in _text(r)
    r = officer.post(url, {"action": "enrol", "enrol-loan_no": loan, "enrol-ip_secured_amount": "9000000"})
    assert r.status_code == 400 and 'data-error-code="secured_above_loan"' in _text(r)
    r = officer.post(url, {"action": "enrol", "enrol-loan_no": loan, "enrol-ip_secured_amount": "8000000"})
    assert r.status_code == 302
    r = officer.post(url, {"action": "enrol", "enrol-loan_no": loan, "enrol-ip_secured_amount": "8000000"})
    assert r.status_code == 400 and 'data-error-code="already_enrolled"' in _text(r)
    assert Enrolment.objects.get(loan__loan_no=loan).scheme_id == gz

    loan_url = _loan_url(loan)
    assert 'data-testid="claim-form"' not in _text(officer.get(loan_url))  # performing: no claim
    assert officer.post(loan_url, {"action": "claim"}).status_code == 403
    w.classify(loan, "substandard")
    page = _text(officer.get(loan_url))
    assert 'data-testid="claim-form"' in page and 'name="claim-principal_loss"' in page
    for body, code in (({"claim-principal_loss": "abc"}, None),
                       ({"claim-principal_loss": "-5", "claim-loss_kind": "disposal", "claim-loss_reference": "r"}, None),
                       ({"claim-principal_loss": "1e30", "claim-loss_kind": "disposal", "claim-loss_reference": "r"}, None),
                       ({"claim-principal_loss": "9000000", "claim-loss_kind": "disposal",
                         "claim-loss_date": _today(), "claim-loss_reference": "拍卖"}, "loss_above_outstanding"),
                       ({"claim-principal_loss": "2000000"}, "loss_event_required"),
                       ({"claim-principal_loss": "2000000", "claim-loss_kind": "disposal",
                         "claim-loss_date": "2026-02-30", "claim-loss_reference": "拍卖"}, None),
                       ({"claim-loss_kind": "treasure", "claim-loss_reference": "x"}, None)):
        r = officer.post(loan_url, {"action": "claim", **body})
        assert r.status_code == 400, (body, r.status_code)
        assert 'data-testid="claim-form"' in _text(r)
        if code:
            assert f'data-error-code="{code}"' in _text(r), body
            _no_codes(_text(r), code)
    r = officer.post(loan_url, {"action": "claim", "claim-principal_loss": "2000000", "claim-loss_kind": "disposal",
                                "claim-loss_date": _today(), "claim-loss_reference": "拍卖成交确认书 2026-018"})
    assert r.status_code == 302, _text(r)
    assert Claim.objects.get(loan__loan_no=loan).shares.get(party__name="fund").share == 100_000_000
    page = _text(officer.get(loan_url))
    assert 'data-testid="claim-link"' in page and "2,000,000.00" in page
    assert officer.post(loan_url, {"action": "claim"}).status_code == 403  # filed once


def test_another_bank_another_role_and_strangers(w, gz):
    loan = w.loan("1000000")
    assert _enrol(_client("officer"), loan, gz, "1000000").status_code == 302
    url = _loan_url(loan)
    other = _client("officer_b")
    r = other.get(url)
    assert r.status_code == 404 and "广州甲科技" not in _text(r)
    assert _enrol(other, loan, gz, "1").status_code == 404
    assert other.post(url, {"action": "claim"}).status_code == 404
    # From the scheme page another bank's loan reads as no such loan, next to the field.
    r = other.post(f"/risk-sharing/schemes/{gz}/", {"action": "enrol", "enrol-loan_no": loan,
                                                    "enrol-ip_secured_amount": "1"})
    assert r.status_code == 400 and 'data-error-code="loan_not_found"' in _text(r)
    assert _client("officer_b").get(f"/risk-sharing/loans/{w.loan('1000000')}/").status_code == 404
    for who in ("fund1", "ins1", "ent", "regulator"):
        assert _client(who).get(url).status_code == 403, who
        assert _client(who).post(url, {"action": "enrol"}).status_code == 403, who
    assert _client("fund1").post(f"/risk-sharing/schemes/{gz}/", {"action": "enrol", "enrol-loan_no": loan}) \
        .status_code == 403
    # No such loan, absurd loan numbers: a 404 page, never a 500.
    for bad in ("LN000", "x" * 200, "%00", "LN2026'--"):
        assert _client("officer").get(f"/risk-sharing/loans/{bad}/").status_code == 404, bad
    # A stranger's credit loan page shows no panel; the scheme's fund reads the enrolment panel.
    assert _client("fund1").get(f"/credit/loans/{loan}/").status_code == 404
    from django.test import Client

    assert Client().get(url).status_code == 302  # sign in first


def test_a_loan_outside_the_region_finds_no_scheme_and_a_forged_scheme_is_refused(w, gz):
    officer = _client("officer")
    loan = w.loan("1000000", borrower=SZ_BORROWER)
    page = _text(officer.get(_loan_url(loan)))
    assert 'data-testid="no-schemes"' in page
    r = _enrol(officer, loan, gz, "1000000")
    assert r.status_code == 400 and 'data-testid="enrol-form"' in _text(r)  # not one of the choices
    r = _enrol(officer, w.loan("1000000", borrower=GZ_OTHER), 999999, "1")
    assert r.status_code == 400


def test_the_write_off_is_decided_once_and_a_rejection_allows_a_new_proposal(w, gz):
    loan = w.loan("1000000", category="loss")
    url = _loan_url(loan)
    reviewer, approver, approver2 = _client("reviewer"), _client("approver"), _client("approver2")
    assert reviewer.post(url, {"action": "write_off", "wo-reason": "x" * 600}).status_code == 400
    assert approver.post(url, {"action": "write_off", "wo-reason": "无法收回"}).status_code == 302
    assert approver.post(url, {"action": "decide", "decide-decision": "approve"}).status_code == 403  # own proposal
    assert approver2.post(url, {"action": "decide", "decide-decision": "maybe"}).status_code == 400
    assert approver2.post(url, {"action": "decide", "decide-decision": "reject"}).status_code == 302
    assert WriteOff.objects.get(loan__loan_no=loan).status == "rejected"
    assert 'data-testid="write-off-form"' in _text(reviewer.get(url))
    assert _client("approver_b").get(url).status_code == 404


def test_the_banks_claims_page_lists_what_waits_for_it(w, gz):
    loan = w.loan("1000000")
    assert _enrol(_client("officer"), loan, gz, "1000000").status_code == 302
    w.classify(loan, "loss")
    page = _text(_client("officer").get("/risk-sharing/claims/"))
    assert 'data-testid="to-claim"' in page and f'href="/risk-sharing/loans/{loan}/"' in page
    assert 'data-testid="to-decide"' not in page
    assert _client("reviewer").post(_loan_url(loan), {"action": "write_off", "wo-reason": "无法收回"}).status_code == 302
    page = _text(_client("approver").get("/risk-sharing/claims/"))
    assert 'data-testid="to-decide"' in page and "无法收回" in page
    other = _text(_client("officer_b").get("/risk-sharing/claims/"))
    assert loan not in other and "无法收回" not in other
    assert 'data-testid="to-claim"' not in _text(_client("fund1").get("/risk-sharing/claims/"))


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_no_raw_code_on_the_loan_pages(w, gz, lang):
    """The platform's raw-code checker over a loan's risk-sharing page with a claim and a write-off, the credit
    loan page with its panel, and the bank's claims list."""
    from ippledge.core.models import User

    from .test_raw_codes import Checker, Crawl, _enum_codes

    loan = w.loan("6000000")
    assert _enrol(_client("officer"), loan, gz, "4000000").status_code == 302
    w.classify(loan, "loss")
    assert _client("reviewer").post(_loan_url(loan), {"action": "write_off", "wo-reason": "无法收回"}).status_code == 302
    pending = w.loan("1000000", category="loss")
    assert _client("reviewer").post(_loan_url(pending), {"action": "write_off", "wo-reason": "破产"}).status_code == 302
    assert _client("approver").post(_loan_url(loan), {"action": "decide", "decide-decision": "approve"}).status_code == 302
    assert _client("officer").post(_loan_url(loan), {"action": "claim"}).status_code == 302
    checker = Checker(codes=_enum_codes(), usernames=set(User.objects.values_list("username", flat=True)))
    seeds = [_loan_url(loan), _loan_url(pending), f"/credit/loans/{loan}/", "/risk-sharing/claims/",
             f"/risk-sharing/schemes/{gz}/", "/risk-sharing/provisioning/"]
    for who in ("officer", "approver2"):
        crawl = Crawl(checker, lang)
        crawl.run(_client(who, lang), seeds, limit=len(seeds))
        assert not crawl.findings, (who, dict(crawl.findings))



def test_the_second_claim_of_a_borrower_is_cut_by_the_borrower_year_cap_and_paid_within_it(w):
    from ippledge.core.models import User
    from ippledge.risksharing import services

    scheme_id = services.create_from_template(actor=User.objects.get(username="rs-fund1"), key="guangzhou_2023",
                                              data={"name": "广州2023（单户上限）", "borrower_year_cap": "1500000"}).pk
    w.fund_in(scheme_id, "5000000")
    officer = _client("officer")
    claims = []
    for _i in range(2):
        loan = w.loan("4000000")
        assert _enrol(officer, loan, scheme_id, "4000000").status_code == 302
        w.classify(loan, "doubtful")
        r = officer.post(_loan_url(loan), {"action": "claim", "claim-principal_loss": "2000000",
                                           "claim-loss_kind": "court_ruling", "claim-loss_date": _today(),
                                           "claim-loss_reference": "（2026）粤01民初1号"})
        assert r.status_code == 302, _text(r)
        claims.append(Claim.objects.get(loan__loan_no=loan))
    first, second = (c.shares.get(party__name="fund") for c in claims)
    assert (first.share, second.share) == (100_000_000, 50_000_000)  # 1,000,000, then the 500,000 left
    url = f"/risk-sharing/claims/{claims[1].pk}/"
    page = _text(_client("fund1").get(url))
    assert _zh("risk_cap", "borrower_year_cap") in page and "500,000.00" in page and "1,500,000.00" in page
    r = _client("fund1").post(url, {"action": "propose", "party": "fund", "amount": "600000"})
    assert r.status_code == 400 and 'data-error-code="share_exceeded"' in _text(r)
    _pay(claims[1].pk, "fund1", "fund2", "500000")
    assert Claim.objects.get(pk=claims[1].pk).status == "paid"


def test_provisions_and_write_offs_for_the_bank(w, gz):
    npl = w.loan("2000000", category="doubtful")
    w.loan("8000000")
    url = "/risk-sharing/provisioning/"
    approver = _client("approver")
    assert 'href="/risk-sharing/provisioning/"' in _text(approver.get("/risk-sharing/claims/"))
    page = _text(approver.get(url))
    # 2.5 % of 10,000,000 = 250,000 against 150 % of 2,000,000 = 3,000,000: coverage binds.
    assert 'data-testid="required-provision">3,000,000.00' in page and 'data-testid="provisioning-form"' in page
    for bad in ({"provision_ratio": "abc", "coverage_ratio": "1.5"}, {"provision_ratio": "2", "coverage_ratio": "1.5"},
                {"provision_ratio": "0.03", "coverage_ratio": "11"}, {"provision_ratio": "-0.1", "coverage_ratio": "1"},
                {"provision_ratio": "0.0000001", "coverage_ratio": "1"}):
        r = approver.post(url, bad)
        assert r.status_code == 400 and 'data-testid="provisioning-form"' in _text(r), bad
    assert approver.post(url, {"provision_ratio": "0.40", "coverage_ratio": "1.2"}).status_code == 302
    page = _text(approver.get(url))
    assert 'data-testid="required-provision">4,000,000.00' in page  # 40 % of 10,000,000 now binds
    officer = _client("officer")
    assert 'data-testid="provisioning-form"' not in _text(officer.get(url))
    assert officer.post(url, {"provision_ratio": "0.5", "coverage_ratio": "1"}).status_code == 403
    other = _text(_client("officer_b").get(url))
    assert "4,000,000.00" not in other
    for who in ("fund1", "ins1", "ent"):
        assert _client(who).get(url).status_code == 403, who
    everyone = _text(_client("regulator").get(url))
    assert 'data-testid="all-provisions"' in everyone and "甲银行" in everyone and "4,000,000.00" in everyone
    assert _client("reviewer").post(_loan_url(w.loan("500000", category="loss")),
                                    {"action": "write_off", "wo-reason": "核销"}).status_code == 302
    assert "核销" in _text(officer.get(url)) and npl not in _text(officer.get(url))
