"""Issue 10 point 5: the LPR is fixed on the 20th (the next working day when it is not one); pricing after
an expected fixing that is not recorded warns the officer, and the administrators' page asks for it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client, override_settings

from ippledge.core.models import BusinessDateChange, Holiday
from ippledge.credit import lpr, quote
from ippledge.credit.models import LprFixing

from .conftest import PASSWORD
from .test_day_count import case  # noqa: F401  (the fixture)

pytestmark = pytest.mark.django_db
D = dt.date


def test_the_expected_fixing_date_is_the_20th_or_the_next_working_day():
    assert lpr.expected_fixing_date(2026, 8) == D(2026, 8, 20)  # a Thursday
    assert lpr.expected_fixing_date(2026, 9) == D(2026, 9, 21)  # Sunday 20th → Monday
    assert lpr.expected_fixing_date(2026, 6) == D(2026, 6, 22)  # as the shipped table has it
    Holiday.objects.create(date=D(2026, 10, 20), name="test holiday")
    assert lpr.expected_fixing_date(2026, 10) == D(2026, 10, 21)
    Holiday.objects.create(date=D(2026, 12, 20), is_working_day=True, name="make-up Sunday")
    assert lpr.expected_fixing_date(2026, 12) == D(2026, 12, 20)


def test_pricing_three_months_after_the_last_fixing_warns(case):  # noqa: F811
    # The shipped table ends 2026-08-20: on 2026-12-02 the September, October and November fixings are missing.
    priced = quote.price(case, D(2026, 12, 2))
    assert priced["lpr_fixing_date"] == "2026-08-20"
    warning = priced["lpr_warning"]
    assert warning["code"] == "lpr_stale" and warning["fixing_used"] == "2026-08-20"
    assert warning["missing"] == "2026-09-21"
    assert warning["missing_dates"] == ["2026-09-21", "2026-10-20", "2026-11-20"]
    assert warning["rate_used"] == "3.0000" and warning["tenor"] == "1y" and "2026-09-21" in warning["message"]


def test_no_warning_before_the_next_expected_fixing_date(case):  # noqa: F811
    assert "lpr_warning" not in quote.price(case, D(2026, 9, 18))  # the 20th is a Sunday: due Monday the 21st
    assert quote.price(case, D(2026, 9, 21))["lpr_warning"]["missing_dates"] == ["2026-09-21"]


def test_a_recorded_fixing_ends_the_warning(case):  # noqa: F811
    for month, day in ((9, 21), (10, 20), (11, 20)):
        LprFixing.objects.create(fixing_date=D(2026, month, day), tenor="1y", rate=Decimal("2.9000"))
    priced = quote.price(case, D(2026, 12, 2))
    assert "lpr_warning" not in priced and priced["lpr_fixing_date"] == "2026-11-20" and priced["lpr"] == "2.9000"
    # The 5-year tenor is still missing those months.
    assert lpr.missing_fixings(D(2026, 12, 2), "5y") == [D(2026, 9, 21), D(2026, 10, 20), D(2026, 11, 20)]
    assert lpr.missing_fixings(D(2026, 12, 2), "1y") == []


def test_a_fixing_recorded_on_another_day_of_the_month_counts(case):  # noqa: F811
    # The calendar lacks a holiday: the fixing was published on the 22nd, not the expected 21st.
    LprFixing.objects.create(fixing_date=D(2026, 9, 22), tenor="1y", rate=Decimal("3.0000"))
    assert lpr.missing_fixings(D(2026, 10, 1), "1y") == []


def _client(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


@override_settings(ALLOW_BUSINESS_DATE=True)
def test_the_admin_page_lists_missing_fixings_and_enters_one(make_user):
    BusinessDateChange.objects.create(date=D(2026, 12, 2))
    admin = _client(make_user("admin"))
    page = admin.get("/credit/lpr/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-missing="1y 2026-09-21"' in html and 'data-missing="5y 2026-11-20"' in html
    assert 'href="/credit/lpr/"' in html  # the administrators' navigation links to it
    done = admin.post("/credit/lpr/", {"fixing_date": "2026-09-21", "tenor": "1y", "rate": "2.95"})
    assert done.status_code == 302
    assert LprFixing.objects.get(fixing_date=D(2026, 9, 21), tenor="1y").rate == Decimal("2.9500")
    html = admin.get("/credit/lpr/").content.decode()
    assert 'data-missing="1y 2026-09-21"' not in html and 'data-missing="1y 2026-10-20"' in html
    bad = admin.post("/credit/lpr/", {"fixing_date": "2026-10-20", "tenor": "1y", "rate": "-1"})
    assert bad.status_code == 400 and 'data-error-code="' in bad.content.decode()


def test_only_a_platform_administrator_sees_or_uses_the_page(make_user):
    officer = _client(make_user("bank_officer"))
    assert officer.get("/credit/lpr/").status_code == 403
    assert officer.post("/credit/lpr/", {"fixing_date": "2026-09-21", "tenor": "1y", "rate": "2.95"}).status_code == 403
    assert not LprFixing.objects.filter(fixing_date=D(2026, 9, 21)).exists()
    assert 'href="/credit/lpr/"' not in officer.get("/credit/").content.decode()
    assert Client().get("/credit/lpr/").status_code == 302  # to the login page
