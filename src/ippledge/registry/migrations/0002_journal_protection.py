"""Make the registry journal and its signed checkpoints append-only in the database itself.

Both databases refuse UPDATE and DELETE on registry_journalentry and registry_checkpoint, so a
direct SQL edit cannot rewrite the register's history (``registry verify`` catches the rest).

PostgreSQL: TRUNCATE (operators and the test harness's flush) stays possible, as for the audit trail.
SQLite has no TRUNCATE: its flush is ``DELETE FROM``.  DELETE is therefore allowed only while a row
exists in ``registry_journal_unlock``, which only the ``flush`` command (core/management: it unlocks
every ``*_unlock`` table) writes for the length of the flush; the table is not a model, so nothing else
in the application touches it.
"""

from django.db import migrations

TABLES = ("registry_journalentry", "registry_checkpoint")


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute("""
            CREATE OR REPLACE FUNCTION registry_journal_immutable() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION USING MESSAGE = 'registry journal rows are append-only: ' || TG_TABLE_NAME; END;
            $$ LANGUAGE plpgsql;
        """)
        for table in TABLES:
            schema_editor.execute(f"""
                CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
                FOR EACH ROW EXECUTE FUNCTION registry_journal_immutable();
            """)
    elif vendor == "sqlite":
        schema_editor.execute("CREATE TABLE IF NOT EXISTS registry_journal_unlock (reason TEXT NOT NULL)")
        for table in TABLES:
            schema_editor.execute(f"""
                CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
                BEGIN SELECT RAISE(ABORT, 'registry journal rows are append-only'); END;
            """)
            schema_editor.execute(f"""
                CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
                WHEN NOT EXISTS (SELECT 1 FROM registry_journal_unlock)
                BEGIN SELECT RAISE(ABORT, 'registry journal rows are append-only'); END;
            """)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        for table in TABLES:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table};")
        schema_editor.execute("DROP FUNCTION IF EXISTS registry_journal_immutable();")
    elif vendor == "sqlite":
        for table in TABLES:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_update;")
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete;")
        schema_editor.execute("DROP TABLE IF EXISTS registry_journal_unlock;")


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
