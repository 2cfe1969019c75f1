import os

from django.core.management.base import BaseCommand, CommandError

from ippledge.core.serving import serve, unapplied_migrations


class Command(BaseCommand):
    help = "Serve the platform with a production WSGI server (waitress, multi-threaded), static files included."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8)
        parser.add_argument("--workers", type=int, default=int(os.environ.get("IPPLEDGE_WORKERS", "1")),
                            help="processes sharing the socket (POSIX); default IPPLEDGE_WORKERS or 1")

    def handle(self, *args, host, port, threads, workers, **options):
        pending = unapplied_migrations()
        if pending:
            raise CommandError(
                f"The database is not migrated ({len(pending)} migrations pending, e.g. {pending[0]}). "
                "Run `ippledge migrate` first.")
        self.stdout.write(f"ippledge serving on http://{host}:{port}/ with {workers} worker(s) × {threads} threads "
                          "(Ctrl+C to stop)")
        self.stdout.flush()
        serve(host=host, port=port, threads=threads, workers=workers)
