"""Issue 9, registry points: a register that proves itself, end of day bounded, personal data masked,
webhooks kept off internal addresses, certificates out of the pledge journal, odd as_of never a 500."""

from __future__ import annotations

import contextlib

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from ippledge.registry.models import Checkpoint, JournalEntry

from .registry_fixtures import application, make_patent

pytestmark = pytest.mark.django_db


@pytest.fixture
def bank(api_as):
    client, _ = api_as("bank_officer", "bank")
    return client


@contextlib.contextmanager
def journal_unprotected():
    """Drop the append-only triggers for a tampering test (what an attacker with SQL access would do)."""
    from importlib import import_module

    migration = import_module("ippledge.registry.migrations.0002_journal_protection")
    with connection.schema_editor() as editor:
        migration.backwards(None, editor)
    try:
        yield
    finally:
        with connection.schema_editor() as editor:
            migration.forwards(None, editor)


# -- point 13: journal rows are append-only in the database ---------------------------------------

def test_journal_and_checkpoint_rows_refuse_update_and_delete(bank):
    make_patent()
    assert bank.post("/pledge-applications", application()).data["status"] == "registered"
    entry = JournalEntry.objects.order_by("seq").first()
    for statement in ("UPDATE registry_journalentry SET ref = 'forged' WHERE id = %s",
                      "DELETE FROM registry_journalentry WHERE id = %s"):
        with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [entry.pk])
    assert JournalEntry.objects.get(pk=entry.pk).ref == entry.ref


def test_flush_still_empties_the_journal():
    from ippledge.registry import journal

    with transaction.atomic():
        journal.append(kind="test", ref="R1", payload={})
    assert JournalEntry.objects.exists()
    call_command("flush", interactive=False, verbosity=0)
    assert not JournalEntry.objects.exists() and not Checkpoint.objects.exists()
