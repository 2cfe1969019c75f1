from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportingConfig(AppConfig):
    name = "ippledge.reporting"
    label = "reporting"
    verbose_name = _("Statistics and reporting")

    def ready(self):
        from . import snapshots, tasks  # noqa: F401  (the snapshots' signals, the end-of-day jobs)
