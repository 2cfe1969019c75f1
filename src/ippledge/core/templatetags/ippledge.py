"""Template helpers: translated domain errors, enum labels, regions, Beijing times, money."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.translation import gettext

from ippledge.core import money as _money

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


@register.filter
def moment(value) -> str:
    """A timestamp (aware datetime or ISO string, as the API gives it) in Beijing time with its label:
    ``2026-12-02 18:13:30 北京时间`` (the API keeps the exact instant)."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    if not value:
        return ""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if isinstance(value, dt.datetime):
        shown = value.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S")
    else:  # a business date has no time of day and no zone
        return value.isoformat()
    return f"{shown} {gettext('Beijing time')}"


@register.filter
def label(code, vocabulary_name: str) -> str:
    """``{{ code|label:"refusal_reason" }}``: the translated label from :mod:`ippledge.core.vocabulary`."""
    from ippledge.core import vocabulary

    return vocabulary.label(vocabulary_name, code)


@register.filter
def region(code) -> str:
    """``{{ "440300"|region }}`` → 广东省深圳市 / Shenzhen, Guangdong (GB/T 2260)."""
    from ippledge.core.regions import region_name

    return region_name(code)


@register.filter
def right_number(right: dict) -> str:
    """A right's number as people write it (patents with the ZL prefix)."""
    from ippledge.core.identifiers import PATENT_KINDS, format_patent_number

    kind, number = right.get("kind"), right.get("number", "")
    return format_patent_number(number) if kind in PATENT_KINDS else number


@register.filter
def right_ref(ref: str) -> str:
    """``kind:number`` as stored in reasons → the number as people write it."""
    if not ref or ":" not in ref:
        return ref or ""
    kind, number = ref.split(":", 1)
    return right_number({"kind": kind, "number": number})


def _shown(fen: int, unit: str) -> str:
    if unit == "wan":
        return _money.format_wan(fen)
    if unit:
        raise template.TemplateSyntaxError(f"money filters take no unit or 'wan', not {unit!r}")
    return _money.format_yuan(fen)


@register.filter
def money(value, unit: str = "") -> str:
    """A yuan amount as the API gives it (decimal string or Decimal) with thousands separators and two
    decimals (``"3000000.00"`` → ``3,000,000.00``); ``money:"wan"`` shows it in 万元.  Exact: never
    through a float (a float raises).  ``None`` or ``""`` shows nothing, for ``|default``."""
    if value is None or value == "":
        return ""
    if isinstance(value, float):
        raise TypeError("the money filter takes yuan as a decimal string or Decimal, not a float")
    return _shown(_money.fen(value if isinstance(value, Decimal) else _money.to_decimal(value)), unit)


@register.filter
def fen(value, unit: str = "") -> str:
    """An amount in integer fen (as models store it) shown as yuan like ``money`` (``123457`` →
    ``1,234.57``); ``fen:"wan"`` shows it in 万元."""
    if value is None or value == "":
        return ""
    return _shown(value, unit)
