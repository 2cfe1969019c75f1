"""Both parties hear of their pledge: registration, change and the end of a registration (cancellation,
revocation, lapse) notify the pledgor's and the pledgee's organisations, in the platform and by signed
webhook (``notify.notify``), once per organisation even where it stands on both sides."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext_noop

from .models import Pledge

# The registry history kinds the parties are told of; the message is stored in the platform's language.
MESSAGES = {
    "registered": gettext_noop("Pledge %(no)s is registered (effective %(date)s)."),
    "changed": gettext_noop("Pledge %(no)s is changed (version %(version)s, %(date)s)."),
    "cancelled": gettext_noop("Pledge %(no)s is cancelled (%(date)s); the cancellation notice is on its record."),
    "revoked": gettext_noop("Pledge %(no)s is revoked (%(date)s)."),
    "lapsed": gettext_noop("Pledge %(no)s has lapsed (%(date)s)."),
}


def tell_parties(pledge: Pledge, kind: str, on: dt.date) -> int:
    """Notify every organisation that is pledgor or pledgee of ``pledge`` of the history entry ``kind``;
    how many were told (none for a kind the parties are not told of)."""
    from django.conf import settings
    from django.urls import reverse
    from django.utils import translation
    from django.utils.translation import gettext as _

    from . import notify

    if kind not in MESSAGES:
        return 0
    roles: dict[int, list[str]] = {}
    orgs = {}
    for party in pledge.parties.filter(role__in=("pledgor", "pledgee"), org__isnull=False).select_related("org"):
        roles.setdefault(party.org_id, [])
        if party.role not in roles[party.org_id]:
            roles[party.org_id].append(party.role)
        orgs[party.org_id] = party.org
    with translation.override(settings.LANGUAGE_CODE):  # stored text: in the platform's language
        message = _(MESSAGES[kind]) % {"no": pledge.registration_no, "date": on.isoformat(),
                                       "version": pledge.current_version}
    notice = reverse("registry:notice_pdf", args=[pledge.registration_no])
    for org_id, org in orgs.items():
        notify.notify(org=org, kind=f"pledge.{kind}", message=message,
                      data={"registration_no": pledge.registration_no, "event": kind, "date": on.isoformat(),
                            "status": pledge.status, "roles": sorted(roles[org_id]), "notice_pdf": notice})
    return len(orgs)
