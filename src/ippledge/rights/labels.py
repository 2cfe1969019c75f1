"""Translated labels of legal-event types, for pages and documents."""

from django.utils.translation import gettext_lazy as _

from ippledge.core import vocabulary

EVENT_LABELS = {
    "granted": _("Granted"),
    "annuity_paid": _("Annuity paid"),
    "terminated_unpaid_annuity": _("Terminated for unpaid annuity"),
    "invalidation_requested": _("Invalidation requested"),
    "invalidation_decided": _("Invalidation decided"),
    "suspended": _("Procedure suspended"),
    "suspension_lifted": _("Suspension lifted"),
    "preserved": _("Preserved by court"),
    "preservation_lifted": _("Preservation lifted"),
    "seized": _("Seized or frozen"),
    "seizure_lifted": _("Seizure lifted"),
    "ownership_dispute_filed": _("Ownership dispute filed"),
    "ownership_dispute_closed": _("Ownership dispute closed"),
    "transferred": _("Transferred"),
    "owner_renamed": _("Owner renamed"),
    "licensed": _("Licence recorded"),
    "licence_cancelled": _("Licence cancelled"),
    "open_licence_declared": _("Open licence declared"),
    "open_licence_withdrawn": _("Open licence withdrawn"),
    "renewed": _("Renewed"),
    "expired": _("Expired"),
    "revoked": _("Revoked"),
    "cancelled": _("Cancelled"),
    "abandoned": _("Abandoned"),
    "litigation_filed": _("Litigation filed"),
    "litigation_closed": _("Litigation closed"),
    "restored": _("Restored"),
    "unmapped": _("Other official record"),
}

OUTCOME_LABELS = {"invalid": _("wholly invalid"), "partly_invalid": _("partly invalid"), "maintained": _("maintained in force")}

vocabulary.register("legal_event", EVENT_LABELS)
vocabulary.register("invalidation_outcome", OUTCOME_LABELS)

# A right's derived legal state and its flags (rules.derive), as the register's pages name them.
LEGAL_STATE_LABELS = {
    "in_force": _("In force"), "pending": _("Pending"), "annuity_grace": _("Annuity overdue (grace period)"),
    "terminated": _("Terminated"), "invalidated": _("Invalidated"), "partly_invalidated": _("Partly invalidated"),
    "expired": _("Expired"), "expired_renewable": _("Expired, renewable"), "revoked": _("Revoked"),
    "cancelled": _("Cancelled"),
}

FLAG_LABELS = {
    "invalidation_pending": _("Invalidation pending"), "suspended": _("Suspended"),
    "preserved": _("Preserved by court"), "seized": _("Seized"), "ownership_dispute": _("Ownership dispute"),
    "litigation": _("In litigation"), "licensed": _("Licensed"), "open_licence": _("Open licence"),
}

vocabulary.register("legal_state", LEGAL_STATE_LABELS)
vocabulary.register("right_flag", FLAG_LABELS)
