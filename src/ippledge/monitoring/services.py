"""Business actions on alerts: raise, clear, acknowledge, resolve; who sees which; what to do about one.

Contract for the callers (listeners, end-of-day passes, pages, API):

- ``raise_alert`` creates an alert unless a live (open or acknowledged) one already has the same
  ``(owner_org, kind, condition_key)``; then it returns None and leaves that alert as it is, except that
  a changed ``detail`` (a larger shortfall, more days overdue) is written onto it without a second
  notification.  The database's partial unique index decides a race; the loser returns None.
- ``clear_alerts`` resolves live alerts as ``cleared`` when their condition ended (the platform's
  resolution, never a user's).
- ``acknowledge`` / ``resolve`` are for the owning bank's staff (or its head office's); regulators read
  everything and change nothing; an alert an actor cannot see answers 404, never 403.

Every write leaves an audit row.  The owning bank is told of a new alert in-app and by signed webhook
(``registry.notify``, kind ``alert``; the body's ``data`` is :func:`payload`).
"""

from __future__ import annotations

import datetime as dt
import os

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from ippledge.core import audit, limits, money, vocabulary
from ippledge.core import permissions as perm
from ippledge.core.actors import SYSTEM, user_or_none
from ippledge.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from ippledge.core.models import Holiday

from . import rules
from .models import LIVE_STATUSES, Alert, AlertKind, AlertStatus, Resolution

USER_RESOLUTIONS = (Resolution.REMEDIED, Resolution.ACCEPTED_RISK, Resolution.LOAN_ACTION, Resolution.FALSE_POSITIVE)
# Accepting a risk or calling an alert wrong is a judgement the bank must be able to explain later.
NOTE_REQUIRED = (Resolution.ACCEPTED_RISK, Resolution.FALSE_POSITIVE)
NOTE_MAX = 500


def setting_int(name: str, default: int) -> int:
    """A monitoring setting: the Django setting ``name`` if the operator set one, else ``IPPLEDGE_<name>``."""
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(f"IPPLEDGE_{name}", "")
    try:
        return max(0, int(value)) if value != "" else default
    except (TypeError, ValueError):
        return default


def leads() -> rules.Leads:
    # IPPLEDGE_MONITORING_ANNUITY_LEAD_DAYS, IPPLEDGE_MONITORING_EXPIRY_LEAD_DAYS (README's settings table).
    return rules.Leads(annuity_days=setting_int("MONITORING_ANNUITY_LEAD_DAYS", 60),
                       expiry_days=setting_int("MONITORING_EXPIRY_LEAD_DAYS", 180))


def holidays_from(on: dt.date) -> dict[dt.date, bool]:
    """The operator's holiday table for the SLA horizon after ``on`` (one query, shared by a whole pass)."""
    longest = max(s.sla_days for s in rules.SPECS.values())
    return dict(Holiday.objects.filter(date__gt=on, date__lte=on + dt.timedelta(days=longest * 3 + 30))
                .values_list("date", "is_working_day"))


def due_date_for(kind: str, on: dt.date, deadline: dt.date | None = None,
                 holidays: dict[dt.date, bool] | None = None) -> dt.date:
    """The SLA due date of a kind raised on ``on``; a legal deadline before it wins (never before ``on``)."""
    due = rules.sla_due(on, rules.spec(kind).sla_days, holidays_from(on) if holidays is None else holidays)
    if deadline is not None:
        due = max(on, min(due, deadline))
    return due


# --- what a user reads ---------------------------------------------------------------------------------

def visible_alerts(actor) -> QuerySet[Alert]:
    """The alerts ``actor`` may read: a bank's staff its own bank's (a head office also its branches'),
    regulators and administrators all, everyone else none.  The one scope of API, pages and exports."""
    qs = Alert.objects.all()
    if not perm.is_user(actor):
        return qs.none()
    if actor.is_platform_admin or perm.is_regulator(actor):
        return qs
    org_id = getattr(actor, "organisation_id", None)
    if org_id is None or not actor.has_role(*perm.BANK_STAFF):
        return qs.none()
    return qs.filter(Q(owner_org_id=org_id) | Q(owner_org__parent_id=org_id))


def _registration_no(alert: Alert) -> str:
    return alert.pledge.registration_no if alert.pledge_id else ""


def _yuan(value) -> str:
    """A yuan string kept in an alert's detail as pages show money ("4716000.00" → "4,716,000.00")."""
    try:
        return money.format_yuan(money.to_fen(value))
    except (DomainError, TypeError, ValueError):
        return ""


def required_action(alert: Alert) -> str:
    """The instruction an officer follows, in the active language, filled from the alert's detail."""
    d = alert.detail or {}
    kind = alert.kind
    if kind == AlertKind.ANNUITY_DUE:
        if d.get("fee_relief_percent"):
            return _("Make sure the annuity of %(amount)s yuan (after the granted fee relief of %(percent)s %%) due "
                     "on %(date)s is paid; ask for proof of payment.") % {
                "amount": _yuan(d.get("annuity_amount")), "percent": d["fee_relief_percent"],
                "date": d.get("annuity_due_date", "")}
        if d.get("annuity_amount"):
            return _("Make sure the pledgor pays the annuity of %(amount)s yuan due on %(date)s; ask for proof of "
                     "payment.") % {"amount": _yuan(d.get("annuity_amount")), "date": d.get("annuity_due_date", "")}
        return _("Make sure the pledgor pays the annuity due on %(date)s; ask for proof of payment.") % {
            "date": d.get("annuity_due_date", "")}
    if kind == AlertKind.ANNUITY_GRACE:
        return _("The annuity is unpaid: have the pledgor pay it with the surcharge by %(date)s, or the patent "
                 "terminates; consider paying it on the pledgor's behalf.") % {"date": d.get("surcharge_deadline", "")}
    if kind == AlertKind.RIGHT_TERMINATED:
        return _("The pledged right has ended: the collateral is lost. Demand replacement collateral or early "
                 "repayment, and review the loan's classification.")
    if kind == AlertKind.RIGHT_EXPIRING:
        if d.get("reason") == "before_debt_due":
            return _("The right's term ends on %(date)s, before the secured debt is due: agree additional "
                     "collateral or shorten the loan.") % {"date": d.get("term_end", "")}
        return _("The right's term ends on %(date)s: plan repayment or replacement collateral before then.") % {
            "date": d.get("term_end", "")}
    if kind == AlertKind.TRADEMARK_RENEWAL_WINDOW:
        if d.get("phase") == "grace":
            return _("The trademark has expired unrenewed: have the pledgor file the renewal with the late fee by "
                     "%(date)s, or it is cancelled.") % {"date": d.get("deadline", "")}
        return _("The trademark's renewal window is open: have the pledgor file the renewal before %(date)s.") % {
            "date": d.get("deadline", "")}
    if kind == AlertKind.INVALIDATION_REQUESTED:
        return _("An invalidation request was filed against the pledged patent: ask the pledgor for the "
                 "request and its defence, and reassess the collateral's value.")
    if kind == AlertKind.INVALIDATION_DECIDED:
        outcome = d.get("outcome", "")
        if outcome == "maintained":
            return _("The patent was maintained: record the decision and close the alert.")
        if outcome == "partly_invalid":
            return _("The patent was partly invalidated: have the collateral revalued and check the loan-to-value.")
        return _("The patent was invalidated: the collateral is lost. Demand replacement collateral or early "
                 "repayment; the pledgor may appeal within three months.")
    if kind == AlertKind.LITIGATION:
        return _("A lawsuit concerns the pledged right: obtain the case documents and assess the risk to the "
                 "collateral.")
    if kind == AlertKind.PRESERVATION:
        return _("A court preserved or seized the pledged right: assert the pledge's priority with the court and "
                 "review the loan.")
    if kind == AlertKind.OWNERSHIP_DISPUTE:
        return _("The ownership of the pledged right is disputed: obtain the case documents; the pledge may be "
                 "affected if the pledgor loses.")
    if kind == AlertKind.TRANSFER_ATTEMPT_BLOCKED:
        return _("A transfer of the pledged right without your consent was refused: contact the pledgor and "
                 "decide whether to consent.")
    if kind == AlertKind.LICENCE_RECORDED:
        return _("A licence of the pledged right was recorded: the licence fees must go to early repayment or "
                 "to escrow (Civil Code Art. 444). Agree which with the pledgor.")
    if kind == AlertKind.VALUATION_EXPIRING:
        return _("The collateral's valuation expires soon: order a revaluation.")
    if kind == AlertKind.VALUATION_EXPIRED:
        return _("The collateral's valuation has expired: order a revaluation now.")
    if kind == AlertKind.LTV_SHORTFALL:
        return _("The loan exceeds its loan-to-value cap by %(amount)s yuan: ask for more collateral or a partial "
                 "repayment.") % {"amount": _yuan(d.get("shortfall"))}
    if kind == AlertKind.BORROWER_REVIEW_DUE:
        return _("The periodic review of the borrower is due: record its figures and your conclusion.")
    if kind == AlertKind.LOAN_OVERDUE:
        return _("The loan is %(days)s days overdue: contact the borrower and review its classification.") % {
            "days": d.get("dpd", "")}
    if kind == AlertKind.CANCELLATION_DUE:
        return _("The loan is repaid in full: cancel the pledge registration so the right is released.")
    if kind == AlertKind.HOLDING_PERIOD_DUE:
        return _("IP acquired by enforcing a pledge must be disposed of by %(deadline)s: sell or license it.") % {
            "deadline": d.get("deadline", "")}
    return _("Review the alert.")


def payload(alert: Alert) -> dict:
    """An alert as the API and the webhook carry it."""
    right = {"kind": alert.right.kind, "number": alert.right.number} if alert.right_id else None
    return {"id": alert.pk, "kind": alert.kind, "severity": alert.severity, "status": alert.status,
            "registration_no": _registration_no(alert), "right": right,
            "loan_no": alert.loan.loan_no if alert.loan_id else "", "owner_org_id": alert.owner_org_id,
            "due_date": alert.due_date.isoformat(), "required_action": required_action(alert),
            "detail": alert.detail or {}, "created_at": alert.created_at.isoformat() if alert.created_at else None}


def notice_message(alert: Alert) -> str:
    subject = alert.right.number if alert.right_id else (alert.loan.loan_no if alert.loan_id else "")
    return _("%(kind)s: %(subject)s, due %(due)s.") % {
        "kind": vocabulary.label("monitoring.Alert.kind", alert.kind), "subject": subject,
        "due": alert.due_date.isoformat()}


def notify_owner(alert: Alert) -> None:
    """Tell the owning bank of a new alert: in-app, and by signed webhook where it registered one."""
    from ippledge.registry import notify

    notify.notify(org=alert.owner_org, kind="alert", message=notice_message(alert), data=payload(alert))


def snapshot(alert: Alert) -> dict:
    return {"kind": alert.kind, "severity": alert.severity, "status": alert.status,
            "condition_key": alert.condition_key, "owner_org": alert.owner_org_id, "pledge": alert.pledge_id,
            "right": alert.right_id, "loan": alert.loan_id, "event": alert.event_id,
            "due_date": alert.due_date.isoformat() if alert.due_date else None, "detail": alert.detail, "resolution": alert.resolution, "note": alert.note}


# --- the platform's writes -------------------------------------------------------------------------------

def raise_alert(*, kind: str, condition_key: str, owner_org, on: dt.date, pledge=None, right=None, loan=None,
                event=None, severity: str | None = None, due_date: dt.date | None = None,
                detail: dict | None = None, officer=None, actor=SYSTEM) -> Alert | None:
    """The new alert, or None when a live one already has this condition (see the module's contract)."""
    if kind not in AlertKind.values:
        raise ValueError(f"unknown alert kind {kind!r}")
    spec = rules.spec(kind)
    detail = dict(detail or {})
    with transaction.atomic():
        live = Alert.objects.filter(owner_org=owner_org, kind=kind, condition_key=condition_key,
                                    status__in=LIVE_STATUSES).first()
        if live is not None:
            _refresh_detail(live, detail, actor)
            return None
        if officer is None and loan is not None and loan.created_by_id is not None:
            officer = loan.created_by
        alert = Alert(kind=kind, severity=severity or spec.severity, condition_key=condition_key[:120],
                      owner_org=owner_org, pledge=pledge, right=right, loan=loan, event=event, officer=officer,
                      raised_on=on, due_date=due_date or due_date_for(kind, on), detail=detail)
        try:
            with transaction.atomic():
                alert.save()
        except IntegrityError:
            return None  # raised at the same moment by another transaction: that one stands
        audit.record(actor=actor, action="alert.raise", obj=alert, after=snapshot(alert))
        notify_owner(alert)
    return alert


def _refresh_detail(alert: Alert, detail: dict, actor) -> None:
    if not detail or detail == alert.detail:
        return
    before = alert.detail
    Alert.objects.filter(pk=alert.pk).update(detail=detail)
    audit.record(actor=actor, action="alert.refresh", obj=alert, before={"detail": before}, after={"detail": detail})


def clear_alerts(*, kind: str, on: dt.date, owner_org=None, condition_key: str | None = None,
                 loan=None, right=None, pledge=None, actor=SYSTEM) -> int:
    """Resolve as ``cleared`` the live alerts of ``kind`` matching every filter given; how many."""
    qs = Alert.objects.filter(kind=kind, status__in=LIVE_STATUSES)
    for name, value in (("owner_org", owner_org), ("condition_key", condition_key), ("loan", loan),
                        ("right", right), ("pledge", pledge)):
        if value is not None:
            qs = qs.filter(**{name: value})
    with transaction.atomic():
        ids = list(qs.select_for_update().values_list("pk", flat=True))
        return clear_ids(ids, on=on, actor=actor)


def clear_ids(ids: list[int], *, on: dt.date, actor=SYSTEM) -> int:
    """Resolve these live alerts as ``cleared`` (set-based: one update, one audit insert)."""
    if not ids:
        return 0
    now = timezone.now()
    count = 0
    after = {"status": "resolved", "resolution": "cleared", "on": on.isoformat()}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        count += Alert.objects.filter(pk__in=chunk, status__in=LIVE_STATUSES).update(
            status=AlertStatus.RESOLVED, resolution=Resolution.CLEARED, resolved_at=now, resolved_by=None)
        cleared = Alert.objects.filter(pk__in=chunk).only("pk", "kind", "condition_key")
        audit.record_many(actor=actor, action="alert.clear", entries=[(a, after) for a in cleared])
    return count


# --- the bank's actions ----------------------------------------------------------------------------------

def _actionable(actor, alert_id: int) -> Alert:
    """The alert, locked, if the actor may act on it: its bank's staff only (404 if not visible at all)."""
    perm.require_user(actor)
    if perm.is_regulator(actor) and not actor.is_platform_admin:
        raise PermissionDenied(_("Regulators read alerts; the bank handles them."), code="read_only")
    perm.require_role(actor, perm.BANK_STAFF, _("Only the bank's staff may handle its alerts."))
    alert = visible_alerts(actor).select_for_update().filter(pk=alert_id).first()
    if alert is None:
        raise NotFound(_("No such alert."), code="alert_not_found")
    if actor.is_platform_admin or not perm.belongs_to(actor, alert.owner_org):
        # An administrator sees every alert but does not speak for a bank.
        raise PermissionDenied(_("Only the bank's staff may handle its alerts."))
    return alert


def _not_resolved(alert: Alert) -> None:
    if alert.status == AlertStatus.RESOLVED:
        raise Conflict(_("This alert is already resolved."), code="alert_already_resolved")


@transaction.atomic
def acknowledge(*, actor, alert_id: int) -> Alert:
    """Take the alert on (open → acknowledged); acknowledging it again changes nothing."""
    alert = _actionable(actor, alert_id)
    _not_resolved(alert)
    if alert.status == AlertStatus.ACKNOWLEDGED:
        return alert
    before = snapshot(alert)
    alert.status = AlertStatus.ACKNOWLEDGED
    alert.acknowledged_at = timezone.now()
    alert.acknowledged_by = user_or_none(actor)
    alert.save(update_fields=["status", "acknowledged_at", "acknowledged_by"])
    audit.record(actor=actor, action="alert.acknowledge", obj=alert, before=before, after=snapshot(alert))
    return alert


@transaction.atomic
def resolve(*, actor, alert_id: int, resolution: str, note: str = "") -> Alert:
    alert = _actionable(actor, alert_id)
    errors: dict[str, list[str]] = {}
    if not isinstance(resolution, str) or resolution not in USER_RESOLUTIONS:
        errors["resolution"] = [_("Choose one of: %s") % ", ".join(USER_RESOLUTIONS)]
    code = "validation_error"
    if note is not None and not isinstance(note, str):
        errors["note"] = [_("Enter the note as text.")]
        note = ""
    try:
        note = limits.text(note, field="note", max_length=NOTE_MAX)
    except ValidationFailed as exc:
        errors.update(exc.fields)
        note = ""
    if "note" not in errors and resolution in NOTE_REQUIRED and not note:
        errors["note"] = [_("Say why: a note is required for this resolution.")]
        code = "note_required" if len(errors) == 1 else code
    if errors:
        raise ValidationFailed(_("The resolution is not valid."), code=code, fields=errors)
    _not_resolved(alert)
    before = snapshot(alert)
    now = timezone.now()
    alert.status = AlertStatus.RESOLVED
    alert.resolution = resolution
    alert.note = note
    alert.resolved_at = now
    alert.resolved_by = user_or_none(actor)
    fields = ["status", "resolution", "note", "resolved_at", "resolved_by"]
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by = now, user_or_none(actor)
        fields += ["acknowledged_at", "acknowledged_by"]
    alert.save(update_fields=fields)
    audit.record(actor=actor, action="alert.resolve", obj=alert, before=before, after=snapshot(alert))
    return alert
