"""Five-category loan classification (五级分类) under the 2023 rules, lending-rules.md §1.

商业银行金融资产风险分类办法 (CBIRC/PBOC Order 2023 No. 1).  Pure module: no Django.

The rule lives here once, evaluated over arrays (:func:`classify`): :class:`Facts` holds one row per
loan, and every rule below runs over all rows at once, the debtor rules included.  One row is the
single-loan case: :func:`classify_loan` and :func:`classify_book` turn :class:`LoanFacts` into rows
and read :class:`Decision` objects back.  The end of day (``credit.bulk``) gathers the same facts for
the whole book from SQL into the arrays, and the manual-upgrade check (``credit.services``) calls the
same function on the loan's debtor; the scalar reference implementation kept for comparison lives in
``tests/classification_oracle.py`` (and is timed by ``benchmarks/credit.py``), never beside this code.

How a decision is made (:func:`classify`)
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

Book level (in :func:`classify`; :func:`apply_contagion` for decisions already made), non-retail
debtors only (a debtor is retail when all its loans are):
* contagion: NPL balance / the debtor's total balance at this bank > 10% → every loan of the debtor
  is at least substandard (reason ``contagion``);
* otherwise, any NPL of the debtor at this bank → its other loans are at least special mention
  (reason ``debtor_npl_elsewhere``; the same rule as the fact of that name, which covers other banks,
  so a loan that already has that reason does not get it twice).

Arrays: money in integer fen, categories as ranks 0 (normal) … 4 (loss), shares in parts per million
(exact: a share is given with at most six decimals), dates as ``datetime64[D]`` (NaT: none).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from datetime import date
from decimal import Decimal
from typing import Any

import numpy as np

from ippledge.core import exact
from ippledge.core.calendar import add_months
from ippledge.core.errors import N_, ValidationFailed  # noqa: F401 - callers catch rules.ValidationFailed

NORMAL = "normal"
SPECIAL_MENTION = "special_mention"
SUBSTANDARD = "substandard"
DOUBTFUL = "doubtful"
LOSS = "loss"
CATEGORIES: tuple[str, ...] = (NORMAL, SPECIAL_MENTION, SUBSTANDARD, DOUBTFUL, LOSS)
NPL: frozenset[str] = frozenset({SUBSTANDARD, DOUBTFUL, LOSS})
PERFORMING: frozenset[str] = frozenset({NORMAL, SPECIAL_MENTION})
RANK: dict[str, int] = {c: i for i, c in enumerate(CATEGORIES)}
R_NORMAL, R_SPECIAL_MENTION, R_SUBSTANDARD, R_DOUBTFUL, R_LOSS = range(5)

# DPD floors: "逾期超过N天" excludes N, so the floor starts at N + 1.
DPD_FLOORS: tuple[tuple[int, str, str], ...] = (
    (361, LOSS, "dpd_over_360"),
    (271, DOUBTFUL, "dpd_over_270"),
    (91, SUBSTANDARD, "dpd_over_90"),
    (1, SPECIAL_MENTION, "dpd_over_0"),
)
OPERATIONAL_DELAY_MAX_DAYS = 7  # "7天以内" includes 7
SHARE_SCALE = 1_000_000  # shares in parts per million
CROSS_BANK_OVERDUE_SHARE = Decimal("0.2")  # "超过20%": strictly more
EXPECTED_LOSS_DOUBTFUL = Decimal("0.5")  # "50%以上": 50% included
EXPECTED_LOSS_LOSS = Decimal("0.9")  # "90%以上": 90% included
CONTAGION_SHARE = Decimal("0.1")  # "超过10%": strictly more
UPGRADE_MIN_PERIODS = 2
UPGRADE_MIN_MONTHS = 6
OBSERVATION_MIN_PERIODS = 2
OBSERVATION_MIN_MONTHS = 12

NO_REASON = -1  # dpd_reason: no DPD rule fired
OPERATIONAL = -2  # dpd_reason: the ≤ 7-day operational-delay exception (the loan stays normal)
NO_FLOOR = -1  # manual_floor: none
NO_SHARE = -1  # expected_loss_ppm: not assessed
NO_DATE = np.datetime64("NaT", "D")

# The per-loan rules other than DPD and the manual floor, in the order a decision lists them.
RULES: tuple[tuple[str, int], ...] = (
    ("funds_diverted", R_SPECIAL_MENTION),
    ("repaid_by_new_borrowing", R_SPECIAL_MENTION),
    ("debtor_npl_elsewhere", R_SPECIAL_MENTION),
    ("credit_impaired", R_SUBSTANDARD),
    ("external_downgrade", R_SUBSTANDARD),
    ("cross_bank_overdue", R_SUBSTANDARD),
    ("evades_debt", R_DOUBTFUL),
    ("expected_loss_90", R_LOSS),
    ("expected_loss_50", R_DOUBTFUL),
    ("bankruptcy", R_LOSS),
    ("restructuring_observation", R_SPECIAL_MENTION),
    ("restructured_again", R_SUBSTANDARD),
)
RULE_INDEX = {code: k for k, (code, _) in enumerate(RULES)}
UPGRADE_CONDITIONS: tuple[str, ...] = ("arrears_not_cleared", "insufficient_performance", "not_able_to_pay",
                                       "impaired_asset_at_bank", "restructuring_observation")
# Debtor rules: contagion code → (reason, floor rank).
CONTAGION: dict[int, tuple[str, int]] = {1: ("debtor_npl_elsewhere", R_SPECIAL_MENTION),
                                         2: ("contagion", R_SUBSTANDARD)}


_invalid = exact.invalid  # the one field-error builder


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


# =========================================================================== facts as arrays

_BOOL = ("operational_delay", "funds_diverted", "repaid_by_new_borrowing", "qualifying_renewal",
         "debtor_npl_elsewhere", "credit_impaired", "external_downgrade_severe", "evades_debt",
         "bankruptcy_liquidation", "retail", "restructured", "restructured_again", "arrears_cleared",
         "able_to_pay", "has_impaired_asset_at_bank")
_COUNT = ("dpd", "observation_periods_paid", "periods_paid_since_cure", "months_since_cure")


@dataclass(frozen=True)
class Facts:
    """What the classification needs to know, one row per loan (aligned arrays; build with :meth:`of`).

    ``debtor`` codes the debtor at this bank (equal codes: the same debtor); ``balance`` is the
    outstanding principal in fen; ``previous`` and ``manual_floor`` are ranks (``manual_floor`` −1: none);
    ``cross_bank_overdue90_ppm`` and ``expected_loss_ppm`` are shares in parts per million
    (``expected_loss_ppm`` −1: not assessed); ``restructured`` says the asset is restructured and
    ``observation_started`` is the first repayment date after the change (NaT: not reached yet).
    """

    debtor: np.ndarray
    balance: np.ndarray
    dpd: np.ndarray
    previous: np.ndarray
    manual_floor: np.ndarray
    cross_bank_overdue90_ppm: np.ndarray
    expected_loss_ppm: np.ndarray
    observation_started: np.ndarray
    observation_periods_paid: np.ndarray
    periods_paid_since_cure: np.ndarray
    months_since_cure: np.ndarray
    operational_delay: np.ndarray
    funds_diverted: np.ndarray
    repaid_by_new_borrowing: np.ndarray
    qualifying_renewal: np.ndarray
    debtor_npl_elsewhere: np.ndarray
    credit_impaired: np.ndarray
    external_downgrade_severe: np.ndarray
    evades_debt: np.ndarray
    bankruptcy_liquidation: np.ndarray
    retail: np.ndarray
    restructured: np.ndarray
    restructured_again: np.ndarray
    arrears_cleared: np.ndarray
    able_to_pay: np.ndarray
    has_impaired_asset_at_bank: np.ndarray

    def __len__(self) -> int:
        return len(self.balance)

    @classmethod
    def of(cls, *, debtor: Any, balance: Any, **columns: Any) -> Facts:
        """Rows from columns; a column not given takes its neutral value (False, 0, none)."""
        names = {f.name for f in fields(cls)}
        unknown = set(columns) - names
        if unknown:
            raise TypeError(f"unknown facts: {sorted(unknown)}")
        balance = np.asarray(balance)
        n = balance.shape[0] if balance.ndim == 1 else -1
        if n < 0:
            raise _invalid("balance", N_("Give the facts as one row per loan."))

        def column(name: str, default: Any, dtype: Any) -> np.ndarray:
            value = columns.get(name)
            array = np.full(n, default, dtype=dtype) if value is None else np.asarray(value)
            if array.shape != (n,):
                raise _invalid(name, N_("Give the facts as one row per loan."))
            if dtype is bool and array.dtype != bool:
                raise _invalid(name, N_("Give yes or no."))
            if dtype == "datetime64[D]":
                if array.dtype.kind != "M":
                    raise _invalid(name, N_("Not a valid date."))
                return array.astype("datetime64[D]")
            if dtype is np.int64 and array.dtype.kind not in "iu":
                raise _invalid(name, N_("Must be a whole number, zero or more."))
            return array.astype(dtype)

        def bounded(name: str, array: np.ndarray, low: int, high: int | None, message: str) -> np.ndarray:
            if len(array) and (array.min() < low or (high is not None and array.max() > high)):
                raise _invalid(name, message)
            return array

        whole = N_("Must be a whole number, zero or more.")
        unknown_category = N_("Unknown risk category.")
        share = N_("A share must be between 0 and 1.")
        values: dict[str, np.ndarray] = {
            "debtor": _int_column("debtor", debtor, n),
            "balance": bounded("balance", _int_column("balance", balance, n), 0, None,
                               N_("The balance must not be negative.")),
            "previous": bounded("previous", column("previous", R_NORMAL, np.int64), 0, R_LOSS, unknown_category),
            "manual_floor": bounded("manual_floor", column("manual_floor", NO_FLOOR, np.int64), NO_FLOOR, R_LOSS,
                                    unknown_category),
            "cross_bank_overdue90_ppm": bounded("cross_bank_overdue90_ppm",
                                                column("cross_bank_overdue90_ppm", 0, np.int64), 0, SHARE_SCALE,
                                                share),
            "expected_loss_ppm": bounded("expected_loss_ppm", column("expected_loss_ppm", NO_SHARE, np.int64),
                                         NO_SHARE, SHARE_SCALE, share),
            "observation_started": column("observation_started", NO_DATE, "datetime64[D]"),
        }
        for name in _COUNT:
            values[name] = bounded(name, column(name, 0, np.int64), 0, None, whole)
        for name in _BOOL:
            values[name] = column(name, False, bool)
        return cls(**values)


def _int_column(name: str, value: Any, n: int) -> np.ndarray:
    array = np.asarray(value)
    if array.shape != (n,) or (n and array.dtype.kind not in "iu"):
        raise _invalid(name, N_("Must be a whole number, zero or more."))
    return array.astype(np.int64)


# =========================================================================== the rule

@dataclass(frozen=True)
class Classified:
    """The result of :func:`classify`, aligned with the facts' rows.

    ``category`` and ``floor`` (the loan's own floor, before the debtor rules) are ranks; ``dpd_reason``
    is the rank of the DPD floor that fired (−1 none, −2 the operational-delay exception); ``fired``
    (rows × :data:`RULES`) the other per-loan rules that fired; ``blocked`` an upgrade out of NPL
    refused (the loan stays at ``previous``) with ``unmet`` (rows × :data:`UPGRADE_CONDITIONS`);
    ``contagion`` the debtor rule applied (0 none, see :data:`CONTAGION`).
    """

    category: np.ndarray
    floor: np.ndarray
    dpd_reason: np.ndarray
    fired: np.ndarray
    manual_floor: np.ndarray
    blocked: np.ndarray
    unmet: np.ndarray
    contagion: np.ndarray

    def __len__(self) -> int:
        return len(self.category)

    @property
    def in_observation(self) -> np.ndarray:
        return self.fired[:, RULE_INDEX["restructuring_observation"]]

    def reasons(self, i: int) -> list[tuple[str, str]]:
        """Every rule that set a floor for row ``i``, as (code, category), in the order of the rules."""
        out: list[tuple[str, str]] = []
        d = int(self.dpd_reason[i])
        if d == OPERATIONAL:
            out.append(("operational_delay_exception", NORMAL))
        elif d != NO_REASON:
            out.append((next(code for _, category, code in DPD_FLOORS if RANK[category] == d), CATEGORIES[d]))
        out += [(code, CATEGORIES[floor]) for k, (code, floor) in enumerate(RULES) if self.fired[i, k]]
        if self.manual_floor[i] != NO_FLOOR:
            out.append(("manual_downgrade", CATEGORIES[int(self.manual_floor[i])]))
        if self.contagion[i]:
            code, floor = CONTAGION[int(self.contagion[i])]
            out.append((code, CATEGORIES[floor]))
        return out

    def decision(self, i: int) -> Decision:
        category = CATEGORIES[int(self.category[i])]
        if not self.blocked[i]:
            return Decision(category, self.reasons(i))
        unmet = tuple(c for k, c in enumerate(UPGRADE_CONDITIONS) if self.unmet[i, k])
        blocked = "restructuring_observation" if "restructuring_observation" in unmet else "upgrade_conditions_not_met"
        return Decision(category, self.reasons(i), blocked, unmet)


def in_observation(restructured: np.ndarray, started: np.ndarray, periods_paid: np.ndarray, on: date) -> np.ndarray:
    """A restructured asset is in observation until ≥ 2 periods are paid and one full year has passed
    since the observation started (届满: the first anniversary itself completes it)."""
    done = np.zeros(len(restructured), dtype=bool)
    idx = np.flatnonzero(restructured & ~np.isnat(started) & (periods_paid >= OBSERVATION_MIN_PERIODS))
    if len(idx):  # the few restructured loans: the calendar rule is core.calendar.add_months, once
        anniversary = np.array([add_months(d, OBSERVATION_MIN_MONTHS) for d in started[idx].tolist()],
                               dtype="datetime64[D]")
        done[idx] = anniversary <= np.datetime64(on, "D")
    return restructured & ~done


def _debtor_rules(facts: Facts, category: np.ndarray, own_elsewhere: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(contagion code, category) after the debtor rules (see the module docstring)."""
    n = len(category)
    contagion = np.zeros(n, dtype=np.int64)
    if not n:
        return contagion, category
    _, debtor = np.unique(facts.debtor, return_inverse=True)
    debtor = debtor.ravel()
    m = int(debtor.max()) + 1
    npl = category >= R_SUBSTANDARD
    total = np.zeros(m, dtype=np.int64)
    npl_total = np.zeros(m, dtype=np.int64)
    np.add.at(total, debtor, facts.balance)
    np.add.at(npl_total, debtor[npl], facts.balance[npl])
    has_npl = np.bincount(debtor[npl], minlength=m) > 0
    retail_debtor = np.bincount(debtor[~facts.retail], minlength=m) == 0
    exceeded = (total > 0) & (npl_total * 10 > total)  # "超过10%": strictly more, exact in fen
    code = np.where(exceeded[debtor], 2, 1)
    hit = ~npl & has_npl[debtor] & ~retail_debtor[debtor] & ~((code == 1) & own_elsewhere)
    contagion[hit] = code[hit]
    floor = np.where(contagion == 2, R_SUBSTANDARD, np.where(contagion == 1, R_SPECIAL_MENTION, R_NORMAL))
    return contagion, np.maximum(category, floor)


def classify(facts: Facts, on: date) -> Classified:
    """Classify every row on ``on``: the per-loan rules, the upgrade conditions, then the debtor rules."""
    if not isinstance(on, date):
        raise _invalid("on", N_("Not a valid date."))
    f, n = facts, len(facts)
    dpd_reason = np.full(n, NO_REASON, dtype=np.int64)
    for threshold, category, _ in reversed(DPD_FLOORS):  # weakest first: the strongest wins
        dpd_reason[f.dpd >= threshold] = RANK[category]
    dpd_reason[f.operational_delay & (f.dpd >= 1) & (f.dpd <= OPERATIONAL_DELAY_MAX_DAYS)] = OPERATIONAL

    non_retail = ~f.retail
    observed = in_observation(f.restructured, f.observation_started, f.observation_periods_paid, on)
    loss90 = f.expected_loss_ppm >= int(EXPECTED_LOSS_LOSS * SHARE_SCALE)
    fired = np.zeros((n, len(RULES)), dtype=bool)
    for code, mask in (
        ("funds_diverted", f.funds_diverted),
        ("repaid_by_new_borrowing", f.repaid_by_new_borrowing & ~f.qualifying_renewal),
        ("debtor_npl_elsewhere", f.debtor_npl_elsewhere & non_retail),
        ("credit_impaired", f.credit_impaired),
        ("external_downgrade", f.external_downgrade_severe),
        ("cross_bank_overdue", non_retail & (f.cross_bank_overdue90_ppm > int(CROSS_BANK_OVERDUE_SHARE * SHARE_SCALE))),
        ("evades_debt", f.evades_debt),
        ("expected_loss_90", loss90),
        ("expected_loss_50", ~loss90 & f.credit_impaired
         & (f.expected_loss_ppm >= int(EXPECTED_LOSS_DOUBTFUL * SHARE_SCALE))),
        ("bankruptcy", f.bankruptcy_liquidation),
        ("restructuring_observation", observed),
        ("restructured_again", observed & f.restructured_again),
    ):
        fired[:, RULE_INDEX[code]] = mask
    rule_floor = np.where(fired, np.array([floor for _, floor in RULES]), R_NORMAL).max(axis=1, initial=R_NORMAL)
    floor = np.maximum.reduce([np.maximum(dpd_reason, R_NORMAL), rule_floor, f.manual_floor])

    unmet = np.column_stack([
        ~f.arrears_cleared,
        # "the longer of 2 consecutive periods or 6 months": both must have elapsed.
        (f.periods_paid_since_cure < UPGRADE_MIN_PERIODS) | (f.months_since_cure < UPGRADE_MIN_MONTHS),
        ~f.able_to_pay,
        f.has_impaired_asset_at_bank,
        observed,
    ]) if n else np.zeros((0, len(UPGRADE_CONDITIONS)), dtype=bool)
    blocked = (f.previous >= R_SUBSTANDARD) & (floor < f.previous) & unmet.any(axis=1)
    category = np.where(blocked, f.previous, floor)
    contagion, category = _debtor_rules(f, category, fired[:, RULE_INDEX["debtor_npl_elsewhere"]])
    return Classified(category=category, floor=floor, dpd_reason=dpd_reason, fired=fired,
                      manual_floor=f.manual_floor, blocked=blocked, unmet=unmet, contagion=contagion)


# =========================================================================== one loan at a time

@dataclass(frozen=True)
class LoanFacts:
    """What the classification needs to know about one loan on the classification date (one row of
    :class:`Facts`, with Decimal amounts and shares and category names)."""

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
        if Decimal(self.balance) != Decimal(self.balance).quantize(Decimal("0.01")):
            raise _invalid("balance", N_("Give the amount to the fen (at most two decimals)."))
        for name in ("debtor_cross_bank_overdue90_share", "expected_loss"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 1:
                raise _invalid(name, N_("A share must be between 0 and 1."))
            if value is not None and Decimal(value) * SHARE_SCALE != int(Decimal(value) * SHARE_SCALE):
                raise _invalid(name, N_("Give a share with at most six decimals."))
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


def _ppm(share: Decimal | int | None, none: int) -> int:
    return none if share is None else int(Decimal(share) * SHARE_SCALE)


def facts_of(loans: list[LoanFacts]) -> Facts:
    """The rows of ``loans``, in order (debtors coded by their ``debtor_id``)."""
    codes: dict[str, int] = {}
    rows = {
        "debtor": [codes.setdefault(x.debtor_id, len(codes)) for x in loans],
        "balance": [int(Decimal(x.balance) * 100) for x in loans],
        "previous": [RANK[x.previous] for x in loans],
        "manual_floor": [NO_FLOOR if x.manual_floor is None else RANK[x.manual_floor] for x in loans],
        "cross_bank_overdue90_ppm": [_ppm(x.debtor_cross_bank_overdue90_share, 0) for x in loans],
        "expected_loss_ppm": [_ppm(x.expected_loss, NO_SHARE) for x in loans],
        "observation_started": np.array([x.observation_started or NO_DATE for x in loans], dtype="datetime64[D]"),
        "restructured": [x.restructured_on is not None for x in loans],
    }
    for name in _COUNT:
        rows[name] = [getattr(x, name) for x in loans]
    for name in _BOOL:
        if name != "restructured":
            rows[name] = [getattr(x, name) for x in loans]
    arrays = {k: (v if isinstance(v, np.ndarray) else np.array(v, dtype=bool if k in _BOOL else np.int64))
              for k, v in rows.items()}
    return Facts.of(**arrays)


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


def classify_loan(facts: LoanFacts, on: date) -> Decision:
    """Classify one loan on ``on``: :func:`classify` on one row (alone, no debtor rule can apply)."""
    return classify(facts_of([facts]), on).decision(0)


def classify_book(loans: list[LoanFacts], on: date) -> dict[str, Decision]:
    """Classify every loan with the debtor rules: {loan_no: decision}."""
    seen: set[str] = set()
    for facts in loans:
        if facts.loan_no in seen:
            raise _invalid("loan_no", N_("The same loan number appears twice."))
        seen.add(facts.loan_no)
    result = classify(facts_of(loans), on)
    return {facts.loan_no: result.decision(i) for i, facts in enumerate(loans)}


def apply_contagion(decisions: dict[str, tuple[str, Decimal, Decision]],
                    retail: set[str]) -> dict[str, Decision]:
    """The debtor rules of :func:`classify` over decisions already made: {loan_no: (debtor_id, balance,
    decision)}; ``retail`` holds the debtor ids the rules do not apply to."""
    items = list(decisions.items())
    codes: dict[str, int] = {}
    facts = Facts.of(debtor=np.array([codes.setdefault(d, len(codes)) for _, (d, _, _) in items], dtype=np.int64),
                     balance=np.array([int(Decimal(b) * 100) for _, (_, b, _) in items], dtype=np.int64),
                     retail=np.array([d in retail for _, (d, _, _) in items], dtype=bool))
    category = np.array([RANK[x.category] for _, (_, _, x) in items], dtype=np.int64)
    elsewhere = np.array([("debtor_npl_elsewhere", SPECIAL_MENTION) in x.floor_reasons for _, (_, _, x) in items],
                         dtype=bool)
    contagion, category = _debtor_rules(facts, category, elsewhere)
    result: dict[str, Decision] = {}
    for i, (loan_no, (_, _, decision)) in enumerate(items):
        if not contagion[i]:
            result[loan_no] = decision
            continue
        code, floor = CONTAGION[int(contagion[i])]
        result[loan_no] = replace(decision, category=CATEGORIES[int(category[i])],
                                  floor_reasons=[*decision.floor_reasons, (code, CATEGORIES[floor])])
    return result
