"""The registry's end-of-day jobs."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from ippledge.core.eod import eod_job

from . import journal, notify, services, signing
from .models import Checkpoint


@eod_job("registry.abandon_overdue_corrections", order=10)
def abandon_overdue(day: dt.date) -> dict:
    return {"abandoned": services.abandon_overdue(day)}


@eod_job("registry.lapse_trademark_pledges", order=20)
def lapse(day: dt.date) -> dict:
    return {"lapsed": services.lapse_trademark_pledges(day)}


@eod_job("registry.expire_objections", order=30)
def objections(day: dt.date) -> dict:
    return {"removed": services.expire_objections(day)}


@eod_job("registry.retry_webhooks", order=40)
def webhooks(day: dt.date) -> dict:
    return {"delivered": notify.deliver(timeout=3.0)}


@eod_job("registry.sign_checkpoint", order=90)
def checkpoint(day: dt.date) -> dict:
    """Sign the journal head at the end of the day, after every other job has written."""
    seq, head = journal.head()
    message = signing.checkpoint_message(day.isoformat(), seq, head)
    row, created = Checkpoint.objects.get_or_create(date=day, defaults={
        "seq": seq, "head": head, "signed_at": timezone.now(), "signature": signing.sign(message),
        "public_key": signing.public_key_hex()})
    return {"seq": row.seq, "head": row.head, "created": created}
