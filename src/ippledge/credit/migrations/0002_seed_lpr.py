"""Seed the LPR table with the shipped 2019-08 … 2026-08 history."""

from django.db import migrations


def seed(apps, schema_editor):
    from ippledge.credit.lpr import shipped_fixings

    LprFixing = apps.get_model("credit", "LprFixing")
    LprFixing.objects.bulk_create([LprFixing(fixing_date=d, tenor=t, rate=r, source="chinamoney")
                                   for d, t, r in shipped_fixings()], ignore_conflicts=True)


def unseed(apps, schema_editor):
    apps.get_model("credit", "LprFixing").objects.filter(source="chinamoney").delete()


class Migration(migrations.Migration):
    dependencies = [("credit", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
