from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RiskSharingConfig(AppConfig):
    name = "ippledge.risksharing"
    label = "risksharing"
    verbose_name = _("Risk sharing and guarantee insurance")
