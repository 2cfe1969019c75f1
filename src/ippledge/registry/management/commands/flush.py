"""``flush`` that may empty the append-only registry journal on SQLite.

Migration registry/0002 makes SQLite refuse DELETE on the journal and checkpoints unless a row is in
``registry_journal_unlock`` (PostgreSQL's flush uses TRUNCATE, which its row triggers let through).
Emptying the whole database is the one sanctioned way to remove journal rows, so this command, which
takes the place of Django's (the test harness calls it between transactional tests), writes that row
for the length of the flush and removes it afterwards.
"""

from django.core.management.commands import flush
from django.db import DEFAULT_DB_ALIAS, connections


class Command(flush.Command):
    def handle(self, **options):
        connection = connections[options.get("database") or DEFAULT_DB_ALIAS]
        if connection.vendor != "sqlite" or "registry_journal_unlock" not in connection.introspection.table_names():
            return super().handle(**options)
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO registry_journal_unlock (reason) VALUES ('flush')")
        try:
            return super().handle(**options)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("DELETE FROM registry_journal_unlock")
