"""Page forms of the register: record a right, record a legal-status event.

The forms check what a page can check (required fields, dates, choices) in the user's language; the
service still validates everything and its field errors are put next to the form's fields by
:func:`add_domain_error` (never as an internal path such as ``owners[0].id_number``).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping

from django import forms
from django.utils.translation import gettext_lazy as _

from ippledge.core.forms import DateInput, apply_error

from . import rules
from .labels import EVENT_LABELS, OUTCOME_LABELS
from .models import IdType, RightKind

__all__ = ["DateInput", "EventForm", "RightForm", "add_domain_error"]


def add_domain_error(form: forms.Form, exc, field_for: Callable[[str], str | None] | Mapping[str, str], *,
                     fields: Mapping | None = None) -> None:
    """Put a service's refusal on the form through :func:`ippledge.core.forms.apply_error`, first naming
    for each of its field paths the form field that ``field_for`` gives (a callable or a mapping; the
    path itself otherwise).  ``fields`` replaces the refusal's own field errors (to reword them)."""
    lookup = field_for if callable(field_for) else (lambda path: field_for.get(path))
    mapped: dict[str, list] = {}
    for path, messages in (fields if fields is not None else getattr(exc, "fields", None) or {}).items():
        mapped.setdefault(lookup(path) or path, []).extend(messages if isinstance(messages, list | tuple)
                                                           else [messages])
    shown = copy.copy(exc)
    shown.fields = mapped
    apply_error(form, shown)


class RightForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind"), choices=RightKind.choices)
    number = forms.CharField(label=_("Number"), max_length=64,
                             widget=forms.TextInput(attrs={"placeholder": "ZL201410362077.3"}))
    title = forms.CharField(label=_("Title or mark text"), max_length=300, required=False)
    filing_date = forms.DateField(label=_("Filing date"), required=False, widget=DateInput())
    grant_date = forms.DateField(label=_("Grant date"), required=False, widget=DateInput())
    registration_date = forms.DateField(label=_("Registration date"), required=False, widget=DateInput())
    annuity_paid_through = forms.DateField(label=_("Annuity paid through"), required=False, widget=DateInput())
    owner_name = forms.CharField(label=_("Name"), max_length=200)
    owner_id_type = forms.ChoiceField(label=_("Identifier type"),
                                      choices=[c for c in IdType.choices if c[0] != IdType.OTHER])
    owner_id_number = forms.CharField(label=_("Identifier"), max_length=64)
    owner_address = forms.CharField(label=_("Address"), max_length=200, required=False)

    # Where the service's field errors go.
    SERVICE_FIELDS = {"owners": "owner_name", "owners[0].name": "owner_name", "owners[0].id_number": "owner_id_number",
                      "owners[0].id_type": "owner_id_type", "owners[0].address": "owner_address",
                      "mark_text": "title"}

    def service_data(self) -> dict:
        d = self.cleaned_data
        data = {k: d[k] for k in ("kind", "number", "title") if d.get(k)}
        for k in ("filing_date", "grant_date", "registration_date", "annuity_paid_through"):
            if d.get(k):
                data[k] = d[k].isoformat()
        data["owners"] = [{"name": d["owner_name"], "id_type": d["owner_id_type"], "id_number": d["owner_id_number"],
                           "country": "CN", "address": d.get("owner_address", "")}]
        return data


class EventForm(forms.Form):
    type = forms.ChoiceField(label=_("Event"), required=False)
    official_code = forms.CharField(label=_("Official code (optional)"), max_length=8, required=False,
                                    widget=forms.TextInput(attrs={"placeholder": "CF01"}))
    date = forms.DateField(label=_("Date"), widget=DateInput())
    paid_through = forms.DateField(label=_("Paid through (annuity)"), required=False, widget=DateInput())
    outcome = forms.ChoiceField(label=_("Outcome (invalidation)"), required=False)
    renewed_to = forms.DateField(label=_("Renewed to (trademark)"), required=False, widget=DateInput())
    new_name = forms.CharField(label=_("New name (rename)"), max_length=200, required=False)
    pledgee_consent = forms.BooleanField(label=_("Pledgee has consented"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type"].choices = [("", "—")] + [(t, EVENT_LABELS.get(t, t)) for t in sorted(rules.EVENT_TYPES)]
        self.fields["outcome"].choices = [("", "—"), *OUTCOME_LABELS.items()]

    def clean(self):
        data = super().clean()
        if not data.get("type") and not data.get("official_code"):
            self.add_error("type", _("Choose the event or give its official code."))
        return data

    def service_data(self) -> dict:
        d = self.cleaned_data
        data = {k: v for k, v in d.items() if v not in (None, "", False)}
        for k in ("date", "paid_through", "renewed_to"):
            if d.get(k):
                data[k] = d[k].isoformat()
        return data
