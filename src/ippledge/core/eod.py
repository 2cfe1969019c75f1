"""End-of-day jobs.  Domain apps register date-driven jobs with ``@eod_job``; ``run`` executes each
once per business date (a finished job is skipped when the day is run again) and keeps a run log in
``EodRun``.

Days close in order.  In production only the business date and the days not yet run may be run:
the last day run again (to retry its failed jobs; finished ones are skipped), or the day after it;
``run_pending`` closes every day from there up to the business date, one after another.  An earlier
day (1970, last week) is refused with ``eod_date_closed``, a skipped day with ``eod_out_of_order``:
jobs compute from the state of the book now, so closing a past day would write today's state under
that day's date.  With ``IPPLEDGE_ALLOW_BUSINESS_DATE=1`` (training and simulation), where the date
moves back and forth, any day from ``MIN_YEAR`` to the business date may be run, and ``rerun=True``
runs every job of a day again, recomputing from the facts.
"""

from __future__ import annotations

import datetime as dt
import logging
import traceback
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from . import audit, limits
from .errors import N_, Conflict
from .models import EodRun

MAX_CATCH_UP_DAYS = 31

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    order: int
    func: Callable[[dt.date], dict | None]


_JOBS: dict[str, Job] = {}


class JobFailed(Exception):
    """A job's verdict that the day did not pass (a check that found a fault, not a crash).

    Its ``detail`` goes into the run log and ``alert`` runs after the job's own writes are rolled
    back, in the transaction that records the failure, so the alert is kept."""

    def __init__(self, message: str, *, detail: dict | None = None, alert: Callable[[], None] | None = None):
        super().__init__(message)
        self.detail, self.alert = detail or {}, alert


def eod_job(name: str, order: int = 100):
    """Register ``func(business_date) -> detail dict``; it must be safe to retry after a failure."""

    def register(func):
        _JOBS[name] = Job(name, order, func)
        return func

    return register


def jobs() -> list[Job]:
    return sorted(_JOBS.values(), key=lambda j: (j.order, j.name))


def _simulation() -> bool:
    return bool(getattr(settings, "ALLOW_BUSINESS_DATE", False))


def last_run_date() -> dt.date | None:
    return EodRun.objects.aggregate(last=Max("business_date"))["last"]


def _check_day(day: dt.date, today: dt.date, *, rerun: bool) -> None:
    if day > today:
        raise Conflict(N_("End of day cannot run for a date after today's business date."),
                       code="eod_date_in_future")
    if rerun and not _simulation():
        raise Conflict(N_("Re-running a day is for training and simulation only (IPPLEDGE_ALLOW_BUSINESS_DATE=1)."),
                       code="eod_rerun_simulation_only")
    if _simulation():
        limits.business_date(day, field="date", today=today)
        return
    last = last_run_date()
    if last is None:
        if day != today:
            raise Conflict(N_("The first end of day can only close today's business date (%(today)s)."),
                           code="eod_date_closed", params={"today": today.isoformat()})
    elif day < last:
        raise Conflict(N_("%(day)s is closed: end of day has already run for %(last)s, and days close in order."),
                       code="eod_date_closed", params={"day": day.isoformat(), "last": last.isoformat()})
    elif day > last + dt.timedelta(days=1):
        raise Conflict(N_("Days close in order: run end of day for %(next)s first."),
                       code="eod_out_of_order", params={"next": (last + dt.timedelta(days=1)).isoformat()})


def run(*, business_date: dt.date, actor=None, rerun: bool = False) -> list[EodRun]:
    from . import business_date as bd

    _check_day(business_date, bd.today(), rerun=rerun)
    return _run_day(business_date, actor=actor, rerun=rerun)


def run_pending(*, actor=None) -> list[EodRun]:
    """Close every day not yet run, in order, up to today's business date (at most a month of them)."""
    from . import business_date as bd

    today = bd.today()
    last = last_run_date()
    if _simulation() or last is None or last >= today:
        return run(business_date=today, actor=actor)
    days = (today - last).days
    if days > MAX_CATCH_UP_DAYS:
        raise Conflict(N_("End of day has not run for %(days)s days; close them one by one from %(next)s."),
                       code="eod_catch_up_too_long",
                       params={"days": days, "next": (last + dt.timedelta(days=1)).isoformat()})
    results = []
    for offset in range(1, days + 1):
        results += run(business_date=last + dt.timedelta(days=offset), actor=actor)
    return results


def _run_day(business_date: dt.date, *, actor, rerun: bool) -> list[EodRun]:
    results = []
    for job in jobs():
        with transaction.atomic():
            row, _ = EodRun.objects.select_for_update().get_or_create(
                business_date=business_date, job=job.name,
                defaults={"status": EodRun.Status.RUNNING, "started_at": timezone.now()})
            if row.status == EodRun.Status.DONE and row.attempts > 0 and not rerun:
                results.append(row)
                continue
            row.attempts += 1
            row.started_at = timezone.now()
            try:
                with transaction.atomic():
                    detail = job.func(business_date) or {}
                row.status, row.detail = EodRun.Status.DONE, detail
            except JobFailed as exc:
                log.error("eod job %s failed for %s: %s", job.name, business_date, exc)
                row.status, row.detail = EodRun.Status.FAILED, {**exc.detail, "error": str(exc)[:500]}
                if exc.alert is not None:
                    exc.alert()
            except Exception as exc:  # a failing job is logged and retried on the next run
                log.exception("eod job %s failed for %s", job.name, business_date)
                row.status = EodRun.Status.FAILED
                row.detail = {"error": str(exc)[:500], "trace": traceback.format_exc()[-2000:]}
            row.finished_at = timezone.now()
            row.save()
            audit.record(actor=actor, action="eod.rerun" if rerun else "eod.run", obj=row,
                         object_repr=f"{job.name}@{business_date}",
                         after={"status": row.status, "detail": row.detail})
        results.append(row)
    return results
