"""``ippledge worker``: run the background task queue (webhooks, imports, monitoring).

The database backend's worker with the platform's defaults: every queue, a check every second when
idle, no code reloading (a worker is a service, not a development server).  ``--batch`` runs what is
due and exits: for tests, CI and a cron line on hosts that prefer one.
"""

from __future__ import annotations

from django.core.management.base import CommandError
from django_tasks_db.management.commands import db_worker


class Command(db_worker.Command):
    help = "Run the background task queue: webhook delivery, imports, monitoring (--batch: what is due, then exit)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.set_defaults(queue_name="*", reload=False)

    def handle(self, **options):
        # (A backend without a queue, such as the immediate one, is refused by --backend's own check.)
        backend_name = options["backend_name"]
        if options["reload"] and not options["batch"]:
            return super().handle(**options)
        self.configure_logging(options["verbosity"])
        queue_names = options["queue_name"].split(",")
        excluded = options["exclude_queues"].split(",") if options["exclude_queues"] else []
        if excluded and "*" not in queue_names:
            raise CommandError("--exclude-queues can only be used with --queue-name=*")
        worker = db_worker.Worker(
            queue_names=queue_names, excluded_queue_names=excluded, interval=options["interval"],
            batch=options["batch"], backend_name=backend_name, max_tasks=options["max_tasks"],
            startup_delay=options["startup_delay"] and not options["batch"], worker_id=options["worker_id"])
        worker.configure_signals()
        try:
            worker.run()
        finally:
            worker.reset_signals()  # called in-process (tests, a cron wrapper), Ctrl+C is the caller's again
        if options["batch"] and options["verbosity"]:
            self.stdout.write(f"{worker._run_tasks} task(s) run")
