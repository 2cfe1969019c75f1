"""Import pledges registered at an official registry (CNIPA, the copyright office) before or outside
the platform: JSON Lines or CSV, one pledge a row, each recorded by ``registry.imports``.

A row: ``official_registration_no``, ``official_effective_date``, ``rights`` (``[{"kind", "number"}]``;
in CSV also ``kind:number|kind:number``), ``pledgors`` and ``pledgees`` (``[{"name", "id_type",
"id_number", …}]``; in CSV also ``pledgor_name`` / ``pledgor_id_type`` / ``pledgor_id_number`` columns,
``|`` between several), ``secured_amount`` (yuan, a string) and ``currency``, or ``secured_debt``;
optional ``debtor``, ``debt_due_date``, ``registration_term_end``, ``contract_no``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from ippledge.core import permissions as perm
from ippledge.core.errors import DomainError, ValidationFailed
from ippledge.core.permissions import Actor
from ippledge.registry import imports as registry_imports

from . import numbers, readers
from .importer import LISTED, _reason

PARTY_COLUMNS = ("name", "id_type", "id_number", "country", "address")


@dataclass
class PledgeSummary:
    source: str = ""
    format: str = ""
    rows: int = 0
    imported: int = 0
    unchanged: int = 0
    pledges: list = field(default_factory=list)
    rejected: list = field(default_factory=list)
    rejected_total: int = 0
    error: dict | None = None

    def reject(self, line: int, code: str, message: str, number: str = "", fields: dict | None = None) -> None:
        self.rejected_total += 1
        if len(self.rejected) < LISTED:
            self.rejected.append({"line": line, "code": code, "message": message, "number": number,
                                  **({"fields": fields} if fields else {})})

    def as_dict(self) -> dict:
        return {"source": self.source, "format": self.format, "rows": self.rows, "imported": self.imported,
                "unchanged": self.unchanged, "pledges": self.pledges, "rejected": self.rejected,
                "rejected_total": self.rejected_total, "error": self.error}


def _right(ref):
    """A right's number in the register's form, from any form a feed writes (docdb, epodoc…)."""
    if not isinstance(ref, dict):
        return ref
    try:
        kind, number = numbers.right_key(str(ref.get("kind") or ""), ref.get("number") or "")
    except DomainError:
        return ref  # the registry's own check names what is wrong with it
    return {**ref, "kind": kind, "number": number}


def _flat(data: dict) -> dict:
    """CSV's flat columns as the JSON Lines shape."""
    data = dict(data)
    if isinstance(data.get("rights"), str):
        data["rights"] = [{"kind": k.strip(), "number": n.strip()}
                          for k, _sep, n in (item.partition(":") for item in data["rights"].split("|")) if n]
    if isinstance(data.get("rights"), list):
        data["rights"] = [_right(r) for r in data["rights"]]
    for role in ("pledgor", "pledgee"):
        if f"{role}s" not in data and data.get(f"{role}_name"):
            columns = {c: str(data.pop(f"{role}_{c}", "")).split("|") for c in PARTY_COLUMNS}
            data[f"{role}s"] = [{c: (columns[c][i].strip() if i < len(columns[c]) else "") for c in PARTY_COLUMNS
                                 if i < len(columns[c]) and columns[c][i].strip()}
                                for i in range(len(columns["name"]))]
    return data


def import_pledges(*, actor: Actor, source, fmt: str = "", name: str = "",
                   progress: Callable[[int], None] | None = None) -> dict:
    perm.require_registrar(actor)
    if not fmt:
        head = source[:512] if isinstance(source, bytes | bytearray) else readers.head(source)
        fmt = readers.detect_format(name or str(source), head)
    if fmt not in ("jsonl", "csv"):
        raise ValidationFailed(_("Give pledges as jsonl or csv."), code="unknown_format",
                               fields={"format": [_("Choose jsonl or csv.")]})
    summary = PledgeSummary(source=name or str(source), format=fmt)
    try:
        for row in readers.read(fmt, readers.blocks(source)):
            summary.rows += 1
            number = str(row.data.get("official_registration_no") or "")[:64]
            if row.error:
                summary.reject(row.line, *row.error, number=number)
            else:
                try:
                    status, pledge = registry_imports.import_pledge(actor=actor, data=_flat(row.data),
                                                                    source=summary.source)
                except DomainError as exc:
                    summary.reject(row.line, *_reason(exc)[:2], number=number, fields=_reason(exc)[2])
                else:
                    setattr(summary, status, getattr(summary, status) + 1)
                    if len(summary.pledges) < LISTED:
                        summary.pledges.append({"line": row.line, "status": status,
                                                "official_registration_no": pledge.official_registration_no,
                                                "registration_no": pledge.registration_no})
            if progress:
                progress(1)
    except readers.FeedError as exc:
        summary.error = {"code": exc.code, "message": exc.message}
    return summary.as_dict()
