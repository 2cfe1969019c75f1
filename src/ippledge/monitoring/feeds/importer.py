"""Import a legal-status feed into the rights register, in chunks, matched in bulk.

For each chunk of rows: every row is cleaned by the rights register's own cleaner
(``rights.services.clean_event_fields``); one query finds the chunk's rights by number, one their
histories, one which of them are under a live pledge.  Rights with no live pledge get their events
validated by the same pure rule as ``record_event`` (``rules.validate_event``, against the history
as it grows) and appended with one insert (``rights.bulk``): no guard or listener concerns them —
the registry's guard refuses only events on pledged rights, its listener notifies only pledgees,
and monitoring watches only pledged rights.  Rights under a live pledge are recorded in rounds (round
k: each such right's k-th new event) through ``rights.services.record_events``, whose guards and
listeners run in their batch forms and write exactly what ``record_event`` one by one writes: guards
refuse, alerts are raised and pledgees notified as when a registrar records the event by hand.
Transfers and renames (which rebuild the holder index), a pledged right with one of them or with a
pledge code in the chunk, and every pledged right when a hook has no batch form, go through
``record_event`` one by one.

An event is identified by (right, official code or type, date): a row already in the history is
``unchanged`` (for a code, the database's unique index enforces it too).  Rights not in the
register are listed, never created.  Pledge codes (PE01/PM01/PC01) are matched to the pledges the
registry holds (``registry.imports.note_official_record``).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from ippledge.core import business_date, limits
from ippledge.core import permissions as perm
from ippledge.core.errors import DomainError, InvalidIdentifier, ValidationFailed
from ippledge.core.permissions import Actor
from ippledge.registry import imports as registry_imports
from ippledge.rights import bulk, legal_codes, rules
from ippledge.rights import services as rights_services
from ippledge.rights.models import Right

from . import numbers, readers

CHUNK = 5000
LISTED = 1000  # entries kept in each list of the summary (totals are always whole)
_CODE = re.compile(r"[A-Z0-9]{1,8}", re.ASCII)
# Fields of a row that are the event's own (the rest are the right's reference or the feed's context).
_EVENT_DATA = ("type", "official_code", "date", "paid_through", "renewed_to", "outcome", "new_owners", "new_name",
               "owner_id_number", "description", "pledgee_consent", "note")


@dataclass
class Summary:
    source: str = ""
    format: str = ""
    rows: int = 0
    imported: int = 0
    unchanged: int = 0
    imported_by_type: Counter = field(default_factory=Counter)
    unmatched_rights: dict = field(default_factory=dict)
    unmatched_rows: int = 0
    unmapped_codes: dict = field(default_factory=dict)
    pledge_records: dict = field(default_factory=lambda: {"matched": 0, "unchanged": 0, "unmatched": 0,
                                                          "listed": []})
    rejected: list = field(default_factory=list)
    rejected_total: int = 0
    error: dict | None = None  # the file could not be read on (a DTD, broken XML): rows before it stand

    def reject(self, line: int, code: str, message: str, number: str = "", fields: dict | None = None) -> None:
        self.rejected_total += 1
        if len(self.rejected) < LISTED:
            entry = {"line": line, "code": code, "message": message, "number": number}
            if fields:
                entry["fields"] = fields
            self.rejected.append(entry)

    def unmatched(self, line: int, country: str, kind: str, number: str, reason: str) -> None:
        self.unmatched_rows += 1
        key = (country, kind, number)
        entry = self.unmatched_rights.get(key)
        if entry is None and len(self.unmatched_rights) < LISTED:
            self.unmatched_rights[key] = {"country": country, "kind": kind, "number": number, "reason": reason,
                                          "first_line": line, "rows": 1}
        elif entry is not None:
            entry["rows"] += 1

    def unmapped(self, code: str, description: str) -> None:
        entry = self.unmapped_codes.setdefault(code, {"code": code, "description": description, "rows": 0})
        entry["rows"] += 1

    def pledge_record(self, status: str, entry: dict) -> None:
        self.pledge_records[status] += 1
        if len(self.pledge_records["listed"]) < LISTED:
            self.pledge_records["listed"].append({"status": status, **entry})

    def as_dict(self) -> dict:
        return {"source": self.source, "format": self.format, "rows": self.rows, "imported": self.imported,
                "unchanged": self.unchanged, "imported_by_type": dict(sorted(self.imported_by_type.items())),
                "unmatched_rights": list(self.unmatched_rights.values()), "unmatched_rows": self.unmatched_rows,
                "unmapped_codes": sorted(self.unmapped_codes.values(), key=lambda e: e["code"]),
                "pledge_records": self.pledge_records, "rejected": self.rejected,
                "rejected_total": self.rejected_total, "error": self.error}


@dataclass
class _Row:
    line: int
    kind: str
    number: str
    data: dict  # what record_event takes
    etype: str
    code: str
    date: dt.date
    payload: dict
    right: Right | None = None


class _Rejected(Exception):
    def __init__(self, code: str, message: str, fields: dict | None = None):
        super().__init__(message)
        self.code, self.message, self.fields = code, message, fields


def _reason(exc: DomainError) -> tuple[str, str, dict]:
    """A stable reason code for a cleaning failure, naming the field where the cleaner did not."""
    fields = {k: v for k, v in (exc.fields or {}).items() if not k.startswith("_")}
    code = exc.code
    if code == "validation_error" and fields:
        first = sorted(fields)[0].split(".")[0].split("[")[0]
        code = {"date": "invalid_date", "type": "invalid_type", "official_code": "invalid_code"}.get(
            first, f"invalid_{first}")
    message = exc.localised(_) if hasattr(exc, "localised") else str(exc)
    return code, message, {k: [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in fields.items()}


def _row_number(data: dict) -> str:
    return str(data.get("number") or "")[:64]


class Importer:
    def __init__(self, *, actor: Actor, source: str = "", fmt: str = "",
                 progress: Callable[[int], None] | None = None, batch: bool = True):
        perm.require_registrar(actor)  # before anything is read
        self.actor = actor
        self.batch = batch  # False: every event on a pledged right through record_event, one by one
        self.summary = Summary(source=source, format=fmt)
        self.progress = progress
        self.today = business_date.today()

    # --- one row, without the database ------------------------------------------------------

    def _clean(self, row: readers.FeedRow) -> _Row | None:
        data = row.data
        country = str(data.get("country") or "CN").strip().upper()
        number = _row_number(data)
        kind = str(data.get("kind") or "").strip()
        if not number:
            raise _Rejected("missing_number", _("The row names no right (number)."))
        if country != "CN":
            self.summary.unmatched(row.line, country, kind, number, "not_cn")
            return None
        try:
            kind, number = numbers.right_key(kind, number)
        except InvalidIdentifier as exc:
            if numbers.looks_like_publication(number):
                self.summary.unmatched(row.line, country, kind, number, "publication_number")
                return None
            raise _Rejected(*_reason(exc)) from None
        if not perm.office_keeps(self.actor, {kind}):
            raise _Rejected("not_your_office", _("A registrar imports only rights its own office keeps."))
        code = legal_codes.normalise(data.get("official_code"))
        etype = str(data.get("type") or "").strip()
        if code and not _CODE.fullmatch(code):
            raise _Rejected("invalid_code", _("An official code has 1 to 8 letters and digits."))
        if not code and not etype:
            raise _Rejected("missing_code", _("Give the official code or the event type."))
        event = {k: data[k] for k in _EVENT_DATA if data.get(k) not in (None, "")}
        event["official_code"] = code
        if code in legal_codes.PLEDGE_CODES:
            return self._pledge_row(row.line, kind, number, code, data)
        if code and legal_codes.event_type_for_code(code) is None:
            if etype and etype != legal_codes.UNMAPPED:
                raise _Rejected("type_code_mismatch", _("This official code records no event of that type."))
            event["type"] = legal_codes.UNMAPPED
            known = legal_codes.lookup(code)
            event.setdefault("description", known.description_en if known else "")
        try:
            note = limits.text(event.get("note"), field="note", max_length=300)
            etype, code, date, payload = rights_services.clean_event_fields(event)
            limits.business_date(date, field="date", today=self.today, not_after=self.today)
        except DomainError as exc:
            raise _Rejected(*_reason(exc)) from None
        missing = sorted(n for n in rules.required_payload(etype) if payload.get(n) in (None, "", []))
        if missing:
            raise _Rejected("incomplete_event", _("This event needs more information: %s.") % ", ".join(missing),
                            {n: [_("This field is required.")] for n in missing})
        event["note"] = note
        event["type"] = etype
        return _Row(row.line, kind, number, event, etype, code, date, payload)

    def _pledge_row(self, line: int, kind: str, number: str, code: str, data: dict) -> _Row:
        try:
            date = rights_services._parse_date(data.get("date"))
        except ValueError:
            date = None
        if date is None:
            raise _Rejected("invalid_date", _("Enter a date as YYYY-MM-DD."))
        official_no = str(data.get("official_registration_no") or data.get("registration_no") or "").strip()[:64]
        return _Row(line, kind, number, {"official_registration_no": official_no}, "pledge_record", code, date, {})

    # --- a chunk, with one query per kind of fact --------------------------------------------

    def run_chunk(self, chunk: list[readers.FeedRow]) -> None:
        cleaned: list[_Row] = []
        for row in chunk:
            self.summary.rows += 1
            if row.error:
                self.summary.reject(row.line, *row.error, number=_row_number(row.data))
                continue
            try:
                item = self._clean(row)
            except _Rejected as exc:
                self.summary.reject(row.line, exc.code, exc.message, _row_number(row.data), exc.fields)
                continue
            if item is not None:
                cleaned.append(item)
        for attempt in range(3):
            try:
                with transaction.atomic():
                    outcome = self._write(cleaned)
                break
            except IntegrityError:
                # Another writer recorded some of these events meanwhile: read the histories again.
                if attempt == 2:
                    raise
        self._count(outcome)  # only once the chunk is written
        if self.progress:
            self.progress(len(chunk))

    def _write(self, rows: list[_Row]) -> dict[int, tuple]:
        found = bulk.histories({r.number for r in rows})
        pledged = registry_imports.rights_with_live_pledges(h.right_id for h in found.values())
        by_right: dict[int, list[_Row]] = {}
        outcome: dict[int, tuple] = {}  # line → what happened, counted once the chunk is written
        for row in rows:
            history = found.get((row.kind, row.number))
            if history is None:
                outcome[row.line] = ("unmatched", row)
                continue
            by_right.setdefault(history.right_id, []).append(row)
        # Model instances only for the rights whose rows go through record_event or the registry (and
        # are not already recorded): a re-import of a pledged right's events loads none.
        slow_ids = set()
        for right_id, right_rows in by_right.items():
            first = found[(right_rows[0].kind, right_rows[0].number)]
            if any(r.etype == "pledge_record" or ((right_id in pledged or r.etype in bulk.NOT_IN_BULK)
                                                  and not _already(first.events, r)) for r in right_rows):
                slow_ids.add(right_id)
        models = Right.objects.in_bulk(list(slow_ids)) if slow_ids else {}
        # Pledged rights whose new rows are all plain events (no pledge code, transfer or rename) are
        # recorded set-based: round k records each such right's k-th new event, all at once.
        batched: dict[int, list[_Row]] = {}
        if self.batch and rights_services.batchable():
            for right_id in slow_ids & pledged:
                right_rows = by_right[right_id]
                events = found[(right_rows[0].kind, right_rows[0].number)].events
                if not any(r.etype == "pledge_record" or (r.etype in bulk.NOT_IN_BULK and not _already(events, r))
                           for r in right_rows):
                    batched[right_id] = right_rows
        if batched:
            self._record_rounds(batched, models, found, outcome)
        new_events: list[bulk.NewEvent] = []
        for right_id, right_rows in by_right.items():
            if right_id in batched:
                continue
            first = right_rows[0]
            history = found[(first.kind, first.number)]
            events = history.events
            for row in right_rows:
                if row.etype == "pledge_record":
                    outcome[row.line] = ("pledge", row, registry_imports.note_official_record(
                        actor=self.actor, right=models[right_id], code=row.code, date=row.date,
                        official_no=row.data["official_registration_no"]))
                elif _already(events, row):
                    outcome[row.line] = ("unchanged", row)
                elif right_id in pledged or row.etype in bulk.NOT_IN_BULK:
                    outcome[row.line] = self._record(models[right_id], row, events)
                else:
                    seq = (events[-1].seq if events else 0) + 1
                    event = rights_services.event_of(seq, row.etype, row.code, row.date, row.payload)
                    try:
                        rules.validate_event(history.facts, events, event)
                    except DomainError as exc:
                        outcome[row.line] = ("rejected", row, *_reason(exc))
                        continue
                    events.append(event)
                    payload = row.payload
                    if row.data.get("pledgee_consent") not in (None, "", False) and \
                            rights_services._bool(row.data["pledgee_consent"]):
                        payload = {**payload, "pledgee_consent": True}
                    new_events.append(bulk.NewEvent(right_id, history.kind, seq, row.etype, row.date, row.code,
                                                    payload, row.data.get("note", "")))
                    outcome[row.line] = ("imported", row)
        bulk.append_events(actor=self.actor, events=new_events, source=self.summary.source)
        return outcome

    def _record_rounds(self, batched: dict[int, list[_Row]], models: dict[int, Right], found: dict,
                       outcome: dict[int, tuple]) -> None:
        """What ``_record`` does for each row of these pledged rights, in order per right, with the
        guards, the insert, the audit and the listeners run once a round (``rights.services.record_events``)."""
        queues = {right_id: list(rows) for right_id, rows in batched.items()}
        while queues:
            items, lines = [], []
            for right_id in list(queues):
                queue = queues[right_id]
                history = found[(queue[0].kind, queue[0].number)]
                while queue:
                    row = queue.pop(0)
                    if _already(history.events, row):
                        outcome[row.line] = ("unchanged", row)
                        continue
                    seq = (history.events[-1].seq if history.events else 0) + 1
                    event = rights_services.event_of(seq, row.etype, row.code, row.date, row.payload)
                    try:
                        rules.validate_event(history.facts, history.events, event)
                    except DomainError as exc:
                        outcome[row.line] = ("rejected", row, *_reason(exc))
                        continue
                    items.append((models[right_id], event, dict(row.payload), row.data))
                    lines.append((row, history))
                    break
                if not queue:
                    del queues[right_id]
            results = rights_services.record_events(actor=self.actor, items=items) if items else []
            for (row, history), (_right, event, _p, _d), result in zip(lines, items, results, strict=True):
                if isinstance(result, DomainError):
                    outcome[row.line] = ("rejected", row, *_reason(result))
                else:
                    history.events.append(event)
                    outcome[row.line] = ("imported", row)

    def _record(self, right: Right, row: _Row, history: list[rules.Event]) -> tuple:
        try:
            event = rights_services.record_event(actor=self.actor, right=right, data=row.data)
        except DomainError as exc:
            return ("rejected", row, *_reason(exc))
        history.append(rights_services.event_of(event.seq, event.type, event.official_code, event.date,
                                                event.payload))
        return ("imported", row)

    def _count(self, outcome: dict[int, tuple]) -> None:
        s = self.summary
        for line in sorted(outcome):
            what, row, *rest = outcome[line]
            if what == "unmatched":
                s.unmatched(line, "CN", row.kind, row.number, "not_in_register")
            elif what == "unchanged":
                s.unchanged += 1
            elif what == "imported":
                s.imported += 1
                s.imported_by_type[row.etype] += 1
                if row.etype == legal_codes.UNMAPPED:
                    s.unmapped(row.code, row.payload.get("description", ""))
            elif what == "rejected":
                s.reject(line, rest[0], rest[1], row.number, rest[2])
            elif what == "pledge":
                result = rest[0]
                status = result["status"]
                s.pledge_record(status, {"line": line, "code": row.code, "date": row.date.isoformat(),
                                         "kind": row.kind, "number": row.number,
                                         "official_registration_no": row.data["official_registration_no"],
                                         "registration_no": result["registration_no"],
                                         "pledge_status": result["pledge_status"]})

    # --- a whole feed -----------------------------------------------------------------------

    def run(self, rows: Iterable[readers.FeedRow], chunk_size: int = CHUNK) -> Summary:
        iterator: Iterator[readers.FeedRow] = iter(rows)
        try:
            while chunk := list(islice(iterator, chunk_size)):
                self.run_chunk(chunk)
        except readers.FeedError as exc:
            self.summary.error = {"code": exc.code, "message": exc.message}
        return self.summary


def _already(history: list[rules.Event], row: _Row) -> bool:
    """The row's event is in the history: same code and date, or (for a row or an entry without a
    code) the same type and date."""
    for event in history:
        if event.date != row.date:
            continue
        if row.code and event.official_code == row.code:
            return True
        if event.type == row.etype and (not row.code or not event.official_code):
            return True
    return False


def import_feed(*, actor: Actor, source, fmt: str = "", name: str = "",
                progress: Callable[[int], None] | None = None, chunk_size: int = CHUNK) -> dict:
    """Import a feed from a path or bytes; the summary as a JSON-ready dict."""
    if not fmt:
        head = source[:512] if isinstance(source, bytes | bytearray) else readers.head(source)
        fmt = readers.detect_format(name or ("" if isinstance(source, bytes | bytearray) else str(source)), head)
    if fmt not in readers.FORMATS:
        raise ValidationFailed(_("Give the format as jsonl, csv or epo-xml."), code="unknown_format",
                               fields={"format": [_("Choose jsonl, csv or epo-xml.")]})
    importer = Importer(actor=actor, source=name or str(source if not isinstance(source, bytes | bytearray) else ""),
                        fmt=fmt, progress=progress)
    return importer.run(readers.read(fmt, readers.blocks(source)), chunk_size=chunk_size).as_dict()


def kinds_in(fmt: str, content: bytes) -> set[str]:
    """The kinds of right a feed names (rows that cannot be read are left to the import to reject):
    the API asks it to refuse another office's rights before it queues anything.  A broken or
    DTD-carrying document raises ``readers.FeedError`` here already."""
    kinds = set()
    for row in readers.read(fmt, readers.blocks(content)):
        if row.error or str(row.data.get("country") or "CN").strip().upper() != "CN":
            continue
        try:
            kinds.add(numbers.right_key(str(row.data.get("kind") or "").strip(), _row_number(row.data))[0])
        except DomainError:
            continue
    return kinds
