"""Vocabularies of risk sharing that live outside a choices field: the names templates give their
parties, the caps that can cut a party's share, and the events that recognise a loss (a name that a
scheme's keeper typed shows as itself)."""

from django.utils.translation import gettext_lazy as _

from ippledge.core import vocabulary

from .models import PartyKind

# Party names used by the shipped templates (data/templates.json) and the services' own "bank".
vocabulary.register("risk_party_name", {
    **{kind.value: kind.label for kind in PartyKind},
    "province": _("Provincial fund"),
    "city": _("City fund"),
})

vocabulary.register("risk_cap", {
    "per_loan_cap": _("Per-loan cap"),
    "borrower_year_cap": _("Per borrower per year"),
    "annual_cap": _("Scheme's total per year"),
    "bank_annual_cap": _("Per bank per year"),
    "balance": _("Fund balance"),
})

vocabulary.register("risk_loss_event", {
    "disposal": _("Disposal of the collateral"),
    "court_ruling": _("Court ruling"),
    "bankruptcy": _("Bankruptcy"),
    "settlement": _("Settlement"),
    "other": _("Other"),
    "write_off": _("Write-off"),
    "npl": _("Classified non-performing"),
})

# Which test set a bank's required provision (risksharing.engine.provisioning).
vocabulary.register("provision_binding", {
    "provision_ratio": _("Provision ratio"),
    "coverage_ratio": _("Provision coverage"),
})
