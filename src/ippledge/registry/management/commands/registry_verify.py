import json as jsonlib

from django.core.management.base import BaseCommand, CommandError

from ippledge.registry import journal


class Command(BaseCommand):
    help = ("Prove the register (`ippledge registry verify`): recompute the journal's hash chain, check the "
            "signed checkpoints, rebuild every public record from the journal and compare it with what public "
            "search serves, and check every search certificate's seal.")

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args, json: bool = False, **options):
        report = journal.report()
        if json:
            self.stdout.write(jsonlib.dumps(report, ensure_ascii=False))
        else:
            self.stdout.write(f"journal entries: {report['entries']}  head: {report['head']}")
            self.stdout.write(f"checkpoints: {report['checkpoints']}  bad: {', '.join(report['bad_checkpoints']) or 'none'}")
            if report["first_bad_seq"] is not None:
                self.stdout.write(f"first bad entry: {report['first_bad_seq']}")
            self.stdout.write(f"records checked: {report['records_checked']}  "
                              f"differences: {report['record_differences_total']}")
            for d in report["record_differences"]:
                self.stdout.write(f"  {d['registration_no']}: {d['field']}: journal {d['journal']!r}, "
                                  f"served {d['served']!r}")
            if report["altered_certificates"]:
                self.stdout.write(f"altered certificates: {', '.join(report['altered_certificates'])}")
        if not report["ok"]:
            raise CommandError("The register does not verify.")
        if not json:
            self.stdout.write("OK")
