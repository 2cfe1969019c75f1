"""The administrators' LPR page, part of the administrator's desk: the recorded fixings, the expected
fixings still missing, and a form to enter one.  Thin: :mod:`ippledge.credit.lpr` decides what is
missing and enters the fixing.  A regulator reads the table; the missing fixings also appear on the
administrator's to-do list (:mod:`ippledge.core.desk`)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ippledge.core import business_date, desk
from ippledge.core.admin_views import _context, admin_page
from ippledge.core.errors import DomainError
from ippledge.core.forms import DateInput, apply_error
from ippledge.core.listing import Column, Filter, Listing

from . import lpr
from .models import LprFixing, Tenor

PER_PAGE = 25

SOURCE_LABELS = {"chinamoney": gettext_lazy("Published table (chinamoney.com.cn), shipped"),
                 "entered": gettext_lazy("Entered by an administrator")}


class FixingForm(forms.Form):
    # Text fields: the service reads the date and the rate and says what is wrong in words.
    fixing_date = forms.CharField(label=gettext_lazy("Fixing date"), max_length=10, widget=DateInput())
    tenor = forms.ChoiceField(label=gettext_lazy("Tenor"), choices=Tenor.choices)
    rate = forms.CharField(label=gettext_lazy("Rate (% a year, e.g. 3.45)"), max_length=12,
                           widget=forms.TextInput(attrs={"inputmode": "decimal"}))


def _rate(value: Decimal) -> str:
    """3.4500 → 3.45%: the published two decimals, more only when the fixing has them."""
    text = f"{value.quantize(Decimal('0.01'))}" if value == value.quantize(Decimal("0.01")) else f"{value.normalize()}"
    return f"{text}%"


def _missing(on) -> list[dict]:
    return [{"tenor": label, "tenor_code": code, "dates": lpr.missing_fixings(on, code)} for code, label in Tenor.choices]


def missing_items(user) -> list[desk.Item]:
    """The administrator's to-do: expected fixings not recorded."""
    count = sum(len(m["dates"]) for m in _missing(business_date.today()))
    if not count:
        return []
    return [desk.Item(_("LPR fixings missing: quotes use an older fixing"), reverse("credit:lpr"), count,
                      "warning", "todo-lpr")]


desk.register_items(desk.ADMIN_DESK, missing_items)


@admin_page(regulator_reads=True)
def fixings(request):
    form = FixingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            fixing = lpr.enter_fixing(actor=request.user, **form.cleaned_data)
        except DomainError as exc:
            apply_error(form, exc)
        else:
            messages.success(request, _("LPR %(tenor)s of %(date)s recorded: %(rate)s.") % {
                "tenor": fixing.get_tenor_display(), "date": fixing.fixing_date.isoformat(), "rate": _rate(fixing.rate)})
            return redirect("credit:lpr")
    on = business_date.today()
    missing = _missing(on)
    listing = Listing(request, LprFixing.objects.select_related("entered_by"), name="lpr", per_page=PER_PAGE, columns=[
        Column("fixing_date", _("Fixing date"), kind="date", sort="fixing_date"),
        Column("tenor", _("Tenor"), kind="label:credit.LprFixing.tenor", sort="tenor"),
        Column("rate", _("Rate (% a year)"), lambda f: _rate(f.rate), sort="rate"),
        Column("source", _("Source"), lambda f: str(SOURCE_LABELS.get(f.source, f.source))),
        Column("entered_by", _("Entered by"), lambda f: str(f.entered_by) if f.entered_by else "—"),
        Column("entered_at", _("Entered"), kind="moment", sort="entered_at"),
    ], filters=[
        Filter("tenor", _("Tenor"), "tenor", vocabulary="credit.LprFixing.tenor"),
        Filter("from", _("From"), "fixing_date", kind="date_from"),
        Filter("to", _("To"), "fixing_date", kind="date_to"),
    ], default_sort="-fixing_date")
    if (response := listing.export_response()) is not None:
        return response
    return render(request, "credit/lpr.html", _context(
        request, "credit:lpr", listing=listing, missing=missing, any_missing=any(m["dates"] for m in missing),
        on=on, form=form, title=_("Loan Prime Rate fixings")), status=400 if form.errors else 200)
