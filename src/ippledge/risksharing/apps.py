from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RiskSharingConfig(AppConfig):
    name = "ippledge.risksharing"
    label = "risksharing"
    verbose_name = _("Risk sharing and guarantee insurance")

    def ready(self):
        # The all-in cost of a loan (credit, a layer below) reads the loan's guarantee policy through a
        # premium source registered here: credit never imports risk sharing.
        from ippledge.credit.costs import register_premium_source

        from .services_insurance import premium_source

        register_premium_source(premium_source)
