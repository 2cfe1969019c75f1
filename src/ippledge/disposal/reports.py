"""Realised ÷ appraised (issue 14.6): what settled disposals fetched against the liquidation value the case
was opened on, by kind of right, channel and appraisal agency.

The realised price of each right is the settlement's proceeds split by the rights' appraised shares — the
same split ``services_settlement`` records as the right's realised price — so the report and the
valuation records agree.  Read-only; the cases are the actor's own scope (``services.cases_for``)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from ippledge.valuation.models import ValuationRecord

from . import services
from .models import CaseRight, CaseStatus, Settlement

NO_AGENCY = ""  # the platform's internal valuation model, no outside agency


@dataclass(frozen=True)
class Line:
    """One right of one settled case: what it was appraised at and what it fetched (fen)."""

    disposal_no: str
    kind: str
    channel: str
    agency_id: int | str
    agency_name: str
    appraised: int
    realised: int


@dataclass(frozen=True)
class Group:
    key: object
    name: str  # an agency's name; kinds and channels are shown through the vocabulary
    rights: int
    cases: int
    appraised: int
    realised: int

    @property
    def ratio_percent(self) -> Decimal | None:
        if self.appraised <= 0:
            return None
        return (Decimal(100) * self.realised / self.appraised).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def lines(actor) -> list[Line]:
    cases = services.cases_for(actor).filter(status=CaseStatus.SETTLED, settlement__isnull=False)
    settlements = {s.case_id: s for s in Settlement.objects.filter(case__in=cases).select_related(
        "case", "case__appraisal_agency")}
    links: dict[int, list[CaseRight]] = defaultdict(list)
    for link in CaseRight.objects.filter(case_id__in=settlements).select_related("right").order_by("case", "id"):
        links[link.case_id].append(link)
    # Cases valued from final valuations on record: the agency of the valuation of each right.
    refs = {ref.strip() for s in settlements.values() if s.case.valuation_source == "valuation"
            for ref in s.case.valuation_ref.split(",") if ref.strip()}
    by_right: dict[tuple[str, int], tuple[int | str, str]] = {}
    for record in ValuationRecord.objects.filter(valuation_no__in=refs).select_related("agency") \
            .prefetch_related("valuation_rights"):
        for vr in record.valuation_rights.all():
            agency = (record.agency_id, record.agency.name) if record.agency_id else (NO_AGENCY, "")
            by_right[(record.valuation_no, vr.right_id)] = agency
    out: list[Line] = []
    for case_id, row in settlements.items():
        case = row.case
        rights = links.get(case_id, [])
        parts = services._split(row.proceeds, [link.appraised_value or 0 for link in rights])
        case_refs = [r.strip() for r in case.valuation_ref.split(",") if r.strip()]
        for link, part in zip(rights, parts, strict=True):
            if case.appraisal_agency_id:
                agency = (case.appraisal_agency_id, case.appraisal_agency.name)
            else:
                agency = next((by_right[(ref, link.right_id)] for ref in case_refs if (ref, link.right_id) in by_right),
                              (NO_AGENCY, ""))
            out.append(Line(disposal_no=case.disposal_no, kind=link.right.kind, channel=case.channel,
                            agency_id=agency[0], agency_name=agency[1], appraised=link.appraised_value or 0,
                            realised=part))
    return out


def _group(rows: list[Line], key) -> list[Group]:
    buckets: dict[object, list[Line]] = defaultdict(list)
    for line in rows:
        buckets[key(line)].append(line)
    groups = [Group(key=k, name=items[0].agency_name, rights=len(items),
                    cases=len({i.disposal_no for i in items}), appraised=sum(i.appraised for i in items),
                    realised=sum(i.realised for i in items)) for k, items in buckets.items()]
    return sorted(groups, key=lambda g: (-g.rights, str(g.key)))


def realised_vs_appraised(actor) -> dict:
    """The ratios by kind of right, by channel and by agency, and over all, of the actor's settled cases."""
    rows = lines(actor)
    total = Group(key="all", name="", rights=len(rows), cases=len({r.disposal_no for r in rows}),
                  appraised=sum(r.appraised for r in rows), realised=sum(r.realised for r in rows))
    return {"total": total, "by_kind": _group(rows, lambda r: r.kind),
            "by_channel": _group(rows, lambda r: r.channel), "by_agency": _group(rows, lambda r: r.agency_id)}
