"""core.exact: the one parser of exact numbers for every engine, and the one field-error builder (issue 10.11).

Pure: no Django, no database.  Expected values are written by hand.
"""

from __future__ import annotations

import ast
from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ippledge.core import exact
from ippledge.core.errors import ValidationFailed

FAST = settings(max_examples=200, deadline=None)


def refused(call, *args, **kwargs) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        call(*args, **kwargs)
    return caught.value


# --------------------------------------------------------------------------- the error shape

def test_invalid_has_one_shape_code_and_field():
    error = exact.invalid("need.amount", "Not a number.")
    assert error.code == "invalid_input" and error.status == 422
    assert error.as_dict() == {"error": {"code": "invalid_input", "message": "Not a number.",
                                         "fields": {"need.amount": ["Not a number."]}}}


def test_invalid_fills_params_in_the_message_and_the_field():
    error = exact.invalid("staff", "Needs %(indicator)s.", code="x", indicator="staff")
    assert error.code == "x" and str(error) == "Needs staff."
    assert error.fields == {"staff": ["Needs staff."]}


def test_invalid_may_carry_a_summary_other_than_the_field_message():
    error = exact.invalid("u", "Must not be negative.", summary="The valuation inputs are not valid.")
    assert error.message == "The valuation inputs are not valid." and error.fields == {"u": ["Must not be negative."]}


# --------------------------------------------------------------------------- what is a number

@pytest.mark.parametrize("value, expected", [
    ("12", D(12)), (" 12.50 ", D("12.50")), ("-0.0425", D("-0.0425")), ("+5", D(5)), (".5", D("0.5")),
    ("5.", D(5)), (12, D(12)), (D("3.14"), D("3.14")), ("1E+3", D(1000)), ("1e-3", D("0.001")),
    ("1000000000000000000", D(10) ** 18),
])
def test_exact_inputs_are_read_as_given(value, expected):
    parsed = exact.decimal(value, "x")
    assert parsed == expected and isinstance(parsed, D)


@pytest.mark.parametrize("value", [
    True, False, 1.5, 0.0, float("nan"), float("inf"), None, [], {}, object(),
    "", " ", "abc", "1.2.3", "1,000", "1_000", "0x10", "NaN", "nan", "sNaN", "Infinity", "-inf",
    "１２", "١٢", "१२", "1 000", "1\u00a0000",
    D("NaN"), D("Infinity"), D("-Infinity"),
])
def test_what_is_not_an_exact_number_is_refused(value):
    error = refused(exact.decimal, value, "need.amount")
    assert error.code == "invalid_input" and set(error.fields) == {"need.amount"}


def test_messages_say_what_is_wrong():
    assert refused(exact.decimal, 1.5, "x").fields["x"] == [exact.FLOAT]
    assert refused(exact.decimal, None, "x").fields["x"] == [exact.REQUIRED]
    assert refused(exact.decimal, "１２", "x").fields["x"] == [exact.NOT_A_NUMBER]
    assert refused(exact.decimal, True, "x").fields["x"] == [exact.NOT_A_NUMBER]
    assert refused(exact.decimal, "1e400", "x").fields["x"] == [exact.OUT_OF_RANGE]


@pytest.mark.parametrize("value", ["1e400", "1E+19", "-1e19", 10 ** 19, D("1e400"), "1e999999999999",
                                   "1" * 29, "0." + "1" * 29, D("1." + "1" * 28)])
def test_numbers_too_large_or_too_precise_to_compute_on_are_refused(value):
    # 1e400 is a finite Decimal; no business quantity is that large, and more than 28 significant
    # digits could not be computed on exactly in the default context.
    assert refused(exact.decimal, value, "x").fields["x"] == [exact.OUT_OF_RANGE]


def test_trailing_zeros_do_not_count_as_digits():
    assert exact.decimal("1." + "0" * 40, "x") == 1
    assert exact.decimal("1e-40", "x") == D("1e-40")


def test_floats_only_where_the_caller_allows_them_and_then_by_their_shortest_form():
    assert exact.decimal(0.1, "x", floats=True) == D("0.1")
    assert exact.decimal(1234.565, "x", floats=True) == D("1234.565")
    assert refused(exact.decimal, float("nan"), "x", floats=True).fields["x"] == [exact.NOT_A_NUMBER]
    assert refused(exact.decimal, float("inf"), "x", floats=True).fields["x"] == [exact.NOT_A_NUMBER]
    assert refused(exact.decimal, True, "x", floats=True).fields["x"] == [exact.NOT_A_NUMBER]


def test_thousands_separators_only_when_asked_and_only_in_groups_of_three():
    assert exact.decimal("1,234,567.89", "x", thousands=True) == D("1234567.89")
    assert exact.decimal("999", "x", thousands=True) == 999
    for bad in ("1,2,3", "1000,00", ",100", "1,0000", "12,345,67"):
        refused(exact.decimal, bad, "x", thousands=True)


def test_plain_form_refuses_exponents_and_signs_other_than_minus():
    assert exact.decimal("-12.5", "x", plain=True) == D("-12.5")
    for bad in ("1e3", "+5", ".5", "5."):
        refused(exact.decimal, bad, "x", plain=True)


def test_code_and_message_can_be_the_callers():
    error = refused(exact.decimal, "abc", "amount", code="invalid_amount", message="Give yuan.")
    assert error.code == "invalid_amount" and error.fields == {"amount": ["Give yuan."]}


# --------------------------------------------------------------------------- bounds and places

def test_bounds_inclusive_and_exclusive():
    assert exact.decimal("0", "x", minimum=0) == 0
    assert exact.decimal("1", "x", maximum=1) == 1
    assert refused(exact.decimal, "-0.01", "x", minimum=0).fields["x"] == [exact.BELOW_MINIMUM]
    assert refused(exact.decimal, "1.01", "x", maximum=1).fields["x"] == [exact.ABOVE_MAXIMUM]
    assert refused(exact.decimal, "0", "x", above=0).fields["x"] == [exact.BELOW_MINIMUM]
    assert refused(exact.decimal, "1", "x", below=1).fields["x"] == [exact.ABOVE_MAXIMUM]
    assert exact.decimal("0.999", "x", above=0, below=1) == D("0.999")
    assert refused(exact.decimal, "2", "x", maximum=1, range_message="Too big.").fields["x"] == ["Too big."]


def test_places_are_counted_on_the_value_not_the_text():
    assert exact.decimal("1.230", "x", places=2) == D("1.230")
    assert exact.decimal("1e3", "x", places=0) == 1000
    error = refused(exact.decimal, "1.234", "x", places=2)
    assert error.fields["x"] == [exact.PLACES % {"places": 2}]


def test_integer():
    assert exact.decimal("12.0", "x", integer=True) == 12
    assert refused(exact.decimal, "12.5", "x", integer=True).fields["x"] == [exact.WHOLE]
    assert exact.whole("12", "n") == 12 and isinstance(exact.whole("12", "n"), int)
    assert refused(exact.whole, "0", "n", minimum=1).code == "invalid_input"
    assert refused(exact.whole, 12.0, "n").fields["n"] == [exact.FLOAT]


def test_optional():
    assert exact.optional_decimal(None, "x") is None and exact.optional_decimal("", "x") is None
    assert exact.optional_decimal("2", "x", minimum=1) == 2
    refused(exact.optional_decimal, "abc", "x")
    refused(exact.optional_decimal, " ", "x")


def test_non_negative():
    assert exact.non_negative("0", "x") == 0
    assert refused(exact.non_negative, "-1", "x").fields["x"] == [exact.NEGATIVE]


def test_amount_to_the_fen():
    assert exact.amount("12.5", "x") == D("12.50") and str(exact.amount("12.5", "x")) == "12.50"
    assert exact.amount(12, "x") == D("12.00")
    assert refused(exact.amount, "-1", "x").fields["x"] == [exact.NEGATIVE_AMOUNT]
    assert refused(exact.amount, "1.005", "x").fields["x"] == [exact.FEN_PLACES]
    assert refused(exact.amount, 1.5, "x").fields["x"] == [exact.FLOAT]


def test_fraction():
    assert exact.fraction("0", "x") == 0 and exact.fraction("1", "x") == 1
    assert exact.fraction("0.0425", "x", below=1) == D("0.0425")
    assert refused(exact.fraction, "1", "x", below=1).fields["x"] == [exact.FRACTION]
    assert refused(exact.fraction, "-0.1", "x").fields["x"] == [exact.FRACTION]
    assert exact.fraction("-0.5", "x", minimum=-1) == D("-0.5")


# --------------------------------------------------------------------------- properties

@FAST
@given(st.decimals(allow_nan=False, allow_infinity=False, places=6, min_value=-10 ** 12, max_value=10 ** 12))
def test_a_decimal_and_its_text_parse_to_the_same_number(value):
    assert exact.decimal(value, "x") == value
    assert exact.decimal(str(value), "x") == value
    assert exact.decimal(f" {value:f} ", "x") == value


@FAST
@given(st.integers(min_value=-10 ** 18, max_value=10 ** 18))
def test_ints_within_the_bound_are_exact(value):
    assert exact.decimal(value, "x") == value and exact.whole(str(value), "x") == value


@FAST
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_floats_are_never_read_by_default(value):
    assert refused(exact.decimal, value, "x").fields["x"] == [exact.FLOAT]


@FAST
@given(st.text(alphabet=st.characters(categories=("Nd",)), min_size=1, max_size=6))
def test_only_ascii_digits_are_digits(text):
    if text.isascii():
        assert exact.decimal(text, "x") == int(text)
    else:
        assert refused(exact.decimal, text, "x").fields["x"] == [exact.NOT_A_NUMBER]


@FAST
@given(st.text(max_size=12))
def test_any_text_is_a_number_or_a_field_error(text):
    try:
        parsed = exact.decimal(text, "x")
    except ValidationFailed as error:
        assert error.code == "invalid_input" and set(error.fields) == {"x"}
    else:
        assert parsed.is_finite() and parsed.copy_abs() <= exact.MAX_MAGNITUDE


@FAST
@given(st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=0, max_value=10 ** 12))
def test_amounts_are_given_back_to_the_fen_unchanged(value):
    parsed = exact.amount(str(value), "x")
    assert parsed == value and parsed.as_tuple().exponent == -2


# --------------------------------------------------------------------------- the engines read through it

def test_scoring_reads_numbers_and_dates_through_core():
    from ippledge.valuation.engine import scoring

    for bad, message in (("１２", exact.NOT_A_NUMBER), ("1e400", exact.OUT_OF_RANGE), ("NaN", exact.NOT_A_NUMBER),
                         (True, exact.NOT_A_NUMBER)):
        assert refused(scoring.number, bad, "licences").fields == {"licences": [message]}
    assert scoring.optional_number({"x": ""}, "x") is None
    refused(scoring.optional_number, {"x": "-1"}, "x")  # the floor stays 0
    for bad in ("20240101", "2024-W01-1"):
        assert refused(scoring.as_date, bad, "on").fields == {"on": ["Enter a date as YYYY-MM-DD."]}


def test_enterprise_size_reads_numbers_through_core():
    from ippledge.credit.engine.size import size_class

    assert size_class("industry", 300, "20,000,000") == "medium"
    assert refused(size_class, "industry", "３００", "20000000").fields == {
        "staff": ["Give the number of staff as a whole number."]}
    assert refused(size_class, "industry", 300, "1e400").fields == {"revenue": [exact.OUT_OF_RANGE]}
    assert refused(size_class, "industry", 300, "20000,000").fields == {"revenue": [exact.NOT_A_NUMBER]}
    assert refused(size_class, "construction", None, "60000000").fields == {
        "assets": ["This industry's size rule needs assets."]}


def test_matching_reads_amounts_through_core():
    from ippledge.credit.engine.matching import eligibility

    product = {"id": "P", "eligible_kinds": ["invention"], "ltv_caps": {"invention": "0.3"}}
    for bad, message in (("１２", exact.NOT_A_NUMBER), ("1e400", exact.OUT_OF_RANGE), (1.5, exact.FLOAT)):
        need = {"amount": bad, "term_months": 12, "rights": []}
        assert refused(eligibility, need, product).fields == {"need.amount": [message]}
    need = {"amount": "100", "term_months": 12, "rights": [{"kind": "invention", "market_value": "1e400"}]}
    assert refused(eligibility, need, product).fields == {"need.rights": [exact.OUT_OF_RANGE]}


def test_business_limits_parse_through_core_and_keep_their_codes():
    from ippledge.core import limits

    assert limits.amount("1,000.50") == D("1000.50") and limits.amount("0", allow_zero=True) == 0
    for bad in ("1000,00", "1,0000", "1e3", "+5", "１２", "1_000", 1.5, True, None, "NaN", "1000.001"):
        error = refused(limits.amount, bad, field="amount")
        assert error.code == "invalid_amount" and list(error.fields) == ["amount"], bad
    assert refused(limits.amount, "0", field="amount").code == "invalid_amount"
    assert refused(limits.amount, "20000000000", field="amount").code == "amount_out_of_range"

    assert limits.rate("0.0385") == D("0.0385")
    for bad in ("1e-2", "0.123456789", "NaN", 0.05, "", "１"):
        assert refused(limits.rate, bad, field="rate").code == "invalid_rate", bad
    assert refused(limits.rate, "0.5", field="rate").code == "rate_out_of_range"

    assert limits.count("12", field="n", high=100) == 12 and limits.count(12, field="n", high=100) == 12
    for bad in ("1_000", "１２", "12.5", 12.0, True, None, "101", "-1"):
        error = refused(limits.count, bad, field="n", high=5000 if bad == "1_000" else 100)
        assert error.code == "out_of_range" and error.fields == {"n": ["Give a whole number from 0 to %s."
                                                                         % (5000 if bad == "1_000" else 100)]}, bad


def test_the_registry_reads_a_stored_amount_through_core():
    from ippledge.registry.parsing import decimal_or_none

    assert decimal_or_none("1234.50") == D("1234.50") and decimal_or_none(None) is None and decimal_or_none("") is None
    for bad in ("abc", "NaN", "１２"):
        assert refused(decimal_or_none, bad).fields == {"secured_debt.amount": [exact.NOT_A_NUMBER]}


@pytest.mark.parametrize("row", [{"households": "１２"}, {"households": "1e400"}, {"npl_ratio": "NaN"},
                                 {"npl_ratio": "٤.٤"}, {"amount_lent": "1_000"}, {"households": True}])
def test_report_exports_read_cells_through_core(row):
    from ippledge.reporting.exports import to_csv, to_xlsx

    columns = [{"key": "households", "kind": "count"}, {"key": "npl_ratio", "kind": "percent"},
               {"key": "amount_lent", "kind": "wan"}]
    # A cell that is not an exact number is a programming error of the report, as a fractional fen is.
    with pytest.raises(ValueError):
        to_csv(columns, [row])
    with pytest.raises(ValueError):
        to_xlsx(title="t", as_of="x", notes=[], sheets=[{"name": "s", "columns": columns, "rows": [row]}])


def test_report_exports_still_take_floats_and_totals_beyond_64_bits():
    from ippledge.reporting.exports import to_csv

    text = to_csv([{"key": "p", "kind": "percent"}, {"key": "a", "kind": "wan"}],
                  [{"p": 4.4, "a": 18_000_000_000_600_000_000}]).decode("utf-8-sig")
    assert text.splitlines()[1] == "4.40,18000000000600.00"


def test_a_computed_total_may_drop_the_magnitude_bound_but_not_the_digits_bound():
    assert exact.decimal(18_000_000_000_600_000_000, "x", magnitude=None) == 18_000_000_000_600_000_000
    assert refused(exact.decimal, 10 ** 30, "x", magnitude=None).fields["x"] == [exact.OUT_OF_RANGE]
    assert refused(exact.decimal, "1e400", "x", magnitude=10 ** 24).fields["x"] == [exact.OUT_OF_RANGE]


# --------------------------------------------------------------------------- one home

SRC = Path(__file__).resolve().parent.parent / "src" / "ippledge"
# Still carrying their own parser or error builder while their owners finish other work (issue 10.11);
# each is to call core.exact (the lead's list of which helper becomes which core function).
PENDING_PARSERS = {"valuation/engine/trace.py", "reporting/engine/rules.py",
                   "core/money.py",
                   # Issue 11's page forms read typed numbers (per cent, lists per year) themselves;
                   # to move onto core.exact like the API's inputs.
                   "credit/product_views.py", "valuation/forms.py", "valuation/labels.py"}
PENDING_BUILDERS = {"credit/inputs.py",
                    "valuation/engine/factors.py", "reporting/engine/rules.py"}


def _modules():
    for path in SRC.rglob("*.py"):
        if "migrations" not in path.parts and path != SRC / "core" / "exact.py":
            yield str(path.relative_to(SRC)), ast.parse(path.read_text(encoding="utf-8"))


def _parses_decimals(tree: ast.AST) -> bool:
    """Catches decimal.InvalidOperation: it reads numbers from text itself."""
    return any(isinstance(node, ast.ExceptHandler) and "InvalidOperation" in ast.unparse(node.type or ast.Pass())
               for node in ast.walk(tree))


def _builds_field_errors(tree: ast.AST) -> bool:
    """Has a generic error builder of its own: a function returning ValidationFailed(..., fields={<its
    field parameter>: ...}) (one particular error with a fixed field is not a builder)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            params = {a.arg for a in node.args.args + node.args.kwonlyargs}
            for ret in ast.walk(node):
                if isinstance(ret, ast.Return) and isinstance(ret.value, ast.Call) \
                        and ast.unparse(ret.value.func) == "ValidationFailed":
                    fields = [k.value for k in ret.value.keywords if k.arg == "fields"]
                    if fields and isinstance(fields[0], ast.Dict) and any(
                            isinstance(key, ast.Name) and key.id in params for key in fields[0].keys):
                        return True
    return False


def test_numbers_are_parsed_and_field_errors_built_only_in_core_exact():
    modules = dict(_modules())
    parsers = {name for name, tree in modules.items() if _parses_decimals(tree)}
    builders = {name for name, tree in modules.items() if _builds_field_errors(tree)}
    assert parsers <= PENDING_PARSERS, parsers - PENDING_PARSERS
    assert builders <= PENDING_BUILDERS, builders - PENDING_BUILDERS
