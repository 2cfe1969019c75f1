"""Tamper-evident journal of registry events.

Each entry's hash is SHA-256 over the previous hash and the canonical JSON of the entry (sorted
keys, no spaces, UTF-8).  Appends take the journal's number-series row lock, so entries are
written strictly one after another even across processes; ``verify`` recomputes the whole chain.

Every ``pledge.*`` entry also records the pledge's public state after the action that wrote it, so
``report`` can rebuild from the journal alone what public search must serve and name every record
the tables serve differently (``search.record_differences``).  The database refuses UPDATE and
DELETE on journal rows (migration 0002).  Search certificates are not journal events: they carry
their own seal (``search.certificate_intact``).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
from dataclasses import dataclass

from django.utils import timezone

from ippledge.core import numbers

from . import search, signing
from .canonical import canonical
from .models import Checkpoint, JournalEntry, Pledge, SearchCertificate

GENESIS = "0" * 64
SERIES = "registry-journal"


def entry_hash(prev_hash: str, body: dict) -> str:
    return hashlib.sha256((prev_hash + canonical(body)).encode("utf-8")).hexdigest()


def _body(seq: int, at, kind: str, ref: str, payload: dict) -> dict:
    return {"seq": seq, "at": at.isoformat().replace("+00:00", "Z"), "kind": kind, "ref": ref,
            "payload": json.loads(canonical(payload))}


_buffer: contextvars.ContextVar[list | None] = contextvars.ContextVar("journal_buffer", default=None)


def append(*, kind: str, ref: str, payload: dict) -> None:
    """Append inside the caller's transaction (the registration and its journal entry commit together).

    Inside ``buffered()`` entries are collected and written together when the block ends."""
    pending = _buffer.get()
    if pending is not None:
        pending.append((kind, ref, payload))
    else:
        _write([(kind, ref, payload)])


@contextlib.contextmanager
def buffered():
    """Collect the journal entries of one business action and write them in one go (one lock, one
    insert) at the end of the block, which must run inside the action's transaction."""
    if _buffer.get() is not None:  # nested: the outer block writes
        yield
        return
    token = _buffer.set([])
    try:
        yield
        entries = _buffer.get()
    finally:
        _buffer.reset(token)
    if entries:
        _write(entries)


def mark() -> int:
    """Position in the current buffer, to drop entries of a rolled-back savepoint with ``drop_after``."""
    pending = _buffer.get()
    return len(pending) if pending is not None else -1


def drop_after(position: int) -> None:
    pending = _buffer.get()
    if pending is not None and position >= 0:
        del pending[position:]


def _write(entries: list[tuple[str, str, dict]]) -> None:
    first = numbers.next_value(SERIES, len(entries))
    prev = JournalEntry.objects.filter(seq=first - 1).values_list("hash", flat=True).first() or GENESIS
    at = timezone.now()
    states = search.current_states(sorted({ref for kind, ref, _ in entries if kind.startswith(search.PLEDGE_EVENT)}))
    rows = []
    for offset, (kind, ref, payload) in enumerate(entries):
        if kind.startswith(search.PLEDGE_EVENT) and ref in states:
            payload = {**payload, "state": states[ref]}
        body = _body(first + offset, at, kind, ref, payload)
        digest = entry_hash(prev, body)
        rows.append(JournalEntry(seq=first + offset, at=at, kind=kind, ref=ref, payload=body["payload"],
                                 prev_hash=prev, hash=digest))
        prev = digest
    JournalEntry.objects.bulk_create(rows)


@dataclass(frozen=True)
class Verification:
    ok: bool
    entries: int
    head: str
    first_bad_seq: int | None


def verify(batch: int = 5000) -> Verification:
    prev, count, expected_seq = GENESIS, 0, 1
    last_seq = 0
    while True:
        rows = list(JournalEntry.objects.filter(seq__gt=last_seq).order_by("seq")[:batch])
        if not rows:
            break
        for row in rows:
            body = _body(row.seq, row.at, row.kind, row.ref, row.payload)
            if row.seq != expected_seq or row.prev_hash != prev or entry_hash(prev, body) != row.hash:
                return Verification(False, count, prev, row.seq)
            prev, count, expected_seq, last_seq = row.hash, count + 1, expected_seq + 1, row.seq
    return Verification(True, count, prev, None)


def head() -> tuple[int, str]:
    last = JournalEntry.objects.order_by("-seq").values_list("seq", "hash").first()
    return last if last else (0, GENESIS)


def bad_checkpoints() -> list[str]:
    """Dates of checkpoints whose signature fails or whose head is no longer the entry it names."""
    bad = []
    hashes = {}
    checkpoints = list(Checkpoint.objects.order_by("date"))
    seqs = [cp.seq for cp in checkpoints if cp.seq]
    if seqs:
        hashes = dict(JournalEntry.objects.filter(seq__in=seqs).values_list("seq", "hash"))
    for cp in checkpoints:
        message = signing.checkpoint_message(cp.date.isoformat(), cp.seq, cp.head)
        if not signing.verify_signature(cp.public_key, message, cp.signature) or \
                (cp.seq and hashes.get(cp.seq) != cp.head) or (not cp.seq and cp.head != GENESIS):
            bad.append(cp.date.isoformat())
    return bad


def altered_certificates(batch: int = 2000) -> list[str]:
    altered, last = [], 0
    while True:
        certs = list(SearchCertificate.objects.filter(pk__gt=last).order_by("pk")[:batch])
        if not certs:
            return altered
        last = certs[-1].pk
        altered += [c.certificate_no for c in certs if not search.certificate_intact(c)]


def report(*, max_listed: int | None = None) -> dict:
    """The register proves itself: the journal's chain, its signed checkpoints, every public record
    against its journal, and every search certificate against its seal.  ``ok`` only if all hold.
    ``max_listed`` caps the differences listed (their total is always given)."""
    chain = verify()
    checkpoints = bad_checkpoints()
    records = search.record_differences()
    certificates = altered_certificates()
    return {"ok": chain.ok and not checkpoints and not records and not certificates,
            "entries": chain.entries, "head": chain.head, "first_bad_seq": chain.first_bad_seq,
            "checkpoints": Checkpoint.objects.count(), "bad_checkpoints": checkpoints,
            "records_checked": Pledge.objects.count(), "record_differences_total": len(records),
            "record_differences": records[:max_listed], "altered_certificates": certificates[:max_listed]}
