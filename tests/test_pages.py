"""Server-rendered pages: login, navigation by role, the register, inline errors, languages."""

from __future__ import annotations

import pytest
from django.test import Client

from ippledge.core.actors import SYSTEM
from ippledge.rights import services as rights
from ippledge.rights.models import LegalEvent

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db
OWNER = {"name": "深圳示范科技有限公司", "id_type": "uscc", "id_number": "914403001922038216"}


@pytest.fixture
def patent(db):
    return rights.create_right(actor=SYSTEM, data={
        "kind": "invention", "number": "ZL201410362077.3", "title": "一种数据传输方法", "owners": [OWNER],
        "filing_date": "2014-07-28", "grant_date": "2016-01-01", "annuity_paid_through": "2099-01-01"})


def login(client: Client, username: str, password: str = PASSWORD):
    return client.post("/login/", {"username": username, "password": password})


def test_login_page_logs_in_and_out(make_user):
    make_user("bank_officer", "bank", username="page-officer")
    client = Client()
    assert client.get("/login/").status_code == 200
    r = login(client, "page-officer", "wrong-password")
    assert r.status_code == 400 and 'role="alert"' in r.content.decode()
    r = login(client, "page-officer")
    assert r.status_code == 302
    assert "page-officer" in client.get("/").content.decode()
    assert client.post("/logout/").status_code == 302
    assert "page-officer" not in client.get("/").content.decode()


def test_login_redirect_refuses_foreign_hosts(make_user):
    make_user("bank_officer", "bank", username="redir")
    r = Client().post("/login/", {"username": "redir", "password": PASSWORD, "next": "https://evil.example/"})
    assert r.status_code == 302 and r.url == "/credit/"  # the officer's own desk, never the foreign host


def test_navigation_depends_on_role(make_user):
    make_user("registrar", "ip_office", username="reg")
    make_user("bank_officer", "bank", username="bank")
    reg, bank = Client(), Client()
    login(reg, "reg")
    login(bank, "bank")
    assert "/rights/new/" in reg.get("/").content.decode()
    assert "/rights/new/" not in bank.get("/").content.decode()
    assert bank.get("/rights/new/").status_code == 403


def test_public_register_pages(patent):
    client = Client()
    page = client.get("/rights/?q=2014103620773").content.decode()
    assert "ZL201410362077.3" in page and "一种数据传输方法" in page
    detail = client.get("/rights/invention/201410362077.3/")
    assert detail.status_code == 200
    assert 'data-testid="timeline"' in detail.content.decode()
    assert client.get("/rights/invention/ZL202011472880.4/").status_code == 404


def test_registrar_records_event_and_sees_inline_error(make_user, patent):
    make_user("registrar", "ip_office", username="reg2")
    client = Client()
    login(client, "reg2")
    bad = client.post("/rights/invention/201410362077.3/", {"type": "suspension_lifted", "date": "2026-01-05"})
    assert bad.status_code == 400
    assert 'data-error-code="invalid_event"' in bad.content.decode()
    assert LegalEvent.objects.count() == 0
    ok = client.post("/rights/invention/201410362077.3/", {"type": "licensed", "date": "2020-01-05"})
    assert ok.status_code == 302
    assert LegalEvent.objects.get().type == "licensed"


def test_new_right_form_shows_field_errors(make_user):
    make_user("registrar", "ip_office", username="reg3")
    client = Client()
    login(client, "reg3")
    r = client.post("/rights/new/", {"kind": "invention", "number": "ZL201410362077.4", "filing_date": "2014-07-28",
                                     "owner_name": "甲公司", "owner_id_type": "uscc",
                                     "owner_id_number": "914403001922038216"})
    assert r.status_code == 400
    html = r.content.decode()
    assert 'class="field-error"' in html and 'data-error-code="invalid_patent_number"' in html
    r = client.post("/rights/new/", {"kind": "invention", "number": "ZL201410362077.3", "filing_date": "2014-07-28",
                                     "owner_name": "甲公司", "owner_id_type": "uscc",
                                     "owner_id_number": "914403001922038216"})
    assert r.status_code == 302 and r.url == "/rights/invention/201410362077.3/"


def test_chinese_by_default_english_on_request(patent):
    client = Client()
    zh = client.get("/rights/").content.decode()
    assert 'lang="zh-CN"' in zh and "知识产权登记簿" in zh
    client.post("/i18n/setlang/", {"language": "en", "next": "/rights/"})
    en = client.get("/rights/").content.decode()
    assert 'lang="en"' in en and "IP-rights register" in en


def test_errors_are_translated_in_the_api(make_user):
    from .conftest import Api

    make_user("bank_officer", "bank", username="zh-user")
    r = Api().post("/auth/token", {"username": "zh-user", "password": "bad-bad-bad"},
                   headers={"Accept-Language": "zh-hans"})
    assert r.data["error"]["code"] == "invalid_credentials"
    assert r.data["error"]["message"] == "用户名或密码错误。"
