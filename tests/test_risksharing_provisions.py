"""Provisioning per bank (provision ratio and coverage, the higher applies) and the write-off of a loss loan
with maker-checker, whose written-off principal an ex-post claim takes as the recognised loss (issue 13 point 6)."""

from __future__ import annotations

import pytest

from ippledge.credit.models import Loan, LoanEvent
from ippledge.risksharing import services_provisions

from . import test_risksharing_api as shared

GZ_OTHER = shared.GZ_OTHER
w, world = shared.w, shared.world  # the shared world's fixtures

pytestmark = pytest.mark.django_db


def test_the_higher_of_provision_ratio_and_coverage_applies(w):
    w.loan("10000000")
    npl = w.loan("1000000", category="substandard", borrower=GZ_OTHER)
    assert npl
    r = w.approver.get(f"/risk-sharing/provisioning?bank_org_id={w.bank.pk}")
    assert r.status_code == 200, r.data
    # 11,000,000 × 2.5% = 275,000 < 1,000,000 × 150% = 1,500,000
    assert (r.data["loan_balance"], r.data["npl_balance"]) == ("11000000.00", "1000000.00")
    assert (r.data["by_loans"], r.data["by_npl"], r.data["required"], r.data["binding"]) == (
        "275000.00", "1500000.00", "1500000.00", "coverage_ratio")
    r = w.approver.put("/risk-sharing/provisioning", {"bank_org_id": w.bank.pk, "provision_ratio": "0.20",
                                                      "coverage_ratio": "1.2"})
    assert r.status_code == 200, r.data
    assert (r.data["required"], r.data["binding"]) == ("2200000.00", "provision_ratio")
    # Statistics read every bank's figure from the same service.
    rows = {row["bank_org_id"]: row for row in services_provisions.required_provisions()}
    assert rows[w.bank.pk]["required"] == 220000000


def test_who_reads_and_sets_provisioning(w):
    path = f"/risk-sharing/provisioning?bank_org_id={w.bank.pk}"
    assert w.regulator.get(path).status_code == 200
    for who in ("officer_b", "fund1", "ent"):
        assert getattr(w, who).get(path).status_code == 404, who
    body = {"bank_org_id": w.bank.pk, "provision_ratio": "0.03", "coverage_ratio": "1.5"}
    assert w.officer.put("/risk-sharing/provisioning", body).status_code == 403
    assert w.approver_b.put("/risk-sharing/provisioning", body).status_code in (403, 404)
    for bad in ({"provision_ratio": "-0.1"}, {"provision_ratio": "2"}, {"coverage_ratio": "abc"},
                {"coverage_ratio": "50"}):
        r = w.approver.put("/risk-sharing/provisioning", {**body, **bad})
        assert r.status_code == 422, (bad, r.data)


def test_write_off_maker_checker_and_the_ex_post_claim_on_it(w):
    scheme = w.fund1.post("/risk-sharing/templates/guangzhou_2023/schemes", {}).data
    w.fund_in(scheme["id"], "1000000")
    loan_no = w.loan("1000000")
    assert w.enrol(loan_no, scheme["id"], ip_secured_amount="1000000").status_code == 201
    w.classify(loan_no, "doubtful")
    r = w.approver.post("/risk-sharing/write-offs", {"loan_no": loan_no, "reason": "破产清算终结"})
    assert r.status_code == 409 and r.data["error"]["code"] == "not_loss"
    w.classify(loan_no, "loss")
    assert w.officer.post("/risk-sharing/write-offs", {"loan_no": loan_no, "reason": "x"}).status_code == 403
    assert w.approver_b.post("/risk-sharing/write-offs", {"loan_no": loan_no, "reason": "x"}).status_code == 404
    assert w.approver.post("/risk-sharing/write-offs", {"loan_no": loan_no, "reason": ""}).status_code == 422
    r = w.reviewer.post("/risk-sharing/write-offs", {"loan_no": loan_no, "reason": "破产清算终结"})
    assert r.status_code == 201 and (r.data["status"], r.data["amount"]) == ("proposed", "1000000.00")
    wid = r.data["id"]
    again = w.approver.post("/risk-sharing/write-offs", {"loan_no": loan_no, "reason": "again"})
    assert again.status_code == 409 and again.data["error"]["code"] == "write_off_exists"
    assert w.reviewer.post(f"/risk-sharing/write-offs/{wid}/decision", {"approve": True}).status_code == 403
    assert w.approver_b.post(f"/risk-sharing/write-offs/{wid}/decision", {"approve": True}).status_code == 404
    r = w.approver.post(f"/risk-sharing/write-offs/{wid}/decision", {"approve": True})
    assert r.status_code == 200 and r.data["status"] == "approved"
    loan = Loan.objects.get(loan_no=loan_no)
    assert loan.balance == 0
    assert LoanEvent.objects.get(loan=loan, type="write_off").data["principal"] == 100000000
    # The approved write-off is the recognised principal loss of the ex-post claim.
    r = w.claim(loan_no)
    assert r.status_code == 201, r.data
    assert (r.data["base_amount"], r.data["loss_event"]["kind"]) == ("1000000.00", "write_off")
    assert r.data["shares"] == {"fund": "500000.00", "bank": "500000.00"}


def test_the_proposer_does_not_approve_their_own_write_off(w):
    loan_no = w.loan("500000", category="loss")
    wid = w.approver.post("/risk-sharing/write-offs", {"loan_no": loan_no, "reason": "x"}).data["id"]
    r = w.approver.post(f"/risk-sharing/write-offs/{wid}/decision", {"approve": True})
    assert r.status_code == 403 and r.data["error"]["code"] == "separation_of_duties"
    r = w.approver2.post(f"/risk-sharing/write-offs/{wid}/decision", {"approve": False})
    assert r.data["status"] == "rejected" and Loan.objects.get(loan_no=loan_no).balance == 50000000
