from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ippledge.core.actors import SystemActor
from ippledge.core.audit import current_channel
from ippledge.monitoring.feeds import readers
from ippledge.monitoring.feeds.importer import import_feed
from ippledge.monitoring.feeds.report import print_summary


def count_rows(path: Path, fmt: str) -> int | None:
    """Rows to expect, for the bar: lines (less a CSV header) or XML events; None if unknown."""
    with path.open("rb") as fh:
        if fmt == "epo-xml":
            return sum(block.count(b"<ops:legal ") for block in iter(lambda: fh.read(1 << 20), b""))
        lines = sum(1 for line in fh if line.strip())
    return max(lines - (1 if fmt == "csv" else 0), 0)


class Command(BaseCommand):
    help = "Import legal-status events for rights in the register (`ippledge import events FILE`)."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", choices=readers.FORMATS, default="")
        parser.add_argument("--json", action="store_true", help="print the summary as JSON")

    def handle(self, *args, file: Path, format: str, json: bool, **options):
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        current_channel.set("cli")
        fmt = format or readers.detect_format(str(file), readers.head(file))
        console = Console(file=self.stdout._out, stderr=False)
        with Progress(TextColumn("importing events"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=console, transient=False) as bar:
            task = bar.add_task("import", total=count_rows(file, fmt))
            summary = import_feed(actor=SystemActor("cli-import"), source=str(file), fmt=fmt, name=file.name,
                                  progress=lambda n: bar.advance(task, n))
        print_summary(console, summary, as_json=json)
