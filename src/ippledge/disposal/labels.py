"""Vocabularies of the disposal pages for codes outside a choices field: a round's outcome, where a case's
liquidation value came from, and a pledge's position in a settlement's ranking."""

from django.utils.translation import gettext_lazy as _

from ippledge.core import vocabulary

vocabulary.register("disposal_round_outcome", {"sold": _("Sold"), "unsold": _("Unsold")})
vocabulary.register("disposal_valuation_source", {"valuation": _("Final valuation on record"),
                                                  "appraisal": _("Appraisal by a rostered agency")})
vocabulary.register("disposal_rank_position", {"senior": _("Ranks before the bank"),
                                               "enforcing": _("The enforcing bank's pledge"),
                                               "junior": _("Ranks after the bank")})
