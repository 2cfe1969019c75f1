"""``POST /api/v1/legal-events/import``: a legal-status feed for rights in the register.

Registrars of the office that records the kinds of right (patents, trademarks… at the IP office;
copyrights and software at the copyright office) and administrators.  The body is the file as
multipart (field ``file``) or JSON Lines text; ``?format=jsonl|csv|epo-xml`` (else detected from the
file name or the first bytes).  The import runs as a background task: the answer is 202 with the
task's id, and ``GET /api/v1/tasks/{id}`` gives the summary once it has run.  Bodies are bounded by
the platform's limits (``core.limits``: MAX_BODY_BYTES, multipart MAX_UPLOAD_BYTES).
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from ninja import Router, Schema

from ippledge.core import jobs as core_jobs
from ippledge.core import permissions as perm
from ippledge.core.errors import MalformedBody, ValidationFailed

from . import importer, jobs, readers

router = Router(tags=["monitoring"])


class ImportAccepted(Schema):
    task_id: str
    status: str
    format: str
    bytes: int
    status_url: str


@router.post("/legal-events/import", response={202: ImportAccepted},
             summary="Import a legal-status feed (registrar of the right's office, admin); runs as a task")
def import_legal_events(request, format: str = ""):
    # A registrar (of an office that records rights: registrars belong to one) or an admin, before the
    # body is read; which kinds it may import is asked once the feed's kinds are known.
    perm.require_registrar(request.auth)
    upload = request.FILES.get("file") if request.content_type == "multipart/form-data" else None
    if request.content_type == "multipart/form-data":
        if upload is None:
            raise ValidationFailed(_("Send the feed in the multipart field 'file'."), code="validation_error",
                                   fields={"file": [_("This field is required.")]})
        content, name = upload.read(), upload.name or ""
    else:
        content, name = request.body, "body.jsonl"
        if not format:
            format = "jsonl"
    if not content.strip():
        raise MalformedBody(_("The feed is empty."))
    fmt = format or readers.detect_format(name, content[:512])
    if fmt not in readers.FORMATS:
        raise ValidationFailed(_("Give the format as jsonl, csv or epo-xml."), code="unknown_format",
                               fields={"format": [_("Choose jsonl, csv or epo-xml.")]})
    try:
        kinds = importer.kinds_in(fmt, content)
    except readers.FeedError as exc:
        raise ValidationFailed(_("The feed cannot be read: %s") % exc.message, code=exc.code) from None
    perm.require_office(request.auth, kinds, _("A registrar imports only the rights its own office keeps."))
    stored = jobs.store_upload(content, fmt)
    result = core_jobs.enqueue(jobs.import_events, upload=stored, fmt=fmt, name=name[:200],
                               actor_id=request.auth.pk)
    return 202, {"task_id": str(result.id), "status": str(result.status).lower().rsplit(".", 1)[-1],
                 "format": fmt, "bytes": len(content), "status_url": f"/api/v1/tasks/{result.id}"}
