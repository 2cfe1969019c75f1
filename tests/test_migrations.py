"""Migration files say what they do (issue 10, point 15), and renaming one keeps old databases valid."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader

SRC = Path(__file__).resolve().parents[1] / "src" / "ippledge"
GENERATED = re.compile(r"_and_more$|^\d{4}_auto_\d")


def test_no_migration_keeps_a_generated_name():
    names = [p.stem for p in SRC.glob("*/migrations/0*.py")]
    assert names
    assert [n for n in names if GENERATED.search(n)] == []


@pytest.mark.django_db
def test_a_database_that_applied_the_old_name_sees_the_renamed_migration_as_applied():
    from django.db.migrations.recorder import MigrationRecorder

    recorder = MigrationRecorder(connection)
    recorder.record_unapplied("credit", "0003_credit_workflow")
    recorder.record_applied("credit", "0003_subsidyscheme_creditcase_casestep_exemptionrequest_and_more")
    loader = MigrationLoader(connection)
    assert ("credit", "0003_credit_workflow") in loader.applied_migrations
    assert not loader.detect_conflicts()
