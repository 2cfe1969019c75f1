import signal
import subprocess
import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ippledge.core import business_date
from ippledge.core.audit import current_channel
from ippledge.core.errors import DomainError
from ippledge.core.serving import _die_with_parent, serve
from ippledge.demo.generator import DEMO_LOGINS, DEMO_PASSWORD, demo_loaded, describe, load_demo

STAGES = {"organisations": "organisations", "users": "users", "rights": "IP rights and legal events",
          "pledges": "registered pledges", "rosters": "appraisal rosters", "loans": "loan book",
          "cases": "credit cases in flight", "reports": "typical cases, bank figures"}


class Command(BaseCommand):
    help = ("Migrate, load the demonstration region (fictional institutions, enterprises, IP rights; "
            "deterministic for a seed) unless already loaded, print the demo logins and serve.")

    def add_arguments(self, parser):
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--no-serve", action="store_true", help="Load and print the logins, but do not serve.")
        parser.add_argument("--no-worker", action="store_true",
                            help="Serve without the background worker (run `ippledge worker` yourself).")
        parser.add_argument("--enterprises", type=int, default=1000)
        parser.add_argument("--rights", type=int, default=5000)

    def handle(self, *args, seed, host, port, no_serve, no_worker, enterprises, rights, **options):
        if enterprises < 2 or rights < 1:
            raise CommandError("--enterprises must be at least 2 and --rights at least 1.")
        current_channel.set("cli")
        console = Console(file=self.stdout._out, stderr=False)
        call_command("migrate", verbosity=0, interactive=False)
        if demo_loaded():
            console.print("The demo region is already loaded in this database; nothing to load.")
        else:
            today = business_date.today()
            console.print(f"Loading the demo region (seed {seed}, business date {today:%Y-%m-%d}, "
                          f"{enterprises} enterprises, {rights} IP rights)…")
            with Progress(TextColumn("{task.description:<28}"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), console=console, transient=False) as bar:
                tasks: dict[str, int] = {}

                def progress(stage: str, done: int, total: int) -> None:
                    if stage not in tasks:
                        tasks[stage] = bar.add_task(STAGES.get(stage, stage), total=total)
                    bar.update(tasks[stage], completed=done)

                try:
                    summary = load_demo(seed=seed, today=today, enterprises=enterprises, rights=rights,
                                        progress=progress)
                except DomainError as exc:
                    raise CommandError(f"{exc.code}: {exc}") from exc
            console.print(describe(summary))
        table = Table("username", "password", "role", "who", title="Demo logins")
        for username, role, description in DEMO_LOGINS:
            table.add_row(username, DEMO_PASSWORD, role, description)
        console.print(table)
        url = f"http://{host}:{port}/"
        if no_serve:
            console.print(f"Start the platform with `ippledge demo` or `ippledge serve`, then open {url}")
            return
        worker = None if no_worker else start_worker()
        if worker is not None:
            console.print(f"Background worker started (process {worker.pid}): webhooks, imports, monitoring.")
        console.print(f"ippledge demo serving on {url} (Ctrl+C to stop)")
        previous = signal.signal(signal.SIGTERM, _exit)
        try:
            serve(host=host, port=port)
        finally:
            signal.signal(signal.SIGTERM, previous)
            stop_worker(worker)


def _exit(*_):
    raise SystemExit(0)


def start_worker() -> subprocess.Popen | None:
    """``ippledge worker`` as a child process with this process's settings; on Linux it also dies with
    this process, however it ends.  None when the task backend has no queue (runs tasks at once)."""
    from django_tasks import task_backends
    from django_tasks_db.backend import DatabaseBackend

    if not isinstance(task_backends["default"], DatabaseBackend):
        return None
    return subprocess.Popen([sys.executable, "-m", "ippledge.cli", "worker"], preexec_fn=_die_with_parent)


def stop_worker(worker: subprocess.Popen | None) -> None:
    """Stop the worker gracefully (a running task finishes), killing it after ten seconds."""
    if worker is None or worker.poll() is not None:
        return
    worker.terminate()
    try:
        worker.wait(timeout=10)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
