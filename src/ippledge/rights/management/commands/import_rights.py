from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ippledge.core.actors import SystemActor
from ippledge.core.audit import current_channel
from ippledge.rights.importer import import_file


class Command(BaseCommand):
    help = "Import IP rights from a JSON Lines or CSV file (`ippledge import rights FILE`)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        if not file.exists():
            raise CommandError(f"No such file: {file}")
        current_channel.set("cli")
        console = Console(file=self.stdout._out, stderr=False)
        lines = sum(1 for line in file.open(encoding="utf-8-sig") if line.strip())
        total = max(lines - (1 if file.suffix.lower() == ".csv" else 0), 0)
        with Progress(TextColumn("importing rights"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=console, transient=False) as bar:
            task = bar.add_task("import", total=total)
            report = import_file(actor=SystemActor("cli-import"), path=file,
                                 progress=lambda n: bar.advance(task, n))
        console.print(f"[bold]{report.imported}[/] imported, [bold]{len(report.rejected)}[/] rejected "
                      f"of {report.total} rows.")
        if report.rejected:
            table = Table("line", "number", "code", "reason")
            for r in report.rejected[:200]:
                detail = "; ".join(f"{k}: {' '.join(v) if isinstance(v, list) else v}" for k, v in r["fields"].items())
                table.add_row(str(r["line"]), r.get("number", ""), r["code"], detail or r["message"])
            console.print(table)
            if len(report.rejected) > 200:
                console.print(f"… and {len(report.rejected) - 200} more rejected rows.")
