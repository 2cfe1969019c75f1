"""core.calendar: the one home of pure calendar arithmetic (issue 10.11).  No Django, no database.

Month steps clamp to the month's last day (Civil Code Art. 203); year anniversaries of 29 February fall
on 1 March in a common year (so a term ending "the day before" ends on 28 February).
"""

from __future__ import annotations

import ast
import calendar as std_calendar
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ippledge.core import calendar
from ippledge.core.errors import ValidationFailed

FAST = settings(max_examples=300, deadline=None)
DAYS = st.dates(min_value=date(1900, 1, 1), max_value=date(2200, 12, 31))
MONTHS = st.integers(min_value=-1200, max_value=1200)


def test_month_length_and_end():
    assert calendar.month_length(2024, 2) == 29 and calendar.month_length(2023, 2) == 28
    assert calendar.month_length(1900, 2) == 28 and calendar.month_length(2000, 2) == 29
    assert calendar.month_end(2026, 9) == date(2026, 9, 30)
    assert calendar.month_end(2026, 12) == date(2026, 12, 31)


@pytest.mark.parametrize("day, months, expected", [
    (date(2020, 3, 15), 6, date(2020, 9, 15)),
    (date(2020, 8, 31), 6, date(2021, 2, 28)),
    (date(2023, 8, 31), 6, date(2024, 2, 29)),
    (date(2020, 10, 31), 3, date(2021, 1, 31)),
    (date(2024, 1, 31), 1, date(2024, 2, 29)),
    (date(2024, 1, 31), 2, date(2024, 3, 31)),
    (date(2023, 11, 30), 3, date(2024, 2, 29)),
    (date(2024, 3, 31), -1, date(2024, 2, 29)),
    (date(2024, 1, 15), -13, date(2022, 12, 15)),
    (date(2024, 2, 29), 12, date(2025, 2, 28)),
    (date(2024, 5, 5), 0, date(2024, 5, 5)),
])
def test_add_months(day, months, expected):
    assert calendar.add_months(day, months) == expected


@FAST
@given(DAYS, MONTHS)
def test_add_months_moves_the_month_and_clamps_the_day(day, months):
    moved = calendar.add_months(day, months)
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
    assert moved.day == min(day.day, std_calendar.monthrange(moved.year, moved.month)[1])


@FAST
@given(DAYS, MONTHS, MONTHS)
def test_two_month_steps_never_pass_one_step_and_agree_before_the_29th(day, a, b):
    # Documented: clamping loses days and never gains them (31 Jan +1 → 29 Feb, +1 → 29 Mar, while
    # 31 Jan +2 → 31 Mar), so schedules compute every due date from the start, never step by step.
    assume(date(1800, 1, 1) <= calendar.add_months(day, a) <= date(2300, 1, 1))
    twice = calendar.add_months(calendar.add_months(day, a), b)
    once = calendar.add_months(day, a + b)
    assert (twice.year, twice.month) == (once.year, once.month) and twice.day <= once.day
    if day.day <= 28:
        assert twice == once


@FAST
@given(DAYS, st.integers(min_value=-100, max_value=100))
def test_add_months_back_undoes_forward_before_the_29th(day, months):
    assume(day.day <= 28)
    assert calendar.add_months(calendar.add_months(day, months), -months) == day


def test_anniversary_of_29_february():
    assert calendar.anniversary(date(2004, 2, 29), 10) == date(2014, 3, 1)
    assert calendar.anniversary(date(2000, 2, 29), 20) == date(2020, 2, 29)
    assert calendar.anniversary(date(2024, 2, 29), -1) == date(2023, 3, 1)
    assert calendar.day_before_anniversary(date(2004, 2, 29), 10) == date(2014, 2, 28)
    assert calendar.day_before_anniversary(date(2024, 2, 29), 15) == date(2039, 2, 28)
    assert calendar.day_before_anniversary(date(2021, 6, 1), 15) == date(2036, 5, 31)


@FAST
@given(DAYS, st.integers(min_value=-100, max_value=100))
def test_anniversary_is_the_same_day_or_1_march(day, years):
    moved = calendar.anniversary(day, years)
    if (day.month, day.day) == (2, 29) and not std_calendar.isleap(day.year + years):
        assert moved == date(day.year + years, 3, 1)
        # Twelve-month steps clamp instead: one day earlier.
        assert calendar.add_months(day, 12 * years) == moved - timedelta(days=1)
    else:
        assert moved == date(day.year + years, day.month, day.day)
        assert calendar.add_months(day, 12 * years) == moved
    assert calendar.day_before_anniversary(day, years) == moved - timedelta(days=1)


@FAST
@given(DAYS, DAYS)
def test_whole_months_is_the_largest_step_not_after_the_end(start, end):
    k = calendar.whole_months(start, end)
    assert k >= 0
    if end >= start:
        assert calendar.add_months(start, k) <= end < calendar.add_months(start, k + 1)
    else:
        assert k == 0


def test_whole_months_examples():
    assert calendar.whole_months(date(2024, 1, 31), date(2024, 2, 29)) == 1
    assert calendar.whole_months(date(2024, 1, 31), date(2024, 2, 28)) == 0
    assert calendar.whole_months(date(2024, 1, 15), date(2025, 1, 14)) == 11
    assert calendar.whole_months(date(2024, 1, 15), date(2025, 1, 15)) == 12


@FAST
@given(DAYS, DAYS)
def test_days_between(start, end):
    assert calendar.days_between(start, end) == (end - start).days == -calendar.days_between(end, start)


def test_days_between_counts_leap_days():
    assert calendar.days_between(date(2024, 1, 1), date(2025, 1, 1)) == 366
    assert calendar.days_between(date(2026, 1, 31), date(2026, 3, 3)) == 31


@pytest.mark.parametrize("value, expected", [
    ("2024-02-29", date(2024, 2, 29)), (" 2024-02-29 ", date(2024, 2, 29)), (date(2024, 1, 2), date(2024, 1, 2)),
    (datetime(2024, 1, 2, 23, 59), date(2024, 1, 2)), (None, None), ("", None),
])
def test_parse_date(value, expected):
    assert calendar.parse_date(value, "on") == expected


@pytest.mark.parametrize("value", ["2023-02-29", "20240101", "2024-W01-1", "２０２４-01-01", "2024-1-2", "x", 20240101,
                                   True])
def test_parse_date_refuses_what_is_not_yyyy_mm_dd(value):
    with pytest.raises(ValidationFailed) as caught:
        calendar.parse_date(value, "on")
    assert caught.value.code == "invalid_input" and caught.value.fields == {"on": [calendar.DATE_FORMAT]}


def test_parse_date_required():
    with pytest.raises(ValidationFailed) as caught:
        calendar.parse_date(None, "on", required=True)
    assert "on" in caught.value.fields


# --------------------------------------------------------------------------- one home

SRC = Path(__file__).resolve().parent.parent / "src" / "ippledge"
CALENDAR_NAMES = {"add_months", "_add_months", "anniversary", "day_before_anniversary", "whole_months"}
# Still carrying a copy while their owners finish other work (issue 10.11): each is to call core.calendar.
PENDING: set[str] = set()


def _own_calendar_arithmetic(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = {node.name for node in ast.walk(tree)
             if isinstance(node, ast.FunctionDef) and node.name in CALENDAR_NAMES}
    found |= {"monthrange" for node in ast.walk(tree)
              if isinstance(node, ast.Attribute | ast.Name) and getattr(node, "attr", getattr(node, "id", "")) == "monthrange"}
    return found


def test_calendar_arithmetic_lives_only_in_core_calendar():
    copies = {str(path.relative_to(SRC)): names for path in SRC.rglob("*.py")
              if "migrations" not in path.parts and path != SRC / "core" / "calendar.py"
              and (names := _own_calendar_arithmetic(path))}
    assert set(copies) <= PENDING, copies


def test_the_rights_terms_use_core_calendar():
    from ippledge.rights import rules

    assert rules.add_months is calendar.add_months and rules.anniversary is calendar.anniversary
    assert rules.day_before_anniversary is calendar.day_before_anniversary
