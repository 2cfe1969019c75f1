"""The demo region shows a few live alerts of different kinds (issue 12, "Done when"), and the first bank's
officer sees them on the collateral monitor: every pledged right it holds, which are at risk, what to do
today."""

from __future__ import annotations

import pytest
from django.test import Client

from ippledge.core import business_date
from ippledge.demo.generator import DEMO_PASSWORD, describe, load_demo

pytestmark = pytest.mark.django_db

SMALL = {"enterprises": 40, "rights": 600}


@pytest.fixture
def region(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return load_demo(seed=2026, today=business_date.today(), **SMALL)


def test_the_demo_region_has_live_alerts_of_several_kinds(region):
    from ippledge.core.models import User
    from ippledge.monitoring.models import LIVE_STATUSES, Alert

    live = Alert.objects.filter(status__in=LIVE_STATUSES)
    assert region.alerts == {k: live.filter(kind=k).count() for k in region.alerts}
    # The staged events on the first bank's collateral, each raising its alert.
    bank = User.objects.get(username="bank_officer").organisation
    mine = set(live.filter(owner_org=bank).values_list("kind", flat=True))
    assert {"invalidation_requested", "preservation", "licence_recorded", "transfer_attempt_blocked"} <= mine
    assert len(region.alerts) >= 5, region.alerts  # and what the end-of-day pass found in the book
    assert len(set(live.values_list("severity", flat=True))) >= 2
    assert "live alerts: " in describe(region)

    officer = Client()
    assert officer.post("/login/", {"username": "bank_officer", "password": DEMO_PASSWORD}).status_code == 302
    page = officer.get("/monitoring/").content.decode()
    assert 'data-testid="monitor-at-risk"' in page and 'data-testid="todo-today"' in page
    at_risk = officer.get("/monitoring/?at_risk=yes").content.decode()
    assert 'class="empty"' not in at_risk.split('data-testid="listing-collateral-monitor"')[1]
    inbox = officer.get("/monitoring/alerts/").content.decode()
    assert inbox.count('href="/monitoring/alerts/') >= 4


def test_the_demo_alerts_are_the_same_for_the_same_seed(settings):
    from django.db import transaction

    from ippledge.monitoring.models import Alert

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    runs = []
    for _ in range(2):
        with transaction.atomic():
            load_demo(seed=2026, today=business_date.today(), enterprises=30, rights=200)
            runs.append(sorted(Alert.objects.values_list("kind", "severity", "right__number", "due_date")))
            transaction.set_rollback(True)
    assert runs[0] == runs[1] and runs[0]
