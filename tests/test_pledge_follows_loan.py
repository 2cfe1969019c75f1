"""The pledge follows the loan (issue 12, point 6): a loan repaid in full raises ``cancellation_due``
for its bank until the registration is cancelled (from the loan page's one action, or through the
registry), the registry's record and the right's page show the live pledge and then its end, and
registration, change and cancellation notify both the pledgor's and the pledgee's organisations, in
the platform and by webhook."""

from __future__ import annotations

import pytest
from django.test import Client

from ippledge.credit.models import Loan
from ippledge.monitoring import ltv
from ippledge.monitoring.models import Alert
from ippledge.registry.models import Notification, Pledge, WebhookDelivery

from .test_credit_collateral import _client, _repaid_loan, others  # noqa: F401
from .test_credit_workflow import world  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db


def _settle(w, loan_no, capture):
    """Pay every instalment of the loan's schedule (a bullet: one row)."""
    loan = w["officer"].get(f"/loans/{loan_no}").data
    for row in loan["schedule"]:
        with capture(execute=True):
            r = w["officer"].post(f"/loans/{loan_no}/repayments", {"date": loan["start_date"],
                                                                  "principal": row["principal"],
                                                                  "interest": row["interest"]})
        assert r.status_code == 201, r.data
    assert w["officer"].get(f"/loans/{loan_no}").data["repaid"] is True


def _cancellation_alerts():
    return list(Alert.objects.filter(kind="cancellation_due").order_by("pk"))


def test_full_repayment_asks_for_the_cancellation_until_the_bank_cancels(world, others,  # noqa: F811
                                                                        django_capture_on_commit_callbacks):
    w = world
    loan_no, reg = _repaid_loan(w)
    assert not _cancellation_alerts()
    _settle(w, loan_no, django_capture_on_commit_callbacks)
    [alert] = _cancellation_alerts()
    loan = Loan.objects.get(loan_no=loan_no)
    assert alert.status == "open" and alert.loan_id == loan.pk and alert.owner_org_id == w["bank"].pk
    assert alert.pledge.registration_no == reg and alert.detail == {"registrations": [reg], "reason": "repaid"}
    # The end of day sees the same condition: it reminds with the same alert, never a second one.
    assert ltv.end_of_day(ltv.business_date.today())["cancellation_due"] == 1
    assert len(_cancellation_alerts()) == 1
    # One action on the loan page cancels the registration (reason: repaid) and the alert clears.
    officer = _client("officer")
    assert 'data-testid="cancel-pledges"' in officer.get(f"/credit/loans/{loan_no}/").content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        r = officer.post(f"/credit/loans/{loan_no}/", {"action": "cancel_pledges"})
    assert r.status_code == 302
    pledge = Pledge.objects.get(registration_no=reg)
    assert pledge.status == "cancelled" and pledge.history.filter(type="cancelled", data__reason="repaid").exists()
    [alert] = _cancellation_alerts()
    assert alert.status == "resolved" and alert.resolution == "cleared"
    assert ltv.end_of_day(ltv.business_date.today())["cancellation_due"] == 0
    # The registry's record says so and offers the cancellation notice; the right is free again.
    record = Client().get(f"/registry/pledges/{reg}/").content.decode()
    assert f"/registry/pledges/{reg}/notice.pdf" in record
    pdf = Client().get(f"/registry/pledges/{reg}/notice.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert reg not in Client().get("/rights/invention/ZL201410362077.3/").content.decode()


def test_a_cancellation_through_the_registry_clears_the_reminder_too(world):  # noqa: F811
    w = world
    loan_no, reg = _repaid_loan(w)
    loan = w["officer"].get(f"/loans/{loan_no}").data
    row = loan["schedule"][0]
    # Repaid with the listeners not running (a worker down): the end of day raises the reminder.
    w["officer"].post(f"/loans/{loan_no}/repayments", {"date": loan["start_date"], "principal": row["principal"],
                                                      "interest": row["interest"]})
    assert not _cancellation_alerts()
    assert ltv.end_of_day(ltv.business_date.today())["raised"] >= 1
    [alert] = _cancellation_alerts()
    r = w["officer"].post(f"/pledges/{reg}/cancellation", {"reason": "repaid"})
    assert r.status_code == 200, r.data
    assert Alert.objects.get(pk=alert.pk).status == "resolved"  # in the cancelling transaction itself


def test_the_rights_page_and_the_record_show_the_live_pledge(world):  # noqa: F811
    w = world
    _loan_no, reg = _repaid_loan(w)
    page = Client().get("/rights/invention/ZL201410362077.3/").content.decode()
    assert 'data-testid="live-pledges"' in page and reg in page and w["bank"].name in page
    record = Client().get(f"/registry/pledges/{reg}/").content.decode()
    assert reg in record and w["bank"].name in record


def test_registration_change_and_cancellation_notify_both_parties(world, monkeypatch):  # noqa: F811
    w = world
    monkeypatch.setenv("IPPLEDGE_WEBHOOK_ALLOW_HOSTS", "127.0.0.1")
    hooks = {}
    for name in ("officer", "ent"):
        r = w[name].post("/webhooks", {"url": f"http://127.0.0.1:9/{name}"})
        assert r.status_code == 201, r.data
        hooks[name] = r.data["id"]
    _loan_no, reg = _repaid_loan(w)
    bank, ent = w["bank"], w["ent"].user.organisation

    def notices(kind):
        return {n.org_id: n for n in Notification.objects.filter(kind=kind, data__registration_no=reg)}

    registered = notices("pledge.registered")
    assert set(registered) == {bank.pk, ent.pk}
    assert registered[bank.pk].data["roles"] == ["pledgee"] and registered[ent.pk].data["roles"] == ["pledgor"]
    assert reg in registered[ent.pk].message
    # The pledgee lowers the secured amount (its own security): both parties hear of the change.
    debt = Pledge.objects.get(registration_no=reg).versions.order_by("-version").first().data["secured_debt"]
    r = w["officer"].post(f"/pledges/{reg}/changes", {"secured_debt": {**debt, "amount": "500000"}})
    assert r.status_code == 200, r.data
    assert set(notices("pledge.changed")) == {bank.pk, ent.pk}
    r = w["officer"].post(f"/pledges/{reg}/cancellation", {"reason": "repaid"})
    assert r.status_code == 200, r.data
    cancelled = notices("pledge.cancelled")
    assert set(cancelled) == {bank.pk, ent.pk}
    assert cancelled[ent.pk].data["notice_pdf"] == f"/registry/pledges/{reg}/notice.pdf"
    # Each party's webhook carries its own notices (delivery itself is the registry's, tested there).
    for kind in ("pledge.registered", "pledge.changed", "pledge.cancelled"):
        for name, org in (("officer", bank), ("ent", ent)):
            assert WebhookDelivery.objects.filter(webhook_id=hooks[name], notification__kind=kind,
                                                  notification__org=org).count() == 1, (kind, name)
    # The enterprise reads its notices through the API like the bank.
    kinds = [n["kind"] for n in w["ent"].get("/notifications").data]
    assert {"pledge.registered", "pledge.changed", "pledge.cancelled"} <= set(kinds)
