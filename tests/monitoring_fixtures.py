"""Builders for monitoring tests: live pledges written straight into the registry's tables.

The registry's own filing and examination are tested elsewhere; monitoring needs only what a
registered pledge leaves behind (the pledge, its rights, its pledgee bank)."""

from __future__ import annotations

import datetime as dt
import itertools

from django.utils import timezone

from ippledge.registry.models import Pledge, PledgeParty, PledgeRight

_numbers = itertools.count(1)


def live_pledge(rights, bank, *, term_end: dt.date | None = dt.date(2027, 6, 30), secured_fen=500_000_000,
                pledgor_name="深圳示范科技有限公司"):
    n = next(_numbers)
    pledge = Pledge.objects.create(registration_no=f"ZX-T-{n:06d}", regime="trademark" if all(r.kind == "trademark" for r in rights) else "patent", status="registered",
                                   registered_at=timezone.now(), effective_date=dt.date(2026, 1, 5),
                                   registration_term_end=term_end, secured_amount=secured_fen)
    for right in rights:
        PledgeRight.objects.create(pledge=pledge, right=right, live=True, exclusive=right.kind != "trademark")
    PledgeParty.objects.create(pledge=pledge, role="pledgee", name=bank.name, name_normalised=bank.name,
                               id_type="uscc", id_number=bank.uscc or "", org=bank)
    PledgeParty.objects.create(pledge=pledge, role="pledgor", name=pledgor_name, name_normalised=pledgor_name,
                               id_type="uscc", id_number="914403001922038216")
    return pledge
