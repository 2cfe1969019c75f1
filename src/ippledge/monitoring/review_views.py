"""The borrower reviews of a loan (issue 12, point 5): the list with the changes the platform computed,
a Django form to record one, and — for a loan's deciders, when a review proposes it — the loan's manual
classification (the existing ``credit.services.classify_manually``: the officer proposes, the reviewer
or approver decides).  The loan page shows the same section (``review_tags.loan_reviews``) and its form
posts here; a recorded review returns to the loan page."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ippledge.core.audit import current_channel
from ippledge.core.errors import DomainError
from ippledge.credit.forms import apply_domain_error

from . import reviews
from .models import BorrowerReview, Conclusion


class ReviewForm(forms.Form):
    """Figures as the borrower's accounts give them, in yuan (decimal strings: the service parses them
    exactly and within the business limits)."""

    period_end = forms.DateField(label=gettext_lazy("Period end"), required=False,
                                 help_text=gettext_lazy("Empty: up to the review due date (or today)."),
                                 widget=forms.DateInput(attrs={"type": "date"}))
    revenue = forms.CharField(label=gettext_lazy("Revenue (yuan)"), max_length=20,
                              widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    profit = forms.CharField(label=gettext_lazy("Profit (yuan, negative for a loss)"), max_length=21,
                             widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    liabilities = forms.CharField(label=gettext_lazy("Liabilities (yuan)"), max_length=20,
                                  widget=forms.TextInput(attrs={"inputmode": "decimal"}))
    staff = forms.CharField(label=gettext_lazy("Staff (head count)"), max_length=7,
                            widget=forms.TextInput(attrs={"inputmode": "numeric"}))
    overdue_events = forms.CharField(label=gettext_lazy("Overdue events (one per line)"), required=False, max_length=4200,
                                     widget=forms.Textarea(attrs={"rows": 2}))
    credit_events = forms.CharField(label=gettext_lazy("Credit events (one per line)"), required=False, max_length=4200,
                                    widget=forms.Textarea(attrs={"rows": 2}))
    conclusion = forms.ChoiceField(label=gettext_lazy("Conclusion"), choices=Conclusion.choices)
    note = forms.CharField(label=gettext_lazy("Note"), required=False,
                           max_length=BorrowerReview._meta.get_field("note").max_length,
                           widget=forms.Textarea(attrs={"rows": 2}))


class ReclassifyForm(forms.Form):
    category = forms.ChoiceField(label=gettext_lazy("Classification"), choices=())
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=300, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        from ippledge.credit.models import Classification

        super().__init__(*args, **kwargs)
        self.fields["category"].choices = Classification.choices


def _record(request, loan_no: str, form: ReviewForm):
    data = dict(form.cleaned_data)
    data["period_end"] = data.get("period_end") or None
    reviews.record_review(actor=request.user, loan_no=loan_no, data=data)


def _reclassify(request, loan, form: ReclassifyForm):
    from ippledge.credit import services as credit

    if not reviews.may_reclassify(request.user, loan) or reviews.open_proposal(loan) is None:
        raise PermissionError
    credit.classify_manually(actor=request.user, loan_no=loan.loan_no, category=form.cleaned_data["category"],
                             reason=form.cleaned_data["reason"])


@login_required
def reviews_page(request, loan_no: str):
    try:
        loan = reviews.readable_loan(actor=request.user, loan_no=loan_no)
    except DomainError:
        return render(request, "errors/404.html", status=404)
    form, reclassify, status = ReviewForm(), ReclassifyForm(), 200
    if request.method == "POST":
        current_channel.set("web")
        action = request.POST.get("action")
        if action == "record":
            if not reviews.may_record(request.user, loan):
                return render(request, "errors/403.html", status=403)
            form = ReviewForm(request.POST)
            if form.is_valid():
                try:
                    _record(request, loan.loan_no, form)
                    messages.success(request, _("The borrower review is recorded."))
                    return redirect(reverse("credit:loan", args=[loan.loan_no]) + "#reviews")
                except DomainError as exc:
                    apply_domain_error(form, exc)
            status = 400
        elif action == "reclassify":
            reclassify = ReclassifyForm(request.POST)
            if reclassify.is_valid():
                try:
                    _reclassify(request, loan, reclassify)
                    messages.success(request, _("The loan is reclassified."))
                    return redirect(reverse("credit:loan", args=[loan.loan_no]))
                except PermissionError:
                    return render(request, "errors/403.html", status=403)
                except DomainError as exc:
                    apply_domain_error(reclassify, exc)
            status = 400
        else:
            status = 400
    from .templatetags.review_tags import section

    return render(request, "monitoring/review_page.html",
                  {"loan": loan, "s": section(request.user, loan, form=form), "reclassify": reclassify},
                  status=status)
