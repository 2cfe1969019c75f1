"""Enterprise technology-innovation capability (valuation-methods.md §6).

Pure module (no Django).  Every scheme is driven by ``valuation/data/innovation_tables.json``;
band lists are read top to bottom and lower bounds are inclusive (a tech-staff share of exactly
30% scores 20, 29.99% scores 16).  Ratios are compared exactly (cross-multiplied Decimals), so a
boundary is never missed by rounding; displayed ratios are cut to 4 places.

Schemes (``evaluate(scheme, inputs)``):

* ``tech_sme``       科技型中小企业 — tech staff 20 + R&D 50 + IP 30; pass ≥ 60 with tech-staff points ≠ 0
* ``high_tech_ip``   高新技术企业 — IP 30 + conversion 30 + R&D management 20 + growth 20; pass ≥ 71
* ``innovative_sme`` 创新型中小企业 — innovation 40 + growth 30 + specialisation 30; pass ≥ 60
* ``zjtx``           专精特新中小企业 — specialisation 25 + refinement 25 + distinctiveness 15 +
  innovation 35; pass ≥ 60
* ``composite``      the platform composite (IP 35, R&D 25, conversion/growth 25, qualifications 15)
  with grades T1 (best) … T10

Every result has ``scheme``, ``score``, ``max``, ``qualified`` (``None`` for the composite, which
has no pass mark) and ``parts`` (each part with ``points``, ``max``, ``label`` and ``label_zh``).  Inputs are numbers as ints or decimal strings; points are
returned as ints, or Decimals where a band midpoint is half a point.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from ippledge.core.errors import N_, ValidationFailed
from ippledge.valuation.engine.scoring import (
    ZERO,
    band_for,
    cached_table,
    clean,
    invalid,
    number,
    optional_number,
    ratio,
)
from ippledge.valuation.engine.trace import Trace

SCHEMES: tuple[str, ...] = ("tech_sme", "high_tech_ip", "innovative_sme", "zjtx", "composite")
HUNDRED = Decimal(100)
CENT = Decimal("0.01")


def tables() -> dict:
    return cached_table("innovation_tables.json")


def _labelled(spec: dict, parts: dict) -> dict:
    """Add each part's English and Chinese label (``label``, ``label_zh``) from the table."""
    for key, part in parts.items():
        en, zh = spec.get("labels", {}).get(key, (key, key))
        part["label"], part["label_zh"] = en, zh
    return parts


def _required(inputs: dict, names: tuple[str, ...]) -> None:
    missing = [n for n in names if inputs.get(n) is None or inputs.get(n) == ""]
    if missing:
        raise ValidationFailed(N_("Some required figures are missing."), code="invalid_input",
                               fields={n: [N_("This field is required.")] for n in missing})


def _count(inputs: dict, name: str) -> int:
    value = optional_number(inputs, name, minimum=0, integer=True)
    return 0 if value is None else int(value)


def _conditions(inputs: dict, known: dict, field: str = "direct_conditions") -> list[str]:
    given = inputs.get(field) or ()
    given = [given] if isinstance(given, str) else list(given)
    unknown = [c for c in given if c not in known]
    if unknown:
        raise invalid(field, N_("Unknown condition."))
    return [c for c in known if c in given]


def _trace_result(trace: Trace | None, result: dict, zh: str, en: str) -> None:
    if trace is None:
        return
    trace.step(f"innovation.{result['scheme']}.score", f"{en} score", f"{zh}评分", result["score"])
    if result.get("qualified") is not None:
        trace.step(f"innovation.{result['scheme']}.qualified", f"{en}: meets the criteria",
                   f"{zh}：是否符合", result["qualified"])


# --------------------------------------------------------------------------------------------
# 科技型中小企业
# --------------------------------------------------------------------------------------------

def _tech_sme_rd(inputs: dict, t: dict, rd: Decimal) -> dict:
    sales = optional_number(inputs, "sales", minimum=0)
    total_cost = optional_number(inputs, "total_cost", minimum=0)
    options = {}
    if sales is not None and sales > 0:
        band = band_for(t["rd_sales"]["bands"], rd, sales)
        options["sales"] = {"ratio": ratio(rd, sales), "points": int(band["points"])}
    if total_cost is not None and total_cost > 0:
        band = band_for(t["rd_total_cost"]["bands"], rd, total_cost)
        options["total_cost"] = {"ratio": ratio(rd, total_cost), "points": int(band["points"])}
    if not options:
        raise ValidationFailed(N_("Give sales revenue or total costs to measure R&D intensity."),
                               code="invalid_input",
                               fields={"sales": [N_("Give sales revenue or total costs.")],
                                       "total_cost": [N_("Give sales revenue or total costs.")]})
    basis = inputs.get("rd_basis") or "best"
    if basis == "best":
        # The firm picks one of the two measures (评价办法: 从两项指标中选择一个); take the better.
        basis = max(options, key=lambda k: (options[k]["points"], k == "sales"))
    elif basis not in options:
        raise invalid("rd_basis", N_("Choose sales or total_cost, with that figure given."))
    return {"basis": basis, **options[basis], "max": t["rd_sales"]["max"], "alternatives": options}


def tech_sme(inputs: dict, trace: Trace | None = None) -> dict:
    """科技型中小企业 evaluation.

    ``inputs``: ``staff_total``, ``tech_staff``, ``rd_expense``, ``sales`` and/or ``total_cost``
    (R&D intensity uses R&D/sales, or R&D/total cost when sales are missing or zero; with both the
    better measure is taken unless ``rd_basis`` = "sales" | "total_cost"), ``revenue`` (annual
    revenue for the size limit; defaults to ``sales``), ``total_assets``, ``class1_ip``,
    ``class2_ip`` (counts, default 0), optional ``direct_conditions`` (list: high_tech_enterprise,
    national_sci_award_top3, provincial_rd_institution, led_standard).

    Returns ``{"scheme", "score", "max", "pass_score", "qualified", "route" ("score" | "direct" |
    None), "parts": {"tech_staff": {"ratio", "points", "max"}, "rd": {"basis", "ratio", "points",
    "max", "alternatives"}, "ip": {"class1", "class2", "points", "max"}}, "eligibility":
    {"eligible", "checks": {name: {"value", "limit", "ok"}}}, "direct_conditions": [...]}``.
    """
    t = tables()["tech_sme"]
    if inputs.get("revenue") in (None, "") and inputs.get("sales") not in (None, ""):
        inputs = {**inputs, "revenue": inputs["sales"]}
    _required(inputs, ("staff_total", "tech_staff", "rd_expense", "revenue", "total_assets"))
    staff = number(inputs["staff_total"], "staff_total", minimum=1, integer=True)
    tech = number(inputs["tech_staff"], "tech_staff", minimum=0, maximum=staff, integer=True)
    rd = number(inputs["rd_expense"], "rd_expense", minimum=0)
    revenue = number(inputs["revenue"], "revenue", minimum=0)
    assets = number(inputs["total_assets"], "total_assets", minimum=0)
    class1, class2 = _count(inputs, "class1_ip"), _count(inputs, "class2_ip")

    tech_band = band_for(t["tech_staff"]["bands"], tech, staff)
    tech_part = {"ratio": ratio(tech, staff), "points": int(tech_band["points"]), "max": t["tech_staff"]["max"]}
    rd_part = _tech_sme_rd(inputs, t, rd)
    ip_points = t["ip"]["class1_points"] if class1 >= 1 else band_for(t["ip"]["class2_bands"], Decimal(class2))["points"]
    ip_part = {"class1": class1, "class2": class2, "points": int(ip_points), "max": t["ip"]["max"]}
    score = tech_part["points"] + rd_part["points"] + ip_part["points"]

    limits = t["limits"]
    checks = {name: {"value": clean(value), "limit": clean(Decimal(limits[name])), "ok": value <= Decimal(limits[name])}
              for name, value in (("staff_total", staff), ("revenue", revenue), ("total_assets", assets))}
    eligible = all(c["ok"] for c in checks.values())
    direct = _conditions(inputs, t["direct_conditions"])
    by_score = score >= t["pass_score"] and tech_part["points"] != 0
    route = ("score" if by_score else "direct" if direct else None) if eligible else None
    result = {"scheme": "tech_sme", "score": score, "max": t["max"], "pass_score": t["pass_score"],
              "qualified": route is not None, "route": route,
              "parts": _labelled(t, {"tech_staff": tech_part, "rd": rd_part, "ip": ip_part}),
              "eligibility": {"eligible": eligible, "checks": checks}, "direct_conditions": direct}
    _trace_result(trace, result, "科技型中小企业", "Technology-based SME")
    return result


# --------------------------------------------------------------------------------------------
# 高新技术企业 (IP and innovation capability sections)
# --------------------------------------------------------------------------------------------

def _midpoint(low: int, high: int) -> Decimal:
    return (Decimal(low) + Decimal(high)) / 2


def _graded(value: Any, name: str, grades: dict, maximum: int) -> dict:
    """A graded item: a grade letter (→ band midpoint), {"grade", "points"} (points inside the
    grade's band) or plain points (0..maximum)."""
    if isinstance(value, str) and value.strip().upper() in grades:
        grade = value.strip().upper()
        low, high = grades[grade]
        return {"grade": grade, "points": clean(_midpoint(low, high))}
    if isinstance(value, dict):
        grade = str(value.get("grade", "")).strip().upper()
        if grade not in grades:
            raise invalid(name, N_("Unknown grade."))
        low, high = grades[grade]
        if value.get("points") is None:
            return {"grade": grade, "points": clean(_midpoint(low, high))}
        points = number(value["points"], name, minimum=low, maximum=high)
        return {"grade": grade, "points": clean(points)}
    points = number(value, name, minimum=0, maximum=maximum)
    return {"grade": None, "points": clean(points)}


def _high_tech_ip_section(inputs: dict, spec: dict, missing: list[str]) -> dict:
    items = spec["ip_items"]
    out: dict[str, dict] = {}
    for name in ("advancement", "core_support"):
        item = items[name]
        if inputs.get(name) in (None, ""):
            missing.append(name)
            out[name] = {"grade": None, "points": 0, "max": item["max"]}
        else:
            out[name] = {**_graded(inputs[name], name, item["grades"], item["max"]), "max": item["max"]}

    q = items["quantity"]
    class1, class2 = _count(inputs, "class1_ip"), _count(inputs, "class2_ip")
    grade = q["class1_grade"] if class1 >= 1 else band_for(q["class2_bands"], Decimal(class2))["grade"]
    low, high = q["grades"][grade]
    if inputs.get("quantity_points") not in (None, ""):
        points = clean(number(inputs["quantity_points"], "quantity_points", minimum=low, maximum=high))
    else:
        points = clean(_midpoint(low, high))
    out["quantity"] = {"class1": class1, "class2": class2, "grade": grade, "points": points, "max": q["max"]}

    a = items["acquisition"]
    given = inputs.get("acquisition")
    if class1 + class2 == 0:
        out["acquisition"] = {"code": "none", "points": 0, "max": a["max"]}
    elif given in (None, ""):
        missing.append("acquisition")
        out["acquisition"] = {"code": None, "points": 0, "max": a["max"]}
    else:
        code, points_given = (given.get("code"), given.get("points")) if isinstance(given, dict) else (given, None)
        if code not in a["codes"]:
            raise invalid("acquisition", N_("Choose own_rd, transferred or none."))
        low, high = a["codes"][code]["range"]
        points = a["codes"][code]["default"] if points_given is None else \
            number(points_given, "acquisition", minimum=low, maximum=high)
        out["acquisition"] = {"code": code, "points": clean(points), "max": a["max"]}

    s = items["standards"]
    given = inputs.get("standards")
    if given in (None, "", False):
        out["standards"] = {"grade": None, "points": 0, "max": s["max"]}
    else:
        given = "A" if given is True else given
        out["standards"] = {**_graded(given, "standards", s["grades"], s["max"]), "max": s["max"]}

    total = sum((Decimal(v["points"]) for v in out.values()), ZERO)
    return {"points": clean(min(total, Decimal(spec["sections"]["ip"]))), "max": spec["sections"]["ip"],
            "items": out}


def _high_tech_conversion(inputs: dict, spec: dict, missing: list[str]) -> dict:
    c = spec["conversion"]
    if inputs.get("conversion") not in (None, ""):
        return {**_graded(inputs["conversion"], "conversion", c["grades"], c["max"]), "max": c["max"]}
    per_year = optional_number(inputs, "conversions_per_year", minimum=0)
    if per_year is None:
        missing.append("conversion")
        return {"grade": None, "points": 0, "max": c["max"]}
    grade = band_for(c["count_bands"], per_year)["grade"]
    low, high = c["grades"][grade]
    return {"grade": grade, "conversions_per_year": clean(per_year), "points": clean(_midpoint(low, high)),
            "max": c["max"]}


def _high_tech_rd_management(inputs: dict, spec: dict, missing: list[str]) -> dict:
    m = spec["rd_management"]
    given = inputs.get("rd_management")
    if given in (None, ""):
        missing.append("rd_management")
        return {"points": 0, "max": m["max"]}
    if isinstance(given, dict):
        unknown = set(given) - set(m["items"])
        if unknown:
            raise invalid("rd_management", N_("Unknown R&D management item."))
        items = {k: clean(number(given[k], f"rd_management.{k}", minimum=0, maximum=m["items"][k])) for k in given}
        return {"points": clean(sum((Decimal(v) for v in items.values()), ZERO)), "max": m["max"], "items": items}
    return {"points": clean(number(given, "rd_management", minimum=0, maximum=m["max"])), "max": m["max"]}


def _high_tech_growth(inputs: dict, spec: dict, missing: list[str]) -> dict:
    g = spec["growth"]
    if inputs.get("growth") not in (None, ""):
        return {"points": clean(number(inputs["growth"], "growth", minimum=0, maximum=g["max"])), "max": g["max"]}
    rates = {name: optional_number(inputs, name, minimum=None) for name in ("net_asset_growth", "sales_growth")}
    if all(v is None for v in rates.values()):
        missing.append("growth")
        return {"points": 0, "max": g["max"]}
    items, total = {}, ZERO
    for name, rate in rates.items():
        if rate is None:
            missing.append(name)
            items[name] = {"rate": None, "grade": None, "points": 0}
            continue
        grade = band_for(g["rate_bands"], rate)["grade"]
        points = _midpoint(*g["grades"][grade])
        items[name] = {"rate": rate, "grade": grade, "points": clean(points)}
        total += points
    return {"points": clean(total), "max": g["max"], "items": items}


def high_tech_ip(inputs: dict, trace: Trace | None = None) -> dict:
    """高新技术企业 innovation-capability score (知识产权、科技成果转化能力、研究开发组织管理水平、企业成长性).

    ``inputs``:
      * IP (≤ 30): ``advancement`` and ``core_support`` (grade A–E → band midpoint, or
        {"grade", "points"} inside the band, or points 0–8); ``class1_ip`` / ``class2_ip`` counts
        → quantity grade (≥ 1 Class I: A 7–8; Class II ≥ 5: B 5–6; 3–4: C 3–4; 1–2: D 1–2; none:
        E 0), scored at the band midpoint unless ``quantity_points`` inside the band is given;
        ``acquisition`` "own_rd" (6) | "transferred" (2, the midpoint of 1–3) | "none", or
        {"code", "points"}; optional ``standards`` (True/"A" → 1.5, the bonus for standard
        drafting); the section is capped at 30.
      * ``conversion`` (grade A–F or points ≤ 30) or ``conversions_per_year`` (3-year average);
      * ``rd_management`` (points ≤ 20, or a dict of accounting_system ≤ 6, rd_institution ≤ 6,
        conversion_incentives ≤ 4, talent_system ≤ 4);
      * ``growth`` (points ≤ 20) or ``net_asset_growth`` and ``sales_growth`` (rates, each graded
        A ≥ 35% … E > 0, F ≤ 0, to ≤ 10 at the band midpoint).

    Returns ``{"scheme": "high_tech_ip", "score", "max", "pass_score", "qualified", "parts": {"ip":
    {"points", "max", "items"}, "conversion", "rd_management", "growth"}, "missing": [...]}``.
    """
    spec = tables()["high_tech"]
    missing: list[str] = []
    parts = _labelled(spec, {
        "ip": _high_tech_ip_section(inputs, spec, missing),
        "conversion": _high_tech_conversion(inputs, spec, missing),
        "rd_management": _high_tech_rd_management(inputs, spec, missing),
        "growth": _high_tech_growth(inputs, spec, missing),
    })
    score = clean(sum((Decimal(p["points"]) for p in parts.values()), ZERO))
    result = {"scheme": "high_tech_ip", "score": score, "max": spec["max"], "pass_score": spec["pass_score"],
              "qualified": score >= spec["pass_score"], "parts": parts, "missing": missing}
    _trace_result(trace, result, "高新技术企业", "High-tech enterprise")
    return result


# --------------------------------------------------------------------------------------------
# Table-driven indicators (创新型中小企业, 专精特新, composite)
# --------------------------------------------------------------------------------------------

def _given(inputs: dict, name: str) -> bool:
    return inputs.get(name) not in (None, "")


def _band_indicator(name: str, spec: dict, inputs: dict) -> dict:
    signed = spec.get("signed", False)
    minimum = None if signed else 0
    if spec.get("input") and _given(inputs, spec["input"]):
        value = number(inputs[spec["input"]], spec["input"], minimum=minimum)
        return {"value": clean(value), "points": band_for(spec["bands"], value)["points"]}
    if spec.get("ratio"):
        num_name, den_name = spec["ratio"]
        if _given(inputs, num_name) and _given(inputs, den_name):
            num = number(inputs[num_name], num_name, minimum=minimum)
            den = number(inputs[den_name], den_name, minimum=0)
            if den > 0:
                return {"value": ratio(num, den), "points": band_for(spec["bands"], num, den)["points"]}
    return {"value": None, "points": 0, "missing": True}


def _best_of_indicator(name: str, spec: dict, inputs: dict) -> dict:
    options = {}
    amount = spec["amount"]
    if _given(inputs, amount["input"]):
        value = number(inputs[amount["input"]], amount["input"], minimum=0)
        options["amount"] = {"value": clean(value), "points": band_for(amount["bands"], value)["points"]}
        r = spec["ratio"]
        if _given(inputs, r["den"]):
            den = number(inputs[r["den"]], r["den"], minimum=0)
            if den > 0:
                options["ratio"] = {"value": ratio(value, den), "points": band_for(r["bands"], value, den)["points"]}
    if not options:
        return {"value": None, "points": 0, "missing": True}
    best = max(options, key=lambda k: options[k]["points"])
    return {"basis": best, "value": options[best]["value"], "points": options[best]["points"], "alternatives": options}


def _tiers_indicator(name: str, spec: dict, inputs: dict) -> dict:
    counts = {tier["input"]: _count(inputs, tier["input"]) for tier in spec["tiers"]}
    if not any(_given(inputs, tier["input"]) for tier in spec["tiers"]):
        return {"value": counts, "points": 0, "missing": True}
    for tier in spec["tiers"]:
        if counts[tier["input"]] >= 1:
            return {"value": counts, "tier": tier["input"], "points": tier["points"]}
    return {"value": counts, "tier": None, "points": 0}


def _codes_indicator(name: str, spec: dict, inputs: dict) -> dict:
    if not _given(inputs, spec["input"]):
        return {"value": None, "points": 0, "missing": True}
    code = str(inputs[spec["input"]])
    if code not in spec["codes"]:
        raise invalid(spec["input"], N_("Unknown choice."))
    return {"value": code, "points": spec["codes"][code]}


def _steps_indicator(name: str, spec: dict, inputs: dict) -> dict:
    if not _given(inputs, spec["input"]):
        return {"value": None, "points": 0, "missing": True}
    value = number(inputs[spec["input"]], spec["input"], minimum=0)
    steps = int(value / Decimal(spec["per"]))
    return {"value": clean(value), "points": min(steps * spec["points"], spec["max"])}


def _items_indicator(name: str, spec: dict, inputs: dict) -> dict:
    given = inputs.get(spec["input"])
    if given is None:
        return {"value": [], "points": 0, "missing": True}
    if isinstance(given, str):
        given = [given]
    known = spec.get("item_points") or {item: spec["per_item"] for item in spec["items"]}
    unknown = [g for g in given if g not in known]
    if unknown:
        raise invalid(spec["input"], N_("Unknown item."))
    items = [k for k in known if k in given]
    return {"value": items, "points": min(sum(known[k] for k in items), spec["max"])}


def _points_indicator(name: str, spec: dict, inputs: dict) -> dict:
    if not _given(inputs, spec["input"]):
        return {"value": None, "points": 0, "missing": True}
    points = number(inputs[spec["input"]], spec["input"], minimum=0, maximum=spec["max"])
    return {"value": clean(points), "points": clean(points)}


_INDICATOR_TYPES = {
    "band": _band_indicator, "best_of": _best_of_indicator, "tiers": _tiers_indicator,
    "codes": _codes_indicator, "steps": _steps_indicator, "items": _items_indicator,
    "points": _points_indicator,
}


def _indicators(spec: dict, inputs: dict) -> tuple[dict, list[str]]:
    """Each indicator's {"points", "max", "group", ...}; and the indicators with no data (0 points)."""
    out, missing = {}, []
    for name, ind in spec["indicators"].items():
        got = _INDICATOR_TYPES[ind["type"]](name, ind, inputs)
        if got.pop("missing", False):
            missing.append(name)
        got["points"] = clean(got["points"])
        out[name] = {**got, "max": ind["max"], "group": ind["group"], "zh": ind.get("zh", "")}
    return out, missing


def _grouped(spec: dict, indicators: dict) -> dict:
    groups = {}
    for group, maximum in spec["groups"].items():
        members = {n: i for n, i in indicators.items() if i["group"] == group}
        points = sum((Decimal(i["points"]) for i in members.values()), ZERO)
        groups[group] = {"points": clean(min(points, Decimal(maximum))), "max": maximum, "indicators": members}
    return _labelled(spec, groups)


def _amount_conditions(inputs: dict, spec: dict) -> list[str]:
    met = []
    for name, rule in spec.get("direct_amounts", {}).items():
        value = optional_number(inputs, name, minimum=0)
        if value is not None and value >= Decimal(rule["min"]):
            met.append(rule["condition"])
    return met


def innovative_sme(inputs: dict, trace: Trace | None = None) -> dict:
    """创新型中小企业 evaluation (innovation 40, growth 30, specialisation 30; pass ≥ 60).

    ``inputs``: ``class1_high_value_ip`` / ``class1_own_ip`` / ``class1_ip`` / ``class2_ip``
    (counts related to the main product; the best tier met counts), ``rd_expense`` and
    ``revenue`` (the better of the amount and the ratio bands), ``main_revenue_growth`` (rate),
    ``debt_ratio``, ``product_field`` ("strategic_emerging" | "other"), ``main_revenue_share`` or
    ``main_revenue`` + ``revenue``; optional ``direct_conditions`` (sci_award, honour_title,
    provincial_rd_institution, equity_financing), ``equity_financing_3y`` (yuan, ≥ 5 million
    meets equity_financing) and ``is_sme`` (default True).  A figure not given scores 0 and is
    listed in ``missing``.

    Returns ``{"scheme", "score", "max", "pass_score", "qualified", "route", "parts": {group:
    {"points", "max", "indicators": {name: {"points", "max", "value", ...}}}}, "direct_conditions",
    "missing"}``.
    """
    spec = tables()["innovative_sme"]
    indicators, missing = _indicators(spec, inputs)
    parts = _grouped(spec, indicators)
    score = clean(sum((Decimal(g["points"]) for g in parts.values()), ZERO))
    direct = _conditions(inputs, spec["direct_conditions"])
    equity = optional_number(inputs, "equity_financing_3y", minimum=0)
    if equity is not None and equity >= Decimal(spec["equity_financing_min"]) and "equity_financing" not in direct:
        direct.append("equity_financing")
    is_sme = inputs.get("is_sme", True) is not False
    route = ("score" if score >= spec["pass_score"] else "direct" if direct else None) if is_sme else None
    result = {"scheme": "innovative_sme", "score": score, "max": spec["max"], "pass_score": spec["pass_score"],
              "qualified": route is not None, "route": route, "parts": parts, "direct_conditions": direct,
              "is_sme": is_sme, "missing": missing}
    _trace_result(trace, result, "创新型中小企业", "Innovative SME")
    return result


def _zjtx_basic(inputs: dict, spec: dict) -> dict:
    b = spec["basic"]
    checks: dict[str, dict] = {}
    years = optional_number(inputs, "niche_years", minimum=0)
    checks["niche_years"] = {"value": None if years is None else clean(years),
                             "ok": years is not None and years >= Decimal(b["niche_years_min"])}
    rd = optional_number(inputs, "rd_expense", minimum=0)
    revenue = optional_number(inputs, "revenue", minimum=0)
    rd_ok = (rd is not None and revenue is not None and revenue > 0 and rd >= Decimal(b["rd_expense_min"])
             and rd >= Decimal(b["rd_ratio_min"]) * revenue)
    checks["rd"] = {"value": None if rd is None else clean(rd),
                    "ratio": ratio(rd, revenue) if rd is not None and revenue else None, "ok": rd_ok}
    equity = optional_number(inputs, "equity_financing_2y", minimum=0)
    rev_ok = revenue is not None and (revenue >= Decimal(b["revenue_min"]) or (
        equity is not None and equity >= Decimal(b["equity_financing_2y_alt_min"])))
    checks["revenue"] = {"value": None if revenue is None else clean(revenue), "ok": rev_ok}
    return {"met": all(c["ok"] for c in checks.values()), "checks": checks}


def zjtx(inputs: dict, trace: Trace | None = None) -> dict:
    """专精特新中小企业 evaluation (specialisation 25, refinement 25, distinctiveness 15,
    innovation 35; pass ≥ 60 or a direct condition, and all basic conditions).

    ``inputs``: ``main_revenue_share`` (or ``main_revenue`` + ``revenue``),
    ``main_revenue_growth_2y`` (rate), ``niche_years``, ``product_field`` ("key_link" |
    "six_basics_or_key_supply" | "other"), ``digitalisation_level`` (1, 2, 3+), ``quality`` (list of
    quality_award, quality_system, own_brand, standards), ``net_profit_margin`` (or
    ``net_profit`` + ``revenue``), ``debt_ratio``, ``distinctiveness_points`` (0–15, set by the
    province), IP tier counts as ``innovative_sme``, ``rd_expense`` + ``revenue``,
    ``rd_staff_share`` (or ``rd_staff`` + ``staff_total``), ``rd_institution`` ("national" |
    "provincial" | "municipal" | "below_municipal" | "none"); basic conditions use
    ``niche_years`` ≥ 2, ``rd_expense`` ≥ 1 million and ≥ 3% of ``revenue``, ``revenue`` ≥ 10
    million or ``equity_financing_2y`` ≥ 20 million; direct conditions: ``direct_conditions``
    (sci_award, rd_expense_avg_10m, equity_financing_60m, maker_china_top500),
    ``rd_expense_2y_avg`` ≥ 10 million, ``equity_financing_2y`` ≥ 60 million.

    Returns the ``innovative_sme`` shape plus ``"basic": {"met", "checks"}``.
    """
    spec = tables()["zjtx"]
    indicators, missing = _indicators(spec, inputs)
    parts = _grouped(spec, indicators)
    score = clean(sum((Decimal(g["points"]) for g in parts.values()), ZERO))
    direct = _conditions(inputs, spec["direct_conditions"])
    direct += [c for c in _amount_conditions(inputs, spec) if c not in direct]
    basic = _zjtx_basic(inputs, spec)
    route = ("score" if score >= spec["pass_score"] else "direct" if direct else None) if basic["met"] else None
    result = {"scheme": "zjtx", "score": score, "max": spec["max"], "pass_score": spec["pass_score"],
              "qualified": route is not None, "route": route, "parts": parts, "basic": basic,
              "direct_conditions": direct, "missing": missing}
    _trace_result(trace, result, "专精特新中小企业", "Specialised and innovative SME")
    return result


# --------------------------------------------------------------------------------------------
# Platform composite
# --------------------------------------------------------------------------------------------

def validate_weights(weights: dict | None) -> dict[str, Decimal]:
    """Composite category weights: exactly the four categories, none negative, summing to 100."""
    spec = tables()["composite"]
    weights = spec["weights"] if weights is None else weights
    if not isinstance(weights, dict) or set(weights) != set(spec["groups"]):
        raise invalid("weights", N_("Give a weight for each of ip_strength, rd_input, conversion_growth and "
                                    "qualifications."))
    parsed = {k: number(weights[k], f"weights.{k}", minimum=0, maximum=100) for k in spec["groups"]}
    if sum(parsed.values(), ZERO) != HUNDRED:
        raise invalid("weights", N_("The weights must sum to 100."))
    return parsed


def grade_for(score: Any) -> str:
    """The composite grade T1 (best) … T10 for a 0–100 score."""
    value = number(score, "score", minimum=0, maximum=100)
    return band_for(tables()["composite"]["grades"], value)["grade"]


def composite(inputs: dict, weights: dict | None = None, trace: Trace | None = None) -> dict:
    """The platform composite on 0–100 and its grade.

    Categories (default weights): ``ip_strength`` 35 (``class1_ip``, ``high_value_patents``,
    ``portfolio_pvd`` (mean PVD 0–10), ``class2_ip``, ``trademarks``, ``copyrights``),
    ``rd_input`` 25 (``rd_intensity`` or ``rd_expense`` + ``revenue``; ``rd_staff_share`` or
    ``tech_staff`` + ``staff_total``), ``conversion_growth`` 25 (``revenue_growth``,
    ``conversions_per_year``, ``new_product_share`` or ``new_product_revenue`` + ``revenue``),
    ``qualifications`` 15 (``qualifications``: list of little_giant, national_award, zjtx,
    high_tech_enterprise, national_rd_center, provincial_award, provincial_rd_center,
    ip_demonstration, innovative_sme, tech_sme, ip_advantage, led_standard; capped at 15).
    Each category's table points are rescaled to its weight (points × weight / table maximum).
    A figure not given scores 0 and is listed in ``missing``.

    Returns ``{"scheme": "composite", "score", "max": 100, "qualified": None, "grade",
    "top_factors": [{"factor", "zh", "group", "points"}], "weights", "parts": {category:
    {"points", "weight", "max", "indicators"}}, "missing"}``.
    """
    spec = tables()["composite"]
    w = validate_weights(weights)
    indicators, missing = _indicators(spec, inputs)
    parts: dict[str, dict] = {}
    total = ZERO
    for group, table_max in spec["groups"].items():
        members = {n: i for n, i in indicators.items() if i["group"] == group}
        raw = min(sum((Decimal(i["points"]) for i in members.values()), ZERO), Decimal(table_max))
        for item in members.values():
            # Multiply before dividing so that full marks rescale exactly to the weight.
            item["weighted"] = clean((Decimal(item["points"]) * w[group] / table_max).quantize(CENT))
        points = raw * w[group] / table_max
        total += points
        parts[group] = {"points": clean(points.quantize(CENT)), "weight": clean(w[group]),
                        "max": clean(w[group]), "indicators": members}
    _labelled(spec, parts)
    score = clean(total.quantize(CENT))
    grade = grade_for(score)
    ranked = sorted(((n, i) for n, i in indicators.items() if Decimal(i["weighted"]) > 0),
                    key=lambda ni: -Decimal(ni[1]["weighted"]))
    top = [{"factor": n, "zh": i["zh"], "group": i["group"], "points": i["weighted"]}
           for n, i in ranked[:spec["top_factors"]]]
    result = {"scheme": "composite", "score": score, "max": spec["max"], "qualified": None, "grade": grade,
              "top_factors": top, "weights": {k: clean(v) for k, v in w.items()}, "parts": parts, "missing": missing}
    if trace is not None:
        trace.step("innovation.composite.score", "Innovation-capability composite", "科创能力综合评分", score)
        trace.step("innovation.composite.grade", "Grade", "等级", grade,
                   ", ".join(f"{t['factor']} {t['points']}" for t in top))
    return result


# --------------------------------------------------------------------------------------------
# Dispatcher
# --------------------------------------------------------------------------------------------

def evaluate(scheme: str, inputs: dict, trace: Trace | None = None) -> dict:
    """Run one scheme: tech_sme | high_tech_ip | innovative_sme | zjtx | composite (weights from
    ``inputs["weights"]``).  An unknown scheme raises ValidationFailed code ``unknown_scheme``."""
    if scheme not in SCHEMES:
        raise ValidationFailed(N_("Unknown evaluation scheme."), code="unknown_scheme",
                               fields={"scheme": [N_("Unknown evaluation scheme.")]})
    if not isinstance(inputs, dict):
        raise invalid("inputs", N_("Give the figures as an object."))
    if scheme == "composite":
        return composite(inputs, inputs.get("weights"), trace)
    return {"tech_sme": tech_sme, "high_tech_ip": high_tech_ip, "innovative_sme": innovative_sme,
            "zjtx": zjtx}[scheme](inputs, trace)
