"""The administrator's pages (issue 11.13): organisations, users and roles, loan products, the LPR table,
the business calendar, the business date and the end-of-day log — who may see them, what they do,
and what they refuse."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client, override_settings
from django.utils import translation

from ippledge.core import services
from ippledge.core.actors import SYSTEM
from ippledge.core.models import AuditEntry, BusinessDateChange, EodRun, Holiday, Organisation, User
from ippledge.credit.models import Product

from .conftest import PASSWORD, uscc

pytestmark = pytest.mark.django_db

# (path, the regulator reads it)
ADMIN_PAGES = [
    ("/manage/", False),
    ("/manage/organisations/", True),
    ("/manage/organisations/new/", False),
    ("/manage/users/", False),
    ("/manage/users/new/", False),
    ("/manage/calendar/", True),
    ("/manage/business-date/", True),
    ("/manage/eod/", True),
    ("/credit/products/", True),
    ("/credit/products/new/", False),
    ("/credit/lpr/", True),
]


def client_for(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def zh(text: str) -> str:
    with translation.override("zh-hans"):
        return translation.gettext(text)


@pytest.fixture
def admin(make_user):
    return make_user("admin")


@pytest.fixture
def people(make_user):
    return {role: make_user(role) for role in (
        "bank_officer", "bank_approver", "enterprise_user", "registrar", "appraiser", "insurer_user",
        "fund_manager", "regulator_user")}


def test_every_admin_page_answers_the_administrator(admin, make_org):
    org = make_org("enterprise")
    user = services.create_user(actor=SYSTEM, username="someone", password=PASSWORD, org_id=org.pk,
                                roles=["enterprise_user"])
    client = client_for(admin)
    for path, _reads in ADMIN_PAGES + [(f"/manage/organisations/{org.pk}/", False),
                                       (f"/manage/users/{user.pk}/", False)]:
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.content.decode()
        assert 'data-testid="admin-sections"' in html, path
        assert 'href="/credit/lpr/"' in html, path


def test_others_are_refused_and_the_regulator_only_reads(people, admin, make_org):
    org = make_org("enterprise")
    pages = ADMIN_PAGES + [(f"/manage/organisations/{org.pk}/", False), (f"/manage/users/{admin.pk}/", False)]
    for role, user in people.items():
        client = client_for(user)
        for path, reads in pages:
            expected = 200 if reads and role == "regulator_user" else 403
            assert client.get(path).status_code == expected, (role, path)
            # Nobody but an administrator writes, the regulator included.
            assert client.post(path, {"name": "x", "date": "2026-10-01", "action": "clear"}).status_code == 403, \
                (role, path)
    assert Organisation.objects.filter(name="x").count() == 0
    assert not BusinessDateChange.objects.exists() and not Holiday.objects.exists()
    assert not EodRun.objects.exists()


def test_the_regulator_reads_without_forms(people):
    client = client_for(people["regulator_user"])
    html = client.get("/manage/organisations/").content.decode()
    assert 'data-testid="read-only"' in html and 'href="/manage/organisations/new/"' not in html
    assert "<form method=\"post\"" not in client.get("/manage/calendar/").content.decode()
    assert 'name="rate"' not in client.get("/credit/lpr/").content.decode()


def test_anonymous_goes_to_the_login_page():
    for path, _reads in ADMIN_PAGES:
        for method in ("get", "post"):
            response = getattr(Client(), method)(path)
            assert response.status_code == 302 and response.url.startswith("/login/"), (method, path)


def test_admin_creates_and_edits_an_organisation(admin):
    client = client_for(admin)
    code = uscc("91440300MA5FXY123")
    response = client.post("/manage/organisations/new/", {"name": "深圳新创科技有限公司", "kind": "enterprise",
                                                          "uscc": code, "size_class": "small", "industry": "C39"})
    assert response.status_code == 302
    org = Organisation.objects.get(uscc=code)
    assert org.region_code == code[2:8] and org.size_class == "small"
    listed = client.get("/manage/organisations/?q=新创").content.decode()
    assert "深圳新创科技有限公司" in listed and zh("Enterprise") in listed
    assert ">enterprise<" not in listed  # the kind is labelled, never its code

    response = client.post(f"/manage/organisations/{org.pk}/", {"name": "深圳新创科技股份有限公司",
                                                                 "region_code": "440300", "size_class": "medium",
                                                                 "industry": "C39", "is_active": "on"})
    assert response.status_code == 302
    org.refresh_from_db()
    assert org.name == "深圳新创科技股份有限公司" and org.size_class == "medium"
    assert AuditEntry.objects.filter(action="org.update", object_id=str(org.pk)).exists()

    export = client.get("/manage/organisations/?export=csv&q=新创")
    assert export.status_code == 200 and "深圳新创科技股份有限公司" in export.content.decode("utf-8-sig")


def test_organisation_form_errors_stand_next_to_their_fields(admin, make_org):
    client = client_for(admin)
    code = uscc("91440300MA5FXY345")
    make_org("enterprise", uscc=code)
    response = client.post("/manage/organisations/new/", {"name": "重复", "kind": "enterprise", "uscc": code})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-field="uscc"' in html and zh("Already registered.") in html
    assert 'data-error-code="duplicate_uscc"' in html
    # Absurd input: a huge name, an unknown kind, a bad USCC, a region that does not exist.
    response = client.post("/manage/organisations/new/", {"name": "长" * 100_000, "kind": "castle",
                                                          "uscc": "x" * 5000, "region_code": "999999"})
    assert response.status_code == 400
    html = response.content.decode()
    for name in ("name", "kind", "uscc", "region_code"):
        assert f'id="id_{name}-error"' in html, name
    assert "Traceback" not in html and "[0]" not in html
    assert Organisation.objects.filter(name__startswith="长").count() == 0


def test_admin_creates_a_user_changes_roles_and_deactivates(admin, make_org):
    bank = make_org("bank", name="示范银行")
    client = client_for(admin)
    response = client.post("/manage/users/new/", {"username": "new-officer", "display_name": "王经理",
                                                  "organisation": bank.pk, "roles": ["bank_officer"],
                                                  "password": "Fresh-pass-2026!", "password2": "Fresh-pass-2026!"})
    assert response.status_code == 302
    user = User.objects.get(username="new-officer")
    assert user.role_set == {"bank_officer"} and user.check_password("Fresh-pass-2026!")
    page = client.get(f"/manage/users/{user.pk}/").content.decode()
    assert "Fresh-pass-2026!" not in page and user.password not in page  # never shown, not even hashed
    assert zh("Loan officer") in page

    assert client.post(f"/manage/users/{user.pk}/", {"action": "roles",
                                                      "roles": ["bank_officer", "bank_reviewer"]}).status_code == 302
    assert User.objects.get(pk=user.pk).role_set == {"bank_officer", "bank_reviewer"}
    # A role the organisation cannot hold is refused next to the roles.
    response = client.post(f"/manage/users/{user.pk}/", {"action": "roles", "roles": ["registrar"]})
    assert response.status_code == 400 and zh("Not allowed for this organisation.") in response.content.decode()
    assert User.objects.get(pk=user.pk).role_set == {"bank_officer", "bank_reviewer"}

    token = services.issue_token(user=user)
    assert client.post(f"/manage/users/{user.pk}/", {"action": "active", "active": "0"}).status_code == 302
    user.refresh_from_db()
    assert not user.is_active and services.user_for_token(token) is None
    assert not Client().login(username="new-officer", password="Fresh-pass-2026!")
    listed = client.get("/manage/users/?active=0").content.decode()
    assert "new-officer" in listed and ">bank_officer<" not in listed and zh("Loan officer") in listed
    assert client.post(f"/manage/users/{user.pk}/", {"action": "active", "active": "1"}).status_code == 302
    assert User.objects.get(pk=user.pk).is_active


def test_user_form_refuses_weak_passwords_mismatches_and_absurd_input(admin, make_org):
    bank = make_org("bank")
    client = client_for(admin)
    response = client.post("/manage/users/new/", {"username": "weak", "organisation": bank.pk, "roles": ["bank_officer"],
                                                  "password": "123", "password2": "123"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_password-error"' in html and 'value="123"' not in html
    response = client.post("/manage/users/new/", {"username": "u" * 10_000, "organisation": "999999",
                                                  "roles": ["emperor"], "password": "a", "password2": "b"})
    assert response.status_code == 400
    html = response.content.decode()
    for name in ("username", "organisation", "roles", "password2"):
        assert f'id="id_{name}-error"' in html, name
    assert not User.objects.filter(username__in=["weak", "u" * 10_000]).exists()


def test_an_administrator_cannot_lock_themselves_out(admin):
    client = client_for(admin)
    response = client.post(f"/manage/users/{admin.pk}/", {"action": "active", "active": "0"})
    assert response.status_code == 400 and User.objects.get(pk=admin.pk).is_active
    response = client.post(f"/manage/users/{admin.pk}/", {"action": "roles", "roles": []})
    assert response.status_code == 400 and User.objects.get(pk=admin.pk).role_set == {"admin"}


def test_calendar_entries_are_added_listed_and_removed(admin):
    client = client_for(admin)
    assert client.post("/manage/calendar/", {"action": "set", "date": "2027-02-08", "is_working_day": "0",
                                             "name": "春节"}).status_code == 302
    assert client.post("/manage/calendar/", {"action": "set", "date": "2027-02-20", "is_working_day": "1",
                                             "name": "春节调休"}).status_code == 302
    html = client.get("/manage/calendar/?year=2027").content.decode()
    assert "2027-02-08" in html and "春节调休" in html and zh("Make-up working day") in html
    from ippledge.core import business_date

    assert not business_date.is_working_day(dt.date(2027, 2, 8))
    assert business_date.is_working_day(dt.date(2027, 2, 20))  # a Saturday worked
    assert client.post("/manage/calendar/", {"action": "remove", "date": "2027-02-08"}).status_code == 302
    assert business_date.is_working_day(dt.date(2027, 2, 8))
    assert AuditEntry.objects.filter(action="calendar.remove").exists()
    # Bad dates and absurd text are refused next to the field.
    for bad in ({"date": "2027-02-30"}, {"date": "10000-01-01"}, {"date": "1900-01-01"},
                {"date": "2027-03-01", "name": "x" * 5000}, {"date": "2027-03-01", "is_working_day": "7"}):
        response = client.post("/manage/calendar/", {"action": "set", "is_working_day": "0", **bad})
        assert response.status_code == 400, bad
        assert "field-error" in response.content.decode()
    response = client.post("/manage/calendar/", {"action": "remove", "date": "2031-01-01"})
    assert response.status_code == 400 and zh("This date is not in the business calendar.") in response.content.decode()
    assert client.get("/manage/calendar/?year=99999999").status_code == 200


@override_settings(ALLOW_BUSINESS_DATE=True)
def test_business_date_is_set_with_a_banner_and_cleared(admin, people):
    client = client_for(admin)
    response = client.post("/manage/business-date/", {"action": "set", "date": "2026-10-15"})
    assert response.status_code == 302
    html = client.get("/manage/").content.decode()
    assert 'data-testid="simulation-banner"' in html and "2026-10-15" in html
    # Every page of the administrator's desk carries the banner.
    assert 'data-testid="simulation-banner"' in client.get("/manage/eod/").content.decode()
    assert client.post("/manage/business-date/", {"action": "set", "date": "2026-02-31"}).status_code == 400
    assert client.post("/manage/business-date/", {"action": "set", "date": ""}).status_code == 400
    assert client.post("/manage/business-date/", {"action": "clear"}).status_code == 302
    assert 'data-testid="simulation-banner"' not in client.get("/manage/").content.decode()
    assert BusinessDateChange.objects.count() == 2


@override_settings(ALLOW_BUSINESS_DATE=False)
def test_business_date_page_says_when_simulation_is_off(admin):
    client = client_for(admin)
    html = client.get("/manage/business-date/").content.decode()
    assert 'data-testid="simulation-off"' in html and 'data-testid="business-date-form"' not in html
    response = client.post("/manage/business-date/", {"action": "set", "date": "2026-10-15"})
    assert response.status_code == 400 and 'data-error-code="business_date_locked"' in response.content.decode()
    assert not BusinessDateChange.objects.exists()


@override_settings(ALLOW_BUSINESS_DATE=True)
def test_eod_log_runs_and_shows_beijing_times_and_labels(admin):
    services.set_business_date(actor=admin, date=dt.date(2026, 10, 15))
    client = client_for(admin)
    assert client.post("/manage/eod/", {"date": "2026-10-15"}).status_code == 302
    assert EodRun.objects.filter(business_date=dt.date(2026, 10, 15)).exists()
    html = client.get("/manage/eod/").content.decode()
    assert zh("Beijing time") in html and "2026-10-15" in html
    assert ">credit.classify_loans<" not in html and zh("Loans: five-category classification") in html
    assert ">done<" not in html and zh("Done") in html
    assert client.get("/manage/eod/?status=done&from=2026-10-01&to=bad").status_code == 200
    # A future date is refused in words next to the field.
    response = client.post("/manage/eod/", {"date": "2026-12-31"})
    assert response.status_code == 400 and 'data-error-code="eod_date_in_future"' in response.content.decode()
    export = client.get("/manage/eod/?export=xlsx")
    assert export.status_code == 200 and export["Content-Type"].startswith("application/vnd.openxmlformats")


def test_products_are_listed_created_and_refused(admin, make_org):
    bank = make_org("bank", name="示范银行")
    client = client_for(admin)
    response = client.post("/credit/products/new/", {
        "bank": bank.pk, "name": "知识产权快贷", "eligible_kinds": ["patent", "trademark"],
        "min_amount": "100000", "max_amount": "5,000,000", "min_term_months": "6", "max_term_months": "36",
        "lpr_tenor": "1y", "spread_a": "50", "spread_b": "100", "spread_c": "200",
        "guarantee_fee_rate": "0.5", "insurance_premium_rate": "0"})
    assert response.status_code == 302, response.content.decode()[:3000]
    product = Product.objects.get(name="知识产权快贷")
    assert product.min_amount == 10_000_000 and product.max_amount == 500_000_000
    assert product.spreads_bp == {"A": 50, "B": 100, "C": 200}
    html = client.get("/credit/products/").content.decode()
    assert "知识产权快贷" in html and "5,000,000.00" in html and "500000000" not in html
    # What the form refuses, and what the service refuses, lands next to the fields.
    response = client.post("/credit/products/new/", {
        "bank": "99999999", "name": "x" * 5000, "eligible_kinds": ["castle"], "min_amount": "1" * 500,
        "max_amount": "100", "lpr_tenor": "9y", "spread_a": "1e9"})
    assert response.status_code == 400
    html = response.content.decode()
    for name in ("bank", "name", "eligible_kinds", "min_amount", "lpr_tenor", "spread_a"):
        assert f'id="id_{name}-error"' in html, name
    response = client.post("/credit/products/new/", {
        "bank": bank.pk, "name": "倒挂", "eligible_kinds": ["patent"], "min_amount": "9000000",
        "max_amount": "100", "min_term_months": "999999", "max_term_months": "-1", "lpr_tenor": "1y",
        "spread_a": "50", "spread_b": "100", "spread_c": "200", "rate_floor": "abc"})
    assert response.status_code == 400
    html = response.content.decode()
    for name in ("max_amount", "min_term_months", "max_term_months", "rate_floor"):
        assert f'id="id_{name}-error"' in html, name
    assert "spreads_bp" not in html and "eligible_kinds[" not in html  # no internal paths in the messages
    assert Product.objects.count() == 1


def test_lpr_page_formats_rates_and_shows_form_errors(admin):
    client = client_for(admin)
    html = client.get("/credit/lpr/").content.decode()
    assert "%" in html and 'data-testid="admin-sections"' in html
    response = client.post("/credit/lpr/", {"fixing_date": "not-a-date", "tenor": "1y", "rate": "3.1"})
    assert response.status_code == 400 and 'id="id_fixing_date-error"' in response.content.decode()
    response = client.post("/credit/lpr/", {"fixing_date": "2026-09-21", "tenor": "1y", "rate": "9" * 5000})
    assert response.status_code == 400 and 'id="id_rate-error"' in response.content.decode()


def test_lists_survive_absurd_queries(admin):
    client = client_for(admin)
    junk = {"q": "长" * 50_000, "kind": "castle", "active": "maybe", "sort": "-password", "page": "-7",
            "per_page": "100000", "status": "<script>", "from": "2026-02-31", "to": "9" * 300, "role": "emperor",
            "tenor": "99y", "year": "-5"}
    for path, _reads in ADMIN_PAGES:
        response = client.get(path, junk)
        assert response.status_code == 200, path
        assert "<script>" not in response.content.decode().split("<main")[1], path
    # Sorting never reaches a column the list does not offer (passwords above all).
    assert client.get("/manage/users/", {"sort": "password"}).status_code == 200


def test_the_admin_services_refuse_everyone_but_an_administrator(people, admin, make_org):
    from ippledge.core.errors import PermissionDenied

    org = make_org("enterprise")
    target = people["enterprise_user"]
    calls = [
        lambda actor: services.update_organisation(actor=actor, org_id=org.pk, name="改名"),
        lambda actor: services.set_user_roles(actor=actor, user_id=target.pk, roles=["enterprise_user"]),
        lambda actor: services.set_user_active(actor=actor, user_id=target.pk, active=False),
        lambda actor: services.set_holiday(actor=actor, date=dt.date(2027, 1, 1), name="元旦"),
        lambda actor: services.remove_holiday(actor=actor, date=dt.date(2027, 1, 1)),
    ]
    for user in people.values():
        for call in calls:
            with pytest.raises(PermissionDenied):
                call(user)
    org.refresh_from_db()
    assert org.name != "改名" and User.objects.get(pk=target.pk).is_active and not Holiday.objects.exists()
    # An administrator may; a role the organisation cannot hold, a region that is no code, are refused.
    from ippledge.core.errors import ValidationFailed

    with pytest.raises(ValidationFailed):
        services.set_user_roles(actor=admin, user_id=target.pk, roles=["bank_officer"])
    with pytest.raises(ValidationFailed):
        services.update_organisation(actor=admin, org_id=org.pk, region_code="44030x")
    with pytest.raises(ValidationFailed):
        services.set_holiday(actor=admin, date=dt.date(1900, 1, 1))
    services.set_holiday(actor=admin, date=dt.date(2027, 1, 1), name="元旦")
    services.set_holiday(actor=admin, date=dt.date(2027, 1, 1), name="元旦（改）")  # replaces
    assert Holiday.objects.get().name == "元旦（改）"
