"""Indicator scoring and enterprise innovation-capability schemes (pure: no Django, no database).

Expected values are worked out by hand from valuation-methods.md §1, §4 and §6 and the tables in
valuation/data, not taken from the module.  Run: pytest tests/test_valuation_scoring.py -p no:django
--noconftest.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ippledge.core.errors import ValidationFailed
from ippledge.valuation.engine import innovation, scoring
from ippledge.valuation.engine.innovation import (
    composite,
    evaluate,
    grade_for,
    high_tech_ip,
    innovative_sme,
    tech_sme,
    validate_weights,
    zjtx,
)
from ippledge.valuation.engine.scoring import (
    cohort_key,
    cohort_normalise,
    copyright_score,
    high_value_patent,
    load_table,
    objective_indicators,
    patent_value_degree,
    split_for,
    split_from_score,
    trademark_score,
    validate_profile,
)
from ippledge.valuation.engine.trace import Trace

FAST = settings(max_examples=60, deadline=None)
D = Decimal

ALL_INDICATORS = [name for names in scoring.indicator_names().values() for name in names]


def fields_of(excinfo) -> set[str]:
    return set(excinfo.value.fields)


# --------------------------------------------------------------------------------------------
# Data files
# --------------------------------------------------------------------------------------------

def test_every_weight_profile_sums_to_one():
    model = load_table("weight_profiles.json")
    assert {"finance", "transaction", "general"} <= set(model["profiles"])
    for name, profile in model["profiles"].items():
        checked = validate_profile(profile)
        assert checked["alpha"] + checked["beta"] + checked["gamma"] == 1, name
        for degree, weights in checked["weights"].items():
            assert sum(weights.values()) == 1, (name, degree)
            assert set(weights) == set(model["degrees"][degree]["indicators"])


def test_indicator_vocabulary():
    assert len(ALL_INDICATORS) == len(set(ALL_INDICATORS)) == 18
    assert scoring.indicator_names()["LVD"] == [
        "stability", "non_circumventability", "dependency", "infringement_detectability", "remaining_term",
        "multi_country", "licensing_litigation"]
    assert len(scoring.indicator_names()["TVD"]) == 6 and len(scoring.indicator_names()["EVD"]) == 5


def test_finance_profile_emphasises_legal_stability_and_term():
    finance = scoring.weight_profile("finance")
    assert finance["alpha"] > finance["beta"] and finance["alpha"] > finance["gamma"]
    legal = finance["weights"]["LVD"]
    assert sorted(legal, key=legal.get, reverse=True)[:2] == ["stability", "remaining_term"]


def test_bad_profiles_are_refused():
    good = load_table("weight_profiles.json")["profiles"]["finance"]
    skewed = {**good, "alpha": "0.60"}
    with pytest.raises(ValidationFailed):
        validate_profile(skewed)
    uneven = {**good, "weights": {**good["weights"], "EVD": {**good["weights"]["EVD"], "policy_fit": "0.20"}}}
    with pytest.raises(ValidationFailed):
        validate_profile(uneven)
    with pytest.raises(ValidationFailed) as exc:
        patent_value_degree({}, profile="no-such-profile")
    assert exc.value.code == "unknown_profile"


def test_scheme_tables_add_up():
    tables = load_table("innovation_tables.json")
    sme = tables["tech_sme"]
    assert sme["tech_staff"]["max"] + sme["rd_sales"]["max"] + sme["ip"]["max"] == 100
    assert sum(tables["high_tech"]["sections"].values()) == 100
    ip_items = tables["high_tech"]["ip_items"]
    assert [ip_items[k]["max"] for k in ("advancement", "core_support", "quantity", "acquisition")] == [8, 8, 8, 6]
    for scheme in ("innovative_sme", "zjtx", "composite"):
        spec = tables[scheme]
        assert sum(spec["groups"].values()) == 100, scheme
        for group, maximum in spec["groups"].items():
            members = [i["max"] for i in spec["indicators"].values() if i["group"] == group]
            assert sum(members) == maximum, (scheme, group)
    assert tables["innovative_sme"]["groups"] == {"innovation": 40, "growth": 30, "specialisation": 30}
    assert tables["zjtx"]["groups"] == {"specialisation": 25, "refinement": 25, "distinctiveness": 15,
                                        "innovation": 35}


def test_royalty_bands_are_the_textbook_bands():
    bands = load_table("royalty_bands.json")
    expected = {
        "petrochemical": ("0.005", "0.02"), "consumer_goods": ("0.01", "0.025"), "machinery": ("0.015", "0.03"),
        "chemicals": ("0.02", "0.035"), "pharmaceuticals": ("0.025", "0.04"), "electrical": ("0.03", "0.045"),
        "precision_electronics": ("0.04", "0.055"), "automotive": ("0.045", "0.06"),
        "optical_electronic": ("0.07", "0.10"), "software": ("0.05", "0.25"),
    }
    assert {k: (D(v["low"]), D(v["high"])) for k, v in bands["sales"].items()} == \
        {k: (D(lo), D(hi)) for k, (lo, hi) in expected.items()}
    assert (D(bands["profit"]["default"]["low"]), D(bands["profit"]["default"]["high"])) == (D("0.25"), D("0.33"))


def test_load_table_returns_a_private_copy():
    first = load_table("royalty_bands.json")
    first["sales"].clear()
    assert load_table("royalty_bands.json")["sales"]


# --------------------------------------------------------------------------------------------
# 科技型中小企业
# --------------------------------------------------------------------------------------------

def sme(**kw) -> dict:
    """A small firm: 100 staff, 30 in tech (30%), R&D 6% of sales, no IP."""
    base = {"staff_total": 100, "tech_staff": 30, "rd_expense": "600000", "sales": "10000000",
            "total_assets": "5000000"}
    base.update(kw)
    return base


@pytest.mark.parametrize(("tech", "staff", "points"), [
    (30, 100, 20), (2999, 10000, 16),
    (25, 100, 16), (2499, 10000, 12),
    (20, 100, 12), (1999, 10000, 8),
    (15, 100, 8), (1499, 10000, 4),
    (10, 100, 4), (999, 10000, 0),
    (0, 100, 0), (100, 100, 20),
])
def test_tech_staff_bands(tech, staff, points):
    part = tech_sme(sme(tech_staff=tech, staff_total=staff))["parts"]["tech_staff"]
    assert part["points"] == points
    assert part["ratio"] == (D(tech) / D(staff)).quantize(D("0.0001"))


@pytest.mark.parametrize(("rd", "points"), [
    ("600", 50), ("599", 40),
    ("500", 40), ("499", 30),
    ("400", 30), ("399", 20),
    ("300", 20), ("299", 10),
    ("200", 10), ("199", 0),
    ("0", 0), ("10000", 50),
])
def test_rd_to_sales_bands(rd, points):
    # sales 10,000: 600 = exactly 6%, 599 = 5.99% …
    part = tech_sme(sme(rd_expense=rd, sales="10000"))["parts"]["rd"]
    assert (part["basis"], part["points"]) == ("sales", points)


@pytest.mark.parametrize(("rd", "points"), [
    ("3000", 50), ("2999", 40),
    ("2500", 40), ("2499", 30),
    ("2000", 30), ("1999", 20),
    ("1500", 20), ("1499", 10),
    ("1000", 10), ("999", 0),
    ("0", 0),
])
@pytest.mark.parametrize("sales", [None, "0"])
def test_rd_to_total_cost_bands_when_sales_missing_or_zero(rd, points, sales):
    inputs = sme(rd_expense=rd, total_cost="10000", revenue="10000")
    inputs.pop("sales")
    if sales is not None:
        inputs["sales"] = sales
    part = tech_sme(inputs)["parts"]["rd"]
    assert (part["basis"], part["points"]) == ("total_cost", points)


def test_rd_basis_takes_the_better_measure_unless_told():
    # R&D 100 on sales 10,000 (1%: 0 points) and on total cost 900 (11.1%: 10 points).
    both = sme(rd_expense="100", sales="10000", total_cost="900")
    assert tech_sme(both)["parts"]["rd"]["basis"] == "total_cost"
    assert tech_sme(both)["parts"]["rd"]["points"] == 10
    assert tech_sme({**both, "rd_basis": "sales"})["parts"]["rd"]["points"] == 0
    with pytest.raises(ValidationFailed):
        tech_sme({**sme(rd_expense="100", sales="10000"), "rd_basis": "total_cost"})
    no_base = sme()
    no_base.pop("sales")
    with pytest.raises(ValidationFailed) as exc:
        tech_sme({**no_base, "revenue": "1000"})
    assert {"sales", "total_cost"} <= fields_of(exc)


@pytest.mark.parametrize(("class1", "class2", "points"), [
    (0, 0, 0), (0, 1, 6), (0, 2, 12), (0, 3, 18), (0, 4, 24), (0, 9, 24),
    (1, 0, 30), (1, 4, 30), (3, 0, 30),
])
def test_ip_points(class1, class2, points):
    part = tech_sme(sme(class1_ip=class1, class2_ip=class2))["parts"]["ip"]
    assert (part["class1"], part["class2"], part["points"]) == (class1, class2, points)


@pytest.mark.parametrize(("field", "value", "ok"), [
    ("staff_total", 500, True), ("staff_total", 501, False),
    ("revenue", "200000000", True), ("revenue", "200000001", False),
    ("total_assets", "200000000", True), ("total_assets", "200000001", False),
])
def test_eligibility_limits(field, value, ok):
    # The firm scores at least 16 + 50 = 66 either way; only its size decides.
    inputs = sme(tech_staff=150 if field == "staff_total" else 30, **{field: value})
    result = tech_sme(inputs)
    assert result["score"] >= 66
    assert result["eligibility"]["checks"][field]["ok"] is ok
    assert result["eligibility"]["eligible"] is ok
    assert result["qualified"] is ok
    assert result["eligibility"]["checks"]["revenue"]["limit"] == 200000000


def test_revenue_defaults_to_sales_for_the_size_limit():
    result = tech_sme(sme(sales="200000001", rd_expense="20000000"))
    assert result["eligibility"]["checks"]["revenue"]["ok"] is False and not result["qualified"]


def test_qualified_rules():
    # 0 (0% tech staff) + 30 (R&D 4%) + 30 (Class I) = 60, but tech-staff points are 0.
    zero_tech = tech_sme(sme(tech_staff=0, rd_expense="400000", class1_ip=1))
    assert (zero_tech["score"], zero_tech["parts"]["tech_staff"]["points"]) == (60, 0)
    assert zero_tech["qualified"] is False and zero_tech["route"] is None
    # 4 (10%) + 50 (6%) + 6 (one Class II) = 60 exactly: qualified.
    just = tech_sme(sme(tech_staff=10, class2_ip=1))
    assert (just["score"], just["qualified"], just["route"]) == (60, True, "score")
    # 8 + 50 + 0 = 58: not qualified.
    below = tech_sme(sme(tech_staff=15))
    assert (below["score"], below["qualified"]) == (58, False)
    # A direct condition qualifies an eligible firm whatever its score …
    direct = tech_sme(sme(tech_staff=0, rd_expense="0", direct_conditions=["high_tech_enterprise"]))
    assert (direct["score"], direct["qualified"], direct["route"]) == (0, True, "direct")
    # … but never an ineligible one, and a full score does not help an ineligible firm either.
    too_big = tech_sme(sme(staff_total=501, tech_staff=501, class1_ip=1, direct_conditions=["led_standard"]))
    assert (too_big["score"], too_big["qualified"]) == (100, False)
    with pytest.raises(ValidationFailed):
        tech_sme(sme(direct_conditions=["made_up"]))


def test_tech_sme_input_validation():
    with pytest.raises(ValidationFailed) as exc:
        tech_sme({"staff_total": 10})
    assert exc.value.code == "invalid_input"
    assert {"tech_staff", "rd_expense", "revenue", "total_assets"} <= fields_of(exc)
    with pytest.raises(ValidationFailed) as exc:
        tech_sme(sme(tech_staff=101))
    assert fields_of(exc) == {"tech_staff"}
    with pytest.raises(ValidationFailed):
        tech_sme(sme(rd_expense=1.5))  # floats are refused
    with pytest.raises(ValidationFailed):
        tech_sme(sme(class2_ip="1.5"))


@FAST
@given(staff=st.integers(1, 2000), tech_share=st.integers(0, 100), rd=st.integers(0, 10**7),
       sales=st.integers(0, 10**8), cost=st.integers(1, 10**8), c1=st.integers(0, 3), c2=st.integers(0, 12))
def test_tech_sme_scores_stay_within_maxima(staff, tech_share, rd, sales, cost, c1, c2):
    tech = staff * tech_share // 100
    result = tech_sme({"staff_total": staff, "tech_staff": tech, "rd_expense": rd, "sales": str(sales),
                       "total_cost": str(cost), "total_assets": "1000", "revenue": "1000",
                       "class1_ip": c1, "class2_ip": c2})
    parts = result["parts"]
    assert 0 <= parts["tech_staff"]["points"] <= 20
    assert 0 <= parts["rd"]["points"] <= 50
    assert 0 <= parts["ip"]["points"] <= 30
    assert result["score"] == sum(p["points"] for p in parts.values()) <= 100
    assert result["qualified"] == (staff <= 500 and result["score"] >= 60 and parts["tech_staff"]["points"] > 0)


@FAST
@given(c1=st.integers(0, 2), c2=st.integers(0, 20), more=st.integers(1, 5))
def test_more_class2_ip_never_lowers_ip_points(c1, c2, more):
    def points(n: int) -> int:
        return tech_sme(sme(class1_ip=c1, class2_ip=n))["parts"]["ip"]["points"]
    assert points(c2 + more) >= points(c2)


# --------------------------------------------------------------------------------------------
# 高新技术企业
# --------------------------------------------------------------------------------------------

def full_ip(**kw) -> dict:
    """IP section at 30: advancement 8, core support 8, Class I quantity 8, own R&D 6."""
    base = {"advancement": {"grade": "A", "points": 8}, "core_support": {"grade": "A", "points": 8},
            "class1_ip": 1, "quantity_points": 8, "acquisition": "own_rd"}
    base.update(kw)
    return base


def test_high_tech_passes_at_71_not_70():
    passing = high_tech_ip(full_ip(conversion="20", rd_management="11", growth="10"))
    assert passing["parts"]["ip"]["points"] == 30
    assert (passing["score"], passing["qualified"]) == (71, True)
    failing = high_tech_ip(full_ip(conversion="20", rd_management="11", growth="9"))
    assert (failing["score"], failing["qualified"]) == (70, False)
    assert passing["pass_score"] == 71


@pytest.mark.parametrize(("class1", "class2", "grade", "points"), [
    (1, 0, "A", D("7.5")), (0, 5, "B", D("5.5")), (0, 9, "B", D("5.5")), (0, 4, "C", D("3.5")),
    (0, 3, "C", D("3.5")), (0, 2, "D", D("1.5")), (0, 1, "D", D("1.5")), (0, 0, "E", 0),
])
def test_high_tech_quantity_grade_at_band_midpoint(class1, class2, grade, points):
    item = high_tech_ip({"class1_ip": class1, "class2_ip": class2})["parts"]["ip"]["items"]["quantity"]
    assert (item["grade"], item["points"]) == (grade, points)


def test_high_tech_graded_items():
    result = high_tech_ip({"advancement": "A", "core_support": "c", "class2_ip": 3, "acquisition": "transferred"})
    items = result["parts"]["ip"]["items"]
    assert items["advancement"]["points"] == D("7.5")
    assert items["core_support"] == {"grade": "C", "points": D("3.5"), "max": 8}
    assert items["acquisition"]["points"] == 2
    assert result["parts"]["ip"]["points"] == D("7.5") + D("3.5") + D("3.5") + 2
    assert {"conversion", "rd_management", "growth"} <= set(result["missing"])
    # No IP at all: acquisition cannot score.
    assert high_tech_ip({"acquisition": "own_rd"})["parts"]["ip"]["items"]["acquisition"]["points"] == 0
    # Explicit points must stay inside the grade's band and the item's maximum.
    with pytest.raises(ValidationFailed):
        high_tech_ip({"advancement": {"grade": "B", "points": 7}})
    with pytest.raises(ValidationFailed):
        high_tech_ip({"advancement": "9"})
    with pytest.raises(ValidationFailed):
        high_tech_ip({"advancement": "F"})  # the guidance grades advancement A–E
    with pytest.raises(ValidationFailed):
        high_tech_ip({"class1_ip": 1, "quantity_points": 6})
    with pytest.raises(ValidationFailed):
        high_tech_ip({"class2_ip": 1, "acquisition": {"code": "transferred", "points": 4}})


def test_high_tech_ip_section_is_capped_at_30():
    result = high_tech_ip(full_ip(standards=True))
    assert result["parts"]["ip"]["items"]["standards"]["points"] == D("1.5")
    assert result["parts"]["ip"]["points"] == 30


@pytest.mark.parametrize(("rate", "grade", "points"), [
    ("0.35", "A", D("9.5")), ("0.3499", "B", D("7.5")), ("0.25", "B", D("7.5")), ("0.2499", "C", D("5.5")),
    ("0.15", "C", D("5.5")), ("0.1499", "D", D("3.5")), ("0.05", "D", D("3.5")), ("0.0499", "E", D("1.5")),
    ("0.0001", "E", D("1.5")), ("0", "F", 0), ("-0.2", "F", 0),
])
def test_high_tech_growth_rates(rate, grade, points):
    growth = high_tech_ip({"net_asset_growth": rate, "sales_growth": rate})["parts"]["growth"]
    assert growth["items"]["net_asset_growth"]["grade"] == grade
    assert growth["points"] == 2 * points


@pytest.mark.parametrize(("per_year", "grade", "points"), [
    ("5", "A", D("27.5")), ("4.99", "B", D("21.5")), ("4", "B", D("21.5")), ("3", "C", D("15.5")),
    ("2", "D", D("9.5")), ("1", "E", D("3.5")), ("0.99", "F", 0),
])
def test_high_tech_conversion_from_count(per_year, grade, points):
    part = high_tech_ip({"conversions_per_year": per_year})["parts"]["conversion"]
    assert (part["grade"], part["points"]) == (grade, points)


def test_high_tech_section_maxima_are_enforced():
    for field, value in (("conversion", "31"), ("rd_management", "21"), ("growth", "21")):
        with pytest.raises(ValidationFailed) as exc:
            high_tech_ip({field: value})
        assert fields_of(exc) == {field}
    with pytest.raises(ValidationFailed):
        high_tech_ip({"rd_management": {"accounting_system": 7}})
    parts = high_tech_ip({"rd_management": {"accounting_system": 6, "talent_system": "3"}})["parts"]
    assert parts["rd_management"]["points"] == 9
    assert high_tech_ip({"conversion": "B"})["parts"]["conversion"]["points"] == D("21.5")


@FAST
@given(adv=st.sampled_from("ABCDE"), core=st.sampled_from("ABCDE"), c1=st.integers(0, 2), c2=st.integers(0, 9),
       acq=st.sampled_from(["own_rd", "transferred", "none"]), conv=st.integers(0, 30), mgmt=st.integers(0, 20),
       growth=st.integers(0, 20), std=st.booleans())
def test_high_tech_score_within_maxima(adv, core, c1, c2, acq, conv, mgmt, growth, std):
    result = high_tech_ip({"advancement": adv, "core_support": core, "class1_ip": c1, "class2_ip": c2,
                           "acquisition": acq, "conversion": conv, "rd_management": mgmt, "growth": growth,
                           "standards": std})
    assert 0 <= result["parts"]["ip"]["points"] <= 30
    assert 0 <= result["score"] <= 100
    assert result["qualified"] == (result["score"] >= 71)


# --------------------------------------------------------------------------------------------
# 创新型中小企业 and 专精特新
# --------------------------------------------------------------------------------------------

def innovative(**kw) -> dict:
    base = {"class1_own_ip": 2, "rd_expense": "3500000", "revenue": "50000000", "main_revenue_growth": "0.12",
            "debt_ratio": "0.55", "product_field": "strategic_emerging", "main_revenue": "40000000"}
    base.update(kw)
    return base


def test_innovative_sme_worked_example():
    # IP own Class I 15; R&D 3.5m (10) or 7% (10) → 10; growth 12% → 15; debt 55% → 5;
    # strategic emerging 10; main revenue 80% → 20.  Total 75.
    result = innovative_sme(innovative())
    groups = result["parts"]
    assert (groups["innovation"]["points"], groups["growth"]["points"], groups["specialisation"]["points"]) == \
        (25, 20, 30)
    assert (result["score"], result["qualified"], result["route"]) == (75, True, "score")
    assert groups["specialisation"]["indicators"]["main_revenue_share"]["value"] == D("0.8000")
    assert result["missing"] == []


@pytest.mark.parametrize(("debt", "points"), [("0.5499", 10), ("0.55", 5), ("0.7499", 5), ("0.75", 0)])
def test_innovative_sme_debt_ratio_bands(debt, points):
    indicator = innovative_sme(innovative(debt_ratio=debt))["parts"]["growth"]["indicators"]["debt_ratio"]
    assert indicator["points"] == points


@pytest.mark.parametrize(("rd", "points"), [
    ("5000000", 20), ("4999999", 15),  # 4m–5m or 8–10% (9.99998%) → 15
    ("2000000", 5), ("1999999", 5),  # ratio ≥ 3% → 5 either way
])
def test_innovative_sme_rd_takes_the_better_band(rd, points):
    indicator = innovative_sme(innovative(rd_expense=rd))["parts"]["innovation"]["indicators"]["rd"]
    assert indicator["points"] == points
    small = innovative_sme(innovative(rd_expense="1999999", revenue="100000000"))
    assert small["parts"]["innovation"]["indicators"]["rd"]["points"] == 0


def test_innovative_sme_pass_mark_and_direct_conditions():
    # Drop to 55: no IP (−15) and product "other" (−5): 75 − 20 = 55.
    low = innovative_sme(innovative(class1_own_ip=0, product_field="other"))
    assert (low["score"], low["qualified"]) == (55, False)
    sixty = innovative_sme(innovative(class1_own_ip=0, class2_ip=1, product_field="other"))
    assert (sixty["score"], sixty["qualified"]) == (60, True)
    direct = innovative_sme({"direct_conditions": ["sci_award"]})
    assert (direct["score"], direct["qualified"], direct["route"]) == (0, True, "direct")
    assert "debt_ratio" in direct["missing"]
    equity = innovative_sme({"equity_financing_3y": "5000000"})
    assert equity["direct_conditions"] == ["equity_financing"] and equity["qualified"]
    assert not innovative_sme({"equity_financing_3y": "4999999"})["qualified"]
    assert innovative_sme(innovative(is_sme=False))["qualified"] is False
    with pytest.raises(ValidationFailed):
        innovative_sme(innovative(product_field="space"))


def zjtx_inputs(**kw) -> dict:
    base = {"main_revenue_share": "0.85", "main_revenue_growth_2y": "0.09", "niche_years": 9,
            "product_field": "six_basics_or_key_supply", "digitalisation_level": 2,
            "quality": ["quality_system", "own_brand"], "net_profit_margin": "0.07", "debt_ratio": "0.5",
            "distinctiveness_points": 10, "class1_ip": 3, "rd_expense": "3500000", "revenue": "50000000",
            "rd_staff": 15, "staff_total": 100, "rd_institution": "municipal"}
    base.update(kw)
    return base


def test_zjtx_worked_example():
    # Specialisation 5 + 8 + 4 + 3 = 20; refinement 3 + 5 (6 capped) + 6 + 3 = 17; distinctiveness 10;
    # innovation 6 + 6 + 3 + 4 = 19.  Total 66.
    result = zjtx(zjtx_inputs())
    points = {g: v["points"] for g, v in result["parts"].items()}
    assert points == {"specialisation": 20, "refinement": 17, "distinctiveness": 10, "innovation": 19}
    assert (result["score"], result["qualified"], result["route"]) == (66, True, "score")
    assert result["basic"]["met"]


@pytest.mark.parametrize(("years", "points"), [(0, 0), (1, 0), (2, 1), (9, 4), (10, 5), (30, 5)])
def test_zjtx_niche_years(years, points):
    assert zjtx(zjtx_inputs(niche_years=years))["parts"]["specialisation"]["indicators"]["niche_years"]["points"] \
        == points


def test_zjtx_basic_conditions():
    # R&D exactly 3% of revenue and 1 million: met; a yuan less: not.
    assert zjtx(zjtx_inputs(rd_expense="1500000"))["basic"]["checks"]["rd"]["ok"]
    assert zjtx(zjtx_inputs(rd_expense="1500000", revenue="50000001"))["basic"]["met"] is False
    assert zjtx(zjtx_inputs(rd_expense="999999", revenue="20000000"))["basic"]["met"] is False
    # Revenue under 10 million is rescued by 20 million of equity financing in two years.
    small = zjtx_inputs(revenue="9000000", rd_expense="1000000")
    assert zjtx(small)["basic"]["checks"]["revenue"]["ok"] is False
    assert zjtx({**small, "equity_financing_2y": "20000000"})["basic"]["checks"]["revenue"]["ok"]
    assert zjtx(zjtx_inputs(niche_years=1))["qualified"] is False
    # Direct route: score below 60 but 60 million of equity financing.
    weak = zjtx_inputs(distinctiveness_points=0, rd_institution="none", quality=[], class1_ip=0)
    assert zjtx(weak)["score"] < 60 and not zjtx(weak)["qualified"]
    rescued = zjtx({**weak, "equity_financing_2y": "60000000"})
    assert (rescued["qualified"], rescued["route"]) == (True, "direct")
    assert rescued["direct_conditions"] == ["equity_financing_60m"]
    with pytest.raises(ValidationFailed):
        zjtx(zjtx_inputs(distinctiveness_points=16))


@FAST
@given(share=st.integers(0, 100), growth=st.integers(-50, 50), years=st.integers(0, 20),
       level=st.integers(1, 4), margin=st.integers(-20, 30), debt=st.integers(0, 100), dist=st.integers(0, 15),
       c1=st.integers(0, 3), rd=st.integers(0, 10**7))
def test_zjtx_and_innovative_scores_within_maxima(share, growth, years, level, margin, debt, dist, c1, rd):
    inputs = zjtx_inputs(main_revenue_share=str(D(share) / 100), main_revenue_growth_2y=str(D(growth) / 100),
                         niche_years=years, digitalisation_level=level, net_profit_margin=str(D(margin) / 100),
                         debt_ratio=str(D(debt) / 100), distinctiveness_points=dist, class1_ip=c1, rd_expense=rd,
                         main_revenue_growth=str(D(growth) / 100))
    for result in (zjtx(inputs), innovative_sme({**inputs, "product_field": "other"})):
        assert 0 <= result["score"] <= 100
        for group in result["parts"].values():
            assert 0 <= group["points"] <= group["max"]


# --------------------------------------------------------------------------------------------
# Composite
# --------------------------------------------------------------------------------------------

FULL_COMPOSITE = {
    "class1_ip": 10, "high_value_patents": 5, "portfolio_pvd": "8", "class2_ip": 20, "trademarks": 5,
    "copyrights": 5, "rd_expense": "10", "revenue": "100", "tech_staff": 30, "staff_total": 100,
    "revenue_growth": "0.30", "conversions_per_year": 5, "new_product_revenue": "60",
    "qualifications": ["little_giant", "high_tech_enterprise", "national_award"],
}


@pytest.mark.parametrize(("score", "grade"), [
    (100, "T1"), (90, "T1"), ("89.99", "T2"), (80, "T2"), ("79.99", "T3"), (70, "T3"), (60, "T4"), (50, "T5"),
    (40, "T6"), (30, "T7"), (20, "T8"), ("19.99", "T9"), (10, "T9"), ("9.99", "T10"), (0, "T10"),
])
def test_composite_grade_cut_offs(score, grade):
    assert grade_for(score) == grade


def test_composite_full_marks_and_top_factors():
    result = composite(FULL_COMPOSITE)
    assert (result["score"], result["grade"], result["qualified"]) == (100, "T1", None)
    assert result["parts"]["qualifications"]["points"] == 15  # 22 table points, capped
    assert [f["factor"] for f in result["top_factors"]] == ["rd_intensity", "qualifications", "class1_ip"]
    assert result["missing"] == []


def test_composite_missing_figures_score_zero():
    result = composite({"qualifications": ["little_giant"]})
    assert (result["score"], result["grade"]) == (8, "T10")
    assert "class1_ip" in result["missing"] and "qualifications" not in result["missing"]
    assert result["top_factors"] == [{"factor": "qualifications", "zh": "资质与奖励", "group": "qualifications",
                                      "points": 8}]


def test_composite_weights_rescale_categories():
    weights = {"ip_strength": 30, "rd_input": 20, "conversion_growth": 20, "qualifications": 30}
    result = composite({"qualifications": ["little_giant"]}, weights)
    assert (result["score"], result["grade"]) == (16, "T9")  # 8/15 of 30
    assert composite(FULL_COMPOSITE, {**weights, "qualifications": "30.0"})["score"] == 100


@pytest.mark.parametrize("weights", [
    {"ip_strength": 35, "rd_input": 25, "conversion_growth": 25, "qualifications": 14},
    {"ip_strength": 35, "rd_input": 25, "conversion_growth": 25},
    {"ip_strength": 35, "rd_input": 25, "conversion_growth": 25, "qualifications": 15, "luck": 0},
    {"ip_strength": 50, "rd_input": 40, "conversion_growth": 25, "qualifications": -15},
    {"ip_strength": 35.0, "rd_input": 25, "conversion_growth": 25, "qualifications": 15},
])
def test_composite_weights_are_validated(weights):
    with pytest.raises(ValidationFailed) as exc:
        validate_weights(weights)
    assert exc.value.code == "invalid_input"


def test_default_composite_weights():
    assert validate_weights(None) == {"ip_strength": 35, "rd_input": 25, "conversion_growth": 25,
                                      "qualifications": 15}


@FAST
@given(c1=st.integers(0, 20), hv=st.integers(0, 9), c2=st.integers(0, 40), rd=st.integers(0, 200),
       growth=st.integers(-100, 100), quals=st.lists(st.sampled_from(["zjtx", "tech_sme", "little_giant"])),
       w=st.lists(st.integers(0, 100), min_size=3, max_size=3))
def test_composite_within_0_100(c1, hv, c2, rd, growth, quals, w):
    a, b, c = sorted(w)
    weights = {"ip_strength": a, "rd_input": b - a, "conversion_growth": c - b, "qualifications": 100 - c}
    result = composite({"class1_ip": c1, "high_value_patents": hv, "class2_ip": c2, "rd_expense": rd,
                        "revenue": "1000", "revenue_growth": str(D(growth) / 100), "qualifications": quals}, weights)
    assert 0 <= result["score"] <= 100
    assert result["grade"] == grade_for(result["score"])


# --------------------------------------------------------------------------------------------
# Dispatcher
# --------------------------------------------------------------------------------------------

def test_evaluate_dispatches_and_refuses_unknown_schemes():
    assert evaluate("tech_sme", sme())["scheme"] == "tech_sme"
    assert evaluate("high_tech_ip", full_ip())["scheme"] == "high_tech_ip"
    assert evaluate("innovative_sme", innovative())["score"] == 75
    assert evaluate("zjtx", zjtx_inputs())["score"] == 66
    weighted = evaluate("composite", {"qualifications": ["little_giant"],
                                      "weights": {"ip_strength": 30, "rd_input": 20, "conversion_growth": 20,
                                                  "qualifications": 30}})
    assert weighted["score"] == 16
    with pytest.raises(ValidationFailed) as exc:
        evaluate("michelin", {})
    assert exc.value.code == "unknown_scheme"
    assert set(innovation.SCHEMES) == {"tech_sme", "high_tech_ip", "innovative_sme", "zjtx", "composite"}


def test_every_part_has_points_max_and_labels():
    for scheme, inputs in (("tech_sme", sme()), ("high_tech_ip", full_ip()), ("innovative_sme", innovative()),
                           ("zjtx", zjtx_inputs()), ("composite", FULL_COMPOSITE)):
        for key, part in evaluate(scheme, inputs)["parts"].items():
            assert {"points", "max", "label", "label_zh"} <= set(part), (scheme, key)
            assert part["label_zh"] != key and 0 <= part["points"] <= part["max"]


def test_evaluate_writes_the_trace():
    trace = Trace()
    evaluate("tech_sme", sme(), trace)
    keys = [s["key"] for s in trace.as_list()]
    assert keys == ["innovation.tech_sme.score", "innovation.tech_sme.qualified"]
    assert "科技型中小企业评分: 70" in trace.text("zh")


# --------------------------------------------------------------------------------------------
# Patent value degree
# --------------------------------------------------------------------------------------------

def test_pvd_worked_example_and_defaults():
    trace = Trace()
    result = patent_value_degree({"stability": 10}, trace=trace)
    # LVD = 0.25×10 + 0.75×6 = 7.00; TVD = EVD = 6; PVD = 0.5×7 + 0.2×6 + 0.3×6 = 6.50.
    assert (result["LVD"]["score"], result["TVD"]["score"], result["EVD"]["score"]) == (D("7.00"), D("6.00"),
                                                                                        D("6.00"))
    assert result["PVD"]["score"] == D("6.50")
    assert result["PVD"]["contributions"] == {"LVD": D("3.50"), "TVD": D("1.20"), "EVD": D("1.80")}
    assert result["LVD"]["contributions"]["stability"] == {"score": 10, "weight": D("0.25"),
                                                           "contribution": D("2.50"), "defaulted": False}
    assert len(result["defaulted"]) == 17 and "stability" not in result["defaulted"]
    steps = {s["key"]: s for s in trace.as_list()}
    assert "remaining_term" in steps["pvd.defaulted"]["value"]
    assert steps["pvd.PVD"]["value"] == "6.50"


def test_pvd_profiles_differ():
    scores = {name: 10 for name in scoring.indicator_names()["EVD"]}
    assert patent_value_degree(scores, "transaction")["PVD"]["score"] > patent_value_degree(scores)["PVD"]["score"]
    custom = load_table("weight_profiles.json")["profiles"]["general"]
    assert patent_value_degree(scores, custom)["profile"] == "custom"


def test_pvd_refuses_unknown_indicators_and_off_level_scores():
    with pytest.raises(ValidationFailed) as exc:
        patent_value_degree({"beauty": 10})
    assert fields_of(exc) == {"beauty"}
    with pytest.raises(ValidationFailed):
        patent_value_degree({"stability": 7})
    with pytest.raises(ValidationFailed):
        patent_value_degree({"stability": 12})
    assert patent_value_degree({"stability": "8"})["LVD"]["contributions"]["stability"]["score"] == 8


@FAST
@given(levels=st.lists(st.sampled_from([0, 2, 4, 6, 8, 10, None]), min_size=18, max_size=18),
       profile=st.sampled_from(["finance", "transaction", "general"]))
def test_pvd_within_0_10(levels, profile):
    result = patent_value_degree(dict(zip(ALL_INDICATORS, levels, strict=True)), profile)
    for degree in ("LVD", "TVD", "EVD", "PVD"):
        assert 0 <= result[degree]["score"] <= 10
    if all(level == 10 for level in levels):
        assert result["PVD"]["score"] == 10


# --------------------------------------------------------------------------------------------
# Objective indicators
# --------------------------------------------------------------------------------------------

def test_objective_indicators_from_register_facts():
    facts = {"kind": "invention", "filing_date": "2015-03-15", "term_end": "2035-03-14", "on": "2024-03-15",
             "legal_state": "in_force", "flags": ["licensed"], "events": ["granted", "licensed", "licensed"],
             "family_size": 4, "claims_count": 12, "citations": 3, "ipc": ["H01M 10/0525", "H01M 4/13", "B60L 58/12"]}
    result = objective_indicators(facts)
    # ≈ 11 years left → 8; 4 offices → 6; 2 licences → 6 + 2 = 8; invention base 8; 2 subclasses → 6.
    assert result["scores"] == {"stability": 8, "remaining_term": 8, "multi_country": 6,
                                "licensing_litigation": 8, "scope_of_application": 6}
    assert result["basis"]["scope_of_application"]["ipc_subclasses"] == ["B60L", "H01M"]
    assert result["measures"] == {"years_left": D("10.99"), "family_size": 4, "licences": 2, "scope": 2,
                                  "claims": 12, "citations": 3}
    assert result["not_computed"] == []
    pvd = patent_value_degree(result["scores"])
    assert "stability" not in pvd["defaulted"] and "advancement" in pvd["defaulted"]


@pytest.mark.parametrize(("state", "flags", "events", "kind", "level"), [
    ("in_force", [], [], "invention", 8),
    ("in_force", [], [], "utility_model", 6),
    ("in_force", [], [{"type": "invalidation_decided", "outcome": "maintained"}], "utility_model", 10),
    ("partly_invalidated", [], [], "invention", 6),
    ("in_force", ["invalidation_pending"], [], "invention", 4),
    ("annuity_grace", [], [], "invention", 4),
    ("pending", [], [], "invention", 2),
    ("invalidated", [], [], "invention", 0),
    ("expired", [], [], "invention", 0),
])
def test_stability_levels(state, flags, events, kind, level):
    assert objective_indicators({"kind": kind, "legal_state": state, "flags": flags,
                                 "events": events})["scores"]["stability"] == level


@pytest.mark.parametrize(("flags", "events", "level"), [
    ([], [], 6),
    (["licensed"], [], 8),
    ([], ["licensed", "licensed", "open_licence_declared"], 10),
    (["litigation"], ["litigation_filed"], 2),
    ([], ["litigation_filed", "litigation_closed"], 4),
    (["invalidation_pending", "ownership_dispute"], [], 2),
    (["litigation", "invalidation_pending", "ownership_dispute"], ["litigation_filed"], 0),
    (["licensed", "litigation"], ["licensed", "litigation_filed"], 4),
])
def test_licensing_litigation_levels(flags, events, level):
    assert objective_indicators({"flags": flags, "events": events})["scores"]["licensing_litigation"] == level


@pytest.mark.parametrize(("kind", "term_end", "level"), [
    ("invention", "2039-01-01", 10), ("invention", "2038-12-31", 8), ("invention", "2025-01-01", 2),
    ("invention", "2024-12-31", 0), ("utility_model", "2032-01-01", 10), ("utility_model", "2031-12-31", 8),
    ("design", "2026-01-02", 4),
])
def test_remaining_term_levels(kind, term_end, level):
    # 2024-01-01 + 15 years (5479 days / 365.25 = 15.00) …
    facts = {"kind": kind, "term_end": term_end, "on": "2024-01-01", "legal_state": "in_force"}
    assert objective_indicators(facts)["scores"]["remaining_term"] == level


def test_objective_indicators_skip_what_is_unknown():
    result = objective_indicators({"kind": "invention"})
    assert result["scores"] == {}
    assert set(result["not_computed"]) == {"stability", "remaining_term", "multi_country", "licensing_litigation",
                                           "scope_of_application"}
    lapsed = objective_indicators({"kind": "invention", "legal_state": "terminated", "term_end": "2035-01-01",
                                   "on": "2024-01-01", "family_size": 1})
    assert lapsed["scores"]["remaining_term"] == 0 and lapsed["scores"]["multi_country"] == 0
    with pytest.raises(ValidationFailed):
        objective_indicators({"family_size": 0})
    with pytest.raises(ValidationFailed):
        objective_indicators({"term_end": "not a date", "on": "2024-01-01"})


# --------------------------------------------------------------------------------------------
# Cohort normalisation
# --------------------------------------------------------------------------------------------

def test_cohort_normalise_rescales_by_cohort_max():
    values = {"a": {"claims": 10, "family_size": 2}, "b": {"claims": 5, "family_size": 4},
              "c": {"claims": 20}}
    keys = {"a": (2015, "H"), "b": (2015, "H"), "c": (2016, "H")}
    result = cohort_normalise(values, keys, trim_percentile=1)
    a, b, c = (result["rights"][r] for r in "abc")
    assert a["components"] == {"family_size": D("0.5000"), "claims": D("1.0000")}
    assert b["components"] == {"family_size": D("1.0000"), "claims": D("0.5000")}
    assert a["composite"] == b["composite"] == D("0.7500")
    assert c == {"cohort": "2016|H", "components": {"claims": D("1.0000")}, "composite": D("1.0000"),
                 "used": ["claims"], "capped": []}
    assert result["cohorts"]["2015|H"]["size"] == 2


def test_cohort_normalise_trims_the_outlier():
    # 1..99 and one 10,000: the 99th percentile is 99 + 0.01 × (10,000 − 99) = 198.01.
    values = {i: {"citations": i} for i in range(1, 100)}
    values[100] = {"citations": 10000}
    keys = dict.fromkeys(values, (2018, "A"))
    result = cohort_normalise(values, keys)
    assert result["cohorts"]["2018|A"]["cap"]["citations"] == D("198.0100")
    assert result["rights"][100]["components"]["citations"] == 1
    assert result["rights"][100]["capped"] == ["citations"]
    assert result["rights"][99]["components"]["citations"] == D("0.5000")  # 99 / 198.01
    untrimmed = cohort_normalise(values, keys, trim_percentile=1)
    assert untrimmed["rights"][99]["components"]["citations"] == D("0.0099")


def test_cohort_normalise_validation_and_keys():
    assert cohort_key("2015-06-01", ["h01m 10/05", "B60L"]) == (2015, "H")
    assert cohort_key(None, []) == (None, None)
    with pytest.raises(ValidationFailed):
        cohort_normalise({"a": {"beauty": 1}}, {"a": 1})
    with pytest.raises(ValidationFailed):
        cohort_normalise({"a": {"claims": 1}}, {})
    with pytest.raises(ValidationFailed):
        cohort_normalise({"a": {"claims": -1}}, {"a": 1})
    zero = cohort_normalise({"a": {"claims": 0}, "b": {"claims": None}}, {"a": 1, "b": 1})
    assert zero["rights"]["a"]["composite"] == 0
    assert zero["rights"]["b"] == {"cohort": "1", "components": {}, "composite": None, "used": [], "capped": []}


# --------------------------------------------------------------------------------------------
# Trademarks and copyright
# --------------------------------------------------------------------------------------------

def test_trademark_score():
    facts = {"registration_date": "2012-01-01", "on": "2024-06-01", "classes": 3, "renewals": 1,
             "use_evidence": "strong", "disputes": 0}
    # 0.20×8 + 0.15×6 + 0.15×8 + 0.30×10 + 0.20×10 = 8.70
    result = trademark_score(facts)
    assert result["score"] == D("8.70") and result["defaulted"] == []
    assert result["parts"]["age"]["points"] == 8
    assert trademark_score({**facts, "well_known": True})["score"] == D("10.00")
    # Two open disputes (4) and nothing else known: 0.8×6 + 0.2×4 = 5.60
    sparse = trademark_score({"disputes": 2})
    assert sparse["score"] == D("5.60")
    assert sparse["defaulted"] == ["age", "classes", "renewals", "use_evidence"]
    with pytest.raises(ValidationFailed):
        trademark_score({"use_evidence": "plenty"})


def test_copyright_score():
    # revenue 12m → 8, 25 years → 8, no licences → 4: 0.5×8 + 0.3×8 + 0.2×4 = 7.20
    result = copyright_score({"revenue": "12000000", "remaining_years": 25, "licences": 0})
    assert result["score"] == D("7.20")
    dated = copyright_score({"revenue": "0", "term_end": "2074-12-31", "on": "2024-01-01"})
    assert dated["parts"]["remaining_term"]["points"] == 10 and dated["parts"]["revenue"]["points"] == 0
    assert dated["defaulted"] == ["licences"]


# --------------------------------------------------------------------------------------------
# Split from a score
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("score", "split"), [
    (0, D("0.25")), (5, D("0.29")), (10, D("0.33")), ("7.5", D("0.31")), (12, D("0.33")), (-1, D("0.25")),
])
def test_split_from_score(score, split):
    assert split_from_score("0.25", "0.33", score) == split


def test_split_for_industry_bands():
    assert split_for("software", 5)["rate"] == D("0.15")
    assert split_for("petrochemical", 10)["rate"] == D("0.02")
    profit = split_for("machinery", "5", basis="profit")
    assert (profit["rate"], profit["low"], profit["high"]) == (D("0.29"), D("0.25"), D("0.33"))
    with pytest.raises(ValidationFailed):
        split_for("tulips", 5)
    with pytest.raises(ValidationFailed):
        split_for("software", 5, basis="ebitda")
    with pytest.raises(ValidationFailed):
        split_from_score("0.3", "0.2", 5)


# --------------------------------------------------------------------------------------------
# High-value invention patents
# --------------------------------------------------------------------------------------------

BASE_PATENT = {"kind": "invention", "legal_state": "in_force", "filing_date": "2014-03-15", "on": "2024-03-14",
               "family_size": 1}


@pytest.mark.parametrize(("extra", "reason"), [
    ({"strategic_emerging": True}, "strategic_emerging_industry"),
    ({"family_size": 2}, "overseas_family"),
    ({"overseas_family": True}, "overseas_family"),
    ({"on": "2024-03-15"}, "maintained_over_10_years"),
    ({"pledge_amount": "10000000"}, "high_pledge_financing"),
    ({"high_pledge_financing": True}, "high_pledge_financing"),
    ({"awards": ["china_patent_award"]}, "national_award"),
    ({"awards": ["national_science_award"]}, "national_award"),
])
def test_high_value_patent_criteria(extra, reason):
    assert high_value_patent({**BASE_PATENT, **extra}) == (True, [reason])


def test_high_value_patent_exclusions():
    assert high_value_patent(BASE_PATENT) == (False, ["no_criterion"])
    assert high_value_patent({**BASE_PATENT, "pledge_amount": "9999999.99"}) == (False, ["no_criterion"])
    assert high_value_patent({**BASE_PATENT, "kind": "utility_model", "strategic_emerging": True}) == \
        (False, ["not_invention"])
    assert high_value_patent({**BASE_PATENT, "legal_state": "terminated", "strategic_emerging": True}) == \
        (False, ["not_in_force"])
    assert high_value_patent({**BASE_PATENT, "legal_state": "partly_invalidated", "family_size": 3})[0]
    many = high_value_patent({**BASE_PATENT, "strategic_emerging": True, "family_size": 5, "on": "2030-01-01"})
    assert many == (True, ["strategic_emerging_industry", "overseas_family", "maintained_over_10_years"])
