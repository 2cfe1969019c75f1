"""Official Chinese patent legal-status codes (CNIPA gazette / EPO INPADOC) and what they mean here.

The table ships as package data (``data/cn_legal_status_codes.csv``, provenance in
``data/README.md``).  Three generations of codes are in use and a monitor must read all three:
the current four-character codes (since 2017, e.g. ``CF01``), the ``Cnn`` codes (2008–2017, e.g.
``C19``) and the older INPADOC codes (e.g. ``MM4A``, ``ASS``).  ``event_type_for_code`` maps each
code that changes the register to one of ``rules.EVENT_TYPES``.

Pure module: no Django.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import cache
from importlib import resources

from ippledge.rights.rules import EVENT_TYPES

DATA_PACKAGE = "ippledge.rights"
DATA_FILE = "data/cn_legal_status_codes.csv"

# Pledge events belong to the pledge registry, not to the right's own history.
PLEDGE_CODES = frozenset({"PE01", "PM01", "PC01"})


@dataclass(frozen=True)
class LegalCode:
    code: str
    description_en: str  # INPADOC description (upper case, as published)
    zh_heading: str  # official gazette heading where a source gives it, else ""
    st27_category: str  # WIPO ST.27 category letter, "" where INPADOC gives none
    influence: str  # "+", "-" or ""
    st27_category_name: str = ""
    note: str = ""  # where the INPADOC and Chinese sources disagree


def normalise(code: str | None) -> str:
    """Codes arrive padded (INPADOC pads to 4 characters: ``"ASS "``) and in any case."""
    return (code or "").strip().upper()


@cache
def _table() -> dict[str, LegalCode]:
    text = resources.files(DATA_PACKAGE).joinpath(DATA_FILE).read_text(encoding="utf-8-sig")
    table = {}
    for row in csv.DictReader(io.StringIO(text)):
        code = normalise(row["code"])
        table[code] = LegalCode(
            code=code,
            description_en=(row["inpadoc_desc_en"] or "").strip(),
            zh_heading=(row["zh_gazette_heading"] or "").strip(),
            st27_category=(row["st27_category"] or "").strip(),
            influence=(row["influence"] or "").strip(),
            st27_category_name=(row["st27_category_name"] or "").strip(),
            note=(row["note"] or "").strip(),
        )
    return table


def all_codes() -> tuple[LegalCode, ...]:
    """Every code in the table, sorted by code."""
    return tuple(sorted(_table().values(), key=lambda c: c.code))


def lookup(code: str | None) -> LegalCode | None:
    return _table().get(normalise(code))


def _codes(event_type: str, *codes: str, **payload: str) -> dict[str, tuple[str, dict]]:
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    return {code: (event_type, payload) for code in codes}


# Code → (event type, payload the code itself implies).  Listed by meaning; within a line the
# order is current code, 2008–2017 code, pre-2009 INPADOC code.
_MAPPING: dict[str, tuple[str, dict]] = {
    **_codes("granted", "GR01", "GR02", "GR03", "GRSP", "C14", "FG1K", "FG4A"),
    **_codes("terminated_unpaid_annuity", "CF01", "C19", "MM4A", "MM1K"),
    **_codes("abandoned", "AV01", "AD01", "AR01", "RGAV", "C20", "C25", "MA1K"),
    # Expiry of the term.  CE01 ("termination of patent right"), C17 ("cessation") and EXPY are
    # generic terminations; the specific causes have their own codes (unpaid annuity CF01/C19,
    # abandonment AV01/C20, invalidation IW01), so the residual generic code is read as the
    # ordinary end of the term.  Consequence: a ``restored`` event does not undo it; a patent
    # whose term had not run out is better recorded with its specific code.
    **_codes("expired", "CX01", "CE01", "EXPY", "C17", "MK1K", "MK4A"),
    **_codes("invalidation_decided", "IW01", outcome="invalid"),
    **_codes("invalidation_decided", "IP01", outcome="partly_invalid"),
    # "Full or partial invalidation": the code does not say which; the caller supplies the outcome.
    **_codes("invalidation_decided", "C32", "C35"),
    **_codes("transferred", "TR01", "TA01", "C41", "C44", "C45", "C47", "ASS"),
    # Name changes (CP03 and C56 cover name or address; an address-only change carries no new name).
    **_codes("owner_renamed", "CP01", "CP03", "C56"),
    **_codes("licensed", "EE01", "LIC"),
    **_codes("licence_cancelled", "EC01"),
    **_codes("open_licence_declared", "OL01"),
    **_codes("open_licence_withdrawn", "OL02"),
    **_codes("preserved", "PP01"),
    **_codes("preservation_lifted", "PD01"),
    **_codes("restored", "RR01", "RA01", "C49", "REIN"),
    **_codes("revoked", "RW01", "C28"),
}

# Codes deliberately without an event: term adjustment/extension is a field of the right
# (term_adjustment_days), not an event; pledge codes belong to the pledge registry.
NO_EVENT_CODES = frozenset({"TG01", "TP01", "C15"}) | PLEDGE_CODES


UNMAPPED = "unmapped"


def event_type_for_code(code: str | None) -> tuple[str, dict] | None:
    """The event type an official code records, with the payload the code implies, or None.

    None for pledge codes (see ``PLEDGE_CODES``), term adjustments, codes that do not change the
    register (publication, examination, bibliographic corrections…) and unknown codes.
    """
    hit = _MAPPING.get(normalise(code))
    if hit is None:
        return None
    event_type, payload = hit
    return event_type, dict(payload)  # a fresh dict: callers add to it
