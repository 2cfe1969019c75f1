"""The registrar queue and maker-checker decisions.

A registrar (the maker) proposes to refuse an open application (``other`` / ``contract_unlawful``),
to revoke a registered pledge, or to clear a case from the queue; a different registrar (the
checker) confirms or rejects.  Both steps are recorded with who, when and why.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from ippledge.core import audit, limits
from ippledge.core import permissions as perm
from ippledge.core.errors import Conflict, NotFound, ValidationFailed
from ippledge.core.permissions import Actor

from . import examination, journal, services
from .models import (
    OFFICE_REGIMES,
    OPEN_STATUSES,
    ApplicationStatus,
    PledgeApplication,
    PledgeStatus,
    ReviewProposal,
)

REFUSAL_CODES = ("other", "contract_unlawful")


def queue(actor: Actor | None = None):
    """Cases a person must look at; a registrar sees its own office's cases only."""
    qs = PledgeApplication.objects.filter(needs_review=True)
    if actor is not None and not actor.is_platform_admin:
        org = getattr(actor, "organisation", None)
        qs = qs.filter(regime__in=OFFICE_REGIMES.get(org.kind if org else "", ()))
    proposals = Prefetch("proposals", queryset=ReviewProposal.objects.select_related("proposed_by"))
    return qs.select_related("filed_by_org").prefetch_related(proposals).order_by("filed_at")


@transaction.atomic
def propose(*, actor: Actor, application_no: str, action: str, reason: str, code: str = "") -> ReviewProposal:
    perm.require_registrar(actor)
    app = services.get_application(actor=actor, application_no=application_no, for_update=True)
    perm.require_office(actor, services.kinds_of(app))
    reason = limits.text(reason, field="reason", max_length=2000)
    if not reason:
        raise ValidationFailed(_("Give the reason for the decision."), fields={"reason": [_("This field is required.")]})
    if action == ReviewProposal.Action.REFUSE:
        if app.status not in OPEN_STATUSES:
            raise Conflict(_("Only an undecided application can be refused; revoke a registered pledge instead."),
                           code="not_refusable")
        if code not in REFUSAL_CODES:
            raise ValidationFailed(_("Choose other or contract_unlawful."), fields={"code": [_("Not allowed.")]})
    elif action == ReviewProposal.Action.REVOKE:
        if app.status != ApplicationStatus.REGISTERED or app.pledge.status != PledgeStatus.REGISTERED:
            raise Conflict(_("Only a registered pledge can be revoked."), code="not_revocable")
    elif action != ReviewProposal.Action.CLEAR:
        raise ValidationFailed(_("Unknown decision."), fields={"action": [_("Choose refuse, revoke or clear.")]})
    if app.proposals.filter(decided_at__isnull=True).exists():
        raise Conflict(_("A decision on this case is already waiting for a checker."), code="proposal_pending")
    proposal = ReviewProposal.objects.create(application=app, action=action, code=code, reason=reason[:2000],
                                             proposed_by=actor, proposed_at=timezone.now())
    journal.append(kind="review.proposed", ref=app.application_no, payload={"action": action, "code": code})
    audit.record(actor=actor, action="review.propose", obj=app, object_repr=app.application_no,
                 after={"action": action, "code": code, "reason": reason})
    return proposal


@transaction.atomic
def decide(*, actor: Actor, proposal_id: int, accept: bool) -> ReviewProposal:
    perm.require_registrar(actor)
    proposal = ReviewProposal.objects.select_for_update().select_related("application").filter(pk=proposal_id).first()
    if proposal is None or proposal.decided_at is not None:
        raise NotFound(_("No such pending proposal."), code="proposal_not_found")
    # Maker and checker both belong to the office that keeps the rights.
    perm.require_office(actor, services.kinds_of(proposal.application))
    if proposal.proposed_by_id == actor.pk:
        raise Conflict(_("A different registrar must check this decision."), code="checker_must_differ")
    proposal.decided_by, proposal.decided_at, proposal.accepted = actor, timezone.now(), accept
    proposal.save(update_fields=["decided_by", "decided_at", "accepted"])
    app = proposal.application
    if accept:
        _carry_out(proposal, checker=actor)
    journal.append(kind="review.decided", ref=app.application_no,
                   payload={"proposal": proposal.pk, "accepted": accept, "action": proposal.action})
    audit.record(actor=actor, action="review.decide", obj=app, object_repr=app.application_no,
                 after={"proposal": proposal.pk, "accepted": accept})
    return proposal


def _carry_out(proposal: ReviewProposal, *, checker: Actor) -> None:
    app = proposal.application
    if proposal.action == ReviewProposal.Action.REFUSE:
        reasons = [{"code": proposal.code, "message": examination.MESSAGES[proposal.code], "params": {},
                    "right": None, "text": proposal.reason}]
        services._close_application(app, ApplicationStatus.REFUSED, actor=proposal.proposed_by,
                                    reason_text=proposal.reason, reasons=reasons, checker=checker)
    elif proposal.action == ReviewProposal.Action.REVOKE:
        services.revoke_now(app.pledge, actor=proposal.proposed_by, checker=checker, reason=proposal.reason)
        app.needs_review = False
        app.save(update_fields=["needs_review"])
    else:
        app.needs_review = False
        app.save(update_fields=["needs_review"])


@transaction.atomic
def revoke_by_registration(*, actor: Actor, registration_no: str, reason: str) -> tuple[str, ReviewProposal]:
    """API form of revocation: the first registrar proposes, a second one's identical call confirms."""
    perm.require_registrar(actor)
    pledge = services.get_pledge(registration_no)
    perm.require_office(actor, services.pledge_kinds(pledge))
    if pledge.application is None:
        raise Conflict(_("Imported records are revoked at their registry of record."), code="not_revocable")
    pending = pledge.application.proposals.filter(action=ReviewProposal.Action.REVOKE, decided_at__isnull=True).first()
    if pending is None:
        return "pending_confirmation", propose(actor=actor, application_no=pledge.application.application_no,
                                               action=ReviewProposal.Action.REVOKE, reason=reason)
    return "revoked", decide(actor=actor, proposal_id=pending.pk, accept=True)
