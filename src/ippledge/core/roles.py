"""Organisation kinds and user roles: the vocabulary every permission check speaks."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class OrgKind(models.TextChoices):
    BANK = "bank", _("Bank")
    ENTERPRISE = "enterprise", _("Enterprise")
    IP_OFFICE = "ip_office", _("IP office (patents and trademarks)")
    COPYRIGHT_OFFICE = "copyright_office", _("Copyright office")
    REGULATOR = "regulator", _("Regulator")
    INSURER = "insurer", _("Insurer")
    RISK_FUND = "risk_fund", _("Risk compensation fund")
    APPRAISAL_AGENCY = "appraisal_agency", _("Appraisal agency")
    GUARANTOR = "guarantor", _("Guarantor")
    IP_EXCHANGE = "ip_exchange", _("IP exchange")
    PLATFORM_OPERATOR = "platform_operator", _("Platform operator")


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    REGISTRAR = "registrar", _("Registrar")
    BANK_OFFICER = "bank_officer", _("Loan officer")
    BANK_REVIEWER = "bank_reviewer", _("Risk reviewer")
    BANK_APPROVER = "bank_approver", _("Approver")
    ENTERPRISE_USER = "enterprise_user", _("Enterprise user")
    APPRAISER = "appraiser", _("Appraiser")
    INSURER_USER = "insurer_user", _("Insurer user")
    FUND_MANAGER = "fund_manager", _("Fund manager")
    REGULATOR_USER = "regulator_user", _("Regulator user")
    EXCHANGE_USER = "exchange_user", _("IP exchange user")


# Which organisation kinds a role may belong to; admin may sit in any operator organisation.
ROLE_ORG_KINDS: dict[str, set[str]] = {
    Role.ADMIN: {OrgKind.PLATFORM_OPERATOR, OrgKind.IP_OFFICE, OrgKind.COPYRIGHT_OFFICE},
    Role.REGISTRAR: {OrgKind.IP_OFFICE, OrgKind.COPYRIGHT_OFFICE},
    Role.BANK_OFFICER: {OrgKind.BANK},
    Role.BANK_REVIEWER: {OrgKind.BANK},
    Role.BANK_APPROVER: {OrgKind.BANK},
    Role.ENTERPRISE_USER: {OrgKind.ENTERPRISE},
    Role.APPRAISER: {OrgKind.APPRAISAL_AGENCY, OrgKind.BANK},
    Role.INSURER_USER: {OrgKind.INSURER, OrgKind.GUARANTOR},
    Role.FUND_MANAGER: {OrgKind.RISK_FUND},
    Role.REGULATOR_USER: {OrgKind.REGULATOR},
    # An IP exchange's staff publish disposal listings, take bids and close deals (issue 14).
    Role.EXCHANGE_USER: {OrgKind.IP_EXCHANGE},
}

# The rights each registrar office records.
OFFICE_RIGHT_KINDS: dict[str, set[str]] = {
    OrgKind.IP_OFFICE: {"invention", "utility_model", "design", "trademark", "ic_layout",
                        "geographical_indication"},
    OrgKind.COPYRIGHT_OFFICE: {"copyright", "software"},
}
