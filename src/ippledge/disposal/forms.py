"""Page forms of the disposal pages.  They check the shape of what a person typed (an amount, a date and
time, a length); the services decide everything else and their refusals land next to the same fields."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.validators import MaxValueValidator
from django.utils.translation import gettext_lazy as _

from ippledge.core import limits
from ippledge.core.forms import BoundedDateField

TEXT_MAX = 300


def _amount(label, *, zero: bool = False, required: bool = True) -> forms.DecimalField:
    return forms.DecimalField(label=label, min_value=Decimal(0) if zero else Decimal("0.01"), decimal_places=2,
                              max_digits=16, required=required,
                              validators=[MaxValueValidator(Decimal(limits.limit("MAX_AMOUNT_YUAN")))])


def _s(value) -> str | None:
    return None if value is None else str(value)


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class RoundForm(forms.Form):
    reserve = _amount(_("Reserve price (yuan)"), required=False)
    increment = _amount(_("Bid increment (yuan)"), zero=True, required=False)
    deposit = _amount(_("Deposit (yuan)"), zero=True, required=False)
    opens_at = forms.DateTimeField(label=_("Opens at (Beijing time)"), widget=DateTimeInput(),
                                   input_formats=["%Y-%m-%dT%H:%M"])
    closes_at = forms.DateTimeField(label=_("Closes at (Beijing time)"), widget=DateTimeInput(),
                                    input_formats=["%Y-%m-%dT%H:%M"])

    def __init__(self, *args, first: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reserve"].required = first
        if not first:
            self.fields["reserve"].help_text = _("Leave empty for the previous reserve less the configured discount.")

    def data_for_service(self) -> dict:
        d = self.cleaned_data
        return {"reserve": _s(d["reserve"]), "increment": _s(d["increment"]) or "0", "deposit": _s(d["deposit"]) or "0",
                "opens_at": d["opens_at"], "closes_at": d["closes_at"]}


class DepositForm(forms.Form):
    bidder_org_id = forms.TypedChoiceField(label=_("Bidder"), coerce=int, choices=())
    amount = _amount(_("Deposit received (yuan)"))

    def __init__(self, *args, bidders=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["bidder_org_id"].choices = [("", "—"), *bidders]


class BidForm(forms.Form):
    amount = _amount(_("Your bid (yuan)"))


class InterestForm(forms.Form):
    note = forms.CharField(label=_("Note to the seller"), max_length=TEXT_MAX, required=False)


class CloseForm(forms.Form):
    """Nothing to fill in: the round's closing time has come."""


class AgreementForm(forms.Form):
    value = _amount(_("Agreed value (yuan)"))
    agreement_ref = forms.CharField(label=_("Agreement reference"), max_length=64)
    buyer_org_id = forms.TypedChoiceField(label=_("Buyer"), coerce=int, choices=(), required=False)

    def __init__(self, *args, buyers=None, **kwargs):
        super().__init__(*args, **kwargs)
        if buyers is None:  # an agreed set-off: the bank itself takes the rights
            del self.fields["buyer_org_id"]
        else:
            self.fields["buyer_org_id"].choices = [("", "—"), *buyers]
            self.fields["buyer_org_id"].required = True


class SettleForm(forms.Form):
    proceeds = _amount(_("Proceeds (yuan)"))
    costs = _amount(_("Costs of realising the claim (yuan)"), zero=True, required=False)
    date = BoundedDateField(label=_("Settlement date"))


class LicenceIncomeForm(forms.Form):
    amount = _amount(_("Licence income (yuan)"))
    date = BoundedDateField(label=_("Date received"))


class WithdrawForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=TEXT_MAX, widget=forms.Textarea(attrs={"rows": 2}))


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(label=_("Decision"), choices=(("approve", _("Approve")), ("refuse", _("Refuse"))),
                                 widget=forms.RadioSelect)
    reduction_percent = forms.DecimalField(label=_("Fee reduction (%)"), min_value=Decimal("0.01"),
                                           max_value=Decimal(100), decimal_places=2, max_digits=5, required=False)
    reason = forms.CharField(label=_("Reason"), max_length=TEXT_MAX, required=False)


class ReliefApplyForm(forms.Form):
    held = forms.TypedChoiceField(label=_("Right obtained by enforcement"), coerce=int, choices=())
    note = forms.CharField(label=_("Note"), max_length=TEXT_MAX, required=False)

    def __init__(self, *args, held=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["held"].choices = [("", "—"), *held]


class ConfirmSetoffForm(forms.Form):
    """The pledgor's user confirms the signed set-off agreement at the value shown."""

    confirmed = forms.BooleanField(label=_("We signed the set-off agreement and confirm the bank takes the rights "
                                           "at this value."), required=True)
