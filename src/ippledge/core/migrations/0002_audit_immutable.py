"""Make audit rows immutable in the database itself, not only in the ORM.

PostgreSQL refuses UPDATE and DELETE on core_auditentry (TRUNCATE, used only by operators and the
test harness, stays possible).  SQLite refuses UPDATE; DELETE is left to the application guard
because Django's test flush deletes rows there.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute("""
            CREATE OR REPLACE FUNCTION core_audit_immutable() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION 'audit entries are immutable'; END; $$ LANGUAGE plpgsql;
        """)
        schema_editor.execute("""
            CREATE TRIGGER core_audit_no_change BEFORE UPDATE OR DELETE ON core_auditentry
            FOR EACH ROW EXECUTE FUNCTION core_audit_immutable();
        """)
    elif vendor == "sqlite":
        schema_editor.execute("""
            CREATE TRIGGER core_audit_no_update BEFORE UPDATE ON core_auditentry
            BEGIN SELECT RAISE(ABORT, 'audit entries are immutable'); END;
        """)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS core_audit_no_change ON core_auditentry;")
        schema_editor.execute("DROP FUNCTION IF EXISTS core_audit_immutable();")
    elif vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS core_audit_no_update;")


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
