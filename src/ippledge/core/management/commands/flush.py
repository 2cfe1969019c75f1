"""``flush`` that may empty the append-only tables on SQLite.

SQLite triggers refuse DELETE on the audit trail (core migration 0005) and other append-only tables
unless a row is in that table's ``*_unlock`` companion (``core_flush_unlock``, and by the same
convention any ``<app>_..._unlock`` table with a ``reason`` column).  Emptying the whole database is the
one sanctioned way to remove such rows, so this command, which takes the place of Django's (the test
harness calls it between transactional tests), writes a row in each unlock table for the length of
the flush and removes it afterwards.  PostgreSQL's flush is TRUNCATE, which row triggers let through.
"""

from django.core.management.commands import flush
from django.db import DEFAULT_DB_ALIAS, connections


class Command(flush.Command):
    def handle(self, **options):
        connection = connections[options.get("database") or DEFAULT_DB_ALIAS]
        if connection.vendor != "sqlite":
            return super().handle(**options)
        unlock = [t for t in connection.introspection.table_names() if t.endswith("_unlock")]
        with connection.cursor() as cursor:
            for table in unlock:
                cursor.execute(f'INSERT INTO "{table}" (reason) VALUES (%s)', ["flush"])
        try:
            return super().handle(**options)
        finally:
            with connection.cursor() as cursor:
                for table in unlock:
                    cursor.execute(f'DELETE FROM "{table}"')
