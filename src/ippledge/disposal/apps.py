from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DisposalConfig(AppConfig):
    name = "ippledge.disposal"
    label = "disposal"
    verbose_name = _("Collateral disposal")

    def ready(self):
        # The end-of-day holding-period alerts register themselves with ``core.eod``.
        from ippledge.monitoring import annuities

        from . import services_relief

        # Monitoring's annuity amounts take the granted fee relief through this reader (it sits below us).
        if services_relief.reductions_for not in annuities.relief_readers:
            annuities.relief_readers.append(services_relief.reductions_for)
