"""Bulk append of legal events already cleaned and validated by the caller (legal-status feeds).

The single-event path is ``services.record_event``; a feed that imports many events for rights no
later app needs to hear about (no live pledge: see ``registry.hooks``) cleans each row with
``services.clean_event_fields``, validates it with ``rules.validate_event`` against the right's
history and hands the result here, to be written with one insert and one audit row per batch.
Transfers and renames go through ``record_event`` (they rebuild the holder index).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ippledge.core import audit
from ippledge.core import permissions as perm
from ippledge.core.actors import user_or_none
from ippledge.core.permissions import Actor

from . import rules, services
from .models import LegalEvent, Right
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


@dataclass
class History:
    """What validating a new event of a right needs: its facts and its events in order."""

    right_id: int
    kind: str
    facts: rules.RightFacts
    events: list[rules.Event]


_FACTS = ("id", "kind", "number", "filing_date", "grant_date", "registration_date", "first_publication_date",
          "completion_date", "author_kind", "author_death_date", "annuity_paid_through", "term_adjustment_days")


def histories(numbers) -> dict[tuple[str, str], History]:
    """{(kind, number): History} for the rights with these numbers: two queries, no model instances.

    The facts carry no owners: only an owner change (``owner_renamed``, never appended in bulk) is
    checked against them; everything else the rules validate reads dates and the history."""
    numbers = list(numbers)
    if not numbers:
        return {}
    out: dict[tuple[str, str], History] = {}
    by_id: dict[int, History] = {}
    ops = connection.ops
    # Raw SQL: the ORM's per-value preparation of a 5,000-value IN list costs more than the query.
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(_FACTS)} FROM {Right._meta.db_table} "
                       f"WHERE number IN ({', '.join(['%s'] * len(numbers))})", numbers)
        for (pk, kind, number, *dates, author_kind, death, paid, adjustment) in cursor.fetchall():
            filing, grant, registration, publication, completion = (_day(ops, d) for d in dates)
            facts = rules.RightFacts(kind=kind, filing_date=filing, grant_date=grant, registration_date=registration,
                                     first_publication_date=publication, completion_date=completion,
                                     author_kind=author_kind or None, author_death_date=_day(ops, death),
                                     annuity_paid_through=_day(ops, paid), term_adjustment_days=adjustment or 0)
            out[(kind, number)] = by_id[pk] = History(pk, kind, facts, [])
        if by_id:
            cursor.execute(f"SELECT right_id, seq, type, date, official_code, payload FROM {LegalEvent._meta.db_table} "
                           f"WHERE right_id IN ({', '.join(['%s'] * len(by_id))}) ORDER BY right_id, seq", list(by_id))
            for right_id, seq, etype, date, code, payload in cursor.fetchall():
                if isinstance(payload, str):
                    payload = json.loads(payload)
                by_id[right_id].events.append(services.event_of(seq, etype, code, _day(ops, date), payload or {}))
    return out


def _day(ops, value) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


@transaction.atomic
def append_events(*, actor: Actor, events: list[NewEvent], source: str = "") -> int:
    """Write ``events`` (validated, with their sequence numbers) and audit the batch."""
    if not events:
        return 0
    perm.require_office(actor, {e.kind for e in events}, _(WRITER_REFUSED))
    if any(e.type in NOT_IN_BULK for e in events):
        raise ValueError("transfers and renames go through services.record_event")
    user = user_or_none(actor)
    # One prepared INSERT run over the batch (what bulk_create does, without a model instance per row).
    ops = connection.ops
    at = ops.adapt_datetimefield_value(timezone.now())
    user_id = user.pk if user is not None else None
    payload = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    sql = (f"INSERT INTO {LegalEvent._meta.db_table} (right_id, seq, type, date, official_code, payload, note, "
           f"recorded_at, recorded_by_id) VALUES (%s, %s, %s, %s, %s, {payload}, %s, %s, %s)")
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(e.right_id, e.seq, e.type, ops.adapt_datefield_value(e.date), e.official_code,
                                  json.dumps(e.payload), e.note[:300], at, user_id)
                                 for e in events])
    audit.record(actor=actor, action="right.events_imported", object_type="rights.legalevent",
                 object_repr=(source or "legal-status feed")[:200],
                 after={"events": len(events), "rights": len({e.right_id for e in events}), "source": source[:200],
                        "first": [events[0].right_id, events[0].seq], "last": [events[-1].right_id, events[-1].seq]})
    return len(events)
