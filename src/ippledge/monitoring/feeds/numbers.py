"""The forms in which feeds write Chinese patent numbers, folded to the register's one form.

Pure module (no Django).  The register keys a patent by its application number with its check
character (``201380062258.X``, ``core.identifiers``).  Feeds also write it without the check
character (EPO docdb: ``CN201380062258``), in the EPO's compressed epodoc form (``CN20138062258``:
the year, the type digit and the serial without its leading zero) and with ``ZL``/``CN`` prefixes,
spaces or full-width digits, which ``core.identifiers`` already folds.  A publication number
(``CN104968889A``) is not an application number and cannot be turned into one.
"""

from __future__ import annotations

import re
import unicodedata

from ippledge.core import identifiers

_DIGITS_ONLY = re.compile(r"(?:CN|ZL)?(\d{8}|\d{11}|\d{12})", re.ASCII)
# CN publication numbers: 9 digits (7 before 2010-ish, with a leading type digit) and a kind letter.
_PUBLICATION = re.compile(r"CN\d{7,9}[A-Z]\d?|\d{9}[A-Z]\d?", re.ASCII)


def _compact(value: object) -> str:
    text = unicodedata.normalize("NFKC", "" if value is None else str(value))
    return "".join(text.split()).upper().replace("-", "")


def looks_like_publication(value: object) -> bool:
    return bool(_PUBLICATION.fullmatch(_compact(value)))


def patent_number(value: object, kind: str | None = None) -> identifiers.PatentNumber:
    """Parse a CN patent application number in any of the forms above (InvalidIdentifier if none)."""
    text = _compact(value)
    match = _DIGITS_ONLY.fullmatch(text)
    if match:
        digits = match.group(1)
        if len(digits) == 11:  # epodoc: YYYY + type digit + serial without its leading zero
            digits = f"{digits[:5]}0{digits[5:]}"
        text = f"{digits}.{identifiers.patent_check_char(digits)}"
    return identifiers.parse_patent_number(text, kind)


def right_key(kind: str | None, number: object) -> tuple[str, str]:
    """(kind, register number) of a feed's right; a patent's kind may be left to its type digit."""
    if not kind or kind in identifiers.PATENT_KINDS:
        parsed = patent_number(number, kind or None)
        return parsed.kind, parsed.normalised
    return kind, identifiers.normalise_right_number(kind, number)
