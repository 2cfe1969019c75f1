"""Translated labels for what the statistics show: the yes/no of the first-loan and inclusive groupings,
and what each grouping key is called.  The loan book's kind of IP is credit's ``loan_ip_kind``
vocabulary, regions are named by :mod:`ippledge.core.regions`, size classes by the
``core.Organisation.size_class`` choices and categories by ``credit.Loan.classification``'s choices
(see :func:`shown`)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from ippledge.core import vocabulary

# Keyed by the Python spelling of a flag (str(True)); a link's "true"/"false" is read by :func:`shown`.
FLAG_LABELS = {"True": _("Yes"), "False": _("No")}

vocabulary.register("yes_no", FLAG_LABELS)

# What each grouping key of the statistics is called on a page.
DIMENSION_TITLES = {"bank": _("Bank"), "branch": _("Branch"), "region": _("Region"), "city": _("City"),
                    "park": _("Park"), "ip_kind": _("Kind of IP"), "size": _("Enterprise size"),
                    "first_loan": _("First-loan household"), "inclusive": _("Inclusive small and micro"),
                    "risk_scheme": _("Risk-sharing scheme"), "risk_covered": _("Covered by risk sharing")}

# The vocabulary that names each grouping key of the statistics (organisations carry their own names).
DIMENSION_VOCABULARY = {"ip_kind": "loan_ip_kind", "size": "core.Organisation.size_class",
                        "first_loan": "yes_no", "inclusive": "yes_no", "risk_covered": "yes_no"}


def shown(dim: str, value) -> str:
    """A grouping key of the statistics as a person reads it, in the active language: 广东省 for
    ``region=440000``, 专利 for ``ip_kind=patent``, 是 for ``first_loan=True``; a park by its id is
    named by the caller (the figures carry only the id)."""
    from ippledge.core.regions import region_name

    if value is None or value == "":
        return ""
    if dim in ("region", "city"):
        return region_name(str(value))
    if dim in ("first_loan", "inclusive", "risk_covered") and str(value).lower() in ("true", "false"):
        value = str(value).lower() == "true"
    name = DIMENSION_VOCABULARY.get(dim)
    return vocabulary.label(name, value) if name else str(value)


def category(code) -> str:
    """A loan's five-category classification at the period end (正常 / 关注 / …)."""
    return vocabulary.label("credit.Loan.classification", code)
