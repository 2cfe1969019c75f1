"""The background task that imports a legal-status feed uploaded through the API.

The upload is kept in the platform's data directory (``imports/``) until the task has read it; the
task takes its path, format and name (JSON values only) and the user's id, and returns the summary.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from django.conf import settings
from django_tasks import task

from ippledge.core.audit import current_channel
from ippledge.core.models import User

UPLOADS = "imports"


def store_upload(content: bytes, fmt: str) -> str:
    """Write an upload where the worker can read it; the name is random (never the client's)."""
    folder = Path(settings.DATA_DIR) / UPLOADS
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / f"{secrets.token_hex(16)}.{fmt}"
    path.write_bytes(content)
    return path.name


def _path(stored: str) -> Path:
    folder = (Path(settings.DATA_DIR) / UPLOADS).resolve()
    path = (folder / Path(stored).name).resolve()
    if path.parent != folder:
        raise ValueError("not an upload")
    return path


@task()
def import_events(*, upload: str, fmt: str, name: str, actor_id: int) -> dict:
    """Import an uploaded feed as the user who uploaded it; the summary is the task's result."""
    from .importer import import_feed

    current_channel.set("job")
    actor = User.objects.select_related("organisation").get(pk=actor_id)
    path = _path(upload)
    try:
        return import_feed(actor=actor, source=str(path), fmt=fmt, name=name)
    finally:
        path.unlink(missing_ok=True)
