import json as jsonlib

from django.core.management.base import BaseCommand, CommandError

from ippledge.registry import journal, signing
from ippledge.registry.models import Checkpoint


class Command(BaseCommand):
    help = "Recompute the registry journal's hash chain and check the signed checkpoints (`ippledge registry verify`)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args, json: bool = False, **options):
        result = journal.verify()
        heads = {}
        bad_checkpoints = []
        for cp in Checkpoint.objects.order_by("date"):
            message = signing.checkpoint_message(cp.date.isoformat(), cp.seq, cp.head)
            if not signing.verify_signature(cp.public_key, message, cp.signature):
                bad_checkpoints.append(cp.date.isoformat())
            heads[cp.seq] = (cp.date.isoformat(), cp.head)
        # A checkpoint's head must still be the hash of the entry it names.
        from ippledge.registry.models import JournalEntry

        for seq, (day, head) in heads.items():
            if seq and JournalEntry.objects.filter(seq=seq).values_list("hash", flat=True).first() != head:
                bad_checkpoints.append(day)
        report = {"ok": result.ok and not bad_checkpoints, "entries": result.entries, "head": result.head,
                  "first_bad_seq": result.first_bad_seq, "checkpoints": len(heads),
                  "bad_checkpoints": sorted(set(bad_checkpoints))}
        if json:
            self.stdout.write(_dumps(report))
        else:
            self.stdout.write(f"journal entries: {report['entries']}  head: {report['head']}")
            self.stdout.write(f"checkpoints: {report['checkpoints']}  bad: {', '.join(report['bad_checkpoints']) or 'none'}")
            if result.first_bad_seq is not None:
                self.stdout.write(f"first bad entry: {result.first_bad_seq}")
        if not report["ok"]:
            raise CommandError("The registry journal does not verify.")
        if not json:
            self.stdout.write("OK")


def _dumps(value) -> str:
    return jsonlib.dumps(value, ensure_ascii=False)
