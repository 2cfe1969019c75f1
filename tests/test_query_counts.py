"""No N+1 reads: every list endpoint of the API and every list page runs a bounded number of queries,
the same bound for one row as for fifty (issue 15, point 4).

Each entry of :data:`API_LISTS` / :data:`PAGE_LISTS` names who reads, what, and how to grow the list to
``n`` rows; the test grows it to 1, reads it under ``django_assert_max_num_queries(bound)``, grows it to
50 and reads it again under the same bound (and checks the answer really has 1 and 50 rows)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ippledge.core import services as core
from ippledge.core.actors import SYSTEM
from ippledge.core.models import EodRun, Organisation, User
from ippledge.credit import services as credit
from ippledge.credit.models import Loan, Park, ParkCreditLine, Product
from ippledge.credit.workflow_models import CreditCase, FinancingNeed, PartnerInvestment
from ippledge.registry.models import Notification, PledgeApplication, ReviewProposal, Webhook
from ippledge.reporting import services as reporting
from ippledge.reporting.models import CaseStudy
from ippledge.rights.models import Right
from ippledge.valuation.models import AppraisalAgency, Expert, InnovationScore, ValuationRecord

from .conftest import PASSWORD, Api, uscc
from .registry_fixtures import PLEDGEE, PLEDGOR, ConfirmingFiler, application, make_patent, patent_number

pytestmark = pytest.mark.django_db

SIZES = (1, 50)


@pytest.fixture
def world(db):
    bank = core.create_organisation(actor=SYSTEM, name=PLEDGEE["name"], kind="bank", uscc=PLEDGEE["id_number"])
    ent = core.create_organisation(actor=SYSTEM, name=PLEDGOR["name"], kind="enterprise", uscc=PLEDGOR["id_number"])
    admin_org = core.create_organisation(actor=SYSTEM, name="平台", kind="platform_operator")
    regulator_org = core.create_organisation(actor=SYSTEM, name="监管局", kind="regulator")
    office = core.create_organisation(actor=SYSTEM, name="知识产权局", kind="ip_office")
    w = {"bank": bank, "ent_org": ent, "office": office}
    for name, org, role in (("officer", bank, "bank_officer"), ("approver", bank, "bank_approver"),
                            ("ent", ent, "enterprise_user"), ("admin", admin_org, "admin"),
                            ("regulator", regulator_org, "regulator_user"), ("registrar", office, "registrar")):
        user = core.create_user(actor=SYSTEM, username=name, password=PASSWORD, org_id=org.pk, roles=[role])
        w[name] = Api(core.issue_token(user=user))
        w[name].user = user
    make_patent()
    w["product"] = w["approver"].post("/products", PRODUCT).data["id"]
    return w


PRODUCT = {"name": "知识产权质押快贷", "eligible_kinds": ["patent", "trademark", "bundle"], "min_amount": "100000",
           "max_amount": "10000000", "min_term_months": 6, "max_term_months": 36, "spreads_bp": {"A": 50, "B": 80}}
RIGHT = [{"kind": "invention", "number": "ZL201410362077.3"}]


def _grow(model_count, make):
    """``grow(w, n)``: call ``make(w, i)`` until ``model_count(w)`` is ``n``."""
    def grow(w, n):
        for i in range(model_count(w), n):
            make(w, i)
    return grow


def _product(w, i):
    assert w["approver"].post("/products", {**PRODUCT, "name": f"产品{i}"}).status_code == 201


def _need(w, i):
    r = w["ent"].post("/financing-needs", {"amount": "1000000", "term_months": 12, "purpose": f"研发{i}",
                                           "rights": RIGHT})
    assert r.status_code == 201, r.data


def _case(w, i):
    need = w["ent"].post("/financing-needs", {"amount": "1000000", "term_months": 12, "purpose": f"研发{i}",
                                              "rights": RIGHT}).data
    if "valuation_no" not in w:
        _valuation(w, 0)
        w["valuation_no"] = ValuationRecord.objects.get().valuation_no
    r = w["officer"].post("/credit-cases", {"product_id": w["product"], "need_id": need["id"],
                                            "valuation_no": w["valuation_no"]})
    assert r.status_code == 201, r.data
    PartnerInvestment.objects.create(enterprise=w["ent_org"], fund_name=f"基金{i}", amount=100, date=dt.date(2026, 1, 1),
                                     stake="0.01")


def _right(w, i):
    make_patent(number=patent_number(f"20151{i:07d}"), title=f"一种方法{i}")


def _valuation(w, i):
    r = w["officer"].post("/valuations", {"rights": RIGHT, "method": "income",
                                          "inputs": {"income": ["3000000"] * 3, "discount_rate": "0.1"}})
    assert r.status_code == 201, r.data


def _agency(w, i):
    r = w["admin"].post("/appraisal-agencies", {"name": f"评估{i}", "licence_no": f"L{i}", "qualification": "资质",
                                                "specialities_ipc": ["G06F"]})
    assert r.status_code == 201, r.data


def _expert(w, i):
    r = w["admin"].post("/experts", {"name": f"专家{i}", "fields_ipc": ["G06F"], "organisation_id": w["bank"].pk})
    assert r.status_code == 201, r.data


def _notification(w, i):
    Notification.objects.create(org=w["bank"], kind="test", message=f"消息{i}")


def _webhook(w, i):
    Webhook.objects.create(org=w["bank"], url=f"https://example.com/hook/{i}", secret="s" * 32)


def _org(w, i):
    core.create_organisation(actor=SYSTEM, name=f"企业{i}", kind="enterprise", uscc=uscc(f"9144030000{i:07d}"))


def _token(w, i):
    core.issue_token(user=w["officer"].user, name=f"t{i}")


def _eod(w, i):
    EodRun.objects.create(business_date=dt.date(2026, 1, 1) + dt.timedelta(days=i), job="x", status="done",
                          started_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))


def _park_line(w, i):
    park = Park.objects.create(name=f"园区{i}", region_code="440300")
    ParkCreditLine.objects.create(bank=w["bank"], park=park, limit=10**10, start_date=dt.date(2026, 1, 1),
                                  end_date=dt.date(2027, 1, 1))


def _loan(w, i):
    credit.book_loan(actor=SYSTEM, data={
        "borrower_uscc": uscc(f"914403000000{i:05d}"), "borrower_name": f"借款企业{i}", "bank_org_id": w["bank"].pk,
        "amount": "1000000", "annual_rate": "0.04", "start_date": dt.date(2026, 2, 1),
        "maturity_date": dt.date(2027, 2, 1), "schedule": "bullet", "ip_kind": "patent"})


def _case_study(w, i):
    loan = Loan.objects.first() or None
    if loan is None:
        _loan(w, 0)
        loan = Loan.objects.first()
    reporting.publish_case(actor=w["regulator"].user, loan_no=loan.loan_no, title=f"案例{i}", body="正文", consent=True)


def _pull(w, i):
    reporting.pulled(w["regulator"].user, "scorecard", {"i": i})


def _user(w, i):
    core.create_user(actor=SYSTEM, username=f"user{i}", password=PASSWORD, org_id=w["bank"].pk, roles=["bank_officer"])


def _filing(w, i):
    number = patent_number(f"20161{i:07d}")
    make_patent(number=number)
    filer = ConfirmingFiler(w["officer"], w["ent"], "pledgor")
    r = filer.post("/pledge-applications", application(rights_list=[{"kind": "invention", "number": number}],
                                                         contract_no=f"ZY-{i}"))
    assert r.status_code == 201, r.data
    return r.data["application_no"]


def _queued(w, i):
    app = PledgeApplication.objects.get(application_no=_filing(w, i))
    PledgeApplication.objects.filter(pk=app.pk).update(needs_review=True)
    ReviewProposal.objects.create(application=app, action="clear", reason="核查", proposed_by=w["registrar"].user,
                                  proposed_at=timezone.now())


def _score(w, i):
    InnovationScore.objects.create(enterprise=w["ent_org"], scheme="composite", score="70", grade="B",
                                   qualified=True, result={}, inputs={})


# name: (reader, path, grow, how many rows the answer holds at n, the bound)
API_LISTS = {
    "credit-cases": ("officer", "/credit-cases", _grow(lambda w: CreditCase.objects.count(), _case)),
    "financing-needs": ("officer", "/financing-needs", _grow(lambda w: FinancingNeed.objects.count(), _need)),
    "products": ("officer", "/products", _grow(lambda w: Product.objects.count(), _product)),
    "ip-rights": ("officer", "/ip-rights?q=一种&limit=200", _grow(lambda w: Right.objects.count(), _right)),
    "valuations": ("officer", "/valuations", _grow(lambda w: ValuationRecord.objects.count(), _valuation)),
    "appraisal-agencies": ("officer", "/appraisal-agencies",
                           _grow(lambda w: AppraisalAgency.objects.count(), _agency)),
    "experts": ("admin", "/experts?field=G06F", _grow(lambda w: Expert.objects.count(), _expert)),
    "notifications": ("officer", "/notifications", _grow(lambda w: Notification.objects.count(), _notification)),
    "webhooks": ("officer", "/webhooks", _grow(lambda w: Webhook.objects.count(), _webhook)),
    "auth-tokens": ("officer", "/auth/tokens",
                    _grow(lambda w: w["officer"].user.api_tokens.count(), _token)),
    "admin-eod": ("admin", "/admin/eod", _grow(lambda w: EodRun.objects.count(), _eod)),
    "park-credit-lines": ("officer", "/park-credit-lines", _grow(lambda w: ParkCreditLine.objects.count(), _park_line)),
    "case-studies": (None, "/public/case-studies", _grow(lambda w: CaseStudy.objects.count(), _case_study)),
    "orgs": ("admin", "/orgs?kind=enterprise", _grow(lambda w: Organisation.objects.filter(kind="enterprise").count(),
                                                     _org)),
    "registry-queue": ("registrar", "/registry/queue",
                       _grow(lambda w: PledgeApplication.objects.filter(needs_review=True).count(), _queued)),
    "public-pledges": (None, f"/public/pledges?party={PLEDGOR['name']}",
                       _grow(lambda w: PledgeApplication.objects.count(), _filing)),
    "enterprise-scores": ("ent", "/enterprise-scores?enterprise_id={ent_org}",
                          _grow(lambda w: InnovationScore.objects.count(), _score)),
    "product-matches": ("officer", "/products/{product}/matches",
                        _grow(lambda w: FinancingNeed.objects.count(), _need)),
    "need-matches": ("officer", "/financing-needs/{need}/matches",
                     _grow(lambda w: Product.objects.count(), _product)),
    "report-pulls": ("regulator", "/reports/pulls", _grow(
        lambda w: __import__("ippledge.core.models", fromlist=["AuditEntry"]).AuditEntry.objects
        .filter(action="report.pull").count(), _pull)),
}


def _rows(data):
    if isinstance(data, dict):
        data = data.get("results", data.get("rows", data))
    return len(data)


def _path(w, path: str) -> str:
    if "{need}" in path:
        w.setdefault("need", FinancingNeed.objects.order_by("pk").values_list("pk", flat=True).first())
        if w["need"] is None:
            _need(w, 0)
            w["need"] = FinancingNeed.objects.get().pk
    return path.format(product=w["product"], ent_org=w["ent_org"].pk, need=w.get("need"))


def _count(call) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as ctx:
        result = call()
    return len(ctx.captured_queries), result


PAGE_LISTS = {
    "credit-cases": ("officer", "/credit/cases/", API_LISTS["credit-cases"][2]),
    "loans": ("officer", "/credit/loans/", _grow(lambda w: Loan.objects.count(), _loan)),
    "products": ("admin", "/credit/products/", API_LISTS["products"][2]),
    "plans-and-park-lines": ("officer", "/credit/plans/", API_LISTS["park-credit-lines"][2]),
    "matching": ("officer", "/credit/matching/", API_LISTS["financing-needs"][2]),
    "rights": ("registrar", "/rights/", API_LISTS["ip-rights"][2]),
    "pledge-applications": ("officer", "/registry/applications/", API_LISTS["public-pledges"][2]),
    "registrar-queue": ("registrar", "/registry/queue/", API_LISTS["registry-queue"][2]),
    "notifications": ("officer", "/registry/notifications/", API_LISTS["notifications"][2]),
    "valuation-records": ("officer", "/valuation/records/", API_LISTS["valuations"][2]),
    "agencies": ("officer", "/valuation/agencies/", API_LISTS["appraisal-agencies"][2]),
    "experts": ("admin", "/valuation/experts/", API_LISTS["experts"][2]),
    "organisations": ("admin", "/manage/organisations/", API_LISTS["orgs"][2]),
    "users": ("admin", "/manage/users/", _grow(lambda w: User.objects.count(), _user)),
    "eod-log": ("admin", "/manage/eod/", API_LISTS["admin-eod"][2]),
}


# The most queries each list may run, for one row as for fifty (authentication, permission and scope
# reads included; measured after the fixes of issue 15 — before them GET /credit-cases ran 7 per case).
API_BOUNDS = {
    "credit-cases": 11, "financing-needs": 3, "products": 3, "ip-rights": 4, "valuations": 5,
    "appraisal-agencies": 3, "experts": 2, "notifications": 4, "webhooks": 4, "auth-tokens": 3, "admin-eod": 4,
    "park-credit-lines": 5, "case-studies": 6, "orgs": 4, "registry-queue": 6, "public-pledges": 16,
    "enterprise-scores": 5, "product-matches": 11, "need-matches": 11, "report-pulls": 4,
}
PAGE_BOUNDS = {
    "credit-cases": 6, "loans": 6, "products": 6, "plans-and-park-lines": 10, "matching": 7, "rights": 10,
    "pledge-applications": 6, "registrar-queue": 7, "notifications": 5, "valuation-records": 8, "agencies": 6,
    "experts": 5, "organisations": 6, "users": 7, "eod-log": 7,
}


def test_every_list_has_a_bound():
    assert set(API_BOUNDS) == set(API_LISTS) and set(PAGE_BOUNDS) == set(PAGE_LISTS)


@pytest.mark.parametrize("name", list(API_LISTS))
def test_api_list_runs_the_same_queries_for_1_and_50_rows(world, anon, name, django_assert_max_num_queries):
    reader, path, grow = API_LISTS[name]
    client = world[reader] if reader else anon
    for n in SIZES:
        grow(world, n)
        url = _path(world, path)
        cache.clear()  # the rate limiter's cache would otherwise cull itself now and then (more queries)
        with django_assert_max_num_queries(API_BOUNDS[name]):
            r = client.get(url)
        assert r.status_code == 200, r.data
        assert _rows(r.data) == n, (name, n)


@pytest.mark.parametrize("name", list(PAGE_LISTS))
def test_list_page_runs_the_same_queries_for_1_and_50_rows(world, client, name, django_assert_max_num_queries):
    reader, url, grow = PAGE_LISTS[name]
    client.force_login(world[reader].user)
    for n in SIZES:
        grow(world, n)
        cache.clear()
        with django_assert_max_num_queries(PAGE_BOUNDS[name]):
            r = client.get(url)
        assert r.status_code == 200, (name, r.status_code)


def test_the_case_list_shows_each_case_as_its_own_page_does(world):
    """The list reads the cases together (``_CaseBatch``); each entry is what GET /credit-cases/{no} gives,
    for the lending bank and for the borrower."""
    API_LISTS["credit-cases"][2](world, 3)
    for reader in ("officer", "ent"):
        listed = world[reader].get("/credit-cases").data
        assert len(listed) == 3
        for row in listed:
            assert row == world[reader].get(f"/credit-cases/{row['case_no']}").data
        assert any(c["collateral"] for c in world["officer"].get("/credit-cases").data)


def test_matches_rank_needs_as_one_need_is_viewed(world):
    """The batched need views (``_need_views``) rank the needs as each need's own view does."""
    from ippledge.credit import workflow

    API_LISTS["financing-needs"][2](world, 3)
    needs = list(FinancingNeed.objects.select_related("enterprise"))
    assert workflow._need_views(needs) == [workflow._need_view(n) for n in needs]
