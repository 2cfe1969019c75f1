"""Reporting actions: overall figures submitted by banks, the NPL tolerance test, the bank scorecard,
typical cases, quarterly report files, and the audit of who pulled which statistics."""

from __future__ import annotations

import datetime as dt
import re
import statistics as pystats
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Sum
from django.utils.translation import gettext as _

from ippledge.core import audit, business_date, limits, money
from ippledge.core import permissions as perm
from ippledge.core.actors import user_or_none as _user
from ippledge.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ippledge.core.models import Organisation
from ippledge.core.permissions import Actor, require_user
from ippledge.core.roles import OrgKind
from ippledge.credit import inputs
from ippledge.credit.models import CreditPlan, Loan
from ippledge.registry.models import Decision, Pledge
from ippledge.valuation.services import plain_text

from . import sql
from .engine import rules, statistics
from .models import BankOverall, CaseStudy, ReportFile


def reads_all(actor: Actor) -> bool:
    """Regulators (and administrators) and the IP office read every bank's figures."""
    return perm.is_regulator(actor) or getattr(actor.organisation, "kind", "") == OrgKind.IP_OFFICE


def own_bank(actor: Actor) -> Organisation | None:
    org = getattr(actor, "organisation", None)
    if org is None or org.kind != "bank":
        return None
    return org.parent or org


def bank_for(actor: Actor, bank_org_id: int | None) -> Organisation:
    require_user(actor)
    bank = Organisation.objects.filter(pk=bank_org_id, kind="bank").first()
    if bank is None:
        raise NotFound(_("No such bank."), code="bank_not_found")
    if not reads_all(actor) and (own_bank(actor) is None or own_bank(actor).pk not in (bank.pk, bank.parent_id)):
        raise PermissionDenied(_("A bank sees only its own figures and national aggregates."))
    return bank


@dataclass(frozen=True)
class Scope:
    """What of the loan book a user may read, computed once by :func:`scope_for` and obeyed alike by the
    API, the pages, the exports, the drill-downs and the error messages.

    ``bank_ids``: the banks whose book the figures cover (``None``: the national book);
    ``per_bank``: whether rows may be broken down by bank or branch (a bank reading national figures
    sees aggregates only, never another bank's row)."""

    bank_ids: frozenset[int] | None
    per_bank: bool

    @classmethod
    def of_bank(cls, bank: Organisation) -> Scope:
        return cls(frozenset({bank.pk}), True)

    def dimensions(self, group_by: tuple[str, ...]) -> tuple[str, ...]:
        return group_by if self.per_bank else tuple(d for d in group_by if d not in PER_BANK_DIMENSIONS)


PER_BANK_DIMENSIONS = ("bank", "branch")


def scope_for(actor: Actor, bank_org_id: int | None = None, *, own_book: bool = False) -> Scope:
    """The one scope rule: regulators and IP offices read every bank; a bank reads its own figures
    (``bank_org_id`` of itself or its head office) and national aggregates without per-bank rows.

    ``own_book``: where a bank names no bank (dashboards, the loans behind a figure) it reads its own book
    rather than the national aggregates, since loan-level detail is never national."""
    require_user(actor)
    if bank_org_id:
        return Scope.of_bank(bank_for(actor, bank_org_id))
    if reads_all(actor):
        return Scope(None, True)
    bank = own_bank(actor)
    if bank is None:
        raise PermissionDenied(_("Statistics are for banks, regulators and IP offices."))
    return Scope.of_bank(bank) if own_book else Scope(None, False)


def group_by(text: str) -> tuple[str, ...]:
    """``"bank,ip_kind"`` → the dimensions, each once and known (``invalid_group_by`` otherwise)."""
    text = limits.text(text, field="group_by", max_length=limits.limit("MAX_SHORT_TEXT"))
    dims = tuple(dict.fromkeys(d.strip() for d in text.split(",") if d.strip()))
    unknown = [d for d in dims if d not in statistics.DIMENSIONS]
    if unknown:
        raise ValidationFailed(_("Unknown grouping."), code="invalid_group_by",
                               fields={"group_by": [", ".join(statistics.DIMENSIONS)]})
    return dims


_FILTER_VALUE = re.compile(r"[0-9A-Za-z_-]{0,40}")


def drill_filters(filters: dict) -> dict:
    """The grouping keys of a figure to trace (ids, codes, true/false): anything else is a 422."""
    bad = [k for k, v in filters.items() if not _FILTER_VALUE.fullmatch(str(v or ""))]
    if bad:
        message = _("Give the key of a figure as the statistics show it.")
        raise ValidationFailed(message, code="invalid_filter", fields={k: [message] for k in bad})
    return filters


def pulled(actor: Actor, what: str, params: dict) -> None:
    """The audit of who pulled what (inter-agency data sharing, item 十三)."""
    audit.record(actor=actor, action="report.pull", object_type="report", object_id=what, object_repr=what,
                 after=params)


@transaction.atomic
def submit_overall(*, actor: Actor, bank_org_id, period_end, total_loan_balance, npl_balance,
                   inclusive_loan_balance=None, inclusive_npl_balance=None) -> BankOverall:
    """Values as the caller sent them: read (within the business limits) once the caller may submit."""
    perm.require_role(actor, perm.BANK_STAFF, _("Banks submit their own overall figures."))
    bank = bank_for(actor, inputs.whole(bank_org_id, "bank_org_id", low=1, high=2**63 - 1))
    # A bank's whole book may be far larger than one loan: up to a thousand of the largest single amounts.
    cap = limits.limit("MAX_AMOUNT_YUAN") * 1000
    check = inputs.Checks()

    def fen(value, field: str, *, optional: bool = False) -> int | None:
        if optional and value in (None, ""):
            return None
        return check(inputs.fen, value, field, allow_zero=True, max_yuan=cap)

    today = business_date.today()
    period_end = check(inputs.day, period_end, "period_end", today=today, not_after=today)
    total, npl = fen(total_loan_balance, "total_loan_balance"), fen(npl_balance, "npl_balance")
    inc_total = fen(inclusive_loan_balance, "inclusive_loan_balance", optional=True)
    inc_npl = fen(inclusive_npl_balance, "inclusive_npl_balance", optional=True)
    check.done(_("The overall figures are not valid."))
    if total <= 0 or npl < 0 or npl > total:
        raise ValidationFailed(_("The NPL balance must be between zero and the total loan balance."),
                               fields={"npl_balance": [_("Out of the allowed range.")]})
    if inc_total is not None and (inc_total > total or (inc_npl or 0) > inc_total) or \
            (inc_npl is not None and inc_total is None):
        raise ValidationFailed(_("The inclusive figures must lie within the total and NPL balances."),
                               fields={"inclusive_loan_balance": [_("Out of the allowed range.")]})
    row = BankOverall.objects.create(bank=bank, period_end=period_end, total_loan_balance=total, npl_balance=npl,
                                     inclusive_loan_balance=inc_total, inclusive_npl_balance=inc_npl,
                                     submitted_by=_user(actor))
    audit.record(actor=actor, action="report.overall_submit", obj=row, object_repr=f"{bank.name} {period_end}",
                 after={"total": total, "npl": npl})
    return row


def latest_overall(bank: Organisation, period_end: dt.date) -> BankOverall | None:
    return BankOverall.objects.filter(bank=bank, period_end=period_end).order_by("-submitted_at", "-id").first()


def tolerance(*, actor: Actor, bank_org_id: int, period_end: dt.date, segment: str = "all") -> dict:
    bank = bank_for(actor, bank_org_id)
    overall = latest_overall(bank, period_end)
    if overall is None:
        raise Conflict(_("The bank has not submitted its overall figures for this period end."),
                       code="overall_missing")
    inclusive = segment == "inclusive"
    ip_npl, ip_balance = sql.ip_book_sql({bank.pk}, period_end, inclusive_only=inclusive)[bank.pk]
    if inclusive:
        if overall.inclusive_loan_balance is None:
            raise Conflict(_("The bank has not submitted its inclusive small/micro figures."), code="overall_missing")
        o_npl, o_total = overall.inclusive_npl_balance or 0, overall.inclusive_loan_balance
    else:
        o_npl, o_total = overall.npl_balance, overall.total_loan_balance
    result = rules.tolerance(ip_npl, ip_balance, o_npl, o_total)
    pulled(actor, "npl-tolerance", {"bank": bank.pk, "period_end": period_end, "segment": segment})
    return {"bank_org_id": bank.pk, "bank": bank.name, "period_end": period_end.isoformat(), "segment": segment,
            **{k: (str(v) if not isinstance(v, bool | type(None)) else v) for k, v in result.items()},
            "ip_npl_balance": str(money.from_fen(ip_npl)), "ip_loan_balance": str(money.from_fen(ip_balance)),
            "overall_npl_balance": str(money.from_fen(o_npl)), "overall_loan_balance": str(money.from_fen(o_total))}


def registration_seconds(bank: Organisation, year: int) -> float | None:
    times = [(d.at - d.application.filed_at).total_seconds() for d in
             Decision.objects.filter(application__filed_by_org=bank, application__filing_date__year=year,
                                     outcome="registered").select_related("application")]
    return pystats.median(times) if times else None


def scorecard(*, actor: Actor, period: str, weights: str | dict | None = None) -> list[dict]:
    """``weights``: a dict or the JSON text a caller sent, read only once the caller may see the scorecard."""
    perm.require_role(actor, perm.REGULATORS, _("Only regulators evaluate banks."))
    if isinstance(weights, str):
        weights = limits.text(weights, field="weights", max_length=limits.limit("MAX_SHORT_TEXT"))
    weights = rules.parse_weights(weights)
    rules.validate_weights(weights)  # before any figure is computed
    p = rules.parse_period(period)
    data = sql.report_sql(period=period, group_by=("bank",))
    books = sql.ip_book_sql({row["bank_org_id"] for row in data["rows"]}, p.end) if data["rows"] else {}
    banks = []
    for row in data["rows"]:
        bank = Organisation.objects.get(pk=row["bank_org_id"])
        plan = CreditPlan.objects.filter(bank=bank, year=p.year).first()
        overall = latest_overall(bank, p.end)
        gap = None
        if overall is not None:
            ip_npl, ip_bal = books[bank.pk]
            gap = rules.tolerance(ip_npl, ip_bal, overall.npl_balance, overall.total_loan_balance)["gap_pp"]
        banks.append({"bank_org_id": bank.pk, "bank": bank.name,
                      "plan_households": plan.households if plan else None, "households": row["households"],
                      "plan_amount": plan.amount if plan else None, "amount_lent": money.to_fen(row["amount_lent"]),
                      "first_loan_households": row["first_loan_households"], "households_total": row["households"],
                      "inclusive_amount": money.to_fen(row["inclusive_amount"]),
                      "amount_total": money.to_fen(row["amount_lent"]), "npl_gap_pp": gap,
                      "median_registration_seconds": registration_seconds(bank, p.year)})
    pulled(actor, "scorecard", {"period": period, "weights": weights})
    from ippledge.valuation.engine.trace import render

    return render(rules.scorecard(banks, weights))


LOAN_NO = re.compile(r"[A-Z]{2}[0-9]{6,16}")
TWO_PLACES = Decimal("0.01")


def _amount_band(fen: int) -> str:
    return "<100万" if fen < 100_000_000 else "100万–1000万" if fen < 1_000_000_000 else "≥1000万"


def _share(part: int, whole: int) -> str | None:
    return None if whole <= 0 else str((Decimal(part) / Decimal(whole)).quantize(TWO_PLACES, ROUND_HALF_UP))


def disposal_facts(loan_id: int) -> list[dict]:
    """The anonymised facts of the loan's closed (settled) disposals for a typical case (issue 14 point 7):
    the channel, the month it closed, the proceeds as a band and as a share of the liquidation value, the
    share of the claim recovered, whether the rights were transferred.  No amount to the fen, no day, no
    party (not the buyer): a reader cannot find the deal from them."""
    from ippledge.disposal.outcomes import settled_outcomes

    return [{"channel": o.channel, "settled_month": o.settled_on.strftime("%Y-%m"),
             "proceeds_band": _amount_band(o.proceeds), "realised_to_appraised": _share(o.proceeds, o.appraised),
             "recovery_share": _share(o.recovered, o.claim), "rights_transferred": o.rights_transferred}
            for o in settled_outcomes([loan_id]).get(loan_id, [])]


def case_candidates(*, actor: Actor) -> list[dict]:
    """Loans whose disposal closed, to draw a typical case from (regulators)."""
    perm.require_role(actor, perm.REGULATORS, _("Regulators publish typical cases."))
    from ippledge.disposal.outcomes import loans_with_settled_disposals

    return loans_with_settled_disposals()


@transaction.atomic
def publish_case(*, actor: Actor, loan_no, title, body, consent) -> CaseStudy:
    perm.require_role(actor, perm.REGULATORS, _("Regulators publish typical cases."))
    consent = inputs.flag(consent, "consent")
    if not consent:
        raise ValidationFailed(_("A typical case needs the borrower's consent."), code="consent_missing",
                               fields={"consent": [_("This field is required.")]})
    title = plain_text(title, "title", max_length=CaseStudy._meta.get_field("title").max_length, required=True)
    body = plain_text(body, "body", max_length=10000, required=True)
    loan = Loan.objects.filter(loan_no=loan_no).select_related("borrower", "bank").first() \
        if LOAN_NO.fullmatch(str(loan_no)) else None
    if loan is None:
        raise NotFound(_("No such loan."), code="loan_not_found")
    band = _amount_band(loan.amount)
    facts = {"region": (loan.borrower.region_code or "")[:4] + "00", "industry": loan.borrower.industry,
             "size": loan.borrower.size_class, "ip_kind": loan.ip_kind, "amount_band": band,
             "term_days": (loan.maturity_date - loan.start_date).days, "first_loan": loan.first_loan,
             "bank": (loan.bank.parent or loan.bank).name, "disposals": disposal_facts(loan.pk)}
    row = CaseStudy.objects.create(title=title, body=body, loan=loan, facts=facts,
                                   borrower_consent=True, published_by=actor)
    audit.record(actor=actor, action="case_study.publish", obj=row, after={"title": row.title})
    return row


def quarterly_files(day: dt.date) -> int:
    """Write each bank's quarterly report workbook after a quarter's last day."""
    if (day + dt.timedelta(days=1)).day != 1 or day.month not in (3, 6, 9, 12):
        return 0
    from .export_views import workbook_for

    period = f"{day.year}Q{(day.month - 1) // 3 + 1}"
    folder = Path(settings.DATA_DIR) / "reports" / period
    folder.mkdir(parents=True, exist_ok=True)
    count = 0
    for bank in Organisation.objects.filter(kind="bank", parent__isnull=True):
        path = folder / f"{bank.pk}.xlsx"
        path.write_bytes(workbook_for(period=period, scope=Scope.of_bank(bank), title=f"{bank.name} {period}"))
        ReportFile.objects.update_or_create(bank=bank, period=period, defaults={"path": str(path)})
        count += 1
    return count


def registry_figures(period: str) -> dict:
    p = rules.parse_period(period)
    pledges = Pledge.objects.filter(effective_date__gte=p.start, effective_date__lte=p.end)
    totals = {row["regime"]: row for row in
              pledges.order_by().values("regime").annotate(n=Count("pk"), fen=Sum("secured_amount"))}
    by_regime = {}
    for regime in ("patent", "trademark", "copyright", "disclosure"):
        row = totals.get(regime) or {"n": 0, "fen": 0}
        by_regime[regime] = {"registrations": row["n"], "secured_amount": str(money.from_fen(row["fen"] or 0))}
    enterprises = pledges.values("parties__id_number").filter(parties__role="pledgor").distinct().count()
    return {"period": p.label, "by_regime": by_regime, "enterprises_served": enterprises}
