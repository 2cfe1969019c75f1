"""Five-category loan classification (五级分类) under the 2023 rules, lending-rules.md §1.

商业银行金融资产风险分类办法 (CBIRC/PBOC Order 2023 No. 1).  Pure module: no Django.

How a decision is made (:func:`classify_loan`)
----------------------------------------------
1. Every objective rule that fires adds a reason ``(code, category)``: the category is the rule's
   floor ("at least").  The floor is the worst of them (``normal`` when none fires).
2. Downgrades are immediate: the result is never better than the floor.
3. Upgrades out of a non-performing ``previous`` category (to any better category, also between NPL
   grades) need every upgrade condition: arrears cleared; paid normally for the longer of 2
   consecutive repayment periods or 6 months (both counts must be met); assessed able to keep
   paying; no credit-impaired asset at the bank; not in a restructuring observation period.  Until
   then the loan stays at ``previous`` and ``upgrade_blocked_reason`` says why
   (``restructuring_observation`` when observation blocks it, else ``upgrade_conditions_not_met``).
4. A performing ``previous`` (normal or special mention) takes the floor: a special-mention loan
   whose reasons have all lapsed returns to normal at once.  The rules set no waiting period for
   关注 → 正常; restructured assets are held by the observation rule instead.

Boundaries (Civil Code art. 1259): "以上、以下、以内、届满" include the number, "不满、超过、以外"
exclude it.  So "逾期超过90天" is DPD ≥ 91, "超过20%" is share > 0.2, "超过10%" is > 0.1,
"50%以上" is ≥ 0.5, "90%以上" is ≥ 0.9, and an observation period of "至少1年" is complete on the
first anniversary (届满) of its start.

Restructuring: ``restructured_on`` set means the asset is restructured; the observation period runs
from ``observation_started`` (the first repayment date after the change; ``None`` = not reached yet)
until both ``observation_periods_paid ≥ 2`` and one full year have passed.  During observation the
asset is at least special mention, an NPL is not upgraded, and ``restructured_again`` (re-restructured
or not improving during observation; the caller restarts the period) puts it at least at substandard.
Once the restarted period completes, the loan is an NPL that leaves only by the upgrade conditions.

Book level (:func:`apply_contagion`, :func:`classify_book`), non-retail debtors only:
* contagion: NPL balance / the debtor's total balance at this bank > 10% → every loan of the debtor
  is at least substandard (reason ``contagion``);
* otherwise, any NPL of the debtor at this bank → its other loans are at least special mention
  (reason ``debtor_npl_elsewhere``; the same rule as the fact of that name, which covers other banks).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from ippledge.core.errors import N_, ValidationFailed

from .schedule import add_months

NORMAL = "normal"
SPECIAL_MENTION = "special_mention"
SUBSTANDARD = "substandard"
DOUBTFUL = "doubtful"
LOSS = "loss"
CATEGORIES: tuple[str, ...] = (NORMAL, SPECIAL_MENTION, SUBSTANDARD, DOUBTFUL, LOSS)
NPL: frozenset[str] = frozenset({SUBSTANDARD, DOUBTFUL, LOSS})
PERFORMING: frozenset[str] = frozenset({NORMAL, SPECIAL_MENTION})

# DPD floors: "逾期超过N天" excludes N, so the floor starts at N + 1.
DPD_FLOORS: tuple[tuple[int, str, str], ...] = (
    (361, LOSS, "dpd_over_360"),
    (271, DOUBTFUL, "dpd_over_270"),
    (91, SUBSTANDARD, "dpd_over_90"),
    (1, SPECIAL_MENTION, "dpd_over_0"),
)
OPERATIONAL_DELAY_MAX_DAYS = 7  # "7天以内" includes 7
CROSS_BANK_OVERDUE_SHARE = Decimal("0.2")  # "超过20%": strictly more
EXPECTED_LOSS_DOUBTFUL = Decimal("0.5")  # "50%以上": 50% included
EXPECTED_LOSS_LOSS = Decimal("0.9")  # "90%以上": 90% included
CONTAGION_SHARE = Decimal("0.1")  # "超过10%": strictly more
UPGRADE_MIN_PERIODS = 2
UPGRADE_MIN_MONTHS = 6
OBSERVATION_MIN_PERIODS = 2
OBSERVATION_MIN_MONTHS = 12


def _invalid(name: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, code="invalid_input", fields={name: [message]})


def rank(category: str) -> int:
    """0 for normal … 4 for loss."""
    try:
        return CATEGORIES.index(category)
    except ValueError:
        raise _invalid("category", N_("Unknown risk category.")) from None


def worse(a: str, b: str) -> str:
    """The worse of two categories."""
    return a if rank(a) >= rank(b) else b


def is_npl(category: str) -> bool:
    rank(category)
    return category in NPL


@dataclass(frozen=True)
class LoanFacts:
    """What the classification needs to know about one loan on the classification date."""

    loan_no: str
    debtor_id: str
    balance: Decimal
    dpd: int = 0
    operational_delay: bool = False
    funds_diverted: bool = False
    repaid_by_new_borrowing: bool = False
    qualifying_renewal: bool = False
    debtor_npl_elsewhere: bool = False
    credit_impaired: bool = False
    external_downgrade_severe: bool = False
    debtor_cross_bank_overdue90_share: Decimal = Decimal(0)
    evades_debt: bool = False
    expected_loss: Decimal | None = None
    bankruptcy_liquidation: bool = False
    retail: bool = False
    restructured_on: date | None = None
    restructured_again: bool = False
    observation_periods_paid: int = 0
    observation_started: date | None = None
    previous: str = NORMAL
    arrears_cleared: bool = False
    periods_paid_since_cure: int = 0
    months_since_cure: int = 0
    able_to_pay: bool = False
    has_impaired_asset_at_bank: bool = False
    manual_floor: str | None = None

    def __post_init__(self) -> None:
        for name in ("balance", "debtor_cross_bank_overdue90_share", "expected_loss"):
            value = getattr(self, name)
            if value is None and name == "expected_loss":
                continue
            if not isinstance(value, Decimal | int) or isinstance(value, bool) or not Decimal(value).is_finite():
                raise _invalid(name, N_("Give numbers as Decimal, not floating-point numbers."))
        if self.balance < 0:
            raise _invalid("balance", N_("The balance must not be negative."))
        for name in ("debtor_cross_bank_overdue90_share", "expected_loss"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 1:
                raise _invalid(name, N_("A share must be between 0 and 1."))
        for name in ("dpd", "observation_periods_paid", "periods_paid_since_cure", "months_since_cure"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise _invalid(name, N_("Must be a whole number, zero or more."))
        if self.previous not in CATEGORIES:
            raise _invalid("previous", N_("Unknown risk category."))
        if self.manual_floor is not None and self.manual_floor not in CATEGORIES:
            raise _invalid("manual_floor", N_("Unknown risk category."))
        for name in ("restructured_on", "observation_started"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, date):
                raise _invalid(name, N_("Not a valid date."))


@dataclass(frozen=True)
class Decision:
    """The category, every rule that set a floor (code, category), and why an upgrade was refused.

    ``upgrade_unmet`` lists the upgrade conditions that failed: ``arrears_not_cleared``,
    ``insufficient_performance``, ``not_able_to_pay``, ``impaired_asset_at_bank``,
    ``restructuring_observation``.
    """

    category: str
    floor_reasons: list[tuple[str, str]] = field(default_factory=list)
    upgrade_blocked_reason: str | None = None
    upgrade_unmet: tuple[str, ...] = ()

    @property
    def floor(self) -> str:
        result = NORMAL
        for _, category in self.floor_reasons:
            result = worse(result, category)
        return result

    @property
    def npl(self) -> bool:
        return self.category in NPL


def in_observation(facts: LoanFacts, on: date) -> bool:
    """A restructured asset is in observation until ≥ 2 periods are paid and one full year has passed."""
    if facts.restructured_on is None:
        return False
    if facts.observation_started is None:
        return True
    year_done = on >= add_months(facts.observation_started, OBSERVATION_MIN_MONTHS)
    return not (facts.observation_periods_paid >= OBSERVATION_MIN_PERIODS and year_done)


def floor_reasons(facts: LoanFacts, on: date) -> list[tuple[str, str]]:
    """Every objective rule that fires, as (code, floor category); the strongest DPD rule only."""
    reasons: list[tuple[str, str]] = []
    non_retail = not facts.retail

    for threshold, category, code in DPD_FLOORS:
        if facts.dpd >= threshold:
            if (category == SPECIAL_MENTION and facts.operational_delay
                    and facts.dpd <= OPERATIONAL_DELAY_MAX_DAYS):
                reasons.append(("operational_delay_exception", NORMAL))
            else:
                reasons.append((code, category))
            break

    if facts.funds_diverted:
        reasons.append(("funds_diverted", SPECIAL_MENTION))
    if facts.repaid_by_new_borrowing and not facts.qualifying_renewal:
        reasons.append(("repaid_by_new_borrowing", SPECIAL_MENTION))
    if facts.debtor_npl_elsewhere and non_retail:
        reasons.append(("debtor_npl_elsewhere", SPECIAL_MENTION))

    if facts.credit_impaired:
        reasons.append(("credit_impaired", SUBSTANDARD))
    if facts.external_downgrade_severe:
        reasons.append(("external_downgrade", SUBSTANDARD))
    if non_retail and facts.debtor_cross_bank_overdue90_share > CROSS_BANK_OVERDUE_SHARE:
        reasons.append(("cross_bank_overdue", SUBSTANDARD))

    if facts.evades_debt:
        reasons.append(("evades_debt", DOUBTFUL))
    if facts.expected_loss is not None and facts.expected_loss >= EXPECTED_LOSS_LOSS:
        reasons.append(("expected_loss_90", LOSS))
    elif (facts.credit_impaired and facts.expected_loss is not None
          and facts.expected_loss >= EXPECTED_LOSS_DOUBTFUL):
        reasons.append(("expected_loss_50", DOUBTFUL))
    if facts.bankruptcy_liquidation:
        reasons.append(("bankruptcy", LOSS))

    if in_observation(facts, on):
        reasons.append(("restructuring_observation", SPECIAL_MENTION))
        if facts.restructured_again:
            reasons.append(("restructured_again", SUBSTANDARD))

    if facts.manual_floor is not None:
        reasons.append(("manual_downgrade", facts.manual_floor))
    return reasons


def upgrade_unmet(facts: LoanFacts, on: date) -> tuple[str, ...]:
    """The upgrade-out-of-NPL conditions that do not hold (empty: the upgrade may happen)."""
    unmet = []
    if not facts.arrears_cleared:
        unmet.append("arrears_not_cleared")
    # "the longer of 2 consecutive periods or 6 months": both must have elapsed.
    if facts.periods_paid_since_cure < UPGRADE_MIN_PERIODS or facts.months_since_cure < UPGRADE_MIN_MONTHS:
        unmet.append("insufficient_performance")
    if not facts.able_to_pay:
        unmet.append("not_able_to_pay")
    if facts.has_impaired_asset_at_bank:
        unmet.append("impaired_asset_at_bank")
    if in_observation(facts, on):
        unmet.append("restructuring_observation")
    return tuple(unmet)


def classify_loan(facts: LoanFacts, on: date) -> Decision:
    """Classify one loan on ``on`` (see the module docstring)."""
    if not isinstance(on, date):
        raise _invalid("on", N_("Not a valid date."))
    reasons = floor_reasons(facts, on)
    floor = NORMAL
    for _, category in reasons:
        floor = worse(floor, category)

    if facts.previous in NPL and rank(floor) < rank(facts.previous):
        unmet = upgrade_unmet(facts, on)
        if unmet:
            blocked = ("restructuring_observation" if "restructuring_observation" in unmet
                       else "upgrade_conditions_not_met")
            return Decision(facts.previous, reasons, blocked, unmet)
    return Decision(floor, reasons)


def apply_contagion(decisions: dict[str, tuple[str, Decimal, Decision]],
                    retail: set[str]) -> dict[str, Decision]:
    """Apply the debtor-level rules to per-loan decisions: {loan_no: (debtor_id, balance, decision)}.

    ``retail`` holds the debtor ids the rules do not apply to.  Contagion: if a non-retail debtor's
    NPL balance is more than 10% of its total balance at this bank, each of its performing loans
    becomes substandard (reason ``contagion``); otherwise, if the debtor has any NPL here, its other
    loans are at least special mention (reason ``debtor_npl_elsewhere``).
    """
    totals: dict[str, Decimal] = {}
    npl_totals: dict[str, Decimal] = {}
    has_npl: set[str] = set()
    for debtor, balance, decision in decisions.values():
        totals[debtor] = totals.get(debtor, Decimal(0)) + balance
        if decision.npl:
            npl_totals[debtor] = npl_totals.get(debtor, Decimal(0)) + balance
            has_npl.add(debtor)

    result: dict[str, Decision] = {}
    for loan_no, (debtor, _, decision) in decisions.items():
        if debtor in retail or debtor not in has_npl or decision.npl:
            result[loan_no] = decision
            continue
        share_exceeded = totals[debtor] > 0 and npl_totals[debtor] > CONTAGION_SHARE * totals[debtor]
        code, floor = ("contagion", SUBSTANDARD) if share_exceeded else ("debtor_npl_elsewhere", SPECIAL_MENTION)
        if (code, floor) in decision.floor_reasons:
            result[loan_no] = decision
            continue
        result[loan_no] = replace(decision, category=worse(decision.category, floor),
                                  floor_reasons=[*decision.floor_reasons, (code, floor)])
    return result


def classify_book(loans: list[LoanFacts], on: date) -> dict[str, Decision]:
    """Classify every loan, then apply the debtor-level rules.

    A debtor counts as retail only when all its loans are retail.
    """
    per_loan: dict[str, tuple[str, Decimal, Decision]] = {}
    non_retail: set[str] = set()
    debtors: set[str] = set()
    for facts in loans:
        if facts.loan_no in per_loan:
            raise _invalid("loan_no", N_("The same loan number appears twice."))
        per_loan[facts.loan_no] = (facts.debtor_id, facts.balance, classify_loan(facts, on))
        debtors.add(facts.debtor_id)
        if not facts.retail:
            non_retail.add(facts.debtor_id)
    return apply_contagion(per_loan, debtors - non_retail)

