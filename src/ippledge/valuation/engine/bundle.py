"""Bundles (打包组合融资), valuation-methods.md §5: a correlated simulation of several rights, the
bundle's value distribution, allocation to the rights, concentration, and the bundle loan limit.

* Correlation: a Gaussian copula on the revenue shocks.  Each simulated income stream ("unit") has
  a standard-normal revenue shock z_u; z = L·ε with L the Cholesky factor of the correlation matrix
  (``correlation_within`` between units of the same product line, ``correlation_across`` otherwise).
  A matrix that is not positive definite is repaired (eigenvalues floored at 1e-8, unit diagonal
  restored) and the trace says so.  Growth, split, life, rate and the legal-failure jumps stay
  independent per unit / per right.
* Joint split (the simple rule): a product line listed in ``product_lines`` (line → income inputs,
  with the line's joint split) is simulated once, as one unit.  Each right on that line gets the
  share w_i = contribution_i / Σ contributions on the line (default contribution 1) of the line's
  cash flow in every year in which that right is still in force: its own legal-failure hazard
  (default: the line's ``hazard``) and its own ``max_years`` stop its share; a lapsed right's share
  is lost, not passed to the others.  So the line is counted once (no double counting of Σ
  stand-alone values).  Rights on lines not listed are simulated stand-alone with their own inputs.
* Bundle value per path = Σ over rights; allocation of the bundle P50 to each right in proportion
  to its mean simulated value; concentration HHI = Σ w_i² of those weights, flagged when one right
  carries more than 50%.
* Bundle limit = min(Σ LTV(kind_i)·V_i, LTV_bundle·V_bundle, bundle liquidation value, product cap),
  V_i = allocated values, V_bundle = bundle P50, liquidation value = max(0, V_H,q × (1 − forced-sale
  discount) − disposal costs) with V_H,q the q-quantile of the bundle's value at the horizon.

Pure module: NumPy, no Django.
"""

from __future__ import annotations

import secrets
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np

from ippledge.core.errors import N_, ValidationFailed
from ippledge.core.exact import invalid as _invalid

from . import MODEL_VERSION, term
from .lender import ltv_cap, ltv_caps_with
from .simulation import (
    MAX_CELLS,
    MAX_PATHS,
    QUANTILES,
    parse_income_inputs,
    quantiles_sorted,
    simulate_income,
)
from .trace import Trace, dec, fen

RATE = Decimal("0.000001")
MAX_RIGHTS = 100
META_KEYS = ("kind", "number", "product_line", "contribution")




def _decimal(value: Any, name: str) -> Decimal:
    """Decimals, decimal strings and ints as given; a float parameter is read through its repr."""
    if isinstance(value, float):
        value = repr(value)
    return dec(value, name)


def _fraction(value: Any, name: str, low: Decimal = Decimal(0)) -> Decimal:
    parsed = _decimal(value, name)
    if not low <= parsed <= 1:
        raise _invalid(name, N_("The number is out of range."))
    return parsed


def bundle_limit(*, allocations: list[tuple[str, Decimal]], bundle_p50: Decimal, liquidation_value: Decimal,
                 ltv_caps: dict | None, ltv_bundle: Decimal, product_cap: Decimal | None = None,
                 ) -> tuple[str, Decimal, dict[str, Decimal]]:
    """The bundle's loan limit, the one rule for the valuation and for approval under a product's caps:
    min(Σ LTV cap(kind_i) × allocated value_i, LTV_bundle × bundle P50, liquidation value[, product cap]).
    Returns (binding term, limit, {term: value}), amounts in yuan to the fen."""
    sum_ltv = sum((fen(ltv_cap(kind, ltv_caps) * dec(value)) for kind, value in allocations), Decimal(0))
    terms = {"sum_ltv": fen(sum_ltv), "bundle_ltv": fen(ltv_bundle * dec(bundle_p50)),
             "liquidation_value": fen(dec(liquidation_value))}
    if product_cap is not None:
        terms["product_cap"] = fen(product_cap)
    binding, limit = min(terms.items(), key=lambda item: item[1])
    return binding, limit, terms


def correlation_matrix(lines: list[str | None], within: float, across: float) -> tuple[np.ndarray, bool]:
    """ρ_uv = within for two units on the same (named) product line, across otherwise; 1 on the diagonal.

    Returns the matrix, repaired to be positive definite if needed, and whether it was repaired.
    """
    n = len(lines)
    corr = np.full((n, n), float(across))
    for u in range(n):
        for v in range(n):
            if u == v:
                corr[u, v] = 1.0
            elif lines[u] is not None and lines[u] == lines[v]:
                corr[u, v] = float(within)
    try:
        np.linalg.cholesky(corr)
        return corr, False
    except np.linalg.LinAlgError:
        vals, vecs = np.linalg.eigh(corr)
        fixed = (vecs * np.maximum(vals, 1e-8)) @ vecs.T
        d = np.sqrt(np.diag(fixed))
        fixed = fixed / np.outer(d, d)
        np.fill_diagonal(fixed, 1.0)
        return fixed, True


def _stats(values: np.ndarray) -> dict:
    ordered = np.sort(values)
    p5, p10, p50, p90 = quantiles_sorted(ordered, QUANTILES)
    return {"mean": float(ordered.mean()), "std": float(ordered.std()), "p5": float(p5), "p10": float(p10),
            "p50": float(p50), "p90": float(p90)}


def value_bundle(rights: list[dict], *, correlation_within: Any = 0.8, correlation_across: Any = 0.3,
                 paths: int = 10_000, seed: int | None = None, ltv_caps: dict | None = None,
                 ltv_bundle: Any = 0.35, product_cap: Any = None, horizon: int = 1,
                 forced_sale_discount: Any = 0.4, disposal_costs: Any = 0, horizon_quantile: Any = 0.10,
                 product_lines: dict | None = None, trace: Trace) -> dict:
    """Value a bundle of rights by a correlated Monte Carlo (see the module docstring).

    ``rights``: [{"kind", "number", "product_line"?, "contribution"? (decimal string > 0), and the
    right's income inputs as for ``monte_carlo_income`` (revenue, growth, years, split, life,
    max_years, rate, hazard, tax_rate) — for a right on a joint line only ``hazard``/``max_years``
    are read; ``renewal_expected`` (default: true for a trademark, refused for other kinds) says
    whether a trademark's ``max_years`` is renewed rather than binding}].  ``paths``, ``seed`` and
    ``horizon`` are the bundle's.

    Returns Decimal fen amounts: ``bundle`` {mean, p5, p10, p50, p90, std}, ``horizon`` {years, p10,
    p50, mean}, ``rights`` [{number, kind, product_line, joint, weight, allocated_value, ltv_cap,
    ltv_value, mean, p50 (stand-alone), survival, renewal_expected, income_period_cap (years)}], ``standalone_p50_sum``, ``hhi``, ``max_weight``,
    ``concentration_flag``, ``flags``, ``limit`` {sum_ltv, bundle_ltv, liquidation_value,
    horizon_value, product_cap, max_loan, binding, pledge_rate, ltv_bundle, forced_sale_discount,
    disposal_costs}, ``correlation`` {within, across, adjusted}, ``paths``, ``seed``, ``currency``,
    ``model_version``.
    """
    if not isinstance(rights, list) or not rights:
        raise _invalid("rights", N_("Give at least one right."))
    if len(rights) > MAX_RIGHTS:
        raise _invalid("rights", N_("Too many rights in one bundle."))
    within = float(_fraction(correlation_within, "correlation_within", Decimal(-1)))
    across = float(_fraction(correlation_across, "correlation_across", Decimal(-1)))
    lb = _fraction(ltv_bundle, "ltv_bundle")
    discount = _fraction(forced_sale_discount, "forced_sale_discount")
    q = _fraction(horizon_quantile, "horizon_quantile")
    costs = _decimal(disposal_costs, "disposal_costs")
    if costs < 0:
        raise _invalid("disposal_costs", N_("Give an amount of zero or more."))
    cap_amount = None
    if product_cap is not None:
        cap_amount = _decimal(product_cap, "product_cap")
        if cap_amount < 0:
            raise _invalid("product_cap", N_("Give an amount of zero or more."))
    if isinstance(paths, bool) or not isinstance(paths, int) or not 1 <= paths <= MAX_PATHS:
        raise _invalid("paths", N_("The number is out of range."))
    if isinstance(horizon, bool) or not isinstance(horizon, int) or not 0 <= horizon <= 100:
        raise _invalid("horizon", N_("The number is out of range."))
    if seed is None:
        seed = secrets.randbelow(2**63)
    caps = ltv_caps_with(ltv_caps)
    lines_spec = product_lines or {}
    if not isinstance(lines_spec, dict):
        raise _invalid("product_lines", N_("Give the product lines as an object."))
    common = {"paths": paths, "seed": 0, "horizon": horizon}

    # ---- parse the rights and the joint lines into simulation units
    parsed: list[dict] = []
    for i, right in enumerate(rights):
        name = f"rights[{i}]"
        if not isinstance(right, dict):
            raise _invalid(name, N_("Give each right as an object."))
        kind = right.get("kind")
        if kind not in caps:
            raise _invalid(f"{name}.kind", N_("No loan-to-value cap is set for this kind of right."))
        line = right.get("product_line")
        line = None if line in (None, "") else str(line)
        contribution = _decimal(right.get("contribution", "1"), f"{name}.contribution")
        if contribution <= 0:
            raise _invalid(f"{name}.contribution", N_("Give a contribution above zero."))
        entry = {"index": i, "kind": kind, "number": str(right.get("number", "")), "line": line,
                 "contribution": contribution, "joint": line is not None and line in lines_spec}
        try:
            # A trademark's renewal is expected unless the caller says not (term.py).
            renewal = term.read(right.get(term.INPUT), default=term.renewal_default(kind), kind=kind)
            if entry["joint"]:
                line_inputs = lines_spec[line] or {}
                hazard = right.get("hazard", line_inputs.get("hazard", "0"))
                own = parse_income_inputs({**line_inputs, "hazard": hazard, term.INPUT: renewal,
                                           "max_years": right.get("max_years", line_inputs.get("max_years"))},
                                          common)
                entry["hazard"], entry["max_years"] = own[0]["hazard"], own[0]["max_years"]
            else:
                own = parse_income_inputs({**{k: v for k, v in right.items() if k not in META_KEYS},
                                           term.INPUT: renewal}, common)
                entry["spec"] = own[0]
            entry["legal_term"], entry["renewal_expected"] = own[1]["max_years"], renewal
        except ValidationFailed as exc:
            raise ValidationFailed(exc.message, code="invalid_input",
                                   fields={f"{name}.{k}": v for k, v in exc.fields.items()}) from None
        parsed.append(entry)
    units: list[dict] = []
    line_unit: dict[str, int] = {}
    for entry in parsed:
        if entry["joint"]:
            if entry["line"] not in line_unit:
                try:
                    spec = parse_income_inputs({**(lines_spec[entry["line"]] or {}), "hazard": "0"}, common)[0]
                except ValidationFailed as exc:
                    raise ValidationFailed(exc.message, code="invalid_input",
                                           fields={f"product_lines.{entry['line']}.{k}": v
                                                   for k, v in exc.fields.items()}) from None
                line_unit[entry["line"]] = len(units)
                units.append({"line": entry["line"], "spec": spec, "joint": True})
            entry["unit"] = line_unit[entry["line"]]
        else:
            entry["unit"] = len(units)
            units.append({"line": entry["line"], "spec": entry["spec"], "joint": False})

    for entry in parsed:
        # The longest income period of the right: its unit's projection and legal term, and its own term.
        unit = units[entry["unit"]]["spec"]
        entry["cap"] = min(unit["years"], unit["max_years"], entry.get("max_years", unit["years"]))

    # One request holds every unit's (paths, years) grid at once: bound the whole bundle's work as one
    # simulation's, so a bundle cannot run for minutes or exhaust memory.
    if paths * sum(u["spec"]["years"] for u in units) > MAX_CELLS:
        raise _invalid("paths", N_("Too many paths for this many rights and years."))
    trace.input("bundle.rights", "Rights in the bundle", "组合中的权利",
                [f"{e['kind']} {e['number']} ({e['line'] or '—'})" for e in parsed])
    trace.input("bundle.correlation", "Revenue correlation within / across product lines",
                "收入相关系数（同一产品线 / 不同产品线）", [Decimal(repr(within)), Decimal(repr(across))])
    trace.input("bundle.paths", "Simulated paths", "模拟路径数", paths)
    trace.input("bundle.seed", "Random seed", "随机种子", seed)
    trace.input("bundle.horizon", "Loan horizon H (years)", "贷款期限 H（年）", horizon)
    trace.step("bundle.legal_terms", "Legal term and income period cap of each right (a renewable trademark term "
               "expected to be renewed does not cap it)", "各项权利的法定保护期与收益期上限（可续展且预计续展的商标"
               "保护期不构成限制）",
               [{"right": f"{e['kind']} {e['number']}", "legal_term_years": e["legal_term"],
                 "renewal_expected": e["renewal_expected"], "income_period_cap": e["cap"]} for e in parsed],
               formula="cap = min(projection years, legal term unless renewed)")
    if line_unit:
        trace.step("bundle.joint_split", "Product lines valued once with a joint split, allocated by contribution",
                   "按联合分成率整体评估、再按贡献度分配的产品线", sorted(line_unit),
                   formula="V_i = Σ_t w_i·CF_line,t/(1+r)^t over years right i is in force; "
                           "w_i = contribution_i / Σ contributions")

    # ---- correlated simulation
    corr, adjusted = correlation_matrix([u["line"] for u in units], within, across)
    trace.step("bundle.copula", "Gaussian copula on the revenue shocks", "收入冲击的高斯 Copula",
               "z = L·ε, L L' = correlation matrix" + (" (repaired to positive definite)" if adjusted else ""),
               formula="ρ = within on the same product line, across otherwise")
    rng = np.random.default_rng(seed)
    z = np.linalg.cholesky(corr) @ rng.standard_normal((len(units), paths))
    for u, unit in enumerate(units):
        s = unit["spec"]
        unit["sim"] = simulate_income(paths=paths, seed=None, rng=rng, years=s["years"], revenue=s["revenue"],
                                      growth=s["growth"], split=s["split"], life=s["life"], rate=s["rate"],
                                      hazard=s["hazard"], tax=s["tax"], max_years=s["max_years"],
                                      horizon=horizon, z_revenue=z[u])
    line_totals: dict[str, Decimal] = {}
    for entry in parsed:
        if entry["joint"]:
            line_totals[entry["line"]] = line_totals.get(entry["line"], Decimal(0)) + entry["contribution"]
    values = np.zeros((len(parsed), paths))
    hvalues = np.zeros((len(parsed), paths))
    alive_h = np.ones((len(parsed), paths), dtype=bool)
    for i, entry in enumerate(parsed):
        sim = units[entry["unit"]]["sim"]
        if not entry["joint"]:
            values[i], hvalues[i], alive_h[i] = sim["value"], sim["horizon_value"], sim["alive_at_horizon"]
            continue
        share = float(entry["contribution"] / line_totals[entry["line"]])
        years = sim["cash_flows"].shape[1]
        t = np.arange(1, years + 1)
        with np.errstate(divide="ignore"):
            u = rng.random(paths)
            survived = np.floor(np.log(u) / np.log1p(-entry["hazard"])) if entry["hazard"] > 0 \
                else np.full(paths, np.inf)
        in_force = (t[None, :] <= survived[:, None]) & (t[None, :] <= entry["max_years"])
        pv = sim["cash_flows"] * sim["discount_factors"] * in_force * share
        values[i] = pv.sum(axis=1)
        hvalues[i] = pv[:, horizon:].sum(axis=1) * (1.0 + sim["rate"]) ** horizon
        alive_h[i] = (survived >= horizon) & (entry["max_years"] >= horizon)
    total = values.sum(axis=0)
    htotal = hvalues.sum(axis=0)

    # ---- distribution, allocation, concentration
    stats = _stats(total)
    bundle = {k: fen(stats[k]) for k in ("mean", "p5", "p10", "p50", "p90", "std")}
    hsorted = np.sort(htotal)
    h10, h50, hq = quantiles_sorted(hsorted, (0.10, 0.50, float(q)))
    horizon_out = {"years": horizon, "p10": fen(h10), "p50": fen(h50), "mean": fen(float(htotal.mean()))}
    trace.step("bundle.value", "Bundle value (mean, P10, P50, P90)", "组合价值（均值、P10、P50、P90）",
               [bundle["mean"], bundle["p10"], bundle["p50"], bundle["p90"]], formula="V_bundle = Σ_i V_i per path")
    means = values.mean(axis=1)
    mean_total = float(means.sum())
    weights = [Decimal(repr(float(m) / mean_total)) if mean_total > 0 else Decimal(1) / len(parsed)
               for m in means]
    allocated = [fen(w * bundle["p50"]) for w in weights]
    if allocated:
        largest = max(range(len(allocated)), key=lambda k: weights[k])
        allocated[largest] += bundle["p50"] - sum(allocated)  # the fen rounding goes to the largest share
    hhi = sum(w * w for w in weights).quantize(RATE, rounding=ROUND_HALF_UP)
    max_weight = max(weights).quantize(RATE, rounding=ROUND_HALF_UP)
    concentrated = max(weights) > Decimal("0.5")
    trace.step("bundle.allocation", "Allocation of the bundle P50 by mean contribution",
               "按平均贡献分配组合 P50", [str(a) for a in allocated], formula="V_i = P50 × mean_i / Σ mean_j")
    trace.step("bundle.hhi", "Concentration (HHI)", "集中度（HHI 指数）", hhi, formula="HHI = Σ w_i²")
    if concentrated:
        trace.step("bundle.concentration", "One right carries more than 50% of the bundle value",
                   "单项权利占组合价值超过 50%", max_weight)
    out_rights = []
    sum_ltv = Decimal(0)
    for i, entry in enumerate(parsed):
        cap = ltv_cap(entry["kind"], ltv_caps)
        ltv_value = fen(cap * allocated[i])
        sum_ltv += ltv_value
        own = np.sort(values[i])
        out_rights.append({"number": entry["number"], "kind": entry["kind"], "product_line": entry["line"],
                           "joint": entry["joint"], "weight": weights[i].quantize(RATE, rounding=ROUND_HALF_UP),
                           "allocated_value": allocated[i], "ltv_cap": cap, "ltv_value": ltv_value,
                           "mean": fen(float(means[i])), "p50": fen(quantiles_sorted(own, (0.5,))[0]),
                           "survival": Decimal(repr(float(alive_h[i].mean()))).quantize(RATE),
                           "renewal_expected": entry["renewal_expected"], "income_period_cap": entry["cap"]})
    standalone = sum((r["p50"] for r in out_rights), Decimal(0))

    # ---- the bundle limit
    vh = fen(hq)
    liquidation = fen(max(Decimal(0), vh * (1 - discount) - costs))
    binding, max_loan, terms = bundle_limit(allocations=[(r["kind"], r["allocated_value"]) for r in out_rights],
                                            bundle_p50=bundle["p50"], liquidation_value=liquidation,
                                            ltv_caps=ltv_caps, ltv_bundle=lb, product_cap=cap_amount)
    bundle_ltv = terms["bundle_ltv"]
    pledge_rate = (max_loan / bundle["p50"]).quantize(RATE, rounding=ROUND_HALF_UP) if bundle["p50"] > 0 \
        else Decimal("0.000000")
    trace.step("bundle.sum_ltv", "Σ LTV cap(kind) × allocated value", "Σ 各权利质押率上限 × 分配价值", fen(sum_ltv))
    trace.step("bundle.bundle_ltv", f"Bundle LTV cap {lb} × bundle P50", f"组合质押率上限 {lb} × 组合 P50", bundle_ltv)
    trace.step("bundle.liquidation_value", "Bundle liquidation value", "组合清算价值", liquidation,
               formula=f"max(0, V_H,{q} × (1 − {discount}) − disposal costs)")
    trace.step("bundle.max_loan", "Bundle loan limit", "组合贷款额度上限", max_loan,
               formula="min(Σ LTV_i·V_i, LTV_bundle·V_bundle, liquidation value, product cap)")
    trace.step("bundle.pledge_rate", "Implied pledge rate", "隐含质押率", pledge_rate)
    flags = []
    if concentrated:
        flags.append("concentration")
    if adjusted:
        flags.append("correlation_adjusted")
    if line_unit:
        flags.append("joint_split")
    return {"bundle": bundle, "horizon": horizon_out, "rights": out_rights, "standalone_p50_sum": standalone,
            "hhi": hhi, "max_weight": max_weight, "concentration_flag": concentrated, "flags": flags,
            "limit": {"sum_ltv": fen(sum_ltv), "bundle_ltv": bundle_ltv, "liquidation_value": liquidation,
                      "horizon_value": vh, "product_cap": None if cap_amount is None else fen(cap_amount),
                      "max_loan": max_loan, "binding": binding, "pledge_rate": pledge_rate, "ltv_bundle": lb,
                      "forced_sale_discount": discount, "disposal_costs": fen(costs)},
            "correlation": {"within": Decimal(repr(within)), "across": Decimal(repr(across)), "adjusted": adjusted},
            "paths": paths, "seed": seed, "currency": "CNY", "model_version": MODEL_VERSION}
