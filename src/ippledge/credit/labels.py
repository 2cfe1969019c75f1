"""Translated labels for the due-diligence checklist and its findings."""

from django.utils.translation import gettext_lazy as _

from ippledge.core import vocabulary

DD_LABELS = {
    "ownership": _("Ownership of the rights"),
    "legal_state": _("Legal state"),
    "encumbrances": _("Existing pledges and encumbrances"),
    "term_vs_loan": _("Term of the rights against the loan term"),
    "licences": _("Licences"),
    "litigation": _("Litigation, disputes and preservation"),
    "annuity": _("Annuity status"),
}
RESULT_LABELS = {"ok": _("No problem"), "issue": _("Problem found"), "unknown": _("Not known from the register")}

vocabulary.register("dd_item", DD_LABELS)
vocabulary.register("dd_result", RESULT_LABELS)
