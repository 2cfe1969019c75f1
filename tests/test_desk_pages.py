"""Every role has a desk (issue 11.13): after login each user lands on the page they work from; insurers,
risk funds and IP exchanges get landing pages that say what they can use today, with no dead links."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from ippledge.core import services
from ippledge.core.actors import SYSTEM

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db

DESKS = {
    "admin": "/manage/",
    "registrar": "/registry/queue/",
    "bank_officer": "/credit/",
    "bank_reviewer": "/credit/",
    "bank_approver": "/credit/",
    "regulator_user": "/reports/",
    "appraiser": "/valuation/records/",
    "enterprise_user": "/credit/portal/",
    "insurer_user": "/desk/insurer/",
    "fund_manager": "/desk/fund/",
}
LANDING = ["/desk/insurer/", "/desk/fund/", "/desk/exchange/"]


def log_in(client: Client, username: str, **extra):
    return client.post("/login/", {"username": username, "password": PASSWORD, **extra})


@pytest.fixture
def exchange_user(make_org):
    org = make_org("ip_exchange", name="示范知识产权交易中心")
    return services.create_user(actor=SYSTEM, username="exchange-staff", password=PASSWORD, org_id=org.pk, roles=[])


@pytest.mark.parametrize("role", sorted(DESKS))
def test_each_role_lands_on_its_desk_after_login(make_user, role):
    user = make_user(role)
    client = Client()
    response = log_in(client, user.username)
    assert response.status_code == 302 and response.url == DESKS[role]
    assert client.get(response.url).status_code == 200
    # /desk/ is the same place, from anywhere.
    assert client.get("/desk/").url == DESKS[role]


def test_an_explicit_next_still_wins_and_foreign_hosts_do_not(make_user):
    user = make_user("bank_officer")
    assert log_in(Client(), user.username, next="/rights/").url == "/rights/"
    assert log_in(Client(), user.username, next="https://evil.example/").url == "/credit/"


def test_an_exchange_user_lands_on_the_exchange_desk(exchange_user):
    client = Client()
    assert log_in(client, exchange_user.username).url == "/desk/exchange/"
    html = client.get("/desk/exchange/").content.decode()
    assert 'href="/desk/exchange/"' in html  # its navigation entry
    assert 'href="/registry/notifications/"' in html


def test_a_user_without_a_desk_goes_home(make_org):
    org = make_org("guarantor")
    user = services.create_user(actor=SYSTEM, username="nobody-in-particular", password=PASSWORD, org_id=org.pk,
                                roles=[])
    assert log_in(Client(), user.username).url == "/"


def test_superuser_lands_on_the_admin_desk(make_org):
    from ippledge.core.models import User

    User.objects.create_superuser(username="root", password=PASSWORD)
    assert log_in(Client(), "root").url == "/manage/"


def test_landing_pages_belong_to_their_roles(make_user, exchange_user):
    own = {"insurer_user": "/desk/insurer/", "fund_manager": "/desk/fund/"}
    for role in ("insurer_user", "fund_manager", "bank_officer", "enterprise_user", "regulator_user"):
        client = Client()
        log_in(client, make_user(role).username)
        for path in LANDING:
            assert client.get(path).status_code == (200 if own.get(role) == path else 403), (role, path)
    client = Client()
    log_in(client, exchange_user.username)
    for path in LANDING:
        assert client.get(path).status_code == (200 if path == "/desk/exchange/" else 403), path
    admin = Client()
    log_in(admin, make_user("admin").username)
    for path in LANDING:
        assert admin.get(path).status_code == 200, path
    for path in LANDING + ["/desk/"]:
        response = Client().get(path)
        assert response.status_code == 302 and response.url.startswith("/login/"), path


@pytest.mark.parametrize("role, path, entry", [
    ("insurer_user", "/desk/insurer/", "/desk/insurer/"),
    ("fund_manager", "/desk/fund/", "/desk/fund/"),
    ("appraiser", "/valuation/records/", "/valuation/records/"),
    ("admin", "/manage/", "/manage/"),
])
def test_each_desk_has_its_navigation_entry_and_no_dead_links(make_user, role, path, entry):
    client = Client()
    log_in(client, make_user(role).username)
    html = client.get(path).content.decode()
    nav = html.split('class="mainnav"')[1].split("</nav>")[0]
    assert f'href="{entry}"' in nav
    main = html.split('id="main"')[1].split("</main>")[0]
    for href in sorted(set(re.findall(r'href="(/[^"]*)"', main))):
        assert client.get(href).status_code == 200, (role, href)


def test_landing_pages_say_plainly_what_comes_later(make_user):
    client = Client()
    client.cookies["django_language"] = "en"
    log_in(client, make_user("insurer_user").username)
    html = client.get("/desk/insurer/").content.decode()
    assert "risk-sharing" in html and "Public statistics" in html and "Notifications" in html


def test_the_admin_desk_lists_what_waits(make_user, settings):
    from ippledge.core.models import EodRun

    settings.ALLOW_BUSINESS_DATE = True
    admin = make_user("admin")
    services.set_business_date(actor=admin, date=dt.date(2026, 10, 20))
    EodRun.objects.create(business_date=dt.date(2026, 10, 19), job="credit.classify_loans",
                          status=EodRun.Status.FAILED, attempts=1,
                          started_at=timezone.now())
    client = Client()
    log_in(client, admin.username)
    html = client.get("/manage/").content.decode()
    for testid in ("todo-business-date", "todo-eod-failed", "todo-eod-pending", "todo-calendar", "simulation-banner"):
        assert f'data-testid="{testid}"' in html, testid
