from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DisposalConfig(AppConfig):
    name = "ippledge.disposal"
    label = "disposal"
    verbose_name = _("Collateral disposal")

    def ready(self):
        # The end-of-day holding-period alerts register themselves with ``core.eod``.
        from . import services_relief  # noqa: F401
