"""Translated labels for registry statuses, reason codes and kinds, used by pages."""

from django.utils.translation import gettext_lazy as _

from ippledge.core import vocabulary
from ippledge.rights.models import RightKind

KIND_LABELS = dict(RightKind.choices)

STATUS_LABELS = {
    "registered": _("Registered"), "refused": _("Refused"), "correction_required": _("Correction required"),
    "awaiting_declaration": _("Awaiting declaration"), "withdrawn": _("Withdrawn"), "abandoned": _("Deemed abandoned"),
    "awaiting_confirmation": _("Awaiting the other party's confirmation"),
    "cancelled": _("Cancelled"), "lapsed": _("Lapsed"), "revoked": _("Revoked"),
    "changed": _("Changed"), "extended": _("Extended"), "objection_filed": _("Objection filed"),
    "objection_removed": _("Objection removed"), "objection_case_notice": _("Case notice attached"),
}

REASON_LABELS = {
    "pledgor_not_owner": _("Pledgor is not the owner"), "right_not_in_force": _("Right not in force"),
    "not_granted": _("Not granted"), "annuity_unpaid": _("Annuity unpaid"),
    "suspended_or_preserved": _("Suspended or preserved"),
    "debt_due_after_right_term": _("Debt due after the right's term"), "contract_incomplete": _("Contract incomplete"),
    "co_owner_consent_missing": _("Co-owner consent missing"), "already_pledged": _("Already pledged"),
    "same_day_invention_declaration_required": _("Same-day invention: declaration required"),
    "invalidation_pending_declaration_required": _("Invalidation pending: declaration required"),
    "similar_marks_not_included": _("Similar marks not included"), "seized_or_frozen": _("Seized or frozen"),
    "ownership_dispute": _("Ownership dispute"), "licence_contract_missing": _("Licence contract missing"),
    "joint_application_missing": _("Joint application missing"),
    "foreign_party_needs_agent": _("Foreign party needs an agent"), "contract_unlawful": _("Contract unlawful"),
    "other": _("Other"),
}

vocabulary.register("right_kind", KIND_LABELS)
vocabulary.register("registry_status", STATUS_LABELS)
vocabulary.register("refusal_reason", REASON_LABELS)
