"""Page forms of risk sharing.  They check only the shape of what a person typed (lengths, a choice);
amounts, dates and every business rule are the services' (their refusals land next to these fields
through ``core.forms.apply_error``)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from ippledge.core.forms import DateInput

from .models import LedgerKind

AMOUNT_MAX = 24  # characters of a yuan amount as typed; its value is bounded by the services
NOTE_MAX = 300


def _amount(label, *, required: bool = True, help_text=""):
    return forms.CharField(label=label, max_length=AMOUNT_MAX, required=required, help_text=help_text,
                           widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))


class FromTemplateForm(forms.Form):
    template = forms.ChoiceField(label=_("Template"))
    name = forms.CharField(label=_("Name"), max_length=200, required=False,
                           help_text=_("Leave empty for the template's name."))
    region_code = forms.CharField(label=_("Region code (GB/T 2260)"), max_length=6, required=False,
                                  help_text=_("Leave empty for the template's region, or give a district of it."))
    valid_from = forms.DateField(label=_("Valid from"), required=False, widget=DateInput(),
                                 help_text=_("Leave empty for today's business date."))
    ratio = forms.CharField(label=_("Ratio of the parties whose template states none"), max_length=12,
                            required=False, help_text=_("A fraction from 0 to 1, for example 0.5."))

    def __init__(self, *args, templates=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["template"].choices = [("", "—"), *((t["key"], t["name"]) for t in templates)]


class FundsForm(forms.Form):
    party = forms.ChoiceField(label=_("Fund"))
    kind = forms.ChoiceField(label=_("Movement"), choices=[(LedgerKind.CONTRIBUTION.value, LedgerKind.CONTRIBUTION.label),
                                                          (LedgerKind.WITHDRAWAL.value, LedgerKind.WITHDRAWAL.label)])
    amount = _amount(_("Amount (yuan)"))
    note = forms.CharField(label=_("Note"), max_length=NOTE_MAX, required=False)

    def __init__(self, *args, parties=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["party"].choices = list(parties)


class ProposePaymentForm(forms.Form):
    party = forms.ChoiceField(label=_("Paying party"))
    amount = _amount(_("Amount (yuan)"), required=False,
                     help_text=_("Leave empty to pay what is left of the share."))
    note = forms.CharField(label=_("Note"), max_length=NOTE_MAX, required=False)

    def __init__(self, *args, parties=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["party"].choices = list(parties)


class CheckPaymentForm(forms.Form):
    payment = forms.ChoiceField(label=_("Payment"))
    decision = forms.ChoiceField(label=_("Decision"), choices=[("", "—"), ("approve", _("Confirm: the money is paid")),
                                                               ("reject", _("Reject"))])
    note = forms.CharField(label=_("Note"), max_length=NOTE_MAX, required=False)

    def __init__(self, *args, payments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["payment"].choices = list(payments)


class RecoveryForm(forms.Form):
    amount = _amount(_("Amount recovered (yuan)"))
    date = forms.CharField(label=_("Date recovered"), max_length=10, widget=DateInput())


class PortfolioRunForm(forms.Form):
    scenarios = forms.CharField(label=_("Scenarios"), max_length=7, initial="10000",
                                help_text=_("From 100 to 200,000."),
                                widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}))
    seed = forms.CharField(label=_("Seed"), max_length=19, initial="1",
                           help_text=_("The same seed and book give the same numbers."),
                           widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}))
    correlation = forms.CharField(label=_("Correlation"), max_length=12, required=False,
                                  help_text=_("Leave empty for the Basel corporate formula of each loan's PD, or "
                                              "give a fraction from 0 to 0.99."))
    lgd = forms.CharField(label=_("Loss given default"), max_length=12, required=False,
                          help_text=_("A fraction; leave empty for 0.675, the middle of the 60–75 % an IP-only "
                                      "loan loses."))


# --- a loan in a scheme: enrolment, claim, write-off ------------------------------------------------

class EnrolForm(forms.Form):
    """The lending bank puts a loan in a scheme: from the loan (choose the scheme) or from the scheme's page
    (give the loan)."""

    scheme = forms.ChoiceField(label=_("Scheme"))
    loan_no = forms.CharField(label=_("Loan"), max_length=20)
    ip_secured_amount = _amount(_("IP-secured amount stated in the contract (yuan)"), required=False,
                                help_text=_("Required by schemes that count only the IP-secured part of a loan "
                                            "with combined collateral."))

    def __init__(self, *args, schemes=None, loan_no: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if schemes is None:
            del self.fields["scheme"]
        else:
            self.fields["scheme"].choices = [("", "—"), *schemes]
        if loan_no is not None:
            del self.fields["loan_no"]


class ClaimForm(forms.Form):
    """The claim of an enrolled non-performing loan.  In an advance scheme nothing is asked (the base is the
    principal outstanding); ex post, the principal loss and the event that recognised it, unless the loan's
    approved write-off recognised it."""

    principal_loss = _amount(_("Principal loss (yuan)"), required=False,
                             help_text=_("Interest is never compensated."))
    loss_kind = forms.ChoiceField(label=_("Loss recognised by"), required=False)
    loss_date = forms.CharField(label=_("Date the loss was recognised"), max_length=10, required=False,
                                widget=DateInput())
    loss_reference = forms.CharField(label=_("Reference (ruling, auction confirmation…)"), max_length=200,
                                     required=False)

    def __init__(self, *args, ask_loss: bool = True, loss_kinds=(), **kwargs):
        super().__init__(*args, **kwargs)
        if not ask_loss:
            for name in ("principal_loss", "loss_kind", "loss_date", "loss_reference"):
                del self.fields[name]
        else:
            self.fields["loss_kind"].choices = [("", "—"), *loss_kinds]


class WriteOffForm(forms.Form):
    reason = forms.CharField(label=_("Reason for the write-off"), max_length=500,
                             widget=forms.Textarea(attrs={"rows": 3}))


class WriteOffDecisionForm(forms.Form):
    decision = forms.ChoiceField(label=_("Decision"), choices=[("", "—"), ("approve", _("Approve the write-off")),
                                                               ("reject", _("Reject"))])
    note = forms.CharField(label=_("Note"), max_length=NOTE_MAX, required=False)


class ProvisioningForm(forms.Form):
    provision_ratio = forms.CharField(label=_("Provision ratio (of the IP-pledge loan balance)"), max_length=12,
                                      help_text=_("A fraction, for example 0.025 for 2.5 %."))
    coverage_ratio = forms.CharField(label=_("Provision coverage (of the NPL balance)"), max_length=12,
                                     help_text=_("A multiple, for example 1.50 for 150 %."))
