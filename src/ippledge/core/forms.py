"""Page forms of the administrator's desk, and the one bridge from a service's refusal to a form.

Forms check the shape of what a person typed (a date, a choice, a length); the services decide the
business rules and their field errors land next to the same fields (:func:`apply_error`), in the
user's language, never naming an internal path or code.
"""

from __future__ import annotations

import datetime as dt
import re

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import business_date, limits
from .models import Holiday, Organisation, User
from .roles import OrgKind, Role

_INDEX = re.compile(r"[\[.].*$")


def apply_error(form: forms.Form, exc, aliases: dict[str, str] | None = None) -> None:
    """Put a :class:`~ippledge.core.errors.DomainError` on ``form``: each field error next to its field
    (``regions[0]`` → ``regions``; ``aliases`` maps a service's name to the form's), and the message
    itself above the form when no field carries it.  ``form.domain_error`` keeps the refusal for the
    page's summary (its code is shown only as a data attribute)."""
    aliases = aliases or {}
    form.domain_error = exc
    placed = False
    for key, messages in (getattr(exc, "fields", None) or {}).items():
        base = _INDEX.sub("", str(key))
        name = aliases.get(str(key), aliases.get(base, base))
        target = name if name in form.fields else None
        for message in messages if isinstance(messages, list | tuple) else [messages]:
            form.add_error(target, gettext(str(message)))
        placed = placed or target is not None
    if not placed:
        form.add_error(None, exc.localised(gettext))


def _date_bounds(value: dt.date | None) -> dt.date | None:
    """A date within what the platform accepts anywhere (1985 … 50 years on), as a form error."""
    if value is None:
        return None
    low = dt.date(limits.limit("MIN_YEAR"), 1, 1)
    high = dt.date(min(business_date.today().year + limits.limit("MAX_YEARS_AHEAD"), 9998), 12, 31)
    if not low <= value <= high:
        raise forms.ValidationError(_("The date must lie between %(low)s and %(high)s."),
                                    params={"low": low.isoformat(), "high": high.isoformat()})
    return value


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class BoundedDateField(forms.DateField):
    widget = DateInput

    def __init__(self, **kwargs):
        kwargs.setdefault("input_formats", ["%Y-%m-%d"])
        super().__init__(**kwargs)

    def clean(self, value):
        return _date_bounds(super().clean(value))


def _region(value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    try:
        from .regions import is_region_code
    except ImportError:  # pragma: no cover - the GB/T 2260 table ships with core
        def is_region_code(code):
            return len(code) == 6 and code.isdigit()
    if not (len(value) == 6 and value.isascii() and value.isdigit() and is_region_code(value)):
        raise forms.ValidationError(_("Give a six-digit administrative division code (GB/T 2260), e.g. 440300."))
    return value


SIZE_CHOICES = [("", _("— not given —")), *Organisation._meta.get_field("size_class").choices]


class OrganisationForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=OrgKind.choices)
    uscc = forms.CharField(label=_("USCC (unified social credit code)"), max_length=18, required=False,
                           help_text=_("18 characters; the region is taken from it when left empty below."))
    region_code = forms.CharField(label=_("Region (GB/T 2260 code)"), max_length=6, required=False)
    size_class = forms.ChoiceField(label=_("Size class"), choices=SIZE_CHOICES, required=False)
    industry = forms.CharField(label=_("Industry (GB/T 4754 code)"), max_length=8, required=False,
                               help_text=_("A section letter with its digits, e.g. C39."))
    parent = forms.ModelChoiceField(label=_("Head office (for a branch)"), required=False,
                                    queryset=Organisation.objects.filter(parent__isnull=True))

    def clean_region_code(self):
        return _region(self.cleaned_data.get("region_code", ""))


class OrganisationEditForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    region_code = forms.CharField(label=_("Region (GB/T 2260 code)"), max_length=6, required=False)
    size_class = forms.ChoiceField(label=_("Size class"), choices=SIZE_CHOICES, required=False)
    industry = forms.CharField(label=_("Industry (GB/T 4754 code)"), max_length=8, required=False)
    is_active = forms.BooleanField(label=_("Active"), required=False)

    def clean_region_code(self):
        return _region(self.cleaned_data.get("region_code", ""))


class RolesField(forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Roles"))
        kwargs.setdefault("choices", Role.choices)
        kwargs.setdefault("help_text", _("Each role may be held only in organisations of the kinds it suits "
                                         "(loan officers in banks, registrars in IP offices, …)."))
        super().__init__(**kwargs)


class UserCreateForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    display_name = forms.CharField(label=_("Display name"), max_length=100, required=False)
    organisation = forms.ModelChoiceField(label=_("Organisation"), queryset=Organisation.objects.filter(is_active=True))
    roles = RolesField(required=False)
    password = forms.CharField(label=_("Initial password"), max_length=128, strip=False,
                               widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
                               help_text=_("Give it to the user by a separate channel; it is never shown again."))
    password2 = forms.CharField(label=_("Repeat the password"), max_length=128, strip=False,
                                widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}))

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password2") is not None and data["password"] != data.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        return data


class UserRolesForm(forms.Form):
    roles = RolesField(required=False)


class UserActiveForm(forms.Form):
    active = forms.TypedChoiceField(choices=[("1", "1"), ("0", "0")], coerce=lambda v: v == "1",
                                    widget=forms.HiddenInput)


class HolidayForm(forms.Form):
    date = BoundedDateField(label=_("Date"))
    is_working_day = forms.TypedChoiceField(
        label=_("Kind of day"), coerce=lambda v: v == "1", initial="0",
        choices=[("0", _("Public holiday (no work)")), ("1", _("Make-up working day (调休, a weekend worked)"))])
    name = forms.CharField(label=_("Name"), max_length=Holiday._meta.get_field("name").max_length, required=False,
                           help_text=_("e.g. 春节, 国庆节"))


class HolidayRemoveForm(forms.Form):
    date = BoundedDateField(widget=forms.HiddenInput)


class BusinessDateForm(forms.Form):
    date = BoundedDateField(label=_("Simulated business date"), required=False)
    action = forms.ChoiceField(choices=[("set", "set"), ("clear", "clear")], widget=forms.HiddenInput, initial="set")

    def clean(self):
        data = super().clean()
        if data.get("action") == "set" and not data.get("date") and "date" not in self.errors:
            self.add_error("date", forms.Field.default_error_messages["required"])
        return data


class EodRunForm(forms.Form):
    date = BoundedDateField(label=_("Business date to close"), required=False,
                            help_text=_("Empty: close every day not yet run up to today's business date."))


def user_queryset():
    return User.objects.select_related("organisation").prefetch_related("roles")
