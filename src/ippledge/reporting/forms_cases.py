"""The regulator's form to publish a typical case (item 十九), drawn from a loan whose disposal closed or
from any loan by its number.  Shape only; the service decides (consent, the loan, the texts' bounds)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from ippledge.core import vocabulary


class CaseForm(forms.Form):
    closed = forms.ChoiceField(label=_("Draw from a closed disposal"), required=False,
                               help_text=_("Loans whose disposal is settled; its channel, outcome and recovery "
                                           "are added to the case, anonymised."))
    loan_no = forms.CharField(label=_("Or the loan number"), max_length=20, required=False)
    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(label=_("Text"), max_length=10000, widget=forms.Textarea(attrs={"rows": 6}))
    consent = forms.BooleanField(label=_("The borrower consented to publication"), required=False)

    def __init__(self, *args, candidates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["closed"].choices = [("", "—"), *(
            (c["loan_no"], f"{c['loan_no']} · {vocabulary.label('disposal.DisposalCase.channel', c['channel'])}")
            for c in candidates)]

    def clean(self):
        data = super().clean()
        closed, typed = data.get("closed") or "", (data.get("loan_no") or "").strip().upper()
        if closed and typed and closed != typed:
            raise forms.ValidationError(_("Choose a closed disposal or type a loan number, not both."))
        if not (closed or typed) and "closed" not in self.errors:
            self.add_error("loan_no", _("Choose a closed disposal or type a loan number."))
        data["loan"] = closed or typed
        return data
