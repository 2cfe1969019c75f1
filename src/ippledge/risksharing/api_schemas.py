"""What the risk-sharing API answers (issue 15, point 6): the typed shapes of its success answers.

They describe the JSON the routes already give (money, rates and dates as text, see ``core.api_schemas``).
Where an answer carries values that differ per case (a template's own rules, a run's inputs and the engine's
results) the named fields are typed and the rest passed on as given; a field that is only there in some
cases has a default and its route answers with ``exclude_unset``, so it stays absent where it was absent."""

from __future__ import annotations

from typing import Any

from ninja import Field, Schema

from ippledge.core.api_schemas import DecimalText, IsoDate, IsoDateTime, Money, OpenSchema

# --- templates and schemes -----------------------------------------------------------------------------


class TemplateRulesOut(OpenSchema):
    """The rules a template states (only those it states; a template may state none)."""

    eligible_base_cap: Money | None = None
    ip_portion_required: bool = False
    max_loan_amount: Money | None = None
    borrower_year_cap: Money | None = None
    annual_cap: Money | None = None
    bank_annual_cap: Money | None = None
    limit_to_balance: bool = False
    leverage: DecimalText | None = None
    premium_rate: DecimalText | None = None


class TemplatePartyOut(OpenSchema):
    name: str
    kind: str = Field(description="fund | insurer | guarantor | appraiser | bank")
    ratio: DecimalText | None = Field(description="null where the source states none: give it when creating")
    per_loan_cap: Money | None = None  # only where the template states one
    funded: bool = False  # only where the party holds a fund


class TemplateOut(OpenSchema):
    key: str
    name: str
    name_en: str
    region_code: str
    mode: str
    rules: TemplateRulesOut
    parties: list[TemplatePartyOut]
    source: str


class TemplatesOut(Schema):
    templates: list[TemplateOut]


class SchemeRulesOut(Schema):
    eligible_base_cap: Money | None
    ip_portion_required: bool
    max_loan_amount: Money | None
    borrower_year_cap: Money | None
    annual_cap: Money | None
    bank_annual_cap: Money | None
    limit_to_balance: bool
    leverage: DecimalText | None
    premium_rate: DecimalText | None
    premium_subsidy_ratio: DecimalText | None
    premium_subsidy_cap: Money | None


class SchemePartyOut(Schema):
    name: str
    kind: str
    ratio: DecimalText
    per_loan_cap: Money | None
    organisation_id: int | None
    organisation: str | None
    funded: bool
    balance: Money | None = Field(description="a funded party's balance, for those who read the ledger")


class CapacityOut(Schema):
    fund_balance: Money | None = Field(description="null for those who do not read the ledger")
    leverage: DecimalText | None
    capacity: Money | None = Field(description="funds × leverage; null without leverage or for those who do "
                                                "not read the ledger")
    enrolled_outstanding: Money
    remaining: Money | None


class SchemeOut(Schema):
    id: int
    name: str
    region_code: str
    region: str
    template: str | None
    mode: str
    recovery_rule: str
    rules: SchemeRulesOut
    valid_from: IsoDate
    valid_to: IsoDate | None
    in_force: bool
    source: str
    created_by_org_id: int | None
    parties: list[SchemePartyOut]
    capacity: CapacityOut


class SchemesOut(Schema):
    schemes: list[SchemeOut]


class AllocationOut(Schema):
    eligible: Money
    shares: dict[str, Money] = Field(description="party name → its share of the loss (the bank's as ``bank``)")


class LedgerEntryOut(Schema):
    id: int
    party: str
    kind: str
    amount: Money
    balance_after: Money
    date: IsoDate
    claim_no: str | None
    note: str


class LedgerOut(Schema):
    entries: list[LedgerEntryOut]


# --- enrolment -----------------------------------------------------------------------------------------


class EnrolmentOut(Schema):
    loan_no: str
    scheme_id: int
    scheme: str
    ip_secured_amount: Money | None
    enrolled_on: IsoDate


class LoanEnrolmentOut(Schema):
    enrolment: EnrolmentOut | None


# --- claims ----------------------------------------------------------------------------------------------


class CapOut(Schema):
    cap: str = Field(description="per_loan_cap | borrower_year_cap | annual_cap | bank_annual_cap | balance")
    before: Money
    after: Money


class PaymentOut(Schema):
    id: int
    amount: Money
    status: str
    made_by: str | None
    checked_by: str | None
    paid_on: IsoDate | None


class ClaimPartyOut(Schema):
    party: str
    kind: str
    allocated: Money
    share: Money
    caps: list[CapOut]
    paid: Money
    returned: Money
    net: Money
    payments: list[PaymentOut]


class RecoveryOut(Schema):
    amount: Money
    date: IsoDate
    returned: dict[str, Money] = Field(description="party name → what the recovery returned to it")


class ClaimOut(Schema):
    id: int
    claim_no: str
    loan_no: str
    scheme_id: int
    scheme: str
    mode: str
    status: str
    filed_on: IsoDate
    classification: str
    loss_event: dict[str, str] = Field(description="ex post: {kind, date, reference} of the event that recognised "
                                                    "the loss (kind write_off: the write-off's id); {} ex ante")
    base_amount: Money
    eligible: Money
    shares: dict[str, Money] = Field(description="party name → its share after the caps, the bank's as ``bank``")
    parties: list[ClaimPartyOut]
    recovered: Money
    recoveries: list[RecoveryOut]


class ClaimsOut(Schema):
    claims: list[ClaimOut]


class ProposedPaymentOut(Schema):
    payment_id: int
    status: str
    amount: Money
    claim: ClaimOut


class CheckedPaymentOut(Schema):
    payment_id: int
    status: str
    claim: ClaimOut


class RecordedRecoveryOut(Schema):
    amount: Money
    returned: dict[str, Money] = Field(description="party name → what the recovery returned to it")
    claim: ClaimOut


# --- provisioning and write-off ------------------------------------------------------------------------


class ProvisioningOut(Schema):
    bank_org_id: int
    bank: str
    as_of: IsoDate
    loan_balance: Money
    npl_balance: Money
    provision_ratio: DecimalText
    coverage_ratio: DecimalText
    by_loans: Money
    by_npl: Money
    required: Money
    binding: str = Field(description="provision_ratio | coverage_ratio: the test that sets the requirement")


class WriteOffOut(Schema):
    id: int
    loan_no: str
    amount: Money
    reason: str
    status: str
    proposed_by: str | None
    decided_by: str | None
    date: IsoDate | None


# --- portfolio loss per party ----------------------------------------------------------------------------


class PartyRiskOut(OpenSchema):
    """One holder's loss over the simulated scenarios (``key`` ``total`` for the whole book)."""

    key: str = None
    kind: str = None
    organisation_id: int | None = None
    scheme_id: int | None = None
    party_name: str = None  # a party without an organisation
    expected_loss: Money = None
    expected_loss_exact: Money = None
    var_99: Money = None
    var_999: Money = None
    es_99: Money = None
    es_999: Money = None


class PortfolioResultsOut(OpenSchema):
    """The simulation's results, once the run is done (empty before)."""

    parties: list[PartyRiskOut] = None
    exposure: Money = None
    levels: list[DecimalText] = None


class RunErrorOut(Schema):
    code: str
    message: str


class PortfolioRunOut(Schema):
    """A run on the task queue: ``queued``, ``running``, ``done`` (with its results) or ``failed`` (with
    its error); the results are empty until it is done."""

    id: int
    status: str = Field(description="queued | running | done | failed")
    organisation_id: int | None
    created_by: int | None
    created_at: IsoDateTime
    started_at: IsoDateTime | None
    finished_at: IsoDateTime | None
    task_id: str | None
    loans_count: int
    inputs: dict[str, Any] = Field(description="the inputs as parsed, with the seed and the book (repeatable)")
    results: PortfolioResultsOut
    error: RunErrorOut | None = Field(description="a failed run's stable code and message")


class PortfolioRunsOut(Schema):
    runs: list[PortfolioRunOut]
