"""Background tasks in-process: the enqueueing helpers, webhook retries to the final failure, the
end-of-day sweep, the task API's scoping and the administrator's task log.

Most tests keep the suite's immediate backend; those about the queue switch to the database backend
and run ``ippledge worker --batch`` in this process (transactional tests: the worker commits)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client, override_settings
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from ippledge.core import jobs, services
from ippledge.core.actors import SYSTEM
from ippledge.registry import notify
from ippledge.registry.models import Notification, Webhook, WebhookDelivery
from ippledge.registry.tasks import webhooks as nightly_webhook_job

from .conftest import PASSWORD, Api

QUEUE = override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}})


@task()
def echo(*, actor_id: int, text: str) -> dict:
    """A task a user enqueues (the ``actor_id`` convention); returns a small summary."""
    return {"echo": text, "actor_id": actor_id}


class Receiver:
    def __init__(self, answer: int = 204):
        self.hits: list[bytes] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                outer.hits.append(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(answer)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(monkeypatch):
    monkeypatch.setenv("IPPLEDGE_WEBHOOK_ALLOW_HOSTS", "127.0.0.1")
    made = []

    def make(answer: int = 204) -> Receiver:
        made.append(Receiver(answer))
        return made[-1]

    yield make
    for r in made:
        r.close()


def _hooked_org(url: str):
    org = services.create_organisation(actor=SYSTEM, name="任务银行", kind="bank")
    Webhook.objects.create(org=org, url=url, secret="k")
    return org


def run_worker() -> None:
    call_command("worker", "--batch", verbosity=0)


def due_now() -> None:
    DBTaskResult.objects.filter(status="READY").update(run_after=timezone.now())


# --- the helpers -------------------------------------------------------------------------------------

def test_a_task_is_given_ids_never_model_instances(db):
    org = services.create_organisation(actor=SYSTEM, name="参数银行", kind="bank")
    with pytest.raises(TypeError, match="Organisation.pk"):
        jobs.enqueue(echo, actor_id=org, text="x")
    with pytest.raises(TypeError):
        jobs.enqueue_on_commit(echo, actor_id=org, text="x")


def test_retries_wait_longer_each_time_and_the_immediate_backend_leaves_them_to_end_of_day():
    delays = [jobs.retry_delay(n).total_seconds() for n in range(1, 9)]
    assert delays == sorted(delays) and delays[0] == 60 and delays[-1] == 6 * 3600
    assert jobs.can_defer(echo) is False
    assert jobs.retry_later(echo, attempt=1, max_attempts=8, actor_id=1, text="x") is None


def test_a_notification_is_delivered_only_once_its_transaction_commits(db, receiver, django_capture_on_commit_callbacks):
    r = receiver()
    org = _hooked_org(r.url)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notify.notify(org=org, kind="k", message="m", data={"a": 1})
    assert r.hits == [] and len(callbacks) == 1  # nothing posted from inside the transaction, no thread
    callbacks[0]()  # the commit: the immediate backend runs the delivery task at once
    assert len(r.hits) == 1
    assert WebhookDelivery.objects.get().delivered_at is not None


def test_the_worker_needs_a_queue(db):
    with pytest.raises(CommandError, match="not a database backend"):
        run_worker()


# --- retries to the end, and the nightly sweep --------------------------------------------------------

@QUEUE
@pytest.mark.django_db(transaction=True)
def test_a_receiver_that_never_answers_is_given_up_and_the_failure_recorded(receiver, monkeypatch):
    monkeypatch.setattr(notify, "MAX_ATTEMPTS", 3)
    r = receiver(503)
    org = _hooked_org(r.url)
    with transaction.atomic():
        notify.notify(org=org, kind="k", message="m", data={})
    for _ in range(3):
        run_worker()
        due_now()
    run_worker()
    assert len(r.hits) == 3
    delivery = WebhookDelivery.objects.get()
    assert (delivery.attempts, delivery.delivered_at, delivery.last_status) == (3, None, "503")
    rows = list(DBTaskResult.objects.order_by("enqueued_at"))
    assert [row.status for row in rows] == ["FAILED"] * 3
    assert rows[-1].exception_class_path.endswith("WebhookGivenUp")
    assert "HTTP 503 · 3/3" in rows[-1].traceback
    # The nightly job has nothing to re-queue: the delivery's attempts are spent.
    with transaction.atomic():
        assert nightly_webhook_job(timezone.localdate()) == {"queued": 0}


@QUEUE
@pytest.mark.django_db(transaction=True)
def test_end_of_day_requeues_only_deliveries_no_task_will_retry(receiver):
    r = receiver()
    org = _hooked_org(r.url)
    note = Notification.objects.create(org=org, kind="k", message="m", data={})
    # A delivery left behind (written before the queue existed, or its queue row lost) …
    stranded = WebhookDelivery.objects.create(webhook=Webhook.objects.get(org=org), notification=note)
    # … and one whose task is still queued.
    with transaction.atomic():
        notify.notify(org=org, kind="k2", message="m2", data={})
    with transaction.atomic():
        assert nightly_webhook_job(timezone.localdate()) == {"queued": 1}
    with transaction.atomic():
        assert nightly_webhook_job(timezone.localdate()) == {"queued": 0}  # not queued twice
    run_worker()
    assert len(r.hits) == 2
    stranded.refresh_from_db()
    assert stranded.delivered_at is not None and stranded.attempts == 1


# --- the task API and the task log page -------------------------------------------------------------

@QUEUE
@pytest.mark.django_db(transaction=True)
def test_a_user_reads_the_tasks_it_enqueued_and_an_administrator_all(make_user):
    officer = make_user("bank_officer")
    other = make_user("bank_officer", username="officer-2")
    admin = make_user("admin")
    result = jobs.enqueue(echo, actor_id=officer.pk, text="hello")
    clients = {}
    for user in (officer, other, admin):
        api = Api()
        token = api.post("/auth/token", {"username": user.username, "password": PASSWORD}).data["access_token"]
        clients[user.username] = Api(token)
    shown = clients[officer.username].get(f"/tasks/{result.id}")
    assert shown.status_code == 200 and shown.data["status"] == "ready" and shown.data["result"] is None
    assert clients[other.username].get(f"/tasks/{result.id}").status_code == 404
    assert clients[officer.username].get("/tasks/not-a-uuid").data["error"]["code"] == "task_not_found"
    run_worker()
    done = clients[officer.username].get(f"/tasks/{result.id}").data
    assert done["status"] == "successful" and done["result"] == {"echo": "hello", "actor_id": officer.pk}
    assert done["task"] == "echo" and done["attempt"] == 1 and done["finished_at"]
    assert clients[admin.username].get(f"/tasks/{result.id}").data["status"] == "successful"


@QUEUE
@pytest.mark.django_db(transaction=True)
def test_the_task_log_shows_state_and_errors_but_no_arguments(make_user, receiver):
    admin = make_user("admin")
    officer = make_user("bank_officer")
    r = receiver(500)
    org = _hooked_org(r.url)
    with transaction.atomic():
        notify.notify(org=org, kind="k", message="m", data={})
    jobs.enqueue(echo, actor_id=officer.pk, text="张三 110101199003071234")  # an argument a page must not show
    run_worker()
    client = Client()
    client.cookies["django_language"] = "en"
    client.force_login(admin)
    page = client.get("/manage/tasks/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Webhook delivery" in html and "Failed" in html and "Queued" in html and "Done" in html
    assert "Not delivered; tried again later (HTTP 500 · 1/8)" in html
    assert "110101199003071234" not in html and "张三" not in html
    failed = client.get("/manage/tasks/?status=FAILED&export=csv")
    assert failed.status_code == 200 and failed.content.decode().count("Webhook delivery") == 1
    desk = client.get("/manage/").content.decode()
    assert "/manage/tasks/" in desk and "1 failed" in desk
    client.force_login(officer)
    assert client.get("/manage/tasks/").status_code == 403


@QUEUE
@pytest.mark.django_db(transaction=True)
def test_end_of_day_keeps_the_task_log_to_a_month_of_successes_and_half_a_year_of_failures():
    import datetime as dt

    from ippledge.core.tasks import prune_task_log

    for age in (1, 40, 200):
        for status in ("SUCCESSFUL", "FAILED"):
            result = jobs.enqueue(echo, actor_id=1, text=f"{status}{age}")
            DBTaskResult.objects.filter(pk=result.id).update(
                status=status, finished_at=timezone.now() - dt.timedelta(days=age))
    queued = jobs.enqueue(echo, actor_id=1, text="waiting")
    assert prune_task_log(timezone.localdate()) == {"removed_done": 2, "removed_failed": 1}
    left = sorted(r.args_kwargs["kwargs"]["text"] for r in DBTaskResult.objects.all())
    assert left == ["FAILED1", "FAILED40", "SUCCESSFUL1", "waiting"]
    assert DBTaskResult.objects.filter(pk=queued.id).exists()
