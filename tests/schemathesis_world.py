"""A small demo world for the schemathesis run: the parties of the registry fixtures on the platform
(a bank with an officer, reviewer and approver; the pledgor enterprise), a platform admin, a registered
pledge on a patent, a second patent with an application awaiting the pledgor's confirmation, a loan on
the pledge, a loan product, a financing need and a credit case.

Built through the API with bodies known to be good, so that the run's path parameters sometimes name
real objects (``path_parameters()``) and reach the code behind the 404s.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ippledge.core import services as core
from ippledge.core.actors import SYSTEM

from .conftest import PASSWORD, Api
from .registry_fixtures import (
    BANK_USCC,
    PLEDGEE,
    PLEDGOR,
    PLEDGOR_USCC,
    ConfirmingFiler,
    application,
    make_patent,
    patent_number,
)

PATENT = "ZL201410362077.3"
SECOND_PATENT = patent_number("201510362077")

PRODUCT = {"name": "知识产权质押快贷", "eligible_kinds": ["patent", "trademark", "bundle"], "min_amount": "100000",
           "max_amount": "10000000", "min_term_months": 6, "max_term_months": 36, "spreads_bp": {"A": 50, "B": 80}}


@dataclass
class World:
    users: dict = field(default_factory=dict)  # role name → User
    ids: dict = field(default_factory=dict)  # path parameter name → a real value

    def token(self, who: str) -> str | None:
        return None if who == "anonymous" else core.issue_token(user=self.users[who])

    def path_parameters(self, names) -> dict:
        """Real values for those of ``names`` the world has (the rest are left to generation)."""
        return {n: self.ids[n] for n in names if n in self.ids}


def _ok(response, what: str):
    assert response.status_code in (200, 201), f"schemathesis world: {what} → {response.status_code} {response.data}"
    return response.data


def build_world() -> World:
    w = World()
    bank = core.create_organisation(actor=SYSTEM, name=PLEDGEE["name"], kind="bank", uscc=BANK_USCC)
    ent = core.create_organisation(actor=SYSTEM, name=PLEDGOR["name"], kind="enterprise", uscc=PLEDGOR_USCC)
    platform = core.create_organisation(actor=SYSTEM, name="平台运营", kind="platform_operator")
    apis = {}
    for name, org, role in (("bank_officer", bank, "bank_officer"), ("bank_reviewer", bank, "bank_reviewer"),
                            ("bank_approver", bank, "bank_approver"), ("enterprise", ent, "enterprise_user"),
                            ("admin", platform, "admin")):
        w.users[name] = core.create_user(actor=SYSTEM, username=f"st-{name}", password=PASSWORD, org_id=org.pk,
                                         roles=[role])
        apis[name] = Api(core.issue_token(user=w.users[name]))
    officer, enterprise = apis["bank_officer"], apis["enterprise"]

    make_patent(PATENT)
    make_patent(SECOND_PATENT)
    pledge = _ok(ConfirmingFiler(officer, enterprise, "pledgor").post("/pledge-applications", application()),
                 "registered pledge")
    pending = _ok(officer.post("/pledge-applications", application(
        [{"kind": "invention", "number": SECOND_PATENT}], contract_no="ZY-2026-002")), "pending application")
    loan = _ok(officer.post("/loans", {
        "borrower_uscc": PLEDGOR_USCC, "borrower_name": PLEDGOR["name"], "bank_org_id": bank.pk,
        "amount": "1000000.00", "annual_rate": "0.0345", "start_date": "2026-01-05", "maturity_date": "2027-01-05",
        "schedule": "bullet", "ip_kind": "patent", "pledge_registration_no": pledge["registration_no"]}), "loan")
    product = _ok(apis["bank_approver"].post("/products", PRODUCT), "product")
    need = _ok(enterprise.post("/financing-needs", {"amount": "1000000", "term_months": 12, "purpose": "研发投入",
                                                     "rights": [{"kind": "invention", "number": PATENT}]}), "need")
    case = _ok(officer.post("/credit-cases", {"product_id": product["id"], "need_id": need["id"]}), "credit case")

    w.ids = {
        "kind": "invention", "number": PATENT,
        "registration_no": pledge["registration_no"], "application_no": pending["application_no"],
        "loan_no": loan["loan_no"], "product_id": product["id"], "need_id": need["id"],
        "case_no": case["case_no"], "org_id": bank.pk, "bank_org_id": bank.pk, "year": 2026,
    }
    return w
