"""核销: the write-off of a loss loan's outstanding principal, the loan book's side of it.

Who may write a loan off, and the maker-checker around it, is decided by the caller (risk sharing's
write-off, which keeps the proposal and its approval); here the principal leaves the book: the balance is
set to zero (the end of day then leaves the loan alone, as it does every loan without a balance) and a
``write_off`` event keeps the amount and the reason.  A repayment recorded on the loan afterwards would
recompute its balance from the schedule: recoveries after a write-off are recorded on the claim instead.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from ippledge.core import audit, business_date
from ippledge.core.actors import user_or_none as _user
from ippledge.core.errors import Conflict
from ippledge.core.roles import Role

from .models import Classification, LoanEvent
from .services import get_loan, require_bank_staff

APPROVERS = frozenset({Role.BANK_APPROVER})


@transaction.atomic
def write_off(*, actor, loan_no: str, reason: str = "") -> int:
    """Write off the outstanding principal of a loan classified as loss; returns the amount (fen)."""
    require_bank_staff(actor, roles=APPROVERS)
    loan = get_loan(actor=actor, loan_no=loan_no, for_update=True)
    require_bank_staff(actor, loan.bank, APPROVERS)
    if loan.classification != Classification.LOSS:
        raise Conflict(_("Only a loan classified as loss is written off."), code="not_loss")
    amount = loan.balance
    if amount <= 0:
        raise Conflict(_("No principal is outstanding."), code="nothing_outstanding")
    on = business_date.today()
    LoanEvent.objects.create(loan=loan, type="write_off", date=on, actor=_user(actor),
                             data={"principal": amount, "reason": reason[:500]})
    loan.balance = 0
    loan.save(update_fields=["balance"])
    audit.record(actor=actor, action="loan.write_off", obj=loan, object_repr=loan.loan_no,
                 before={"balance": amount}, after={"balance": 0})
    return amount
