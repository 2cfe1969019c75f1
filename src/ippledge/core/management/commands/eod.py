import datetime as dt

from django.core.management.base import BaseCommand, CommandError

from ippledge.core import business_date, eod
from ippledge.core.audit import current_channel
from ippledge.core.errors import DomainError


class Command(BaseCommand):
    help = ("Run the end-of-day jobs: by default for every day not yet run up to today's business date, in "
            "order; --date for one day (the last day run, to retry failed jobs, or the next one). In simulation "
            "(IPPLEDGE_ALLOW_BUSINESS_DATE=1), --date D --rerun runs every job of D again.")

    def add_arguments(self, parser):
        parser.add_argument("--date", type=dt.date.fromisoformat, default=None, help="YYYY-MM-DD")
        parser.add_argument("--rerun", action="store_true",
                            help="run every job of --date again, finished ones included (simulation only)")

    def handle(self, *args, date, rerun=False, **options):
        current_channel.set("cli")
        if rerun and date is None:
            raise CommandError("--rerun needs --date.")
        day = date or business_date.today()
        try:
            runs = eod.run(business_date=day, rerun=rerun) if date else eod.run_pending()
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        for row in runs:
            self.stdout.write(f"{row.business_date} {row.job:<40} {row.status:<8} {row.detail if row.status != 'failed' else row.detail.get('error')}")
        if not runs:
            self.stdout.write(f"{day}: no end-of-day jobs are registered.")
        if any(r.status == "failed" for r in runs):
            raise CommandError("Some end-of-day jobs failed; rerun `ippledge eod` after fixing the cause.")
