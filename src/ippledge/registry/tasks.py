"""The registry's end-of-day jobs."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from ippledge.core import business_date
from ippledge.core.eod import JobFailed, eod_job
from ippledge.core.models import EodRun, Organisation
from ippledge.core.roles import OrgKind

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
    """Undelivered webhooks that no queued task will retry get a new delivery task (the worker posts
    them; nothing calls out from inside the end-of-day transaction)."""
    return {"queued": notify.requeue_stranded()}


@eod_job("registry.verify_register", order=85)
def verify_register(day: dt.date) -> dict:
    """Every night the register proves itself (chain, checkpoints, each public record against its
    journal, certificate seals); a failure alerts the platform's administrators and fails the job."""
    report = journal.report(max_listed=20)
    if report["ok"]:
        return {"entries": report["entries"], "records": report["records_checked"]}
    records = sorted({d["registration_no"] for d in report["record_differences"]})
    summary = {"first_bad_seq": report["first_bad_seq"], "bad_checkpoints": report["bad_checkpoints"],
               "records": records, "record_differences": report["record_differences_total"],
               "altered_certificates": report["altered_certificates"]}

    def alert():
        for org in Organisation.objects.filter(kind=OrgKind.PLATFORM_OPERATOR):
            notify.notify(org=org, kind="registry.integrity_failure",
                          message=_("The register does not verify for %(day)s: records %(records)s differ from "
                                    "the journal.") % {"day": day.isoformat(), "records": ", ".join(records) or "-"},
                          data={"date": day.isoformat(), **summary})

    raise JobFailed(f"the register does not verify: {summary}", detail=summary, alert=alert)


@eod_job("registry.sign_checkpoint", order=90)
def checkpoint(day: dt.date) -> dict:
    """Sign the journal head at the end of the day, after every other job has written.

    Only for the day being closed (the business date, and only when that is the real date): a head
    signed later for an earlier day would claim entries written after it.  Never over a register
    that tonight's verification found broken."""
    if day != business_date.today() or day != business_date.real_today():
        return {"signed": False, "reason": "not_the_closing_day"}
    verified = EodRun.objects.filter(business_date=day, job="registry.verify_register").first()
    if verified is not None and verified.status != EodRun.Status.DONE:
        raise RuntimeError("not signing a checkpoint over a register that does not verify")
    last = Checkpoint.objects.order_by("-date").first()
    if last is not None and last.public_key != signing.public_key_hex():
        # Another key than the one outsiders hold: a data dir from elsewhere, or a key restored wrongly.
        raise RuntimeError("the registry signing key differs from the one that signed the last checkpoint "
                           f"({last.date.isoformat()}); restore the data directory's key (docs/deploy.md)")
    seq, head = journal.head()
    message = signing.checkpoint_message(day.isoformat(), seq, head)
    row, created = Checkpoint.objects.get_or_create(date=day, defaults={
        "seq": seq, "head": head, "signed_at": timezone.now(), "signature": signing.sign(message),
        "public_key": signing.public_key_hex()})
    return {"signed": created, "seq": row.seq, "head": row.head, "created": created}
