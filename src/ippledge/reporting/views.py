"""Dashboards for regulators and banks, and the public statistics page."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ippledge.core import business_date, exact, money, vocabulary
from ippledge.core import permissions as perm
from ippledge.core.errors import DomainError
from ippledge.core.forms import apply_error
from ippledge.core.labels import industry_label
from ippledge.core.listing import Column, Filter, Listing
from ippledge.core.models import Organisation

from . import charts, labels, services, sql
from .engine import rules, statistics
from .forms import OverallForm
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


def _comparison_end(period_end: dt.date, today: dt.date) -> dt.date:
    """The period end the 3-point comparison is made at: the period's end once it has passed, else the
    last quarter end before today (banks submit overall figures only for a day that has come)."""
    if period_end <= today:
        return period_end
    quarter_start = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    return quarter_start - dt.timedelta(days=1)


def _may_submit(user) -> Organisation | None:
    """The bank whose overall figures this user may submit on the page (bank staff, their own bank)."""
    if not perm.has_any_role(user, perm.BANK_STAFF):
        return None
    return services.own_bank(user)


def _compared(user, scope, end: dt.date, segment: str) -> list[dict]:
    """The comparison of each bank in the scope that submitted overall figures at ``end``."""
    if scope.bank_ids is None:
        rows = sql.tolerance_all_banks(end, segment=segment)
        services.pulled(user, "npl-tolerance", {"period_end": end, "segment": segment})
        return rows
    rows = []
    for bank_id in sorted(scope.bank_ids):
        try:
            rows.append(services.tolerance(actor=user, bank_org_id=bank_id, period_end=end, segment=segment))
        except DomainError:
            continue
    return rows


def _tolerance(user, scope, by_bank: list[dict], end: dt.date) -> tuple[list[dict], list[dict]]:
    """(the comparison of each bank with overall figures at ``end``, the banks in the scope without them)."""
    rows = _compared(user, scope, end, "all")
    have = {r["bank_org_id"] for r in rows}
    missing = [{"bank_org_id": r["bank_org_id"], "bank": r["bank"]} for r in by_bank if r["bank_org_id"] not in have]
    if scope.bank_ids is not None:
        missing += [{"bank_org_id": b.pk, "bank": b.name} for b in Organisation.objects.filter(pk__in=scope.bank_ids)
                    if b.pk not in have and all(m["bank_org_id"] != b.pk for m in missing)]
    return rows, missing


def _dashboard(request, period: str, form: OverallForm | None = None, status: int = 200):
    user = request.user
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
    by_kind = [{**r, "shown": labels.shown("ip_kind", r["ip_kind"])}
               for r in sql.report_sql(period=period, group_by=("ip_kind",), bank_ids=bank_ids)["rows"]]
    by_region = [{**r, "shown": labels.shown("region", r["region"]) or "—"}
                 for r in sql.report_sql(period=period, group_by=("region",), bank_ids=bank_ids)["rows"]]
    by_bank = sql.report_sql(period=period, group_by=("bank",), bank_ids=bank_ids)["rows"]
    by_scheme = [{**r, "shown": r["risk_scheme"] or _("Not covered by risk sharing")}
                 for r in sql.report_sql(period=period, group_by=("risk_scheme",), bank_ids=bank_ids)["rows"]]
    compare_end = _comparison_end(p.end, business_date.today())
    tolerance, missing = _tolerance(user, scope, by_bank, compare_end)
    top = sorted(by_bank, key=lambda r: money.to_fen(r["amount_lent"]), reverse=True)[:10]
    submit_for = _may_submit(user)
    own_missing = submit_for is not None and any(m["bank_org_id"] == submit_for.pk for m in missing)
    if submit_for is not None and form is None:
        form = OverallForm(initial={"period_end": compare_end})
    wan = "万元"  # the unit of the statistics, as the notice writes it
    return render(request, "reporting/dashboard.html", {
        "title": title, "period": p.label, "trend_rows": trend_rows,
        "trend_amount": charts.trend([(r["period"], _wan(r.get("amount_lent"))) for r in trend_rows], unit=wan,
                                     title=_("Amount lent this year, by quarter (万元)")),
        "trend_households": charts.trend([(r["period"], r.get("households") or 0) for r in trend_rows],
                                         unit=_("households"), places=0,
                                         title=_("Households lent to this year, by quarter")),
        "by_kind": by_kind, "kind_chart": charts.bars([(r["shown"], _wan(r["balance"])) for r in by_kind], unit=wan,
                                                      title=_("Balance by kind of IP (万元)")),
        "by_region": by_region, "region_chart": charts.bars([(r["shown"], _wan(r["balance"])) for r in by_region],
                                                            unit=wan, title=_("Balance by region (万元)")),
        "by_scheme": by_scheme, "scheme_chart": charts.bars([(r["shown"], _wan(r["balance"])) for r in by_scheme],
                                                            unit=wan, title=_("Balance by risk-sharing scheme (万元)")),
        "tolerance": tolerance, "missing": missing, "compare_end": compare_end,
        "inclusive": _compared(user, scope, compare_end, "inclusive") if tolerance else [],
        "points": rules.TOLERANCE_POINTS,
        "tolerance_chart": charts.tolerance_chart(tolerance, title=_("NPL ratio against the overall ratio")),
        "top": top, "top_chart": charts.bars([(r["bank"], _wan(r["amount_lent"])) for r in top], unit=wan,
                                             title=_("Top banks by amount lent (万元)")),
        "scope_is_bank": bank_ids is not None, "xlsx_query": urlencode(
            {"period": p.label, **({"bank_org_id": min(bank_ids)} if bank_ids else {})}), "form": form, "submit_for": submit_for, "own_missing": own_missing},
        status=status)


@login_required
def dashboard(request):
    return _dashboard(request, request.GET.get("period") or _quarter(business_date.today()))


@login_required
@require_POST
def submit_overall(request):
    """A bank's staff submit its overall figures; the comparison then shows on the dashboard."""
    bank = _may_submit(request.user)  # who may submit, before anything sent is read
    if bank is None:
        return render(request, "errors/403.html", status=403)
    try:
        period = rules.parse_period(request.POST.get("period") or "").label
    except DomainError:
        period = _quarter(business_date.today())  # the dashboard to come back to, not something to refuse
    form = OverallForm(request.POST)
    if form.is_valid():
        try:
            row = services.submit_overall(actor=request.user, bank_org_id=bank.pk, **form.service_data())
        except DomainError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Overall figures of %(bank)s at %(date)s saved.")
                             % {"bank": bank.name, "date": row.period_end.isoformat()})
            return redirect(f"{reverse('reporting:dashboard')}?{urlencode({'period': period})}#tolerance")
    return _dashboard(request, period, form=form, status=400)


def _loans_listing(request, data: dict) -> Listing:
    """The loans behind a figure as a work list (filter, sort, page, export what is shown)."""
    def link(row):
        return reverse("credit:loan", args=[row["loan_no"]])

    columns = [
        Column("loan_no", _("Loan"), link=link, sort=True),
        Column("branch", _("Bank (booking branch)"), sort=True),
        Column("ip_kind", _("Kind of IP"), kind="label:loan_ip_kind", sort=True),
        Column("region", _("Region"), kind="region", sort=True),
        Column("amount", _("Amount (yuan)"), lambda r: Decimal(r["amount"]), kind="money", sort=True),
        Column("start_date", _("Start"), lambda r: dt.date.fromisoformat(r["start_date"]), kind="date", sort=True),
        Column("balance", _("Balance at period end (yuan)"), lambda r: Decimal(r["balance"]), kind="money",
               sort=True),
        Column("category", _("Category at period end"), kind="label:credit.Loan.classification", sort=True),
    ]
    filters = [Filter("q", _("Loan or bank"), ("loan_no", "branch"), kind="search"),
               Filter("category", _("Category at period end"), "category",
                      vocabulary="credit.Loan.classification")]
    return Listing(request, data["loans"], columns, filters, name="loans-behind", default_sort="-start_date")


def _figure_keys(filters: dict) -> list[tuple[str, str]]:
    """The keys of the figure traced, as a person reads them (名称：取值), never as codes."""
    from ippledge.credit.models import Park

    out = []
    for dim, value in filters.items():
        if dim in ("bank", "branch"):
            shown = Organisation.objects.filter(pk=int(value)).values_list("name", flat=True).first() \
                if str(value).isdigit() else None
        elif dim == "park":
            shown = Park.objects.filter(pk=int(value)).values_list("name", flat=True).first() \
                if str(value).isdigit() else None
        elif dim == "risk_scheme":
            shown = sql._scheme_names({int(value)}).get(int(value)) if str(value).isdigit() else None
        else:
            shown = labels.shown(dim, value)
        out.append((str(labels.DIMENSION_TITLES.get(dim, dim)), shown or "—"))
    return out


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
    listing = _loans_listing(request, data)
    if (response := listing.export_response()) is not None:
        return response
    total_fen = sum(money.to_fen(x["balance"]) for x in data["loans"])
    return render(request, "reporting/loans.html", {
        "data": data, "listing": listing, "keys": _figure_keys(data["filters"]),
        "truncated": data["count"] > len(data["loans"]), "total_balance": total_fen})


CASE_FACTS = ("region", "industry", "size", "ip_kind", "amount_band", "term_days", "first_loan", "bank")


def _case_facts(facts: dict) -> list[tuple[str, str]]:
    """A typical case's anonymised facts as a person reads them (titles and labels, no codes)."""
    titles = {"industry": _("Industry (GB/T 4754)"), "amount_band": _("Loan amount"),
              "term_days": _("Term"), **labels.DIMENSION_TITLES}
    out = []
    for key in CASE_FACTS:
        value = facts.get(key)
        if value in (None, ""):
            continue
        if key == "term_days":
            shown = _("%(days)s days") % {"days": value}
        elif key == "amount_band":
            shown = str(value).replace("万", " 万元")
        elif key == "industry":
            shown = industry_label(value)
        elif key == "bank":
            shown = str(value)
        else:
            shown = labels.shown(key, value)
        out.append((str(titles[key]), shown))
    for d in facts.get("disposals") or ():
        out.extend(_disposal_facts(d))
    return out


def _disposal_facts(d: dict) -> list[tuple[str, str]]:
    """A closed disposal of the case's loan (issue 14 point 7), as a person reads it."""
    def pct(share):
        try:
            value = exact.decimal(str(share), "share", plain=True)
        except DomainError:
            return "—"
        return f"{(value * 100).quantize(Decimal('1'))} %"

    channel = vocabulary.label("disposal.DisposalCase.channel", d.get("channel"))
    return [(_("Disposal"), _("%(channel)s, closed %(month)s") % {"channel": channel,
                                                                 "month": d.get("settled_month", "—")}),
            (_("Proceeds"), str(d.get("proceeds_band", "—")).replace("万", " 万元")),
            (_("Realised ÷ liquidation value"), pct(d.get("realised_to_appraised"))),
            (_("Share of the claim recovered"), pct(d.get("recovery_share"))),
            (_("Rights transferred"), vocabulary.label("yes_no", bool(d.get("rights_transferred"))))]


@login_required
def publish_case(request):
    """A regulator publishes a typical case, drawn from a loan whose disposal closed (its anonymised facts
    are added by the service) or from any loan by number.  Other roles 403."""
    from .forms_cases import CaseForm

    try:
        candidates = services.case_candidates(actor=request.user)  # who may publish, before anything is read
    except DomainError:
        return render(request, "errors/403.html", status=403)
    form = CaseForm(request.POST or None, candidates=candidates)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.publish_case(actor=request.user, loan_no=d["loan"], title=d["title"], body=d["body"],
                                      consent=d["consent"])
            except DomainError as exc:
                apply_error(form, exc, aliases={"loan_no": "loan_no"})
            else:
                messages.success(request, _("Typical case published."))
                return redirect(f"{reverse('reporting:public')}#cases")
        status = 400
    return render(request, "reporting/case_new.html", {"form": form, "candidates": candidates,
                                                       "title": _("Publish a typical case")}, status=status)


def public_statistics(request):
    period = request.GET.get("period") or str(business_date.today().year)
    try:
        data = sql.report_sql(period=period, group_by=("ip_kind",))
    except DomainError as exc:
        return render(request, "reporting/public.html", {"error": exc, "period": period}, status=400)
    rows = [{**r, "shown": labels.shown("ip_kind", r["ip_kind"])} for r in data["rows"]]
    cases = [{"title": c.title, "body": c.body, "facts": _case_facts(c.facts)} for c in CaseStudy.objects.all()[:20]]
    return render(request, "reporting/public.html", {
        "period": data["period"], "rows": rows,
        "chart": charts.bars([(r["shown"], _wan(r["amount_lent"])) for r in rows], unit="万元",
                             title=_("Loans by kind of IP (万元)")),
        "registry": services.registry_figures(period), "cases": cases,
        "may_publish": request.user.is_authenticated and perm.has_any_role(request.user, perm.REGULATORS)})
