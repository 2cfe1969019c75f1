"""Page forms of the valuation calculator: one Django form per method, with units people use (yuan,
per cent, years) and help under each field.  A form turns what a person typed into the engine's
inputs (decimal strings, rates as fractions, lists per year); the JSON API takes those inputs as they
are.  ``initial_from_inputs`` goes the other way, so a form can show a saved valuation's inputs."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.utils.translation import gettext_lazy as _

from ippledge.core.errors import DomainError

from .examples import EXAMPLES, METHOD_LABELS

HUNDRED = Decimal(100)
YUAN, PERCENT, YEARS, UNITS, YUAN_PER_UNIT = _("yuan"), "%", _("years"), _("units"), _("yuan per unit")
MAX_YUAN = Decimal("1000000000000000")
_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")


def _plain(value: Decimal) -> str:
    """A Decimal as the engine's decimal string, without exponent or trailing zeros."""
    text = format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _numbers(text: str) -> list[str]:
    """Amounts typed one per line or separated by spaces, semicolons or commas (1,000,000 kept whole)."""
    out = []
    for token in re.split(r"[\s;；、，]+", text or ""):
        if not token:
            continue
        out.extend([token.replace(",", "")] if _THOUSANDS.match(token) else [t for t in token.split(",") if t])
    return out


class _Unit:
    """A field that knows its unit and how its value reads in the engine and back; numbers may be typed
    with thousands separators (1,000,000) or full-width digits' punctuation."""

    unit = ""

    def to_python(self, value):
        if isinstance(value, str):
            value = value.strip().replace("，", ",").replace("　", "").replace(" ", "")
            if _THOUSANDS.match(value):
                value = value.replace(",", "")
            value = value.rstrip("%％")
        return super().to_python(value)

    def engine(self, value):
        return _plain(value) if isinstance(value, Decimal) else value

    def shown(self, value):
        return value


class YuanField(_Unit, forms.DecimalField):
    unit = YUAN

    def __init__(self, *, label, help_text="", required=True, initial=None, min_value=Decimal(0), **kw):
        super().__init__(label=label, help_text=help_text, required=required, initial=initial, max_digits=20,
                         decimal_places=2, min_value=min_value, max_value=MAX_YUAN,
                         widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}), **kw)


class PerUnitField(YuanField):
    unit = YUAN_PER_UNIT


class PercentField(_Unit, forms.DecimalField):
    """A rate typed in per cent (25 for 25 %), given to the engine as a fraction ("0.25")."""

    unit = PERCENT

    def __init__(self, *, label, help_text="", required=True, initial=None, min_value=Decimal(0),
                 max_value=HUNDRED, **kw):
        super().__init__(label=label, help_text=help_text, required=required, initial=initial, max_digits=12,
                         decimal_places=6, min_value=min_value, max_value=max_value,
                         widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}), **kw)

    def engine(self, value):
        return _plain(value / HUNDRED)

    def shown(self, value):
        try:
            return _plain(Decimal(str(value)) * HUNDRED)
        except (InvalidOperation, ValueError):
            return value


class YearsField(_Unit, forms.DecimalField):
    unit = YEARS

    def __init__(self, *, label, help_text="", required=True, initial=None, whole=True, max_value=100, **kw):
        super().__init__(label=label, help_text=help_text, required=required, initial=initial, max_digits=8,
                         decimal_places=0 if whole else 2, min_value=Decimal(0), max_value=Decimal(max_value),
                         widget=forms.TextInput(attrs={"inputmode": "numeric" if whole else "decimal",
                                                       "autocomplete": "off"}), **kw)

    def engine(self, value):
        return int(value) if self.decimal_places == 0 else _plain(value)


class CountField(_Unit, forms.IntegerField):
    def __init__(self, *, label, help_text="", required=True, initial=None, min_value=1, max_value=200_000,
                 unit="", **kw):
        super().__init__(label=label, help_text=help_text, required=required, initial=initial, min_value=min_value,
                         max_value=max_value, widget=forms.TextInput(attrs={"inputmode": "numeric"}), **kw)
        self.unit = unit


class FactorField(_Unit, forms.DecimalField):
    """A plain multiplier (an adjustment factor, a volatility as a fraction)."""

    def __init__(self, *, label, help_text="", required=True, initial=None, **kw):
        super().__init__(label=label, help_text=help_text, required=required, initial=initial, max_digits=12,
                         decimal_places=6, min_value=Decimal(0),
                         widget=forms.TextInput(attrs={"inputmode": "decimal"}), **kw)


class SeriesField(_Unit, forms.CharField):
    """Yearly amounts, year 1 first: one per line, or separated by spaces or commas."""

    unit = YUAN

    def __init__(self, *, label, help_text="", required=True, initial=None, unit=YUAN, **kw):
        super().__init__(label=label, help_text=help_text, required=required, initial=initial, max_length=4000,
                         widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}), **kw)
        self.unit = unit

    def to_python(self, value):
        return forms.CharField.to_python(self, value)

    def clean(self, value):
        text = super().clean(value)
        if not text:
            return []
        values = []
        for token in _numbers(text):
            try:
                amount = Decimal(token)
            except InvalidOperation:
                raise forms.ValidationError(_("“%(value)s” is not an amount."), params={"value": token[:30]},
                                            code="invalid") from None
            if not amount.is_finite() or abs(amount) > MAX_YUAN:
                raise forms.ValidationError(_("Out of the allowed range."), code="invalid")
            values.append(amount)
        if len(values) > 100:
            raise forms.ValidationError(_("Give at most 100 years."), code="invalid")
        return values

    def engine(self, value):
        return [_plain(v) for v in value]

    def shown(self, value):
        return "\n".join(str(v) for v in value) if isinstance(value, list | tuple) else value


def _tax(initial="25"):
    return PercentField(label=_("Income tax rate"), initial=initial, max_value=Decimal("99.99"),
                        help_text=_("Enterprise income tax: 25 per cent for most firms, 15 for high-tech enterprises."))


def _discount(initial=None):
    return PercentField(label=_("Discount rate"), initial=initial,
                        help_text=_("Risk-adjusted annual rate in per cent, e.g. 12; see the discount-rate build-up."))


def _life():
    return YearsField(label=_("Economic life"), required=False,
                      help_text=_("Years the right keeps earning; the income period is the shorter of this and "
                                  "the legal term."))


def _legal():
    return YearsField(label=_("Remaining legal term"), required=False,
                      help_text=_("Left empty, it is taken from the register when the valuation is saved for a "
                                  "right."))


class MethodForm(forms.Form):
    """Base: each field's name is the engine's input name unless ``keys`` says otherwise."""

    method = ""
    keys: dict[str, str] = {}
    discounts = True  # whether the present-value factor mode applies

    def to_inputs(self) -> dict:
        out = {}
        for name, field in self.fields.items():
            value = self.cleaned_data.get(name)
            if value in (None, "", []):
                continue
            out[self.keys.get(name, name)] = field.engine(value) if isinstance(field, _Unit) else value
        return out

    @classmethod
    def initial_from_inputs(cls, inputs: dict) -> dict:
        inverse = {v: k for k, v in cls.keys.items()}
        fields = cls.base_fields
        out = {}
        for key, value in (inputs or {}).items():
            name = inverse.get(key, key)
            field = fields.get(name)
            if field is not None and not isinstance(value, dict):
                out[name] = field.shown(value) if isinstance(field, _Unit) else value
        return out



class IncomeForm(MethodForm):
    method = "income"
    keys = {"income": "income"}
    income = SeriesField(label=_("Income base per year"),
                         help_text=_("Profit or sales attributable to the products using the right, one amount per "
                                     "year, year 1 first, e.g. 1000000, 1100000, 1200000."))
    split_rate = PercentField(label=_("Split rate"),
                              help_text=_("Share of the income base due to the right, e.g. 25."))
    tax_rate = _tax()
    discount_rate = _discount()
    economic_life = _life()
    remaining_legal_years = _legal()


class IncrementalIncomeForm(MethodForm):
    method = "incremental_income"
    price_before = PerUnitField(label=_("Unit price without the right"))
    price_after = PerUnitField(label=_("Unit price with the right"))
    unit_cost_before = PerUnitField(label=_("Unit cost without the right"))
    unit_cost_after = PerUnitField(label=_("Unit cost with the right"))
    quantity = SeriesField(label=_("Quantity sold per year"), unit=UNITS,
                           help_text=_("Units sold each year, year 1 first."))
    tax_rate = _tax()
    discount_rate = _discount()
    economic_life = _life()
    remaining_legal_years = _legal()


class ExcessReturnForm(MethodForm):
    method = "excess_return"
    total_income = SeriesField(label=_("Total income per year"), help_text=_("The firm's income, year 1 first."))
    total_assets = YuanField(label=_("Total assets"))
    industry_return_rate = PercentField(label=_("Industry average return rate"),
                                        help_text=_("What the other assets earn in this industry, e.g. 8."))
    tax_rate = _tax()
    discount_rate = _discount()
    economic_life = _life()
    remaining_legal_years = _legal()


class RoyaltyForm(MethodForm):
    method = "relief_from_royalty"
    sales = SeriesField(label=_("Sales per year"), help_text=_("Sales of the products using the right, year 1 "
                                                               "first."))
    royalty_rate = PercentField(label=_("Royalty rate"), help_text=_("The licence fee a user would pay, as a "
                                                                     "share of sales, e.g. 3."))
    tax_rate = _tax()
    discount_rate = _discount()
    economic_life = _life()
    remaining_legal_years = _legal()


class MpeemForm(MethodForm):
    method = "mpeem"
    ebit = SeriesField(label=_("EBIT per year"), help_text=_("Earnings before interest and tax, year 1 first."))
    contributory_charges = SeriesField(label=_("Contributory asset charges per year"),
                                       help_text=_("The return due to the other assets each year, as many years "
                                                   "as the EBIT."))
    tax_rate = _tax()
    discount_rate = _discount()
    economic_life = _life()
    remaining_legal_years = _legal()


class EquivalentInvestmentForm(MethodForm):
    method = "equivalent_investment_split"
    discounts = False
    ip_cost = YuanField(label=_("Cost of the right"), help_text=_("Replacement or book cost of the right."))
    ip_cost_profit_rate = PercentField(label=_("Cost-profit rate of the right"), max_value=Decimal(10000))
    other_cost = YuanField(label=_("Cost of the other assets"))
    other_cost_profit_rate = PercentField(label=_("Cost-profit rate of the other assets"), max_value=Decimal(10000))
    ip_price_index_change = PercentField(label=_("Price-index change since acquisition"), required=False,
                                         min_value=Decimal(-99), max_value=Decimal(10000))


class CostForm(MethodForm):
    method = "cost"
    discounts = False
    replacement_cost = YuanField(label=_("Replacement cost"),
                                 help_text=_("What it would cost today to develop an equivalent right."))
    used_years = YearsField(label=_("Years used"), whole=False)
    remaining_years = YearsField(label=_("Remaining useful years"), whole=False)
    functional_obsolescence_rate = PercentField(label=_("Functional obsolescence"), required=False)
    economic_obsolescence_rate = PercentField(label=_("Economic obsolescence"), required=False)


class MarketForm(MethodForm):
    method = "market"
    discounts = False
    comparables = forms.CharField(
        label=_("Comparable transactions"), max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=_("One transaction per line: its price in yuan, then its adjustment factors (time, technology, "
                    "terms…), separated by spaces, e.g. 2000000 1.05 0.9 1.0. Practice asks for at least three."))

    def clean_comparables(self):
        rows = []
        for i, line in enumerate(t for t in self.cleaned_data["comparables"].splitlines() if t.strip()):
            numbers = _numbers(line)
            try:
                price, *factors = (Decimal(n) for n in numbers)
            except (InvalidOperation, ValueError):
                raise forms.ValidationError(_("Line %(line)s: give the price and then the factors as numbers."),
                                            params={"line": i + 1}, code="invalid") from None
            if price < 0 or price > MAX_YUAN or any(f <= 0 or f > 100 for f in factors):
                raise forms.ValidationError(_("Line %(line)s: prices must not be negative and factors must be "
                                              "positive."), params={"line": i + 1}, code="invalid")
            rows.append({"price": _plain(price), "factors": [_plain(f) for f in factors]})
        if not rows:
            raise forms.ValidationError(_("Give at least one comparable transaction."), code="required")
        if len(rows) > 50:
            raise forms.ValidationError(_("Give at most 50 comparable transactions."), code="invalid")
        return rows

    def to_inputs(self) -> dict:
        return {"comparables": self.cleaned_data["comparables"]}

    @classmethod
    def initial_from_inputs(cls, inputs: dict) -> dict:
        rows = [c for c in (inputs or {}).get("comparables") or [] if isinstance(c, dict) and "price" in c]
        return {"comparables": "\n".join(" ".join([str(c["price"]), *map(str, c.get("factors") or [])])
                                         for c in rows)}


class MonteCarloForm(MethodForm):
    """The income approach with its uncertain inputs drawn: the value's range (P10–P90)."""

    method = "monte_carlo_income"
    discounts = False
    revenue_mean = YuanField(label=_("Year-1 revenue, expected"),
                             help_text=_("Expected revenue of the products using the right in year 1."))
    revenue_sigma = FactorField(label=_("Revenue uncertainty (log standard deviation)"), initial="0.3",
                                help_text=_("0 for a known revenue; 0.3 means roughly 30 per cent either way."))
    growth = PercentField(label=_("Annual growth"), initial="0", min_value=Decimal(-99), max_value=Decimal(1000))
    years = YearsField(label=_("Projection years"))
    split_low = PercentField(label=_("Split rate, low"))
    split_mode = PercentField(label=_("Split rate, most likely"))
    split_high = PercentField(label=_("Split rate, high"))
    life = YearsField(label=_("Economic life"), required=False,
                      help_text=_("Empty: as many years as projected."))
    max_years = YearsField(label=_("Remaining legal term"), required=False, max_value=10000,
                           help_text=_("Left empty, it is taken from the register when the valuation is saved for "
                                       "a right."))
    rate_low = PercentField(label=_("Discount rate, low"))
    rate_high = PercentField(label=_("Discount rate, high"))
    hazard = PercentField(label=_("Annual chance of legal failure"), initial="2", max_value=Decimal("99.99"),
                          help_text=_("Chance per year that the right is invalidated or lapses, e.g. 2."))
    tax_rate = _tax()
    horizon = YearsField(label=_("Loan horizon"), initial=1, help_text=_("Years until the loan falls due."))
    paths = CountField(label=_("Simulated paths"), initial=10000, min_value=100, max_value=200_000)
    seed = CountField(label=_("Random seed"), required=False, min_value=0, max_value=2**62,
                      help_text=_("Empty: a new seed is drawn and kept, so the result can be reproduced."))

    def clean(self):
        data = super().clean()
        low, mode, high = data.get("split_low"), data.get("split_mode"), data.get("split_high")
        if None not in (low, mode, high) and not low <= mode <= high:
            self.add_error("split_mode", _("The most likely split rate lies between the low and the high one."))
        if None not in (data.get("rate_low"), data.get("rate_high")) and data["rate_low"] > data["rate_high"]:
            self.add_error("rate_high", _("The high discount rate must not be below the low one."))
        return data

    def to_inputs(self) -> dict:
        d, f = self.cleaned_data, self.fields
        pct = f["split_low"].engine
        out = {"revenue": {"dist": "lognormal", "mean": _plain(d["revenue_mean"]), "sigma": _plain(d["revenue_sigma"])}
               if d["revenue_sigma"] else _plain(d["revenue_mean"]),
               "growth": pct(d["growth"] or Decimal(0)), "years": int(d["years"]),
               "split": {"low": pct(d["split_low"]), "mode": pct(d["split_mode"]), "high": pct(d["split_high"])}
               if d["split_low"] != d["split_high"] else pct(d["split_mode"]),
               "rate": {"low": pct(d["rate_low"]), "high": pct(d["rate_high"])}
               if d["rate_low"] != d["rate_high"] else pct(d["rate_low"]),
               "hazard": pct(d["hazard"] or Decimal(0)), "tax_rate": pct(d["tax_rate"]),
               "horizon": int(d["horizon"] or 0), "paths": d["paths"]}
        if d.get("life") not in (None, ""):
            out["life"] = int(d["life"])
        if d.get("max_years") not in (None, ""):
            out["max_years"] = int(d["max_years"])
        if d.get("seed") is not None:
            out["seed"] = d["seed"]
        return out

    @classmethod
    def initial_from_inputs(cls, inputs: dict) -> dict:
        inputs = inputs or {}
        pct = cls.base_fields["split_low"].shown
        out = {k: inputs[k] for k in ("years", "horizon", "paths", "seed") if k in inputs}
        out.update({k: pct(inputs[k]) for k in ("growth", "hazard", "tax_rate") if k in inputs})
        for k in ("life", "max_years"):
            if k in inputs and not isinstance(inputs[k], dict):
                out[k] = inputs[k]
        revenue = inputs.get("revenue")
        if isinstance(revenue, dict):
            out["revenue_mean"] = revenue.get("mean") or revenue.get("mode") or revenue.get("value")
            out["revenue_sigma"] = revenue.get("sigma", "0")
        elif revenue is not None:
            out["revenue_mean"], out["revenue_sigma"] = revenue, "0"
        for key, parts in (("split", ("low", "mode", "high")), ("rate", ("low", "high"))):
            value = inputs.get(key)
            for part in parts:
                raw = value.get(part, value.get("low")) if isinstance(value, dict) else value
                if raw is not None:
                    out[f"{key}_{part}"] = pct(raw)
        return out

    aliases = {"revenue": "revenue_mean", "split": "split_mode", "rate": "rate_low"}


OPTION_CHOICES = [("call", _("Call (right to buy)")), ("put", _("Put (right to sell)"))]
STYLE_CHOICES = [("european", _("European (at expiry)")), ("american", _("American (any time)"))]


class BlackScholesForm(MethodForm):
    method = "black_scholes"
    discounts = False
    keys = {"underlying": "S", "strike": "K", "risk_free": "r", "volatility": "sigma", "expiry": "T",
            "leakage": "q"}
    underlying = YuanField(label=_("Value of the underlying"), min_value=Decimal("0.01"))
    strike = YuanField(label=_("Exercise price"), min_value=Decimal("0.01"))
    risk_free = PercentField(label=_("Risk-free rate"))
    volatility = PercentField(label=_("Volatility"), max_value=Decimal(1000), help_text=_("e.g. 40."))
    expiry = YearsField(label=_("Time to expiry"), whole=False)
    leakage = PercentField(label=_("Value leakage per year"), required=False,
                           help_text=_("About 100 divided by the remaining life in years."))
    option = forms.ChoiceField(label=_("Option type"), choices=OPTION_CHOICES)


class BinomialForm(MethodForm):
    method = "binomial"
    discounts = False
    keys = {"underlying": "S", "strike": "K", "risk_free": "r", "volatility": "sigma", "expiry": "T",
            "leakage": "q", "up": "u", "down": "d", "step": "dt"}
    underlying = YuanField(label=_("Value of the underlying"), min_value=Decimal("0.01"))
    strike = YuanField(label=_("Exercise price"), min_value=Decimal("0.01"))
    risk_free = PercentField(label=_("Risk-free rate"))
    leakage = PercentField(label=_("Value leakage per year"), required=False)
    step = YearsField(label=_("Step length"), whole=False, required=False,
                      help_text=_("Years per step; or give the time to expiry instead."))
    expiry = YearsField(label=_("Time to expiry"), whole=False, required=False)
    steps = CountField(label=_("Number of steps"), initial=3, max_value=2000)
    volatility = PercentField(label=_("Volatility"), required=False, max_value=Decimal(1000),
                              help_text=_("Give the volatility, or the up and down moves below."))
    up = FactorField(label=_("Up move"), required=False, help_text=_("e.g. 1.2"))
    down = FactorField(label=_("Down move"), required=False, help_text=_("e.g. 0.8333"))
    option = forms.ChoiceField(label=_("Option type"), choices=OPTION_CHOICES)
    style = forms.ChoiceField(label=_("Exercise style"), choices=STYLE_CHOICES)


class DiscountBuildUpForm(MethodForm):
    method = "discount_build_up"
    discounts = False
    risk_free = PercentField(label=_("Risk-free rate"), help_text=_("e.g. the 10-year treasury yield, 2.5."))
    technology = PercentField(label=_("Technology risk premium"))
    market = PercentField(label=_("Market risk premium"))
    funding = PercentField(label=_("Funding risk premium"))
    management = PercentField(label=_("Management risk premium"))


KIND_CHOICES = [("invention", _("Invention patent")), ("utility_model", _("Utility model")),
                ("design", _("Design patent")), ("trademark", _("Trademark")), ("copyright", _("Copyright")),
                ("software", _("Software copyright")), ("ic_layout", _("IC layout design")),
                ("geographical_indication", _("Geographical indication"))]


class BundleForm(MethodForm):
    """A package of rights valued as one unit (correlated simulation); always saved as a record."""

    method = "bundle"
    discounts = False
    rights_inputs = forms.CharField(
        label=_("Rights and their income"), max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=_("One right per line: its number, its product line, year-1 revenue in yuan and split rate in "
                    "per cent, e.g. ZL201410362077.3 A 5000000 20."))
    growth = PercentField(label=_("Annual growth"), initial="3", min_value=Decimal(-99), max_value=Decimal(1000))
    years = YearsField(label=_("Projection years"), initial=6)
    rate = PercentField(label=_("Discount rate"), initial="12")
    hazard = PercentField(label=_("Annual chance of legal failure"), initial="2", max_value=Decimal("99.99"))
    tax_rate = _tax()
    paths = CountField(label=_("Simulated paths"), initial=10000, min_value=100, max_value=200_000)
    seed = CountField(label=_("Random seed"), required=False, min_value=0, max_value=2**62)

    def clean_rights_inputs(self):
        rows = []
        for i, line in enumerate(t for t in self.cleaned_data["rights_inputs"].splitlines() if t.strip()):
            parts = line.split()
            if len(parts) != 4:
                raise forms.ValidationError(_("Line %(line)s: give the number, the product line, the revenue and "
                                              "the split rate."), params={"line": i + 1}, code="invalid")
            number, line_name, revenue, split = parts
            try:
                revenue, split = Decimal(revenue.replace(",", "")), Decimal(split)
            except InvalidOperation:
                raise forms.ValidationError(_("Line %(line)s: the revenue and the split rate are numbers."),
                                            params={"line": i + 1}, code="invalid") from None
            if not (0 <= revenue <= MAX_YUAN and 0 <= split <= 100):
                raise forms.ValidationError(_("Out of the allowed range."), code="invalid")
            right = lookup_right(number)
            if right is None:
                raise forms.ValidationError(_("Not in the register: %(numbers)s"), params={"numbers": number[:40]},
                                            code="not_found")
            rows.append({**right, "product_line": line_name[:20], "revenue": revenue, "split": split})
        if len(rows) < 2:
            raise forms.ValidationError(_("A bundle has at least two rights."), code="invalid")
        return rows

    def to_inputs(self) -> dict:
        d = self.cleaned_data
        pct = self.fields["rate"].engine
        shared = {"growth": pct(d["growth"]), "years": int(d["years"]), "life": int(d["years"]),
                  "rate": pct(d["rate"]), "hazard": pct(d["hazard"]), "tax_rate": pct(d["tax_rate"])}
        rights = [{"kind": r["kind"], "number": r["number"], "product_line": r["product_line"],
                   "revenue": _plain(r["revenue"]), "split": pct(r["split"]), **shared}
                  for r in d["rights_inputs"]]
        out = {"rights": rights, "paths": d["paths"]}
        if d.get("seed") is not None:
            out["seed"] = d["seed"]
        return out

    @classmethod
    def initial_from_inputs(cls, inputs: dict) -> dict:
        rows = (inputs or {}).get("rights") or []
        pct = cls.base_fields["rate"].shown
        out = {"rights_inputs": "\n".join(f"{r.get('number', '')} {r.get('product_line', 'A')} {r.get('revenue', '')} "
                                          f"{pct(r.get('split', '0'))}" for r in rows if isinstance(r, dict)),
               "paths": (inputs or {}).get("paths", 10000)}
        if rows and isinstance(rows[0], dict):
            first = rows[0]
            out.update({k: pct(first[k]) for k in ("growth", "rate", "hazard", "tax_rate") if k in first})
            if "years" in first:
                out["years"] = first["years"]
        return out


FORMS: dict[str, type[MethodForm]] = {f.method: f for f in (
    IncomeForm, IncrementalIncomeForm, ExcessReturnForm, RoyaltyForm, MpeemForm, EquivalentInvestmentForm,
    CostForm, MarketForm, MonteCarloForm, BundleForm, BlackScholesForm, BinomialForm, DiscountBuildUpForm)}
METHOD_CHOICES = [(m, METHOD_LABELS[m]) for m in FORMS]


def form_for(method: str, data=None, *, inputs: dict | None = None) -> MethodForm:
    cls = FORMS[method]
    initial = cls.initial_from_inputs(EXAMPLES.get(method, {}) if inputs is None else inputs)
    return cls(data, initial=initial, prefix=None)


FACTOR_CHOICES = [("exact", _("Exact")), ("table4", _("4-decimal tables (as in appraisal reports)"))]


def lookup_right(text: str) -> dict | None:
    """A right named as a person writes it — its number, or its kind and number — found in the register."""
    from ippledge.rights import services as rights_services

    parts = text.strip().split(None, 1)
    kinds = dict(KIND_CHOICES)
    if len(parts) == 2 and parts[0] in kinds:
        candidates, number = [parts[0]], parts[1]
    else:
        candidates, number = list(kinds), text.strip()
    for kind in candidates:
        try:
            right = rights_services.find_right(kind, number)
        except DomainError:
            continue
        return {"kind": right.kind, "number": right.number}
    return None


class RightsField(forms.CharField):
    """Rights named by number, one per line (the kind is found from the register)."""

    def __init__(self, **kw):
        super().__init__(widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false",
                                                      "placeholder": "ZL201410362077.3"}), max_length=2000, **kw)

    def clean(self, value):
        text = super().clean(value)
        found, missing = [], []
        for line in (t.strip() for t in (text or "").splitlines()):
            if line:
                hit = lookup_right(line)
                found.append(hit) if hit else missing.append(line[:40])
        if missing:
            raise forms.ValidationError(_("Not in the register: %(numbers)s"), params={"numbers": "、".join(missing)},
                                        code="not_found")
        if len(found) > 50:
            raise forms.ValidationError(_("Give at most 50 rights."), code="invalid")
        return found


class SaveForm(forms.Form):
    """What the calculator needs beyond the method's inputs."""

    factor_mode = forms.ChoiceField(label=_("Present-value factors"), choices=FACTOR_CHOICES, initial="exact",
                                    required=False)
    rights = RightsField(label=_("Rights valued"), required=False,
                         help_text=_("Needed to save the valuation: the rights' numbers, one per line."))

    def __init__(self, *args, require_rights: bool = False, **kw):
        super().__init__(*args, **kw)
        self.fields["rights"].required = require_rights


class RecordedValuationForm(forms.Form):
    """A valuation made elsewhere: an appraisal agency's report, or a value the bank and the enterprise agreed."""

    basis = forms.ChoiceField(label=_("Basis"), choices=[("external", _("External appraisal report")),
                                                         ("negotiated", _("Negotiated valuation"))])
    rights = RightsField(label=_("Rights valued"))
    market_value = YuanField(label=_("Value"), min_value=Decimal("0.01"),
                             help_text=_("The appraised or agreed value."))
    p10 = YuanField(label=_("Low end of the range (P10)"), required=False)
    p90 = YuanField(label=_("High end of the range (P90)"), required=False)
    agency = forms.ModelChoiceField(label=_("Appraisal agency"), queryset=None, required=False,
                                    help_text=_("Agencies admitted to the roster."))
    report_no = forms.CharField(label=_("Report number"), max_length=64, required=False)
    appraisers = forms.CharField(label=_("Appraisers"), max_length=500, required=False,
                                 help_text=_("The signing appraisers, separated by commas."))
    agreement_rule = forms.CharField(label=_("Rule used to agree"), max_length=300, required=False,
                                     help_text=_("How the bank and the enterprise agreed the value, e.g. the mean of "
                                                 "two appraisals."))

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        from .models import AppraisalAgency, RosterStatus

        self.fields["agency"].queryset = AppraisalAgency.objects.filter(status=RosterStatus.ADMITTED)

    def clean(self):
        data = super().clean()
        if data.get("basis") == "external":
            for name in ("agency", "report_no", "appraisers"):
                if not data.get(name):
                    self.add_error(name, _("An external valuation needs this."))
        elif data.get("basis") == "negotiated" and not data.get("agreement_rule"):
            self.add_error("agreement_rule", _("Say which rule the bank and the enterprise used to agree the value."))
        value = data.get("market_value")
        if value is not None:
            if data.get("p10") is not None and data["p10"] > value:
                self.add_error("p10", _("The low end is at most the value."))
            if data.get("p90") is not None and data["p90"] < value:
                self.add_error("p90", _("The high end is at least the value."))
        return data

    def to_data(self) -> dict:
        d = self.cleaned_data
        out = {"basis": d["basis"], "rights": d["rights"], "market_value": _plain(d["market_value"])}
        for key in ("p10", "p90"):
            if d.get(key) is not None:
                out[key] = _plain(d[key])
        if d["basis"] == "external":
            out.update(agency_id=d["agency"].pk, report_no=d["report_no"],
                       appraisers=[a.strip() for a in re.split(r"[,，、]", d["appraisers"]) if a.strip()])
        else:
            out["agreement_rule"] = d["agreement_rule"]
        return out


SCHEME_CHOICES = [("composite", _("Platform composite")), ("tech_sme", _("Tech-based SME")),
                  ("high_tech_ip", _("High-tech enterprise (IP section)")), ("innovative_sme", _("Innovative SME")),
                  ("zjtx", _("Specialised, refined, distinctive and novel SME"))]


class EnterpriseScoreForm(forms.Form):
    """What the register does not know about a firm's innovation: staff, R&D, sales, assets."""

    scheme = forms.ChoiceField(label=_("Scheme"), choices=SCHEME_CHOICES, initial="composite")
    staff_total = CountField(label=_("Staff"), required=False, min_value=0, max_value=10_000_000, unit=_("people"))
    tech_staff = CountField(label=_("Technical staff"), required=False, min_value=0, max_value=10_000_000,
                            unit=_("people"))
    rd_expense = YuanField(label=_("R&D expense"), required=False, help_text=_("Last financial year."))
    sales = YuanField(label=_("Sales"), required=False, help_text=_("Last financial year."))
    revenue = YuanField(label=_("Revenue"), required=False)
    total_assets = YuanField(label=_("Total assets"), required=False)

    def clean(self):
        data = super().clean()
        staff, tech = data.get("staff_total"), data.get("tech_staff")
        if staff is not None and tech is not None and tech > staff:
            self.add_error("tech_staff", _("Technical staff cannot exceed the staff."))
        return data

    def to_inputs(self) -> dict:
        out = {}
        for name, field in self.fields.items():
            value = self.cleaned_data.get(name)
            if name != "scheme" and value not in (None, ""):
                out[name] = str(value) if isinstance(field, CountField) else field.engine(value)
        return out


def apply_domain_error(form: forms.Form, exc: DomainError, aliases: dict[str, str] | None = None) -> None:
    """A service's refusal on the form by core's one bridge (:func:`ippledge.core.forms.apply_error`), with
    the engine's input names read as the form's fields (``S`` → ``underlying``, ``revenue`` → its mean)."""
    from ippledge.core.forms import apply_error

    names = dict(getattr(form, "aliases", {}) or {})
    names.update({v: k for k, v in (getattr(form, "keys", {}) or {}).items()})
    names.update(aliases or {})
    apply_error(form, exc, names)


class AgencyAdmitForm(forms.Form):
    """The operator or a regulator admits an appraisal agency to the roster."""

    organisation = forms.ModelChoiceField(label=_("Agency on the platform"), queryset=None, required=False,
                                          help_text=_("Its appraisers then file reports in its name."))
    name = forms.CharField(label=_("Name"), max_length=200, required=False,
                           help_text=_("Left empty: the organisation's name."))
    licence_no = forms.CharField(label=_("Licence number"), max_length=64)
    qualification = forms.CharField(label=_("Qualification"), max_length=200)
    specialities_ipc = forms.CharField(label=_("Fields (IPC)"), max_length=500, required=False,
                                       help_text=_("IPC classes separated by commas, e.g. G06F, H04L."))
    ip_kinds = forms.MultipleChoiceField(label=_("IP kinds"), required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, organisations=None, **kw):
        super().__init__(*args, **kw)
        from ippledge.core import vocabulary

        self.fields["organisation"].queryset = organisations
        self.fields["ip_kinds"].choices = list(vocabulary.labels("ip_kind").items())

    def clean(self):
        data = super().clean()
        if not data.get("name") and data.get("organisation") is None:
            self.add_error("name", _("Give the name, or choose the agency's organisation."))
        return data

    def to_data(self) -> dict:
        d = self.cleaned_data
        org = d.get("organisation")
        return {"name": d.get("name") or org.name, "organisation_id": org.pk if org else None,
                "licence_no": d["licence_no"], "qualification": d["qualification"],
                "specialities_ipc": d.get("specialities_ipc") or [], "ip_kinds": d.get("ip_kinds") or []}


class RosterStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("New status"), choices=[])
    reason = forms.CharField(label=_("Reason"), max_length=300)

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        from .models import RosterStatus

        self.fields["status"].choices = RosterStatus.choices


LEVEL_CHOICES = [("", _("From the register, or neutral (6)"))] + [(str(v), str(v)) for v in (10, 8, 6, 4, 2, 0)]


class ValueScoreForm(forms.Form):
    """The standardised value score of a right (indicator scoring, 指标评分): the register's facts plus
    the appraiser's levels for what the register cannot know, and the split rate it implies."""

    right = forms.CharField(label=_("Right"), max_length=60, help_text=_("Its number, e.g. ZL201410362077.3."))
    profile = forms.ChoiceField(label=_("Weights for"), choices=[], initial="finance")
    industry = forms.ChoiceField(label=_("Industry"), choices=[], required=False,
                                 help_text=_("To turn the score into a split rate inside the industry's band."))
    basis = forms.ChoiceField(label=_("Split of"), choices=[("sales", _("Sales")), ("profit", _("Profit"))],
                              initial="sales")

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        from ippledge.core import vocabulary

        self.fields["profile"].choices = [(k, str(v)) for k, v in vocabulary.labels("weight_profile").items()]
        self.fields["industry"].choices = [("", "—")] + [(k, str(v)) for k, v in
                                                         vocabulary.labels("industry_band").items()]
        for code, text in vocabulary.labels("value_indicator").items():
            self.fields[f"level_{code}"] = forms.ChoiceField(label=str(text), choices=LEVEL_CHOICES, required=False)

    def clean_right(self):
        hit = lookup_right(self.cleaned_data["right"])
        if hit is None:
            raise forms.ValidationError(_("Not in the register: %(numbers)s"),
                                        params={"numbers": self.cleaned_data["right"][:40]}, code="not_found")
        return hit

    def levels(self) -> dict:
        return {name[len("level_"):]: int(value) for name, value in self.cleaned_data.items()
                if name.startswith("level_") and value not in (None, "")}

    def indicator_fields(self):
        return [self[name] for name in self.fields if name.startswith("level_")]

    def main_fields(self):
        return [self[name] for name in ("right", "profile", "industry", "basis")]
