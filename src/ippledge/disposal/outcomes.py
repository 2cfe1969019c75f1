"""What closed disposals came to, for the layers above (reporting's typical cases, issue 14 point 7).

Read-only plain data per settled case: the channel, the day it closed, what it fetched against the
liquidation value it was opened on, how much of the claim it recovered and whether the rights changed
hands.  No party is named here (not the buyer, not the pledgor): the reader anonymises further.

* A sale or an agreed set-off closes with its settlement: the proceeds, the waterfall's applied parts and
  the shortfall; the rights are transferred to the buyer (or to the bank for a set-off).
* A licensing case closes when licence income has recovered the claim in full: the income is its
  proceeds, its last income day the day it closed; the rights stay with the pledgor."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Max, Sum

from .models import CaseStatus, Channel, DisposalCase, LicenceIncome


@dataclass(frozen=True)
class Outcome:
    channel: str
    settled_on: dt.date
    proceeds: int  # fen
    appraised: int  # fen: the liquidation value the case was opened on
    recovered: int  # fen: applied to costs, interest and principal
    claim: int  # fen: recovered + what was left unrecovered
    rights_transferred: bool


def settled_outcomes(loan_ids: Iterable[int]) -> dict[int, list[Outcome]]:
    """The outcomes of the settled disposal cases of each loan, in the order they closed."""
    ids = list(loan_ids)
    if not ids:
        return {}
    cases = list(DisposalCase.objects.filter(loan_id__in=ids, status=CaseStatus.SETTLED)
                 .select_related("settlement").order_by("id"))
    income = {row["case_id"]: row for row in LicenceIncome.objects.filter(case__in=cases).values("case_id")
              .annotate(total=Sum("amount"), last=Max("date"))}
    out: dict[int, list[Outcome]] = defaultdict(list)
    for case in cases:
        if case.channel == Channel.LICENSING:
            got = income.get(case.pk)
            if got is None:
                continue
            recovered = case.recovered_costs + case.recovered_interest + case.recovered_principal
            out[case.loan_id].append(Outcome(
                channel=case.channel, settled_on=got["last"], proceeds=got["total"], appraised=case.appraised_value,
                recovered=recovered, claim=recovered, rights_transferred=False))
            continue
        s = getattr(case, "settlement", None)
        if s is None:
            continue
        recovered = s.applied_costs + s.applied_interest + s.applied_principal
        out[case.loan_id].append(Outcome(
            channel=case.channel, settled_on=s.date, proceeds=s.proceeds, appraised=case.appraised_value,
            recovered=recovered, claim=recovered + s.shortfall, rights_transferred=True))
    for rows in out.values():
        rows.sort(key=lambda o: o.settled_on)
    return dict(out)


def loans_with_settled_disposals(limit: int = 200) -> list[dict]:
    """Loans that have a settled disposal case (the newest first): the loan's number, the channel and the
    day of the case, for a regulator choosing a typical case.  Callers check the regulator's role."""
    rows = (DisposalCase.objects.filter(status=CaseStatus.SETTLED)
            .values("loan_id", "loan__loan_no", "channel", "opened_on").order_by("-opened_on", "-id"))
    seen, out = set(), []
    for row in rows:
        if row["loan_id"] in seen:
            continue
        seen.add(row["loan_id"])
        out.append({"loan_no": row["loan__loan_no"], "channel": row["channel"], "opened_on": row["opened_on"]})
        if len(out) >= limit:
            break
    return out
