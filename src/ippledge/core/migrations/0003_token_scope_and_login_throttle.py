"""Token scopes and expiry, and atomic login-throttling buckets.

Existing data-sharing tokens (named "data-sharing", read-only) become statistics-scoped; tokens that
never expired get the lifetime their kind has now, counted from their creation, so a token issued
long ago dies on upgrade rather than living on.
"""

import datetime as dt

from django.db import migrations, models


def scope_and_expire(apps, schema_editor):
    from django.conf import settings

    ApiToken = apps.get_model("core", "ApiToken")
    ApiToken.objects.filter(name="data-sharing", read_only=True).update(scope="statistics")
    for token in ApiToken.objects.filter(expires_at__isnull=True).only("pk", "created_at", "scope"):
        days = settings.SHARING_TOKEN_LIFETIME_DAYS if token.scope == "statistics" else settings.TOKEN_LIFETIME_DAYS
        ApiToken.objects.filter(pk=token.pk).update(expires_at=token.created_at + dt.timedelta(days=days))


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0002_audit_immutable'),
    ]

    operations = [
        migrations.CreateModel(
            name='LoginThrottle',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.CharField(max_length=255, unique=True)),
                ('failures', models.PositiveIntegerField(default=0)),
                ('last_at', models.DateTimeField(blank=True, null=True)),
                ('locked_until', models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.AlterModelOptions(
            name='apitoken',
            options={'ordering': ['-id']},
        ),
        migrations.AddField(
            model_name='apitoken',
            name='revoked_reason',
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AddField(
            model_name='apitoken',
            name='scope',
            field=models.CharField(choices=[('full', 'full access of its user'), ('statistics', 'statistics only')], default='full', max_length=16),
        ),
        migrations.RunPython(scope_and_expire, migrations.RunPython.noop),
        # expires_at becomes NOT NULL in 0004: PostgreSQL cannot alter a table with pending row updates.
    ]
