"""Audit trail writer: every service action calls ``record`` inside its transaction."""

from __future__ import annotations

import contextvars
import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from .middleware import current_request_id
from .models import AuditEntry, User

# "api", "web", "cli" or "job": set by the entry point so the trail says how a change arrived.
current_channel: contextvars.ContextVar[str] = contextvars.ContextVar("channel", default="")


def _jsonable(value: Any) -> Any:
    if value is None:
        return None
    # PostgreSQL's jsonb refuses U+0000: an audit row must never fail on what a stranger typed.
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder).replace("\\u0000", "\\ufffd"))


def record(*, actor, action: str, obj=None, object_type: str = "", object_id: str = "",
           object_repr: str = "", before: Any = None, after: Any = None) -> AuditEntry:
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
    object_repr = object_repr.replace("\x00", "\ufffd")
    user = actor if isinstance(actor, User) else None
    return AuditEntry.objects.create(
        actor=user,
        actor_username=getattr(actor, "username", "") if actor is not None else "",
        organisation_id=getattr(user, "organisation_id", None),
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr,
        before=_jsonable(before),
        after=_jsonable(after),
        request_id=current_request_id.get(),
        via=current_channel.get(),
    )


def record_many(*, actor, action: str, entries: list[tuple[Any, Any]]) -> list[AuditEntry]:
    """``record`` for many objects at once, (obj, after) each: the same rows, one insert."""
    user = actor if isinstance(actor, User) else None
    username = getattr(actor, "username", "") if actor is not None else ""
    request_id, via = current_request_id.get(), current_channel.get()
    return AuditEntry.objects.bulk_create([
        AuditEntry(actor=user, actor_username=username, organisation_id=getattr(user, "organisation_id", None),
                   action=action, object_type=obj._meta.label_lower, object_id=str(obj.pk),
                   object_repr=str(obj)[:200].replace("\x00", "\ufffd"), before=None, after=_jsonable(after),
                   request_id=request_id, via=via)
        for obj, after in entries], batch_size=500)
