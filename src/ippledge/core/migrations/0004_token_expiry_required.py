"""Every API token expires (0003 gave the old ones an expiry)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("core", "0003_token_scope_and_login_throttle")]
    operations = [
        migrations.AlterField(model_name="apitoken", name="expires_at", field=models.DateTimeField()),
    ]
