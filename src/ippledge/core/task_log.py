"""The background-task log: what the queue holds and did, for the administrator's page and the task API.

Read from the database backend's own table.  What a row shows is chosen for privacy: the task's name,
state, times, attempt number and a short error — never the task's arguments or traceback (an import's
arguments could name a person).  A user sees the tasks they enqueued (the ``actor_id`` argument of
the :mod:`ippledge.core.jobs` convention); an administrator sees every task.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.db.models import QuerySet
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult, get_date_max

from . import vocabulary
from .errors import NotFound
from .jobs import AttemptFailed

# Task names in words, by task path; each app registers its own tasks in its labels.py:
#   vocabulary.register("task", {"ippledge.monitoring.jobs.import_events": _("Legal-status import")})
vocabulary.register("task", {"ippledge.registry.notify.deliver_webhook": gettext_lazy("Webhook delivery"),
                             "ippledge.monitoring.feeds.jobs.import_events": gettext_lazy("Legal-status import")})
# Failures in words, by exception class path (the platform's own AttemptFailed kinds).
vocabulary.register("task_error", {
    "ippledge.registry.notify.WebhookNotDelivered": gettext_lazy("Not delivered; tried again later"),
    "ippledge.registry.notify.WebhookGivenUp": gettext_lazy("Not delivered; given up after the last attempt")})
vocabulary.register("task_status", {
    TaskResultStatus.READY: gettext_lazy("Queued"), TaskResultStatus.RUNNING: gettext_lazy("Running"),
    TaskResultStatus.FAILED: gettext_lazy("Failed"), TaskResultStatus.SUCCESSFUL: gettext_lazy("Done")})

ERROR_CHARS = 200


def rows() -> QuerySet[DBTaskResult]:
    return DBTaskResult.objects.all()


def visible_to(user) -> QuerySet[DBTaskResult]:
    """The tasks ``user`` may read: all for an administrator, else those enqueued with its ``actor_id``."""
    if user.is_platform_admin:
        return rows()
    return rows().filter(args_kwargs__kwargs__actor_id=user.pk)


def attempt(row: DBTaskResult) -> int:
    """The attempt number: the ``attempt`` argument of a retrying task, else 1."""
    value = (row.args_kwargs or {}).get("kwargs", {}).get("attempt", 1)
    return value if isinstance(value, int) and value > 0 else 1


def not_before(row: DBTaskResult) -> dt.datetime | None:
    """When a deferred task (a retry) may run; None for one that may run at once."""
    return None if row.run_after == get_date_max() else row.run_after


def error(row: DBTaskResult) -> str:
    """A short error for a failed task: the failure in words (the ``task_error`` vocabulary, else the
    exception's class) and, only for the platform's own :class:`~ippledge.core.jobs.AttemptFailed`
    (written to be shown), its message; any other message might quote data."""
    if row.status != TaskResultStatus.FAILED or not row.exception_class_path:
        return ""
    path = row.exception_class_path
    name = vocabulary.label("task_error", path)
    if name == path:
        name = path.rsplit(".", 1)[-1]
    try:
        shows_message = issubclass(import_string(path), AttemptFailed)
    except (ImportError, TypeError):
        shows_message = False
    last = (row.traceback or "").strip().rsplit("\n", 1)[-1]
    message = last.split(": ", 1)[1] if shows_message and ": " in last else ""
    return f"{name} ({message})"[:ERROR_CHARS] if message else name


def get_for(user, task_id: str) -> DBTaskResult:
    """The task ``task_id`` if ``user`` may read it; 404 otherwise (a stranger's task does not exist)."""
    try:
        key = uuid.UUID(str(task_id))
    except ValueError:
        key = None
    row = visible_to(user).filter(pk=key).first() if key else None
    if row is None:
        raise NotFound(_("No such task."), code="task_not_found")
    return row


def out(row: DBTaskResult) -> dict:
    """A task as the API shows it; ``result`` is the return value of a finished task."""
    return {"id": str(row.pk), "task": row.task_path.rsplit(".", 1)[-1], "status": row.status.lower(),
            "attempt": attempt(row), "enqueued_at": row.enqueued_at, "not_before": not_before(row),
            "started_at": row.started_at, "finished_at": row.finished_at,
            "result": row.return_value if row.status == TaskResultStatus.SUCCESSFUL else None,
            "error": error(row) or None}
