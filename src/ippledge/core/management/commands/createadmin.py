from django.core.management.base import BaseCommand, CommandError

from ippledge.core import services
from ippledge.core.audit import current_channel
from ippledge.core.errors import DomainError


class Command(BaseCommand):
    help = "Create a platform administrator, or reset its password (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--username", required=True)
        parser.add_argument("--password", required=True)

    def handle(self, *args, username, password, **options):
        current_channel.set("cli")
        try:
            user, created = services.ensure_admin(username=username, password=password)
        except DomainError as exc:
            raise CommandError(f"{exc.code}: {exc.message} {exc.fields or ''}") from exc
        self.stdout.write(f"{'Created' if created else 'Updated'} administrator {user.username}")
