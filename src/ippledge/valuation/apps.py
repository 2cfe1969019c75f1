from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ValuationConfig(AppConfig):
    name = "ippledge.valuation"
    label = "valuation"
    verbose_name = _("Valuation")

    def ready(self):
        from ippledge.registry import parsing

        from . import services

        if services.valid_reference not in parsing.valuation_ref_checks:
            parsing.valuation_ref_checks.append(services.valid_reference)
