"""The administrators' LPR page: the recorded fixings, the expected fixings still missing, and a form
to enter one.  Thin: :mod:`ippledge.credit.lpr` decides what is missing and enters the fixing."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from ippledge.core import business_date
from ippledge.core.audit import current_channel
from ippledge.core.errors import DomainError

from . import lpr
from .models import LprFixing, Tenor

PER_PAGE = 24  # two years of one tenor's fixings


@login_required
def fixings(request):
    if not lpr.may_manage(request.user):
        return render(request, "errors/403.html", status=403)
    error, form = None, {}
    if request.method == "POST":
        current_channel.set("web")
        form = {key: request.POST.get(key, "") for key in ("fixing_date", "tenor", "rate")}
        try:
            fixing = lpr.enter_fixing(actor=request.user, **form)
        except DomainError as exc:
            error = exc
        else:
            messages.success(request, _("LPR %(tenor)s of %(date)s recorded: %(rate)s%%.") % {
                "tenor": fixing.tenor, "date": fixing.fixing_date.isoformat(), "rate": fixing.rate})
            return redirect("credit:lpr")
    on = business_date.today()
    missing = [{"tenor": label, "tenor_code": code, "dates": lpr.missing_fixings(on, code)}
               for code, label in Tenor.choices]
    page = Paginator(LprFixing.objects.order_by("-fixing_date", "tenor").select_related("entered_by"),
                     PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "credit/lpr.html", {
        "page": page, "missing": missing, "any_missing": any(m["dates"] for m in missing), "on": on,
        "tenors": Tenor.choices, "form": form, "error": error,
        "title": _("Loan Prime Rate fixings")}, status=400 if error else 200)
