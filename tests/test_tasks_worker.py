"""The background queue for real: a server process on the platform's default (database) task backend,
webhooks to a receiver on this machine, and ``ippledge worker --batch`` as its own process against
the same database (a SQLite file, or a fresh PostgreSQL database when IPPLEDGE_DATABASE_URL is set).

No thread and no request posts a webhook any more: nothing arrives until the worker runs."""

from __future__ import annotations

import hashlib
import hmac
import http.cookiejar
import json
import threading
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from .live_server import LiveServer
from .registry_fixtures import PLEDGEE, PLEDGOR, application, patent_number

PASSWORD = "Live-pass-2026!"
NUMBER = patent_number("201910000000")


class Receiver:
    """A webhook receiver on 127.0.0.1 answering from a script of status codes (then 204)."""

    def __init__(self):
        self.received: list[tuple[str, bytes]] = []
        self.answers: list[int] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append((self.headers.get("X-Ippledge-Signature", ""), body))
                self.send_response(outer.answers.pop(0) if outer.answers else 204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("tasks"))
    # The receiver runs on this machine: the operator allows loopback for it.
    server.env["IPPLEDGE_WEBHOOK_ALLOW_HOSTS"] = "127.0.0.1"
    server.env["IPPLEDGE_TASK_BACKEND"] = "django_tasks_db.DatabaseBackend"  # the platform's default
    try:
        server.migrate()
        server.cli("createadmin", "--username", "root", "--password", PASSWORD)
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def worker(live: LiveServer) -> str:
    return live.cli("worker", "--batch").stdout


def shell(live: LiveServer, code: str) -> str:
    return live.cli("shell", "-c", code).stdout


def tasks(live: LiveServer, deliveries: list[int] | None = None) -> list[dict]:
    """The webhook tasks of the task log (as the task API shows them, with the delivery), oldest first."""
    out = shell(live, "import json; from django.utils import translation; translation.activate('en')\n"
                      "from ippledge.core import task_log\n"
                      "print(json.dumps([{**task_log.out(r), 'delivery': r.args_kwargs['kwargs'].get('delivery_id')}"
                      " for r in task_log.rows().order_by('enqueued_at')], default=str))")
    return [t for t in json.loads(out.strip().splitlines()[-1]) if t["task"] == "deliver_webhook"
            and (deliveries is None or t["delivery"] in deliveries)]


def clock_moves_on(live: LiveServer) -> None:
    """The retry delay passes: every deferred task becomes due now."""
    shell(live, "from django.utils import timezone; from django_tasks_db.models import DBTaskResult\n"
                "DBTaskResult.objects.filter(status='READY').update(run_after=timezone.now())")


def page(live: LiveServer, username: str, path: str) -> str:
    """A page as a logged-in user sees it, in English."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{live.base}/login/").read()
    csrf = next(c.value for c in jar if c.name == "csrftoken")
    form = urllib.parse.urlencode({"username": username, "password": PASSWORD, "csrfmiddlewaretoken": csrf})
    opener.open(urllib.request.Request(f"{live.base}/login/", data=form.encode(),
                                       headers={"Referer": f"{live.base}/login/"})).read()
    request = urllib.request.Request(f"{live.base}{path}", headers={"Cookie": "django_language=en; " + "; ".join(
        f"{c.name}={c.value}" for c in jar)})
    return opener.open(request).read().decode()


def test_the_worker_delivers_a_signed_webhook_and_the_task_log_shows_it(live, receiver):
    admin = live.token("root", PASSWORD)
    office = live.request("POST", "/orgs", {"name": "知识产权局", "kind": "ip_office"}, admin)[1]
    bank = live.request("POST", "/orgs", {"name": PLEDGEE["name"], "kind": "bank", "uscc": PLEDGEE["id_number"]},
                        admin)[1]
    for name, org, role in (("reg", office, "registrar"), ("officer", bank, "bank_officer")):
        status, body = live.request("POST", "/users", {"username": name, "password": PASSWORD, "org_id": org["id"],
                                                       "roles": [role]}, admin)
        assert status == 201, body
    registrar, officer = live.token("reg", PASSWORD), live.token("officer", PASSWORD)
    status, body = live.request("POST", "/ip-rights", {
        "kind": "invention", "number": NUMBER, "title": "专利", "owners": [PLEDGOR], "filing_date": "2019-03-01",
        "grant_date": "2021-01-05", "annuity_paid_through": "2099-01-01"}, registrar)
    assert status == 201, body
    status, hook = live.request("POST", "/webhooks", {"url": receiver.url}, officer)
    assert status == 201, hook
    status, filed = live.request("POST", "/pledge-applications", application(
        rights=[{"kind": "invention", "number": NUMBER}], contract_no="TASK-1"), registrar)
    assert status == 201 and filed["status"] == "registered", filed
    status, body = live.request("POST", f"/ip-rights/invention/{NUMBER}/events",
                                {"type": "preserved", "date": "2026-01-05"}, registrar)
    assert status == 201, body

    # The requests answered without calling out; the deliveries wait in the queue.
    assert receiver.received == []
    assert {t["status"] for t in tasks(live)} == {"ready"}

    worker(live)
    events = [json.loads(body) for _sig, body in receiver.received]
    assert "preserved" in [e["data"].get("event") for e in events], events
    for signature, body in receiver.received:
        assert signature == "sha256=" + hmac.new(hook["secret"].encode(), body, hashlib.sha256).hexdigest()
    done = tasks(live)
    assert done and {t["status"] for t in done} == {"successful"}
    assert all(t["result"]["delivered"] is True and t["attempt"] == 1 for t in done)

    # The administrator's task log lists them, without their arguments.
    html = page(live, "root", "/manage/tasks/?status=SUCCESSFUL")
    assert "Webhook delivery" in html and "Done" in html
    assert "delivery_id" not in html
    assert "0 failed" in html
    # The task API shows a delivery to the administrator, not to the bank's officer (who did not enqueue it).
    assert live.request("GET", f"/tasks/{done[0]['id']}", token=admin)[1]["status"] == "successful"
    assert live.request("GET", f"/tasks/{done[0]['id']}", token=officer)[0] == 404


def test_a_failing_receiver_is_retried_with_back_off_until_it_answers(live, receiver):
    receiver.answers = [500, 500]  # down twice, then up
    out = shell(live, "from django.db import transaction\n"
                "from ippledge.core import services\n"
                "from ippledge.core.actors import SYSTEM\n"
                "from ippledge.registry.models import Webhook\n"
                "from ippledge.registry.notify import notify\n"
                "org = services.create_organisation(actor=SYSTEM, name='重试银行', kind='bank')\n"
                f"Webhook.objects.create(org=org, url='{receiver.url}', secret='s3')\n"
                "from ippledge.registry.models import WebhookDelivery\n"
                "with transaction.atomic():\n"
                "    note = notify(org=org, kind='retry.test', message='m', data={'n': 1})\n"
                "print(list(WebhookDelivery.objects.filter(notification=note).values_list('pk', flat=True)))")
    deliveries = json.loads(out.strip().splitlines()[-1])
    mine = lambda: tasks(live, deliveries)  # noqa: E731

    worker(live)
    assert len(receiver.received) == 1
    first, retry = mine()
    assert (first["status"], first["attempt"]) == ("failed", 1)
    assert first["error"] == "Not delivered; tried again later (HTTP 500 · 1/8)"
    # The next attempt waits a minute: a batch run now leaves it alone.
    assert (retry["status"], retry["attempt"]) == ("ready", 2) and retry["not_before"]
    worker(live)
    assert len(receiver.received) == 1

    clock_moves_on(live)
    worker(live)
    assert len(receiver.received) == 2
    clock_moves_on(live)
    worker(live)
    assert len(receiver.received) == 3
    rows = mine()
    assert [(t["status"], t["attempt"]) for t in rows] == [("failed", 1), ("failed", 2), ("successful", 3)]
    assert rows[-1]["result"]["attempts"] == 3
    signature, body = receiver.received[-1]
    assert signature == "sha256=" + hmac.new(b"s3", body, hashlib.sha256).hexdigest()
    assert json.loads(body)["kind"] == "retry.test"


def test_the_demo_runs_a_worker_that_delivers_while_it_serves_and_stops_with_it(live, receiver, monkeypatch,
                                                                                 settings):
    """``ippledge demo`` starts ``ippledge worker`` (not --batch) beside the server: a notification made
    while it runs is delivered without anyone running a batch, and the worker stops when asked."""
    import time

    from ippledge.demo.management.commands.demo import start_worker, stop_worker

    for key, value in live.env.items():
        monkeypatch.setenv(key, value)
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    process = start_worker()
    assert process is not None
    try:
        shell(live, "from django.db import transaction\n"
                    "from ippledge.core import services\n"
                    "from ippledge.core.actors import SYSTEM\n"
                    "from ippledge.registry.models import Webhook\n"
                    "from ippledge.registry.notify import notify\n"
                    "org = services.create_organisation(actor=SYSTEM, name='演示银行', kind='bank')\n"
                    f"Webhook.objects.create(org=org, url='{receiver.url}', secret='d')\n"
                    "with transaction.atomic():\n"
                    "    notify(org=org, kind='demo.test', message='m', data={})\n")
        deadline = time.time() + 60
        while not receiver.received and time.time() < deadline:
            time.sleep(0.5)
        assert [json.loads(body)["kind"] for _sig, body in receiver.received] == ["demo.test"]
    finally:
        stop_worker(process)
    assert process.returncode == 0
