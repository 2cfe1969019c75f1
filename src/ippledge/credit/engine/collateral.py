"""The maximum loan a valuation supports under a loan product's LTV caps (issue 10, point 1).

A valuation record's own ``max_loan`` is computed with the caps its valuer chose.  A case is approved
against the caps of the product it is lent under (``Product.ltv_caps``, merged over the defaults in
``valuation/engine/lender.py``), so the binding limit is the valuation's maximum loan recomputed with
the product's caps from the figures the valuation recorded:

* one right, or several valued as one (kind ``bundle``): valuation-methods §3, by
  ``lender.lender_values`` itself — min(cap(kind) × market value, liquidation value);
* a bundle valued by correlated simulation (valuation-methods §5, ``bundle.value_bundle``):
  min(Σ cap(kind_i) × allocated value_i, cap("bundle") × bundle P50, bundle liquidation value).

A product cap the valuer assumed is not carried over: the case's own product bounds the amount when the
case is opened.  Pure: Decimal arithmetic, no Django.
"""

from __future__ import annotations

from decimal import Decimal

from ippledge.core.errors import N_, ValidationFailed
from ippledge.valuation.engine import bundle, lender
from ippledge.valuation.engine.trace import Trace


def _unusable() -> ValidationFailed:
    message = N_("The valuation does not record the figures a maximum loan is computed from.")
    return ValidationFailed(message, code="valuation_not_usable", fields={"valuation_no": [message]})


def _bundle_limit(result: dict, caps: dict[str, Decimal]) -> dict:
    binding, limit, terms = bundle.bundle_limit(
        allocations=[(r["kind"], r["allocated_value"]) for r in result["rights"]],
        bundle_p50=result["bundle"]["p50"], liquidation_value=result["limit"]["liquidation_value"],
        ltv_caps=caps, ltv_bundle=lender.ltv_cap("bundle", caps))
    return {"max_loan": limit, "binding": binding, "terms": terms}


def _single_limit(figures: dict, caps: dict[str, Decimal]) -> dict:
    values = lender.lender_values(
        market_value=figures["market_value"], p10=figures["range"]["p10"], p90=figures["range"]["p90"],
        horizon_quantile_value=figures["horizon_value"], kind=figures["kind"], ltv_caps=caps,
        forced_sale_discount=figures["forced_sale_discount"], disposal_costs=figures["disposal_costs"],
        trace=Trace())
    return {"max_loan": values["max_loan"], "binding": values["binding"],
            "terms": {"ltv_cap": values["ltv_limit"], "liquidation_value": values["liquidation_value"]}}


def max_loan(result: dict, ltv_caps: dict | None) -> dict:
    """``{"max_loan": Decimal yuan, "binding": term, "terms": {term: Decimal yuan}}`` for a valuation
    record's ``result`` under the product's ``ltv_caps`` ({kind: fraction}; the defaults for the rest)."""
    caps = lender.ltv_caps_with(ltv_caps)
    try:
        if isinstance(result.get("rights"), list) and result.get("limit"):
            return _bundle_limit(result, caps)
        return _single_limit(result["lender"], caps)
    except (KeyError, TypeError):
        raise _unusable() from None
