from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MonitoringConfig(AppConfig):
    name = "ippledge.monitoring"
    label = "monitoring"
    verbose_name = _("Collateral monitoring")

    def ready(self):
        # End-of-day monitoring jobs and the listeners that raise alerts when an event is recorded.
        from . import hooks, ltv, reviews, tasks  # noqa: F401
