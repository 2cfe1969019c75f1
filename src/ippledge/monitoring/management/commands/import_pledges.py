from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ippledge.core.actors import SystemActor
from ippledge.core.audit import current_channel


class Command(BaseCommand):
    help = ("Import pledges registered at an official registry before or outside the platform "
            "(`ippledge import pledges FILE`, JSON Lines or CSV).")

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", choices=("jsonl", "csv"), default="")
        parser.add_argument("--json", action="store_true", help="print the summary as JSON")

    def handle(self, *args, file: Path, format: str, json: bool, **options):
        from ippledge.monitoring.feeds.importer import readers
        from ippledge.monitoring.feeds.pledges import import_pledges
        from ippledge.monitoring.feeds.report import print_summary

        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        current_channel.set("cli")
        fmt = format or readers.detect_format(str(file), readers.head(file))
        with file.open("rb") as fh:
            lines = sum(1 for line in fh if line.strip()) - (1 if fmt == "csv" else 0)
        console = Console(file=self.stdout._out, stderr=False)
        with Progress(TextColumn("importing pledges"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=console, transient=False) as bar:
            task = bar.add_task("import", total=max(lines, 0))
            summary = import_pledges(actor=SystemActor("cli-import"), source=str(file), fmt=fmt, name=file.name,
                                     progress=lambda n: bar.advance(task, n))
        print_summary(console, summary, as_json=json)
