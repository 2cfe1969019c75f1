"""Portfolio loss per party (issue 13 point 5): the book an actor may see, simulated by the pure engine
(:mod:`.engine.portfolio`, a seeded one-factor Gaussian copula with the schemes applied loan by loan), kept
as a :class:`~.models.PortfolioRun` with its inputs and seed so that the same run gives the same numbers.

A run is work outside the request (Django's Tasks API): :func:`run` checks the actor and the inputs, keeps
the run ``queued`` with its inputs, seed and book, and puts :func:`.tasks.simulate_portfolio` on the queue;
the task (:func:`simulate`) marks it ``running``, simulates, and keeps the results (``done``) or a stable
error code and message (``failed``).  The book is fixed when the run is asked for (``book`` in the inputs
and the run's organisation), so the worker needs no user.

The book: a bank's staff see their bank's loans (and its branches'), regulators and administrators the
whole book, a fund's or an insurer's users the loans enrolled in the schemes their organisation is a party
to.  Every loan with a principal balance counts: EAD = the balance; PD from its five-category
classification and, for a performing loan (normal, special mention), the borrower's risk grade on its
credit case (:data:`PD_BY_CLASSIFICATION_AND_GRADE`; a loan without a graded case takes
:data:`PD_BY_CLASSIFICATION`, as do the non-performing ones); LGD one figure for the book (default the middle
of the IP assumption of 60–75 %), or by the loan's collateral kind (``lgd_by_kind``, a kind not named takes
the one figure); the correlation one figure or the Basel corporate formula of each PD.  A party of several
schemes (one insurer behind two schemes) is one row; a scheme party without an organisation on the
platform is its own row.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from ippledge.core import audit, exact, jobs, money
from ippledge.core.errors import DomainError, NotFound, ValidationFailed
from ippledge.core.models import Organisation, User
from ippledge.core.permissions import BANK_STAFF, has_any_role, require_role
from ippledge.core.roles import Role
from ippledge.credit.models import Classification, Loan

from . import services, tasks
from .models import Enrolment, PortfolioRun, Scheme, SchemeParty

log = logging.getLogger(__name__)

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
# books report it, the non-performing ones as the share that ends in a loss.  A loan with no graded credit
# case (booked or imported without one) takes this PD whatever its classification.
PD_BY_CLASSIFICATION = {
    Classification.NORMAL: 0.015,
    Classification.SPECIAL_MENTION: 0.08,
    Classification.SUBSTANDARD: 0.40,
    Classification.DOUBTFUL: 0.75,
    Classification.LOSS: 1.0,
}
# One-year PD of a performing loan by its classification and the borrower's risk grade on the credit case
# (CreditCase.risk_grade, set at due diligence: A best, B the platform's default, C weakest).  Grade B is
# the grade-less figure above, so a book of B loans simulates as before; A roughly halves it, C doubles
# it (spreads: the grade also prices the loan).  Non-performing loans (substandard, doubtful, loss) keep
# the classification PD: once a loan has failed, the grade given at origination says nothing more.  A
# grade the table does not know (a product's own) takes the grade-less figure.
PD_BY_CLASSIFICATION_AND_GRADE = {
    Classification.NORMAL: {"A": 0.008, "B": 0.015, "C": 0.03},
    Classification.SPECIAL_MENTION: {"A": 0.05, "B": 0.08, "C": 0.15},
}
# The collateral kinds a loan names (Loan.ip_kind) that ``lgd_by_kind`` may set.
LGD_KINDS = ("patent", "trademark", "copyright", "bundle", "other")
BANK_KEY = "bank"
TOTAL_KEY = "total"
MESSAGE_CHARS = 500


def pd_of(classification: str, grade: str | None) -> float:
    """The PD of one loan: by classification and grade for a performing loan with a grade the table knows,
    else by classification alone (an unknown classification reads as normal)."""
    by_grade = PD_BY_CLASSIFICATION_AND_GRADE.get(classification)
    if by_grade is not None and grade and grade.strip().upper() in by_grade:
        return by_grade[grade.strip().upper()]
    return PD_BY_CLASSIFICATION.get(classification, PD_BY_CLASSIFICATION[Classification.NORMAL])


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
    by_kind = raw.get("lgd_by_kind", {})
    if not isinstance(by_kind, dict) or len(by_kind) > len(LGD_KINDS) or \
            any(not isinstance(k, str) or k not in LGD_KINDS for k in by_kind):
        raise ValidationFailed(_("Name the collateral kinds as patent, trademark, copyright, bundle or other."),
                               code="invalid_lgd_by_kind", fields={"lgd_by_kind": [_("Unknown collateral kind.")]})
    lgd_by_kind = {k: str(exact.fraction(by_kind[k], f"lgd_by_kind.{k}", code="invalid_lgd"))
                   for k in LGD_KINDS if k in by_kind}
    scheme_id = raw.get("scheme_id")
    if scheme_id is not None:
        scheme_id = exact.whole(scheme_id, "scheme_id", minimum=1, maximum=2**31 - 1, code="invalid_scheme")
    return {"scenarios": scenarios, "seed": seed, "correlation": correlation, "lgd": lgd,
            "lgd_by_kind": lgd_by_kind, "scheme_id": scheme_id}


def _scope(actor, scheme_id: int | None) -> str:
    """What the actor's book is: ``all``, ``bank`` (its bank and branches) or ``schemes`` (its schemes')."""
    if scheme_id is not None:
        services.get_scheme(actor=actor, scheme_id=scheme_id)  # 404 for a scheme the actor may not read
    if actor.is_platform_admin or has_any_role(actor, WHOLE_BOOK):
        return "all"
    if actor.has_role(*BANK_STAFF):
        return "bank"
    return "schemes"


def _book(scope: str, organisation_id: int | None, scheme_id: int | None):
    """The loans of a run's book, from the scope fixed when the run was asked for."""
    loans = Loan.objects.filter(balance__gt=0)
    if scope == "bank":
        loans = loans.filter(Q(bank_id=organisation_id) | Q(bank__parent_id=organisation_id))
    elif scope != "all":
        mine = SchemeParty.objects.filter(organisation_id=organisation_id).values("scheme_id")
        loans = loans.filter(risk_enrolment__scheme_id__in=mine)
    if scheme_id is not None:
        loans = loans.filter(risk_enrolment__scheme_id=scheme_id)
    return loans


def _party_key(scheme_pk: int, party: SchemeParty) -> str:
    return f"org:{party.organisation_id}" if party.organisation_id else f"scheme:{scheme_pk}/{party.name}"


def run(*, actor, data: dict) -> PortfolioRun:
    """Ask for a simulation of the actor's book with the inputs given: the run is kept ``queued`` with its
    inputs, seed and book and the simulation is put on the task queue.  Returns the run as it stands after
    enqueueing (already ``done`` or ``failed`` with a backend that runs tasks at once)."""
    require_role(actor, RUNNERS, _("The portfolio is simulated by banks, funds, insurers and regulators."))
    inputs = _parse(data)
    scope = _scope(actor, inputs["scheme_id"])
    with transaction.atomic():
        found = PortfolioRun.objects.create(
            organisation_id=actor.organisation_id, created_by=actor if isinstance(actor, User) else None,
            status=PortfolioRun.Status.QUEUED,
            inputs={**inputs, "book": scope,
                    "pd_by_classification": {str(k): v for k, v in PD_BY_CLASSIFICATION.items()},
                    "pd_by_classification_and_grade": {str(k): dict(v)
                                                       for k, v in PD_BY_CLASSIFICATION_AND_GRADE.items()}})
        audit.record(actor=actor, action="risk_portfolio.run", obj=found, object_repr=f"#{found.pk}",
                     after={"scenarios": inputs["scenarios"], "seed": inputs["seed"], "book": scope})
    # After the run's row is committed (outside a caller's transaction), so the worker finds it queued.
    try:
        result = jobs.enqueue(tasks.simulate_portfolio, run_id=found.pk, actor_id=found.created_by_id)
    except Exception:  # the queue is unreachable: the run says so rather than waiting for ever
        log.exception("portfolio run %s could not be queued", found.pk)
        _fail(found.pk, "queue_unavailable", _("The simulation could not be queued. Run it again later."))
    else:
        PortfolioRun.objects.filter(pk=found.pk, task_id="").update(task_id=str(result.id)[:64])
    found.refresh_from_db()
    return found


def _simulate(found: PortfolioRun) -> tuple[int, dict]:
    """The results of a run from its inputs (the heavy part; raises DomainError for a book it refuses)."""
    import numpy as np

    from .engine import portfolio

    inputs = found.inputs
    loans = _book(inputs.get("book", "all"), found.organisation_id, inputs.get("scheme_id"))
    rows = list(loans.order_by("pk").values_list("pk", "balance", "amount", "classification", "ip_kind",
                                                 "case__risk_grade")[: MAX_LOANS + 1])
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
    pd = np.array([pd_of(r[3], r[5]) for r in rows], dtype=np.float64)
    ead = np.array([r[1] / 100.0 for r in rows])
    amount = np.array([max(r[2], r[1]) / 100.0 for r in rows])
    scheme = np.array([index[enrolments[r[0]].scheme_id] if r[0] in enrolments else -1 for r in rows], np.int64)
    ip = np.array([enrolments[r[0]].ip_secured_amount / 100.0
                   if r[0] in enrolments and enrolments[r[0]].ip_secured_amount is not None else np.nan
                   for r in rows])
    one_lgd = float(inputs["lgd"])
    by_kind = {k: float(v) for k, v in (inputs.get("lgd_by_kind") or {}).items()}
    lgd = np.array([by_kind.get(r[4], one_lgd) for r in rows], dtype=np.float64) if by_kind else one_lgd
    rho = None if inputs["correlation"] == BASEL else float(inputs["correlation"])
    book = portfolio.Book(pd=pd, ead=ead, lgd=lgd, rho=rho, scheme=scheme if n else None,
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
    return n, {"parties": parties, "exposure": str(exposure), "levels": ["0.99", "0.999"]}


def _fail(run_id: int, code: str, message: str) -> None:
    PortfolioRun.objects.filter(pk=run_id).update(status=PortfolioRun.Status.FAILED, error_code=code[:64],
                                                  error_message=message[:MESSAGE_CHARS],
                                                  finished_at=timezone.now())


def simulate(*, run_id: int) -> dict:
    """The task's work: claim a queued run (``running``), simulate it, keep the results (``done``) or the
    failure (``failed`` with its code).  A run that is not queued (done, or taken by another worker) is
    left alone.  Returns a small summary for the task log; raises :class:`.tasks.PortfolioRunFailed` after
    keeping a failure, so the task log shows the task failed too."""
    claimed = PortfolioRun.objects.filter(pk=run_id, status=PortfolioRun.Status.QUEUED).update(
        status=PortfolioRun.Status.RUNNING, started_at=timezone.now())
    if not claimed:
        return {"run_id": run_id, "skipped": "not_queued"}
    found = PortfolioRun.objects.get(pk=run_id)
    try:
        with transaction.atomic():
            n, results = _simulate(found)
            PortfolioRun.objects.filter(pk=run_id).update(status=PortfolioRun.Status.DONE, results=results,
                                                          loans_count=n, finished_at=timezone.now())
    except DomainError as exc:
        _fail(run_id, exc.code, exc.localised())
        raise tasks.PortfolioRunFailed(exc.code) from exc
    except Exception as exc:
        log.exception("portfolio run %s failed", run_id)
        _fail(run_id, "simulation_failed", _("The simulation failed. Run it again; if it fails again, ask an "
                                             "administrator."))
        raise tasks.PortfolioRunFailed("simulation_failed") from exc
    return {"run_id": run_id, "status": PortfolioRun.Status.DONE, "loans": n}


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
