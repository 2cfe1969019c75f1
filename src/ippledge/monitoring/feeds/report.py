"""The summary of an import as the CLI prints it (rich tables) or as JSON."""

from __future__ import annotations

import json


def print_summary(console, summary: dict, *, as_json: bool = False) -> None:
    from rich.table import Table

    if as_json:
        console.print_json(json.dumps(summary, ensure_ascii=False, default=str))
        return
    counts = [f"[bold]{summary.get(k, 0)}[/] {k}" for k in ("rows", "imported", "unchanged")]
    if "unmatched_rows" in summary:
        counts.append(f"[bold]{summary['unmatched_rows']}[/] for rights not in the register")
    counts.append(f"[bold]{summary['rejected_total']}[/] rejected")
    console.print(", ".join(counts) + ".")
    if summary.get("imported_by_type"):
        console.print("imported: " + ", ".join(f"{k} {v}" for k, v in summary["imported_by_type"].items()))
    if summary.get("unmapped_codes"):
        table = Table("unmapped code", "description", "rows", title="kept as unmapped")
        for entry in summary["unmapped_codes"]:
            table.add_row(entry["code"], entry["description"], str(entry["rows"]))
        console.print(table)
    if summary.get("unmatched_rights"):
        table = Table("country", "kind", "number", "reason", "rows", title="rights not in the register")
        for entry in summary["unmatched_rights"][:200]:
            table.add_row(entry["country"], entry["kind"], entry["number"], entry["reason"], str(entry["rows"]))
        console.print(table)
    records = summary.get("pledge_records") or {}
    if records.get("listed"):
        table = Table("line", "code", "date", "number", "status", "pledge", title="official pledge records")
        for entry in records["listed"][:200]:
            table.add_row(str(entry["line"]), entry["code"], entry["date"], entry["number"], entry["status"],
                          entry["registration_no"] or "—")
        console.print(table)
    if summary.get("pledges"):
        table = Table("line", "official no.", "registration no.", "status", title="pledges")
        for entry in summary["pledges"][:200]:
            table.add_row(str(entry["line"]), entry["official_registration_no"], entry["registration_no"],
                          entry["status"])
        console.print(table)
    if summary.get("rejected"):
        table = Table("line", "number", "reason", "message", title="rejected rows")
        for entry in summary["rejected"][:200]:
            detail = "; ".join(f"{k}: {' '.join(v)}" for k, v in (entry.get("fields") or {}).items())
            table.add_row(str(entry["line"]), entry.get("number", ""), entry["code"], detail or entry["message"])
        console.print(table)
        if summary["rejected_total"] > 200:
            console.print(f"… and {summary['rejected_total'] - 200} more rejected rows.")
    if summary.get("error"):
        console.print(f"[bold red]stopped[/]: {summary['error']['code']}: {summary['error']['message']}")
