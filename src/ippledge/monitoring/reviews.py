"""Periodic borrower analysis (issue 12, point 5; notice item 九: analyse the borrower periodically).

A loan's borrower is reviewed at the product's frequency (``Product.review_frequency_months``, default
quarterly) from disbursement; a review that is due raises ``borrower_review_due`` at end of day.  The
bank's officer records the borrower's figures (revenue, profit, liabilities, staff), overdue and credit
events and a conclusion; the platform computes the changes against the last review and lists the
pledged rights' legal events in the period.  A ``deteriorating`` conclusion proposes a classification
review: the loan's reviewer or approver decides it through the loan's manual classification
(``credit.services.classify_manually``), so the officer who records the review never reclassifies the
loan alone.  Recording a review clears the review-due alert.

Who: the lending bank's staff (and its head office's) read and record; regulators and administrators
read; everyone else is told the loan does not exist (404).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ippledge.core import audit, business_date, exact, limits, money, vocabulary
from ippledge.core import permissions as perm
from ippledge.core.eod import eod_job
from ippledge.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

from . import loan_rules, rules, services
from .models import LIVE_STATUSES, Alert, BorrowerReview, Conclusion

MAX_EVENTS = 20
EVENT_LENGTH = 200
NOTE_LENGTH = BorrowerReview._meta.get_field("note").max_length
MAX_STAFF = 1_000_000
CHUNK = 1000


# --- who may read and record ------------------------------------------------------------------------------

def _lending_staff(actor, loan) -> bool:
    return actor.has_role(*perm.BANK_STAFF) and perm.belongs_to(actor, loan.bank)


def readable_loan(*, actor, loan_no: str):
    """The loan if ``actor`` may read its reviews; 404 otherwise (a borrower, another bank, a stranger)."""
    from ippledge.credit.models import Loan

    perm.require_user(actor)
    loan = Loan.objects.select_related("bank").filter(loan_no=str(loan_no or "")[:20]).first()
    if loan is None or not (actor.is_platform_admin or perm.is_regulator(actor) or _lending_staff(actor, loan)):
        raise NotFound(_("No such loan."), code="loan_not_found")
    return loan


def may_record(actor, loan) -> bool:
    return not actor.is_platform_admin and _lending_staff(actor, loan)


def may_reclassify(actor, loan) -> bool:
    """The loan's deciders (credit.services.DECIDERS): the proposal's link is shown to them."""
    from ippledge.credit.services import DECIDERS

    return may_record(actor, loan) and actor.has_role(*DECIDERS)


# --- input --------------------------------------------------------------------------------------------------

def _money(value, field: str, *, signed: bool = False) -> int:
    """Yuan as a decimal string (at most two decimals, within the business limit) → fen; profit may be
    negative, the other figures may be zero."""
    top = limits.limit("MAX_AMOUNT_YUAN")
    if value is None or value == "":
        raise ValidationFailed(_("This field is required."), fields={field: [_("This field is required.")]})
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise ValidationFailed(_("Give the amount in yuan as a decimal string."),
                               fields={field: [_("Give the amount in yuan as a decimal string.")]})
    amount = exact.decimal(str(value).strip(), field, minimum=-top if signed else 0, maximum=top, places=2,
                           plain=True)
    return money.to_fen(amount)


def _events(value, field: str) -> list[str]:
    if value in (None, ""):
        return []
    if isinstance(value, str):
        value = value.splitlines()
    items = limits.items(value if isinstance(value, list | tuple) else [value], field=field, max_items=MAX_EVENTS)
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise ValidationFailed(_("Give text."), fields={f"{field}[{i}]": [_("Give text.")]})
        text = " ".join(item.split())
        if len(text) > EVENT_LENGTH:
            raise ValidationFailed(_("At most %d characters.") % EVENT_LENGTH,
                                   fields={f"{field}[{i}]": [_("At most %d characters.") % EVENT_LENGTH]})
        if any(ord(c) < 32 for c in text):
            raise ValidationFailed(_("Give text."), fields={f"{field}[{i}]": [_("Give text.")]})
        if text:
            out.append(text)
    return out


def _clean(data: dict, loan, on: dt.date, last: BorrowerReview | None) -> dict:
    errors: dict[str, list[str]] = {}
    out: dict = {}

    def run(field, parse, *args, **kwargs):
        try:
            out[field] = parse(*args, **kwargs)
        except ValidationFailed as exc:
            for key, messages in (exc.fields or {field: [exc.localised(_)]}).items():
                errors.setdefault(key, []).extend(messages if isinstance(messages, list) else [messages])

    run("revenue", _money, data.get("revenue"), "revenue")
    run("profit", _money, data.get("profit"), "profit", signed=True)
    run("liabilities", _money, data.get("liabilities"), "liabilities")
    run("staff", lambda v: limits.count(v, field="staff", low=0, high=MAX_STAFF), data.get("staff"))
    run("overdue_events", _events, data.get("overdue_events"), "overdue_events")
    run("credit_events", _events, data.get("credit_events"), "credit_events")
    conclusion = data.get("conclusion")
    if conclusion not in Conclusion.values:
        errors["conclusion"] = [_("Choose one of: %s") % ", ".join(Conclusion.values)]
    out["conclusion"] = conclusion
    note = data.get("note") or ""
    if not isinstance(note, str) or len(note) > NOTE_LENGTH:
        errors["note"] = [_("At most %d characters.") % NOTE_LENGTH]
    out["note"] = note.strip() if isinstance(note, str) else ""
    period_end = data.get("period_end")
    floor = max(loan.start_date, last.period_end + dt.timedelta(days=1)) if last else loan.start_date
    if period_end in (None, ""):
        period_end = max(default_period_end(loan, last, on), floor)
    else:
        try:
            period_end = period_end if isinstance(period_end, dt.date) else dt.date.fromisoformat(str(period_end))
        except ValueError:
            errors["period_end"] = [_("Enter a date as YYYY-MM-DD.")]
            period_end = None
        if period_end is not None and not floor <= period_end <= on:
            errors["period_end"] = [_("Give a date from %(low)s to %(high)s.") % {"low": floor.isoformat(),
                                                                                  "high": on.isoformat()}]
    out["period_end"] = period_end
    if errors:
        raise ValidationFailed(_("The review is not valid."), fields=errors)
    return out


# --- what the platform computes -------------------------------------------------------------------------

def frequency_of(loan) -> int | None:
    """The review frequency of the loan's product (None, the default, for a loan booked outside the
    credit workflow)."""
    from ippledge.credit.models import CreditCase

    return CreditCase.objects.filter(loan_id=loan.pk).values_list("product__review_frequency_months",
                                                                  flat=True).first()


def review_waiting(loan, last: BorrowerReview | None = None) -> dt.date | None:
    """The due date of the review the loan waits for today, or None."""
    if last is None:
        last = loan.reviews.order_by("-seq").first()
    return loan_rules.review_overdue(start=loan.start_date, frequency_months=frequency_of(loan),
                                     last_period_end=last.period_end if last else None, on=business_date.today())


def default_period_end(loan, last: BorrowerReview | None, on: dt.date) -> dt.date:
    """What a review covers unless the officer says otherwise: up to the latest due date that has come
    (one review catches up on missed ones), or up to today when none is due."""
    dates = loan_rules.review_dates(loan.start_date, frequency_of(loan), on)
    if dates and (last is None or dates[-1] > last.period_end):
        return dates[-1]
    return on


def rights_events(loan, after: dt.date | None, until: dt.date) -> list[dict]:
    """The legal events recorded on the loan's pledged rights dated in (after, until]."""
    from ippledge.rights.models import LegalEvent

    refs = list(loan.collateral.values_list("right_kind", "right_number"))
    if not refs:
        return []
    qs = LegalEvent.objects.filter(right__number__in={n for _k, n in refs}, date__lte=until).select_related("right")
    if after is not None:
        qs = qs.filter(date__gt=after)
    wanted = set(refs)
    return [{"kind": e.right.kind, "number": e.right.number, "type": e.type, "date": e.date.isoformat(),
             "seq": e.seq, "official_code": e.official_code}
            for e in qs.order_by("date", "right_id", "seq")[:200] if (e.right.kind, e.right.number) in wanted]


def _figures(review: BorrowerReview | dict) -> dict[str, int]:
    get = review.get if isinstance(review, dict) else lambda k: getattr(review, k)
    return {k: int(get(k)) for k in loan_rules.REVIEW_FIGURES}


# --- actions -----------------------------------------------------------------------------------------------

def list_reviews(*, actor, loan_no: str) -> tuple[object, list[BorrowerReview]]:
    loan = readable_loan(actor=actor, loan_no=loan_no)
    return loan, list(loan.reviews.select_related("recorded_by").order_by("-seq"))


@transaction.atomic
def record_review(*, actor, loan_no: str, data: dict) -> BorrowerReview:
    """The officer records one review of the borrower (append-only: a correction is a new review)."""
    loan = readable_loan(actor=actor, loan_no=loan_no)  # 404 before anything about the body is said
    if not may_record(actor, loan):
        raise PermissionDenied(_("Only the lending bank's staff record borrower reviews."), code="read_only")
    from ippledge.credit.models import Loan

    loan = Loan.objects.select_for_update().select_related("bank").get(pk=loan.pk)
    on = business_date.today()
    last = loan.reviews.order_by("-seq").first()
    clean = _clean(data if isinstance(data, dict) else {}, loan, on, last)
    changes = loan_rules.review_changes(_figures(last) if last else None, _figures(clean))
    changes["loan"] = {"balance": loan.balance, "dpd": loan.dpd, "classification": loan.classification}
    changes["events"] = {"overdue": len(clean["overdue_events"]), "credit": len(clean["credit_events"]),
                         "overdue_before": len(last.overdue_events) if last else None,
                         "credit_before": len(last.credit_events) if last else None}
    seq = (loan.reviews.aggregate(m=Max("seq"))["m"] or 0) + 1
    try:
        with transaction.atomic():
            review = BorrowerReview.objects.create(
                loan=loan, seq=seq, period_end=clean["period_end"], reviewed_on=on, revenue=clean["revenue"],
                profit=clean["profit"], liabilities=clean["liabilities"], staff=clean["staff"],
                overdue_events=clean["overdue_events"], credit_events=clean["credit_events"],
                conclusion=clean["conclusion"], note=clean["note"], changes=changes,
                rights_events=rights_events(loan, last.period_end if last else loan.start_date, clean["period_end"]),
                classification_review_proposed=clean["conclusion"] == Conclusion.DETERIORATING,
                recorded_by=actor)
    except IntegrityError:
        raise Conflict(_("Another review of this loan was recorded at the same moment: reload and try again."),
                       code="review_conflict") from None
    audit.record(actor=actor, action="borrower_review.record", obj=review,
                 object_repr=f"{loan.loan_no} #{seq}",
                 after={"period_end": review.period_end, "conclusion": review.conclusion,
                        "classification_review_proposed": review.classification_review_proposed})
    services.clear_alerts(kind="borrower_review_due", on=on, loan=loan, actor=actor)
    return review


def open_proposal(loan) -> BorrowerReview | None:
    """The latest review, when it proposes a classification review that no manual classification has
    answered since it was recorded."""
    latest = loan.reviews.order_by("-seq").first()
    if latest is None or not latest.classification_review_proposed:
        return None
    if loan.classification_history.filter(manual=True, at__gte=latest.recorded_at).exists():
        return None
    return latest


# --- end of day: which reviews are due ----------------------------------------------------------------

@eod_job("monitoring.borrower_reviews", order=64)
def end_of_day(day: dt.date) -> dict:
    """Raise ``borrower_review_due`` for every open loan whose next review date has come; clear it for
    loans repaid since (set-based: a chunk of loans costs three queries)."""
    from ippledge.credit.models import CreditCase, Loan, Product

    frequency = dict(Product.objects.values_list("pk", "review_frequency_months"))
    totals = {"loans": 0, "due": 0, "raised": 0, "cleared": 0}
    last_id = 0
    while chunk := list(Loan.objects.filter(pk__gt=last_id, balance__gt=0).order_by("pk")
                        .values_list("pk", "start_date", "bank_id")[:CHUNK]):
        last_id = chunk[-1][0]
        ids = [pk for pk, _s, _b in chunk]
        product_of = dict(CreditCase.objects.filter(loan_id__in=ids).values_list("loan_id", "product_id"))
        last_end = dict(BorrowerReview.objects.filter(loan_id__in=ids).values("loan_id")
                        .annotate(end=Max("period_end")).values_list("loan_id", "end"))
        live = defaultdict(set)
        for loan_id, key in Alert.objects.filter(kind="borrower_review_due", status__in=LIVE_STATUSES,
                                                 loan_id__in=ids).values_list("loan_id", "condition_key"):
            live[loan_id].add(key)
        raise_for = []
        for pk, start, _bank in chunk:
            due = loan_rules.review_overdue(start=start, frequency_months=frequency.get(product_of.get(pk)),
                                            last_period_end=last_end.get(pk), on=day)
            if due is None:
                continue
            totals["due"] += 1
            key = rules.loan_key(pk, f"review:{due.isoformat()}")
            if key not in live[pk]:
                raise_for.append((pk, key, due))
        totals["loans"] += len(chunk)
        loans = Loan.objects.select_related("bank", "created_by").in_bulk([pk for pk, _k, _d in raise_for])
        for pk, key, due in raise_for:
            alert = services.raise_alert(kind="borrower_review_due", condition_key=key, owner_org=loans[pk].bank,
                                         on=day, loan=loans[pk], detail={"review_due": due.isoformat()})
            totals["raised"] += alert is not None
    stale = list(Alert.objects.filter(kind="borrower_review_due", status__in=LIVE_STATUSES, loan__balance__lte=0)
                 .values_list("pk", flat=True))
    totals["cleared"] = services.clear_ids(stale, on=day)
    return totals


vocabulary.register("eod_job", {"monitoring.borrower_reviews": gettext_lazy("Loans: borrower reviews due")})
