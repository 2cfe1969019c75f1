from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "ippledge.registry"
    label = "registry"
    verbose_name = _("Pledge registry")

    def ready(self):
        # Register end-of-day jobs and the register's event guards/listeners.
        from . import hooks, tasks  # noqa: F401
