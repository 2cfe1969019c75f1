"""One translated vocabulary for every enum value that a page, PDF, CSV or workbook shows.

Two kinds of vocabulary, looked up the same way with ``label(name, code)`` or ``{{ code|label:"name" }}``:

* a model field with choices, named ``"app_label.Model.field"`` (``"credit.Loan.classification"``):
  nothing to register, the field's own translated choices are the labels;
* a named mapping that an app registers in its ``labels.py`` (found on first use in every installed
  app) for codes that live outside a choices field — reason codes, event types, API values:
  ``vocabulary.register("refusal_reason", REASON_LABELS)``.

A code without a label shows as itself, so the raw-code test (tests/test_raw_codes.py) finds it; an
unknown vocabulary name is a programming error and raises."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from threading import Lock

_REGISTERED: dict[str, dict[str, object]] = {}
_discovered = False
_lock = Lock()


def register(name: str, labels: Mapping[str, object] | Iterable[tuple[object, object]]) -> None:
    """Add (or extend) the vocabulary ``name``; labels are lazy translations, resolved when shown."""
    if "." in name:
        raise ValueError(f"{name!r}: dotted names are model fields and need no registration")
    items = labels.items() if isinstance(labels, Mapping) else labels
    _REGISTERED.setdefault(name, {}).update({str(code): text for code, text in items})


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    with _lock:
        if not _discovered:
            from django.utils.module_loading import autodiscover_modules

            autodiscover_modules("labels")
            _discovered = True


def _field_choices(name: str) -> dict[str, object]:
    from django.apps import apps

    try:
        app_label, model_name, field_name = name.split(".")
        field = apps.get_model(app_label, model_name)._meta.get_field(field_name)
    except (ValueError, LookupError) as exc:
        raise KeyError(f"no vocabulary {name!r}") from exc
    if not field.choices:
        raise KeyError(f"{name!r} has no choices")
    return {str(code): text for code, text in field.flatchoices}


def labels(name: str) -> dict[str, object]:
    """The vocabulary ``name`` as code → (lazy) label."""
    if "." in name:
        return _field_choices(name)
    _discover()
    try:
        return _REGISTERED[name]
    except KeyError:
        raise KeyError(f"no vocabulary {name!r}; register it in the app's labels.py") from None


def label(name: str, code) -> str:
    """The translated label of ``code`` in vocabulary ``name``; nothing for no code; the code itself
    when the vocabulary lacks it."""
    if code is None or code == "":
        return ""
    text = labels(name).get(str(code))
    return str(text) if text is not None else str(code)


def registered() -> dict[str, dict[str, object]]:
    """Every registered vocabulary (for the raw-code test and docs)."""
    _discover()
    return dict(_REGISTERED)
