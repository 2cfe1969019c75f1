"""The collateral monitor's reading of the book: every right under a live pledge that a bank holds, with
the loan it secures, the lender value and LTV, its open alerts and the right's legal state.

A read model for the pages (services stay the only writers).  One queryset carries what the database
can say per row (the loan, the allocated value, the alert count and worst severity, as subqueries), so
filters, sorting, counting and pagination run in the database; the legal state is derived in Python by
the register's own rule (``rights.services.state_of``) for a set of rows at once, with their events
fetched in one query — for the page shown, or for the rows a state filter or an export reads.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    IntegerField,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from ippledge.core.permissions import BANK_STAFF
from ippledge.core.roles import OrgKind, Role

from .models import LIVE_STATUSES, Alert, Severity

SEVERITY_RANK = {Severity.INFO: 1, Severity.WARNING: 2, Severity.CRITICAL: 3}
RANK_SEVERITY = {rank: code for code, rank in SEVERITY_RANK.items()}
# A right is at risk when a live alert above "information" stands on it.
AT_RISK_RANK = SEVERITY_RANK[Severity.WARNING]
# A state filter derives the state of at most this many rows (a bank's book; a regulator filters by bank).
STATE_FILTER_ROWS = 20_000


class Scope:
    """Whose book a user reads: ``bank_ids`` (a bank and its branches), or everything (``all_banks``)."""

    def __init__(self, *, all_banks: bool, bank_ids: frozenset[int] = frozenset()):
        self.all_banks, self.bank_ids = all_banks, bank_ids

    @property
    def read_only(self) -> bool:
        return self.all_banks


def scope_for(user) -> Scope | None:
    """The monitor's scope for ``user``, or ``None`` when the user's role has no monitor."""
    from ippledge.core.models import Organisation

    if user is None or not user.is_authenticated:
        return None
    if user.is_platform_admin or user.has_role(Role.REGULATOR_USER):
        return Scope(all_banks=True)
    org = user.organisation
    if not (user.role_set & BANK_STAFF) or org is None or org.kind != OrgKind.BANK:
        return None
    branches = Organisation.objects.filter(parent_id=org.pk).values_list("pk", flat=True)
    return Scope(all_banks=False, bank_ids=frozenset({org.pk, *branches}))


def _rank():
    return Case(*[When(severity=code, then=Value(rank)) for code, rank in SEVERITY_RANK.items()],
                default=Value(0), output_field=IntegerField())


def book(scope: Scope) -> QuerySet:
    """``PledgeRight`` rows of the live pledges in ``scope``, annotated for the monitor."""
    from ippledge.credit.models import LoanCollateral
    from ippledge.registry.models import PledgeParty, PledgeRight, PledgeStatus
    from ippledge.rights.models import LegalEvent

    collateral = LoanCollateral.objects.filter(
        registration_no=OuterRef("pledge__registration_no"), right_kind=OuterRef("right__kind"),
        right_number=OuterRef("right__number")).order_by("-loan__start_date", "-loan_id")
    pledgee = PledgeParty.objects.filter(pledge_id=OuterRef("pledge_id"), role="pledgee", org__isnull=False) \
        .order_by("id")
    pledgor = PledgeParty.objects.filter(pledge_id=OuterRef("pledge_id"), role="pledgor").order_by("id")
    # A row's alerts: those on its right (under this pledge, or under none), and those on its pledge or
    # loan as a whole (an overdue loan puts every right securing it at risk).
    alerts = Alert.objects.filter(status__in=LIVE_STATUSES).filter(
        Q(right_id=OuterRef("right_id"), pledge_id=OuterRef("pledge_id"))
        | Q(right_id=OuterRef("right_id"), pledge__isnull=True)
        | Q(right__isnull=True, pledge_id=OuterRef("pledge_id"))
        | Q(right__isnull=True, loan_id=OuterRef("loan_id")))
    if not scope.all_banks:
        alerts = alerts.filter(owner_org_id__in=scope.bank_ids)
    counted = alerts.order_by().annotate(one=Value(1)).values("one").annotate(n=Count("id")).values("n")
    worst = alerts.order_by().annotate(one=Value(1)).values("one").annotate(w=Max(_rank())).values("w")
    loan_value = LoanCollateral.objects.filter(loan_id=OuterRef("loan_id")).order_by() \
        .values("loan_id").annotate(total=Sum("allocated_value")).values("total")

    rows = PledgeRight.objects.filter(live=True, pledge__status=PledgeStatus.REGISTERED)
    if not scope.all_banks:
        ids = list(scope.bank_ids)
        rows = rows.filter(
            Exists(PledgeParty.objects.filter(pledge_id=OuterRef("pledge_id"), role="pledgee", org_id__in=ids))
            | Exists(collateral.filter(loan__bank_id__in=ids)))
    rows = rows.annotate(
        loan_id=Subquery(collateral.values("loan_id")[:1]),
        loan_no=Subquery(collateral.values("loan__loan_no")[:1]),
        loan_balance=Subquery(collateral.values("loan__balance")[:1]),
        lender_value=Subquery(collateral.values("allocated_value")[:1]),
        bank_id=Coalesce(Subquery(collateral.values("loan__bank_id")[:1]), Subquery(pledgee.values("org_id")[:1])),
        bank_name=Coalesce(Subquery(collateral.values("loan__bank__name")[:1]),
                           Subquery(pledgee.values("org__name")[:1]), output_field=CharField()),
        pledgor_name=Subquery(pledgor.values("name")[:1]),
    ).annotate(
        open_alerts=Coalesce(Subquery(counted, output_field=IntegerField()), Value(0)),
        worst_rank=Coalesce(Subquery(worst, output_field=IntegerField()), Value(0)),
    ).annotate(
        loan_value=Subquery(loan_value),
        at_risk=Case(When(worst_rank__gte=AT_RISK_RANK, then=Value("yes")), default=Value("no"),
                     output_field=CharField()),
    ).select_related("pledge", "right")
    # The events the legal state is derived from, fetched once for the rows read.
    return rows.prefetch_related(Prefetch("right__events", queryset=LegalEvent.objects.order_by("seq")))


def worst_severity(row) -> str | None:
    return RANK_SEVERITY.get(getattr(row, "worst_rank", 0) or 0)


def ltv_percent(row) -> Decimal | None:
    """The loan's LTV: outstanding principal ÷ the lender value of all its collateral, in per cent."""
    balance, value = getattr(row, "loan_balance", None), getattr(row, "loan_value", None)
    if balance is None or not value:
        return None
    return (Decimal(balance) * 100 / Decimal(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


class States:
    """The legal state of rows' rights on a day, derived for many rows at once (their events prefetched)."""

    def __init__(self, on: dt.date):
        self.on = on
        self._by_right: dict[int, object] = {}

    def load(self, rows) -> None:
        from ippledge.rights import services as rights_services

        for row in rows:
            if row.right_id not in self._by_right:
                self._by_right[row.right_id] = rights_services.state_of(row.right, self.on)

    def of(self, row):
        if row.right_id not in self._by_right:
            self.load([row])
        return self._by_right[row.right_id]

    def legal_state(self, row) -> str:
        return self.of(row).legal_state


def with_state(rows: QuerySet, states: States, wanted: str) -> QuerySet:
    """Only the rows whose right is in legal state ``wanted`` (derived for up to ``STATE_FILTER_ROWS``)."""
    keep = []
    for row in rows.order_by("pk")[:STATE_FILTER_ROWS].iterator(chunk_size=2000):
        states.load([row])
        if states.legal_state(row) == wanted:
            keep.append(row.pk)
    return rows.filter(pk__in=keep)
