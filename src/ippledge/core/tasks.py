"""The core's end-of-day jobs: keep the background-task log to a useful length."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django_tasks import TaskResultStatus

from .eod import eod_job

# A finished task is kept this long in the task log (a failure longer: someone may still look into it).
KEEP_DONE = dt.timedelta(days=30)
KEEP_FAILED = dt.timedelta(days=180)


@eod_job("core.prune_task_log", order=80)
def prune_task_log(day: dt.date) -> dict:
    from django_tasks_db.models import DBTaskResult

    now = timezone.now()
    done, _ = DBTaskResult.objects.filter(status=TaskResultStatus.SUCCESSFUL, finished_at__lt=now - KEEP_DONE).delete()
    failed, _ = DBTaskResult.objects.filter(status=TaskResultStatus.FAILED, finished_at__lt=now - KEEP_FAILED).delete()
    return {"removed_done": done, "removed_failed": failed}
