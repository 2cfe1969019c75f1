"""Instant examination of pledge applications (pure: no Django, no database).

Expected outcomes come from registry-rules §3 (grounds P1–P11, T1–T4 and Art. 3, C1–C5 and Art. 6,
the formalities) and the platform choices in the module's docstring.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ippledge.core.errors import ValidationFailed
from ippledge.registry.examination import (
    CORRECTION_DAYS,
    MESSAGES,
    NOTE_DISCLOSURE_ONLY,
    NOTE_INVALIDATION_PENDING,
    OUTCOMES,
    PLEDGEABLE_STATES,
    REASON_CODES,
    Application,
    Decision,
    Owner,
    Party,
    Reason,
    RightSnapshot,
    examine,
    regime_of,
)
from ippledge.rights.rules import FLAGS, KINDS, LEGAL_STATES, RightState, in_force_for_pledge

FAST = settings(max_examples=75, deadline=None)
D = date

ACME_ID = "914403001922038216"
BETA_ID = "91110000000000000X"
ACME = Party("Acme Ltd", "uscc", ACME_ID, address="1 Shennan Road, Shenzhen")
BETA = Party("Beta Co", "uscc", BETA_ID, address="2 Chang'an Avenue, Beijing")
BANK = Party("Bank of Example", "uscc", "91310000000000000Y", address="3 Bund, Shanghai")
FOREIGN = Party("Foreign GmbH", "foreign_company", "HRB 12345", address="Berlin", country="DE",
                domicile_in_china=False)
ACME_OWNER = Owner("Acme Ltd", "uscc", ACME_ID)
BETA_OWNER = Owner("Beta Co", "uscc", BETA_ID)

INVENTION = "201410362077.3"
INVENTION_2 = "202011472880.4"
INVENTION_3 = "201510000001.1"
UTILITY = "201520000002.2"
MARK = "12345678"
WORK = "国作登字-2020-A-00012345"
SOFTWARE = "2020SR0109251"


def right(kind: str = "invention", number: str = INVENTION, **kw) -> RightSnapshot:
    base = dict(kind=kind, number=number, legal_state="in_force", flags=(), term_end=D(2034, 7, 24),
                owners=(ACME_OWNER,))
    base.update(kw)
    return RightSnapshot(**base)


def application(*rights: RightSnapshot, **kw) -> Application:
    """A complete, jointly confirmed application by Acme to the bank; patent unless rights say otherwise."""
    base = dict(
        pledgors=(ACME,), pledgees=(BANK,), debtor=None, debt_type="loan", debt_amount=Decimal("1000000.00"),
        currency="CNY", debt_due_date=D(2027, 6, 30), guarantee_scope="principal, interest, costs",
        contract_no="ZY-2026-001", rights=rights or (right(),), co_owner_consents=frozenset(),
        confirm_pledgor=True, confirm_pledgee=True, filing_date=D(2026, 3, 2),
    )
    if any(r.kind == "trademark" for r in base["rights"]):
        base["registration_term_end"] = D(2029, 6, 30)
    base.update(kw)
    return Application(**base)


def codes(decision: Decision) -> set[tuple[str, str | None]]:
    return {(r.code, r.right) for r in decision.reasons}


def assert_only(decision: Decision, outcome: str, code: str, right: str | None = None):
    assert decision.outcome == outcome
    assert codes(decision) == {(code, right)}
    if outcome == "correction_required":
        assert decision.correction_days == CORRECTION_DAYS == 30
    else:
        assert decision.correction_days is None


# ---------------------------------------------------------------------------------------------
# Vocabulary and regimes


def test_every_reason_code_has_a_message():
    assert len(set(REASON_CODES)) == len(REASON_CODES)
    assert set(MESSAGES) == set(REASON_CODES)
    assert all(m.strip().endswith(".") for m in MESSAGES.values())
    assert {"contract_unlawful", "other"} <= set(REASON_CODES)  # registrar's decisions, never examine's


def test_pledgeable_states_follow_the_rights_rules():
    for state in LEGAL_STATES:
        rs = RightState(None, state, (), (), None, None, None)
        assert (state in PLEDGEABLE_STATES) == in_force_for_pledge(rs)


@pytest.mark.parametrize(("kinds", "regime"), [
    (["invention", "utility_model", "design"], "patent"),
    (["trademark"], "trademark"),
    (["copyright", "software"], "copyright"),
    (["ic_layout", "geographical_indication"], "disclosure"),
])
def test_regime_of(kinds, regime):
    assert regime_of(kinds) == regime


def test_mixed_regimes_raise():
    with pytest.raises(ValidationFailed) as err:
        regime_of(["invention", "trademark"])
    assert err.value.code == "mixed_regimes"
    with pytest.raises(ValidationFailed) as err:
        examine(application(right(), right("trademark", MARK)))
    assert err.value.code == "mixed_regimes"


def test_unknown_kind_and_no_rights_raise():
    with pytest.raises(ValidationFailed) as err:
        regime_of(["nft"])
    assert err.value.code == "invalid_right_kind"
    with pytest.raises(ValidationFailed) as err:
        examine(replace(application(), rights=()))
    assert err.value.code == "no_rights"


# ---------------------------------------------------------------------------------------------
# Patents


def test_clean_patent_is_registered():
    decision = examine(application())
    assert decision == Decision("registered", (), "patent")


def test_p1_pledgor_not_owner():
    d = examine(application(right(owners=(BETA_OWNER,))))
    assert_only(d, "refused", "pledgor_not_owner", f"invention:{INVENTION}")
    assert d.reasons[0].message == MESSAGES["pledgor_not_owner"]


def test_p1_unrecorded_name_change_is_not_the_owner():
    renamed = replace(ACME, name="Acme Holdings Ltd")  # same USCC, new name not yet recorded
    d = examine(application(pledgors=(renamed,)))
    assert_only(d, "refused", "pledgor_not_owner", f"invention:{INVENTION}")


def test_p1_name_and_id_compare_normalised():
    typed = replace(ACME, name="ＡＣＭＥ  ltd", id_number=ACME_ID.lower())  # full-width, spacing, case
    assert examine(application(pledgors=(typed,))).outcome == "registered"


def test_p1_every_pledgor_must_own_the_right():
    d = examine(application(pledgors=(ACME, BETA)))  # Beta does not own the invention
    assert_only(d, "refused", "pledgor_not_owner", f"invention:{INVENTION}")


@pytest.mark.parametrize("state", ["terminated", "invalidated", "expired", "revoked", "cancelled"])
def test_p2_right_not_in_force(state):
    assert_only(examine(application(right(legal_state=state))), "refused", "right_not_in_force",
                f"invention:{INVENTION}")


def test_p2_partly_invalidated_patent_is_still_in_force():
    assert examine(application(right(legal_state="partly_invalidated"))).outcome == "registered"


def test_p3_not_granted():
    assert_only(examine(application(right(legal_state="pending"))), "refused", "not_granted",
                f"invention:{INVENTION}")


def test_p4_annuity_unpaid():
    assert_only(examine(application(right(legal_state="annuity_grace"))), "refused", "annuity_unpaid",
                f"invention:{INVENTION}")


@pytest.mark.parametrize("flag", ["suspended", "preserved", "seized"])
def test_p5_suspended_or_preserved(flag):
    assert_only(examine(application(right(flags=(flag,)))), "refused", "suspended_or_preserved",
                f"invention:{INVENTION}")


def test_p6_debt_due_exactly_on_term_end_is_allowed_one_day_later_refused():
    end = D(2034, 7, 24)
    assert examine(application(right(term_end=end), debt_due_date=end)).outcome == "registered"
    d = examine(application(right(term_end=end), debt_due_date=end + timedelta(days=1)))
    assert_only(d, "refused", "debt_due_after_right_term", f"invention:{INVENTION}")


@pytest.mark.parametrize("change", [
    dict(pledgors=(replace(ACME, address=""),)),
    dict(pledgees=(replace(BANK, name="  "),)),
    dict(pledgees=()),
    dict(debtor=Party("Debtor Co", "uscc", BETA_ID)),  # debtor without an address
    dict(debt_type=""),
    dict(debt_amount=None),
    dict(debt_amount=Decimal("0")),
    dict(debt_amount=Decimal("-5")),
    dict(debt_amount=Decimal("NaN")),
    dict(debt_due_date=None),
    dict(guarantee_scope=" "),
], ids=lambda c: next(iter(c)))
def test_p7_contract_incomplete_is_refused(change):
    assert_only(examine(application(**change)), "refused", "contract_incomplete", None)


def test_p8_co_owner_consent_missing_is_refused():
    co_owned = right(owners=(ACME_OWNER, BETA_OWNER))
    assert_only(examine(application(co_owned)), "refused", "co_owner_consent_missing",
                f"invention:{INVENTION}")
    consent = frozenset({("invention", INVENTION, BETA_ID.lower())})
    assert examine(application(co_owned, co_owner_consents=consent)).outcome == "registered"


def test_p8_consent_for_another_right_does_not_count():
    co_owned = right(owners=(ACME_OWNER, BETA_OWNER))
    consent = frozenset({("invention", INVENTION_2, BETA_ID)})
    assert examine(application(co_owned, co_owner_consents=consent)).outcome == "refused"


def test_p8_co_owned_right_pledged_by_all_owners_needs_no_consent():
    co_owned = right(owners=(ACME_OWNER, BETA_OWNER))
    assert examine(application(co_owned, pledgors=(ACME, BETA))).outcome == "registered"


def test_p9_already_pledged():
    assert_only(examine(application(right(live_pledges=1))), "refused", "already_pledged",
                f"invention:{INVENTION}")


def test_licensed_patent_is_not_a_ground():
    assert examine(application(right(licensed=True, flags=("licensed",)))).outcome == "registered"


@pytest.mark.parametrize(("declared", "outcome"), [
    (None, "awaiting_declaration"), (True, "registered"), (False, "refused")])
def test_p10_same_day_invention_declaration(declared, outcome):
    um = right("utility_model", UTILITY, same_day_invention=True)
    d = examine(application(um, declare_same_day_invention=declared))
    assert d.outcome == outcome
    expected = set() if declared else {("same_day_invention_declaration_required", f"utility_model:{UTILITY}")}
    assert codes(d) == expected
    assert d.notes == ()


def test_p10_applies_to_utility_models_only():
    assert examine(application(right(same_day_invention=True))).outcome == "registered"


@pytest.mark.parametrize(("declared", "outcome"), [
    (None, "awaiting_declaration"), (True, "registered"), (False, "refused")])
def test_p11_invalidation_pending_declaration(declared, outcome):
    d = examine(application(right(flags=("invalidation_pending",)), declare_invalidation_pending=declared))
    assert d.outcome == outcome
    key = f"invention:{INVENTION}"
    if declared:
        assert d.reasons == ()
        assert d.notes == (NOTE_INVALIDATION_PENDING,) == ("Invalidation pending at registration.",)
        assert [(n.right, n.message) for n in d.noted] == [(key, NOTE_INVALIDATION_PENDING)]
    else:
        assert codes(d) == {("invalidation_pending_declaration_required", key)}
        assert d.notes == () and d.noted == ()


def test_declined_declaration_refuses_even_while_another_is_pending():
    um = right("utility_model", UTILITY, same_day_invention=True, flags=("invalidation_pending",))
    d = examine(application(um, declare_same_day_invention=None, declare_invalidation_pending=False))
    assert_only(d, "refused", "invalidation_pending_declaration_required", f"utility_model:{UTILITY}")


def test_batch_of_three_patents_two_failing_names_both_with_all_codes():
    ok = right(number=INVENTION)
    bad1 = right(number=INVENTION_2, legal_state="annuity_grace", live_pledges=1)
    bad2 = right("design", INVENTION_3, owners=(BETA_OWNER,), flags=("preserved",), term_end=D(2026, 1, 1))
    d = examine(application(ok, bad1, bad2))
    assert d.outcome == "refused"
    assert codes(d) == {
        ("annuity_unpaid", f"invention:{INVENTION_2}"), ("already_pledged", f"invention:{INVENTION_2}"),
        ("pledgor_not_owner", f"design:{INVENTION_3}"), ("suspended_or_preserved", f"design:{INVENTION_3}"),
        ("debt_due_after_right_term", f"design:{INVENTION_3}"),
    }
    assert not any(r.right == f"invention:{INVENTION}" for r in d.reasons)


def test_refusal_beats_correction():
    d = examine(application(right(legal_state="terminated"), confirm_pledgee=False, pledgees=(FOREIGN,)))
    assert_only(d, "refused", "right_not_in_force", f"invention:{INVENTION}")


def test_correction_beats_declaration():
    d = examine(application(right(flags=("invalidation_pending",)), confirm_pledgor=False))
    assert_only(d, "correction_required", "joint_application_missing", None)


# ---------------------------------------------------------------------------------------------
# Formalities


@pytest.mark.parametrize("r", [right(), right("trademark", MARK), right("software", SOFTWARE),
                               right("ic_layout", "BS.12500001")], ids=lambda r: r.kind)
@pytest.mark.parametrize("who", ["confirm_pledgor", "confirm_pledgee"])
def test_joint_application_missing(r, who):
    assert_only(examine(application(r, **{who: False})), "correction_required", "joint_application_missing")


@pytest.mark.parametrize("r", [right(), right("trademark", MARK)], ids=lambda r: r.kind)
def test_foreign_party_needs_agent(r):
    assert_only(examine(application(r, pledgees=(FOREIGN,))), "correction_required",
                "foreign_party_needs_agent")
    assert examine(application(r, pledgees=(FOREIGN,), agent="China Patent Agent (H.K.) Ltd.")).outcome \
        == "registered"


def test_foreign_party_needs_no_agent_for_copyright():
    assert examine(application(right("copyright", WORK), pledgees=(FOREIGN,))).outcome == "registered"


# ---------------------------------------------------------------------------------------------
# Trademarks


def test_clean_trademark_is_registered_even_if_already_pledged():
    d = examine(application(right("trademark", MARK, live_pledges=2)))
    assert d == Decision("registered", (), "trademark")


def test_t1_pledgor_not_owner():
    assert_only(examine(application(right("trademark", MARK, owners=(BETA_OWNER,)))), "refused",
                "pledgor_not_owner", f"trademark:{MARK}")


@pytest.mark.parametrize("state", ["expired_renewable", "expired", "cancelled", "revoked", "terminated",
                                   "invalidated", "pending"])
def test_t3_right_not_in_force(state):
    assert_only(examine(application(right("trademark", MARK, legal_state=state))), "refused",
                "right_not_in_force", f"trademark:{MARK}")


@pytest.mark.parametrize("flag", ["seized", "preserved"])
def test_t4_seized_or_frozen(flag):
    assert_only(examine(application(right("trademark", MARK, flags=(flag,)))), "refused",
                "seized_or_frozen", f"trademark:{MARK}")


def test_art3_similar_marks_must_be_pledged_together():
    mark = right("trademark", MARK, nice_class=9, similar_groups=("0901",),
                 similar_marks_missing=("23456789", "12345679"))
    d = examine(application(mark))
    assert_only(d, "correction_required", "similar_marks_not_included", f"trademark:{MARK}")
    reason = d.reasons[0]
    assert reason.message == MESSAGES["similar_marks_not_included"]  # the template stays translatable
    assert reason.params == (("marks", "12345679, 23456789"),)
    assert reason.localised().endswith("Add: 12345679, 23456789.")


def test_trademark_co_owner_consent_missing_is_a_correction():
    mark = right("trademark", MARK, owners=(ACME_OWNER, BETA_OWNER))
    assert_only(examine(application(mark)), "correction_required", "co_owner_consent_missing",
                f"trademark:{MARK}")
    consent = frozenset({("trademark", MARK, BETA_ID)})
    assert examine(application(mark, co_owner_consents=consent)).outcome == "registered"


def test_trademark_needs_a_registration_term():
    d = examine(application(right("trademark", MARK), registration_term_end=None))
    assert_only(d, "correction_required", "contract_incomplete", None)


def test_trademark_contract_defects_are_corrections():
    d = examine(application(right("trademark", MARK), debt_amount=None))
    assert_only(d, "correction_required", "contract_incomplete", None)


def test_trademark_debt_due_after_term_is_not_a_ground():
    d = examine(application(right("trademark", MARK, term_end=D(2026, 12, 31)), debt_due_date=D(2030, 1, 1)))
    assert d.outcome == "registered"


# ---------------------------------------------------------------------------------------------
# Copyrights and software


@pytest.mark.parametrize("kind,number", [("copyright", WORK), ("software", SOFTWARE)])
def test_clean_copyright_is_registered_and_may_be_pledged_again(kind, number):
    d = examine(application(right(kind, number, live_pledges=1)))
    assert d == Decision("registered", (), "copyright")


def test_c1_pledgor_not_owner():
    assert_only(examine(application(right("copyright", WORK, owners=(BETA_OWNER,)))), "refused",
                "pledgor_not_owner", f"copyright:{WORK}")


@pytest.mark.parametrize("state", ["expired", "revoked", "cancelled"])
def test_c3_right_not_in_force(state):
    assert_only(examine(application(right("software", SOFTWARE, legal_state=state))), "refused",
                "right_not_in_force", f"software:{SOFTWARE}")


def test_c4_debt_due_after_protection_term():
    end = D(2070, 12, 31)
    assert examine(application(right("copyright", WORK, term_end=end), debt_due_date=end)).outcome \
        == "registered"
    d = examine(application(right("copyright", WORK, term_end=end), debt_due_date=D(2071, 1, 1)))
    assert_only(d, "refused", "debt_due_after_right_term", f"copyright:{WORK}")
    # A living author's term end is unknown: nothing to compare with.
    assert examine(application(right("copyright", WORK, term_end=None))).outcome == "registered"


def test_c5_ownership_dispute():
    assert_only(examine(application(right("copyright", WORK, flags=("ownership_dispute",)))), "refused",
                "ownership_dispute", f"copyright:{WORK}")


@pytest.mark.parametrize("snapshot", [right("software", SOFTWARE, licensed=True),
                                      right("software", SOFTWARE, flags=("licensed",))],
                         ids=["attribute", "flag"])
def test_licence_contract_missing(snapshot):
    assert_only(examine(application(snapshot)), "correction_required", "licence_contract_missing",
                f"software:{SOFTWARE}")
    provided = frozenset({("software", SOFTWARE)})
    assert examine(application(snapshot, licence_contracts=provided)).outcome == "registered"


def test_copyright_co_owner_consent_and_contract_defects_are_corrections():
    work = right("copyright", WORK, owners=(ACME_OWNER, BETA_OWNER))
    d = examine(application(work, guarantee_scope=""))
    assert d.outcome == "correction_required" and d.correction_days == 30
    assert codes(d) == {("co_owner_consent_missing", f"copyright:{WORK}"), ("contract_incomplete", None)}


# ---------------------------------------------------------------------------------------------
# Disclosure-only rights


@pytest.mark.parametrize("kind,number", [("ic_layout", "BS.12500001"), ("geographical_indication", "GI-001")])
def test_disclosure_only_is_registered_with_a_note(kind, number):
    d = examine(application(right(kind, number, term_end=None)))
    assert d.outcome == "registered" and d.regime == "disclosure" and d.reasons == ()
    assert d.notes == (NOTE_DISCLOSURE_ONLY,)
    assert NOTE_DISCLOSURE_ONLY == ("Disclosure-only record: no statutory pledge registration exists for "
                                    "this kind of right.")
    assert [n.right for n in d.noted] == [f"{kind}:{number}"]


def test_disclosure_only_still_checks_owner_state_and_contract():
    layout = "BS.12500001"
    d = examine(application(right("ic_layout", layout, owners=(BETA_OWNER,), legal_state="expired")))
    assert d.outcome == "refused"
    assert codes(d) == {("pledgor_not_owner", f"ic_layout:{layout}"), ("right_not_in_force", f"ic_layout:{layout}")}
    assert_only(examine(application(right("ic_layout", layout), debt_type="")), "correction_required",
                "contract_incomplete")


# ---------------------------------------------------------------------------------------------
# Properties

_KINDS_BY_REGIME = {
    "patent": ("invention", "utility_model", "design"),
    "trademark": ("trademark",),
    "copyright": ("copyright", "software"),
    "disclosure": ("ic_layout", "geographical_indication"),
}
assert {k for ks in _KINDS_BY_REGIME.values() for k in ks} == set(KINDS)
_OWNERS = (ACME_OWNER, BETA_OWNER, Owner("Acme Holdings Ltd", "uscc", ACME_ID))
_DECLARATIONS = st.sampled_from([None, True, False])


def mostly(good, other: st.SearchStrategy) -> st.SearchStrategy:
    """``good`` about three times in four, else anything from ``other`` (so every outcome shows up)."""
    return st.one_of(st.just(good), st.just(good), st.just(good), other)


@st.composite
def applications(draw) -> Application:
    regime = draw(st.sampled_from(sorted(_KINDS_BY_REGIME)))
    n = draw(st.integers(1, 3))
    rights = []
    for i in range(n):
        rights.append(RightSnapshot(
            kind=draw(st.sampled_from(_KINDS_BY_REGIME[regime])),
            number=f"N{i}",
            legal_state=draw(mostly("in_force", st.sampled_from(LEGAL_STATES))),
            flags=tuple(sorted(draw(mostly(set(), st.just({"invalidation_pending"})
                                           | st.sets(st.sampled_from(FLAGS), max_size=3))))),
            term_end=draw(st.none() | st.dates(D(2026, 1, 1), D(2030, 12, 31))),
            owners=tuple(draw(mostly([ACME_OWNER], st.lists(st.sampled_from(_OWNERS), min_size=1, max_size=3,
                                                            unique=True)))),
            same_day_invention=draw(mostly(False, st.booleans())),
            licensed=draw(mostly(False, st.booleans())),
            live_pledges=draw(mostly(0, st.integers(0, 2))),
            similar_marks_missing=tuple(draw(mostly([], st.lists(st.sampled_from(["111", "222"]), max_size=2)))),
        ))
    rights_t = tuple(rights)
    keys = [(r.kind, r.number) for r in rights_t]
    return Application(
        pledgors=tuple(draw(mostly([ACME], st.lists(st.sampled_from([ACME, BETA, FOREIGN]), min_size=1,
                                                     max_size=2, unique=True)))),
        pledgees=(draw(mostly(BANK, st.sampled_from([BANK, FOREIGN, replace(BANK, address="")]))),),
        debtor=draw(st.sampled_from([None, BETA])),
        debt_type=draw(mostly("loan", st.just(""))),
        debt_amount=draw(mostly(Decimal("1"), st.sampled_from([Decimal("0"), None]))),
        currency="CNY",
        debt_due_date=draw(mostly(D(2026, 1, 1), st.none() | st.dates(D(2026, 1, 1), D(2030, 12, 31)))),
        guarantee_scope=draw(mostly("principal", st.just(""))),
        contract_no="C-1",
        rights=rights_t,
        co_owner_consents=frozenset(
            (k, n_, BETA_ID) for k, n_ in draw(st.lists(st.sampled_from(keys), max_size=n))),
        declare_same_day_invention=draw(_DECLARATIONS),
        declare_invalidation_pending=draw(_DECLARATIONS),
        registration_term_end=draw(mostly(D(2029, 1, 1), st.none())),
        agent=draw(st.sampled_from(["", "Agency"])),
        confirm_pledgor=draw(mostly(True, st.booleans())),
        confirm_pledgee=draw(mostly(True, st.booleans())),
        licence_contracts=frozenset(draw(st.lists(st.sampled_from(keys), max_size=n))),
        filing_date=D(2026, 3, 2),
    )


@FAST
@given(applications())
def test_registered_iff_no_reasons(app):
    d = examine(app)
    assert d.outcome in OUTCOMES
    assert (d.outcome == "registered") == (d.reasons == ())
    assert (d.correction_days is not None) == (d.outcome == "correction_required")
    assert d.regime == regime_of(r.kind for r in app.rights)
    assert all(isinstance(r, Reason) and r.code in REASON_CODES for r in d.reasons)
    assert not {"contract_unlawful", "other"} & {r.code for r in d.reasons}
    keys = {f"{r.kind}:{r.number}" for r in app.rights}
    assert all(r.right is None or r.right in keys for r in d.reasons)
    if d.outcome != "registered":
        assert d.notes == () and d.noted == ()


@FAST
@given(st.data())
def test_examine_is_deterministic_and_independent_of_rights_order(data):
    app = data.draw(applications())
    shuffled = replace(app, rights=tuple(data.draw(st.permutations(app.rights))))
    first = examine(app)
    assert examine(app) == first
    assert examine(shuffled) == first  # same outcome, same reasons in the same order
