"""Business actions of the pledge registry: file, examine, declare, correct, withdraw, register,
change, extend, cancel, revoke, object, search and certify.

Every action runs in one transaction, appends to the hash-chained journal and leaves an audit row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from ippledge.core import audit, business_date, identifiers, limits, money, numbers
from ippledge.core import permissions as perm
from ippledge.core.actors import user_or_none as _user
from ippledge.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ippledge.core.models import Organisation, User
from ippledge.core.permissions import Actor
from ippledge.core.roles import Role
from ippledge.rights import marks, rules
from ippledge.rights import services as rights_services
from ippledge.rights.models import Right

from . import examination, journal, notify, party_notices
from .filing import PledgeFiling
from .models import (
    OPEN_STATUSES,
    ApplicationConfirmation,
    ApplicationParty,
    ApplicationRight,
    ApplicationStatus,
    Decision,
    Objection,
    Pledge,
    PledgeApplication,
    PledgeEvent,
    PledgeParty,
    PledgeRight,
    PledgeStatus,
    PledgeVersion,
    Regime,
)
from .parsing import (
    CANCELLATION_REASONS,
    Errors,
    clean_application,
    clean_debt,
    clean_parties,
    control_characters,
    decimal_or_none,
)

REGIME_DIGIT = {Regime.PATENT: "1", Regime.TRADEMARK: "2", Regime.COPYRIGHT: "3", Regime.DISCLOSURE: "9"}
OBJECTION_DAYS = 30


# --- helpers -------------------------------------------------------------------------------------


def kinds_of(app: PledgeApplication) -> set[str]:
    """The kinds of right an application pledges (whose office examines it)."""
    return {r["kind"] for r in app.data.get("rights") or []}


def pledge_kinds(pledge: Pledge) -> set[str]:
    return set(pledge.pledge_rights.values_list("right__kind", flat=True))


def _now():
    return timezone.now()


def _digest(data: dict) -> str:
    return hashlib.sha256(journal.canonical(data).encode()).hexdigest()


def _orgs_by_uscc(data: dict) -> dict[str, Organisation]:
    """The platform organisations named as parties (by USCC), in one query."""
    usccs = {p["id_number"] for role in ("pledgors", "pledgees", "debtor") for p in
             (data.get(role) if isinstance(data.get(role), list) else [data.get(role)]) if p and
             p.get("id_type") == "uscc"}
    return {o.uscc: o for o in Organisation.objects.filter(uscc__in=usccs)} if usccs else {}


def _party_orgs(data: dict, orgs: dict[str, Organisation] | None = None) -> list[tuple[Organisation, str]]:
    orgs = _orgs_by_uscc(data) if orgs is None else orgs
    return [(orgs[p["id_number"]], role[:-1]) for role in ("pledgors", "pledgees") for p in data.get(role) or []
            if p.get("id_type") == "uscc" and p["id_number"] in orgs]


SIDES = ("pledgor", "pledgee")
# Shown as the reasons of an application that waits for a party (translated when shown).
PENDING_MESSAGES = {"pledgor": gettext_noop("Waiting for the pledgor's confirmation."),
                    "pledgee": gettext_noop("Waiting for the pledgee's confirmation.")}
REQUEST_MESSAGES = {"pledgor": gettext_noop("Pledge application %(no)s awaits your confirmation as pledgor."),
                    "pledgee": gettext_noop("Pledge application %(no)s awaits your confirmation as pledgee.")}


def _related_org_ids(org_id: int | None) -> set[int]:
    """An organisation with its head office and its branches: a branch files for its bank."""
    if org_id is None:
        return set()
    ids = {org_id}
    parent = Organisation.objects.filter(pk=org_id).values_list("parent_id", flat=True).first()
    if parent:
        ids.add(parent)
    ids.update(Organisation.objects.filter(parent_id=org_id).values_list("pk", flat=True))
    return ids


def _actor_sides(actor: Actor, data: dict, orgs: dict[str, Organisation]) -> dict[str, set[int]]:
    """The party organisations the actor's organisation stands for, per side."""
    related = _related_org_ids(getattr(actor, "organisation_id", None))
    sides: dict[str, set[int]] = {side: set() for side in SIDES}
    for org, side in _party_orgs(data, orgs):
        if org.pk in related:
            sides[side].add(org.pk)
    return sides


def _is_agent(actor: Actor, data: dict) -> bool:
    org = getattr(actor, "organisation", None)
    agent = data.get("agent") or ""
    return bool(org and agent and identifiers.normalise_name(agent) == org.name_normalised)


def _required_confirmations(data: dict, orgs: dict[str, Organisation]) -> tuple[dict[str, set[int]], set[str]]:
    """Per side, the platform organisations (with active users) that must confirm through their users,
    and the sides with a party off the platform, confirmed on paper by a registrar."""
    with_users = set(User.objects.filter(organisation__in=list(orgs.values()), is_active=True)
                     .values_list("organisation_id", flat=True)) if orgs else set()
    platform: dict[str, set[int]] = {side: set() for side in SIDES}
    paper: set[str] = set()
    for side in SIDES:
        for p in data.get(f"{side}s") or []:
            org = orgs.get(p["id_number"]) if p["id_type"] == "uscc" else None
            if org is not None and org.pk in with_users:
                platform[side].add(org.pk)
            else:
                paper.add(side)
    return platform, paper


def pending_confirmations(app: PledgeApplication) -> dict[str, dict]:
    """Who still has to confirm, per side: ``{"orgs": {org_id: Organisation}, "paper": bool}``."""
    orgs = _orgs_by_uscc(app.data)
    platform, paper = _required_confirmations(app.data, orgs)
    done = list(app.confirmations.filter(round=app.confirmation_round).values_list("side", "org_id"))
    by_pk = {o.pk: o for o in orgs.values()}
    result = {}
    for side in SIDES:
        confirmed = {org_id for s, org_id in done if s == side}
        result[side] = {"orgs": {i: by_pk[i] for i in platform[side] - confirmed},
                        "paper": side in paper and None not in confirmed}
    return result


def outstanding_confirmations(app: PledgeApplication) -> dict:
    """For display: ``{"pledgor": {"orgs": [...names], "paper": bool}, "pledgee": ...}``."""
    return {side: {"orgs": sorted(o.name for o in todo["orgs"].values()), "paper": todo["paper"]}
            for side, todo in pending_confirmations(app).items()}


def sides_actor_may_confirm(actor: Actor, app: PledgeApplication) -> list[str]:
    """The sides this user could confirm now (for pages: which confirm buttons to offer)."""
    if app.status != ApplicationStatus.AWAITING_CONFIRMATION or not perm.is_user(actor):
        return []
    pending = pending_confirmations(app)
    if perm.is_registrar(actor):
        return [s for s in SIDES if pending[s]["paper"] and perm.office_keeps(actor, kinds_of(app))]
    mine = _actor_sides(actor, app.data, _orgs_by_uscc(app.data))
    return [s for s in SIDES if mine[s] & set(pending[s]["orgs"])]


def _fully_confirmed(outstanding: dict) -> bool:
    return not any(v["orgs"] or v["paper"] for v in outstanding.values())


def _confirm(app: PledgeApplication, *, side: str, via: str, actor: Actor, org_id: int | None = None,
             signed_contract_ref: str = "") -> bool:
    """Record one confirmation once per round; False when it was already there."""
    exists = app.confirmations.filter(round=app.confirmation_round, side=side, org_id=org_id).exists()
    if not exists:
        ApplicationConfirmation.objects.create(application=app, round=app.confirmation_round, side=side,
                                               org_id=org_id, via=via, user=_user(actor),
                                               signed_contract_ref=signed_contract_ref, at=_now())
    return not exists


def _proceed_when_confirmed(app: PledgeApplication, *, actor: Actor, on: dt.date,
                            rights: list[Right] | None = None):
    """Examine at once when every party has confirmed; otherwise wait for the others (and ask them)."""
    pending = pending_confirmations(app)
    if _fully_confirmed(pending):
        data = dict(app.data)
        data["confirmations"] = {"pledgor": True, "pledgee": True}
        app.data = data
        app.save(update_fields=["data"])
        return _examine_and_apply(app, actor=actor, on=on, rights=rights)
    reasons = [{"code": "confirmation_pending", "params": {}, "right": None, "message": PENDING_MESSAGES[side]}
               for side in SIDES if pending[side]["orgs"] or pending[side]["paper"]]
    decision = Decision.objects.create(application=app, at=_now(), outcome=ApplicationStatus.AWAITING_CONFIRMATION,
                                       reasons=reasons, automatic=True, actor=_user(actor))
    if app.status != ApplicationStatus.AWAITING_CONFIRMATION:
        app.status = ApplicationStatus.AWAITING_CONFIRMATION
        app.correction_deadline = on + dt.timedelta(days=settings.REGISTRY_CORRECTION_DAYS)
    # A side off the platform is confirmed by a registrar from the signed contract: it joins the queue.
    app.needs_review = any(v["paper"] for v in pending.values())
    app.save(update_fields=["status", "correction_deadline", "needs_review"])
    for side in SIDES:
        for org in pending[side]["orgs"].values():
            notify.notify(org=org, kind="pledge.confirmation_requested",
                          message=_(REQUEST_MESSAGES[side]) % {"no": app.application_no},
                          data={"application_no": app.application_no, "side": side})
    journal.append(kind="application.awaiting_confirmation", ref=app.application_no,
                   payload={"sides": sorted(s for s in SIDES if pending[s]["orgs"] or pending[s]["paper"])})
    return decision


# --- examination ---------------------------------------------------------------------------------

def _similar_marks(right: Right, pledgor_ids: set[str], in_app: set[int], on: dt.date
                   ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The pledgor's other in-force marks on the same goods (same Nice class, a shared similarity
    group) that are identical or similar to this mark, and those whose likeness needs a registrar's
    judgement (Art. 3: both the marks and the goods must be alike)."""
    if right.kind != "trademark" or right.nice_class is None or not right.similar_groups:
        return (), ()
    groups = set(right.similar_groups)
    candidates = Right.objects.filter(kind="trademark", nice_class=right.nice_class,
                                      holders__id_number__in=pledgor_ids).exclude(pk__in=in_app).distinct()
    missing, to_judge = [], []
    for other in candidates.prefetch_related("events"):
        if not (groups & set(other.similar_groups or ())) or \
                not rules.in_force_for_pledge(rights_services.state_of(other, on)):
            continue
        likeness = marks.compare(right.mark_text, other.mark_text)
        if likeness in (marks.IDENTICAL, marks.SIMILAR):
            missing.append(other.number)
        elif likeness == marks.JUDGEMENT:
            to_judge.append(other.number)
    return tuple(sorted(missing)), tuple(sorted(to_judge))


def snapshot_rights(rights: list[Right], data: dict, on: dt.date) -> tuple[list[examination.RightSnapshot], dict]:
    pledgor_ids = {p["id_number"] for p in data["pledgors"]}
    in_app = {r.pk for r in rights}
    live = dict.fromkeys(in_app, 0)
    for right_id in PledgeRight.objects.filter(right_id__in=in_app, live=True).values_list("right_id", flat=True):
        live[right_id] += 1
    snaps, stored = [], {}
    for right in rights:
        state = rights_services.state_of(right, on)
        similar, to_judge = _similar_marks(right, pledgor_ids, in_app, on)
        snap = examination.RightSnapshot(
            kind=right.kind, number=right.number, legal_state=state.legal_state, flags=tuple(state.flags),
            term_end=state.term_end,
            owners=tuple(examination.Owner(o.name, o.id_type, o.id_number) for o in state.owners),
            same_day_invention=right.same_day_invention, live_pledges=live[right.pk],
            nice_class=right.nice_class, similar_groups=tuple(right.similar_groups or ()),
            similar_marks_missing=similar, similar_marks_to_judge=to_judge)
        snaps.append(snap)
        stored[snap.key] = {"legal_state": snap.legal_state, "flags": list(snap.flags),
                            "term_end": snap.term_end, "owners": [o.__dict__ for o in snap.owners],
                            "live_pledges": snap.live_pledges, "as_of": on,
                            "similar_marks_missing": list(snap.similar_marks_missing),
                            "similar_marks_to_judge": list(snap.similar_marks_to_judge)}
    return snaps, json.loads(journal.canonical(stored))


def _party(p: dict | None) -> examination.Party | None:
    if not p:
        return None
    return examination.Party(name=p["name"], id_type=p["id_type"], id_number=p["id_number"], address=p["address"],
                             country=p["country"], domicile_in_china=p["domicile_in_china"])


def _split_ref(ref: str) -> tuple[str, str]:
    kind, number = ref.split(":", 1)
    return kind, number


def build_application(data: dict, snaps: list, on: dt.date) -> examination.Application:
    debt = data.get("secured_debt") or {}
    decl = data.get("declarations") or {}
    conf = data.get("confirmations") or {}
    return examination.Application(
        pledgors=tuple(_party(p) for p in data["pledgors"]), pledgees=tuple(_party(p) for p in data["pledgees"]),
        debtor=_party(data.get("debtor")), debt_type=debt.get("type", ""),
        debt_amount=decimal_or_none(debt.get("amount")), currency=debt.get("currency", "CNY"),
        debt_due_date=dt.date.fromisoformat(data["debt_due_date"]) if data.get("debt_due_date") else None,
        guarantee_scope=data.get("guarantee_scope", ""), contract_no=data.get("contract_no", ""),
        rights=tuple(snaps),
        co_owner_consents=frozenset((*_split_ref(c["right"]), c["owner_id_number"])
                                    for c in data.get("co_owner_consents") or []),
        declare_same_day_invention=decl.get("same_day_invention"),
        declare_invalidation_pending=decl.get("invalidation_pending"),
        registration_term_end=dt.date.fromisoformat(data["registration_term_end"])
        if data.get("registration_term_end") else None,
        agent=data.get("agent") or "", confirm_pledgor=bool(conf.get("pledgor")),
        confirm_pledgee=bool(conf.get("pledgee")),
        licence_contracts=frozenset(_split_ref(r) for r in data.get("licence_contracts") or []),
        filing_date=on)


def _reasons_json(reasons) -> list[dict]:
    return [{"code": r.code, "message": r.message, "params": dict(r.params), "right": r.right} for r in reasons]


def _rights_of(app: PledgeApplication) -> list[Right]:
    return [ar.right for ar in app.application_rights.select_related("right").prefetch_related("right__events")]


def _examine_and_apply(app: PledgeApplication, *, actor: Actor, on: dt.date,
                       rights: list[Right] | None = None) -> Decision:
    """Run the examination on today's snapshot, record the decision and register if it passes."""
    rights = _rights_of(app) if rights is None else rights
    snaps, stored = snapshot_rights(rights, app.data, on)
    result = examination.examine(build_application(app.data, snaps, on))
    outcome, reasons = result.outcome, list(result.reasons)
    notes = _reasons_json(result.noted)
    pledge = None
    if outcome == "registered":
        position = journal.mark()
        try:
            with transaction.atomic():
                pledge = _register(app, rights, notes=notes, actor=actor, on=on)
        except IntegrityError:
            journal.drop_after(position)
            # Another registration on the same patent committed first: the database refused ours.
            outcome = "refused"
            reasons = [examination.Reason("already_pledged", examination.MESSAGES["already_pledged"], right=key)
                       for key in (s.key for s in snaps if s.kind in rules.PATENT_KINDS)]
    decision = Decision.objects.create(
        application=app, at=_now(), outcome=outcome, reasons=_reasons_json(reasons),
        notes=notes if outcome == "registered" else [], snapshot=stored, automatic=True, actor=_user(actor))
    app.status = outcome
    app.decided_at = decision.at
    # The operator's IPPLEDGE_REGISTRY_CORRECTION_DAYS (30 by default, as registry-rules §4 says).
    app.correction_deadline = on + dt.timedelta(days=settings.REGISTRY_CORRECTION_DAYS) \
        if outcome == "correction_required" and result.correction_days else None
    # Registered trademark and copyright pledges, and anything with notes, get a registrar's look
    # afterwards (T2/C2 "contract unlawful" is a human judgement); refusals need none.
    app.needs_review = outcome in OPEN_STATUSES or (outcome == "registered" and (
        app.regime in (Regime.TRADEMARK, Regime.COPYRIGHT) or bool(notes) or app.on_behalf))
    app.save(update_fields=["status", "decided_at", "correction_deadline", "needs_review"])
    journal.append(kind="application.decided", ref=app.application_no,
                   payload={"outcome": outcome, "reasons": [r["code"] for r in decision.reasons],
                            "registration_no": pledge.registration_no if pledge else None})
    return decision


def _registration_no(regime: str, on: dt.date) -> str:
    return numbers.next_number(f"registration-{on.year}-{regime}", f"Y{on.year}{REGIME_DIGIT[regime]}", 7)


def _version_data(data: dict) -> dict:
    keys = ("pledgors", "pledgees", "debtor", "secured_debt", "debt_due_date", "guarantee_scope", "contract_no",
            "registration_term_end", "agent", "valuation_ref")
    return {k: data.get(k) for k in keys}


def _index_parties(pledge: Pledge, data: dict, *, new: bool = False) -> None:
    if not new:
        PledgeParty.objects.filter(pledge=pledge).delete()
    orgs = _orgs_by_uscc(data)
    rows = []
    debtor = data.get("debtor") or (data["pledgors"][0] if data.get("pledgors") else None)
    for role, parties in (("pledgor", data["pledgors"]), ("pledgee", data["pledgees"]),
                          ("debtor", [debtor] if debtor else [])):
        for p in parties:
            rows.append(PledgeParty(pledge=pledge, role=role, name=p["name"],
                                    name_normalised=identifiers.normalise_name(p["name"]),
                                    id_type=p["id_type"], id_number=p["id_number"],
                                    org=orgs.get(p["id_number"]) if p["id_type"] == "uscc" else None))
    PledgeParty.objects.bulk_create(rows)


def _register(app: PledgeApplication, rights: list[Right], *, notes: list[dict], actor: Actor,
              on: dt.date) -> Pledge:
    now = _now()
    debt = app.data["secured_debt"]
    pledge = Pledge.objects.create(
        registration_no=_registration_no(app.regime, on), application=app, regime=app.regime,
        disclosure_only=app.regime == Regime.DISCLOSURE, registered_at=now, effective_date=on,
        registration_term_end=app.data.get("registration_term_end"),
        secured_amount=money.to_fen(debt["amount"]), currency=debt.get("currency", "CNY"), notes=notes)
    PledgeRight.objects.bulk_create([
        PledgeRight(pledge=pledge, right=r, live=True, exclusive=r.kind in rules.PATENT_KINDS) for r in rights])
    PledgeVersion.objects.create(pledge=pledge, version=1, at=now, data=_version_data(app.data),
                                 reason="registration", actor=_user(actor))
    _index_parties(pledge, app.data, new=True)
    _history(pledge, "registered", actor=actor, on=on, data={"application_no": app.application_no, "notes": notes})
    return pledge


def _history(pledge: Pledge, kind: str, *, actor: Actor | None, on: dt.date,
             data: dict | None = None) -> PledgeEvent:
    data = json.loads(journal.canonical(data or {}))
    event = PledgeEvent.objects.create(pledge=pledge, type=kind, at=_now(), date=on, data=data or {},
                                       actor=_user(actor))
    journal.append(kind=f"pledge.{kind}", ref=pledge.registration_no, payload={"date": on, **(data or {})})
    party_notices.tell_parties(pledge, kind, on)
    return event


# --- filing --------------------------------------------------------------------------------------

@transaction.atomic
def file_application(*, actor: Actor, data: PledgeFiling | dict, idempotency_key: str = "",
                     signed_by: tuple[int, ...] = ()) -> PledgeApplication:
    """File an application.  ``data``: a :class:`~.filing.PledgeFiling` (code) or the body the API and
    the pages send; both are read by the one parser.  ``signed_by``: organisations that signed the
    credit contract on the platform (passed by the credit workflow, never taken from a request body)."""
    body = data.to_data() if isinstance(data, PledgeFiling) else data
    with journal.buffered():
        return _file_application(actor=actor, data=body, idempotency_key=idempotency_key,
                                 signed_by=tuple(signed_by))


def _file_application(*, actor: Actor, data: dict, idempotency_key: str,
                      signed_by: tuple[int, ...] = ()) -> PledgeApplication:
    perm.require_role(actor, perm.PLEDGE_FILERS,
                      _("Only bank users, enterprise users and registrars may file pledge applications."))
    key = limits.text(idempotency_key, field="Idempotency-Key", max_length=100)
    request_hash = _digest(data)
    if key and _user(actor):
        existing = _replay(actor, key, request_hash)
        if existing is not None:
            return existing
    cleaned, rights = clean_application(data)
    regime = examination.regime_of([r.kind for r in rights])
    if regime == Regime.TRADEMARK and not cleaned["registration_term_end"]:
        raise ValidationFailed(_("A trademark pledge needs its registration term end."), code="validation_error",
                               fields={"registration_term_end": [_("This field is required.")]})
    orgs = _orgs_by_uscc(cleaned)
    trusted = perm.is_registrar(actor)
    if trusted:
        perm.require_office(actor, {r.kind for r in rights})
    sides = _actor_sides(actor, cleaned, orgs)
    if not trusted and not any(sides.values()) and not _is_agent(actor, cleaned):
        raise PermissionDenied(_("Only a pledgor, a pledgee or their named agent may file this application."),
                               code="filer_not_party")
    on = business_date.today()
    try:
        # A savepoint: a concurrent retry with the same Idempotency-Key loses the unique index race and
        # answers with the winner's application instead of a server error.
        with transaction.atomic():
            app = PledgeApplication.objects.create(
                application_no=numbers.next_number(f"application-{on.year}", f"ZY{on.year}", 7), regime=regime,
                status=ApplicationStatus.REFUSED, data=cleaned, filed_at=_now(), filing_date=on,
                filed_by=_user(actor), filed_by_org=getattr(actor, "organisation", None),
                on_behalf=actor.has_role(Role.REGISTRAR), idempotency_key=key if _user(actor) else "",
                request_hash=request_hash)
    except IntegrityError:
        existing = _replay(actor, key, request_hash) if key and _user(actor) else None
        if existing is None:
            raise
        return existing
    ApplicationRight.objects.bulk_create([ApplicationRight(application=app, right=r, position=i)
                                          for i, r in enumerate(rights)])
    ApplicationParty.objects.bulk_create([ApplicationParty(application=app, org=o, role=role)
                                          for o, role in _party_orgs(cleaned, orgs)])
    journal.append(kind="application.filed", ref=app.application_no,
                   payload={"regime": regime, "rights": cleaned["rights"], "filing_date": on})
    if trusted:
        # A paper application: the registrar has both signatures on paper, as the body says.
        decision = _examine_and_apply(app, actor=actor, on=on, rights=rights)
    else:
        # The body's confirmations speak only for the filer's own side; the others confirm themselves.
        body_conf = data.get("confirmations") or {}
        for side in SIDES:
            if body_conf.get(side):
                for org_id in sides[side]:
                    _confirm(app, side=side, via=ApplicationConfirmation.Via.FILER, actor=actor, org_id=org_id)
        # Parties that signed the credit contract on the platform (the credit workflow) have confirmed.
        for org, side in _party_orgs(cleaned, orgs):
            if org.pk in signed_by:
                _confirm(app, side=side, via=ApplicationConfirmation.Via.CONTRACT, actor=actor, org_id=org.pk)
        decision = _proceed_when_confirmed(app, actor=actor, on=on, rights=rights)
    audit.record(actor=actor, action="pledge_application.file", obj=app, object_repr=app.application_no,
                 after={"status": app.status, "reasons": [r["code"] for r in decision.reasons]})
    return app


def _replay(actor: Actor, key: str, request_hash: str) -> PledgeApplication | None:
    existing = PledgeApplication.objects.filter(filed_by=actor, idempotency_key=key).first()
    if existing is not None and existing.request_hash != request_hash:
        raise Conflict(_("This Idempotency-Key was used for a different application."),
                       code="idempotency_key_reused")
    return existing


@transaction.atomic
def confirm(*, actor: Actor, application_no: str, side: str, signed_contract_ref: str = "") -> PledgeApplication:
    """A party confirms a joint application through its own users; a registrar of the right's office
    confirms for parties that are not on the platform, from the signed contract."""
    perm.require_user(actor)
    if side not in SIDES:
        raise ValidationFailed(_("Choose pledgor or pledgee."), fields={"side": [_("Choose pledgor or pledgee.")]})
    app = get_application(actor=actor, application_no=application_no, for_update=True)
    ref = limits.text(signed_contract_ref, field="signed_contract_ref", max_length=limits.limit("MAX_SHORT_TEXT"))
    if perm.is_registrar(actor):
        perm.require_office(actor, kinds_of(app))
    else:
        if not actor.has_role(*perm.PARTY_USERS):
            raise PermissionDenied(_("Only the parties' own users may confirm."), code="confirmer_not_party")
        mine = _actor_sides(actor, app.data, _orgs_by_uscc(app.data))[side]
        if not mine:
            raise PermissionDenied(_("Your organisation is not a party on this side of the application."),
                                   code="confirmer_not_party")
    if app.status != ApplicationStatus.AWAITING_CONFIRMATION:
        raise Conflict(_("This application is not awaiting confirmation."), code="not_awaiting_confirmation")
    if perm.is_registrar(actor):
        if not pending_confirmations(app)[side]["paper"]:
            raise Conflict(_("The parties of this side are on the platform and confirm through their own users."),
                           code="party_confirms_itself")
        ref = ref or app.data.get("signed_contract_ref") or ""
        if not ref:
            raise ValidationFailed(_("Attach the signed contract to confirm for a party on paper."),
                                   code="signed_contract_required",
                                   fields={"signed_contract_ref": [_("This field is required.")]})
        added = _confirm(app, side=side, via=ApplicationConfirmation.Via.PAPER, actor=actor,
                         signed_contract_ref=ref)
    else:
        added = False
        for org_id in mine:
            added |= _confirm(app, side=side, via=ApplicationConfirmation.Via.PARTY, actor=actor, org_id=org_id)
    if not added:
        raise Conflict(_("Your confirmation is already recorded."), code="already_confirmed")
    journal.append(kind="application.confirmed", ref=app.application_no, payload={"side": side})
    _proceed_when_confirmed(app, actor=actor, on=business_date.today())
    audit.record(actor=actor, action="pledge_application.confirm", obj=app, object_repr=app.application_no,
                 after={"side": side, "status": app.status})
    return app


APPLICATION_NO = re.compile(r"ZY\d{11}")


def get_application(*, actor: Actor, application_no: str, for_update: bool = False) -> PledgeApplication:
    perm.require_user(actor)
    application_no = str(application_no or "").strip().upper()
    # Application numbers are ZY + year + seven digits; anything else (a NUL included, which PostgreSQL
    # cannot even compare) names no application.
    if not APPLICATION_NO.fullmatch(application_no):
        raise NotFound(_("No such pledge application."), code="application_not_found")
    pk = PledgeApplication.objects.restrict(actor, "view").filter(application_no=application_no) \
        .values_list("pk", flat=True).first()
    if pk is None:
        raise NotFound(_("No such pledge application."), code="application_not_found")
    # Lock by primary key: the visibility filter joins parties, which PostgreSQL cannot lock through.
    return (PledgeApplication.objects.select_for_update() if for_update else PledgeApplication.objects).get(pk=pk)


def _require_party_or_registrar(actor: Actor, app: PledgeApplication) -> None:
    if perm.is_registrar(actor):
        perm.require_office(actor, kinds_of(app))
        return
    orgs = {o.pk for o, _role in _party_orgs(app.data)} | {app.filed_by_org_id}
    if not orgs & _related_org_ids(actor.organisation_id):
        raise PermissionDenied(_("Only the parties or their filer may act on this application."))


@transaction.atomic
def declare(*, actor: Actor, application_no: str, proceed: bool) -> PledgeApplication:
    app = get_application(actor=actor, application_no=application_no, for_update=True)
    _require_party_or_registrar(actor, app)
    if app.status != ApplicationStatus.AWAITING_DECLARATION:
        raise Conflict(_("This application is not awaiting a declaration."), code="not_awaiting_declaration")
    data = dict(app.data)
    decl = dict(data.get("declarations") or {})
    codes = {r["code"] for r in app.decisions.order_by("-id").first().reasons}
    if "same_day_invention_declaration_required" in codes:
        decl["same_day_invention"] = proceed
    if "invalidation_pending_declaration_required" in codes:
        decl["invalidation_pending"] = proceed
    data["declarations"] = decl
    app.data = data
    app.save(update_fields=["data"])
    journal.append(kind="application.declared", ref=app.application_no, payload={"continue": proceed})
    _examine_and_apply(app, actor=actor, on=business_date.today())
    audit.record(actor=actor, action="pledge_application.declare", obj=app, object_repr=app.application_no,
                 after={"continue": proceed, "status": app.status})
    return app


@transaction.atomic
def correct(*, actor: Actor, application_no: str, changes: dict) -> PledgeApplication:
    app = get_application(actor=actor, application_no=application_no, for_update=True)
    _require_party_or_registrar(actor, app)
    if app.status != ApplicationStatus.CORRECTION_REQUIRED:
        raise Conflict(_("This application has no correction outstanding."), code="no_correction_required")
    on = business_date.today()
    if app.correction_deadline and on > app.correction_deadline:
        raise Conflict(_("The correction deadline has passed."), code="correction_deadline_passed")
    allowed = {"pledgors", "pledgees", "debtor", "secured_debt", "debt_due_date", "guarantee_scope", "contract_no",
               "co_owner_consents", "licence_contracts", "declarations", "registration_term_end", "agent",
               "confirmations", "rights"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationFailed(_("These fields cannot be corrected: %s") % ", ".join(sorted(unknown)),
                               fields={k: [_("Not correctable.")] for k in unknown})
    trusted = perm.is_registrar(actor)
    own_conf = changes.pop("confirmations", None) or {}
    if trusted and own_conf:
        changes["confirmations"] = own_conf  # a registrar corrects a paper application from the paper
    merged = {**app.data, **{k: v for k, v in changes.items() if v is not None}}
    cleaned, rights = clean_application(merged)
    if examination.regime_of([r.kind for r in rights]) != app.regime:
        raise ValidationFailed(_("A correction cannot change the kind of rights pledged."), code="mixed_regimes")
    material = {k for k in changes if k not in ("declarations", "confirmations")}
    if not trusted:
        cleaned["confirmations"] = {"pledgor": False, "pledgee": False}
        if material:
            # What the others confirmed is no longer what is filed: every party confirms again.
            app.confirmation_round += 1
    app.data = cleaned
    app.save(update_fields=["data", "confirmation_round"])
    ApplicationRight.objects.filter(application=app).delete()
    ApplicationRight.objects.bulk_create([ApplicationRight(application=app, right=r, position=i)
                                          for i, r in enumerate(rights)])
    ApplicationParty.objects.filter(application=app).delete()
    ApplicationParty.objects.bulk_create([ApplicationParty(application=app, org=o, role=role)
                                          for o, role in _party_orgs(cleaned)])
    journal.append(kind="application.corrected", ref=app.application_no, payload={"fields": sorted(changes)})
    if trusted:
        _examine_and_apply(app, actor=actor, on=on)
    else:
        sides = _actor_sides(actor, cleaned, _orgs_by_uscc(cleaned))
        # Correcting is the corrector's own confirmation of what is now filed; the others confirm again.
        for side in SIDES:
            for org_id in sides[side]:
                _confirm(app, side=side, via=ApplicationConfirmation.Via.FILER, actor=actor, org_id=org_id)
        _proceed_when_confirmed(app, actor=actor, on=on)
    audit.record(actor=actor, action="pledge_application.correct", obj=app, object_repr=app.application_no,
                 after={"fields": sorted(changes), "status": app.status})
    return app


@transaction.atomic
def withdraw(*, actor: Actor, application_no: str) -> PledgeApplication:
    app = get_application(actor=actor, application_no=application_no, for_update=True)
    _require_party_or_registrar(actor, app)
    if app.status not in OPEN_STATUSES:
        raise Conflict(_("Only an application that is not yet decided can be withdrawn."), code="not_withdrawable")
    _close_application(app, ApplicationStatus.WITHDRAWN, actor=actor)
    return app


def _close_application(app: PledgeApplication, status: str, *, actor: Actor | None, reason_text: str = "",
                       reasons: list | None = None, checker=None) -> None:
    Decision.objects.create(application=app, at=_now(), outcome=status, reasons=reasons or [], automatic=actor is None,
                            actor=_user(actor), checker=_user(checker), reason_text=reason_text)
    app.status = status
    app.needs_review = False
    app.decided_at = app.decided_at or _now()
    app.save(update_fields=["status", "needs_review", "decided_at"])
    journal.append(kind=f"application.{status}", ref=app.application_no,
                   payload={"reasons": [r["code"] for r in reasons or []]})
    audit.record(actor=actor, action=f"pledge_application.{status}", obj=app, object_repr=app.application_no,
                 after={"status": status, "reason": reason_text})


def abandon_overdue(on: dt.date) -> int:
    """End-of-day: applications whose correction deadline passed are deemed abandoned."""
    count = 0
    for app in PledgeApplication.objects.filter(status__in=(ApplicationStatus.CORRECTION_REQUIRED,
                                                            ApplicationStatus.AWAITING_CONFIRMATION),
                                                correction_deadline__lt=on).select_for_update():
        reason = "correction deadline passed" if app.status == ApplicationStatus.CORRECTION_REQUIRED \
            else "confirmation deadline passed"
        _close_application(app, ApplicationStatus.ABANDONED, actor=None, reason_text=reason)
        count += 1
    return count


# --- registered pledges --------------------------------------------------------------------------

def get_pledge(registration_no: str, *, for_update: bool = False) -> Pledge:
    qs = Pledge.objects.filter(registration_no=(registration_no or "").strip().upper())
    pledge = (qs.select_for_update() if for_update else qs).first()
    if pledge is None:
        raise NotFound(_("No such pledge registration."), code="pledge_not_found")
    return pledge


def _require_pledge_party(actor: Actor, pledge: Pledge,
                          sides: tuple[str, ...] = ("pledgor", "pledgee")) -> set[str]:
    """Which of ``sides`` (pledgor, pledgee, debtor) the actor's organisation stands for on this pledge;
    a registrar of the right's office stands for all of them (it acts from the paper both parties signed)."""
    perm.require_user(actor)
    if perm.is_registrar(actor):
        perm.require_office(actor, pledge_kinds(pledge))
        return set(sides)
    related = _related_org_ids(actor.organisation_id)
    mine = {side for side, org_id in pledge.parties.filter(role__in=sides).values_list("role", "org_id")
            if org_id in related}
    if not mine:
        if sides == ("pledgee",) and pledge.parties.filter(role="pledgor", org_id__in=related).exists():
            raise PermissionDenied(_("Only the pledgee (or a registrar, on the paper both parties signed) may do "
                                     "this."), code="pledgee_only")
        raise PermissionDenied(_("Only the parties to this pledge or a registrar may do this."))
    return mine


def _require_live(pledge: Pledge) -> None:
    if pledge.status != PledgeStatus.REGISTERED:
        raise Conflict(_("This pledge is no longer registered."), code="pledge_not_live")


def _current_version(pledge: Pledge) -> PledgeVersion:
    return pledge.versions.get(version=pledge.current_version)


@transaction.atomic
def change(*, actor: Actor, registration_no: str, changes: dict) -> Pledge:
    pledge = get_pledge(registration_no, for_update=True)
    sides = _require_pledge_party(actor, pledge)
    _require_live(pledge)
    # A party changes its own side's name or address alone; what binds both (the secured debt, the
    # guarantee scope) changes only from the paper both signed, through a registrar — except that the
    # pledgee may lower the secured amount, which gives up security that is its own.
    for field, side in (("pledgors", "pledgor"), ("pledgees", "pledgee")):
        if field in changes and side not in sides:
            raise PermissionDenied(_("A party may change only its own side's details."), code="not_your_side")
    if "guarantee_scope" in changes and sides != {"pledgor", "pledgee"}:
        raise PermissionDenied(_("Both parties must agree to this change: file it with a registrar on the paper "
                                 "both signed."), code="joint_change_required")
    errors = Errors()
    control_characters(changes, "", errors)
    errors.raise_if_any()
    allowed = {"pledgors", "pledgees", "secured_debt", "guarantee_scope"}
    unknown = set(changes) - allowed
    for k in unknown:
        errors.add(k, _("Not changeable. Adding collateral is a new registration."))
    data = dict(_current_version(pledge).data)
    if "pledgors" in changes:
        new = clean_parties(changes["pledgors"], "pledgors", errors)
        if {p["id_number"] for p in new} != {p["id_number"] for p in data["pledgors"]}:
            errors.add("pledgors", _("A change may alter a party's name or address, not who the party is."))
        else:
            _check_pledgor_names(pledge, new, errors)
        data["pledgors"] = new
    if "pledgees" in changes:
        new = clean_parties(changes["pledgees"], "pledgees", errors)
        if {p["id_number"] for p in new} != {p["id_number"] for p in data["pledgees"]}:
            errors.add("pledgees", _("A change may alter a party's name or address, not who the party is."))
        data["pledgees"] = new
    if "secured_debt" in changes:
        debt = clean_debt(changes["secured_debt"], errors)
        if debt.get("amount") is None or money.to_fen(debt["amount"]) <= 0:
            errors.add("secured_debt.amount", _("Give the new secured amount."))
        if not debt.get("type"):
            debt["type"] = data["secured_debt"].get("type", "")
        lowers = debt.get("amount") is not None \
            and money.to_fen(debt["amount"]) <= money.to_fen(data["secured_debt"]["amount"]) \
            and debt.get("type") == data["secured_debt"].get("type", "") \
            and debt.get("currency") == data["secured_debt"].get("currency", "CNY")
        if sides != {"pledgor", "pledgee"} and not ("pledgee" in sides and lowers):
            raise PermissionDenied(_("Both parties must agree to this change: file it with a registrar on the paper "
                                     "both signed."), code="joint_change_required")
        data["secured_debt"] = debt
    if "guarantee_scope" in changes:
        scope = identifiers.clean_display_name(changes.get("guarantee_scope") or "")
        if not scope:
            errors.add("guarantee_scope", _("This field is required."))
        data["guarantee_scope"] = scope
    if not changes:
        errors.add("body", _("Name at least one field to change."))
    errors.raise_if_any()
    pledge.current_version += 1
    PledgeVersion.objects.create(pledge=pledge, version=pledge.current_version, at=_now(), data=data,
                                 reason="change", actor=_user(actor))
    pledge.secured_amount = money.to_fen(data["secured_debt"]["amount"])
    pledge.save(update_fields=["current_version", "secured_amount"])
    _index_parties(pledge, data)
    _history(pledge, "changed", actor=actor, on=business_date.today(),
             data={"version": pledge.current_version, "fields": sorted(changes)})
    audit.record(actor=actor, action="pledge.change", obj=pledge, object_repr=pledge.registration_no,
                 after={"version": pledge.current_version, "fields": sorted(changes)})
    return pledge


def _check_pledgor_names(pledge: Pledge, pledgors: list[dict], errors: Errors) -> None:
    """A pledgor's new name must first be recorded as the right owner's name (registry-rules §4)."""
    on = business_date.today()
    for link in pledge.pledge_rights.select_related("right").prefetch_related("right__events"):
        owners = {o.id_number.upper(): identifiers.normalise_name(o.name)
                  for o in rights_services.state_of(link.right, on).owners}
        for i, p in enumerate(pledgors):
            recorded = owners.get(p["id_number"].upper())
            if recorded is not None and recorded != identifiers.normalise_name(p["name"]):
                errors.add(f"pledgors[{i}].name", _("Record the owner's name change in the register first."))
                errors.setdefault("_code", "owner_name_change_not_recorded")


@transaction.atomic
def extend(*, actor: Actor, registration_no: str, registration_term_end: dt.date, guarantee_letter: str = "",
           confirmations: dict | None = None) -> Pledge:
    pledge = get_pledge(registration_no, for_update=True)
    _require_pledge_party(actor, pledge, sides=("pledgee",))
    _require_live(pledge)
    if pledge.regime != Regime.TRADEMARK:
        raise Conflict(_("Only trademark pledges have a registration term to extend."), code="not_extendable")
    on = business_date.today()
    if pledge.registration_term_end and on > pledge.registration_term_end:
        raise Conflict(_("The registration term has expired; file a new registration."), code="term_expired")
    if pledge.registration_term_end and registration_term_end <= pledge.registration_term_end:
        raise ValidationFailed(_("The new term must end after the current one."),
                               fields={"registration_term_end": [_("Must be later than the current term end.")]})
    # Only a registrar, from the paper both parties signed, can say both confirmed; a party's body speaks
    # for itself alone, so a party extending on its own attaches the guarantee letter.
    joint = perm.is_registrar(actor) and bool((confirmations or {}).get("pledgor")) and \
        bool((confirmations or {}).get("pledgee"))
    if not joint and not (guarantee_letter or "").strip():
        raise ValidationFailed(_("Without both parties' confirmation, the pledgee must attach a guarantee letter."),
                               code="guarantee_letter_required",
                               fields={"guarantee_letter": [_("This field is required.")]})
    before = pledge.registration_term_end
    pledge.registration_term_end = registration_term_end
    pledge.save(update_fields=["registration_term_end"])
    _history(pledge, "extended", actor=actor, on=on,
             data={"from": before, "to": registration_term_end, "joint": joint,
                   "guarantee_letter": bool(guarantee_letter)})
    audit.record(actor=actor, action="pledge.extend", obj=pledge, object_repr=pledge.registration_no,
                 before={"registration_term_end": before}, after={"registration_term_end": registration_term_end})
    return pledge


# Later apps (monitoring) react when a registration ends (cancelled, lapsed, revoked) without the registry
# importing them: ``listener(pledge=..., status=..., on=...)``, inside the transaction that ends it.
pledge_end_listeners: list = []


def _end(pledge: Pledge, status: str, *, actor: Actor | None, on: dt.date, data: dict) -> None:
    pledge.status = status
    pledge.ended_at = _now()
    pledge.end_date = on
    pledge.save(update_fields=["status", "ended_at", "end_date"])
    PledgeRight.objects.filter(pledge=pledge).update(live=False)
    _history(pledge, status, actor=actor, on=on, data=data)
    audit.record(actor=actor, action=f"pledge.{status}", obj=pledge, object_repr=pledge.registration_no,
                 after={"status": status, **data})
    for listener in pledge_end_listeners:
        listener(pledge=pledge, status=status, on=on)


@transaction.atomic
def cancel(*, actor: Actor, registration_no: str, reason: str) -> Pledge:
    pledge = get_pledge(registration_no, for_update=True)
    # Cancelling ends the pledgee's security: the pledgee's act (a pledgor with proof of repayment goes
    # to a registrar).
    _require_pledge_party(actor, pledge, sides=("pledgee",))
    _require_live(pledge)
    if reason not in CANCELLATION_REASONS:
        raise ValidationFailed(_("Choose one of: %s") % ", ".join(CANCELLATION_REASONS), code="validation_error",
                               fields={"reason": [_("Choose one of: %s") % ", ".join(CANCELLATION_REASONS)]})
    _end(pledge, PledgeStatus.CANCELLED, actor=actor, on=business_date.today(), data={"reason": reason})
    return pledge


def revoke_now(pledge: Pledge, *, actor: Actor, checker: Actor, reason: str) -> None:
    """Revocation makes the registration void from the start (fraud, forged documents, court decision)."""
    _require_live(pledge)
    _end(pledge, PledgeStatus.REVOKED, actor=actor, on=business_date.today(),
         data={"reason": reason, "void_from": pledge.effective_date,
               "checker": getattr(checker, "username", "")})


def lapse_trademark_pledges(on: dt.date) -> int:
    """End-of-day: trademark pledges lapse automatically after their registration term."""
    count = 0
    for pledge in Pledge.objects.select_for_update().filter(regime=Regime.TRADEMARK, status=PledgeStatus.REGISTERED,
                                                            registration_term_end__lt=on):
        _end(pledge, PledgeStatus.LAPSED, actor=None, on=on, data={"term_end": pledge.registration_term_end})
        count += 1
    return count


# --- objections ---------------------------------------------------------------------------------

@transaction.atomic
def object_to(*, actor: Actor, registration_no: str, statement: str, objector_name: str = "",
              case_notice_ref: str = "") -> Objection:
    pledge = get_pledge(registration_no, for_update=True)
    _require_pledge_party(actor, pledge, sides=("pledgor", "pledgee", "debtor"))
    _require_live(pledge)
    # Bounded, and free of control characters (which PostgreSQL cannot store), before anything is written.
    statement = limits.text(statement, field="statement", max_length=4000)
    objector_name = limits.text(objector_name, field="objector_name", max_length=200)
    case_notice_ref = limits.text(case_notice_ref, field="case_notice_ref", max_length=200)
    if not statement:
        raise ValidationFailed(_("State the objection."), fields={"statement": [_("This field is required.")]})
    on = business_date.today()
    name = objector_name.strip() or (str(actor.organisation) if getattr(actor, "organisation", None) else actor.username)
    objection = Objection.objects.create(
        pledge=pledge, filed_at=_now(), filed_by=_user(actor), objector_name=name[:200], statement=statement[:4000],
        case_notice_ref=case_notice_ref.strip()[:200],
        expires_on=None if case_notice_ref.strip() else on + dt.timedelta(days=OBJECTION_DAYS))
    _history(pledge, "objection_filed", actor=actor, on=on,
             data={"objection": objection.pk, "objector": objection.objector_name,
                   "expires_on": objection.expires_on, "case_notice": bool(objection.case_notice_ref)})
    audit.record(actor=actor, action="pledge.objection", obj=pledge, object_repr=pledge.registration_no,
                 after={"objection": objection.pk})
    return objection


@transaction.atomic
def attach_case_notice(*, actor: Actor, registration_no: str, objection_id: int,
                       case_notice_ref: str) -> Objection:
    pledge = get_pledge(registration_no, for_update=True)
    _require_pledge_party(actor, pledge, sides=("pledgor", "pledgee", "debtor"))
    objection = pledge.objections.filter(pk=objection_id, removed_at__isnull=True).first()
    if objection is None:
        raise NotFound(_("No such open objection."), code="objection_not_found")
    if not case_notice_ref.strip():
        raise ValidationFailed(_("Give the case-acceptance notice reference."),
                               fields={"case_notice_ref": [_("This field is required.")]})
    objection.case_notice_ref = case_notice_ref.strip()[:200]
    objection.expires_on = None
    objection.save(update_fields=["case_notice_ref", "expires_on"])
    _history(pledge, "objection_case_notice", actor=actor, on=business_date.today(),
             data={"objection": objection.pk})
    return objection


def expire_objections(on: dt.date) -> int:
    count = 0
    for objection in Objection.objects.select_related("pledge").filter(removed_at__isnull=True,
                                                                         expires_on__lt=on):
        objection.removed_at, objection.removed_reason = _now(), "expired"
        objection.save(update_fields=["removed_at", "removed_reason"])
        _history(objection.pledge, "objection_removed", actor=None, on=on,
                 data={"objection": objection.pk, "reason": "expired"})
        count += 1
    return count


def live_pledges(right: Right):
    """The registered pledges still live on a right (a queryset)."""
    return Pledge.objects.filter(pledge_rights__right=right, pledge_rights__live=True,
                                 status=PledgeStatus.REGISTERED).distinct()


def live_pledges_on(right: Right) -> list[Pledge]:
    return list(live_pledges(right))


@transaction.atomic
def add_webhook(*, actor: Actor, url: str):
    from .models import Webhook

    perm.require_user(actor)
    if actor.organisation_id is None:
        raise PermissionDenied(_("Webhooks belong to an organisation."))
    if not (url.startswith("https://") or url.startswith("http://")):
        raise ValidationFailed(_("Give an http or https URL."), fields={"url": [_("Not a URL.")]})
    url = limits.text(url, field="url", max_length=200)
    # Never a private, loopback, link-local or metadata address (after DNS), unless the operator allows it.
    notify.check_webhook_url(url)
    import secrets

    hook = Webhook.objects.create(org_id=actor.organisation_id, url=url, secret=secrets.token_hex(24))
    audit.record(actor=actor, action="webhook.add", obj=hook, after={"url": hook.url})
    return hook
