"""``compilemessages`` with polib, so catalogs compile without GNU gettext installed."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Compile the .po catalogs under LOCALE_PATHS into .mo files (uses polib; no gettext needed)."

    def handle(self, *args, **options):
        try:
            import polib
        except ImportError as exc:
            raise CommandError('polib is needed: pip install -e ".[test]"') from exc
        for root in settings.LOCALE_PATHS:
            for po_path in Path(root).glob("*/LC_MESSAGES/*.po"):
                catalog = polib.pofile(str(po_path))
                catalog.save_as_mofile(str(po_path.with_suffix(".mo")))
                self.stdout.write(f"compiled {po_path} ({catalog.percent_translated()}% translated)")
