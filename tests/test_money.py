"""One rounding rule (issue 10, point 3): every yuan↔fen conversion is core.money's, half up to the fen;
amounts are stored as integer fen (the registry's secured amount too) and pages format them exactly."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.template import Context, Template

from ippledge.core import business_date, money
from ippledge.core.errors import ValidationFailed
from ippledge.registry import journal
from ippledge.registry.models import Pledge

from .registry_fixtures import application, make_patent, parties_on_platform

D = Decimal


# --- conversions --------------------------------------------------------------------------------

@pytest.mark.parametrize(("yuan", "fen"), [
    (D("1234.565"), 123457), (D("1234.564"), 123456), (D("1234.575"), 123458), (D("0.005"), 1),
    (D("-1234.565"), -123457), (D("-0.005"), -1), (D("-0.004"), 0), (D("3000000"), 300000000), (7, 700),
    (D("12345678901234.565"), 1234567890123457),
])
def test_yuan_to_fen_rounds_half_up(yuan, fen):
    assert money.fen(yuan) == fen
    assert money.to_fen(str(yuan)) == fen


def test_fen_round_trips_to_yuan_exactly():
    assert money.from_fen(123457) == D("1234.57") and str(money.from_fen(123457)) == "1234.57"
    assert str(money.from_fen(-123457)) == "-1234.57" and str(money.from_fen(0)) == "0.00"
    assert money.quantize(D("1234.565")) == D("1234.57") and money.quantize(D("-1234.565")) == D("-1234.57")
    for fen in (0, 1, -1, 99, 123457, -123457, 10**17 + 3):
        assert money.fen(money.from_fen(fen)) == fen


def test_floats_are_not_money():
    with pytest.raises(TypeError):
        money.fen(1234.565)
    with pytest.raises(ValidationFailed) as exc:
        money.to_fen(1234.56)
    assert exc.value.code == "invalid_amount"


def test_computed_estimates_round_half_up_through_their_decimal_form():
    # A simulation's float is taken at its shortest decimal form, then rounded like every other amount.
    assert money.round_yuan(1234.565) == D("1234.57")
    assert money.round_yuan(-1234.565) == D("-1234.57")
    assert money.round_yuan(D("0.125")) == D("0.13")


# --- formatting for pages -----------------------------------------------------------------------

@pytest.mark.parametrize(("fen", "shown"), [
    (0, "0.00"), (5, "0.05"), (123457, "1,234.57"), (-123457, "-1,234.57"), (300000000, "3,000,000.00"),
    (1234567890123457, "12,345,678,901,234.57"),
])
def test_format_yuan_groups_thousands_with_two_decimals(fen, shown):
    assert money.format_yuan(fen) == shown


def test_format_wan_is_exact():
    assert money.format_wan(1234567890123457) == "1,234,567,890.12"  # grouped, as pages show it
    assert money.format_wan(67653000000) == "67,653.00"
    assert money.format_wan(-50000) == "-0.05"
    assert money.wan(125000) == D("0.13") and money.wan(-125000) == D("-0.13")


def render(source: str, **context) -> str:
    return Template("{% load ippledge %}" + source).render(Context(context))


def test_page_filters_format_yuan_and_fen_exactly():
    # Values of 16 digits lose their last fen as floats; the filters never go through one.
    assert render("{{ a|money }}", a="12345678901234.57") == "12,345,678,901,234.57"
    assert render("{{ a|money }}", a=D("3000000")) == "3,000,000.00"
    assert render("{{ a|money }}", a="-1234.565") == "-1,234.57"
    assert render("{{ a|fen }}", a=1234567890123457) == "12,345,678,901,234.57"
    assert render("{{ a|fen }}", a=-123457) == "-1,234.57"
    assert render("{{ a|fen:'wan' }}", a=123456789) == "123.46"
    assert render("{{ a|money:'wan' }}", a="1234567.89") == "123.46"
    assert render("{{ a|money|default:'—' }} {{ b|fen|default:'—' }}", a=None, b="") == "— —"


def test_page_filters_refuse_floats():
    with pytest.raises(TypeError):
        render("{{ a|money }}", a=1234.56)
    with pytest.raises(TypeError):
        render("{{ a|fen }}", a=123456.0)


# --- the registry stores the secured amount as fen ----------------------------------------------

@pytest.mark.django_db
def test_registry_secured_amount_is_integer_fen_and_shown_as_yuan(api_as, make_org, make_user, client):
    bank = parties_on_platform(api_as, make_org, make_user)[0]
    make_patent()
    filed = bank.post("/pledge-applications", application(secured_debt={"type": "流动资金贷款",
                                                                        "amount": "12345678.91"}))
    assert filed.data["status"] == "registered", filed.data
    reg = filed.data["registration_no"]
    pledge = Pledge.objects.get(registration_no=reg)
    assert pledge.secured_amount == 1234567891 and isinstance(pledge.secured_amount, int)
    # The API and the journal keep yuan strings; the journal's record agrees with the table's.
    assert bank.get(f"/pledges/{reg}").data["secured_amount"] == "12345678.91"
    assert journal.report()["ok"] is True
    assert "12,345,678.91 元" in client.get(f"/registry/pledges/{reg}/").content.decode()
    figures = bank.get(f"/reports/registry?period={business_date.today().year}").data
    assert figures["by_regime"]["patent"]["secured_amount"] == "12345678.91"
    assert figures["by_regime"]["trademark"]["secured_amount"] == "0.00"
    # A change stores the new amount as fen too.
    lower = bank.post(f"/pledges/{reg}/changes", {"secured_debt": {"type": "流动资金贷款", "amount": "1234.56"}})
    assert lower.status_code == 200, lower.data
    assert lower.data["secured_amount"] == "1234.56"
    pledge.refresh_from_db()
    assert pledge.secured_amount == 123456
    assert journal.report()["ok"] is True


@pytest.mark.django_db
def test_a_secured_amount_with_more_than_two_decimals_is_refused_not_rounded(api_as, make_org, make_user):
    bank = parties_on_platform(api_as, make_org, make_user)[0]
    make_patent()
    r = bank.post("/pledge-applications", application(secured_debt={"type": "流动资金贷款", "amount": "1234.565"}))
    assert r.status_code == 422 and "secured_debt.amount" in r.data["error"]["fields"]
    assert not Pledge.objects.exists()


# --- the migration converts stored yuan to fen exactly ------------------------------------------

BEFORE = ("registry", "0003_party_confirmations")


@pytest.mark.django_db(transaction=True)
def test_migration_converts_stored_yuan_to_fen_exactly():
    import datetime as dt

    executor = MigrationExecutor(connection)
    # Going back also unapplies other apps' migrations that depend on a later registry one: the test
    # ends with every app at its latest migration again, as the rest of the suite expects.
    after = executor.loader.graph.leaf_nodes()
    executor.migrate([BEFORE])
    try:
        old = MigrationExecutor(connection).loader.project_state([BEFORE]).apps.get_model("registry", "Pledge")
        at = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)
        for i, amount in enumerate(("1234.56", "0.01", "3000000.00", "99999999999.99")):
            old.objects.create(registration_no=f"OLD{i}", regime="patent", registered_at=at,
                               effective_date=at.date(), secured_amount=D(amount))
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(after)
    assert MigrationExecutor(connection).migration_plan(after) == []
    stored = dict(Pledge.objects.values_list("registration_no", "secured_amount"))
    assert stored == {"OLD0": 123456, "OLD1": 1, "OLD2": 300000000, "OLD3": 9999999999999}


# --- statistics pages: tables and charts from exact amounts --------------------------------------

@pytest.mark.django_db
def test_public_statistics_show_amounts_exactly_in_tables_and_charts(client):
    import datetime as dt

    from ippledge.core import services as core
    from ippledge.core.actors import SYSTEM
    from ippledge.credit import services as credit

    from .conftest import PASSWORD, uscc

    bank = core.create_organisation(actor=SYSTEM, name="银行A", kind="bank", uscc=uscc("91110000100000589"))
    officer = core.create_user(actor=SYSTEM, username="officerA", password=PASSWORD, org_id=bank.pk,
                               roles=["bank_officer"])
    borrower = uscc("91440300000000001")
    core.create_organisation(actor=SYSTEM, name="企业1", kind="enterprise", uscc=borrower)
    credit.book_loan(actor=officer, data={
        "borrower_uscc": borrower, "borrower_name": "企业1", "bank_org_id": bank.pk, "amount": "1250",
        "annual_rate": "0.04", "start_date": dt.date(2026, 2, 10), "maturity_date": dt.date(2027, 2, 10),
        "schedule": "bullet", "ip_kind": "patent"})
    page = client.get("/reports/public/?period=2026").content.decode()
    assert "<td>1,250.00</td>" in page
    # 1,250 yuan is 0.125 万元: half up to 0.13 (a float chart label rounds it half-even to 0.12).
    assert "0.13万" in page and "0.12万" not in page


@pytest.mark.django_db
def test_valuation_record_page_shows_amounts_grouped_to_the_fen(make_user):
    from django.test import Client

    from ippledge.valuation import services as valuation

    from .conftest import PASSWORD

    make_patent()
    user = make_user("bank_officer", "bank", username="valuer")
    record = valuation.create_valuation(actor=user, data={
        "rights": [{"kind": "invention", "number": "ZL201410362077.3"}], "method": "income",
        "inputs": {"income": ["1000000", "1000000", "1000000"], "split_rate": "0.25", "tax_rate": "0.25",
                   "discount_rate": "0.10"}})
    browser = Client()
    browser.post("/login/", {"username": "valuer", "password": PASSWORD})
    page = browser.get(f"/valuation/records/{record.valuation_no}/").content.decode()
    assert f'data-testid="market-value">{money.format_yuan(record.market_value)} 元' in page
    listed = browser.get("/valuation/records/").content.decode()
    assert f'<td class="num">{money.format_yuan(record.market_value)}</td>' in listed  # the shared listing
