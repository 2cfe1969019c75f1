"""Term end and legal state of an IP right, derived from its facts and its append-only events.

Pure module (no Django): the rights app stores ``RightFacts`` and ``Event`` rows and asks this
module what the right looks like on a given day.  Nothing here is stored; every answer is
recomputed from the history, so a correction is simply one more event.

Sources: docs ``registry-rules.md`` §2 (terms) and §7 (legal-status events); 专利法 (2020)
Arts. 42–44, 商标法 (2019) Arts. 39–40, 著作权法 (2020) Art. 23, 计算机软件保护条例 Art. 14,
集成电路布图设计保护条例 Art. 12.

Dates are calendar dates (Beijing time).  "Term end" is the last day of protection.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta

# Terms are counted by core.calendar (29 February's anniversary in a common year is 1 March, month
# steps clamp to the month's end); the names stay importable here for the rights app's callers.
from ippledge.core.calendar import add_months as add_months
from ippledge.core.calendar import anniversary as anniversary
from ippledge.core.calendar import day_before_anniversary as day_before_anniversary
from ippledge.core.errors import N_, ValidationFailed

# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------

PATENT_KINDS: tuple[str, ...] = ("invention", "utility_model", "design")
KINDS: tuple[str, ...] = PATENT_KINDS + (
    "trademark", "copyright", "software", "ic_layout", "geographical_indication",
)
COPYRIGHT_KINDS: tuple[str, ...] = ("copyright", "software")
AUTHOR_KINDS: tuple[str, ...] = ("natural_person", "legal_person")
OUTCOMES: tuple[str, ...] = ("invalid", "partly_invalid", "maintained")

EVENT_TYPES: tuple[str, ...] = (
    "granted",
    "annuity_paid", "terminated_unpaid_annuity",
    "invalidation_requested", "invalidation_decided",
    "suspended", "suspension_lifted",
    "preserved", "preservation_lifted",
    "seized", "seizure_lifted",
    "ownership_dispute_filed", "ownership_dispute_closed",
    "transferred", "owner_renamed",
    "licensed", "licence_cancelled",
    "open_licence_declared", "open_licence_withdrawn",
    "renewed", "expired", "revoked", "cancelled", "abandoned",
    "litigation_filed", "litigation_closed",
    "restored",
    # An official code the register does not map to a change (e.g. RINS, C52, PLDC): kept with its
    # code and description so nothing a feed said is lost; no rule reads it, so it changes no state.
    "unmapped",
)

LEGAL_STATES: tuple[str, ...] = (
    "in_force", "pending", "annuity_grace", "terminated", "invalidated", "partly_invalidated",
    "expired", "expired_renewable", "revoked", "cancelled",
)

# Which state wins when several apply, strongest first.  Revocation and cancellation end the
# right whatever else happened; a whole invalidation voids it from the start; a termination
# (unpaid annuity, abandonment) ends it before the term would have; expiry is the ordinary end.
# The remaining states describe a right that still exists: the annuity grace period is shown
# "throughout the 6 months" (§2) even for a partly invalidated patent, and an ungranted
# application cannot be partly invalidated.  ``expired_renewable`` is the trademark form of
# ``expired`` (a trademark is never plain ``expired``) and sits at the same level.
STATE_PRECEDENCE: tuple[str, ...] = (
    "revoked", "cancelled", "invalidated", "terminated", "expired", "expired_renewable",
    "annuity_grace", "pending", "partly_invalidated", "in_force",
)

# Each flag is opened by one event type and closed by another.  Several may be open at once
# (two licences, a second court's preservation order), so they are counted, not toggled.
FLAG_EVENTS: dict[str, tuple[str, str]] = {
    "invalidation_pending": ("invalidation_requested", "invalidation_decided"),
    "suspended": ("suspended", "suspension_lifted"),
    "preserved": ("preserved", "preservation_lifted"),
    "seized": ("seized", "seizure_lifted"),
    "ownership_dispute": ("ownership_dispute_filed", "ownership_dispute_closed"),
    "litigation": ("litigation_filed", "litigation_closed"),
    "licensed": ("licensed", "licence_cancelled"),
    "open_licence": ("open_licence_declared", "open_licence_withdrawn"),
}
FLAGS: tuple[str, ...] = tuple(sorted(FLAG_EVENTS))

_REQUIRED_PAYLOAD: dict[str, frozenset[str]] = {
    "annuity_paid": frozenset({"paid_through"}),
    "invalidation_decided": frozenset({"outcome"}),
    "transferred": frozenset({"new_owners"}),
    "owner_renamed": frozenset({"new_name"}),
    "renewed": frozenset({"renewed_to"}),
}

# Event types that only make sense for some kinds.  Annuities, invalidation, grant and open
# licences (专利法 Art. 50) exist for patents only; renewal for trademarks only.
_PATENT_ONLY = frozenset({
    "granted", "annuity_paid", "terminated_unpaid_annuity",
    "invalidation_requested", "invalidation_decided",
    "open_licence_declared", "open_licence_withdrawn",
})
_TRADEMARK_ONLY = frozenset({"renewed"})

ANNUITY_GRACE_MONTHS = 6  # 专利法实施细则 Art. 115: late payment within 6 months, with surcharge
RENEWAL_GRACE_MONTHS = 6  # 商标法 Art. 40: 6-month grace period (宽展期) after expiry
DESIGN_15_YEAR_FROM = date(2021, 6, 1)  # 专利法 (2020) Art. 42, applications filed from this day


class InvalidEvent(ValidationFailed):
    """This event cannot be recorded against this right."""

    code = "invalid_event"


# --------------------------------------------------------------------------------------------
# Plain data
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Owner:
    name: str
    id_type: str = ""
    id_number: str = ""
    country: str = "CN"
    domicile_in_china: bool = True
    address: str = ""


@dataclass(frozen=True)
class RightFacts:
    kind: str
    filing_date: date | None = None
    grant_date: date | None = None
    registration_date: date | None = None
    first_publication_date: date | None = None  # ic_layout: first commercial use
    completion_date: date | None = None  # copyright/software/ic_layout: creation
    author_kind: str | None = None  # "natural_person" | "legal_person" | None
    author_death_date: date | None = None
    annuity_paid_through: date | None = None  # last day covered by annuities paid
    term_adjustment_days: int = 0  # invention term adjustment/compensation (TG01/TP01)
    owners: tuple[Owner, ...] = ()

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValidationFailed(N_("Unknown kind of right."), code="invalid_right_kind",
                                   fields={"kind": N_("Unknown kind of right.")})
        if self.author_kind not in (None, *AUTHOR_KINDS):
            raise ValidationFailed(N_("Unknown kind of author."), code="invalid_author_kind",
                                   fields={"author_kind": N_("Unknown kind of author.")})
        if not isinstance(self.term_adjustment_days, int) or self.term_adjustment_days < 0:
            raise ValidationFailed(N_("The term adjustment must be a whole number of days, not negative."),
                                   fields={"term_adjustment_days": N_("Enter a whole number of days.")})
        object.__setattr__(self, "owners", tuple(self.owners))


@dataclass(frozen=True)
class Event:
    seq: int  # order of recording; breaks ties between events of the same date
    type: str
    date: date
    paid_through: date | None = None  # annuity_paid
    outcome: str | None = None  # invalidation_decided: invalid | partly_invalid | maintained
    new_owners: tuple[Owner, ...] | None = None  # transferred
    new_name: str | None = None  # owner_renamed
    owner_id_number: str | None = None  # owner_renamed: which owner; None = the first owner
    renewed_to: date | None = None  # renewed: the new term end
    official_code: str | None = None  # e.g. CF01, as published

    def __post_init__(self):
        if self.new_owners is not None:
            object.__setattr__(self, "new_owners", tuple(self.new_owners))


@dataclass(frozen=True)
class RightState:
    term_end: date | None
    legal_state: str
    flags: tuple[str, ...]  # sorted
    owners: tuple[Owner, ...]
    annuity_due_date: date | None  # next unpaid annuity due date (patents, when known)
    grace_end: date | None  # last day of the annuity late-payment or trademark renewal grace
    state_since: date | None  # first day of the current legal_state, when known


def required_payload(event_type: str) -> set[str]:
    """The payload fields an event of this type must carry."""
    return set(_REQUIRED_PAYLOAD.get(event_type, ()))


def in_force_for_pledge(state: RightState) -> bool:
    """A right can be pledged only while in force; a partly invalidated patent still is."""
    return state.legal_state in ("in_force", "partly_invalidated")


# --------------------------------------------------------------------------------------------
# Calendar helpers (the arithmetic itself is core.calendar's)
# --------------------------------------------------------------------------------------------

def _last_day_of_year(year: int) -> date:
    return date(year, 12, 31)


# --------------------------------------------------------------------------------------------
# Term end (§2)
# --------------------------------------------------------------------------------------------

def term_end(facts: RightFacts, events: Iterable[Event] = ()) -> date | None:
    """Last day of protection, or None when it cannot be known (missing base date, living author)
    or does not exist (geographical indications have no term)."""
    if facts.kind in PATENT_KINDS:
        return _patent_term_end(facts)
    if facts.kind == "trademark":
        return _trademark_term_end(facts, events)
    if facts.kind in COPYRIGHT_KINDS:
        return _copyright_term_end(facts)
    if facts.kind == "ic_layout":
        return _ic_layout_term_end(facts)
    return None


def _patent_term_end(facts: RightFacts) -> date | None:
    if facts.filing_date is None:
        return None
    if facts.kind == "invention":
        # Term adjustment/compensation is granted for inventions only; it extends the end.
        return day_before_anniversary(facts.filing_date, 20) + timedelta(days=facts.term_adjustment_days)
    if facts.kind == "utility_model":
        return day_before_anniversary(facts.filing_date, 10)
    years = 15 if facts.filing_date >= DESIGN_15_YEAR_FROM else 10
    return day_before_anniversary(facts.filing_date, years)


def _trademark_term_end(facts: RightFacts, events: Iterable[Event]) -> date | None:
    if facts.registration_date is None:
        return None
    end = day_before_anniversary(facts.registration_date, 10)
    # Each renewal sets a new end (10 years on); the latest one is the one that counts.
    renewals = [e.renewed_to for e in events if e.type == "renewed" and e.renewed_to is not None]
    return max([end, *renewals])


def _copyright_term_end(facts: RightFacts) -> date | None:
    if facts.author_kind == "natural_person":
        # Life + 50 years, to 31 December; while the author lives the end is not yet known.
        if facts.author_death_date is None:
            return None
        return _last_day_of_year(facts.author_death_date.year + 50)
    if facts.author_kind == "legal_person":
        # 50 years from first publication, to 31 December — unless the work stayed unpublished
        # for 50 years after completion, in which case protection ends then (著作权法 Art. 23).
        published = facts.first_publication_date
        completed = facts.completion_date
        unpublished_end = _last_day_of_year(completed.year + 50) if completed else None
        if published is not None and (unpublished_end is None or published <= unpublished_end):
            return _last_day_of_year(published.year + 50)
        return unpublished_end
    return None


def _ic_layout_term_end(facts: RightFacts) -> date | None:
    # 10 years from filing or first commercial use, whichever is earlier, and never beyond
    # 15 years from creation.
    starts = [d for d in (facts.filing_date, facts.first_publication_date) if d is not None]
    if not starts:
        return None
    end = day_before_anniversary(min(starts), 10)
    if facts.completion_date is not None:
        end = min(end, day_before_anniversary(facts.completion_date, 15))
    return end


# --------------------------------------------------------------------------------------------
# Events as of a date
# --------------------------------------------------------------------------------------------

def _ordered(events: Iterable[Event]) -> list[Event]:
    return sorted(events, key=lambda e: (e.date, e.seq))


def events_as_of(events: Iterable[Event], on: date) -> list[Event]:
    """The events that count on ``on`` (dated on or before it), in (date, seq) order."""
    return _ordered(e for e in events if e.date <= on)


def _flag_counts(ordered: Sequence[Event]) -> dict[str, int]:
    counts = dict.fromkeys(FLAG_EVENTS, 0)
    for event in ordered:
        for flag, (opens, closes) in FLAG_EVENTS.items():
            if event.type == opens:
                counts[flag] += 1
            elif event.type == closes:
                counts[flag] = max(0, counts[flag] - 1)  # tolerate an unmatched close
    return counts


def open_flags(events: Iterable[Event], on: date) -> tuple[str, ...]:
    """Flags open on ``on``, sorted."""
    counts = _flag_counts(events_as_of(events, on))
    return tuple(sorted(flag for flag, n in counts.items() if n > 0))


def is_flag_open(events: Iterable[Event], flag: str, on: date) -> bool:
    return flag in open_flags(events, on)


def owners_as_of(facts: RightFacts, events: Iterable[Event], on: date) -> tuple[Owner, ...]:
    """Owners on ``on``: the recorded owners, then each transfer and rename in (date, seq) order."""
    owners = facts.owners
    for event in events_as_of(events, on):
        if event.type == "transferred" and event.new_owners:
            owners = event.new_owners
        elif event.type == "owner_renamed" and event.new_name:
            owners = _renamed(owners, event)
    return owners


def _renamed(owners: tuple[Owner, ...], event: Event) -> tuple[Owner, ...]:
    if event.owner_id_number is None:
        # No owner named: the (first) owner is renamed.
        return tuple(replace(o, name=event.new_name) if i == 0 else o for i, o in enumerate(owners))
    return tuple(replace(o, name=event.new_name) if o.id_number == event.owner_id_number else o
                 for o in owners)


# --------------------------------------------------------------------------------------------
# Legal state
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Annuity:
    due: date | None = None  # next unpaid due date (None: no annuity logic, or none left to pay)
    grace_end: date | None = None  # last day of the late-payment period for ``due``
    # Derived terminations: ((day it became final, seq), day the patent terminated from).
    lapses: tuple[tuple[tuple[date, int], date], ...] = ()
    late_payments: tuple[date, ...] = ()  # payments made inside a grace period


@dataclass(frozen=True)
class _Context:
    facts: RightFacts
    events: tuple[Event, ...]  # only those dated on or before ``on``, in (date, seq) order
    on: date
    term_end: date | None
    annuity: _Annuity

    def of_type(self, *types: str) -> list[Event]:
        return [e for e in self.events if e.type in types]


def derive(facts: RightFacts, events: Iterable[Event], on: date) -> RightState:
    """The right as it stands on ``on``: only events dated on or before ``on`` count."""
    seen = tuple(events_as_of(events, on))
    end = term_end(facts, seen)
    ctx = _Context(facts, seen, on, end, _annuity(facts, seen, on, end))
    state, since = _legal_state(ctx)
    return RightState(
        term_end=end,
        legal_state=state,
        flags=open_flags(seen, on),
        owners=owners_as_of(facts, seen, on),
        annuity_due_date=ctx.annuity.due,
        grace_end=ctx.annuity.grace_end if facts.kind in PATENT_KINDS else _renewal_grace_end(ctx),
        state_since=since,
    )


# A state rule's answer: (legal_state, state_since), or None when the rule does not apply.
_Hit = tuple[str, date | None] | None


def _legal_state(ctx: _Context) -> tuple[str, date | None]:
    # In STATE_PRECEDENCE order: the first rule that applies decides.
    for rule in (_revoked, _cancelled, _invalidated, _terminated, _expired, _annuity_grace,
                 _pending, _partly_invalidated):
        hit = rule(ctx)
        if hit is not None:
            return hit
    return "in_force", _in_force_since(ctx)


def _revoked(ctx: _Context) -> _Hit:
    revoked = ctx.of_type("revoked")
    return ("revoked", revoked[0].date) if revoked else None


def _cancelled(ctx: _Context) -> _Hit:
    cancelled = ctx.of_type("cancelled")
    if cancelled:
        return "cancelled", cancelled[0].date
    # A trademark not renewed by the end of the grace period is cancelled (注销).
    grace_end = _renewal_grace_end(ctx)
    if ctx.facts.kind == "trademark" and grace_end is not None and ctx.on > grace_end:
        return "cancelled", grace_end + timedelta(days=1)
    return None


def _decisions(ctx: _Context, outcome: str) -> list[Event]:
    return [e for e in ctx.of_type("invalidation_decided") if e.outcome == outcome]


def _invalidated(ctx: _Context) -> _Hit:
    # A whole invalidation is final here: a later "maintained" decision on another request does
    # not bring claims back (a court reversal is recorded as a correcting event by an operator).
    invalid = _decisions(ctx, "invalid")
    return ("invalidated", invalid[0].date) if invalid else None


def _terminated(ctx: _Context) -> _Hit:
    """Terminated by an unpaid annuity (recorded or derived) or abandonment, unless restored since."""
    # Each termination: ((date, seq) it happened, day the right ended from).
    terminations = list(ctx.annuity.lapses)
    for event in ctx.of_type("terminated_unpaid_annuity"):
        # CF01 ends the patent "as from the original due date" of the unpaid annuity.
        paid = _paid_through(ctx.facts, ctx.events, event.date)
        since = paid + timedelta(days=1) if paid is not None and paid < event.date else event.date
        terminations.append(((event.date, event.seq), since))
    for event in ctx.of_type("abandoned"):
        terminations.append(((event.date, event.seq), event.date))
    if not terminations:
        return None
    last_at, since = max(terminations, key=lambda t: t[0])
    restores = [(e.date, e.seq) for e in ctx.of_type("restored")]
    if restores and max(restores) > last_at:
        return None  # reinstated (RR01/RA01/C49) after the last termination
    return "terminated", since


def _expired(ctx: _Context) -> _Hit:
    starts = [e.date for e in ctx.of_type("expired")]
    if ctx.term_end is not None and ctx.on > ctx.term_end:
        starts.append(ctx.term_end + timedelta(days=1))
    if not starts:
        return None
    # A trademark past its end may still be renewed during the grace period (its cancellation
    # after the grace period is handled by _cancelled, which ranks higher).
    state = "expired_renewable" if ctx.facts.kind == "trademark" else "expired"
    return state, min(starts)


def _annuity_grace(ctx: _Context) -> _Hit:
    # The due date itself is still covered ("due date passed" means the day after it).
    due, grace_end = ctx.annuity.due, ctx.annuity.grace_end
    if due is not None and grace_end is not None and due < ctx.on <= grace_end:
        return "annuity_grace", due + timedelta(days=1)
    return None


def _pending(ctx: _Context) -> _Hit:
    facts = ctx.facts
    if facts.kind in PATENT_KINDS and _grant_date(ctx) is None:
        return "pending", facts.filing_date
    if facts.kind == "trademark" and (facts.registration_date is None or facts.registration_date > ctx.on):
        return "pending", facts.filing_date
    return None


def _partly_invalidated(ctx: _Context) -> _Hit:
    partly = _decisions(ctx, "partly_invalid")
    if not partly:
        return None
    since = [d for d in (partly[0].date, _in_force_since(ctx)) if d is not None]
    return "partly_invalidated", max(since)


def _granted_on(facts: RightFacts, ordered: Sequence[Event], on: date) -> date | None:
    """Day the patent was granted, if on or before ``on`` (from the facts or a granted event)."""
    dates = [e.date for e in ordered if e.type == "granted" and e.date <= on]
    if facts.grant_date is not None and facts.grant_date <= on:
        dates.append(facts.grant_date)
    return min(dates) if dates else None


def _grant_date(ctx: _Context) -> date | None:
    return _granted_on(ctx.facts, ctx.events, ctx.on)


def _protection_start(ctx: _Context) -> date | None:
    facts = ctx.facts
    if facts.kind in PATENT_KINDS:
        return _grant_date(ctx)
    if facts.kind in COPYRIGHT_KINDS:
        return facts.completion_date  # copyright arises when the work is completed
    return facts.registration_date


def _in_force_since(ctx: _Context) -> date | None:
    """The right is in force since it started, or since it last came back into force
    (reinstatement, a late annuity payment, a trademark renewed in its grace period)."""
    candidates = [ctx.annuity.late_payments[-1]] if ctx.annuity.late_payments else []
    candidates += [e.date for e in ctx.of_type("restored")]
    candidates += _renewals_in_grace(ctx)
    start = _protection_start(ctx)
    if start is not None and start <= ctx.on:
        candidates.append(start)
    return max(candidates) if candidates else None


# --------------------------------------------------------------------------------------------
# Annuities (patents) and renewals (trademarks)
# --------------------------------------------------------------------------------------------

def _paid_through(facts: RightFacts, ordered: Sequence[Event], upto: date) -> date | None:
    """Last day covered by annuities paid on or before ``upto`` (the latest coverage counts)."""
    covered = [e.paid_through for e in ordered
               if e.type == "annuity_paid" and e.paid_through is not None and e.date <= upto]
    if facts.annuity_paid_through is not None:
        covered.append(facts.annuity_paid_through)
    return max(covered) if covered else None


def _owes(due: date, end: date | None) -> bool:
    """An annuity falls due only while the term runs."""
    return end is None or due <= end


def _annuity(facts: RightFacts, ordered: Sequence[Event], on: date, end: date | None) -> _Annuity:
    """Walk the payments in order to find the next due date and every lapse on the way.

    The due date is the day after the last day paid for.  Paying within 6 months after it is a
    late payment (annuity grace); not paying by then terminates the patent as from the due date.
    A payment made after that does not revive the patent — only a ``restored`` event does — so
    the lapse is kept even though coverage moved on.
    """
    if facts.kind not in PATENT_KINDS:
        return _Annuity()
    if _granted_on(facts, ordered, on) is None:
        return _Annuity()  # annuities run only for granted patents
    paid = facts.annuity_paid_through
    lapses: list[tuple[tuple[date, int], date]] = []
    late: list[date] = []
    for payment in (e for e in ordered if e.type == "annuity_paid" and e.paid_through is not None):
        if paid is not None:
            due = paid + timedelta(days=1)
            grace_end = add_months(due, ANNUITY_GRACE_MONTHS)
            if _owes(due, end) and payment.date > grace_end:
                lapses.append(((grace_end + timedelta(days=1), -1), due))
            elif _owes(due, end) and due < payment.date and payment.paid_through >= due:
                late.append(payment.date)
        paid = payment.paid_through if paid is None else max(paid, payment.paid_through)
    if paid is None:
        return _Annuity()  # nothing known about payments: no annuity logic
    due = paid + timedelta(days=1)
    if not _owes(due, end):
        return _Annuity(lapses=tuple(lapses), late_payments=tuple(late))
    grace_end = add_months(due, ANNUITY_GRACE_MONTHS)
    if on > grace_end:
        # seq -1: a lapse that becomes final on a day sorts before that day's recorded events.
        lapses.append(((grace_end + timedelta(days=1), -1), due))
    return _Annuity(due, grace_end, tuple(lapses), tuple(late))


def _renewal_grace_end(ctx: _Context) -> date | None:
    if ctx.facts.kind != "trademark" or ctx.term_end is None:
        return None
    return add_months(ctx.term_end, RENEWAL_GRACE_MONTHS)


def _renewals_in_grace(ctx: _Context) -> list[date]:
    """Dates of renewals recorded after the term they renewed had ended (back in force then)."""
    if ctx.facts.kind != "trademark" or ctx.facts.registration_date is None:
        return []
    end = day_before_anniversary(ctx.facts.registration_date, 10)
    back = []
    for event in ctx.of_type("renewed"):
        if event.renewed_to is None:
            continue
        if event.date > end:
            back.append(event.date)
        end = max(end, event.renewed_to)
    return back


# --------------------------------------------------------------------------------------------
# Validation of a new event
# --------------------------------------------------------------------------------------------

def _base_date(facts: RightFacts) -> date | None:
    """Earliest date the right (or its application) is known to exist."""
    known = [d for d in (facts.filing_date, facts.registration_date, facts.completion_date) if d is not None]
    return min(known) if known else None


def _missing(event: Event) -> list[str]:
    missing = []
    for name in sorted(required_payload(event.type)):
        value = getattr(event, name)
        if value is None or value == () or value == "":
            missing.append(name)
    return missing


def validate_event(facts: RightFacts, events: Iterable[Event], new_event: Event) -> None:
    """Raise InvalidEvent (code ``invalid_event``) if ``new_event`` cannot be appended."""
    events = list(events)
    if new_event.type not in EVENT_TYPES:
        raise InvalidEvent(N_("Unknown event type."), fields={"type": N_("Unknown event type.")})
    missing = _missing(new_event)
    if missing:
        raise InvalidEvent(N_("This event needs more information."),
                           fields={name: N_("This field is required.") for name in missing})
    if new_event.outcome is not None and new_event.outcome not in OUTCOMES:
        raise InvalidEvent(N_("The invalidation outcome must be invalid, partly_invalid or maintained."),
                           fields={"outcome": N_("Choose invalid, partly_invalid or maintained.")})
    base = _base_date(facts)
    if base is not None and new_event.date < base:
        raise InvalidEvent(N_("The event is dated before the right was filed or registered."),
                           fields={"date": N_("The date is before the filing or registration date.")})
    _check_kind(facts, new_event)
    _check_closes_something(events, new_event)
    _check_payload_against_state(facts, events, new_event)


def _check_kind(facts: RightFacts, event: Event) -> None:
    if ((event.type in _PATENT_ONLY and facts.kind not in PATENT_KINDS)
            or (event.type in _TRADEMARK_ONLY and facts.kind != "trademark")):
        raise InvalidEvent(N_("This event does not apply to this kind of right."),
                           fields={"type": N_("This event does not apply to this kind of right.")})


def _check_closes_something(events: list[Event], event: Event) -> None:
    # A decision on invalidation is not checked against a request: the gazette publishes
    # decisions (IW01/IP01) but not requests, so imported histories often lack the request.
    for flag, (_opens, closes) in FLAG_EVENTS.items():
        if event.type == closes and event.type != "invalidation_decided":
            if not is_flag_open(events, flag, event.date):
                raise InvalidEvent(N_("There is nothing open at that date for this event to lift or close."),
                                   fields={"type": N_("Nothing to lift or close at that date.")})


def _check_payload_against_state(facts: RightFacts, events: list[Event], event: Event) -> None:
    if event.type == "restored":
        if derive(facts, events, event.date).legal_state != "terminated":
            raise InvalidEvent(N_("Only a terminated right can be restored."),
                               fields={"type": N_("The right is not terminated at that date.")})
    if event.type == "renewed":
        current = term_end(facts, events)
        if current is not None and event.renewed_to <= current:
            raise InvalidEvent(N_("A renewal must extend the term beyond its current end."),
                               fields={"renewed_to": N_("Must be later than the current term end.")})
    if event.type == "owner_renamed" and event.owner_id_number is not None:
        owners = owners_as_of(facts, events, event.date)
        if not any(o.id_number == event.owner_id_number for o in owners):
            raise InvalidEvent(N_("No owner of the right at that date has this identity number."),
                               fields={"owner_id_number": N_("Not an owner at that date.")})
