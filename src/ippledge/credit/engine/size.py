"""Enterprise size (大/中/小/微) under the 2011 SME classification rules, lending-rules.md §3.

中小企业划型标准规定 (工信部联企业〔2011〕300号, MIIT, NBS, NDRC and MOF).  Pure module: no Django.
The thresholds are data, in ``ippledge/credit/data/enterprise_size_2011.json`` (amounts in yuan,
staff in persons); this module only reads them and applies the notice's logic.

How a size is decided (:func:`size_class`)
------------------------------------------
Each industry lists up to three indicators (从业人员 staff, 营业收入 revenue, 资产总额 assets) for three
tiers, as lower bounds:

* ``large`` is the SME ceiling.  The notice says "X以下或Y以下的为中小微型企业" (below X *or* below Y is
  an SME), so an enterprise is large only when it reaches *every* ceiling indicator.
* ``medium`` and ``small`` need every listed indicator (…及以上，且…及以上).
* anything else is ``micro`` (…以下或…以下: missing one indicator is enough).

Tiers are tried in the order large, medium, small; the first whose indicators are all met wins.  So a
factory with 5,000 staff but revenue of 10 million yuan is *small* (below the revenue ceiling, below
the medium revenue floor).  Every bound is inclusive: "300人及以上" includes 300, and the notice's
"以下" is the strict complement (it pairs with "及以上" for the tier above), so 299 staff is below 300.

Industries (:data:`INDUSTRIES`): agriculture, industry, construction, wholesale, retail, transport
(railway transport excluded by the notice), warehousing, postal, accommodation, catering,
information_transmission, software_it, real_estate_development, property_management,
leasing_business_services, other.  Some use revenue only (agriculture), revenue and assets
(construction, real estate development), staff and assets (leasing and business services) or staff
only (other); an indicator an industry does not use may be ``None``.

GB/T 4754 mapping (:func:`industry_for`): A → agriculture; B, C, D → industry; E → construction;
L → leasing_business_services; F, G, H, I, K need the sub-sector (an industry key such as
``"retail"`` or a GB/T 4754 division/group/class code such as ``"52"``, ``"F5211"`` or ``"702"``)
because the notice splits them; any other section (J finance, M … T) → other.  Railway transport (53)
and real-estate activities other than development (701) and property management (702) are "not
listed" in the notice and so fall under ``other``.  The division codes are the same in the 2011 and
2017 editions of GB/T 4754 for everything used here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from importlib import resources
from typing import Any

from ippledge.core import exact
from ippledge.core.errors import N_

LARGE = "large"
MEDIUM = "medium"
SMALL = "small"
MICRO = "micro"
SIZE_CLASSES: tuple[str, ...] = (LARGE, MEDIUM, SMALL, MICRO)
TIERS: tuple[str, ...] = (LARGE, MEDIUM, SMALL)  # tried in this order; micro otherwise
INDICATORS: tuple[str, ...] = ("staff", "revenue", "assets")
DATA_FILE = "data/enterprise_size_2011.json"

# Sections of GB/T 4754 that map to one industry of the notice.
DIRECT_SECTIONS: dict[str, str] = {
    "A": "agriculture",
    "B": "industry", "C": "industry", "D": "industry",
    "E": "construction",
    "L": "leasing_business_services",
}
# Sections the notice splits: the divisions (2-digit codes) that belong to each.
SPLIT_SECTIONS: dict[str, tuple[str, ...]] = {
    "F": ("51", "52"),
    "G": ("53", "54", "55", "56", "57", "58", "59", "60"),
    "H": ("61", "62"),
    "I": ("63", "64", "65"),
    "K": ("70",),
}
ALL_SECTIONS = "ABCDEFGHIJKLMNOPQRST"
OTHER = "other"


# --------------------------------------------------------------------------- the table

@dataclass(frozen=True)
class IndustryRule:
    """One industry of the notice: its thresholds per tier (lower bounds, inclusive)."""

    key: str
    article: str
    name_zh: str
    name_en: str
    sections: tuple[str, ...]
    codes: tuple[str, ...]
    thresholds: dict[str, dict[str, Decimal]]

    @property
    def indicators(self) -> tuple[str, ...]:
        """The indicators this industry uses, in the order staff, revenue, assets."""
        used = {name for tier in self.thresholds.values() for name in tier}
        return tuple(name for name in INDICATORS if name in used)


@lru_cache(maxsize=1)
def load_table() -> dict[str, IndustryRule]:
    """The notice's table, read once from the package data."""
    raw = json.loads(resources.files("ippledge.credit").joinpath(DATA_FILE).read_text(encoding="utf-8"))
    table = {}
    for key, item in raw["industries"].items():
        thresholds = {tier: {name: Decimal(str(value)) for name, value in item[tier].items()}
                      for tier in TIERS}
        table[key] = IndustryRule(
            key=key, article=item["article"], name_zh=item["name_zh"], name_en=item["name_en"],
            sections=tuple(item.get("gbt4754_sections", ())), codes=tuple(item.get("gbt4754_codes", ())),
            thresholds=thresholds)
    return table


def industries() -> tuple[str, ...]:
    """Every industry key of the notice, in the notice's order."""
    return tuple(load_table())


def rule_for(industry: str) -> IndustryRule:
    try:
        return load_table()[industry]
    except (KeyError, TypeError):
        raise exact.invalid("industry", N_("Unknown industry for the enterprise size rules.")) from None


# --------------------------------------------------------------------------- GB/T 4754 mapping

def industry_for(section: str, subsector: str | None = None) -> str:
    """The notice's industry for a GB/T 4754 section letter (and sub-sector where the notice splits it).

    ``subsector`` is an industry key of that section (``"wholesale"``, ``"retail"``, ``"transport"``,
    ``"warehousing"``, ``"postal"``, ``"accommodation"``, ``"catering"``, ``"information_transmission"``,
    ``"software_it"``, ``"real_estate_development"``, ``"property_management"``, ``"other"``) or a
    GB/T 4754 code (``"52"``, ``"5211"``, ``"F52"``, ``"702"``).  It is needed for F, G, H, I and K
    and ignored for the other sections.
    """
    letter = section.strip().upper() if isinstance(section, str) else ""
    if len(letter) != 1 or letter not in ALL_SECTIONS:
        raise exact.invalid("section", N_("Give the GB/T 4754 section as one letter from A to T."))
    if letter in DIRECT_SECTIONS:
        return DIRECT_SECTIONS[letter]
    if letter not in SPLIT_SECTIONS:
        return OTHER
    if subsector is None or not isinstance(subsector, str) or not subsector.strip():
        raise exact.invalid("subsector", N_("This section covers several industries; give the sub-sector."))
    table = load_table()
    members = [rule for rule in table.values() if letter in rule.sections]
    value = subsector.strip()
    if value in {rule.key for rule in members} | {OTHER}:
        return value
    code = value[1:] if value[:1].upper() == letter else value
    if not code.isdigit() or code[:2] not in SPLIT_SECTIONS[letter]:
        raise exact.invalid("subsector", N_("The sub-sector does not belong to this section."))
    matches = [(len(prefix), rule.key) for rule in members for prefix in rule.codes if code.startswith(prefix)]
    if matches:
        return max(matches)[1]
    # A code shorter than the notice's distinction (K "70": development or property management?).
    if any(prefix.startswith(code) for rule in members for prefix in rule.codes):
        raise exact.invalid("subsector", N_("Give a more detailed sub-sector code for this section."))
    return OTHER


# --------------------------------------------------------------------------- classification

STAFF_MESSAGE = N_("Give the number of staff as a whole number.")


def _staff(value: Any) -> Decimal:
    return exact.decimal(value, "staff", minimum=0, integer=True, message=STAFF_MESSAGE, range_message=STAFF_MESSAGE)


def _money(value: Any, name: str) -> Decimal:
    # Financial statements are often copied with thousands separators (12,345,678).
    return exact.non_negative(value, name, thousands=True, range_message=exact.NEGATIVE_AMOUNT)


def _values(rule: IndustryRule, staff: Any, revenue: Any, assets: Any) -> dict[str, Decimal]:
    given = {"staff": staff, "revenue": revenue, "assets": assets}
    values = {}
    for name in rule.indicators:
        if given[name] is None:
            raise exact.invalid(name, N_("This industry's size rule needs %(indicator)s."), indicator=name)
        values[name] = _staff(given[name]) if name == "staff" else _money(given[name], name)
    return values


def tier_met(rule: IndustryRule, tier: str, values: dict[str, Decimal]) -> bool:
    """Whether every indicator of ``tier`` is reached (lower bounds inclusive)."""
    return all(values[name] >= bound for name, bound in rule.thresholds[tier].items())


def size_class(industry: str, staff: Any, revenue: Any, assets: Any = None) -> str:
    """``"large"``, ``"medium"``, ``"small"`` or ``"micro"`` for an enterprise of ``industry``.

    ``staff`` in persons, ``revenue`` (营业收入, the year's) and ``assets`` (资产总额) in yuan as
    ``Decimal``, int or decimal string.  Indicators the industry does not use may be ``None``.
    """
    rule = rule_for(industry)
    values = _values(rule, staff, revenue, assets)
    for tier in TIERS:
        if tier_met(rule, tier, values):
            return tier
    return MICRO


def explain_size(industry: str, staff: Any, revenue: Any, assets: Any = None) -> dict:
    """:func:`size_class` with the thresholds checked: ``{"size_class", "industry", "article", "checks"}``.

    ``checks`` lists ``(tier, indicator, value, bound, met)`` for every indicator of every tier.
    """
    rule = rule_for(industry)
    values = _values(rule, staff, revenue, assets)
    checks = [(tier, name, values[name], bound, values[name] >= bound)
              for tier in TIERS for name, bound in rule.thresholds[tier].items()]
    result = next((tier for tier in TIERS if tier_met(rule, tier, values)), MICRO)
    return {"size_class": result, "industry": industry,
            "article": rule.article, "checks": checks}
