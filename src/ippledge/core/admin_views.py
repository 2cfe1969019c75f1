"""The administrator's desk: organisations, users and roles, the business calendar, the business date
(simulation) and the end-of-day log.  Thin: every change goes through :mod:`ippledge.core.services`
(or :mod:`ippledge.core.eod`); forms check what was typed and show the services' refusals next to
the fields.

Who: a platform administrator (role ``admin`` or a superuser).  A regulator reads the organisations,
the calendar, the business date and the end-of-day log (never the users, never a write).  Everyone
else gets 403; anonymous visitors go to the login page.
"""

from __future__ import annotations

import datetime as dt
from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import business_date, desk, eod, services, vocabulary
from .audit import current_channel
from .errors import DomainError
from .forms import (
    BusinessDateForm,
    EodRunForm,
    HolidayForm,
    HolidayRemoveForm,
    OrganisationEditForm,
    OrganisationForm,
    UserActiveForm,
    UserCreateForm,
    UserRolesForm,
    apply_error,
)
from .listing import Column, Filter, Listing
from .models import EodRun, Holiday, Organisation, User
from .permissions import is_regulator
from .roles import Role


def _forbidden(request):
    return render(request, "errors/403.html", status=403)


def admin_page(*, regulator_reads: bool = False):
    """Administrators only; with ``regulator_reads`` a regulator may GET the page (read-only)."""

    def wrap(view):
        @login_required
        @wraps(view)
        def inner(request, *args, **kwargs):
            user = request.user
            if user.is_platform_admin:
                request.may_write = True
            elif regulator_reads and request.method in ("GET", "HEAD") and is_regulator(user):
                request.may_write = False
            else:
                return _forbidden(request)
            if request.method == "POST":
                current_channel.set("web")
            return view(request, *args, **kwargs)

        return inner

    return wrap


def _context(request, section: str, **extra) -> dict:
    return {"section": section, "may_write": getattr(request, "may_write", False),
            "admin_sections": sections(request.user), **extra}


# (url name, label, regulator reads it)
SECTIONS = [
    ("admin_desk", gettext_lazy("Overview"), False),
    ("admin_orgs", gettext_lazy("Organisations"), True),
    ("admin_users", gettext_lazy("Users and roles"), False),
    ("credit:products", gettext_lazy("Loan products"), True),
    ("credit:lpr", gettext_lazy("LPR fixings"), True),
    ("admin_calendar", gettext_lazy("Business calendar"), True),
    ("admin_business_date", gettext_lazy("Business date"), True),
    ("admin_eod", gettext_lazy("End-of-day log"), True),
    ("admin_tasks", gettext_lazy("Background tasks"), False),
]


def sections(user) -> list[dict]:
    """The administrator's sub-navigation (a regulator sees the sections it may read)."""
    admin = user.is_platform_admin
    return [{"name": name, "url": reverse(name), "label": label} for name, label, reads in SECTIONS
            if admin or (reads and is_regulator(user))]


def _parse_date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value and len(value) == 10 else None
    except ValueError:
        return None


# --- the desk ---------------------------------------------------------------------------------------

@admin_page()
def admin_desk(request):
    counts = Organisation.objects.aggregate(total=Count("pk"), inactive=Count("pk", filter=Q(is_active=False)))
    users = User.objects.aggregate(total=Count("pk"), inactive=Count("pk", filter=Q(is_active=False)))
    last = EodRun.objects.order_by("-business_date", "-started_at").first()
    return render(request, "core/admin_desk.html", _context(
        request, "admin_desk", todo=desk.items(desk.ADMIN_DESK, request.user), orgs=counts, users=users,
        last_eod=last, tasks=_task_counts(), today=business_date.today(), real_today=business_date.real_today(),
        simulated=business_date.override() is not None))


# --- organisations ----------------------------------------------------------------------------------

@admin_page(regulator_reads=True)
def organisations(request):
    qs = Organisation.objects.annotate(user_count=Count("users")).select_related("parent")
    listing = Listing(request, qs, name="organisations", columns=[
        Column("name", _("Name"), sort="name_normalised",
               link=(lambda o: reverse("admin_org", args=[o.pk])) if request.may_write else None),
        Column("kind", _("Kind"), kind="label:core.Organisation.kind", sort="kind"),
        Column("uscc", _("USCC")),
        Column("region_code", _("Region"), kind="region", sort="region_code"),
        Column("size_class", _("Size class"), kind="label:core.Organisation.size_class"),
        Column("parent", _("Head office"), "parent.name"),
        Column("user_count", _("Users"), kind="number", sort="user_count"),
        Column("is_active", _("Active"), kind="bool", sort="is_active"),
        Column("created_at", _("Created"), kind="moment", sort="created_at"),
    ], filters=[
        Filter("q", _("Name or USCC"), ("name", "uscc"), kind="search"),
        Filter("kind", _("Kind"), "kind", vocabulary="core.Organisation.kind"),
        Filter("active", _("Active"), "is_active", choices=[("1", _("Yes")), ("0", _("No"))]),
    ], default_sort="kind")
    if (response := listing.export_response()) is not None:
        return response
    return render(request, "core/admin_orgs.html", _context(request, "admin_orgs", listing=listing))


@admin_page()
def organisation_new(request):
    form = OrganisationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            org = services.create_organisation(
                actor=request.user, name=data["name"], kind=data["kind"], uscc=data["uscc"] or None,
                region_code=data["region_code"], size_class=data["size_class"], industry=data["industry"],
                parent=data["parent"])
        except DomainError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Organisation %(name)s created.") % {"name": org.name})
            return redirect("admin_orgs")
    return render(request, "core/admin_org_form.html", _context(
        request, "admin_orgs", form=form, title=_("New organisation")), status=400 if form.errors else 200)


@admin_page()
def organisation_edit(request, org_id: int):
    org = Organisation.objects.filter(pk=org_id).first()
    if org is None:
        return render(request, "errors/404.html", status=404)
    initial = {"name": org.name, "region_code": org.region_code, "size_class": org.size_class,
               "industry": org.industry, "is_active": org.is_active}
    form = OrganisationEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.update_organisation(actor=request.user, org_id=org.pk, name=data["name"],
                                         region_code=data["region_code"], size_class=data["size_class"],
                                         industry=data["industry"], is_active=data["is_active"])
        except DomainError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("Organisation %(name)s saved.") % {"name": data["name"]})
            return redirect("admin_orgs")
    return render(request, "core/admin_org_form.html", _context(
        request, "admin_orgs", form=form, org=org, title=_("Edit organisation")),
        status=400 if form.errors else 200)


# --- users and roles --------------------------------------------------------------------------------

def _roles_text(user: User) -> str:
    labels = dict(Role.choices)
    return "、".join(str(labels.get(r, r)) for r in sorted(user.role_set))


@admin_page()
def users(request):
    qs = User.objects.select_related("organisation").prefetch_related("roles")
    listing = Listing(request, qs, name="users", columns=[
        Column("username", _("Username"), sort="username", link=lambda u: reverse("admin_user", args=[u.pk])),
        Column("display_name", _("Display name"), sort="display_name"),
        Column("organisation", _("Organisation"), "organisation.name", sort="organisation__name_normalised"),
        Column("roles", _("Roles"), _role_cell),
        Column("is_active", _("Active"), kind="bool", sort="is_active"),
        Column("last_login", _("Last login"), kind="moment", sort="last_login"),
        Column("date_joined", _("Created"), kind="moment", sort="date_joined"),
    ], filters=[
        Filter("q", _("Username, name or organisation"), ("username", "display_name", "organisation__name"),
               kind="search"),
        Filter("role", _("Role"), "roles__role", choices=Role.choices),
        Filter("active", _("Active"), "is_active", choices=[("1", _("Yes")), ("0", _("No"))]),
    ], default_sort="username")
    if (response := listing.export_response()) is not None:
        return response
    return render(request, "core/admin_users.html", _context(request, "admin_users", listing=listing))


def _role_cell(user: User) -> str:
    labels = dict(Role.choices)
    return "、".join(str(labels.get(r.role, r.role)) for r in sorted(user.roles.all(), key=lambda r: r.role))


@admin_page()
def user_new(request):
    form = UserCreateForm(request.POST or None, initial={"organisation": request.GET.get("org") or None})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = services.create_user(actor=request.user, username=data["username"], password=data["password"],
                                        org_id=data["organisation"].pk, roles=data["roles"],
                                        display_name=data["display_name"])
        except DomainError as exc:
            apply_error(form, exc, {"org_id": "organisation"})
        else:
            messages.success(request, _("User %(username)s created.") % {"username": user.username})
            return redirect("admin_user", user_id=user.pk)
    return render(request, "core/admin_user_new.html", _context(request, "admin_users", form=form),
                  status=400 if form.errors else 200)


@admin_page()
def user_detail(request, user_id: int):
    account = User.objects.select_related("organisation").filter(pk=user_id).first()
    if account is None:
        return render(request, "errors/404.html", status=404)
    roles_form = UserRolesForm(initial={"roles": sorted(account.role_set)})
    active_form = UserActiveForm(initial={"active": "0" if account.is_active else "1"})
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "roles":
            roles_form = UserRolesForm(request.POST)
            if roles_form.is_valid():
                try:
                    services.set_user_roles(actor=request.user, user_id=account.pk, roles=roles_form.cleaned_data["roles"])
                except DomainError as exc:
                    apply_error(roles_form, exc)
                else:
                    messages.success(request, _("Roles of %(username)s saved.") % {"username": account.username})
                    return redirect("admin_user", user_id=account.pk)
        elif action == "active":
            active_form = UserActiveForm(request.POST)
            if active_form.is_valid():
                try:
                    services.set_user_active(actor=request.user, user_id=account.pk,
                                             active=active_form.cleaned_data["active"])
                except DomainError as exc:
                    apply_error(active_form, exc)
                else:
                    messages.success(request, (_("%(username)s may log in again.") if active_form.cleaned_data["active"]
                                               else _("%(username)s is deactivated: they can no longer log in and "
                                                      "their API tokens are revoked.")) % {"username": account.username})
                    return redirect("admin_user", user_id=account.pk)
        else:
            return redirect("admin_user", user_id=account.pk)
    failed = roles_form.errors or active_form.errors
    return render(request, "core/admin_user.html", _context(
        request, "admin_users", account=account, roles_text=_roles_text(account), roles_form=roles_form,
        active_form=active_form), status=400 if failed else 200)


# --- business calendar ------------------------------------------------------------------------------

@admin_page(regulator_reads=True)
def calendar(request):
    today = business_date.today()
    try:
        year = int(request.GET.get("year") or today.year)
    except ValueError:
        year = today.year
    if not 1985 <= year <= today.year + 50:
        year = today.year
    form, remove = HolidayForm(), HolidayRemoveForm()
    if request.method == "POST":
        if request.POST.get("action") == "remove":
            remove = HolidayRemoveForm(request.POST)
            if remove.is_valid():
                day = remove.cleaned_data["date"]
                try:
                    services.remove_holiday(actor=request.user, date=day)
                except DomainError as exc:
                    apply_error(remove, exc)
                else:
                    messages.success(request, _("%(date)s removed from the business calendar.") % {"date": day.isoformat()})
                    return redirect(reverse("admin_calendar") + f"?year={day.year}")
        else:
            form = HolidayForm(request.POST)
            if form.is_valid():
                data = form.cleaned_data
                try:
                    entry = services.set_holiday(actor=request.user, date=data["date"],
                                                 is_working_day=data["is_working_day"], name=data["name"])
                except DomainError as exc:
                    apply_error(form, exc)
                else:
                    messages.success(request, _("%(date)s recorded in the business calendar.") % {
                        "date": entry.date.isoformat()})
                    return redirect(reverse("admin_calendar") + f"?year={entry.date.year}")
    entries = Holiday.objects.filter(date__year=year)
    listing = Listing(request, entries, name="calendar", per_page=100, columns=[
        Column("date", _("Date"), kind="date", sort="date"),
        Column("weekday", _("Weekday"), lambda h: _weekday(h.date)),
        Column("is_working_day", _("Kind of day"),
               lambda h: _("Make-up working day") if h.is_working_day else _("Public holiday")),
        Column("name", _("Name")),
    ], default_sort="date")
    if (response := listing.export_response()) is not None:
        return response
    years = sorted({d.year for d in Holiday.objects.dates("date", "year")} | {today.year, today.year + 1})
    return render(request, "core/admin_calendar.html", _context(
        request, "admin_calendar", listing=listing, entries=entries, year=year, years=years, form=form,
        remove=remove, today=today, today_working=business_date.is_working_day(today)),
        status=400 if form.errors or remove.errors else 200)


def _weekday(day: dt.date) -> str:
    names = [_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"), _("Saturday"), _("Sunday")]
    return str(names[day.weekday()])


# --- business date ----------------------------------------------------------------------------------

@admin_page(regulator_reads=True)
def business_date_page(request):
    form = BusinessDateForm(initial={"action": "set"})
    allowed = bool(settings.ALLOW_BUSINESS_DATE)
    if request.method == "POST":
        form = BusinessDateForm(request.POST)
        if form.is_valid():
            clear = form.cleaned_data["action"] == "clear"
            try:
                day = services.set_business_date(actor=request.user, date=None if clear else form.cleaned_data["date"])
            except DomainError as exc:
                apply_error(form, exc)
            else:
                if clear:
                    messages.success(request, _("The business date is the calendar date again: %(date)s.") % {
                        "date": day.isoformat()})
                else:
                    messages.success(request, _("Simulated business date set: %(date)s.") % {"date": day.isoformat()})
                return redirect("admin_business_date")
    history = Listing(request, _history(), name="business-date", columns=[
        Column("set_at", _("Set at"), kind="moment", sort="set_at"),
        Column("date", _("Business date"), lambda c: c.date.isoformat() if c.date else _("calendar date (reset)")),
        Column("set_by", _("Set by"), lambda c: str(c.set_by) if c.set_by else _("system")),
    ], default_sort="-set_at")
    if (response := history.export_response()) is not None:
        return response
    return render(request, "core/admin_business_date.html", _context(
        request, "admin_business_date", form=form, allowed=allowed, today=business_date.today(),
        real_today=business_date.real_today(), simulated=business_date.override() is not None, listing=history),
        status=400 if form.errors else 200)


def _history():
    from .models import BusinessDateChange

    return BusinessDateChange.objects.select_related("set_by")


# --- end-of-day log ---------------------------------------------------------------------------------

# The end-of-day jobs the apps register, in words (a job not named here shows its code, and the raw-code
# test finds it: name it here, or better, let its app register its label in its own labels.py).
EOD_JOB_LABELS = {
    "registry.abandon_overdue_corrections": gettext_lazy("Pledge applications: abandon overdue corrections"),
    "registry.lapse_trademark_pledges": gettext_lazy("Trademark pledges: lapse at the end of the mark's term"),
    "registry.expire_objections": gettext_lazy("Objections: expire those without a case notice"),
    "registry.retry_webhooks": gettext_lazy("Notifications: retry failed webhooks"),
    "registry.verify_register": gettext_lazy("Register: verify the journal's hash chain"),
    "registry.sign_checkpoint": gettext_lazy("Register: sign the day's checkpoint"),
    "credit.classify_loans": gettext_lazy("Loans: five-category classification"),
    "reporting.quarterly_files": gettext_lazy("Statistics: quarterly report files"),
    "core.prune_task_log": gettext_lazy("Background tasks: remove old entries from the task log"),
}
vocabulary.register("eod_job", EOD_JOB_LABELS)
# The run states in words (the model's own choice labels are the bare codes in English).
EOD_STATUS_LABELS = {EodRun.Status.RUNNING: gettext_lazy("Running"), EodRun.Status.DONE: gettext_lazy("Done"),
                     EodRun.Status.FAILED: gettext_lazy("Failed")}
vocabulary.register("eod_status", EOD_STATUS_LABELS)


def _eod_detail(run: EodRun) -> str:
    """What a person needs from a run's detail: whether a failed job will be retried.  The detail itself
    (counts and reasons keyed by the job's own codes) stays in the API's log."""
    if run.status == EodRun.Status.FAILED:
        return _("Failed; the job is retried on the next run.")
    if run.status == EodRun.Status.RUNNING:
        return _("Still running, or stopped before it finished.")
    return ""


@admin_page(regulator_reads=True)
def eod_log(request):
    form = EodRunForm()
    if request.method == "POST":
        form = EodRunForm(request.POST)
        if form.is_valid():
            day = form.cleaned_data["date"]
            try:
                runs = eod.run(business_date=day, actor=request.user) if day else eod.run_pending(actor=request.user)
            except DomainError as exc:
                apply_error(form, exc)
            else:
                failed = sum(1 for r in runs if r.status == EodRun.Status.FAILED)
                if failed:
                    messages.error(request, _("End of day ran: %(failed)s of %(total)s jobs failed.") % {
                        "failed": failed, "total": len(runs)})
                else:
                    messages.success(request, _("End of day ran: %(total)s jobs done.") % {"total": len(runs)})
                return redirect("admin_eod")
    listing = Listing(request, EodRun.objects.all(), name="eod-log", columns=[
        Column("business_date", _("Business date"), kind="date", sort="business_date"),
        Column("job", _("Job"), kind="label:eod_job", sort="job"),
        Column("status", _("Status"), kind="label:eod_status", sort="status"),
        Column("attempts", _("Attempts"), kind="number", sort="attempts"),
        Column("started_at", _("Started"), kind="moment", sort="started_at"),
        Column("finished_at", _("Finished"), kind="moment", sort="finished_at"),
        Column("detail", _("Result"), _eod_detail),
    ], filters=[
        Filter("status", _("Status"), "status", vocabulary="eod_status"),
        Filter("from", _("From"), "business_date", kind="date_from"),
        Filter("to", _("To"), "business_date", kind="date_to"),
        Filter("job", _("Job"), "job", vocabulary="eod_job"),
    ], default_sort="-business_date")
    if (response := listing.export_response()) is not None:
        return response
    return render(request, "core/admin_eod.html", _context(
        request, "admin_eod", listing=listing, form=form, today=business_date.today(),
        last=eod.last_run_date(), jobs=[j.name for j in eod.jobs()]), status=400 if form.errors else 200)



# --- background tasks -------------------------------------------------------------------------------

@admin_page()
def task_log_page(request):
    """What the task queue holds and did (webhook deliveries, imports, monitoring): name, state,
    times, attempt and a short error; never a task's arguments (see :mod:`ippledge.core.task_log`)."""
    from . import task_log

    listing = Listing(request, task_log.rows(), name="tasks", columns=[
        Column("task", _("Task"), "task_path", kind="label:task", sort="task_path"),
        Column("status", _("Status"), kind="label:task_status", sort="status"),
        Column("attempt", _("Attempt"), task_log.attempt, kind="number"),
        Column("enqueued_at", _("Queued"), kind="moment", sort="enqueued_at"),
        Column("not_before", _("Not before"), task_log.not_before, kind="moment"),
        Column("started_at", _("Started"), kind="moment", sort="started_at"),
        Column("finished_at", _("Finished"), kind="moment", sort="finished_at"),
        Column("error", _("Error"), task_log.error),
    ], filters=[
        Filter("status", _("Status"), "status", vocabulary="task_status"),
        Filter("task", _("Task"), "task_path", vocabulary="task"),
        Filter("from", _("From"), "enqueued_at", kind="date_from"),
        Filter("to", _("To"), "enqueued_at", kind="date_to"),
    ], default_sort="-enqueued_at")
    if (response := listing.export_response()) is not None:
        return response
    return render(request, "core/admin_tasks.html", _context(request, "admin_tasks", listing=listing, counts=_task_counts()))


def _task_counts() -> dict:
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.aggregate(**{
        name: Count("pk", filter=Q(status=status)) for name, status in (
            ("queued", TaskResultStatus.READY), ("running", TaskResultStatus.RUNNING),
            ("failed", TaskResultStatus.FAILED))})
