"""Issue 9, the platform's edge: tokens that read statistics only, expire and can be revoked; one JSON
error shape for every API answer; bodies refused before parsing; login back-off that never locks the
owner out from elsewhere; files kept private; audit rows undeletable; security headers and local
Swagger assets; shared rate limits on every public route behind trusted proxies only."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client, override_settings
from django.utils import timezone

from ippledge.core import ratelimit, services
from ippledge.core.actors import SYSTEM
from ippledge.core.models import ApiToken, AuditEntry, LoginThrottle

from .conftest import PASSWORD, Api

pytestmark = pytest.mark.django_db
SRC = Path(__file__).resolve().parents[1] / "src" / "ippledge"


# -- point 5: data-sharing tokens read statistics only, are listed, revoked, expire ------------------

@pytest.fixture
def regulator(make_user):
    user = make_user("regulator_user", "regulator", username="reg1")
    return Api(services.issue_token(user=user)), user


def test_sharing_token_reads_statistics_and_nothing_else(regulator):
    client, _user = regulator
    r = client.post("/reports/sharing-token")
    assert r.status_code == 201 and r.data["scope"] == "statistics"
    assert r.data["expires_in"] == settings.SHARING_TOKEN_LIFETIME_DAYS * 86400
    shared = Api(r.data["access_token"])
    assert shared.get("/reports/ip-pledge-loans?period=2026").status_code == 200
    assert shared.get("/reports/registry?period=2026").status_code == 200
    for path in ("/loans/L1", "/credit-cases", "/valuations", "/orgs", "/ip-rights?q=1",
                 "/reports/ip-pledge-loans/loans?period=2026", "/reports/pulls", "/auth/tokens"):
        r = shared.get(path)
        assert r.status_code == 403 and r.data["error"]["code"] == "token_scope", (path, r.status_code, r.data)
    # The same user's own login token still reads what its roles allow.
    assert client.get("/orgs").status_code == 200


def test_tokens_are_listed_and_revoked_by_their_owner(make_user, anon):
    owner = make_user("bank_officer", "bank", username="tok-owner")
    other = make_user("enterprise_user", "enterprise", username="tok-other")
    raw = anon.post("/auth/token", {"username": "tok-owner", "password": PASSWORD}).data["access_token"]
    spare = services.issue_token(user=owner, name="spare")
    me = Api(raw)
    listed = me.get("/auth/tokens")
    assert listed.status_code == 200
    assert {t["name"] for t in listed.data} == {"api", "spare"} and all(t["active"] for t in listed.data)
    assert all("key_hash" not in t and "access_token" not in t for t in listed.data)
    spare_id = next(t["id"] for t in listed.data if t["name"] == "spare")
    # Someone else's token is not found, and stays alive.
    stranger = Api(services.issue_token(user=other))
    assert stranger.call("delete", f"/auth/tokens/{spare_id}").status_code == 404
    assert Api(spare).get("/me").status_code == 200
    r = me.call("delete", f"/auth/tokens/{spare_id}")
    assert r.status_code == 200 and r.data["active"] is False and r.data["revoked_reason"] == "revoked"
    assert Api(spare).get("/me").status_code == 401
    assert AuditEntry.objects.filter(action="token.revoke", object_id=str(spare_id)).exists()


def test_tokens_expire(make_user, anon):
    make_user("bank_officer", "bank", username="tok-exp")
    r = anon.post("/auth/token", {"username": "tok-exp", "password": PASSWORD})
    assert r.data["expires_in"] == settings.TOKEN_LIFETIME_DAYS * 86400
    token = ApiToken.objects.get(user__username="tok-exp")
    assert abs(token.expires_at - (timezone.now() + dt.timedelta(days=settings.TOKEN_LIFETIME_DAYS))) \
        < dt.timedelta(minutes=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert Api(r.data["access_token"]).get("/me").status_code == 401


def test_password_reset_kills_every_token_of_the_user(make_user):
    admin, _created = services.ensure_admin(username="root-pw", password=PASSWORD)
    tokens = [services.issue_token(user=admin), services.issue_token(user=admin, read_only=True)]
    bystander = services.issue_token(user=make_user("bank_officer", "bank", username="bystander"))
    services.ensure_admin(username="root-pw", password="Another-pass-2026!")
    assert [Api(t).get("/me").status_code for t in tokens] == [401, 401]
    assert Api(bystander).get("/me").status_code == 200
    assert AuditEntry.objects.filter(action="token.revoke_all", object_id=str(admin.pk)).exists()
    # Any path that sets a password (here the ORM, as `ippledge changepassword` does) counts too.
    user = make_user("enterprise_user", "enterprise", username="pw-orm")
    raw = services.issue_token(user=user)
    user.set_password("Changed-pass-2026!")
    user.save()
    assert Api(raw).get("/me").status_code == 401


def test_the_platform_hashes_passwords_with_argon2():
    # The suite hashes with MD5 for speed (tests/settings.py); the platform itself must not.
    from ippledge.settings import PASSWORD_HASHERS as PLATFORM_HASHERS

    assert PLATFORM_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    assert not any("MD5" in h for h in PLATFORM_HASHERS)


def test_a_hash_upgrade_at_login_is_not_a_password_change(make_user, settings):
    from ippledge.settings import PASSWORD_HASHERS as PLATFORM_HASHERS

    settings.PASSWORD_HASHERS = PLATFORM_HASHERS  # the platform's own list: Argon2 first
    user = make_user("bank_officer", "bank", username="rehash")
    raw = services.issue_token(user=user)
    from django.contrib.auth.hashers import make_password

    type(user).objects.filter(pk=user.pk).update(password=make_password(PASSWORD, hasher="pbkdf2_sha256"))
    user.refresh_from_db()
    assert user.check_password(PASSWORD)  # upgrades the hash to Argon2 and saves it
    user.refresh_from_db()
    assert user.password.startswith("argon2")
    assert Api(raw).get("/me").status_code == 200


# -- point 12: every API error in the JSON error shape; errors documented in the OpenAPI -----------

def test_method_not_allowed_and_unknown_paths_are_json(anon):
    r = anon.call("put", "/me", {})
    assert r.status_code == 405 and r.data["error"]["code"] == "method_not_allowed"
    assert "GET" in r.headers["Allow"]
    for path in ("/no-such-thing", "/me/", "/public/nope/deeper"):
        r = anon.get(path)
        assert r.status_code == 404 and r.data["error"]["code"] == "not_found", (path, r.content[:80])


def test_csrf_failure_is_json_on_the_api_and_translated(make_user):
    make_user("admin", username="csrf-admin")
    client = Client(enforce_csrf_checks=True)
    assert client.login(username="csrf-admin", password=PASSWORD)
    r = client.post("/api/v1/orgs", data=json.dumps({"name": "x", "kind": "bank"}), content_type="application/json",
                    headers={"Accept-Language": "en"})
    assert r.status_code == 403
    error = r.json()["error"]
    assert error["code"] == "csrf_failed" and error["message"] != "CSRF check Failed"
    # With the token the same request passes CSRF.
    client.get("/")
    r = client.post("/api/v1/orgs", data=json.dumps({"name": "有令牌", "kind": "bank"}),
                    content_type="application/json", headers={"X-CSRFToken": client.cookies["csrftoken"].value})
    assert r.status_code == 201, r.content
    # Without a session cookie there is nothing to forge: 401, not a CSRF refusal.
    r = Client(enforce_csrf_checks=True).post("/api/v1/orgs", data="{}", content_type="application/json")
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"


def test_csrf_failure_on_pages_is_the_error_page():
    r = Client(enforce_csrf_checks=True).post("/login/", {"username": "x", "password": "y"})
    assert r.status_code == 403 and r["Content-Type"].startswith("text/html")


def test_openapi_documents_error_answers():
    from ippledge.api import api

    schema = api.get_openapi_schema()
    assert "Error" in schema["components"]["schemas"]
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            for status in ("400", "403", "404", "422", "429"):
                assert status in responses, (method, path, status)
            if operation.get("security"):
                assert responses["401"]["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/Error"
            if method in ("post", "put", "patch"):
                assert {"413", "415"} <= set(responses), (method, path)


# -- point 10: bodies refused before they are parsed --------------------------------------------------

def test_body_over_the_limit_is_413_even_anonymous(anon):
    big = {"username": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10), "password": "y"}
    r = anon.post("/auth/token", big)
    assert r.status_code == 413 and r.data["error"]["code"] == "payload_too_large"
    assert not LoginThrottle.objects.exists()  # refused before the login was even attempted
    r = Client().post("/login/", {"username": "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 10)})
    assert r.status_code == 413


def test_non_json_body_on_a_json_endpoint_is_415(anon, make_user):
    make_user("bank_officer", "bank", username="plain")
    body = json.dumps({"username": "plain", "password": PASSWORD})
    r = anon.client.post("/api/v1/auth/token", data=body, content_type="text/plain")
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"
    r = anon.client.post("/api/v1/auth/token", data="{not json", content_type="application/json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_body"
    r = anon.client.post("/api/v1/auth/token", data=body, content_type="application/merge-patch+json")
    assert r.status_code == 200


def test_multipart_without_boundary_is_400(api_as):
    officer, _ = api_as("bank_officer", "bank")
    raw = b'--x\r\nContent-Disposition: form-data; name="key"\r\n\r\nownership\r\n--x--\r\n'
    r = officer.client.post("/api/v1/credit-cases/CR20260000001/evidence", data=raw, content_type="multipart/form-data",
                            headers={"Authorization": f"Bearer {officer.token}"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_body"
    r = Client().post("/api/v1/auth/token", data=raw, content_type="multipart/form-data")
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_body"


# -- point 16: login throttling per (username, address) and per address, with back-off -------------

def _login(username, password, address="10.1.1.1"):
    return Client(REMOTE_ADDR=address).post("/api/v1/auth/token", data=json.dumps(
        {"username": username, "password": password}), content_type="application/json")


def test_a_guesser_is_locked_out_but_the_owner_logs_in_from_elsewhere(make_user):
    make_user("bank_officer", "bank", username="victim")
    for _ in range(settings.LOGIN_THROTTLE_MAX_FAILURES):
        assert _login("victim", "wrong-guess").status_code == 401
    r = _login("victim", PASSWORD)
    assert r.status_code == 429 and r.json()["error"]["code"] == "login_throttled"
    assert 0 < int(r["Retry-After"]) <= settings.LOGIN_THROTTLE_LOCKOUT_SECONDS + 1
    assert _login("victim", PASSWORD, address="10.2.2.2").status_code == 200
    lockout = AuditEntry.objects.filter(action="login.lockout").first()
    assert lockout is not None and lockout.after["username"] == "victim" and lockout.after["client"] == "10.1.1.1"


def test_back_off_doubles_after_each_further_failure(make_user):
    make_user("bank_officer", "bank", username="backoff")
    for _ in range(settings.LOGIN_THROTTLE_MAX_FAILURES):
        _login("backoff", "wrong-guess")
    base = settings.LOGIN_THROTTLE_LOCKOUT_SECONDS
    for expected in (2 * base, 4 * base):
        # Wait out the lock-out (by moving it into the past), fail once more: the next lock is twice as long.
        LoginThrottle.objects.update(locked_until=timezone.now() - dt.timedelta(seconds=1))
        assert _login("backoff", "wrong-guess").status_code == 401
        r = _login("backoff", PASSWORD)
        assert r.status_code == 429
        assert expected - 2 <= int(r["Retry-After"]) <= expected + 1


def test_an_address_is_throttled_across_usernames(make_user):
    make_user("bank_officer", "bank", username="nat-user")
    for i in range(settings.LOGIN_THROTTLE_ADDRESS_FAILURES):
        assert _login(f"spray{i}", "wrong-guess", address="10.3.3.3").status_code == 401
    assert _login("nat-user", PASSWORD, address="10.3.3.3").status_code == 429
    assert _login("nat-user", PASSWORD, address="10.4.4.4").status_code == 200


def test_own_success_does_not_reset_the_address_bucket(make_user):
    make_user("bank_officer", "bank", username="mine")
    limit = settings.LOGIN_THROTTLE_ADDRESS_FAILURES
    for i in range(limit - 1):
        _login(f"spray{i}", "wrong-guess", address="10.5.5.5")
    assert _login("mine", PASSWORD, address="10.5.5.5").status_code == 200
    assert _login("spray-last", "wrong-guess", address="10.5.5.5").status_code == 401
    assert _login("spray-more", "wrong-guess", address="10.5.5.5").status_code == 429


def test_login_page_429_has_retry_after(make_user):
    make_user("bank_officer", "bank", username="pageuser")
    client = Client(REMOTE_ADDR="10.6.6.6")
    for _ in range(settings.LOGIN_THROTTLE_MAX_FAILURES):
        client.post("/login/", {"username": "pageuser", "password": "wrong-guess"})
    r = client.post("/login/", {"username": "pageuser", "password": PASSWORD})
    assert r.status_code == 429 and int(r["Retry-After"]) > 0


# -- point 20: shared rate limits on every public route, trusted proxies only ----------------------

@pytest.fixture
def still_clock(monkeypatch):
    """One rate-limit window for the whole test, wherever the minute boundary falls."""
    monkeypatch.setattr(ratelimit, "_clock", lambda: 1_800_000_030.0)


def test_the_rate_limit_cache_is_shared_by_default():
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"
    assert "ippledge_cache" in connection.introspection.table_names()


def test_cache_url_selects_redis(monkeypatch):
    from ippledge import settings as project_settings

    monkeypatch.setenv("IPPLEDGE_CACHE_URL", "redis://cache.internal:6379/2")
    config = project_settings._caches()["default"]
    assert config["BACKEND"].endswith("RedisCache") and config["LOCATION"] == "redis://cache.internal:6379/2"


@override_settings(PUBLIC_RATE_LIMIT=3)
@pytest.mark.parametrize("path", ["/api/v1/public/statistics?period=2026", "/api/v1/public/case-studies",
                                  "/api/v1/public/ip-rights/invention/ZL201410362077.3", "/registry/",
                                  "/reports/public/", "/registry/certificates/verify/", "/rights/"])
def test_every_public_route_is_limited(path, still_clock):
    client = Client(REMOTE_ADDR="10.7.7.7")
    statuses = [client.get(path).status_code for _ in range(3)]
    assert all(s != 429 for s in statuses), statuses
    r = client.get(path)
    assert r.status_code == 429 and int(r["Retry-After"]) == 31
    if path.startswith("/api/"):
        assert r.json()["error"]["code"] == "rate_limited"
    assert Client(REMOTE_ADDR="10.8.8.8").get(path).status_code != 429


@override_settings(PUBLIC_RATE_LIMIT=3)
def test_logged_in_pages_are_not_counted(make_user, still_clock):
    make_user("bank_officer", "bank", username="pages-in")
    client = Client(REMOTE_ADDR="10.9.9.9")
    assert client.login(username="pages-in", password=PASSWORD)
    assert all(client.get("/registry/").status_code == 200 for _ in range(5))


@override_settings(PUBLIC_RATE_LIMIT=2, TRUSTED_PROXIES=["10.0.0.0/8"])
def test_forwarded_for_counts_only_behind_a_trusted_proxy(still_clock):
    path = "/api/v1/public/case-studies"

    def get(peer, forwarded):
        return Client(REMOTE_ADDR=peer).get(path, headers={"X-Forwarded-For": forwarded}).status_code

    # Behind the proxy each client has its own bucket; what a client prepends is ignored.
    assert [get("10.0.0.2", "1.1.1.1") for _ in range(3)] == [200, 200, 429]
    assert get("10.0.0.2", "6.6.6.6, 2.2.2.2, 10.0.0.9") == 200
    assert get("10.0.0.2", "1.1.1.1, 2.2.2.2") == 200
    assert get("10.0.0.2", "2.2.2.2") == 429
    # A peer that is not a trusted proxy cannot pick its address.
    assert [get("192.0.2.1", f"3.3.3.{i}") for i in range(3)] == [200, 200, 429]


def test_forwarded_client_takes_the_rightmost_untrusted_address():
    with override_settings(TRUSTED_PROXIES=["10.0.0.0/8", "2001:db8::/32"]):
        assert ratelimit.forwarded_client("9.9.9.9, 1.1.1.1, 10.0.0.7", "10.0.0.1") == "1.1.1.1"
        assert ratelimit.forwarded_client("10.0.0.5, 10.0.0.7", "10.0.0.1") == "10.0.0.5"
        assert ratelimit.forwarded_client("junk, 10.0.0.7", "10.0.0.1") == "10.0.0.7"
        assert ratelimit.forwarded_client("", "10.0.0.1") == "10.0.0.1"
        assert ratelimit.forwarded_client("2001:db8::1, 2400:cb00::5", "2001:db8::2") == "2400:cb00::5"


# -- point 13: audit rows cannot be deleted in the database -----------------------------------------

def test_audit_rows_refuse_update_and_delete_in_sql():
    services.create_organisation(actor=SYSTEM, name="审计测试机构", kind="enterprise")
    assert AuditEntry.objects.exists()
    for sql in ("DELETE FROM core_auditentry", "UPDATE core_auditentry SET action = 'x'"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql)
    assert AuditEntry.objects.exists()


def test_flush_still_empties_the_database():
    services.create_organisation(actor=SYSTEM, name="清空测试机构", kind="enterprise")
    if connection.vendor == "postgresql":  # inside the test's transaction: settle deferred FK checks first
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    call_command("flush", interactive=False, verbosity=0, inhibit_post_migrate=True)
    assert not AuditEntry.objects.exists()
    if connection.vendor == "sqlite":  # the unlock rows exist only for the length of the flush
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM core_flush_unlock")
            assert cursor.fetchone()[0] == 0


# -- point 19: CSP, Permissions-Policy, HSTS over HTTPS, Swagger UI without a CDN ----------------

def test_pages_carry_csp_and_permissions_policy():
    r = Client().get("/")
    csp = r["Content-Security-Policy"]
    script = re.search(r"script-src ([^;]+)", csp).group(1)
    assert "'self'" in script and "unsafe-inline" not in script and "unsafe-eval" not in script
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert "camera=()" in r["Permissions-Policy"]
    assert "Strict-Transport-Security" not in r  # plain HTTP: no HSTS


def test_templates_have_no_inline_script_or_style():
    offenders = []
    for template in SRC.rglob("templates/**/*.html"):
        text = template.read_text()
        if re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", text) or \
                re.search(r"<style|\sstyle=|\son[a-z]+=\"", text):
            offenders.append(str(template.relative_to(SRC)))
    assert offenders == []


def _settings_under(env: dict) -> dict:
    code = ("import json, django; django.setup(); from django.conf import settings as s; print(json.dumps({k: "
            "getattr(s, k, None) for k in ('SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SECURE_HSTS_SECONDS', "
            "'SECURE_PROXY_SSL_HEADER', 'SECURE_SSL_REDIRECT')}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120,
                         env={**os.environ, "DJANGO_SETTINGS_MODULE": "ippledge.settings", **env})
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_https_setting_turns_on_hsts_and_secure_cookies(tmp_path):
    plain = _settings_under({"IPPLEDGE_DATA_DIR": str(tmp_path / "a")})
    assert plain["SESSION_COOKIE_SECURE"] is False and not plain["SECURE_HSTS_SECONDS"]
    https = _settings_under({"IPPLEDGE_DATA_DIR": str(tmp_path / "b"), "IPPLEDGE_HTTPS": "1"})
    assert https["SESSION_COOKIE_SECURE"] and https["CSRF_COOKIE_SECURE"] and https["SECURE_HSTS_SECONDS"] >= 31536000
    assert https["SECURE_PROXY_SSL_HEADER"] is None  # nobody's X-Forwarded-Proto is believed without a proxy
    proxied = _settings_under({"IPPLEDGE_DATA_DIR": str(tmp_path / "c"), "IPPLEDGE_HTTPS": "1",
                               "IPPLEDGE_TRUSTED_PROXIES": "10.0.0.1"})
    assert proxied["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


@override_settings(SECURE_HSTS_SECONDS=31536000, SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
                   TRUSTED_PROXIES=["10.0.0.1"])
def test_forwarded_proto_is_believed_only_from_a_trusted_proxy():
    via_proxy = Client(REMOTE_ADDR="10.0.0.1").get("/", headers={"X-Forwarded-Proto": "https"})
    assert via_proxy["Strict-Transport-Security"].startswith("max-age=31536000")
    spoofed = Client(REMOTE_ADDR="192.0.2.7").get("/", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in spoofed


def test_swagger_ui_is_served_from_the_package():
    r = Client().get("/api/v1/docs")
    assert r.status_code == 200
    html = r.content.decode()
    # Every script and stylesheet from the package (the page's random CSRF token may spell "cdn").
    sources = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert sources and all(s.startswith("/") and not s.startswith("//") for s in sources), sources
    assert "https://" not in html and "cdn." not in html.lower()
    bundle = re.search(r'src="([^"]*swagger-ui-bundle\.js)"', html).group(1)
    assert bundle.startswith(settings.STATIC_URL)
    asset = Client().get(bundle)
    assert asset.status_code == 200
    assert b"".join(asset.streaming_content if asset.streaming else [asset.content])[:100]


# -- point 17: data dir 0700, files 0600 ------------------------------------------------------------

def test_uploaded_files_and_the_data_dir_are_private(tmp_path):
    from django.core.files.base import ContentFile
    from django.core.files.storage import FileSystemStorage

    assert stat.S_IMODE(Path(settings.DATA_DIR).stat().st_mode) == 0o700
    storage = FileSystemStorage(location=tmp_path / "files")
    name = storage.save("evidence/a.pdf", ContentFile(b"%PDF-1.4"))
    assert stat.S_IMODE((tmp_path / "files" / name).stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "files" / "evidence").stat().st_mode) == 0o700


# -- against a real server: concurrent guesses, limits shared by workers, private files -------------

LIVE_LIMIT = 45


@pytest.fixture
def live(tmp_path):
    """``ippledge serve --workers 2`` on a fresh data dir, started under the common umask 022."""
    import time
    import urllib.request

    from .live_server import LiveServer

    server = LiveServer(tmp_path / "data")
    server.env.update({"IPPLEDGE_DATA_DIR": str(tmp_path / "data"), "IPPLEDGE_PUBLIC_RATE_LIMIT": str(LIVE_LIMIT),
                       "IPPLEDGE_LOGIN_THROTTLE_MAX_FAILURES": "5"})
    if server.database_url.startswith("sqlite"):
        server.database_url = f"sqlite:///{tmp_path / 'data' / 'live.sqlite3'}"
        server.env["IPPLEDGE_DATABASE_URL"] = server.database_url

    def run(*args, **kw):
        return subprocess.Popen([sys.executable, "-m", "ippledge.cli", *args], env=server.env,
                                preexec_fn=lambda: os.umask(0o022), **kw)

    try:
        assert run("migrate", stdout=subprocess.DEVNULL).wait(timeout=300) == 0
        assert run("createadmin", "--username", "root", "--password", PASSWORD,
                   stdout=subprocess.DEVNULL).wait(timeout=120) == 0
        server.proc = run("serve", "--port", str(server.port), "--workers", "2", "--threads", "16",
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f"{server.base}/healthz", timeout=1).read()
                break
            except OSError:
                assert time.time() < deadline, "server did not start"
                time.sleep(0.2)
        yield server
    finally:
        server.close()


def _raw_post(server, path, body):
    import urllib.error
    import urllib.request

    req = urllib.request.Request(f"{server.base}/api/v1{path}", data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, dict(resp.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers)


def test_live_throttling_limits_and_file_modes(live):
    import threading
    from concurrent.futures import ThreadPoolExecutor

    # 40 concurrent wrong passwords for one account from one address: at most 5 are even tried.
    barrier = threading.Barrier(40)

    def guess(_i):
        barrier.wait()
        return _raw_post(live, "/auth/token", {"username": "root", "password": "wrong-guess"})

    with ThreadPoolExecutor(40) as pool:
        answers = list(pool.map(guess, range(40)))
    statuses = sorted(s for s, _h in answers)
    assert statuses.count(401) <= 5 and set(statuses) <= {401, 429}, statuses
    assert all(int(h["Retry-After"]) > 0 for s, h in answers if s == 429)

    # One public limit for both worker processes (the shared cache), not one per process.
    import time

    if time.time() % 60 > 40:  # all requests inside one one-minute window
        time.sleep(61 - time.time() % 60)
    passed = 0
    for _ in range(LIVE_LIMIT + 10):
        status, _body = live.request("GET", "/public/case-studies")
        passed += status == 200
        assert status in (200, 429)
    assert passed == LIVE_LIMIT

    # Created under umask 022, still private: the data dir 0700, database, key files 0600.
    data = Path(live.env["IPPLEDGE_DATA_DIR"])
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    for path in data.iterdir():
        if path.is_file():
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


def test_a_nul_in_any_query_parameter_is_refused_before_it_reaches_the_database(api_as):
    # Schemathesis found list filters (risk-sharing policies' `status`) passing a NUL on to PostgreSQL.
    officer, _ = api_as("bank_officer", "bank", username="nul-filter")
    for path in ("/risk-sharing/policies?status=%00n", "/risk-sharing/claims?status=a%00",
                 "/disposals?status=%00", "/risk-sharing/policies?loan_no=%00", "/risk-sharing/policies?%00=1"):
        r = officer.get(path)
        assert r.status_code == 422, (path, r.status_code)
        assert r.data["error"]["code"] == "invalid_query"
    assert officer.get("/risk-sharing/policies?status=active").status_code == 200
    assert Client().get("/rights/?q=%00").status_code == 400  # a page: a bad address
