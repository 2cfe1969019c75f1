"""Normalise and validate the identifiers the registry stores and searches by.

Pure module (no Django): the rules engine, imports and the API all call it.  Every function
returns the one canonical form that is stored and compared, so that every way of writing a number
finds the same record (registry-rules §5), or raises ``InvalidIdentifier`` with a stable code.

Messages are plain English marked with ``N_``; the API/pages translate them when shown.  Where a
message carries a value (the expected check character), the exception keeps the template in ``message`` and
``params`` so the caller can translate the template first and interpolate afterwards.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from stdnum import numdb
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

from ippledge.core.errors import N_, InvalidIdentifier

PATENT_KINDS = ("invention", "utility_model", "design")
RIGHT_KINDS = (*PATENT_KINDS, "trademark", "copyright", "software", "ic_layout", "geographical_indication")
ID_TYPES = ("uscc", "resident_id", "passport", "foreign_company", "other")

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100: no I, O, S, V, Z

# Dash look-alikes that NFKC leaves alone (it already folds full-width － and small ﹣).
_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"), "-")
# Invisible characters that survive copy-paste from web pages and office documents.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"), None)
# Chinese punctuation NFKC does not fold; mapped so typed and copied names compare equal.
_NAME_PUNCT = str.maketrans({
    "【": "[", "】": "]", "〔": "[", "〕": "]", "〖": "[", "〗": "]",
    "「": '"', "」": '"', "『": '"', "』": '"', "“": '"', "”": '"', "‘": "'", "’": "'",
    "《": "<", "》": ">", "〈": "<", "〉": ">", "、": ",", "。": ".", **_DASHES, **_INVISIBLE,
})


def _fail(message: str, code: str, **params: str) -> InvalidIdentifier:
    """Build the error; interpolated messages keep their template for translation by the caller."""
    return InvalidIdentifier(message, code=code, params=params)


def _compact(value: object, drop: str = "") -> str:
    """NFKC (full-width → ASCII), drop whitespace, invisibles, dashes if asked, and uppercase."""
    text = unicodedata.normalize("NFKC", "" if value is None else str(value))
    text = text.translate(_INVISIBLE).translate(_DASHES)
    text = "".join(text.split())
    for ch in drop:
        text = text.replace(ch, "")
    return text.upper()


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()  # str.isdigit alone accepts e.g. Arabic-Indic digits


@lru_cache(maxsize=4096)
def _is_division_code(code: str) -> bool:
    """GB/T 2260 code known in any era: USCCs keep the code of the registering office even after
    the division was renamed or merged, so a historical code is still valid."""
    if code == "100000":  # central-level registrations (State Council bodies, national associations)
        return True
    info = {k: v for _part, props in numdb.get("cn/loc").info(code) for k, v in props.items()}
    return "county" in info


# ---------------------------------------------------------------------------------------------
# USCC (GB 32100-2015) and resident ID (GB 11643-1999)


def normalise_uscc(value: object) -> str:
    number = _compact(value, drop="-")
    if len(number) != 18:
        raise _fail(N_("A USCC has 18 characters."), "invalid_uscc")
    # stdnum's validate() insists on digits in positions 1-2, but the registration authority and
    # entity type may be letters (e.g. N = agriculture, Y = other), so check the charset here.
    if any(c not in USCC_CHARSET for c in number) or not _ascii_digits(number[2:8]):
        raise _fail(N_("The USCC contains characters that are not allowed."), "invalid_uscc")
    if uscc.calc_check_digit(number[:17]) != number[17]:
        raise _fail(N_("The USCC check character is wrong."), "invalid_uscc")
    if not _is_division_code(number[2:8]):
        raise _fail(N_("The USCC region code (characters 3 to 8) is not a known division code."),
                    "invalid_uscc")
    # Characters 9-17 carry their own GB 11714 check, but the rules make that a warning only.
    return number


def normalise_resident_id(value: object) -> str:
    number = _compact(value, drop="-")
    if len(number) != 18:
        raise _fail(N_("A resident ID number has 18 characters."), "invalid_resident_id")
    if not _ascii_digits(number[:17]) or number[17] not in "0123456789X":
        raise _fail(N_("The resident ID number contains characters that are not allowed."),
                    "invalid_resident_id")
    if ric.calc_check_digit(number) != number[17]:
        raise _fail(N_("The resident ID check character is wrong."), "invalid_resident_id")
    try:
        born = ric.get_birth_date(number)
    except ValidationError:  # InvalidComponent: no such date
        born = None
    if born is None or born > datetime.date.today():
        raise _fail(N_("The birth date in the resident ID number is not a real date."),
                    "invalid_resident_id")
    # No address-code check: stdnum ties it to the birth year and rejects people registered in a
    # county created later; HK/Macau/Taiwan residence permits also use this format.
    return number


def _mask(value: str, head: int, tail: int) -> str:
    if len(value) <= head + tail:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[len(value) - tail:]


def mask_resident_id(value: str) -> str:
    """110105********002X: public output never shows birth date and sequence (PIPL)."""
    return _mask(_compact(value, drop="-"), 6, 4)


def mask_id(id_type: str, id_number: str) -> str:
    """Mask the numbers of natural persons; organisations' numbers are public anyway."""
    if id_type == "resident_id":
        return mask_resident_id(id_number)
    if id_type in ("passport", "other"):  # "other" may be a person's permit number: mask to be safe
        return _mask(id_number, 2, 2)
    return id_number


def validate_party_id(id_type: str, id_number: object) -> str:
    if id_type == "uscc":
        return normalise_uscc(id_number)
    if id_type == "resident_id":
        return normalise_resident_id(id_number)
    if id_type == "passport":
        number = _compact(id_number, drop="-")
        if not (5 <= len(number) <= 20 and number.isascii() and number.isalnum()):
            raise _fail(N_("A passport number has 5 to 20 letters and digits."), "invalid_passport")
        return number
    if id_type in ("foreign_company", "other"):
        number = clean_display_name(id_number)
        if not 0 < len(number) <= 64:
            raise _fail(N_("The identification number must have 1 to 64 characters."),
                        "invalid_identifier")
        return number
    raise _fail(N_("Unknown type of identification."), "invalid_id_type")


# ---------------------------------------------------------------------------------------------
# CN patent application / patent numbers (ZC 0006-2003)

_PATENT_TYPES = {1: "invention", 2: "utility_model", 3: "design", 8: "invention", 9: "utility_model"}
_PATENT_WEIGHTS = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
_PATENT_RE = re.compile(r"(?:ZL|CN)?(\d{12}|\d{8})\.?([0-9X])", re.ASCII)


@dataclass(frozen=True)
class PatentNumber:
    normalised: str  # "201410362077.3": digits, dot, check character
    year: int
    type_digit: int
    kind: str
    serial: str
    check: str
    old_format: bool

    @property
    def display(self) -> str:
        return "ZL" + self.normalised


def patent_check_char(digits: str) -> str:
    """Check character over the 12 (or, old format, 8) digits: weighted sum mod 11, 10 → X."""
    total = sum(int(d) * w for d, w in zip(digits, _PATENT_WEIGHTS, strict=False)) % 11
    return "X" if total == 10 else str(total)


def parse_patent_number(value: object, kind: str | None = None) -> PatentNumber:
    if kind is not None and kind not in PATENT_KINDS:
        raise _fail(N_("Unknown kind of right."), "invalid_kind")
    # "。" is what a Chinese IME types for a full stop; NFKC folds only the full-width "．".
    match = _PATENT_RE.fullmatch(_compact(value).replace("。", "."))
    if not match:
        raise _fail(N_("A patent number has 12 digits (8 before October 2003) and a check character, "
                       "for example ZL201410362077.3."), "invalid_patent_number")
    digits, check = match.groups()
    old = len(digits) == 8
    if old:
        yy = int(digits[:2])  # old numbers ran from 1985 (patent law in force) to 2003
        year = 1900 + yy if yy >= 85 else 2000 + yy if yy <= 3 else 0
        type_digit, serial = int(digits[2]), digits[3:]
    else:
        year, type_digit, serial = int(digits[:4]), int(digits[4]), digits[5:]
        year = year if year >= 2003 else 0  # the 12-digit format started in October 2003
    if not year:
        raise _fail(N_("The year in the patent number is not valid."), "invalid_patent_number")
    if type_digit not in _PATENT_TYPES:
        raise _fail(N_("The patent type digit must be 1, 2, 3, 8 or 9."), "invalid_patent_number")
    expected = patent_check_char(digits)
    if check != expected:
        raise _fail(N_("The patent number check character is wrong; it should be %(expected)s."),
                    "invalid_patent_number", expected=expected)
    found = _PATENT_TYPES[type_digit]
    if kind is not None and kind != found:
        raise _fail(N_("The patent number's type digit does not match the kind of patent."),
                    "patent_kind_mismatch")
    return PatentNumber(f"{digits}.{check}", year, type_digit, found, serial, check, old)


def normalise_patent_number(value: object, kind: str | None = None) -> str:
    return parse_patent_number(value, kind).normalised


def format_patent_number(normalised: str) -> str:
    return parse_patent_number(normalised).display


# ---------------------------------------------------------------------------------------------
# Trademarks, copyright, software, IC layout designs, geographical indications

_TRADEMARK_RE = re.compile(r"第?(G?\d{1,10})号?", re.ASCII)
_SOFTWARE_RE = re.compile(r"(\d{4})SR(\d{6,7})", re.ASCII)
# Certificate serials are zero-padded to 7 digits; allow 8 for when the counter passes 9,999,999.
_SOFTWARE_CERT_RE = re.compile(r"软著登字第(\d{7,8})号", re.ASCII)
_WORK_RE = re.compile(r"([\u4e00-\u9fff])作登字-?(\d{4})-?([A-L])-?(\d{8})", re.ASCII)
_IC_LAYOUT_RE = re.compile(r"[A-Z0-9.]{6,20}")


def normalise_trademark_number(value: object) -> str:
    """第12345678号 → 12345678; Madrid registrations keep their G prefix.  No check digit exists."""
    match = _TRADEMARK_RE.fullmatch(_compact(value))
    if not match:
        raise _fail(N_("A trademark registration number has 1 to 10 digits, optionally with a G prefix."),
                    "invalid_trademark_number")
    return match.group(1)


def normalise_software_number(value: object) -> str:
    text = _compact(value)
    if match := _SOFTWARE_CERT_RE.fullmatch(text):
        return f"软著登字第{match.group(1)}号"
    match = _SOFTWARE_RE.fullmatch(text)
    if not match or not 1990 <= int(match.group(1)) <= 2100:
        raise _fail(N_("A software registration number looks like 2020SR0109251."), "invalid_software_number")
    return f"{match.group(1)}SR{match.group(2)}"


def normalise_work_number(value: object) -> str:
    match = _WORK_RE.fullmatch(_compact(value))
    if not match or not 1990 <= int(match.group(2)) <= 2100:
        raise _fail(N_("A work registration number looks like 国作登字-2020-A-00012345."),
                    "invalid_work_number")
    return "{}作登字-{}-{}-{}".format(*match.groups())


def normalise_ic_layout_number(value: object) -> str:
    number = _compact(value)
    if not _IC_LAYOUT_RE.fullmatch(number):
        raise _fail(N_("A layout-design registration number has 6 to 20 letters, digits and dots."),
                    "invalid_identifier")
    return number


def normalise_gi_number(value: object) -> str:
    number = clean_display_name(value)
    if not 0 < len(number) <= 40:
        raise _fail(N_("A geographical indication number must have 1 to 40 characters."),
                    "invalid_identifier")
    return number


def normalise_right_number(kind: str, value: object) -> str:
    if kind in PATENT_KINDS:
        return normalise_patent_number(value, kind)
    normalise = {
        "trademark": normalise_trademark_number,
        "copyright": normalise_work_number,
        "software": normalise_software_number,
        "ic_layout": normalise_ic_layout_number,
        "geographical_indication": normalise_gi_number,
    }.get(kind)
    if normalise is None:
        raise _fail(N_("Unknown kind of right."), "invalid_kind")
    return normalise(value)


# ---------------------------------------------------------------------------------------------
# Party names


def normalise_name(value: object) -> str:
    """Matching key for legal names: full-width/half-width, punctuation, spacing and case ignored."""
    text = "" if value is None else str(value)
    # Casefolding and dropping spaces can yield text NFKC changes again (e.g. a combining mark
    # meets its base), so repeat until stable: the key must be idempotent to be a search key.
    for _ in range(4):
        key = "".join(unicodedata.normalize("NFKC", text).translate(_NAME_PUNCT).split()).casefold()
        if key == text:
            break
        text = key
    return key


def clean_display_name(value: object) -> str:
    """What is stored for display: trimmed, inner whitespace runs (incl. U+3000) → one space."""
    return " ".join(("" if value is None else str(value)).split())
