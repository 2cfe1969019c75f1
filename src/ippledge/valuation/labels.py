"""Translated labels of valuation codes outside a choices field (methods, factor modes, which bound set
the income period, which limit set the loan, innovation schemes, option kinds), and the one way a
calculation trace is read by a person: each step in the active language, its value without codes."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from ippledge.core import money, vocabulary

from .examples import METHOD_LABELS

vocabulary.register("valuation_method", {**METHOD_LABELS, "negotiated": _("Negotiated valuation"),
                                         "external": _("External appraisal report")})
vocabulary.register("factor_mode", {"exact": _("Exact"), "table4": _("4-decimal tables (as in appraisal reports)")})
vocabulary.register("period_bound", {"economic_life": _("Economic life"),
                                     "remaining_legal_years": _("Remaining legal term"),
                                     "income_stream": _("Years of forecast income")})
vocabulary.register("lender_binding", {"ltv_cap": _("Loan-to-value cap"), "liquidation_value": _("Liquidation value"),
                                       "product_cap": _("Product cap")})
vocabulary.register("innovation_scheme", {
    "composite": _("Platform composite"), "tech_sme": _("Tech-based SME"),
    "high_tech_ip": _("High-tech enterprise (IP section)"), "innovative_sme": _("Innovative SME"),
    "zjtx": _("Specialised, refined, distinctive and novel SME")})
vocabulary.register("valuation_purpose", {"pledge": _("Pledge financing"), "transfer": _("Transfer"),
                                          "licence": _("Licence"), "investment": _("Capital contribution"),
                                          "disposal": _("Disposal")})
vocabulary.register("option_kind", {"call": _("Call (right to buy)"), "put": _("Put (right to sell)")})
vocabulary.register("exercise_style", {"european": _("European (at expiry)"), "american": _("American (any time)")})
vocabulary.register("revenue_dist", {"lognormal": _("Lognormal"), "triangular": _("Triangular"),
                                     "fixed": _("Fixed")})

class Bilingual:
    """A label the engine's tables give in both languages, shown in the active one."""

    def __init__(self, en: str, zh: str):
        self.en, self.zh = en, zh

    def __str__(self) -> str:
        return self.zh if chinese() else self.en


def _tables() -> tuple[dict, dict]:
    from .engine.scoring import cached_table

    return cached_table("weight_profiles.json"), cached_table("royalty_bands.json")


_weights, _bands = _tables()
vocabulary.register("value_indicator", {k: Bilingual(v["en"], v["zh"]) for k, v in _weights["indicators"].items()})
vocabulary.register("value_degree", {**{k: Bilingual(v["en"], v["zh"]) for k, v in _weights["degrees"].items()},
                                     "PVD": _("Patent value degree")})
vocabulary.register("weight_profile", {k: Bilingual(v["en"], v["zh"]) for k, v in _weights["profiles"].items()})
vocabulary.register("industry_band", {k: Bilingual(v["en"], v["zh"]) for k, v in _bands["sales"].items()})
vocabulary.register("high_value_reason", {
    "strategic_emerging_industry": _("In a strategic emerging industry"), "overseas_family": _("Patented abroad too"),
    "maintained_over_10_years": _("Maintained for more than 10 years"),
    "high_pledge_financing": _("Pledged for a large loan"), "national_award": _("Won a national award"),
    "not_invention": _("Not an invention patent"), "not_in_force": _("Not in force"),
    "no_criterion": _("Meets none of the criteria")})

# The kinds of IP an agency or an expert covers: the register's kinds, and "patent" for all three patents.
vocabulary.register("ip_kind", {**vocabulary.labels("rights.Right.kind"), "patent": _("Patent")})

# The parts of a structured input (a distribution, a comparable transaction) as a trace shows them.
PART_LABELS = {"dist": _("distribution"), "mean": _("mean"), "sigma": _("log standard deviation"),
               "sd": _("standard deviation"), "low": _("low"), "mode": _("most likely"), "high": _("high"),
               "value": _("value"), "price": _("price"), "factors": _("adjustment factors"),
               "per_year": _("yearly shocks"), "quality": _("quality score")}

# Trace steps whose value is a code, and the vocabulary that names it.
CODED_STEPS = {"method": "valuation_method", "options.factor_mode": "factor_mode", "period.bound": "period_bound",
               "lender.binding": "lender_binding", "lender.kind": "rights.Right.kind",
               "input.lender.kind": "rights.Right.kind", "input.option": "option_kind", "input.style": "exercise_style",
               "input.pvd.profile": "weight_profile"}
# Steps whose value lists codes ("a, b, c") of a vocabulary.
LISTED_STEPS = {"pvd.defaulted": "value_indicator"}
# Steps whose formula explains codes rather than arithmetic.
NO_FORMULA = {"options.factor_mode"}


def chinese() -> bool:
    return (get_language() or "zh-hans").lower().startswith("zh")


_NUMBER = re.compile(r"(?<![\w.,])(-?)(\d{5,})((?:\.\d+)?)(?![\w,])")


def _grouped(match: re.Match) -> str:
    sign, whole, decimals = match.groups()
    return f"{sign}{int(whole):,}{decimals}"


def amount_text(text: str) -> str:
    """A trace value as people read numbers: an amount to the fen (two decimals, at least one yuan)
    and any number of five digits or more with thousands separators; rates stay as they are."""
    if not isinstance(text, str):
        return text
    try:
        value = Decimal(text)
    except InvalidOperation:
        return _NUMBER.sub(_grouped, text)
    if "." in text and len(text.split(".")[1]) == 2 and abs(value) >= 1:
        return money.format_yuan(money.fen(value))
    return _NUMBER.sub(_grouped, text)


def value_text(value, key: str = "") -> str:
    if key in CODED_STEPS:
        return vocabulary.label(CODED_STEPS[key], value)
    if key in LISTED_STEPS:
        codes = value if isinstance(value, list | tuple) else str(value or "").split(",")
        return "、".join(vocabulary.label(LISTED_STEPS[key], c.strip()) for c in codes if str(c).strip())
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    if value is None:
        return "—"
    if isinstance(value, list | tuple):
        return "、".join(value_text(v) for v in value) if chinese() else ", ".join(value_text(v) for v in value)
    if isinstance(value, dict):
        return "；".join(f"{PART_LABELS[k] if k in PART_LABELS else k}: "
                        f"{vocabulary.label('revenue_dist', v) if k == 'dist' else value_text(v)}"
                        for k, v in value.items())
    return amount_text(str(value))


def formula_text(formula: str) -> str:
    """A formula as printed, with the engine's names of the income period's bounds in words."""
    if not formula:
        return ""
    for code, text in vocabulary.labels("period_bound").items():
        formula = formula.replace(code, str(text))
    return _NUMBER.sub(_grouped, formula)


# Inputs that are rates: shown in per cent, as the calculator's forms take them.
RATE_INPUTS = {"split_rate", "tax_rate", "discount_rate", "royalty_rate", "industry_return_rate", "ip_cost_profit_rate",
               "other_cost_profit_rate", "ip_price_index_change", "functional_obsolescence_rate",
               "economic_obsolescence_rate", "growth", "hazard", "split", "rate", "r", "q", "sigma", "risk_free",
               "technology", "market", "funding", "management", "lender.forced_sale_discount"}


def percent_text(value) -> str:
    """A rate (fraction) as per cent: "0.25" → "25 %"; a distribution's parts each so."""
    if isinstance(value, dict):
        return "；".join(f"{PART_LABELS[k] if k in PART_LABELS else k}: {percent_text(v)}" for k, v in value.items()
                        if k != "per_year")
    try:
        shown = (Decimal(str(value)) * 100).normalize()
    except (InvalidOperation, ValueError):
        return value_text(value)
    return f"{format(shown, 'f')} %"


def trace_rows(trace: list[dict]) -> list[dict]:
    """A calculation trace as a person reads it: label in the active language, value, formula."""
    zh = chinese()
    rows = []
    for step in trace or []:
        key = step.get("key", "")
        name = key[len("input."):] if key.startswith("input.") else ""
        rows.append({"label": step.get("zh") if zh else step.get("en"),
                     "value": percent_text(step.get("value")) if name in RATE_INPUTS else value_text(step.get("value"), key),
                     "formula": "" if key in NO_FORMULA else formula_text(step.get("formula", "")),
                     "input": key.startswith("input.")})
    return rows


def bilingual(en: str, zh: str) -> str:
    """A label the engine gives in both languages, in the active one."""
    return zh if chinese() else en
