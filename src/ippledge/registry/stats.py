"""Registration-time statistics (notice item 十六: shorten registration time)."""

from __future__ import annotations

import statistics
from collections import defaultdict

from ippledge.core import business_date, limits

from .models import ApplicationRight, PledgeApplication


def registration_time(*, year: int | None = None) -> dict:
    """Filing-to-first-decision time per kind of right and month, in seconds."""
    apps = PledgeApplication.objects.filter(decided_at__isnull=False)
    if year is not None:
        # A year the register can hold: -2567 or a 20-digit year is a 422, not a failed date lookup.
        year = limits.count(year, field="year", low=limits.limit("MIN_YEAR"),
                            high=business_date.today().year + 1)
        apps = apps.filter(filing_date__year=year)
    kinds: dict[int, set[str]] = defaultdict(set)
    for app_id, kind in ApplicationRight.objects.filter(application__in=apps).values_list("application_id",
                                                                                         "right__kind"):
        kinds[app_id].add(kind)
    groups: dict[tuple[str, str], list[float]] = defaultdict(list)
    for app_id, filing_date, filed_at, decided_at in apps.values_list("id", "filing_date", "filed_at", "decided_at"):
        seconds = max((decided_at - filed_at).total_seconds(), 0.0)
        for kind in kinds.get(app_id, ()):
            groups[(kind, filing_date.strftime("%Y-%m"))].append(seconds)
    rows = []
    for (kind, month), values in sorted(groups.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        values.sort()
        rows.append({"kind": kind, "month": month, "applications": len(values),
                     "mean_seconds": round(statistics.fmean(values), 3),
                     "median_seconds": round(statistics.median(values), 3),
                     "p90_seconds": round(values[min(len(values) - 1, int(0.9 * len(values)))], 3),
                     "max_seconds": round(values[-1], 3)})
    return {"year": year, "rows": rows}
