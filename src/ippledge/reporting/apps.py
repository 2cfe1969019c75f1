from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportingConfig(AppConfig):
    name = "ippledge.reporting"
    label = "reporting"
    verbose_name = _("Statistics and reporting")

    def ready(self):
        from . import tasks  # noqa: F401  (registers the quarterly report job)
