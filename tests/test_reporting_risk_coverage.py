"""Risk-sharing coverage is a dimension of the statistics (issue 13.2): loans, balances and NPLs by the scheme
a loan was enrolled in on or before the period end (``risk_scheme``) and covered or not (``risk_covered``).
The figures equal the direct computation from the loans and their enrolments, read the same from the
month-end snapshot as from the history, add up to the ungrouped book, and reach the API, the drill-down,
the dashboard and the CSV export like every other dimension."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import pytest

from ippledge.core import services as core
from ippledge.core.actors import SYSTEM
from ippledge.core.money import from_fen
from ippledge.reporting import snapshots
from ippledge.reporting.sql import loans_behind_sql, report_sql
from ippledge.risksharing.models import Enrolment, Scheme

from . import reporting_oracle as oracle
from .conftest import PASSWORD, Api
from .test_reporting_sql import book  # noqa: F401  (the fixture: a small book with every kind of history)

pytestmark = pytest.mark.django_db

PERIODS = ("2026Q1", "2026Q3", "2026-10", "2026")


@pytest.fixture
def covered(book):  # noqa: F811
    """Two schemes; bank A's first and doubtful loans in the first since March, bank B's first loan in the
    second since the last day of Q3, and B's August-2025 bundle loan (substandard at Q3) only from October."""
    loans = book["loans"]
    first = Scheme.objects.create(name="深圳风险补偿", region_code="440300", valid_from=dt.date(2026, 1, 1))
    second = Scheme.objects.create(name="上海风险补偿", region_code="310000", valid_from=dt.date(2025, 1, 1))
    for loan, scheme, day in ((loans[0], first, dt.date(2026, 3, 1)), (loans[2], first, dt.date(2026, 3, 1)),
                              (loans[3], second, dt.date(2026, 9, 30)), (loans[7], second, dt.date(2026, 10, 10))):
        Enrolment.objects.create(loan=loan, scheme=scheme, enrolled_on=day)
    return {**book, "schemes": (first, second)}


def _direct(period: str) -> dict:
    """Per scheme (None: not covered) the book's figures at the period end, computed loan by loan."""
    from ippledge.reporting.engine import rules

    p = rules.parse_period(period)
    enrolled = {e.loan.loan_no: e.scheme_id for e in Enrolment.objects.select_related("loan")
                if e.enrolled_on <= p.end}
    groups = defaultdict(list)
    for loan in oracle.loans_at(p.end):
        groups[enrolled.get(loan.loan_no)].append(loan)
    out = {}
    for scheme_id, loans in groups.items():
        fig = oracle._figures(loans, p.start.replace(month=1, day=1), p.end)
        out[scheme_id] = {"balance": str(from_fen(fig["balance"])), "npl_balance": str(from_fen(fig["npl_balance"])),
                          "loan_count": fig["loan_count"], "households": fig["households"],
                          "amount_lent": str(from_fen(fig["amount_lent"]))}
    return out


FIGURES = ("balance", "npl_balance", "loan_count", "households", "amount_lent")


@pytest.mark.parametrize("period", PERIODS)
def test_figures_by_scheme_equal_the_direct_computation(covered, period):
    rows = report_sql(period=period, group_by=("risk_scheme",))["rows"]
    got = {r["risk_scheme_id"]: {k: r[k] for k in FIGURES} for r in rows}
    assert got == _direct(period)
    names = {s.pk: s.name for s in covered["schemes"]}
    for r in rows:
        assert r["risk_scheme"] == names.get(r["risk_scheme_id"], "")


@pytest.mark.parametrize("period", PERIODS)
def test_covered_and_not_add_up_to_the_book(covered, period):
    direct = _direct(period)
    rows = {r["risk_covered"]: r for r in report_sql(period=period, group_by=("risk_covered",))["rows"]}
    whole = report_sql(period=period)["rows"][0]
    for name in ("balance", "npl_balance", "amount_lent"):
        assert sum(Decimal(r[name]) for r in rows.values()) == Decimal(whole[name]), name
    covered_balance = sum((Decimal(v["balance"]) for k, v in direct.items() if k is not None), Decimal(0))
    if True in rows:
        assert Decimal(rows[True]["balance"]) == covered_balance
    else:
        assert covered_balance == 0


def test_enrolment_dates_decide_coverage_at_the_period_end(covered):
    first, second = covered["schemes"]
    by = {r["risk_scheme_id"]: r for r in report_sql(period="2026Q3", group_by=("risk_scheme",))["rows"]}
    # At Q3: the substandard bundle loan is not yet covered, so the second scheme's NPL is zero.
    assert by[first.pk]["npl_balance"] == "5000000.00" and by[second.pk]["npl_balance"] == "0.00"
    later = {r["risk_scheme_id"]: r for r in report_sql(period="2026-10", group_by=("risk_scheme",))["rows"]}
    assert later[second.pk]["npl_balance"] == "2500000.00"
    assert first.pk not in {r["risk_scheme_id"] for r in report_sql(period="2025", group_by=("risk_scheme",))["rows"]}


def test_coverage_combines_with_other_dimensions_and_bank_scope(covered):
    banks = covered["banks"]
    rows = report_sql(period="2026", group_by=("bank", "risk_covered"), bank_ids={banks["B"].pk})["rows"]
    assert {(r["bank"], r["risk_covered"]) for r in rows} == {("银行B", True), ("银行B", False)}
    direct = _direct("2026")
    second = covered["schemes"][1]
    b_covered = next(r for r in rows if r["risk_covered"])
    assert b_covered["balance"] == direct[second.pk]["balance"]


def test_the_snapshot_gives_the_same_figures_as_the_history(covered):
    snapshots.take(actor=SYSTEM, month_end=dt.date(2026, 9, 30))
    for group_by in (("risk_scheme",), ("risk_covered", "ip_kind"), ("bank", "risk_scheme")):
        history = report_sql(period="2026Q3", group_by=group_by, source="history")
        assert report_sql(period="2026Q3", group_by=group_by, source="snapshot") == history, group_by


def test_the_loans_behind_a_coverage_figure(covered):
    first, _second = covered["schemes"]
    loans = covered["loans"]
    data = loans_behind_sql(period="2026Q3", filters={"risk_scheme": str(first.pk)})
    assert {x["loan_no"] for x in data["loans"]} == {loans[0].loan_no, loans[2].loan_no}
    yes = loans_behind_sql(period="2026Q3", filters={"risk_covered": "true"})
    no = loans_behind_sql(period="2026Q3", filters={"risk_covered": "False"})
    assert {x["loan_no"] for x in yes["loans"]} == {loans[0].loan_no, loans[2].loan_no, loans[3].loan_no}
    assert yes["count"] + no["count"] == loans_behind_sql(period="2026Q3", filters={})["count"]
    assert loans_behind_sql(period="2026Q3", filters={"risk_scheme": "abc"})["count"] == 0
    assert loans_behind_sql(period="2026Q3", filters={"risk_covered": "maybe"})["count"] == 0


@pytest.fixture
def regulator(covered):
    org = core.create_organisation(actor=SYSTEM, name="监管局", kind="regulator")
    user = core.create_user(actor=SYSTEM, username="cov-reg", password=PASSWORD, org_id=org.pk,
                            roles=["regulator_user"])
    return Api(core.issue_token(user=user))


def test_api_page_and_export_carry_the_dimension(covered, regulator):
    first, _second = covered["schemes"]
    r = regulator.get("/reports/ip-pledge-loans?period=2026&group_by=risk_scheme")
    assert r.status_code == 200, r.data
    got = {row["risk_scheme_id"]: row["balance"] for row in r.data["rows"]}
    assert got == {k: v["balance"] for k, v in _direct("2026").items()}
    r = regulator.get(f"/reports/ip-pledge-loans/loans?period=2026Q3&risk_scheme={first.pk}")
    assert r.status_code == 200 and r.data["count"] == 2
    r = regulator.get("/reports/ip-pledge-loans/loans?period=2026Q3&risk_covered=x'--")
    assert r.status_code == 422 and r.data["error"]["code"] == "invalid_filter"
    r = regulator.get("/reports/ip-pledge-loans?period=2026&group_by=risk_scheme,colour")
    assert r.status_code == 422 and r.data["error"]["code"] == "invalid_group_by"
    csv = regulator.get("/reports/ip-pledge-loans.csv?period=2026&group_by=risk_scheme")
    text = csv.content.decode("utf-8-sig")
    assert "风险分担方案" in text and "深圳风险补偿" in text and "未纳入风险分担" in text

    from django.test import Client

    from ippledge.core.models import User

    client = Client()
    client.cookies["django_language"] = "zh-hans"
    client.force_login(User.objects.get(username="cov-reg"))
    page = client.get("/reports/?period=2026").content.decode()
    assert 'data-testid="by-scheme"' in page and "深圳风险补偿" in page and "risk_covered=false" in page
    page = client.get(f"/reports/loans/?period=2026Q3&risk_scheme={first.pk}").content.decode()
    assert covered["loans"][0].loan_no in page and "深圳风险补偿" in page
    page = client.get("/reports/loans/?period=2026Q3&risk_covered=false").content.decode()
    assert covered["loans"][0].loan_no not in page
