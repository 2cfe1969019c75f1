"""Dashboards for regulators and banks, and the public statistics page."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import gettext as _

from ippledge.core import business_date, money
from ippledge.core.errors import DomainError
from ippledge.core.models import Organisation

from . import charts, services, sql
from .engine import rules, statistics
from .models import CaseStudy


def _wan(yuan) -> Decimal:
    """A yuan figure of a report row (decimal string, or None for no loans) as 万元 for a chart, exact."""
    return money.wan(money.to_fen(yuan or 0))


def _quarter(day) -> str:
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def _previous_quarters(period: str, n: int) -> list[str]:
    year, q = int(period[:4]), int(period[-1])
    out = []
    for _i in range(n):
        out.append(f"{year}Q{q}")
        year, q = (year - 1, 4) if q == 1 else (year, q - 1)
    return list(reversed(out))


@login_required
def dashboard(request):
    user = request.user
    period = request.GET.get("period") or _quarter(business_date.today())
    try:
        p = rules.parse_period(period)
    except DomainError as exc:
        return render(request, "reporting/dashboard.html", {"error": exc, "period": period}, status=400)
    try:
        scope = services.scope_for(user, own_book=True)  # a bank's dashboard shows its own book
    except DomainError:
        return render(request, "errors/403.html", status=403)
    title = _("Regulator dashboard") if services.reads_all(user) else _("Bank dashboard")
    bank_ids = scope.bank_ids
    # Quarters before the first year with figures (and its year-on-year base) are left out of the trend.
    quarters = [q for q in _previous_quarters(_quarter(p.end), 6) if int(q[:4]) > rules.MIN_YEAR]
    trend = [(q, sql.report_sql(period=q, bank_ids=bank_ids)["rows"]) for q in quarters]
    trend_rows = [{"period": q, **(rows[0] if rows else {})} for q, rows in trend]
    by_kind = sql.report_sql(period=period, group_by=("ip_kind",), bank_ids=bank_ids)["rows"]
    by_region = sql.report_sql(period=period, group_by=("region",), bank_ids=bank_ids)["rows"]
    by_bank = sql.report_sql(period=period, group_by=("bank",), bank_ids=bank_ids)["rows"]
    tolerance = []
    banks = Organisation.objects.filter(pk__in=[r["bank_org_id"] for r in by_bank])
    for bank in banks:
        try:
            tolerance.append(services.tolerance(actor=user, bank_org_id=bank.pk, period_end=p.end))
        except DomainError:
            continue
    top = sorted(by_bank, key=lambda r: money.to_fen(r["amount_lent"]), reverse=True)[:10]
    return render(request, "reporting/dashboard.html", {
        "title": title, "period": p.label, "trend_rows": trend_rows,
        "trend_amount": charts.trend([(r["period"], _wan(r.get("amount_lent"))) for r in trend_rows]),
        "trend_households": charts.trend([(r["period"], r.get("households") or 0) for r in trend_rows]),
        "by_kind": by_kind, "kind_chart": charts.bars([(r["ip_kind"], _wan(r["balance"])) for r in by_kind], unit="万"),
        "by_region": by_region, "region_chart": charts.bars([(r["region"] or "—", _wan(r["balance"]))
                                                             for r in by_region], unit="万"),
        "tolerance": tolerance, "tolerance_chart": charts.tolerance_chart(tolerance),
        "top": top, "top_chart": charts.bars([(r["bank"], _wan(r["amount_lent"])) for r in top], unit="万"),
        "scope_is_bank": bank_ids is not None})


@login_required
def loans_behind(request):
    """The loans behind a dashboard figure."""
    user = request.user
    period = request.GET.get("period") or _quarter(business_date.today())
    try:
        scope = services.scope_for(user, own_book=True)  # the same scope as the API's drill-down
    except DomainError:
        return render(request, "errors/403.html", status=403)
    try:
        filters = services.drill_filters({k: request.GET.get(k, "") for k in statistics.DIMENSIONS})
        data = sql.loans_behind_sql(period=period, filters=filters, bank_ids=scope.bank_ids)
    except DomainError as exc:
        return render(request, "reporting/loans.html", {"error": exc, "data": None}, status=400)
    services.pulled(user, "ip-pledge-loans/loans", {"period": data["period"], **data["filters"]})
    return render(request, "reporting/loans.html", {"data": data})


def public_statistics(request):
    period = request.GET.get("period") or str(business_date.today().year)
    try:
        data = sql.report_sql(period=period, group_by=("ip_kind",))
    except DomainError as exc:
        return render(request, "reporting/public.html", {"error": exc, "period": period}, status=400)
    return render(request, "reporting/public.html", {
        "period": data["period"], "rows": data["rows"],
        "chart": charts.bars([(r["ip_kind"], _wan(r["amount_lent"])) for r in data["rows"]], unit="万"),
        "registry": services.registry_figures(period), "cases": CaseStudy.objects.all()[:20]})
