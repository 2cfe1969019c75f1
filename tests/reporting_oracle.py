"""The reference statistics: the loan book at a period end read into Python one loan at a time.

Kept for comparison (issue 10.10: a rule lives once in the product, a reference implementation lives in
tests/ or benchmarks/): the product gathers facts in SQL (``ippledge.reporting.sql``) and decides with
the pure engine (``ippledge.reporting.engine.statistics``); this module restates the same definitions
independently — balances from repayments dated on or before the end, categories from the classification
history, amounts lent and households since 1 January of the period's year — over ORM rows.
``tests/test_stats_one_home.py`` and ``tests/test_reporting_sql.py`` compare the two on generated books,
and ``benchmarks/reporting.py`` times it as the naive baseline."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from ippledge.core.models import Organisation
from ippledge.core.money import from_fen
from ippledge.credit.models import ClassificationChange, Loan, Repayment
from ippledge.reporting.engine import rules

NPL = {"substandard", "doubtful", "loss"}
DIMENSIONS = ("bank", "branch", "region", "city", "park", "ip_kind", "size", "first_loan", "inclusive")
TEN_MILLION_FEN = 1_000_000_000


@dataclass
class LoanAt:
    loan_no: str
    bank: int
    bank_name: str
    branch: int
    branch_name: str
    borrower: int
    region: str
    city: str
    park: int | None
    ip_kind: str
    size: str
    first_loan: bool
    inclusive: bool
    amount: int
    start: dt.date
    balance: int
    category: str


def loans_at(end: dt.date, *, bank_ids: set[int] | None = None) -> list[LoanAt]:
    qs = Loan.objects.filter(start_date__lte=end).select_related("bank", "bank__parent", "borrower")
    if bank_ids:
        qs = qs.filter(bank_id__in=bank_ids) | qs.filter(bank__parent_id__in=bank_ids)
    loans = list(qs)
    ids = [loan.pk for loan in loans]
    # Summed in Python (exact integers): a database SUM of a tampered book could overflow 64 bits.
    repaid: dict[int, int] = defaultdict(int)
    for loan_id, principal in Repayment.objects.filter(loan_id__in=ids, date__lte=end) \
            .values_list("loan_id", "principal").iterator(chunk_size=10_000):
        repaid[loan_id] += principal
    category: dict[int, str] = {}
    for loan_id, after in ClassificationChange.objects.filter(loan_id__in=ids, date__lte=end) \
            .order_by("loan_id", "at", "id").values_list("loan_id", "after"):
        category[loan_id] = after
    out = []
    for loan in loans:
        head = loan.bank.parent or loan.bank
        region = loan.borrower.region_code or ""
        out.append(LoanAt(
            loan_no=loan.loan_no, bank=head.pk, bank_name=head.name, branch=loan.bank_id, branch_name=loan.bank.name,
            borrower=loan.borrower_id, region=(region[:2] + "0000") if region else "", city=(region[:4] + "00")
            if region else "", park=loan.park_id, ip_kind=loan.ip_kind, size=loan.borrower.size_class or "",
            first_loan=loan.first_loan, inclusive=loan.inclusive_smb, amount=loan.amount, start=loan.start_date,
            balance=max(loan.amount - (repaid.get(loan.pk) or 0), 0), category=category.get(loan.pk, "normal")))
    return out


def _key(loan: LoanAt, group_by: tuple[str, ...]) -> tuple:
    values = {"bank": (loan.bank, loan.bank_name), "branch": (loan.branch, loan.branch_name),
              "region": loan.region, "city": loan.city, "park": loan.park, "ip_kind": loan.ip_kind,
              "size": loan.size, "first_loan": loan.first_loan, "inclusive": loan.inclusive}
    return tuple(values[d] for d in group_by)


def _figures(loans: list[LoanAt], year_start: dt.date, end: dt.date) -> dict:
    lent = [x for x in loans if year_start <= x.start <= end]
    book = [x for x in loans if x.balance > 0]
    balance = sum(x.balance for x in book)
    npl = sum(x.balance for x in book if x.category in NPL)
    return {
        "households": len({x.borrower for x in lent}), "loan_count": len(lent),
        "amount_lent": sum(x.amount for x in lent), "balance": balance, "npl_balance": npl,
        "first_loan_households": len({x.borrower for x in lent if x.first_loan}),
        "first_loan_amount": sum(x.amount for x in lent if x.first_loan),
        "inclusive_households": len({x.borrower for x in lent if x.inclusive}),
        "inclusive_amount": sum(x.amount for x in lent if x.inclusive),
        "under_10m_share": (Decimal(sum(1 for x in lent if x.amount < TEN_MILLION_FEN)) * 100 / len(lent))
        .quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) if lent else None,
    }


def report(*, period: str, group_by: tuple[str, ...] = (), bank_ids: set[int] | None = None) -> dict:
    p = rules.parse_period(period)
    unknown = [d for d in group_by if d not in DIMENSIONS]
    if unknown:
        from ippledge.core.errors import ValidationFailed

        raise ValidationFailed("Unknown grouping.", code="invalid_group_by",
                               fields={"group_by": [", ".join(DIMENSIONS)]})
    previous = rules.previous_year(p)
    now_loans = loans_at(p.end, bank_ids=bank_ids)
    before = loans_at(previous.end, bank_ids=bank_ids)
    groups: dict[tuple, list[LoanAt]] = defaultdict(list)
    for loan in now_loans:
        groups[_key(loan, group_by)].append(loan)
    prev_groups: dict[tuple, list[LoanAt]] = defaultdict(list)
    for loan in before:
        prev_groups[_key(loan, group_by)].append(loan)
    rows = []
    for key in sorted(groups, key=lambda k: tuple(str(x) for x in k)):
        fig = _figures(groups[key], p.start.replace(month=1, day=1), p.end)
        old = _figures(prev_groups.get(key, []), previous.start.replace(month=1, day=1), previous.end)
        row: dict = {}
        for dim, value in zip(group_by, key, strict=True):
            if dim in ("bank", "branch"):
                row[f"{dim}_org_id"], row[dim] = value
            else:
                row[dim] = value
        row.update(_render(fig))
        row["npl_ratio"] = rules.percent_str(rules.npl_ratio(fig["npl_balance"], fig["balance"]))
        row["yoy_households"] = rules.percent_str(rules.yoy(Decimal(fig["households"]), Decimal(old["households"])))
        row["yoy_amount"] = rules.percent_str(rules.yoy(Decimal(fig["amount_lent"]), Decimal(old["amount_lent"])))
        rows.append(row)
    return {"period": p.label, "period_start": p.start.isoformat(), "period_end": p.end.isoformat(),
            "group_by": list(group_by), "rows": rows}


def _render(fig: dict) -> dict:
    out = {}
    for k, v in fig.items():
        if k.endswith("amount") or k.endswith("_lent") or k.endswith("balance"):
            out[k] = str(from_fen(v))
        elif isinstance(v, Decimal):
            out[k] = str(v)
        else:
            out[k] = v
    return out


def ip_book(bank: Organisation, end: dt.date, *, inclusive_only: bool = False) -> tuple[int, int]:
    loans = [x for x in loans_at(end, bank_ids={bank.pk}) if x.balance > 0 and (x.inclusive or not inclusive_only)]
    return sum(x.balance for x in loans if x.category in NPL), sum(x.balance for x in loans)


def loans_behind(*, period: str, filters: dict, bank_ids: set[int] | None = None, limit: int = 1000) -> dict:
    """The loans behind a figure: those the grouping keys select, with their state at the period end."""
    p = rules.parse_period(period)
    wanted = {k: v for k, v in filters.items() if k in DIMENSIONS and v not in (None, "")}
    rows = []
    for loan in loans_at(p.end, bank_ids=bank_ids):
        values = {"bank": str(loan.bank), "branch": str(loan.branch), "region": loan.region, "city": loan.city,
                  "park": str(loan.park or ""), "ip_kind": loan.ip_kind, "size": loan.size,
                  "first_loan": str(loan.first_loan).lower(), "inclusive": str(loan.inclusive).lower()}
        if any(values[k] != str(v).lower() if k in ("first_loan", "inclusive") else values[k] != str(v)
               for k, v in wanted.items()):
            continue
        rows.append({"loan_no": loan.loan_no, "bank": loan.bank_name, "branch": loan.branch_name,
                     "ip_kind": loan.ip_kind, "region": loan.region, "amount": str(from_fen(loan.amount)),
                     "start_date": loan.start.isoformat(), "balance": str(from_fen(loan.balance)),
                     "category": loan.category,
                     "lent_in_year": p.start.replace(month=1, day=1) <= loan.start <= p.end})
    return {"period": p.label, "period_end": p.end.isoformat(), "filters": wanted, "count": len(rows),
            "loans": rows[:limit]}
