"""Alerts as work: raising (one live alert per condition), clearing, acknowledging, resolving, scope."""

from __future__ import annotations

import datetime as dt

import pytest

from ippledge.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ippledge.monitoring import services
from ippledge.monitoring.models import Alert
from ippledge.registry.models import Notification

from .monitoring_fixtures import live_pledge
from .registry_fixtures import make_patent

ON = dt.date(2026, 12, 3)


@pytest.fixture
def world(make_org, make_user):
    bank_a = make_org("bank", name="甲银行")
    bank_b = make_org("bank", name="乙银行")
    right = make_patent()
    pledge = live_pledge([right], bank_a)
    users = {
        "a": make_user("bank_officer", org=bank_a, username="a-officer"),
        "a_reviewer": make_user("bank_reviewer", org=bank_a, username="a-reviewer"),
        "b": make_user("bank_officer", org=bank_b, username="b-officer"),
        "regulator": make_user("regulator_user"),
        "enterprise": make_user("enterprise_user"),
        "admin": make_user("admin"),
    }
    return {"bank_a": bank_a, "bank_b": bank_b, "right": right, "pledge": pledge, **users}


def _raise(world, key="k1", **kw):
    return services.raise_alert(kind="litigation", condition_key=key, owner_org=world["bank_a"], on=ON,
                                pledge=world["pledge"], right=world["right"], **kw)


def test_raise_defaults_from_the_kind_and_notifies_the_bank(world):
    alert = _raise(world)
    assert alert.severity == "warning" and alert.status == "open"
    assert alert.due_date == dt.date(2026, 12, 17)  # 10 working days after Thursday 3 December
    note = Notification.objects.get(org=world["bank_a"], kind="alert")
    assert note.data["id"] == alert.pk and note.data["kind"] == "litigation"
    assert note.data["registration_no"] == world["pledge"].registration_no
    assert note.data["right"] == {"kind": "invention", "number": world["right"].number}
    assert note.data["required_action"]


def test_the_same_condition_never_raises_a_second_live_alert(world):
    assert _raise(world) is not None
    assert _raise(world) is None
    assert _raise(world, detail={"n": 2}) is None
    assert Alert.objects.count() == 1 and Alert.objects.get().detail == {"n": 2}
    assert Notification.objects.filter(kind="alert").count() == 1
    # Another bank's condition with the same key is its own alert.
    assert services.raise_alert(kind="litigation", condition_key="k1", owner_org=world["bank_b"], on=ON) is not None


def test_after_resolution_the_condition_may_raise_again(world):
    alert = _raise(world)
    services.resolve(actor=world["a"], alert_id=alert.pk, resolution="remedied")
    assert _raise(world) is not None


def test_clear_resolves_live_alerts_as_cleared(world):
    alert = _raise(world)
    other = _raise(world, key="k2")
    assert services.clear_alerts(kind="litigation", on=ON, condition_key="k1") == 1
    alert.refresh_from_db()
    other.refresh_from_db()
    assert (alert.status, alert.resolution) == ("resolved", "cleared")
    assert other.status == "open"
    assert services.clear_alerts(kind="litigation", on=ON, right=world["right"]) == 1
    assert services.clear_alerts(kind="litigation", on=ON, right=world["right"]) == 0


def test_scope_bank_sees_its_own_regulator_all_enterprise_none(world):
    alert = _raise(world)
    assert list(services.visible_alerts(world["a"])) == [alert]
    assert list(services.visible_alerts(world["b"])) == []
    assert list(services.visible_alerts(world["regulator"])) == [alert]
    assert list(services.visible_alerts(world["admin"])) == [alert]
    assert list(services.visible_alerts(world["enterprise"])) == []


def test_acknowledge_and_resolve_by_the_owning_bank(world):
    alert = _raise(world)
    alert = services.acknowledge(actor=world["a"], alert_id=alert.pk)
    assert alert.status == "acknowledged" and alert.acknowledged_by == world["a"]
    assert services.acknowledge(actor=world["a"], alert_id=alert.pk).status == "acknowledged"
    alert = services.resolve(actor=world["a_reviewer"], alert_id=alert.pk, resolution="loan_action", note="提前收回")
    assert (alert.status, alert.resolution, alert.resolved_by) == ("resolved", "loan_action", world["a_reviewer"])
    with pytest.raises(Conflict) as exc:
        services.resolve(actor=world["a"], alert_id=alert.pk, resolution="remedied")
    assert exc.value.code == "alert_already_resolved"
    with pytest.raises(Conflict):
        services.acknowledge(actor=world["a"], alert_id=alert.pk)
    from ippledge.core.models import AuditEntry
    assert set(AuditEntry.objects.filter(object_type="monitoring.alert").values_list("action", flat=True)) == {
        "alert.raise", "alert.acknowledge", "alert.resolve"}


def test_other_bank_gets_not_found_regulator_and_enterprise_refused(world):
    alert = _raise(world)
    with pytest.raises(NotFound):
        services.acknowledge(actor=world["b"], alert_id=alert.pk)
    with pytest.raises(NotFound):
        services.resolve(actor=world["b"], alert_id=alert.pk, resolution="remedied")
    for who in ("regulator", "enterprise", "admin"):
        with pytest.raises(PermissionDenied):
            services.resolve(actor=world[who], alert_id=alert.pk, resolution="remedied")


@pytest.mark.parametrize("resolution,note,code", [
    ("cleared", "", "validation_error"), ("nonsense", "", "validation_error"),
    ("accepted_risk", "", "note_required"), ("false_positive", "  ", "note_required"),
    ("remedied", "x" * 501, "validation_error"),
])
def test_resolution_is_validated(world, resolution, note, code):
    alert = _raise(world)
    with pytest.raises(ValidationFailed) as exc:
        services.resolve(actor=world["a"], alert_id=alert.pk, resolution=resolution, note=note)
    assert exc.value.code == code


def test_every_kind_has_a_required_action(world):
    from ippledge.monitoring.models import AlertKind

    texts = set()
    for kind in AlertKind.values:
        texts.add(services.required_action(Alert(kind=kind, detail={})))
    assert len(texts) >= len(AlertKind.values) - 1 and "Review the alert." not in texts


def test_a_race_is_decided_by_the_database(world, monkeypatch):
    first = _raise(world)
    # The second raiser looked before the first committed and saw no live alert: the index refuses it.
    manager = Alert.objects
    monkeypatch.setattr(manager, "filter", lambda *a, **kw: manager.none())
    assert _raise(world) is None
    monkeypatch.undo()
    assert list(Alert.objects.values_list("pk", flat=True)) == [first.pk]
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Alert.objects.create(kind="litigation", severity="warning", condition_key="k1", owner_org=world["bank_a"],
                             raised_on=ON, due_date=ON)
