from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CreditConfig(AppConfig):
    name = "ippledge.credit"
    label = "credit"
    verbose_name = _("IP-pledge credit")

    def ready(self):
        from . import tasks  # noqa: F401  (registers the end-of-day classification)
