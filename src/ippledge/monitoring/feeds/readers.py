"""Readers of legal-status feeds: JSON Lines, CSV and the EPO OPS INPADOC legal-status XML.

Pure module (no Django).  Each reader yields ``FeedRow``s in file order: the row's line (or, for
XML, the event's position) and either its fields or why it could not be read.  Rows are plain
dicts with the keys of the JSON Lines format (``kind``, ``number``, ``official_code`` or ``type``,
``date`` and type-specific fields); the XML reader adds ``country``, ``description``,
``publication_number`` and ``fields`` (the event's L5xx texts by their description).

The XML reader is a real parser (``xml.etree`` pull parser) fed text we decoded ourselves as UTF-8,
so a document cannot switch encodings under the check that refuses any DTD: OPS answers never carry
one, and refusing it outright closes entity expansion (billion laughs) and external entities.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

FORMATS = ("jsonl", "csv", "epo-xml")
OPS = "{http://ops.epo.org}"
EXCHANGE = "{http://www.epo.org/exchange}"
# Cells a CSV row may carry as JSON (event fields, and the parties and rights of a pledge record).
JSON_COLUMNS = ("new_owners", "fields", "pledgors", "pledgees", "debtor", "rights", "secured_debt")
READ_BLOCK = 1 << 16


class FeedError(Exception):
    """The file as a whole cannot be read (not one bad row): a DTD in XML, a broken document."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class FeedRow:
    line: int
    data: dict = field(default_factory=dict)
    error: tuple[str, str] | None = None  # (reason code, message)


def detect_format(name: str = "", head: bytes | str = b"") -> str:
    """The format from the file name's extension, else from its first bytes."""
    lowered = (name or "").lower()
    for suffix, fmt in ((".jsonl", "jsonl"), (".ndjson", "jsonl"), (".json", "jsonl"), (".csv", "csv"),
                        (".xml", "epo-xml")):
        if lowered.endswith(suffix):
            return fmt
    text = head.decode("utf-8", "replace") if isinstance(head, bytes) else head
    text = text.lstrip("\ufeff \t\r\n")
    if text.startswith("<"):
        return "epo-xml"
    if text.startswith("{"):
        return "jsonl"
    return "csv"


def _text_stream(source: Iterable[bytes]) -> Iterator[str]:
    """UTF-8 text (a BOM dropped) from byte blocks; invalid UTF-8 is a FeedError."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        for block in source:
            text = decoder.decode(block)
            if text:
                yield text
        tail = decoder.decode(b"", final=True)
        if tail:
            yield tail
    except UnicodeDecodeError as exc:
        raise FeedError("not_utf8", "The file is not UTF-8 text.") from exc


def _lines(source: Iterable[bytes]) -> Iterator[str]:
    pending = ""
    for text in _text_stream(source):
        pending += text
        *complete, pending = pending.split("\n")
        yield from complete
    if pending:
        yield pending


def read_jsonl(source: Iterable[bytes]) -> Iterator[FeedRow]:
    for number, line in enumerate(_lines(source), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except ValueError as exc:
            yield FeedRow(number, error=("unreadable_row", f"Not valid JSON: {exc.msg}."))
            continue
        if not isinstance(data, dict):
            yield FeedRow(number, error=("unreadable_row", "Each line must be one JSON object."))
            continue
        yield FeedRow(number, data)


def read_csv(source: Iterable[bytes]) -> Iterator[FeedRow]:
    reader = csv.DictReader(_lines(source))
    try:
        for row in reader:
            number = reader.line_num
            if None in row:
                yield FeedRow(number, error=("unreadable_row", "The row has more cells than the header."))
                continue
            data = {k.strip(): v.strip() for k, v in row.items() if k and v not in (None, "")}
            try:
                for column in JSON_COLUMNS:
                    if column in data and data[column][:1] in ("[", "{"):
                        data[column] = json.loads(data[column])
            except ValueError:
                yield FeedRow(number, error=("unreadable_row", f"The {column} cell is not valid JSON."))
                continue
            yield FeedRow(number, data)
    except csv.Error as exc:
        yield FeedRow(reader.line_num, error=("unreadable_row", f"Not valid CSV: {exc}."))


# --- EPO OPS INPADOC legal-status XML ----------------------------------------------------------

_DTD = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def _text(element: ET.Element | None) -> str:
    return " ".join((element.text or "").split()) if element is not None else ""


def _docdb(reference: ET.Element | None) -> tuple[str, str, str]:
    """(country, doc-number, kind) of a publication or application reference, docdb form first."""
    if reference is None:
        return "", "", ""
    ids = reference.findall(f"{EXCHANGE}document-id")
    for doc in sorted(ids, key=lambda d: d.get("document-id-type") != "docdb"):
        number = _text(doc.find(f"{EXCHANGE}doc-number"))
        if number:
            return _text(doc.find(f"{EXCHANGE}country")), number, _text(doc.find(f"{EXCHANGE}kind"))
    return "", "", ""


def _iso_date(value: str) -> str:
    value = value.strip()
    return f"{value[:4]}-{value[4:6]}-{value[6:8]}" if re.fullmatch(r"\d{8}", value) else value


def _legal_row(event: ET.Element, member: dict) -> dict:
    def field_text(name: str) -> str:
        return _text(event.find(f"{OPS}{name}"))

    extra = {}
    block = event.find(f"{OPS}L500EP")
    if block is not None:
        for child in block:
            if child.get("desc") and _text(child):
                extra[child.get("desc")] = _text(child)[:300]
    # The event names the document it was published against: the application (F) or a
    # publication (P).  The register is keyed by application number, which the family member gives.
    filing = field_text("L002EP") == "F"
    country = field_text("L001EP") or member["country"]
    number = field_text("L003EP") if filing and field_text("L003EP") else member["application"]
    return {"country": country, "number": number, "official_code": (event.get("code") or "").strip(),
            "date": _iso_date(field_text("L007EP")), "description": (event.get("desc") or "").strip()[:300],
            "publication_number": member["publication"], "fields": extra}


def read_epo_xml(source: Iterable[bytes]) -> Iterator[FeedRow]:
    """One row per ``ops:legal`` event of every ``ops:family-member``, in document order."""
    parser = ET.XMLPullParser(events=("start", "end"))
    position = 0
    member: dict = {}
    carry = ""
    try:
        for text in _text_stream(source):
            # A DTD may only appear before the root element, but check every block (with the tail
            # of the previous one, so a declaration split across blocks is still seen).
            if _DTD.search(carry + text):
                raise FeedError("xml_dtd_refused",
                                "The XML declares a DTD or entities, which a legal-status feed never needs.")
            carry = text[-16:]
            parser.feed(text)
            for kind, element in parser.read_events():
                if kind == "start" and element.tag == f"{OPS}family-member":
                    member = {}
                elif kind == "end" and element.tag == f"{OPS}family-member":
                    element.clear()
                elif kind == "end" and element.tag == f"{EXCHANGE}publication-reference" and not member.get("p"):
                    country, number, doc_kind = _docdb(element)
                    member.update(p=True, country=country, publication=f"{country}{number}{doc_kind}")
                elif kind == "end" and element.tag == f"{EXCHANGE}application-reference":
                    country, number, _kind = _docdb(element)
                    member.update(application=number, country=member.get("country") or country)
                elif kind == "end" and element.tag == f"{OPS}legal":
                    position += 1
                    yield FeedRow(position, _legal_row(element, {"country": "", "application": "",
                                                                 "publication": "", **member}))
                    element.clear()
        parser.close()
    except ET.ParseError as exc:
        raise FeedError("xml_malformed", f"The XML cannot be read: {exc}.") from exc


def read(fmt: str, source: Iterable[bytes]) -> Iterator[FeedRow]:
    reader = {"jsonl": read_jsonl, "csv": read_csv, "epo-xml": read_epo_xml}.get(fmt)
    if reader is None:
        raise FeedError("unknown_format", f"Give the format as one of {', '.join(FORMATS)}.")
    return reader(source)


def head(path, size: int = 512) -> bytes:
    """The first bytes of a file, to detect its format."""
    with open(path, "rb") as fh:
        return fh.read(size)


def blocks(path_or_bytes, size: int = READ_BLOCK) -> Iterator[bytes]:
    """Byte blocks of a file path or of bytes in memory."""
    if isinstance(path_or_bytes, bytes | bytearray):
        stream = io.BytesIO(path_or_bytes)
        while block := stream.read(size):
            yield block
        return
    with open(path_or_bytes, "rb") as fh:
        while block := fh.read(size):
            yield block
