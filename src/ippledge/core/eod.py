"""End-of-day jobs.  Domain apps register date-driven jobs with ``@eod_job``; ``run`` executes each
once per business date (a finished job is skipped on rerun) and keeps a run log in ``EodRun``."""

from __future__ import annotations

import datetime as dt
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from . import audit
from .errors import N_, Conflict
from .models import EodRun

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    order: int
    func: Callable[[dt.date], dict | None]


_JOBS: dict[str, Job] = {}


def eod_job(name: str, order: int = 100):
    """Register ``func(business_date) -> detail dict``; it must be safe to retry after a failure."""

    def register(func):
        _JOBS[name] = Job(name, order, func)
        return func

    return register


def jobs() -> list[Job]:
    return sorted(_JOBS.values(), key=lambda j: (j.order, j.name))


def run(*, business_date: dt.date, actor=None) -> list[EodRun]:
    from . import business_date as bd

    if business_date > bd.today():
        raise Conflict(N_("End of day cannot run for a date after today's business date."),
                       code="eod_date_in_future")
    results = []
    for job in jobs():
        with transaction.atomic():
            row, _ = EodRun.objects.select_for_update().get_or_create(
                business_date=business_date, job=job.name,
                defaults={"status": EodRun.Status.RUNNING, "started_at": timezone.now()})
            if row.status == EodRun.Status.DONE and row.attempts > 0:
                results.append(row)
                continue
            row.attempts += 1
            row.started_at = timezone.now()
            try:
                with transaction.atomic():
                    detail = job.func(business_date) or {}
                row.status, row.detail = EodRun.Status.DONE, detail
            except Exception as exc:  # a failing job is logged and retried on the next run
                log.exception("eod job %s failed for %s", job.name, business_date)
                row.status = EodRun.Status.FAILED
                row.detail = {"error": str(exc)[:500], "trace": traceback.format_exc()[-2000:]}
            row.finished_at = timezone.now()
            row.save()
            audit.record(actor=actor, action="eod.run", obj=row, object_repr=f"{job.name}@{business_date}",
                         after={"status": row.status, "detail": row.detail})
        results.append(row)
    return results
