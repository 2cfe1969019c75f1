"""Portfolio loss per party (issue 13 point 5): the book an actor may see, simulated by the pure engine
(:mod:`.engine.portfolio`, a seeded one-factor Gaussian copula with the schemes applied loan by loan), kept
as a :class:`~.models.PortfolioRun` with its inputs and seed so that the same run gives the same numbers.

The book: a bank's staff see their bank's loans (and its branches'), regulators and administrators the
whole book, a fund's or an insurer's users the loans enrolled in the schemes their organisation is a party
to.  Every loan with a principal balance counts: EAD = the balance, PD from its five-category
classification (:data:`PD_BY_CLASSIFICATION`), LGD one figure for the book (default the middle of the IP
assumption of 60–75 %), the correlation one figure or the Basel corporate formula of each PD.  A party of
several schemes (one insurer behind two schemes) is one row; a scheme party without an organisation on the
platform is its own row.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from ippledge.core import audit, exact, money
from ippledge.core.errors import NotFound, ValidationFailed
from ippledge.core.models import Organisation, User
from ippledge.core.permissions import BANK_STAFF, has_any_role, require_role
from ippledge.core.roles import Role
from ippledge.credit.models import Classification, Loan

from . import services
from .models import Enrolment, PortfolioRun, Scheme, SchemeParty

RUNNERS = BANK_STAFF | {Role.REGULATOR_USER, Role.FUND_MANAGER, Role.INSURER_USER}
WHOLE_BOOK = frozenset({Role.REGULATOR_USER})
MAX_SCENARIOS = 200_000
MIN_SCENARIOS = 100
DEFAULT_SCENARIOS = 10_000
MAX_SEED = 2**63 - 1
MAX_CORRELATION = Decimal("0.99")
DEFAULT_LGD = Decimal("0.675")   # the middle of the 60–75 % an IP-only loan loses (lending-rules §6)
MAX_LOANS = 200_000
BASEL = "basel"
# One-year PD by the five-category classification (lending-rules §1): a performing loan as the IP-pledge
# books report it, the non-performing ones as the share that ends in a loss.
PD_BY_CLASSIFICATION = {
    Classification.NORMAL: 0.015,
    Classification.SPECIAL_MENTION: 0.08,
    Classification.SUBSTANDARD: 0.40,
    Classification.DOUBTFUL: 0.75,
    Classification.LOSS: 1.0,
}
BANK_KEY = "bank"
TOTAL_KEY = "total"


def _parse(data: dict) -> dict:
    if not isinstance(data, dict):
        raise ValidationFailed(_("The run is not valid."), code="invalid_input")
    raw = {k: v for k, v in data.items() if v is not None and v != ""}
    scenarios = exact.whole(raw.get("scenarios", DEFAULT_SCENARIOS), "scenarios", minimum=MIN_SCENARIOS,
                            maximum=MAX_SCENARIOS, code="invalid_scenarios")
    seed = exact.whole(raw.get("seed", 1), "seed", minimum=0, maximum=MAX_SEED, code="invalid_seed")
    correlation = raw.get("correlation", BASEL)
    if isinstance(correlation, str) and correlation.strip().lower() == BASEL:
        correlation = BASEL
    else:
        correlation = str(exact.fraction(correlation, "correlation", maximum=MAX_CORRELATION,
                                         code="invalid_correlation"))
    lgd = str(exact.fraction(raw.get("lgd", DEFAULT_LGD), "lgd", code="invalid_lgd"))
    scheme_id = raw.get("scheme_id")
    if scheme_id is not None:
        scheme_id = exact.whole(scheme_id, "scheme_id", minimum=1, maximum=2**31 - 1, code="invalid_scheme")
    return {"scenarios": scenarios, "seed": seed, "correlation": correlation, "lgd": lgd, "scheme_id": scheme_id}


def _book(actor, scheme_id: int | None):
    """The loans the actor may simulate, and what the run says the book is."""
    loans = Loan.objects.filter(balance__gt=0)
    if actor.is_platform_admin or has_any_role(actor, WHOLE_BOOK):
        scope = "all"
    elif actor.has_role(*BANK_STAFF):
        org = actor.organisation_id
        loans = loans.filter(Q(bank_id=org) | Q(bank__parent_id=org))
        scope = "bank"
    else:
        mine = SchemeParty.objects.filter(organisation_id=actor.organisation_id).values("scheme_id")
        loans = loans.filter(risk_enrolment__scheme_id__in=mine)
        scope = "schemes"
    if scheme_id is not None:
        services.get_scheme(actor=actor, scheme_id=scheme_id)  # 404 for a scheme the actor may not read
        loans = loans.filter(risk_enrolment__scheme_id=scheme_id)
    return loans, scope


def _party_key(scheme_pk: int, party: SchemeParty) -> str:
    return f"org:{party.organisation_id}" if party.organisation_id else f"scheme:{scheme_pk}/{party.name}"


@transaction.atomic
def run(*, actor, data: dict) -> PortfolioRun:
    """Simulate the actor's book with the inputs given and keep the run."""
    require_role(actor, RUNNERS, _("The portfolio is simulated by banks, funds, insurers and regulators."))
    inputs = _parse(data)
    import numpy as np

    from .engine import portfolio

    loans, scope = _book(actor, inputs["scheme_id"])
    rows = list(loans.order_by("pk").values_list("pk", "balance", "amount", "classification")[: MAX_LOANS + 1])
    if len(rows) > MAX_LOANS:
        raise ValidationFailed(_("The book has more than %(max)s loans: choose a scheme."),
                               code="book_too_large", params={"max": MAX_LOANS})
    enrolments = {e.loan_id: e for e in Enrolment.objects.filter(loan_id__in=[r[0] for r in rows])}
    scheme_ids = sorted({e.scheme_id for e in enrolments.values()})
    schemes = {s.pk: s for s in Scheme.objects.filter(pk__in=scheme_ids).prefetch_related("parties")}
    rules, holders, labels = {}, {}, {BANK_KEY: {"kind": "bank", "organisation_id": None, "scheme_id": None}}
    for pk in scheme_ids:
        parties = sorted(schemes[pk].parties.all(), key=lambda p: (p.seq, p.pk))
        rules[str(pk)] = services.engine_rules(schemes[pk], parties)
        for p in parties:
            if p.kind == "bank":
                continue
            key = _party_key(pk, p)
            holders[(str(pk), p.name)] = key
            labels.setdefault(key, {"kind": p.kind, "organisation_id": p.organisation_id,
                                    "scheme_id": None if p.organisation_id else pk,
                                    "party_name": "" if p.organisation_id else p.name})
    index = {pk: i for i, pk in enumerate(scheme_ids)}
    n = len(rows)
    pd = np.array([PD_BY_CLASSIFICATION.get(r[3], PD_BY_CLASSIFICATION[Classification.NORMAL]) for r in rows])
    ead = np.array([r[1] / 100.0 for r in rows])
    amount = np.array([max(r[2], r[1]) / 100.0 for r in rows])
    scheme = np.array([index[enrolments[r[0]].scheme_id] if r[0] in enrolments else -1 for r in rows], np.int64)
    ip = np.array([enrolments[r[0]].ip_secured_amount / 100.0
                   if r[0] in enrolments and enrolments[r[0]].ip_secured_amount is not None else np.nan
                   for r in rows])
    rho = None if inputs["correlation"] == BASEL else float(inputs["correlation"])
    book = portfolio.Book(pd=pd, ead=ead, lgd=float(inputs["lgd"]), rho=rho, scheme=scheme if n else None,
                          loan_amount=amount, ip_secured=ip, loan_id=np.array([r[0] for r in rows], np.int64))
    result = portfolio.simulate(book, rules, scenarios=inputs["scenarios"], seed=inputs["seed"], holders=holders)
    parties = []
    for key, risk in result.parties.items():
        label = {"kind": "total", "organisation_id": None, "scheme_id": None} if key == TOTAL_KEY else labels[key]
        parties.append({"key": key, **label, "expected_loss": str(risk.expected_loss),
                        "expected_loss_exact": str(risk.expected_loss_exact),
                        "var_99": str(risk.var[0.99]), "var_999": str(risk.var[0.999]),
                        "es_99": str(risk.es[0.99]), "es_999": str(risk.es[0.999])})
    exposure = money.from_fen(sum(r[1] for r in rows))
    found = PortfolioRun.objects.create(
        organisation_id=actor.organisation_id, created_by=actor if isinstance(actor, User) else None,
        inputs={**inputs, "book": scope, "pd_by_classification": {str(k): v for k, v in PD_BY_CLASSIFICATION.items()}},
        results={"parties": parties, "exposure": str(exposure), "levels": ["0.99", "0.999"]}, loans_count=n)
    audit.record(actor=actor, action="risk_portfolio.run", obj=found, object_repr=f"#{found.pk}",
                 after={"scenarios": inputs["scenarios"], "seed": inputs["seed"], "loans": n})
    return found


def runs_for(actor):
    """The runs of the actor's organisation (all of them for a platform administrator)."""
    require_role(actor, RUNNERS, _("The portfolio is simulated by banks, funds, insurers and regulators."))
    rows = PortfolioRun.objects.all()
    return rows if actor.is_platform_admin else rows.filter(organisation_id=actor.organisation_id)


def get_run(*, actor, run_id) -> PortfolioRun:
    found = runs_for(actor).filter(pk=run_id).first() if isinstance(run_id, int) and 0 < run_id < 2**31 else None
    if found is None:
        raise NotFound(_("No such portfolio run."), code="portfolio_run_not_found")
    return found


def organisation_names(runs) -> dict[int, str]:
    ids = {p["organisation_id"] for r in runs for p in r.results.get("parties", []) if p.get("organisation_id")}
    return dict(Organisation.objects.filter(pk__in=ids).values_list("pk", "name"))
