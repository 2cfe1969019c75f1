"""Portfolio runs move onto the task queue: a status (queued, running, done, failed), the task's id, when
the simulation started and finished, and a failure's code and message.  The runs made before were
simulated inside the request and kept only once finished: they are ``done`` (finished when created)."""

from django.db import migrations, models
from django.db.models import F


def earlier_runs_finished(apps, schema_editor):
    apps.get_model("risksharing", "PortfolioRun").objects.update(finished_at=F("created_at"))


class Migration(migrations.Migration):

    dependencies = [
        ('risksharing', '0003_insurance'),
    ]

    operations = [
        migrations.AddField(
            model_name='portfoliorun',
            name='error_code',
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name='portfoliorun',
            name='error_message',
            field=models.CharField(blank=True, max_length=500),
        ),
        migrations.AddField(
            model_name='portfoliorun',
            name='finished_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='portfoliorun',
            name='started_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name='portfoliorun',
            name='status',
            # existing rows were simulated in the request: done
            field=models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], default='done', max_length=8),
        ),
        migrations.AlterField(
            model_name='portfoliorun',
            name='status',
            field=models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('done', 'Done'), ('failed', 'Failed')], default='queued', max_length=8),
        ),
        migrations.RunPython(earlier_runs_finished, migrations.RunPython.noop),
        migrations.AddField(
            model_name='portfoliorun',
            name='task_id',
            field=models.CharField(blank=True, max_length=64),
        ),
    ]
