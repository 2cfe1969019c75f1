"""Shell pages: home, login/logout, health, error pages.  Thin: services do the work."""

from __future__ import annotations

from django.contrib.auth import login as django_login
from django.contrib.auth import logout as django_logout
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from . import business_date, desk, services
from .audit import current_channel
from .errors import DomainError
from .roles import Role


def home(request):
    return render(request, "core/home.html", {"business_date": business_date.today()})


@require_http_methods(["GET", "POST"])
def login_view(request):
    error = None
    username = ""
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if request.method == "POST":
        current_channel.set("web")
        username = request.POST.get("username", "")
        try:
            user = services.login(username=username, password=request.POST.get("password", ""),
                                  client=request.META.get("REMOTE_ADDR", ""), request=request)
        except DomainError as exc:
            error = exc
        else:
            django_login(request, user)
            if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
                next_url = ""
            # No explicit destination: every user lands on their own desk (issue 11.13).
            return redirect(next_url or desk.desk_url(user))
    status = 200 if error is None else (429 if error.status == 429 else 400)
    response = render(request, "core/login.html", {"error": error, "username": username, "next": next_url},
                      status=status)
    if getattr(error, "retry_after", None):
        response["Retry-After"] = str(error.retry_after)
    return response


@login_required
def my_desk(request):
    """``/desk/``: the page the user works from (see :mod:`ippledge.core.desk`)."""
    return redirect(desk.desk_url(request.user))


def _role_desk(request, *, kind: str, allowed):
    if not allowed(request.user):
        return render(request, "errors/403.html", status=403)
    return render(request, "core/desk_role.html", {"kind": kind})


@login_required
def insurer_desk(request):
    return _role_desk(request, kind="insurer",
                      allowed=lambda u: u.is_platform_admin or u.has_role(Role.INSURER_USER))


@login_required
def fund_desk(request):
    return _role_desk(request, kind="fund", allowed=lambda u: u.is_platform_admin or u.has_role(Role.FUND_MANAGER))


@login_required
def exchange_desk(request):
    return _role_desk(request, kind="exchange", allowed=lambda u: u.is_platform_admin or desk.is_exchange_user(u))


@require_POST
def logout_view(request):
    django_logout(request)
    return redirect("home")


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True, "business_date": business_date.today().isoformat()})


def page_not_found(request, exception=None):
    if request.path.startswith("/api/"):  # unknown API paths answer in the API's shape
        from django.utils.translation import gettext as _

        from .errors import NotFound
        from .middleware import error_response

        return error_response(request, NotFound(_("Not found.")))
    return render(request, "errors/404.html", status=404)


def permission_denied(request, exception=None):
    return render(request, "errors/403.html", status=403)


def server_error(request):
    return render(request, "errors/500.html", status=500)


def csrf_failure(request, reason=""):
    """CSRF refusals in the platform's shapes: JSON on the API, the 403 page elsewhere, translated."""
    from django.utils.translation import gettext as _

    message = _("The form or request has expired or did not come from this site. Reload the page and try again.")
    if request.path.startswith("/api/"):
        from .errors import PermissionDenied
        from .middleware import error_response

        return error_response(request, PermissionDenied(message, code="csrf_failed"))
    return render(request, "errors/403.html", {"message": message}, status=403)
