"""The one display vocabulary: enum labels, region names and Beijing times, as every page shows them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template import Context, Template
from django.utils import translation

from ippledge.core import vocabulary
from ippledge.core.regions import region_name


def render(source: str, **context) -> str:
    return Template("{% load ippledge %}" + source).render(Context(context))


@pytest.mark.parametrize(("code", "zh", "en"), [
    ("440000", "广东省", "Guangdong"),
    ("440300", "广东省深圳市", "Shenzhen, Guangdong"),
    ("440305", "广东省深圳市南山区", "Nanshan District, Shenzhen, Guangdong"),  # its latest name
    ("110101", "北京市东城区", "Dongcheng District, Beijing"),
    ("610000", "陕西省", "Shaanxi"),  # not Shanxi (山西, 140000)
    ("370200", "山东省青岛市", "Qingdao, Shandong"),
])
def test_regions_are_named_from_gb_t_2260(code, zh, en):
    assert region_name(code, "zh-hans") == zh
    assert region_name(code, "en") == en


def test_an_unknown_region_shows_itself_and_no_region_nothing():
    assert region_name("999999", "zh-hans") == "999999"
    assert region_name("", "en") == "" and region_name(None) == ""
    assert region_name("44<script>", "en") == "44<script>"


def test_model_choices_need_no_registration_and_follow_the_language():
    with translation.override("en"):
        assert vocabulary.label("core.Organisation.kind", "bank") == "Bank"
    with translation.override("zh-hans"):
        assert vocabulary.label("core.Organisation.kind", "bank") != "bank"


def test_registered_vocabularies_come_from_each_apps_labels_module():
    names = vocabulary.registered()
    assert {"right_kind", "registry_status", "refusal_reason", "legal_event", "dd_item"} <= set(names)
    with translation.override("en"):
        assert vocabulary.label("refusal_reason", "already_pledged") == "Already pledged"
        assert render('{{ code|label:"refusal_reason" }}', code="already_pledged") == "Already pledged"


def test_unknown_codes_show_raw_and_unknown_vocabularies_raise():
    assert vocabulary.label("refusal_reason", "no_such_reason") == "no_such_reason"
    assert vocabulary.label("refusal_reason", None) == ""
    with pytest.raises(KeyError):
        vocabulary.label("no_such_vocabulary", "x")
    with pytest.raises(KeyError):
        vocabulary.label("core.Organisation.name", "x")  # a field without choices
    with pytest.raises(ValueError):
        vocabulary.register("core.Organisation.kind", {})


def test_times_show_in_beijing_time_with_their_label():
    instant = dt.datetime(2026, 12, 2, 18, 13, 30, 123456, tzinfo=dt.UTC)
    with translation.override("en"):
        assert render("{{ t|moment }}", t=instant) == "2026-12-03 02:13:30 Beijing time"
        assert render("{{ t|moment }}", t="2026-12-02T18:13:30.123456+00:00") == "2026-12-03 02:13:30 Beijing time"
    with translation.override("zh-hans"):
        assert render("{{ t|moment }}", t=instant).endswith("北京时间")  # needs the compiled catalog
    assert render("{{ d|moment }}", d=dt.date(2026, 12, 2)) == "2026-12-02"
    assert render("{{ t|moment }}", t=None) == ""


def test_region_filter_in_a_template():
    with translation.override("zh-hans"):
        assert render("{{ c|region }}", c="440000") == "广东省"


def test_industries_read_as_gb_t_4754_sections():
    from ippledge.core.labels import industry_label

    with translation.override("en"):
        assert industry_label("M") == "Scientific research and technical services"
        assert industry_label("i65") == "Information transmission, software and information technology services (i65)"
        assert industry_label("") == "" and industry_label("retail") == "retail"
        assert vocabulary.label("industry_section", "C") == "Manufacturing"
