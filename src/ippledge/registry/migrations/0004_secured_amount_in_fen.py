"""The pledge's secured amount in integer fen, like every other amount (issue 10, point 3).

Rows are converted exactly: fen = yuan × 100 rounded half up (core.money, the one rounding rule); the
stored amounts had two decimals, so nothing is rounded in practice.  The public record and the journal
keep showing yuan strings ("3000000.00"), so journalled states stay comparable.
"""

from django.db import migrations, models

from ippledge.core import money

BATCH = 1000


def _convert(apps, source: str, target: str, to_value) -> None:
    Pledge = apps.get_model("registry", "Pledge")
    rows = []
    for pledge in Pledge.objects.only("pk", source).iterator(chunk_size=BATCH):
        setattr(pledge, target, to_value(getattr(pledge, source)))
        rows.append(pledge)
        if len(rows) == BATCH:
            Pledge.objects.bulk_update(rows, [target])
            rows = []
    Pledge.objects.bulk_update(rows, [target])


def yuan_to_fen(apps, schema_editor):
    _convert(apps, "secured_amount", "secured_fen", money.fen)


def fen_to_yuan(apps, schema_editor):
    _convert(apps, "secured_fen", "secured_amount", money.from_fen)


class Migration(migrations.Migration):

    dependencies = [
        ('registry', '0003_party_confirmations'),
    ]

    operations = [
        migrations.AddField(model_name='pledge', name='secured_fen', field=models.BigIntegerField(null=True)),
        migrations.AlterField(model_name='pledge', name='secured_amount',
                              field=models.DecimalField(decimal_places=2, max_digits=18, null=True)),
        migrations.RunPython(yuan_to_fen, fen_to_yuan),
        migrations.RemoveField(model_name='pledge', name='secured_amount'),
        migrations.RenameField(model_name='pledge', old_name='secured_fen', new_name='secured_amount'),
        migrations.AlterField(
            model_name='pledge',
            name='secured_amount',
            field=models.BigIntegerField(verbose_name='secured amount (fen)'),
        ),
    ]
