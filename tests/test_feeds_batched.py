"""A feed's events on pledged rights are recorded set-based (a round of one event per right at a time,
``rights.services.record_events``), and that writes exactly what recording them one by one through
``record_event`` writes: the same events, alerts raised, refreshed and cleared, refusals, notices,
webhook deliveries, queued tasks, audit rows and summary."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.db import transaction

from ippledge.core import jobs
from ippledge.core.actors import SYSTEM
from ippledge.core.models import AuditEntry
from ippledge.credit.models import Loan, LoanCollateral
from ippledge.monitoring.feeds import readers
from ippledge.monitoring.feeds.importer import Importer
from ippledge.monitoring.models import Alert
from ippledge.registry.models import Notification, PledgeParty, Webhook, WebhookDelivery
from ippledge.rights import services as rights
from ippledge.rights.models import LegalEvent

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
    numbers = [patent_number(f"20141036{n:04d}") for n in range(1, 6)]
    syndicated = make_patent(number=numbers[0])
    in_grace = make_patent(number=numbers[1], annuity_paid_through="2026-09-30")
    plain = make_patent(number=numbers[2], grant_date="2017-03-01")
    transferred = make_patent(number=numbers[3])
    make_patent(number=numbers[4])  # no pledge
    pledge = live_pledge([syndicated], bank_a)
    PledgeParty.objects.create(pledge=pledge, role="pledgee", name=bank_b.name, name_normalised=bank_b.name,
                               id_type="uscc", id_number="", org=bank_b)
    live_pledge([in_grace, plain], bank_b)
    live_pledge([transferred], bank_a)
    borrower = make_org("enterprise", name="借款企业")
    loan = Loan.objects.create(loan_no="L-B-1", bank=bank_a, borrower=borrower, amount=100, annual_rate="0.035",
                               start_date=dt.date(2026, 1, 5), maturity_date=dt.date(2027, 1, 5),
                               schedule_kind="bullet", ip_kind="patent", balance=100)
    LoanCollateral.objects.create(loan=loan, registration_no=pledge.registration_no, regime="patent",
                                  right_kind=syndicated.kind, right_number=syndicated.number)
    Webhook.objects.create(org=bank_b, url="https://example.com/hook", secret="s" * 32)
    return numbers


def _feed(numbers) -> bytes:
    one, grace, plain, moved, free = (f"CN{n[:12]}" for n in numbers)
    rows = [
        {"number": one, "official_code": "PP01", "date": "2026-11-01"},
        {"number": grace, "type": "annuity_paid", "paid_through": "2026-10-31", "date": "2026-11-01"},
        {"number": one, "type": "preservation_lifted", "date": "2026-11-05"},
        {"number": one, "official_code": "EE01", "date": "2026-11-06"},  # refused: no consent
        {"number": plain, "type": "litigation_filed", "date": "2026-11-02"},
        {"number": one, "official_code": "EE01", "date": "2026-11-07", "pledgee_consent": True},
        {"number": one, "official_code": "PP01", "date": "2026-11-01"},  # already recorded above
        {"number": grace, "type": "annuity_paid", "paid_through": "2027-09-30", "date": "2026-11-20"},
        {"number": one, "type": "litigation_filed", "date": "2026-11-10", "note": "法院受理"},
        {"number": plain, "type": "litigation_closed", "date": "2026-11-12"},
        {"number": plain, "type": "preserved", "date": "2026-11-13"},
        {"number": moved, "type": "preserved", "date": "2026-11-02"},
        {"number": moved, "type": "transferred", "date": "2026-11-03", "pledgee_consent": True,
         "new_owners": [{"name": "受让公司", "id_type": "uscc", "id_number": "914403001922038216"}]},
        {"number": free, "official_code": "PP01", "date": "2026-11-01"},
        {"number": free, "type": "annuity_paid", "paid_through": "2027-09-30", "date": "2026-11-20"},
        {"number": grace, "type": "litigation_filed", "date": "2027-11-20"},  # a future date: rejected
    ]
    return "".join(json.dumps({"kind": "invention", **r}) + "\n" for r in rows).encode()


class _Rollback(Exception):
    pass


def _observed(batch: bool, feed: bytes, monkeypatch) -> dict:
    queued, batches = [], []
    monkeypatch.setattr(jobs, "enqueue_on_commit", lambda task, **kw: queued.append(task.name))
    real = rights.record_events
    monkeypatch.setattr(rights, "record_events", lambda **kw: batches.append(len(kw["items"])) or real(**kw))
    seen: dict = {}
    try:
        with transaction.atomic():
            summary = Importer(actor=SYSTEM, source="court.jsonl", fmt="jsonl", batch=batch).run(
                readers.read("jsonl", readers.blocks(feed))).as_dict()
            seen["summary"] = summary
            seen["events"] = sorted((e.right.number, e.seq, e.type, e.date, e.official_code, json.dumps(e.payload,
                                     sort_keys=True), e.note, e.recorded_by_id)
                                    for e in LegalEvent.objects.select_related("right"))
            seen["alerts"] = sorted(
                (a.kind, a.condition_key, a.owner_org.name, a.pledge.registration_no if a.pledge_id else "",
                 a.right.number if a.right_id else "", a.loan.loan_no if a.loan_id else "",
                 (a.event.right.number, a.event.seq) if a.event_id else None, a.severity, a.status, a.resolution,
                 a.raised_on, a.due_date, json.dumps(a.detail, sort_keys=True), a.officer_id)
                for a in Alert.objects.select_related("owner_org", "pledge", "right", "loan", "event__right"))

            def data(d):
                return json.dumps({k: v for k, v in d.items() if k not in ("id", "created_at")}, sort_keys=True)

            seen["notices"] = sorted((n.org.name, n.kind, n.message, data(n.data))
                                     for n in Notification.objects.select_related("org"))
            seen["deliveries"] = sorted((d.webhook.org.name, d.notification.kind, d.notification.message)
                                        for d in WebhookDelivery.objects.select_related("webhook__org", "notification"))
            seen["queued"] = sorted(queued)

            def after(entry):
                value = dict(entry.after or {})
                value.pop("event", None)  # an alert's event id: the same event, written in another run
                return json.dumps(value, sort_keys=True)

            alert_keys = {str(pk): f"{kind} {key} {org}" for pk, kind, key, org in
                          Alert.objects.values_list("pk", "kind", "condition_key", "owner_org_id")}

            def subject(e):  # an alert by its condition (its id differs run to run), a right by its id
                if e.object_type == "monitoring.alert":
                    return alert_keys[e.object_id], ""
                return e.object_id, e.object_repr

            seen["audit"] = sorted(
                (e.action, e.object_type, *subject(e),
                 e.actor_username, e.organisation_id, after(e), json.dumps(e.before, sort_keys=True), e.via)
                for e in AuditEntry.objects.exclude(action__in=("right.create", "org.create")))
            raise _Rollback
    except _Rollback:
        pass
    seen["batches"] = batches
    return seen


def test_the_batched_import_writes_what_recording_one_by_one_writes(world, monkeypatch):
    feed = _feed(world)
    batched = _observed(True, feed, monkeypatch)
    one_by_one = _observed(False, feed, monkeypatch)
    assert batched["batches"] and not one_by_one["batches"]  # the batched path was taken, and only there
    assert max(batched["batches"]) >= 2  # several rights in a round
    for what in ("summary", "events", "alerts", "notices", "deliveries", "queued", "audit"):
        assert batched[what] == one_by_one[what], what
    # The world is not trivial: each kind of consequence happened.
    summary = batched["summary"]
    assert summary["unchanged"] == 1
    assert summary["imported_by_type"]["transferred"] == 1  # a transfer: through record_event, beside the rounds
    assert {r["code"] for r in summary["rejected"]} >= {"pledged_right_locked"}
    kinds = {a[0] for a in batched["alerts"]}
    assert {"preservation", "licence_recorded", "litigation", "transfer_attempt_blocked"} <= kinds
    assert any(a[8] == "resolved" for a in batched["alerts"])  # a closing event cleared one
    assert batched["deliveries"] and batched["queued"]
    assert any(e[0] == "right.event" for e in batched["audit"])
    assert any(e[0] == "alert.clear" for e in batched["audit"])
