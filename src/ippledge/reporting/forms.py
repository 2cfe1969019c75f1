"""Page forms of the statistics: a bank's overall loan figures for the NPL tolerance comparison.

The form reads what a page can read (dates, numbers, required fields) in the user's language; the
service (:func:`ippledge.reporting.services.submit_overall`) still decides everything, and its field
errors are put next to the form's fields by :func:`ippledge.core.forms.apply_error`, never as codes or
paths."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from ippledge.core.forms import BoundedDateField

YUAN_PER_WAN = Decimal(10_000)


def _wan_field(label, *, required: bool = True, help_text="") -> forms.DecimalField:
    # 万元 with up to six decimals is exact to the fen.
    return forms.DecimalField(label=label, required=required, min_value=0, max_digits=22, decimal_places=6,
                              help_text=help_text,
                              widget=forms.NumberInput(attrs={"step": "0.000001", "inputmode": "decimal"}))


class OverallForm(forms.Form):
    """A bank's whole-book balances at a period end (all its lending, not only IP-pledge loans), in 万元."""

    period_end = BoundedDateField(label=_("Period end"),
                                  help_text=_("The last day of the quarter the figures are for."))
    total_loan_balance = _wan_field(_("Total loan balance (万元)"),
                                    help_text=_("All of the bank's loans outstanding at the period end."))
    npl_balance = _wan_field(_("Non-performing loan balance (万元)"),
                             help_text=_("Loans classified substandard, doubtful or loss."))
    inclusive_loan_balance = _wan_field(_("Inclusive small and micro loan balance (万元, optional)"), required=False)
    inclusive_npl_balance = _wan_field(_("Inclusive small and micro NPL balance (万元, optional)"), required=False)

    def clean(self):
        data = super().clean()
        total, npl = data.get("total_loan_balance"), data.get("npl_balance")
        if total is not None and total <= 0:
            self.add_error("total_loan_balance", _("The total loan balance must be more than zero."))
        if total is not None and npl is not None and npl > total:
            self.add_error("npl_balance", _("The NPL balance cannot be larger than the total loan balance."))
        inc_total, inc_npl = data.get("inclusive_loan_balance"), data.get("inclusive_npl_balance")
        if inc_npl is not None and inc_total is None:
            self.add_error("inclusive_loan_balance", _("Give the inclusive loan balance with its NPL balance."))
        return data

    def service_data(self) -> dict:
        """The figures as the service takes them: yuan (decimal strings) and an ISO date."""
        d = self.cleaned_data

        def yuan(wan):
            return None if wan is None else str((wan * YUAN_PER_WAN).normalize().quantize(Decimal("0.01")))

        return {"period_end": d["period_end"].isoformat(), "total_loan_balance": yuan(d["total_loan_balance"]),
                "npl_balance": yuan(d["npl_balance"]), "inclusive_loan_balance": yuan(d.get("inclusive_loan_balance")),
                "inclusive_npl_balance": yuan(d.get("inclusive_npl_balance"))}
