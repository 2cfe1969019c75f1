"""Tamper-evident journal of registry events.

Each entry's hash is SHA-256 over the previous hash and the canonical JSON of the entry (sorted
keys, no spaces, UTF-8).  Appends take the journal's number-series row lock, so entries are
written strictly one after another even across processes; ``verify`` recomputes the whole chain.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone

from ippledge.core import numbers

from .models import JournalEntry

GENESIS = "0" * 64
SERIES = "registry-journal"


def canonical(value: Any) -> str:
    return json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


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
    rows = []
    for offset, (kind, ref, payload) in enumerate(entries):
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
