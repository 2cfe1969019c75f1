"""Work outside the request: enqueueing background tasks on Django's Tasks API.

Webhook delivery, imports and monitoring run as tasks (the ``django-tasks`` backport; its database
backend keeps the queue in the platform's own database, and ``ippledge worker`` runs it).  This
module is the one way apps put work on the queue.

Convention for a task function:

* a module-level function decorated with ``@task()`` in the app's ``jobs.py`` (or ``tasks.py``
  beside its end-of-day jobs), keyword-only arguments;
* arguments are JSON values only — ids, strings, numbers, ISO dates — never model instances (the
  worker reloads rows itself, so it sees committed state) and never personal data (arguments are
  stored in the task table);
* a task run for a user takes ``actor_id`` (the user's primary key): ``GET /api/v1/tasks/{id}``
  shows a task to the user who enqueued it (and to administrators) by that argument;
* a task that may fail transiently takes ``attempt: int = 1`` and calls :func:`retry_later`; the
  task log shows the attempt number from that argument;
* the return value is a small JSON summary (counts, numbers), shown by the task API;
* the task's name in words goes in the app's ``labels.py``, keyed by the task's path, for the task
  log page: ``vocabulary.register("task", {"ippledge.monitoring.jobs.import_events":
  _("Legal-status import")})``;
* a failure a person should read raises :class:`AttemptFailed` (or a subclass) with a message free
  of personal data: the task log shows its message; of any other exception only the class name.

Example::

    # ippledge/monitoring/jobs.py
    from django_tasks import task

    @task()
    def import_events(*, upload_id: int, actor_id: int) -> dict:
        return services.import_events(upload_id=upload_id, actor_id=actor_id)

    # in a service, inside transaction.atomic(): runs once the transaction commits, never for a
    # transaction that rolls back
    jobs.enqueue_on_commit(import_events, upload_id=upload.pk, actor_id=actor.pk)

    # in an API view that must answer with the task's id
    result = jobs.enqueue(import_events, upload_id=upload.pk, actor_id=request.auth.pk)
    return 202, {"task_id": result.id}
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_tasks import TaskResult, task_backends
from django_tasks.base import Task

log = logging.getLogger(__name__)

# Seconds before attempt 2, 3, ...; the last delay repeats.  From a minute to six hours: a
# receiver that is down for a deploy gets its messages minutes later, one down for a day by the
# end-of-day sweep.
RETRY_DELAYS = (60, 300, 1800, 7200, 21600)


def _check_arguments(args: tuple, kwargs: dict) -> None:
    # Catch a model instance at the call site, not as a JSON error in the worker.
    for value in (*args, *kwargs.values()):
        if hasattr(value, "_meta") and hasattr(value, "pk"):
            raise TypeError(f"pass {type(value).__name__}.pk to a task, not the model instance")


def enqueue(task: Task, *args: Any, **kwargs: Any) -> TaskResult:
    """Put ``task`` on the queue now and return its result handle (``.id`` for the task API).

    Inside a transaction the database backend writes the queue row in that same transaction: the
    worker sees it only once it commits, and never if it rolls back."""
    _check_arguments(args, kwargs)
    return task.enqueue(*args, **kwargs)


def enqueue_on_commit(task: Task, *args: Any, **kwargs: Any) -> None:
    """Enqueue ``task`` once the current transaction commits (at once outside a transaction)."""
    _check_arguments(args, kwargs)
    transaction.on_commit(lambda: task.enqueue(*args, **kwargs), robust=True)


def can_defer(task: Task) -> bool:
    """Whether the task's backend can hold a task until a later time (the immediate one cannot)."""
    return task_backends[task.backend].supports_defer


def retry_delay(attempt: int) -> dt.timedelta:
    """The wait after failed attempt number ``attempt`` (1-based)."""
    return dt.timedelta(seconds=RETRY_DELAYS[min(max(attempt, 1), len(RETRY_DELAYS)) - 1])


def retry_later(task: Task, *, attempt: int, max_attempts: int, **kwargs: Any) -> TaskResult | None:
    """Queue attempt ``attempt + 1`` of ``task`` after the back-off delay, with the same ``kwargs``.

    Returns None (nothing queued) when ``max_attempts`` are used up or the backend cannot defer;
    the caller then records the final failure."""
    if attempt >= max_attempts or not can_defer(task):
        return None
    _check_arguments((), kwargs)
    when = timezone.now() + retry_delay(attempt)
    return task.using(run_after=when).enqueue(attempt=attempt + 1, **kwargs)


class AttemptFailed(Exception):
    """An attempt of a task failed; raised after :func:`retry_later` so the task log shows it failed
    and why, with the next attempt already queued (or none left)."""
