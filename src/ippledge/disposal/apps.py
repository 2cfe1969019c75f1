from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DisposalConfig(AppConfig):
    name = "ippledge.disposal"
    label = "disposal"
    verbose_name = _("Collateral disposal")
