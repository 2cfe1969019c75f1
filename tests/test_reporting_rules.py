"""Reporting rules (periods, NPL ratio and the 3-point tolerance, growth, scorecard) and report files.

Pure tests (no database): run with
``python -m pytest tests/test_reporting_rules.py -q -p no:django --noconftest``.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from ippledge.core.errors import ValidationFailed
from ippledge.reporting.engine.rules import (
    DEFAULT_WEIGHTS,
    npl_ratio,
    parse_period,
    percent_str,
    previous_year,
    scorecard,
    tolerance,
    validate_weights,
    yoy,
)
from ippledge.reporting.exports import to_csv, to_xlsx

FAST = settings(max_examples=80, deadline=None)


# ------------------------------------------------------------------------------------------ periods


@pytest.mark.parametrize("text, kind, year, start, end, label", [
    ("2026Q3", "quarter", 2026, date(2026, 7, 1), date(2026, 9, 30), "2026Q3"),
    ("2026q1", "quarter", 2026, date(2026, 1, 1), date(2026, 3, 31), "2026Q1"),
    ("2026-Q2", "quarter", 2026, date(2026, 4, 1), date(2026, 6, 30), "2026Q2"),
    ("2026Q4", "quarter", 2026, date(2026, 10, 1), date(2026, 12, 31), "2026Q4"),
    ("2026-09", "month", 2026, date(2026, 9, 1), date(2026, 9, 30), "2026-09"),
    ("2024-02", "month", 2024, date(2024, 2, 1), date(2024, 2, 29), "2024-02"),
    ("2026-2", "month", 2026, date(2026, 2, 1), date(2026, 2, 28), "2026-02"),
    ("2026-12", "month", 2026, date(2026, 12, 1), date(2026, 12, 31), "2026-12"),
    (" 2026 ", "year", 2026, date(2026, 1, 1), date(2026, 12, 31), "2026"),
])
def test_parse_period(text, kind, year, start, end, label):
    p = parse_period(text)
    assert (p.kind, p.year, p.start, p.end, p.label) == (kind, year, start, end, label)
    assert p.year_start == date(year, 1, 1)
    assert p.contains(start) and p.contains(end) and not p.contains(date(year + 1, 1, 1))
    assert parse_period(p) is p and str(p) == label


@pytest.mark.parametrize("text", ["", "2026Q0", "2026Q5", "2026-00", "2026-13", "26Q3", "2026/09", "2026-09-01",
                                  "Q3 2026", "１９９９", "1899", "abc", "2026Q", None, 2026])
def test_invalid_periods(text):
    with pytest.raises(ValidationFailed) as err:
        parse_period(text)
    assert err.value.code == "invalid_period"
    assert "period" in err.value.fields


def test_previous_year_keeps_the_kind_and_month_ends():
    assert previous_year("2026Q3").label == "2025Q3"
    feb = previous_year("2025-02")
    assert (feb.label, feb.start, feb.end) == ("2024-02", date(2024, 2, 1), date(2024, 2, 29))
    assert previous_year(parse_period("2026")).end == date(2025, 12, 31)
    with pytest.raises(ValidationFailed):
        previous_year("1900")


# ------------------------------------------------------------------------------ ratio and tolerance


def test_npl_ratio_four_decimals_and_zero_balance():
    assert npl_ratio(44, 1000) == D("4.4000")
    assert npl_ratio(1, 3) == D("33.3333")
    assert npl_ratio(2, 3) == D("66.6667")
    assert npl_ratio(0, 0) is None
    assert npl_ratio(0, 500) == D("0.0000")
    for bad in ((-1, 10), (11, 10), (1.5, 10), (True, 10)):
        with pytest.raises(ValidationFailed):
            npl_ratio(*bad)


def test_percent_str():
    assert percent_str(D("4.4")) == "4.40"
    assert percent_str(D("3.0125")) == "3.0125"
    assert percent_str(D("3.01250")) == "3.0125"
    assert percent_str(D("2.123456")) == "2.1235"
    assert percent_str(D("-0.00001")) == "0.00"
    assert percent_str(7) == "7.00"
    assert percent_str(None) is None


def test_tolerance_float_trap_4_4_minus_1_4_is_within():
    assert 4.4 - 1.4 != 3  # the reason for exact arithmetic
    result = tolerance(44, 1000, 14, 1000)
    assert result == {"ip_npl_ratio": "4.40", "overall_npl_ratio": "1.40", "gap_pp": "3.00",
                      "points": "3.00", "within_tolerance": True}


def test_tolerance_boundaries():
    # exactly 3.00 points: within (含 3)
    assert tolerance(500, 10000, 200, 10000)["within_tolerance"] is True
    # 3.01: not within
    r = tolerance(501, 10000, 200, 10000)
    assert r["within_tolerance"] is False and r["gap_pp"] == "3.01"
    # 3.0001 is not within either, and is shown so
    r = tolerance(300010, 10_000_000, 0, 10_000_000)
    assert r["within_tolerance"] is False and r["gap_pp"] == "3.0001"
    # a failing gap that would round onto 3.0000 is shown rounded up
    r = tolerance(300004, 10_000_000, 0, 10_000_000)
    assert r["within_tolerance"] is False and r["gap_pp"] == "3.0001"
    # below the overall ratio: negative gap, within
    r = tolerance(1, 100, 5, 100)
    assert r["within_tolerance"] is True and r["gap_pp"] == "-4.00"
    # a custom tolerance (configurable)
    assert tolerance(501, 10000, 200, 10000, points=D("3.01"))["within_tolerance"] is True
    assert tolerance(501, 10000, 200, 10000, points="3.009")["within_tolerance"] is False
    with pytest.raises(ValidationFailed):
        tolerance(1, 10, 1, 10, points=3.0)


def test_tolerance_zero_balances():
    r = tolerance(0, 0, 14, 1000)
    assert r["ip_npl_ratio"] is None and r["gap_pp"] is None and r["within_tolerance"] is True
    r = tolerance(10, 100, 0, 0)
    assert r["overall_npl_ratio"] is None and r["gap_pp"] is None and r["within_tolerance"] is None
    r = tolerance(0, 0, 0, 0)
    assert r["within_tolerance"] is True


@FAST
@given(ip_balance=st.integers(1, 10**12), a=st.integers(0, 10**12), b=st.integers(0, 10**12),
       overall_balance=st.integers(1, 10**13), overall_npl=st.integers(0, 10**13),
       points=st.decimals(min_value=0, max_value=10, places=2))
def test_within_tolerance_is_monotone_in_ip_npl(ip_balance, a, b, overall_balance, overall_npl, points):
    low, high = sorted((a % (ip_balance + 1), b % (ip_balance + 1)))
    overall_npl = overall_npl % (overall_balance + 1)
    at_low = tolerance(low, ip_balance, overall_npl, overall_balance, points)["within_tolerance"]
    at_high = tolerance(high, ip_balance, overall_npl, overall_balance, points)["within_tolerance"]
    assert not (at_high and not at_low)  # more NPLs never bring a bank back within the tolerance
    shown = tolerance(high, ip_balance, overall_npl, overall_balance, points)
    assert (D(shown["gap_pp"]) <= points) == shown["within_tolerance"]


def test_yoy():
    assert yoy(D(120), D(100)) == D("20.0000")
    assert yoy(80, 100) == D("-20.0000")
    assert yoy(1, 3) == D("-66.6667")
    assert yoy(5, 0) is None
    assert yoy(None, 5) is None
    assert yoy(D("8414"), D("5468")) == D("53.8771")
    with pytest.raises(ValidationFailed):
        yoy(1.2, 1)


# ---------------------------------------------------------------------------------------- scorecard


def bank(name, **kw):
    base = {"bank": name, "plan_households": 100, "households": 100, "plan_amount": 10**10, "amount_lent": 10**10,
            "first_loan_households": 50, "households_total": 100, "inclusive_amount": 5 * 10**9,
            "amount_total": 10**10, "npl_gap_pp": "1.00", "median_registration_seconds": 3600}
    base.update(kw)
    return base


def test_scorecard_components_and_default_weights():
    given_a = bank("A")
    out = scorecard([
        given_a,
        bank("B", households=50, amount_lent=2 * 10**10, npl_gap_pp="5.50", median_registration_seconds=7200.0),
        bank("C", plan_households=None, plan_amount=0, first_loan_households=0, inclusive_amount=0,
             npl_gap_pp=None, median_registration_seconds=None),
    ])
    by = {b["bank"]: b for b in out}
    a, b, c = by["A"], by["B"], by["C"]
    assert a["scores"] == {"plan": D("100.00"), "first_loan": D("50.00"), "inclusive": D("50.00"),
                           "npl": D("100.00"), "speed": D("100.00")}
    assert a["total"] == D("80.00")  # 30 + 10 + 10 + 20 + 10
    # plan: households 50 %, amount capped at 100 % → 75; npl: 2.5 points beyond 3, span 5 → 50; speed half
    assert b["scores"]["plan"] == D("75.00")
    assert b["scores"]["npl"] == D("50.00")
    assert b["scores"]["speed"] == D("50.00")
    assert b["total"] == D("57.50")  # 22.5 + 10 + 10 + 10 + 5
    # no plan → 0, no IP-pledge book → full NPL marks, no registrations → 0
    assert c["scores"] == {"plan": D("0.00"), "first_loan": D("0.00"), "inclusive": D("0.00"),
                           "npl": D("100.00"), "speed": D("0.00")}
    assert [x["bank"] for x in out] == ["A", "B", "C"] and [x["rank"] for x in out] == [1, 2, 3]
    assert "rank" not in given_a and "scores" not in given_a  # the input is not changed


def test_scorecard_npl_gap_boundary_and_floor():
    out = scorecard([bank("X", npl_gap_pp="3.00"), bank("Y", npl_gap_pp="3.01"), bank("Z", npl_gap_pp="12")])
    scores = {b["bank"]: b["scores"]["npl"] for b in out}
    assert scores == {"X": D("100.00"), "Y": D("99.80"), "Z": D("0.00")}


def test_scorecard_ties_share_rank_and_keep_input_order():
    out = scorecard([bank("low", households=10), bank("P"), bank("Q"), bank("R", households=90)])
    assert [(b["bank"], b["rank"]) for b in out] == [("P", 1), ("Q", 1), ("R", 3), ("low", 4)]


def test_scorecard_custom_weights_change_the_order():
    banks = [bank("fast", households=20, plan_amount=None, median_registration_seconds=600),
             bank("big", median_registration_seconds=6000)]
    assert [b["bank"] for b in scorecard(banks)] == ["big", "fast"]
    speed_first = {"plan": 0, "first_loan": 0, "inclusive": 0, "npl": "10", "speed": D(90)}
    out = scorecard(banks, speed_first)
    assert [b["bank"] for b in out] == ["fast", "big"]
    assert out[0]["total"] == D("100.00") and out[1]["total"] == D("19.00")


@pytest.mark.parametrize("weights", [
    {"plan": 30, "first_loan": 20, "inclusive": 20, "npl": 20, "speed": 11},          # sums to 101
    {"plan": 30, "first_loan": 20, "inclusive": 20, "npl": 30},                        # missing key
    {"plan": 30, "first_loan": 20, "inclusive": 20, "npl": 20, "speed": 10, "x": 0},   # unknown key
    {"plan": 40, "first_loan": 20, "inclusive": 20, "npl": 30, "speed": -10},          # negative
    {"plan": 30.0, "first_loan": 20, "inclusive": 20, "npl": 20, "speed": 10},         # float
    {"plan": "lots", "first_loan": 20, "inclusive": 20, "npl": 20, "speed": 10},
    [30, 20, 20, 20, 10],
])
def test_invalid_weights(weights):
    with pytest.raises(ValidationFailed) as err:
        scorecard([bank("A")], weights)
    assert err.value.code == "invalid_weights"


def test_weights_default_and_decimal_strings():
    assert validate_weights(None) == DEFAULT_WEIGHTS and sum(DEFAULT_WEIGHTS.values()) == 100
    assert validate_weights({"plan": "30.5", "first_loan": "19.5", "inclusive": 20, "npl": 20, "speed": 10})["plan"] \
        == D("30.5")


def test_scorecard_rejects_inconsistent_input():
    with pytest.raises(ValidationFailed):
        scorecard([bank("A", first_loan_households=101)])
    with pytest.raises(ValidationFailed):
        scorecard([bank("A", median_registration_seconds=0)])
    assert scorecard([]) == []


# ------------------------------------------------------------------------------------------ exports

COLUMNS = [
    {"key": "bank", "header": "银行", "kind": "text"},
    {"key": "households", "header": "当年累放贷款户数", "kind": "count"},
    {"key": "amount_lent", "header": "当年累放贷款金额(万元)", "kind": "wan"},
    {"key": "npl_ratio", "header": "不良率", "kind": "percent"},
]
ROWS = [
    {"bank": "中国工商银行", "households": 8414, "amount_lent": 12_345_678_900, "npl_ratio": "4.40"},
    {"bank": "=HYPERLINK(\"x\")", "households": 0, "amount_lent": -5_000_000, "npl_ratio": D("1.2345")},
    {"bank": "空值", "households": None, "amount_lent": None, "npl_ratio": None},
]
NOTES = [("当年累放贷款金额", "1月1日至期末发放的知识产权质押贷款金额，单位万元。"),
         ("不良率", "次级、可疑、损失类贷款余额 / 贷款余额。")]


def test_xlsx_round_trip():
    data = to_xlsx(title="2026年第三季度知识产权质押融资统计", as_of="2026-10-08 09:00",
                   sheets=[{"name": "按银行", "columns": COLUMNS, "rows": ROWS},
                           {"name": "按地区/园区", "columns": COLUMNS[:2], "rows": []}],
                   notes=NOTES)
    assert data[:2] == b"PK"
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["按银行", "按地区_园区", "说明"]
    ws = wb["按银行"]
    assert [c.value for c in ws[1]] == ["银行", "当年累放贷款户数", "当年累放贷款金额(万元)", "不良率(%)"]
    assert all(c.font.b for c in ws[1])
    assert ws.freeze_panes == "A2"
    # 万元 are stored exactly (fen / 1,000,000) and shown with two decimals by the number format
    amount = ws["C2"]
    # Excel holds doubles: the cell is the double nearest the exact amount, whose shortest form is exact.
    assert D(repr(amount.value)) == D("12345.6789") and amount.number_format == "#,##0.00"
    assert D(repr(ws["C3"].value)) == D("-5")
    assert ws["B2"].value == 8414 and isinstance(ws["B2"].value, int)
    assert D(repr(ws["D2"].value)) == D("4.4") and ws["D2"].number_format == "0.00"
    assert D(repr(ws["D3"].value)) == D("1.2345")
    # text that looks like a formula stays text
    assert ws["A3"].value == "=HYPERLINK(\"x\")" and ws["A3"].data_type == "s"
    assert ws["B4"].value is None and ws["C4"].value is None
    assert ws.column_dimensions["C"].width >= 20
    notes = wb["说明"]
    values = [[c.value for c in row] for row in notes.iter_rows()]
    assert values[0][0] == "2026年第三季度知识产权质押融资统计"
    assert values[1][:2] == ["数据截至", "2026-10-08 09:00"]
    assert ["不良率", "次级、可疑、损失类贷款余额 / 贷款余额。"] in [v[:2] for v in values]
    assert wb.properties.title == "2026年第三季度知识产权质押融资统计"


def test_xlsx_sheet_names_made_valid_and_unique():
    long = "按银行" * 20
    data = to_xlsx(title="t", as_of="x", notes=[], sheets=[
        {"name": long, "columns": COLUMNS, "rows": ROWS[:1]},
        {"name": long, "columns": COLUMNS, "rows": ROWS[:1]},
        {"name": "说明", "columns": COLUMNS, "rows": []}])
    names = load_workbook(io.BytesIO(data)).sheetnames
    assert len(names) == 4 and len(set(names)) == 4 and names[-1] == "说明"
    assert all(len(n) <= 31 for n in names)


def test_csv_bom_and_content():
    data = to_csv(COLUMNS, ROWS)
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert "\r\n" in text
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["银行", "当年累放贷款户数", "当年累放贷款金额(万元)", "不良率(%)"]
    assert rows[1] == ["中国工商银行", "8414", "12345.68", "4.40"]
    assert rows[2] == ["'=HYPERLINK(\"x\")", "0", "-5.00", "1.2345"]
    assert rows[3] == ["空值", "", "", ""]


def test_exports_reject_fractional_fen_and_unknown_kinds():
    with pytest.raises(ValueError):
        to_csv(COLUMNS, [{"amount_lent": D("1.5")}])
    with pytest.raises(ValueError):
        to_xlsx(title="t", as_of="x", notes=[], sheets=[{"name": "s", "columns": [{"key": "a", "kind": "money"}],
                                                           "rows": []}])
