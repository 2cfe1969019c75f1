"""Platform API: tokens, /me, organisations and users, business date, end of day, error shape."""

from __future__ import annotations

import pytest
from django.test import override_settings

from ippledge.core.models import AuditEntry, LoginFailure

from .conftest import PASSWORD, Api, uscc

pytestmark = pytest.mark.django_db


def test_token_login_and_me(make_user, anon):
    make_user("bank_officer", "bank", username="officer1")
    r = anon.post("/auth/token", {"username": "officer1", "password": PASSWORD})
    assert r.status_code == 200
    assert r.data["token_type"] == "bearer"
    me = Api(r.data["access_token"]).get("/me")
    assert me.status_code == 200
    assert me.data["username"] == "officer1"
    assert me.data["roles"] == ["bank_officer"]
    assert me.data["organisation"]["kind"] == "bank"


def test_wrong_password_is_401_and_throttled_after_five(make_user, anon):
    make_user("bank_officer", "bank", username="officer2")
    for _ in range(5):
        r = anon.post("/auth/token", {"username": "officer2", "password": "nope-nope"})
        assert r.status_code == 401
        assert r.data["error"]["code"] == "invalid_credentials"
    r = anon.post("/auth/token", {"username": "officer2", "password": PASSWORD})
    assert r.status_code == 429
    assert r.data["error"]["code"] == "login_throttled"
    assert LoginFailure.objects.filter(username="officer2").count() == 5


def test_anonymous_and_bad_token_get_401(anon):
    assert anon.get("/me").status_code == 401
    r = Api("ipp_not-a-real-token").get("/me")
    assert r.status_code == 401
    assert r.data == {"error": {"code": "not_authenticated", "message": r.data["error"]["message"]}}


def test_admin_creates_org_and_user(api_as):
    admin, _ = api_as("admin")
    r = admin.post("/orgs", {"name": "中国测试银行 北京分行", "kind": "bank", "uscc": uscc("91110000100000589").lower()})
    assert r.status_code == 201, r.data
    assert r.data["uscc"] == uscc("91110000100000589")
    org_id = r.data["id"]
    r = admin.post("/users", {"username": "teller", "password": PASSWORD, "org_id": org_id,
                              "roles": ["bank_officer", "bank_reviewer"], "display_name": "王经理"})
    assert r.status_code == 201, r.data
    assert r.data["roles"] == ["bank_officer", "bank_reviewer"]
    assert AuditEntry.objects.filter(action="user.create", object_id=str(r.data["id"])).exists()


def test_org_and_user_validation_errors_write_nothing(api_as):
    admin, _ = api_as("admin")
    bad = uscc("91110000100000589")[:-1] + ("A" if uscc("91110000100000589")[-1] != "A" else "B")
    r = admin.post("/orgs", {"name": "坏银行", "kind": "bank", "uscc": bad})
    assert r.status_code == 422
    assert r.data["error"]["code"] == "invalid_uscc"
    assert "uscc" in r.data["error"]["fields"]
    r = admin.post("/orgs", {"name": "x", "kind": "spaceship"})
    assert r.status_code == 422 and r.data["error"]["code"] == "invalid_org_kind"
    r = admin.post("/orgs", {"kind": "bank"})
    assert r.status_code == 422 and r.data["error"]["code"] == "validation_error"
    assert "name" in r.data["error"]["fields"]
    bank = admin.post("/orgs", {"name": "好银行", "kind": "bank"}).data
    r = admin.post("/users", {"username": "x1", "password": PASSWORD, "org_id": bank["id"], "roles": ["registrar"]})
    assert r.status_code == 422 and r.data["error"]["code"] == "role_not_allowed_for_org"
    r = admin.post("/users", {"username": "x1", "password": "short", "org_id": bank["id"], "roles": ["bank_officer"]})
    assert r.status_code == 422 and r.data["error"]["code"] == "weak_password"
    from ippledge.core.models import User
    assert not User.objects.filter(username="x1").exists()


def test_duplicate_uscc_is_conflict(api_as):
    admin, _ = api_as("admin")
    assert admin.post("/orgs", {"name": "甲", "kind": "enterprise", "uscc": "914403001922038216"}).status_code == 201
    r = admin.post("/orgs", {"name": "乙", "kind": "enterprise", "uscc": "914403001922038216"})
    assert r.status_code == 409 and r.data["error"]["code"] == "duplicate_uscc"


def test_non_admin_cannot_create_orgs(api_as):
    officer, _ = api_as("bank_officer")
    r = officer.post("/orgs", {"name": "x", "kind": "bank"})
    assert r.status_code == 403 and r.data["error"]["code"] == "permission_denied"


@override_settings(ALLOW_BUSINESS_DATE=True)
def test_business_date_set_and_reset(api_as):
    admin, _ = api_as("admin")
    r = admin.put("/admin/business-date", {"date": "2026-03-15"})
    assert r.status_code == 200 and r.data["date"] == "2026-03-15" and r.data["overridden"]
    assert admin.get("/admin/business-date").data["date"] == "2026-03-15"
    r = admin.put("/admin/business-date", {"date": None})
    assert r.data["overridden"] is False


def test_business_date_locked_without_flag(api_as):
    admin, _ = api_as("admin")
    r = admin.put("/admin/business-date", {"date": "2026-03-15"})
    assert r.status_code == 403 and r.data["error"]["code"] == "business_date_locked"


@override_settings(ALLOW_BUSINESS_DATE=True)  # a past day runs only in simulation
def test_eod_runs_once_per_date(api_as):
    from ippledge.core import eod

    calls = []
    eod.eod_job("test.count")(lambda day: calls.append(day) or {"n": len(calls)})
    try:
        admin, _ = api_as("admin")
        first = admin.post("/admin/eod", {"date": "2026-01-05"})
        assert first.status_code == 200
        assert any(r["job"] == "test.count" and r["status"] == "done" for r in first.data)
        admin.post("/admin/eod", {"date": "2026-01-05"})
        assert len(calls) == 1
        r = admin.post("/admin/eod", {"date": "2999-01-01"})
        assert r.status_code == 409 and r.data["error"]["code"] == "eod_date_in_future"
    finally:
        eod._JOBS.pop("test.count")


def test_audit_entries_cannot_be_changed(api_as):
    api_as("admin")
    entry = AuditEntry.objects.first()
    with pytest.raises(TypeError):
        entry.save()
    with pytest.raises(TypeError):
        AuditEntry.objects.all().delete()
    with pytest.raises(TypeError):
        AuditEntry.objects.filter(pk=entry.pk).update(action="x")


def test_openapi_is_served(anon):
    r = anon.get("/openapi.json")
    assert r.status_code == 200
    assert "/api/v1/ip-rights" in r.data["paths"]
