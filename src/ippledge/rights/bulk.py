"""Bulk append of legal events already cleaned and validated by the caller (legal-status feeds).

The single-event path is ``services.record_event``; a feed that imports many events for rights no
later app needs to hear about (no live pledge: see ``registry.hooks``) cleans each row with
``services.clean_event_fields``, validates it with ``rules.validate_event`` against the right's
history and hands the result here, to be written with one insert and one audit row per batch.
Transfers and renames go through ``record_event`` (they rebuild the holder index).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _

from ippledge.core import audit
from ippledge.core import permissions as perm
from ippledge.core.actors import user_or_none
from ippledge.core.permissions import Actor

from .models import LegalEvent
from .services import WRITER_REFUSED

# Types whose recording changes more than the history (the holder index): never appended in bulk.
NOT_IN_BULK = frozenset({"transferred", "owner_renamed"})


@dataclass(frozen=True)
class NewEvent:
    right_id: int
    kind: str
    seq: int
    type: str
    date: dt.date
    official_code: str
    payload: dict
    note: str = ""


@transaction.atomic
def append_events(*, actor: Actor, events: list[NewEvent], source: str = "") -> int:
    """Write ``events`` (validated, with their sequence numbers) and audit the batch."""
    if not events:
        return 0
    perm.require_office(actor, {e.kind for e in events}, _(WRITER_REFUSED))
    if any(e.type in NOT_IN_BULK for e in events):
        raise ValueError("transfers and renames go through services.record_event")
    user = user_or_none(actor)
    rows = LegalEvent.objects.bulk_create([
        LegalEvent(right_id=e.right_id, seq=e.seq, type=e.type, date=e.date, official_code=e.official_code,
                   payload=e.payload, note=e.note[:300], recorded_by=user) for e in events], batch_size=2000)
    audit.record(actor=actor, action="right.events_imported", object_type="rights.legalevent",
                 object_repr=(source or "legal-status feed")[:200],
                 after={"events": len(rows), "rights": len({e.right_id for e in events}), "source": source[:200],
                        "first": [events[0].right_id, events[0].seq], "last": [events[-1].right_id, events[-1].seq]})
    return len(rows)
