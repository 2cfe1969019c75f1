"""A pledge filing as typed values: what code (the credit workflow, the demo) hands the registry.

The API and the pages send a JSON body, which ``parsing.clean_application`` reads with a field error for
every fault; code builds a :class:`PledgeFiling` instead, and ``services.file_application`` takes either.
``to_data()`` is the body the parser reads (so both paths are examined alike, and an Idempotency-Key
hashes the same request the same way), with optional fields left out when they are empty.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from ippledge.core import money
from ippledge.core.models import Organisation

# The scope banks write into their pledge contracts (Civil Code Art. 389: the principal debt, interest,
# default interest, damages and the cost of realising the pledge).
STANDARD_GUARANTEE_SCOPE = "主债权及利息、违约金、损害赔偿金和实现质权的费用"
LOAN_DEBT_TYPE = "贷款"
# A trademark pledge is registered for a term; a bank's runs a year past the debt's due date, to leave
# time to enforce after a default at maturity.
TRADEMARK_TERM_MARGIN = dt.timedelta(days=365)


@dataclass(frozen=True)
class Party:
    """A pledgor, pledgee or debtor as the contract names it."""

    name: str
    id_type: str
    id_number: str
    address: str = ""
    country: str = "CN"
    domicile_in_china: bool | None = None  # None: domiciled in China when the country is CN

    @classmethod
    def of_organisation(cls, org: Organisation, *, address: str = "") -> Party:
        """An organisation by its USCC; the address defaults to its region code (the contract's
        address is the parties' business, the register needs one)."""
        return cls(name=org.name, id_type="uscc", id_number=org.uscc or "",
                   address=address or org.region_code or "—")

    def to_data(self) -> dict:
        data = {"name": self.name, "id_type": self.id_type, "id_number": self.id_number, "address": self.address}
        if self.country != "CN":
            data["country"] = self.country
        if self.domicile_in_china is not None:
            data["domicile_in_china"] = self.domicile_in_china
        return data


@dataclass(frozen=True)
class RightRef:
    kind: str
    number: str

    def to_data(self) -> dict:
        return {"kind": self.kind, "number": self.number}


@dataclass(frozen=True)
class SecuredDebt:
    """The debt the pledge secures; the amount in integer fen."""

    amount_fen: int
    type: str = LOAN_DEBT_TYPE
    currency: str = "CNY"

    def __post_init__(self) -> None:
        if isinstance(self.amount_fen, bool) or not isinstance(self.amount_fen, int):
            raise TypeError(f"amount_fen is integer fen, got {type(self.amount_fen).__name__}")

    def to_data(self) -> dict:
        return {"type": self.type, "amount": str(money.from_fen(self.amount_fen)), "currency": self.currency}


@dataclass(frozen=True)
class PledgeFiling:
    """One pledge application: the parties, the rights, the secured debt and the contract.

    ``confirm_pledgor`` / ``confirm_pledgee``: the filer confirms its own side with the filing (the
    registry counts it for the filer's own organisation only; the other side confirms itself)."""

    pledgors: tuple[Party, ...]
    pledgees: tuple[Party, ...]
    rights: tuple[RightRef, ...]
    secured_debt: SecuredDebt
    debt_due_date: dt.date
    contract_no: str
    guarantee_scope: str = STANDARD_GUARANTEE_SCOPE
    debtor: Party | None = None
    registration_term_end: dt.date | None = None
    valuation_ref: str = ""
    agent: str = ""
    signed_contract_ref: str = ""
    confirm_pledgor: bool = False
    confirm_pledgee: bool = False

    @classmethod
    def for_loan(cls, *, pledgor: Organisation, pledgee: Organisation, rights: Iterable[RightRef | dict],
                 amount_fen: int, due_date: dt.date, contract_no: str, debt_type: str = LOAN_DEBT_TYPE,
                 guarantee_scope: str = STANDARD_GUARANTEE_SCOPE, valuation_ref: str = "",
                 registration_term_end: dt.date | None = None, pledgor_address: str = "",
                 pledgee_address: str = "") -> PledgeFiling:
        """A bank loan secured by the borrower's own rights: the enterprise pledges to the bank for the
        whole loan, both sides confirmed by the filer (each for its own organisation).  A trademark
        pledge's registration term ends ``TRADEMARK_TERM_MARGIN`` after the due date unless given."""
        refs = tuple(r if isinstance(r, RightRef) else RightRef(kind=r["kind"], number=r["number"]) for r in rights)
        if registration_term_end is None and any(r.kind == "trademark" for r in refs):
            registration_term_end = due_date + TRADEMARK_TERM_MARGIN
        return cls(pledgors=(Party.of_organisation(pledgor, address=pledgor_address),),
                   pledgees=(Party.of_organisation(pledgee, address=pledgee_address),),
                   rights=refs, secured_debt=SecuredDebt(amount_fen=amount_fen, type=debt_type),
                   debt_due_date=due_date, contract_no=contract_no, guarantee_scope=guarantee_scope,
                   registration_term_end=registration_term_end, valuation_ref=valuation_ref,
                   confirm_pledgor=True, confirm_pledgee=True)

    def to_data(self) -> dict:
        """The application body ``parsing.clean_application`` reads."""
        data = {
            "pledgors": [p.to_data() for p in self.pledgors],
            "pledgees": [p.to_data() for p in self.pledgees],
            "rights": [r.to_data() for r in self.rights],
            "secured_debt": self.secured_debt.to_data(),
            "debt_due_date": self.debt_due_date.isoformat(),
            "guarantee_scope": self.guarantee_scope,
            "contract_no": self.contract_no,
            "registration_term_end": self.registration_term_end.isoformat() if self.registration_term_end else None,
            "valuation_ref": self.valuation_ref or None,
            "confirmations": {"pledgor": self.confirm_pledgor, "pledgee": self.confirm_pledgee},
        }
        if self.debtor is not None:
            data["debtor"] = self.debtor.to_data()
        for key in ("agent", "signed_contract_ref"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        return data
