"""Audit rows cannot be deleted on SQLite either (PostgreSQL refuses DELETE since 0002).

SQLite has no TRUNCATE: Django's flush (an operator emptying the whole database, or the test harness
between transactional tests) is ``DELETE FROM``.  DELETE therefore passes only while a row exists in
``core_flush_unlock``, which only the ``flush`` command (core/management) writes for the length of the
flush — the SQLite counterpart of PostgreSQL letting TRUNCATE through.  The table is not a model, so no
code path of the application can write it.
"""

from django.db import migrations


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    schema_editor.execute("CREATE TABLE IF NOT EXISTS core_flush_unlock (reason TEXT NOT NULL)")
    schema_editor.execute("""
        CREATE TRIGGER core_audit_no_delete BEFORE DELETE ON core_auditentry
        WHEN NOT EXISTS (SELECT 1 FROM core_flush_unlock)
        BEGIN SELECT RAISE(ABORT, 'audit entries are immutable'); END;
    """)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    schema_editor.execute("DROP TRIGGER IF EXISTS core_audit_no_delete;")
    schema_editor.execute("DROP TABLE IF EXISTS core_flush_unlock;")


class Migration(migrations.Migration):
    dependencies = [("core", "0004_token_expiry_required")]
    operations = [migrations.RunPython(forwards, backwards)]
