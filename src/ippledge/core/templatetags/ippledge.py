"""Template helpers: translated domain errors, state labels."""

from __future__ import annotations

from django import template
from django.utils.translation import gettext

register = template.Library()


@register.filter
def error_message(exc) -> str:
    return exc.localised(gettext) if hasattr(exc, "localised") else str(exc)


@register.filter
def error_fields(exc) -> list[tuple[str, list[str]]]:
    fields = getattr(exc, "fields", None) or {}
    return [(k, [gettext(str(m)) for m in (v if isinstance(v, list | tuple) else [v])]) for k, v in fields.items()]


@register.filter
def field_errors(exc, name: str) -> list[str]:
    fields = getattr(exc, "fields", None) or {}
    value = fields.get(name) or []
    return [gettext(str(m)) for m in (value if isinstance(value, list | tuple) else [value])]
