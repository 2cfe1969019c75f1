"""Event-driven alerts: raised for every pledgee bank of a pledged right when the event is recorded,
cleared by the closing event; the blocked transfer's alert survives the refusal; webhooks carry alerts."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from ippledge.core.actors import SYSTEM
from ippledge.core.errors import Conflict
from ippledge.credit.models import Loan, LoanCollateral
from ippledge.monitoring.models import Alert
from ippledge.registry import notify
from ippledge.registry.models import PledgeParty, Webhook, WebhookDelivery
from ippledge.rights import services as rights

from .monitoring_fixtures import live_pledge
from .registry_fixtures import make_patent, patent_number

ON = dt.date(2026, 12, 3)


@pytest.fixture(autouse=True)
def today(monkeypatch):
    monkeypatch.setattr("ippledge.core.business_date.today", lambda: ON)


@pytest.fixture
def world(make_org):
    bank_a = make_org("bank", name="甲银行")
    bank_b = make_org("bank", name="乙银行")
    right = make_patent()
    pledge = live_pledge([right], bank_a)
    # A syndicated pledge: two pledgee banks, each gets its own alert.
    PledgeParty.objects.create(pledge=pledge, role="pledgee", name=bank_b.name, name_normalised=bank_b.name,
                               id_type="uscc", id_number="", org=bank_b)
    borrower = make_org("enterprise", name="借款企业")
    loan = Loan.objects.create(loan_no="L-E-1", bank=bank_a, borrower=borrower, amount=100, annual_rate="0.035",
                               start_date=dt.date(2026, 1, 5), maturity_date=dt.date(2027, 1, 5),
                               schedule_kind="bullet", ip_kind="patent", balance=100)
    LoanCollateral.objects.create(loan=loan, registration_no=pledge.registration_no, regime="patent",
                                  right_kind=right.kind, right_number=right.number)
    return {"a": bank_a, "b": bank_b, "right": right, "pledge": pledge, "loan": loan}


def _event(world, **data):
    return rights.record_event(actor=SYSTEM, right=world["right"], data={"date": ON.isoformat(), **data})


def _live(**kw):
    return Alert.objects.filter(status__in=("open", "acknowledged"), **kw)


@pytest.mark.parametrize("event,kind,severity", [
    ({"type": "invalidation_requested"}, "invalidation_requested", "warning"),
    ({"type": "litigation_filed"}, "litigation", "warning"),
    ({"type": "preserved"}, "preservation", "critical"),
    ({"type": "seized"}, "preservation", "critical"),
    ({"type": "ownership_dispute_filed"}, "ownership_dispute", "critical"),
])
def test_each_event_raises_its_alert_for_every_pledgee_bank(world, event, kind, severity):
    row = _event(world, **event)
    alerts = {a.owner_org_id: a for a in _live(kind=kind)}
    assert set(alerts) == {world["a"].pk, world["b"].pk}
    a = alerts[world["a"].pk]
    assert (a.severity, a.pledge, a.right, a.event, a.loan) == (severity, world["pledge"], world["right"], row,
                                                               world["loan"])
    assert alerts[world["b"].pk].loan is None  # bank B lent nothing under this pledge
    assert a.detail["event"] == event["type"] and a.detail["event_date"] == ON.isoformat()


@pytest.mark.parametrize("opens,closes,kind", [
    ("litigation_filed", "litigation_closed", "litigation"),
    ("preserved", "preservation_lifted", "preservation"),
    ("seized", "seizure_lifted", "preservation"),
    ("ownership_dispute_filed", "ownership_dispute_closed", "ownership_dispute"),
])
def test_the_closing_event_clears_the_alert(world, opens, closes, kind):
    _event(world, type=opens)
    assert _live(kind=kind).count() == 2
    _event(world, type=closes)
    assert not _live(kind=kind).exists()
    assert set(Alert.objects.filter(kind=kind).values_list("resolution", flat=True)) == {"cleared"}


@pytest.mark.parametrize("outcome,severity,terminated", [
    ("maintained", "info", False), ("partly_invalid", "warning", False), ("invalid", "critical", True),
])
def test_invalidation_decided_carries_the_outcome(world, outcome, severity, terminated):
    _event(world, type="invalidation_requested")
    _event(world, type="invalidation_decided", outcome=outcome)
    decided = _live(kind="invalidation_decided", owner_org=world["a"]).get()
    assert decided.severity == severity and decided.detail["outcome"] == outcome
    assert not _live(kind="invalidation_requested").exists()  # the request is decided
    assert _live(kind="right_terminated").exists() == terminated


def test_licence_recorded_says_where_the_proceeds_go(world):
    _event(world, type="licensed", pledgee_consent=True)
    alert = _live(kind="licence_recorded", owner_org=world["a"]).get()
    assert alert.detail["proceeds"] == "early_repayment_or_escrow"
    assert "444" in alert.detail["legal_basis"]
    from ippledge.monitoring import services

    assert "444" in services.required_action(alert)
    _event(world, type="licence_cancelled")
    assert not _live(kind="licence_recorded").exists()


def test_a_blocked_transfer_raises_an_alert_that_survives_the_refusal(world):
    new_owner = {"name": "受让方有限公司", "id_type": "other", "id_number": "X1"}
    for _ in range(2):  # the same attempt twice is one condition
        with pytest.raises(Conflict) as exc:
            _event(world, type="transferred", new_owners=[new_owner])
        assert exc.value.code == "pledged_right_locked"
    assert not world["right"].events.exists()
    alerts = list(_live(kind="transfer_attempt_blocked"))
    assert sorted(a.owner_org_id for a in alerts) == sorted([world["a"].pk, world["b"].pk])
    assert alerts[0].detail == {"event": "transferred", "event_date": ON.isoformat()}


def test_a_blocked_transfer_through_the_api(world, api_as):
    registrar, _ = api_as("registrar", "ip_office")
    r = registrar.post(f"/ip-rights/invention/{world['right'].number}/events",
                       {"type": "transferred", "date": ON.isoformat(),
                        "new_owners": [{"name": "受让方有限公司", "id_type": "other", "id_number": "X1"}]})
    assert r.status_code == 409 and r.data["error"]["code"] == "pledged_right_locked"
    assert _live(kind="transfer_attempt_blocked").count() == 2


def test_events_on_rights_without_a_live_pledge_raise_nothing(world):
    other = make_patent(number=patent_number("201510000001"))
    rights.record_event(actor=SYSTEM, right=other, data={"type": "litigation_filed", "date": ON.isoformat()})
    assert not Alert.objects.filter(right=other).exists()


def test_the_webhook_carries_the_alert_signed(world, monkeypatch):
    hook = Webhook.objects.create(org=world["a"], url="https://bank.example.cn/hook", secret="s3cret")
    _event(world, type="litigation_filed")
    alert = _live(kind="litigation", owner_org=world["a"]).get()
    delivery = WebhookDelivery.objects.get(webhook=hook, notification__kind="alert")
    sent = {}

    def fake_post(url, body, headers, *, timeout):
        sent.update(url=url, body=body, headers=headers)
        return 200

    monkeypatch.setattr(notify, "post", fake_post)
    assert notify.deliver([delivery.pk]) == 1
    body = json.loads(sent["body"])
    assert body["kind"] == "alert"
    assert body["data"] == {
        "id": alert.pk, "kind": "litigation", "severity": "warning", "status": "open",
        "registration_no": world["pledge"].registration_no,
        "right": {"kind": "invention", "number": world["right"].number}, "loan_no": "L-E-1",
        "owner_org_id": world["a"].pk, "due_date": alert.due_date.isoformat(),
        "required_action": body["data"]["required_action"], "detail": alert.detail,
        "created_at": alert.created_at.isoformat()}
    assert body["data"]["required_action"]
    assert sent["headers"]["X-Ippledge-Signature"] == notify.signature("s3cret", sent["body"])
