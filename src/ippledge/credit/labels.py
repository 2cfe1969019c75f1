"""Translated labels of credit codes that live outside a choices field: the due-diligence checklist and
its findings, the case trail's actions, matching reasons, filing regimes, need states, subsidies."""

from django.utils.translation import gettext_lazy as _

from ippledge.core import vocabulary

DD_LABELS = {
    "ownership": _("Ownership of the rights"),
    "legal_state": _("Legal state"),
    "encumbrances": _("Existing pledges and encumbrances"),
    "term_vs_loan": _("Term of the rights against the loan term"),
    "licences": _("Licences"),
    "litigation": _("Litigation, disputes and preservation"),
    "annuity": _("Annuity status"),
}
RESULT_LABELS = {"ok": _("No problem"), "issue": _("Problem found"), "unknown": _("Not known from the register")}

vocabulary.register("dd_item", DD_LABELS)
vocabulary.register("dd_result", RESULT_LABELS)

# What each step of a credit case's trail did (CaseStep.action).
CASE_ACTION_LABELS = {
    "open": _("Case opened"), "valuation": _("Valuation attached"), "submit": _("Due diligence signed off"),
    "pass": _("Review passed"), "return": _("Returned for rework"), "decline": _("Declined"),
    "approve": _("Approved"), "contract": _("Contract written, pledge filed"), "sign": _("Contract signed"),
    "disburse": _("Disbursed"), "ltv_override": _("Approved above the maximum loan"),
}

# Why a product and a need match or not (credit.engine.matching reason codes).
MATCH_REASON_LABELS = {
    "rights_not_in_force": _("Some rights are not in force and not counted"),
    "no_rights_in_force": _("No right offered is in force"),
    "market_value_missing": _("Some rights have no valuation (counted at 0)"),
    "kind_not_eligible": _("The product does not take this kind of right"),
    "bundle_not_eligible": _("The product does not take bundles"),
    "kinds_eligible": _("The product takes these rights"),
    "amount_in_range": _("Amount within the product's range"),
    "amount_below_minimum": _("Amount below the product's minimum"),
    "amount_above_maximum": _("Amount above the product's maximum"),
    "term_in_range": _("Term within the product's range"),
    "term_below_minimum": _("Term below the product's minimum"),
    "term_above_maximum": _("Term above the product's maximum"),
    "region_any": _("The product lends in every region"),
    "region_covered": _("The region is served by the product"),
    "region_not_covered": _("The region is not served by the product"),
    "park_any": _("Not limited to industrial parks"),
    "park_matched": _("The park is one of the product's parks"),
    "park_not_covered": _("The product lends only in certain parks"),
    "innovation_grade_any": _("No innovation-grade floor"),
    "innovation_grade_missing": _("No innovation grade given"),
    "innovation_grade_below_floor": _("Innovation grade below the product's floor"),
    "innovation_grade_met": _("Innovation grade meets the product's floor"),
    "ltv_cap_missing": _("The product sets no LTV cap for these rights"),
    "collateral_sufficient": _("The collateral supports the amount"),
    "collateral_insufficient": _("The collateral does not support the amount"),
}

# The registry a pledge is filed with (registry.examination.REGIMES).
FILING_REGIME_LABELS = {
    "patent": _("Patent pledge"), "trademark": _("Trademark pledge"), "copyright": _("Copyright pledge"),
    "disclosure": _("Disclosure registration"),
}

# What a financing need is doing (FinancingNeed.status).
NEED_STATUS_LABELS = {"open": _("Open"), "matched": _("Matched")}

# Kinds of interest subsidy (SubsidyScheme.kind, the pricing engine's subsidy kinds).
SUBSIDY_KIND_LABELS = {"rate": _("Rate subsidy"), "share_of_interest": _("Share of interest"),
                       "amount": _("Fixed amount")}
SUBSIDY_LIMIT_LABELS = {"condition": _("condition not met"), "cap": _("capped"),
                        "interest": _("limited to the interest")}

vocabulary.register("case_action", CASE_ACTION_LABELS)
vocabulary.register("match_reason", MATCH_REASON_LABELS)
vocabulary.register("filing_regime", FILING_REGIME_LABELS)
vocabulary.register("need_status", NEED_STATUS_LABELS)
vocabulary.register("subsidy_kind", SUBSIDY_KIND_LABELS)
vocabulary.register("subsidy_limit", SUBSIDY_LIMIT_LABELS)

# Why a loan is in its category (credit.engine.classification reason codes).
CLASSIFICATION_REASON_LABELS = {
    "dpd_over_0": _("Overdue"), "dpd_over_90": _("Overdue more than 90 days"),
    "dpd_over_270": _("Overdue more than 270 days"), "dpd_over_360": _("Overdue more than 360 days"),
    "operational_delay_exception": _("Operational delay of at most 7 days"),
    "funds_diverted": _("Funds diverted from their purpose"), "repaid_by_new_borrowing": _("Repaid by new borrowing"),
    "debtor_npl_elsewhere": _("The debtor is non-performing elsewhere"), "credit_impaired": _("Credit impaired"),
    "external_downgrade": _("Downgraded externally"), "cross_bank_overdue": _("Overdue at other banks"),
    "evades_debt": _("Evades its debt"), "expected_loss_90": _("Expected loss of 90% or more"),
    "expected_loss_50": _("Expected loss of 50% or more"), "bankruptcy": _("Bankruptcy"),
    "restructuring_observation": _("Restructured: in observation"), "restructured_again": _("Restructured again"),
    "manual_downgrade": _("Downgraded by the bank"), "contagion": _("Other loans of the debtor are non-performing"),
    "arrears_not_cleared": _("Arrears not cleared"), "insufficient_performance": _("Not enough repayments yet"),
    "not_able_to_pay": _("Not able to pay"), "impaired_asset_at_bank": _("Impaired asset at the bank"),
}

# The kind of IP a loan is secured on (Loan.ip_kind).
IP_KIND_LABELS = {"patent": _("Patent"), "trademark": _("Trademark"), "copyright": _("Copyright"),
                  "bundle": _("Bundle"), "geographical_indication": _("Geographical indication"), "other": _("Other")}

vocabulary.register("classification_reason", CLASSIFICATION_REASON_LABELS)
vocabulary.register("loan_ip_kind", IP_KIND_LABELS)
