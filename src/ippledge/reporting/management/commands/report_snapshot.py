import json as jsonlib

from django.core.management.base import BaseCommand, CommandError

from ippledge.core.actors import SYSTEM
from ippledge.core.errors import DomainError
from ippledge.reporting import snapshots


class Command(BaseCommand):
    help = ("Rebuild the month-end balance snapshot of a past month from the repayment and classification "
            "history (`ippledge report snapshot --month 2025-06`); statistics for that month end read it.")

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="the month, YYYY-MM")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args, month: str, json: bool = False, **options):
        try:
            snap = snapshots.take(actor=SYSTEM, month_end=snapshots.parse_month(month))
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc}") from None
        result = {"month_end": snap.month_end.isoformat(), "loans": snap.loans, "balance_fen": snap.balance}
        if json:
            self.stdout.write(jsonlib.dumps(result))
        else:
            self.stdout.write(f"snapshot {result['month_end']}: {snap.loans} loans, balance {snap.balance} fen")
