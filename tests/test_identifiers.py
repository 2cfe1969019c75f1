"""Identifier normalisation and validation (pure: no Django, no database)."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ippledge.core import identifiers as ids
from ippledge.core.errors import InvalidIdentifier

SAMPLES = Path(__file__).resolve().parents[2] / "shared/data/samples/cn_reference/uscc_real_samples.txt"
FAST = settings(max_examples=150, deadline=None)


def code_of(func, *args) -> str:
    with pytest.raises(InvalidIdentifier) as info:
        func(*args)
    return info.value.code


def fullwidth(text: str) -> str:
    """ASCII → full-width forms (what a Chinese IME produces)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else "\u3000" if c == " " else c for c in text)


# Independent re-implementations of the check characters (from registry-rules §6, not the module).

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check(body: str) -> str:
    total = sum(USCC_CHARSET.index(c) * w for c, w in zip(body, USCC_WEIGHTS, strict=True))
    return USCC_CHARSET[(31 - total % 31) % 31]


def ric_check(body: str) -> str:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    return "10X98765432"[sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11]


def patent_check(digits: str) -> str:
    total = sum(int(d) * w for d, w in zip(digits, (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5), strict=False)) % 11
    return "X" if total == 10 else str(total)


# --------------------------------------------------------------------------------------------- USCC


def test_uscc_real_example_and_formatting():
    assert ids.normalise_uscc("914403001922038216") == "914403001922038216"
    assert ids.normalise_uscc(" 9144-0300 1922 038216 ") == "914403001922038216"
    assert ids.normalise_uscc(fullwidth("914403001922038216")) == "914403001922038216"
    assert ids.normalise_uscc("91110000600037341l") == "91110000600037341L"


def test_uscc_real_samples():
    if not SAMPLES.exists():
        pytest.skip("shared reference samples not available in this checkout")
    numbers = [line.strip() for line in SAMPLES.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert numbers
    for number in numbers:
        assert ids.normalise_uscc(number) == number
        assert ids.normalise_uscc(number.lower()) == number


def test_uscc_letters_allowed_in_authority_and_type():
    body = "N2440300MA5F00000"  # N = agriculture authority: stdnum alone would reject it
    assert ids.normalise_uscc(body + uscc_check(body)) == body + uscc_check(body)


@pytest.mark.parametrize("value, message", [
    ("91440300192203821", "18 characters"),
    ("9144030019220382160", "18 characters"),
    ("", "18 characters"),
    ("91440300192203821I", "not allowed"),
    ("9144A3001922038216", "not allowed"),
    ("914403001922038217", "check character"),
])
def test_uscc_errors(value, message):
    with pytest.raises(InvalidIdentifier) as info:
        ids.normalise_uscc(value)
    assert info.value.code == "invalid_uscc"
    assert message in info.value.message


def test_uscc_bad_region():
    body = "91999999MA5F00000"
    with pytest.raises(InvalidIdentifier) as info:
        ids.normalise_uscc(body + uscc_check(body))
    assert info.value.code == "invalid_uscc" and "region" in info.value.message


def test_uscc_organisation_code_check_is_not_enforced():
    body = "914403000000000010"[:17]  # organisation code 000000001 fails GB 11714; that's a warning only
    assert ids.normalise_uscc(body + uscc_check(body)) == body + uscc_check(body)


REGIONS = st.sampled_from(["440300", "110105", "310115", "100000", "440000", "510104"])
USCC_CHAR = st.sampled_from(USCC_CHARSET)


@st.composite
def usccs(draw):
    head = draw(st.text(USCC_CHAR, min_size=2, max_size=2))
    org = draw(st.text(USCC_CHAR, min_size=9, max_size=9))
    body = head + draw(REGIONS) + org
    return body + uscc_check(body)


@FAST
@given(usccs(), st.booleans(), st.booleans())
def test_uscc_property_valid(number, lower, spaced):
    text = number.lower() if lower else number
    if spaced:
        text = " ".join(text[i:i + 4] for i in range(0, 18, 4))
    assert ids.normalise_uscc(text) == number


@FAST
@given(usccs(), st.integers(0, 17), USCC_CHAR)
def test_uscc_property_single_mutation_rejected(number, pos, char):
    mutated = number[:pos] + char + number[pos + 1:]
    if mutated == number:
        return
    assert code_of(ids.normalise_uscc, mutated) == "invalid_uscc"


# --------------------------------------------------------------------------------------- resident ID


def test_resident_id_standard_example():
    assert ids.normalise_resident_id("11010519491231002X") == "11010519491231002X"
    assert ids.normalise_resident_id("11010519491231002x") == "11010519491231002X"
    assert ids.normalise_resident_id(fullwidth("110105 19491231 002x")) == "11010519491231002X"


@pytest.mark.parametrize("value, message", [
    ("1101051949123100", "18 characters"),
    ("11010519491231002A", "not allowed"),
    ("11010519491231003X", "check character"),
])
def test_resident_id_errors(value, message):
    with pytest.raises(InvalidIdentifier) as info:
        ids.normalise_resident_id(value)
    assert info.value.code == "invalid_resident_id"
    assert message in info.value.message


@pytest.mark.parametrize("date", ["19490231", "19491301", "20990101"])
def test_resident_id_impossible_or_future_birth_date(date):
    body = "110105" + date + "002"
    with pytest.raises(InvalidIdentifier) as info:
        ids.normalise_resident_id(body + ric_check(body))
    assert info.value.code == "invalid_resident_id" and "birth date" in info.value.message


@st.composite
def resident_ids(draw):
    born = draw(st.dates(datetime.date(1900, 1, 1), datetime.date(2020, 12, 31)))
    body = draw(REGIONS) + born.strftime("%Y%m%d") + draw(st.text("0123456789", min_size=3, max_size=3))
    return body + ric_check(body)


@FAST
@given(resident_ids())
def test_resident_id_property(number):
    assert ids.normalise_resident_id(number.lower()) == number
    masked = ids.mask_resident_id(number)
    assert len(masked) == 18 and masked[:6] == number[:6] and masked[-4:] == number[-4:]
    assert masked[6:14] == "*" * 8
    assert ids.mask_id("resident_id", number) == masked


@FAST
@given(resident_ids(), st.integers(0, 17), st.sampled_from("0123456789X"))
def test_resident_id_property_mutation_rejected(number, pos, char):
    mutated = number[:pos] + char + number[pos + 1:]
    if mutated != number:
        assert code_of(ids.normalise_resident_id, mutated) == "invalid_resident_id"


def test_masking():
    assert ids.mask_resident_id("11010519491231002X") == "110105********002X"
    assert ids.mask_id("passport", "E12345678") == "E1*****78"
    assert ids.mask_id("uscc", "914403001922038216") == "914403001922038216"
    assert ids.mask_id("foreign_company", "HRB 12345") == "HRB 12345"


# --------------------------------------------------------------------------------------- party IDs


def test_validate_party_id():
    assert ids.validate_party_id("uscc", "914403001922038216") == "914403001922038216"
    assert ids.validate_party_id("resident_id", "11010519491231002x") == "11010519491231002X"
    assert ids.validate_party_id("passport", " e1234 5678 ") == "E12345678"
    assert ids.validate_party_id("foreign_company", "  HRB  12345 ") == "HRB 12345"
    assert ids.validate_party_id("other", "X") == "X"


@pytest.mark.parametrize("id_type, value, code", [
    ("uscc", "914403001922038217", "invalid_uscc"),
    ("resident_id", "11010519491231002Y", "invalid_resident_id"),
    ("passport", "E12", "invalid_passport"),
    ("passport", "E1234567890123456789X", "invalid_passport"),
    ("passport", "E1234#567", "invalid_passport"),
    ("foreign_company", "   ", "invalid_identifier"),
    ("other", "x" * 65, "invalid_identifier"),
    ("tax_number", "123", "invalid_id_type"),
])
def test_validate_party_id_errors(id_type, value, code):
    assert code_of(ids.validate_party_id, id_type, value) == code


@FAST
@given(st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=5, max_size=20))
def test_passport_property(number):
    assert ids.validate_party_id("passport", number.lower()) == number
    masked = ids.mask_id("passport", number)
    assert len(masked) == len(number) and masked[:2] == number[:2] and masked[-2:] == number[-2:]


# ------------------------------------------------------------------------------------------ patents


@pytest.mark.parametrize("value, normalised, year, type_digit, kind, old", [
    ("ZL201410362077.3", "201410362077.3", 2014, 1, "invention", False),
    ("ZL202011472880.4", "202011472880.4", 2020, 1, "invention", False),
    ("ZL99113861.9", "99113861.9", 1999, 1, "invention", True),
])
def test_patent_real_examples(value, normalised, year, type_digit, kind, old):
    number = ids.parse_patent_number(value)
    assert (number.normalised, number.year, number.type_digit, number.kind, number.old_format) == (
        normalised, year, type_digit, kind, old)
    assert number.check == normalised[-1]
    assert ids.format_patent_number(normalised) == value
    assert ids.normalise_patent_number(value, kind) == normalised


@pytest.mark.parametrize("value", [
    "ZL201410362077.3", "201410362077.3", "2014103620773", "zl 2014 1 0362077.3", "CN201410362077.3",
    "ＺＬ２０１４１０３６２０７７．３", "ZL201410362077。3",
])
def test_patent_every_form_same(value):
    assert ids.normalise_patent_number(value) == "201410362077.3"


def test_patent_old_format_years():
    body = "03210001"
    assert ids.parse_patent_number(body + patent_check(body)).year == 2003
    body = "85100001"
    assert ids.parse_patent_number(body + patent_check(body)).year == 1985


@pytest.mark.parametrize("value", [
    "ZL201410362077",  # check character is required
    "ZL20141036207.3",
    "ZL201410362077.34",
    "ZLX201410362077.3",
    "",
])
def test_patent_malformed(value):
    assert code_of(ids.normalise_patent_number, value) == "invalid_patent_number"


def test_patent_wrong_check_names_expected():
    with pytest.raises(InvalidIdentifier) as info:
        ids.normalise_patent_number("ZL201410362077.4")
    assert info.value.code == "invalid_patent_number"
    assert "should be 3" in str(info.value)
    assert info.value.params == {"expected": "3"} and "%(expected)s" in info.value.message


@pytest.mark.parametrize("body", ["201440362077", "201450362077", "201400362077", "99413861"])
def test_patent_bad_type_digit(body):
    assert code_of(ids.normalise_patent_number, body + patent_check(body)) == "invalid_patent_number"


@pytest.mark.parametrize("body", ["200210362077", "84113861", "04113861"])
def test_patent_bad_year(body):
    assert code_of(ids.normalise_patent_number, body + patent_check(body)) == "invalid_patent_number"


def test_patent_kind():
    assert ids.parse_patent_number("ZL201410362077.3", "invention").kind == "invention"
    assert code_of(ids.normalise_patent_number, "ZL201410362077.3", "design") == "patent_kind_mismatch"
    assert code_of(ids.normalise_patent_number, "ZL201410362077.3", "trademark") == "invalid_kind"
    for digit, kind in [("8", "invention"), ("9", "utility_model"), ("2", "utility_model"), ("3", "design")]:
        body = "2015" + digit + "0000001"
        assert ids.parse_patent_number(body + patent_check(body), kind).kind == kind


@st.composite
def patent_bodies(draw):
    digit = draw(st.sampled_from("12389"))
    if draw(st.booleans()):
        return str(draw(st.integers(2003, 2099))) + digit + draw(st.text("0123456789", min_size=7, max_size=7))
    year = draw(st.sampled_from([f"{y:02d}" for y in (*range(85, 100), *range(0, 4))]))
    return year + digit + draw(st.text("0123456789", min_size=5, max_size=5))


@FAST
@given(patent_bodies(), st.sampled_from(["", "ZL", "zl", "CN", "ZL "]), st.booleans(), st.booleans(),
       st.booleans())
def test_patent_property_any_format(body, prefix, dot, spaced, wide):
    check = patent_check(body)
    canonical = f"{body}.{check}"
    text = body if not spaced else " ".join(body[i:i + 4] for i in range(0, len(body), 4))
    text = prefix + text + ("." if dot else "") + check.lower()
    if wide:
        text = fullwidth(text)
    number = ids.parse_patent_number(text)
    assert number.normalised == canonical
    assert number.old_format == (len(body) == 8)
    type_digit = body[2] if len(body) == 8 else body[4]
    assert number.type_digit == int(type_digit)
    assert number.kind == {"1": "invention", "8": "invention", "2": "utility_model",
                           "9": "utility_model", "3": "design"}[type_digit]
    assert ids.normalise_right_number(number.kind, ids.format_patent_number(canonical)) == canonical


@FAST
@given(patent_bodies(), st.sampled_from("0123456789X"))
def test_patent_property_wrong_check_rejected(body, check):
    if check != patent_check(body):
        assert code_of(ids.normalise_patent_number, f"ZL{body}.{check}") == "invalid_patent_number"


@FAST
@given(patent_bodies(), st.data())
def test_patent_property_digit_mutation_rejected(body, data):
    pos = data.draw(st.integers(0, len(body) - 1))
    digit = data.draw(st.sampled_from("0123456789").filter(lambda d: d != body[pos]))
    mutated = body[:pos] + digit + body[pos + 1:]
    assert code_of(ids.normalise_patent_number, f"{mutated}.{patent_check(body)}") == "invalid_patent_number"


# -------------------------------------------------------------------------------- other right kinds


@pytest.mark.parametrize("value, expected", [
    ("第12345678号", "12345678"), ("12345678", "12345678"), ("第 1234 5678 号", "12345678"),
    ("第１２３４５６７８号", "12345678"), ("g1234567", "G1234567"), ("G 1234567", "G1234567"),
    ("0012345", "0012345"), (10000001, "10000001"),
])
def test_trademark(value, expected):
    assert ids.normalise_trademark_number(value) == expected


@pytest.mark.parametrize("value", ["", "第号", "12345678901", "TM12345", "1234-5678", "第12345678号号"])
def test_trademark_errors(value):
    assert code_of(ids.normalise_trademark_number, value) == "invalid_trademark_number"


@FAST
@given(st.text("0123456789", min_size=1, max_size=10), st.booleans(), st.booleans(), st.booleans())
def test_trademark_property(digits, madrid, wrapped, wide):
    number = ("G" if madrid else "") + digits
    text = f"第{number}号" if wrapped else number
    if wide:
        text = fullwidth(text)
    assert ids.normalise_trademark_number(text) == number
    assert ids.normalise_right_number("trademark", text) == number


@pytest.mark.parametrize("value, expected", [
    ("2020SR0109251", "2020SR0109251"), ("2020sr0109251", "2020SR0109251"),
    (" 2015 SR 123456 ", "2015SR123456"), ("软著登字第0123456号", "软著登字第0123456号"),
    ("软著登字 第 0123456 号", "软著登字第0123456号"), ("软著登字第１０１２３４５６号", "软著登字第10123456号"),
])
def test_software(value, expected):
    assert ids.normalise_software_number(value) == expected


@pytest.mark.parametrize("value", ["", "2020SR01092", "2020SR01092511", "1989SR0109251", "2020XR0109251",
                                   "软著登字第012345号", "软著登字0123456号"])
def test_software_errors(value):
    assert code_of(ids.normalise_software_number, value) == "invalid_software_number"


@FAST
@given(st.integers(1990, 2100), st.text("0123456789", min_size=6, max_size=7), st.booleans())
def test_software_property(year, serial, lower):
    number = f"{year}SR{serial}"
    assert ids.normalise_software_number(number.lower() if lower else number) == number
    assert ids.normalise_right_number("software", number) == number


@pytest.mark.parametrize("value, expected", [
    ("国作登字-2020-A-00012345", "国作登字-2020-A-00012345"),
    ("京作登字－2019－f－00000001", "京作登字-2019-F-00000001"),
    ("沪作登字—2018—L—12345678", "沪作登字-2018-L-12345678"),
    ("国作登字 2020 A 00012345", "国作登字-2020-A-00012345"),
])
def test_work(value, expected):
    assert ids.normalise_work_number(value) == expected


@pytest.mark.parametrize("value", ["", "国作登字-2020-M-00012345", "国作登字-2020-A-0001234",
                                   "AB作登字-2020-A-00012345", "国作登-2020-A-00012345", "国作登字-1989-A-00012345"])
def test_work_errors(value):
    assert code_of(ids.normalise_work_number, value) == "invalid_work_number"


@FAST
@given(st.sampled_from("国京沪粤苏浙川"), st.integers(1990, 2100), st.sampled_from("ABCDEFGHIJKL"),
       st.text("0123456789", min_size=8, max_size=8), st.sampled_from(["-", "－", "—", "–", " - "]))
def test_work_property(prefix, year, letter, serial, dash):
    canonical = f"{prefix}作登字-{year}-{letter}-{serial}"
    assert ids.normalise_work_number(dash.join([f"{prefix}作登字", str(year), letter.lower(), serial])) == canonical
    assert ids.normalise_right_number("copyright", canonical) == canonical


def test_ic_layout_and_gi():
    assert ids.normalise_ic_layout_number(" bs.20500123x ") == "BS.20500123X"
    assert ids.normalise_right_number("ic_layout", "BS.205001234") == "BS.205001234"
    for bad in ["BS.1", "BS-20500123", "X" * 21, ""]:
        assert code_of(ids.normalise_ic_layout_number, bad) == "invalid_identifier"
    assert ids.normalise_gi_number("  AGI 2010  0001 ") == "AGI 2010 0001"
    assert ids.normalise_right_number("geographical_indication", "第1号") == "第1号"
    for bad in ["", "   ", "x" * 41]:
        assert code_of(ids.normalise_gi_number, bad) == "invalid_identifier"


@FAST
@given(st.text("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.", min_size=6, max_size=20))
def test_ic_layout_property(number):
    assert ids.normalise_ic_layout_number(" " + number.lower() + " ") == number


@FAST
@given(st.text(min_size=0, max_size=60))
def test_gi_property(text):
    try:
        number = ids.normalise_gi_number(text)
    except InvalidIdentifier as exc:
        assert exc.code == "invalid_identifier"
        assert not 0 < len(" ".join(text.split())) <= 40
    else:
        assert number == ids.normalise_gi_number(number) and 0 < len(number) <= 40


def test_right_number_dispatch():
    assert ids.normalise_right_number("invention", "ZL201410362077.3") == "201410362077.3"
    assert code_of(ids.normalise_right_number, "utility_model", "ZL201410362077.3") == "patent_kind_mismatch"
    assert code_of(ids.normalise_right_number, "domain_name", "example.cn") == "invalid_kind"
    assert set(ids.RIGHT_KINDS) == {"invention", "utility_model", "design", "trademark", "copyright",
                                    "software", "ic_layout", "geographical_indication"}


# --------------------------------------------------------------------------------------------- names


@pytest.mark.parametrize("a, b", [
    ("深圳市  腾讯计算机系统有限公司（深圳）", "深圳市腾讯计算机系统有限公司(深圳)"),
    ("Acme  Co., Ltd.", "ACME CO.,LTD."),
    ("【华为】技术有限公司", "[华为]技术有限公司"),
    ("「甲」公司\u3000", " \"甲\"公司"),
    ("ＡＣＭＥ，Ｉｎｃ．", "acme, inc."),
])
def test_normalise_name_equal(a, b):
    assert ids.normalise_name(a) == ids.normalise_name(b)


def test_normalise_name_distinguishes():
    assert ids.normalise_name("腾讯科技有限公司") != ids.normalise_name("腾讯计算机有限公司")


def test_clean_display_name():
    assert ids.clean_display_name("  Acme \u3000 Co.,\tLtd. ") == "Acme Co., Ltd."
    assert ids.clean_display_name("（深圳）") == "（深圳）"  # display keeps the original punctuation


NAMES = st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "Zs")), max_size=30)


@FAST
@given(st.text(max_size=30))
def test_normalise_name_idempotent(text):
    key = ids.normalise_name(text)
    assert ids.normalise_name(key) == key
    assert not any(c.isspace() for c in key)


@FAST
@given(NAMES, st.lists(st.integers(0, 30), max_size=5), st.sampled_from([" ", "\u3000", "\t", "  "]))
def test_normalise_name_ignores_spaces_and_width(text, cuts, space):
    spaced = text
    for cut in sorted(cuts, reverse=True):
        spaced = spaced[:cut] + space + spaced[cut:]
    assert ids.normalise_name(spaced) == ids.normalise_name(text)
    assert ids.normalise_name(fullwidth(text)) == ids.normalise_name(text)
    assert ids.normalise_name(text.upper()) == ids.normalise_name(text.lower()) or not text.isascii()


@FAST
@given(st.text(max_size=40))
def test_clean_display_name_property(text):
    cleaned = ids.clean_display_name(text)
    assert ids.clean_display_name(cleaned) == cleaned
    assert "  " not in cleaned and cleaned == cleaned.strip()
