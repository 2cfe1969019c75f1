from django.apps import AppConfig
from django.db.models.signals import post_migrate, post_save, pre_save
from django.utils.translation import gettext_lazy as _


def _create_cache_table(sender, using="default", **kwargs):
    """``migrate`` also makes the shared cache's table (rate limits live there by default)."""
    from django.core.management import call_command

    call_command("createcachetable", database=using, verbosity=0)


class CoreConfig(AppConfig):
    name = "ippledge.core"
    label = "core"
    verbose_name = _("Platform core")

    def ready(self):
        from . import services, tasks  # noqa: F401  (tasks: the end-of-day pruning of the task log)

        post_migrate.connect(_create_cache_table, sender=self, dispatch_uid="ippledge-createcachetable")
        # Any password change — services, `ippledge changepassword`, the ORM — ends the user's tokens.
        pre_save.connect(services.note_password_change, sender="core.User", dispatch_uid="ippledge-pw-pre")
        post_save.connect(services.revoke_tokens_after_password_change, sender="core.User",
                          dispatch_uid="ippledge-pw-post")
