"""Explanation traces and the engine's number rules.

A trace is a list of steps; each step has a stable ``key``, an English and a Chinese label, an
optional formula, and a value rendered as a string (Decimal amounts to the fen, rates as given).
Amounts are Decimal quantized half up by core.money; floats appear only inside NumPy simulations and
are converted at the boundary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from ippledge.core import money
from ippledge.core.errors import N_, ValidationFailed


def fen(value) -> Decimal:
    """An amount (Decimal, int, decimal string, or a simulation's float taken at its shortest decimal
    form) to the fen by core.money's one rule, half up."""
    return money.quantize(value if isinstance(value, Decimal | int) and not isinstance(value, bool)
                          else Decimal(str(value)))


def dec(value: Any, name: str = "value") -> Decimal:
    """Parse an input given as a decimal string (or int); floats are refused."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or isinstance(value, float) or value is None:
        raise ValidationFailed(N_("Give numbers as decimal strings."), code="invalid_input",
                               fields={name: [N_("Give numbers as decimal strings.")]})
    try:
        parsed = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationFailed(N_("Not a number."), code="invalid_input", fields={name: [N_("Not a number.")]}) \
            from None
    if not parsed.is_finite():
        raise ValidationFailed(N_("Not a number."), code="invalid_input", fields={name: [N_("Not a number.")]})
    return parsed


def render(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list | tuple):
        return [render(v) for v in value]
    if isinstance(value, dict):
        return {k: render(v) for k, v in value.items()}
    return value


@dataclass
class Step:
    key: str
    en: str
    zh: str
    value: Any = None
    formula: str = ""

    def as_dict(self) -> dict:
        out = {"key": self.key, "en": self.en, "zh": self.zh, "value": render(self.value)}
        if self.formula:
            out["formula"] = self.formula
        return out


@dataclass
class Trace:
    steps: list[Step] = field(default_factory=list)

    def input(self, key: str, en: str, zh: str, value: Any) -> None:
        self.steps.append(Step(f"input.{key}", en, zh, value))

    def step(self, key: str, en: str, zh: str, value: Any, formula: str = "") -> Any:
        self.steps.append(Step(key, en, zh, value, formula))
        return value

    def as_list(self) -> list[dict]:
        return [s.as_dict() for s in self.steps]

    def text(self, language: str = "zh") -> str:
        """The trace as lines a person reads (``zh`` or ``en``)."""
        lines = []
        for s in self.steps:
            label = s.zh if language.startswith("zh") else s.en
            formula = f"  [{s.formula}]" if s.formula else ""
            lines.append(f"{label}: {render(s.value)}{formula}")
        return "\n".join(lines)
