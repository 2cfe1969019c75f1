"""Builders for registry tests: rights in the register and application bodies."""

from __future__ import annotations

from ippledge.core.actors import SYSTEM
from ippledge.rights import services as rights

from .conftest import uscc

PLEDGOR_USCC = "914403001922038216"
BANK_USCC = uscc("91110000100000589")
PLEDGOR = {"name": "深圳示范科技有限公司", "id_type": "uscc", "id_number": PLEDGOR_USCC,
           "address": "深圳市南山区科技园", "country": "CN", "domicile_in_china": True}
PLEDGEE = {"name": "示范商业银行股份有限公司", "id_type": "uscc", "id_number": BANK_USCC,
           "address": "北京市西城区金融大街1号", "country": "CN", "domicile_in_china": True}


def patent_number(body: str) -> str:
    weights = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
    check = sum(int(d) * w for d, w in zip(body, weights, strict=False)) % 11
    return f"{body}.{'X' if check == 10 else check}"


def make_patent(number="ZL201410362077.3", kind="invention", owners=None, events=(), **over):
    data = {"kind": kind, "number": number, "title": "一种数据传输方法", "owners": owners or [PLEDGOR],
            "filing_date": "2014-07-28", "grant_date": "2016-01-05", "annuity_paid_through": "2099-01-01"}
    data.update(over)
    right = rights.create_right(actor=SYSTEM, data=data)
    for ev in events:
        rights.record_event(actor=SYSTEM, right=right, data=ev)
    return right


def application(rights_list=None, **over):
    body = {
        "pledgors": [PLEDGOR], "pledgees": [PLEDGEE],
        "rights": rights_list or [{"kind": "invention", "number": "ZL201410362077.3"}],
        "secured_debt": {"type": "流动资金贷款", "amount": "5000000.00", "currency": "CNY"},
        "debt_due_date": "2027-06-30", "guarantee_scope": "主债权及利息、违约金、实现质权的费用",
        "contract_no": "ZY-2026-001", "confirmations": {"pledgor": True, "pledgee": True},
    }
    body.update(over)
    return body


class ConfirmingFiler:
    """A party's API client whose counterparty confirms each new application on the platform at once.

    For tests about what happens after filing; the confirmation itself is tested on its own.
    """

    def __init__(self, api, counterparty, side: str):
        self.api, self.counterparty, self.side = api, counterparty, side

    def __getattr__(self, name):
        return getattr(self.api, name)

    def post(self, path, body=None, **kw):
        r = self.api.post(path, body, **kw)
        if path == "/pledge-applications" and r.status_code == 201 and r.data["status"] == "awaiting_confirmation":
            c = self.counterparty.post(f"/pledge-applications/{r.data['application_no']}/confirmation",
                                       {"side": self.side})
            if c.status_code == 200:
                c.status_code = 201
                return c
        return r


def parties_on_platform(api_as, make_org, make_user):
    """The fixture parties as platform organisations: the bank (pledgee, BANK_USCC) and the enterprise
    (pledgor, PLEDGOR_USCC), each with a user.  Returns (bank client that gets the pledgor's confirmation,
    bank client alone, enterprise client)."""
    ent_org = make_org("enterprise", name=PLEDGOR["name"], uscc=PLEDGOR_USCC)
    enterprise, _ = api_as("enterprise_user", org=ent_org, username="pledgor-user")
    bank_org = make_org("bank", name=PLEDGEE["name"], uscc=BANK_USCC)
    bank, _ = api_as("bank_officer", org=bank_org, username="pledgee-officer")
    return ConfirmingFiler(bank, enterprise, "pledgor"), bank, enterprise
