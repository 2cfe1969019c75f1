"""Guarantee insurance pages (issue 13 point 3): an insurer's products (list and a form to make one), its
policies (list and a form to issue a loan guarantee policy) and a policy's page with its premium schedule,
the subsidy, a form to record a premium as received (the insurer) or to accept the policy (the loan's
bank), and the loan's all-in cost with the policy (the bank and regulators).

Thin: every read is scoped and every write made by :mod:`.services_insurance`, which decides who may act;
a form is offered only where the service would accept the user, and a refusal is shown in words."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ippledge.core import business_date, exact
from ippledge.core.audit import current_channel
from ippledge.core.errors import DomainError, PermissionDenied, ValidationFailed
from ippledge.core.forms import DateInput, apply_error
from ippledge.core.listing import Column, Filter, Listing
from ippledge.core.roles import Role

from . import services_insurance as insurance
from .models import InsurancePolicy, PolicyType

RATE_MAX = 12  # characters of a percentage as typed; the services bound its value


def _percent_to_fraction(value: str) -> str | None:
    """A rate typed in percent ("2", "2.5 %") as the service's fraction ("0.02"); text that is no number
    goes to the service as typed, which refuses it in words."""
    text = (value or "").strip().rstrip("%").strip()
    if not text:
        return None
    try:
        number = exact.decimal(text, "rate", plain=True)
    except ValidationFailed:
        return text
    return str(number / 100)


def _pct(value) -> str:
    return "—" if value is None else f"{(value * 100).normalize():f} %"


class ProductForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    policy_type = forms.ChoiceField(label=gettext_lazy("Policy type"), choices=PolicyType.choices)
    premium_rate = forms.CharField(label=gettext_lazy("Premium rate (% a year)"), max_length=RATE_MAX,
                                   help_text=gettext_lazy("Loan guarantee insurance: 1 to 3 % a year."))
    coverage_ratio = forms.CharField(label=gettext_lazy("Coverage (% of the principal loss)"), max_length=RATE_MAX,
                                     required=False, help_text=gettext_lazy("Required for loan guarantee insurance."))
    valid_from = forms.DateField(label=gettext_lazy("Valid from"), required=False, widget=DateInput(),
                                 help_text=gettext_lazy("Leave empty for today's business date."))
    valid_to = forms.DateField(label=gettext_lazy("Valid to"), required=False, widget=DateInput())
    description = forms.CharField(label=gettext_lazy("Description"), max_length=2000, required=False,
                                  widget=forms.Textarea(attrs={"rows": 3}))

    def service_data(self) -> dict:
        d = self.cleaned_data
        return {"name": d["name"], "policy_type": d["policy_type"],
                "premium_rate": _percent_to_fraction(d["premium_rate"]),
                "coverage_ratio": _percent_to_fraction(d["coverage_ratio"]),
                "valid_from": d["valid_from"].isoformat() if d["valid_from"] else None,
                "valid_to": d["valid_to"].isoformat() if d["valid_to"] else None, "description": d["description"]}


class IssueForm(forms.Form):
    product = forms.ChoiceField(label=gettext_lazy("Product"))
    loan_no = forms.CharField(label=gettext_lazy("Loan number"), max_length=20)
    borrower_uscc = forms.CharField(label=gettext_lazy("Borrower's USCC"), max_length=18,
                                    help_text=gettext_lazy("As in the bank's insurance application."))

    def __init__(self, *args, products=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].choices = [("", "—"), *((p.pk, p.name) for p in products)]


RIGHTS_POLICY_TYPES = (PolicyType.INFRINGEMENT_LOSS, PolicyType.ENFORCEMENT)
RIGHTS_TEXT_MAX = 4000  # characters of the rights as typed (at most the service's MAX_RIGHTS lines count)
AMOUNT_MAX = 24


def _kind_code(text: str) -> str:
    """A right's kind as typed (its code, or its label in the page's language) as the register's code; text
    that names no kind goes to the service as typed, which refuses it in words."""
    from ippledge.rights.models import RightKind

    folded = text.strip().casefold()
    for code, label in RightKind.choices:
        if folded in (code.casefold(), str(label).casefold()):
            return code
    return text.strip()


class RightsPolicyForm(forms.Form):
    """An infringement-loss or enforcement policy on an enterprise's rights (the service checks that the
    register shows the enterprise holding each right)."""

    action = forms.CharField(widget=forms.HiddenInput(), initial="rights")
    product = forms.ChoiceField(label=gettext_lazy("Product"))
    enterprise_uscc = forms.CharField(label=gettext_lazy("Policyholder's USCC"), max_length=18,
                                      help_text=gettext_lazy("The enterprise that holds the rights."))
    rights = forms.CharField(
        label=gettext_lazy("Rights insured"), max_length=RIGHTS_TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "invention ZL201410362077.3"}),
        help_text=gettext_lazy("One right a line: its kind and its number, e.g. \"invention ZL201410362077.3\" or "
                        "\"trademark 12345678\"."))
    sum_insured = forms.CharField(label=gettext_lazy("Sum insured (yuan)"), max_length=AMOUNT_MAX,
                                  widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))
    start_date = forms.DateField(label=gettext_lazy("Cover from"), required=False, widget=DateInput(),
                                 help_text=gettext_lazy("Leave empty for today's business date."))
    term_months = forms.IntegerField(label=gettext_lazy("Term (months)"), required=False, min_value=1,
                                     help_text=gettext_lazy("Leave empty for 12 months; the cover ends the day before "
                                                     "the same date that many months on."))

    def __init__(self, *args, products=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["product"].choices = [("", "—"), *((p.pk, p.name) for p in products)]

    def clean_rights(self):
        lines = [line.strip() for line in self.cleaned_data["rights"].splitlines() if line.strip()]
        rows = []
        for n, line in enumerate(lines, start=1):
            parts = line.split(None, 1)
            if len(parts) != 2:
                raise forms.ValidationError(_("Line %(n)s: give the right's kind and its number."), params={"n": n})
            rows.append({"kind": _kind_code(parts[0]), "number": parts[1].strip()})
        if not rows:
            raise forms.ValidationError(_("Name at least one right (kind and number)."))
        return rows

    def service_data(self, enterprise_id) -> dict:
        d = self.cleaned_data
        return {"product_id": d["product"], "enterprise_id": enterprise_id, "rights": d["rights"],
                "sum_insured": d["sum_insured"].strip(),
                "start_date": d["start_date"].isoformat() if d["start_date"] else None,
                "term_months": d["term_months"]}


def _apply_rights_error(form: RightsPolicyForm, exc: DomainError) -> None:
    """The service's refusal on the form; an error on one right names its line (``rights[2]`` → line 3)."""
    fields = getattr(exc, "fields", None) or {}
    for key, msgs in list(fields.items()):
        key = str(key)
        if key.startswith("rights[") and "]" in key:
            index = key[len("rights["):key.index("]")]
            if index.isdigit():
                for message in msgs if isinstance(msgs, list | tuple) else [msgs]:
                    form.add_error("rights", _("Line %(n)s: %(message)s") % {
                        "n": int(index) + 1, "message": _(str(message))})
                del fields[key]
    if fields or not form.errors:
        apply_error(form, exc, aliases={"product_id": "product", "enterprise_id": "enterprise_uscc"})
    else:
        form.domain_error = exc


class PaymentForm(forms.Form):
    instalment = forms.ChoiceField(label=gettext_lazy("Instalment"))
    paid_on = forms.DateField(label=gettext_lazy("Paid on"), required=False, widget=DateInput(),
                              help_text=gettext_lazy("Leave empty for today's business date."))
    note = forms.CharField(label=gettext_lazy("Note"), max_length=300, required=False)

    def __init__(self, *args, instalments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["instalment"].choices = [(i.seq, f"{i.seq} · {i.due_date.isoformat()}") for i in instalments]


class CancelForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300)


def _forbidden(request):
    return render(request, "errors/403.html", status=403)


def _not_found(request):
    return render(request, "errors/404.html", {"message": _("No such policy.")}, status=404)


def _is_insurer(user) -> bool:
    return user.has_role(Role.INSURER_USER) and user.organisation is not None and \
        user.organisation.kind in insurance.INSURER_ORG_KINDS


@login_required
def products(request):
    user = request.user
    try:
        rows = insurance.products_for(user)
    except PermissionDenied:
        return _forbidden(request)
    form = ProductForm(request.POST or None) if _is_insurer(user) else None
    status = 200
    if request.method == "POST":
        if form is None:
            return _forbidden(request)
        current_channel.set("web")
        if form.is_valid():
            try:
                insurance.create_product(actor=user, data=form.service_data())
            except DomainError as exc:
                apply_error(form, exc)
            else:
                messages.success(request, _("Insurance product created."))
                return redirect("risksharing:insurance_products")
        status = 400
    listing = Listing(request, rows, name="insurance-products", columns=[
        Column("name", _("Product"), sort="name"),
        Column("insurer", _("Insurer"), "insurer.name", sort="insurer__name"),
        Column("policy_type", _("Policy type"), kind="label:risksharing.InsuranceProduct.policy_type",
               sort="policy_type"),
        Column("premium_rate", _("Premium rate a year"), lambda p: _pct(p.premium_rate), sort="premium_rate"),
        Column("coverage_ratio", _("Coverage"), lambda p: _pct(p.coverage_ratio), sort="coverage_ratio"),
        Column("valid_from", _("Valid from"), kind="date", sort="valid_from"),
        Column("valid_to", _("Valid to"), kind="date", sort="valid_to"),
    ], filters=[
        Filter("q", _("Name"), ("name",), kind="search"),
        Filter("policy_type", _("Policy type"), "policy_type", vocabulary="risksharing.InsuranceProduct.policy_type"),
    ], default_sort="-valid_from")
    if (response := listing.export_response()) is not None:
        return response
    return render(request, "risksharing/insurance_products.html", {
        "listing": listing, "form": form, "title": _("Insurance products")}, status=status)


@login_required
def policies(request):
    user = request.user
    try:
        rows = insurance.policies_for(user)
    except PermissionDenied:
        return _forbidden(request)
    insurer = _is_insurer(user)
    own = insurance.InsuranceProduct.objects.filter(insurer_id=user.organisation_id) if insurer else None
    posted = request.POST if request.method == "POST" else None
    rights_post = posted is not None and posted.get("action") == "rights"
    form = IssueForm(None if rights_post else posted, products=own.filter(policy_type=PolicyType.LOAN_GUARANTEE),
                     ) if insurer else None
    rights_form = RightsPolicyForm(posted if rights_post else None,
                                   products=own.filter(policy_type__in=RIGHTS_POLICY_TYPES),
                                   auto_id="rights_%s") if insurer else None
    status = 200
    if request.method == "POST":
        if not insurer:
            return _forbidden(request)
        current_channel.set("web")
        if rights_post:
            if (policy := _issue_rights_policy(user, rights_form)) is not None:
                messages.success(request, _("Policy issued: it is in force for the policyholder."))
                return redirect("risksharing:insurance_policy", policy_id=policy.pk)
        elif form.is_valid():
            d = form.cleaned_data
            try:
                policy = insurance.issue_policy(actor=user, data={
                    "product_id": d["product"], "loan_no": d["loan_no"].strip(),
                    "borrower_uscc": d["borrower_uscc"].strip().upper()})
            except DomainError as exc:
                apply_error(form, exc, aliases={"product_id": "product"})
            else:
                messages.success(request, _("Policy issued: the loan's bank accepts it."))
                return redirect("risksharing:insurance_policy", policy_id=policy.pk)
        status = 400
    listing = Listing(request, rows, name="insurance-policies", columns=[
        Column("policy_no", _("Policy"), sort="policy_no",
               link=lambda p: reverse("risksharing:insurance_policy", args=[p.pk])),
        Column("policy_type", _("Policy type"), kind="label:risksharing.InsurancePolicy.policy_type",
               sort="policy_type"),
        Column("insurer", _("Insurer"), "insurer.name", sort="insurer__name"),
        Column("loan_no", _("Loan"), lambda p: p.loan.loan_no if p.loan_id else "—", sort="loan__loan_no"),
        Column("holder", _("Bank or policyholder"),
               lambda p: p.loan.bank.name if p.loan_id else (p.enterprise.name if p.enterprise_id else "—")),
        Column("sum_insured", _("Sum insured (yuan)"), kind="fen", sort="sum_insured"),
        Column("premium_rate", _("Premium rate a year"), lambda p: _pct(p.premium_rate), sort="premium_rate"),
        Column("start_date", _("From"), kind="date", sort="start_date"),
        Column("end_date", _("To"), kind="date", sort="end_date"),
        Column("status", _("Status"), lambda p: insurance.status_of(p),
               kind="label:risksharing.InsurancePolicy.status"),
    ], filters=[
        Filter("q", _("Policy or loan"), ("policy_no", "loan__loan_no"), kind="search"),
        Filter("policy_type", _("Policy type"), "policy_type", vocabulary="risksharing.InsurancePolicy.policy_type"),
        Filter("status", _("Status as issued"), "status", vocabulary="risksharing.InsurancePolicy.status"),
    ], default_sort="-start_date")
    if (response := listing.export_response()) is not None:
        return response
    return render(request, "risksharing/insurance_policies.html", {
        "listing": listing, "form": form, "rights_form": rights_form,
        "title": _("Insurance policies")}, status=status)


def _issue_rights_policy(user, form: RightsPolicyForm):
    """The rights policy the form asks for, or None with the refusal on the form.  The product must be one
    of the insurer's own rights products: the form's choices are only those, so another insurer's product
    (or a loan guarantee product) is refused before the service is asked, which would refuse it too."""
    if not form.is_valid():
        return None
    from ippledge.core.models import Organisation

    uscc = form.cleaned_data["enterprise_uscc"].strip().upper()
    enterprise = Organisation.objects.filter(uscc=uscc, kind="enterprise", is_active=True).only("pk").first()
    if enterprise is None:
        form.add_error("enterprise_uscc", _("No enterprise with this USCC is on the platform."))
        return None
    try:
        return insurance.issue_policy(actor=user, data=form.service_data(enterprise.pk))
    except DomainError as exc:
        _apply_rights_error(form, exc)
        return None


def _loan_cost(user, policy: InsurancePolicy):
    """The loan's all-in cost with its policy, for those who read the loan's terms (its bank, regulators)."""
    if policy.loan_id is None:
        return None
    from ippledge.credit import quote
    from ippledge.credit import services as credit

    try:
        credit.get_loan(actor=user, loan_no=policy.loan.loan_no)
    except DomainError:
        return None
    if not (user.is_platform_admin or user.has_role(Role.REGULATOR_USER, Role.BANK_OFFICER, Role.BANK_REVIEWER,
                                                    Role.BANK_APPROVER)):
        return None
    try:
        return quote.loan_cost(policy.loan, business_date.today())
    except DomainError:
        return None


class _Invalid(Exception):
    """A form's own checks failed (no service was asked)."""


@login_required
def policy_detail(request, policy_id: int):
    user = request.user
    try:
        policy = insurance.get_policy(actor=user, policy_id=policy_id)
    except PermissionDenied:
        return _forbidden(request)
    except DomainError:
        return _not_found(request)
    instalments = list(policy.instalments.all())
    unpaid = [i for i in instalments if i.paid_on is None]
    may_pay = insurance.may_record_payment(user, policy) and bool(unpaid)
    may_accept = insurance.may_accept(user, policy)
    form = PaymentForm(instalments=unpaid) if may_pay else None
    may_cancel = policy.status in ("pending", "active") and user.has_role(Role.INSURER_USER) and \
        user.organisation_id == policy.insurer_id
    cancel_form = CancelForm() if may_cancel else None
    status = 200
    if request.method == "POST":
        current_channel.set("web")
        action = request.POST.get("action", "payment")
        try:
            if action == "accept":
                if not may_accept:
                    return _forbidden(request)
                insurance.accept_policy(actor=user, policy_id=policy.pk)
                messages.success(request, _("Policy accepted: it is in force."))
                return redirect("risksharing:insurance_policy", policy_id=policy.pk)
            if action == "cancel":
                if not may_cancel:
                    return _forbidden(request)
                cancel_form = CancelForm(request.POST)
                if cancel_form.is_valid():
                    insurance.cancel_policy(actor=user, policy_id=policy.pk, reason=cancel_form.cleaned_data["reason"])
                    messages.success(request, _("Policy cancelled."))
                    return redirect("risksharing:insurance_policy", policy_id=policy.pk)
                raise _Invalid
            if not may_pay:
                return _forbidden(request)
            form = PaymentForm(request.POST, instalments=unpaid)
            if form.is_valid():
                d = form.cleaned_data
                insurance.record_premium_payment(actor=user, policy_id=policy.pk, instalment=d["instalment"],
                                                 paid_on=d["paid_on"].isoformat() if d["paid_on"] else None,
                                                 note=d["note"])
                messages.success(request, _("Premium recorded as received."))
                return redirect("risksharing:insurance_policy", policy_id=policy.pk)
        except _Invalid:
            pass
        except DomainError as exc:
            target = cancel_form if action == "cancel" else form
            if target is not None:
                apply_error(target, exc)
            else:
                messages.error(request, exc.localised(_) if hasattr(exc, "localised") else str(exc))
        status = 400
    return render(request, "risksharing/insurance_policy.html", {
        "policy": policy, "status": insurance.status_of(policy), "instalments": instalments,
        "totals": insurance.totals(policy), "form": form, "may_accept": may_accept, "cancel_form": cancel_form,
        "premium_rate": _pct(policy.premium_rate), "coverage": _pct(policy.coverage_ratio),
        "subsidy_ratio": _pct(policy.subsidy_ratio), "cost": _loan_cost(user, policy),
        "title": _("Policy %(no)s") % {"no": policy.policy_no}}, status=status)
