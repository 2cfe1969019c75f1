"""Portfolio loss per party (issue 13 point 5) through the API and the page: a run keeps its inputs and
seed and the same seed gives the same numbers to the fen; each actor simulates only the book it may see;
another organisation's run is a 404; absurd input is a 422 with a stable code; the page reads in words."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.test import Client

from .conftest import PASSWORD
from .test_risksharing_api import World, world  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

RUNS = "/risk-sharing/portfolio-runs"


@pytest.fixture
def w(world, db):  # noqa: F811
    return world


@pytest.fixture
def book(w):
    """Bank A: three loans, two in a fund (50 %) + insurer (30 %) scheme, one substandard; bank B: one loan."""
    scheme = w.scheme(parties=[
        {"name": "fund", "kind": "fund", "ratio": "0.5", "organisation_id": w.fund.pk},
        {"name": "insurer", "kind": "insurer", "ratio": "0.3", "organisation_id": w.insurer.pk}])
    w.fund_in(scheme["id"], "10000000")
    a1, a2, a3 = w.loan("1000000"), w.loan("2000000"), w.loan("500000")
    for loan in (a1, a2):
        assert w.enrol(loan, scheme["id"]).status_code == 201
    w.classify(a2, "substandard")
    b1 = w.loan("3000000", bank=w.bank_b)
    return {"scheme": scheme, "bank_a": (a1, a2, a3), "bank_b": b1}


def _run(client, **body):
    return client.post(RUNS, {"scenarios": 2000, "seed": 7, **body})


def _parties(run: dict) -> dict:
    return {p["key"]: p for p in run["results"]["parties"]}


def test_same_seed_same_results_and_the_inputs_are_kept(w, book):
    first = _run(w.officer)
    assert first.status_code == 202, first.data
    again = _run(w.officer)
    assert again.status_code == 202
    assert first.data["results"] == again.data["results"]
    assert first.data["inputs"]["seed"] == 7 and first.data["inputs"]["scenarios"] == 2000
    assert first.data["inputs"]["correlation"] == "basel" and first.data["inputs"]["book"] == "bank"
    assert first.data["loans_count"] == 3  # bank A's loans only
    parties = _parties(first.data)
    assert set(parties) == {"bank", f"org:{w.fund.pk}", f"org:{w.insurer.pk}", "total"}
    for p in parties.values():
        el, var99, var999 = Decimal(p["expected_loss"]), Decimal(p["var_99"]), Decimal(p["var_999"])
        assert 0 <= el <= Decimal(p["es_99"]) <= Decimal(p["es_999"])
        assert var99 <= var999 and var99 <= Decimal(p["es_99"])
    total = parties["total"]
    assert Decimal(total["expected_loss"]) == sum(Decimal(p["expected_loss"]) for k, p in parties.items()
                                                  if k != "total")
    # the fund bears 5/3 of the insurer's share on every loan (50 % vs 30 %, no caps)
    fund, insurer = Decimal(parties[f"org:{w.fund.pk}"]["expected_loss_exact"]), \
        Decimal(parties[f"org:{w.insurer.pk}"]["expected_loss_exact"])
    assert abs(fund * 3 - insurer * 5) <= Decimal("0.05")
    other = _run(w.officer, seed=8)
    assert other.data["results"] != first.data["results"]
    fixed = _run(w.officer, correlation="0.2", lgd="0.6")
    assert fixed.status_code == 202 and fixed.data["inputs"]["correlation"] == "0.2"


def test_each_actor_simulates_the_book_it_may_see(w, book):
    assert _run(w.officer_b).data["loans_count"] == 1
    assert _run(w.fund1).data["loans_count"] == 2      # the enrolled loans of its scheme
    assert _run(w.ins1).data["loans_count"] == 2
    assert _run(w.fund_b).data["loans_count"] == 0     # a fund of no scheme here
    regulator = _run(w.regulator).data
    assert regulator["loans_count"] >= 4 and regulator["inputs"]["book"] == "all"
    by_scheme = _run(w.officer, scheme_id=book["scheme"]["id"]).data
    assert by_scheme["loans_count"] == 2
    assert _run(w.ent).status_code == 403


def test_another_organisations_run_is_not_found(w, book):
    run = _run(w.officer).data
    assert w.reviewer.get(f"{RUNS}/{run['id']}").status_code == 200   # the same bank
    for client in (w.officer_b, w.fund1, w.regulator):
        r = client.get(f"{RUNS}/{run['id']}")
        assert r.status_code == 404 and r.data["error"]["code"] == "portfolio_run_not_found"
        assert run["id"] not in [x["id"] for x in client.get(RUNS).data["runs"]]
    assert run["id"] in [x["id"] for x in w.approver.get(RUNS).data["runs"]]
    assert w.officer.get(f"{RUNS}/999999").status_code == 404
    # a scheme the fund may not read
    r = _run(w.fund_b, scheme_id=book["scheme"]["id"])
    assert r.status_code == 404


@pytest.mark.parametrize("body, code", [
    ({"scenarios": 200_001}, "invalid_scenarios"),
    ({"scenarios": 10}, "invalid_scenarios"),
    ({"scenarios": "1e9"}, "invalid_scenarios"),
    ({"scenarios": 1.5}, "invalid_scenarios"),
    ({"seed": -1}, "invalid_seed"),
    ({"seed": "9" * 40}, "invalid_seed"),
    ({"correlation": "1"}, "invalid_correlation"),
    ({"correlation": "-0.1"}, "invalid_correlation"),
    ({"correlation": "x" * 5000}, "invalid_correlation"),
    ({"lgd": "1.5"}, "invalid_lgd"),
    ({"lgd": "nan"}, "invalid_lgd"),
    ({"scheme_id": 0}, "invalid_scheme"),
])
def test_absurd_input_is_refused(w, book, body, code):
    r = w.officer.post(RUNS, {"scenarios": 1000, **body})
    assert r.status_code == 422, r.data
    assert r.data["error"]["code"] == code


def _client(name: str, lang: str = "zh-hans") -> Client:
    client = Client()
    client.cookies["django_language"] = lang
    assert client.post("/login/", {"username": f"rs-{name}", "password": PASSWORD}).status_code == 302
    return client


def _visible(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)[^>]*>.*?</\1>", "", html, flags=re.S))


def test_the_page_runs_a_simulation_and_shows_money_per_party(w, book):
    client = _client("officer")
    page = client.get("/risk-sharing/portfolio/")
    assert page.status_code == 200 and 'data-testid="portfolio-run-form"' in page.content.decode()
    r = client.post("/risk-sharing/portfolio/", {"scenarios": "1000", "seed": "3", "correlation": "", "lgd": ""})
    assert r.status_code == 302, r.content.decode()[:2000]
    html = client.get(r["Location"]).content.decode()
    assert 'data-testid="portfolio-parties"' in html
    assert w.fund.name in html and w.insurer.name in html
    assert re.search(r"\d{1,3}(,\d{3})*\.\d{2}", _visible(html))
    bad = client.post("/risk-sharing/portfolio/", {"scenarios": "999999999", "seed": "3"})
    assert bad.status_code == 400
    assert "invalid_scenarios" not in _visible(bad.content.decode())
    assert _client("ent").get("/risk-sharing/portfolio/").status_code == 403
    assert 'data-testid="portfolio-link"' in client.get("/risk-sharing/").content.decode()


def test_another_organisations_run_is_a_404_page(w, book):
    run = _run(w.officer).data
    assert _client("officer_b").get(f"/risk-sharing/portfolio/?run={run['id']}").status_code == 404
    assert _client("officer").get(f"/risk-sharing/portfolio/?run={run['id']}").status_code == 200
    assert _client("officer").get("/risk-sharing/portfolio/?run=abc").status_code == 404


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_no_raw_code_on_the_portfolio_page(w, book, lang):
    from ippledge.core.models import User

    from .test_raw_codes import Checker, Crawl, _enum_codes

    runs = [_run(client).data["id"] for client in (w.officer, w.fund1, w.regulator)]
    checker = Checker(codes=_enum_codes(), usernames=set(User.objects.values_list("username", flat=True)))
    for who, run_id in zip(("officer", "fund1", "regulator"), runs, strict=True):
        seeds = ["/risk-sharing/portfolio/", f"/risk-sharing/portfolio/?run={run_id}"]
        crawl = Crawl(checker, lang)
        crawl.run(_client(who, lang), seeds, limit=len(seeds))
        assert not crawl.findings, (who, dict(crawl.findings))
        assert len(crawl.visited) == len(seeds), (who, crawl.visited)


# --- the run on the task queue (Django's Tasks API) ----------------------------------------------------

QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def test_a_run_is_queued_then_running_then_done_with_the_same_numbers(w, book, settings, monkeypatch):
    from django.core.management import call_command
    from django_tasks_db.models import DBTaskResult

    from ippledge.risksharing.engine import portfolio
    from ippledge.risksharing.models import PortfolioRun

    at_once = _run(w.officer).data  # the tests' immediate backend: done before the answer
    assert at_once["status"] == "done" and at_once["error"] is None and at_once["finished_at"]
    settings.TASKS = QUEUE
    r = _run(w.officer)
    assert r.status_code == 202, r.data
    queued = r.data
    assert queued["status"] == "queued" and queued["results"] == {} and queued["loans_count"] == 0
    assert queued["inputs"]["seed"] == 7 and queued["inputs"]["book"] == "bank" and queued["task_id"]
    task = DBTaskResult.objects.get(pk=queued["task_id"])
    assert task.status == "READY" and task.args_kwargs["kwargs"]["run_id"] == queued["id"]
    shown = w.officer.get(f"{RUNS}/{queued['id']}").data
    assert shown["status"] == "queued" and shown["results"] == {}
    assert w.officer_b.get(f"{RUNS}/{queued['id']}").status_code == 404   # another bank's run, even queued
    page = _client("officer").get(f"/risk-sharing/portfolio/?run={queued['id']}").content.decode()
    assert 'data-testid="portfolio-status" data-status="queued"' in page
    assert 'data-testid="portfolio-parties"' not in page and 'data-testid="portfolio-refresh"' in page

    seen = []
    simulate = portfolio.simulate

    def watching(*args, **kwargs):
        seen.append(PortfolioRun.objects.get(pk=queued["id"]).status)
        return simulate(*args, **kwargs)

    monkeypatch.setattr(portfolio, "simulate", watching)
    # The test holds one transaction (the module's world): the worker's housekeeping would close its
    # connection (PostgreSQL), so it is kept open; the worker claims and runs the task as it does in service.
    from django_tasks_db.management.commands import db_worker

    monkeypatch.setattr(db_worker, "close_old_connections", lambda: None)
    call_command("worker", "--batch", verbosity=0)
    assert seen == ["running"]
    done = w.officer.get(f"{RUNS}/{queued['id']}").data
    assert done["status"] == "done" and done["loans_count"] == 3 and done["started_at"] and done["finished_at"]
    assert done["results"] == at_once["results"]     # the same inputs and seed, through the worker
    assert DBTaskResult.objects.get(pk=queued["task_id"]).status == "SUCCESSFUL"
    # a second delivery of the same task leaves the run alone
    from ippledge.risksharing import tasks

    assert tasks.simulate_portfolio.call(run_id=queued["id"]) == {"run_id": queued["id"], "skipped": "not_queued"}
    assert w.officer.get(f"{RUNS}/{queued['id']}").data["results"] == at_once["results"]


def test_a_failing_run_is_failed_with_its_code(w, book, monkeypatch):
    from ippledge.risksharing import services_portfolio
    from ippledge.risksharing.engine import portfolio

    monkeypatch.setattr(services_portfolio, "MAX_LOANS", 2)   # bank A's book has 3
    r = _run(w.officer)
    assert r.status_code == 202, r.data
    assert r.data["status"] == "failed" and r.data["results"] == {} and r.data["finished_at"]
    assert r.data["error"]["code"] == "book_too_large" and "2" in r.data["error"]["message"]
    shown = w.officer.get(f"{RUNS}/{r.data['id']}").data
    assert shown["status"] == "failed" and shown["error"]["code"] == "book_too_large"
    assert _run(w.officer_b).data["status"] == "done"    # a book of one loan is within the bound
    page = _client("officer").get(f"/risk-sharing/portfolio/?run={r.data['id']}").content.decode()
    assert 'data-status="failed"' in page and 'data-testid="portfolio-error"' in page
    assert "book_too_large" not in _visible(page)

    def broken(*args, **kwargs):
        raise RuntimeError("engine down")

    monkeypatch.setattr(services_portfolio, "MAX_LOANS", 200_000)
    monkeypatch.setattr(portfolio, "simulate", broken)
    crashed = _run(w.officer).data
    assert crashed["status"] == "failed" and crashed["error"]["code"] == "simulation_failed"
    assert "engine down" not in crashed["error"]["message"]


def _graded(w, loan_no: str, grade: str) -> None:
    """Give a booked loan the credit case it came from, with the borrower's risk grade."""
    from django.utils import timezone

    from ippledge.core.actors import SYSTEM
    from ippledge.core.models import User
    from ippledge.credit import services as credit
    from ippledge.credit.models import CreditCase, Product

    loan = credit.get_loan(actor=SYSTEM, loan_no=loan_no)
    product = Product.objects.filter(bank=w.bank, name="组合测试快贷").first() or Product.objects.create(
        bank=w.bank, name="组合测试快贷", min_amount=0, max_amount=10**12, spreads_bp={"A": 40, "B": 80, "C": 150})
    CreditCase.objects.create(case_no=f"CC-PF-{loan.pk}", bank=w.bank, enterprise=loan.borrower, product=product,
                              amount=loan.amount, term_months=12, risk_grade=grade, stage="disbursed",
                              stage_entered_at=timezone.now(), prepared_by=User.objects.get(username="rs-officer"),
                              loan=loan)


def test_pd_of_a_performing_loan_follows_the_borrowers_grade(w, book):
    from ippledge.risksharing import services_portfolio as sp

    a1, a2, a3 = book["bank_a"]
    table = sp.PD_BY_CLASSIFICATION_AND_GRADE
    assert table["normal"]["B"] == sp.PD_BY_CLASSIFICATION["normal"]  # grade B: the grade-less figure
    assert table["normal"]["A"] < table["normal"]["B"] < table["normal"]["C"] < table["special_mention"]["A"]
    assert "substandard" not in table

    def total_exact() -> Decimal:
        run = _run(w.officer, lgd="0.5").data
        assert run["status"] == "done", run
        assert run["inputs"]["pd_by_classification_and_grade"]["normal"] == table["normal"]
        assert run["inputs"]["pd_by_classification"]["substandard"] == 0.40
        return Decimal(_parties(run)["total"]["expected_loss_exact"])

    # without a credit case: the classification PD (normal 1.5 %, substandard 40 %) × EAD × LGD 0.5
    base = total_exact()
    assert base == Decimal("0.5") * (Decimal("0.015") * 1_000_000 + Decimal("0.40") * 2_000_000
                                      + Decimal("0.015") * 500_000)
    _graded(w, a3, "C")                      # performing: grade C
    _graded(w, a2, "A")                      # substandard: keeps the classification PD
    graded = total_exact()
    assert graded - base == Decimal("0.5") * (Decimal(str(table["normal"]["C"])) - Decimal("0.015")) * 500_000
    _graded(w, a1, "Z")                      # a grade the table does not know: the grade-less figure
    assert total_exact() == graded


def test_lgd_by_collateral_kind(w, book):
    base = _run(w.officer, lgd="0.5").data
    patents = _run(w.officer, lgd="0.5", lgd_by_kind={"patent": "0.7", "trademark": "0.9"}).data
    assert patents["inputs"]["lgd_by_kind"] == {"patent": "0.7", "trademark": "0.9"}
    total = Decimal(_parties(base)["total"]["expected_loss_exact"])
    assert Decimal(_parties(patents)["total"]["expected_loss_exact"]) == total * 7 / 5   # every loan a patent
    for body, code in (({"lgd_by_kind": {"song": "0.5"}}, "invalid_lgd_by_kind"),
                       ({"lgd_by_kind": {"patent": "2"}}, "invalid_lgd"),
                       ({"lgd_by_kind": ["patent"]}, "invalid_lgd_by_kind")):
        r = w.officer.post(RUNS, {"scenarios": 1000, **body})
        assert r.status_code == 422 and r.data["error"]["code"] == code, r.data


def test_the_page_shows_a_queued_run_with_its_status(w, book, settings):
    settings.TASKS = QUEUE
    client = _client("officer")
    r = client.post("/risk-sharing/portfolio/", {"scenarios": "1000", "seed": "3", "correlation": "", "lgd": ""})
    assert r.status_code == 302, r.content.decode()[:2000]
    html = client.get(r["Location"]).content.decode()
    assert 'data-testid="portfolio-status" data-status="queued"' in html
    assert 'data-testid="portfolio-run-status" data-status="queued"' in html   # in the list of runs too
    assert 'data-testid="portfolio-parties"' not in html


def test_a_run_that_cannot_be_queued_says_so(w, book, monkeypatch):
    from ippledge.core import jobs

    def down(*args, **kwargs):
        raise ConnectionError("queue down")

    monkeypatch.setattr(jobs, "enqueue", down)
    r = _run(w.officer)
    assert r.status_code == 202 and r.data["status"] == "failed"
    assert r.data["error"]["code"] == "queue_unavailable" and r.data["task_id"] is None
