"""One entry point for the deterministic valuation methods: ``compute(method, inputs, options)``.

Returns the method's result plus ``trace`` (list of steps), ``model_version`` and ``method``.
Amounts are ``Decimal`` to the fen, rates ``Decimal`` with 6 decimals.

Pure module: no Django.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import localcontext

from ippledge.core.errors import N_, ValidationFailed

from . import MODEL_VERSION
from .discount import discount_build_up
from .factors import CONTEXT, invalid, normalise_options
from .income import (
    equivalent_investment_split,
    excess_return,
    income,
    incremental_income,
    mpeem,
    relief_from_royalty,
)
from .market_cost import cost, market
from .options import binomial, black_scholes
from .trace import Trace

METHODS = (
    "income",
    "incremental_income",
    "excess_return",
    "relief_from_royalty",
    "equivalent_investment_split",
    "mpeem",
    "cost",
    "market",
    "black_scholes",
    "binomial",
    "monte_carlo_income",
    "discount_build_up",
)

METHOD_LABELS = {
    "income": ("Income approach (profit or sales split)", "收益法（分成法）"),
    "incremental_income": ("Income approach (incremental income)", "收益法（增量收益法）"),
    "excess_return": ("Income approach (excess return)", "收益法（超额收益法）"),
    "relief_from_royalty": ("Income approach (relief from royalty)", "收益法（许可费节省法）"),
    "equivalent_investment_split": ("Split rate by equivalent investment", "约当投资分成法（分成率）"),
    "mpeem": ("Income approach (multi-period excess earnings)", "收益法（多期超额收益法）"),
    "cost": ("Cost approach", "成本法"),
    "market": ("Market approach", "市场法"),
    "black_scholes": ("Real option, Black–Scholes (information only)", "实物期权·布莱克-斯科尔斯模型（仅供参考）"),
    "binomial": ("Real option, binomial tree (information only)", "实物期权·二叉树模型（仅供参考）"),
    "monte_carlo_income": ("Income approach, Monte Carlo simulation", "收益法·蒙特卡洛模拟"),
    "discount_build_up": ("Discount rate by risk build-up", "风险累加法确定折现率"),
}

# Methods whose result is information only and never a pledge value.
INFORMATION_ONLY = ("black_scholes", "binomial")

_HANDLERS: dict[str, Callable[[dict, dict, Trace], dict]] = {
    "income": income,
    "incremental_income": incremental_income,
    "excess_return": excess_return,
    "relief_from_royalty": relief_from_royalty,
    "equivalent_investment_split": equivalent_investment_split,
    "mpeem": mpeem,
    "cost": cost,
    "market": market,
    "black_scholes": black_scholes,
    "binomial": binomial,
    "discount_build_up": discount_build_up,
}


def _handler(method: str) -> Callable[[dict, dict, Trace], dict]:
    if method == "monte_carlo_income":
        try:
            from .simulation import monte_carlo_income
        except ImportError:
            raise ValidationFailed(N_("This valuation method is not available."), code="method_unavailable",
                                   fields={"method": [N_("This valuation method is not available.")]}) from None
        return monte_carlo_income
    return _HANDLERS[method]


def compute(method: str, inputs: dict, options: dict | None = None) -> dict:
    """Run one valuation method and return its result with the explanation trace."""
    if not isinstance(method, str) or method not in METHODS:
        raise ValidationFailed(N_("Unknown valuation method."), code="unknown_method",
                               fields={"method": [N_("Choose one of the listed valuation methods.")]})
    if not isinstance(inputs, dict):
        raise invalid("inputs", N_("Give the inputs as an object."))
    options = normalise_options(options)
    handler = _handler(method)
    trace = Trace()
    en, zh = METHOD_LABELS[method]
    trace.step("method", f"Method: {en}", f"评估方法：{zh}", method)
    trace.step("options.factor_mode", "Present-value factors", "复利现值系数",
               options["factor_mode"], "exact: full precision; table4: 4-decimal printed tables")
    if options["round_rate"] is not None:
        trace.step("options.round_rate", "Intermediate rates rounded to decimals", "中间比率保留小数位数",
                   options["round_rate"])
    try:
        with localcontext(CONTEXT):
            result = handler(inputs, options, trace)
    except ArithmeticError:  # decimal overflow / invalid operation, float overflow: inputs out of range
        raise invalid("inputs", N_("The numbers are too large or too small to compute with.")) from None
    return {**result, "method": method, "model_version": MODEL_VERSION, "trace": trace.as_list()}
