"""Monitoring pages: the bank's collateral monitor (every right it holds under a live pledge, which are at
risk, what to do today), the alert inbox (overdue first) and an alert's page with its acknowledge and
resolve forms.  Thin: the alert services decide who may see and act; ``monitor`` reads the book."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Case, IntegerField, Q, Value, When
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ippledge.core import business_date, vocabulary
from ippledge.core.audit import current_channel
from ippledge.core.errors import DomainError, NotFound
from ippledge.core.forms import apply_error
from ippledge.core.identifiers import PATENT_KINDS, format_patent_number
from ippledge.core.listing import Column, Filter, Listing
from ippledge.core.models import Organisation

from . import monitor as book
from . import services
from .forms import AcknowledgeForm, ResolveForm
from .models import LIVE_STATUSES, AlertStatus, Severity

TODAY_SHOWN = 10  # alerts named under "what to do today"; the inbox has them all


def _yes_no():
    return (("yes", _("Yes")), ("no", _("No")))


def number_of(kind: str, number: str) -> str:
    """A right's number as people write it (patents with the ZL prefix)."""
    return format_patent_number(number) if kind in PATENT_KINDS else number


def _pledged_right_text(row) -> str:
    right = row.right
    kind = vocabulary.label("rights.Right.kind", right.kind)
    title = right.display_title
    number = number_of(right.kind, right.number)
    return f"{kind} {number}" + (f" · {title}" if title and title != right.number else "")


def _forbidden(request):
    return render(request, "errors/403.html", status=403)


def _not_found(request):
    return render(request, "errors/404.html", {"message": _("No such alert.")}, status=404)


# --- the collateral monitor --------------------------------------------------------------------------

def _bank_choices(scope: book.Scope):
    if not scope.all_banks:
        return None
    return [(b.pk, b.name) for b in Organisation.objects.filter(kind="bank").order_by("name")]


def _monitor_listing(request, scope: book.Scope, states: book.States) -> Listing:
    rows = book.book(scope)
    wanted = request.GET.get("state", "").strip()
    if wanted in vocabulary.labels("legal_state"):
        # The legal state is derived, not stored: the rows in that state are found first, then the
        # listing filters on a constant so that its own filter (and its "clear filters") still apply.
        rows = book.with_state(rows, states, wanted).annotate(state_filter=Value(wanted))
    else:
        rows = rows.annotate(state_filter=Value(""))
    columns = [
        Column("registration_no", _("Registration"), "pledge.registration_no", sort="pledge__registration_no",
               link=lambda r: reverse("registry:public_record", args=[r.pledge.registration_no])),
        # One cell for the right (kind, number, title), so the table keeps its width for the figures.
        Column("right", _("Right"), _pledged_right_text, sort="right__number",
               link=lambda r: reverse("rights:detail", args=[r.right.kind, r.right.number])),
        Column("pledgor", _("Pledgor"), "pledgor_name", sort="pledgor_name"),
    ]
    if scope.all_banks:
        columns.append(Column("bank", _("Bank"), "bank_name", sort="bank_name"))
    columns += [
        Column("state", _("Legal state"), states.legal_state, kind="label:legal_state"),
        Column("lender_value", _("Lender value (yuan)"), kind="fen", sort="lender_value"),
        Column("ltv", _("LTV (%)"), book.ltv_percent, kind="number"),
        Column("open_alerts", _("Open alerts"), kind="number", sort="open_alerts",
               link=lambda r: (reverse("monitoring:alerts") + f"?q={r.pledge.registration_no}")
               if r.open_alerts else None),
        Column("worst", _("Worst severity"), book.worst_severity, kind="label:monitoring.Alert.severity",
               sort="worst_rank"),
        Column("loan_no", _("Loan"), sort="loan_no",
               link=lambda r: reverse("credit:loan", args=[r.loan_no]) if r.loan_no else None),
    ]
    filters = [
        Filter("q", _("Number or name"), ("right__number", "right__title", "right__mark_text",
                                          "pledge__registration_no", "pledgor_name", "loan_no"), kind="search"),
        Filter("kind", _("Kind of right"), "right__kind", vocabulary="rights.Right.kind"),
        Filter("state", _("Legal state"), "state_filter", vocabulary="legal_state"),
        Filter("at_risk", _("At risk"), "at_risk", choices=_yes_no()),
        Filter("severity", _("Worst severity"), "worst_rank",
               choices=[(book.SEVERITY_RANK[code], text) for code, text in
                        reversed(vocabulary.labels("monitoring.Alert.severity").items())]),
    ]
    if scope.all_banks:
        filters.append(Filter("bank", _("Bank"), "bank_id", choices=_bank_choices(scope)))
    return Listing(request, rows, columns=columns, filters=filters, name="collateral-monitor",
                   default_sort="-worst")


def _today_list(request, scope: book.Scope) -> dict:
    """The head of the page: how many rights, how many at risk, and the alerts to work on today."""
    today = business_date.today()
    alerts = services.visible_alerts(request.user).filter(status__in=LIVE_STATUSES)
    # Due by today, and any critical alert nobody has taken on yet, whatever its SLA says.
    due = alerts.filter(Q(due_date__lte=today) | Q(severity=Severity.CRITICAL, status=AlertStatus.OPEN)) \
        .select_related("pledge", "right", "loan").annotate(rank=_severity_rank()).order_by("due_date", "-rank", "pk")
    rows = [{"alert": a, "action": services.required_action(a), "overdue": a.due_date < today,
             "right": _right_text(a)}
            for a in due[:TODAY_SHOWN]]
    return {"rows": rows, "count": due.count(), "open": alerts.count(),
            "overdue": alerts.filter(due_date__lt=today).count()}


@login_required
def monitor(request):
    scope = book.scope_for(request.user)
    if scope is None:
        return _forbidden(request)
    states = book.States(business_date.today())
    listing = _monitor_listing(request, scope, states)
    if request.GET.get("export") in ("csv", "xlsx"):
        from ippledge.core.limits import limit

        states.load(listing._filtered[: limit("EXPORT_ROWS")])
        return listing.export_response()
    states.load(listing.page.object_list)
    full = book.book(scope)
    return render(request, "monitoring/monitor.html", {
        "listing": listing, "scope": scope, "today": _today_list(request, scope),
        "total": full.count(), "at_risk": full.filter(at_risk="yes").count(),
        "title": _("Collateral monitor")})


# --- the alert inbox ---------------------------------------------------------------------------------

def _severity_rank():
    return Case(*[When(severity=code, then=Value(rank)) for code, rank in book.SEVERITY_RANK.items()],
                default=Value(0), output_field=IntegerField())


def _inbox_rows(user, today):
    # Live alerts first, overdue among them first, then by severity and due date.
    return services.visible_alerts(user).select_related("pledge", "right", "loan", "owner_org").annotate(
        live=Case(When(status__in=LIVE_STATUSES, then=Value(1)), default=Value(0), output_field=IntegerField()),
        overdue=Case(When(Q(status__in=LIVE_STATUSES, due_date__lt=today), then=Value("yes")), default=Value("no")),
        overdue_rank=Case(When(Q(status__in=LIVE_STATUSES, due_date__lt=today), then=Value(1)), default=Value(0),
                          output_field=IntegerField()),
        rank=_severity_rank(),
    ).order_by("-live", "-overdue_rank", "-rank", "due_date", "pk")


def _right_text(alert) -> str:
    if alert.right_id is None:
        return ""
    kind = vocabulary.label("rights.Right.kind", alert.right.kind)
    return f"{kind} {number_of(alert.right.kind, alert.right.number)}"


def _inbox_listing(request, scope: book.Scope) -> Listing:
    today = business_date.today()
    columns = [
        Column("id", _("Alert"), lambda a: f"#{a.pk}", sort="pk",
               link=lambda a: reverse("monitoring:alert", args=[a.pk])),
        Column("kind", _("Kind"), kind="label:monitoring.Alert.kind", sort="kind"),
        Column("severity", _("Severity"), kind="label:monitoring.Alert.severity", sort="rank"),
        Column("registration_no", _("Pledge"), lambda a: a.pledge.registration_no if a.pledge_id else "",
               sort="pledge__registration_no",
               link=lambda a: reverse("registry:public_record", args=[a.pledge.registration_no])
               if a.pledge_id else None),
        Column("right", _("Right"), _right_text, sort="right__number"),
        Column("loan_no", _("Loan"), lambda a: a.loan.loan_no if a.loan_id else "", sort="loan__loan_no",
               link=lambda a: reverse("credit:loan", args=[a.loan.loan_no]) if a.loan_id else None),
    ]
    if scope.all_banks:
        columns.append(Column("bank", _("Bank"), "owner_org.name", sort="owner_org__name"))
    columns += [
        Column("due_date", _("Due date"), kind="date", sort="due_date"),
        Column("overdue", _("Overdue"), lambda a: a.overdue == "yes", kind="bool", sort="overdue_rank"),
        Column("status", _("Status"), kind="label:monitoring.Alert.status", sort="status"),
        Column("action", _("Required action"), services.required_action),
    ]
    filters = [
        Filter("q", _("Registration, loan or number"),
               ("pledge__registration_no", "loan__loan_no", "right__number"), kind="search"),
        Filter("status", _("Status"), "status", vocabulary="monitoring.Alert.status"),
        Filter("kind", _("Kind"), "kind", vocabulary="monitoring.Alert.kind"),
        Filter("severity", _("Severity"), "severity", vocabulary="monitoring.Alert.severity"),
        Filter("overdue", _("Overdue"), "overdue", choices=_yes_no()),
    ]
    if scope.all_banks:
        filters.append(Filter("bank", _("Bank"), "owner_org_id", choices=_bank_choices(scope)))
    return Listing(request, _inbox_rows(request.user, today), columns=columns, filters=filters, name="alerts")


@login_required
def alerts(request):
    scope = book.scope_for(request.user)
    if scope is None:
        return _forbidden(request)
    listing = _inbox_listing(request, scope)
    if (response := listing.export_response()) is not None:
        return response
    return render(request, "monitoring/alerts.html", {"listing": listing, "title": _("Alerts")})


# --- one alert -----------------------------------------------------------------------------------

DONE = {"acknowledge": gettext_lazy("Alert acknowledged."), "resolve": gettext_lazy("Alert resolved.")}


@login_required
def alert_detail(request, alert_id: int):
    scope = book.scope_for(request.user)
    if scope is None:
        return _forbidden(request)
    alert = services.visible_alerts(request.user).select_related(
        "pledge", "right", "loan", "event", "owner_org", "officer", "acknowledged_by", "resolved_by") \
        .filter(pk=alert_id).first()
    if alert is None:
        return _not_found(request)
    forms_ = {"acknowledge": AcknowledgeForm(), "resolve": ResolveForm()}
    status = 200
    if request.method == "POST":
        if scope.read_only:
            return _forbidden(request)
        current_channel.set("web")
        action = request.POST.get("action", "")
        if action not in forms_:
            return _not_found(request)
        form = AcknowledgeForm(request.POST) if action == "acknowledge" else ResolveForm(request.POST)
        if form.is_valid():
            try:
                if action == "acknowledge":
                    services.acknowledge(actor=request.user, alert_id=alert.pk)
                else:
                    services.resolve(actor=request.user, alert_id=alert.pk,
                                     resolution=form.cleaned_data["resolution"], note=form.cleaned_data["note"])
                messages.success(request, str(DONE[action]))
                return redirect("monitoring:alert", alert_id=alert.pk)
            except NotFound:
                return _not_found(request)
            except DomainError as exc:
                apply_error(form, exc)
        forms_[action], status = form, 400
    forms_["resolve"].auto_id = "resolve-%s"
    live = alert.status in LIVE_STATUSES
    return render(request, "monitoring/alert.html", {
        "alert": alert, "action": services.required_action(alert), "right_text": _right_text(alert),
        "overdue": live and alert.due_date < business_date.today(), "live": live,
        "may_act": live and not scope.read_only, "may_acknowledge": alert.status == AlertStatus.OPEN,
        "forms": forms_, "title": _("Alert %(no)s") % {"no": f"#{alert.pk}"}}, status=status)
