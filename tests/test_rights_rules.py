"""Term end, legal state and official codes of IP rights (pure: no Django, no database).

Expected values are computed by hand from registry-rules §2 and §7, not by the module.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ippledge.core.errors import DomainError, ValidationFailed
from ippledge.rights import legal_codes
from ippledge.rights.rules import (
    EVENT_TYPES,
    FLAGS,
    KINDS,
    LEGAL_STATES,
    PATENT_KINDS,
    STATE_PRECEDENCE,
    Event,
    InvalidEvent,
    Owner,
    RightFacts,
    RightState,
    add_months,
    anniversary,
    derive,
    in_force_for_pledge,
    is_flag_open,
    open_flags,
    owners_as_of,
    required_payload,
    term_end,
    validate_event,
)

FAST = settings(max_examples=150, deadline=None)
D = date

ACME = Owner(name="Acme Ltd", id_type="uscc", id_number="914403001922038216")
BETA = Owner(name="Beta Co", id_type="uscc", id_number="91110000000000000X")
GAMMA = Owner(name="Gamma Co", id_type="uscc", id_number="91310000000000000Y")


def ev(seq: int, type_: str, when: date, **payload) -> Event:
    return Event(seq=seq, type=type_, date=when, **payload)


def invention(**kw) -> RightFacts:
    """Invention filed 2010-03-15, granted 2013-01-01, annuities paid through 2020-03-14."""
    base = dict(kind="invention", filing_date=D(2010, 3, 15), grant_date=D(2013, 1, 1),
                annuity_paid_through=D(2020, 3, 14), owners=(ACME,))
    base.update(kw)
    return RightFacts(**base)


def trademark(**kw) -> RightFacts:
    base = dict(kind="trademark", filing_date=D(2013, 6, 1), registration_date=D(2015, 3, 10), owners=(ACME,))
    base.update(kw)
    return RightFacts(**base)


def state(facts, events, on) -> str:
    return derive(facts, events, on).legal_state


# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------

def test_vocabulary():
    assert set(PATENT_KINDS) == {"invention", "utility_model", "design"}
    assert set(KINDS) == set(PATENT_KINDS) | {"trademark", "copyright", "software", "ic_layout",
                                              "geographical_indication"}
    assert len(EVENT_TYPES) == 28 and "restored" in EVENT_TYPES and "unmapped" in EVENT_TYPES
    assert set(STATE_PRECEDENCE) == set(LEGAL_STATES)
    assert STATE_PRECEDENCE[0] == "revoked" and STATE_PRECEDENCE[-1] == "in_force"
    assert FLAGS == tuple(sorted({"invalidation_pending", "suspended", "preserved", "seized",
                                  "ownership_dispute", "litigation", "licensed", "open_licence"}))


def test_required_payload():
    assert required_payload("annuity_paid") == {"paid_through"}
    assert required_payload("invalidation_decided") == {"outcome"}
    assert required_payload("transferred") == {"new_owners"}
    assert required_payload("owner_renamed") == {"new_name"}
    assert required_payload("renewed") == {"renewed_to"}
    assert required_payload("suspended") == set()


def test_facts_reject_unknown_kind_and_author():
    with pytest.raises(ValidationFailed) as info:
        RightFacts(kind="petty_patent")
    assert info.value.code == "invalid_right_kind"
    with pytest.raises(ValidationFailed):
        RightFacts(kind="copyright", author_kind="robot")


# --------------------------------------------------------------------------------------------
# Term end
# --------------------------------------------------------------------------------------------

def test_utility_model_term_from_the_rules_example():
    assert term_end(RightFacts(kind="utility_model", filing_date=D(1999, 9, 6))) == D(2009, 9, 5)


def test_invention_term_with_adjustment_days():
    assert term_end(RightFacts(kind="invention", filing_date=D(2010, 3, 15))) == D(2030, 3, 14)
    # 2030-03-14 + 100 days: 17 (to 31 Mar) + 30 (Apr) + 31 (May) + 22 → 22 June
    facts = RightFacts(kind="invention", filing_date=D(2010, 3, 15), term_adjustment_days=100)
    assert term_end(facts) == D(2030, 6, 22)


def test_adjustment_days_only_extend_inventions():
    facts = RightFacts(kind="utility_model", filing_date=D(1999, 9, 6), term_adjustment_days=100)
    assert term_end(facts) == D(2009, 9, 5)


def test_design_term_changes_on_2021_06_01():
    assert term_end(RightFacts(kind="design", filing_date=D(2021, 5, 31))) == D(2031, 5, 30)
    assert term_end(RightFacts(kind="design", filing_date=D(2021, 6, 1))) == D(2036, 5, 31)


def test_feb_29_filing():
    # Anniversary in a leap year exists: the term ends the day before it.
    assert term_end(RightFacts(kind="invention", filing_date=D(2000, 2, 29))) == D(2020, 2, 28)
    # Anniversary in a common year is 1 March: the term ends 28 February.
    assert term_end(RightFacts(kind="utility_model", filing_date=D(2004, 2, 29))) == D(2014, 2, 28)
    assert term_end(RightFacts(kind="design", filing_date=D(2024, 2, 29))) == D(2039, 2, 28)
    assert anniversary(D(2004, 2, 29), 10) == D(2014, 3, 1)


def test_add_months_clamps_to_month_end():
    assert add_months(D(2020, 3, 15), 6) == D(2020, 9, 15)
    assert add_months(D(2020, 8, 31), 6) == D(2021, 2, 28)
    assert add_months(D(2023, 8, 31), 6) == D(2024, 2, 29)
    assert add_months(D(2020, 10, 31), 3) == D(2021, 1, 31)


def test_trademark_term_and_renewals():
    assert term_end(trademark()) == D(2025, 3, 9)
    renewed = [ev(1, "renewed", D(2025, 1, 5), renewed_to=D(2035, 3, 9))]
    assert term_end(trademark(), renewed) == D(2035, 3, 9)
    twice = renewed + [ev(2, "renewed", D(2035, 2, 1), renewed_to=D(2045, 3, 9))]
    assert term_end(trademark(), twice) == D(2045, 3, 9)
    assert term_end(trademark(registration_date=None)) is None


def test_copyright_natural_person():
    facts = RightFacts(kind="copyright", author_kind="natural_person", completion_date=D(1970, 1, 1),
                       author_death_date=D(1990, 5, 1))
    assert term_end(facts) == D(2040, 12, 31)
    alive = RightFacts(kind="copyright", author_kind="natural_person", completion_date=D(1970, 1, 1))
    assert term_end(alive) is None
    assert derive(alive, (), D(2100, 1, 1)).legal_state == "in_force"


def test_copyright_legal_person_published_and_unpublished():
    published = RightFacts(kind="copyright", author_kind="legal_person", completion_date=D(2000, 6, 1),
                           first_publication_date=D(2001, 4, 20))
    assert term_end(published) == D(2051, 12, 31)
    unpublished = RightFacts(kind="copyright", author_kind="legal_person", completion_date=D(1980, 6, 1))
    assert term_end(unpublished) == D(2030, 12, 31)
    # Published only after the 50 years from completion had run out: protection had ended.
    late = RightFacts(kind="copyright", author_kind="legal_person", completion_date=D(1950, 1, 1),
                      first_publication_date=D(2005, 1, 1))
    assert term_end(late) == D(2000, 12, 31)
    assert term_end(RightFacts(kind="copyright", author_kind="legal_person")) is None
    assert term_end(RightFacts(kind="copyright", completion_date=D(2000, 1, 1))) is None


def test_software_terms():
    person = RightFacts(kind="software", author_kind="natural_person", author_death_date=D(2010, 1, 15))
    assert term_end(person) == D(2060, 12, 31)
    company = RightFacts(kind="software", author_kind="legal_person", completion_date=D(2020, 1, 1),
                         first_publication_date=D(2020, 7, 1))
    assert term_end(company) == D(2070, 12, 31)
    assert state(company, (), D(2070, 12, 31)) == "in_force"
    assert state(company, (), D(2071, 1, 1)) == "expired"
    assert derive(company, (), D(2071, 1, 1)).state_since == D(2071, 1, 1)


def test_ic_layout_ten_year_limb_from_the_earlier_start():
    # First commercial use 2014-03-01 is earlier than filing; 2024 is a leap year.
    facts = RightFacts(kind="ic_layout", filing_date=D(2015, 6, 1), first_publication_date=D(2014, 3, 1),
                       completion_date=D(2013, 1, 1))
    assert term_end(facts) == D(2024, 2, 29)  # 15-year limb (2027-12-31) is later


def test_ic_layout_fifteen_year_cap_from_creation():
    facts = RightFacts(kind="ic_layout", filing_date=D(2010, 5, 1), completion_date=D(2000, 1, 10))
    assert term_end(facts) == D(2015, 1, 9)  # 10-year limb would be 2020-04-30
    assert term_end(RightFacts(kind="ic_layout", filing_date=D(2010, 5, 1))) == D(2020, 4, 30)
    assert term_end(RightFacts(kind="ic_layout", completion_date=D(2000, 1, 10))) is None


def test_missing_base_dates_and_gi():
    assert term_end(RightFacts(kind="invention")) is None
    assert term_end(RightFacts(kind="geographical_indication", registration_date=D(2010, 1, 1))) is None
    gi = RightFacts(kind="geographical_indication", registration_date=D(2010, 1, 1))
    assert state(gi, (), D(2200, 1, 1)) == "in_force"
    assert state(gi, [ev(1, "revoked", D(2020, 1, 1))], D(2021, 1, 1)) == "revoked"
    assert state(gi, [ev(1, "cancelled", D(2020, 1, 1))], D(2021, 1, 1)) == "cancelled"
    assert state(gi, [ev(1, "expired", D(2020, 1, 1))], D(2021, 1, 1)) == "expired"


# --------------------------------------------------------------------------------------------
# Legal state
# --------------------------------------------------------------------------------------------

def test_granted_paid_invention_in_force():
    s = derive(invention(), (), D(2019, 6, 1))
    assert s == RightState(term_end=D(2030, 3, 14), legal_state="in_force", flags=(), owners=(ACME,),
                           annuity_due_date=D(2020, 3, 15), grace_end=D(2020, 9, 15),
                           state_since=D(2013, 1, 1))
    assert in_force_for_pledge(s)


def test_pending_until_granted():
    facts = invention(grant_date=None)
    assert state(facts, (), D(2012, 1, 1)) == "pending"
    assert derive(facts, (), D(2012, 1, 1)).state_since == D(2010, 3, 15)
    events = [ev(1, "granted", D(2013, 1, 1))]
    assert state(facts, events, D(2012, 12, 31)) == "pending"
    assert state(facts, events, D(2013, 1, 1)) == "in_force"
    # grant date in the facts but later than ``on``
    assert state(invention(), (), D(2012, 12, 31)) == "pending"
    assert not in_force_for_pledge(derive(facts, (), D(2012, 1, 1)))


def test_trademark_pending_without_registration():
    assert state(trademark(registration_date=None), (), D(2014, 1, 1)) == "pending"
    assert state(trademark(), (), D(2015, 3, 9)) == "pending"
    assert state(trademark(), (), D(2015, 3, 10)) == "in_force"


def test_annuity_grace_and_derived_termination_at_the_six_month_boundary():
    facts = invention()  # paid through 2020-03-14: due 2020-03-15, grace to 2020-09-15
    on_due = derive(facts, (), D(2020, 3, 15))
    assert on_due.legal_state == "in_force" and on_due.annuity_due_date == D(2020, 3, 15)
    first = derive(facts, (), D(2020, 3, 16))
    assert (first.legal_state, first.state_since) == ("annuity_grace", D(2020, 3, 16))
    last = derive(facts, (), D(2020, 9, 15))
    assert (last.legal_state, last.grace_end) == ("annuity_grace", D(2020, 9, 15))
    assert not in_force_for_pledge(last)
    after = derive(facts, (), D(2020, 9, 16))
    # terminated as from the original due date
    assert (after.legal_state, after.state_since) == ("terminated", D(2020, 3, 15))


def test_grace_end_clamps_to_month_end():
    facts = invention(annuity_paid_through=D(2020, 8, 30))  # due 2020-08-31
    assert derive(facts, (), D(2021, 2, 28)).legal_state == "annuity_grace"
    assert derive(facts, (), D(2021, 3, 1)).legal_state == "terminated"


def test_late_payment_in_grace_puts_it_back_in_force():
    events = [ev(1, "annuity_paid", D(2020, 6, 1), paid_through=D(2021, 3, 14))]
    assert state(invention(), events, D(2020, 5, 31)) == "annuity_grace"
    s = derive(invention(), events, D(2020, 7, 1))
    assert (s.legal_state, s.state_since, s.annuity_due_date) == ("in_force", D(2020, 6, 1), D(2021, 3, 15))


def test_payment_after_the_grace_period_does_not_revive():
    events = [ev(1, "annuity_paid", D(2020, 10, 1), paid_through=D(2021, 3, 14))]
    s = derive(invention(), events, D(2020, 12, 1))
    assert (s.legal_state, s.state_since) == ("terminated", D(2020, 3, 15))


def test_no_annuity_logic_without_paid_through():
    s = derive(invention(annuity_paid_through=None), (), D(2025, 1, 1))
    assert (s.legal_state, s.annuity_due_date, s.grace_end) == ("in_force", None, None)


def test_no_annuity_due_after_the_term():
    facts = RightFacts(kind="utility_model", filing_date=D(1999, 9, 6), grant_date=D(2000, 5, 1),
                       annuity_paid_through=D(2009, 9, 5))
    s = derive(facts, (), D(2009, 9, 5))
    assert (s.legal_state, s.annuity_due_date) == ("in_force", None)
    assert derive(facts, (), D(2009, 9, 6)).legal_state == "expired"
    assert derive(facts, (), D(2009, 9, 6)).state_since == D(2009, 9, 6)


def test_recorded_cf01_terminates_from_the_due_date_and_restored_reenables():
    cf01 = ev(1, "terminated_unpaid_annuity", D(2020, 10, 20), official_code="CF01")
    s = derive(invention(), [cf01], D(2020, 11, 1))
    assert (s.legal_state, s.state_since) == ("terminated", D(2020, 3, 15))
    events = [cf01, ev(2, "annuity_paid", D(2020, 11, 30), paid_through=D(2021, 3, 14)),
              ev(3, "restored", D(2020, 12, 1), official_code="RR01")]
    s = derive(invention(), events, D(2020, 12, 15))
    assert (s.legal_state, s.state_since) == ("in_force", D(2020, 12, 1))
    assert state(invention(), events, D(2020, 11, 30)) == "terminated"


def test_restored_undoes_a_derived_lapse_and_abandonment():
    restored = [ev(1, "restored", D(2020, 10, 1))]
    assert state(invention(), restored, D(2020, 10, 2)) == "in_force"
    abandoned = [ev(1, "abandoned", D(2018, 1, 1)), ev(2, "restored", D(2018, 2, 1))]
    assert state(invention(), abandoned, D(2018, 1, 15)) == "terminated"
    assert state(invention(), abandoned, D(2018, 2, 1)) == "in_force"
    # a termination after the restoration wins again
    again = abandoned + [ev(3, "abandoned", D(2018, 6, 1))]
    assert derive(invention(), again, D(2018, 7, 1)).state_since == D(2018, 6, 1)


def test_invalidation_outcomes():
    decided = [ev(1, "invalidation_requested", D(2016, 1, 1)),
               ev(2, "invalidation_decided", D(2017, 1, 1), outcome="partly_invalid")]
    mid = derive(invention(), decided, D(2016, 6, 1))
    assert (mid.legal_state, mid.flags) == ("in_force", ("invalidation_pending",))
    s = derive(invention(), decided, D(2017, 6, 1))
    assert (s.legal_state, s.flags, s.state_since) == ("partly_invalidated", (), D(2017, 1, 1))
    assert in_force_for_pledge(s)
    maintained = [ev(1, "invalidation_decided", D(2017, 1, 1), outcome="maintained")]
    assert state(invention(), maintained, D(2017, 6, 1)) == "in_force"
    whole = decided + [ev(3, "invalidation_decided", D(2018, 1, 1), outcome="invalid")]
    s = derive(invention(), whole, D(2018, 6, 1))
    assert (s.legal_state, s.state_since) == ("invalidated", D(2018, 1, 1))
    assert not in_force_for_pledge(s)


def test_trademark_expiry_grace_renewal_and_cancellation():
    facts = trademark()  # term ends 2025-03-09; grace to 2025-09-09
    assert state(facts, (), D(2025, 3, 9)) == "in_force"
    s = derive(facts, (), D(2025, 3, 10))
    assert (s.legal_state, s.state_since, s.grace_end) == ("expired_renewable", D(2025, 3, 10), D(2025, 9, 9))
    assert not in_force_for_pledge(s)
    assert state(facts, (), D(2025, 9, 9)) == "expired_renewable"
    s = derive(facts, (), D(2025, 9, 10))
    assert (s.legal_state, s.state_since) == ("cancelled", D(2025, 9, 10))
    renewed_in_grace = [ev(1, "renewed", D(2025, 5, 1), renewed_to=D(2035, 3, 9))]
    s = derive(facts, renewed_in_grace, D(2025, 6, 1))
    assert (s.legal_state, s.state_since, s.term_end) == ("in_force", D(2025, 5, 1), D(2035, 3, 9))
    renewed_early = [ev(1, "renewed", D(2024, 8, 1), renewed_to=D(2035, 3, 9))]
    s = derive(facts, renewed_early, D(2030, 1, 1))
    assert (s.legal_state, s.state_since) == ("in_force", D(2015, 3, 10))


def test_precedence():
    facts = invention()
    everything = [
        ev(1, "invalidation_decided", D(2015, 1, 1), outcome="partly_invalid"),
        ev(2, "abandoned", D(2016, 1, 1)),
        ev(3, "invalidation_decided", D(2017, 1, 1), outcome="invalid"),
        ev(4, "cancelled", D(2018, 1, 1)),
        ev(5, "revoked", D(2019, 1, 1)),
    ]
    on = D(2040, 1, 1)  # also past the term end and the annuity grace
    assert state(facts, everything, on) == "revoked"  # revoked beats everything
    assert state(facts, everything[:4], on) == "cancelled"
    assert state(facts, everything[:3], on) == "invalidated"
    assert state(facts, everything[:2], D(2019, 1, 1)) == "terminated"
    assert state(facts, everything[:2], on) == "terminated"  # terminated beats expired
    assert state(facts, everything[:1], D(2019, 1, 1)) == "partly_invalidated"
    assert state(facts, everything[:1], D(2020, 4, 1)) == "annuity_grace"  # beats partly_invalidated
    paid_up = invention(annuity_paid_through=D(2030, 3, 14))
    assert state(paid_up, everything[:1], D(2031, 1, 1)) == "expired"  # beats partly_invalidated
    # an ungranted application past its term is expired, not pending
    assert state(invention(grant_date=None), (), D(2031, 1, 1)) == "expired"


def test_expired_event_before_term_end():
    s = derive(invention(), [ev(1, "expired", D(2019, 5, 1), official_code="CE01")], D(2019, 6, 1))
    assert (s.legal_state, s.state_since) == ("expired", D(2019, 5, 1))


def test_flags_open_and_close():
    events = [ev(1, "suspended", D(2018, 1, 1)), ev(2, "suspension_lifted", D(2018, 3, 1)),
              ev(3, "licensed", D(2018, 1, 1)), ev(4, "licensed", D(2018, 2, 1)),
              ev(5, "licence_cancelled", D(2018, 4, 1)),
              ev(6, "preserved", D(2018, 5, 1)), ev(7, "seized", D(2018, 5, 1)),
              ev(8, "ownership_dispute_filed", D(2018, 5, 1)), ev(9, "litigation_filed", D(2018, 5, 1)),
              ev(10, "open_licence_declared", D(2018, 5, 1))]
    assert derive(invention(), events, D(2018, 2, 1)).flags == ("licensed", "suspended")
    assert open_flags(events, D(2018, 3, 1)) == ("licensed",)
    assert open_flags(events, D(2018, 4, 1)) == ("licensed",)  # one of two licences cancelled
    assert is_flag_open(events, "licensed", D(2018, 4, 1))
    assert not is_flag_open(events, "suspended", D(2018, 4, 1))
    assert open_flags(events, D(2018, 5, 1)) == ("licensed", "litigation", "open_licence",
                                                 "ownership_dispute", "preserved", "seized")
    # flags do not change the legal state by themselves
    assert state(invention(), events, D(2018, 5, 1)) == "in_force"


def test_owners_after_transfer_and_rename():
    two = invention(owners=(ACME, BETA))
    events = [
        ev(1, "owner_renamed", D(2016, 1, 1), new_name="Beta Group", owner_id_number=BETA.id_number),
        ev(2, "owner_renamed", D(2016, 2, 1), new_name="Acme Holdings"),  # None → first owner
        ev(3, "transferred", D(2017, 1, 1), new_owners=(GAMMA,)),
        ev(4, "owner_renamed", D(2018, 1, 1), new_name="Gamma Group"),
    ]
    assert owners_as_of(two, events, D(2015, 1, 1)) == (ACME, BETA)
    assert [o.name for o in owners_as_of(two, events, D(2016, 6, 1))] == ["Acme Holdings", "Beta Group"]
    assert derive(two, events, D(2017, 6, 1)).owners == (GAMMA,)
    renamed = derive(two, events, D(2018, 6, 1)).owners
    assert renamed[0].name == "Gamma Group" and renamed[0].id_number == GAMMA.id_number


def test_same_day_events_apply_in_seq_order():
    events = [ev(2, "owner_renamed", D(2017, 1, 1), new_name="Gamma Group"),
              ev(1, "transferred", D(2017, 1, 1), new_owners=(GAMMA,))]
    assert derive(invention(), events, D(2017, 1, 1)).owners[0].name == "Gamma Group"


def test_events_after_on_are_ignored():
    events = [ev(1, "revoked", D(2019, 1, 1)), ev(2, "transferred", D(2019, 1, 1), new_owners=(GAMMA,)),
              ev(3, "suspended", D(2019, 1, 1))]
    s = derive(invention(), events, D(2018, 12, 31))
    assert (s.legal_state, s.owners, s.flags) == ("in_force", (ACME,), ())
    assert derive(invention(), events, D(2019, 1, 1)).legal_state == "revoked"


def test_derive_at_the_end_of_time_does_not_overflow():
    s = derive(invention(), [ev(1, "transferred", D(2017, 1, 1), new_owners=(GAMMA,))], date.max)
    assert s.owners == (GAMMA,) and s.legal_state == "terminated"
    assert derive(trademark(), (), date.max).legal_state == "cancelled"


# --------------------------------------------------------------------------------------------
# validate_event
# --------------------------------------------------------------------------------------------

def rejected(facts, events, new_event) -> dict:
    with pytest.raises(InvalidEvent) as info:
        validate_event(facts, events, new_event)
    assert info.value.code == "invalid_event" and info.value.status == 422
    assert isinstance(info.value, DomainError)
    return info.value.fields


@pytest.mark.parametrize("type_, field", [
    ("annuity_paid", "paid_through"), ("invalidation_decided", "outcome"),
    ("transferred", "new_owners"), ("owner_renamed", "new_name"),
])
def test_validate_missing_payload(type_, field):
    assert field in rejected(invention(), [], ev(1, type_, D(2018, 1, 1)))


def test_validate_missing_renewal_date_and_empty_owners():
    assert "renewed_to" in rejected(trademark(), [], ev(1, "renewed", D(2025, 1, 1)))
    assert "new_owners" in rejected(invention(), [], ev(1, "transferred", D(2018, 1, 1), new_owners=()))


def test_validate_unknown_type_and_outcome():
    assert "type" in rejected(invention(), [], ev(1, "exploded", D(2018, 1, 1)))
    assert "outcome" in rejected(invention(), [], ev(1, "invalidation_decided", D(2018, 1, 1), outcome="void"))


def test_validate_date_before_filing_or_registration():
    assert "date" in rejected(invention(), [], ev(1, "suspended", D(2010, 3, 14)))
    validate_event(invention(), [], ev(1, "suspended", D(2010, 3, 15)))
    assert "date" in rejected(trademark(filing_date=None), [], ev(1, "seized", D(2015, 3, 9)))
    validate_event(RightFacts(kind="invention"), [], ev(1, "suspended", D(1900, 1, 1)))  # date unknown


@pytest.mark.parametrize("type_", ["annuity_paid", "terminated_unpaid_annuity", "invalidation_requested",
                                   "invalidation_decided"])
def test_validate_patent_only_events(type_):
    event = ev(1, type_, D(2018, 1, 1), paid_through=D(2019, 1, 1), outcome="invalid")
    assert "type" in rejected(trademark(), [], event)
    validate_event(invention(), [], event)


def test_validate_renewal_only_for_trademarks():
    assert "type" in rejected(invention(), [], ev(1, "renewed", D(2018, 1, 1), renewed_to=D(2040, 1, 1)))


@pytest.mark.parametrize("opener, closer", [
    ("suspended", "suspension_lifted"), ("preserved", "preservation_lifted"), ("seized", "seizure_lifted"),
    ("ownership_dispute_filed", "ownership_dispute_closed"), ("litigation_filed", "litigation_closed"),
    ("licensed", "licence_cancelled"), ("open_licence_declared", "open_licence_withdrawn"),
])
def test_validate_close_needs_an_open_one(opener, closer):
    assert "type" in rejected(invention(), [], ev(1, closer, D(2018, 1, 1)))
    opened = [ev(1, opener, D(2018, 1, 1))]
    assert "type" in rejected(invention(), opened, ev(2, closer, D(2017, 12, 31)))  # not open at that date
    validate_event(invention(), opened, ev(2, closer, D(2018, 1, 1)))
    closed = opened + [ev(2, closer, D(2018, 2, 1))]
    assert "type" in rejected(invention(), closed, ev(3, closer, D(2018, 3, 1)))


def test_validate_invalidation_decision_without_recorded_request_is_accepted():
    validate_event(invention(), [], ev(1, "invalidation_decided", D(2018, 1, 1), outcome="invalid"))


def test_validate_renewal_must_extend_the_term():
    fields = rejected(trademark(), [], ev(1, "renewed", D(2025, 1, 1), renewed_to=D(2025, 3, 9)))
    assert "renewed_to" in fields
    validate_event(trademark(), [], ev(1, "renewed", D(2025, 1, 1), renewed_to=D(2035, 3, 9)))
    renewed = [ev(1, "renewed", D(2025, 1, 1), renewed_to=D(2035, 3, 9))]
    assert "renewed_to" in rejected(trademark(), renewed, ev(2, "renewed", D(2025, 2, 1),
                                                              renewed_to=D(2035, 3, 9)))


def test_validate_restored_only_when_terminated():
    assert "type" in rejected(invention(), [], ev(1, "restored", D(2019, 1, 1)))
    validate_event(invention(), [], ev(1, "restored", D(2020, 10, 1)))  # derived lapse
    abandoned = [ev(1, "abandoned", D(2018, 1, 1))]
    validate_event(invention(), abandoned, ev(2, "restored", D(2018, 2, 1)))


def test_validate_rename_of_an_unknown_owner():
    event = ev(1, "owner_renamed", D(2018, 1, 1), new_name="X", owner_id_number="nobody")
    assert "owner_id_number" in rejected(invention(), [], event)
    validate_event(invention(), [], ev(1, "owner_renamed", D(2018, 1, 1), new_name="X",
                                       owner_id_number=ACME.id_number))


# --------------------------------------------------------------------------------------------
# Official legal-status codes
# --------------------------------------------------------------------------------------------

CODE_MAPPING = {
    **dict.fromkeys(["CF01", "C19", "MM4A", "MM1K"], ("terminated_unpaid_annuity", {})),
    "IW01": ("invalidation_decided", {"outcome": "invalid"}),
    "IP01": ("invalidation_decided", {"outcome": "partly_invalid"}),
    **dict.fromkeys(["C32", "C35"], ("invalidation_decided", {})),
    **dict.fromkeys(["TR01", "TA01", "C41", "C44", "C45", "C47", "ASS"], ("transferred", {})),
    **dict.fromkeys(["AV01", "AD01", "AR01", "C20", "C25", "RGAV", "MA1K"], ("abandoned", {})),
    **dict.fromkeys(["EE01", "LIC"], ("licensed", {})),
    "EC01": ("licence_cancelled", {}),
    "OL01": ("open_licence_declared", {}),
    "OL02": ("open_licence_withdrawn", {}),
    **dict.fromkeys(["CP01", "C56"], ("owner_renamed", {})),
    **dict.fromkeys(["GR01", "C14", "FG1K", "FG4A", "GR02"], ("granted", {})),
    **dict.fromkeys(["CX01", "MK1K", "MK4A", "EXPY", "C17", "CE01"], ("expired", {})),
    "PP01": ("preserved", {}),
    "PD01": ("preservation_lifted", {}),
    **dict.fromkeys(["RR01", "RA01", "C49", "REIN"], ("restored", {})),
    **dict.fromkeys(["RW01", "C28"], ("revoked", {})),
}


@pytest.mark.parametrize("code, expected", sorted(CODE_MAPPING.items()))
def test_code_mapping(code, expected):
    assert legal_codes.event_type_for_code(code) == expected
    assert legal_codes.lookup(code) is not None, "every mapped code is in the official table"


@pytest.mark.parametrize("code", ["TG01", "TP01", "PE01", "PM01", "PC01", "PB01", "C10", "XX99", "", None])
def test_codes_without_an_event(code):
    assert legal_codes.event_type_for_code(code) is None


def test_pledge_codes():
    assert legal_codes.PLEDGE_CODES == {"PE01", "PM01", "PC01"}
    assert legal_codes.lookup("PE01").zh_heading == "专利权质押合同登记的生效"


def test_codes_are_normalised():
    assert legal_codes.event_type_for_code(" cf01 ") == ("terminated_unpaid_annuity", {})
    assert legal_codes.event_type_for_code("ASS ") == ("transferred", {})
    assert legal_codes.lookup("iw01 ").code == "IW01"


def test_payload_is_a_fresh_dict():
    _type, payload = legal_codes.event_type_for_code("IW01")
    payload["outcome"] = "maintained"
    assert legal_codes.event_type_for_code("IW01")[1] == {"outcome": "invalid"}


def test_code_table_contents():
    codes = legal_codes.all_codes()
    assert len(codes) == 111  # 110 INPADOC CN codes + CD02 from the Chinese source only
    cf01 = legal_codes.lookup("CF01")
    assert cf01 == legal_codes.LegalCode(
        code="CF01", description_en="TERMINATION OF PATENT RIGHT DUE TO NON-PAYMENT OF ANNUAL FEE",
        zh_heading="未缴年费专利权终止", st27_category="H", influence="-",
        st27_category_name="IP RIGHT CESSATION", note="")
    assert legal_codes.lookup("C44").st27_category == ""
    assert legal_codes.lookup("NOPE") is None
    mapped = [c.code for c in codes if legal_codes.event_type_for_code(c.code)]
    for code in mapped:
        assert legal_codes.event_type_for_code(code)[0] in EVENT_TYPES


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

dates = st.dates(min_value=D(1985, 1, 1), max_value=D(2060, 12, 31))


@FAST
@given(kind=st.sampled_from(["invention", "utility_model", "design", "trademark"]), base=dates)
def test_term_end_is_the_day_before_an_anniversary(kind, base):
    facts = RightFacts(kind=kind, filing_date=base, registration_date=base)
    end = term_end(facts)
    after = end + timedelta(days=1)
    if (base.month, base.day) == (2, 29) and not calendar.isleap(after.year):
        assert (after.month, after.day) == (3, 1)
    else:
        assert (after.month, after.day) == (base.month, base.day)
    years = {"invention": 20, "utility_model": 10, "trademark": 10}.get(
        kind, 15 if base >= D(2021, 6, 1) else 10)
    assert after.year == base.year + years


@FAST
@given(filing=dates, grant_after=st.integers(0, 365 * 5), data=st.data())
def test_granted_paid_up_invention_is_in_force_before_its_term_end(filing, grant_after, data):
    grant = filing + timedelta(days=grant_after)
    facts = RightFacts(kind="invention", filing_date=filing, grant_date=grant,
                       annuity_paid_through=data.draw(st.sampled_from([None, anniversary(filing, 20)])))
    end = term_end(facts)
    on = data.draw(st.dates(min_value=grant, max_value=end))
    s = derive(facts, (), on)
    assert s.legal_state == "in_force" and in_force_for_pledge(s)


TERMINAL = {"expired", "terminated", "invalidated", "cancelled", "revoked"}
history = st.lists(
    st.tuples(st.sampled_from(["abandoned", "restored", "expired", "revoked", "cancelled", "suspended",
                               "licensed", "annuity_paid", "granted"]),
              st.integers(0, 365 * 30)),
    max_size=5)


@FAST
@given(kind=st.sampled_from(["invention", "utility_model", "design", "copyright", "software"]),
       filing=dates, raw=history, paid_years=st.sampled_from([None, 3, 25]),
       around_end=st.integers(-400, 400), later_by=st.integers(0, 365 * 10))
def test_once_expired_always_expired_or_stronger(kind, filing, raw, paid_years, around_end, later_by):
    facts = RightFacts(kind=kind, filing_date=filing, grant_date=filing + timedelta(days=400),
                       completion_date=filing, first_publication_date=filing, author_kind="legal_person",
                       annuity_paid_through=anniversary(filing, paid_years) if paid_years else None)
    events = [Event(seq=i, type=t, date=filing + timedelta(days=d),
                    paid_through=anniversary(filing, 4 + i)) for i, (t, d) in enumerate(raw)]
    first = term_end(facts) + timedelta(days=around_end)  # dates near the end make expiry common
    if derive(facts, events, first).legal_state == "expired":
        assert derive(facts, events, first + timedelta(days=later_by)).legal_state in TERMINAL
