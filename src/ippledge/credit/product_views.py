"""Loan products on the administrator's desk: the banks' IP-pledge products, and a form to define one.

Thin: :func:`ippledge.credit.workflow.create_product` checks and writes (the API's ``POST /products``
calls the same service); the form only turns what a person typed into the service's terms (yuan
amounts, rates in percent → fractions, one spread per risk grade).  An administrator defines products
for any bank; a regulator reads the list.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ippledge.core import vocabulary
from ippledge.core.admin_views import _context, admin_page
from ippledge.core.errors import DomainError
from ippledge.core.forms import apply_error
from ippledge.core.listing import Column, Filter, Listing
from ippledge.core.models import Organisation

from . import workflow
from .models import Product, Tenor

GRADES = ("A", "B", "C")


def _kind_choices():
    labels = vocabulary.labels("loan_ip_kind")
    return [(kind, labels.get(kind, kind)) for kind in workflow.PRODUCT_KINDS]


def _percent(value: str) -> str | None:
    """A rate typed in percent ("3.5", "0.5%") as the service's decimal fraction string ("0.035")."""
    text = (value or "").strip().rstrip("%").strip()
    if not text:
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text  # the service refuses it in words
    if not number.is_finite():
        return text
    return str(number / 100)


class ProductForm(forms.Form):
    bank = forms.ModelChoiceField(label=gettext_lazy("Bank"), queryset=Organisation.objects.filter(kind="bank"))
    name = forms.CharField(label=gettext_lazy("Product name"), max_length=200)
    eligible_kinds = forms.MultipleChoiceField(label=gettext_lazy("Rights it takes as collateral"),
                                               choices=_kind_choices, widget=forms.CheckboxSelectMultiple,
                                               error_messages={"required": gettext_lazy("Name at least one kind of IP.")})
    min_amount = forms.CharField(label=gettext_lazy("Smallest loan (yuan)"), max_length=30)
    max_amount = forms.CharField(label=gettext_lazy("Largest loan (yuan)"), max_length=30)
    min_term_months = forms.CharField(label=gettext_lazy("Shortest term (months)"), max_length=10, initial="1")
    max_term_months = forms.CharField(label=gettext_lazy("Longest term (months)"), max_length=10, initial="36")
    lpr_tenor = forms.ChoiceField(label=gettext_lazy("Priced over the LPR of"), choices=Tenor.choices)
    spread_a = forms.IntegerField(label=gettext_lazy("Spread over the LPR for grade A (basis points)"), initial=50,
                                  min_value=-3600, max_value=3600)
    spread_b = forms.IntegerField(label=gettext_lazy("Spread for grade B (basis points)"), initial=100,
                                  min_value=-3600, max_value=3600)
    spread_c = forms.IntegerField(label=gettext_lazy("Spread for grade C (basis points)"), initial=200,
                                  min_value=-3600, max_value=3600)
    rate_floor = forms.CharField(label=gettext_lazy("Rate floor (% a year)"), max_length=20, required=False)
    rate_cap = forms.CharField(label=gettext_lazy("Rate cap (% a year)"), max_length=20, required=False)
    guarantee_fee_rate = forms.CharField(label=gettext_lazy("Guarantee fee (% a year)"), max_length=20,
                                         required=False, initial="0")
    insurance_premium_rate = forms.CharField(label=gettext_lazy("Insurance premium (% a year)"), max_length=20,
                                             required=False, initial="0")
    first_loan_friendly = forms.BooleanField(label=gettext_lazy("Open to first-time borrowers"), required=False)
    inclusive_smb = forms.BooleanField(label=gettext_lazy("Inclusive finance for small and micro enterprises"),
                                       required=False)

    def terms(self) -> dict:
        data = self.cleaned_data
        return {
            "bank_org_id": data["bank"].pk, "name": data["name"], "eligible_kinds": data["eligible_kinds"],
            "min_amount": data["min_amount"], "max_amount": data["max_amount"],  # "5,000,000" is read too
            "min_term_months": data["min_term_months"], "max_term_months": data["max_term_months"],
            "lpr_tenor": data["lpr_tenor"],
            "spreads_bp": {"A": data["spread_a"], "B": data["spread_b"], "C": data["spread_c"]},
            "rate_floor": _percent(data["rate_floor"]), "rate_cap": _percent(data["rate_cap"]),
            "guarantee_fee_rate": _percent(data["guarantee_fee_rate"]) or "0",
            "insurance_premium_rate": _percent(data["insurance_premium_rate"]) or "0",
            "first_loan_friendly": data["first_loan_friendly"], "inclusive_smb": data["inclusive_smb"],
        }


def _percent_cell(value) -> str:
    if value is None:
        return "—"
    return f"{(Decimal(value) * 100).normalize():f}%"


def _kinds_cell(product: Product) -> str:
    return "、".join(vocabulary.label("loan_ip_kind", k) for k in product.eligible_kinds)


def _spreads_cell(product: Product) -> str:
    return " · ".join(f"{grade} +{bp}" if int(bp) >= 0 else f"{grade} {bp}" for grade, bp in product.spreads_bp.items())


@admin_page(regulator_reads=True)
def products(request):
    listing = Listing(request, Product.objects.select_related("bank"), name="products", columns=[
        Column("name", _("Product"), sort="name"),
        Column("bank", _("Bank"), "bank.name", sort="bank__name_normalised"),
        Column("eligible_kinds", _("Rights taken"), _kinds_cell),
        Column("min_amount", _("Smallest loan (yuan)"), kind="fen", sort="min_amount"),
        Column("max_amount", _("Largest loan (yuan)"), kind="fen", sort="max_amount"),
        Column("terms", _("Term (months)"), lambda p: f"{p.min_term_months}–{p.max_term_months}"),
        Column("lpr_tenor", _("LPR tenor"), lambda p: str(dict(Tenor.choices).get(p.lpr_tenor, p.lpr_tenor))),
        Column("spreads", _("Spread over the LPR by grade (basis points)"), _spreads_cell),
        Column("guarantee_fee_rate", _("Guarantee fee (% a year)"), lambda p: _percent_cell(p.guarantee_fee_rate)),
        Column("active", _("Published"), kind="bool", sort="active"),
        Column("created_at", _("Created"), kind="moment", sort="created_at"),
    ], filters=[
        Filter("q", _("Product or bank"), ("name", "bank__name"), kind="search"),
        Filter("active", _("Published"), "active", choices=[("1", _("Yes")), ("0", _("No"))]),
    ], default_sort="name")
    if (response := listing.export_response()) is not None:
        return response
    return render(request, "credit/products.html", _context(request, "credit:products", listing=listing))


@admin_page()
def product_new(request):
    form = ProductForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            product = workflow.create_product(actor=request.user, data=form.terms())
        except DomainError as exc:
            apply_error(form, exc, {"bank_org_id": "bank", "spreads_bp.A": "spread_a", "spreads_bp.B": "spread_b",
                                    "spreads_bp.C": "spread_c"})
        else:
            messages.success(request, _("Product %(name)s defined for %(bank)s.") % {
                "name": product.name, "bank": product.bank.name})
            return redirect(reverse("credit:products"))
    return render(request, "credit/products_form.html", _context(request, "credit:products", form=form),
                  status=400 if form.errors else 200)
