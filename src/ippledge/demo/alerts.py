"""Live alerts in the demo region: a few legal events on rights the first bank holds as collateral, then
the monitoring end-of-day pass over the whole book (issue 12, "the demo region shows a few live alerts of
different kinds").

Everything goes through the real services as the demo actor: the events through the rights register (so
its listeners raise the event-driven alerts exactly as for a registrar's entry or an import), the calendar
and loan alerts through the monitoring jobs registered with end of day.  Deterministic: the rights are
taken in loan-number order, the events dated on the business date.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from ippledge.core.actors import SystemActor
from ippledge.core.errors import DomainError
from ippledge.rights.rules import PATENT_KINDS

# (event type, extra data, which rights it may go on): recorded on one right each, in this order.
STAGED = (
    ("invalidation_requested", {"note": "第三方向国家知识产权局提出无效宣告请求"}, PATENT_KINDS),
    ("preserved", {"note": "人民法院财产保全裁定"}, None),
    ("licensed", {"pledgee_consent": True, "note": "经质权人同意的普通许可"}, None),
    # Without the pledgee's consent the register refuses it, and the bank is told of the attempt.
    ("transferred", {"new_owners": None}, None),
)


def _pledged_rights(bank):
    """(right, loan) for the rights securing the bank's outstanding loans, in loan-number order."""
    from ippledge.credit.models import Loan, LoanCollateral
    from ippledge.registry.models import PledgeRight
    from ippledge.rights.models import Right

    out, seen = [], set()
    loans = Loan.objects.filter(bank=bank, balance__gt=0).order_by("loan_no")
    for row in LoanCollateral.objects.filter(loan__in=loans).select_related("loan").order_by("loan__loan_no", "id"):
        right = Right.objects.filter(kind=row.right_kind, number=row.right_number).first()
        if right is None or right.pk in seen:
            continue
        if not PledgeRight.objects.filter(right=right, live=True, pledge__registration_no=row.registration_no).exists():
            continue
        seen.add(right.pk)
        out.append((right, row.loan))
    return out


def _new_owner(right) -> list[dict]:
    """Another demo enterprise, as the would-be assignee."""
    from ippledge.core.models import Organisation

    holders = {o.get("id_number") for o in right.owners or []}
    other = next(o for o in Organisation.objects.filter(kind="enterprise", is_demo=True).exclude(uscc="")
                 .order_by("pk") if o.uscc not in holders)
    return [{"name": other.name, "id_type": "uscc", "id_number": other.uscc}]


def stage(*, today: dt.date) -> tuple[dict[str, int], int]:
    """Record the staged events and run the monitoring end-of-day jobs for ``today``; the live alerts by
    kind and how many events were recorded."""
    from ippledge.core import eod
    from ippledge.core.models import Organisation
    from ippledge.monitoring.models import LIVE_STATUSES, Alert
    from ippledge.rights import services as rights

    actor = SystemActor("demo")
    recorded = 0
    bank = Organisation.objects.filter(kind="bank", parent__isnull=True, is_demo=True).order_by("pk").first()
    if bank is not None:
        candidates = _pledged_rights(bank)
        used: set[int] = set()
        for etype, extra, kinds in STAGED:
            fits = [r for r, _loan in candidates if kinds is None or r.kind in kinds]
            # A right of its own for each event where the book has enough of them (a small region may not).
            right = next((r for r in fits if r.pk not in used), fits[0] if fits else None)
            if right is None:
                continue
            used.add(right.pk)
            data = {"type": etype, "date": today.isoformat(), **extra}
            if etype == "transferred":
                data["new_owners"] = _new_owner(right)
            try:
                rights.record_event(actor=actor, right=right, data=data)
                recorded += 1
            except DomainError:
                if etype != "transferred":  # the transfer is meant to be refused; nothing else is
                    raise
    # The monitoring passes of end of day (calendar, overdue loans, and those other modules register).
    for job in sorted(eod.jobs(), key=lambda j: (j.order, j.name)):
        if job.name.startswith("monitoring."):
            job.func(today)
    live = Alert.objects.filter(status__in=LIVE_STATUSES).values_list("kind", flat=True)
    return dict(sorted(Counter(live).items())), recorded
