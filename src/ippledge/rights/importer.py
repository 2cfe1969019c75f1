"""Bulk import of rights from JSON Lines or CSV.  Each row is one transaction: a bad row is reported
with its reasons and never half-written; good rows are kept."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from ippledge.core.errors import DomainError

from . import services

OWNER_COLUMNS = ("name", "id_type", "id_number", "country", "domicile_in_china", "address")


@dataclass
class ImportReport:
    total: int = 0
    imported: int = 0
    rejected: list[dict] = field(default_factory=list)


def _csv_row(row: dict) -> dict:
    """CSV carries co-owners as ``|``-separated ``owner_*`` columns, or one JSON ``owners`` column."""
    data = {k: v for k, v in row.items() if k and not k.startswith("owner_") and v not in (None, "")}
    if row.get("owners"):
        data["owners"] = json.loads(row["owners"])
    elif row.get("owner_name"):
        columns = {c: (row.get(f"owner_{c}") or "").split("|") for c in OWNER_COLUMNS}
        data["owners"] = [{c: (columns[c][i].strip() if i < len(columns[c]) else "") for c in OWNER_COLUMNS}
                          for i in range(len(columns["name"]))]
        for owner in data["owners"]:
            if owner["domicile_in_china"] == "":
                owner.pop("domicile_in_china")
    if row.get("events"):
        data["events"] = json.loads(row["events"])
    return data


def read_rows(path: Path) -> Iterator[tuple[int, dict | Exception]]:
    """Yield (line number, row dict or the parse error) from a .jsonl/.json or .csv file."""
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as fh:
            for i, row in enumerate(csv.DictReader(fh), start=2):
                try:
                    yield i, _csv_row(row)
                except (ValueError, TypeError) as exc:
                    yield i, exc
        return
    with path.open(encoding="utf-8-sig") as fh:
        for i, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                yield i, row if isinstance(row, dict) else ValueError("not a JSON object")
            except ValueError as exc:
                yield i, exc


@transaction.atomic
def import_one(*, actor, data: dict):
    events = data.pop("events", None) or []
    right = services.create_right(actor=actor, data=data)
    for ev in events:
        services.record_event(actor=actor, right=right, data=ev)
    return right


def import_file(*, actor, path: Path, progress: Callable[[int], None] | None = None) -> ImportReport:
    report = ImportReport()
    for line, row in read_rows(path):
        report.total += 1
        if isinstance(row, Exception):
            report.rejected.append({"line": line, "code": "unreadable_row", "message": str(row), "fields": {}})
        else:
            try:
                import_one(actor=actor, data=row)
                report.imported += 1
            except DomainError as exc:
                report.rejected.append({"line": line, "number": row.get("number", ""), "code": exc.code,
                                        "message": str(exc.message), "fields": exc.fields})
        if progress:
            progress(1)
    return report
