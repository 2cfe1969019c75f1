"""Standardised IP value scores (valuation-methods.md §1 split from a score, §4 indicator scoring).

Pure module (no Django).  Every table and weight profile is data under ``valuation/data`` (JSON,
loaded once and cached); this module only applies them.

* ``patent_value_degree`` — CNIPA 2012 structure PVD = α·LVD + β·TVD + γ·EVD, each degree a
  weighted sum of 0–10 indicator levels (10/8/6/4/2/0), weights per scenario profile
  (``weight_profiles.json``: ``finance`` (default), ``transaction``, ``general``).  A level of 10 is
  always the favourable end (``dependency`` 10 = depends on no other patent, ``competition`` 10 =
  little competition).  Indicators not given default to the neutral level 6 and are listed as
  ``defaulted``: an appraiser who has not looked at an indicator neither rewards nor punishes it.
* ``objective_indicators`` — the indicators the register can compute itself (see its docstring for
  the facts dict).
* ``cohort_normalise`` — OECD-style quality components rescaled 0–1 within filing-year × IPC-section
  cohorts after capping at a percentile (default the 99th).
* ``trademark_score`` / ``copyright_score`` — the analogues for marks and works, 0–10 with parts.
* ``split_from_score`` / ``split_for`` — split = m + (n − m)·s from a reference band.
* ``high_value_patent`` — the national statistical definition of a high-value invention patent.

Inputs are plain dicts; numbers are ints or decimal strings read by ``core.exact`` (floats,
Unicode digits and out-of-range magnitudes are refused); dates are ``date`` objects or ``YYYY-MM-DD``
strings read by ``core.calendar``.  Errors are ``ValidationFailed`` with code ``invalid_input`` and
``fields``.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from functools import cache
from importlib import resources
from typing import Any

from ippledge.core import calendar, exact
from ippledge.core.calendar import anniversary
from ippledge.core.errors import N_, ValidationFailed
from ippledge.valuation.engine.trace import Trace

ZERO = Decimal(0)
ONE = Decimal(1)
TEN = Decimal(10)
HUNDREDTH = Decimal("0.01")
RATIO_PLACES = Decimal("0.0001")
DAYS_PER_YEAR = Decimal("365.25")


# --------------------------------------------------------------------------------------------
# Data and number helpers (shared with innovation.py)
# --------------------------------------------------------------------------------------------

@cache
def _load(name: str) -> str:
    return (resources.files("ippledge.valuation") / "data" / name).read_text(encoding="utf-8")


def load_table(name: str) -> dict:
    """A data file under ``valuation/data`` (parsed once; a fresh copy each call, so callers may
    change what they get without touching the cache)."""
    return json.loads(_load(name))


@cache
def cached_table(name: str) -> dict:
    """A data file, parsed once and shared: treat it as read-only."""
    return json.loads(_load(name))


invalid = exact.invalid  # the one field error (code ``invalid_input``); innovation.py imports it from here


def number(value: Any, name: str, *, minimum: Decimal | int | None = 0, maximum: Decimal | int | None = None,
           integer: bool = False) -> Decimal:
    """An input number (``core.exact.decimal``); scores count things, so the floor defaults to 0."""
    return exact.decimal(value, name, minimum=minimum, maximum=maximum, integer=integer)


def optional_number(inputs: dict, name: str, **kw) -> Decimal | None:
    """:func:`number` of ``inputs[name]``, ``None`` when it is missing or empty."""
    kw.setdefault("minimum", 0)
    return exact.optional_decimal(inputs.get(name), name, **kw)


def as_date(value: Any, name: str) -> date | None:
    return calendar.parse_date(value, name)


def clean(value: Decimal | int) -> Decimal | int:
    """An int when the value is whole, else the Decimal without trailing zeros."""
    value = Decimal(value)
    if value == value.to_integral_value():
        return int(value)
    return value.normalize()


def ratio(num: Decimal, den: Decimal) -> Decimal:
    """A ratio for display, cut (not rounded) to 4 places so it never crosses a band boundary."""
    return (num / den).quantize(RATIO_PLACES, rounding=ROUND_DOWN)


def _band_matches(band: dict, num: Decimal, den: Decimal) -> bool:
    # Compare num/den with the bound by cross-multiplying (den > 0): exact, no rounding.
    if band.get("above") is not None:
        return num > exact.decimal(band["above"], "above") * den
    if band.get("min") is None:
        return True
    return num >= exact.decimal(band["min"], "min") * den


def band_for(bands: list[dict], num: Decimal, den: Decimal = ONE) -> dict:
    """The first band (top to bottom) that ``num / den`` reaches; lower bounds inclusive."""
    for band in bands:
        if _band_matches(band, num, den):
            return band
    return {"min": None, "points": 0, "grade": None}


def _q2(value: Decimal) -> Decimal:
    return value.quantize(HUNDREDTH, rounding=ROUND_HALF_UP)


def _years_between(start: date, end: date) -> Decimal:
    days = max(calendar.days_between(start, end), 0)
    return (Decimal(days) / DAYS_PER_YEAR).quantize(HUNDREDTH, rounding=ROUND_DOWN)


# --------------------------------------------------------------------------------------------
# Weight profiles and the patent value degree
# --------------------------------------------------------------------------------------------

def _model() -> dict:
    return cached_table("weight_profiles.json")


def indicator_names() -> dict[str, list[str]]:
    """Degree → its indicator names, in table order."""
    return {key: list(spec["indicators"]) for key, spec in _model()["degrees"].items()}


def profile_names() -> list[str]:
    return list(_model()["profiles"])


def validate_profile(profile: dict) -> dict:
    """Check a weight profile: α+β+γ = 1, every degree's weights cover its indicators exactly and
    sum to 1, no negative weight.  Returns it with Decimal weights."""
    degrees = _model()["degrees"]
    out: dict = {"weights": {}}
    trio = ZERO
    for degree, spec in degrees.items():
        key = spec["weight_key"]
        if key not in profile:
            raise invalid("profile", N_("The weight profile is incomplete."))
        out[key] = number(profile[key], key, minimum=0, maximum=1)
        trio += out[key]
        given = (profile.get("weights") or {}).get(degree) or {}
        if set(given) != set(spec["indicators"]):
            raise invalid("profile", N_("The weight profile must weigh each indicator of each degree exactly once."))
        weights = {name: number(given[name], name, minimum=0, maximum=1) for name in spec["indicators"]}
        if sum(weights.values(), ZERO) != ONE:
            raise invalid("profile", N_("The indicator weights of each degree must sum to 1."))
        out["weights"][degree] = weights
    if trio != ONE:
        raise invalid("profile", N_("The degree weights α + β + γ must sum to 1."))
    return out


@cache
def _named_profile(name: str) -> dict:
    profiles = _model()["profiles"]
    if name not in profiles:
        raise invalid("profile", N_("Unknown weight profile."), code="unknown_profile")
    return validate_profile(profiles[name])


def weight_profile(profile: str | dict = "finance") -> dict:
    """A named profile from ``weight_profiles.json`` or a custom one (dict), validated."""
    if isinstance(profile, dict):
        return validate_profile(profile)
    return _named_profile(str(profile))


def patent_value_degree(indicator_scores: dict, profile: str | dict = "finance",
                        trace: Trace | None = None) -> dict:
    """PVD = α·LVD + β·TVD + γ·EVD on 0–10 from indicator levels (10/8/6/4/2/0).

    Returns ``{"profile", "LVD"|"TVD"|"EVD": {"score", "weight", "contributions": {indicator:
    {"score", "weight", "contribution", "defaulted"}}}, "PVD": {"score", "contributions": {degree:
    weight·score}}, "defaulted": [indicator, ...]}``; scores are Decimal to 2 places.
    """
    model = _model()
    weights = weight_profile(profile)
    levels = {Decimal(level) for level in model["levels"]}
    neutral = Decimal(model["neutral_default"])
    known = {name for names in indicator_names().values() for name in names}
    unknown = sorted(set(indicator_scores) - known)
    if unknown:
        raise ValidationFailed(N_("Unknown indicator."), code="invalid_input",
                               fields={name: [N_("Unknown indicator.")] for name in unknown})
    trace = trace if trace is not None else Trace()
    name = profile if isinstance(profile, str) else "custom"
    trace.input("pvd.profile", "Weight profile", "权重方案", name)
    result: dict = {"profile": name}
    defaulted: list[str] = []
    pvd = ZERO
    pvd_parts = {}
    for degree, spec in model["degrees"].items():
        contributions = {}
        total = ZERO
        for indicator in spec["indicators"]:
            raw = indicator_scores.get(indicator)
            if raw is None or raw == "":
                score, was_default = neutral, True
                defaulted.append(indicator)
            else:
                score, was_default = number(raw, indicator, minimum=0, maximum=10), False
                if score not in levels:
                    raise invalid(indicator, N_("Choose a level of 10, 8, 6, 4, 2 or 0."))
            w = weights["weights"][degree][indicator]
            contributions[indicator] = {"score": clean(score), "weight": w, "contribution": w * score,
                                        "defaulted": was_default}
            total += w * score
        alpha = weights[spec["weight_key"]]
        formula = " + ".join(f"{c['weight']}×{c['score']}" for c in contributions.values())
        trace.step(f"pvd.{degree}", f"{spec['en']} {degree}", f"{spec['zh']} {degree}", _q2(total), formula)
        result[degree] = {"score": _q2(total), "weight": alpha, "contributions": contributions}
        pvd_parts[degree] = _q2(alpha * total)
        pvd += alpha * total
    if defaulted:
        trace.step("pvd.defaulted", "Indicators not given, scored at the neutral level 6",
                   "未评分指标（按中性分 6 计）", ", ".join(defaulted))
    formula = " + ".join(f"{result[d]['weight']}×{result[d]['score']}" for d in model["degrees"])
    trace.step("pvd.PVD", "Patent value degree PVD", "专利价值度 PVD", _q2(pvd), formula)
    result["PVD"] = {"score": _q2(pvd), "contributions": pvd_parts}
    result["defaulted"] = defaulted
    return result


# --------------------------------------------------------------------------------------------
# Objective indicators from register facts
# --------------------------------------------------------------------------------------------

def _event_list(facts: dict) -> list[dict]:
    out = []
    for entry in facts.get("events") or ():
        if isinstance(entry, str):
            out.append({"type": entry})
        elif isinstance(entry, dict) and entry.get("type"):
            out.append(entry)
        else:
            raise invalid("events", N_("Each event is a type name or a dict with a type."))
    return out


def ipc_subclasses(ipc: list[str] | tuple[str, ...] | None) -> list[str]:
    """Distinct IPC subclasses (e.g. ``H01M``) of a list of IPC symbols, sorted."""
    found = set()
    for symbol in ipc or ():
        compact = str(symbol).replace(" ", "").upper()
        if len(compact) >= 4:
            found.add(compact[:4])
    return sorted(found)


def cohort_key(filing_date: Any, ipc: list[str] | tuple[str, ...] | None) -> tuple:
    """The OECD cohort of a patent: (filing year, IPC section of its first symbol)."""
    filed = as_date(filing_date, "filing_date")
    symbols = [str(s).strip().upper() for s in ipc or () if str(s).strip()]
    return (filed.year if filed else None, symbols[0][0] if symbols else None)


def objective_indicators(facts: dict, trace: Trace | None = None) -> dict:
    """Indicator levels the register can compute for a patent.

    ``facts`` (every key optional; what is missing is simply not computed)::

        kind          "invention" | "utility_model" | "design" | "ic_layout"
        filing_date   date or "YYYY-MM-DD"
        term_end      last day of protection (RightState.term_end)
        on            valuation date (needed with term_end)
        legal_state   RightState.legal_state ("in_force", "partly_invalidated", "pending", …)
        flags         RightState.flags open on ``on`` ("licensed", "litigation",
                      "invalidation_pending", "ownership_dispute", "open_licence", …)
        events        event types so far, strings or {"type", "outcome"} dicts
                      ("licensed", "litigation_filed", "invalidation_requested",
                      {"type": "invalidation_decided", "outcome": "maintained"}, …)
        family_size   patent offices in the family, CNIPA included (1 = China only)
        claims_count  number of claims
        citations     forward citations received
        ipc           list of IPC symbols ("H01M 10/0525", …)

    Returns ``{"scores": {indicator: level}, "basis": {indicator: {...}}, "measures": {...},
    "not_computed": [indicator, ...]}``.  ``scores`` feeds ``patent_value_degree`` (merge the
    appraiser's subjective levels over it); ``measures`` holds the raw OECD components (``scope``,
    ``family_size``, ``claims``, ``citations``) for ``cohort_normalise``.  Claims and citations
    have no CNIPA indicator of their own: they appear only in ``measures``.  Licensing/litigation
    is computed whenever ``events`` or ``flags`` is given (an empty list means a clean record);
    stability needs ``legal_state``; unknown flag and event names are ignored.
    """
    tables = cached_table("scoring_tables.json")
    kind = facts.get("kind") or "invention"
    state = facts.get("legal_state")
    flags = set(facts.get("flags") or ())
    events = _event_list(facts)
    types = [e["type"] for e in events]
    scores: dict[str, int] = {}
    basis: dict[str, dict] = {}
    measures: dict[str, Any] = {}
    stab = tables["stability"]
    in_force = state in stab["in_force_states"]
    pending = state in stab["pending_states"]

    # Stability (稳定性)
    if state is not None:
        maintained = any(e["type"] == "invalidation_decided" and e.get("outcome") == "maintained" for e in events)
        if pending:
            level, rule = stab["caps"]["pending"], "application not yet granted"
        elif not in_force:
            level, rule = 0, "right not in force"
        else:
            level = stab["maintained_after_invalidation"] if maintained else stab["base"].get(kind, stab["default_base"])
            rule = "survived an invalidation request" if maintained else f"base level for {kind}"
            for condition, active in (("partly_invalidated", state == "partly_invalidated"),
                                      ("annuity_grace", state == "annuity_grace"),
                                      ("invalidation_pending", "invalidation_pending" in flags)):
                if active and stab["caps"][condition] < level:
                    level, rule = stab["caps"][condition], f"capped: {condition}"
        scores["stability"] = int(level)
        basis["stability"] = {"legal_state": state, "rule": rule}

    # Remaining term (有效期)
    term_end = as_date(facts.get("term_end"), "term_end")
    on = as_date(facts.get("on"), "on")
    if term_end is not None and on is not None:
        rt = tables["remaining_term"]
        years_left = _years_between(on, term_end) if (in_force or pending or state is None) else ZERO
        table_name = rt["kind_table"].get(kind, rt["default_table"])
        scores["remaining_term"] = int(band_for(rt["tables"][table_name], years_left)["points"])
        basis["remaining_term"] = {"years_left": years_left, "table": table_name}
        measures["years_left"] = years_left

    # Multi-country filing (多国申请)
    family = optional_number(facts, "family_size", minimum=1, integer=True)
    if family is not None:
        scores["multi_country"] = int(band_for(tables["multi_country"]["bands"], family)["points"])
        basis["multi_country"] = {"family_size": int(family)}
        measures["family_size"] = int(family)

    # Licensing and litigation status (专利许可与诉讼状态)
    if events or flags or "events" in facts or "flags" in facts:
        ll = tables["licensing_litigation"]
        licences = types.count("licensed") + types.count("open_licence_declared")
        if licences == 0 and flags & {"licensed", "open_licence"}:
            licences = 1
        disputes = {
            "litigation_history": "litigation_filed" in types or "litigation" in flags,
            "litigation_open": "litigation" in flags,
            "invalidation_requested": bool({"invalidation_requested", "invalidation_decided"} & set(types))
            or "invalidation_pending" in flags,
            "ownership_dispute": "ownership_dispute_filed" in types or "ownership_dispute" in flags,
        }
        level = ll["base"] + band_for(ll["licence_bands"], Decimal(licences))["points"]
        level += sum(ll["penalties"][k] for k, active in disputes.items() if active)
        scores["licensing_litigation"] = int(min(max(level, 0), 10))
        basis["licensing_litigation"] = {"licences": licences, **{k: v for k, v in disputes.items() if v}}
        measures["licences"] = licences

    # Scope of application (适用范围) from IPC breadth
    subclasses = ipc_subclasses(facts.get("ipc"))
    if subclasses:
        scores["scope_of_application"] = int(
            band_for(tables["scope_of_application"]["bands"], Decimal(len(subclasses)))["points"])
        basis["scope_of_application"] = {"ipc_subclasses": subclasses}
        measures["scope"] = len(subclasses)

    claims = optional_number(facts, "claims_count", minimum=0, integer=True)
    if claims is not None:
        measures["claims"] = int(claims)
    citations = optional_number(facts, "citations", minimum=0, integer=True)
    if citations is not None:
        measures["citations"] = int(citations)

    objective = ("stability", "remaining_term", "multi_country", "licensing_litigation", "scope_of_application")
    not_computed = [name for name in objective if name not in scores]
    if trace is not None:
        for name, level in scores.items():
            label = _model()["indicators"][name]
            trace.step(f"objective.{name}", label["en"], label["zh"], level)
    return {"scores": scores, "basis": basis, "measures": measures, "not_computed": not_computed}


# --------------------------------------------------------------------------------------------
# OECD-style cohort normalisation
# --------------------------------------------------------------------------------------------

def _percentile(sorted_values: list[Decimal], p: Decimal) -> Decimal:
    """Linear-interpolation percentile (NumPy's default method), exact in Decimal."""
    n = len(sorted_values)
    h = (n - 1) * p
    lo = int(h)  # floor, h ≥ 0
    frac = h - lo
    if lo + 1 >= n:
        return sorted_values[-1]
    return sorted_values[lo] + frac * (sorted_values[lo + 1] - sorted_values[lo])


def _key_label(key: Any) -> str:
    if isinstance(key, tuple | list):
        return "|".join("" if part is None else str(part) for part in key)
    return str(key)


def cohort_normalise(values_by_right: dict, cohort_keys: dict, trim_percentile: Any = None) -> dict:
    """Rescale quality components to 0–1 within cohorts and average them.

    ``values_by_right``: ``{right_id: {component: number or None}}`` with components from
    ``scope`` (distinct IPC subclasses), ``family_size``, ``claims``, ``backward_citations``,
    ``citations`` (forward), ``generality``, ``originality``, ``renewal_years``.
    ``cohort_keys``: ``{right_id: key}``, normally ``cohort_key(filing_date, ipc)`` =
    (filing year, IPC section).  Within each cohort and component the values are capped at the
    ``trim_percentile`` (default 0.99, linear interpolation) and divided by the cohort's largest
    capped value, so the cohort maximum maps to 1.  Composite = mean of the components the right
    has (``used``).

    Returns ``{"rights": {right_id: {"cohort", "components", "composite", "used", "capped"}},
    "cohorts": {label: {"size", "cap", "max"}}, "trim_percentile"}`` (values to 4 places).
    """
    spec = cached_table("scoring_tables.json")["cohort"]
    p = number(trim_percentile if trim_percentile is not None else spec["trim_percentile"], "trim_percentile",
               minimum=0, maximum=1)
    allowed = spec["components"]
    parsed: dict = {}
    for right, components in values_by_right.items():
        if right not in cohort_keys:
            raise invalid("cohort_keys", N_("Every right needs a cohort key."))
        unknown = set(components) - set(allowed)
        if unknown:
            raise invalid(sorted(unknown)[0], N_("Unknown quality component."))
        parsed[right] = {c: number(v, c, minimum=0) for c, v in components.items() if v is not None and v != ""}
    cohorts: dict[str, list] = {}
    for right in parsed:
        cohorts.setdefault(_key_label(cohort_keys[right]), []).append(right)
    out_rights: dict = {}
    out_cohorts: dict = {}
    for label, members in cohorts.items():
        caps, maxima = {}, {}
        for component in allowed:
            values = sorted(parsed[r][component] for r in members if component in parsed[r])
            if not values:
                continue
            cap = _percentile(values, p)
            caps[component] = cap
            maxima[component] = max(min(v, cap) for v in values)
        out_cohorts[label] = {"size": len(members), "cap": {c: v.quantize(RATIO_PLACES) for c, v in caps.items()},
                              "max": {c: v.quantize(RATIO_PLACES) for c, v in maxima.items()}}
        for right in members:
            normalised, capped = {}, []
            for component in allowed:
                if component not in parsed[right]:
                    continue
                value = parsed[right][component]
                if value > caps[component]:
                    capped.append(component)
                top = maxima[component]
                share = min(value, caps[component]) / top if top > 0 else ZERO
                normalised[component] = share.quantize(RATIO_PLACES, rounding=ROUND_HALF_UP)
            used = list(normalised)
            composite = (sum(normalised.values(), ZERO) / len(used)).quantize(RATIO_PLACES, rounding=ROUND_HALF_UP) \
                if used else None
            out_rights[right] = {"cohort": label, "components": normalised, "composite": composite, "used": used,
                                 "capped": capped}
    return {"rights": out_rights, "cohorts": out_cohorts, "trim_percentile": p}


# --------------------------------------------------------------------------------------------
# Trademarks and copyright
# --------------------------------------------------------------------------------------------

def _weighted(parts: dict[str, tuple[Any, Decimal | None]], weights: dict, neutral: Decimal) -> tuple[Decimal, dict,
                                                                                                       list[str]]:
    out, defaulted, total = {}, [], ZERO
    for name, (value, points) in parts.items():
        w = exact.decimal(weights[name], name)
        was_default = points is None
        if was_default:
            points = neutral
            defaulted.append(name)
        out[name] = {"value": value, "points": clean(points), "weight": w, "contribution": w * points,
                     "defaulted": was_default}
        total += w * points
    return total, out, defaulted


def trademark_score(facts: dict, trace: Trace | None = None) -> dict:
    """A registered mark's strength on 0–10.

    ``facts``: ``registration_date`` + ``on`` (or ``age_years``), ``classes`` (Nice classes the
    owner's registrations of the mark cover), ``renewals``, ``well_known`` (bool, recognised
    驰名商标: +2, capped at 10), ``use_evidence`` ("strong" | "some" | "none"), ``disputes``
    (open oppositions, invalidations, cancellations, lawsuits).  A part not given scores the
    neutral 6 and is listed in ``defaulted``.

    Returns ``{"score", "parts": {part: {"value", "points", "weight", "contribution",
    "defaulted"}}, "bonus", "defaulted"}``.
    """
    table = cached_table("scoring_tables.json")["trademark"]
    neutral = Decimal(_model()["neutral_default"])
    age = optional_number(facts, "age_years", minimum=0)
    if age is None:
        registered = as_date(facts.get("registration_date"), "registration_date")
        on = as_date(facts.get("on"), "on")
        if registered is not None and on is not None:
            age = _years_between(registered, on)
    parts: dict[str, tuple[Any, Decimal | None]] = {}
    parts["age"] = (age, None if age is None else Decimal(band_for(table["age"], age)["points"]))
    for name in ("classes", "renewals", "disputes"):
        value = optional_number(facts, name, minimum=0, integer=True)
        parts[name] = (None if value is None else int(value),
                       None if value is None else Decimal(band_for(table[name], value)["points"]))
    use = facts.get("use_evidence")
    if isinstance(use, bool):
        use = "some" if use else "none"
    if use is not None and use not in table["use_evidence"]:
        raise invalid("use_evidence", N_("Choose strong, some or none."))
    parts["use_evidence"] = (use, None if use is None else Decimal(table["use_evidence"][use]))
    parts = {name: parts[name] for name in table["weights"]}
    total, out, defaulted = _weighted(parts, table["weights"], neutral)
    bonus = Decimal(table["well_known_bonus"]) if facts.get("well_known") else ZERO
    score = _q2(min(total + bonus, TEN))
    if trace is not None:
        trace.step("trademark.score", "Trademark strength score", "商标强度评分", score)
    return {"score": score, "parts": out, "bonus": clean(bonus), "defaulted": defaulted}


def copyright_score(facts: dict, trace: Trace | None = None) -> dict:
    """A copyright's (or software copyright's) strength on 0–10.

    ``facts``: ``revenue`` (annual revenue tied to the work, yuan), ``remaining_years`` (or
    ``term_end`` + ``on``), ``licences`` (licences granted).  Parts not given score the neutral
    6 (``defaulted``).  Returns ``{"score", "parts", "defaulted"}`` as ``trademark_score``.
    """
    table = cached_table("scoring_tables.json")["copyright"]
    neutral = Decimal(_model()["neutral_default"])
    remaining = optional_number(facts, "remaining_years", minimum=0)
    if remaining is None:
        end = as_date(facts.get("term_end"), "term_end")
        on = as_date(facts.get("on"), "on")
        if end is not None and on is not None:
            remaining = _years_between(on, end)
    revenue = optional_number(facts, "revenue", minimum=0)
    licences = optional_number(facts, "licences", minimum=0, integer=True)
    parts = {
        "revenue": (revenue, None if revenue is None else Decimal(band_for(table["revenue"], revenue)["points"])),
        "remaining_term": (remaining, None if remaining is None
                           else Decimal(band_for(table["remaining_term"], remaining)["points"])),
        "licences": (None if licences is None else int(licences),
                     None if licences is None else Decimal(band_for(table["licences"], licences)["points"])),
    }
    total, out, defaulted = _weighted(parts, table["weights"], neutral)
    score = _q2(min(total, TEN))
    if trace is not None:
        trace.step("copyright.score", "Copyright strength score", "著作权强度评分", score)
    return {"score": score, "parts": out, "defaulted": defaulted}


# --------------------------------------------------------------------------------------------
# Split rate from a score (§1)
# --------------------------------------------------------------------------------------------

def split_from_score(low: Any, high: Any, score_0_10: Any) -> Decimal:
    """split = m + (n − m)·s with s = score/10 clamped to [0, 1]."""
    m = number(low, "low", minimum=0, maximum=1)
    n = number(high, "high", minimum=0, maximum=1)
    if n < m:
        raise invalid("high", N_("The top of the band must not be below its bottom."))
    s = min(max(number(score_0_10, "score", minimum=None) / TEN, ZERO), ONE)
    return m + (n - m) * s


def royalty_bands() -> dict:
    """The reference bands (``royalty_bands.json``): ``{"sales": {industry: {...}}, "profit": {...}}``."""
    return load_table("royalty_bands.json")


def split_for(industry: str, score: Any, basis: str = "sales", trace: Trace | None = None) -> dict:
    """Split rate for an industry from a 0–10 score.

    ``basis="sales"``: the industry's sales-royalty band; ``basis="profit"``: the profit-share
    band (the same 25–33% for every industry unless the table names the industry).
    Returns ``{"rate", "low", "high", "s", "basis", "industry"}``.
    """
    table = cached_table("royalty_bands.json")
    if basis not in ("sales", "profit"):
        raise invalid("basis", N_("Choose sales or profit."))
    bands = table[basis]
    if basis == "sales":
        if industry not in bands:
            raise invalid("industry", N_("Unknown industry."))
        band = bands[industry]
    else:
        band = bands.get(industry, bands["default"])
    low, high = exact.decimal(band["low"], "low"), exact.decimal(band["high"], "high")
    rate = split_from_score(low, high, score)
    s = min(max(number(score, "score", minimum=None) / TEN, ZERO), ONE)
    if trace is not None:
        trace.step("split.rate", "Split rate from the score", "综合评价法分成率", rate, f"{low} + ({high} − {low}) × {s}")
    return {"rate": rate, "low": low, "high": high, "s": s, "basis": basis, "industry": industry}


# --------------------------------------------------------------------------------------------
# High-value invention patent (§4, national statistical definition)
# --------------------------------------------------------------------------------------------

def high_value_patent(facts: dict) -> tuple[bool, list[str]]:
    """Whether an invention patent counts as high-value (高价值发明专利) and why.

    ``facts``: ``kind``, ``legal_state``, ``filing_date``, ``on``, ``strategic_emerging`` (bool:
    its field is in the strategic emerging industries classification), ``family_size`` (offices
    incl. CNIPA) or ``overseas_family`` (bool), ``pledge_amount`` (yuan, largest pledge financing
    it secured) or ``high_pledge_financing`` (bool), ``awards`` (list with
    ``national_science_award`` / ``china_patent_award``).

    Returns ``(True, [criteria met])`` or ``(False, [reason])`` where the reason is
    ``not_invention``, ``not_in_force`` or ``no_criterion``.
    """
    spec = cached_table("scoring_tables.json")["high_value_patent"]
    if facts.get("kind") not in spec["kinds"]:
        return False, ["not_invention"]
    if facts.get("legal_state") not in spec["in_force_states"]:
        return False, ["not_in_force"]
    reasons = []
    if facts.get("strategic_emerging"):
        reasons.append("strategic_emerging_industry")
    family = optional_number(facts, "family_size", minimum=1, integer=True)
    if facts.get("overseas_family") or (family is not None and family >= 2):
        reasons.append("overseas_family")
    filed = as_date(facts.get("filing_date"), "filing_date")
    on = as_date(facts.get("on"), "on")
    if filed is not None and on is not None and on >= anniversary(filed, spec["maintained_more_than_years"]):
        reasons.append("maintained_over_10_years")
    pledge = optional_number(facts, "pledge_amount", minimum=0)
    if facts.get("high_pledge_financing") or (pledge is not None and pledge >= exact.decimal(spec["pledge_amount_min"], "pledge_amount_min")):
        reasons.append("high_pledge_financing")
    if set(facts.get("awards") or ()) & set(spec["awards"]):
        reasons.append("national_award")
    return (True, reasons) if reasons else (False, ["no_criterion"])
