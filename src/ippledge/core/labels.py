"""Vocabularies of the platform core: GB/T 4754-2017 industry sections, and countries of parties."""

import re

from django.utils.translation import gettext_lazy as _

from . import vocabulary

# GB/T 4754-2017 《国民经济行业分类》, the twenty sections (门类).
INDUSTRY_SECTIONS = {
    "A": _("Agriculture, forestry, animal husbandry and fishery"),
    "B": _("Mining"),
    "C": _("Manufacturing"),
    "D": _("Production and supply of electricity, heat, gas and water"),
    "E": _("Construction"),
    "F": _("Wholesale and retail trade"),
    "G": _("Transport, storage and postal services"),
    "H": _("Accommodation and catering"),
    "I": _("Information transmission, software and information technology services"),
    "J": _("Finance"),
    "K": _("Real estate"),
    "L": _("Leasing and business services"),
    "M": _("Scientific research and technical services"),
    "N": _("Water conservancy, environment and public facilities management"),
    "O": _("Resident services, repair and other services"),
    "P": _("Education"),
    "Q": _("Health and social work"),
    "R": _("Culture, sports and entertainment"),
    "S": _("Public administration, social security and social organisations"),
    "T": _("International organisations"),
}
vocabulary.register("industry_section", INDUSTRY_SECTIONS)


def industry_label(code: str | None) -> str:
    """An organisation's industry as people read it: the section's name, with the finer code if one was
    given (``"C"`` → 制造业; ``"I65"`` → 信息传输、软件和信息技术服务业 (I65))."""
    code = (code or "").strip()
    if not re.fullmatch(r"[A-Ta-t]\d{0,4}", code):
        return code
    section = code[0].upper()
    name = str(INDUSTRY_SECTIONS[section])
    return name if len(code) == 1 else f"{name} ({code})"


# ISO 3166-1 alpha-2 codes of the countries and regions whose parties appear in Chinese IP registers
# most often; a code not listed shows as itself.
COUNTRIES = {
    "CN": _("China"), "HK": _("Hong Kong, China"), "MO": _("Macao, China"), "TW": _("Taiwan, China"),
    "US": _("United States"), "JP": _("Japan"), "KR": _("Republic of Korea"), "DE": _("Germany"),
    "GB": _("United Kingdom"), "FR": _("France"), "CH": _("Switzerland"), "NL": _("Netherlands"),
    "SE": _("Sweden"), "FI": _("Finland"), "IT": _("Italy"), "CA": _("Canada"), "AU": _("Australia"),
    "SG": _("Singapore"), "IN": _("India"), "IL": _("Israel"),
}
vocabulary.register("country", COUNTRIES)
