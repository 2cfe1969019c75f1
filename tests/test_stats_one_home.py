"""Issue 10 point 10 (period statistics): every figure has one home.

The product gathers the facts of the book in SQL (``reporting.sql``) and decides in the pure engine
(``reporting.engine.statistics``): the report, the loans behind a figure and a bank's IP-pledge book
are all read that way, so a loan is judged once.  The per-loan Python reference is kept as an oracle
(``tests/reporting_oracle.py``) and compared with the product on generated books."""

from __future__ import annotations

import datetime as dt
import random
import re
from pathlib import Path

import pytest

from ippledge.core import services as core
from ippledge.core.actors import SYSTEM
from ippledge.core.models import Organisation
from ippledge.credit.models import ClassificationChange, Loan, Park, Repayment
from ippledge.reporting import sql
from ippledge.reporting.engine import statistics as engine

from . import reporting_oracle as oracle

SRC = Path(__file__).resolve().parents[1] / "src" / "ippledge"
CATEGORIES = ("normal", "special_mention", "substandard", "doubtful", "loss")
# Period ends and window edges, so that loans start, are repaid and change category on and around them.
EDGES = [dt.date(2025, 1, 1), dt.date(2025, 9, 30), dt.date(2025, 10, 1), dt.date(2025, 12, 31),
         dt.date(2026, 1, 1), dt.date(2026, 1, 31), dt.date(2026, 9, 30), dt.date(2026, 10, 1)]
PERIODS = ("2026Q3", "2026", "2025Q4", "2026-01", "2025")
GROUPINGS = ((), ("bank",), ("branch", "ip_kind"), ("bank", "ip_kind", "region"), ("city", "size"),
             ("park", "first_loan", "inclusive"))


def _day(rng: random.Random) -> dt.date:
    if rng.random() < 0.3:
        return rng.choice(EDGES)
    return dt.date(2024, 6, 1) + dt.timedelta(days=rng.randrange(0, 940))


def _generated_book(seed: int) -> dict:
    """Three head offices (two with a branch), borrowers across regions and sizes (some blank), loans
    around the windows and the 10-million line, repayments (some overpaying, some after the end) and
    classification changes (some the same day)."""
    rng = random.Random(seed)
    heads = [core.create_organisation(actor=SYSTEM, name=f"生成银行{seed}-{i}", kind="bank") for i in range(3)]
    branches = [core.create_organisation(actor=SYSTEM, name=f"生成银行{seed}-{i}分行", kind="bank") for i in range(2)]
    for branch, head in zip(branches, heads, strict=False):
        Organisation.objects.filter(pk=branch.pk).update(parent=head)
    lenders = [Organisation.objects.get(pk=o.pk) for o in heads + branches]
    parks = [Park.objects.create(name=f"生成园区{seed}-{i}", region_code="440300") for i in range(2)]
    borrowers = [Organisation.objects.create(
        name=f"生成企业{seed}-{i}", kind="enterprise",
        region_code=rng.choice(["440305", "110108", "310115", "3205", "", "1"]),
        size_class=rng.choice(["micro", "small", "medium", ""])) for i in range(12)]
    amounts = [99_999_999, 1_000_000_000, 999_999_999, 1_000_000_001]
    loans = []
    for n in range(45):
        start = _day(rng)
        amount = rng.choice(amounts) if rng.random() < 0.3 else rng.randrange(10_000_000, 2_000_000_000)
        loan = Loan.objects.create(
            loan_no=f"GB{seed:02d}{n:06d}", bank=rng.choice(lenders), borrower=rng.choice(borrowers), amount=amount,
            balance=amount, annual_rate="0.04", start_date=start, maturity_date=start + dt.timedelta(days=365),
            schedule_kind="bullet", ip_kind=rng.choice(["patent", "trademark", "copyright", "bundle"]),
            first_loan=rng.random() < 0.3, inclusive_smb=rng.random() < 0.4,
            park=rng.choice([None, None, *parks]))
        for _ in range(rng.randrange(0, 4)):
            Repayment.objects.create(loan=loan, date=max(start, _day(rng)), interest=0,
                                     principal=rng.randrange(0, amount * 2 // 3 + 1))
        for _ in range(rng.randrange(0, 4)):
            ClassificationChange.objects.create(loan=loan, date=max(start, _day(rng)), before="normal",
                                                after=rng.choice(CATEGORIES))
        loans.append(loan)
    return {"heads": heads, "branches": branches, "loans": loans}


@pytest.fixture(params=[1, 2])
def book(request, db):
    return _generated_book(request.param)


# ------------------------------------------------------------------------ production against the oracle

def test_the_report_agrees_with_the_oracle_on_generated_books(book):
    scopes = (None, {book["heads"][0].pk}, {book["branches"][1].pk}, {book["heads"][2].pk, book["branches"][0].pk})
    for period in PERIODS:
        for group_by in GROUPINGS:
            for scope in scopes:
                assert sql.report_sql(period=period, group_by=group_by, bank_ids=scope) == \
                    oracle.report(period=period, group_by=group_by, bank_ids=scope), (period, group_by, scope)


def test_the_loans_behind_a_figure_agree_with_the_oracle(book):
    heads = book["heads"]
    keys = [{}, {"bank": str(heads[0].pk)}, {"branch": str(book["branches"][0].pk), "ip_kind": "patent"},
            {"region": "440000"}, {"city": "320500"}, {"region": "10000"}, {"size": "micro", "first_loan": "TRUE"},
            {"inclusive": "false", "park": ""}]
    # Keys spelt otherwise than the figures spell them select nothing, as in the reference.
    keys += [{"region": "44"}, {"bank": f"0{heads[0].pk}"}, {"first_loan": "yes"}, {"city": "3205"},
             {"bank": "9" * 40}]
    for period in ("2026Q3", "2025"):
        for filters in keys:
            for scope in (None, {heads[1].pk}):
                assert sql.loans_behind_sql(period=period, filters=filters, bank_ids=scope) == \
                    oracle.loans_behind(period=period, filters=filters, bank_ids=scope), (period, filters, scope)
    assert sql.loans_behind_sql(period="2026", filters={}, limit=3)["loans"] == \
        oracle.loans_behind(period="2026", filters={}, limit=3)["loans"]


def test_the_ip_book_of_every_bank_agrees_with_the_oracle(book):
    banks = book["heads"] + book["branches"]
    for end in (dt.date(2025, 12, 31), dt.date(2026, 9, 30), dt.date(2026, 12, 31)):
        for inclusive in (False, True):
            assert sql.ip_book_sql({b.pk for b in banks}, end, inclusive_only=inclusive) == \
                {b.pk: oracle.ip_book(b, end, inclusive_only=inclusive) for b in banks}


def test_every_figure_is_the_sum_of_the_loans_behind_it(book):
    """The report and its drill-down judge each loan once: a group's figures add up from its loans."""
    for period in ("2026Q3", "2025"):
        report = sql.report_sql(period=period, group_by=("bank", "ip_kind", "region"))
        # (A blank key, a borrower without a region, is no filter at all: such a row cannot be traced alone.)
        rows = [row for row in report["rows"] if row["region"]]
        assert rows
        for row in rows:
            behind = sql.loans_behind_sql(period=period, filters={"bank": str(row["bank_org_id"]),
                                                                  "ip_kind": row["ip_kind"], "region": row["region"]})
            loans = behind["loans"]
            assert behind["count"] == len(loans)
            lent = [x for x in loans if x["lent_in_year"]]
            fen = lambda xs, k: sum(int(x[k].replace(".", "")) for x in xs)  # noqa: E731 - "12.34" → 1234
            assert len(lent) == row["loan_count"] and fen(lent, "amount") == int(row["amount_lent"].replace(".", ""))
            assert fen(loans, "balance") == int(row["balance"].replace(".", ""))
            npl = [x for x in loans if x["category"] in engine.NPL]
            assert fen(npl, "balance") == int(row["npl_balance"].replace(".", ""))


# ------------------------------------------------------------------------------------ the pure engine

def test_one_loan_is_a_group_of_one():
    facts = engine.Facts(book_loans=1, balance=123_457, npl_balance=123_457, households=1, loan_count=1,
                         amount_lent=200_000, under_10m=1, previous_households=1, previous_amount=100_000)
    row = engine.figures(facts)
    assert row["balance"] == "1234.57" and row["npl_ratio"] == "100.00" and row["under_10m_share"] == "100.00"
    assert row["yoy_households"] == "0.00" and row["yoy_amount"] == "100.00"
    assert engine.figures(engine.Facts())["under_10m_share"] is None


def test_the_under_10m_share_rounds_half_up():
    assert engine.figures(engine.Facts(loan_count=800, under_10m=1))["under_10m_share"] == "0.13"


def test_keys_are_matched_as_the_figures_spell_them():
    assert engine.filter_keys({"region": "110000", "first_loan": "True", "colour": "red", "park": ""}) == \
        ({"region": "110000", "first_loan": "True"}, {"region": "11", "first_loan": True})
    for filters in ({"region": "11"}, {"bank": "05"}, {"city": "110100x"}, {"inclusive": "1"}, {"park": "１"}):
        assert engine.filter_keys(filters)[1] is engine.NO_MATCH, filters


def test_period_statistics_have_one_home_in_the_product():
    """No module of the product but the engine defines a figure, and none reads the book one loan at a
    time in Python (the reference does, in tests/)."""
    pattern = re.compile(r"Repayment\.objects|ClassificationChange\.objects|TEN_MILLION_FEN\s*=|\bNPL\s*=|"
                         r"def loans_at\b|\"0000\"|def _figures\b")
    homes = sorted(str(p.relative_to(SRC)) for p in (SRC / "reporting").rglob("*.py")
                   if pattern.search(p.read_text(encoding="utf-8")))
    assert homes == ["reporting/engine/statistics.py"]
