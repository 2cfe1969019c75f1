"""Registry API: pledge applications, registered pledges, public search and certificates, the
journal, the registrar queue, notifications and webhooks."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext as _translate
from ninja import Field, Header, Router, Schema

from ippledge.core import permissions as perm
from ippledge.core import ratelimit
from ippledge.core.api_schemas import IsoDate, IsoDateTime, Money

from . import journal, review, search, services, stats
from .models import Checkpoint, Notification, Pledge, PledgeApplication, Webhook

router = Router(tags=["pledge registry"])
public_router = Router(tags=["public"])

IdType = Literal["uscc", "resident_id", "passport", "foreign_company", "other"]


class PartyIn(Schema):
    name: str
    id_type: IdType
    id_number: str
    address: str = ""
    country: str = "CN"
    domicile_in_china: bool | None = None


class RightRef(Schema):
    kind: str
    number: str


class DebtIn(Schema):
    type: str
    amount: str
    currency: str = "CNY"


class ConsentIn(Schema):
    right: RightRef
    owner_id_number: str


class DeclarationsIn(Schema):
    same_day_invention: bool | None = None
    invalidation_pending: bool | None = None


class ConfirmationsIn(Schema):
    pledgor: bool = False
    pledgee: bool = False


class AgentIn(Schema):
    name: str
    licence_no: str = ""


class ApplicationIn(Schema):
    pledgors: list[PartyIn]
    pledgees: list[PartyIn]
    debtor: PartyIn | None = None
    rights: list[RightRef]
    secured_debt: DebtIn
    debt_due_date: dt.date
    guarantee_scope: str
    contract_no: str
    co_owner_consents: list[ConsentIn] = []
    declarations: DeclarationsIn = DeclarationsIn()
    registration_term_end: dt.date | None = None
    agent: AgentIn | None = None
    confirmations: ConfirmationsIn = ConfirmationsIn()
    licence_contracts: list[RightRef] = []
    valuation_ref: str | None = None
    # Reference of the signed pledge contract (document number or file hash) for parties not on the platform.
    signed_contract_ref: str = ""


class ConfirmationIn(Schema):
    side: Literal["pledgor", "pledgee"]
    signed_contract_ref: str = ""


class CorrectionIn(Schema):
    pledgors: list[PartyIn] | None = None
    pledgees: list[PartyIn] | None = None
    debtor: PartyIn | None = None
    rights: list[RightRef] | None = None
    secured_debt: DebtIn | None = None
    debt_due_date: dt.date | None = None
    guarantee_scope: str | None = None
    contract_no: str | None = None
    co_owner_consents: list[ConsentIn] | None = None
    declarations: DeclarationsIn | None = None
    registration_term_end: dt.date | None = None
    agent: AgentIn | None = None
    confirmations: ConfirmationsIn | None = None
    licence_contracts: list[RightRef] | None = None


class ReasonOut(Schema):
    code: str
    right: str | None = None
    message: str


class DecisionOut(Schema):
    at: dt.datetime
    outcome: str
    reasons: list[ReasonOut]
    automatic: bool
    actor: str | None
    checker: str | None
    reason_text: str


class ApplicationOut(Schema):
    application_no: str
    status: str
    regime: str
    filing_date: dt.date
    filed_at: dt.datetime
    registration_no: str | None = None
    effective_date: dt.date | None = None
    reasons: list[ReasonOut]
    notes: list[ReasonOut] = []
    correction_deadline: dt.date | None = None
    # While awaiting confirmation: per side, the organisations still to confirm and whether a registrar
    # must confirm for a party off the platform.
    awaiting_confirmation: dict | None = None
    decisions: list[DecisionOut]
    data: dict


class DeclarationIn(Schema):
    proceed: bool = Field(alias="continue")


class ChangeIn(Schema):
    pledgors: list[PartyIn] | None = None
    pledgees: list[PartyIn] | None = None
    secured_debt: DebtIn | None = None
    guarantee_scope: str | None = None


class ExtensionIn(Schema):
    registration_term_end: dt.date
    guarantee_letter: str = ""
    confirmations: ConfirmationsIn | None = None


class CancellationIn(Schema):
    reason: Literal["repaid", "enforced", "waived", "contract_void", "other"]


class RevocationIn(Schema):
    reason: str


class ObjectionIn(Schema):
    statement: str
    objector_name: str = ""
    case_notice_ref: str = ""


class CaseNoticeIn(Schema):
    case_notice_ref: str


class ProposalIn(Schema):
    application_no: str
    action: Literal["refuse", "revoke", "clear"]
    reason: str
    code: Literal["other", "contract_unlawful", ""] = ""


class ProposalDecisionIn(Schema):
    accept: bool


class WebhookIn(Schema):
    url: str


class CertificateIn(Schema):
    right: str = ""
    party: str = ""
    party_id: str = ""
    registration_no: str = ""
    as_of: dt.datetime | None = None
    close: bool = False


# --- answers ----------------------------------------------------------------------------------

class RecordRightOut(Schema):
    kind: str
    number: str
    title: str


class RecordPartyOut(Schema):
    name: str
    id_type: str
    id_number: str  # masked for natural persons


class HistoryEntryOut(Schema):
    type: str
    at: IsoDateTime
    date: IsoDate | None
    data: dict[str, Any]


class PublicRecordOut(Schema):
    """A registration as public search shows it (served as its journal has it)."""
    registration_no: str
    official_registration_no: str | None
    status: str
    regime: str
    disclosure_only: bool
    registered_at: IsoDateTime
    effective_date: IsoDate | None
    registration_term_end: IsoDate | None
    rights: list[RecordRightOut]
    pledgors: list[RecordPartyOut]
    pledgees: list[RecordPartyOut]
    secured_amount: Money
    currency: str
    notes: list[Any]
    history: list[HistoryEntryOut]
    close_match: bool = False  # only on a close (not exact) name match


class PledgeVersionOut(Schema):
    version: int
    at: IsoDateTime
    reason: str
    data: dict[str, Any] | None  # the contract's data: for parties, the regulator and the office's registrars


class ObjectionSummaryOut(Schema):
    id: int
    objector: str
    filed_at: IsoDateTime
    expires_on: IsoDate | None
    case_notice: bool
    removed: bool


class PledgeOut(PublicRecordOut):
    """A registration with its versions, priority time, application and objections."""
    versions: list[PledgeVersionOut]
    priority_at: IsoDateTime
    application_no: str | None
    objections: list[ObjectionSummaryOut]


class PendingProposalOut(Schema):
    status: str
    proposal_id: int


class ObjectionOut(Schema):
    id: int
    expires_on: IsoDate | None
    case_notice: bool


class JournalReportOut(Schema):
    ok: bool
    entries: int
    head: str
    first_bad_seq: int | None
    checkpoints: int
    bad_checkpoints: list[Any]
    records_checked: int
    record_differences_total: int
    record_differences: list[Any]
    altered_certificates: list[Any]


class ProposalRefOut(Schema):
    id: int
    action: str
    code: str
    reason: str
    proposed_by: str


class QueueItemOut(Schema):
    application_no: str
    status: str
    regime: str
    filed_at: IsoDateTime
    pending_proposal: ProposalRefOut | None


class ProposalOut(Schema):
    id: int
    action: str
    status: str


class ProposalDecisionOut(Schema):
    id: int
    accepted: bool | None
    application_no: str
    status: str


class RegistrationTimeRowOut(Schema):
    kind: str
    month: str
    applications: int
    mean_seconds: float
    median_seconds: float
    p90_seconds: float
    max_seconds: float


class RegistrationTimeOut(Schema):
    year: int | None
    rows: list[RegistrationTimeRowOut]


class NotificationOut(Schema):
    id: int
    kind: str
    message: str
    data: dict[str, Any]
    created_at: IsoDateTime
    read: bool


class NewWebhookOut(Schema):
    id: int
    url: str
    secret: str  # shown once, to sign the deliveries


class WebhookOut(Schema):
    id: int
    url: str
    active: bool


class SearchOut(Schema):
    results: list[PublicRecordOut]
    as_of: IsoDateTime | None


class CertificateOut(Schema):
    certificate_no: str
    verification_code: str
    issued_at: IsoDateTime
    as_of: IsoDateTime
    criteria: dict[str, Any]
    results: list[dict[str, Any]] = Field(description="the public records found, as they stood when issued")


class CheckpointOut(Schema):
    date: IsoDate
    seq: int
    head: str
    signature: str
    public_key: str
    signed_at: IsoDateTime


class CheckpointsOut(Schema):
    public_key: str
    algorithm: str
    message_format: str
    checkpoints: list[CheckpointOut]


_PDF = {"responses": {200: {"description": "The certificate (JSON), or its PDF when the number ends in .pdf",
                              "content": {
                                  "application/json": {"schema": {"$ref": "#/components/schemas/CertificateOut"}},
                                  "application/pdf": {"schema": {"type": "string", "format": "binary"}}}}}}


def _reason(r: dict) -> dict:
    # The stored message is a catalog msgid (marked where it is defined): translate it at run time.
    text = _translate(r.get("message") or "")
    params = r.get("params") or {}
    text = text % params if params else text
    if r.get("text"):
        text = f"{text} {r['text']}"
    return {"code": r["code"], "right": r.get("right"), "message": text}


def application_out(app: PledgeApplication) -> dict:
    decisions = list(app.decisions.select_related("actor", "checker").order_by("id"))
    last = decisions[-1] if decisions else None
    pledge = Pledge.objects.filter(application=app).first()
    return {
        "application_no": app.application_no, "status": app.status, "regime": app.regime,
        "filing_date": app.filing_date, "filed_at": app.filed_at,
        "registration_no": pledge.registration_no if pledge else None,
        "effective_date": pledge.effective_date if pledge else None,
        "reasons": [_reason(r) for r in (last.reasons if last else [])],
        "notes": [_reason(n) for n in (last.notes if last else [])],
        "correction_deadline": app.correction_deadline,
        "awaiting_confirmation": services.outstanding_confirmations(app)
        if app.status == "awaiting_confirmation" else None,
        "decisions": [{"at": d.at, "outcome": d.outcome, "reasons": [_reason(r) for r in d.reasons],
                       "automatic": d.automatic, "actor": d.actor.username if d.actor else None,
                       "checker": d.checker.username if d.checker else None, "reason_text": d.reason_text}
                      for d in decisions],
        "data": app.data,
    }


@router.post("/pledge-applications", response={201: ApplicationOut},
             summary="File a pledge application; examined instantly (Idempotency-Key honoured)")
def file_application(request, payload: ApplicationIn, idempotency_key: str = Header("", alias="Idempotency-Key")):
    body = payload.dict()
    if body.get("agent"):
        body["agent"] = body["agent"]["name"]
    app = services.file_application(actor=request.auth, data=body, idempotency_key=idempotency_key)
    return 201, application_out(app)


@router.get("/pledge-applications/{application_no}", response=ApplicationOut)
def get_application(request, application_no: str):
    return application_out(services.get_application(actor=request.auth, application_no=application_no))


@router.post("/pledge-applications/{application_no}/confirmation", response=ApplicationOut,
             summary="A party confirms the joint application through its own users (a registrar for a party "
                     "on paper); examined at once when every party has confirmed")
def confirm(request, application_no: str, payload: ConfirmationIn):
    return application_out(services.confirm(actor=request.auth, application_no=application_no, side=payload.side,
                                            signed_contract_ref=payload.signed_contract_ref))


@router.post("/pledge-applications/{application_no}/declarations", response=ApplicationOut,
             summary='Declare whether to continue (body {"continue": true|false})')
def declare(request, application_no: str, payload: DeclarationIn):
    return application_out(services.declare(actor=request.auth, application_no=application_no,
                                            proceed=payload.proceed))


@router.post("/pledge-applications/{application_no}/corrections", response=ApplicationOut,
             summary="Amend the fields named in the correction notice; re-examined at once")
def correct(request, application_no: str, payload: CorrectionIn):
    changes = {k: v for k, v in payload.dict(exclude_unset=True).items()}
    if changes.get("agent"):
        changes["agent"] = changes["agent"]["name"]
    return application_out(services.correct(actor=request.auth, application_no=application_no, changes=changes))


@router.post("/pledge-applications/{application_no}/withdraw", response=ApplicationOut)
def withdraw(request, application_no: str):
    return application_out(services.withdraw(actor=request.auth, application_no=application_no))


@router.get("/pledges/{registration_no}", response=PledgeOut, exclude_unset=True,
            summary="A registered pledge with versions, history and rights")
def get_pledge(request, registration_no: str):
    pledge = services.get_pledge(registration_no)
    record = search.public_record(pledge)
    kinds = services.pledge_kinds(pledge)
    # The contract's data: for the parties, the regulator and the registrars of the right's own office.
    full = perm.is_regulator(request.auth) or perm.office_keeps(request.auth, kinds) or \
        pledge.parties.filter(org_id=request.auth.organisation_id).exists()
    record["versions"] = [{"version": v.version, "at": v.at.isoformat(), "reason": v.reason,
                           "data": v.data if full else None} for v in pledge.versions.all()]
    record["priority_at"] = pledge.registered_at.isoformat()
    record["application_no"] = pledge.application.application_no if pledge.application else None
    record["objections"] = [{"id": o.pk, "objector": o.objector_name, "filed_at": o.filed_at.isoformat(),
                             "expires_on": o.expires_on.isoformat() if o.expires_on else None,
                             "case_notice": bool(o.case_notice_ref), "removed": o.removed_at is not None}
                            for o in pledge.objections.all()]
    return record


@router.post("/pledges/{registration_no}/changes", response=PledgeOut, exclude_unset=True,
             summary="Change party names/addresses, secured debt or scope")
def change(request, registration_no: str, payload: ChangeIn):
    changes = payload.dict(exclude_unset=True)
    return get_pledge(request, services.change(actor=request.auth, registration_no=registration_no,
                                               changes=changes).registration_no)


@router.post("/pledges/{registration_no}/extensions", response=PledgeOut, exclude_unset=True,
             summary="Extend a trademark pledge's registration term")
def extend(request, registration_no: str, payload: ExtensionIn):
    services.extend(actor=request.auth, registration_no=registration_no,
                    registration_term_end=payload.registration_term_end, guarantee_letter=payload.guarantee_letter,
                    confirmations=payload.confirmations.dict() if payload.confirmations else None)
    return get_pledge(request, registration_no)


@router.post("/pledges/{registration_no}/cancellation", response=PledgeOut, exclude_unset=True,
             summary="Cancel a registration (注销)")
def cancel(request, registration_no: str, payload: CancellationIn):
    services.cancel(actor=request.auth, registration_no=registration_no, reason=payload.reason)
    return get_pledge(request, registration_no)


@router.post("/pledges/{registration_no}/revocation", response={200: PledgeOut, 202: PendingProposalOut}, exclude_unset=True,
             summary="Revoke (registrar; a second registrar's identical call confirms)")
def revoke(request, registration_no: str, payload: RevocationIn):
    state, proposal = review.revoke_by_registration(actor=request.auth, registration_no=registration_no,
                                                    reason=payload.reason)
    if state == "pending_confirmation":
        return 202, {"status": state, "proposal_id": proposal.pk}
    return 200, get_pledge(request, registration_no)


@router.post("/pledges/{registration_no}/objections", response={201: ObjectionOut}, summary="File an objection")
def object_to(request, registration_no: str, payload: ObjectionIn):
    o = services.object_to(actor=request.auth, registration_no=registration_no, statement=payload.statement,
                           objector_name=payload.objector_name, case_notice_ref=payload.case_notice_ref)
    return 201, {"id": o.pk, "expires_on": o.expires_on.isoformat() if o.expires_on else None,
                 "case_notice": bool(o.case_notice_ref)}


@router.post("/pledges/{registration_no}/objections/{objection_id}/case-notice", response=ObjectionOut,
             summary="Attach a case notice")
def case_notice(request, registration_no: str, objection_id: int, payload: CaseNoticeIn):
    o = services.attach_case_notice(actor=request.auth, registration_no=registration_no, objection_id=objection_id,
                                    case_notice_ref=payload.case_notice_ref)
    return {"id": o.pk, "expires_on": None, "case_notice": True}


@router.get("/registry/journal/verify", response=JournalReportOut, summary="Prove the register: journal chain, checkpoints, every public "
                                               "record against its journal, certificate seals")
def verify_journal(request):
    # A full verification reads every record: for the registrars, the regulator and the operator.
    perm.require_role(request.auth, perm.REGISTRARS | perm.REGULATORS,
                      _("Only registrars, regulators and administrators verify the register."))
    return journal.report(max_listed=1000)


@router.get("/registry/queue", response=list[QueueItemOut], summary="Registrar queue: cases a person must look at")
def queue(request):
    perm.require_registrar(request.auth)
    return [{"application_no": a.application_no, "status": a.status, "regime": a.regime,
             "filed_at": a.filed_at.isoformat(),
             "pending_proposal": next(({"id": p.pk, "action": p.action, "code": p.code, "reason": p.reason,
                                        "proposed_by": p.proposed_by.username}
                                       for p in a.proposals.all() if p.decided_at is None), None)}
            for a in review.queue(request.auth)[:500]]


@router.post("/registry/proposals", response={201: ProposalOut}, summary="Propose a refusal, revocation or clearance (maker)")
def propose(request, payload: ProposalIn):
    p = review.propose(actor=request.auth, application_no=payload.application_no, action=payload.action,
                       reason=payload.reason, code=payload.code)
    return 201, {"id": p.pk, "action": p.action, "status": "pending_confirmation"}


@router.post("/registry/proposals/{proposal_id}/decision", response=ProposalDecisionOut,
             summary="Confirm or reject a proposal (checker)")
def decide(request, proposal_id: int, payload: ProposalDecisionIn):
    p = review.decide(actor=request.auth, proposal_id=proposal_id, accept=payload.accept)
    return {"id": p.pk, "accepted": p.accepted, "application_no": p.application.application_no,
            "status": p.application.status}


@router.get("/registry/stats/registration-time", response=RegistrationTimeOut,
            summary="Filing-to-decision time per kind and month")
def registration_time(request, year: int | None = None):
    return stats.registration_time(year=year)


@router.get("/notifications", response=list[NotificationOut], summary="Your organisation's notifications")
def notifications(request, unread: bool = False):
    qs = Notification.objects.restrict(request.auth, "view")
    if unread:
        qs = qs.filter(read_at__isnull=True)
    return [{"id": n.pk, "kind": n.kind, "message": n.message, "data": n.data, "created_at": n.created_at.isoformat(),
             "read": n.read_at is not None} for n in qs[:200]]


@router.post("/webhooks", response={201: NewWebhookOut}, summary="Register a webhook for your organisation")
def add_webhook(request, payload: WebhookIn):
    hook = services.add_webhook(actor=request.auth, url=payload.url)
    return 201, {"id": hook.pk, "url": hook.url, "secret": hook.secret}


@router.get("/webhooks", response=list[WebhookOut], summary="Your organisation's webhooks")
def list_webhooks(request):
    return [{"id": h.pk, "url": h.url, "active": h.active} for h in Webhook.objects.restrict(request.auth, "view")]


# --- public -------------------------------------------------------------------------------------

@public_router.get("/pledges", auth=None, response=SearchOut, exclude_unset=True,
                   summary="Public search of registered pledges")
def public_search(request, right: str = "", party: str = "", party_id: str = "", registration_no: str = "",
                  as_of: str = "", close: bool = False):
    ratelimit.check("public-search", request)
    criteria = search.parse_criteria({"right": right, "party": party, "party_id": party_id,
                                      "registration_no": registration_no, "as_of": as_of, "close": close})
    return {"results": search.search(criteria), "as_of": criteria.as_of.isoformat() if criteria.as_of else None}


@public_router.get("/pledges/{registration_no}", auth=None, response=PublicRecordOut, exclude_unset=True,
                   summary="Public record of one registration")
def public_pledge(request, registration_no: str):
    ratelimit.check("public-search", request)
    return search.public_record(services.get_pledge(search.reference(registration_no)))


@public_router.post("/search-certificates", auth=None, response={201: CertificateOut}, summary="Issue a search certificate")
def issue_certificate(request, payload: CertificateIn):
    ratelimit.check("public-certificate", request)
    cert = search.issue_certificate(payload.dict())
    return 201, search.certificate_body(cert)


@public_router.get("/search-certificates/{certificate_no}", auth=None, response=CertificateOut, openapi_extra=_PDF,
                   summary="Retrieve a certificate (add .pdf to the number for the PDF)")
def get_certificate(request, certificate_no: str, code: str = ""):
    ratelimit.check("public-search", request)
    if certificate_no.lower().endswith(".pdf"):
        from .documents import certificate_pdf

        cert = search.find_certificate(certificate_no[:-4], code)
        return HttpResponse(certificate_pdf(cert, request=request), content_type="application/pdf", headers={
            "Content-Disposition": f'inline; filename="{cert.certificate_no}.pdf"'})
    return search.certificate_body(search.find_certificate(certificate_no, code))


@public_router.get("/registry/checkpoints", auth=None, response=CheckpointsOut,
                   summary="Signed daily checkpoints of the journal head")
def checkpoints(request, limit: int = 100):
    from . import signing

    return {"public_key": signing.public_key_hex(), "algorithm": "Ed25519",
            "message_format": "ippledge-registry-checkpoint|{date}|{seq}|{head}",
            "checkpoints": [{"date": c.date.isoformat(), "seq": c.seq, "head": c.head, "signature": c.signature,
                             "public_key": c.public_key, "signed_at": c.signed_at.isoformat()}
                            for c in Checkpoint.objects.all()[: max(1, min(limit, 1000))]]}
