"""Matching enterprises' financing needs with bank products, with reasons (银企对接).  Pure module.

Inputs are plain dicts (see :func:`eligibility`); amounts are ``Decimal`` (ints and decimal strings are
accepted, floats refused), LTV caps are fractions.

Eligibility (:func:`eligibility`)
---------------------------------
Every check adds a reason ``(code, ok, detail)``; the need is eligible when every reason is ok.
Codes are stable (an API contract); details are English sentences for people.

* rights: only rights ``in_force`` count (``rights_not_in_force`` notes the others;
  ``no_rights_in_force`` when none is left).  Rights without a market value count as 0
  (``market_value_missing``).
* kinds: every kind offered must be in the product's ``eligible_kinds`` (``"patent"`` there stands for
  invention, utility_model and design); rights of two or more kinds are a bundle and need ``"bundle"``
  as well (``kind_not_eligible``, ``bundle_not_eligible``, else ``kinds_eligible``).
* amount and term: ``min_* ≤ value ≤ max_*``, bounds inclusive, ``None`` unbounded
  (``amount_below_minimum``, ``amount_above_maximum``, ``amount_in_range``; ``term_*`` likewise).
* region: the product's ``regions`` (empty: everywhere) cover the need's region when equal or when
  a GB/T 2260 province code (``330000``) or prefecture code (``330100``) contains it
  (``region_any``, ``region_covered``, ``region_not_covered``).
* park: a product with ``park_ids`` lends only in those parks (``park_any``, ``park_matched``,
  ``park_not_covered``).
* innovation grade: T1 is best, T10 worst; a floor ``"T5"`` admits T1 … T5 (``innovation_grade_any``,
  ``innovation_grade_met``, ``innovation_grade_below_floor``, ``innovation_grade_missing``).
* collateral: cover = Σ market value × LTV cap of the right's kind (``ltv_caps[kind]``, falling back
  to ``ltv_caps["patent"]`` for patent kinds).  For a bundle, valuation-methods.md §5: cover =
  min(``ltv_caps["bundle"]`` × Σ market values, Σ per-kind cover), using whichever of the two the
  product defines (``ltv_cap_missing`` when neither).  Cover is rounded down to the fen.  The need
  is covered when cover ≥ amount (``collateral_sufficient``), otherwise ``collateral_insufficient``
  with the supportable amount in the detail.
* ``supportable_amount`` = min(cover, the product's ``max_amount``): what this product could lend on
  this collateral.

Score (:func:`score`, 0–100, two decimals)
------------------------------------------
Σ weight × fit over :data:`WEIGHTS`, each fit in [0, 1]:

* ``collateral_headroom`` (40): 0 when cover < amount, rising linearly to 1 when cover reaches
  :data:`FULL_HEADROOM_COVER` × amount (twice the amount);
* ``innovation_grade`` (25): (11 − n) / 10 for grade Tn (T1 → 1, T10 → 0.1; no grade → 0);
* ``park_match`` (15): 1 when the product is a park product and the need is in one of its parks;
* ``first_loan`` (10): 1 when the need is a first loan (首贷户) and the product is first-loan friendly;
* ``inclusive_smb`` (10): 1 when the product is an inclusive (普惠) product and the need is from a
  small or micro firm asking at most :data:`INCLUSIVE_MAX_AMOUNT` (10 million yuan, §3).

Ranking (:func:`rank_products`, :func:`rank_needs`): eligible first, then score descending, then the id
(as text) ascending, so the order never depends on the input order.  Ineligible entries are scored
too, so a user sees the near misses.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

from ippledge.core import exact
from ippledge.core.errors import N_

WEIGHTS: dict[str, Decimal] = {
    "collateral_headroom": Decimal(40),
    "innovation_grade": Decimal(25),
    "park_match": Decimal(15),
    "first_loan": Decimal(10),
    "inclusive_smb": Decimal(10),
}
FULL_HEADROOM_COVER = Decimal(2)
INCLUSIVE_MAX_AMOUNT = Decimal(10_000_000)
INCLUSIVE_SIZES = frozenset({"small", "micro"})
GRADES: tuple[str, ...] = tuple(f"T{n}" for n in range(1, 11))
BUNDLE = "bundle"
PATENT = "patent"
PATENT_KINDS = frozenset({"invention", "utility_model", "design"})
FEN = Decimal("0.01")
ZERO = Decimal("0.00")


class Reason(NamedTuple):
    code: str
    ok: bool
    detail: str


# --------------------------------------------------------------------------- parsing

NON_NEGATIVE = N_("The value must be a number that is not negative.")


def _money(value: Any, name: str, *, optional: bool = False) -> Decimal | None:
    if value is None and optional:
        return None
    return exact.non_negative(value, name, range_message=NON_NEGATIVE)


def _months(value: Any, name: str, *, optional: bool = False) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise exact.invalid(name, N_("Give the term as a whole number of months, at least 1."))
    return value


def grade_number(grade: Any, name: str = "innovation_grade") -> int | None:
    """``"T3"`` → 3; ``None`` stays ``None``."""
    if grade is None:
        return None
    text = str(grade).strip().upper()
    if text not in GRADES:
        raise exact.invalid(name, N_("An innovation grade is T1 (best) to T10."))
    return int(text[1:])


def _need(need: Any) -> dict:
    if not isinstance(need, dict):
        raise exact.invalid("need", N_("A financing need is a mapping."))
    amount = _money(need.get("amount"), "need.amount")
    if amount <= 0:
        raise exact.invalid("need.amount", N_("The amount must be more than zero."))
    rights = need.get("rights") or []
    if not isinstance(rights, list | tuple):
        raise exact.invalid("need.rights", N_("Give the rights as a list."))
    parsed_rights = []
    for right in rights:
        if not isinstance(right, dict) or not isinstance(right.get("kind"), str) or not right["kind"]:
            raise exact.invalid("need.rights", N_("Each right needs a kind."))
        parsed_rights.append({
            "kind": right["kind"], "number": str(right.get("number") or ""),
            "market_value": _money(right.get("market_value"), "need.rights", optional=True),
            "in_force": bool(right.get("in_force", True)),
        })
    return {
        "id": need.get("id"), "amount": amount,
        "term_months": _months(need.get("term_months"), "need.term_months"),
        "rights": parsed_rights,
        "grade": grade_number(need.get("innovation_grade"), "need.innovation_grade"),
        "region": need.get("region"), "park_id": need.get("park_id"),
        "first_loan": bool(need.get("first_loan")), "size_class": need.get("size_class"),
    }


def _product(product: Any) -> dict:
    if not isinstance(product, dict):
        raise exact.invalid("product", N_("A product is a mapping."))
    kinds = product.get("eligible_kinds") or []
    caps = product.get("ltv_caps") or {}
    if not isinstance(kinds, list | tuple | set | frozenset) or not isinstance(caps, dict):
        raise exact.invalid("product.eligible_kinds", N_("Give the eligible kinds as a list and the LTV caps as a mapping."))
    ltv = {}
    for kind, cap in caps.items():
        ltv[kind] = _money(cap, "product.ltv_caps")
        if ltv[kind] > 1:
            raise exact.invalid("product.ltv_caps", N_("Give LTV caps as fractions (0.3 for 30%)."))
    parsed = {
        "id": product.get("id"), "bank": product.get("bank"), "eligible_kinds": frozenset(kinds),
        "min_amount": _money(product.get("min_amount"), "product.min_amount", optional=True),
        "max_amount": _money(product.get("max_amount"), "product.max_amount", optional=True),
        "min_term_months": _months(product.get("min_term_months"), "product.min_term_months", optional=True),
        "max_term_months": _months(product.get("max_term_months"), "product.max_term_months", optional=True),
        "ltv_caps": ltv,
        "regions": [str(r) for r in product.get("regions") or []],
        "park_ids": list(product.get("park_ids") or []),
        "first_loan_friendly": bool(product.get("first_loan_friendly")),
        "inclusive_smb": bool(product.get("inclusive_smb")),
        "floor": grade_number(product.get("min_innovation_grade"), "product.min_innovation_grade"),
    }
    for low, high in (("min_amount", "max_amount"), ("min_term_months", "max_term_months")):
        if parsed[low] is not None and parsed[high] is not None and parsed[low] > parsed[high]:
            raise exact.invalid(f"product.{low}", N_("The product's minimum must not be above its maximum."))
    return parsed


# --------------------------------------------------------------------------- checks

def region_covers(product_region: str, need_region: Any) -> bool:
    """Whether a product region covers the need's region (GB/T 2260 province/prefecture codes nest)."""
    if need_region is None:
        return False
    need_region = str(need_region)
    if product_region == need_region:
        return True
    if len(product_region) == 6 and product_region.isdigit() and len(need_region) == 6 and need_region.isdigit():
        if product_region.endswith("0000"):
            return need_region[:2] == product_region[:2]
        if product_region.endswith("00"):
            return need_region[:4] == product_region[:4]
    return False


def _kind_eligible(kind: str, eligible: frozenset) -> bool:
    return kind in eligible or (kind in PATENT_KINDS and PATENT in eligible)


def _ltv(kind: str, caps: dict[str, Decimal]) -> Decimal | None:
    if kind in caps:
        return caps[kind]
    if kind in PATENT_KINDS and PATENT in caps:
        return caps[PATENT]
    return None


def _range(code: str, value: Any, low: Any, high: Any, unit: str) -> Reason:
    if low is not None and value < low:
        return Reason(f"{code}_below_minimum", False, f"{unit} {value} is below the product's minimum of {low}.")
    if high is not None and value > high:
        return Reason(f"{code}_above_maximum", False, f"{unit} {value} is above the product's maximum of {high}.")
    return Reason(f"{code}_in_range", True, f"{unit} {value} is within the product's range "
                                            f"({low if low is not None else 'no minimum'} to "
                                            f"{high if high is not None else 'no maximum'}).")


def _assess(need: dict, product: dict) -> dict:
    reasons: list[Reason] = []
    rights = [r for r in need["rights"] if r["in_force"]]
    lapsed = [r for r in need["rights"] if not r["in_force"]]
    if lapsed:
        numbers = ", ".join(r["number"] or r["kind"] for r in lapsed)
        reasons.append(Reason("rights_not_in_force", True, f"Not counted, not in force: {numbers}."))
    if not rights:
        reasons.append(Reason("no_rights_in_force", False, "No right offered as collateral is in force."))
    unvalued = [r for r in rights if r["market_value"] is None]
    if unvalued:
        numbers = ", ".join(r["number"] or r["kind"] for r in unvalued)
        reasons.append(Reason("market_value_missing", True, f"Counted at 0, no market value: {numbers}."))

    kinds = sorted({r["kind"] for r in rights})
    mixed = len(kinds) > 1
    if rights:
        refused = [k for k in kinds if not _kind_eligible(k, product["eligible_kinds"])]
        if refused:
            reasons.append(Reason("kind_not_eligible", False,
                                  f"The product does not take {', '.join(refused)} as collateral."))
        if mixed and BUNDLE not in product["eligible_kinds"]:
            reasons.append(Reason("bundle_not_eligible", False,
                                  f"Rights of several kinds ({', '.join(kinds)}) need a product that takes bundles."))
        if not refused and not (mixed and BUNDLE not in product["eligible_kinds"]):
            reasons.append(Reason("kinds_eligible", True, f"The product takes {', '.join(kinds)}"
                                                          f"{' as a bundle' if mixed else ''}."))

    reasons.append(_range("amount", need["amount"], product["min_amount"], product["max_amount"],
                          "The amount"))
    reasons.append(_range("term", need["term_months"], product["min_term_months"],
                          product["max_term_months"], "The term in months"))

    if not product["regions"]:
        reasons.append(Reason("region_any", True, "The product lends in every region."))
    elif any(region_covers(r, need["region"]) for r in product["regions"]):
        reasons.append(Reason("region_covered", True, f"Region {need['region']} is served by the product."))
    else:
        reasons.append(Reason("region_not_covered", False,
                              f"Region {need['region']} is not among the product's regions "
                              f"({', '.join(product['regions'])})."))

    park_match = bool(product["park_ids"]) and need["park_id"] in product["park_ids"]
    if not product["park_ids"]:
        reasons.append(Reason("park_any", True, "The product is not limited to industrial parks."))
    elif park_match:
        reasons.append(Reason("park_matched", True, f"Park {need['park_id']} is one of the product's parks."))
    else:
        reasons.append(Reason("park_not_covered", False,
                              f"The product lends only in parks {', '.join(map(str, product['park_ids']))}."))

    floor, grade = product["floor"], need["grade"]
    if floor is None:
        reasons.append(Reason("innovation_grade_any", True, "The product sets no innovation-grade floor."))
    elif grade is None:
        reasons.append(Reason("innovation_grade_missing", False,
                              f"The product needs an innovation grade of T{floor} or better; none is given."))
    elif grade > floor:
        reasons.append(Reason("innovation_grade_below_floor", False,
                              f"Innovation grade T{grade} is below the product's floor of T{floor}."))
    else:
        reasons.append(Reason("innovation_grade_met", True,
                              f"Innovation grade T{grade} meets the product's floor of T{floor}."))

    cover, basis = _cover(rights, kinds, mixed, product["ltv_caps"])
    if cover is None:
        reasons.append(Reason("ltv_cap_missing", False,
                              f"The product sets no LTV cap for {', '.join(kinds) or 'these rights'}"
                              f"{' or for bundles' if mixed else ''}."))
        cover = ZERO
    supportable = cover if product["max_amount"] is None else min(cover, product["max_amount"])
    supportable = supportable.quantize(FEN, rounding=ROUND_DOWN)
    if cover >= need["amount"]:
        reasons.append(Reason("collateral_sufficient", True,
                              f"The collateral supports up to {cover} ({basis}); {need['amount']} is asked."))
    else:
        reasons.append(Reason("collateral_insufficient", False,
                              f"The collateral supports only {cover} ({basis}) of the {need['amount']} asked."))

    fits = {
        "collateral_headroom": _headroom(cover, need["amount"]),
        "innovation_grade": Decimal(11 - grade) / 10 if grade is not None else Decimal(0),
        "park_match": Decimal(1) if park_match else Decimal(0),
        "first_loan": Decimal(1) if need["first_loan"] and product["first_loan_friendly"] else Decimal(0),
        "inclusive_smb": Decimal(1) if (product["inclusive_smb"] and need["size_class"] in INCLUSIVE_SIZES
                                         and need["amount"] <= INCLUSIVE_MAX_AMOUNT) else Decimal(0),
    }
    parts = {name: (WEIGHTS[name] * fit).quantize(FEN, rounding=ROUND_HALF_UP) for name, fit in fits.items()}
    total = sum(parts.values(), ZERO)
    return {"eligible": all(r.ok for r in reasons), "reasons": reasons, "cover": cover,
            "supportable_amount": supportable, "score": total, "score_parts": parts}


def _cover(rights: list[dict], kinds: list[str], mixed: bool,
           caps: dict[str, Decimal]) -> tuple[Decimal | None, str]:
    """(cover rounded down to the fen, how it was computed); cover ``None`` when no cap applies."""
    if not rights:
        return ZERO, "no right in force"
    values = [(r["kind"], r["market_value"] or Decimal(0)) for r in rights]
    total = sum((v for _, v in values), Decimal(0))
    per_kind_caps = {k: _ltv(k, caps) for k in kinds}
    per_kind = (sum((v * per_kind_caps[k] for k, v in values), Decimal(0))
                if all(c is not None for c in per_kind_caps.values()) else None)
    if not mixed:
        if per_kind is None:
            return None, ""
        cap = per_kind_caps[kinds[0]]
        return per_kind.quantize(FEN, rounding=ROUND_DOWN), f"market value {total} x LTV {cap}"
    bundle_cap = caps.get(BUNDLE)
    options = []
    if bundle_cap is not None:
        options.append((total * bundle_cap, f"bundle market value {total} x bundle LTV {bundle_cap}"))
    if per_kind is not None:
        options.append((per_kind, "sum of market value x LTV of each kind"))
    if not options:
        return None, ""
    amount, how = min(options, key=lambda option: option[0])
    return amount.quantize(FEN, rounding=ROUND_DOWN), how


def _headroom(cover: Decimal, amount: Decimal) -> Decimal:
    if cover < amount:
        return Decimal(0)
    return min(Decimal(1), (cover / amount - 1) / (FULL_HEADROOM_COVER - 1))


# --------------------------------------------------------------------------- public API

def eligibility(need: dict, product: dict) -> tuple[bool, list[Reason]]:
    """Whether ``product`` can serve ``need``, with every check's reason.

    need = {"id", "amount", "term_months", "purpose", "rights": [{"kind", "number", "market_value",
    "in_force"}], "innovation_grade", "region", "park_id", "first_loan", "size_class"};
    product = {"id", "bank", "eligible_kinds", "min_amount", "max_amount", "min_term_months",
    "max_term_months", "ltv_caps", "regions", "park_ids", "first_loan_friendly", "inclusive_smb",
    "min_innovation_grade"}.  ``purpose`` and ``bank`` are carried, not checked.
    """
    result = _assess(_need(need), _product(product))
    return result["eligible"], result["reasons"]


def score(need: dict, product: dict) -> Decimal:
    """The fit of ``product`` for ``need``, 0–100 with two decimals (weights in :data:`WEIGHTS`)."""
    return _assess(_need(need), _product(product))["score"]


def score_parts(need: dict, product: dict) -> dict[str, Decimal]:
    """The points each component of :data:`WEIGHTS` contributes to :func:`score`."""
    return _assess(_need(need), _product(product))["score_parts"]


def supportable_amount(need: dict, product: dict) -> Decimal:
    """min(collateral cover, the product's maximum): what the product could lend on this collateral."""
    return _assess(_need(need), _product(product))["supportable_amount"]


def _sort_key(row: dict, id_key: str) -> tuple:
    return (not row["eligible"], -row["score"], str(row[id_key]))


def rank_products(need: dict, products: list[dict]) -> list[dict]:
    """Every product for one need: ``{"product_id", "eligible", "score", "reasons", "supportable_amount"}``,
    eligible first, then score descending, then product id."""
    parsed = _need(need)
    rows = []
    for product in products:
        result = _assess(parsed, _product(product))
        rows.append({"product_id": product.get("id"), "eligible": result["eligible"], "score": result["score"],
                     "reasons": result["reasons"], "supportable_amount": result["supportable_amount"]})
    return sorted(rows, key=lambda row: _sort_key(row, "product_id"))


def rank_needs(product: dict, needs: list[dict]) -> list[dict]:
    """Every need for one product: ``{"need_id", "eligible", "score", "reasons", "supportable_amount"}``,
    eligible first, then score descending, then need id."""
    parsed = _product(product)
    rows = []
    for need in needs:
        result = _assess(_need(need), parsed)
        rows.append({"need_id": need.get("id"), "eligible": result["eligible"], "score": result["score"],
                     "reasons": result["reasons"], "supportable_amount": result["supportable_amount"]})
    return sorted(rows, key=lambda row: _sort_key(row, "need_id"))
