"""Instant examination of a pledge application, decided from plain data.

Pure module (no Django): the registry service takes a snapshot of each pledged right on the filing
(business) date, builds an ``Application`` and asks ``examine`` for a ``Decision``.  The snapshot and
the decision are stored together; nothing here touches the database.

Law: docs ``registry-rules.md`` §3 — 专利权质押登记办法 (2021) for patents, 注册商标专用权质押登记程序规定
(2020) for trademarks, 著作权质权登记办法 (2010) for copyrights and software.  IC layout designs and
geographical indications have no statutory pledge registration: the platform keeps them as
disclosure-only records (§1).  Points marked "platform choice" are not law.

Every applicable reason for every right is collected, so a refusal names each failing right with all
its grounds.  Precedence: refusal grounds beat formality defects (``correction_required``), which beat
the declarations of P10/P11 (``awaiting_declaration``).  ``contract_unlawful`` and ``other`` are the
registrar's own decisions and are never produced here; ``withdrawn`` and ``abandoned`` are statuses
the service sets, not outcomes of an examination.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ippledge.core.errors import N_, ValidationFailed
from ippledge.core.identifiers import normalise_name
from ippledge.rights.rules import KINDS, LEGAL_STATES, PATENT_KINDS, RightState, in_force_for_pledge

# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------

REGISTERED = "registered"
REFUSED = "refused"
CORRECTION_REQUIRED = "correction_required"
AWAITING_DECLARATION = "awaiting_declaration"
OUTCOMES: tuple[str, ...] = (REGISTERED, REFUSED, CORRECTION_REQUIRED, AWAITING_DECLARATION)

REGIMES: tuple[str, ...] = ("patent", "trademark", "copyright", "disclosure")
_REGIME_OF_KIND: dict[str, str] = {
    **dict.fromkeys(PATENT_KINDS, "patent"),
    "trademark": "trademark",
    "copyright": "copyright",
    "software": "copyright",
    "ic_layout": "disclosure",
    "geographical_indication": "disclosure",
}
assert set(_REGIME_OF_KIND) == set(KINDS)  # a new kind of right must be given a regime

# Platform choice: the deadline to cure a formality defect.  The trademark rules set 30 days for
# the similar-marks defect (Art. 3); the same period is used for every correction.
CORRECTION_DAYS = 30

# States in which a right can be pledged, taken from the rights rules (a partly invalidated patent
# still is in force).
PLEDGEABLE_STATES: frozenset[str] = frozenset(
    s for s in LEGAL_STATES if in_force_for_pledge(RightState(None, s, (), (), None, None, None))
)

REASON_CODES: tuple[str, ...] = (
    "pledgor_not_owner",                          # P1, T1, C1
    "contract_unlawful",                          # T2, C2 (registrar's decision)
    "right_not_in_force",                         # P2, T3, C3
    "not_granted",                                # P3
    "annuity_unpaid",                             # P4
    "suspended_or_preserved",                     # P5
    "seized_or_frozen",                           # T4
    "ownership_dispute",                          # C5
    "debt_due_after_right_term",                  # P6, C4
    "contract_incomplete",                        # P7 (refused); trademarks, copyright: correction
    "co_owner_consent_missing",                   # P8 (refused); trademarks, copyright: correction
    "already_pledged",                            # P9
    "same_day_invention_declaration_required",    # P10
    "invalidation_pending_declaration_required",  # P11
    "similar_marks_not_included",                 # trademark Art. 3
    "licence_contract_missing",                   # copyright Art. 6
    "joint_application_missing",                  # formality
    "foreign_party_needs_agent",                  # formality
    "other",                                      # P12, T5, C6 (registrar's decision)
)

MESSAGES: dict[str, str] = {
    "pledgor_not_owner": N_("The pledgor is not the owner recorded in the register on the filing date."),
    "contract_unlawful": N_("The pledge contract breaches a mandatory provision of law."),
    "right_not_in_force": N_("The right is not in force on the filing date: it has expired, terminated, "
                             "been invalidated, revoked or cancelled, or is not yet registered."),
    "not_granted": N_("The patent application has not been granted yet."),
    "annuity_unpaid": N_("The patent annuity has not been paid as required."),
    "suspended_or_preserved": N_("Procedures on the patent are suspended because of an ownership dispute, "
                                 "or a court has ordered its preservation."),
    "seized_or_frozen": N_("The trademark has been seized or frozen by a court."),
    "ownership_dispute": N_("There is a dispute over who owns the work."),
    "debt_due_after_right_term": N_("The debt falls due after the right's term of protection ends."),
    "contract_incomplete": N_("The pledge contract lacks required content: the names and addresses of the "
                              "parties, the type and amount of the secured debt, its due date, the pledged "
                              "rights, the guarantee scope or, for trademarks, the registration term."),
    "co_owner_consent_missing": N_("The right has co-owners who are not pledgors and have not given "
                                   "their consent."),
    "already_pledged": N_("The patent is already under a registered pledge that is still in force."),
    "same_day_invention_declaration_required": N_(
        "The same applicant filed an identical invention on the same day as this utility model: the "
        "parties must declare whether they still want the pledge registered."),
    "invalidation_pending_declaration_required": N_(
        "Invalidation proceedings against the patent are pending: the parties must declare whether they "
        "still want the pledge registered."),
    "similar_marks_not_included": N_("All identical or similar marks the pledgor holds for identical or "
                                     "similar goods or services must be pledged together. Add: %(marks)s."),
    "licence_contract_missing": N_("The right was licensed before the pledge: provide the licence contract."),
    "joint_application_missing": N_("The pledgor and the pledgee must both confirm the application."),
    "foreign_party_needs_agent": N_("A party with no residence or business office in China must act "
                                    "through an agency in China."),
    "other": N_("The conditions for registration are not met."),
}
assert tuple(MESSAGES) == REASON_CODES

# Notes on a registered decision; ``Decision.noted`` carries them per right under these codes.
NOTE_CODES: tuple[str, ...] = ("invalidation_pending_at_registration", "disclosure_only", "similar_marks_to_judge")
NOTE_INVALIDATION_PENDING = N_("Invalidation pending at registration.")
NOTE_MARKS_TO_JUDGE = N_("Other marks of the pledgor on the same goods may be similar: a registrar judges "
                         "whether they must be pledged together.")
NOTE_DISCLOSURE_ONLY = N_("Disclosure-only record: no statutory pledge registration exists for this kind "
                          "of right.")

_PATENT_NOT_IN_FORCE_BUT = {"pending": "not_granted", "annuity_grace": "annuity_unpaid"}
_P5_FLAGS = frozenset({"suspended", "preserved", "seized"})
# Platform choice: a court preservation order on a trademark is how it is frozen (冻结), so it
# counts for T4 as well as a seizure (查封).
_T4_FLAGS = frozenset({"seized", "preserved"})


# --------------------------------------------------------------------------------------------
# Plain data
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Party:
    name: str
    id_type: str
    id_number: str
    address: str = ""
    country: str = "CN"
    domicile_in_china: bool = True


@dataclass(frozen=True)
class Owner:
    """A current recorded owner of the right on the filing date."""

    name: str
    id_type: str
    id_number: str


@dataclass(frozen=True)
class RightSnapshot:
    kind: str
    number: str  # normalised number; the right's key is (kind, number)
    legal_state: str
    flags: tuple[str, ...]
    term_end: date | None
    owners: tuple[Owner, ...]
    same_day_invention: bool = False  # utility model with an identical invention filed the same day
    licensed: bool = False  # a licence is recorded on the right (also read from flag "licensed")
    live_pledges: int = 0  # registered, still-live pledges on this right
    nice_class: int | None = None
    similar_groups: tuple[str, ...] = ()
    # Trademarks only: the pledgor's other marks in the register that are identical or similar (same
    # Nice class, sharing a similarity group) and are not in this application; computed by the caller.
    similar_marks_missing: tuple[str, ...] = ()
    # ... and those on the same goods whose likeness to this mark needs a person's judgement (figurative
    # marks, borderline words): not a correction, a note that sends the case to a registrar.
    similar_marks_to_judge: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.number}"

    @property
    def is_licensed(self) -> bool:
        return self.licensed or "licensed" in self.flags


@dataclass(frozen=True)
class Application:
    pledgors: tuple[Party, ...]
    pledgees: tuple[Party, ...]
    debtor: Party | None
    debt_type: str
    debt_amount: Decimal | None
    currency: str
    debt_due_date: date | None
    guarantee_scope: str
    contract_no: str
    rights: tuple[RightSnapshot, ...]
    co_owner_consents: frozenset[tuple[str, str, str]]  # (kind, number, owner_id_number)
    declare_same_day_invention: bool | None = None  # None: not declared yet
    declare_invalidation_pending: bool | None = None
    registration_term_end: date | None = None  # trademarks: the pledge registration term
    agent: str = ""  # patent/trademark agency name, if any
    confirm_pledgor: bool = False
    confirm_pledgee: bool = False
    licence_contracts: frozenset[tuple[str, str]] = frozenset()  # (kind, number) with contract provided
    filing_date: date | None = None  # informational: the snapshot already reflects the filing date


@dataclass(frozen=True)
class Reason:
    code: str
    message: str  # untranslated template (N_); fill with ``params`` after translation
    right: str | None = None  # "kind:number", or None for a reason about the whole application
    params: tuple[tuple[str, str], ...] = ()  # e.g. (("marks", "123, 456"),) for similar marks

    def localised(self, translate=lambda s: s) -> str:
        text = translate(self.message)
        return text % dict(self.params) if self.params else text


@dataclass(frozen=True)
class Decision:
    outcome: str  # registered | refused | correction_required | awaiting_declaration
    reasons: tuple[Reason, ...]
    regime: str  # patent | trademark | copyright | disclosure
    correction_days: int | None = None
    notes: tuple[str, ...] = ()  # translatable templates, each once
    noted: tuple[Reason, ...] = ()  # the same notes per right (code, message, right)


# --------------------------------------------------------------------------------------------
# Regime
# --------------------------------------------------------------------------------------------

def regime_of(kinds: Iterable[str]) -> str:
    """The examination regime for the kinds of right in one application; one application, one regime."""
    kinds = list(kinds)
    unknown = [k for k in kinds if k not in _REGIME_OF_KIND]
    if unknown:
        raise ValidationFailed(N_("Unknown kind of right."), code="invalid_right_kind")
    regimes = {_REGIME_OF_KIND[k] for k in kinds}
    if not regimes:
        raise ValidationFailed(N_("A pledge application must list at least one right."), code="no_rights")
    if len(regimes) > 1:
        raise ValidationFailed(N_("Patents, trademarks, copyrights and disclosure-only rights are registered "
                                  "by different authorities: file a separate application for each."),
                               code="mixed_regimes")
    return regimes.pop()


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------

def _id_key(value: str) -> str:
    return "".join((value or "").split()).casefold()


def _is_owner(party: Party, owner: Owner) -> bool:
    """Same identity number and same legal name: an unrecorded name change is not the owner."""
    pid, oid = _id_key(party.id_number), _id_key(owner.id_number)
    pname, oname = normalise_name(party.name), normalise_name(owner.name)
    return bool(pid) and pid == oid and bool(pname) and pname == oname


def _reason(code: str, right: RightSnapshot | None = None, params: tuple[tuple[str, str], ...] = ()) -> Reason:
    return Reason(code, MESSAGES[code], right.key if right is not None else None, params)


def _blank(value: object) -> bool:
    return value is None or not str(value).strip()


def _contract_incomplete(app: Application) -> bool:
    """P7: the contract lacks the parties' names and addresses, the type and amount of the secured debt,
    the due date, the list of pledged rights or the guarantee scope."""
    parties = [*app.pledgors, *app.pledgees, *([app.debtor] if app.debtor is not None else [])]
    amount = app.debt_amount
    return (
        not app.pledgors or not app.pledgees
        or any(_blank(p.name) or _blank(p.address) for p in parties)
        or _blank(app.debt_type)
        or amount is None or not amount.is_finite() or amount <= 0
        or app.debt_due_date is None
        or not app.rights
        or _blank(app.guarantee_scope)
    )


def _not_owned(app: Application, right: RightSnapshot) -> bool:
    return any(not any(_is_owner(p, o) for o in right.owners) for p in app.pledgors)


def _consent_missing(app: Application, right: RightSnapshot) -> bool:
    """Co-owners who are not pledgors must consent.  Only a co-owned right (several owners, at least
    one of them pledging) raises this; a pledgor who owns nothing is ground P1/T1/C1 instead."""
    if len(right.owners) < 2:
        return False
    others = [o for o in right.owners if not any(_is_owner(p, o) for p in app.pledgors)]
    if len(others) == len(right.owners):
        return False
    consents = {(k, n, _id_key(i)) for k, n, i in app.co_owner_consents}
    return any((right.kind, right.number, _id_key(o.id_number)) not in consents for o in others)


def _debt_after_term(app: Application, right: RightSnapshot) -> bool:
    # "超过" is strictly later: a debt due on the last day of protection is allowed.
    return app.debt_due_date is not None and right.term_end is not None and app.debt_due_date > right.term_end


def _formalities(app: Application, *, foreign_agent: bool) -> list[Reason]:
    reasons = []
    if not (app.confirm_pledgor and app.confirm_pledgee):
        reasons.append(_reason("joint_application_missing"))
    if foreign_agent and _blank(app.agent) and any(
            not p.domicile_in_china for p in (*app.pledgors, *app.pledgees)):
        reasons.append(_reason("foreign_party_needs_agent"))
    return reasons


def _order(reasons: Iterable[Reason]) -> tuple[Reason, ...]:
    """Deduplicated, in a fixed order: application-wide reasons first, then by right and code."""
    rank = {code: i for i, code in enumerate(REASON_CODES + NOTE_CODES)}
    return tuple(sorted(set(reasons), key=lambda r: (r.right is not None, r.right or "",
                                                     rank.get(r.code, len(rank)), r.code, r.params)))


# --------------------------------------------------------------------------------------------
# Per regime: (refusals, corrections) for the application
# --------------------------------------------------------------------------------------------

def _patent_refusals(app: Application, right: RightSnapshot) -> list[Reason]:
    reasons = []
    if _not_owned(app, right):
        reasons.append(_reason("pledgor_not_owner", right))  # P1
    if right.legal_state not in PLEDGEABLE_STATES:
        reasons.append(_reason(_PATENT_NOT_IN_FORCE_BUT.get(right.legal_state, "right_not_in_force"),
                               right))  # P2, P3, P4
    if _P5_FLAGS & set(right.flags):
        reasons.append(_reason("suspended_or_preserved", right))  # P5
    if _debt_after_term(app, right):
        reasons.append(_reason("debt_due_after_right_term", right))  # P6
    if _consent_missing(app, right):
        reasons.append(_reason("co_owner_consent_missing", right))  # P8
    if right.live_pledges > 0:
        reasons.append(_reason("already_pledged", right))  # P9
    return reasons


def _trademark_refusals(app: Application, right: RightSnapshot) -> list[Reason]:
    reasons = []
    if _not_owned(app, right):
        reasons.append(_reason("pledgor_not_owner", right))  # T1
    if right.legal_state not in PLEDGEABLE_STATES:
        reasons.append(_reason("right_not_in_force", right))  # T3 (expired and not renewed included)
    if _T4_FLAGS & set(right.flags):
        reasons.append(_reason("seized_or_frozen", right))  # T4
    return reasons


def _trademark_corrections(app: Application, right: RightSnapshot) -> list[Reason]:
    reasons = []
    missing = sorted({m for m in right.similar_marks_missing if str(m).strip()})
    if missing:
        reasons.append(_reason("similar_marks_not_included", right, (("marks", ", ".join(missing)),)))
    if _consent_missing(app, right):
        reasons.append(_reason("co_owner_consent_missing", right))
    return reasons


def _copyright_refusals(app: Application, right: RightSnapshot) -> list[Reason]:
    reasons = []
    if _not_owned(app, right):
        reasons.append(_reason("pledgor_not_owner", right))  # C1
    if right.legal_state not in PLEDGEABLE_STATES:
        reasons.append(_reason("right_not_in_force", right))  # C3
    if _debt_after_term(app, right):
        reasons.append(_reason("debt_due_after_right_term", right))  # C4
    if "ownership_dispute" in right.flags:
        reasons.append(_reason("ownership_dispute", right))  # C5
    return reasons


def _copyright_corrections(app: Application, right: RightSnapshot) -> list[Reason]:
    reasons = []
    if _consent_missing(app, right):
        reasons.append(_reason("co_owner_consent_missing", right))
    if right.is_licensed and (right.kind, right.number) not in app.licence_contracts:
        reasons.append(_reason("licence_contract_missing", right))
    return reasons


def _disclosure_refusals(app: Application, right: RightSnapshot) -> list[Reason]:
    reasons = []
    if _not_owned(app, right):
        reasons.append(_reason("pledgor_not_owner", right))
    if right.legal_state not in PLEDGEABLE_STATES:
        reasons.append(_reason("right_not_in_force", right))
    return reasons


def _screen(app: Application, regime: str) -> tuple[list[Reason], list[Reason]]:
    refusals: list[Reason] = []
    corrections: list[Reason] = []
    incomplete = [_reason("contract_incomplete")] if _contract_incomplete(app) else []
    if regime == "patent":
        for right in app.rights:
            refusals += _patent_refusals(app, right)
        refusals += incomplete  # P7
        corrections += _formalities(app, foreign_agent=True)
    elif regime == "trademark":
        for right in app.rights:
            refusals += _trademark_refusals(app, right)
            corrections += _trademark_corrections(app, right)
        if incomplete or app.registration_term_end is None:
            corrections.append(_reason("contract_incomplete"))
        corrections += _formalities(app, foreign_agent=True)
    elif regime == "copyright":
        for right in app.rights:
            refusals += _copyright_refusals(app, right)
            corrections += _copyright_corrections(app, right)
        corrections += incomplete + _formalities(app, foreign_agent=False)
    else:  # disclosure
        for right in app.rights:
            refusals += _disclosure_refusals(app, right)
        corrections += incomplete + _formalities(app, foreign_agent=False)
    return refusals, corrections


# --------------------------------------------------------------------------------------------
# Examination
# --------------------------------------------------------------------------------------------

def examine(app: Application) -> Decision:
    """Decide the application from its snapshot: deterministic, and independent of the rights' order."""
    regime = regime_of(r.kind for r in app.rights)
    refusals, corrections = _screen(app, regime)
    if refusals:
        return Decision(REFUSED, _order(refusals), regime)
    if corrections:
        return Decision(CORRECTION_REQUIRED, _order(corrections), regime, correction_days=CORRECTION_DAYS)
    if regime == "patent":
        return _declarations(app)
    if regime == "disclosure":
        noted = _order(Reason("disclosure_only", NOTE_DISCLOSURE_ONLY, r.key) for r in app.rights)
        return Decision(REGISTERED, (), regime, notes=(NOTE_DISCLOSURE_ONLY,), noted=noted)
    to_judge = _order(Reason("similar_marks_to_judge", NOTE_MARKS_TO_JUDGE, r.key,
                             (("marks", ", ".join(r.similar_marks_to_judge)),))
                      for r in app.rights if r.similar_marks_to_judge)
    return Decision(REGISTERED, (), regime, notes=(NOTE_MARKS_TO_JUDGE,) if to_judge else (), noted=to_judge)


def _declarations(app: Application) -> Decision:
    """P10 and P11: the parties declare whether they still want the pledge registered."""
    pending: list[Reason] = []
    declined: list[Reason] = []
    noted: list[Reason] = []
    for right in app.rights:
        grounds = []
        if right.kind == "utility_model" and right.same_day_invention:
            grounds.append(("same_day_invention_declaration_required", app.declare_same_day_invention))
        if "invalidation_pending" in right.flags:
            grounds.append(("invalidation_pending_declaration_required", app.declare_invalidation_pending))
            if app.declare_invalidation_pending:
                noted.append(Reason("invalidation_pending_at_registration", NOTE_INVALIDATION_PENDING,
                                    right.key))
        for code, declared in grounds:
            if declared is None:
                pending.append(_reason(code, right))
            elif not declared:
                declined.append(_reason(code, right))
    if declined:
        return Decision(REFUSED, _order(declined), "patent")
    if pending:
        return Decision(AWAITING_DECLARATION, _order(pending), "patent")
    return Decision(REGISTERED, (), "patent", notes=(NOTE_INVALIDATION_PENDING,) if noted else (),
                    noted=_order(noted))
