"""Credit-case SLAs count working days of the business calendar (issue 10, point 13)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings

from ippledge.core import business_date
from ippledge.core.models import BusinessDateChange, Holiday
from ippledge.credit import workflow

pytestmark = pytest.mark.django_db


class _Case:
    """Only what ``sla`` reads."""

    def __init__(self, stage: str, entered: dt.datetime):
        self.stage, self.stage_entered_at = stage, entered


def _on(day: str) -> None:
    BusinessDateChange.objects.create(date=dt.date.fromisoformat(day))


FRIDAY_NOON = dt.datetime(2026, 3, 6, 4, 0, tzinfo=dt.UTC)  # 12:00 in Beijing


@override_settings(ALLOW_BUSINESS_DATE=True)
def test_a_weekend_does_not_count_against_the_bank():
    _on("2026-03-09")  # Monday
    state = workflow.sla(_Case("approval", FRIDAY_NOON))
    assert state == {"limit_days": 2, "elapsed_days": 1, "due_date": "2026-03-10", "overdue": False}
    _on("2026-03-11")
    assert workflow.sla(_Case("approval", FRIDAY_NOON))["overdue"] is True


@override_settings(ALLOW_BUSINESS_DATE=True)
def test_holidays_and_make_up_working_days_come_from_the_calendar():
    Holiday.objects.create(date=dt.date(2026, 3, 9), is_working_day=False, name="test holiday")
    Holiday.objects.create(date=dt.date(2026, 3, 7), is_working_day=True, name="make-up Saturday")
    _on("2026-03-10")
    state = workflow.sla(_Case("review", FRIDAY_NOON))
    assert state["elapsed_days"] == 2  # Saturday (worked) and Tuesday; Sunday and the holiday Monday do not count
    assert state["due_date"] == "2026-03-11"


def test_stages_without_an_sla():
    assert workflow.sla(_Case("disbursed", FRIDAY_NOON)) == {"limit_days": None, "elapsed_days": None,
                                                             "due_date": None, "overdue": False}


def test_working_days_between_is_zero_backwards():
    day = dt.date(2026, 3, 6)
    assert business_date.working_days_between(day, day) == 0
    assert business_date.working_days_between(day, day - dt.timedelta(days=3)) == 0
