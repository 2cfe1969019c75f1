"""Task API: the state and result of a background task the caller enqueued (an import, for instance).

``GET /api/v1/tasks/{task_id}`` — the id an enqueueing endpoint answered with.  A user reads the tasks
it enqueued, an administrator every task; any other id is 404 ``task_not_found``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Router, Schema

from . import task_log

router = Router(tags=["platform"])


class TaskOut(Schema):
    id: str
    task: str
    status: str  # ready · running · failed · successful
    attempt: int
    enqueued_at: dt.datetime
    not_before: dt.datetime | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    result: Any = None
    error: str | None = None


@router.get("/tasks/{task_id}", response=TaskOut, summary="A background task you enqueued: its state and result")
def get_task(request, task_id: str):
    return task_log.out(task_log.get_for(request.auth, task_id))
