"""The legal term in the income period (孰短原则), valuation-methods.md §1 "Income period".

n = min(economic life, remaining legal term).  A patent's or a copyright's term is fixed, so what is
left of it binds.  A trademark's term — 10 years from registration — is renewable indefinitely by
10-year renewals (registry-rules.md §2): when renewal is expected, its current term does not stop
the income period and n is the economic life; when it is not, the current term binds.

``renewal_expected`` is an explicit input: true or false.  The income methods and the Monte Carlo
read it beside the remaining legal term (``remaining_legal_years`` / ``max_years``) and, absent, keep
that term as given; a bundle defaults it per right from the right's kind; the valuation services
default it to true for a trademark in force.  This module is the one place that decides it.

Pure module: no Django.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ippledge.core.errors import N_
from ippledge.core.exact import invalid

RENEWABLE_KINDS = frozenset({"trademark"})
INPUT = "renewal_expected"
MSG_YES_NO = N_("Give true or false.")
MSG_NOT_RENEWABLE = N_("Only a trademark's term can be renewed; this right's term is fixed.")


@dataclass(frozen=True)
class Term:
    """One right's legal term as the register gives it on the valuation date."""

    kind: str
    years: Decimal  # remaining years of the current term, ≥ 0
    in_force: bool = True


def renewable(kind: str | None) -> bool:
    return kind in RENEWABLE_KINDS


def renewal_default(kind: str | None, in_force: bool = True) -> bool:
    """Renewal is expected of a trademark in force (a mark in use is renewed as a matter of course)."""
    return renewable(kind) and in_force


def read(value: Any, *, default: bool = False, kind: str | None = None, name: str = INPUT) -> bool:
    """``renewal_expected`` as given (``True``/``False`` or ``"true"``/``"false"``); absent: ``default``.

    With ``kind``, true for a kind whose term cannot be renewed is refused (``invalid_input``)."""
    if value is None or value == "":
        expected = default
    elif isinstance(value, bool):
        expected = value
    elif isinstance(value, str) and value.strip().lower() in ("true", "false"):
        expected = value.strip().lower() == "true"
    else:
        raise invalid(name, MSG_YES_NO)
    if expected and kind is not None and not renewable(kind):
        raise invalid(name, MSG_NOT_RENEWABLE)
    return expected


def of_rights(terms: list[Term], renewal_expected: Any = None) -> tuple[Decimal | None, bool]:
    """The legal term of several rights valued as one (the shortest that binds) as the inputs an
    income method reads: ``(remaining legal years or None, renewal_expected)``.

    ``renewal_expected`` (the caller's, or ``None``: each trademark's default) applies to the
    trademarks; true when no right's term is renewable is refused.  When every term is a trademark's
    expected to be renewed, the shortest is given with ``renewal_expected`` true, so that the trace
    still shows it and that it does not bind."""
    if not terms:
        return None, read(renewal_expected)
    any_renewable = any(renewable(t.kind) for t in terms)
    explicit = None if renewal_expected is None else read(renewal_expected, kind=None if any_renewable
                                                          else terms[0].kind)
    binding = [t.years for t in terms
               if not (renewable(t.kind) and (renewal_default(t.kind, t.in_force) if explicit is None else explicit))]
    if binding:
        return min(binding), False
    return min(t.years for t in terms), True
