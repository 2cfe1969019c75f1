"""Page forms of the alert inbox: acknowledge an alert, resolve it with a resolution and a note."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Resolution

# What a person may choose; ``cleared`` is the platform's own (the condition ended).
USER_RESOLUTIONS = [(r.value, r.label) for r in Resolution if r != Resolution.CLEARED]
NOTE_MAX = 500


class AcknowledgeForm(forms.Form):
    """Nothing to fill in: the officer takes the alert on."""


class ResolveForm(forms.Form):
    resolution = forms.ChoiceField(label=_("Resolution"), choices=[("", "—"), *USER_RESOLUTIONS])
    note = forms.CharField(label=_("Note"), max_length=NOTE_MAX, required=False,
                           widget=forms.Textarea(attrs={"rows": 3}),
                           help_text=_("What was done, or why the risk is accepted."))
