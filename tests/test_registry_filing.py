"""The pledge filing as a typed value (issue 10, point 12): code hands the registry a ``PledgeFiling``,
the API its JSON body; both are read by the one parser and examined alike."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from ippledge.core import business_date
from ippledge.registry import services as registry
from ippledge.registry.filing import Party, PledgeFiling, RightRef, SecuredDebt
from ippledge.registry.models import PledgeApplication

from .registry_fixtures import BANK_USCC, PLEDGEE, PLEDGOR, PLEDGOR_USCC, make_patent

pytestmark = pytest.mark.django_db

SCOPE = "主债权及利息、违约金、损害赔偿金和实现质权的费用"


@pytest.fixture
def orgs(make_org):
    return (make_org("enterprise", name=PLEDGOR["name"], uscc=PLEDGOR_USCC),
            make_org("bank", name=PLEDGEE["name"], uscc=BANK_USCC))


def test_a_loan_filing_is_the_body_the_bank_workflow_assembled_by_hand(orgs):
    enterprise, bank = orgs
    due = dt.date(2027, 6, 30)
    filing = PledgeFiling.for_loan(pledgor=enterprise, pledgee=bank, rights=[{"kind": "trademark",
                                                                              "number": "12345678"}],
                                   amount_fen=300_000_000, due_date=due, contract_no="HT-1", valuation_ref="PG1")
    # What credit.workflow.approve sent before (so an Idempotency-Key hashes the same request alike).
    assert filing.to_data() == {
        "pledgors": [{"name": enterprise.name, "id_type": "uscc", "id_number": enterprise.uscc,
                      "address": enterprise.region_code}],
        "pledgees": [{"name": bank.name, "id_type": "uscc", "id_number": bank.uscc, "address": bank.region_code}],
        "rights": [{"kind": "trademark", "number": "12345678"}],
        "secured_debt": {"type": "贷款", "amount": "3000000.00", "currency": "CNY"},
        "debt_due_date": "2027-06-30", "guarantee_scope": SCOPE, "contract_no": "HT-1",
        "registration_term_end": "2028-06-29", "valuation_ref": "PG1",  # 365 days on, across 29 Feb 2028
        "confirmations": {"pledgor": True, "pledgee": True}}
    patent = PledgeFiling.for_loan(pledgor=enterprise, pledgee=bank, rights=[RightRef("invention", "ZL1")],
                                   amount_fen=1, due_date=due, contract_no="HT-2")
    assert patent.to_data()["registration_term_end"] is None and patent.to_data()["valuation_ref"] is None
    assert patent.to_data()["secured_debt"]["amount"] == "0.01"


def test_the_secured_amount_is_integer_fen():
    for wrong in (Decimal("3000000.00"), 3000000.0, "3000000", True):
        with pytest.raises(TypeError):
            SecuredDebt(amount_fen=wrong)


def test_a_party_off_the_platform_keeps_its_own_country_and_domicile():
    party = Party(name="Acme GmbH", id_type="foreign_company", id_number="HRB 1", address="Berlin", country="DE",
                  domicile_in_china=False)
    assert party.to_data() == {"name": "Acme GmbH", "id_type": "foreign_company", "id_number": "HRB 1",
                               "address": "Berlin", "country": "DE", "domicile_in_china": False}


def test_file_application_takes_a_filing_and_examines_it_as_the_api_body(orgs, make_user):
    enterprise, bank = orgs
    make_patent()
    officer = make_user("bank_officer", org=bank, username="filing-officer")
    make_user("enterprise_user", org=enterprise, username="filing-enterprise")
    filing = PledgeFiling(
        pledgors=(Party(**PLEDGOR),), pledgees=(Party(**PLEDGEE),),
        rights=(RightRef("invention", "ZL201410362077.3"),),
        secured_debt=SecuredDebt(amount_fen=500_000_000, type="流动资金贷款"),
        debt_due_date=business_date.today() + dt.timedelta(days=400), contract_no="ZY-2026-001",
        guarantee_scope="主债权及利息", confirm_pledgor=True, confirm_pledgee=True)
    app = registry.file_application(actor=officer, data=filing, idempotency_key="typed-1")
    # The bank's body confirms the bank's side only: the enterprise confirms itself.
    assert app.status == "awaiting_confirmation"
    assert app.data["secured_debt"] == {"type": "流动资金贷款", "amount": "5000000.00", "currency": "CNY"}
    assert app.data["rights"] == [{"kind": "invention", "number": "201410362077.3"}]  # the normal form
    # The same filing sent again as the body it stands for is the same request: replayed, not refiled.
    again = registry.file_application(actor=officer, data=filing.to_data(), idempotency_key="typed-1")
    assert again.pk == app.pk and PledgeApplication.objects.count() == 1
